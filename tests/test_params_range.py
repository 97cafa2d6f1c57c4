"""Every numeric parameter at the edges of its range (docs/faults.md, parameter ranges):
the answer against an independent solver or a closed form, and a clear InputError just
outside.  The certificate's scale (docs/mathematics.md §3.5) is checked at the same edges.

References: HiGHS on the primal LP in well-scaled units (tests/bounded_reference.py), the
large-lam limit as a hard-margin LP written here, the affine large-margin formula, POT.
"""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import ot
import pytest
from scipy.optimize import linprog
from scipy.spatial.distance import cdist

from bounded_reference import lp_value
from otreg import InputError, Problem, hkr_transport, wasserstein1
from otreg.data.toys import make_toy
from otreg.data.validate import LAM_MAX, MARGIN_MAX_RATIO, cloud_diameter
from otreg.data import memory
from otreg.errors import MemoryLimitError, SolverError
from otreg.transport import objective, sparse
from otreg.transport.methods import LAM_MAX_BY_METHOD
from otreg.transport.solve import _sparse_result
from otreg.transport.sparse import solve_sparse

#: moons at margin 0.05: every cross distance exceeds 2 margin, so the loss is constant from a
#: finite lam on (docs/mathematics.md §3.5)
XP, XN = make_toy("moons", 10, seed=0)
#: overlapping clouds: the hinge stays active, the loss grows with lam
GP, GN = make_toy("gaussians", 10, seed=3)
RNG = np.random.default_rng(7)
SPREAD_A, SPREAD_B = 10 ** RNG.uniform(-6, 0, 10), 10 ** RNG.uniform(-6, 0, 10)
DENSE = ("netsimplex", "pot", "highs")


def reference(x, z, lam, margin, a=None, b=None, p=None) -> float:
    """min L by HiGHS on the primal LP (docs/mathematics.md §3)."""
    pr = Problem(x, z, lam=lam, margin=margin, a=a, b=b, p=p)
    return -2 * margin - lp_value(cdist(x, z) - 2 * margin, *pr.marginal_bounds())


def pot_reference(x, z, lam, margin, a, b, p) -> float:
    """min L by POT's ot.emd2 on the balanced reduction of docs/mathematics.md §4, built here
    (mandatory and optional copies of each point, dummies S and T), prior p: a network simplex
    on exact masses, well-behaved at any lam."""
    a, b = np.asarray(a) / np.sum(a), np.asarray(b) / np.sum(b)
    c = cdist(x, z) - 2 * margin
    big = 4 * (np.abs(c).max() + 1) * (1 + lam)
    n, m = c.shape
    M = np.zeros((2 * n + 1, 2 * m + 1))
    for r0 in (0, n):
        for c0 in (0, m):
            M[r0:r0 + n, c0:c0 + m] = c
    M[:n, -1] = big          # mandatory positives never go to the dummy sink
    M[-1, :m] = big          # the dummy source never feeds mandatory negatives
    src = np.r_[a, lam * p * a, lam * (1 - p)]
    snk = np.r_[b, lam * (1 - p) * b, lam * p]
    snk *= src.sum() / snk.sum()
    return -2 * margin - float(ot.emd2(src, snk, M, numItermax=10**7))


def hard_margin_limit(x, z, margin) -> float:
    """The lam -> infinity limit on margin-separated clouds: min b.g - a.f over f_i - g_j <=
    d_ij with every hinge inactive (f_i >= margin, g_j <= -margin); uniform weights."""
    n, m = len(x), len(z)
    d = cdist(x, z)
    rows = np.zeros((n * m, n + m))
    for i in range(n):
        rows[i * m:(i + 1) * m, i] = 1.0
        rows[i * m:(i + 1) * m, n:] = -np.eye(m)
    res = linprog(np.r_[-np.ones(n) / n, np.ones(m) / m], A_ub=rows, b_ub=d.ravel(),
                  bounds=[(margin, None)] * n + [(None, -margin)] * m, method="highs")
    assert res.status == 0
    return float(res.fun)


def close(value, ref, margin, rel=1e-9):
    """|value - ref| <= rel (|ref| + 2 margin): the project's relative gap."""
    return abs(value - ref) <= rel * (abs(ref) + 2 * margin)


# ---------------------------------------------------------------------------------- lam
@pytest.mark.parametrize("method", [*DENSE, "sparse"])
def test_lam_at_the_top_of_each_method_is_the_hard_margin_limit(method):
    lam = LAM_MAX_BY_METHOD[method]
    res = hkr_transport(XP, XN, lam=lam, margin=0.05, method=method)
    assert close(res.loss, hard_margin_limit(XP, XN, 0.05), 0.05)
    assert res.gap <= 1e-9
    with pytest.raises(InputError, match=rf"^lam: .*{re.escape(f'{lam:g}')}") as info:
        hkr_transport(XP, XN, lam=lam * 1.01, margin=0.05, method=method)
    assert lam == LAM_MAX or f"method '{method}'" in str(info.value)


@pytest.mark.parametrize("method", [*DENSE, "sparse"])
def test_lam_at_the_top_with_overlap_and_spread_weights(method):
    """The hinge active, weights over six orders of magnitude: against the primal LP."""
    lam = LAM_MAX_BY_METHOD[method]
    for margin in (0.5, 3.0):
        res = hkr_transport(GP, GN, lam=lam, margin=margin, a=SPREAD_A, b=SPREAD_B, p=0.3,
                            method=method)
        ref = (reference(GP, GN, lam, margin, SPREAD_A, SPREAD_B, 0.3) if lam <= 1e4  # HiGHS's
               else pot_reference(GP, GN, lam, margin, SPREAD_A, SPREAD_B, 0.3))  # tolerances
        assert close(res.loss, ref, margin)
        assert res.gap <= 1e-9


def test_lam_beyond_every_method_and_the_issue_examples():
    for lam in (LAM_MAX * 1.000001, 1e16, 1e34, 1e308):
        with pytest.raises(InputError, match=r"^lam: must be at most 1e\+06, got"):
            Problem(XP, XN, lam=lam)
    # the once certified wrong answers: sparse at 1e16 (-0.2, mass 0), pot at 1e34 (-7e16);
    # the right answer, the large-lam limit, is reached inside the range
    with pytest.raises(InputError, match="^lam: "):
        hkr_transport(XP, XN, lam=1e16, method="sparse")
    assert close(hkr_transport(XP, XN, lam=LAM_MAX, margin=0.1).loss,
                 hard_margin_limit(XP, XN, 0.1), 0.1)


def test_tiny_lam_is_minus_w1_within_the_linear_bracket():
    """docs/mathematics.md §7: -W1 <= min L_lam <= -W1 + lam H, H <= 2 margin + diameter."""
    w1 = ot.emd2(np.full(10, 0.1), np.full(10, 0.1), cdist(GP, GN))
    for lam in (0.0, 1e-300, 1e-12):
        loss = hkr_transport(GP, GN, lam=lam, margin=0.1).loss
        bound = lam * (0.2 + cloud_diameter(GP, GN))
        assert -w1 - 1e-12 * w1 <= loss <= -w1 + bound + 1e-12 * w1


# ---------------------------------------------------------------------------------- margin
def test_margin_at_the_top_is_affine_in_the_margin():
    """From 2 margin >= max d on, min L(m) = min L(m1) + 2 (m - m1) lam min(p, 1 - p)
    (docs/mathematics.md §3.5): the top of the range against the LP at m1 = diameter."""
    diam = cloud_diameter(GP, GN)
    top = MARGIN_MAX_RATIO * diam
    for lam, p in ((0.0, None), (1.0, None), (10.0, 0.2)):
        base = reference(GP, GN, lam, diam, p=p)
        prior = 0.5 if p is None else p
        want = base + 2 * (top - diam) * lam * min(prior, 1 - prior)
        for method in ("netsimplex", "pot", "sparse"):
            res = hkr_transport(GP, GN, lam=lam, margin=top, p=p, method=method)
            assert close(res.loss, want, top), (lam, method)
            assert np.isfinite(res.gap) and res.gap <= 1e-9
    with pytest.raises(InputError, match=r"^margin: 1e\+308 is .* times the diameter of the "
                                         r"data .*at most 1e\+12 times it"):
        hkr_transport(GP, GN, margin=1e308)
    with pytest.raises(InputError, match="^margin: "):
        Problem(GP, GN).with_params(margin=top * 1.01)


def test_margin_tiny_relative_to_the_data():
    diam = cloud_diameter(GP, GN)
    for margin in (1e-12 * diam, 1e-300):
        res = hkr_transport(GP, GN, lam=1.0, margin=margin, a=SPREAD_A, b=SPREAD_B)
        assert close(res.loss, reference(GP, GN, 1.0, margin, SPREAD_A, SPREAD_B), margin)


def test_one_point_clouds_accept_any_margin():
    """All points at one place: every distance is 0, min L = 2 m lam min(p, 1 - p)."""
    x = np.zeros((3, 2))
    res = hkr_transport(x, x[:2], lam=2.0, margin=1e300)
    assert res.loss == pytest.approx(2e300 * 2.0 * 0.4, rel=1e-12)
    # unless the answer itself is beyond float64: a range error, not -inf or inf
    with pytest.raises(InputError, match="^margin, lam: the optimal loss .* exceeds"):
        hkr_transport(x, x[:2], lam=1e6, margin=1e306)


# ---------------------------------------------------------------------------------- weights
def test_weights_at_any_magnitude():
    x = np.random.default_rng(0).normal(size=(4, 2))
    w1 = wasserstein1(x, x + 1)
    assert w1 == pytest.approx(np.sqrt(2), rel=1e-12)
    for a in ([1e308] * 4, [1e-308] * 4, [5e-324] * 4, [1e308, 1e-308, 1.0, 1e300]):
        if len(set(a)) == 1:
            assert wasserstein1(x, x + 1, a=a) == pytest.approx(w1, rel=1e-12)
    # 1e-300 next to 1: the light points carry ~no mass; the answer is that of the problem
    # without them (to 1e-300), computed independently by the LP
    a = np.array([1.0, 1e-300, 0.5, 1e300 / 1e300, 1e-300, 2.0, 1.0, 0.3, 1e-300, 1.0])
    keep = a > 1e-200
    ref = reference(GP[keep], GN, 3.0, 0.2, a[keep], p=0.5)
    for scale in (1.0, 1e300, 1e-300):
        res = hkr_transport(GP, GN, lam=3.0, margin=0.2, a=a * scale, p=0.5)
        assert close(res.loss, ref, 0.2)
    # class masses beyond the float64 range of each other: the prior is correctly rounded
    pr = Problem(GP, GN, a=np.full(10, 1e300), b=np.full(10, 1e-300))
    assert pr.p == 1.0 and np.all(np.isfinite(pr.a)) and pr.a.sum() == pytest.approx(1.0)


# ---------------------------------------------------------------------------------- coordinates
@pytest.mark.parametrize("s", [1e-150, 1e150])
def test_coordinates_at_extreme_scales_with_parameters_at_their_edges(s):
    """Points and margin times s: the loss times s, the gap unchanged, at the largest lam and
    at the largest margin."""
    top = MARGIN_MAX_RATIO * cloud_diameter(GP, GN)
    for lam, margin in ((LAM_MAX, 0.5), (1.0, top)):
        base = hkr_transport(GP, GN, lam=lam, margin=margin)
        res = hkr_transport(s * GP, s * GN, lam=lam, margin=s * margin)
        assert res.loss == pytest.approx(s * base.loss, rel=1e-12)
        assert res.gap <= 1e-9


# ---------------------------------------------------------------------------------- certificate
def test_the_certificate_refuses_a_plan_short_of_the_mandatory_mass():
    """A sparse solution whose plan lost its mass (what lam = 1e16 once returned with a gap
    of 1.8e-17) fails the certificate at any lam."""
    pr = Problem(XP, XN, lam=1e4, margin=0.05)
    sol = solve_sparse(pr)
    ok = _sparse_result(pr, 0.0, sol)
    assert ok.gap <= 1e-9
    empty = dataclasses.replace(sol, plan=sol.plan * 0.0, primal=0.0, transported=0.0)
    with pytest.raises(SolverError, match="certificate failed"):
        _sparse_result(pr, 0.0, empty)


def test_the_gap_is_judged_on_the_values_not_diluted_by_lam():
    """A potential shifted off the optimum by 1e-6 of the loss is refused at lam = 1e6 (the
    former scale, (1 + lam)(max d + 2 margin), let it pass)."""
    from otreg.transport.certificate import relative_gap, value_scale

    res = hkr_transport(XP, XN, lam=LAM_MAX, margin=0.05)
    pr, plan = res.problem, res.plan
    d = cdist(XP, XN)
    scale = value_scale(pr, res.f_pos, res.f_neg, plan.sum(), float((plan * d).sum()))
    assert scale < 10 * (abs(res.loss) + 1)
    worse = pr.loss(res.f_pos - 1e-6, res.f_neg - 1e-6)
    assert relative_gap(res.loss, worse, scale) > 1e-9
    assert relative_gap(res.loss, pr.loss(res.f_pos, res.f_neg), scale) <= 1e-10


# ---------------------------------------------------------------------------------- memory
def test_auto_goes_sparse_when_the_dense_problem_exceeds_available_memory(monkeypatch,
                                                                          tmp_path):
    monkeypatch.setattr(objective, "MAX_DENSE_BYTES", None)
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 10**12)
    monkeypatch.setattr(memory, "CGROUP_DIR", str(tmp_path))
    (tmp_path / "memory.max").write_text("max\n")
    assert memory.available_memory_bytes() == 10**12
    dense = hkr_transport(XP, XN, method="auto")
    assert dense.method == "netsimplex"
    # a cgroup limit with 1 kB left: the smaller of the two wins, and auto goes sparse (its
    # own estimate made small enough for these 20 points)
    monkeypatch.setattr(sparse, "SPARSE_BYTES_PER_POINT", 1)
    (tmp_path / "memory.max").write_text("5000000\n")
    (tmp_path / "memory.current").write_text("4999000\n")
    assert memory.available_memory_bytes() == 1000
    res = hkr_transport(XP, XN, method="auto")
    assert res.method == "sparse"
    assert close(res.loss, dense.loss, 0.1, 1e-12)
    # and the limit it reports names where it comes from
    with pytest.raises(Exception, match="memory available now"):
        hkr_transport(XP, XN, method="netsimplex")
    # a toy too large for the memory is refused naming n, before it is drawn
    with pytest.raises(MemoryLimitError, match="^n: the toy 'moons' with 100 [+] 100 points"):
        make_toy("moons", 100)
    # unreadable files: the fall-back
    monkeypatch.setattr(memory, "_meminfo_available", lambda: None)
    monkeypatch.setattr(memory, "CGROUP_DIR", str(tmp_path / "missing"))
    assert memory.available_memory_bytes() == memory.FALLBACK_BYTES


def test_meminfo_reader_reads_memavailable(monkeypatch, tmp_path):
    path = tmp_path / "meminfo"
    path.write_text("MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:     250 kB\n")
    monkeypatch.setattr(memory, "MEMINFO", str(path))
    assert memory._meminfo_available() == 250 * 1024
    path.write_text("garbage\n")
    assert memory._meminfo_available() is None
