"""The cone model f = max(min(m, U), D): values, input gradients, 1-Lipschitz, the sample
values it can take, training, save / load."""
import numpy as np
import pytest
from nn_gradcheck import check_grads, pair_ratios

from otreg import Problem, hkr_transport
from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.metrics import relative_gap
from otreg.nn import (ConeNetwork, Sequential, TrainingBudgetWarning, fit, lipschitz_mlp,
                      load_model, save_model)
from otreg.nn.cones import train_cones

rng = np.random.default_rng(7)


def cone_model(dim=3, k=25, spread=0.6, scale=2.0):
    """Cones whose heights sit up to ``spread`` below / above the network at the centres,
    so that the network, upper and lower cones are each active somewhere."""
    net = lipschitz_mlp(dim, width=8, depth=2, seed=2, shift=rng.standard_normal(dim),
                        scale=scale)
    for layer in net.dense_layers:
        layer.weight.data += 0.3 * rng.standard_normal(layer.weight.data.shape)
        layer.bias.data += 0.2 * rng.standard_normal(layer.bias.data.shape)
    net.freeze()
    centres = 2 * rng.standard_normal((k, dim))
    m = net.predict(centres)
    up = m - spread * rng.uniform(0, 1, k)
    down = m - spread + 1.5 * spread * rng.uniform(0, 1, k)
    return ConeNetwork.on_network(net, centres, up, down), net


def brute_force(model, net, x):
    r = np.linalg.norm(x[:, None, :] - model.centres[None], axis=2)
    upper = np.min(model.up + r, axis=1)
    lower = np.max(model.down - r, axis=1)
    return np.maximum(np.minimum(net.predict(x), upper), lower)


def test_values_are_the_formula_and_every_part_is_used():
    model, net = cone_model()
    x = np.concatenate([2 * rng.standard_normal((300, 3)),
                        model.centres + 0.05 * rng.standard_normal(model.centres.shape)])
    f = model.predict(x)
    np.testing.assert_allclose(f, brute_force(model, net, x), rtol=0, atol=1e-12)
    m = net.predict(x)
    assert np.any(f == m) and np.any(f < m) and np.any(f > m)


def test_input_gradient_against_finite_differences_and_the_tensor_op():
    model, _ = cone_model()
    x = np.concatenate([2 * rng.standard_normal((35, 3)),
                        model.centres + 0.05 * rng.standard_normal(model.centres.shape)])
    h = 1e-6
    num = np.stack([(model.predict(x + h * e) - model.predict(x - h * e)) / (2 * h)
                    for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(model.grad(x), num, atol=1e-6)
    assert np.all(np.linalg.norm(model.grad(x), axis=1) <= 1 + 1e-12)
    check_grads(lambda t: model(t), x[::4], rtol=1e-5, atol=1e-6)
    with pytest.raises(InputError, match="^output"):
        model.grad(x, output=1)


def test_cone_model_is_1_lipschitz_on_random_pairs():
    model, _ = cone_model(dim=4, k=40, spread=2.0, scale=0.5)
    assert pair_ratios(model.predict, 4).max() <= 1 + 1e-9


def test_any_1_lipschitz_sample_values_are_taken_exactly():
    """With heights equal to 1-Lipschitz values v on the sample (the exact optimum's),
    f = v there, whatever the network (McShane)."""
    pr = Problem(*make_toy("anisotropic", 30, 25, seed=1), 1.0, 0.1)
    exact = hkr_transport(pr)
    v = np.concatenate([exact.f_pos, exact.f_neg])
    net = lipschitz_mlp(2, width=4, depth=1, seed=0).freeze()
    model = ConeNetwork.on_network(net, pr.samples, v, v)
    np.testing.assert_allclose(model.predict(pr.samples), v, atol=1e-9)


def test_training_the_heights_from_the_network_closes_the_gap():
    pr = Problem(*make_toy("anisotropic", 60, 50, seed=2), 1.0, 0.1)
    exact = hkr_transport(pr).loss
    with pytest.warns(TrainingBudgetWarning):  # still improving: the network alone stays far
        mlp = fit(pr, steps=100, progress=False, architecture="mlp")
    assert type(mlp.model) is Sequential
    y, c_kr, c_h = pr.coefficients()
    same, hist = train_cones(mlp.model, pr.samples, y, c_kr, c_h, pr.margin, 0, 1e-2, 1e-3)
    np.testing.assert_allclose(same.predict(pr.samples), mlp.model.predict(pr.samples),
                               atol=1e-12)
    res = fit(pr, steps=100, progress=False)
    assert isinstance(res.model, ConeNetwork) and res.settings["architecture"] == "cones"
    gap_mlp = relative_gap(mlp.loss, exact, pr.margin)
    gap = relative_gap(res.loss, exact, pr.margin)
    assert gap < 0.005 < gap_mlp
    assert res.loss == pytest.approx(min(res.history), rel=1e-9)  # the best heights are kept
    assert pair_ratios(res.model.predict, 2).max() <= 1 + 1e-9


def test_architecture_option_is_checked():
    pr = Problem(*make_toy("moons", 10, 10), 1.0, 0.1)
    with pytest.raises(InputError, match="^architecture"):
        fit(pr, steps=2, progress=False, architecture="convex")
    with pytest.raises(InputError, match="^cone_steps"):
        fit(pr, steps=2, progress=False, cone_steps=-1)


def test_save_load_round_trip_and_broken_files(tmp_path):
    model, _ = cone_model()
    save_model(model, tmp_path / "c.npz")
    loaded = load_model(tmp_path / "c.npz")
    assert isinstance(loaded, ConeNetwork) and loaded.config() == model.config()
    x = 2 * rng.standard_normal((50, 3))
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert np.array_equal(loaded.grad(x), model.grad(x))
    with np.load(tmp_path / "c.npz", allow_pickle=False) as z:
        files = {k: z[k] for k in z.files}
    del files["cones.up"]
    np.savez(tmp_path / "broken.npz", **files)
    with pytest.raises(InputError, match="centres, up and down"):
        load_model(tmp_path / "broken.npz")
    files["cones.up"] = np.zeros(3)
    np.savez(tmp_path / "short.npz", **files)
    with pytest.raises(InputError, match="short.npz: cones"):
        load_model(tmp_path / "short.npz")
