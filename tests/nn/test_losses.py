"""hKR losses against docs/mathematics.md §1, computed independently in plain NumPy."""
import numpy as np
import pytest

from otreg.errors import InputError
from otreg import Problem
from otreg.nn import Tensor, hinge_loss, hkr_loss, kr_loss, multiclass_hkr_loss

from nn_gradcheck import check_grads

rng = np.random.default_rng(11)


def spec_loss(f_pos, f_neg, a, b, p, lam, m):
    """The loss of docs/mathematics.md §1, written out term by term with explicit loops."""
    a = np.asarray(a, float) / np.sum(a)
    b = np.asarray(b, float) / np.sum(b)
    kr = sum(b[j] * f_neg[j] for j in range(len(f_neg))) - sum(a[i] * f_pos[i]
                                                               for i in range(len(f_pos)))
    hinge = (p * sum(a[i] * max(m - f_pos[i], 0.0) for i in range(len(f_pos)))
             + (1 - p) * sum(b[j] * max(m + f_neg[j], 0.0) for j in range(len(f_neg))))
    return kr + lam * hinge, kr, hinge


def data(n=7, m=5, weighted=True):
    f_pos, f_neg = rng.normal(0, 0.3, n), rng.normal(0, 0.3, m)
    a = rng.uniform(0.1, 2.0, n) if weighted else np.ones(n)
    b = rng.uniform(0.1, 2.0, m) if weighted else np.ones(m)
    return f_pos, f_neg, a, b


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("lam,margin", [(0.0, 0.1), (1.0, 0.1), (7.5, 0.3)])
def test_hkr_loss_equals_the_formula(weighted, lam, margin):
    f_pos, f_neg, a, b = data(weighted=weighted)
    # default prior: positive share of the raw mass (n/(n+m) for uniform weights)
    p_default = a.sum() / (a.sum() + b.sum())
    expected, kr, hinge = spec_loss(f_pos, f_neg, a, b, p_default, lam, margin)
    # mix the classes so that order does not matter
    order = rng.permutation(12)
    f = np.concatenate([f_pos, f_neg])[order]
    y = np.concatenate([np.ones(7), -np.ones(5)])[order]
    w = np.concatenate([a, b])[order]
    got = hkr_loss(Tensor(f), y, lam=lam, margin=margin, weights=w).item()
    assert got == pytest.approx(expected, abs=1e-14)
    assert kr_loss(Tensor(f), y, weights=w).item() == pytest.approx(kr, abs=1e-14)
    assert hinge_loss(Tensor(f), y, margin=margin, weights=w).item() == pytest.approx(hinge,
                                                                                     abs=1e-14)
    xp, xn = rng.normal(size=(7, 2)), rng.normal(size=(5, 2))   # Problem.loss: same formula
    pr = Problem(xp, xn, lam, margin, a, b)
    assert pr.loss(f_pos, f_neg) == pytest.approx(expected, abs=1e-14)
    # explicit prior
    exp_p, _, _ = spec_loss(f_pos, f_neg, a, b, 0.3, lam, margin)
    assert hkr_loss(Tensor(f), y, lam, margin, p=0.3, weights=w).item() == pytest.approx(
        exp_p, abs=1e-14)
    assert pr.with_params(p=0.3).loss(f_pos, f_neg) == pytest.approx(exp_p, abs=1e-14)


def test_uniform_default_prior_is_n_over_n_plus_m():
    f_pos, f_neg, _, _ = data(9, 3, weighted=False)
    expected, _, _ = spec_loss(f_pos, f_neg, np.ones(9), np.ones(3), 9 / 12, 2.0, 0.1)
    pr = Problem(np.zeros((9, 1)), np.ones((3, 1)), lam=2.0, margin=0.1)
    assert pr.p == 9 / 12
    assert pr.loss(f_pos, f_neg) == pytest.approx(expected, abs=1e-14)


def test_lam_zero_is_mean_difference():
    f_pos, f_neg, _, _ = data(weighted=False)
    pr = Problem(np.zeros((len(f_pos), 1)), np.ones((len(f_neg), 1)), lam=0.0)
    assert pr.loss(f_pos, f_neg) == pytest.approx(f_neg.mean() - f_pos.mean(), abs=1e-15)


def test_column_shape_and_unnormalised_weights():
    f_pos, f_neg, a, b = data()
    f = np.concatenate([f_pos, f_neg])[:, None]
    y = np.concatenate([np.ones(7), -np.ones(5)])
    w = np.concatenate([a / a.sum(), b / b.sum()])
    p = 0.4
    exp, _, _ = spec_loss(f_pos, f_neg, a, b, p, 3.0, 0.2)
    # normalize=False: weights used as given (already normalised here) -> same value
    got = hkr_loss(Tensor(f), y, 3.0, 0.2, p=p, weights=w, normalize=False).item()
    assert got == pytest.approx(exp, abs=1e-14)
    # the mini-batch scaling of fit: K batches, weights * K, summed over a partition
    parts = np.array_split(rng.permutation(12), 3)
    total = sum(hkr_loss(Tensor(f[idx]), y[idx], 3.0, 0.2, p=p, weights=3 * w[idx],
                         normalize=False).item() for idx in parts) / 3
    assert total == pytest.approx(exp, abs=1e-14)


def test_loss_gradients():
    f_pos, f_neg, a, b = data()
    f = np.concatenate([f_pos, f_neg])
    f[np.abs(np.abs(f) - 0.1) < 0.02] += 0.05  # keep away from the hinge kinks
    y = np.concatenate([np.ones(7), -np.ones(5)])
    w = np.concatenate([a, b])
    check_grads(lambda t: hkr_loss(t, y, 2.0, 0.1, weights=w), f)
    t = Tensor(f, requires_grad=True)
    hkr_loss(t, y, 2.0, 0.1, weights=w).backward()
    an, bn = a / a.sum(), b / b.sum()
    p = a.sum() / w.sum()
    expected = np.concatenate([-an - 2.0 * p * an * (f[:7] < 0.1),
                               bn + 2.0 * (1 - p) * bn * (f[7:] > -0.1)])
    np.testing.assert_allclose(t.grad, expected, atol=1e-15)


def test_multiclass_is_sum_of_one_vs_all():
    k, c = 20, 3
    f = rng.normal(0, 0.3, (k, c))
    labels = np.arange(k) % c
    w = rng.uniform(0.5, 1.5, k)
    got = multiclass_hkr_loss(Tensor(f), labels, lam=2.0, margin=0.15, weights=w).item()
    expected = 0.0
    for cls in range(c):
        pos = labels == cls
        p = w[pos].sum() / w.sum()
        expected += spec_loss(f[pos, cls], f[~pos, cls], w[pos], w[~pos], p, 2.0, 0.15)[0]
    assert got == pytest.approx(expected, abs=1e-13)
    check_grads(lambda t: multiclass_hkr_loss(t, labels, 2.0, 0.15, weights=w), f)


def test_loss_input_errors():
    f = Tensor(np.zeros(4))
    with pytest.raises(InputError, match="^y"):
        hkr_loss(f, [1, 0, 1, -1])
    with pytest.raises(InputError, match="^y"):
        hkr_loss(f, [1, 1, 1])
    with pytest.raises(InputError, match="^y"):
        hkr_loss(f, [1, 1, 1, 1])  # no negative sample
    with pytest.raises(InputError, match="^lam"):
        hkr_loss(f, [1, -1, 1, -1], lam=-1)
    with pytest.raises(InputError, match="^margin"):
        hkr_loss(f, [1, -1, 1, -1], margin=0)
    with pytest.raises(InputError, match="^p"):
        hkr_loss(f, [1, -1, 1, -1], p=1.0)
    with pytest.raises(InputError, match="^weights"):
        hkr_loss(f, [1, -1, 1, -1], weights=[1, -1, 1, 1])
    with pytest.raises(InputError, match="^f"):
        hkr_loss(Tensor(np.zeros((2, 2))), [1, -1])
    with pytest.raises(InputError, match="^labels"):
        multiclass_hkr_loss(Tensor(np.zeros((3, 2))), [0, 1, 2])
    with pytest.raises(InputError, match="^a"):
        Problem([[0.0]], [[0.0]], a=[-1.0])
