"""hKR losses (spec section 1) on network outputs, as autodiff expressions and in NumPy.

For outputs ``f`` at points with labels ``y`` in {+1, -1} and weights ``w``::

    L(f) = sum_{y=-1} b f - sum_{y=+1} a f
           + lam * ( p sum_{y=+1} a (m - f)_+ + (1 - p) sum_{y=-1} b (m + f)_+ )

With ``normalize=True`` (default) ``a`` and ``b`` are the weights of each class divided by the
class total, and ``p`` defaults to the positive share of the total weight (n / (n + m) for
uniform weights): on a full data set this is exactly the spec's L.  With ``normalize=False``
the weights are used as given; :func:`otreg.nn.fit` uses that for its unbiased mini-batch
estimate (weights a_i, b_j multiplied by the number of batches).
"""
from __future__ import annotations

import numpy as np

from ..data.validate import check_lam, check_margin, check_prior, hkr_loss_values, raw_weights
from ..errors import InputError
from .tensor import Tensor, as_tensor

__all__ = ["kr_loss", "hinge_loss", "hkr_loss", "multiclass_hkr_loss", "hkr_loss_numpy",
           "loss_coefficients"]


def _labels(y, k: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != k:
        raise InputError(f"y: expected {k} labels to match f, got {y.shape[0]}")
    if not np.all((y == 1) | (y == -1)):
        raise InputError("y: labels must be +1 or -1")
    return y


def _as_f(f) -> Tensor:
    f = as_tensor(f)
    if f.ndim == 2 and f.shape[1] == 1:
        f = f.reshape(-1)
    if f.ndim != 1:
        raise InputError(f"f: expected shape (k,) or (k, 1), got {f.shape}")
    return f


def _weights(weights, k: int) -> np.ndarray:
    if weights is None:
        return np.ones(k)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape[0] != k:
        raise InputError(f"weights: expected {k} weights to match f, got {w.shape[0]}")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise InputError("weights: must be finite and non-negative")
    return w


def loss_coefficients(y, weights=None, p=None, normalize: bool = True):
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
        w = np.where(pos, w / (mass_pos if mass_pos > 0 else 1.0),
                     w / (mass_neg if mass_neg > 0 else 1.0))
    if p is None:
        if not mass_pos + mass_neg > 0:
            raise InputError("weights: sum to zero")
        p = mass_pos / (mass_pos + mass_neg)
        if normalize:
            p = check_prior(None, mass_pos, mass_neg)
    else:
        p = check_prior(p, 1.0, 1.0)
    c_kr = np.where(pos, -w, w)
    c_hinge = np.where(pos, p * w, (1.0 - p) * w)
    return c_kr, c_hinge, p


def kr_loss(f, y, weights=None, normalize: bool = True) -> Tensor:
    """Kantorovich–Rubinstein term ``sum_neg b f - sum_pos a f`` (minus the W1 estimate)."""
    f = _as_f(f)
    c_kr, _, _ = loss_coefficients(_labels(y, f.shape[0]), weights, 0.5, normalize)
    return (f * c_kr).sum()


def hinge_loss(f, y, margin: float = 0.1, p=None, weights=None, normalize: bool = True) -> Tensor:
    """Hinge term ``p sum_pos a (m - f)_+ + (1 - p) sum_neg b (m + f)_+``."""
    f = _as_f(f)
    margin = check_margin(margin)
    y = _labels(y, f.shape[0])
    _, c_h, _ = loss_coefficients(y, weights, p, normalize)
    return ((margin - f * y).relu() * c_h).sum()


def hkr_loss(f, y, lam: float = 1.0, margin: float = 0.1, p=None, weights=None,
             normalize: bool = True) -> Tensor:
    """hKR loss ``kr_loss + lam * hinge_loss`` (spec section 1)."""
    f = _as_f(f)
    lam, margin = check_lam(lam), check_margin(margin)
    y = _labels(y, f.shape[0])
    c_kr, c_h, _ = loss_coefficients(y, weights, p, normalize)
    return (f * c_kr).sum() + ((margin - f * y).relu() * (lam * c_h)).sum()


def multiclass_hkr_loss(f, labels, lam: float = 1.0, margin: float = 0.1, p=None, weights=None,
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
    priors = [None] * n_classes if p is None else list(np.broadcast_to(p, (n_classes,)))
    y = np.where(labels[:, None] == np.arange(n_classes), 1.0, -1.0)
    c_kr = np.empty((k, n_classes))
    c_h = np.empty((k, n_classes))
    for c in range(n_classes):
        c_kr[:, c], c_h[:, c], _ = loss_coefficients(y[:, c], weights, priors[c], normalize)
    return (f * c_kr).sum() + ((margin - f * y).relu() * (lam * c_h)).sum()


def hkr_loss_numpy(f_pos, f_neg, a=None, b=None, p=None, lam: float = 1.0,
                   margin: float = 0.1) -> float:
    """The full-data hKR loss of spec section 1 from the values of f on both clouds.

    ``a``, ``b`` default to uniform and are normalised to sum 1; ``p`` defaults to the positive
    share of the raw weights (n / (n + m) for uniform weights).
    """
    f_pos = np.asarray(f_pos, dtype=np.float64).reshape(-1)
    f_neg = np.asarray(f_neg, dtype=np.float64).reshape(-1)
    ra, rb = raw_weights(a, f_pos.shape[0], "a"), raw_weights(b, f_neg.shape[0], "b")
    p = check_prior(p, float(ra.sum()), float(rb.sum()))
    lam, margin = check_lam(lam), check_margin(margin)
    return hkr_loss_values(f_pos, f_neg, ra / ra.sum(), rb / rb.sum(), p, lam, margin)
