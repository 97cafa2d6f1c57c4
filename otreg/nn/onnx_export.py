"""The ONNX graph of an otreg network: every layer type as standard ONNX operators.

The graph is written through a small builder interface (:class:`GraphBuilder`: ``const`` adds
a constant, ``node`` an operator) so that the same code serves :func:`otreg.nn.to_onnx` and
the scikit-learn converter of :class:`otreg.HKRClassifier` (which writes into skl2onnx's
container).  Every weight is the one the model's ``predict`` uses now: the frozen orthonormal
weight of a dense layer (or its training-time Björck / Cayley / exponential map), the norm or
scaling of a residual layer, the angles of a Householder activation.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .activation_layers import Activation, Householder
from .dense import LipschitzDense
from .residual import ConvexPotentialLayer, SLLLayer, sll_t
from .tensor import no_grad

__all__ = ["GraphBuilder", "export_layers"]


class GraphBuilder:
    """Collects ONNX nodes and constants (``onnx.helper`` objects) with unique names."""

    def __init__(self, dtype: Any = np.float64) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        """A constant (float arrays in the graph's dtype unless ``dtype`` says otherwise)."""
        arr = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        self.initializers.append(self.numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, inputs: list, n_out: int = 1, **attrs: Any) -> list:
        """Add an operator; returns the names of its ``n_out`` outputs."""
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, inputs, outs, name=self.name(op), **attrs))
        return outs


def _groupsort(b: GraphBuilder, x: str, name: str, width: int) -> str:
    """GroupSort-2 as max / min of the two halves; GroupSort-k of strided groups and FullSort
    as TopK (which sorts: descending within each group, ascending for FullSort)."""
    if name == "groupsort2":
        half = b.const("half", [width // 2, width // 2], np.int64)
        lo, hi = b.node("Split", [x, half], 2, axis=-1)
        return b.node("Concat", [b.node("Max", [lo, hi])[0], b.node("Min", [lo, hi])[0]],
                      axis=-1)[0]
    if name == "fullsort":
        k = b.const("k", [width], np.int64)
        return b.node("TopK", [x, k], 2, axis=-1, largest=0, sorted=1)[0]
    g = int(name[len("groupsort"):])
    grouped = b.node("Reshape", [x, b.const("shape", [-1, g, width // g], np.int64)])[0]
    top = b.node("TopK", [grouped, b.const("k", [g], np.int64)], 2, axis=1, largest=1,
                 sorted=1)[0]
    return b.node("Reshape", [top, b.const("shape", [-1, width], np.int64)])[0]


def _householder(b: GraphBuilder, x: str, layer: Householder) -> str:
    """``z - 2 min(v.z, 0) v`` on each pair (units i, i + k): the reflection where v.z < 0."""
    k = layer.units // 2
    theta = layer.theta.data
    c, s = b.const("cos", np.cos(theta)), b.const("sin", np.sin(theta))
    z1, z2 = b.node("Split", [x, b.const("half", [k, k], np.int64)], 2, axis=-1)
    dot = b.node("Add", [b.node("Mul", [z1, c])[0], b.node("Mul", [z2, s])[0]])[0]
    refl = b.node("Mul", [b.node("Min", [dot, b.const("zero", 0.0)])[0],
                          b.const("two", 2.0)])[0]
    out1 = b.node("Sub", [z1, b.node("Mul", [refl, c])[0]])[0]
    out2 = b.node("Sub", [z2, b.node("Mul", [refl, s])[0]])[0]
    return b.node("Concat", [out1, out2], axis=-1)[0]


def _residual(b: GraphBuilder, x: str, layer: Any) -> str:
    """``x - relu(x W + b) M`` with ``M = (2 / sigma^2) W^T`` (convex potential layer) or
    ``M = 2 diag(1 / t) W^T`` (SLL), the scalings the layer's forward pass uses now."""
    w = layer.weight.data
    if isinstance(layer, ConvexPotentialLayer):
        with no_grad():  # the norm predict uses: exact when frozen, else the current estimate
            sigma = layer.sigma()[0]
        back = (2.0 / sigma ** 2) * w.T
    else:
        t = layer.frozen if layer.frozen is not None else sll_t(w, layer.log_q.data)
        back = 2.0 * w.T / t[:, None]
    z = b.node("Relu", [b.node("Gemm", [x, b.const("W", w), b.const("b", layer.bias.data)])[0]])
    return b.node("Sub", [x, b.node("MatMul", [z[0], b.const("M", back)])[0]])[0]


def export_layers(b: GraphBuilder, model: Any, x: str) -> str:
    """Add ``model``'s computation (a :class:`otreg.nn.Sequential`, units included) on the
    input ``x`` (k, d); returns the name of the output (k, out)."""
    shift, scale = np.asarray(model.shift, dtype=np.float64), float(model.scale)
    if shift.any():
        x = b.node("Sub", [x, b.const("shift", shift)])[0]
    if scale != 1.0:
        x = b.node("Div", [x, b.const("scale", scale)])[0]
    width = model.in_dim
    for layer in model.layers:
        if isinstance(layer, LipschitzDense):
            w = layer.effective_weight()
            if layer.bias is not None:
                x = b.node("Gemm", [x, b.const("W", w), b.const("b", layer.bias.data)])[0]
            else:
                x = b.node("MatMul", [x, b.const("W", w)])[0]
            width = layer.n_out
        elif isinstance(layer, Activation):
            x = (b.node("Relu", [x])[0] if layer.name == "relu"
                 else _groupsort(b, x, layer.name, width))
        elif isinstance(layer, Householder):
            x = _householder(b, x, layer)
        elif isinstance(layer, (ConvexPotentialLayer, SLLLayer)):
            x = _residual(b, x, layer)
        else:
            raise InputError(f"model: no ONNX export for a layer of type "
                             f"{type(layer).__name__}")
    if scale != 1.0:
        x = b.node("Mul", [x, b.const("scale", scale)])[0]
    return x


def export_cones(b: GraphBuilder, model: Any, x: str, m: str) -> str:
    """``max(min(m, U), D)`` of a cone model (docs/mathematics.md §9) on the input ``x`` (k, d)
    and the network's output ``m`` (k, 1): the distances to the centres (original units) by
    Unsqueeze / Sub / Mul / ReduceSum / Sqrt, then ``U = min_j(up_j + |x - p_j|)`` and
    ``D = max_j(down_j - |x - p_j|)``."""
    i64 = np.int64
    diff = b.node("Sub", [b.node("Unsqueeze", [x, b.const("axes", [1], i64)])[0],
                          b.const("centres", model.centres)])[0]
    sq = b.node("ReduceSum", [b.node("Mul", [diff, diff])[0], b.const("axes", [2], i64)],
                keepdims=0)[0]
    dist = b.node("Sqrt", [sq])[0]
    up = b.node("ReduceMin", [b.node("Add", [dist, b.const("up", model.up)])[0]],
                axes=[1], keepdims=1)[0]
    down = b.node("ReduceMax", [b.node("Sub", [b.const("down", model.down), dist])[0]],
                  axes=[1], keepdims=1)[0]
    return b.node("Max", [b.node("Min", [m, up])[0], down])[0]
