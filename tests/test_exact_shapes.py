"""The exact hKR solver at every shape and scale (n = m and n != m, weights, ties, lam from 0
to 1e6, coordinates from 1e-150 to 1e150).

Each solution is certified here from scratch, independently of the solver's own certificate:
the plan meets the marginal bounds, the potential is 1-Lipschitz on all pairs of samples, and
the two values -2 m - <pi, d - 2 m> (a plan's) and L(f) (a 1-Lipschitz f's), which bracket
min L, agree.  Small cases are also compared with HiGHS on the same LP.
"""
from __future__ import annotations

import numpy as np
import ot
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounded_reference import lp_value
from otreg import InputError, hkr_transport, wasserstein1
from otreg.data import toys

REL = 1e-9


def certify_from_scratch(res, rel=REL):
    """Assert optimality of an HKRResult from its plan and potential alone; return the scale
    of the values, (1 + lam) (max d + 2 margin)."""
    pr = res.problem
    samples = np.vstack([pr.x_pos, pr.x_neg])
    d_all = np.sqrt(((samples[:, None] - samples[None]) ** 2).sum(-1))
    d = d_all[:pr.n, pr.n:]
    scale = (1 + pr.lam) * (d.max() + 2 * pr.margin)
    plan, mass = res.plan, max(1.0, res.plan.sum())
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    r, c = plan.sum(1), plan.sum(0)
    assert plan.min() >= 0
    assert np.all(r >= a_lo - rel * mass) and np.all(r <= a_hi + rel * mass)
    assert np.all(c >= b_lo - rel * mass) and np.all(c <= b_hi + rel * mass)
    f = np.concatenate([res.f_pos, res.f_neg])
    assert np.max(np.abs(f[:, None] - f[None, :]) - d_all) <= rel * scale  # 1-Lipschitz
    from_plan = -2 * pr.margin - float((plan * (d - 2 * pr.margin)).sum())
    assert abs(from_plan - pr.loss(res.f_pos, res.f_neg)) <= rel * scale
    assert abs(res.loss - from_plan) <= rel * scale and res.gap <= rel
    return scale


@st.composite
def hkr_cases(draw):
    n, m = draw(st.integers(1, 14)), draw(st.integers(1, 14))
    d = draw(st.sampled_from([1, 2, 3, 10, 100]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "grid", "shared", "duplicates"]))
    if kind == "grid":  # ties everywhere: integer coordinates, repeated points
        x = rng.integers(0, 3, (n, d)).astype(float)
        z = rng.integers(0, 3, (m, d)).astype(float)
    else:
        x = rng.normal(size=(n, d))
        z = rng.normal(size=(m, d)) + rng.uniform(0, 2)
        if kind == "shared":
            k = min(n, m, 1 + int(rng.integers(0, 3)))
            z[:k] = x[:k]
        elif kind == "duplicates":
            x[rng.integers(0, n, n // 2)] = x[0]
            z[rng.integers(0, m, m // 2)] = z[-1]
    weights = draw(st.sampled_from(["uniform", "random", "spread"]))
    if weights == "uniform":
        a = b = None
    elif weights == "random":
        a, b = rng.uniform(0.05, 1, n), rng.uniform(0.05, 1, m)
    else:  # six orders of magnitude
        a, b = 10 ** rng.uniform(-6, 0, n), 10 ** rng.uniform(-6, 0, m)
    lam = draw(st.sampled_from([0.0, 1e-3, 0.01, 1.0, 100.0, 1e4, 1e6]))
    margin = draw(st.sampled_from([1e-3, 0.1, 1.0, 10.0]))
    p = draw(st.sampled_from([None, 0.1, 0.9]))
    return x, z, a, b, lam, margin, p


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hkr_cases())
def test_every_shape_certified_without_fallback(case):
    x, z, a, b, lam, margin, p = case
    res = hkr_transport(x, z, lam=lam, margin=margin, a=a, b=b, p=p, method="netsimplex")
    scale = certify_from_scratch(res)
    if lam <= 100:  # HiGHS on the primal LP (beyond, its absolute tolerances are too coarse)
        pr = res.problem
        d = np.sqrt(((pr.x_pos[:, None] - pr.x_neg[None]) ** 2).sum(-1))
        ref = -2 * margin - lp_value(d - 2 * margin, *pr.marginal_bounds())
        assert abs(res.loss - ref) <= 1e-8 * scale


@pytest.mark.parametrize("method", ["netsimplex", "pot", "highs"])
@pytest.mark.parametrize("lam", [0.0, 1.0, 100.0])
def test_every_scale(method, lam):
    """Points and margin times s: the loss times s, to 1e-9 relative, for s = 1e-150 .. 1e150
    (docs/mathematics.md §7), every method; the gap stays relative."""
    x, z = toys.ring_blob(25, 18, seed=1)
    base = hkr_transport(x, z, lam=lam, margin=0.1, method=method)
    for s in (1e-150, 1e-12, 1e12, 1e150):
        res = hkr_transport(s * x, s * z, lam=lam, margin=0.1 * s, method=method)
        assert res.loss == pytest.approx(s * base.loss, rel=REL), s
        assert res.gap <= REL and res.f_pos[0] == pytest.approx(s * base.f_pos[0], rel=1e-6)
        if lam == 0:
            assert res.loss < 0
    if method == "netsimplex":
        certify_from_scratch(hkr_transport(1e-150 * x, 1e-150 * z, lam=lam, margin=1e-151))


def test_wasserstein1_at_every_scale():
    x, z = toys.ring_blob(25, 18, seed=1)
    base = wasserstein1(x, z)
    assert base == pytest.approx(ot.emd2(np.full(25, 1 / 25), np.full(18, 1 / 18),
                                         ot.dist(x, z, metric="euclidean")), rel=1e-12)
    for s in (1e-160, 1e-150, 1e-14, 1e14, 1e150, 1e160):
        assert wasserstein1(s * x, s * z) == pytest.approx(s * base, rel=REL), s


def test_distances_beyond_float64_are_an_input_error():
    x, z = np.array([[1e308, 0.0]]), np.array([[-1e308, 0.0]])
    for fn in (lambda: hkr_transport(x, z, margin=1e300), lambda: wasserstein1(x, z)):
        with pytest.raises(InputError, match="^x_pos, x_neg: .*exceed"):
            fn()
    # far from the origin relative to their extent: not representable in units of the extent
    with pytest.raises(InputError, match="^x_pos, x_neg: coordinates up to 1e[+]300"):
        hkr_transport(np.array([[1e300, 0.0]]), np.array([[1e300, 1e-300]]), margin=1e-301)
    # large but representable: no overflow in the squares (1e200^2), every method; one point
    # per class at distance d > 2 margin: only the mandatory unit moves, min L = -d
    x, z = np.array([[1e200, 0.0]]), np.array([[-1e200, 0.0]])
    for method in ("netsimplex", "pot", "highs"):
        res = hkr_transport(x, z, margin=1e199, method=method)
        assert res.loss == pytest.approx(-2e200, rel=1e-12) and res.gap <= REL


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.0, 1.0])
def test_unequal_class_sizes_1000_by_4000(lam):
    """Once failed: 8e-14 of artificial flow left against an absolute 1e-14 cutoff; the
    tolerances are now relative to the problem's scales."""
    x, z = toys.gaussians(1000, 4000, seed=0)
    res = hkr_transport(x, z, lam=lam, margin=0.1, method="netsimplex")
    d = ot.dist(x, z, metric="euclidean")
    pr = res.problem
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    plan, mass = res.plan, res.plan.sum()
    assert plan.min() >= 0
    for low, v, high in ((a_lo, plan.sum(1), a_hi), (b_lo, plan.sum(0), b_hi)):
        assert np.all(v >= low - REL * mass) and np.all(v <= high + REL * mass)
    scale = (1 + lam) * (d.max() + 0.2)
    assert np.max(res.f_pos[:, None] - res.f_neg[None, :] - d) <= REL * scale
    from_plan = -0.2 - float((plan * (d - 0.2)).sum())
    assert abs(from_plan - pr.loss(res.f_pos, res.f_neg)) <= REL * scale
    if lam == 0:
        w1 = ot.emd2(pr.a, pr.b, d, numItermax=10**9)
        assert -res.loss == pytest.approx(w1, rel=REL)
