"""1-Lipschitz potentials on the samples, and their extension to the whole space.

Given values ``f_k`` on points ``s_k`` that are 1-Lipschitz on the samples
(|f_k - f_l| <= |s_k - s_l|), the McShane extension ``F(x) = min_k (f_k + |x - s_k|)`` and the
Whitney extension ``F(x) = max_k (f_k - |x - s_k|)`` are 1-Lipschitz on R^d, equal ``f`` on the
samples, and bound every other 1-Lipschitz extension from above and below; their mean is also
1-Lipschitz.  See docs/mathematics.md for the proofs.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

KINDS = ("mcshane", "whitney", "mean")
_CHUNK_ELEMS = 4_000_000  # points x samples per block, bounds the memory of an evaluation


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


def extend(points, samples, values, kind: str = "mcshane") -> np.ndarray:
    """Evaluate the 1-Lipschitz extension of ``values`` on ``samples`` at ``points`` (k, d)."""
    if kind not in KINDS:
        raise InputError(f"kind: expected one of {KINDS}, got {kind!r}")
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim == 1 and pts.shape[0] == samples.shape[1]:
        pts = pts[None, :]
    if pts.ndim != 2 or pts.shape[1] != samples.shape[1]:
        raise InputError(
            f"points: expected shape (k, {samples.shape[1]}), got {np.shape(points)}"
        )
    if not np.all(np.isfinite(pts)):
        raise InputError("points: contains NaN or infinite values")
    out = np.empty(pts.shape[0])
    step = max(1, _CHUNK_ELEMS // max(1, samples.shape[0]))
    for start in range(0, pts.shape[0], step):
        block = pts[start : start + step]
        dist = np.sqrt(((block[:, None, :] - samples[None, :, :]) ** 2).sum(axis=2))
        lo = np.min(values[None, :] + dist, axis=1)
        if kind == "mcshane":
            out[start : start + step] = lo
            continue
        hi = np.max(values[None, :] - dist, axis=1)
        out[start : start + step] = hi if kind == "whitney" else 0.5 * (lo + hi)
    return out
