"""Compiled (numba) kernels of the fused network op: GroupSort-2 with the bias added in the
same pass, and its backward pass with the bias gradient summed in the same pass.

At a thousand points and 32 units, NumPy needs about ten passes over memory per layer for
``z + b``, the pair comparison, max, min, the concatenation and, backwards, two selections, a
concatenation and a column sum; these kernels make one pass each way.  The values are those of
:func:`otreg.nn.activations.groupsort2` exactly (same additions and selections); the bias
gradient is summed in another order than ``np.sum``.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _gs2_bias_forward(z, bias, out, mask):  # pragma: no cover - compiled
    n, width = z.shape
    k = width // 2
    for i in range(n):
        for j in range(k):
            lo = z[i, j] + bias[j]
            hi = z[i, j + k] + bias[j + k]
            m = lo >= hi  # branch-free selections: the comparisons are unpredictable
            mask[i, j] = m
            out[i, j] = lo if m else hi
            out[i, j + k] = hi if m else lo


@njit(cache=True, error_model="numpy", boundscheck=False)
def _gs2_bias_backward(g, mask, g_in, g_bias):  # pragma: no cover - compiled
    n, width = g.shape
    k = width // 2
    acc = np.zeros(width, dtype=g.dtype)  # the bias gradient, summed in the passes' precision
    for i in range(n):
        g_row, m_row, out = g[i], mask[i], g_in[i]
        for j in range(k):
            g_max = g_row[j]
            g_min = g_row[j + k]
            m = m_row[j]
            out[j] = g_max if m else g_min
            out[j + k] = g_min if m else g_max
        for j in range(width):  # a separate contiguous loop: vectorised, no aliasing question
            acc[j] += out[j]
    for j in range(width):
        g_bias[j] = acc[j]


def groupsort2_bias(z: np.ndarray, bias: np.ndarray):
    """GroupSort-2 of ``z + bias`` (pairs i, i + k): ``(output, mask)``, mask = first half
    got the max."""
    z = np.ascontiguousarray(z)
    out = np.empty_like(z)
    mask = np.empty((z.shape[0], z.shape[1] // 2), dtype=np.bool_)
    _gs2_bias_forward(z, np.ascontiguousarray(bias), out, mask)
    return out, mask


def groupsort2_bias_backward(g: np.ndarray, mask: np.ndarray):
    """Gradients ``(g_z, g_bias)`` from the output gradient ``g`` of :func:`groupsort2_bias`."""
    g = np.ascontiguousarray(g)
    g_in = np.empty_like(g)
    g_bias = np.empty(g.shape[1])
    _gs2_bias_backward(g, mask, g_in, g_bias)
    return g_in, g_bias
