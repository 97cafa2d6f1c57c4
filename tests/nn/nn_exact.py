"""Independent exact hKR minima for the neural tests.

``exact_hkr_min`` uses ``otreg.transport.hkr_transport(method="pot")`` when it exists, else the balanced
exact-OT reduction of spec section 4 solved by POT's ``ot.emd``.  ``lp_hkr_min`` solves the dual
LP of spec section 2 with HiGHS (small n only); the tests check the two agree.
"""
from __future__ import annotations

import numpy as np
import ot
from scipy.optimize import linprog
from scipy.sparse import coo_matrix
from scipy.spatial.distance import cdist


def _weights(k, w):
    w = np.ones(k) if w is None else np.asarray(w, float)
    return w / w.sum()


def lp_hkr_min(x_pos, x_neg, lam, margin, a=None, b=None, p=None):
    """min L over f feasible on the samples (spec section 2), by HiGHS."""
    n, m = len(x_pos), len(x_neg)
    a, b = _weights(n, a), _weights(m, b)
    p = n / (n + m) if p is None else p
    d = cdist(x_pos, x_neg)
    # variables: f (n), g (m), s (n), t (m)
    c = np.concatenate([-a, b, lam * p * a, lam * (1 - p) * b])
    rows, cols, vals = [], [], []
    r = 0
    ii, jj = np.meshgrid(np.arange(n), np.arange(m), indexing="ij")
    ii, jj = ii.ravel(), jj.ravel()
    k = ii.size
    rows = np.concatenate([np.arange(k), np.arange(k)])
    cols = np.concatenate([ii, n + jj])
    vals = np.concatenate([np.ones(k), -np.ones(k)])
    a_cross = coo_matrix((vals, (rows, cols)), shape=(k, 2 * (n + m)))
    # -s_i - f_i <= -margin ;  -t_j + g_j <= -margin
    hn = coo_matrix((np.concatenate([-np.ones(n), -np.ones(n)]),
                     (np.concatenate([np.arange(n)] * 2),
                      np.concatenate([np.arange(n), n + m + np.arange(n)]))),
                    shape=(n, 2 * (n + m)))
    hm = coo_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                     (np.concatenate([np.arange(m)] * 2),
                      np.concatenate([n + np.arange(m), 2 * n + m + np.arange(m)]))),
                    shape=(m, 2 * (n + m)))
    from scipy.sparse import vstack
    a_ub = vstack([a_cross, hn, hm]).tocsr()
    b_ub = np.concatenate([d.ravel(), -margin * np.ones(n + m)])
    bounds = [(None, None)] * (n + m) + [(0, None)] * (n + m)
    res = linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.fun)


def emd_hkr_min(x_pos, x_neg, lam, margin, a=None, b=None, p=None):
    """min L by the balanced reduction of spec section 4 (ot.emd)."""
    n, m = len(x_pos), len(x_neg)
    a, b = _weights(n, a), _weights(m, b)
    p = n / (n + m) if p is None else p
    d = cdist(x_pos, x_neg) - 2 * margin
    big = 10.0 * (np.abs(d).max() + 1.0)
    # sources: mandatory pos (n), optional pos (n), S ; sinks: mandatory neg (m), optional neg (m), T
    src = np.concatenate([a, lam * p * a, [lam * (1 - p)]])
    snk = np.concatenate([b, lam * (1 - p) * b, [lam * p]])
    cost = np.full((2 * n + 1, 2 * m + 1), big)
    cost[:2 * n, :2 * m] = np.tile(d, (2, 2))
    cost[n:2 * n, 2 * m] = 0.0          # optional pos -> T
    cost[2 * n, m:2 * m] = 0.0          # S -> optional neg
    cost[2 * n, 2 * m] = 0.0            # S -> T
    keep_s = src > 0
    keep_t = snk > 0
    plan_cost = ot.emd2(src[keep_s], snk[keep_t], cost[np.ix_(keep_s, keep_t)], numItermax=10**8)
    return float(-2 * margin - plan_cost)


def exact_hkr_min(x_pos, x_neg, lam, margin, a=None, b=None, p=None):
    """Exact min of L: ``hkr_transport(method="pot")`` (the certified POT reduction of
    section 4), else this module's own reduction.  The POT method is pinned so that these
    references do not depend on the fast network-simplex solver under development."""
    try:
        from otreg.transport import hkr_transport
    except ImportError:
        return emd_hkr_min(x_pos, x_neg, lam, margin, a, b, p)
    kw = {} if a is None and b is None and p is None else {"a": a, "b": b, "p": p}
    try:
        return float(hkr_transport(x_pos, x_neg, lam=lam, margin=margin, method="pot",
                                   **kw).loss)
    except TypeError:  # no ``method`` argument
        return emd_hkr_min(x_pos, x_neg, lam, margin, a, b, p)


def exact_w1(x_pos, x_neg):
    try:
        from otreg.transport import wasserstein1
    except ImportError:
        n, m = len(x_pos), len(x_neg)
        return float(ot.emd2(np.full(n, 1 / n), np.full(m, 1 / m), cdist(x_pos, x_neg),
                             numItermax=10**8))
    return float(wasserstein1(x_pos, x_neg))
