"""The whole exact hKR call against POT's exact W1 on the same points.

For every shape of the exact solver's targets -- n = m and n != m, lam in {0, 0.01, 1, 100},
2-D and 10-D, a grid with ties, random weights, n = 500 .. 10000 -- three things are timed,
interleaved in one process on the same inputs and repeated (medians reported, so that load on a
shared machine hits them alike):

* ``POT``: ``ot.dist(x, z, metric="euclidean")`` + ``ot.emd2(a, b, M, numItermax=1e9)`` (the
  W1 problem, run to its exact optimum: the default numItermax stops early from n ~ 4000);
* ``hkr``: the whole ``otreg.hkr_transport(x, z, lam, margin=0.1, a, b)`` call, what a user
  runs (distances, solve, potentials, certificate, result);
* ``core``: the network simplex alone (``solve_bounded`` on the distances, cost offset
  -2 margin), for reference.

``ratio`` = median hkr / median POT, the target being <= 1 on every row.  ``|W1 err|``: at
lam = 0, the relative difference between -loss and ot.emd2's W1.

    python benchmarks/bench_exact.py                 # full run -> benchmarks/results/exact.md
    python benchmarks/bench_exact.py --max-n 4000    # skip the largest sizes
    python benchmarks/bench_exact.py --quick         # tiny sizes, one repeat, prints only
    python benchmarks/bench_exact.py --resume        # finish an interrupted full run
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from typing import Callable

import numpy as np
import ot

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import markdown_table, write_result  # noqa: E402

from otreg import hkr_transport  # noqa: E402
from otreg.data import toys  # noqa: E402
from otreg.transport import solve_bounded  # noqa: E402
from otreg.transport.objective import pairwise_distances  # noqa: E402

LAMS = (0.0, 0.01, 1.0, 100.0)
MARGIN = 0.1


def _grid(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Integer lattice points in [0, 15)^2, both classes: many ties and duplicates."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 15, (n, 2)).astype(float),
            rng.integers(0, 15, (m, 2)).astype(float) + np.array([3.0, 0.0]))


def _gauss10(n: int, m: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 10)), rng.normal(size=(m, 10)) + 0.5


# name -> (points(n, m), random weights?)
DATA: dict[str, tuple[Callable[[int, int], tuple[np.ndarray, np.ndarray]], bool]] = {
    "moons": (lambda n, m: toys.two_moons(n, m, seed=0), False),
    "gauss": (lambda n, m: toys.gaussians(n, m, seed=0), False),
    "gauss 10-D": (_gauss10, False),
    "grid (ties)": (_grid, False),
    "gauss, random weights": (lambda n, m: toys.gaussians(n, m, seed=1), True),
}
# (data, n, m) of the full run
FULL = ([(d, n, n) for d in ("moons", "gauss") for n in (500, 1000, 2000, 4000, 10000)]
        + [("gauss 10-D", n, n) for n in (500, 2000, 4000)]
        + [("grid (ties)", n, n) for n in (500, 2000, 4000)]
        + [("gauss, random weights", n, n) for n in (500, 2000)]
        + [("moons", 500, 2000), ("moons", 1000, 4000), ("gauss", 1000, 4000),
           ("gauss", 4000, 2000), ("gauss 10-D", 1000, 3000)])
QUICK = [("moons", 40, 40), ("gauss", 30, 50), ("grid (ties)", 40, 30),
         ("gauss, random weights", 30, 30), ("gauss 10-D", 25, 35)]


def _weights(rng: np.random.Generator, n: int, random: bool) -> np.ndarray:
    w = rng.uniform(0.1, 1.0, n) if random else np.ones(n)
    return w / w.sum()


def _pot(x: np.ndarray, z: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(ot.emd2(a, b, ot.dist(x, z, metric="euclidean"), numItermax=10**9))


def _core(D: np.ndarray, a: np.ndarray, b: np.ndarray, lam: float, p: float):
    return solve_bounded(a, (1 + lam * p) * a, b, (1 + lam * (1 - p)) * b, D,
                         offset=-2.0 * MARGIN)


def _timed(fn: Callable, *args, **kw):
    t = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t, out


def run_case(data: str, n: int, m: int, lams, repeats: int) -> list[list]:
    make, random_weights = DATA[data]
    x, z = make(n, m)
    rng = np.random.default_rng(2)
    a, b = _weights(rng, n, random_weights), _weights(rng, m, random_weights)
    D = pairwise_distances(x, z)
    t_pot, t_hkr, t_core = [], {lam: [] for lam in lams}, {lam: [] for lam in lams}
    res, pivots = {}, {}
    for _ in range(repeats):  # interleaved: POT, then each lam's whole call and core
        t, w1 = _timed(_pot, x, z, a, b)
        t_pot.append(t)
        for lam in lams:
            t, res[lam] = _timed(hkr_transport, x, z, lam=lam, margin=MARGIN, a=a, b=b)
            t_hkr[lam].append(t)
            t, sol = _timed(_core, D, a, b, lam, res[lam].problem.p)
            t_core[lam].append(t)
            pivots[lam] = sol.iterations
    pot = statistics.median(t_pot)
    rows = []
    for lam in lams:
        hkr, core = statistics.median(t_hkr[lam]), statistics.median(t_core[lam])
        err = f"{abs(-res[lam].loss - w1) / w1:.1e}" if lam == 0 else "-"
        rows.append([data, n, m, x.shape[1], lam, f"{pot:.3f}", f"{hkr:.3f}", f"{hkr / pot:.2f}",
                     f"{core:.3f}", f"{core / pot:.2f}", pivots[lam], f"{res[lam].gap:.1e}",
                     err, f"{min(t_hkr[lam]) / min(t_pot):.2f}"])
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    return rows


HEADER = ["data", "n", "m", "d", "lam", "POT s", "hkr s", "ratio", "core s", "core/POT",
          "pivots", "gap", "|W1 err|", "ratio (min)"]


def _done_rows(path: str) -> list[list]:
    """The table rows of an earlier (possibly interrupted) run written to ``path``."""
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        lines = [ln.strip() for ln in fh if ln.startswith("| ")]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    return [r for r in rows if len(r) == len(HEADER) and r[0] != HEADER[0]]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one repeat, prints only")
    ap.add_argument("--max-n", type=int, default=None, help="skip cases with n or m above this")
    ap.add_argument("--only", default=None, help="only the data sets whose name contains this")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None,
                    help="markdown output (default: results/exact.md; none with --quick)")
    ap.add_argument("--resume", action="store_true",
                    help="keep the rows already in --out and run only the missing cases")
    args = ap.parse_args(argv)
    cases = QUICK if args.quick else FULL
    cases = [c for c in cases if (args.max_n is None or max(c[1:]) <= args.max_n)
             and (args.only is None or args.only in c[0])]
    repeats = 1 if args.quick else args.repeats
    out = args.out or (None if args.quick else os.path.join(HERE, "results", "exact.md"))
    t0 = time.perf_counter()
    hkr_transport(np.zeros((2, 1)), np.ones((3, 1)))  # numba: load the compiled kernels
    first = time.perf_counter() - t0
    print(f"first call (compiled-kernel load): {first:.2f} s", flush=True)
    print(" | ".join(HEADER), flush=True)
    rows = _done_rows(out) if args.resume and out else []
    done = {(r[0], int(r[1]), int(r[2])) for r in rows}
    kept = f"  The first {len(rows)} rows are kept from an interrupted run." if rows else ""
    for data, n, m in cases:
        if (data, n, m) in done:
            continue
        # millisecond runs: more repeats, so that one scheduling hiccup cannot move a median
        reps = repeats if args.quick or n * m > 10**6 else max(repeats, 7)
        rows += run_case(data, n, m, LAMS, reps)
        if out:
            ratios = [float(r[7]) for r in rows]
            write_result(out, "The whole hKR call against ot.dist + ot.emd2 "
                         "(benchmarks/bench_exact.py)", [
                             __doc__.split("\n\n    python")[0].strip(),
                             f"Medians of {repeats} interleaved runs (at least 7 for n m <= 1e6);"
                             f" margin {MARGIN}.  Worst "
                             f"ratio {max(ratios):.2f}, median {statistics.median(ratios):.2f} "
                             f"over {len(rows)} rows.  First call of the process: "
                             f"{first:.2f} s.{kept}", markdown_table(HEADER, rows)])
    print(markdown_table(HEADER, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
