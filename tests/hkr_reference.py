"""Independent reference for the tests: the dual LP of docs/mathematics.md §2 solved directly
by HiGHS.

Written from the mathematics, not from otreg's solvers (which solve the bounded-transport primal
or its dual in other variables), so agreement is evidence, not tautology.  Small n only.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.spatial.distance import cdist


def dual_lp_value(x_pos, x_neg, lam, margin, a=None, b=None, p=None) -> float:
    """min over f, g, s, t of  b.g - a.f + lam p a.s + lam (1 - p) b.t  subject to
    f_i - g_j <= |x_i - z_j|,  s_i >= margin - f_i,  t_j >= margin + g_j,  s, t >= 0.

    ``a``, ``b`` default to uniform (normalised to 1 here), ``p`` to n / (n + m).
    """
    n, m = len(x_pos), len(x_neg)
    a = np.full(n, 1.0 / n) if a is None else np.asarray(a, float) / np.sum(a)
    b = np.full(m, 1.0 / m) if b is None else np.asarray(b, float) / np.sum(b)
    p = n / (n + m) if p is None else p
    ii, jj = (g.ravel() for g in np.meshgrid(np.arange(n), np.arange(m), indexing="ij"))
    k = ii.size
    width = 2 * (n + m)  # variables: f (n), g (m), s (n), t (m)
    cross = sp.coo_matrix((np.r_[np.ones(k), -np.ones(k)],
                           (np.r_[np.arange(k), np.arange(k)], np.r_[ii, n + jj])),
                          shape=(k, width))
    hinge_pos = sp.coo_matrix((-np.ones(2 * n), (np.r_[np.arange(n), np.arange(n)],
                                                 np.r_[np.arange(n), n + m + np.arange(n)])),
                              shape=(n, width))  # -f_i - s_i <= -margin
    hinge_neg = sp.coo_matrix((np.r_[np.ones(m), -np.ones(m)],
                               (np.r_[np.arange(m), np.arange(m)],
                                np.r_[n + np.arange(m), 2 * n + m + np.arange(m)])),
                              shape=(m, width))  # g_j - t_j <= -margin
    res = linprog(np.concatenate([-a, b, lam * p * a, lam * (1 - p) * b]),
                  A_ub=sp.vstack([cross, hinge_pos, hinge_neg]).tocsr(),
                  b_ub=np.concatenate([cdist(x_pos, x_neg).ravel(), -margin * np.ones(n + m)]),
                  bounds=[(None, None)] * (n + m) + [(0, None)] * (n + m), method="highs")
    assert res.status == 0, res.message
    return float(res.fun)
