"""The drawing plane of a figure: how points of R^d are shown on paper.

For d = 2 the plane is R^2 itself.  For d >= 3 the figures use the plane through the weighted
mean of the samples spanned by

* the main **transport direction** — the top eigenvector of sum_ij plan_ij (z_j - x_i)(z_j - x_i)^T,
  the direction along which the optimal plan moves mass, and along which the optimal potential
  decreases at unit rate (docs/mathematics.md §7: transport rays);
* the main **principal direction** of the samples orthogonal to it (largest weighted variance).

Points, arcs and arrows are projected onto that plane; level sets and heat maps show f *on* the
plane (a slice through the mean).  Without a plan (or with all mass between coincident points)
the two principal directions are used.  For d = 1 the horizontal axis is the line itself and
the vertical axis only separates the classes (positives above, negatives below).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import bounding_box
from ..problem import Problem
from ..transport import HKRResult

__all__ = ["View", "view_for"]


@dataclass(frozen=True)
class View:
    """A plane of R^d: ``x -> (x - center) @ basis`` (``basis`` (d, 2), orthonormal columns
    for d >= 2) and back, with axis labels and a note saying what the picture shows."""

    center: np.ndarray
    basis: np.ndarray
    labels: tuple[str, str] = ("$x_1$", "$x_2$")
    note: str = ""
    #: vertical offset of each class (d = 1 only: positives at +offset, negatives at -offset)
    class_offset: float = 0.0

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    def to2d(self, x: np.ndarray, label: float = 0.0) -> np.ndarray:
        """Plane coordinates of points ``x`` (k, d); ``label`` (+1/-1, or per point) shifts a
        class by ``class_offset``."""
        p = (np.asarray(x, dtype=np.float64) - self.center) @ self.basis
        if self.class_offset:
            p = p + np.column_stack([np.zeros(len(p)),
                                     self.class_offset * np.broadcast_to(label, (len(p),))])
        return p

    def lift(self, p: np.ndarray) -> np.ndarray:
        """Points of R^d on the plane at plane coordinates ``p`` (k, 2)."""
        if self.dim == 1:
            return self.center + np.asarray(p)[:, :1]
        return self.center + np.asarray(p) @ self.basis.T

    def box(self, problem: Problem, pad: float = 0.08) -> tuple[np.ndarray, np.ndarray]:
        """Corners of the drawn region: the projected samples, padded (d = 1: a band)."""
        pts = np.vstack([self.to2d(problem.x_pos, 1.0), self.to2d(problem.x_neg, -1.0)])
        lo, hi = bounding_box(pts, pad=pad)
        if self.dim == 1:
            half = max(2.0 * self.class_offset, 0.15 * float(hi[0] - lo[0]))
            lo[1], hi[1] = -half, half
        return lo, hi


def _top(mat: np.ndarray) -> tuple[np.ndarray, float]:
    vals, vecs = np.linalg.eigh(mat)
    return vecs[:, -1], float(vals[-1])


def _transport_direction(result: HKRResult | None) -> np.ndarray | None:
    if result is None:
        return None
    plan = np.asarray(result.plan) * (np.asarray(result.distances) > 0)
    i, j = np.nonzero(plan > 1e-12 * max(float(plan.max()), 1e-300))
    if len(i) == 0:
        return None
    pr = result.problem
    delta = pr.x_neg[j] - pr.x_pos[i]
    vec, val = _top((delta * plan[i, j][:, None]).T @ delta)
    return vec if val > 0 else None


def view_for(problem: Problem, result: HKRResult | None = None) -> View:
    """The plane to draw ``problem`` in (see the module docstring); ``result`` gives the
    transport direction for d >= 3."""
    d = problem.dim
    if d == 2:
        return View(np.zeros(2), np.eye(2))
    if d == 1:
        lo, hi = bounding_box(problem.samples, pad=0.0)
        return View(np.zeros(1), np.array([[1.0, 0.0]]), ("$x$", ""),
                    "d=1: f along the line (horizontal axis); positives drawn above, negatives "
                    "below, the vertical axis is for display only",
                    class_offset=0.05 * max(float(hi[0] - lo[0]), 1e-12))
    w = problem.weights
    center = w @ problem.samples
    dev = problem.samples - center
    cov = (dev * w[:, None]).T @ dev
    first = _transport_direction(result)
    named = first is not None
    if first is None:
        first = _top(cov)[0]
    proj = np.eye(d) - np.outer(first, first)
    second, val = _top(proj @ cov @ proj)
    if val <= 1e-300:  # no spread orthogonal to the first axis: any orthogonal direction
        e = np.eye(d)[int(np.argmin(np.abs(first)))]
        second = proj @ e
    second = second / np.linalg.norm(second)
    basis = np.column_stack([first, second])
    trace = float(np.trace(cov))
    share = float(np.trace(basis.T @ cov @ basis)) / trace if trace > 0 else 1.0
    what = ("the main transport direction and the main principal direction orthogonal to it"
            if named else "the two principal directions")
    labels = ("transport direction" if named else "principal direction 1",
              "principal direction" + ("" if named else " 2"))
    note = (f"d={d}: projected on the plane of {what}, through the weighted mean ({share:.0%} "
            "of the sample variance); level sets show f on that plane")
    return View(center, basis, labels, note)
