"""Validation of user input: point clouds, weights, class prior, hKR parameters, numbers.

:class:`otreg.problem.Problem` calls these once, where data enter otreg.  All checks raise
:class:`otreg.errors.InputError` (a ``ValueError``) whose message starts with the argument's
name, so that bad input never reaches a solver as a silent NaN.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import InputError

#: dtype kinds that NumPy would silently turn into floats with a wrong meaning: complex
#: (imaginary part dropped), booleans, strings, dates, structured records
_NOT_REAL = {"c": "complex", "b": "boolean", "U": "string", "S": "bytes", "M": "datetime",
             "m": "timedelta", "V": "structured"}
_ComplexWarning = (np.exceptions.ComplexWarning if hasattr(np, "exceptions")
                   else np.ComplexWarning)  # numpy < 1.25


def as_float_array(x: object, name: str) -> np.ndarray:
    """``x`` as a float64 array; complex, boolean, string, date and record input is refused
    (NumPy would drop an imaginary part or read ``True`` as 1 without a word)."""
    if x is None:
        raise InputError(f"{name}: missing (got None); expected a float array")
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is None and not isinstance(x, (int, float, np.number)):
        try:  # lists, tuples, scalars: look at what NumPy infers before casting
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            kind = None
    if kind in _NOT_REAL:
        hint = "; pass x.real (or abs(x)) explicitly" if kind == "c" else ""
        raise InputError(f"{name}: expected real numbers, got {_NOT_REAL[kind]} values{hint}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", _ComplexWarning)
            with np.errstate(over="ignore"):
                out = np.asarray(x, dtype=np.float64)
        _check_range(x, out, name)
        return out
    except _ComplexWarning:
        raise InputError(f"{name}: expected real numbers, got complex values; pass x.real "
                         "explicitly") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{name}: cannot be read as a float array ({exc})") from None


def _check_range(x: object, out: np.ndarray, name: str) -> None:
    """A finite value of a wider float type (long double) that became infinite in float64 is
    out of float64's range, not "infinite": say so."""
    src = x if isinstance(x, np.ndarray) else None
    if src is None and isinstance(x, np.generic):
        src = np.asarray(x)
    if src is None or src.dtype.kind != "f" or src.dtype.itemsize <= 8:
        return
    lost = np.isfinite(src) & ~np.isfinite(out)
    if np.any(lost):
        worst = src[lost].reshape(-1)[0]
        raise InputError(f"{name}: {np.count_nonzero(lost)} finite value(s) of type "
                         f"{src.dtype} beyond the float64 range (+-{np.finfo(np.float64).max:.3g}),"
                         f" e.g. {worst!r}; rescale the data")


def as_points(x: object, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape (k, d), k >= 1, d >= 1.

    ``dim``, if given, is the required dimension d.  Complex, boolean and string input is
    refused (see :func:`as_float_array`).
    """
    arr = as_float_array(x, name)
    if arr.ndim != 2:
        raise InputError(
            f"{name}: expected a 2-D array of shape (k, d), got {arr.ndim}-D shape {arr.shape}"
            + ("; reshape a 1-D array of k scalars with x[:, None]" if arr.ndim == 1 else "")
        )
    if arr.shape[0] == 0:
        raise InputError(f"{name}: is empty (0 points); each class needs at least one point")
    if arr.shape[1] == 0:
        raise InputError(f"{name}: points have dimension 0")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InputError(f"{name}: contains {bad} NaN or infinite value(s)")
    if dim is not None and arr.shape[1] != dim:
        raise InputError(
            f"{name}: dimension mismatch, points have d={arr.shape[1]} but d={dim} is expected"
        )
    return arr


def raw_weights(w: object, k: int, name: str) -> np.ndarray:
    """Return the un-normalised weights (ones if ``w`` is None), checked.

    Weights must be finite, non-negative, of length ``k`` and with a positive sum.
    """
    if w is None:
        return np.ones(k)
    arr = as_float_array(w, name)
    if arr.ndim != 1 or arr.shape[0] != k:
        raise InputError(f"{name}: expected shape ({k},) to match the points, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: contains NaN or infinite weights")
    if np.any(arr < 0):
        raise InputError(f"{name}: weights must be non-negative (min is {arr.min():g})")
    if not float(arr.max()) > 0:  # not the sum: it may overflow for finite weights
        raise InputError(f"{name}: weights sum to zero; at least one must be positive")
    return arr


def as_number(value: object, name: str, low: float | None = None, strict: bool = False) -> float:
    """A finite float, ``>= low`` (``> low`` if ``strict``) when ``low`` is given."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}: expected a number, got {value!r}")
    try:
        val = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(val):
        raise InputError(f"{name}: must be finite, got {value!r}")
    if low is not None and (val < low or (strict and val == low)):
        raise InputError(f"{name}: must be {'>' if strict else '>='} {low:g}, got {value!r}")
    return val


def as_int(value: object, name: str, low: int = 0) -> int:
    """An integer ``>= low``; integral floats and numeric strings ("3") are accepted."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    try:
        val = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"{name}: expected an integer, got {value!r}") from None
    if val != value and not (isinstance(value, str) and str(val) == value.strip()):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    if val < low:
        raise InputError(f"{name}: must be an integer >= {low}, got {value!r}")
    return val


#: the largest λ accepted (docs/faults.md, parameter ranges): the plan's marginal bounds are
#: a and (1 + λ p) a, and beyond this ratio the lower bounds fall below the solvers' relative
#: resolution of the upper ones (the exact answer is still computed and certified up to it)
LAM_MAX = 1e6
#: the largest margin accepted, as a multiple of the diameter of both clouds: the optimal
#: potential's values are of the order of the margin, and beyond this ratio their rounding
#: (relative 1.1e-16) would blur the distances between the points by more than 1e-4 of them;
#: from margin = diameter / 2 on, every pair earns more than it costs, the plan moves the most
#: mass it can, and the loss is affine in the margin (docs/mathematics.md §3.5)
MARGIN_MAX_RATIO = 1e12


def check_lam(lam: object) -> float:
    """λ must be a finite number in [0, :data:`LAM_MAX`]."""
    val = as_number(lam, "lam", low=0.0)
    if val > LAM_MAX:
        raise InputError(f"lam: must be at most {LAM_MAX:g}, got {lam!r}: beyond it the "
                         "marginal bounds a <= r <= (1 + lam p) a span more orders of magnitude "
                         "than float64 resolves (for clouds farther apart than 2 margin the "
                         "loss stops changing long before; see docs/faults.md)")
    return val


def check_margin(margin: object) -> float:
    """The margin must be a finite number > 0 (its range relative to the data is
    :func:`check_margin_scale`)."""
    return as_number(margin, "margin", low=0.0, strict=True)


def cloud_diameter(*clouds: np.ndarray) -> float:
    """The diagonal of the bounding box of all clouds (computed in halves: no overflow for any
    finite coordinates; ``inf`` only if the diagonal itself exceeds the largest float64)."""
    lo = np.min([c.min(axis=0) for c in clouds], axis=0)
    hi = np.max([c.max(axis=0) for c in clouds], axis=0)
    half = hi / 2 - lo / 2
    top = float(np.max(half))
    if not top > 0:
        return 0.0
    with np.errstate(over="ignore"):
        return 2.0 * top * float(np.linalg.norm(half / top))


def check_margin_scale(margin: float, diameter: float) -> float:
    """The margin must be at most :data:`MARGIN_MAX_RATIO` times the data's ``diameter``
    (any margin if the clouds are one point: every distance is then 0 exactly)."""
    if diameter > 0 and margin > MARGIN_MAX_RATIO * diameter:
        raise InputError(f"margin: {margin!r} is {margin / diameter:.3g} times the diameter of "
                         f"the data ({diameter:.6g}); at most {MARGIN_MAX_RATIO:g} times it "
                         f"({MARGIN_MAX_RATIO * diameter:.6g}) is accepted: beyond, the optimal "
                         "potential (values about +-margin) cannot resolve the distances "
                         "between the points in float64; choose the margin on the scale of the "
                         "data")
    return margin


def normalised_weights(raw: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(w, top, rel)``: ``raw / sum(raw)`` computed without overflow or underflow (when the
    sum is not a normal float64: divided by its largest entry ``top`` first, then by the sum
    ``rel`` of the quotients, 1 <= rel <= k); the total mass is ``top * rel`` (which may
    exceed the largest float64)."""
    with np.errstate(over="ignore"):
        total = float(raw.sum())
    if np.isfinite(total) and total >= np.finfo(np.float64).tiny:  # the common case, as ever
        return raw / total, total, 1.0
    top = float(raw.max())
    scaled = raw / top
    rel = float(scaled.sum())
    return scaled / rel, top, rel


def prior_from_masses(top_pos: float, rel_pos: float, top_neg: float, rel_neg: float) -> float:
    """The positive share ``M+ / (M+ + M-)`` of class masses ``M = top * rel`` given as
    factors, without overflow: correctly rounded even when the masses differ by more than the
    float64 range (then it is 0 or 1, as the share itself rounds to)."""
    with np.errstate(over="ignore", under="ignore"):
        ratio = float(np.float64(top_neg) / top_pos) * (rel_neg / rel_pos)  # M- / M+
    return 1.0 / (1.0 + ratio)


def check_prior(p: object, mass_pos: float, mass_neg: float) -> float:
    """Positive-class prior p in the open interval (0, 1).

    Default: the positive share of the total sample mass, ``mass_pos / (mass_pos + mass_neg)``.
    With no weights every sample has mass 1, so this is n / (n + m); with user weights ``a``,
    ``b`` it is ``sum(a) / (sum(a) + sum(b))`` taken *before* each class is normalised to 1
    (a missing weight vector counts one unit per sample).  Pass ``p`` to override.
    """
    if p is None:
        return prior_from_masses(mass_pos, 1.0, mass_neg, 1.0)
    try:
        val = float(p)
    except (TypeError, ValueError):
        raise InputError(f"p: expected a number in (0, 1), got {p!r}") from None
    if not (0.0 < val < 1.0):  # NaN included
        raise InputError(f"p: the positive-class prior must lie in the open interval (0, 1), "
                         f"got {p!r}")
    return val
