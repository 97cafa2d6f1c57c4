"""1-Lipschitz potentials on the samples, and their extension to the whole space.

Given values ``f_k`` on points ``s_k`` that are 1-Lipschitz on the samples
(|f_k - f_l| <= |s_k - s_l|), the McShane extension ``F(x) = min_k (f_k + |x - s_k|)`` and the
Whitney extension ``F(x) = max_k (f_k - |x - s_k|)`` are 1-Lipschitz on R^d, equal ``f`` on the
samples, and bound every other 1-Lipschitz extension from above and below; their mean is also
1-Lipschitz.  See docs/mathematics.md for the proofs.

The evaluation is a compiled loop (numba) over points and samples that keeps no k x N block in
memory, and returns the exact gradient with the value: the gradient of ``f_k + |x - s_k|`` at
the arg-min is the unit vector from ``s_k`` to ``x`` (defined except where the arg-min ties).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import InputError

KINDS = ("mcshane", "whitney", "mean")
_KIND_CODE = {"mcshane": 0, "whitney": 1, "mean": 2}


def c_transform_clean(f_pos, f_neg, dist):
    """Make a feasible hKR potential exactly 1-Lipschitz on all samples, never raising L.

    ``f_pos <- min_j (f_neg_j + d_ij)`` then ``f_neg <- max_i (f_pos_i - d_ij)``.  The first step
    only raises f on the positives and the second only lowers it on the negatives, which can
    only lower the hKR loss (L decreases in f(x_i) and increases in f(z_j)); the result satisfies
    f_pos_i - f_neg_j <= d_ij for all pairs and is 1-Lipschitz within each class (a min, resp.
    max, of 1-Lipschitz functions), hence on the union of the samples.
    """
    f_pos = np.min(f_neg[None, :] + dist, axis=1)
    f_neg = np.max(f_pos[:, None] - dist, axis=0)
    return f_pos, f_neg


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
            if values[s] + r < lo:
                lo, i_lo, r_lo = values[s] + r, s, r
            if values[s] - r > hi:
                hi, i_hi, r_hi = values[s] - r, s, r
        f[q] = w_lo * lo + w_hi * hi
        for c in range(d):
            if r_lo > 0:  # grad of min_k f_k + |x - s_k|: unit vector away from the arg-min
                g[q, c] += w_lo * (points[q, c] - samples[i_lo, c]) / r_lo
            if r_hi > 0:  # grad of max_k f_k - |x - s_k|: unit vector towards the arg-max
                g[q, c] -= w_hi * (points[q, c] - samples[i_hi, c]) / r_hi
    return f, g


def extend_with_grad(points, samples, values, kind: str = "mcshane"):
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
    return _extension_kernel(np.ascontiguousarray(pts), np.ascontiguousarray(samples),
                             np.ascontiguousarray(values, dtype=np.float64), _KIND_CODE[kind])


def extend(points, samples, values, kind: str = "mcshane") -> np.ndarray:
    """Evaluate the 1-Lipschitz extension of ``values`` on ``samples`` at ``points`` (k, d)."""
    return extend_with_grad(points, samples, values, kind)[0]
