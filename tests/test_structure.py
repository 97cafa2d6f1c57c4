"""The package's shape: data flows one way through its layers, no import cycle (module-level or
hidden in a function), and no function too long to hold in one's head."""
import ast
import os
from collections import defaultdict

import pytest

ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "otreg")

#: each top-level part of the package and its layer: imports go to the same or a lower layer
LAYERS = {
    "errors": 0,
    "data": 1,
    "problem": 2, "potential": 2,
    "transport": 3, "nn": 3, "metrics": 3,
    "verify": 4, "classifier": 4,
    "study": 5,
    "plot": 6,
    "experiments": 7,
    "cli": 8, "demo": 8, "__init__": 8, "__main__": 8,
}
MAX_FUNCTION_LINES = 150


def modules():
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, os.path.dirname(ROOT))[:-3].replace(os.sep, ".")
                yield rel.removesuffix(".__init__"), path


def imports_of(module, path):
    """otreg modules imported anywhere in the file (top level or inside functions)."""
    tree = ast.parse(open(path, encoding="utf-8").read())
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


@pytest.mark.parametrize("module", sorted(ALL))
def test_functions_are_short(module):
    tree = ast.parse(open(ALL[module], encoding="utf-8").read())
    long = [f"{node.name}: {node.end_lineno - node.lineno + 1} lines"
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long
