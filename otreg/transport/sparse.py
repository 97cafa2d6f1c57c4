"""Exact hKR transport without the dense cost matrix: column generation on the network simplex.

The bounded transport problem (docs/mathematics.md §3) has n*m arcs but an optimal plan with at most
n + m of them in use.  :func:`solve_sparse` keeps a few dozen arcs per point:

1. starting arcs: each point's nearest neighbours in the other class, a chain of arcs that
   makes the restricted problem feasible (the north-west corner plan of both clouds sorted
   along the direction between their means) and, for large clouds, the arcs suggested by the
   solution of a coarser problem (multiscale: points merged ``chunk`` at a time, solved by
   this same function, recursively);
2. solve the restricted problem with the network simplex (:class:`SparseNetwork`), warm-started
   from the previous round's optimal tree;
3. price every pair (:func:`otreg.transport.sparse_pricing.row_pass`: the reduced cost
   ``d_ij - f_i + g_j`` computed on the fly in row blocks, in parallel, skipping column blocks
   whose lower bound shows they hold no negative one) and add each point's most violated arcs,
   from both sides;
4. repeat until no pair has a reduced cost below ``-tol``: the restricted optimum is then
   optimal for the full problem, and that last full pricing pass is the certificate.

Memory is linear in n + m (the arcs kept, the spatial blocks, the tree); no pass stores an
n x m block.  See docs/sparse.md for the algorithm and its certificate.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from ..errors import InputError, MemoryLimitError, SolverError
from ..problem import Problem
from . import objective
from .netsimplex import SparseNetwork
from .sparse_pricing import Blocks, dask_pricing, row_pass, spatial_blocks

__all__ = ["SparseOptions", "SparseSolution", "solve_sparse"]

#: a pricing pass: (rows, V, cols, W, thr, k) -> (top_j, top_v), as :func:`row_pass`
PricingPass = Callable[[Blocks, np.ndarray, Blocks, np.ndarray, float, int],
                       tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class SparseOptions:
    """Tuning of :func:`solve_sparse` (the defaults were measured best on 2-D clouds).

    k_init : nearest neighbours per point (in the other class) among the starting arcs.
    k_dual : per point, the pairs of smallest reduced cost under the coarse solution's
        potential added to the starting arcs (multiscale start).
    k_add : arcs added per point and round: its most violated ones (rows, then columns).
    chunk : points merged per coarse point; 1 disables the multiscale start.
    coarsest : no coarser problem below this many points per class.
    leaf : points per spatial block of the pricing passes.
    max_rounds : limit on pricing rounds (``SolverError`` beyond).
    """

    k_init: int = 4
    k_dual: int = 16
    k_add: int = 4
    chunk: int = 4
    coarsest: int = 2000
    leaf: int = 64
    max_rounds: int = 500

    def __post_init__(self) -> None:
        for f in fields(self):
            val = getattr(self, f.name)
            low = 0 if f.name in ("k_init", "k_dual") else 1
            if not isinstance(val, (int, np.integer)) or isinstance(val, bool) or val < low:
                raise InputError(f"{f.name}: expected an integer >= {low}, got {val!r}")


@dataclass
class SparseSolution:
    """The optimum of the bounded transport problem found by column generation.

    Attributes
    ----------
    plan : scipy.sparse.csr_array (n, m)
        An optimal plan (at most n + m nonzeros).
    f_pos, f_neg : ndarray
        hKR potentials (``f_pos_i - f_neg_j <= d_ij``) after c-transforms over all pairs:
        1-Lipschitz on the samples up to rounding (no shift applied).
    primal, transported : float
        ``sum plan (d - 2 margin)`` and ``sum plan d``.
    violation : float
        Certificate: the most negative reduced cost ``d_ij - f_i + g_j`` of the simplex
        potentials over ALL pairs in the last pricing pass, as a positive fraction of
        ``scale`` (0 if none is negative).
    tol : float
        The pricing tolerance of that pass, relative to ``scale``.
    scale : float
        ``1 + diameter of both clouds + 2 margin`` (the scale of costs and potentials).
    rounds, arcs, pivots : int
        Pricing rounds, transport arcs kept and simplex pivots (this level only).
    history : list of dict
        One record per round (of every level of the multiscale start).
    seconds : float
        Wall time.
    """

    plan: sp.csr_array
    f_pos: np.ndarray
    f_neg: np.ndarray
    primal: float
    transported: float
    violation: float
    tol: float
    scale: float
    rounds: int
    arcs: int
    pivots: int
    history: list[dict] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    def info(self) -> dict:
        """Summary for :attr:`otreg.transport.HKRResult.info`."""
        out = {k: getattr(self, k) for k in ("rounds", "arcs", "pivots", "violation", "tol",
                                              "scale", "seconds")}
        out["history"] = self.history
        return out


#: peak memory per point (positive or negative) of a solve, bytes: the arcs kept (~25-30 per
#: point at 41 bytes), the tree, the blocks and the coarse levels, with a margin (measured:
#: about 4.5 kB per point above the interpreter's ~0.25 GB, benchmarks/results/sparse.md)
SPARSE_BYTES_PER_POINT = 5000


def check_sparse_size(n: int, m: int) -> None:
    """Raise :class:`MemoryLimitError` before a sparse solve whose estimated memory exceeds
    :func:`otreg.transport.objective.dense_limit_bytes` (the limit of every solver)."""
    need = SPARSE_BYTES_PER_POINT * (n + m)
    limit, source = objective.dense_limit_bytes()
    if need > limit:
        raise MemoryLimitError(
            f"n={n}, m={m}: the sparse solver needs about {need / 2**30:.1f} GiB, above the "
            f"limit of {limit / 2**30:.1f} GiB ({source}); subsample the clouds")


# ------------------------------------------------------------------------------ starting arcs
def _pair_distances(x: np.ndarray, z: np.ndarray, rows: np.ndarray,
                    cols: np.ndarray) -> np.ndarray:
    diff = x[rows] - z[cols]
    return np.sqrt(np.einsum("ij,ij->i", diff, diff))


def _north_west_chain(x: np.ndarray, z: np.ndarray, a: np.ndarray,
                      b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The north-west corner plan of masses ``a`` and ``b`` (equal sums) with both clouds
    sorted along the direction between their means: at most n + m - 1 arcs that carry every
    lower bound, so the restricted problem is feasible from the first round on."""
    u = z.mean(axis=0) - x.mean(axis=0)
    if not np.any(u):
        u = np.eye(x.shape[1])[0]
    oi = np.argsort(x @ u, kind="stable")
    oj = np.argsort(z @ u, kind="stable")
    ca, cb = np.cumsum(a[oi]), np.cumsum(b[oj])
    ca[-1] = cb[-1] = max(ca[-1], cb[-1])  # equal totals up to rounding
    # each merged breakpoint closes a segment carried by the first row / column reaching it
    ends = np.union1d(ca, cb)
    ii = np.minimum(np.searchsorted(ca, ends, side="left"), len(oi) - 1)
    jj = np.minimum(np.searchsorted(cb, ends, side="left"), len(oj) - 1)
    return oi[ii], oj[jj]


def _neighbour_arcs(xp: np.ndarray, xn: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's k nearest neighbours in the other class."""
    n, m = xp.shape[0], xn.shape[0]
    if k == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    kp, kn = min(k, m), min(k, n)
    _, near_n = cKDTree(xn).query(xp, k=kp)
    _, near_p = cKDTree(xp).query(xn, k=kn)
    rows = np.concatenate([np.repeat(np.arange(n), kp), np.asarray(near_p).reshape(-1)])
    cols = np.concatenate([np.asarray(near_n).reshape(-1), np.repeat(np.arange(m), kn)])
    return rows, cols


def _coarse_arcs(rows_b: Blocks, cols_b: Blocks, pr: Problem, a: np.ndarray, b: np.ndarray,
                 opts: SparseOptions, price: PricingPass,
                 record: Callable[[dict], Any]) -> tuple[np.ndarray, np.ndarray]:
    """Arcs suggested by a coarser problem (multiscale start).

    Consecutive points of the spatial order are merged ``chunk`` at a time into their weighted
    mean carrying their mass; the coarse hKR problem (same lam, margin and prior) is solved by
    :func:`solve_sparse` (recursively coarsened in turn).  Arcs: every pair of points whose
    chunks exchange mass in the coarse plan, and, with the coarse potential extended to all
    points (McShane), each point's ``k_dual`` pairs of smallest reduced cost under it."""
    xp, xn, c = rows_b.points, cols_b.points, opts.chunk
    n, m = xp.shape[0], xn.shape[0]
    cut_p, cut_n = np.arange(0, n, c), np.arange(0, m, c)
    mass_p = np.maximum(np.add.reduceat(a, cut_p), 1e-300)  # zero-weight chunks stay light
    mass_n = np.maximum(np.add.reduceat(b, cut_n), 1e-300)
    cen_p = np.add.reduceat(xp * a[:, None], cut_p) / mass_p[:, None]
    cen_n = np.add.reduceat(xn * b[:, None], cut_n) / mass_n[:, None]
    coarse = Problem(cen_p, cen_n, lam=pr.lam, margin=pr.margin, a=mass_p, b=mass_n, p=pr.p)
    sol = _solve(coarse, opts, price, False, record)
    ci, cj = sol.plan.nonzero()
    d = np.arange(c)
    rows = [(ci[:, None, None] * c + d[None, :, None]).repeat(c, axis=2).reshape(-1)]
    cols = [(cj[:, None, None] * c + d[None, None, :]).repeat(c, axis=1).reshape(-1)]
    if opts.k_dual > 0:
        samples = spatial_blocks(coarse.samples, opts.leaf)
        values = np.concatenate([sol.f_pos, sol.f_neg])[samples.order]
        f = price(rows_b, np.zeros(n), samples, values, -np.inf, 1)[1][:, 0]
        g = price(cols_b, np.zeros(m), samples, values, -np.inf, 1)[1][:, 0]
        top_j = price(rows_b, f, cols_b, g, np.inf, min(opts.k_dual, m))[0]
        top_i = price(cols_b, -g, rows_b, -f, np.inf, min(opts.k_dual, n))[0]
        rows += [np.repeat(np.arange(n), top_j.shape[1]), top_i.reshape(-1)]
        cols += [top_j.reshape(-1), np.repeat(np.arange(m), top_i.shape[1])]
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    keep = (rows >= 0) & (rows < n) & (cols >= 0) & (cols < m)
    return rows[keep], cols[keep]


def _unique_arcs(m: int, rows: list[np.ndarray],
                 cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    key = np.unique(np.concatenate(rows).astype(np.int64) * m + np.concatenate(cols))
    return key // m, key % m


# ------------------------------------------------------------------------------ the rounds
def _violations(price: PricingPass, rows_b: Blocks, cols_b: Blocks, V: np.ndarray,
                W: np.ndarray, tol: float, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One full pricing pass from each side: (row minima of the reduced costs, rows, cols of
    each point's up to k most violated arcs)."""
    top_j, top_v = price(rows_b, V, cols_b, W, -tol, k)
    ri, slot = np.nonzero(top_v < -tol)
    if ri.size == 0:
        return top_v[:, 0], ri, ri
    top_i, top_u = price(cols_b, -W, rows_b, -V, -tol, k)
    cj, slot2 = np.nonzero(top_u < -tol)
    rows, cols = _unique_arcs(cols_b.points.shape[0], [ri, top_i[cj, slot2]],
                              [top_j[ri, slot], cj])
    return top_v[:, 0], rows, cols


def _column_generation(net: SparseNetwork, rows_b: Blocks, cols_b: Blocks, pr: Problem,
                       opts: SparseOptions, price: PricingPass, progress: bool,
                       record: Callable[[dict], Any],
                       scale: float) -> tuple[int, np.ndarray, np.ndarray, float]:
    """Rounds of simplex and pricing until no pair violates (each round's record is passed to
    ``record``); returns (rounds, V, row minima of the reduced costs in the last pass,
    pricing tolerance)."""
    xp, xn, two_m = rows_b.points, cols_b.points, 2.0 * pr.margin
    bar = tqdm(desc=f"sparse hKR n={pr.n} m={pr.m}", unit="round", disable=not progress,
               leave=False)
    try:
        for rnd in range(1, opts.max_rounds + 1):
            t0 = time.perf_counter()
            before = net.stats.copy()
            pivots = net.solve()
            t1 = time.perf_counter()
            work = net.stats - before
            Pp, Pn, _ = net.potentials()
            V, W = two_m - Pp, -Pn  # reduced cost of i -> j: (W_j + d_ij) - V_i
            tol = max(4.0 * net.eps, 1e-15 * scale)
            rmin, ri, cj = _violations(price, rows_b, cols_b, V, W, tol, opts.k_add)
            rec = {"n": pr.n, "m": pr.m, "round": rnd, "pivots": pivots, "arcs": net.num_arcs,
                   "arcs_priced": int(work[0]), "potential_updates": int(work[1]),
                   "added": int(ri.size), "min_reduced_cost": float(rmin.min()),
                   "simplex_s": t1 - t0, "pricing_s": time.perf_counter() - t1}
            bar.update(1)
            bar.set_postfix(arcs=rec["arcs"], added=rec["added"])
            record(rec)
            if ri.size == 0:
                if not net.feasible:
                    raise SolverError("sparse: infeasible (artificial flow left at the optimum)")
                return rnd, V, rmin, tol
            net.add_arcs(ri, cj, _pair_distances(xp, xn, ri, cj) - two_m)
    finally:
        bar.close()
    raise SolverError(f"sparse: no certified optimum after max_rounds={opts.max_rounds} "
                      "pricing rounds")


def _diameter(*clouds: np.ndarray) -> float:
    lo = np.min([c.min(axis=0) for c in clouds], axis=0)
    hi = np.max([c.max(axis=0) for c in clouds], axis=0)
    return float(np.linalg.norm(hi - lo))


def _solve(pr: Problem, opts: SparseOptions, price: PricingPass, progress: bool,
           callback: Callable[[dict], Any] | None) -> SparseSolution:
    t_start = time.perf_counter()
    rows_b = spatial_blocks(pr.x_pos, opts.leaf)
    cols_b = spatial_blocks(pr.x_neg, opts.leaf)
    xp, xn = rows_b.points, cols_b.points
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    a_lo, a_hi = a_lo[rows_b.order], a_hi[rows_b.order]
    b_lo, b_hi = b_lo[cols_b.order], b_hi[cols_b.order]
    two_m = 2.0 * pr.margin
    diam = _diameter(xp, xn)
    scale = 1.0 + diam + two_m
    net = SparseNetwork(a_lo, a_hi, b_lo, b_hi, cost_bound=max(diam - two_m, two_m))
    parts = [_neighbour_arcs(xp, xn, opts.k_init), _north_west_chain(xp, xn, a_lo, b_lo)]
    history: list[dict] = []

    def record(rec: dict) -> None:
        history.append(rec)
        if callback is not None:
            callback(rec)

    if opts.chunk > 1 and min(pr.n, pr.m) > opts.coarsest:
        parts.append(_coarse_arcs(rows_b, cols_b, pr, pr.a[rows_b.order], pr.b[cols_b.order],
                                  opts, price, record))
    r0, c0 = _unique_arcs(pr.m, [p[0] for p in parts], [p[1] for p in parts])
    net.add_arcs(r0, c0, _pair_distances(xp, xn, r0, c0) - two_m)
    rounds, V, rmin, tol = _column_generation(net, rows_b, cols_b, pr, opts, price, progress,
                                              record, scale)
    # potentials: f_pos = its c-transform over all pairs (the last pass computed it), then
    # f_neg = the c-transform of f_pos (one more pass), so f_pos_i - f_neg_j <= d_ij exactly
    f_pos = (net.potentials()[2] - pr.margin) + rmin + V
    f_neg = -price(cols_b, np.zeros(pr.m), rows_b, -f_pos, -np.inf, 1)[1][:, 0]
    rows, cols, flows = net.plan()
    dist = _pair_distances(xp, xn, rows, cols)
    out_pos, out_neg = np.empty_like(f_pos), np.empty_like(f_neg)
    out_pos[rows_b.order] = f_pos
    out_neg[cols_b.order] = f_neg
    plan = sp.csr_array((flows, (rows_b.order[rows], cols_b.order[cols])), shape=(pr.n, pr.m))
    return SparseSolution(plan=plan, f_pos=out_pos, f_neg=out_neg,
                          primal=float(np.dot(flows, dist - two_m)),
                          transported=float(np.dot(flows, dist)),
                          violation=max(0.0, -float(rmin.min())) / scale, tol=tol / scale,
                          scale=scale, rounds=rounds, arcs=net.num_arcs, pivots=net.pivots,
                          history=history, seconds=time.perf_counter() - t_start)


def solve_sparse(pr: Problem, options: SparseOptions | dict | None = None, *,
                 progress: bool = False, scheduler: Any = None,
                 pricing: PricingPass | None = None,
                 callback: Callable[[dict], Any] | None = None) -> SparseSolution:
    """Solve the bounded transport problem of ``pr`` exactly by column generation.

    Parameters
    ----------
    pr : Problem
        The hKR problem (any dimension; Euclidean ground cost).
    options : SparseOptions or dict, optional
        Tuning (see :class:`SparseOptions`).
    progress : bool
        Show a tqdm bar over the pricing rounds.
    scheduler : dask.distributed.Client or str, optional
        Run the pricing passes on this Dask cluster (a Client or a scheduler address), split
        by row blocks; by default they run here, on all cores (numba ``prange``).
    pricing : callable, optional
        Replacement of :func:`otreg.transport.sparse_pricing.row_pass` (same signature).
    callback : callable, optional
        Called with each round's record (a dict), coarse levels included.

    Returns
    -------
    SparseSolution
        Raises :class:`otreg.errors.SolverError` if no certified optimum is reached.
    """
    if isinstance(options, dict):
        unknown = set(options) - set(asdict(SparseOptions()))
        if unknown:
            raise InputError(f"options: unknown {sorted(unknown)}; expected names of "
                             "SparseOptions")
        options = SparseOptions(**options)
    opts = SparseOptions() if options is None else options
    check_sparse_size(pr.n, pr.m)
    if pricing is None:
        pricing = row_pass if scheduler is None else dask_pricing(scheduler)
    return _solve(pr, opts, pricing, progress, callback)
