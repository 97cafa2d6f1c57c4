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
            return np.asarray(x, dtype=np.float64)
    except _ComplexWarning:
        raise InputError(f"{name}: expected real numbers, got complex values; pass x.real "
                         "explicitly") from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InputError(f"{name}: cannot be read as a float array ({exc})") from None


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
    if not float(arr.sum()) > 0:
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


def check_lam(lam: object) -> float:
    """λ must be a finite number >= 0."""
    return as_number(lam, "lam", low=0.0)


def check_margin(margin: object) -> float:
    """The margin must be a finite number > 0."""
    return as_number(margin, "margin", low=0.0, strict=True)


def check_prior(p: object, mass_pos: float, mass_neg: float) -> float:
    """Positive-class prior p in the open interval (0, 1).

    Default: the positive share of the total sample mass, ``mass_pos / (mass_pos + mass_neg)``.
    With no weights every sample has mass 1, so this is n / (n + m); with user weights ``a``,
    ``b`` it is ``sum(a) / (sum(a) + sum(b))`` taken *before* each class is normalised to 1
    (a missing weight vector counts one unit per sample).  Pass ``p`` to override.
    """
    if p is None:
        return mass_pos / (mass_pos + mass_neg)
    try:
        val = float(p)
    except (TypeError, ValueError):
        raise InputError(f"p: expected a number in (0, 1), got {p!r}") from None
    if not (0.0 < val < 1.0):
        raise InputError(f"p: the positive-class prior must lie in the open interval (0, 1), "
                         f"got {p!r}")
    return val
