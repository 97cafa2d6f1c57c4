"""Input checks of the bounded transport problem (``bounded_emd`` and the solvers below it).

Every check raises :class:`otreg.errors.InputError` whose message starts with the name of the
argument at fault: a wrong shape, NaN, a lower bound above its upper bound, bounds no plan can
meet (``sum(a_lo) > sum(b_hi)`` or ``sum(b_lo) > sum(a_hi)``) or a problem without a minimum.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["check_bounded_problem", "power_of_two_scale"]

#: relative slack of the feasibility test sum(a_lo) <= sum(b_hi): the sums of the same masses
#: computed in another order differ by a few ulp (e.g. normalised weights on both sides)
FEASIBILITY_RTOL = 1e-12


def power_of_two_scale(value: float) -> float:
    """The largest power of two <= ``value`` (1 if ``value`` is 0 or not finite): dividing by
    it is exact in floating point, so a problem in these units is the same problem, bit for
    bit (outside the subnormal range)."""
    if not (np.isfinite(value) and value > 0):
        return 1.0
    return float(np.ldexp(1.0, int(np.frexp(value)[1]) - 1))


def _bound_vector(v: Any, name: str, size: int, upper: bool) -> np.ndarray:
    try:
        out = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: expected a vector of {size} numbers ({exc})") from None
    out = np.full(size, float(out)) if out.ndim == 0 else np.ascontiguousarray(out)
    if out.shape != (size,):
        raise InputError(f"{name}: expected shape ({size},), got {out.shape}")
    if np.any(np.isnan(out)):
        raise InputError(f"{name}: contains NaN")
    if not upper and not np.all(np.isfinite(out)):
        raise InputError(f"{name}: lower bounds must be finite")
    if np.any(out < 0):
        raise InputError(f"{name}: bounds must be >= 0, got {out.min():g}")
    return out


def check_bounded_problem(a_lo: Any, a_hi: Any, b_lo: Any, b_hi: Any, M: Any,
                          offset: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                        np.ndarray, np.ndarray]:
    """Validate min <pi, M + offset> over pi >= 0 with row sums in [a_lo, a_hi] and column
    sums in [b_lo, b_hi] (POT's argument order); return ``(a_lo, a_hi, b_lo, b_hi, M)`` as
    float64 arrays (M is not copied if it already is one, C-contiguous).

    Upper bounds may be ``inf``; bounds given as scalars apply to every row / column.
    """
    try:
        M = np.ascontiguousarray(M, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"M: expected a 2-D array of numbers ({exc})") from None
    if M.ndim != 2 or M.shape[0] < 1 or M.shape[1] < 1:
        raise InputError(f"M: expected a non-empty 2-D array, got shape {M.shape}")
    lo, hi = float(M.min()) + offset, float(M.max()) + offset  # NaN propagates; no temporary
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise InputError("M: contains NaN or inf (or overflows with the offset)")
    n, m = M.shape
    a_lo = _bound_vector(a_lo, "a_lo", n, False)
    a_hi = _bound_vector(a_hi, "a_hi", n, True)
    b_lo = _bound_vector(b_lo, "b_lo", m, False)
    b_hi = _bound_vector(b_hi, "b_hi", m, True)
    for name, low, high in (("a_hi", a_lo, a_hi), ("b_hi", b_lo, b_hi)):
        bad = np.flatnonzero(high < low)
        if bad.size:
            k = int(bad[0])
            raise InputError(f"{name}: below the lower bound at index {k} "
                             f"({high[k]:.17g} < {low[k]:.17g}); no plan is feasible")
    sums = {k: float(v.sum()) for k, v in
            (("a_lo", a_lo), ("a_hi", a_hi), ("b_lo", b_lo), ("b_hi", b_hi))}
    for low, high in (("a_lo", "b_hi"), ("b_lo", "a_hi")):
        if sums[low] > sums[high] * (1.0 + FEASIBILITY_RTOL):
            raise InputError(f"{low}, {high}: infeasible bounds, sum({low}) = {sums[low]:.17g} > "
                             f"sum({high}) = {sums[high]:.17g}: every plan moves at least "
                             f"sum({low}) and at most sum({high})")
    rows, cols = np.flatnonzero(np.isinf(a_hi)), np.flatnonzero(np.isinf(b_hi))
    if rows.size and cols.size and lo < 0:
        block = M[np.ix_(rows, cols)] + offset
        if block.min() < 0:
            i, j = np.unravel_index(int(np.argmin(block)), block.shape)
            raise InputError(f"M: no minimum, M[{rows[i]}, {cols[j]}] = {block[i, j]:g} < 0 "
                             f"links a row and a column with infinite upper bounds (a_hi, "
                             "b_hi), so moving more mass along it lowers the cost without end")
    return a_lo, a_hi, b_lo, b_hi, M
