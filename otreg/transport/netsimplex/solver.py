"""The network simplex from Python: scaling, options, the compiled kernel, the solution record."""
from __future__ import annotations

import math

import numpy as np

from ...errors import InputError, SolverError
from .._aot import kernel
from ..plan import BoundedSolution, SolveStats
from ..validate import power_of_two_scale
from ._common import Status
from .driver import _network_simplex, _Options

__all__ = ["INITS", "network_simplex"]

#: first trees of :func:`network_simplex`: a greedy feasible plan, or LEMON's artificial start
INITS = ("greedy", "artificial")
#: costs are rescaled (a copy) only when their largest magnitude leaves [2**-200, 2**200]: the
#: potentials (sums of up to n + m costs) and the tolerances (ulps of them) stay normal numbers
_COST_RANGE = (2.0**-200, 2.0**200)


def _run_kernel(M: np.ndarray, offset: float, a_lo: np.ndarray, a_hi: np.ndarray,
                b_lo: np.ndarray, b_hi: np.ndarray, opts: _Options) -> tuple:
    """The dense kernel (:func:`.driver._network_simplex`), compiled ahead of time if the
    install built it (:mod:`otreg.transport._aot`), else by numba on first use."""
    aot = kernel("network_simplex")
    if aot is None:
        return _network_simplex(M, offset, a_lo, a_hi, b_lo, b_hi, opts)
    status, *rest = aot(M, offset, a_lo, a_hi, b_lo, b_hi, *opts)
    return (Status(status), *rest)


def _default_hub_block(n: int, m: int) -> int:
    return max(32, 2 * math.isqrt(n + m))


def _options(n: int, m: int, max_iter: int | None, init: str, hub_block: int | None,
             block_factor: float, candidates: int, hot_rows: int) -> _Options:
    if init not in INITS:
        raise InputError(f"init: expected one of {INITS}, got {init!r}")
    return _Options(np.iinfo(np.int64).max if max_iter is None else int(max_iter),
                    max(1000, (n + m + 1) // 4), init == "greedy",
                    int(hub_block) if hub_block is not None else _default_hub_block(n, m),
                    float(block_factor), int(candidates), int(hot_rows))


def _sorted_plan(pred: np.ndarray, pflow: np.ndarray, n: int, m: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dense arcs of the final tree that carry flow, as (rows, cols, flows) sorted by row
    then column."""
    N = n + m + 1
    pr = pred[:N]
    mask = (pr >= 0) & (pr < n * m) & (pflow[:N] > 0)
    arcs = pr[mask]
    rows = (arcs // m).astype(np.int64)
    cols = (arcs % m).astype(np.int64)
    flows = pflow[:N][mask]
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], flows[order]


def network_simplex(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
                    M: np.ndarray, *, offset: float = 0.0, max_iter: int | None = None,
                    init: str = "greedy", hub_block: int | None = None,
                    block_factor: float = 0.5, candidates: int = 32,
                    hot_rows: int = 128) -> BoundedSolution:
    """min <M + offset, pi> s.t. pi >= 0, a_lo <= pi 1 <= a_hi, b_lo <= pi^T 1 <= b_hi, exactly,
    on input already checked by :func:`otreg.transport.validate.check_bounded_problem`
    (float64 arrays, M C-contiguous); call it through :func:`otreg.transport.solve_bounded`.

    ``offset`` shifts every cost without copying M (hKR passes its distances and -2 margin).
    The masses are solved in units of a power of two near their scale (exact), and so are the
    costs if their magnitude is extreme; all tolerances are relative to these scales.
    ``init``: see :data:`INITS`; ``hub_block``, ``block_factor``, ``candidates`` and
    ``hot_rows`` tune the pricing (docs/fast_solver.md).  Raises
    :class:`otreg.errors.SolverError` (naming "netsimplex") when ``max_iter`` pivots are
    exceeded or the solution fails its own accuracy test.
    """
    n, m = M.shape
    opts = _options(n, m, max_iter, init, hub_block, block_factor, candidates, hot_rows)
    finite = [v[np.isfinite(v)] for v in (a_lo, a_hi, b_lo, b_hi)]
    w = power_of_two_scale(max(float(a_lo.sum()), float(b_lo.sum()),
                               *(float(v.max(initial=0.0)) for v in finite)))
    s = 1.0
    big = max(abs(float(M.min()) + offset), abs(float(M.max()) + offset))
    if big > 0 and not _COST_RANGE[0] <= big <= _COST_RANGE[1]:
        s = power_of_two_scale(big)
        M = M / s
    status, it, pred, pflow, P, stats = _run_kernel(
        M.reshape(-1), offset / s, a_lo / w, a_hi / w, b_lo / w, b_hi / w, opts)
    if status is Status.MAX_ITER:
        raise SolverError(f"netsimplex: max_iter={max_iter} pivots reached before optimality")
    if status is not Status.OPTIMAL:
        raise SolverError(f"netsimplex: {status.name.lower()} (the optimal basis's flows, "
                          "recomputed exactly, leave the bounds by more than the tolerance; "
                          "please report this problem)")
    rows, cols, flows = _sorted_plan(pred, pflow, n, m)
    value = float(np.dot(M[rows, cols] + offset / s, flows)) * s * w  # overflow: inf, no warning
    if not np.isfinite(value):
        raise InputError("M: the optimal cost exceeds the largest float64 (the costs times the "
                         "masses); rescale M or the bounds")
    hub = float(P[n + m]) * s  # u_i = P_hub - P_i, v_j = P_j - P_hub (LEMON's potentials)
    return BoundedSolution(rows, cols, flows * w, hub - P[:n] * s, P[n:n + m] * s - hub,
                           value, (n, m), "netsimplex", int(it),
                           SolveStats(*(int(k) for k in stats)), offset)
