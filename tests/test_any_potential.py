"""Verifying a potential otreg did not train: finite-difference gradients against analytic
ones, the measured Lipschitz constant against known constants, and the checks that assume
1-Lipschitz reported n/a (never passed) for a steeper potential (docs/verification.md §1)."""
import json

import numpy as np
import pytest

from otreg.data.toys import make_toy
from otreg.nn import lipschitz_mlp, save_model
from otreg.potential import Potential, as_potential, fd_gradient
from otreg.transport import hkr_transport
from otreg.verify import verify

#: the checks whose meaning rests on the potential being 1-Lipschitz
ONE_LIPSCHITZ = ("gradient_norm", "certificate", "adversarial_tightness", "neural_gap")


def smooth(p):
    return np.sin(p[:, 0]) * np.exp(0.3 * p[:, 1]) + 0.1 * p[:, 0] ** 3


def smooth_grad(p):
    e = np.exp(0.3 * p[:, 1])
    return np.column_stack([np.cos(p[:, 0]) * e + 0.3 * p[:, 0] ** 2, 0.3 * np.sin(p[:, 0]) * e])


def rel_err(g, ref):
    return float(np.max(np.linalg.norm(g - ref, axis=1) / np.linalg.norm(ref, axis=1)))


@pytest.mark.parametrize("scheme,bound", [("central", 1e-8), ("richardson", 1e-10)])
def test_fd_gradient_of_a_smooth_function(scheme, bound):
    """Central differences reach ~eps^(2/3), Richardson ~eps^(4/5), at unit scale and at
    coordinates of 1e3 (the step follows |x|)."""
    pts = np.random.default_rng(0).uniform(-2, 2, (200, 2))
    assert rel_err(fd_gradient(smooth, pts, 1.0, scheme=scheme), smooth_grad(pts)) < bound
    far = lambda p: smooth(p - 1e3)
    assert rel_err(fd_gradient(far, pts + 1e3, 1.0, scheme=scheme), smooth_grad(pts)) < 1e3 * bound


def test_fd_gradient_follows_the_precision_of_the_values():
    """A float32 function: the step is taken from float32's epsilon (detected from the values'
    dtype); a float64-sized step (1e-6) would only difference rounding noise."""
    pts = np.random.default_rng(1).uniform(-2, 2, (200, 2))
    f32 = lambda p: smooth(p.astype(np.float32).astype(np.float64)).astype(np.float32)
    pot = Potential(f32)
    assert pot.fd and rel_err(pot.grad(pts), smooth_grad(pts)) < 2e-3
    assert pot.eps == np.finfo(np.float32).eps
    tiny = fd_gradient(f32, pts, 1e-6 / np.finfo(np.float64).eps ** (1 / 3))
    assert rel_err(tiny, smooth_grad(pts)) > 1e-2


def test_fd_gradient_of_the_exact_extension():
    """Piecewise distance-like: exact to rounding except within a step of a kink."""
    xp, xn = make_toy("moons", 40, seed=3)
    ext = hkr_transport(xp, xn, lam=1.0, margin=0.1).extension()
    pts = np.random.default_rng(2).uniform(-1.5, 2.5, (2000, 2))
    err = np.linalg.norm(Potential(ext).grad(pts) - ext.grad(pts), axis=1)
    assert np.mean(err < 1e-7) > 0.995


def test_as_potential_accepts_value_gradient_objects():
    class Obj:
        def value(self, p):
            return smooth(p)

        def gradient(self, p):
            return smooth_grad(p)

    pot = as_potential(Obj())
    pts = np.ones((3, 2))
    assert not pot.fd and np.array_equal(pot.grad(pts), smooth_grad(pts))
    assert not as_potential(smooth, gradient=smooth_grad).fd and as_potential(smooth).fd


@pytest.fixture(scope="module")
def moons():
    xp, xn = make_toy("moons", 50, 40, seed=1)
    return xp, xn, hkr_transport(xp, xn, lam=1.0, margin=0.1)


def assert_not_one_lipschitz(rep, constant):
    s = rep.potential
    assert s.constant == pytest.approx(constant, rel=5e-3) and not s.one_lipschitz
    assert not rep.passed and "lipschitz" in rep.failed
    for name in ONE_LIPSCHITZ:
        c = rep.check(name)
        net = c if name == "neural_gap" else next(
            p for p in c.parts if p.name in ("network", "net: network"))
        assert net.passed is None and "not 1-Lipschitz (measured L = " in net.detail, name
        assert c.passed is not True or name != "neural_gap"
    assert rep.not_one_lipschitz == list(ONE_LIPSCHITZ)
    table = rep.table()
    assert table.index("measured Lipschitz constant") < table.index("check ")
    assert "a lower bound" in table and "NOT 1-Lipschitz" in table


def test_a_steep_callable_is_measured_and_not_passed(moons):
    """1.5 |x - c| (no gradient given): L = 1.5, FD marks, no 1-Lipschitz check passes."""
    xp, xn, _ = moons
    c = np.array([0.5, 0.25])
    rep = verify(xp, xn, 1.0, 0.1, potential=lambda p: 1.5 * np.linalg.norm(p - c, axis=1),
                 n_test_points=30)
    assert_not_one_lipschitz(rep, 1.5)
    assert rep.potential.fd_gradient and "FD gradient" in rep.check("lipschitz").marks
    assert "(FD gradient)" in rep.table()
    d = json.loads(rep.to_json())
    assert d["potential"]["one_lipschitz"] is False and d["potential"]["lower_bound"] is True


def test_an_otreg_network_with_a_scaled_last_layer(moons, tmp_path, cli):
    """Its constant is 1.5 x that of the unscaled network (<= 1), through the API and through
    `otreg verify --potential model.npz`."""
    xp, xn, _ = moons
    net = lipschitz_mlp(2, width=8, depth=2, seed=0, bias_spread=0.5).freeze()
    base = verify(xp, xn, 1.0, 0.1, potential=net, n_test_points=30).potential
    assert base.constant <= 1 + 1e-9 and base.one_lipschitz and not base.fd_gradient
    net.dense_layers[-1].frozen = 1.5 * net.dense_layers[-1].frozen
    rep = verify(xp, xn, 1.0, 0.1, potential=net, n_test_points=30)
    assert_not_one_lipschitz(rep, 1.5 * base.constant)
    np.savez(tmp_path / "data.npz", x_pos=xp, x_neg=xn)
    save_model(net, tmp_path / "steep.npz")
    rc, out, _ = cli(["verify", "--potential", tmp_path / "steep.npz", "--data",
                      tmp_path / "data.npz", "--lam", "1", "--margin", "0.1"])
    first = " ".join(out.splitlines()[:3])
    assert rc == 1 and "steep.npz" in first and "NOT 1-Lipschitz" in first
    assert f"L >= {rep.potential.constant:.6g}" in first
    assert ("not 1-Lipschitz (its parts are n/a): gradient_norm, certificate, "
            "adversarial_tightness, neural_gap") in out


def test_the_exact_potential_as_a_plain_callable_passes(moons):
    """`hkr_transport(...).potential` (a callable without gradient): L = 1, gap 0, every check
    passes, the gradient-based ones on FD gradients."""
    xp, xn, res = moons
    rep = verify(xp, xn, 1.0, 0.1, potential=res.potential, n_test_points=30)
    s = rep.potential
    assert rep.passed, rep.table()
    assert 1 - 1e-3 < s.constant <= 1 + 1e-6 and s.one_lipschitz
    assert abs(s.gap) < 1e-9 and abs(s.gap_rel) < 1e-9
    assert s.gap == pytest.approx(rep.check("neural_gap").value / (abs(res.loss) + 0.2), abs=1e-12)
    assert {"gradient_norm", "adversarial_tightness", "lipschitz"} <= {
        c.name for c in rep.checks if "FD gradient" in c.marks}
    assert "FD gradient" not in rep.check("certificate").marks


def test_a_distance_function_with_its_gradient(moons):
    """A 1-Lipschitz potential given with its gradient: measured L = 1 (a radial pair
    attains it), no FD mark, the gap is the loss of that potential."""
    xp, xn, res = moons
    c = xn.mean(axis=0)
    f = lambda p: np.linalg.norm(p - c, axis=1) - 0.4
    g = lambda p: (p - c) / np.linalg.norm(p - c, axis=1, keepdims=True)
    rep = verify(xp, xn, 1.0, 0.1, potential=f, gradient=g, n_test_points=30)
    s = rep.potential
    assert s.constant == pytest.approx(1.0, abs=1e-6) and not s.fd_gradient
    want = (rep.problem.loss(f(xp), f(xn)) - res.loss) / (abs(res.loss) + 0.2)
    assert s.gap == pytest.approx(want, rel=1e-12)
    assert not any(c.marks for c in rep.checks)
    assert rep.check("certificate").passed
