"""Potentials as functions on R^d: the small protocol shared by the checks and the plots.

A :class:`Potential` maps points ``(k, d)`` to values ``(k,)`` and has ``grad(points) -> (k,
d)``.  The exact solution's 1-Lipschitz extension
(:class:`otreg.transport.extension.ExtensionPotential`, from ``HKRResult.extension()``), a
trained network (anything with ``predict`` and ``grad``), an object with ``value`` /
``gradient`` methods and any plain callable all become one with :func:`as_potential`, so every
check and figure treats them alike.

Without a gradient, ``grad`` is computed by finite differences (:func:`fd_gradient`, error
analysis in docs/verification.md §1.2) and ``Potential.fd`` says so.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InputError

__all__ = ["Potential", "as_potential", "fd_gradient", "FD_SCHEMES"]

ArrayFn = Callable[[np.ndarray], Any]

#: finite-difference schemes of :func:`fd_gradient` and the power p of the step
#: h = eps^p x scale that balances their truncation and rounding errors
FD_SCHEMES = {"central": 1.0 / 3.0, "richardson": 1.0 / 5.0}


def fd_gradient(f: ArrayFn, points: Any, scale: float = 1.0, eps: float = float(np.finfo(
        np.float64).eps), scheme: str = "central") -> np.ndarray:
    """Gradient (k, d) of ``f`` at ``points`` (k, d) by finite differences, one vectorised call
    of ``f`` on all the shifted points.

    ``central``: (f(x + h e_j) - f(x - h e_j)) / 2h, truncation error h^2 |f'''| / 6;
    ``richardson``: (4 D(h/2) - D(h)) / 3 of two central differences, truncation error
    ~h^4 |f^(5)| / 480.  Rounding adds ~eps (|f| + L |x_j|) / h (the values' rounding and that
    of the shifted coordinates).  For a function varying on the length ``scale`` (|f| ~ L
    scale, |f^(k)| ~ L / scale^(k-1)) the step h_j = scale (eps (1 + |x_j| / scale))^p, with
    p = 1/3 (central) or 1/5 (richardson), balances the two: relative error ~eps^(2/3)
    resp. ~eps^(4/5), times (1 + |x_j| / scale)^(2/3) resp. ^(4/5); ``eps`` is the relative
    precision of f (float64 or float32).  The divisor is the difference of the shifted
    coordinates as stored (x + h and x - h are rounded), not 2h.  On a piecewise
    linear f (ReLU / GroupSort networks, distance-like potentials) the result is exact unless
    a kink lies within h of x along e_j (docs/verification.md §1.2)."""
    if scheme not in FD_SCHEMES:
        raise InputError(f"scheme: expected one of {sorted(FD_SCHEMES)}, got {scheme!r}")
    x = np.atleast_2d(np.asarray(points, dtype=np.float64))
    k, d = x.shape
    h = scale * (eps * (1.0 + np.abs(x) / scale)) ** FD_SCHEMES[scheme]
    fracs = (1.0, 0.5) if scheme == "richardson" else (1.0,)
    shifted, steps = [], []
    for frac in fracs:
        for j in range(d):
            plus, minus = x.copy(), x.copy()
            plus[:, j] += frac * h[:, j]
            minus[:, j] -= frac * h[:, j]
            shifted += [plus, minus]
            steps.append(plus[:, j] - minus[:, j])
    vals = np.asarray(f(np.vstack(shifted)), dtype=np.float64).reshape(len(shifted), k)
    diffs = np.stack([(vals[2 * i] - vals[2 * i + 1]) / steps[i] for i in range(len(steps))])
    g = diffs[:d].T
    if scheme == "richardson":
        g = (4.0 * diffs[d:].T - g) / 3.0
    return g


class Potential:
    """A scalar function on R^d with its gradient: ``pot(points) -> (k,)``, ``pot.grad(points)
    -> (k, d)``.

    Without ``grad``, the gradient is :func:`fd_gradient` (``fd_scheme``) with steps scaled
    by ``scale`` (the data's typical coordinate size, set by :func:`otreg.verify.verify`) and
    the precision of the values: float32 outputs (e.g. an ONNX model) are detected on the
    first call, other precisions can be given as ``eps``.  ``fd`` is True then.  Evaluations
    are chunked (``chunk`` points at a time).
    """

    def __init__(self, f: ArrayFn, grad: ArrayFn | None = None, name: str = "potential",
                 scale: float = 1.0, eps: float | None = None, fd_scheme: str = "central",
                 chunk: int = 8192) -> None:
        if fd_scheme not in FD_SCHEMES:
            raise InputError(f"fd_scheme: expected one of {sorted(FD_SCHEMES)}, "
                             f"got {fd_scheme!r}")
        self._f = f
        self._grad = grad
        self.name = name
        self.scale = scale
        self.eps = eps
        self.fd_scheme = fd_scheme
        self.chunk = chunk

    @property
    def fd(self) -> bool:
        """Whether :meth:`grad` is a finite-difference approximation."""
        return self._grad is None

    def _eval(self, pts: np.ndarray) -> np.ndarray:
        raw = np.asarray(self._f(pts))
        if self.eps is None and raw.dtype.kind == "f":  # the precision the values carry
            self.eps = float(np.finfo(raw.dtype).eps) if raw.itemsize < 8 else \
                float(np.finfo(np.float64).eps)
        return raw.astype(np.float64).reshape(-1)

    def __call__(self, points: Any) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        out = [self._eval(pts[s:s + self.chunk]) for s in range(0, pts.shape[0], self.chunk)]
        return np.concatenate(out) if out else np.zeros(0)

    def grad(self, points: Any) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if self._grad is not None:
            out = [np.asarray(self._grad(pts[s:s + self.chunk]), dtype=np.float64)
                   for s in range(0, pts.shape[0], self.chunk)]
            return np.concatenate(out).reshape(pts.shape) if out else np.zeros(pts.shape)
        if self.eps is None and len(pts):
            self(pts[:1])                                # learn the precision of the values
        eps = self.eps or float(np.finfo(np.float64).eps)
        rows = max(1, self.chunk // (4 * pts.shape[1]))  # shifted copies per call <= ~chunk
        out = [fd_gradient(self, pts[s:s + rows], self.scale, eps, self.fd_scheme)
               for s in range(0, pts.shape[0], rows)]
        return np.concatenate(out) if out else np.zeros(pts.shape)


def as_potential(obj: Any, name: str | None = None, gradient: ArrayFn | None = None,
                 what: str = "model") -> Potential:
    """A :class:`Potential` from a potential, a model with ``predict``/``grad``, an object with
    ``value``/``gradient`` methods, or a callable (its ``grad`` attribute is used if it has one,
    finite differences otherwise).  ``gradient`` overrides whatever gradient ``obj`` has;
    ``what`` names the argument in the error raised for anything else."""
    if isinstance(obj, Potential) and gradient is None:
        return obj
    for value_name, grad_name in (("predict", "grad"), ("value", "gradient")):
        if callable(getattr(obj, value_name, None)):
            return Potential(getattr(obj, value_name),
                             gradient or getattr(obj, grad_name, None),
                             name or type(obj).__name__)
    if callable(obj):
        grad = getattr(obj, "grad", None)
        return Potential(obj, gradient or (grad if callable(grad) else None),
                         name or getattr(obj, "__name__", "f"))
    raise InputError(f"{what}: expected a callable on (n, d) arrays, a model with "
                     f"predict/grad or value/gradient, got {type(obj).__name__}")
