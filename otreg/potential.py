"""Potentials as functions on R^d: the small protocol shared by the checks and the plots.

A :class:`Potential` maps points ``(k, d)`` to values ``(k,)`` and has ``grad(points) -> (k,
d)``.  The exact solution's 1-Lipschitz extension
(:class:`otreg.transport.extension.ExtensionPotential`, from ``HKRResult.extension()``), a
trained network (anything with ``predict`` and ``grad``) and hand-made functions in the tests
all become one with :func:`as_potential`, so every check and figure treats them alike.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InputError

__all__ = ["Potential", "as_potential"]

ArrayFn = Callable[[np.ndarray], Any]


class Potential:
    """A scalar function on R^d with its gradient: ``pot(points) -> (k,)``, ``pot.grad(points)
    -> (k, d)``.

    ``grad`` defaults to central finite differences of step ``h`` (exact for the piecewise
    distance-like extensions away from their kinks).  Evaluations are chunked (``chunk``
    points at a time).
    """

    def __init__(self, f: ArrayFn, grad: ArrayFn | None = None, name: str = "potential",
                 h: float = 1e-6, chunk: int = 8192) -> None:
        self._f = f
        self._grad = grad
        self.name = name
        self.h = h
        self.chunk = chunk

    def __call__(self, points: Any) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        out = [np.asarray(self._f(pts[s:s + self.chunk]), dtype=np.float64).reshape(-1)
               for s in range(0, pts.shape[0], self.chunk)]
        return np.concatenate(out) if out else np.zeros(0)

    def grad(self, points: Any) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if self._grad is not None:
            out = [np.asarray(self._grad(pts[s:s + self.chunk]), dtype=np.float64)
                   for s in range(0, pts.shape[0], self.chunk)]
            return np.concatenate(out).reshape(pts.shape) if out else np.zeros(pts.shape)
        k, d = pts.shape
        g = np.empty((k, d))
        for j in range(d):
            e = np.zeros(d)
            e[j] = self.h
            g[:, j] = (self(pts + e) - self(pts - e)) / (2 * self.h)
        return g


def as_potential(obj: Any, name: str | None = None) -> Potential:
    """A :class:`Potential` from a potential, a model with ``predict``/``grad``, or a callable
    (its ``grad`` attribute is used if it has one, finite differences otherwise)."""
    if isinstance(obj, Potential):
        return obj
    if hasattr(obj, "predict"):
        return Potential(obj.predict, getattr(obj, "grad", None), name or type(obj).__name__)
    if callable(obj):
        return Potential(obj, getattr(obj, "grad", None), name or getattr(obj, "__name__", "f"))
    raise InputError(f"model: expected a potential, a model with predict/grad or a callable, "
                     f"got {type(obj).__name__}")
