"""1-Lipschitz potentials on the samples, and their extension to the whole space.

Given values ``f_k`` on points ``s_k`` that are 1-Lipschitz on the samples
(|f_k - f_l| <= |s_k - s_l|), the McShane extension ``F(x) = min_k (f_k + |x - s_k|)`` and the
Whitney extension ``F(x) = max_k (f_k - |x - s_k|)`` are 1-Lipschitz on R^d, equal ``f`` on the
samples, and bound every other 1-Lipschitz extension from above and below; their mean is also
1-Lipschitz.  See docs/mathematics.md for the proofs.

The evaluation is a compiled loop (numba) over points and samples that keeps no k x N block in
memory, and returns the exact gradient with the value: the gradient of ``f_k + |x - s_k|`` at
the arg-min is the unit vector from ``s_k`` to ``x`` (defined except where the arg-min ties).
At a sample itself the cone ``f_k + |x - s_k|`` has no gradient; when another sample ties with
it (the sample lies on a transport ray) that one's branch is used, so the gradient there is the
ray's direction, the one-sided derivative along which f changes at unit rate.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError
from ..potential import Potential
from ._aot import kernel

KINDS = ("mcshane", "whitney", "mean")
_KIND_CODE = {"mcshane": 0, "whitney": 1, "mean": 2}


@njit(cache=True, nogil=True)
def _c_transform_kernel(f_neg, M):  # pragma: no cover - compiled
    n, m = M.shape
    f_pos = np.empty(n)
    for i in range(n):
        row = M[i]
        best = f_neg[0] + row[0]
        for j in range(1, m):
            v = f_neg[j] + row[j]
            best = v if v < best else best
        f_pos[i] = best
    g = f_pos[0] - M[0]
    for i in range(1, n):
        row = M[i]
        fi = f_pos[i]
        for j in range(m):
            v = fi - row[j]
            g[j] = v if v > g[j] else g[j]
    return f_pos, g


def c_transform_clean(f_pos: np.ndarray, f_neg: np.ndarray,
                      M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make a feasible hKR potential exactly 1-Lipschitz on all samples, never raising L.

    ``f_pos <- min_j (f_neg_j + d_ij)`` then ``f_neg <- max_i (f_pos_i - d_ij)``.  The first step
    only raises f on the positives and the second only lowers it on the negatives, which can
    only lower the hKR loss (L decreases in f(x_i) and increases in f(z_j)); the result satisfies
    f_pos_i - f_neg_j <= d_ij for all pairs and is 1-Lipschitz within each class (a min, resp.
    max, of 1-Lipschitz functions), hence on the union of the samples.  ``M`` is the (n, m)
    distance matrix d (any cost matrix for the transforms).  (``f_pos`` itself is not used: the
    first step recomputes it.)  Two compiled passes over ``M``, no temporary.
    """
    M = np.ascontiguousarray(M, dtype=np.float64)
    fn = kernel("c_transform") or _c_transform_kernel
    return fn(np.ascontiguousarray(f_neg, dtype=np.float64), M)


@njit(cache=True, nogil=True)
def _extension_kernel(points, samples, values, kind):  # pragma: no cover - compiled
    k, d = points.shape
    N = samples.shape[0]
    f = np.empty(k)
    g = np.zeros((k, d))
    w_lo = 1.0 if kind == 0 else (0.0 if kind == 1 else 0.5)
    w_hi = 1.0 - w_lo
    for q in range(k):
        lo, hi = np.inf, -np.inf
        i_lo, i_hi, r_lo, r_hi = 0, 0, 0.0, 0.0
        for s in range(N):
            r = 0.0
            for c in range(d):
                t = points[q, c] - samples[s, c]
                r += t * t
            r = np.sqrt(r)
            v = values[s] + r
            if v < lo:
                lo, i_lo, r_lo = v, s, r
            elif r_lo == 0.0 and r > 0.0 and v - lo <= 1e-12 * (abs(v) + r):
                i_lo, r_lo = s, r  # at a sample on a transport ray: the ray's direction
            v = values[s] - r
            if v > hi:
                hi, i_hi, r_hi = v, s, r
            elif r_hi == 0.0 and r > 0.0 and hi - v <= 1e-12 * (abs(v) + r):
                i_hi, r_hi = s, r
        f[q] = w_lo * lo + w_hi * hi
        for c in range(d):
            if r_lo > 0:  # grad of min_k f_k + |x - s_k|: unit vector away from the arg-min
                g[q, c] += w_lo * (points[q, c] - samples[i_lo, c]) / r_lo
            if r_hi > 0:  # grad of max_k f_k - |x - s_k|: unit vector towards the arg-max
                g[q, c] -= w_hi * (points[q, c] - samples[i_hi, c]) / r_hi
    return f, g


def extend_with_grad(points: object, samples: np.ndarray, values: np.ndarray,
                     kind: str = "mcshane") -> tuple[np.ndarray, np.ndarray]:
    """Value and gradient, ``(f (k,), grad (k, d))``, at ``points`` (k, d) of the 1-Lipschitz
    extension of ``values`` given on ``samples`` (N, d)."""
    if kind not in KINDS:
        raise InputError(f"kind: expected one of {KINDS}, got {kind!r}")
    samples = np.asarray(samples, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1 and pts.shape[0] == samples.shape[1]:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != samples.shape[1]:
        raise InputError(
            f"points: expected shape (k, {samples.shape[1]}), got {np.shape(points)}"
        )
    if not np.all(np.isfinite(pts)):
        raise InputError("points: contains NaN or infinite values")
    fn = kernel("extension") or _extension_kernel
    return fn(np.ascontiguousarray(pts), np.ascontiguousarray(samples),
                             np.ascontiguousarray(values, dtype=np.float64), _KIND_CODE[kind])


class ExtensionPotential(Potential):
    """The McShane / Whitney / mean extension of ``values`` on ``samples`` as a
    :class:`otreg.potential.Potential`: compiled value and exact gradient (defined everywhere
    except on the measure-zero set where the arg-min / arg-max ties), no k x N block in
    memory."""

    def __init__(self, samples: np.ndarray, values: np.ndarray, kind: str = "mcshane",
                 name: str | None = None) -> None:
        if kind not in KINDS:
            raise InputError(f"kind: expected one of {KINDS}, got {kind!r}")
        self.samples = np.ascontiguousarray(samples, dtype=np.float64)
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        self.kind = kind
        super().__init__(self._value, self._gradient, name or f"exact ({kind})")

    def _value(self, points: np.ndarray) -> np.ndarray:
        return extend_with_grad(points, self.samples, self.values, self.kind)[0]

    def _gradient(self, points: np.ndarray) -> np.ndarray:
        return extend_with_grad(points, self.samples, self.values, self.kind)[1]

    def __call__(self, points: object) -> np.ndarray:
        return self._value(points)

    def grad(self, points: object) -> np.ndarray:
        return self._gradient(points)
