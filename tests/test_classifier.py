"""HKRClassifier: scikit-learn's estimator checks, agreement with otreg.nn.fit, sound certified
radii (binary and multi-class), reproducibility, warm start, and import without scikit-learn."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from otreg import HKRClassifier, Problem  # noqa: E402
from otreg.classifier import certified_radius, lipschitz_bound  # noqa: E402
from otreg.experiments.attack import pgd_l2  # noqa: E402
from otreg.nn import Tensor, fit  # noqa: E402

# small training budgets on purpose: the neural solver's "stopped on its budget" warning is noise
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")

# float64 training: scikit-learn's weighted-vs-repeated-rows check compares to rtol 1e-7, which
# float32 passes (the default) only meet to their rounding (~1e-5)
FAST = dict(steps=30, width=16, depth=2, lr=0.05, dtype="float64")


@parametrize_with_checks([HKRClassifier(**FAST)])
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # scikit-learn runs its array-API input check (NumPy's namespace) only where SciPy's
    # array-API switch is on; the check reads it at call time (pandas, for the pandas input
    # checks, comes with the test extra)
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


def blobs(rng, centers, n=40, scale=0.4):
    x = np.vstack([c + scale * rng.standard_normal((n, len(c))) for c in centers])
    y = np.repeat(np.arange(len(centers)), n)
    return x, y


def test_binary_is_fit_on_the_problem(rng):
    """Any two labels: classes_[1] is the positive class, and the network is exactly the one
    otreg.nn.fit trains on the Problem with the same seed."""
    x, codes = blobs(rng, [(0.0, 0.0), (2.0, 1.0)])
    labels = np.array(["cat", "dog"])[codes]
    clf = HKRClassifier(lam=2.0, margin=0.3, random_state=7, **FAST).fit(x, labels)
    assert list(clf.classes_) == ["cat", "dog"] and clf.n_features_in_ == 2
    seed = int(np.random.RandomState(7).randint(np.iinfo(np.int32).max))
    ref = fit(Problem(x[codes == 1], x[codes == 0], 2.0, 0.3), seed=seed, progress=False,
              architecture="mlp", **{k: v for k, v in FAST.items()})
    f = clf.decision_function(x)
    np.testing.assert_allclose(f, ref.model.predict(x), rtol=0, atol=1e-12)
    assert clf.loss_ == pytest.approx(Problem(x[codes == 1], x[codes == 0], 2.0, 0.3)
                                      .loss(f[codes == 1], f[codes == 0]), abs=1e-12)
    np.testing.assert_array_equal(clf.predict(x), np.where(f > 0, "dog", "cat"))
    assert clf.score(x, labels) == pytest.approx(np.mean(clf.predict(x) == labels))
    np.testing.assert_allclose(clf.certified_radius(x), np.abs(f), rtol=1e-9)


def test_sample_weights_weigh_the_loss(rng):
    """Integer weights give the same loss as repeated rows (full batch: same network up to
    rounding), and the prior follows the weights."""
    x, y = blobs(rng, [(0.0, 0.0), (1.0, 1.0)], n=12, scale=0.6)
    w = rng.integers(1, 4, size=len(y))
    a = HKRClassifier(random_state=0, **FAST).fit(x, y, sample_weight=w)
    b = HKRClassifier(random_state=0, **FAST).fit(np.repeat(x, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.decision_function(x), b.decision_function(x), atol=1e-7)
    assert a.loss_ == pytest.approx(b.loss_, abs=1e-9)


def test_random_state_and_warm_start(rng):
    x, y = blobs(rng, [(0.0, 0.0), (1.5, 0.0)])
    f1 = HKRClassifier(random_state=3, **FAST).fit(x, y).decision_function(x)
    f2 = HKRClassifier(random_state=3, **FAST).fit(x, y).decision_function(x)
    f3 = HKRClassifier(random_state=4, **FAST).fit(x, y).decision_function(x)
    np.testing.assert_array_equal(f1, f2)
    assert np.max(np.abs(f1 - f3)) > 1e-6
    clf = HKRClassifier(random_state=0, warm_start=True, **{**FAST, "steps": 60}).fit(x, y)
    trained = clf.loss_
    clf.set_params(steps=1, lr=1e-5).fit(x, y)  # one tiny step from the trained network
    fresh = HKRClassifier(random_state=0, **{**FAST, "steps": 1, "lr": 1e-5}).fit(x, y)
    assert clf.loss_ == pytest.approx(trained, abs=1e-3 * abs(trained))
    assert fresh.loss_ > trained + 0.5 * abs(trained)


def lipschitz_ratio(fn, x, rng, pairs=2000):
    i, j = rng.integers(0, len(x), size=(2, pairs))
    pts_a = x[i] + 0.5 * rng.standard_normal(x[i].shape)
    pts_b = pts_a + rng.standard_normal(x[i].shape) * rng.uniform(1e-3, 1.0, size=(pairs, 1))
    return np.max(np.abs(fn(pts_a) - fn(pts_b)) / np.linalg.norm(pts_a - pts_b, axis=1))


def test_multiclass_certified_radius(rng):
    """The pairwise bound: f_k - f_j is L_hidden |w_k - w_j|-Lipschitz (checked on random
    pairs), the radius is min_j (f_k - f_j) / that constant (recomputed here), at least half
    the top-two gap, and no PGD attack inside it changes the prediction."""
    x, y = blobs(rng, [(0.0, 0.0), (2.0, 0.0), (1.0, 1.8)], n=30)
    clf = HKRClassifier(lam=5.0, margin=0.3, random_state=0, **{**FAST, "steps": 60}).fit(x, y)
    s = clf.decision_function(x)
    assert s.shape == (len(x), 3)
    np.testing.assert_array_equal(clf.predict(x), clf.classes_[np.argmax(s, axis=1)])
    hidden, w = lipschitz_bound(clf.model_)
    assert hidden <= 1 + 1e-9 and np.all(np.linalg.norm(w, axis=0) <= 1 + 1e-9)
    for k in range(3):
        for j in range(3):
            if j != k:
                const = hidden * np.linalg.norm(w[:, k] - w[:, j])
                ratio = lipschitz_ratio(lambda p: (lambda v: v[:, k] - v[:, j])(
                    clf.decision_function(p)), x, rng)
                assert ratio <= const * (1 + 1e-9)
    r = clf.certified_radius(x)
    top = np.argmax(s, axis=1)
    manual = np.array([min((s[i, top[i]] - s[i, j]) / (hidden * np.linalg.norm(
        w[:, top[i]] - w[:, j])) for j in range(3) if j != top[i]) for i in range(len(x))])
    np.testing.assert_allclose(r, manual, rtol=1e-12)
    srt = np.sort(s, axis=1)
    assert np.all(r >= (srt[:, -1] - srt[:, -2]) / 2 - 1e-12)
    score = (lambda t: clf.model_(t, [(Tensor(l.effective_weight()), Tensor(l.bias.data))
                                      for l in clf.model_.dense_layers]))
    attack = pgd_l2(score, x, top, 0.999 * r, steps=40, restarts=2, box=None)
    assert not np.any(attack.success)
    # at twice the radius the attack does break some predictions: the bound is not vacuous
    assert np.any(pgd_l2(score, x, top, 2.0 * r + 1e-3, steps=40, restarts=2,
                         box=None).success)


def test_certified_radius_with_identical_outputs(rng):
    """Two identical output columns never swap order: only the third class bounds the radius."""
    x, y = blobs(rng, [(0.0, 0.0), (2.0, 0.0), (1.0, 1.8)], n=10)
    clf = HKRClassifier(random_state=0, **FAST).fit(x, y)
    out = clf.model_.dense_layers[-1]
    out.frozen[:, 1], out.bias.data[1] = out.frozen[:, 0], out.bias.data[0]
    s = clf.decision_function(x)
    hidden, w = lipschitz_bound(clf.model_)
    expect = np.where(s[:, 0] >= s[:, 2], (s[:, 0] - s[:, 2]), (s[:, 2] - s[:, 0])) \
        / (hidden * np.linalg.norm(w[:, 0] - w[:, 2]))
    np.testing.assert_allclose(clf.certified_radius(x), expect, rtol=1e-12)


def test_certified_radius_function_binary(rng):
    x, y = blobs(rng, [(0.0, 0.0), (1.0, 1.0)])
    clf = HKRClassifier(random_state=0, **FAST).fit(x, y)
    f = clf.decision_function(x)
    np.testing.assert_allclose(certified_radius(clf.model_, f), clf.certified_radius(x))
    assert lipschitz_ratio(clf.decision_function, x, rng) <= 1 + 1e-9


def test_import_otreg_without_sklearn():
    """``import otreg`` and the solvers work when scikit-learn cannot be imported;
    ``otreg.HKRClassifier`` then says how to install it."""
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "sklearn" or name.startswith("sklearn."):
                    raise ModuleNotFoundError("No module named 'sklearn' (blocked)")
        sys.meta_path.insert(0, Block())
        import otreg
        assert "HKRClassifier" in dir(otreg)
        print(otreg.hkr_transport([[0.0], [1.0]], [[3.0]], lam=1.0).loss)
        try:
            otreg.HKRClassifier
        except ImportError as exc:
            print("IMPORT-ERROR", exc)
    """)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "IMPORT-ERROR" in out.stdout and "otreg[sklearn]" in out.stdout
    assert "sklearn" not in out.stderr


def test_default_margin_follows_the_data_scale(rng):
    """margin=None: half the data's RMS radius, so that features in other units (x 1000) give
    the same classifier, its scores in the new units (float64: equal to rounding)."""
    from otreg.nn.train import data_units

    x, y = blobs(rng, [(0.0, 0.0), (1.5, 0.5)], n=20)
    small = HKRClassifier(random_state=3, **FAST).fit(x, y)
    big = HKRClassifier(random_state=3, **FAST).fit(1000.0 * x, y)
    assert small.margin_ == pytest.approx(0.5 * data_units(x, np.ones(len(x)))[1], rel=1e-12)
    assert big.margin_ == pytest.approx(1000.0 * small.margin_, rel=1e-12)
    np.testing.assert_allclose(big.decision_function(1000.0 * x),
                               1000.0 * small.decision_function(x), rtol=1e-6, atol=1e-9)


def test_row_order_and_repeats_give_the_same_network(rng):
    """Integer weights = repeated rows, shuffled rows = the same rows: bit-identical networks
    after a few hundred float32 steps (the rows are put in canonical form first; without it
    the rounding of the loss's sums would send the trainings apart)."""
    x, y = blobs(rng, [(0.0, 0.0), (1.0, 0.3), (0.4, 1.2)], n=8)
    w = rng.integers(0, 4, len(y))
    w[[0, 8, 16]] = 1  # every class keeps some weight
    opts = dict(steps=300, width=16, depth=2, random_state=1)
    weighted = HKRClassifier(**opts).fit(x, y, sample_weight=w)
    order = rng.permutation(int(w.sum()))
    repeated = HKRClassifier(**opts).fit(np.repeat(x, w, axis=0)[order],
                                         np.repeat(y, w)[order])
    probe = rng.uniform(-1.0, 2.0, (50, 2))
    np.testing.assert_array_equal(weighted.decision_function(probe),
                                  repeated.decision_function(probe))


def test_grid_search_over_lam_and_margin(rng):
    """The documented GridSearchCV example, tiny: every candidate scored, and the refit
    estimator is the one a fresh fit with the best parameters gives."""
    from sklearn.model_selection import GridSearchCV

    x, y = blobs(rng, [(0.0, 0.0), (1.2, 0.4)], n=15)
    grid = {"lam": [1.0, 10.0], "margin": [None, 0.3]}
    search = GridSearchCV(HKRClassifier(random_state=0, **FAST), grid, cv=2).fit(x, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all((scores >= 0) & (scores <= 1))
    assert search.best_score_ == pytest.approx(scores.max())
    again = HKRClassifier(random_state=0, **FAST, **search.best_params_).fit(x, y)
    np.testing.assert_array_equal(search.best_estimator_.decision_function(x),
                                  again.decision_function(x))
