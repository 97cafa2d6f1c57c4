"""Property tests of the bounded-marginal network simplex against HiGHS on the same LP."""
from __future__ import annotations

import numpy as np
import ot
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bounded_reference import certify, lp_value
from otreg.errors import InputError, SolverError
from otreg.transport import solve_bounded

TOL = 1e-9


def hkr_bounds(a, b, lam, p):
    return a, (1 + lam * p) * a, b, (1 + lam * (1 - p)) * b


def check(C, a_lo, a_hi, b_lo, b_hi):
    sol = solve_bounded(a_lo, a_hi, b_lo, b_hi, C)
    ref = lp_value(C, a_lo, a_hi, b_lo, b_hi)
    scale = max(1.0, abs(ref), float(np.max(a_hi)), float(np.max(b_hi)))
    assert abs(sol.value - ref) <= TOL * scale, (sol.value, ref)
    cert = certify(a_lo, a_hi, b_lo, b_hi, C, sol, tol=TOL * scale)
    assert cert["primal"] <= TOL * scale, cert
    assert cert["dual"] <= TOL * scale, cert
    assert cert["slackness"] <= TOL * scale, cert
    assert cert["gap"] <= TOL * scale, cert
    assert np.all(sol.flows > 0)
    assert sol.value == pytest.approx(float(np.sum(sol.plan() * C)), abs=1e-12 * scale)
    return sol


@st.composite
def clouds(draw):
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 7))
    seed = draw(st.integers(0, 2**32 - 1))
    kind = draw(st.sampled_from(["normal", "grid", "shared"]))
    rng = np.random.default_rng(seed)
    if kind == "grid":  # duplicate points within and across classes
        x = rng.integers(0, 3, size=(n, 2)).astype(float)
        z = rng.integers(0, 3, size=(m, 2)).astype(float)
    else:
        x = rng.normal(size=(n, 2))
        z = rng.normal(size=(m, 2)) + rng.uniform(0, 2)
        if kind == "shared":  # points belonging to both classes
            k = min(n, m, 1 + rng.integers(0, 3))
            z[:k] = x[:k]
    if draw(st.booleans()):
        a = rng.uniform(0.05, 1.0, n)
        b = rng.uniform(0.05, 1.0, m)
    else:
        a, b = np.ones(n), np.ones(m)
    return x, z, a / a.sum(), b / b.sum()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clouds(), st.sampled_from([0.0, 0.1, 1.0, 10.0, 100.0, 1e4]), st.floats(0.01, 1.0),
       st.floats(0.05, 0.95))
def test_hkr_primal_matches_highs(data, lam, margin, p):
    x, z, a, b = data
    d = np.linalg.norm(x[:, None] - z[None], axis=-1)
    C = d - 2 * margin
    sol = check(C, *hkr_bounds(a, b, lam, p))
    if lam == 0.0:  # exact marginals: the value is W1 - 2 margin
        assert sol.value + 2 * margin == pytest.approx(ot.emd2(a, b, d), abs=1e-9)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_generic_bounds_match_highs(n, m, seed):
    """Arbitrary feasible bounds (unequal lower sums, zero-width and zero intervals)."""
    rng = np.random.default_rng(seed)
    C = rng.normal(size=(n, m))
    if rng.uniform() < 0.3:
        C = np.round(C)  # ties
    a_lo = rng.uniform(0, 1, n) * (rng.uniform(size=n) < 0.8)
    b_lo = rng.uniform(0, 1, m) * (rng.uniform(size=m) < 0.8)
    a_hi = a_lo + rng.uniform(0, 1, n) * (rng.uniform(size=n) < 0.7)
    b_hi = b_lo + rng.uniform(0, 1, m) * (rng.uniform(size=m) < 0.7)
    # make it feasible: sum a_lo <= sum b_hi and sum b_lo <= sum a_hi
    if a_lo.sum() > b_hi.sum():
        b_hi[0] += a_lo.sum() - b_hi.sum() + 0.1
    if b_lo.sum() > a_hi.sum():
        a_hi[0] += b_lo.sum() - a_hi.sum() + 0.1
    check(C, a_lo, a_hi, b_lo, b_hi)


@pytest.mark.parametrize("n,m", [(1, 1), (1, 9), (9, 1), (3, 11)])
def test_single_point_classes(n, m):
    rng = np.random.default_rng(n * 100 + m)
    x, z = rng.normal(size=(n, 2)), rng.normal(size=(m, 2))
    d = np.linalg.norm(x[:, None] - z[None], axis=-1)
    a, b = np.full(n, 1 / n), np.full(m, 1 / m)
    for lam in (0.0, 1.0, 1e4):
        check(d - 0.2, *hkr_bounds(a, b, lam, n / (n + m)))


def test_moons_medium_matches_highs_and_emd():
    from otreg.data.toys import two_moons

    x, z = two_moons(60, 45, seed=3)
    d = np.linalg.norm(x[:, None] - z[None], axis=-1)
    a, b = np.full(60, 1 / 60), np.full(45, 1 / 45)
    for lam, margin in [(0.0, 0.1), (0.1, 0.01), (1.0, 0.1), (10.0, 1.0), (100.0, 0.5)]:
        sol = check(d - 2 * margin, *hkr_bounds(a, b, lam, 60 / 105))
        if lam == 0.0:
            assert sol.value + 2 * margin == pytest.approx(ot.emd2(a, b, d), abs=1e-10)


def test_infeasible_and_bad_input_raise():
    C = np.zeros((2, 2))
    one = np.ones(2)
    with pytest.raises(InputError, match=r"^a_lo, b_hi: infeasible"):
        solve_bounded(one, one, 0.2 * one, 0.2 * one, C)  # sum a_lo > sum b_hi
    with pytest.raises(InputError, match=r"^b_lo, a_hi: infeasible"):
        solve_bounded(0.2 * one, 0.2 * one, one, one, C)  # sum b_lo > sum a_hi
    with pytest.raises(InputError, match=r"^a_hi: below the lower bound at index 0"):
        solve_bounded(one, 0.5 * one, one, one, C)  # a_hi < a_lo
    with pytest.raises(InputError, match=r"^b_lo: expected shape \(2,\)"):
        solve_bounded(one, one, np.ones(3), np.ones(3), C)
    with pytest.raises(InputError, match=r"^M: contains NaN"):
        solve_bounded(one, one, one, one, np.full((2, 2), np.nan))


def test_max_iter_raises():
    rng = np.random.default_rng(0)
    C = rng.normal(size=(20, 20))
    w = np.full(20, 0.05)
    with pytest.raises(SolverError, match="netsimplex.*max_iter"):
        solve_bounded(w, w, w, w, C, max_iter=3)
    sol = solve_bounded(w, w, w, w, C)
    assert sol.iterations > 3 and sol.method == "netsimplex"
