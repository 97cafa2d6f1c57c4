"""The digits experiment: attacks against closed forms, the baseline's loss against its formula,
and a quick run on real digits where the certificate must be sound (certified accuracy never
above the attacked accuracy, certified radius never above the attack's radius)."""
import json
import os

import numpy as np
import pytest

pytest.importorskip("sklearn")

from otreg import wasserstein1  # noqa: E402
from otreg.cli import main  # noqa: E402
from otreg.experiments import (  # noqa: E402
    EPS,
    DigitsConfig,
    load_digit_pair,
    minimal_adversarial_radius,
    pgd_l2,
    projected_optimum_gaps,
    run_digits,
    train_baseline,
)
from otreg.experiments.attack import margin  # noqa: E402
from otreg.experiments.baseline import cross_entropy  # noqa: E402
from otreg.nn import Tensor  # noqa: E402

# small training budgets on purpose: the neural solver's "stopped on its budget" warning is noise
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")

ROW_KEYS = {"lam", "exact_loss", "network_loss", "gap", "clean_acc", "certified_acc",
            "attack_acc", "baseline_clean_acc", "baseline_attack_acc"}
EPS_KEYS = {"0.1", "0.25", "0.5", "1", "1.5"}


def linear_score(w, b):
    return lambda x: x @ Tensor(w) + b


def test_pgd_on_a_linear_score_finds_the_exact_distance(rng):
    """For f(x) = w.x + b the distance to {f = 0} is |f(x)| / |w|: PGD breaks every row just
    beyond it, none just below it, and the bisection recovers it."""
    d = 10
    w, b = rng.standard_normal(d), 0.3
    x = rng.standard_normal((40, d))
    f = x @ w + b
    y = np.sign(f)
    dist = np.abs(f) / np.linalg.norm(w)
    score = linear_score(w, b)
    above = pgd_l2(score, x, y, 1.01 * dist, steps=30, restarts=1, box=None)
    below = pgd_l2(score, x, y, 0.99 * dist, steps=30, restarts=3, box=None)
    assert np.all(above.success) and not np.any(below.success)
    assert np.all(above.norm <= 1.01 * dist + 1e-12)
    found = minimal_adversarial_radius(score, x, y, 2 * dist.max(), iters=12, steps=30,
                                       box=None)
    np.testing.assert_allclose(found.norm, dist, rtol=0.01)
    assert np.all(y * (found.x_adv @ w + b) <= 0) and np.all(found.success)


def test_pgd_stays_in_the_ball_and_the_box(rng):
    x = rng.uniform(0, 1, size=(30, 6))
    w = rng.standard_normal(6)
    y = np.sign(x @ w - 0.1)
    eps = rng.uniform(0.05, 0.5, size=30)
    res = pgd_l2(linear_score(w, -0.1), x, y, eps, steps=20, restarts=3, box=(0.0, 1.0))
    assert np.all(np.linalg.norm(res.x_adv - x, axis=1) <= eps + 1e-12)
    assert res.x_adv.min() >= 0 and res.x_adv.max() <= 1


def test_multiclass_margin_and_cross_entropy(rng):
    s = rng.standard_normal((7, 4))
    lab = rng.integers(0, 4, size=7)
    other = np.where(np.arange(4) == lab[:, None], -np.inf, s).max(axis=1)
    np.testing.assert_allclose(margin(Tensor(s), lab).data, s[np.arange(7), lab] - other)
    # softmax cross-entropy against its formula, logistic loss against log(1 + exp(-y s))
    ce = s.max(1) + np.log(np.exp(s - s.max(1, keepdims=True)).sum(1)) - s[np.arange(7), lab]
    assert cross_entropy(Tensor(s), lab).item() == pytest.approx(ce.mean(), rel=1e-12)
    z = np.array([-800.0, -3.0, 0.0, 2.0, 900.0])
    codes = np.array([1, 0, 1, 1, 0])
    ys = np.where(codes == 1, 1.0, -1.0)
    assert cross_entropy(Tensor(z), codes).item() == pytest.approx(
        np.mean(np.logaddexp(0.0, -ys * z)), rel=1e-12)
    # its gradient by central differences
    zt = Tensor(z[1:4], requires_grad=True)
    cross_entropy(zt, codes[1:4]).backward()
    h = 1e-6
    num = [(np.mean(np.logaddexp(0, -ys[1:4] * (z[1:4] + h * e)))
            - np.mean(np.logaddexp(0, -ys[1:4] * (z[1:4] - h * e)))) / (2 * h)
           for e in np.eye(3)]
    np.testing.assert_allclose(zt.grad, num, rtol=1e-6)


def test_split_is_stratified_and_seeded():
    a = load_digit_pair(3, 5, test_size=0.25, seed=1)
    b = load_digit_pair(3, 5, test_size=0.25, seed=1)
    c = load_digit_pair(3, 5, test_size=0.25, seed=2)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.x_test, c.x_test)
    for digit in (3, 5):
        n_tr, n_te = np.sum(a.y_train == digit), np.sum(a.y_test == digit)
        assert abs(n_te / (n_tr + n_te) - 0.25) < 0.01
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1 and a.x_train.shape[1] == 64


def test_baseline_learns_separable_data(rng):
    x = np.vstack([rng.normal(0, 0.3, (40, 5)), rng.normal(1.5, 0.3, (40, 5))])
    codes = np.repeat([0, 1], 40)
    net = train_baseline(x, codes, width=16, depth=2, epochs=40, lr=1e-2)
    assert np.mean(net.predict_class(x) == codes) == 1.0
    three = train_baseline(np.vstack([x, rng.normal(-1.5, 0.3, (40, 5))]),
                           np.repeat([0, 1, 2], 40), width=16, depth=2, epochs=40, lr=1e-2)
    assert three.predict(x).shape == (80, 3)


@pytest.fixture(scope="module")
def quick_run():
    """A quick run on real digits 0 vs 8 with an attack stronger than --quick's."""
    return run_digits((0, 8), DigitsConfig.quick(attack=dict(steps=50, restarts=3)))


def test_json_schema(quick_run):
    data = json.loads(json.dumps(quick_run.to_json()))
    assert set(data) == {"pair", "rows"} and data["pair"] == [0, 8]
    assert [r["lam"] for r in data["rows"]] == [1.0, 10.0]
    for row in data["rows"]:
        assert set(row) == ROW_KEYS
        for key in ("certified_acc", "attack_acc", "baseline_attack_acc"):
            assert set(row[key]) == EPS_KEYS
            assert all(0.0 <= v <= 1.0 for v in row[key].values())


def test_certificate_is_sound_on_real_digits(quick_run):
    """The soundness of the certificate: certified accuracy never above the attacked accuracy
    at the same ε; per image, the certified radius never above the smallest adversarial radius
    found."""
    for r in quick_run.rows:
        for e in EPS:
            k = f"{e:g}"
            assert r.certified_acc[k] <= r.attack_acc[k] <= r.clean_acc
        assert r.attack_acc["1.5"] < r.clean_acc  # the attack does break images
    shown = quick_run.rows[quick_run.shown]
    ok = quick_run.signs * shown.scores > 0
    assert np.all(shown.radius[ok] <= quick_run.hkr_minimal.norm[ok] * (1 + 1e-9))
    assert np.all(shown.radius[ok] <= quick_run.hkr_minimal_unboxed.norm[ok] * (1 + 1e-9))
    # the certificate is close to tight: the attack needs at most ~|f(x)| on most images
    assert np.median(quick_run.hkr_minimal.norm[ok] / shown.radius[ok]) < 1.3


def test_losses_against_independent_computations(quick_run):
    """The network cannot beat the exact optimum (it is feasible for the LP); min L lies in
    [-W1, -W1 + ...] and rises with λ; the network loss is L of its outputs."""
    split = quick_run.split
    w1 = wasserstein1(split.problem(1.0, 1.0))
    prev = -np.inf
    for r in quick_run.rows:
        pr = split.problem(r.lam, quick_run.config.margin)
        assert r.exact_loss >= -w1 - 1e-9 and r.exact_loss >= prev - 1e-12
        prev = r.exact_loss
        assert r.gap >= -1e-9 and r.network_loss >= r.exact_loss - 1e-9
        f = r.model.predict(pr.samples)
        assert r.network_loss == pytest.approx(pr.loss(f[:pr.n], f[pr.n:]), abs=1e-10)
        assert r.gap == pytest.approx((r.network_loss - r.exact_loss)
                                      / (abs(r.exact_loss) + 2 * quick_run.config.margin))


def test_projected_optimum_gaps(quick_run):
    """Reading more principal directions can only help (a function of k coordinates is one of
    k + 1), and all 64 of them are a rotation: the full optimum."""
    res = projected_optimum_gaps(quick_run.split, 10.0, 1.0, dims=(1, 5, 20, 64))
    gaps = [r["gap"] for r in res]
    assert all(g2 <= g1 + 1e-9 for g1, g2 in zip(gaps, gaps[1:]))
    assert gaps[0] > 0.1 and abs(gaps[-1]) < 1e-9
    assert res[-1]["loss"] == pytest.approx(quick_run.rows[1].exact_loss, abs=1e-9)


def test_cli_experiment_digits(tmp_path, capsys):
    out = tmp_path / "d.json"
    code = main(["experiment", "digits", "--pair", "8,0", "--quick", "--lam", "3",
                 "--json", str(out), "--plots", str(tmp_path / "png")])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["pair"] == [8, 0] and [r["lam"] for r in data["rows"]] == [3.0]
    assert sorted(os.listdir(tmp_path / "png")) == [
        f"digits_8_0_{k}.png" for k in ("accuracy_eps", "adversarial", "lambda", "tightness")]
    text = capsys.readouterr().out
    assert "| 8 vs 0 | 3 |" in text and "load average" in text
    assert main(["experiment", "digits", "--pair", "4,4", "--quick"]) == 2
    # bad options fail at once, before any computation, naming the option
    capsys.readouterr()
    assert main(["experiment", "digits", "--pair", "0,8", "--json", str(tmp_path)]) == 2
    assert main(["experiment", "digits", "--pair", "0,8", "--lam", "1,x"]) == 2
    assert main(["experiment", "digits", "--pair", "0,8", "--lam", "-1", "--quick"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [e.split(":")[2].strip() for e in err] == ["json", "lam", "lam"], err
