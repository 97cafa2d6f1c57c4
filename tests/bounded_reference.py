"""Independent references for the bounded transport tests: the primal LP by HiGHS, and a
certificate of optimality (primal and dual feasibility, complementary slackness, duality gap)
computed from a solution without the solver.

    min <C, pi>  over pi >= 0,  a_lo <= pi 1 <= a_hi,  b_lo <= pi^T 1 <= b_hi

written directly as a sparse LP (infinite upper bounds simply have no row), solved in units
where max|C| and the largest finite bound are ~1 so that HiGHS's absolute tolerances act at
the problem's scale.  Small n only.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack

from otreg.transport.plan import bounded_dual_value


def lp_value(C, a_lo, a_hi, b_lo, b_hi):
    """The optimal value by HiGHS (feasibility tolerances 1e-10: with its defaults, 1e-7, its
    value was seen 3e-9 off where ot.emd2 and the network simplex agree to 1e-16)."""
    C = np.asarray(C, dtype=float)
    n, m = C.shape
    a_lo, a_hi, b_lo, b_hi = (np.asarray(v, dtype=float) for v in (a_lo, a_hi, b_lo, b_hi))
    s = float(np.abs(C).max()) or 1.0
    finite = np.concatenate([v[np.isfinite(v)] for v in (a_lo, a_hi, b_lo, b_hi)])
    w = float(finite.max(initial=0.0)) or 1.0
    k = np.arange(n * m)
    R = coo_matrix((np.ones(n * m), (k // m, k)), shape=(n, n * m)).tocsr()
    K = coo_matrix((np.ones(n * m), (k % m, k)), shape=(m, n * m)).tocsr()
    fa, fb = np.isfinite(a_hi), np.isfinite(b_hi)
    A = vstack([R[fa], -R, K[fb], -K]).tocsr()
    rhs = np.concatenate([a_hi[fa], -a_lo, b_hi[fb], -b_lo]) / w
    res = linprog(C.ravel() / s, A_ub=A, b_ub=rhs, bounds=(0, None), method="highs",
                  options={"primal_feasibility_tolerance": 1e-10,
                           "dual_feasibility_tolerance": 1e-10})
    assert res.status == 0, res.message
    return res.fun * s * w


def certify(a_lo, a_hi, b_lo, b_hi, C, sol, tol=1e-9, chunk=1 << 22):
    """Check the optimality of ``sol`` (a :class:`otreg.transport.BoundedSolution` of the
    problem with costs ``C + sol.offset``) independently of the solver, relative to the
    problem's scales: S = max |C + offset| (costs) and W = max(sum a_lo, sum b_lo, mass of the
    plan).

    Keys: ``primal`` (negative flows and marginal bound violations, / W), ``dual`` (largest
    u_i + v_j - C_ij over ALL n*m arcs, / S), ``slackness`` (largest |C_ij - u_i - v_j| on
    the plan's support, / S), ``gap`` (|primal value - dual value| / (S W), the dual value of
    :func:`bounded_dual_value`), ``dual_value``, ``value``, ``scale_cost``, ``scale_mass`` and
    ``ok`` (all four <= tol).
    """
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    off = sol.offset
    a_lo, a_hi, b_lo, b_hi = (np.asarray(v, dtype=np.float64) for v in (a_lo, a_hi, b_lo, b_hi))
    r, c = sol.row_sums, sol.col_sums
    S = max(abs(float(C.min()) + off), abs(float(C.max()) + off)) or 1.0
    W = max(float(a_lo.sum()), float(b_lo.sum()), float(sol.flows.sum())) or 1.0
    primal = max(0.0, float(-sol.flows.min()) if sol.flows.size else 0.0,
                 float(np.max(a_lo - r)), float(np.max(r - a_hi)),
                 float(np.max(b_lo - c)), float(np.max(c - b_hi))) / W
    u, v = sol.u, sol.v
    rows_per = max(1, chunk // max(m, 1))
    worst = -np.inf  # largest u_i + v_j - C_ij, by chunks of rows
    for s in range(0, n, rows_per):
        worst = max(worst, float((u[s:s + rows_per, None] + v[None, :]
                                  - (C[s:s + rows_per] + off)).max()))
    worst = max(worst, float(np.max(-u[np.isinf(a_hi)], initial=0.0)),
                float(np.max(-v[np.isinf(b_hi)], initial=0.0)))  # phi = -inf for u < 0 there
    dual = max(0.0, worst) / S
    slack = 0.0
    if sol.flows.size:
        rs = C[sol.rows, sol.cols] + off - u[sol.rows] - v[sol.cols]
        slack = float(np.max(np.abs(rs))) / S
    dual_value = bounded_dual_value(u, v, a_lo, a_hi, b_lo, b_hi)
    gap = abs(sol.value - dual_value) / (S * W)
    ok = max(primal, dual, slack, gap) <= tol
    return {"primal": primal, "dual": dual, "slackness": slack, "gap": gap,
            "dual_value": dual_value, "value": sol.value, "scale_cost": S, "scale_mass": W,
            "ok": bool(ok)}
