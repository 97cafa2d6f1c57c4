"""Exact optimal transport with marginal intervals: ``bounded_emd`` and ``bounded_emd2``.

    min  <pi, M>   over pi >= 0 (n x m)
    s.t. a_lo <= pi 1 <= a_hi,   b_lo <= pi^T 1 <= b_hi

for any cost matrix M (negative entries allowed) and any bounds (upper bounds may be ``inf``).
POT's ``ot.emd`` solves the case a_lo = a_hi, b_lo = b_hi; this is the general problem, of
which the hKR primal (docs/mathematics.md §3) is one instance.  The functions follow POT's style:
``bounded_emd(...)`` returns the plan, ``bounded_emd2(...)`` the value, and ``log=True`` adds a
dict with the dual potentials.

The dual (docs/bounded_emd.md): maximise sum_i phi_i(u_i) + sum_j psi_j(v_j) over
u_i + v_j <= M_ij, with phi_i(u) = a_lo_i u for u >= 0 and a_hi_i u for u < 0 (psi_j alike):
a row whose dual u_i is positive sits at its lower bound, one whose u_i is negative at its
upper bound.

Every method solves in normalised units (masses and costs divided by powers of two near their
scales, which is exact), so that results are right to the same relative accuracy at every
scale; the network simplex's own tolerances are relative to these scales as well.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .extension import c_transform_clean
from .methods import BOUNDED_METHODS
from .netsimplex import network_simplex
from .objective import check_dense_size
from .plan import BoundedSolution, bounded_dual_value
from .validate import check_bounded_problem, power_of_two_scale

__all__ = ["BOUNDED_METHODS", "BoundedSolution", "bounded_emd", "bounded_emd2", "solve_bounded"]



def _finite_uppers(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
                   method: str) -> tuple[np.ndarray, np.ndarray]:
    """Infinite upper bounds replaced by the largest total the other side can take (no row can
    carry more), for the solvers that need finite ones."""
    sa, sb = float(a_hi.sum()), float(b_hi.sum())
    if np.isinf(sa) and np.isinf(sb):
        raise InputError(f"a_hi, b_hi: method {method!r} needs the upper bounds of one side to "
                         "be finite; use method='netsimplex'")
    return (np.where(np.isinf(a_hi), np.maximum(a_lo, sb), a_hi),
            np.where(np.isinf(b_hi), np.maximum(b_lo, sa), b_hi))


def best_shift(u: np.ndarray, v: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray,
               b_lo: np.ndarray, b_hi: np.ndarray) -> float:
    """The t maximising the dual objective of (u + t, v - t) (:func:`~otreg.transport.plan.
    bounded_dual_value`), which keeps u_i + v_j <= M_ij.

    t -> sum_i phi_i(u_i + t) + sum_j psi_j(v_j - t) is concave piecewise linear with
    breakpoints -u_i and v_j; just right of t its slope is
    sum_{u_i + t < 0} a_hi_i + sum_{u_i + t >= 0} a_lo_i - sum_{v_j > t} b_lo_j
    - sum_{v_j <= t} b_hi_j, non-increasing: the maximum is at the first breakpoint where it is
    <= 0 (an infinite bound counts as an infinitely steep slope)."""
    cand = np.concatenate([-u, v])
    order_u, order_v = np.argsort(-u), np.argsort(v)
    ku, kv = -u[order_u], v[order_v]
    a_fin = np.where(np.isinf(a_hi), 0.0, a_hi - a_lo)[order_u]
    b_fin = np.where(np.isinf(b_hi), 0.0, b_hi - b_lo)[order_v]
    a_inf, b_inf = np.isinf(a_hi)[order_u], np.isinf(b_hi)[order_v]

    def passed(keys: np.ndarray, w: np.ndarray) -> np.ndarray:  # sum of w over keys <= cand
        return np.concatenate([[0.0], np.cumsum(w)])[np.searchsorted(keys, cand, side="right")]

    slope = (float(np.where(np.isinf(a_hi), 0.0, a_hi).sum()) - passed(ku, a_fin)
             - float(b_lo.sum()) - passed(kv, b_fin))
    rows_inf_left = a_inf.sum() - passed(ku, a_inf.astype(float))  # rows still at slope inf
    cols_inf_in = passed(kv, b_inf.astype(float))  # columns already at slope -inf
    ok = (rows_inf_left == 0) & ((cols_inf_in > 0) | (slope <= 0))
    return float(np.min(cand[ok])) if np.any(ok) else float(np.max(cand))


def polished_duals(M: np.ndarray, u: np.ndarray, v: np.ndarray, bounds: tuple[np.ndarray, ...]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Feasible duals (u_i + v_j <= M_ij) raised to the best the dual objective allows along
    two c-transforms and a common shift: u_i = min_j M_ij - v_j, then v_j = min_i M_ij - u_i
    (each step can only raise the objective, phi and psi being non-decreasing), then
    :func:`best_shift`.  Turns the duals of the balanced POT reduction into duals of the
    bounded problem (optimal when the reduction's are)."""
    u, minus_v = c_transform_clean(u, -v, M)
    v = -minus_v
    t = best_shift(u, v, *bounds)
    return u + t, v - t


def _solve_dense(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
                 M: np.ndarray, method: str, offset: float) -> BoundedSolution:
    """POT or HiGHS on (M + offset) / s, masses / w (s, w powers of two): their absolute
    tolerances then act at the problem's scale."""
    from .highs_solver import solve_bounded_highs
    from .pot_solver import solve_bounded_pot

    a_hi, b_hi = _finite_uppers(a_lo, a_hi, b_lo, b_hi, method)
    w = power_of_two_scale(max(float(a_hi.max()), float(b_hi.max())))
    check_dense_size(*M.shape, copies=1, what=f"the cost matrix handed to {method!r}")
    C = M + offset
    s = power_of_two_scale(float(np.abs(C).max()))
    C /= s
    solver = solve_bounded_pot if method == "pot" else solve_bounded_highs
    bounds = (a_lo / w, a_hi / w, b_lo / w, b_hi / w)
    plan, u, v = solver(*bounds, C)
    u, v = polished_duals(C, u, v, bounds)
    rows, cols = np.nonzero(plan > 0)
    flows = plan[rows, cols] * w
    value = float(np.dot(M[rows, cols] + offset, flows))
    return BoundedSolution(rows, cols, flows, u * s, v * s, value, M.shape, method, offset=offset)


def solve_bounded(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any, M: Any, *,
                  method: str = "netsimplex", offset: float = 0.0, max_iter: int | None = None,
                  validate: bool = True, **options: Any) -> BoundedSolution:
    """The one way into the exact solvers of the bounded problem: ``min <pi, M + offset>``
    over plans pi >= 0 with row sums in [a_lo, a_hi] and column sums in [b_lo, b_hi] (POT's
    argument order; the constant ``offset`` is applied without copying M).

    The core of :func:`bounded_emd`, :func:`bounded_emd2`, :func:`otreg.hkr_transport` and
    :func:`otreg.wasserstein1`.  ``method`` is one of :data:`BOUNDED_METHODS`; ``max_iter``
    limits the network simplex's pivots and ``options`` tune it (``init``, ``hub_block``,
    ``block_factor``, ``candidates``, ``hot_rows``: see
    :func:`otreg.transport.netsimplex.network_simplex`).  ``validate=False`` skips the input
    checks of :func:`otreg.transport.validate.check_bounded_problem`, for input the library
    built itself (float64 arrays, M C-contiguous and finite, feasible bounds).

    Returns a :class:`BoundedSolution`; raises InputError / SolverError.
    """
    if method not in BOUNDED_METHODS:
        raise InputError(f"method: expected one of {BOUNDED_METHODS}, got {method!r}")
    if validate:
        a_lo, a_hi, b_lo, b_hi, M = check_bounded_problem(a_lo, a_hi, b_lo, b_hi, M, offset)
    if method == "netsimplex":
        return network_simplex(a_lo, a_hi, b_lo, b_hi, M, offset=offset, max_iter=max_iter,
                               **options)
    if options:
        raise InputError(f"{', '.join(options)}: options of method 'netsimplex' only")
    return _solve_dense(a_lo, a_hi, b_lo, b_hi, M, method, offset)


def _log(sol: BoundedSolution, M: np.ndarray, bounds: tuple[np.ndarray, ...]) -> dict[str, Any]:
    a_lo, a_hi, b_lo, b_hi = bounds
    dual = bounded_dual_value(sol.u, sol.v, a_lo, a_hi, b_lo, b_hi)
    scale = (max(abs(float(M.min())), abs(float(M.max()))) or 1.0) * (
        max(float(a_lo.sum()), float(b_lo.sum()), sol.mass) or 1.0)
    return {"u": sol.u, "v": sol.v, "cost": sol.value, "dual_cost": dual,
            "gap": abs(sol.value - dual) / scale, "mass": sol.mass, "method": sol.method,
            "iterations": sol.iterations, "warning": None}


def bounded_emd(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any, M: Any, log: bool = False,
                method: str = "netsimplex",
                max_iter: int | None = None) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """Optimal transport plan with marginal intervals, exactly (POT style).

    Solves ``min <pi, M>`` over plans ``pi >= 0`` whose row sums lie in ``[a_lo, a_hi]`` and
    column sums in ``[b_lo, b_hi]``.  With ``a_lo = a_hi`` and ``b_lo = b_hi`` (equal totals)
    this is ``ot.emd``; with intervals the total mass moved is itself optimised.

    Parameters
    ----------
    a_lo, a_hi : array (n,) or scalar
        Lower and upper bounds of the row sums, ``0 <= a_lo <= a_hi`` (``a_hi`` may be inf).
    b_lo, b_hi : array (m,) or scalar
        Bounds of the column sums.
    M : array (n, m)
        Cost matrix, any finite values (negative costs are allowed).
    log : bool
        Also return a dict with the dual potentials ``u`` (n,), ``v`` (m,) (``u_i + v_j <=
        M_ij``, equality on the plan's support, ``u_i > 0`` only at a row's lower bound,
        ``u_i < 0`` only at its upper bound), ``cost``, ``dual_cost`` (the dual objective of
        ``u, v``), ``gap`` (``|cost - dual_cost|`` relative to max|M| times the mass),
        ``mass``, ``method``, ``iterations`` and ``warning`` (always None: failures raise).
    method : {"netsimplex", "pot", "highs"}
        Exact solver; the network simplex is much the fastest.
    max_iter : int, optional
        Pivot limit of the network simplex (default: none).

    Returns
    -------
    plan : ndarray (n, m)
        An optimal plan; with ``log=True``, ``(plan, log)``.

    Raises
    ------
    InputError
        Wrong shapes, NaN, a negative or inverted bound, infeasible bounds (``sum(a_lo) >
        sum(b_hi)`` or ``sum(b_lo) > sum(a_hi)``), or a problem without a minimum (a negative
        cost between a row and a column whose upper bounds are both infinite).
    SolverError
        The solver failed (``max_iter`` reached).

    Examples
    --------
    >>> import numpy as np, otreg
    >>> M = np.array([[0.0, 2.0], [2.0, -1.0]])
    >>> plan = otreg.bounded_emd([0.5, 0.5], [1.0, 1.0], [0.5, 0.5], [0.5, 2.0], M)
    >>> float((plan * M).sum())
    -1.0
    """
    *bounds, M = check_bounded_problem(a_lo, a_hi, b_lo, b_hi, M)
    sol = solve_bounded(*bounds, M, method=method, max_iter=max_iter, validate=False)
    plan = sol.plan()
    return (plan, _log(sol, M, tuple(bounds))) if log else plan


def bounded_emd2(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any, M: Any, log: bool = False,
                 method: str = "netsimplex", max_iter: int | None = None,
                 return_matrix: bool = False) -> float | tuple[float, dict[str, Any]]:
    """The optimal value of :func:`bounded_emd` (POT's ``emd2`` style); with ``log=True``,
    ``(value, log)`` where log is that of :func:`bounded_emd` plus, if ``return_matrix``, the
    plan under ``"G"``.  Memory: M and O(n + m) unless the plan is asked for."""
    *bounds, M = check_bounded_problem(a_lo, a_hi, b_lo, b_hi, M)
    sol = solve_bounded(*bounds, M, method=method, max_iter=max_iter, validate=False)
    if not log:
        return sol.value
    out = _log(sol, M, tuple(bounds))
    if return_matrix:
        out["G"] = sol.plan()
    return sol.value, out
