"""Robustness metrics of the classifier sign(f) on the samples of a :class:`Problem`.

For a 1-Lipschitz f the certified radius of a correctly classified sample is ``y f(x)``: no
perturbation shorter than it changes the sign of f (docs/mathematics.md §8).  The accuracies
weigh the samples with the problem's measure P = p P+ + (1 - p) P- (its weights and prior),
the measure the loss uses, so that every column of a sweep describes the same problem.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from .problem import Problem

__all__ = ["DEFAULT_RADII", "accuracies", "radius_key", "bounding_box", "loss_scale",
           "relative_gap"]

#: certified-accuracy radii used by default
DEFAULT_RADII: tuple[float, ...] = (0.01, 0.05, 0.1, 0.2)


def radius_key(eps: float) -> str:
    """The name of a radius in column names: ``acc_cert_<radius_key(eps)>``."""
    return f"{float(eps):g}"


def accuracies(problem: Problem, f_pos: Any, f_neg: Any, radii: Iterable[float] = DEFAULT_RADII,
               prefix: str = "") -> dict[str, float]:
    """Clean and certified accuracy of sign(f), and the mean certified radius, under P.

    ``acc_clean`` is the P-mass of the samples with y f > 0, ``acc_cert_<eps>`` that of the
    samples with y f > eps (certified: no perturbation of norm <= eps flips them when f is
    1-Lipschitz), ``mean_radius`` the P-mean of ``(y f)_+``.  Keys carry ``prefix``.
    """
    yf = problem.labels * np.concatenate([np.asarray(f_pos, float).ravel(),
                                          np.asarray(f_neg, float).ravel()])
    w = problem.weights

    def acc(eps: float) -> float:
        return float(w[yf > eps].sum())

    out = {f"{prefix}acc_clean": acc(0.0)}
    for eps in radii:
        out[f"{prefix}acc_cert_{radius_key(eps)}"] = acc(float(eps))
    out[f"{prefix}mean_radius"] = float(w @ np.maximum(yf, 0.0))
    return out


def bounding_box(points: np.ndarray, pad: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Corners ``(lo, hi)`` of the box around ``points`` (k, d), widened by ``pad`` times its
    width on each side (a width of 0 counts as 1e-12)."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    w = np.maximum(hi - lo, 1e-12)
    return lo - pad * w, hi + pad * w


def loss_scale(exact_loss: float, margin: float) -> float:
    """|min L| + 2 margin: the scale against which a loss gap is read (it stays positive when
    min L is near 0, e.g. at lam = 0 on identical clouds)."""
    return abs(float(exact_loss)) + 2.0 * float(margin)


def relative_gap(loss: float, exact_loss: float, margin: float) -> float:
    """(L - min L) / (|min L| + 2 margin): how far a loss (a network's) is above the exact
    optimum, the measure ``otreg verify``'s ``neural_gap`` reports."""
    return (float(loss) - float(exact_loss)) / loss_scale(exact_loss, margin)
