"""Layers and activations of the deep networks: warm-started Björck, the fused dense chain,
GroupSort-4/8, Householder activations, model units, flat Adam.  Every layer: Lipschitz bound
on random pairs (ratio <= 1 + 1e-6), gradient norm <= 1, gradients against finite
differences."""
import numpy as np
import pytest

from otreg.errors import InputError
from otreg.nn import (Adam, Householder, LipschitzDense, Sequential, Tensor, dense_chain,
                      lipschitz_mlp, load_model, no_grad, orthonormal, save_model, warm_bjorck)
from otreg.nn.activations import KERNELS, groupsort4, groupsort8

from nn_gradcheck import check_grads, pair_ratios

rng = np.random.default_rng(11)


# ---------------------------------------------------------------------- activations
@pytest.mark.parametrize("act,k", [(groupsort4, 4), (groupsort8, 8)])
def test_groupsort_k_sorts_strided_groups_and_gradients(act, k):
    x = rng.standard_normal((5, 16))
    out = act(Tensor(x)).data
    groups = x.reshape(5, k, 16 // k)
    np.testing.assert_array_equal(out.reshape(5, k, 16 // k), -np.sort(-groups, axis=1))
    check_grads(act, x)
    # a permutation of each row: norm-preserving, 1-Lipschitz (ratio exactly <= 1)
    assert pair_ratios(lambda a: act(Tensor(a)).data, 16).max() <= 1 + 1e-12
    with pytest.raises(InputError, match="^x"):
        act(Tensor(np.ones((2, 6))))


def test_householder_values_gradients_and_lipschitz():
    h = Householder(8)
    x = rng.standard_normal((6, 8))
    # starts as GroupSort-2
    gs2 = KERNELS["groupsort2"](x)[0]
    np.testing.assert_allclose(h(Tensor(x)).data, gs2, atol=1e-15)
    h.theta.data = rng.uniform(-np.pi, np.pi, 4)

    def fn(xt, theta):
        h.theta = theta
        return h(xt)

    check_grads(fn, x, h.theta.data.copy())
    h.theta = Tensor(h.theta.data, requires_grad=True)
    ratios = pair_ratios(h.numpy, 8)
    assert ratios.max() <= 1 + 1e-6
    # Jacobian orthogonal: the input gradient of sum(out * g) has the norm of g
    xt = Tensor(x, requires_grad=True)
    g = rng.standard_normal(x.shape)
    (h(xt) * g).sum().backward()
    np.testing.assert_allclose(np.linalg.norm(xt.grad, axis=1), np.linalg.norm(g, axis=1),
                               rtol=1e-12)
    with pytest.raises(InputError, match="^units"):
        Householder(5)


# ---------------------------------------------------------------------- warm Björck
@pytest.mark.parametrize("shape", [(6, 6), (2, 6), (6, 1)])
def test_warm_bjorck_gradient_is_the_tangent_projection(shape):
    q = orthonormal(*shape, rng)
    w = q + 0.01 * rng.standard_normal(shape)
    check_grads(lambda t: warm_bjorck(t, 2), w, rtol=1e-5, atol=1e-8)
    # at an exactly orthonormal point one step's Jacobian projects onto the tangent space
    t = Tensor(q, requires_grad=True)
    g = rng.standard_normal(shape)
    (warm_bjorck(t, 1) * g).sum().backward()
    if shape[0] <= shape[1]:  # orthonormal rows: tangent = {D : D Q^T + Q D^T = 0}
        sym = g @ q.T
        expected = g - 0.5 * (sym + sym.T) @ q
    else:
        sym = q.T @ g
        expected = g - 0.5 * q @ (sym + sym.T)
    np.testing.assert_allclose(t.grad, expected, atol=1e-12)


def test_warm_bjorck_never_above_norm_one_and_falls_back_when_far():
    for s_max in (0.95, 1.0, 1.06):  # ||W W^T - I||_F < 0.5: the warm path
        u, _, vt = np.linalg.svd(rng.standard_normal((8, 8)))
        s = np.linspace(0.93, s_max, 8)
        w = (u * s) @ vt
        out = warm_bjorck(Tensor(w), 1)
        assert out is not None
        assert np.linalg.norm(out.data, 2) <= 1 + 1e-14
    assert warm_bjorck(Tensor(3 * orthonormal(8, 8, rng)), 2) is None


def test_warm_layer_re_anchors_and_stays_orthonormal_over_steps():
    layer = LipschitzDense(16, 16, rng=np.random.default_rng(1), bjorck_iters=2,
                           warm_start=True)
    x = rng.standard_normal((32, 16))
    opt = Adam(layer.parameters(), lr=1e-2)
    for _ in range(300):
        out = layer(Tensor(x))
        (out * out).sum().backward()
        opt.step()
        opt.zero_grad()
        layer.after_step()
    s = np.linalg.svd(layer.effective_weight(), compute_uv=False)
    assert s.max() <= 1 + 1e-12 and s.min() > 1 - 1e-3
    # the raw weight itself stays near orthonormal (warm start)
    s_raw = np.linalg.svd(layer.weight.data, compute_uv=False)
    assert np.abs(s_raw - 1).max() < 0.05
    layer.freeze()
    np.testing.assert_allclose(np.linalg.svd(layer.frozen, compute_uv=False), 1, atol=1e-12)


# ---------------------------------------------------------------------- fused chain
@pytest.mark.parametrize("activation", ["groupsort", "groupsort4", "fullsort", "relu"])
def test_dense_chain_equals_the_op_by_op_graph(activation):
    model = lipschitz_mlp(3, width=8, depth=3, activation=activation, seed=2, warm_start=True,
                          bjorck_iters=2)
    assert model._chain is not None
    x = rng.standard_normal((10, 3))
    g = rng.standard_normal((10, 1))
    grads = []
    for fused in (True, False):
        for p in model.parameters():
            p.grad = None
        xt = Tensor(x, requires_grad=True)
        out = model.core(xt, fused=fused)
        (out * g).sum().backward()
        grads.append((out.data, xt.grad, [p.grad for p in model.parameters()]))
    (o1, x1, p1), (o2, x2, p2) = grads
    np.testing.assert_allclose(o1, o2, atol=1e-14)
    np.testing.assert_allclose(x1, x2, atol=1e-14)
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(a, b, atol=1e-13)


def test_dense_chain_finite_differences():
    ws = [orthonormal(2, 6, rng) + 0.1 * rng.standard_normal((2, 6)),
          rng.standard_normal((6, 6)), rng.standard_normal((6, 1))]
    bs = [rng.standard_normal(6), rng.standard_normal(6), rng.standard_normal(1)]
    x = rng.standard_normal((5, 2))

    def fn(xt, w0, w1, w2, b0, b1, b2):
        return dense_chain(xt, [w0, w1, w2], [b0, b1, b2], ["groupsort2", "groupsort2", None])

    check_grads(fn, x, *ws, *bs)


@pytest.mark.parametrize("acts", [["groupsort2", "groupsort2", None],
                                  ["fullsort", "groupsort4", None]])
def test_dense_chain_in_single_precision_matches_double(acts):
    """dtype=float32: same values and gradients as float64 to single-precision rounding
    (relative 1e-5 of the values' and gradients' scale), handed back as float64."""
    ws = [rng.standard_normal((3, 8)), rng.standard_normal((8, 8)), rng.standard_normal((8, 1))]
    bs = [rng.standard_normal(8), rng.standard_normal(8), rng.standard_normal(1)]
    x = rng.standard_normal((40, 3))
    out = {}
    for dt in (np.float64, np.float32):
        xt = Tensor(x, requires_grad=True)
        wt = [Tensor(w, requires_grad=True) for w in ws]
        bt = [Tensor(b, requires_grad=True) for b in bs]
        y = dense_chain(xt, wt, bt, acts, dtype=dt)
        (y * y).sum().backward()
        out[dt] = [y.data, xt.grad] + [t.grad for t in wt + bt]
    for a, b in zip(out[np.float64], out[np.float32]):
        assert b.dtype == np.float64
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.abs(a).max())
    assert any(np.any(a != b) for a, b in zip(out[np.float64], out[np.float32]))  # rounded
    with pytest.raises(InputError, match="^dtype"):
        dense_chain(Tensor(x), ws, bs, acts, dtype=np.int64)


# ---------------------------------------------------------------------- units
def test_model_units_keep_1_lipschitz_and_round_trip(tmp_path):
    model = lipschitz_mlp(2, width=8, depth=2, seed=3, shift=[5.0, -2.0], scale=1e-3)
    for layer in model.dense_layers:
        layer.weight.data += 0.3 * rng.standard_normal(layer.weight.data.shape)
    model.freeze()
    x = 5.0 + 1e-3 * rng.standard_normal((50, 2))
    base = lipschitz_mlp(2, width=8, depth=2, seed=3)
    for lb, lm in zip(base.dense_layers, model.dense_layers):
        lb.weight.data, lb.bias.data = lm.weight.data, lm.bias.data
    base.freeze()
    # f(x) = s g((x - c) / s)
    np.testing.assert_allclose(model.predict(x),
                               1e-3 * base.predict((x - [5.0, -2.0]) / 1e-3), rtol=1e-12)
    np.testing.assert_allclose(model.grad(x), base.grad((x - [5.0, -2.0]) / 1e-3), atol=1e-12)
    ratios = pair_ratios(lambda a: model.predict(5.0 + 1e-3 * a), 2)
    assert ratios.max() <= 1e-3 * (1 + 1e-6)  # f(5 + 1e-3 a) has constant 1e-3 in a
    with no_grad():
        np.testing.assert_allclose(model(Tensor(x)).data[:, 0], model.predict(x), rtol=1e-12)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.config() == model.config()
    # a configuration without units (older files) loads with shift 0 and scale 1
    cfg = model.config()
    del cfg["shift"], cfg["scale"]
    assert Sequential.from_config(cfg).scale == 1.0
    with pytest.raises(InputError, match="^scale"):
        model.set_units(None, 0.0)
    with pytest.raises(InputError, match="^shift"):
        model.set_units([1.0], 1.0)


def test_householder_model_save_load_and_lipschitz(tmp_path):
    model = lipschitz_mlp(2, width=8, depth=3, activation="householder", seed=1)
    for p in model.parameters():
        p.data = p.data + 0.3 * rng.standard_normal(p.data.shape)
    model.freeze()
    assert model._chain is None  # parametrised activations take the op-by-op path
    assert pair_ratios(model.predict, 2).max() <= 1 + 1e-6
    assert np.linalg.norm(model.grad(rng.standard_normal((200, 2))), axis=1).max() <= 1 + 1e-9
    save_model(model, tmp_path / "h.npz")
    loaded = load_model(tmp_path / "h.npz")
    x = rng.standard_normal((20, 2))
    assert np.array_equal(loaded.predict(x), model.predict(x))


# ---------------------------------------------------------------------- Adam
def test_flat_adam_equals_per_parameter_reference():
    shapes = [(3, 4), (4,), (4, 1)]
    params = [Tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    ref = [p.data.copy() for p in params]
    m = [np.zeros(s) for s in shapes]
    v = [np.zeros(s) for s in shapes]
    opt = Adam(params, lr=0.01, betas=(0.9, 0.99))
    for t in range(1, 6):
        grads = [rng.standard_normal(s) for s in shapes]
        for p, g in zip(params, grads):
            p.grad = g
        opt.step()
        for k, g in enumerate(grads):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.99 * v[k] + 0.01 * g * g
            ref[k] = ref[k] - 0.01 / (1 - 0.9 ** t) * m[k] / (np.sqrt(v[k] / (1 - 0.99 ** t))
                                                              + 1e-8)
    for p, r in zip(params, ref):
        np.testing.assert_allclose(p.data, r, rtol=1e-12, atol=1e-15)
    with pytest.raises(InputError, match="^betas"):
        Adam(params, betas=(1.0, 0.9))


def test_otreg_never_imports_the_benchmark_only_frameworks():
    """jax and autograd are benchmark-only extras (pyproject `bench`): no module of the
    package imports them."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2] / "otreg"
    pattern = re.compile(r"^\s*(import|from)\s+(jax|autograd|torch)\b", re.M)
    offenders = [str(p) for p in root.rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []
