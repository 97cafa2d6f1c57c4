"""The hKR problem: two labelled clouds, their weights, the class prior, λ and the margin.

A :class:`Problem` is validated once, where a user hands data to otreg (an API function or the
command line), and then travels unchanged through the solvers, the training, the checks, the
metrics and the sweeps.  Its arrays are read-only copies, so nothing downstream can invalidate
it; :meth:`Problem.with_params` and :meth:`Problem.transformed` derive new problems without
validating the clouds again.

It also holds the one formula of the loss (docs/mathematics.md §1), :func:`hkr_objective`,
which every solver, check and training loop evaluates — on NumPy arrays or on autodiff tensors.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from .data.validate import (as_points, check_lam, check_margin, check_margin_scale, check_prior,
                            cloud_diameter, normalised_weights, prior_from_masses, raw_weights)
from .defaults import DEFAULT_LAM, DEFAULT_MARGIN
from .errors import InputError

__all__ = ["Problem", "as_problem", "class_weights", "hkr_objective", "DEFAULT_LAM",
           "DEFAULT_MARGIN"]



def class_weights(raw_pos: np.ndarray, raw_neg: np.ndarray,
                  p: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """``(a, b, p)``: each class's weights normalised to sum 1, and the positive-class prior.

    ``raw_pos``, ``raw_neg`` are checked non-negative weights with positive sums.  The prior
    defaults to the positive share of the raw mass, ``sum(raw_pos) / (sum(raw_pos) +
    sum(raw_neg))`` (n / (n + m) for unit weights); a given ``p`` must lie in (0, 1).
    """
    a, top_a, rel_a = normalised_weights(raw_pos)
    b, top_b, rel_b = normalised_weights(raw_neg)
    prior = prior_from_masses(top_a, rel_a, top_b, rel_b) if p is None else check_prior(p, 1, 1)
    return a, b, prior


def _positive_part(t: Any) -> Any:
    return t.relu() if hasattr(t, "relu") else np.maximum(t, 0.0)


def hkr_objective(f: Any, y: Any, c_kr: Any, c_h: Any, margin: float) -> Any:
    """The hKR loss ``sum(c_kr f) + sum(c_h (margin - y f)_+)`` (docs/mathematics.md §1).

    ``f`` are the potential's values at labelled samples (labels ``y`` in {+1, -1}); ``c_kr``
    and ``c_h`` are per-sample coefficients: for the problem's samples ``c_kr = (-a, b)`` and
    ``c_h = lam (p a, (1 - p) b)``, which gives

        L = sum_j b_j f(z_j) - sum_i a_i f(x_i)
            + lam (p sum_i a_i (m - f(x_i))_+ + (1 - p) sum_j b_j (m + f(z_j))_+).

    The one implementation of the formula: ``f`` may be a NumPy array (returns a float array
    scalar) or an :class:`otreg.nn.Tensor` (returns a differentiable tensor); arrays of shape
    (k, C) evaluate C one-vs-all problems at once and sum them.
    """
    return (c_kr * f).sum() + (c_h * _positive_part(margin - y * f)).sum()


class Problem:
    """A validated hKR problem (docs/mathematics.md §1).

    Parameters
    ----------
    x_pos : array (n, d)
        Positive samples (label +1), finite, n >= 1.
    x_neg : array (m, d)
        Negative samples (label -1), finite, m >= 1, same dimension.
    lam : float in [0, 1e6]
        Weight of the hinge term (default 1).
    margin : float > 0
        The hinge margin (default 0.1), at most ``MARGIN_MAX_RATIO`` (1e12) times the diameter
        of the data (docs/faults.md, parameter ranges).
    a, b : array (n,), (m,), optional
        Non-negative sample weights with positive sums, normalised per class (uniform by
        default).
    p : float in (0, 1), optional
        Positive-class prior.  Default: the positive share of the raw sample mass,
        ``sum(a) / (sum(a) + sum(b))`` before normalisation (n / (n + m) without weights).

    Notes
    -----
    Every argument is checked here; a bad one raises :class:`otreg.InputError` naming it.
    The attributes are read-only; derive variants with :meth:`with_params` and
    :meth:`transformed`.
    """

    x_pos: np.ndarray
    x_neg: np.ndarray
    a: np.ndarray
    b: np.ndarray
    p: float
    lam: float
    margin: float

    def __init__(self, x_pos: Any, x_neg: Any, lam: float = DEFAULT_LAM,
                 margin: float = DEFAULT_MARGIN, a: Any = None, b: Any = None,
                 p: float | None = None) -> None:
        xp = np.array(as_points(x_pos, "x_pos"))            # own copies: the caller's arrays
        xn = np.array(as_points(x_neg, "x_neg", dim=xp.shape[1]))  # may change later
        wa, wb, prior = class_weights(raw_weights(a, xp.shape[0], "a"),
                                      raw_weights(b, xn.shape[0], "b"), p)
        margin = check_margin_scale(check_margin(margin), cloud_diameter(xp, xn))
        self._set(xp, xn, wa, wb, prior, check_lam(lam), margin)

    @classmethod
    def _trusted(cls, x_pos: np.ndarray, x_neg: np.ndarray, a: np.ndarray, b: np.ndarray,
                 p: float, lam: float, margin: float) -> Problem:
        """A problem from parts that are already valid (no checks)."""
        out = cls.__new__(cls)
        out._set(x_pos, x_neg, a, b, p, lam, margin)
        return out

    def _set(self, x_pos: np.ndarray, x_neg: np.ndarray, a: np.ndarray, b: np.ndarray, p: float,
             lam: float, margin: float) -> None:
        for arr in (x_pos, x_neg, a, b):  # arrays owned by this problem (or already frozen)
            arr.flags.writeable = False
        self.__dict__.update(x_pos=x_pos, x_neg=x_neg, a=a, b=b, p=float(p), lam=float(lam),
                             margin=float(margin))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Problem is read-only ({name}); use with_params() or "
                             "transformed() to derive another problem")

    # ------------------------------------------------------------------ shape
    @property
    def n(self) -> int:
        """Number of positives."""
        return self.x_pos.shape[0]

    @property
    def m(self) -> int:
        """Number of negatives."""
        return self.x_neg.shape[0]

    @property
    def dim(self) -> int:
        """Dimension d of the points."""
        return self.x_pos.shape[1]

    # ------------------------------------------------------------------ the samples stacked
    @cached_property
    def samples(self) -> np.ndarray:
        """All samples, positives first: shape (n + m, d)."""
        out = np.vstack([self.x_pos, self.x_neg])
        out.flags.writeable = False
        return out

    @cached_property
    def labels(self) -> np.ndarray:
        """Labels of :attr:`samples`: +1 (n times) then -1 (m times)."""
        out = np.concatenate([np.ones(self.n), -np.ones(self.m)])
        out.flags.writeable = False
        return out

    @cached_property
    def weights(self) -> np.ndarray:
        """The measure P = p P+ + (1 - p) P- on :attr:`samples`: ``(p a, (1 - p) b)``, sum 1."""
        out = np.concatenate([self.p * self.a, (1.0 - self.p) * self.b])
        out.flags.writeable = False
        return out

    def coefficients(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(y, c_kr, c_h)`` of :func:`hkr_objective` for :attr:`samples` (``c_h`` includes λ)."""
        return self.labels, np.concatenate([-self.a, self.b]), self.lam * self.weights

    # ------------------------------------------------------------------ the loss and the primal
    def loss(self, f_pos: Any, f_neg: Any) -> float:
        """The empirical hKR loss L of a potential with values ``f_pos`` on the positives and
        ``f_neg`` on the negatives (:func:`hkr_objective`)."""
        f = np.concatenate([np.asarray(f_pos, dtype=np.float64).reshape(-1),
                            np.asarray(f_neg, dtype=np.float64).reshape(-1)])
        if f.shape[0] != self.n + self.m:
            raise InputError(f"f_pos, f_neg: expected {self.n} + {self.m} values, got "
                             f"{np.size(f_pos)} + {np.size(f_neg)}")
        return float(hkr_objective(f, *self.coefficients(), self.margin))

    def marginal_bounds(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Bounds of the plan's row and column sums (docs/mathematics.md §3):
        ``(a, (1 + lam p) a, b, (1 + lam (1 - p)) b)``."""
        return (self.a, (1.0 + self.lam * self.p) * self.a,
                self.b, (1.0 + self.lam * (1.0 - self.p)) * self.b)

    # ------------------------------------------------------------------ derived problems
    def with_params(self, lam: float | None = None, margin: float | None = None,
                    p: float | None = None) -> Problem:
        """The same clouds and weights with other ``lam``, ``margin`` or prior ``p``."""
        return Problem._trusted(
            self.x_pos, self.x_neg, self.a, self.b,
            self.p if p is None else check_prior(p, 1.0, 1.0),
            self.lam if lam is None else check_lam(lam),
            self.margin if margin is None else check_margin_scale(check_margin(margin),
                                                                  self.diameter))

    @cached_property
    def diameter(self) -> float:
        """The diagonal of the bounding box of both clouds (the data's scale)."""
        return cloud_diameter(self.x_pos, self.x_neg)

    def transformed(self, scale: float = 1.0, rotation: np.ndarray | None = None,
                    shift: np.ndarray | None = None) -> Problem:
        """Both clouds mapped by ``x -> scale * x @ rotation.T + shift`` and the margin
        multiplied by ``scale`` (docs/mathematics.md §7: min L scales by ``scale`` and is
        unchanged by rotations and translations)."""
        if not (np.isfinite(scale) and scale > 0):
            raise InputError(f"scale: must be a finite number > 0, got {scale!r}")
        q = np.eye(self.dim) if rotation is None else np.asarray(rotation, dtype=np.float64)
        t = np.zeros(self.dim) if shift is None else np.asarray(shift, dtype=np.float64)
        if q.shape != (self.dim, self.dim) or t.shape != (self.dim,):
            raise InputError(f"rotation, shift: expected shapes ({self.dim}, {self.dim}) and "
                             f"({self.dim},), got {q.shape} and {t.shape}")
        return Problem._trusted(scale * self.x_pos @ q.T + t, scale * self.x_neg @ q.T + t,
                                self.a, self.b, self.p, self.lam, scale * self.margin)

    # ------------------------------------------------------------------ text
    def describe(self) -> str:
        """One line: sizes, dimension and parameters."""
        return (f"n={self.n} m={self.m} d={self.dim} lam={self.lam:g} margin={self.margin:g} "
                f"p={self.p:.4g}")

    def __repr__(self) -> str:
        return f"Problem({self.describe()})"


def as_problem(x_pos: Any, x_neg: Any = None, lam: float | None = None,
               margin: float | None = None, a: Any = None, b: Any = None,
               p: float | None = None) -> Problem:
    """The :class:`Problem` of a public entry point's arguments, validated once.

    Either ``x_pos`` is already a :class:`Problem` (then every other argument must be left
    out: change parameters with :meth:`Problem.with_params`), or the arguments are those of
    :class:`Problem` with ``lam`` and ``margin`` defaulting to :data:`DEFAULT_LAM` and
    :data:`DEFAULT_MARGIN`.
    """
    if isinstance(x_pos, Problem):
        for name, value in (("x_neg", x_neg), ("lam", lam), ("margin", margin), ("a", a),
                            ("b", b), ("p", p)):
            if value is not None:
                raise InputError(f"{name}: already set by the Problem given as x_pos; derive "
                                 "another one with problem.with_params(lam=..., margin=..., "
                                 "p=...)")
        return x_pos
    if x_neg is None:
        raise InputError("x_neg: missing; give both clouds (x_pos, x_neg) or a Problem")
    return Problem(x_pos, x_neg, DEFAULT_LAM if lam is None else lam,
                   DEFAULT_MARGIN if margin is None else margin, a, b, p)
