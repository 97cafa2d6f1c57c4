"""The fixed problems of tests/test_pivots.py and what is recorded of their solutions.

``python tests/pivot_cases.py --record`` rewrites the recording (only when a change of pivots is
intended: the recording is what proves a reorganisation of the kernel changed nothing).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys

import numpy as np

from otreg.data.toys import two_moons
from otreg.problem import Problem
from otreg.transport import solve_bounded
from otreg.transport.objective import pairwise_distances
from otreg.transport.sparse import solve_sparse

RECORDING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                         "pivots_recorded.json")


def digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:32]


def dense_cases():
    """(name, (M, a_lo, a_hi, b_lo, b_hi), options) of the dense solver."""
    rng = np.random.default_rng(7)
    x, z = two_moons(60, 45, seed=3)
    D = pairwise_distances(x, z)
    a, b = np.full(60, 1 / 60), np.full(45, 1 / 45)
    for lam in (0.0, 1.0, 100.0):
        for init in ("greedy", "artificial"):
            yield (f"moons lam={lam} {init}", (D, a, (1 + lam / 2) * a, b, (1 + lam / 2) * b),
                   {"offset": -0.2, "init": init})
    g = rng.integers(0, 6, (50, 2)).astype(float)
    h = rng.integers(0, 6, (40, 2)).astype(float) + [2, 0]
    Dg = pairwise_distances(g, h)
    wa, wb = rng.random(50) + 0.1, rng.random(40) + 0.1
    wa, wb = wa / wa.sum(), wb / wb.sum()
    yield "grid ties weighted lam=1", (Dg, wa, 1.5 * wa, wb, 1.5 * wb), {"offset": -0.2}
    M = rng.normal(size=(30, 35))
    yield ("normal costs, intervals", (M, np.full(30, 0.02), np.full(30, 0.05),
                                       np.full(35, 0.01), np.full(35, 0.04)), {})
    yield "balanced W1", (D, a, a, b, b), {}
    yield ("infinite uppers one side", (np.abs(M), np.full(30, 0.5), np.full(30, np.inf),
                                        np.full(35, 0.3), np.full(35, 0.6)), {})
    x2, z2 = rng.normal(size=(120, 2)), rng.normal(size=(100, 2)) + [1.5, 0]
    D2 = pairwise_distances(x2, z2)
    a2, b2 = np.full(120, 1 / 120), np.full(100, 1 / 100)
    yield ("gauss 120x100 lam=10 small blocks", (D2, a2, 6 * a2, b2, 6 * b2),
           {"offset": -0.2, "hub_block": 8, "candidates": 4, "hot_rows": 4})


def sparse_cases():
    """(name, problem, options) of column generation (multiscale start included)."""
    rng = np.random.default_rng(11)
    for lam, n in ((0.0, 300), (1.0, 400), (100.0, 300)):
        pr = Problem(rng.normal(size=(n, 2)), rng.normal(size=(n - 50, 2)) + [2.0, 0], lam=lam,
                     margin=0.1)
        yield f"sparse gauss n={n} lam={lam}", pr, {"coarsest": 100}


def record() -> dict[str, dict]:
    """Solve every case; what a reorganisation of the kernel must leave unchanged."""
    out = {}
    for name, (M, *bounds), kw in dense_cases():
        sol = solve_bounded(*bounds, M, **kw)
        out[name] = {"iterations": int(sol.iterations), "stats": [int(s) for s in sol.stats],
                     "value": float(sol.value).hex(),
                     "plan": digest(sol.rows, sol.cols, sol.flows), "duals": digest(sol.u, sol.v)}
    for name, pr, kw in sparse_cases():
        sol = solve_sparse(pr, kw)
        out[name] = {"pivots": int(sol.pivots), "rounds": int(sol.rounds), "arcs": int(sol.arcs),
                     "primal": float(sol.primal).hex(),
                     "plan": digest(sol.plan.indptr, sol.plan.indices, sol.plan.data),
                     "duals": digest(sol.f_pos, sol.f_neg)}
    return out


if __name__ == "__main__" and "--record" in sys.argv:
    with open(RECORDING, "w", encoding="utf-8") as fh:
        json.dump(record(), fh, indent=1, sort_keys=True)
