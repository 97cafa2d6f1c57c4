"""Validation of user input: point clouds, weights, class prior, hKR parameters.

All checks raise :class:`otreg.errors.InputError` (a ``ValueError``) whose message starts with
the argument's name, so that bad input never reaches a solver as a silent NaN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError


def as_points(x, name: str, dim: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite float64 array of shape (k, d), k >= 1, d >= 1.

    ``dim``, if given, is the required dimension d.
    """
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be read as a float array ({exc})") from None
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


def raw_weights(w, k: int, name: str) -> np.ndarray:
    """Return the un-normalised weights (ones if ``w`` is None), checked.

    Weights must be finite, non-negative, of length ``k`` and with a positive sum.
    """
    if w is None:
        return np.ones(k)
    try:
        arr = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: cannot be read as a float array ({exc})") from None
    if arr.ndim != 1 or arr.shape[0] != k:
        raise InputError(f"{name}: expected shape ({k},) to match the points, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name}: contains NaN or infinite weights")
    if np.any(arr < 0):
        raise InputError(f"{name}: weights must be non-negative (min is {arr.min():g})")
    if not float(arr.sum()) > 0:
        raise InputError(f"{name}: weights sum to zero; at least one must be positive")
    return arr


def as_weights(w, k: int, name: str) -> np.ndarray:
    """Return weights normalised to sum 1 (uniform if ``w`` is None); see :func:`raw_weights`."""
    arr = raw_weights(w, k, name)
    return arr / arr.sum()


def as_number(value, name: str, low: float | None = None, strict: bool = False) -> float:
    """A finite float, ``>= low`` (``> low`` if ``strict``) when ``low`` is given."""
    if isinstance(value, bool):
        raise InputError(f"{name}: expected a number, got {value!r}")
    try:
        val = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(val):
        raise InputError(f"{name}: must be finite, got {value!r}")
    if low is not None and (val < low or (strict and val == low)):
        raise InputError(f"{name}: must be {'>' if strict else '>='} {low:g}, got {value!r}")
    return val


def as_int(value, name: str, low: int = 0) -> int:
    """An integer ``>= low``; integral floats and numeric strings ("3") are accepted."""
    if isinstance(value, bool):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    try:
        val = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected an integer, got {value!r}") from None
    if val != value and not (isinstance(value, str) and str(val) == value.strip()):
        raise InputError(f"{name}: expected an integer, got {value!r}")
    if val < low:
        raise InputError(f"{name}: must be an integer >= {low}, got {value!r}")
    return val


def check_lam(lam) -> float:
    """λ must be a finite number >= 0."""
    return as_number(lam, "lam", low=0.0)


def check_margin(margin) -> float:
    """The margin must be a finite number > 0."""
    return as_number(margin, "margin", low=0.0, strict=True)


def check_prior(p, mass_pos: float, mass_neg: float) -> float:
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
        raise InputError(f"p: the positive-class prior must lie in the open interval (0, 1), got {p!r}")
    return val


def hkr_loss_values(f_pos, f_neg, a, b, p: float, lam: float, margin: float) -> float:
    """The empirical hKR loss L (spec section 1) of a potential with values ``f_pos`` on the
    positives and ``f_neg`` on the negatives::

        L = sum_j b_j f(z_j) - sum_i a_i f(x_i)
            + lam * (p sum_i a_i (margin - f(x_i))_+ + (1 - p) sum_j b_j (margin + f(z_j))_+)

    ``a`` and ``b`` are the class weights, each summing to 1.
    """
    f_pos = np.asarray(f_pos, dtype=np.float64)
    f_neg = np.asarray(f_neg, dtype=np.float64)
    kr = float(np.dot(b, f_neg) - np.dot(a, f_pos))
    hinge = p * float(np.dot(a, np.maximum(margin - f_pos, 0.0))) + (1.0 - p) * float(
        np.dot(b, np.maximum(margin + f_neg, 0.0))
    )
    return kr + lam * hinge


@dataclass(frozen=True)
class Problem:
    """A validated hKR problem: clouds, normalised weights, prior and parameters."""

    x_pos: np.ndarray
    x_neg: np.ndarray
    a: np.ndarray
    b: np.ndarray
    p: float
    lam: float
    margin: float

    @property
    def n(self) -> int:
        return self.x_pos.shape[0]

    @property
    def m(self) -> int:
        return self.x_neg.shape[0]

    @property
    def dim(self) -> int:
        return self.x_pos.shape[1]

    def loss(self, f_pos, f_neg) -> float:
        """The empirical hKR loss L of this problem for a potential with values ``f_pos`` on
        the positives and ``f_neg`` on the negatives (see :func:`hkr_loss_values`)."""
        return hkr_loss_values(f_pos, f_neg, self.a, self.b, self.p, self.lam, self.margin)


def make_problem(x_pos, x_neg, lam=1.0, margin=0.1, a=None, b=None, p=None) -> Problem:
    """Validate every argument of an hKR problem and return a :class:`Problem`."""
    xp = as_points(x_pos, "x_pos")
    xn = as_points(x_neg, "x_neg", dim=xp.shape[1])
    ra = raw_weights(a, xp.shape[0], "a")
    rb = raw_weights(b, xn.shape[0], "b")
    return Problem(
        x_pos=xp,
        x_neg=xn,
        a=ra / ra.sum(),
        b=rb / rb.sum(),
        p=check_prior(p, float(ra.sum()), float(rb.sum())),
        lam=check_lam(lam),
        margin=check_margin(margin),
    )
