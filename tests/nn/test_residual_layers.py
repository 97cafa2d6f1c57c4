"""Residual layers (convex potential, SLL) and the Cayley / exponential parametrisations of the
dense layers: every op against finite differences (input and parameters), the
Lipschitz bound on random pairs (ratio <= 1 + 1e-6) and |grad| <= 1 for each layer and for
whole networks, save/load round trips, bad options."""
import numpy as np
import pytest
import scipy.linalg

from otreg.errors import InputError
from otreg.nn import (ConvexPotentialLayer, LipschitzDense, SLLLayer, Sequential, Tensor, fit,
                      lipschitz_mlp, load_model, no_grad, save_model)
from otreg.nn.orthogonal import cayley, cayley_numpy, skew_expm, skew_expm_numpy
from otreg.nn.residual import cpl, sll, sll_t

from nn_gradcheck import check_grads, pair_ratios

rng = np.random.default_rng(29)


def perturbed(layer, scale=0.5, seed=0):
    """The layer with every parameter moved randomly (away from the symmetric start)."""
    r = np.random.default_rng(seed)
    for p in layer.parameters():
        p.data = p.data + scale * r.standard_normal(p.data.shape)
    return layer


def jacobian_norms(fn, x):
    """Spectral norm of the Jacobian of the row map ``fn`` (R^n -> R^m) at each row of x."""
    xt = Tensor(x, requires_grad=True)
    out = fn(xt)
    jac = []
    for j in range(out.shape[1]):
        xt.grad = None
        xt2 = Tensor(x, requires_grad=True)
        fn(xt2)[:, j].sum().backward()
        jac.append(xt2.grad)
    jac = np.stack(jac, axis=1)  # (k, m, n)
    return np.linalg.norm(jac, ord=2, axis=(1, 2))


# ---------------------------------------------------------------------- the ops
def test_cpl_op_finite_differences_with_the_power_estimate():
    x = rng.standard_normal((6, 4))
    w0 = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    u = rng.standard_normal(4)
    v = rng.standard_normal(5)
    u, v = u / np.linalg.norm(u), v / np.linalg.norm(v)

    def fn(xt, w, bt):  # sigma = u^T W v follows W (u, v held constant)
        return cpl(xt, w, bt, float(u @ w.data @ v), np.outer(u, v))

    check_grads(fn, x, w0, b)

    def exact(xt, w, bt):  # the exact top singular value (exact_norm=True) follows W
        u_s, s, vt = np.linalg.svd(w.data)
        return cpl(xt, w, bt, float(s[0]), np.outer(u_s[:, 0], vt[0]))

    check_grads(exact, x, w0, b)
    # frozen: sigma a constant
    check_grads(lambda xt, w, bt: cpl(xt, w, bt, 1.7), x, w0, b)


def test_sll_op_finite_differences_and_t():
    x = rng.standard_normal((6, 4))
    w0 = rng.standard_normal((4, 5))
    b = rng.standard_normal(5)
    p = 0.5 * rng.standard_normal(5)
    check_grads(sll, x, w0, b, p)
    q = np.exp(p)
    expected = np.array([sum(abs(w0[:, i] @ w0[:, j]) * q[j] / q[i] for j in range(5))
                         for i in range(5)])
    np.testing.assert_allclose(sll_t(w0, p), expected, rtol=1e-13)
    # frozen t: gradients for x, W, b only (t constant)
    check_grads(lambda xt, w, bt: sll(xt, w, bt, Tensor(p), sll_t(w0, p)), x, w0, b)


@pytest.mark.parametrize("n_in,n_out", [(5, 5), (2, 5), (5, 1)])
def test_cayley_and_expm_values_orthonormal_and_gradients(n_in, n_out):
    size = max(n_in, n_out)
    m = 0.4 * rng.standard_normal((size, size))
    a = m - m.T
    q_cay = np.linalg.solve((np.eye(size) + a).T, (np.eye(size) - a).T).T  # (I-A)(I+A)^-1
    np.testing.assert_allclose(cayley(Tensor(m), n_in, n_out).data, q_cay[:n_in, :n_out],
                               atol=1e-13)
    np.testing.assert_allclose(skew_expm(Tensor(m), n_in, n_out).data,
                               scipy.linalg.expm(a)[:n_in, :n_out], atol=1e-13)
    for op, ref in ((cayley, cayley_numpy), (skew_expm, skew_expm_numpy)):
        w = op(Tensor(m), n_in, n_out).data
        np.testing.assert_allclose(w, ref(m, n_in, n_out), atol=1e-15)
        np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), 1.0, atol=1e-13)
        check_grads(lambda t: op(t, n_in, n_out), m)


def test_expm_backward_is_scipys_frechet_adjoint_even_with_repeated_eigenvalues():
    size = 6
    m = np.zeros((size, size))
    m[0, 1] = m[2, 3] = 0.8  # A has the eigenvalues +-1.6 i twice and 0 twice
    g = rng.standard_normal((size, size))
    t = Tensor(m, requires_grad=True)
    (skew_expm(t, size, size) * g).sum().backward()
    a = m - m.T
    g_a = scipy.linalg.expm_frechet(a.T, g, compute_expm=False)
    np.testing.assert_allclose(t.grad, g_a - g_a.T, atol=1e-12)


# ---------------------------------------------------------------------- layers
@pytest.mark.parametrize("kind", ["cpl", "sll"])
def test_residual_layer_is_1_lipschitz_and_gradients_match(kind):
    cls = {"cpl": ConvexPotentialLayer, "sll": SLLLayer}[kind]
    layer = perturbed(cls(6, 9, rng=np.random.default_rng(3)), seed=4)
    x = rng.standard_normal((7, 6))
    # training-time forward (power estimate / learned q): gradients for x and every parameter
    if kind == "cpl":  # sigma = u^T W v with the layer's u (constant) follows W
        check_grads(lambda xt, w, b: cpl(xt, w, b, *_sigma_of(layer, w.data)), x,
                    *[p.data for p in layer.parameters()])
    else:
        check_grads(sll, x, *[p.data for p in layer.parameters()])
    layer.freeze()
    ratios = pair_ratios(layer.numpy, 6)
    assert ratios.max() <= 1 + 1e-6
    norms = jacobian_norms(layer, 2 * rng.standard_normal((40, 6)))
    assert norms.max() <= 1 + 1e-9
    if kind == "cpl":  # frozen with the exact norm; the power estimate is below it
        assert layer.frozen[0] == pytest.approx(np.linalg.norm(layer.weight.data, 2), rel=1e-14)
        # exact_norm: 1-Lipschitz at training time too, the layer's op equal to the SVD one
        layer.unfreeze()
        layer.exact_norm = True
        assert pair_ratios(layer.numpy, 6, n=1000).max() <= 1 + 1e-6
        u_s, s, vt = np.linalg.svd(layer.weight.data)
        out = layer(Tensor(x))
        np.testing.assert_allclose(out.data, cpl(Tensor(x), layer.weight, layer.bias,
                                                 s[0]).data, rtol=1e-12, atol=1e-13)
        g = rng.standard_normal(out.shape)
        layer.weight.grad = None
        (out * g).sum().backward()
        g_w = layer.weight.grad.copy()
        layer.weight.grad = None
        (cpl(Tensor(x), layer.weight, layer.bias, s[0], np.outer(u_s[:, 0], vt[0])) * g) \
            .sum().backward()
        np.testing.assert_allclose(g_w, layer.weight.grad, rtol=1e-9, atol=1e-12)


def _sigma_of(layer, w):
    u = layer.u
    v = w.T @ u
    v = v / np.linalg.norm(v)
    return float(u @ w @ v), np.outer(u, v)


def test_cpl_power_iteration_only_advances_in_training_and_layer_call_is_the_op():
    layer = perturbed(ConvexPotentialLayer(5, rng=np.random.default_rng(1)), seed=2)
    x = rng.standard_normal((4, 5))
    u0 = layer.u.copy()
    with no_grad():
        layer(Tensor(x))
    assert np.array_equal(layer.u, u0)
    out = layer(Tensor(x))  # records a graph: one power step
    w = layer.weight.data
    v = w.T @ u0 / np.linalg.norm(w.T @ u0)
    u1 = w @ v / np.linalg.norm(w @ v)
    np.testing.assert_allclose(layer.u, u1, rtol=1e-14)
    np.testing.assert_allclose(out.data, cpl(Tensor(x), layer.weight, layer.bias,
                                             float(u1 @ w @ v)).data, rtol=1e-13)
    # the estimate is a lower bound that converges to ||W||_2
    for _ in range(200):
        layer(Tensor(x))
    assert layer.sigma()[0] == pytest.approx(np.linalg.norm(w, 2), rel=1e-10)


# ---------------------------------------------------------------------- networks
NETWORKS = [dict(residual="cpl"), dict(residual="sll"), dict(parametrization="cayley"),
            dict(parametrization="exp"),
            dict(residual="cpl", residual_options={"exact_norm": True, "hidden": 12})]


@pytest.mark.parametrize("options", NETWORKS, ids=["cpl", "sll", "cayley", "exp", "cpl-exact"])
def test_networks_are_1_lipschitz_round_trip_and_match_the_op_by_op_graph(options, tmp_path):
    model = lipschitz_mlp(3, width=8, depth=3, seed=2, **options)
    for p in model.parameters():
        p.data = p.data + 0.4 * rng.standard_normal(p.data.shape)
    if "parametrization" in options:  # the fused chain and the op-by-op graph agree
        x = rng.standard_normal((5, 3))
        g = [(model.core(Tensor(x), fused=f).data) for f in (True, False)]
        np.testing.assert_allclose(g[0], g[1], atol=1e-14)
        # trained weights orthonormal at every step, no Björck
        s = np.linalg.svd(model.dense_layers[1].effective_weight(), compute_uv=False)
        np.testing.assert_allclose(s, 1.0, atol=1e-13)
    model.freeze()
    assert model.frozen
    assert pair_ratios(model.predict, 3).max() <= 1 + 1e-6
    assert np.linalg.norm(model.grad(2 * rng.standard_normal((300, 3))), axis=1).max() \
        <= 1 + 1e-9
    # grad() of a training-time model touches neither parameter gradients nor power vectors
    model.train()
    power = [l for l in model.constrained_layers if hasattr(l, "u")]
    us = [l.u.copy() for l in power]
    model.grad(rng.standard_normal((5, 3)))
    assert all(p.grad is None for p in model.parameters())
    assert all(np.array_equal(u, l.u) for u, l in zip(us, power))
    model.freeze()
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.config() == model.config()
    x = rng.standard_normal((20, 3))
    assert np.array_equal(loaded.predict(x), model.predict(x))
    loaded.train()
    assert not loaded.frozen


@pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")
@pytest.mark.parametrize("options", [dict(residual="cpl"), dict(parametrization="exp")],
                         ids=["cpl", "exp"])
def test_fit_trains_a_given_network_and_freezes_it(options):
    r = np.random.default_rng(5)
    xp, xn = r.normal(0, 1, (20, 2)), r.normal(2, 1, (20, 2))
    model = lipschitz_mlp(2, width=8, depth=2, **options)
    before = model.predict(xp)
    res = fit(xp, xn, model=model, steps=60, progress=False)
    assert res.model is model and model.frozen
    assert res.steps_run == 60 and res.history[-1] < res.history[0]
    assert not np.allclose(model.predict(xp), before)
    assert pair_ratios(model.predict, 2, n=500).max() <= 1 + 1e-6


def test_bad_options_raise_input_errors(tmp_path):
    with pytest.raises(InputError, match="^parametrization"):
        lipschitz_mlp(2, parametrization="householder")
    with pytest.raises(InputError, match="^residual"):
        lipschitz_mlp(2, residual="resnet")
    with pytest.raises(InputError, match="^activation"):
        lipschitz_mlp(2, residual="cpl", activation="groupsort")
    with pytest.raises(InputError, match="^residual_options"):
        lipschitz_mlp(2, residual="sll", residual_options={"exact_norm": True})
    with pytest.raises(InputError, match="^residual_options"):
        lipschitz_mlp(2, residual_options={"hidden": 4})
    with pytest.raises(InputError, match="^parametrization"):
        LipschitzDense(3, 3, parametrization="cayley", warm_start=True)
    with pytest.raises(InputError, match="^parametrization"):
        LipschitzDense(3, 3, parametrization="exp", normalize="columns")
    with pytest.raises(InputError, match="^power_iters"):
        ConvexPotentialLayer(4, power_iters=0)
    with pytest.raises(InputError, match="^hidden"):
        SLLLayer(4, hidden=0)
    layer = SLLLayer(4)
    with pytest.raises(InputError, match="log_q"):
        layer.load_state({"weight": np.eye(4), "bias": np.zeros(4)})
    with pytest.raises(InputError, match="weight"):
        layer.load_state({"weight": np.eye(3), "bias": np.zeros(4), "log_q": np.zeros(4)})
    # a residual layer whose size does not chain with its neighbours
    cfg = lipschitz_mlp(2, width=4, depth=1, residual="sll").config()
    cfg["layers"][1]["units"] = 5
    with pytest.raises(InputError, match="do not chain"):
        Sequential.from_config(cfg)
    # multi-output residual / Cayley networks normalise the output columns (Björck layer)
    m = lipschitz_mlp(2, width=4, depth=1, out_dim=3, parametrization="cayley")
    assert m.dense_layers[-1].normalize == "columns"
