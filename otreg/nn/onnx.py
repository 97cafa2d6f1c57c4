"""ONNX export and import of networks: :func:`to_onnx` and :func:`from_onnx`.

:func:`to_onnx` writes an otreg network (every layer type, with its input units) as a standard
ONNX graph (opset 17) that onnxruntime or any other runtime evaluates.  :func:`from_onnx`
reads a graph, ours or one exported by another framework (e.g. ``torch.onnx.export`` of a
deel-torchlip network after ``vanilla_export()``), into an :class:`OnnxModel`: a small
interpreter of a fixed set of operators (:data:`otreg.nn.onnx_ops.OPS`) on otreg's autodiff,
so that the imported network has values *and* exact input gradients, and is a potential for
:mod:`otreg.verify` like any trained model.  Nothing from a file runs but those operators.

Both need the ``onnx`` package (``pip install 'otreg[onnx]'``); it is imported on first use.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..data.paths import atomic_write
from ..data.validate import as_points
from ..errors import InputError
from .cones import ConeNetwork
from .onnx_export import GraphBuilder, export_cones, export_layers
from .onnx_ops import OPS, is_float
from .tensor import Tensor

__all__ = ["to_onnx", "from_onnx", "OnnxModel", "OPSET", "SUPPORTED_OPS"]

#: the opset of the exported graphs (onnxruntime supports it since 1.14)
OPSET = 17
#: the operators :func:`from_onnx` reads (Constant nodes included)
SUPPORTED_OPS = tuple(sorted([*OPS, "Constant"]))


def _onnx(what: str = "ONNX export and import"):
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{what} needs the onnx package: pip install 'otreg[onnx]'") \
            from None
    return onnx


def to_onnx(model: Any, path: str | os.PathLike | None = None, *, dtype: Any = np.float64,
            name: str = "otreg_potential") -> bytes:
    """The ONNX model (serialised bytes) of an otreg network; also written to ``path`` if
    given.

    ``model``: an :class:`otreg.nn.Sequential` (e.g. ``fit(...).model``), a cone model
    (:class:`otreg.nn.cones.ConeNetwork`, fit's default) included.  The graph maps
    ``x`` (k, d) to ``f`` (k, out), input units included (``f(x) = scale g((x - shift) /
    scale)``), with the weights ``model.predict`` uses now (freeze the model first for the
    exactly 1-Lipschitz ones).  ``dtype``: float64 (default: equal to otreg's evaluation to
    rounding) or float32.
    """
    onnx = _onnx()
    from onnx import TensorProto, helper

    from .sequential import Sequential

    if not isinstance(model, Sequential):
        raise InputError(f"model: expected an otreg.nn.Sequential, got {type(model).__name__}")
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise InputError(f"dtype: expected float32 or float64, got {dt}")
    elem = TensorProto.DOUBLE if dt == np.float64 else TensorProto.FLOAT
    b = GraphBuilder(dt)
    out = export_layers(b, model, "x")
    if isinstance(model, ConeNetwork):  # fit's default model: the cones on top of the network
        out = export_cones(b, model, "x", out)
    b.nodes.append(helper.make_node("Identity", [out], ["f"], name="output"))
    graph = helper.make_graph(
        b.nodes, name, [helper.make_tensor_value_info("x", elem, ["n", model.in_dim])],
        [helper.make_tensor_value_info("f", elem, ["n", model.out_dim])], b.initializers)
    proto = helper.make_model(graph, producer_name="otreg",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    proto.ir_version = 8  # what opset 17 needs; readable by onnxruntime >= 1.14
    onnx.checker.check_model(proto)
    data = proto.SerializeToString()
    if path is not None:
        atomic_write(os.fspath(path), data)  # a failed write keeps the previous file
    return data


def _read(source: Any, onnx: Any) -> tuple[Any, str]:
    """``(ModelProto, name for messages)`` from a path, bytes or a ModelProto."""
    if isinstance(source, onnx.ModelProto):
        return source, "model"
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, where = bytes(source), "model (bytes)"
    else:
        where = os.fspath(source)
        if not os.path.isfile(where):
            raise InputError(f"model: file not found: {where}")
        with open(where, "rb") as fh:
            data = fh.read()
    try:  # from a string: never follows a reference to external data files
        proto = onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise InputError(f"model: {where} is not an ONNX model ({type(exc).__name__}: "
                         f"{exc})") from None
    if not proto.graph.node:
        raise InputError(f"model: {where} is not an ONNX model (no graph)")
    return proto, where


def _tensor(t: Any, onnx: Any, where: str) -> Any:
    """An initializer or constant as a value: a float64 Tensor or an integer ndarray."""
    if t.data_location == onnx.TensorProto.EXTERNAL:
        raise InputError(f"model: {where}: tensor {t.name!r} refers to external data "
                         "(not read)")
    arr = onnx.numpy_helper.to_array(t)
    return Tensor(arr) if arr.dtype.kind in "fc" else np.array(arr)


def _attrs(node: Any, onnx: Any, where: str) -> dict:
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = _tensor(a.t, onnx, where)
        elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS,
                        onnx.AttributeProto.TENSORS, onnx.AttributeProto.SPARSE_TENSOR):
            raise InputError(f"model: {where}: node {node.name!r} ({node.op_type}) has an "
                             f"unsupported attribute {a.name!r}")
        else:
            v = onnx.helper.get_attribute_value(a)
            out[a.name] = v.decode() if isinstance(v, bytes) else \
                (list(v) if isinstance(v, (list, tuple)) or hasattr(v, "__len__") else v)
    return out


def _constant(attrs: dict, where: str, node: Any) -> Any:
    for key, conv in (("value", None), ("value_float", float), ("value_floats", float),
                      ("value_int", np.int64), ("value_ints", np.int64)):
        if key in attrs:
            v = attrs[key]
            if conv is float:
                return Tensor(np.asarray(v, dtype=np.float64))
            return v if conv is None else np.asarray(v, dtype=np.int64)
    raise InputError(f"model: {where}: Constant node {node.name!r} has no supported value")


def _dims(value_info: Any) -> list:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


class OnnxModel:
    """A network read from an ONNX file: ``predict(points)`` and ``grad(points, output=0)``
    like :class:`otreg.nn.Sequential` (values (k,) for one output, (k, out) otherwise), so it
    is a potential for :func:`otreg.as_potential` and :mod:`otreg.verify`.

    Evaluated by an interpreter of the operators of :data:`SUPPORTED_OPS` on otreg's autodiff,
    in float64 whatever the file's float type: the gradient is the exact gradient of the
    graph (back-propagation), not a finite difference.
    """

    def __init__(self, proto: Any, where: str = "model") -> None:
        onnx = _onnx()
        self.where = where
        graph = proto.graph
        for op in proto.opset_import:
            if op.domain not in ("", "ai.onnx"):
                raise InputError(f"model: {where}: unsupported operator domain {op.domain!r}")
        if graph.sparse_initializer:
            raise InputError(f"model: {where}: sparse initializers are not supported")
        self.constants = {t.name: _tensor(t, onnx, where) for t in graph.initializer}
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or not graph.output:
            raise InputError(f"model: {where}: expected a graph with one input and an output, "
                             f"got inputs {[i.name for i in inputs]}")
        self.input_name, self.output_name = inputs[0].name, graph.output[0].name
        dims = _dims(inputs[0])
        if len(dims) < 2 or any(d is None for d in dims[1:]):
            raise InputError(f"model: {where}: the input {self.input_name!r} must have shape "
                             f"(batch, features...) with known feature sizes, got {dims}")
        self.input_shape = tuple(int(d) for d in dims[1:])
        self.in_dim = int(np.prod(self.input_shape))
        self.plan = self._plan(graph, onnx)
        self.out_dim = int(self._run(Tensor(np.zeros((1, self.in_dim)))).data.size)

    def _plan(self, graph: Any, onnx: Any) -> list:
        """The nodes as ``(op, inputs, outputs, attrs)``, every op checked and every input
        defined before use (ONNX graphs are topologically sorted)."""
        known = set(self.constants) | {self.input_name, ""}
        plan = []
        for node in graph.node:
            if node.domain not in ("", "ai.onnx") or node.op_type not in SUPPORTED_OPS:
                raise InputError(
                    f"model: {self.where}: unsupported ONNX operator {node.op_type!r} "
                    f"(node {node.name!r}); otreg reads {', '.join(SUPPORTED_OPS)}")
            missing = [i for i in node.input if i not in known]
            if missing:
                raise InputError(f"model: {self.where}: node {node.name!r} uses undefined "
                                 f"values {missing} (a truncated or unsorted graph)")
            attrs = _attrs(node, onnx, self.where)
            if node.op_type == "Constant":
                self.constants[node.output[0]] = _constant(attrs, self.where, node)
            else:
                attrs["_n_out"] = len(node.output)
                plan.append((node.op_type, list(node.input), list(node.output), attrs))
            known.update(node.output)
        if self.output_name not in known:
            raise InputError(f"model: {self.where}: the output {self.output_name!r} is never "
                             "computed")
        return plan

    def _run(self, x: Tensor) -> Tensor:
        """The graph on ``x`` (k, d): the output as a (k, out) Tensor."""
        k = x.data.shape[0]
        values = dict(self.constants)
        values[self.input_name] = x.reshape((k, *self.input_shape))
        for op, ins, outs, attrs in self.plan:
            try:
                result = OPS[op]([values[i] if i else None for i in ins], attrs)
            except InputError:
                raise
            except Exception as exc:  # shapes or arguments the graph got wrong
                raise InputError(f"model: {self.where}: operator {op} failed "
                                 f"({type(exc).__name__}: {exc})") from None
            values.update(zip(outs, result))
        out = values[self.output_name]
        out = out if is_float(out) else Tensor(out)
        return out.reshape((k, -1))

    def _points(self, points: Any) -> np.ndarray:
        return as_points(points, "points", dim=self.in_dim)

    def predict(self, points: Any) -> np.ndarray:
        """The network at ``points`` (k, d): (k,) for one output, (k, out) otherwise."""
        from .tensor import no_grad

        with no_grad():
            out = self._run(Tensor(self._points(points))).data
        return out[:, 0] if self.out_dim == 1 else out

    __call__ = predict

    def grad(self, points: Any, output: int = 0) -> np.ndarray:
        """Gradient of output ``output`` w.r.t. the input at each point: (k, d)."""
        x = self._points(points)
        if not (0 <= int(output) < self.out_dim):
            raise InputError(f"output: must be in [0, {self.out_dim}), got {output!r}")
        xt = Tensor(x, requires_grad=True)
        out = self._run(xt)
        if not out.requires_grad:  # a constant network
            return np.zeros_like(x)
        out[:, int(output)].sum().backward()
        return xt.grad.reshape(x.shape)


def from_onnx(source: Any) -> OnnxModel:
    """Read an ONNX network (a path, the bytes of a file, or an ``onnx.ModelProto``).

    Any problem (not ONNX, truncated, an operator outside :data:`SUPPORTED_OPS`, external
    data, more than one input) raises :class:`~otreg.errors.InputError` naming the file.
    """
    onnx = _onnx()
    proto, where = _read(source, onnx)
    for t in proto.graph.initializer:  # before the checker, which would look for the file
        if t.data_location == onnx.TensorProto.EXTERNAL:
            raise InputError(f"model: {where}: tensor {t.name!r} refers to external data "
                             "(not read; export with the weights inside the file, e.g. "
                             "torch.onnx.export(..., external_data=False))")
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:  # onnx.checker.ValidationError and protobuf errors
        raise InputError(f"model: {where} is not a valid ONNX model ({exc})") from None
    return OnnxModel(proto, where)
