"""Column generation (method="sparse") against the dense network simplex, the pricing passes
against brute force, and the sparse result's API, certificate, CLI and Dask paths."""
from __future__ import annotations

import json

import numpy as np
import ot
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from otreg import InputError, Problem, SolverError, hkr_transport, wasserstein1
from otreg.cli import main
from otreg.data.toys import gaussians, two_moons
from otreg.transport import solve as solve_mod
from otreg.transport import solve_bounded
from otreg.transport.objective import pairwise_distances
from otreg.transport.sparse import SparseOptions, SparseSolution, solve_sparse
from otreg.transport.sparse_pricing import row_pass, spatial_blocks
from otreg.transport.netsimplex import SparseNetwork

REL = 1e-9


# ------------------------------------------------------------------------------ pricing passes
def brute(x, z, V, W):
    return W[None, :] + pairwise_distances(x, z) - V[:, None]


@st.composite
def pricing_case(draw):
    n, m = draw(st.integers(1, 150)), draw(st.integers(1, 150))
    d = draw(st.sampled_from([1, 2, 2, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(size=(n, d))
    z = rng.normal(size=(m, d)) + rng.uniform(0, 3)
    if draw(st.booleans()):  # ties: points on a grid, shared by both classes
        x, z = np.round(x), np.round(z)
        z[:min(n, m) // 2] = x[:min(n, m) // 2]
    kind = draw(st.sampled_from(["random", "lipschitz", "zero"]))
    if kind == "random":
        V, W = rng.normal(size=n), rng.normal(size=m)
    elif kind == "lipschitz":  # a KR-like potential: tight along the rays of direction u
        u = rng.normal(size=d)
        u /= np.linalg.norm(u)
        V = -x @ u + 1e-3 * rng.normal(size=n)
        W = -z @ u + 1e-3 * rng.normal(size=m)
    else:
        V, W = np.zeros(n), rng.normal(size=m)
    return x, z, V, W, draw(st.sampled_from([1, 4, 16])), draw(st.sampled_from([1, 3]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pricing_case(), st.sampled_from([-np.inf, -0.05, 0.0, 0.3, np.inf]))
def test_row_pass_is_exact(case, thr):
    """The pruned pass returns exactly the brute-force minima and the smallest values below
    thr, whatever the bounds skip (box and directional)."""
    x, z, V, W, leaf, k = case
    rows, cols = spatial_blocks(x, leaf), spatial_blocks(z, leaf)
    Vb, Wb = V[rows.order], W[cols.order]
    S = brute(rows.points, cols.points, Vb, Wb)
    top_j, top_v = row_pass(rows, Vb, cols, Wb, thr, k)
    srt = np.sort(S, axis=1)[:, :k]
    ref = np.full((x.shape[0], k), np.inf)
    ref[:, :srt.shape[1]] = srt
    ref[:, 1:] = np.where(ref[:, 1:] < thr, ref[:, 1:], np.inf)
    np.testing.assert_array_equal(top_v, ref)
    ok = top_j >= 0
    np.testing.assert_array_equal(S[np.nonzero(ok)[0], top_j[ok]], top_v[ok])
    assert np.array_equal(ok, np.isfinite(ref))


def test_row_pass_row_block_range():
    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(300, 2)), rng.normal(size=(200, 2))
    rows, cols = spatial_blocks(x, 16), spatial_blocks(z, 16)
    V, W = rng.normal(size=300), rng.normal(size=200)
    full = row_pass(rows, V, cols, W, 0.0, 3)
    part = row_pass(rows, V, cols, W, 0.0, 3, row_blocks=(2, 5))
    sl = slice(rows.start[2], rows.start[5])
    np.testing.assert_array_equal(part[1], full[1][sl])


def test_spatial_blocks_partition_the_points():
    x = np.random.default_rng(1).normal(size=(1000, 3))
    b = spatial_blocks(x, 20)
    assert np.array_equal(np.sort(b.order), np.arange(1000))
    np.testing.assert_array_equal(b.points, x[b.order])
    sizes = np.diff(b.start)
    assert sizes.max() <= 20 and sizes.min() >= 1 and b.start[-1] == 1000
    for q in range(b.count):
        pts = b.points[b.start[q]:b.start[q + 1]]
        assert np.all(pts >= b.lo[q]) and np.all(pts <= b.hi[q])


# ------------------------------------------------------------------------------ restricted simplex
def test_network_warm_started_over_arc_batches_equals_dense():
    """All arcs added in three batches (the first restricted problem may be infeasible): the
    warm-started simplex ends at the dense optimum."""
    rng = np.random.default_rng(2)
    for lam in (0.0, 1.0, 10.0):
        n, m = 17, 23
        C = pairwise_distances(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 1) - 0.2
        a, b = rng.uniform(0.1, 1, n), rng.uniform(0.1, 1, m)
        a, b = a / a.sum(), b / b.sum()
        bounds = (a, (1 + lam * 0.4) * a, b, (1 + lam * 0.6) * b)
        ref = solve_bounded(*bounds, C)
        net = SparseNetwork(*bounds, cost_bound=float(np.abs(C).max()))
        order = rng.permutation(n * m)
        for part in np.array_split(order, 3):
            net.add_arcs(part // m, part % m, C.reshape(-1)[part])
            net.solve()
        rows, cols, flows = net.plan()
        assert net.feasible
        assert float(flows @ C[rows, cols]) == pytest.approx(ref.value, rel=1e-13, abs=1e-15)


# ------------------------------------------------------------------------------ sparse == dense
@st.composite
def problems(draw):
    n, m = draw(st.integers(1, 45)), draw(st.integers(1, 45))
    d = draw(st.sampled_from([1, 2, 2, 3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["normal", "grid", "shared"]))
    x = rng.normal(size=(n, d))
    z = rng.normal(size=(m, d)) + rng.uniform(0, 2)
    if kind == "grid":
        x, z = np.round(2 * x) / 2, np.round(2 * z) / 2
    elif kind == "shared":
        k = min(n, m, 1 + int(rng.integers(0, 4)))
        z[:k] = x[:k]
    a = b = None
    if draw(st.booleans()):
        a, b = rng.uniform(0.05, 1, n), rng.uniform(0.05, 1, m)
    lam = draw(st.sampled_from([0.0, 0.3, 1.0, 10.0]))
    margin = draw(st.sampled_from([0.01, 0.1, 1.0]))
    return Problem(x, z, lam=lam, margin=margin, a=a, b=b)


def check_against_dense(pr, res, ref):
    assert res.method == "sparse" and isinstance(res.plan, sp.csr_array)
    assert abs(res.loss - ref.loss) <= REL * max(1.0, abs(ref.loss)), (res.loss, ref.loss)
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    tol = 1e-12
    assert np.all(res.row_marginal >= a_lo - tol) and np.all(res.row_marginal <= a_hi + tol)
    assert np.all(res.col_marginal >= b_lo - tol) and np.all(res.col_marginal <= b_hi + tol)
    assert res.plan.nnz <= pr.n + pr.m and res.plan.data.min(initial=0.0) >= 0
    D = pairwise_distances(pr.x_pos, pr.x_neg)
    slack = D - res.f_pos[:, None] + res.f_neg[None, :]  # dual feasibility over ALL pairs
    assert slack.min() >= -1e-12 * (1 + D.max())
    rows, cols = res.plan.nonzero()  # complementary slackness on the support
    assert np.abs(slack[rows, cols]).max() <= 1e-11 * (1 + D.max())
    assert res.dual_value == pytest.approx(res.loss, abs=1e-12 * (1 + D.max()))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_sparse_equals_dense_netsimplex(pr):
    check_against_dense(pr, hkr_transport(pr, method="sparse"),
                        hkr_transport(pr, method="netsimplex"))


@pytest.mark.parametrize("data,lam,n,m", [("moons", 0.0, 900, 700), ("gauss", 1.0, 800, 800),
                                          ("moons", 1.0, 800, 800)])
def test_sparse_multiscale_equals_dense(data, lam, n, m):
    """Clouds large enough for two coarser levels (coarsest lowered to 150 points)."""
    x, z = two_moons(n, m, seed=3) if data == "moons" else gaussians(n, m, seed=3)
    pr = Problem(x, z, lam=lam, margin=0.1)
    ref = hkr_transport(pr, method="netsimplex" if n == m else "pot")
    sol = solve_sparse(pr, SparseOptions(coarsest=150))
    assert len({(h["n"], h["m"]) for h in sol.history}) == 3  # 3 levels
    res = solve_mod._sparse_result(pr, 0.0, sol)
    check_against_dense(pr, res, ref)


def test_sparse_wasserstein1_equals_emd2():
    rng = np.random.default_rng(4)
    x, z = rng.normal(size=(70, 2)), rng.normal(size=(50, 2)) + 1.5
    a, b = rng.uniform(0.2, 1, 70), rng.uniform(0.2, 1, 50)
    ref = ot.emd2(a / a.sum(), b / b.sum(), pairwise_distances(x, z))
    assert wasserstein1(x, z, a, b, method="sparse") == pytest.approx(ref, rel=1e-12)
    assert wasserstein1(x, z, a, b, method="pot") == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("s", [1e-150, 1e-5, 1e5, 1e150])
def test_sparse_at_every_scale(s):
    """Solved in normalised units like the dense solve: the same loss (scaled), the same
    relative gap and W1 at any scale of the data (at lam = 0 -2 m - (W1 - 2 m) cancels)."""
    x, z = two_moons(120, 90, seed=8)
    base = hkr_transport(x, z, lam=1.0, margin=0.1, method="sparse")
    res = hkr_transport(s * x, s * z, lam=1.0, margin=0.1 * s, method="sparse")
    dense = hkr_transport(s * x, s * z, lam=1.0, margin=0.1 * s, method="netsimplex")
    assert res.loss / s == pytest.approx(base.loss, rel=1e-13)
    assert res.loss == pytest.approx(dense.loss, rel=1e-12)
    assert res.gap <= 1e-12
    np.testing.assert_allclose(res.f_pos / s - res.f_neg[0] / s,
                               base.f_pos - base.f_neg[0], atol=1e-12)
    assert wasserstein1(s * x, s * z, method="sparse") == pytest.approx(
        wasserstein1(s * x, s * z, method="netsimplex"), rel=1e-12)


# ------------------------------------------------------------------------------ result and API
def test_sparse_result_api():
    x, z = two_moons(150, 120, seed=5)
    res = hkr_transport(x, z, lam=1.0, method="sparse")
    dense = hkr_transport(x, z, lam=1.0)
    assert "distances" not in res.__dict__ and "method=sparse" in res.summary()
    np.testing.assert_array_equal(res.distances, pairwise_distances(x, z))  # on demand
    assert {"rounds", "arcs", "pivots", "violation", "tol", "history"} <= set(res.info)
    assert res.info["violation"] <= res.info["tol"] <= 1e-12
    assert res.mass == pytest.approx(dense.mass, abs=1e-12)
    pts = np.random.default_rng(0).uniform(-1, 2, size=(40, 2))
    # the extensions are those of the potential on the samples, which are unique up to the
    # dual's freedom: compare their defining property instead of the values
    np.testing.assert_allclose(res.potential(res.problem.samples),
                               np.concatenate([res.f_pos, res.f_neg]), atol=1e-12)
    grad = res.potential_grad(pts)
    assert grad.shape == (40, 2)
    np.testing.assert_allclose(np.linalg.norm(grad, axis=1), 1.0, atol=1e-12)


def test_options_are_checked():
    pr = Problem(np.zeros((3, 2)), np.ones((3, 2)))
    with pytest.raises(InputError, match="^k_add:"):
        SparseOptions(k_add=0)
    with pytest.raises(InputError, match="^options:"):
        solve_sparse(pr, {"k_bogus": 3})
    with pytest.raises(InputError, match="^method:"):
        wasserstein1(pr, method="bogus")


def test_failed_certificate_raises():
    pr = Problem(np.zeros((2, 1)), np.ones((2, 1)))
    sol = solve_sparse(pr)
    bad = SparseSolution(**{**sol.__dict__, "violation": 1e-6})
    with pytest.raises(SolverError, match="^sparse: certificate"):
        solve_mod._sparse_result(pr, 0.0, bad)


def test_cli_solve_sparse(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["solve", "--data", "moons", "--n", "60", "--method", "sparse", "--lam", "0",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    x, z = two_moons(60, seed=0)
    assert report["method"] == "sparse"
    assert report["loss"] == pytest.approx(-wasserstein1(x, z), rel=1e-12)
    assert report["w1"] == pytest.approx(-report["loss"], rel=1e-15)
    assert "method=sparse" in capsys.readouterr().out


@pytest.mark.slow
def test_dask_pricing_equals_local():
    distributed = pytest.importorskip("dask.distributed")
    x, z = gaussians(400, 300, seed=6)
    pr = Problem(x, z, lam=1.0, margin=0.1)
    local = solve_sparse(pr)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        remote = solve_sparse(pr, scheduler=client)
    assert remote.primal == local.primal and remote.rounds == local.rounds
    np.testing.assert_array_equal(remote.f_pos, local.f_pos)
