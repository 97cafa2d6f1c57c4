"""1-Lipschitz layers and activations: gradients, orthonormality, Lipschitz bounds."""
import numpy as np
import pytest

from otreg.errors import InputError
from otreg.nn import (Activation, LipschitzDense, Sequential, Tensor, bjorck, bjorck_numpy,
                      fullsort, groupsort2, lipschitz_mlp, no_grad, orthonormal, relu)

from nn_gradcheck import check_grads, numeric_grads

rng = np.random.default_rng(7)


def test_groupsort2_values_and_gradient():
    x = rng.standard_normal((4, 6))
    out = groupsort2(Tensor(x)).data
    a, b = x[:, :3], x[:, 3:]
    assert np.array_equal(out, np.concatenate([np.maximum(a, b), np.minimum(a, b)], axis=1))
    # a permutation of each row: the sorted rows agree
    assert np.array_equal(np.sort(out, axis=1), np.sort(x, axis=1))
    check_grads(groupsort2, x)
    with pytest.raises(InputError):
        groupsort2(Tensor(np.ones((2, 3))))


def test_fullsort_and_relu_gradients():
    x = rng.standard_normal((3, 5))
    check_grads(fullsort, x)
    check_grads(relu, x)


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4), (6, 1), (1, 6)])
def test_bjorck_gradient_and_unfused_equivalence(shape):
    w = rng.standard_normal(shape)
    w = w / np.linalg.norm(w, 2) * 0.9
    check_grads(lambda t: bjorck(t, 15), w, rtol=1e-5, atol=1e-7)
    # fused op == the same iteration written with generic Tensor ops (autodiff through it)
    t1, t2 = Tensor(w, requires_grad=True), Tensor(w, requires_grad=True)
    g = rng.standard_normal(shape)
    out1 = bjorck(t1, 15)
    cur = t2
    for _ in range(15):
        cur = 1.5 * cur - 0.5 * (cur @ (cur.T @ cur))
    (out1 * g).sum().backward()
    (cur * g).sum().backward()
    np.testing.assert_allclose(out1.data, cur.data, atol=1e-12)
    np.testing.assert_allclose(t1.grad, t2.grad, rtol=1e-9, atol=1e-11)


def test_bjorck_converges_to_polar_factor():
    w = rng.standard_normal((8, 5))
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    out = bjorck_numpy(w / s[0], 15, tol=1e-14)
    np.testing.assert_allclose(out, u @ vt, atol=1e-12)
    np.testing.assert_allclose(out.T @ out, np.eye(5), atol=1e-13)


def test_orthonormal_init():
    for n_in, n_out in [(2, 64), (64, 64), (64, 1)]:
        w = orthonormal(n_in, n_out, rng)
        s = np.linalg.svd(w, compute_uv=False)
        np.testing.assert_allclose(s, 1.0, atol=1e-12)


def test_dense_layer_gradients_through_reparametrisation():
    layer = LipschitzDense(3, 4, rng=np.random.default_rng(1))
    layer.weight.data = layer.weight.data + 0.3 * rng.standard_normal((3, 4))
    x = rng.standard_normal((5, 3))
    xt = Tensor(x, requires_grad=True)
    out = layer(xt)
    g = rng.standard_normal(out.shape)
    (out * g).sum().backward()
    # the power-iteration vector advanced once; the finite differences use the state reached
    # after that update, so reset and recompute with the no-update path for comparison
    w0, b0 = layer.weight.data.copy(), layer.bias.data.copy()

    def f_of(w, b, xx):
        layer.weight.data, layer.bias.data = w, b
        with no_grad():  # no power-iteration update, same u as the graph used
            val = float(np.sum(layer(Tensor(xx)).data * g))
        return val

    gw, gb, gx = numeric_grads(f_of, [w0, b0, x])
    layer.weight.data, layer.bias.data = w0, b0
    np.testing.assert_allclose(layer.weight.grad, gw, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(layer.bias.grad, gb, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(xt.grad, gx, rtol=1e-6, atol=1e-8)


def test_power_iteration_vector_persists_only_on_training_steps():
    layer = LipschitzDense(6, 6, rng=np.random.default_rng(2))
    layer.weight.data = rng.standard_normal((6, 6))
    u0 = layer.u.copy()
    with no_grad():
        layer(Tensor(np.ones((1, 6))))
    assert np.array_equal(layer.u, u0)
    layer(Tensor(np.ones((1, 6))))
    assert not np.array_equal(layer.u, u0)
    for _ in range(200):
        layer(Tensor(np.ones((1, 6))))
    # converged to the top left singular vector
    u_svd = np.linalg.svd(layer.weight.data)[0][:, 0]
    assert abs(abs(u_svd @ layer.u) - 1) < 1e-8


@pytest.mark.parametrize("scale", [0.05, 1.0, 30.0])
def test_dense_weight_is_orthonormal_for_any_raw_scale(scale):
    layer = LipschitzDense(64, 64, rng=np.random.default_rng(3))
    layer.weight.data = scale * (layer.weight.data + 0.2 * rng.standard_normal((64, 64)))
    w = layer.effective_weight()
    s = np.linalg.svd(w, compute_uv=False)
    assert s.max() <= 1 + 1e-3 and s.min() > 0.5  # smallest values may not converge in 15
    layer.freeze()
    s = np.linalg.svd(layer.frozen, compute_uv=False)
    assert s.max() <= 1 + 1e-12 and s.min() >= 1 - 1e-10


def test_sequential_grad_matches_finite_differences():
    model = lipschitz_mlp(2, width=8, depth=2, seed=3)
    for l in model.dense_layers:
        l.weight.data += 0.3 * rng.standard_normal(l.weight.data.shape)
    for mode in ("train", "frozen"):
        if mode == "frozen":
            model.freeze()
        x = rng.standard_normal((6, 2))
        g = model.grad(x)
        h = 1e-6
        num = np.zeros_like(x)
        for k in range(2):
            e = np.zeros(2)
            e[k] = h
            num[:, k] = (model.predict(x + e) - model.predict(x - e)) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-6, atol=1e-8)
        # predict (NumPy path) equals the Tensor forward
        with no_grad():
            np.testing.assert_allclose(model(Tensor(x)).data[:, 0], model.predict(x), atol=1e-14)
    # grad() must not touch parameter gradients
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("activation", ["groupsort", "groupsort4", "groupsort8", "householder",
                                        "fullsort", "relu"])
def test_random_network_is_1_lipschitz(activation):
    model = lipschitz_mlp(3, width=16, depth=3, activation=activation, seed=5)
    for l in model.dense_layers:
        l.weight.data += 0.5 * rng.standard_normal(l.weight.data.shape)
    model.freeze()
    u = rng.standard_normal((3000, 3)) * 2
    v = u + rng.standard_normal((3000, 3)) * rng.choice([1e-3, 0.1, 2.0], (3000, 1))
    ratio = np.abs(model.predict(u) - model.predict(v)) / np.linalg.norm(u - v, axis=1)
    assert ratio.max() <= 1 + 1e-9
    assert max(model.spectral_norms()) <= 1 + 1e-12
    gn = np.linalg.norm(model.grad(u), axis=1)
    assert gn.max() <= 1 + 1e-9


def test_groupsort_network_gradient_norm_is_one_at_init():
    """Orthonormal square layers + GroupSort keep the gradient norm: |grad f| = 1 exactly
    when the first layer is square too (no projection loss)."""
    model = lipschitz_mlp(4, width=4, depth=3, activation="groupsort", seed=1)
    model.freeze()
    gn = np.linalg.norm(model.grad(rng.standard_normal((200, 4))), axis=1)
    # 4 -> 4 -> 4 -> 4 -> 1: backward of the last layer gives a unit vector, every later
    # layer is an isometry and GroupSort a permutation
    np.testing.assert_allclose(gn, 1.0, atol=1e-12)
    relu_model = lipschitz_mlp(4, width=4, depth=3, activation="relu", seed=1).freeze()
    gr = np.linalg.norm(relu_model.grad(rng.standard_normal((200, 4))), axis=1)
    assert np.mean(gr < 1 - 1e-6) > 0.5


def test_mlp_validation_and_multi_output():
    with pytest.raises(InputError, match="^activation"):
        lipschitz_mlp(2, activation="tanh")
    with pytest.raises(InputError, match="^width"):
        lipschitz_mlp(2, width=7)
    with pytest.raises(InputError, match="^depth"):
        lipschitz_mlp(2, depth=-1)
    with pytest.raises(InputError, match="^n_in"):
        LipschitzDense(0, 3)
    m = lipschitz_mlp(2, width=8, depth=1, out_dim=3)
    assert m.predict(np.zeros((5, 2))).shape == (5, 3)
    assert m.grad(np.zeros((5, 2)), output=2).shape == (5, 2)
    with pytest.raises(InputError, match="^output"):
        m.grad(np.zeros((5, 2)), output=3)
    with pytest.raises(InputError, match="^points"):
        m.predict(np.zeros((5, 3)))
    with pytest.raises(InputError, match="^points"):
        m.predict(np.array([[np.nan, 0.0]]))
    with pytest.raises(InputError, match="^layers"):
        Sequential([Activation("relu")])


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_fused_spectral_bjorck_equals_composition(shape):
    from otreg.nn.layers import spectral_bjorck

    w = rng.standard_normal(shape)
    svd_u, _, svd_vt = np.linalg.svd(w)
    u = svd_u[:, 0] + 0.01 * rng.standard_normal(shape[0])  # a near-converged power iterate
    u /= np.linalg.norm(u)
    v = w.T @ u
    v /= np.linalg.norm(v)
    g = rng.standard_normal(shape)
    t1, t2 = Tensor(w, requires_grad=True), Tensor(w, requires_grad=True)
    out1 = spectral_bjorck(t1, u, v, 15)
    out2 = bjorck(t2 / (t2 * np.outer(u, v)).sum(), 15)
    (out1 * g).sum().backward()
    (out2 * g).sum().backward()
    np.testing.assert_allclose(out1.data, out2.data, atol=1e-13)
    np.testing.assert_allclose(t1.grad, t2.grad, rtol=1e-10, atol=1e-12)
    check_grads(lambda t: spectral_bjorck(t, u, v, 15), w, rtol=1e-5, atol=1e-7)
