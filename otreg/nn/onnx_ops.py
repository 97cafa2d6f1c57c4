"""The ONNX operators :func:`otreg.nn.from_onnx` runs, on otreg's autodiff.

A value is a :class:`~otreg.nn.tensor.Tensor` when it is a float (it may depend on the input
and carries the gradient; every float computes in float64) and a plain integer or boolean
ndarray otherwise (shapes, indices, sizes).  Each operator is a function ``(inputs, attrs) ->
list of outputs``; ``attrs`` holds the node's attributes as Python values.  Nothing else from a
file is ever executed: an operator missing from :data:`OPS` is refused when the file is read.
The semantics follow the ONNX operator specification; where a newer opset moved an argument
from an attribute to an input (Split, Slice, Squeeze, Unsqueeze, ReduceMax / ReduceMin, TopK),
both forms are read.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .tensor import Tensor, concatenate, maximum, minimum

__all__ = ["OPS", "is_float"]


def is_float(v: Any) -> bool:
    return isinstance(v, Tensor)


def _ints(v: Any) -> np.ndarray:
    """An integer array from a value (a float Tensor holding integers is accepted)."""
    data = v.data if isinstance(v, Tensor) else np.asarray(v)
    return data.astype(np.int64).reshape(-1) if data.ndim else data.astype(np.int64)


def _opt(inputs: list, i: int) -> Any:
    """Input ``i`` if present (ONNX marks a skipped optional input by an empty name)."""
    return inputs[i] if len(inputs) > i else None


def _arg(inputs: list, i: int, attrs: dict, key: str, default: Any = None) -> Any:
    """An argument given as input ``i`` (newer opsets) or attribute ``key`` (older ones)."""
    v = _opt(inputs, i)
    if v is not None:
        return [int(a) for a in _ints(v).reshape(-1)]
    return attrs.get(key, default)


def _binary(tensor_op: Callable, numpy_op: Callable) -> Callable:
    def run(inputs: list, attrs: dict) -> list:
        a, b = inputs[0], inputs[1]
        if is_float(a) or is_float(b):
            a = a if is_float(a) else Tensor(a)
            return [tensor_op(a, b if is_float(b) else Tensor(b))]
        return [numpy_op(np.asarray(a), np.asarray(b))]
    return run


def _int_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        return np.trunc(a / b).astype(np.result_type(a, b))  # ONNX: truncates toward zero
    return a / b


def _variadic(fn: Callable) -> Callable:
    def run(inputs: list, attrs: dict) -> list:
        out = inputs[0] if is_float(inputs[0]) else Tensor(inputs[0])
        for v in inputs[1:]:
            out = fn(out, v if is_float(v) else Tensor(v))
        return [out]
    return run


def _gemm(inputs: list, attrs: dict) -> list:
    a, b, c = inputs[0], inputs[1], _opt(inputs, 2)
    a = a.T if attrs.get("transA", 0) else a
    b = b.T if attrs.get("transB", 0) else b
    out = a @ b
    if attrs.get("alpha", 1.0) != 1.0:
        out = out * float(attrs["alpha"])
    if c is not None:
        out = out + (c * float(attrs.get("beta", 1.0)) if attrs.get("beta", 1.0) != 1.0 else c)
    return [out]


def _shape_of(v: Any) -> tuple:
    return v.data.shape if is_float(v) else np.asarray(v).shape


def _reshape_to(v: Any, shape: tuple) -> Any:
    return v.reshape(shape) if is_float(v) else np.asarray(v).reshape(shape)


def _reshape(inputs: list, attrs: dict) -> list:
    x, shape = inputs[0], [int(s) for s in _ints(inputs[1])]
    old = _shape_of(x)
    if not attrs.get("allowzero", 0):
        shape = [old[i] if s == 0 else s for i, s in enumerate(shape)]
    return [_reshape_to(x, tuple(shape))]


def _flatten(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    shape = _shape_of(x)
    axis = int(attrs.get("axis", 1)) % (len(shape) + 1) if shape else 0
    return [_reshape_to(x, (int(np.prod(shape[:axis])), int(np.prod(shape[axis:]))))]


def _transpose(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    perm = attrs.get("perm") or list(range(len(_shape_of(x))))[::-1]
    return [x.transpose(tuple(perm)) if is_float(x) else np.transpose(x, perm)]


def _concat(inputs: list, attrs: dict) -> list:
    axis = int(attrs["axis"])
    if any(is_float(v) for v in inputs):
        return [concatenate([v if is_float(v) else Tensor(v) for v in inputs], axis=axis)]
    return [np.concatenate([np.asarray(v) for v in inputs], axis=axis)]


def _take(x: Any, axis: int, index: Any) -> Any:
    """``x[..., index, ...]`` on ``axis`` (basic slices or an integer array)."""
    ndim = len(_shape_of(x))
    key = (slice(None),) * (axis % ndim) + (index,)
    return x[key] if is_float(x) else np.asarray(x)[key]


def _split(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    axis = int(attrs.get("axis", 0))
    size = _shape_of(x)[axis]
    parts = _arg(inputs, 1, attrs, "split")
    if parts is None:
        n = int(attrs.get("num_outputs", attrs["_n_out"]))
        step = -(-size // n)
        parts = [min(step, size - i * step) for i in range(n)]
    cuts = np.concatenate([[0], np.cumsum(parts)])
    return [_take(x, axis, slice(int(lo), int(hi))) for lo, hi in zip(cuts[:-1], cuts[1:])]


def _slice(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    starts = _arg(inputs, 1, attrs, "starts")
    ends = _arg(inputs, 2, attrs, "ends")
    axes = _arg(inputs, 3, attrs, "axes") or list(range(len(starts)))
    steps = _arg(inputs, 4, attrs, "steps") or [1] * len(starts)
    ndim = len(_shape_of(x))
    key = [slice(None)] * ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        key[a % ndim] = slice(s, e, st)
    return [x[tuple(key)] if is_float(x) else np.asarray(x)[tuple(key)]]


def _squeeze(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    shape = _shape_of(x)
    axes = _arg(inputs, 1, attrs, "axes")
    axes = [i for i, s in enumerate(shape) if s == 1] if axes is None else \
        [a % len(shape) for a in axes]
    return [_reshape_to(x, tuple(s for i, s in enumerate(shape) if i not in axes))]


def _unsqueeze(inputs: list, attrs: dict) -> list:
    x = inputs[0]
    shape = list(_shape_of(x))
    axes = _arg(inputs, 1, attrs, "axes")
    rank = len(shape) + len(axes)
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return [_reshape_to(x, tuple(shape))]


def _topk(inputs: list, attrs: dict) -> list:
    """The k largest (or smallest) along ``axis``, sorted; the gradient goes back to the
    entries taken.  Also what exporters emit for a sort."""
    x = inputs[0] if is_float(inputs[0]) else Tensor(inputs[0])
    k = int(_arg(inputs, 1, attrs, "k")[0] if len(inputs) > 1 else attrs["k"])
    axis = int(attrs.get("axis", -1))
    largest = bool(attrs.get("largest", 1))
    a = x.data
    order = np.argsort(-a if largest else a, axis=axis, kind="stable")
    index = np.take(order, np.arange(k), axis=axis)
    shape = a.shape

    def backward(g):
        out = np.zeros(shape)
        np.put_along_axis(out, index, g, axis=axis)
        return (out,)

    values = Tensor._make(np.take_along_axis(a, index, axis=axis), (x,), backward, "topk")
    return [values, index.astype(np.int64)]


def _reduction(inputs: list, attrs: dict) -> tuple[Tensor, tuple | None, bool]:
    """``(x, axes, keepdims)`` of a Reduce* node; ``axes`` None when the node is a no-op
    (no axes and ``noop_with_empty_axes``), all axes when none are given."""
    x = inputs[0] if is_float(inputs[0]) else Tensor(inputs[0])
    axes = _arg(inputs, 1, attrs, "axes")
    if not axes and attrs.get("noop_with_empty_axes", 0):
        return x, None, True
    axes = tuple(range(x.data.ndim)) if not axes else tuple(axes)
    return x, axes, bool(attrs.get("keepdims", 1))


def _reduce_extreme(fn: Callable) -> Callable:
    """ReduceMax / ReduceMin; at ties the gradient is shared equally."""
    def run(inputs: list, attrs: dict) -> list:
        x, axes, keep = _reduction(inputs, attrs)
        if axes is None:
            return [x]
        a = x.data
        best = fn(a, axis=axes, keepdims=True)
        mask = a == best
        share = mask / mask.sum(axis=axes, keepdims=True)
        out = best if keep else np.squeeze(best, axis=axes)

        def backward(g):
            return ((g if keep else np.expand_dims(g, axes)) * share,)

        return [Tensor._make(out, (x,), backward, "reduce")]
    return run


def _gather(inputs: list, attrs: dict) -> list:
    index = inputs[1].data if is_float(inputs[1]) else np.asarray(inputs[1])
    index = index.astype(np.intp)
    x = inputs[0]
    size = _shape_of(x)[int(attrs.get("axis", 0))]
    return [_take(x, int(attrs.get("axis", 0)), np.where(index < 0, index + size, index))]


def _cast(inputs: list, attrs: dict) -> list:
    from onnx import helper

    target = np.dtype(helper.tensor_dtype_to_np_dtype(int(attrs["to"])))
    x = inputs[0]
    if target.kind == "f":
        return [x if is_float(x) else Tensor(np.asarray(x, dtype=np.float64))]
    return [(x.data if is_float(x) else np.asarray(x)).astype(target)]


def _shape(inputs: list, attrs: dict) -> list:
    shape = np.array(_shape_of(inputs[0]), dtype=np.int64)
    return [shape[int(attrs.get("start", 0)):attrs.get("end")]]


def _reduce_sum(inputs: list, attrs: dict) -> list:
    x, axes, keep = _reduction(inputs, attrs)
    return [x if axes is None else x.sum(axis=axes, keepdims=keep)]


def _sqrt(inputs: list, attrs: dict) -> list:
    """Sqrt; at 0 (a point on a cone's apex) the gradient is 0, a subgradient of the distance
    it takes the root of, instead of 0 * inf."""
    x = inputs[0] if is_float(inputs[0]) else Tensor(inputs[0])
    out = np.sqrt(x.data)
    pos = out > 0
    return [Tensor._make(out, (x,), lambda g: (np.where(pos, g * 0.5 / np.where(pos, out, 1.0),
                                                        0.0),), "sqrt")]


def _unary(fn: Callable) -> Callable:
    return lambda inputs, attrs: [fn(inputs[0] if is_float(inputs[0]) else Tensor(inputs[0]))]


#: ONNX operator -> implementation ``(inputs, attrs) -> outputs``; ``attrs["_n_out"]`` is the
#: number of outputs of the node (Split: an equal split into that many parts when no sizes are
#: given).  Constant nodes are read when the file is loaded.
OPS: dict[str, Callable] = {
    "Gemm": _gemm,
    "MatMul": lambda i, a: [(i[0] if is_float(i[0]) else Tensor(i[0])) @ i[1]],
    "Add": _binary(lambda a, b: a + b, np.add),
    "Sub": _binary(lambda a, b: a - b, np.subtract),
    "Mul": _binary(lambda a, b: a * b, np.multiply),
    "Div": _binary(lambda a, b: a / b, _int_div),
    "Neg": lambda i, a: [-i[0]],
    "Relu": _unary(lambda x: x.relu()),
    "Abs": _unary(lambda x: x.abs()),
    "Max": _variadic(maximum),
    "Min": _variadic(minimum),
    "Identity": lambda i, a: [i[0]],
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Squeeze": _squeeze,
    "Unsqueeze": _unsqueeze,
    "TopK": _topk,
    "ReduceMax": _reduce_extreme(np.max),
    "ReduceMin": _reduce_extreme(np.min),
    "ReduceSum": _reduce_sum,
    "Sqrt": _sqrt,
    "Gather": _gather,
    "Shape": _shape,
    "Cast": _cast,
}
