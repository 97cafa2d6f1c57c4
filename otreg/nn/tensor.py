"""A small reverse-mode automatic differentiation engine on NumPy arrays.

A :class:`Tensor` wraps a float64 ndarray.  Every operation on tensors that require a gradient
records its inputs (``_parents``) and a closure (``_backward``) mapping the gradient of the
output to the gradients of the inputs.  :meth:`Tensor.backward` sorts the recorded graph
topologically (iteratively, no recursion limit) and runs the closures in reverse order,
summing gradients over broadcast axes so that every gradient has the shape of its tensor.

The style is micrograd's (one small closure per op) but every op is vectorised (autograd's
style), so the Python overhead is per array operation, not per scalar.  Higher-order gradients
are not supported: the closures compute with plain ndarrays.
"""
from __future__ import annotations

import contextlib
import numbers
import threading
from typing import Any, Callable, Iterator, Sequence

import numpy as np

__all__ = ["Tensor", "no_grad", "is_grad_enabled", "as_tensor", "concatenate", "stack",
           "maximum", "minimum", "where"]

class _GradMode(threading.local):
    """Per-thread switch: two threads training at once (a Dask worker with threads, say) each
    have their own, so one's ``no_grad`` block never stops the other's graph."""

    enabled = True


_MODE = _GradMode()


def is_grad_enabled() -> bool:
    """Whether operations currently record the graph (in this thread)."""
    return _MODE.enabled


@contextlib.contextmanager
def no_grad() -> Iterator[None]:
    """Context manager: operations inside do not record a graph (faster, less memory); it
    applies to the current thread only."""
    old = _MODE.enabled
    _MODE.enabled = False
    try:
        yield
    finally:
        _MODE.enabled = old


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes that broadcasting added or stretched, to get ``shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def as_tensor(x: Any) -> "Tensor":
    """``x`` if it is a Tensor, else a constant Tensor (no gradient) holding ``x``."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _is_basic_index(idx: Any) -> bool:
    items = idx if isinstance(idx, tuple) else (idx,)
    return all(isinstance(i, (slice, numbers.Integral)) or i is None or i is Ellipsis
               for i in items)


class Tensor:
    """A float64 array that records the operations applied to it, for back-propagation."""

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "op")
    __array_priority__ = 100.0  # ndarray (op) Tensor defers to Tensor's reflected operators

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        self.data = np.array(data, dtype=np.float64)  # own copy
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self.op = "leaf"

    # ------------------------------------------------------------------ graph plumbing
    @staticmethod
    def _make(data: np.ndarray, parents: tuple["Tensor", ...],
              backward: Callable[[np.ndarray], tuple], op: str) -> "Tensor":
        """Result of an op.  ``backward(g)`` returns one gradient (or None) per parent."""
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out.op = op
        if _MODE.enabled and (parents[0].requires_grad
                              or any(p.requires_grad for p in parents[1:])):
            out.requires_grad = True
            out._parents = parents
            out._backward = backward
        else:
            out.requires_grad = False
            out._parents = ()
            out._backward = None
        return out

    def backward(self, grad: Any = None) -> None:
        """Back-propagate from this tensor; gradients accumulate into ``.grad`` of the leaves.

        ``grad`` defaults to 1 and is then only allowed for a tensor with a single element.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require a gradient")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError("backward: grad must be given for a non-scalar tensor")
            grad = np.ones_like(self.data)
        else:
            grad = np.broadcast_to(np.asarray(grad, dtype=np.float64), self.data.shape)
        # iterative depth-first post-order: parents come before their children
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            for p in node._parents:
                if p.requires_grad and id(p) not in visited:
                    stack.append((p, False))
        grads = {id(self): grad}
        for node in reversed(order):
            g = grads.pop(id(node), None)
            if g is None:
                continue
            if node._backward is None:  # leaf: accumulate
                node.grad = np.array(g) if node.grad is None else node.grad + g
                continue
            for p, pg in zip(node._parents, node._backward(g)):
                if pg is None or not p.requires_grad:
                    continue
                pg = _unbroadcast(np.asarray(pg), p.data.shape)
                key = id(p)
                grads[key] = grads[key] + pg if key in grads else pg

    def zero_grad(self) -> None:
        self.grad = None

    def detach(self) -> "Tensor":
        """A constant tensor sharing this one's data."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.requires_grad = self.data, None, False
        out._parents, out._backward, out.op = (), None, "leaf"
        return out

    def numpy(self) -> np.ndarray:
        return self.data

    # ------------------------------------------------------------------ array protocol
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def item(self) -> float:
        return float(self.data)

    def __repr__(self):
        rg = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.data!r}{rg})"

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> "Tensor":
        other = as_tensor(other)
        return Tensor._make(self.data + other.data, (self, other), lambda g: (g, g), "add")

    __radd__ = __add__

    def __sub__(self, other: Any) -> "Tensor":
        other = as_tensor(other)
        return Tensor._make(self.data - other.data, (self, other), lambda g: (g, -g), "sub")

    def __rsub__(self, other: Any) -> "Tensor":
        return as_tensor(other) - self

    def __mul__(self, other: Any) -> "Tensor":
        other = as_tensor(other)
        a, b = self.data, other.data
        need_a, need_b = self.requires_grad, other.requires_grad
        return Tensor._make(a * b, (self, other),
                            lambda g: (g * b if need_a else None, g * a if need_b else None),
                            "mul")

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> "Tensor":
        other = as_tensor(other)
        a, b = self.data, other.data
        out = a / b
        return Tensor._make(out, (self, other), lambda g: (g / b, -g * out / b), "div")

    def __rtruediv__(self, other: Any) -> "Tensor":
        return as_tensor(other) / self

    def __neg__(self) -> "Tensor":
        return Tensor._make(-self.data, (self,), lambda g: (-g,), "neg")

    def __pow__(self, c: float) -> "Tensor":
        if isinstance(c, Tensor) or not isinstance(c, numbers.Real):
            raise TypeError("Tensor ** c: only a real scalar exponent is supported")
        a = self.data
        c = float(c)
        return Tensor._make(a ** c, (self,), lambda g: (g * c * a ** (c - 1.0),), "pow")

    def __matmul__(self, other: Any) -> "Tensor":
        other = as_tensor(other)
        a, b = self.data, other.data
        need_a, need_b = self.requires_grad, other.requires_grad

        def backward(g):
            if a.ndim == 1 and b.ndim == 1:
                return g * b, g * a
            a2 = a[None, :] if a.ndim == 1 else a
            b2 = b[:, None] if b.ndim == 1 else b
            g2 = g
            if a.ndim == 1:
                g2 = g2[..., None, :]
            if b.ndim == 1:
                g2 = g2[..., None]
            ga = gb = None
            if need_a:
                ga = g2 @ np.swapaxes(b2, -1, -2)
                if a.ndim == 1:
                    ga = ga[..., 0, :]
            if need_b:
                gb = np.swapaxes(a2, -1, -2) @ g2
                if b.ndim == 1:
                    gb = gb[..., 0]
            return ga, gb

        return Tensor._make(a @ b, (self, other), backward, "matmul")

    def __rmatmul__(self, other: Any) -> "Tensor":
        return as_tensor(other) @ self

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        shape = self.data.shape

        def backward(g):
            if axis is not None and not keepdims:
                axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
                axes = tuple(ax % len(shape) for ax in axes)
                g = np.expand_dims(g, axes)
            elif axis is None and not keepdims:
                g = np.reshape(g, (1,) * len(shape))
            return (np.broadcast_to(g, shape),)

        return Tensor._make(np.sum(self.data, axis=axis, keepdims=keepdims), (self,), backward,
                            "sum")

    def mean(self, axis: Any = None, keepdims: bool = False) -> "Tensor":
        if axis is None:
            count = self.data.size
        else:
            axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
            count = int(np.prod([self.data.shape[ax] for ax in axes]))
        return self.sum(axis=axis, keepdims=keepdims) * (1.0 / count)

    # ------------------------------------------------------------------ elementwise
    def relu(self) -> "Tensor":
        a = self.data
        mask = a > 0
        return Tensor._make(np.where(mask, a, 0.0), (self,), lambda g: (g * mask,), "relu")

    def abs(self) -> "Tensor":
        a = self.data
        return Tensor._make(np.abs(a), (self,), lambda g: (g * np.sign(a),), "abs")

    def sqrt(self) -> "Tensor":
        out = np.sqrt(self.data)
        return Tensor._make(out, (self,), lambda g: (g * 0.5 / out,), "sqrt")

    def exp(self) -> "Tensor":
        out = np.exp(self.data)
        return Tensor._make(out, (self,), lambda g: (g * out,), "exp")

    def log(self) -> "Tensor":
        a = self.data
        return Tensor._make(np.log(a), (self,), lambda g: (g / a,), "log")

    def maximum(self, other: Any) -> "Tensor":
        return maximum(self, other)

    def minimum(self, other: Any) -> "Tensor":
        return minimum(self, other)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> "Tensor":
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        old = self.data.shape
        return Tensor._make(self.data.reshape(shape), (self,), lambda g: (g.reshape(old),),
                            "reshape")

    def transpose(self, *axes: Any) -> "Tensor":
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(range(self.data.ndim))[::-1]
        inv = tuple(np.argsort(axes))
        return Tensor._make(self.data.transpose(axes), (self,), lambda g: (g.transpose(inv),),
                            "transpose")

    @property
    def T(self) -> "Tensor":
        return self.transpose()

    def __getitem__(self, idx: Any) -> "Tensor":
        if isinstance(idx, Tensor):
            idx = idx.data.astype(np.intp)
        shape = self.data.shape
        basic = _is_basic_index(idx)

        def backward(g):
            out = np.zeros(shape)
            if basic:
                out[idx] = g
            else:
                np.add.at(out, idx, g)
            return (out,)

        return Tensor._make(self.data[idx], (self,), backward, "getitem")

    def sort(self, axis: int = -1) -> "Tensor":
        """Sorted copy along ``axis`` (ascending); the gradient follows the permutation."""
        a = self.data
        order = np.argsort(a, axis=axis, kind="stable")

        def backward(g):
            out = np.empty_like(a)
            np.put_along_axis(out, order, g, axis=axis)
            return (out,)

        return Tensor._make(np.take_along_axis(a, order, axis=axis), (self,), backward, "sort")


# ---------------------------------------------------------------------- free functions
def maximum(x: Any, y: Any) -> Tensor:
    """Elementwise maximum (broadcasting); at ties the gradient goes to ``x``."""
    x, y = as_tensor(x), as_tensor(y)
    mask = x.data >= y.data
    return Tensor._make(np.where(mask, x.data, y.data), (x, y),
                        lambda g: (g * mask, g * ~mask), "maximum")


def minimum(x: Any, y: Any) -> Tensor:
    """Elementwise minimum (broadcasting); at ties the gradient goes to ``x``."""
    x, y = as_tensor(x), as_tensor(y)
    mask = x.data <= y.data
    return Tensor._make(np.where(mask, x.data, y.data), (x, y),
                        lambda g: (g * mask, g * ~mask), "minimum")


def where(cond: Any, x: Any, y: Any) -> Tensor:
    """``cond ? x : y`` elementwise, with ``cond`` a constant boolean array."""
    x, y = as_tensor(x), as_tensor(y)
    cond = np.asarray(cond, dtype=bool)
    return Tensor._make(np.where(cond, x.data, y.data), (x, y),
                        lambda g: (np.where(cond, g, 0.0), np.where(cond, 0.0, g)), "where")


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = [as_tensor(t) for t in tensors]
    sizes = [t.data.shape[axis] for t in tensors]
    cuts = np.cumsum(sizes)[:-1]
    return Tensor._make(np.concatenate([t.data for t in tensors], axis=axis), tuple(tensors),
                        lambda g: tuple(np.split(g, cuts, axis=axis)), "concatenate")


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along a new axis."""
    tensors = [as_tensor(t) for t in tensors]
    out = np.stack([t.data for t in tensors], axis=axis)
    ax = axis % out.ndim

    def backward(g):
        return tuple(np.take(g, i, axis=ax) for i in range(len(tensors)))

    return Tensor._make(out, tuple(tensors), backward, "stack")
