"""Activations for 1-Lipschitz networks: GroupSort-2 (MaxMin), FullSort and ReLU.

GroupSort-2 and FullSort only permute their input, so their Jacobian is a permutation matrix:
they keep the gradient norm (|J^T g| = |g|), which lets an orthonormal network reach
|grad f| = 1, as the optimal hKR potential requires on the transport rays (docs/mathematics.md §7).
ReLU zeroes part of the gradient and cannot.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .tensor import Tensor


def _groupsort2_kernel(a: np.ndarray):
    """GroupSort-2 of an array: ``(output, backward)`` with ``backward(g)`` the input gradient."""
    width = a.shape[-1]
    if width % 2:
        raise InputError(f"x: GroupSort-2 needs an even number of units, got {width}")
    k = width // 2
    lo_half, hi_half = a[..., :k], a[..., k:]
    mask = lo_half >= hi_half
    out = np.empty_like(a)
    np.maximum(lo_half, hi_half, out=out[..., :k])
    np.minimum(lo_half, hi_half, out=out[..., k:])

    def backward(g: np.ndarray) -> np.ndarray:
        g_max, g_min = g[..., :k], g[..., k:]
        res = np.empty_like(g)
        # the max goes to the first half where mask (ties included), else to the second
        np.copyto(res[..., :k], g_min)
        np.copyto(res[..., :k], g_max, where=mask)
        np.copyto(res[..., k:], g_max)
        np.copyto(res[..., k:], g_min, where=mask)
        return res

    return out, backward


def _fullsort_kernel(a: np.ndarray):
    order = np.argsort(a, axis=-1, kind="stable")

    def backward(g: np.ndarray) -> np.ndarray:
        out = np.empty_like(g)
        np.put_along_axis(out, order, g, axis=-1)
        return out

    return np.take_along_axis(a, order, axis=-1), backward


def _groupsort_kernel(a: np.ndarray, k: int):
    """GroupSort with groups of ``k`` units: unit i is grouped with units i + w/k, i + 2 w/k,
    ... (strided groups, a permutation of contiguous ones); each group is sorted, largest
    first."""
    width = a.shape[-1]
    if width % k:
        raise InputError(f"x: GroupSort-{k} needs a number of units divisible by {k}, "
                         f"got {width}")
    shape = a.shape[:-1] + (k, width // k)
    grouped = a.reshape(shape)
    order = np.argsort(-grouped, axis=-2, kind="stable")

    def backward(g: np.ndarray) -> np.ndarray:
        out = np.empty(shape)
        np.put_along_axis(out, order, g.reshape(shape), axis=-2)
        return out.reshape(a.shape)

    return np.take_along_axis(grouped, order, axis=-2).reshape(a.shape), backward


def _groupsort4_kernel(a: np.ndarray):
    return _groupsort_kernel(a, 4)


def _groupsort8_kernel(a: np.ndarray):
    return _groupsort_kernel(a, 8)


def _relu_kernel(a: np.ndarray):
    mask = a > 0
    return np.where(mask, a, 0.0), lambda g: g * mask


def groupsort2(x: Tensor) -> Tensor:
    """GroupSort with groups of 2 (MaxMin) on the last axis.

    The pairs are (x[..., i], x[..., i + k]) for a last axis of size 2k; the output is
    ``concatenate([max(pair), min(pair)])``.  Pairing halves instead of neighbours only
    permutes the units (the next orthonormal layer absorbs any permutation) and keeps every
    slice contiguous, which is faster.  At ties the max goes to the first half.
    """
    out, backward = _groupsort2_kernel(x.data)
    return Tensor._make(out, (x,), lambda g: (backward(g),), "groupsort2")


def groupsort4(x: Tensor) -> Tensor:
    """GroupSort with groups of 4 units (strided groups: i, i + w/4, i + w/2, i + 3w/4)."""
    out, backward = _groupsort4_kernel(x.data)
    return Tensor._make(out, (x,), lambda g: (backward(g),), "groupsort4")


def groupsort8(x: Tensor) -> Tensor:
    """GroupSort with groups of 8 units (strided groups)."""
    out, backward = _groupsort8_kernel(x.data)
    return Tensor._make(out, (x,), lambda g: (backward(g),), "groupsort8")


def fullsort(x: Tensor) -> Tensor:
    """Sort the units of the last axis (GroupSort with a single group)."""
    return x.sort(axis=-1)


def relu(x: Tensor) -> Tensor:
    """max(x, 0): 1-Lipschitz but not gradient-norm preserving."""
    return x.relu()


#: NumPy kernels ``a -> (output, backward)`` of the parameter-free activations, by canonical
#: name: what the fused network op (:func:`otreg.nn.layers.dense_chain`) runs
KERNELS = {"groupsort2": _groupsort2_kernel, "groupsort4": _groupsort4_kernel,
           "groupsort8": _groupsort8_kernel, "fullsort": _fullsort_kernel,
           "relu": _relu_kernel}


ACTIVATIONS = {"groupsort": groupsort2, "groupsort2": groupsort2, "maxmin": groupsort2,
               "groupsort4": groupsort4, "groupsort8": groupsort8,
               "fullsort": fullsort, "relu": relu}


def get_activation(name: str):
    """Activation function by name (``groupsort``/``maxmin`` = GroupSort-2, ``groupsort4``,
    ``groupsort8``, ``fullsort`` or ``relu``)."""
    try:
        return ACTIVATIONS[str(name).lower()]
    except KeyError:
        raise InputError(f"activation: unknown activation {name!r}; expected one of "
                         "'groupsort', 'groupsort4', 'groupsort8', 'fullsort', 'relu'") from None


# ---------------------------------------------------------------------- plain NumPy versions
def groupsort2_np(a: np.ndarray) -> np.ndarray:
    k = a.shape[-1] // 2
    return np.concatenate([np.maximum(a[..., :k], a[..., k:]), np.minimum(a[..., :k], a[..., k:])],
                          axis=-1)


NUMPY_ACTIVATIONS = {"groupsort2": groupsort2_np, "fullsort": lambda a: np.sort(a, axis=-1),
                     "relu": lambda a: np.maximum(a, 0.0),
                     "groupsort4": lambda a: _groupsort4_kernel(a)[0],
                     "groupsort8": lambda a: _groupsort8_kernel(a)[0]}
