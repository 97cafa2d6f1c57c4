"""Exact hKR solver: every number checked against an independent computation."""
import numpy as np
import ot
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from hkr_reference import dual_lp_value
from otreg import InputError, MemoryLimitError, hkr_transport, wasserstein1
from otreg.data.toys import two_moons
from otreg.transport import objective, solve
from otreg.transport.methods import LAM_MAX_BY_METHOD
from otreg.transport.sparse import SPARSE_BYTES_PER_POINT

METHODS = ["highs", "pot", "netsimplex"]


def random_problem(rng, n, m, d, weighted):
    xp = rng.normal(size=(n, d))
    xn = rng.normal(size=(m, d)) + 0.7
    a = rng.uniform(0.2, 1.0, n) if weighted else None
    b = rng.uniform(0.2, 1.0, m) if weighted else None
    return xp, xn, a, b


CASES = [
    # n, m, d, weighted, lam, margin
    (7, 5, 1, False, 1.0, 0.1),
    (12, 15, 2, True, 0.5, 0.3),
    (20, 20, 2, False, 10.0, 0.05),
    (9, 14, 5, True, 100.0, 1.0),
    (25, 18, 3, False, 0.0, 0.2),
    (1, 6, 2, False, 3.0, 0.5),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n,m,d,weighted,lam,margin", CASES)
def test_strong_duality(rng, method, n, m, d, weighted, lam, margin):
    xp, xn, a, b = random_problem(rng, n, m, d, weighted)
    res = hkr_transport(xp, xn, lam=lam, margin=margin, a=a, b=b, method=method)
    pr = res.problem
    dual = dual_lp_value(xp, xn, lam, margin, pr.a, pr.b, pr.p)
    dist = np.sqrt(((xp[:, None] - xn[None]) ** 2).sum(-1))
    primal = float(np.sum(res.plan * (dist - 2 * margin)))
    L_f = pr.loss(res.f_pos, res.f_neg)
    for value in (dual, -2 * margin - primal, L_f, res.dual_value):
        assert res.loss == pytest.approx(value, abs=1e-8 * (1 + lam))
    assert res.primal_value == pytest.approx(primal, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n,m,d,weighted,lam,margin", CASES)
def test_optimality_conditions(rng, method, n, m, d, weighted, lam, margin):
    xp, xn, a, b = random_problem(rng, n, m, d, weighted)
    res = hkr_transport(xp, xn, lam=lam, margin=margin, a=a, b=b, method=method)
    pr, plan = res.problem, res.plan
    tol = 1e-9
    rows, cols = plan.sum(1), plan.sum(0)
    # marginal bounds (docs/mathematics.md §3)
    assert np.all(plan >= -tol)
    assert np.all(rows >= pr.a - tol) and np.all(rows <= (1 + lam * pr.p) * pr.a + tol)
    assert np.all(cols >= pr.b - tol) and np.all(cols <= (1 + lam * (1 - pr.p)) * pr.b + tol)
    # feasibility and transport rays: f(x_i) - f(z_j) <= d_ij, equality on the support
    dist = np.sqrt(((xp[:, None] - xn[None]) ** 2).sum(-1))
    diff = res.f_pos[:, None] - res.f_neg[None, :]
    assert np.max(diff - dist) <= tol
    support = plan > 1e-12
    assert np.max(np.abs(diff - dist)[support]) <= tol
    # hinge / marginal slackness
    if lam > 0:
        inside_pos = res.f_pos < margin - tol
        above_pos = res.f_pos > margin + tol
        assert np.allclose(rows[inside_pos], (1 + lam * pr.p) * pr.a[inside_pos], atol=tol)
        assert np.allclose(rows[above_pos], pr.a[above_pos], atol=tol)
        inside_neg = -res.f_neg < margin - tol
        above_neg = -res.f_neg > margin + tol
        assert np.allclose(cols[inside_neg], (1 + lam * (1 - pr.p)) * pr.b[inside_neg], atol=tol)
        assert np.allclose(cols[above_neg], pr.b[above_neg], atol=tol)
    # mass balance: the extra mass above the lower bounds is the same on both sides
    assert rows.sum() - 1 == pytest.approx(cols.sum() - 1, abs=1e-12)
    assert res.mass == pytest.approx(rows.sum(), abs=1e-12)


@pytest.mark.parametrize("kind", ["mcshane", "whitney", "mean"])
def test_potential_extension_is_1_lipschitz_and_interpolates(rng, kind):
    xp, xn = two_moons(40, 30, seed=3)
    res = hkr_transport(xp, xn, lam=2.0, margin=0.2)
    samples = np.vstack([xp, xn])
    assert np.allclose(res.potential(samples, kind), np.concatenate([res.f_pos, res.f_neg]),
                       atol=1e-12)
    u = rng.uniform(-2, 3, size=(4000, 2))
    v = u + rng.normal(scale=rng.choice([1e-3, 0.1, 1.0], size=(4000, 1)), size=(4000, 2))
    ratio = np.abs(res.potential(u, kind) - res.potential(v, kind)) / np.linalg.norm(u - v, axis=1)
    assert ratio.max() <= 1 + 1e-9
    # on the samples: 1-Lipschitz on all pairs, both classes together
    fs = np.concatenate([res.f_pos, res.f_neg])
    ds = np.sqrt(((samples[:, None] - samples[None]) ** 2).sum(-1))
    assert np.max(np.abs(fs[:, None] - fs[None, :]) - ds) <= 1e-12


def test_mcshane_and_whitney_bracket_every_extension(rng):
    xp, xn = two_moons(30, seed=5)
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1)
    pts = rng.uniform(-1.5, 2.5, size=(500, 2))
    hi, lo, mid = (res.potential(pts, k) for k in ("mcshane", "whitney", "mean"))
    assert np.all(lo <= hi + 1e-12)
    assert np.allclose(mid, 0.5 * (lo + hi))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 12), m=st.integers(1, 12), d=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1), weighted=st.booleans(),
)
def test_lam0_is_kantorovich_rubinstein(n, m, d, seed, weighted):
    rng = np.random.default_rng(seed)
    xp, xn, a, b = random_problem(rng, n, m, d, weighted)
    res = hkr_transport(xp, xn, lam=0.0, margin=0.3, a=a, b=b)
    wa = np.ones(n) / n if a is None else a / a.sum()
    wb = np.ones(m) / m if b is None else b / b.sum()
    M = ot.dist(xp, xn, metric="euclidean")
    assert res.loss == pytest.approx(-ot.emd2(wa, wb, M), abs=1e-9)
    assert wasserstein1(xp, xn, a, b) == pytest.approx(-res.loss, abs=1e-9)
    assert res.mass == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 10), m=st.integers(1, 10), seed=st.integers(0, 2**32 - 1),
    lam=st.sampled_from([0.0, 0.1, 1.0, 10.0, 1e4]), margin=st.sampled_from([0.01, 0.2, 1.0]),
    dup=st.booleans(), shared=st.booleans(),
)
def test_methods_agree(n, m, seed, lam, margin, dup, shared):
    rng = np.random.default_rng(seed)
    xp = rng.normal(size=(n, 2))
    xn = rng.normal(size=(m, 2)) + 0.5
    if dup and n > 1:
        xp[1] = xp[0]
    if shared:
        xn[0] = xp[-1]
    methods = [k for k in ("highs", "pot", "netsimplex", "auto") if lam <= LAM_MAX_BY_METHOD[k]]
    if "pot" not in methods:  # beyond the lam it certifies: refused, naming lam and the method
        with pytest.raises(InputError, match="^lam: .*'pot'"):
            hkr_transport(xp, xn, lam=lam, margin=margin, method="pot")
    losses = [hkr_transport(xp, xn, lam=lam, margin=margin, method=k).loss for k in methods]
    for other in losses[1:]:
        assert other == pytest.approx(losses[0], abs=1e-8 * (1 + abs(losses[0])))


def test_wasserstein1_matches_closed_form_in_1d(rng):
    xp = rng.normal(size=(37, 1))
    xn = rng.normal(size=(23, 1)) * 2 + 1
    a = rng.uniform(0.1, 1, 37)
    expected = wasserstein_distance(xp[:, 0], xn[:, 0], u_weights=a)
    assert wasserstein1(xp, xn, a=a) == pytest.approx(expected, abs=1e-12)
    assert hkr_transport(xp, xn, lam=0.0, margin=0.1, a=a).loss == pytest.approx(
        -expected, abs=1e-9)


def test_loss_decreases_to_minus_w1_as_lambda_vanishes():
    xp, xn = two_moons(60, seed=7)
    w1 = wasserstein1(xp, xn)
    prev = None
    for lam in [1.0, 0.1, 0.01, 0.001]:
        loss = hkr_transport(xp, xn, lam=lam, margin=0.1).loss
        assert loss >= -w1 - 1e-12  # the hinge term is >= 0
        if prev is not None:
            assert loss <= prev + 1e-12  # L is non-decreasing in lam
        prev = loss
    assert prev == pytest.approx(-w1, abs=2e-3)


@pytest.mark.parametrize("s", [0.1, 3.0])
def test_scaling(s):
    xp, xn = two_moons(30, 25, seed=2)
    base = hkr_transport(xp, xn, lam=2.0, margin=0.15).loss
    scaled = hkr_transport(s * xp, s * xn, lam=2.0, margin=0.15 * s).loss
    assert scaled == pytest.approx(s * base, abs=1e-9 * (1 + s))


def test_rotation_translation_invariance(rng):
    xp, xn = rng.normal(size=(20, 3)), rng.normal(size=(17, 3)) + 1
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    shift = rng.normal(size=3) * 10
    base = hkr_transport(xp, xn, lam=5.0, margin=0.2)
    moved = hkr_transport(xp @ q.T + shift, xn @ q.T + shift, lam=5.0, margin=0.2)
    assert moved.loss == pytest.approx(base.loss, abs=1e-9)


def test_identical_clouds_and_duplicates():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    res = hkr_transport(x, x, lam=1.0, margin=0.5)
    # closed form: with the same measure on both sides (p = 1/2) the KR term of any f is 0 and
    # the hinge term is (1/2) sum a ((m - f)_+ + (m + f)_+) >= m, with equality at f = 0:
    # min L = lam * margin
    assert res.loss == pytest.approx(0.5, abs=1e-12)
    assert res.gap <= 1e-9
    res = hkr_transport(x, x, lam=3.0, margin=0.2)
    assert res.loss == pytest.approx(0.6, abs=1e-12)


BAD = [
    (dict(x_pos=np.array([[np.nan, 0.0]])), "x_pos"),
    (dict(x_neg=np.array([[np.inf, 0.0]])), "x_neg"),
    (dict(x_pos=np.zeros((0, 2))), "x_pos"),
    (dict(x_pos=np.zeros(3)), "x_pos"),
    (dict(x_neg=np.zeros((3, 3))), "x_neg"),
    (dict(a=np.array([1.0, -1.0, 1.0])), "a"),
    (dict(b=np.zeros(2)), "b"),
    (dict(a=np.ones(4)), "a"),
    (dict(b=np.array([1.0, np.nan])), "b"),
    (dict(lam=-0.1), "lam"),
    (dict(lam=float("nan")), "lam"),
    (dict(margin=0.0), "margin"),
    (dict(margin=-1.0), "margin"),
    (dict(p=1.0), "p"),
    (dict(p=0.0), "p"),
    (dict(method="simplex"), "method"),
]


@pytest.mark.parametrize("override,name", BAD)
def test_bad_input_names_the_argument(override, name):
    kwargs = dict(x_pos=np.zeros((3, 2)), x_neg=np.ones((2, 2)), lam=1.0, margin=0.1)
    kwargs.update(override)
    with pytest.raises(InputError, match=rf"^{name}:"):
        hkr_transport(**kwargs)


def test_memory_guard_raises_before_allocating(monkeypatch):
    monkeypatch.setattr(objective, "MAX_DENSE_BYTES", 10_000)
    with pytest.raises(MemoryLimitError, match="n=100, m=100"):
        hkr_transport(np.zeros((100, 2)), np.ones((100, 2)), method="netsimplex")
    with pytest.raises(MemoryLimitError, match="n=100, m=100"):
        wasserstein1(np.zeros((100, 2)), np.ones((100, 2)), method="pot")


def test_auto_goes_sparse_beyond_the_memory_limit(monkeypatch):
    """Above the dense limit ``method="auto"`` solves by column generation (same answer); above
    the sparse solver's own estimate it refuses too."""
    x, z = two_moons(1500, seed=3)
    ref = hkr_transport(x, z, method="netsimplex")
    w1 = wasserstein1(x, z)
    monkeypatch.setattr(objective, "MAX_DENSE_BYTES", 17_000_000)  # dense: 18.9 MB, sparse: 15
    assert 8 * 1500**2 * solve.HKR_DENSE_COPIES > 17e6 > 2 * 1500 * SPARSE_BYTES_PER_POINT
    res = hkr_transport(x, z)
    assert res.method == "sparse" and "distances" not in res.__dict__
    assert res.loss == pytest.approx(ref.loss, rel=1e-12)
    assert wasserstein1(x, z) == pytest.approx(w1, rel=1e-12)
    monkeypatch.setattr(objective, "MAX_DENSE_BYTES", 14_000_000)
    with pytest.raises(MemoryLimitError, match="sparse solver needs"):
        hkr_transport(x, z)


def test_default_prior_follows_sample_mass():
    xp, xn = np.zeros((3, 1)), np.ones((5, 1))
    assert hkr_transport(xp, xn).problem.p == pytest.approx(3 / 8)
    assert hkr_transport(xp, xn, a=[2, 2, 2], b=[1] * 5).problem.p == pytest.approx(6 / 11)
    assert hkr_transport(xp, xn, p=0.2).problem.p == 0.2


def test_auto_never_returns_an_uncertified_answer(monkeypatch):
    from otreg.transport import BoundedSolution

    real, bad = solve.solve_bounded, set()

    def solver(a_lo, a_hi, b_lo, b_hi, D, *, method, offset=0.0, **kw):
        if method not in bad:
            return real(a_lo, a_hi, b_lo, b_hi, D, method=method, offset=offset, **kw)
        # feasible (independent coupling) but not optimal
        rows, cols = (g.ravel() for g in np.meshgrid(np.arange(len(a_lo)), np.arange(len(b_lo)),
                                                     indexing="ij"))
        flows = np.outer(a_lo, b_lo).ravel()
        return BoundedSolution(rows, cols, flows, np.zeros(len(a_lo)),
                               np.full(len(b_lo), D.min() + offset),
                               float(flows @ (D[rows, cols] + offset)), D.shape, "fake")

    xp, xn = two_moons(15, seed=4)
    exact = hkr_transport(xp, xn, lam=1.0, margin=0.1, method="highs")
    monkeypatch.setattr(solve, "solve_bounded", solver)
    monkeypatch.setattr(solve, "_choose_method", lambda n, m: ["netsimplex", "pot"])
    bad.add("netsimplex")
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1, method="auto")
    assert res.method == "pot"
    assert res.loss == pytest.approx(exact.loss, abs=1e-10)
    bad.add("pot")
    from otreg import SolverError
    with pytest.raises(SolverError, match="netsimplex: certificate failed.*pot: certificate"):
        hkr_transport(xp, xn, lam=1.0, margin=0.1, method="auto")


@pytest.mark.parametrize("kind", ["mcshane", "whitney", "mean"])
def test_potential_gradient_matches_finite_differences(rng, kind):
    xp, xn = two_moons(25, seed=8)
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1)
    pts = rng.uniform(-1.5, 2.5, size=(200, 2))
    grad = res.potential_grad(pts, kind)
    h = 1e-6
    for c in range(2):
        e = np.zeros(2)
        e[c] = h
        fd = (res.potential(pts + e, kind) - res.potential(pts - e, kind)) / (2 * h)
        assert np.quantile(np.abs(fd - grad[:, c]), 0.9) < 1e-6  # kinks (ties): measure zero
    if kind != "mean":  # a distance function's gradient: unit norm off the samples
        assert np.allclose(np.linalg.norm(grad, axis=1), 1.0)
