"""ONNX export and import of the networks: otreg -> ONNX -> onnxruntime -> otreg on every layer
type (values against otreg's own evaluation, gradients of the imported graph against otreg's
back-propagation through the original model), and the refusal of files that are not ONNX
networks otreg can read."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from otreg import Problem, hkr_transport
from otreg.data.toys import two_moons
from otreg.errors import InputError
from otreg.metrics import relative_gap
from otreg.nn import Householder, SLLLayer, fit, from_onnx, lipschitz_mlp, to_onnx
from otreg.nn.cones import ConeNetwork
from otreg.nn.onnx import OnnxModel
from otreg.potential import as_potential
from otreg.verify.optimality import lipschitz_estimate

SHIFT, SCALE = np.array([0.7, -1.3, 0.2]), 2.5


def _network(kind):
    """A 3-input network with layer type ``kind``, random non-zero biases and angles, and
    input units (shift, scale) that are not the identity."""
    opts = dict(width=8, depth=2, seed=3, shift=SHIFT, scale=SCALE, bias_spread=0.5)
    rng = np.random.default_rng(5)
    if kind in ("cpl", "sll"):
        model = lipschitz_mlp(3, residual=kind, residual_options={"hidden": 6}, **opts)
        for layer in model.layers:
            if isinstance(layer, SLLLayer):
                layer.log_q.data = rng.normal(0, 0.5, layer.hidden)
    elif kind in ("cayley", "exp"):
        model = lipschitz_mlp(3, parametrization=kind, **opts)
    elif kind == "multi-output":
        model = lipschitz_mlp(3, out_dim=4, **opts)
    else:
        model = lipschitz_mlp(3, activation=kind, **opts)
    for layer in model.layers:
        if isinstance(layer, Householder):
            layer.theta.data = rng.uniform(-np.pi, np.pi, layer.theta.data.shape)
    return model


KINDS = ["groupsort", "groupsort4", "groupsort8", "fullsort", "relu", "householder", "cayley",
         "exp", "cpl", "sll", "multi-output"]


def _relerr(a, b):
    """max |a - b| / max |b|: the error relative to the size of the values."""
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


@pytest.fixture(scope="module")
def points():
    return SHIFT + SCALE * np.random.default_rng(0).normal(size=(300, 3))


@pytest.mark.parametrize("frozen", [True, False], ids=["frozen", "training-time"])
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_every_layer_type(kind, frozen, points):
    model = _network(kind)
    if frozen:
        model.freeze()
    data = to_onnx(model)
    want = model.predict(points)
    # onnxruntime evaluates the exported graph like otreg
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": points})[0]
    assert got.shape == (len(points), model.out_dim)
    assert _relerr(got.reshape(want.shape), want) <= 1e-6
    # imported: values, and gradients by back-propagation through the graph's operators
    imported = from_onnx(data)
    assert (imported.in_dim, imported.out_dim) == (3, model.out_dim)
    assert _relerr(imported.predict(points), want) <= 1e-6
    for output in range(model.out_dim):
        g = imported.grad(points, output)
        assert _relerr(g, model.grad(points, output)) <= 1e-6
    # the gradient is the graph's: central differences of the imported values agree
    h, e = 1e-6, np.eye(3)[1]
    fd = (imported.predict(points + h * e) - imported.predict(points - h * e)) / (2 * h)
    fd = fd if fd.ndim == 1 else fd[:, 0]
    assert np.median(np.abs(fd - imported.grad(points)[:, 1])) <= 1e-6


def test_cone_model_round_trip():
    """fit's default model (the network with distance cones at the samples) exports as such:
    onnxruntime and the imported graph give its values, the imported gradients equal its
    gradients, at random points and at the samples themselves (the cones' apexes)."""
    x_pos, x_neg = two_moons(60, seed=3)
    model = fit(x_pos, x_neg, progress=False, steps=100, cone_steps=200).model
    assert isinstance(model, ConeNetwork)
    pts = np.vstack([np.random.default_rng(1).normal(size=(300, 2)), x_pos, x_neg])
    want = model.predict(pts)
    data = to_onnx(model)
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    assert _relerr(session.run(None, {"x": pts})[0][:, 0], want) <= 1e-6
    imported = from_onnx(data)
    assert _relerr(imported.predict(pts), want) <= 1e-6
    assert _relerr(imported.grad(pts), model.grad(pts)) <= 1e-6
    # the cones are active somewhere: the network alone differs from the model
    assert _relerr(model.network_values(pts), want) > 1e-3


def test_float32_export_and_file(tmp_path, points):
    model = _network("groupsort").freeze()
    path = tmp_path / "net.onnx"
    data = to_onnx(model, path, dtype=np.float32)
    assert path.read_bytes() == data
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"x": points.astype(np.float32)})[0][:, 0]
    assert _relerr(got, model.predict(points)) <= 1e-5  # single precision
    imported = from_onnx(path)  # computes in float64 from the rounded weights
    assert _relerr(imported.predict(points), model.predict(points)) <= 1e-5
    assert isinstance(imported, OnnxModel) and imported.where == str(path)


def _graph(nodes, inits=(), shape=("n", 2)):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE,
                                                                         list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["n", "k"])],
                              list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_bad_files_raise_input_error(tmp_path):
    good = to_onnx(_network("groupsort").freeze())
    cases = {"random.onnx": np.random.default_rng(0).bytes(3000),
             "truncated.onnx": good[: len(good) // 2],
             "empty.onnx": b"",
             "text.onnx": b"x,y\n1,2\n"}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InputError, match=name):
            from_onnx(path)
    with pytest.raises(InputError, match="not found"):
        from_onnx(tmp_path / "missing.onnx")
    # a graph outside the supported operators: refused before anything runs, naming the op
    path = tmp_path / "sigmoid.onnx"
    path.write_bytes(_graph([helper.make_node("Sigmoid", ["x"], ["y"])]).SerializeToString())
    with pytest.raises(InputError, match=r"sigmoid\.onnx.*'Sigmoid'"):
        from_onnx(path)
    # weights in an external file are never read
    w = onnx.numpy_helper.from_array(np.ones((2, 1)), "w")
    onnx.external_data_helper.set_external_data(w, location="../../etc/passwd")
    w.ClearField("raw_data")
    model = _graph([helper.make_node("MatMul", ["x", "w"], ["y"])], [w])
    with pytest.raises(InputError, match="external data"):
        OnnxModel(model)
    with pytest.raises(InputError, match="external data"):
        from_onnx(model.SerializeToString())
    with pytest.raises(InputError, match="feature sizes"):
        OnnxModel(_graph([helper.make_node("Relu", ["x"], ["y"])], shape=("n", "d")))


def test_interpreter_ops_against_numpy():
    """Operators that otreg's export does not emit but other exporters do, against NumPy."""
    i64 = lambda name, v: helper.make_tensor(name, TensorProto.INT64, [len(v)], v)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "scalar_zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "zero"], ["n1"]),
        helper.make_node("Concat", ["n1", "two_two"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["r"]),        # (n, 2, 2)
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
        helper.make_node("ReduceMax", ["t"], ["m"], axes=[2], keepdims=0),
        helper.make_node("Flatten", ["t"], ["f"], axis=1),
        helper.make_node("Slice", ["f", "one", "four", "one"], ["sl"]),
        helper.make_node("Abs", ["sl"], ["a"]),
        helper.make_node("Neg", ["a"], ["na"]),
        helper.make_node("Concat", ["na", "m"], ["y"], axis=1),
    ]
    inits = [helper.make_tensor("scalar_zero", TensorProto.INT64, [], [0]), i64("zero", [0]),
             i64("two_two", [2, 2]), i64("one", [1]), i64("four", [4])]
    model = OnnxModel(_graph(nodes, inits, shape=("n", 4)))
    x = np.random.default_rng(1).normal(size=(7, 4))
    t = x.reshape(7, 2, 2).transpose(0, 2, 1)
    want = np.concatenate([-np.abs(t.reshape(7, 4)[:, 1:4]), t.max(axis=2)], axis=1)
    got = model.predict(x)
    np.testing.assert_allclose(got, want, rtol=1e-15)
    session = ort.InferenceSession(_graph(nodes, inits, shape=("n", 4)).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"x": x})[0], want, rtol=1e-15)
    # the gradient of output 3 (the max of x[:, 0] and x[:, 2]) goes to the larger entry
    g = model.grad(x, 3)
    np.testing.assert_array_equal(g[:, 0], (x[:, 0] > x[:, 2]).astype(float))
    np.testing.assert_array_equal(g[:, [1, 3]], 0.0)


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.mark.parametrize("name", ["torchlip_moons.onnx", "torchlip_moons_dynamo.onnx"])
def test_pytorch_exports_reproduce_pytorch(name):
    """A deel-torchlip network written by each of PyTorch's exporters
    (benchmarks/make_torchlip_onnx.py): otreg reproduces PyTorch's values and input
    gradients, and onnxruntime's values, without torch."""
    ref = np.load(os.path.join(DATA, "torchlip_moons.npz"))  # no pickle
    model = from_onnx(os.path.join(DATA, name))
    points = ref["points"]
    # 3e-16 for the TorchScript exporter; 2e-8 for torch.export's, whose file holds the
    # units' scale rounded to single precision (onnxruntime computes the same)
    assert _relerr(model.predict(points), ref["f"]) <= 1e-6
    assert _relerr(model.grad(points), ref["grad"]) <= 1e-6
    session = ort.InferenceSession(os.path.join(DATA, name), providers=["CPUExecutionProvider"])
    assert _relerr(session.run(None, {"x": points})[0][:, 0], model.predict(points)) <= 1e-12


def test_torchlip_network_against_the_exact_optimum():
    """The imported deel-torchlip network is 1-Lipschitz and within 1 % of the optimum."""
    ref = np.load(os.path.join(DATA, "torchlip_moons.npz"))
    model = from_onnx(os.path.join(DATA, "torchlip_moons.onnx"))
    problem = Problem(*two_moons(int(ref["n"]), seed=int(ref["seed"])), lam=float(ref["lam"]),
                      margin=float(ref["margin"]))
    # slopes on sample pairs and random pairs, and gradient norms, at most 1 (torchlip's
    # exported weights are orthonormalised); GroupSort keeps |grad f| = 1
    lip = lipschitz_estimate(as_potential(model), problem)
    assert max(lip["pairs"], lip["grad"]) <= 1 + 1e-6
    assert np.median(np.linalg.norm(ref["grad"], axis=1)) >= 0.999
    # no 1-Lipschitz function beats the exact optimum; this one is within 1 % of it
    exact = hkr_transport(problem).loss
    loss = problem.loss(model.predict(problem.x_pos), model.predict(problem.x_neg))
    assert -1e-9 <= relative_gap(loss, exact, problem.margin) <= 0.01


def test_missing_onnx_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    with pytest.raises(ImportError, match=r"otreg\[onnx\]"):
        to_onnx(_network("relu"))
    with pytest.raises(ImportError, match=r"otreg\[onnx\]"):
        from_onnx(b"")
