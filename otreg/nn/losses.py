"""hKR losses (docs/mathematics.md §1) on network outputs, as autodiff expressions.

For outputs ``f`` at points with labels ``y`` in {+1, -1} and weights ``w``::

    L(f) = sum_{y=-1} b f - sum_{y=+1} a f
           + lam * ( p sum_{y=+1} a (m - f)_+ + (1 - p) sum_{y=-1} b (m + f)_+ )

With ``normalize=True`` (default) ``a`` and ``b`` are the weights of each class divided by the
class total, and ``p`` defaults to the positive share of the total weight (n / (n + m) for
uniform weights): on a full data set this is exactly the L of docs/mathematics.md §1
(:meth:`otreg.problem.Problem.loss`).  With ``normalize=False`` the weights are used as given
(a mini-batch's share of the full-data loss).  Every loss here is
:func:`otreg.problem.hkr_objective` with coefficients from :func:`loss_coefficients`.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.validate import check_lam, check_margin, check_prior
from ..errors import InputError
from ..problem import DEFAULT_LAM, DEFAULT_MARGIN, class_weights, hkr_objective
from .tensor import Tensor, as_tensor

__all__ = ["kr_loss", "hinge_loss", "hkr_loss", "multiclass_hkr_loss", "loss_coefficients"]


def _labels(y: Any, k: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != k:
        raise InputError(f"y: expected {k} labels to match f, got {y.shape[0]}")
    if not np.all((y == 1) | (y == -1)):
        raise InputError("y: labels must be +1 or -1")
    return y


def _as_f(f: Any) -> Tensor:
    f = as_tensor(f)
    if f.ndim == 2 and f.shape[1] == 1:
        f = f.reshape(-1)
    if f.ndim != 1:
        raise InputError(f"f: expected shape (k,) or (k, 1), got {f.shape}")
    return f


def _weights(weights: Any, k: int) -> np.ndarray:
    if weights is None:
        return np.ones(k)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != k:
        raise InputError(f"weights: expected {k} weights to match f, got {w.shape[0]}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError("weights: must be finite and non-negative")
    return w


def loss_coefficients(y: Any, weights: Any = None, p: float | None = None,
                      normalize: bool = True) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-sample coefficients ``(c_kr, c_hinge, p)`` so that, with labels ``y``,

    ``kr = sum(c_kr * f)`` and ``hinge = sum(c_hinge * (m - y f)_+)``.
    """
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    w = _weights(weights, y.shape[0])
    pos = y > 0
    mass_pos, mass_neg = float(w[pos].sum()), float(w[~pos].sum())
    if normalize:
        if not mass_pos > 0:
            raise InputError("y: no positive sample with positive weight")
        if not mass_neg > 0:
            raise InputError("y: no negative sample with positive weight")
        a, b, p = class_weights(w[pos], w[~pos], p)
        w = w.copy()
        w[pos], w[~pos] = a, b
    elif p is None:
        if not mass_pos + mass_neg > 0:
            raise InputError("weights: sum to zero")
        p = check_prior(None, mass_pos, mass_neg)
    else:
        p = check_prior(p, 1.0, 1.0)
    return np.where(pos, -w, w), np.where(pos, p * w, (1.0 - p) * w), p


def kr_loss(f: Any, y: Any, weights: Any = None, normalize: bool = True) -> Tensor:
    """Kantorovich–Rubinstein term ``sum_neg b f - sum_pos a f`` (minus the W1 estimate)."""
    f = _as_f(f)
    c_kr, _, _ = loss_coefficients(_labels(y, f.shape[0]), weights, 0.5, normalize)
    return (f * c_kr).sum()


def hinge_loss(f: Any, y: Any, margin: float = DEFAULT_MARGIN, p: float | None = None,
               weights: Any = None, normalize: bool = True) -> Tensor:
    """Hinge term ``p sum_pos a (m - f)_+ + (1 - p) sum_neg b (m + f)_+``."""
    f = _as_f(f)
    y = _labels(y, f.shape[0])
    _, c_h, _ = loss_coefficients(y, weights, p, normalize)
    return hkr_objective(f, y, 0.0, c_h, check_margin(margin))


def hkr_loss(f: Any, y: Any, lam: float = DEFAULT_LAM, margin: float = DEFAULT_MARGIN,
             p: float | None = None, weights: Any = None, normalize: bool = True) -> Tensor:
    """hKR loss ``kr_loss + lam * hinge_loss`` (docs/mathematics.md §1)."""
    f = _as_f(f)
    lam, margin = check_lam(lam), check_margin(margin)
    y = _labels(y, f.shape[0])
    c_kr, c_h, _ = loss_coefficients(y, weights, p, normalize)
    return hkr_objective(f, y, c_kr, lam * c_h, margin)


def multiclass_coefficients(labels: np.ndarray, n_classes: int, weights: Any = None,
                            p: Any = None, normalize: bool = True
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y, c_kr, c_h)`` of shape (k, C) for the one-vs-all problems (class c against the
    rest), ``c_h`` without λ; ``p`` (optional, shape (C,)) gives each one-vs-all prior, by
    default each class's share of the weight."""
    priors = [None] * n_classes if p is None else list(np.broadcast_to(p, (n_classes,)))
    y = np.where(labels[:, None] == np.arange(n_classes), 1.0, -1.0)
    c_kr = np.empty_like(y)
    c_h = np.empty_like(y)
    for c in range(n_classes):
        c_kr[:, c], c_h[:, c], _ = loss_coefficients(y[:, c], weights, priors[c], normalize)
    return y, c_kr, c_h


def multiclass_hkr_loss(f: Any, labels: Any, lam: float = DEFAULT_LAM,
                        margin: float = DEFAULT_MARGIN, p: Any = None, weights: Any = None,
                        normalize: bool = True) -> Tensor:
    """One-vs-all hKR: ``sum_c hkr_loss(f[:, c], y_c)`` with ``y_c = +1`` on class ``c``.

    ``f`` has shape (k, C), ``labels`` integers in [0, C).  ``p`` (optional, shape (C,)) gives
    each one-vs-all prior; by default each is the class's share of the weight.
    """
    f = as_tensor(f)
    if f.ndim != 2:
        raise InputError(f"f: expected shape (k, C), got {f.shape}")
    k, n_classes = f.shape
    labels = np.asarray(labels).reshape(-1)
    if labels.shape[0] != k:
        raise InputError(f"labels: expected {k} labels to match f, got {labels.shape[0]}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(f"labels: must be integers in [0, {n_classes})")
    lam, margin = check_lam(lam), check_margin(margin)
    y, c_kr, c_h = multiclass_coefficients(labels, n_classes, weights, p, normalize)
    return hkr_objective(f, y, c_kr, lam * c_h, margin)
