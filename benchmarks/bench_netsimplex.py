"""The network simplex core alone (``solve_bounded(..., method="netsimplex")`` on checked
input), optionally against other versions of the package ``otreg/transport/netsimplex/`` (or of
the single module it was before), for refactors of the kernel that must not change speed or
results.

For two-moons and two Gaussian clouds of n = m points, lam in --lams, margin 0.1 (M = d - 2 margin,
hKR bounds with p = 1/2): the median CPU time of the solve over --repeats runs (after a warm-up
call that loads or compiles the kernel), the pivot count and the value (printed with
``float.hex`` so that equality to the last bit is visible).  With ``--against PATH ...`` each
version (a copy of the package folder, or an old ``netsimplex.py``) is imported under
``otreg.transport`` (so that its relative imports resolve) and the versions are run interleaved
in one process, round-robin, so that load on a shared machine hits them alike; the table then
shows each version's median, the time ratio to the first one and whether pivots and values are
identical.

    python benchmarks/bench_netsimplex.py                              # installed version
    python benchmarks/bench_netsimplex.py --against /tmp/old_netsimplex
    python benchmarks/bench_netsimplex.py --quick                      # tiny sizes, prints only
"""
from __future__ import annotations

import argparse
import atexit
import importlib.util
import os
import shutil
import statistics
import sys
import tempfile
import time
from types import ModuleType
from typing import Callable

import numpy as np
import ot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import markdown_table  # noqa: E402

from otreg.data.toys import two_moons  # noqa: E402
from otreg.transport import netsimplex  # noqa: E402
from otreg.transport.validate import check_bounded_problem  # noqa: E402

#: a version's solve: (a_lo, a_hi, b_lo, b_hi, M) -> a record with .iterations and .value
Solve = Callable[..., object]


def gaussians(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + np.array([2.0, 0.0])


DATASETS: dict[str, Callable[[int], tuple[np.ndarray, np.ndarray]]] = {
    "moons": lambda n: two_moons(n, seed=0), "gauss": gaussians}


def load_version(path: str) -> ModuleType:
    """Import a version of the network simplex (a package folder or a single module file) as
    ``otreg.transport._bench_<name>`` (so that ``...errors`` resolves), from a copy in a
    temporary folder: numba's cache sits beside the source and is keyed by its path, so
    importing the installed files under another module name would leave cache entries that
    fresh processes cannot load.  The copy runs its own kernel through numba (never the
    installed ahead-of-time compiled one)."""
    path = path.rstrip(os.sep)
    stem = os.path.splitext(os.path.basename(path))[0]
    folder = tempfile.mkdtemp(prefix="bench_netsimplex_")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    name = "otreg.transport._bench_" + stem
    if os.path.isdir(path):
        copy = os.path.join(folder, stem)
        shutil.copytree(path, copy, ignore=shutil.ignore_patterns("__pycache__"))
        spec = importlib.util.spec_from_file_location(
            name, os.path.join(copy, "__init__.py"), submodule_search_locations=[copy])
    else:
        copy = os.path.join(folder, stem + ".py")
        shutil.copyfile(path, copy)
        spec = importlib.util.spec_from_file_location(name, copy)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    solver = sys.modules.get(name + ".solver", mod)
    if hasattr(solver, "kernel"):  # run the copy's own code, not the installed compiled kernel
        solver.kernel = lambda _name: None
    return mod


def solve_of(mod: ModuleType) -> Solve:
    """The solve of a version on checked input: the package's ``network_simplex`` or, in the
    single module of earlier versions, ``solve_checked(C, a_lo, a_hi, b_lo, b_hi)``."""
    def solve(*args):
        *bounds, M = check_bounded_problem(*args)
        if hasattr(mod, "network_simplex"):
            return mod.network_simplex(*bounds, M)
        return mod.solve_checked(M, *bounds)
    return solve


def problem(data: str, n: int, lam: float, margin: float = 0.1):
    x, z = DATASETS[data](n)
    D = ot.dist(x, z, metric="euclidean")
    a = np.full(n, 1.0 / n)
    p = 0.5
    return a, (1 + lam * p) * a, a.copy(), (1 + lam * (1 - p)) * a, D - 2.0 * margin


def run(versions: dict[str, Solve], sizes: list[int], lams: list[float], repeats: int):
    names = list(versions)
    for solve in versions.values():  # warm-up: numba cache load or compile
        solve([.5, .5], [.5, .5], [.5, .5], [.5, .5], np.ones((2, 2)))
    header = ["data", "n", "lam", "pivots", "value"]
    for k, name in enumerate(names):
        header.append(f"{name} s")
        if k:
            header += [f"{name}/{names[0]}", "same pivots, value"]
    rows = []
    for data in DATASETS:
        for n in sizes:
            for lam in lams:
                args = problem(data, n, lam)
                times = {name: [] for name in names}
                sols = {}
                for _ in range(repeats):
                    for name in names:
                        t = time.process_time()
                        sols[name] = versions[name](*args)
                        times[name].append(time.process_time() - t)
                ref = sols[names[0]]
                med0 = statistics.median(times[names[0]])
                row = [data, n, lam, ref.iterations, ref.value.hex()]
                for k, name in enumerate(names):
                    med = statistics.median(times[name])
                    row.append(f"{med:.4f}")
                    if k:
                        s = sols[name]
                        same = s.iterations == ref.iterations and s.value == ref.value
                        row += [f"{med / med0:.3f}",
                                "yes" if same else f"NO ({s.iterations}, {s.value.hex()})"]
                rows.append(row)
                print(" | ".join(str(c) for c in row), flush=True)
    return header, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat")
    ap.add_argument("--sizes", type=int, nargs="*", default=[1000, 2000, 4000])
    ap.add_argument("--lams", type=float, nargs="*", default=[0.0, 1.0, 100.0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--against", nargs="*", default=[], metavar="PATH",
                    help="other versions of the netsimplex package (folder) or module (file), "
                         "run interleaved with the installed one")
    args = ap.parse_args(argv)
    versions = {"current": solve_of(netsimplex)}
    for path in args.against:
        name = os.path.splitext(os.path.basename(path.rstrip(os.sep)))[0]
        versions[name] = solve_of(load_version(path))
    sizes, repeats = (args.sizes, args.repeats) if not args.quick else ([20, 40], 1)
    header, rows = run(versions, sizes, args.lams, repeats)
    print(markdown_table(header, rows))
    same = all(r[-1] == "yes" for r in rows) if len(versions) > 1 else True
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
