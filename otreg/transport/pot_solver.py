"""The bounded transport problem (the hKR primal, docs/mathematics.md §3, and any other bounds)
solved with POT's exact network simplex ``ot.emd`` on the balanced reduction of
docs/mathematics.md §4.

Sources: mandatory rows (mass a_lo_i), optional rows (a_hi_i - a_lo_i) and a dummy S; sinks:
mandatory columns (b_lo_j), optional columns (b_hi_j - b_lo_j) and a dummy T.  Real arcs cost
M_ij; optional -> dummy and S -> T cost 0; mandatory -> dummy arcs are forbidden by a large
cost.  With F0 = max(sum a_lo, sum b_lo), the least mass a plan moves, S carries
sum b_hi - F0 and T carries sum a_hi - F0: a plan moving F >= F0 leaves sum a_hi - F of optional
row mass for T and sum b_hi - F of optional column mass to be fed by S, and S sends the rest,
F - F0, to T.  (hKR: sum a_lo = sum b_lo = 1, S = lam (1 - p), T = lam p.)
"""
from __future__ import annotations

import warnings

import numpy as np
import ot

from ..errors import SolverError
from .objective import check_dense_size


def solve_bounded_pot(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
                      M: np.ndarray, num_iter_max: int = 10**9
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Same contract as :func:`otreg.transport.highs_solver.solve_bounded_highs`."""
    n, m = M.shape
    check_dense_size(2 * n + 1, 2 * m + 1, copies=3, what="the POT reduction's cost matrix")
    a_opt = a_hi - a_lo
    b_opt = b_hi - b_lo
    least = max(float(a_lo.sum()), float(b_lo.sum()))
    s_mass = max(0.0, float(b_hi.sum()) - least)  # S feeds the columns' unused optional mass
    t_mass = max(0.0, float(a_hi.sum()) - least)  # T absorbs the rows' unused optional mass
    big = 4.0 * (np.abs(M).max() + 1.0) * (1.0 + t_mass + s_mass)
    R = np.empty((2 * n + 1, 2 * m + 1))
    R[: 2 * n, : 2 * m] = np.tile(M, (2, 2))
    R[:n, 2 * m] = big  # mandatory positive -> T: forbidden
    R[n : 2 * n, 2 * m] = 0.0  # optional positive -> T
    R[2 * n, :m] = big  # S -> mandatory negative: forbidden
    R[2 * n, m : 2 * m] = 0.0  # S -> optional negative
    R[2 * n, 2 * m] = 0.0  # S -> T
    src = np.concatenate([a_lo, a_opt, [s_mass]])
    snk = np.concatenate([b_lo, b_opt, [t_mass]])
    snk *= src.sum() / snk.sum()  # equal totals to the last bit, as ot.emd requires
    # ot.emd reports "infeasible" on some problems whose optimal cost is negative (e.g. the 1 x 1
    # problem [[-2]]): solve with costs shifted to be >= 0, which leaves the balanced problem's
    # plans unchanged and shifts the duals by the same constant (added back to v below).
    low = float(R.min())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G, log = ot.emd(src, snk, R - low, numItermax=num_iter_max, log=True)
    if log.get("warning"):
        raise SolverError(f"pot: ot.emd did not reach an optimum ({log['warning']})")
    forbidden = G[:n, 2 * m].sum() + G[2 * n, :m].sum()
    if forbidden > 1e-12:
        raise SolverError(f"pot: mass {forbidden:g} on forbidden dummy arcs; reduction failed")
    plan = G[:n, :m] + G[:n, m : 2 * m] + G[n : 2 * n, :m] + G[n : 2 * n, m : 2 * m]
    u, v = log["u"], log["v"] + low
    # Gauge: the dummy sink T carries potential 0, so that optional copies price the upper
    # bounds.  Each real point's potential is the larger of its two copies' (both satisfy the
    # real-arc constraints, so the max does too); the caller cleans them by a c-transform.
    shift = v[2 * m]
    u = u + shift
    v = v - shift
    alpha = np.maximum(u[:n], u[n : 2 * n])
    beta = np.maximum(v[:m], v[m : 2 * m])
    return plan, alpha, beta
