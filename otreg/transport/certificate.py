"""The optimality certificate of an hKR solution (docs/mathematics.md §3.5).

A feasible plan and a potential that is 1-Lipschitz on the samples bracket the optimum
(weak duality): ``-2 m - <pi, d - 2 m> <= min L <= L(f)``.  Their difference, the duality gap,
is judged relative to :func:`value_scale`, the sum of the magnitudes of every term of the two
values: both are computed as sums of those terms, so their rounding is a small multiple of
it, and it cannot overflow or vanish unless the terms themselves do.
"""
from __future__ import annotations

import numpy as np

from ..problem import Problem

__all__ = ["value_scale", "relative_gap", "marginal_violation"]


def value_scale(pr: Problem, f_pos: np.ndarray, f_neg: np.ndarray, mass: float,
                transported: float) -> float:
    """``2 m (1 + mass) + <pi, d> + sum a |f| + sum b |g| + lam (p sum a (m - f)_+ +
    (1 - p) sum b (m + g)_+)``: the magnitudes of the terms of the primal value
    ``-2 m - <pi, d - 2 m>`` (with ``mass = sum pi``, ``transported = <pi, d>``) and of the
    dual value L(f, g), all non-negative, in the units of ``pr``."""
    m = pr.margin
    hinge = (pr.p * float(np.dot(pr.a, np.maximum(m - f_pos, 0.0)))
             + (1.0 - pr.p) * float(np.dot(pr.b, np.maximum(m + f_neg, 0.0))))
    return (2.0 * m * (1.0 + abs(mass)) + abs(transported)
            + float(np.dot(pr.a, np.abs(f_pos))) + float(np.dot(pr.b, np.abs(f_neg)))
            + pr.lam * hinge)


def relative_gap(primal_loss: float, dual_loss: float, scale: float) -> float:
    """``|primal_loss - dual_loss| / scale``; 0 when both agree exactly (even at scale 0) and
    ``inf`` when a value is not finite, so that such a candidate never passes."""
    diff = abs(primal_loss - dual_loss)
    if not np.isfinite(diff) or not np.isfinite(scale):
        return float("inf")
    if diff == 0.0:
        return 0.0
    return diff / scale if scale > 0 else float("inf")


def marginal_violation(bounds: tuple[np.ndarray, ...], rows: np.ndarray, cols: np.ndarray,
                       smallest_flow: float) -> float:
    """The largest violation of ``a_lo <= rows <= a_hi``, ``b_lo <= cols <= b_hi`` and
    ``flows >= 0``: a lower bound's relative to the total of the lower bounds (the mandatory
    mass, 1 for hKR), so that a plan short of the mandatory mass fails however large the
    optional mass is; an upper bound's and a negative flow's relative to the plan's mass."""
    a_lo, a_hi, b_lo, b_hi = bounds
    low = max(float(np.sum(a_lo)), float(np.sum(b_lo)))
    mass = max(low, float(np.sum(rows)), float(np.sum(cols)))
    short = max(float(np.max(a_lo - rows)), float(np.max(b_lo - cols)), 0.0)
    over = max(float(np.max(rows - a_hi)), float(np.max(cols - b_hi)), -float(smallest_flow),
               0.0)
    return max(short / low if low > 0 else 0.0, over / mass if mass > 0 else 0.0)
