"""Independent reference for the bounded transport tests: the primal LP by HiGHS.

    min <C, pi>  over pi >= 0,  a_lo <= pi 1 <= a_hi,  b_lo <= pi^T 1 <= b_hi

written directly as a sparse LP (infinite upper bounds simply have no row), solved in units
where max|C| and the largest finite bound are ~1 so that HiGHS's absolute tolerances act at
the problem's scale.  Small n only.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix, vstack


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
