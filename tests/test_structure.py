"""The package's shape: data flows one way through its layers, no import cycle (module-level or
hidden in a function), no module or function too long to hold in one's head, and every
reference to the documentation resolves to a section that exists."""
import ast
import os
import re
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "otreg")

#: each top-level part of the package and its layer: imports go to the same or a lower layer
LAYERS = {
    "errors": 0, "_html": 0, "defaults": 0,
    "data": 1,
    "problem": 2, "potential": 2,
    "transport": 3, "nn": 3, "metrics": 3,
    "verify": 4, "classifier": 4,
    "study": 5,
    "plot": 6,
    "experiments": 7,
    "cli": 8, "demo": 8, "__init__": 8, "__main__": 8,
}
MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 600
#: modules over the limit, each with the reason it may be for now
OVERSIZED_MODULES: dict[str, int] = {}
REPO = os.path.dirname(ROOT)


def modules():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), path


def imports_of(module, path):
    """otreg modules imported anywhere in the file (top level or inside functions)."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("otreg"):
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("otreg"))
    return out


def part(module):
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


ALL = dict(modules())


def test_every_part_has_a_layer():
    assert {part(m) for m in ALL} <= set(LAYERS), "add the new part of the package to LAYERS"


def test_imports_only_go_down_the_layers():
    upward = []
    for module, path in ALL.items():
        for target in imports_of(module, path):
            if LAYERS.get(part(target), -1) > LAYERS[part(module)]:
                upward.append(f"{module} -> {target}")
    assert not upward, upward


def test_no_import_cycle():
    graph = defaultdict(set)
    for module, path in ALL.items():
        for target in imports_of(module, path):
            name = target if target in ALL else target.rsplit(".", 1)[0]
            if name in ALL and name != module and not module.startswith(name + "."):
                # a package's __init__ importing its own submodules is not a cycle
                if not (name.startswith(module + ".") and ALL[module].endswith("__init__.py")):
                    graph[module].add(name)
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(ALL):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles


def test_functions_and_modules_are_short():
    """One pass over the tree: every function <= MAX_FUNCTION_LINES lines (docstring included),
    every module <= MAX_MODULE_LINES lines (or its listed allowance)."""
    long = []
    for module, path in sorted(ALL.items()):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        lines = text.count("\n")
        if lines > OVERSIZED_MODULES.get(module, MAX_MODULE_LINES):
            long.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                size = node.end_lineno - node.lineno + 1
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{module}.{node.name}: {size} lines")
    assert not long, long


def test_the_limits_can_fail():
    """The size rule sees a long function and a long module (a rule that cannot fail is no
    rule)."""
    body = "\n".join(f"    x{k} = {k}" for k in range(MAX_FUNCTION_LINES))
    tree = ast.parse(f"def f():\n{body}\n")
    node = tree.body[0]
    assert node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    assert all(allowance > MAX_MODULE_LINES for allowance in OVERSIZED_MODULES.values())
    assert "\n".join(["x = 0"] * (MAX_MODULE_LINES + 1)).count("\n") >= MAX_MODULE_LINES
    assert set(OVERSIZED_MODULES) <= set(ALL), "drop allowances of modules that are gone"


#: "docs/<page>.md §<n>[.<m>]" (and "§<n>-§<k>" ranges) in code and tests
DOC_REF = re.compile(r"docs/([\w-]+)\.md §(\d+(?:\.\d+)?)(?:-§(\d+(?:\.\d+)?))?")


def _sections(page):
    """The numbers of the numbered headings of a documentation page ("## 3. ..." -> "3")."""
    with open(os.path.join(REPO, "docs", page + ".md"), encoding="utf-8") as fh:
        return {m.group(1) for m in re.finditer(r"^#{2,4} (\d+(?:\.\d+)?)\.? ", fh.read(),
                                                  re.M)}


def _text_files(*folders):
    for folder in folders:
        for dirpath, _, files in os.walk(os.path.join(REPO, folder)):
            for f in files:
                if f.endswith((".py", ".md")):
                    yield os.path.join(dirpath, f)


def test_references_to_the_docs_resolve():
    refs, broken = 0, []
    for path in _text_files("otreg", "tests"):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        for m in DOC_REF.finditer(text):
            refs += 1
            page, first, last = m.groups()
            if not os.path.exists(os.path.join(REPO, "docs", page + ".md")):
                broken.append(f"{path}: {m.group(0)} (no page)")
                continue
            missing = [n for n in (first, last) if n and n not in _sections(page)]
            if missing:
                broken.append(f"{path}: {m.group(0)} (no section {', '.join(missing)})")
    assert refs > 20 and not broken, broken


def test_no_history_narration():
    """Code, tests and docs give reasons, not ticket numbers: those belong in git."""
    pattern = re.compile(r"\b(issues?|tickets?) #?\d+|\bissue-\d+|\bspec (section|§)", re.I)
    hits = []
    for path in _text_files("otreg", "tests", "docs"):
        with open(path, encoding="utf-8") as fh:
            for k, line in enumerate(fh, 1):
                if pattern.search(line) and path != os.path.abspath(__file__):
                    hits.append(f"{os.path.relpath(path, REPO)}:{k}: {line.strip()}")
    assert not hits, hits
