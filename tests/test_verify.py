"""Every check passes on correct solutions AND fails on deliberately wrong ones."""
import json
from dataclasses import replace

import numpy as np
import pytest

from otreg import Problem
from otreg.data.toys import make_toy
from otreg.metrics import accuracies
from otreg.nn import fit
from otreg.potential import Potential
from otreg.transport import hkr_transport, wasserstein1
from otreg.verify import (CHECK_NAMES, Tolerances, boundary_distance, certificate_points,
                          check_adversarial_tightness, check_certificate,
                          check_complementary_slackness, check_gradient_norm,
                          check_hinge_slackness, check_invariance, check_lipschitz,
                          check_marginal_bounds, check_neural_gap, check_potential_agreement,
                          check_strong_duality, check_w1_limit, ray_points, verify)

#: these tests train on deliberately short budgets: the budget warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")


@pytest.fixture(scope="module")
def moons():
    xp, xn = make_toy("moons", 60, 45, seed=1)
    return xp, xn, hkr_transport(xp, xn, lam=1.0, margin=0.1)


@pytest.fixture(scope="module")
def sol(moons):
    return moons[2]


def scaled(pot, s, name="scaled"):
    return Potential(lambda p: s * pot(p), lambda p: s * pot.grad(p), name)


# ------------------------------------------------------------------ sample-level checks
def test_exact_solution_passes_all_sample_checks(sol):
    for c in (check_strong_duality(sol), check_complementary_slackness(sol),
              check_marginal_bounds(sol), check_hinge_slackness(sol), check_lipschitz(sol)):
        assert c.passed, (c.name, c.detail)


def test_strong_duality_fails_on_suboptimal_potential_or_plan(sol, moons):
    bad_f = replace(sol, f_pos=sol.f_pos - 0.01)                 # feasible, suboptimal
    assert not check_strong_duality(bad_f).passed
    xp, xn, _ = moons
    plan0 = hkr_transport(xp, xn, lam=0.0, margin=0.1).plan      # feasible, not optimal at lam=1
    c = check_strong_duality(replace(sol, plan=plan0))
    assert not c.passed and c.value > 1e-4
    # a wrong claimed loss is caught even with the right plan and potential
    assert not check_strong_duality(replace(sol, loss=sol.loss + 1e-3)).passed


def test_complementary_slackness_fails_off_the_rays(sol):
    assert not check_complementary_slackness(replace(sol, f_neg=sol.f_neg - 0.01)).passed


def test_marginal_bounds_fail_on_infeasible_plans(sol):
    assert not check_marginal_bounds(replace(sol, plan=sol.plan * 0.99)).passed
    assert not check_marginal_bounds(replace(sol, plan=sol.plan * 3.0)).passed
    neg = sol.plan.copy()
    neg[0, 0] = -1e-3
    assert not check_marginal_bounds(replace(sol, plan=neg)).passed


def test_hinge_slackness_fails_when_plan_and_potential_disagree(sol, moons):
    xp, xn, _ = moons
    plan0 = hkr_transport(xp, xn, lam=0.0, margin=0.1).plan      # rows at the lower bound
    c = check_hinge_slackness(replace(sol, plan=plan0))
    assert not c.passed and "off the required bound" in c.detail


def test_lipschitz_fails_for_steep_values_and_functions(sol, moons):
    assert not check_lipschitz(replace(sol, f_pos=2 * sol.f_pos, f_neg=2 * sol.f_neg)).passed
    ex = moons[2].extension()
    ok = check_lipschitz(sol, {"exact": ex}, np.random.default_rng(0), tols={"exact": 1e-8})
    assert ok.passed, ok.detail
    steep = check_lipschitz(sol, {"steep": scaled(ex, 1.01)}, np.random.default_rng(0),
                            tols={"steep": 1e-3})
    assert not steep.passed
    assert [p.name for p in steep.parts] == ["samples", "steep"]
    assert steep.parts[0].passed and not steep.parts[1].passed


def test_extension_matches_its_formula_and_finite_differences(moons):
    res = moons[2]
    pts = np.random.default_rng(0).uniform(-1.5, 2.5, (500, 2))
    samples = res.problem.samples
    values = np.concatenate([res.f_pos, res.f_neg])
    dist = np.linalg.norm(pts[:, None, :] - samples[None, :, :], axis=2)
    mcshane = np.min(values[None, :] + dist, axis=1)
    whitney = np.max(values[None, :] - dist, axis=1)
    for kind, ref in (("mcshane", mcshane), ("whitney", whitney),
                      ("mean", 0.5 * (mcshane + whitney))):
        ext = res.extension(kind)
        assert np.allclose(ext(pts), ref, atol=1e-12)
        assert np.array_equal(res.potential(pts, kind), ext(pts))
        numeric = Potential(ext)             # no grad given: central finite differences
        assert np.allclose(ext.grad(pts), numeric.grad(pts), atol=1e-5)
        assert np.array_equal(res.potential_grad(pts, kind), ext.grad(pts))


def test_invariance_passes_and_fails(moons):
    xp, xn, res = moons
    c = check_invariance(res.problem, res.loss)
    assert c.passed, c.detail
    c = check_invariance(res.problem, res.loss + 1e-4)
    assert not c.passed and not any(p.passed for p in c.parts)


# ------------------------------------------------------------------ lambda -> 0
def test_w1_limit_passes_and_fails(moons):
    xp, xn, res = moons
    pr = res.problem
    c = check_w1_limit(pr)
    assert c.passed, c.detail
    assert [p.name for p in c.parts] == ["lam=0", "lam=0.1", "lam=0.01", "lam=0.001"]
    w1 = wasserstein1(xp, xn)
    # below -W1 is impossible; slower than linear convergence too; and non-monotone
    assert not check_w1_limit(pr, losses={1e-3: -w1 - 1e-4}).passed
    assert not check_w1_limit(pr, losses={1e-3: -w1 + 1e-2}).passed
    assert not check_w1_limit(pr, w1=w1 * 1.01).passed  # wrong W1 (or lam=0 solve)


# ------------------------------------------------------------------ geometry
def test_boundary_distance_of_a_linear_function():
    pot = Potential(lambda p: p[:, 0] - 0.3, lambda p: np.tile([1.0, 0.0], (len(p), 1)))
    pts = np.array([[1.0, 0.0], [0.0, 5.0], [0.3, 1.0], [-2.0, -1.0]])
    d = boundary_distance(pot, pts, r_max=5.0)
    # 32 directions: overestimate by at most 1/cos(pi/32) - 1 < 0.5%
    assert np.allclose(d, [0.7, 0.3, 0.0, 2.3], rtol=5e-3, atol=1e-6)
    # with the exact direction added, the scan + bisection is accurate to ~r_max 2^-20 / 32
    g = -np.sign(pts[:, 0] - 0.3)[:, None] * np.array([[1.0, 0.0]])
    d = boundary_distance(pot, pts, r_max=5.0, point_dirs=g)
    assert np.allclose(d, [0.7, 0.3, 0.0, 2.3], atol=1e-6)
    assert np.all(d >= np.abs(pts[:, 0] - 0.3) - 1e-9)
    assert np.isinf(boundary_distance(pot, np.array([[9.0, 0.0]]), r_max=1.0)[0])


def test_numeric_gradient_of_the_norm():
    pot = Potential(lambda p: np.linalg.norm(p, axis=1))
    pts = np.array([[3.0, 4.0], [-1.0, 0.5]])
    assert np.allclose(pot.grad(pts), pts / np.linalg.norm(pts, axis=1, keepdims=True), atol=1e-6)


def test_gradient_norm_certificate_tightness_pass_for_exact(moons, sol):
    ex = moons[2].extension()
    rng = np.random.default_rng(0)
    rays, *_ = ray_points(sol, rng, 200)
    assert check_gradient_norm(ex, rays, min_norm=1 - 1e-6, min_fraction=0.99).passed
    c, dist = check_certificate(ex, certificate_points(sol.problem, rng, 40), rng)
    assert c.passed, c.detail
    cross, *_ = ray_points(sol, rng, 60, crossing=True)
    t = check_adversarial_tightness(ex, cross, None, rng, f_tol=0.02, dist_tol=0.02,
                                    min_abs_f=0.05)
    assert t.passed, t.detail


def test_gradient_norm_fails_for_a_flattened_potential(moons, sol):
    half = scaled(moons[2].extension(), 0.5)
    rays, *_ = ray_points(sol, np.random.default_rng(0), 200)
    c = check_gradient_norm(half, rays, min_norm=0.9, min_fraction=0.8)
    assert not c.passed and c.value == 0.0


def test_certificate_fails_for_a_non_lipschitz_potential(moons, sol):
    ex = moons[2].extension()
    rng = np.random.default_rng(0)
    pts = certificate_points(sol.problem, rng, 40)
    c, _ = check_certificate(scaled(ex, 3.0), pts, rng)      # same sign, 3x the radius
    assert not c.passed and c.value > 0.5
    c, _ = check_certificate(scaled(ex, 0.5), pts, rng)      # 1-Lipschitz: still certified
    assert c.passed


def test_tightness_fails_for_a_non_tight_potential(moons, sol):
    ex = moons[2].extension()
    rng = np.random.default_rng(0)
    cross, *_ = ray_points(sol, rng, 60, crossing=True)
    t = check_adversarial_tightness(scaled(ex, 0.5), cross, None, rng, f_tol=0.1, dist_tol=0.15,
                                    min_abs_f=0.05)
    assert not t.passed
    assert all(not p.passed for p in t.parts)  # lands half-way and moves half the distance


# ------------------------------------------------------------------ network vs exact
@pytest.fixture(scope="module")
def trained(moons):
    xp, xn, res = moons
    return fit(res.problem, epochs=300, width=32, depth=2, progress=False).model


def test_neural_checks_on_a_trained_network(moons, trained):
    res = moons[2]
    pr = res.problem
    f_pos, f_neg = trained.predict(pr.x_pos), trained.predict(pr.x_neg)
    c = check_neural_gap(pr, res.loss, f_pos, f_neg, rel_tol=0.05)
    # the value is L(network) - min L, recomputed here from the formula of docs/mathematics.md §1
    a, b, p = pr.a, pr.b, pr.p
    L = (b @ f_neg - a @ f_pos + p * a @ np.maximum(0.1 - f_pos, 0)
         + (1 - p) * b @ np.maximum(0.1 + f_neg, 0))
    assert c.value == pytest.approx(L - res.loss, abs=1e-12)
    assert 0 <= c.value and c.passed, c.detail       # never below the LP minimum
    agree = check_potential_agreement(pr, res.f_pos, res.f_neg, f_pos, f_neg)
    sign = np.sum(pr.weights * (np.sign(np.concatenate([f_pos, f_neg]))
                                == np.sign(np.concatenate([res.f_pos, res.f_neg]))))
    assert agree.parts[1].value == pytest.approx(sign, abs=1e-12) and agree.passed
    # an untrained network of the same shape is far from the optimum
    raw = fit(pr, epochs=1, width=32, depth=2, lr=1e-6, progress=False,
              architecture="mlp").model
    assert not check_neural_gap(pr, res.loss, raw.predict(pr.x_pos), raw.predict(pr.x_neg)).passed


def test_neural_gap_and_agreement(moons):
    res = moons[2]
    pr = res.problem
    assert check_neural_gap(pr, res.loss, res.f_pos, res.f_neg).passed
    c = check_neural_gap(pr, res.loss, 1.5 * res.f_pos, 1.5 * res.f_neg)   # beats the LP
    assert not c.passed and "BELOW" in c.detail
    assert not check_neural_gap(pr, res.loss, 0.5 * res.f_pos, 0.5 * res.f_neg).passed
    assert check_potential_agreement(pr, res.f_pos, res.f_neg, res.f_pos, res.f_neg).passed
    assert not check_potential_agreement(pr, res.f_pos, res.f_neg, -res.f_pos, -res.f_neg).passed
    c = check_potential_agreement(pr, res.f_pos, res.f_neg, res.f_pos + 1, res.f_neg + 1)
    assert not c.passed and not c.parts[0].passed


# ------------------------------------------------------------------ verify / Report
def test_verify_with_a_perfect_model_passes_everything(moons, tmp_path):
    xp, xn, res = moons
    model = res.extension()           # the optimum itself as "network": every check must pass
    rep = verify(xp, xn, 1.0, 0.1, model=model, n_test_points=40)
    assert rep.passed, rep.table()
    assert [c.name for c in rep.checks] == list(CHECK_NAMES)
    d = json.loads(rep.to_json(tmp_path / "r.json"))
    assert set(d) >= {"data", "params", "lp", "neural", "checks"}
    assert d["data"] == {"n_pos": 60, "n_neg": 45, "dim": 2}
    assert set(d["lp"]) >= {"loss", "w1", "f_pos", "f_neg"} and len(d["lp"]["f_neg"]) == 45
    assert set(d["neural"]) >= {"loss", "f_pos", "f_neg", "lipschitz_estimate", "train_seconds"}
    assert abs(d["neural"]["loss"] - d["lp"]["loss"]) < 1e-9
    for c in d["checks"]:
        assert set(c) >= {"name", "passed", "value", "tolerance", "detail"}
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True
    table = rep.table()
    assert "ALL CHECKS PASSED" in table
    for name in CHECK_NAMES:
        assert name in table


def test_verify_flags_a_bad_model(moons):
    xp, xn, res = moons
    bad = scaled(res.extension(), 0.5)
    rep = verify(xp, xn, 1.0, 0.1, model=bad, n_test_points=40)
    assert not rep.passed
    assert {"gradient_norm", "adversarial_tightness", "neural_gap"} <= set(rep.failed)
    for name in ("strong_duality", "marginal_bounds", "lipschitz", "certificate"):
        assert rep.check(name).passed  # 0.5 f is still 1-Lipschitz; the LP is untouched
    assert "FAILED" in rep.table()
    steep = scaled(res.extension(), 1.5)
    rep = verify(xp, xn, 1.0, 0.1, model=steep, n_test_points=40)
    assert "lipschitz" in rep.failed and rep.potential.constant == pytest.approx(1.5, rel=1e-3)
    # measured steeper than 1: the checks resting on 1-Lipschitz neither pass nor fail for it
    assert rep.check("neural_gap").passed is None
    assert rep.check("certificate").parts[1].passed is None
    assert "not 1-Lipschitz" in rep.check("certificate").parts[1].detail


def test_verify_exact_only_and_unbalanced(moons):
    xp, xn = make_toy("gaussians", 40, 70, seed=2)
    rep = verify(xp, xn, 0.5, 0.2, neural=False, n_test_points=30)
    assert rep.passed, rep.table()
    assert rep.network is None and rep.to_dict()["neural"] is None
    assert "neural_gap" not in [c.name for c in rep.checks]
    assert abs(rep.problem.p - 40 / 110) < 1e-12


@pytest.mark.slow
def test_verify_with_a_trained_network():
    xp, xn = make_toy("gaussians", 150, seed=0)
    rep = verify(xp, xn, 1.0, 0.1, train_kwargs={"epochs": 150}, n_test_points=60)
    assert rep.passed, rep.table()
    assert rep.train_seconds > 0
    assert rep.net_lipschitz["max_grad_norm"] <= 1 + Tolerances().net_lipschitz


def test_potential_agreement_ignores_the_free_constant_only_at_lam0():
    xp, xn = make_toy("moons", 30, seed=9)
    res0 = hkr_transport(xp, xn, lam=0.0, margin=0.1)
    pr = res0.problem
    shifted = check_potential_agreement(pr, res0.f_pos, res0.f_neg, res0.f_pos + 1, res0.f_neg + 1)
    assert shifted.passed and shifted.parts[0].value < 1e-12
    flipped = check_potential_agreement(pr, res0.f_pos, res0.f_neg, -res0.f_pos, -res0.f_neg)
    assert not flipped.passed


def test_accuracies_weight_classes_by_the_prior():
    acc = accuracies(Problem([[0.0]], [[1.0]], p=0.25), [0.3], [-0.5], radii=(0.4,))
    assert acc["acc_clean"] == 1.0
    assert acc["acc_cert_0.4"] == pytest.approx(0.75)  # only the negative is certified at 0.4
    assert acc["mean_radius"] == pytest.approx(0.25 * 0.3 + 0.75 * 0.5)
