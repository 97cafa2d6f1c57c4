"""The skl2onnx converter of a classifier whose decision function is an otreg network
(:class:`otreg.HKRClassifier`; registered by :func:`otreg.classifier.register_skl2onnx`).

The converted graph takes the features in the input's float type, computes the network in
float64 (:func:`otreg.nn.onnx_export.export_layers`) and gives skl2onnx's two classifier
outputs: the label (``classes_[f > 0]`` for two classes, ``classes_[argmax f]`` otherwise,
as ``predict``) and the scores in place of probabilities: the decision function, ``(-f, f)``
for two classes (skl2onnx's convention for classifiers without probabilities) and the C
one-vs-all outputs otherwise.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .onnx_export import GraphBuilder, export_layers

__all__ = ["shape_calculator", "converter", "OP_VERSION"]

#: the operators' opset (Split and TopK take their sizes as inputs from opset 13 on)
OP_VERSION = 13


class _ContainerBuilder(GraphBuilder):
    """:class:`GraphBuilder` writing into skl2onnx's scope and container."""

    def __init__(self, scope: Any, container: Any, dtype: Any = np.float64) -> None:
        super().__init__(dtype)
        self.scope, self.container = scope, container

    def name(self, hint: str) -> str:
        return self.scope.get_unique_variable_name(hint)

    def const(self, hint: str, value: Any, dtype: Any = None) -> str:
        arr = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        name = self.name(hint)
        if arr.dtype.kind in "OU":
            elem = self.helper.np_dtype_to_tensor_dtype(np.dtype(object))
            values = [str(v).encode() for v in arr.reshape(-1)]
        else:
            elem = self.helper.np_dtype_to_tensor_dtype(arr.dtype)
            values = arr.reshape(-1).tolist()
        self.container.add_initializer(name, elem, list(arr.shape), values)
        return name

    def node(self, op: str, inputs: list, n_out: int = 1, **attrs: Any) -> list:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.container.add_node(op, inputs, outs, name=self.scope.get_unique_operator_name(op),
                                op_version=OP_VERSION, **attrs)
        return outs


def shape_calculator(operator: Any) -> None:
    """skl2onnx's classifier outputs: labels (N,) and scores (N, C), C = 2 for two classes."""
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes

    calculate_linear_classifier_output_shapes(operator)


def converter(scope: Any, operator: Any, container: Any) -> None:
    """Write the fitted classifier ``operator.raw_operator`` (``model_``, ``classes_``)."""
    from onnx import TensorProto

    clf = operator.raw_operator
    b = _ContainerBuilder(scope, container)
    x = b.node("Cast", [operator.inputs[0].full_name], to=TensorProto.DOUBLE)[0]
    f = export_layers(b, clf.model_, x)
    classes = np.asarray(clf.classes_)
    classes = classes.astype(np.int64) if classes.dtype.kind in "iub" else classes.astype(str)
    table = b.const("classes", classes, classes.dtype)
    if len(classes) == 2:
        index = b.node("Cast", [b.node("Greater", [f, b.const("zero", 0.0)])[0]],
                       to=TensorProto.INT64)[0]
        index = b.node("Reshape", [index, b.const("flat", [-1], np.int64)])[0]
        scores = b.node("Concat", [b.node("Neg", [f])[0], f], axis=1)[0]
    else:
        index = b.node("ArgMax", [f], axis=1, keepdims=0)[0]
        scores = f
    label, probabilities = operator.outputs[0].full_name, operator.outputs[1].full_name
    container.add_node("Gather", [table, index], [label], axis=0,
                       name=scope.get_unique_operator_name("Gather"))
    elem = operator.outputs[1].type.to_onnx_type().tensor_type.elem_type
    container.add_node("Cast", [scores], [probabilities], to=elem,
                       name=scope.get_unique_operator_name("Cast"))
