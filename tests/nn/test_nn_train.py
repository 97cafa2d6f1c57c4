"""Training: quality against exact minima, 1-Lipschitz certificates, gradient norms,
reproducibility.

Exact minima come from ``otreg.transport.hkr_transport(method="pot")`` / ``wasserstein1`` (checked against an
independent HiGHS solve of the dual LP of spec section 2 on small clouds in
``test_exact_reference_agrees_with_lp``).  Settings (honest list, also in docs/neural.md):

- two moons, n = 1000 per class, noise 0.1: lam = 1, margin = 0.1, and lam = 0 (W1);
- two Gaussians (separation 2, std 0.5), n = 500 per class: lam = 5, margin = 0.1;
- concentric circles (radii 0.5 / 1, noise 0.08), n = 500 per class: lam = 1, margin = 0.1;

all with the default network (2-64-64-64-1 GroupSort, 15 Björck steps) and the defaults of
``fit`` (Adam, lr 1e-2 cosine-decayed, batch 256, 100 epochs).
"""
import numpy as np
import pytest

from otreg.data.toys import circles, gaussians, two_moons
from otreg import Problem
from otreg.errors import InputError
from otreg.nn import fit, full_loss, lipschitz_mlp, save_model
from otreg.transport import hkr_transport, wasserstein1


SETTINGS = {
    "moons": (lambda: two_moons(1000, 1000, 0.1, 0), 1.0, 0.1),
    "gaussians": (lambda: gaussians(500, 500, seed=1), 5.0, 0.1),
    "circles": (lambda: circles(500, 500, seed=2), 1.0, 0.1),
}


def gap(value, exact):
    return (value - exact) / abs(exact)


@pytest.fixture(scope="module")
def trained():
    """Train once per data set; shared by the quality tests below."""
    out = {}
    for name, (make, lam, margin) in SETTINGS.items():
        xp, xn = make()
        res = fit(xp, xn, lam=lam, margin=margin, progress=False)
        out[name] = (xp, xn, lam, margin, res)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETTINGS))
def test_loss_within_2_percent_of_exact_minimum(trained, name):
    xp, xn, lam, margin, res = trained[name]
    exact = hkr_transport(xp, xn, lam=lam, margin=margin).loss
    # the loss reported by fit is the frozen network's full-data loss, recomputed here
    mine = Problem(xp, xn, lam, margin).loss(res.model.predict(xp), res.model.predict(xn))
    assert mine == pytest.approx(res.loss, abs=1e-12)
    print(f"{name}: lam={lam} margin={margin} exact={exact:.6f} net={mine:.6f} "
          f"gap={100 * gap(mine, exact):.3f}% time={res.seconds:.1f}s epochs={res.epochs_run}")
    assert mine >= exact - 1e-9  # a 1-Lipschitz f is feasible for the LP: never below
    assert gap(mine, exact) <= 0.02
    # training history is the per-epoch full-data loss and improves
    assert len(res.history) == res.epochs_run and res.history[-1] < res.history[0]


@pytest.mark.slow
def test_lam_zero_estimates_w1():
    xp, xn = two_moons(1000, 1000, 0.1, 0)
    res = fit(xp, xn, lam=0.0, margin=0.1, progress=False)
    w1 = wasserstein1(xp, xn)
    print(f"W1: exact={w1:.6f} net={-res.loss:.6f} gap={100 * (w1 + res.loss) / w1:.3f}%")
    assert -res.loss <= w1 + 1e-9
    assert abs(-res.loss - w1) <= 0.02 * w1


def lipschitz_ratios(model, xp, xn, n_pairs=20000, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.vstack([xp, xn])
    lo, hi = pts.min(0) - 0.5, pts.max(0) + 0.5
    u = np.vstack([pts[rng.integers(0, len(pts), n_pairs // 2)],
                   rng.uniform(lo, hi, (n_pairs // 2, 2))])
    scale = rng.choice([1e-4, 1e-2, 0.1, 1.0], (n_pairs, 1))
    v = u + scale * rng.standard_normal(u.shape)
    # plus pairs across the two classes (long-range, along transport rays)
    u2 = xp[rng.integers(0, len(xp), 5000)]
    v2 = xn[rng.integers(0, len(xn), 5000)]
    u, v = np.vstack([u, u2]), np.vstack([v, v2])
    return np.abs(model.predict(u) - model.predict(v)) / np.linalg.norm(u - v, axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SETTINGS))
def test_trained_network_is_1_lipschitz(trained, name):
    xp, xn, _, _, res = trained[name]
    ratios = lipschitz_ratios(res.model, xp, xn)
    norms = res.model.spectral_norms()
    print(f"{name}: max ratio {ratios.max():.9f}, spectral norms {norms}")
    assert ratios.max() <= 1 + 1e-3
    assert max(norms) <= 1 + 1e-3
    # the raw (training-time) weights too, not only the frozen ones
    train_norms = [np.linalg.norm(l.weight_tensor().data, 2)
                   for l in res.model.train().dense_layers]
    res.model.freeze()
    assert max(train_norms) <= 1 + 1e-3
    # the network uses its Lipschitz budget: some pair gets close to slope 1
    assert ratios.max() > 0.9


def grad_norm_stats(model, xp, xn, seed=0):
    """|grad f| on the transport region: the samples and points on segments between them."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, 1, (2000, 1))
    seg = t * xp[rng.integers(0, len(xp), 2000)] + (1 - t) * xn[rng.integers(0, len(xn), 2000)]
    pts = np.vstack([xp, xn, seg])
    gn = np.linalg.norm(model.grad(pts), axis=1)
    return float(np.mean(np.abs(gn - 1) < 0.01)), float(gn.mean()), float(gn.max())


@pytest.mark.slow
def test_groupsort_keeps_gradient_norm_relu_does_not(trained):
    xp, xn, lam, margin, res = trained["moons"]
    relu = fit(xp, xn, lam=lam, margin=margin, activation="relu", progress=False)
    frac_gs, mean_gs, max_gs = grad_norm_stats(res.model, xp, xn)
    frac_relu, mean_relu, max_relu = grad_norm_stats(relu.model, xp, xn)
    exact = hkr_transport(xp, xn, lam=lam, margin=margin).loss
    print(f"GroupSort: frac(||grad|-1|<0.01)={frac_gs:.3f} mean={mean_gs:.4f}; "
          f"ReLU: frac={frac_relu:.3f} mean={mean_relu:.4f}; "
          f"ReLU gap={100 * gap(relu.loss, exact):.2f}% GroupSort gap="
          f"{100 * gap(res.loss, exact):.2f}%")
    assert max_gs <= 1 + 1e-9 and max_relu <= 1 + 1e-9
    assert frac_gs >= 0.8
    assert frac_gs >= frac_relu + 0.3
    assert mean_gs > mean_relu
    # and the better gradient norm shows in the loss
    assert res.loss < relu.loss


def test_seed_reproducibility_bit_identical():
    xp, xn = two_moons(60, 50, 0.1, 5)
    kw = dict(lam=2.0, margin=0.1, epochs=4, batch_size=32, progress=False, width=16)
    r1, r2 = fit(xp, xn, seed=3, **kw), fit(xp, xn, seed=3, **kw)
    assert r1.history == r2.history
    x = np.random.default_rng(0).standard_normal((30, 2))
    assert np.array_equal(r1.model.predict(x), r2.model.predict(x))
    for l1, l2 in zip(r1.model.dense_layers, r2.model.dense_layers):
        assert np.array_equal(l1.weight.data, l2.weight.data)
    r3 = fit(xp, xn, seed=4, **kw)
    assert not np.array_equal(r1.model.predict(x), r3.model.predict(x))


def test_fit_respects_weights_prior_and_reports_loss():
    rng = np.random.default_rng(1)
    xp, xn = two_moons(40, 30, 0.1, 2)
    a, b = rng.uniform(0.5, 2, 40), rng.uniform(0.5, 2, 30)
    res = fit(xp, xn, lam=3.0, margin=0.2, a=a, b=b, p=0.3, epochs=3, width=8, progress=False)
    prob = Problem(xp, xn, 3.0, 0.2, a, b, 0.3)
    expected = prob.loss(res.model.predict(xp), res.model.predict(xn))
    assert res.loss == pytest.approx(expected, abs=1e-13)
    assert full_loss(res.model, prob) == pytest.approx(expected, abs=1e-13)
    assert res.seconds > 0 and res.model.frozen


def test_early_stopping_on_plateau():
    xp, xn = two_moons(30, 30, 0.1, 0)
    res = fit(xp, xn, epochs=500, lr=1e-9, patience=3, width=8, progress=False)
    assert res.stopped_early and res.epochs_run < 500
    assert res.best_epoch <= res.epochs_run


def test_fit_continues_from_a_model_and_validates():
    xp, xn = two_moons(30, 30, 0.1, 0)
    model = lipschitz_mlp(2, width=8, depth=1)
    res = fit(xp, xn, model=model, epochs=2, progress=False)
    assert res.model is model
    with pytest.raises(InputError, match="^model"):
        fit(xp, xn, model=lipschitz_mlp(3, width=8), epochs=1, progress=False)
    with pytest.raises(InputError, match="^lam"):
        fit(xp, xn, lam=-1, progress=False)
    with pytest.raises(InputError, match="^x_neg"):
        fit(xp, np.zeros((3, 3)), progress=False)
    with pytest.raises(InputError, match="^epochs"):
        fit(xp, xn, epochs=0, progress=False)
    with pytest.raises(InputError, match="^lr"):
        fit(xp, xn, lr=-1.0, progress=False)
    with pytest.raises(InputError, match="^batch_size"):
        fit(xp, xn, batch_size=0, progress=False)
    with pytest.raises(InputError, match="^activation"):
        fit(xp, xn, activation="tanh", progress=False)
    with pytest.raises(InputError, match="^optimizer"):
        fit(xp, xn, optimizer="lbfgs", progress=False, epochs=1)


def test_sgd_optimizer_trains():
    xp, xn = two_moons(50, 50, 0.1, 0)
    res = fit(xp, xn, epochs=15, width=8, optimizer="sgd", lr=0.05, progress=False)
    assert res.history[-1] < res.history[0]


def test_progress_bar_shows_running_loss(capsys):
    xp, xn = two_moons(20, 20, 0.1, 0)
    fit(xp, xn, epochs=2, width=8, progress=True)
    err = capsys.readouterr().err
    assert "loss=" in err


def test_cheaper_bjorck_mode_still_freezes_exactly():
    xp, xn = two_moons(40, 40, 0.1, 0)
    res = fit(xp, xn, epochs=3, width=16, bjorck_iters=3, progress=False)
    assert all(l.bjorck_iters == 3 for l in res.model.dense_layers)
    norms = np.array([np.linalg.svd(l.frozen, compute_uv=False) for l in
                      res.model.dense_layers[1:-1]])
    np.testing.assert_allclose(norms, 1.0, atol=1e-10)
    with pytest.raises(InputError, match="^bjorck_iters"):
        fit(xp, xn, epochs=1, bjorck_iters=0, progress=False)


def test_fit_multiclass_one_vs_all(tmp_path):
    from otreg.nn import Tensor, fit_multiclass, load_model, multiclass_hkr_loss

    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.7]])
    x = np.vstack([rng.normal(c, 0.45, (150, 2)) for c in centers])
    labels = np.repeat(np.arange(3), 150)
    res = fit_multiclass(x, labels, lam=2.0, margin=0.1, progress=False)
    f = res.model.predict(x)
    assert f.shape == (450, 3)
    assert res.loss == pytest.approx(
        multiclass_hkr_loss(Tensor(f), labels, 2.0, 0.1).item(), abs=1e-12)
    # each output is 1-Lipschitz, so each one-vs-all term is >= its exact minimum
    bound = sum(hkr_transport(x[labels == c], x[labels != c], lam=2.0, margin=0.1).loss for c in range(3))
    print(f"multiclass: net={res.loss:.5f} sum of one-vs-all minima={bound:.5f} "
          f"gap={100 * gap(res.loss, bound):.2f}%")
    assert res.loss >= bound - 1e-9
    assert gap(res.loss, bound) <= 0.15  # shared hidden layers: the bound is not attainable
    assert np.mean(f.argmax(1) == labels) > 0.9
    u = rng.uniform(-1, 3, (4000, 2))
    v = u + rng.normal(0, 0.3, u.shape)
    ratio = np.abs(res.model.predict(u) - res.model.predict(v)) / np.linalg.norm(u - v,
                                                                              axis=1)[:, None]
    assert ratio.max() <= 1 + 1e-9
    assert max(res.model.spectral_norms()) <= 1 + 1e-12
    save_model(res.model, tmp_path / "mc.npz")
    assert np.array_equal(load_model(tmp_path / "mc.npz").predict(u), res.model.predict(u))
    with pytest.raises(InputError, match="^labels"):
        fit_multiclass(x, np.zeros(450, dtype=int), progress=False)
    with pytest.raises(InputError, match="^labels"):
        fit_multiclass(x, labels.astype(float), progress=False)
