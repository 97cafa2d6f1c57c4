"""A chain of dense layers and activations as one autodiff op (:func:`dense_chain`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from ._kernels import groupsort2_bias, groupsort2_bias_backward
from .activation_layers import Activation
from .activations import KERNELS
from .dense import LipschitzDense
from .tensor import Tensor, as_tensor

__all__ = ["dense_chain", "chain_activations"]


def chain_activations(layers: list) -> list | None:
    """The activation after each dense layer (None for none) if ``layers`` alternate dense
    layers and parameter-free activations that have a NumPy kernel; else None."""
    acts: list = []
    for layer in layers:
        if isinstance(layer, LipschitzDense):
            acts.append(None)
        elif isinstance(layer, Activation) and layer.name in KERNELS and acts \
                and acts[-1] is None:
            acts[-1] = layer.name
        else:
            return None
    return acts


def dense_chain(x: Tensor, weights: list, biases: list, activations: list,
                dtype: Any = None) -> Tensor:
    """``h <- act_k(h @ W_k + b_k)`` for k = 1..L as one autodiff op.

    ``activations[k]`` names a kernel of :data:`otreg.nn.activations.KERNELS` or is None.  The
    backward pass runs the chain rule of every layer in one function (no graph nodes, no
    topological sort per layer): gradients for ``x``, every ``W_k`` and every ``b_k``.

    ``dtype``: the floating type the chain computes in (default float64).  With
    ``np.float32`` the points, weights and back-propagated gradients are rounded to single
    precision inside the op (matrix products about 1.7x faster); the output and every
    gradient handed back are float64, so the rest of the graph, the Björck steps and the
    optimiser stay in double precision.
    """
    biases = [as_tensor(b) if b is not None else None for b in biases]
    weights = [as_tensor(w) for w in weights]
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if dt not in (np.float32, np.float64):
        raise InputError(f"dtype: expected float32 or float64, got {dt}")
    w_data = [w.data.astype(dt, copy=False) for w in weights]
    b_data = [b.data.astype(dt, copy=False) if b is not None else None for b in biases]
    h = x.data.astype(dt, copy=False)
    saved = []
    for w, b, act in zip(w_data, b_data, activations):
        z = h @ w
        if act == "groupsort2" and b is not None and z.ndim == 2:
            z, mask = groupsort2_bias(z, b)  # compiled: bias, pairs, max/min in one pass
            saved.append((h, mask))
            h = z
            continue
        if b is not None:
            z += b
        back = None
        if act is not None:
            z, back = KERNELS[act](z)
        saved.append((h, back))
        h = z
    has_bias = [b is not None for b in biases]
    need_x = x.requires_grad

    def backward(g):
        g = g.astype(dt, copy=False)
        g_w, g_b = [None] * len(weights), [None] * len(weights)
        g_x = None
        for k in range(len(weights) - 1, -1, -1):
            h_in, back = saved[k]
            bias_grad = None
            if isinstance(back, np.ndarray):  # the compiled GroupSort-2 + bias kernel's mask
                g, bias_grad = groupsort2_bias_backward(g, back)
            elif back is not None:
                g = back(g)
            if weights[k].requires_grad:
                g_w[k] = (h_in.T @ g).astype(np.float64, copy=False)
            if has_bias[k] and biases[k].requires_grad:
                g_b[k] = (g.sum(axis=0) if bias_grad is None else bias_grad).astype(
                    np.float64, copy=False)
            if k > 0 or need_x:
                g = g @ w_data[k].T
        if need_x:
            g_x = g.astype(np.float64, copy=False)
        return (g_x, *g_w, *[gb for gb, hb in zip(g_b, has_bias) if hb])

    parents = (x, *weights, *[b for b in biases if b is not None])
    return Tensor._make(h.astype(np.float64, copy=False), parents, backward, "dense_chain")
