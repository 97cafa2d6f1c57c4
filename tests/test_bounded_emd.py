"""bounded_emd / bounded_emd2: optimal transport with marginal intervals for any cost matrix,
checked against HiGHS on the primal LP, POT where the intervals are points, and the dual's
own conditions."""
from __future__ import annotations

import numpy as np
import ot
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import otreg
from bounded_reference import lp_value
from otreg import InputError, bounded_emd, bounded_emd2

TOL = 1e-9


def cost_matrix(rng, kind, n, m):
    x, z = rng.normal(size=(n, 3)), rng.normal(size=(m, 3)) + rng.uniform(0, 1)
    if kind == "sqeuclidean":
        return ot.dist(x, z, metric="sqeuclidean")
    if kind == "l1":
        return ot.dist(x, z, metric="cityblock")
    if kind == "ties":
        return rng.integers(-2, 3, size=(n, m)).astype(float)
    return rng.normal(size=(n, m))  # negative and positive costs


def random_bounds(rng, n, m, infinite):
    """Feasible random intervals: zero-width ones, zero ones, and (if asked) infinite uppers."""
    a_lo = rng.uniform(0, 1, n) * (rng.uniform(size=n) < 0.8)
    b_lo = rng.uniform(0, 1, m) * (rng.uniform(size=m) < 0.8)
    a_hi = a_lo + rng.uniform(0, 1, n) * (rng.uniform(size=n) < 0.7)
    b_hi = b_lo + rng.uniform(0, 1, m) * (rng.uniform(size=m) < 0.7)
    if a_lo.sum() > b_hi.sum():
        b_hi[rng.integers(m)] += a_lo.sum() - b_hi.sum() + 0.1
    if b_lo.sum() > a_hi.sum():
        a_hi[rng.integers(n)] += b_lo.sum() - a_hi.sum() + 0.1
    if infinite == "rows":
        a_hi[rng.uniform(size=n) < 0.5] = np.inf
    elif infinite == "both":  # only where the costs between them are >= 0 (else unbounded)
        a_hi[0], b_hi[0] = np.inf, np.inf
    return a_lo, a_hi, b_lo, b_hi


def check_solution(M, bounds, plan, log, ref):
    """Feasibility, the value against the reference, and the dual certificate of the log."""
    a_lo, a_hi, b_lo, b_hi = bounds
    S = max(1.0, float(np.abs(M).max()))
    W = max(1.0, float(a_lo.sum()), float(b_lo.sum()), float(plan.sum()))
    r, c = plan.sum(1), plan.sum(0)
    assert plan.min() >= 0
    for low, x, high in ((a_lo, r, a_hi), (b_lo, c, b_hi)):
        assert np.all(x >= low - TOL * W) and np.all(x <= high + TOL * W)
    value = float((plan * M).sum())
    assert value == pytest.approx(ref, abs=TOL * S * W)
    assert log["cost"] == pytest.approx(value, abs=TOL * S * W)
    u, v = log["u"], log["v"]
    assert np.max(u[:, None] + v[None, :] - M) <= TOL * S  # dual feasible on every arc
    support = plan > 0
    assert np.max(np.abs((M - u[:, None] - v[None, :])[support]), initial=0) <= TOL * S
    # the sign of a dual says which bound its marginal sits at
    assert np.all(np.abs(r - a_lo)[u > TOL * S] <= TOL * W)
    assert np.all(np.abs(r - a_hi)[u < -TOL * S] <= TOL * W)
    assert np.all(np.abs(c - b_lo)[v > TOL * S] <= TOL * W)
    assert np.all(np.abs(c - b_hi)[v < -TOL * S] <= TOL * W)
    assert log["dual_cost"] == pytest.approx(ref, abs=TOL * S * W) and log["gap"] <= TOL


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 2**32 - 1),
       st.sampled_from(["sqeuclidean", "l1", "random", "ties"]),
       st.sampled_from([None, None, "rows", "both"]))
def test_matches_highs(n, m, seed, kind, infinite):
    rng = np.random.default_rng(seed)
    M = cost_matrix(rng, kind, n, m)
    if infinite == "both":
        M[0, 0] = abs(M[0, 0])
    bounds = random_bounds(rng, n, m, infinite)
    ref = lp_value(M, *bounds)
    plan, log = bounded_emd(*bounds, M, log=True)
    check_solution(M, bounds, plan, log, ref)
    assert bounded_emd2(*bounds, M) == pytest.approx(ref, abs=TOL * max(1, np.abs(M).max())
                                                     * max(1, plan.sum()))


@pytest.mark.parametrize("kind", ["sqeuclidean", "l1", "random"])
@pytest.mark.parametrize("method", ["netsimplex", "pot", "highs"])
def test_methods_match_highs_at_medium_size(kind, method):
    rng = np.random.default_rng(7)
    M = cost_matrix(rng, kind, 40, 27)
    bounds = random_bounds(rng, 40, 27, None)
    plan, log = bounded_emd(*bounds, M, log=True, method=method)
    check_solution(M, bounds, plan, log, lp_value(M, *bounds))
    assert log["method"] == method


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_point_intervals_are_ot_emd(n, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.1, 1, n), rng.uniform(0.1, 1, m)
    b *= a.sum() / b.sum()
    M = ot.dist(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    value = bounded_emd2(a, a, b, b, M)
    assert value == pytest.approx(ot.emd2(a, b, M, numItermax=10**7), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("cost_scale", [1e-200, 1e-20, 1.0, 1e20, 1e200])
@pytest.mark.parametrize("mass_scale", [1e-150, 1.0, 1e150])
def test_every_scale(cost_scale, mass_scale):
    """min <pi, sM> over bounds scaled by t is s t times the unit problem's value."""
    rng = np.random.default_rng(3)
    M = rng.normal(size=(12, 9))
    bounds = random_bounds(rng, 12, 9, None)
    base = bounded_emd2(*bounds, M)
    if cost_scale * mass_scale > 1e300:  # the value itself is beyond float64
        with pytest.raises(InputError, match="^M: the optimal cost exceeds"):
            bounded_emd2(*(mass_scale * v for v in bounds), cost_scale * M)
        return
    scaled = bounded_emd2(*(mass_scale * v for v in bounds), cost_scale * M)
    assert scaled == pytest.approx(base * cost_scale * mass_scale, rel=1e-12)
    for method in ("pot", "highs"):
        other = bounded_emd2(*(mass_scale * v for v in bounds), cost_scale * M, method=method)
        assert other == pytest.approx(scaled, rel=1e-9)


def test_log_and_plan_of_emd2():
    M = np.array([[0.0, 2.0], [2.0, -1.0]])
    bounds = ([0.5, 0.5], [1.0, 1.0], [0.5, 0.5], [0.5, 2.0])
    value, log = bounded_emd2(*bounds, M, log=True, return_matrix=True)
    # row 0 -> column 0 (cost 0), row 1 sends its upper bound 1 to column 1 (cost -1)
    assert value == -1.0 and np.array_equal(log["G"], [[0.5, 0.0], [0.0, 1.0]])
    assert log["mass"] == 1.5 and log["warning"] is None
    assert otreg.transport.bounded_emd is bounded_emd


BAD = [
    (dict(M=np.zeros(3)), r"^M: expected a non-empty 2-D array"),
    (dict(M=np.array([[0.0, np.nan], [1.0, 1.0]])), r"^M: contains NaN"),
    (dict(M=np.array([[0.0, np.inf], [1.0, 1.0]])), r"^M: contains NaN or inf"),
    (dict(M=[["a", "b"], ["c", "d"]]), r"^M: expected a 2-D array of numbers"),
    (dict(a_lo=np.ones(3)), r"^a_lo: expected shape \(2,\)"),
    (dict(b_hi=np.ones(5)), r"^b_hi: expected shape \(2,\)"),
    (dict(a_lo=[np.nan, 1.0]), r"^a_lo: contains NaN"),
    (dict(b_hi=[np.nan, 1.0]), r"^b_hi: contains NaN"),
    (dict(a_lo=[-1.0, 1.0]), r"^a_lo: bounds must be >= 0"),
    (dict(b_lo=[np.inf, 1.0]), r"^b_lo: lower bounds must be finite"),
    (dict(a_hi=[0.5, 2.0]), r"^a_hi: below the lower bound at index 0"),
    (dict(b_lo=[0.1, 0.1], b_hi=[0.2, 0.2]), r"^a_lo, b_hi: infeasible bounds, sum\(a_lo\) = 2"),
    (dict(a_lo=[0.1, 0.1], a_hi=[0.2, 0.2]), r"^b_lo, a_hi: infeasible bounds, sum\(b_lo\) = 2"),
    (dict(M=-np.ones((2, 2)), a_hi=[np.inf, 1.0], b_hi=[np.inf, 1.0]), r"^M: no minimum"),
    (dict(method="simplex"), r"^method: expected one of"),
    (dict(method="pot", a_hi=[np.inf, 1.0], b_hi=[np.inf, 1.0]), r"^a_hi, b_hi: method 'pot'"),
]


@pytest.mark.parametrize("override,match", BAD)
def test_bad_input_names_the_argument(override, match):
    kwargs = dict(a_lo=np.ones(2), a_hi=2 * np.ones(2), b_lo=np.ones(2), b_hi=2 * np.ones(2),
                  M=np.eye(2))
    kwargs.update(override)
    for fn in (bounded_emd, bounded_emd2):
        with pytest.raises(InputError, match=match):
            fn(**kwargs)


def test_scalar_bounds_and_zero_mass():
    M = np.array([[1.0, -2.0, 3.0]])
    # no lower bound, upper bounds 1: only the negative cost is worth using
    plan = bounded_emd(0.0, 1.0, 0.0, 1.0, M)
    assert np.array_equal(plan, [[0.0, 1.0, 0.0]])
    assert bounded_emd2(0.0, 1.0, 0.0, 1.0, np.abs(M)) == 0.0
