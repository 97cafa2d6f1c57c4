"""Exact network simplex for transport with bounded marginals (the hKR primal, spec section 3,
and ``bounded_emd`` for any costs).

Problem::

    min  sum_ij (C_ij + offset) pi_ij
    s.t. pi >= 0,  a_lo <= pi 1 <= a_hi,  b_lo <= pi^T 1 <= b_hi      (upper bounds may be inf)

It is solved as a min-cost flow on n positives, m negatives and one hub node h:

* arc i -> j, cost C_ij + offset, capacity inf (n*m arcs, never stored: arc k <-> (k // m,
  k % m); the offset is added on the fly, so hKR's d - 2 margin needs no copy of d);
* arc h -> i, cost 0, capacity a_hi_i - a_lo_i   (extra mass leaving positive i);
* arc j -> h, cost 0, capacity b_hi_j - b_lo_j   (extra mass reaching negative j);
* supplies: +a_lo_i at i, -b_lo_j at j, sum(b_lo) - sum(a_lo) at h.

The solver is a port of LEMON's NetworkSimplex (the algorithm inside POT's ``ot.emd``):
thread / parent / pred / succ_num / last_succ tree arrays, block-search pricing and the
strongly feasible leaving-arc rule (which makes it immune to cycling on these very degenerate
problems).  The bounded hub arcs are handled natively (states lower / upper / tree), so no split
nodes are needed.  Only tree arcs carry flow among the n*m dense arcs, so flows are stored per
tree node.  The first tree comes from a greedy feasible plan (no artificial flow; LEMON's
artificial start is kept as an option), and at the optimum the basis's flows are recomputed
exactly from the supplies, so that no rounding accumulated over the pivots is left; every
tolerance is relative to the problem's scales.

Node potentials follow LEMON's convention: the reduced cost of arc u -> v is
``c_uv + P_u - P_v``; it is >= 0 at the lower bound, <= 0 at the upper bound and 0 on the tree.
See docs/fast_solver.md and docs/bounded_emd.md.
"""
from __future__ import annotations

import math
from collections import namedtuple
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from ..errors import InputError, SolverError
from ._aot import kernel
from .validate import check_bounded_problem, power_of_two_scale

__all__ = ["BoundedTransportSolution", "SolveStats", "SparsePlan", "Status",
           "bounded_dual_value", "bounded_transport", "certify"]

# direction of a tree node's pred arc: _UP = node -> parent
_UP = 1
_DOWN = -1
# state of a stored arc: reduced cost sign it needs to enter (flow at the lower / upper bound)
_LOWER = 1
_UPPER = -1
_TREE = 0  # also used for fixed (zero-capacity) and retired artificial arcs
# outcome of a pivot
_UNBOUNDED = -1
_BOUND_FLIP = 0
_TREE_CHANGE = 1
_ULPS64 = 64.0 * 2.220446049250313e-16  # pricing tolerance / largest |potential| (2**-46)


class Status(IntEnum):
    """How the simplex ended (only OPTIMAL yields a solution; the others raise SolverError)."""

    OPTIMAL = 0
    MAX_ITER = 1
    INFEASIBLE = 2
    UNBOUNDED = 3
    INACCURATE = 4  # the optimal basis's exact flows leave a bound by more than the tolerance


class SolveStats(NamedTuple):
    """Work counters of one solve."""

    arcs_priced: int  # reduced costs computed by the block search
    potential_updates: int  # node potentials shifted by the pivots
    join_steps: int  # tree steps walked to find the apex of the pivot cycles


class SparsePlan:
    """A transport plan held as its nonzero entries ``rows``, ``cols``, ``flows`` of an
    (n, m) = ``shape`` matrix (mixed into the solution records)."""

    rows: np.ndarray
    cols: np.ndarray
    flows: np.ndarray
    shape: tuple[int, int]

    def plan(self) -> np.ndarray:
        """The dense (n, m) plan (np.zeros: pages without a nonzero entry are never touched)."""
        out = np.zeros(self.shape)
        out[self.rows, self.cols] = self.flows
        return out

    @property
    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.flows, minlength=self.shape[0])

    @property
    def col_sums(self) -> np.ndarray:
        return np.bincount(self.cols, weights=self.flows, minlength=self.shape[1])

    @property
    def mass(self) -> float:
        return float(self.flows.sum())


@dataclass
class BoundedTransportSolution(SparsePlan):
    """Optimal plan (COO, nonzero entries) and node potentials (LEMON convention)."""

    rows: np.ndarray
    cols: np.ndarray
    flows: np.ndarray
    P_pos: np.ndarray
    P_neg: np.ndarray
    P_hub: float
    value: float
    iterations: int
    status: Status
    shape: tuple[int, int] = (0, 0)
    stats: SolveStats | None = None
    offset: float = 0.0  # the costs were C + offset

    @property
    def u(self) -> np.ndarray:
        """Row duals u_i = P_hub - P_pos_i: u_i + v_j <= C_ij + offset, equality on the plan's
        support; u_i > 0 only if row i sits at its lower bound, u_i < 0 only at its upper."""
        return self.P_hub - self.P_pos

    @property
    def v(self) -> np.ndarray:
        """Column duals v_j = P_neg_j - P_hub (signs as for :attr:`u`)."""
        return self.P_neg - self.P_hub


# The helpers called at each pivot run without numba's reference counting (NRT): they only
# index arrays owned by _network_simplex and return scalars, so they must never allocate an
# array or return one.  With it, each call increfs and decrefs every array of the _Arcs and
# _Tree tuples it receives, ~100 atomic operations per pivot: 20-35% slower at n = 1000.
_borrowing = njit(cache=True, _nrt=False)
# fastmath lets LLVM vectorise the pricing's min (exact: a min does not round); only for code
# that sees finite numbers (no inf constant either: "ninf" makes them poison)
_borrowing_fastmath = njit(cache=True, fastmath=True, _nrt=False)


# --------------------------------------------------------------------------------------------
# numba kernel, part 1: the arcs (storage, access, pricing)
#
# Arc ids: e < nm are the dense arcs i -> n + j, e = i * m + j, cost C[e], capacity inf, never
# stored.  e = nm + x are stored: x < n hub -> x, n <= x < n + m negative x -> hub, x >= n + m
# the artificial arc of node x - n - m.  Only pricing and the arc functions below know this;
# the tree (part 2) gets an arc as the record of _arc and returns the arc that left.
# --------------------------------------------------------------------------------------------

# The dense cost matrix (flat) and the stored arcs' source, target, cost, capacity, bound
# state (_LOWER / _UPPER, _TREE while in the tree or fixed) and flow (meaningful off the tree).
# The cost of dense arc e is C[e] + offset (a constant shift such as hKR's -2 margin, applied on
# the fly so that the caller's matrix is never copied).
_Arcs = namedtuple("_Arcs", ["C", "offset", "n", "m", "nm", "src", "tgt", "cost", "cap", "state",
                             "flow"])


@njit(cache=True)
def _make_arcs(C, offset, a_lo, a_hi, b_lo, b_hi):
    """The dense arcs and the hub arcs, at their lower bound (fixed if of capacity 0); the
    artificial arcs are set by :func:`_initial_tree` or :func:`_greedy_start`."""
    n = a_lo.shape[0]
    m = b_lo.shape[0]
    hub = n + m
    nx = n + m + n + m + 1
    src = np.empty(nx, np.int64)
    tgt = np.empty(nx, np.int64)
    cap = np.empty(nx)
    for i in range(n):
        src[i] = hub
        tgt[i] = i
        cap[i] = a_hi[i] - a_lo[i]
    for j in range(m):
        src[n + j] = n + j
        tgt[n + j] = hub
        cap[n + j] = b_hi[j] - b_lo[j]
    arcs = _Arcs(C, offset, n, m, n * m, src, tgt, np.zeros(nx), cap, np.zeros(nx, np.int8),
                 np.zeros(nx))
    _set_hub_arcs(arcs, True)
    return arcs


@_borrowing
def _set_hub_arcs(arcs, free):
    """Release the hub arcs of positive capacity (at their lower bound), or fix them all."""
    for x in range(arcs.n + arcs.m):
        arcs.state[x] = _LOWER if free and arcs.cap[x] > 0 else _TREE


@_borrowing
def _arc(arcs, e):
    """Arc e as the tree sees it: (e, source, target, cost, capacity, bound state)."""
    if e < arcs.nm:
        return (e, e // arcs.m, arcs.n + e % arcs.m, arcs.C[e] + arcs.offset, np.inf,
                np.int64(_LOWER))
    x = e - arcs.nm
    return e, arcs.src[x], arcs.tgt[x], arcs.cost[x], arcs.cap[x], np.int64(arcs.state[x])


@_borrowing
def _leave_tree(arcs, e, flow):
    """Arc e left the tree carrying ``flow``: put it at the nearer bound (dense arcs are at 0
    when off the tree); an artificial arc is retired for good."""
    if e < arcs.nm:
        return
    x = e - arcs.nm
    if x >= arcs.n + arcs.m:
        arcs.state[x] = _TREE
        arcs.flow[x] = 0.0
    elif abs(flow) <= abs(arcs.cap[x] - flow):
        arcs.state[x] = _LOWER
        arcs.flow[x] = 0.0
    else:
        arcs.state[x] = _UPPER
        arcs.flow[x] = arcs.cap[x]


@_borrowing
def _enter_tree(arcs, e):
    if e >= arcs.nm:
        arcs.state[e - arcs.nm] = _TREE


@_borrowing
def _flip_bound(arcs, e):
    """A stored arc that moved from one bound to the other without entering the tree."""
    x = e - arcs.nm
    arcs.state[x] = -arcs.state[x]
    arcs.flow[x] = arcs.cap[x] if arcs.state[x] == _UPPER else 0.0


_CHUNK = 64  # dense arcs priced per vectorised step of _price_segment


@_borrowing_fastmath
def _chunk_min(row, pn):
    """min_t row[t] - pn[t] (exact: a min does not round), over four independent running mins
    so that the loop is not one chain of dependent min instructions (LLVM does not vectorise
    a floating-point min reduction)."""
    L = row.shape[0]
    m0 = m1 = m2 = m3 = row[0] - pn[0]
    L4 = L - L % 4
    for t in range(0, L4, 4):
        c0 = row[t] - pn[t]
        c1 = row[t + 1] - pn[t + 1]
        c2 = row[t + 2] - pn[t + 2]
        c3 = row[t + 3] - pn[t + 3]
        m0 = c0 if c0 < m0 else m0
        m1 = c1 if c1 < m1 else m1
        m2 = c2 if c2 < m2 else m2
        m3 = c3 if c3 < m3 else m3
    for t in range(L4, L):
        c0 = row[t] - pn[t]
        m0 = c0 if c0 < m0 else m0
    m0 = m1 if m1 < m0 else m0
    m2 = m3 if m3 < m2 else m2
    return m2 if m2 < m0 else m0


@_borrowing_fastmath
def _price_segment(Cf, base, Pi, Pn, j0, j1, minc, thresh, cand):
    """The most negative reduced cost (C[base + j] - Pn[j]) + Pi below ``minc`` over the row
    segment [j0, j1), and its j (-1 if none is below).  By chunks of _CHUNK arcs: the chunk's
    min (:func:`_chunk_min`), the arg-min searched only in a chunk that holds a new best or a
    reduced cost below ``thresh`` (-eps), whose arc is then remembered in the candidate list
    ``cand`` (cand[0] entries after it) while it has room.  Chunks are sliced so that the
    loops index from 0 (no negative-index wrap-around test, which would serialise them)."""
    jb = -1
    j = j0
    room = cand.shape[0] - 1
    while j < j1:
        k = min(j1, j + _CHUNK)
        row = Cf[base + j:base + k]
        pn = Pn[j:k]
        mv = _chunk_min(row, pn)
        c = mv + Pi
        if c < minc or (c < thresh and cand[0] < room):
            t = 0
            while row[t] - pn[t] != mv:
                t += 1
            if c < minc:
                minc = c
                jb = j + t
            if cand[0] < room:
                cand[0] += 1
                cand[cand[0]] = base + j + t
        j = k
    return minc, jb


@_borrowing
def _stored_reduced_cost(arcs, P, x):
    """Reduced cost of stored arc x, signed so that < 0 means it can enter; 0 in the tree."""
    s = arcs.state[x]
    if s == 0:
        return 0.0
    return s * (arcs.cost[x] + P[arcs.src[x]] - P[arcs.tgt[x]])


@_borrowing
def _price_hub_arcs(arcs, P, cursor, count, minc):
    """Price ``count`` hub arcs round robin from ``cursor[1]`` on: (best reduced cost below
    ``minc`` or ``minc``, its arc or -1)."""
    in_arc = -1
    nh = arcs.n + arcs.m
    x = cursor[1]
    for _ in range(min(count, nh)):
        c = _stored_reduced_cost(arcs, P, x)
        if c < minc:
            minc = c
            in_arc = arcs.nm + x
        x += 1
        if x >= nh:
            x = 0
    cursor[1] = x
    return minc, in_arc


@_borrowing
def _price_candidates(arcs, P, cand, minc, thresh):
    """Re-price the remembered dense arcs cand[1..cand[0]], keep those still below ``thresh``
    and return (the best below ``minc`` or ``minc``, its arc or -1)."""
    m, Cf = arcs.m, arcs.C
    in_arc = -1
    kept = 0
    for q in range(1, cand[0] + 1):
        e = cand[q]
        i = e // m
        j = e - i * m
        c = (Cf[e] - P[arcs.n + j]) + (P[i] + arcs.offset)
        if c < thresh:
            kept += 1
            cand[kept] = e
            if c < minc:
                minc = c
                in_arc = e
    cand[0] = kept
    return minc, in_arc


@_borrowing
def _price_hot_rows(arcs, P, hot, minc, thresh, cand, budget):
    """Rows where long searches found candidates (hot[2 + 2k] = row, hot[3 + 2k] = misses,
    k < hot[0], in row order), priced whole in cyclic order from the cursor hot[1], at most
    ``budget`` of them, until one holds a reduced cost below ``thresh``.  Near the optimum
    the last candidates keep reappearing in the same few rows, one sweep after another.
    Returns (its best below ``minc`` or ``minc``, the arc or -1, arcs priced) and leaves the
    cursor after that row."""
    m = arcs.m
    Pn = P[arcs.n:arcs.n + m]
    priced = 0
    for _ in range(min(budget, hot[0])):
        k = hot[1] % hot[0]
        hot[1] = k + 1
        i = hot[2 + 2 * k]
        c, jb = _price_segment(arcs.C, i * m, P[i] + arcs.offset, Pn, 0, m, thresh, thresh, cand)
        priced += m
        if jb >= 0:
            hot[3 + 2 * k] = 0
            if c < minc:
                return c, i * m + jb, priced
            return minc, -1, priced
        hot[3 + 2 * k] += 1
    return minc, -1, priced


@_borrowing
def _remember_row(hot, i):
    """Add row i to the hot rows (in row order, so that their cycle follows the sweep); when
    they are full, the row with the most misses since its last hit makes room."""
    k = hot[0]
    for p in range(k):
        if hot[2 + 2 * p] == i:
            hot[3 + 2 * p] = 0
            return
    if 2 * k + 4 > hot.shape[0]:  # full: drop the worst
        worst = 0
        for p in range(1, k):
            if hot[3 + 2 * p] > hot[3 + 2 * worst]:
                worst = p
        for q in range(2 + 2 * worst, 2 * k):
            hot[q] = hot[q + 2]
        k -= 1
    p = 0
    while p < k and hot[2 + 2 * p] < i:
        p += 1
    for q in range(2 * k + 3, 2 * p + 3, -1):
        hot[q] = hot[q - 2]
    hot[2 + 2 * p] = i
    hot[3 + 2 * p] = 0
    hot[0] = k + 1


@_borrowing
def _find_entering(arcs, P, cursor, block, hub_block, eps, cand, hot):
    """LEMON block search with two memories for the end game.  The most negative reduced cost
    (below -eps) among the dense arcs remembered by earlier searches (``cand``), a rolling block
    of ``hub_block`` hub arcs from ``cursor[1]`` on, and the first block of ``block`` arcs from
    ``cursor[0]`` on (dense arcs row by row, then the hub arcs, cyclic); if none has one, the
    hot rows (:func:`_price_hot_rows`: rows where earlier long searches found a candidate,
    priced whole in cyclic order, as many as a long search prices on average, ``cursor[2]``
    arcs); only then the first later block that has one.

    Near the optimum the last candidates keep reappearing in the same few rows, one sweep
    after another (two Gaussians, n = 2000, lam = 100: some 50 of the 2000 rows), so a plain
    block search pays most of a sweep of the n m arcs per pivot.  Arcs priced and pivots,
    n = 4000: two moons, lam = 0: 1891M, 568k -> 619M, 151k; Gaussians, lam = 100: 2063M, 177k
    -> 794M, 141k.  Dense arcs found below -eps on the way are remembered
    (:func:`_price_segment`), so that a block holding several serves several pivots.  Returns
    (entering arc or -1, arcs priced) and moves the cursors."""
    Cf, n, m, nm = arcs.C, arcs.n, arcs.m, arcs.nm
    total = nm + n + m  # the artificial arcs are never priced
    thresh = -eps
    minc, in_arc = _price_candidates(arcs, P, cand, thresh, thresh)
    first = True  # still in the first block
    hot_priced = 0
    if hub_block > 0:
        minc, in_hub = _price_hub_arcs(arcs, P, cursor, hub_block, minc)
        in_arc = in_hub if in_hub >= 0 else in_arc
    cnt = block
    e = cursor[0]
    scanned = 0
    Pn = P[n:n + m]
    while scanned < total + block:
        if e < nm:
            i = e // m
            j0 = e - i * m
            base = i * m
            Pi = P[i] + arcs.offset
            j = j0
            while j < m:
                seg = min(m, j + cnt)
                minc, jb = _price_segment(Cf, base, Pi, Pn, j, seg, minc, thresh, cand)
                if jb >= 0:
                    in_arc = base + jb
                    if not first:
                        _remember_row(hot, i)
                        # running mean of the long searches' length (without the hot rows)
                        cursor[2] = (3 * cursor[2] + scanned + j - j0 - hot_priced) // 4
                cnt -= seg - j
                j = seg
                if cnt == 0:
                    if in_arc < 0 and first:  # before a long search: the hot rows
                        first = False
                        minc, in_arc, priced = _price_hot_rows(arcs, P, hot, minc, thresh, cand,
                                                               cursor[2] // m)
                        scanned += priced
                        hot_priced = priced
                    if in_arc >= 0:
                        cursor[0] = base + j
                        return in_arc, scanned + j - j0
                    cnt = block
            scanned += m - j0
            e = base + m
        else:
            for e2 in range(e, total):
                c = _stored_reduced_cost(arcs, P, e2 - nm)
                if c < minc:
                    minc = c
                    in_arc = e2
                cnt -= 1
                if cnt == 0:
                    if in_arc >= 0:
                        cursor[0] = e2 + 1 if e2 + 1 < total else 0
                        return in_arc, scanned + e2 - e + 1
                    cnt = block
            scanned += total - e
            e = 0
    cursor[0] = e
    return in_arc, scanned


@_borrowing
def _node_excess(arcs, supply, excess):
    """excess[u] = supply[u] + flow of the stored arcs at their upper bound into u - out of u
    (root: 0), the input of :func:`_refresh_flows`."""
    for u in range(supply.shape[0]):
        excess[u] = supply[u]
    excess[supply.shape[0]] = 0.0
    for x in range(arcs.n + arcs.m):
        if arcs.state[x] == _UPPER:
            excess[arcs.src[x]] -= arcs.cap[x]
            excess[arcs.tgt[x]] += arcs.cap[x]


@njit(cache=True)
def _initial_marginals(a_lo, a_hi, b_lo, b_hi, dust):
    """Row and column sums (r, c) of a first feasible plan: the lower bounds, with the side of
    smaller total raised, rows (or columns) in index order each up to its upper bound, until
    both carry max(sum a_lo, sum b_lo) (within ``dust``).  At most one row (or column) ends
    strictly between its bounds."""
    r = a_lo.copy()
    c = b_lo.copy()
    need = c.sum() - r.sum()
    lo, hi = r, a_hi
    if need < 0.0:
        need = -need
        lo, hi = c, b_hi
    for k in range(lo.shape[0]):
        if need <= dust:
            break
        add = min(hi[k] - lo[k], need)
        if add > 0.0:
            lo[k] += add
            need -= add
    return r, c


@njit(cache=True)
def _greedy_plan(arcs, r, c, feps):
    """A plan with row sums r and column sums c (both consumed) by the row-minimum rule: each
    row in turn sends its mass to its cheapest columns that still take some.  Each arc added
    exhausts its row or its column (the one of smaller remaining mass; both if they are within
    ``feps``), so the support is a forest and every arc carries more than ``feps``; what is
    left at the end is rounding dust (the totals agree up to it).

    Returns (k, rows, cols, flows) with the k arcs in the first k entries."""
    n, m, C = arcs.n, arcs.m, arcs.C
    pen = np.zeros(m)  # 0 for columns that still take mass, inf for exhausted ones
    alive = 0
    for j in range(m):
        if c[j] > feps:
            alive += 1
        else:
            pen[j] = np.inf
    size = n + m
    rows = np.empty(size, np.int64)
    cols = np.empty(size, np.int64)
    flows = np.empty(size)
    k = 0
    for i in range(n):
        ri = r[i]
        base = i * m
        while ri > feps and alive > 0:
            best = np.inf
            jb = -1
            for j in range(m):
                v = C[base + j] + pen[j]
                if v < best:
                    best = v
                    jb = j
            cj = c[jb]
            if ri < cj - feps:  # the row is exhausted
                x = ri
                c[jb] = cj - ri
                ri = 0.0
            else:  # the column is exhausted (and the row too if they were within feps)
                x = cj
                ri = 0.0 if cj >= ri - feps else ri - cj
                c[jb] = 0.0
                pen[jb] = np.inf
                alive -= 1
            rows[k] = i
            cols[k] = jb
            flows[k] = x
            k += 1
    return k, rows, cols, flows


@njit(cache=True)
def _greedy_start(arcs, a_lo, a_hi, b_lo, b_hi, feps, dust):
    """A first strongly feasible tree from the greedy plan (no artificial flow, unlike
    :func:`_initial_tree`): its arcs, and the hub arcs strictly between their bounds, form a
    forest; every other hub arc sits at its bound; each tree of the forest hangs from the root
    by the zero-flow artificial arc of one of its nodes, pointing up (strongly feasible: the
    only zero-flow tree arcs point to the root)."""
    n, m = arcs.n, arcs.m
    hub = n + m
    r, c = _initial_marginals(a_lo, a_hi, b_lo, b_hi, dust)
    k, rows, cols, flows = _greedy_plan(arcs, r.copy(), c.copy(), feps)
    size = k + n + m
    esrc = np.empty(size, np.int64)
    etgt = np.empty(size, np.int64)
    eid = np.empty(size, np.int64)
    eflow = np.empty(size)
    ecost = np.empty(size)
    ecap = np.empty(size)
    for q in range(k):
        e = rows[q] * m + cols[q]
        esrc[q], etgt[q], eid[q] = rows[q], n + cols[q], e
        eflow[q], ecost[q], ecap[q] = flows[q], arcs.C[e] + arcs.offset, np.inf
    for x in range(n + m):  # hub -> i carries r_i - a_lo_i, j -> hub carries c_j - b_lo_j
        f = r[x] - a_lo[x] if x < n else c[x - n] - b_lo[x - n]
        cap = arcs.cap[x]
        if cap <= 0.0:
            continue  # fixed (state _TREE from _make_arcs)
        if f <= feps:
            arcs.state[x], arcs.flow[x] = _LOWER, 0.0
        elif f >= cap - feps:
            arcs.state[x], arcs.flow[x] = _UPPER, cap
        else:
            arcs.state[x] = _TREE
            esrc[k], etgt[k], eid[k] = arcs.src[x], arcs.tgt[x], arcs.nm + x
            eflow[k], ecost[k], ecap[k] = f, 0.0, cap
            k += 1
    for u in range(hub + 1):  # artificial arcs u -> root, cost 0 (used by the component roots)
        x = n + m + u
        arcs.src[x], arcs.tgt[x], arcs.cost[x], arcs.cap[x] = u, hub + 1, 0.0, np.inf
        arcs.state[x] = _TREE
    return _tree_from_forest(hub + 1, k, esrc, etgt, eid, eflow, ecost, ecap, arcs.nm + n + m)


# --------------------------------------------------------------------------------------------
# numba kernel, part 2: the spanning tree (LEMON's thread / parent / pred / succ_num / last_succ)
#
# Node N = n + m + 1 is the artificial root.  Each node u != root keeps its pred arc (the arc
# to its parent): id, direction (_UP: u -> parent), flow, cost and capacity, so pivoting never
# looks an arc up.  P holds the potentials; dirty is scratch space of the tree update.
# --------------------------------------------------------------------------------------------

_Tree = namedtuple("_Tree", ["parent", "pred", "pred_dir", "thread", "rev_thread", "succ_num",
                             "last_succ", "flow", "cost", "cap", "P", "dirty"])


@njit(cache=True)
def _initial_tree(arcs, supply, big_m):
    """LEMON's strongly feasible start: each node u hangs from the root by its artificial arc,
    u -> root of cost 0 if supply[u] >= 0, else root -> u of cost big_m."""
    N = supply.shape[0]
    root = N
    NT = N + 1
    tree = _Tree(np.empty(NT, np.int64), np.empty(NT, np.int64), np.zeros(NT, np.int8),
                 np.empty(NT, np.int64), np.empty(NT, np.int64), np.empty(NT, np.int64),
                 np.empty(NT, np.int64), np.zeros(NT), np.zeros(NT), np.full(NT, np.inf),
                 np.zeros(NT), np.empty(NT, np.int64))
    for u in range(N):
        x = arcs.n + arcs.m + u
        arcs.cap[x] = np.inf
        arcs.state[x] = _TREE
        if supply[u] >= 0:
            arcs.src[x] = u
            arcs.tgt[x] = root
            arcs.cost[x] = 0.0
            _set_pred(tree, u, (arcs.nm + x, _UP, supply[u], 0.0, np.inf))
        else:
            arcs.src[x] = root
            arcs.tgt[x] = u
            arcs.cost[x] = big_m
            _set_pred(tree, u, (arcs.nm + x, _DOWN, -supply[u], big_m, np.inf))
            tree.P[u] = big_m
        tree.parent[u] = root
        tree.thread[u] = u + 1
        tree.rev_thread[u + 1] = u
        tree.succ_num[u] = 1
        tree.last_succ[u] = u
    tree.parent[root] = -1
    tree.pred[root] = -1
    tree.thread[root] = 0
    tree.rev_thread[0] = root
    tree.succ_num[root] = NT
    tree.last_succ[root] = root - 1
    return tree


@njit(cache=True)
def _tree_from_forest(N, k, esrc, etgt, eid, eflow, ecost, ecap, art_base):
    """The spanning tree of nodes 0..N-1 and the root N made of a forest (the k arcs
    esrc -> etgt with ids eid, flows, costs and capacities) whose trees hang from the root by
    the artificial arc ``art_base + u`` (u -> root, cost 0, flow 0) of their first node u.
    Potentials are left at 0 (see :func:`_refresh_potentials`)."""
    root = N
    NT = N + 1
    tree = _Tree(np.full(NT, -1, np.int64), np.full(NT, -1, np.int64), np.zeros(NT, np.int8),
                 np.empty(NT, np.int64), np.empty(NT, np.int64), np.ones(NT, np.int64),
                 np.empty(NT, np.int64), np.zeros(NT), np.zeros(NT), np.full(NT, np.inf),
                 np.zeros(NT), np.empty(NT, np.int64))
    start = np.zeros(N + 1, np.int64)  # adjacency lists (CSR) of the forest, by arc index
    for q in range(k):
        start[esrc[q] + 1] += 1
        start[etgt[q] + 1] += 1
    for u in range(N):
        start[u + 1] += start[u]
    fill = start[:N].copy()
    adj = np.empty(2 * k, np.int64)
    for q in range(k):
        for u in (esrc[q], etgt[q]):
            adj[fill[u]] = q
            fill[u] += 1
    order = np.empty(NT, np.int64)  # preorder from the root: each subtree is contiguous
    order[0] = root
    pos = 1
    stack = np.empty(NT, np.int64)
    for s0 in range(N):
        if tree.parent[s0] >= 0:
            continue
        tree.parent[s0] = root
        _set_pred(tree, s0, (art_base + s0, _UP, 0.0, 0.0, np.inf))
        top = 0
        stack[0] = s0
        while top >= 0:
            u = stack[top]
            top -= 1
            order[pos] = u
            pos += 1
            for a in range(start[u], start[u + 1]):
                q = adj[a]
                v = etgt[q] if esrc[q] == u else esrc[q]
                if tree.parent[v] >= 0:  # u's parent (a forest has no other visited neighbour)
                    continue
                tree.parent[v] = u
                _set_pred(tree, v, (eid[q], _UP if esrc[q] == v else _DOWN, eflow[q], ecost[q],
                                    ecap[q]))
                top += 1
                stack[top] = v
    for q in range(NT):
        tree.thread[order[q]] = order[(q + 1) % NT]
        tree.rev_thread[order[(q + 1) % NT]] = order[q]
    for q in range(NT - 1, 0, -1):
        tree.succ_num[tree.parent[order[q]]] += tree.succ_num[order[q]]
    for q in range(NT):
        tree.last_succ[order[q]] = order[q + tree.succ_num[order[q]] - 1]
    return tree


@_borrowing
def _refresh_flows(tree, excess):
    """Recompute the flow of every tree arc from ``excess`` (per node, root last: its supply
    plus the flow of the non-tree arcs at their upper bound entering it, minus that leaving
    it), children before parents: the flows of the basis without the rounding accumulated by
    the pivots.  ``excess`` is consumed; excess[root] ends as the imbalance of the data."""
    root = tree.P.shape[0] - 1
    u = tree.rev_thread[root]
    while u != root:
        e = excess[u]
        tree.flow[u] = e if tree.pred_dir[u] == _UP else -e
        excess[tree.parent[u]] += e
        u = tree.rev_thread[u]


@_borrowing
def _clean_flows(tree, first_artificial):
    """After :func:`_refresh_flows`: set the artificial arcs' flows to 0 and clamp the real
    arcs' flows to their bounds.  Returns (largest |flow| removed from an artificial arc,
    largest bound violation clamped on a real arc)."""
    worst_art = 0.0
    worst_real = 0.0
    for u in range(tree.P.shape[0] - 1):
        f = tree.flow[u]
        if tree.pred[u] >= first_artificial:
            worst_art = max(worst_art, abs(f))
            f = 0.0
        elif f < 0.0:
            worst_real = max(worst_real, -f)
            f = 0.0
        elif f > tree.cap[u]:
            worst_real = max(worst_real, f - tree.cap[u])
            f = tree.cap[u]
        tree.flow[u] = f
    return worst_art, worst_real


@_borrowing
def _set_pred(tree, u, pred):
    """pred = (arc, direction, flow, cost, capacity) of the arc from u to its parent."""
    arc, direction, flow, cost, cap = pred
    tree.pred[u] = arc
    tree.pred_dir[u] = direction
    tree.flow[u] = flow
    tree.cost[u] = cost
    tree.cap[u] = cap


@_borrowing
def _is_tree_arc(tree, arc):
    e, u, v = arc[0], arc[1], arc[2]
    return ((tree.parent[u] == v and tree.pred[u] == e)
            or (tree.parent[v] == u and tree.pred[v] == e))


@_borrowing
def _refresh_potentials(tree, hub, S):
    """Recompute all potentials exactly from the tree (removes the drift of the incremental
    updates), shift them so that P[hub] = 0, and return the pricing tolerance for them:
    64 ulp of the largest |P| (or of S = max|C|)."""
    P, parent, thread = tree.P, tree.parent, tree.thread
    root = P.shape[0] - 1
    P[root] = 0.0
    u = thread[root]
    while u != root:
        if tree.pred_dir[u] == _UP:
            P[u] = P[parent[u]] - tree.cost[u]
        else:
            P[u] = P[parent[u]] + tree.cost[u]
        u = thread[u]
    shift = P[hub]
    big = S
    for u in range(root + 1):
        if abs(P[u]) > big:  # the rounding above is relative to the unshifted values
            big = abs(P[u])
        P[u] -= shift
        if abs(P[u]) > big:
            big = abs(P[u])
    return _ULPS64 * big


@_borrowing
def _join_node(tree, u, v):
    """The apex of the cycle closed by an arc u - v, and the number of steps to find it."""
    steps = 0
    while u != v:
        steps += 1
        if tree.succ_num[u] < tree.succ_num[v]:
            u = tree.parent[u]
        else:
            v = tree.parent[v]
    return u, steps


@_borrowing
def _bottleneck(tree, u, join, against, delta, ties):
    """Walk from u up to ``join``; a pred arc pointing ``against`` the cycle's orientation can
    take its capacity minus its flow, the others their flow.  Returns the smallest of these and
    ``delta`` and the node of the first (``ties`` False) or last (True) arc attaining it, or -1
    if none is below ``delta``."""
    u_out = -1
    while u != join:
        d = tree.flow[u]
        if tree.pred_dir[u] == against:
            c = tree.cap[u]
            d = np.inf if c == np.inf else c - d
        if d < 0.0:
            d = 0.0
        if d < delta or (ties and d == delta):
            delta = d
            u_out = u
        u = tree.parent[u]
    return delta, u_out


@_borrowing
def _push_flow(tree, u, join, val, feps):
    """Add ``val`` along the path u -> join (signed by each pred arc's direction); flows within
    ``feps`` of 0 are snapped to 0."""
    while u != join:
        f = tree.flow[u] + tree.pred_dir[u] * val
        if abs(f) < feps:
            f = 0.0
        tree.flow[u] = f
        u = tree.parent[u]


@_borrowing
def _rethread_stem(tree, u_in, v_in, u_out, old_rev_thread, old_last_succ):
    """Hang the subtree of u_out from v_in by u_in (u_in != u_out): re-link thread, rev_thread
    and parent along the stem u_in .. u_out (LEMON's updateTreeStructure, first part)."""
    parent, thread, rev_thread, last_succ, dirty = (tree.parent, tree.thread, tree.rev_thread,
                                                    tree.last_succ, tree.dirty)
    thread_continue = thread[old_last_succ] if old_rev_thread == v_in else thread[v_in]
    stem = u_in
    par_stem = v_in
    last = last_succ[u_in]
    after = thread[last]
    thread[v_in] = u_in
    dirty[0] = v_in
    nd = 1
    while stem != u_out:
        next_stem = parent[stem]
        thread[last] = next_stem
        dirty[nd] = last
        nd += 1
        before = rev_thread[stem]
        thread[before] = after
        rev_thread[after] = before
        parent[stem] = par_stem
        par_stem = stem
        stem = next_stem
        if last_succ[stem] == last_succ[par_stem]:
            last = rev_thread[par_stem]
        else:
            last = last_succ[stem]
        after = thread[last]
    parent[u_out] = par_stem
    thread[last] = thread_continue
    rev_thread[thread_continue] = last
    last_succ[u_out] = last
    if old_rev_thread != v_in:
        thread[old_rev_thread] = after
        rev_thread[after] = old_rev_thread
    for k in range(nd):
        w = dirty[k]
        rev_thread[thread[w]] = w


@_borrowing
def _reverse_stem(tree, u_in, u_out):
    """After :func:`_rethread_stem`: the stem's pred arcs move one node down (and turn round),
    its succ_num and last_succ are recomputed."""
    parent, succ_num, last_succ = tree.parent, tree.succ_num, tree.last_succ
    tmp_sc = 0
    tmp_ls = last_succ[u_out]
    u = u_out
    p = parent[u]
    while u != u_in:
        _set_pred(tree, u, (tree.pred[p], -tree.pred_dir[p], tree.flow[p], tree.cost[p],
                            tree.cap[p]))
        tmp_sc += succ_num[u] - succ_num[p]
        succ_num[u] = tmp_sc
        last_succ[p] = tmp_ls
        u = p
        p = parent[u]


@_borrowing
def _move_subtree(tree, u_in, v_in, old_rev_thread, old_last_succ):
    """Hang the subtree of u_in (= u_out) from v_in: splice its thread segment after v_in."""
    thread, rev_thread = tree.thread, tree.rev_thread
    tree.parent[u_in] = v_in
    if thread[v_in] != u_in:
        after = thread[old_last_succ]
        thread[old_rev_thread] = after
        rev_thread[after] = old_rev_thread
        after = thread[v_in]
        thread[v_in] = u_in
        rev_thread[u_in] = v_in
        thread[old_last_succ] = after
        rev_thread[after] = old_last_succ


@_borrowing
def _replace_last_succ(tree, u, stop, old, new):
    """last_succ == old -> new on the ancestors from u on, until ``stop`` or another value."""
    while u != stop and tree.last_succ[u] == old:
        tree.last_succ[u] = new
        u = tree.parent[u]


@_borrowing
def _add_succ_num(tree, u, join, k):
    while u != join:
        tree.succ_num[u] += k
        u = tree.parent[u]


@_borrowing
def _update_tree(tree, join, u_in, v_in, u_out, pred):
    """Replace the pred arc of u_out by the entering arc ``pred`` (see :func:`_set_pred`)
    between u_in and its new parent v_in (LEMON's updateTreeStructure): the subtree cut off at
    u_out is re-hung from v_in by u_in."""
    old_rev_thread = tree.rev_thread[u_out]
    old_succ_num = tree.succ_num[u_out]
    old_last_succ = tree.last_succ[u_out]
    v_out = tree.parent[u_out]
    if u_in == u_out:
        _move_subtree(tree, u_in, v_in, old_rev_thread, old_last_succ)
    else:
        _rethread_stem(tree, u_in, v_in, u_out, old_rev_thread, old_last_succ)
        _reverse_stem(tree, u_in, u_out)
    _set_pred(tree, u_in, pred)
    tree.succ_num[u_in] = old_succ_num
    # last_succ and succ_num of the ancestors on both sides of the cycle
    up_limit_out = join if tree.last_succ[join] == v_in else -1
    last_succ_out = tree.last_succ[u_out]
    _replace_last_succ(tree, v_in, -1, v_in, last_succ_out)
    if join != old_rev_thread and v_in != old_rev_thread:
        _replace_last_succ(tree, v_out, up_limit_out, old_last_succ, old_rev_thread)
    elif last_succ_out != old_last_succ:
        _replace_last_succ(tree, v_out, up_limit_out, old_last_succ, last_succ_out)
    _add_succ_num(tree, v_in, join, old_succ_num)
    _add_succ_num(tree, v_out, join, -old_succ_num)


@_borrowing
def _shift_potentials(tree, u_in):
    """Make the new pred arc of u_in tight by shifting the potentials of u_in's subtree, or
    the opposite shift of all the other nodes if the subtree holds more than half of them
    (potentials only matter up to a constant); returns the number of nodes shifted.

    Note (issue 10): the signature is unchanged, but since the complement may be the part that
    moves, a caller must not assume that the potentials outside u_in's subtree stay put (only
    their differences are kept); the hub's potential is reset to 0 by _refresh_potentials."""
    P, thread = tree.P, tree.thread
    sigma = P[tree.parent[u_in]] - P[u_in] - tree.pred_dir[u_in] * tree.cost[u_in]
    end = thread[tree.last_succ[u_in]]
    size = tree.succ_num[u_in]
    u = u_in
    if 2 * size > P.shape[0]:  # the complement: the thread from the subtree's end round to it
        u, end, sigma, size = end, u_in, -sigma, P.shape[0] - size
    while u != end:
        P[u] += sigma
        u = thread[u]
    return size


@_borrowing
def _pivot(tree, arc, feps, stats):
    """Bring ``arc`` = (id, u0, v0, cost, capacity, bound state) into the basis: find the
    cycle, the leaving arc (strongly feasible rule: first blocking arc on the source side, last
    on the target side), push the flow round, update the tree and the potentials.

    Returns (_UNBOUNDED, -1, 0), (_BOUND_FLIP, -1, 0) when ``arc`` itself blocks (it moves to
    its other bound, the tree is unchanged) or (_TREE_CHANGE, leaving arc, its flow)."""
    e, u0, v0, cost, cap, state = arc
    join, steps = _join_node(tree, u0, v0)
    stats[2] += steps
    if state == _LOWER:
        first, second = u0, v0
    else:
        first, second = v0, u0
    delta, u_first = _bottleneck(tree, first, join, _DOWN, cap, False)
    delta, u_second = _bottleneck(tree, second, join, _UP, delta, True)
    if delta == np.inf:
        return _UNBOUNDED, -1, 0.0
    flow = 0.0 if state == _LOWER else cap
    if delta > 0.0:
        val = state * delta
        flow += val
        _push_flow(tree, u0, join, -val, feps)
        _push_flow(tree, v0, join, val, feps)
    if u_second >= 0:
        u_out, u_in, v_in = u_second, second, first
    elif u_first >= 0:
        u_out, u_in, v_in = u_first, first, second
    else:
        return _BOUND_FLIP, -1, 0.0
    out_arc = tree.pred[u_out]
    out_flow = tree.flow[u_out]
    _update_tree(tree, join, u_in, v_in, u_out, (e, _UP if u_in == u0 else _DOWN, flow, cost, cap))
    stats[1] += _shift_potentials(tree, u_in)
    return _TREE_CHANGE, out_arc, out_flow


# --------------------------------------------------------------------------------------------
# numba kernel, part 3: the driver
# --------------------------------------------------------------------------------------------

# Options of the kernel: pivot limit, pivots between two exact potential refreshes, first tree
# (greedy plan, else LEMON's artificial one), hub arcs priced at each pivot, block size /
# sqrt(#arcs).
_Options = namedtuple("_Options", ["max_iter", "refresh_every", "greedy", "hub_block",
                                   "block_factor", "candidates", "hot_rows"])


@_borrowing
def _tolerances(C, offset, a_lo, a_hi, b_lo, b_hi):
    """The scales of the problem and the tolerances relative to them: (S = max|C + offset| or
    1, the big M cost (n + m + 3) S of LEMON's artificial arcs, the flow snapping tolerance
    feps = 1e-14 max finite bound, the final flow tolerance tol = max(1e-13, N eps) W with
    W = max(sum a_lo, sum b_lo, max finite bound) the scale of the total flow)."""
    S = 0.0
    for k in range(C.shape[0]):
        S = max(S, abs(C[k] + offset))
    if S == 0.0:
        S = 1.0
    Fmax = 0.0
    sa = 0.0
    sb = 0.0
    for i in range(a_hi.shape[0]):
        sa += a_lo[i]
        Fmax = max(Fmax, a_lo[i])
        if a_hi[i] < np.inf:
            Fmax = max(Fmax, a_hi[i])
    for j in range(b_hi.shape[0]):
        sb += b_lo[j]
        Fmax = max(Fmax, b_lo[j])
        if b_hi[j] < np.inf:
            Fmax = max(Fmax, b_hi[j])
    if Fmax == 0.0:
        Fmax = 1.0
    N = a_hi.shape[0] + b_hi.shape[0] + 1
    W = max(Fmax, sa, sb)
    return S, (N + 2) * S, 1e-14 * Fmax, max(1e-13, N * 2.220446049250313e-16) * W


@njit(cache=True)
def _supplies(a_lo, b_lo, feps, dust):
    """+a_lo at the positives, -b_lo at the negatives, the balance at the hub (0 if within
    ``dust``: sum a - sum b ~ 1e-16 is rounding, not data)."""
    n = a_lo.shape[0]
    m = b_lo.shape[0]
    supply = np.empty(n + m + 1)
    sa = 0.0
    sb = 0.0
    for i in range(n):
        supply[i] = a_lo[i]
        sa += a_lo[i]
    for j in range(m):
        supply[n + j] = -b_lo[j]
        sb += b_lo[j]
    supply[n + m] = sb - sa if abs(sb - sa) > dust else 0.0
    for u in range(n + m + 1):  # rounding dust (e.g. sum a - sum b ~ 1e-16) would keep an
        if abs(supply[u]) < feps:  # artificial arc of cost M in the tree, potentials at scale M
            supply[u] = 0.0
    return supply


@_borrowing
def _flip_artificial(arcs, tree, tol):
    """An artificial root -> v arc (cost M) left in the tree with rounding dust of flow puts v's
    subtree at potential scale M and the pricing tolerance with it: turn each into a zero-flow
    v -> root arc of cost 0 (still strongly feasible).  Returns whether any was turned."""
    root = tree.P.shape[0] - 1
    flipped = False
    for u in range(root):
        x = tree.pred[u] - arcs.nm
        if x >= arcs.n + arcs.m and arcs.src[x] == root and tree.flow[u] <= tol:
            arcs.src[x] = u
            arcs.tgt[x] = root
            arcs.cost[x] = 0.0
            _set_pred(tree, u, (tree.pred[u], _UP, 0.0, 0.0, tree.cap[u]))
            flipped = True
    return flipped


@njit(cache=True)
def _final_flows(arcs, tree, supply):
    """The optimal basis's flows recomputed from the supplies (:func:`_refresh_flows`), the
    artificial arcs emptied and the real ones clamped to their bounds: returns what was removed
    (see :func:`_clean_flows`) for the caller to judge against its tolerance."""
    excess = np.empty(tree.P.shape[0])
    _node_excess(arcs, supply, excess)
    _refresh_flows(tree, excess)
    return _clean_flows(tree, arcs.nm + arcs.n + arcs.m)


@njit(cache=True)
def _network_simplex(C, offset, a_lo, a_hi, b_lo, b_hi, opts):
    """Solve the min-cost flow of the module docstring with dense costs C + offset.  Returns
    (status, pivots, pred, flow, P, stats) with the tree's pred arc, its flow and the potential
    of each node."""
    hub = a_lo.shape[0] + b_lo.shape[0]
    S, big_m, feps, tol = _tolerances(C, offset, a_lo, a_hi, b_lo, b_hi)
    arcs = _make_arcs(C, offset, a_lo, a_hi, b_lo, b_hi)
    supply = _supplies(a_lo, b_lo, feps, tol)
    if opts.greedy:
        tree = _greedy_start(arcs, a_lo, a_hi, b_lo, b_hi, feps, tol)
        eps = _refresh_potentials(tree, hub, S)
        fresh = True  # potentials exact (refreshed) since the last pivot
    else:
        tree = _initial_tree(arcs, supply, big_m)
        eps = _ULPS64 * big_m  # pricing tolerance, until the first refresh of the potentials
        fresh = False
    block = max(10, int(opts.block_factor * math.sqrt(arcs.nm + hub)))
    hub_block = opts.hub_block if np.any(arcs.cap[:hub] > 0) else 0
    cursor = np.zeros(3, np.int64)  # next dense-or-hub arc of the block search, next hub arc,
    # running mean of the long searches' length
    cand = np.zeros(opts.candidates + 1, np.int64)  # remembered dense arcs (count first)
    hot = np.zeros(2 * opts.hot_rows + 2, np.int64)  # rows found by long searches (see
    # _price_hot_rows)
    stats = np.zeros(3, np.int64)  # arcs priced, potential updates, join-path steps
    status = Status.OPTIMAL
    it = 0
    since_refresh = 0
    while True:
        e, priced = _find_entering(arcs, tree.P, cursor, block, hub_block, eps, cand, hot)
        stats[0] += priced
        if e < 0:  # optimal at this tolerance: confirm with exact potentials
            if not fresh:
                eps = _refresh_potentials(tree, hub, S)
                fresh = True
                since_refresh = 0
            elif _flip_artificial(arcs, tree, 1e3 * feps):
                eps = _refresh_potentials(tree, hub, S)
            else:
                break
            continue
        arc = _arc(arcs, e)
        if _is_tree_arc(tree, arc):  # only if potentials drifted: refresh and retry
            if fresh:  # still after an exact refresh: the tolerance is too tight, widen it
                eps *= 4.0
            else:
                eps = _refresh_potentials(tree, hub, S)
                fresh = True
                since_refresh = 0
            continue
        if it >= opts.max_iter:
            status = Status.MAX_ITER
            break
        it += 1
        fresh = False
        change, out_arc, out_flow = _pivot(tree, arc, feps, stats)
        if change == _UNBOUNDED:
            status = Status.UNBOUNDED
            break
        if change == _BOUND_FLIP:
            _flip_bound(arcs, e)
            continue
        _leave_tree(arcs, out_arc, out_flow)
        _enter_tree(arcs, e)
        since_refresh += 1
        if since_refresh >= opts.refresh_every:
            eps = _refresh_potentials(tree, hub, S)
            since_refresh = 0
    if status == Status.OPTIMAL:
        worst_art, worst_real = _final_flows(arcs, tree, supply)
        if worst_art > tol:
            status = Status.INFEASIBLE
        elif worst_real > tol:
            status = Status.INACCURATE
    return status, it, tree.pred, tree.flow, tree.P, stats


# --------------------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------------------


#: costs are rescaled (a copy) only when their largest magnitude leaves [2**-200, 2**200]: the
#: potentials (sums of up to n + m costs) and the tolerances (ulps of them) stay normal numbers
_COST_RANGE = (2.0**-200, 2.0**200)


def _run_kernel(C: np.ndarray, offset: float, a_lo: np.ndarray, a_hi: np.ndarray,
                b_lo: np.ndarray, b_hi: np.ndarray, opts: _Options) -> tuple:
    """:func:`_network_simplex`, compiled ahead of time if the install built it (otreg.transport.
    _aot), else by numba on first use."""
    aot = kernel("network_simplex")
    if aot is None:
        return _network_simplex(C, offset, a_lo, a_hi, b_lo, b_hi, opts)
    status, *rest = aot(C, offset, a_lo, a_hi, b_lo, b_hi, *opts)
    return (Status(status), *rest)


def _default_hub_block(n: int, m: int) -> int:
    return max(32, 2 * math.isqrt(n + m))


def bounded_transport(C: ArrayLike, a_lo: ArrayLike, a_hi: ArrayLike, b_lo: ArrayLike,
                      b_hi: ArrayLike, *, offset: float = 0.0, max_iter: int | None = None,
                      init: str = "greedy", hub_block: int | None = None,
                      block_factor: float = 0.5, candidates: int = 32, hot_rows: int = 128
                      ) -> BoundedTransportSolution:
    """Solve min <C + offset, pi> s.t. pi >= 0, a_lo <= pi 1 <= a_hi, b_lo <= pi^T 1 <= b_hi
    exactly (upper bounds may be ``inf``).

    ``offset`` shifts every cost without copying C (hKR passes its distances and -2 margin).
    The masses are solved in units of a power of two near their scale (exact), and so are the
    costs if their magnitude is extreme; all tolerances are relative to these scales.
    ``init`` is ``"greedy"`` (a first plan by the row-minimum rule) or ``"artificial"``
    (LEMON's start, every node hanging from the root by an artificial arc).

    Returns a :class:`BoundedTransportSolution`.  Raises :class:`otreg.errors.InputError` on
    invalid or infeasible input and :class:`otreg.errors.SolverError` (naming "netsimplex")
    when ``max_iter`` pivots are exceeded or the solution fails its own accuracy test.
    """
    C, a_lo, a_hi, b_lo, b_hi = check_bounded_problem(C, a_lo, a_hi, b_lo, b_hi, offset)
    return solve_checked(C, a_lo, a_hi, b_lo, b_hi, offset=offset, max_iter=max_iter, init=init,
                         hub_block=hub_block, block_factor=block_factor, candidates=candidates,
                         hot_rows=hot_rows)


def solve_checked(C: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray,
                  b_hi: np.ndarray, *, offset: float = 0.0, max_iter: int | None = None,
                  init: str = "greedy", hub_block: int | None = None,
                  block_factor: float = 0.5, candidates: int = 32,
                  hot_rows: int = 128) -> BoundedTransportSolution:
    """:func:`bounded_transport` on input already checked by
    :func:`otreg.transport.validate.check_bounded_problem` (float64 arrays, C contiguous)."""
    if init not in ("greedy", "artificial"):
        raise InputError(f"init: expected 'greedy' or 'artificial', got {init!r}")
    n, m = C.shape
    finite = [v[np.isfinite(v)] for v in (a_lo, a_hi, b_lo, b_hi)]
    w = power_of_two_scale(max(float(a_lo.sum()), float(b_lo.sum()),
                               *(float(v.max(initial=0.0)) for v in finite)))
    s = 1.0
    big = max(abs(float(C.min()) + offset), abs(float(C.max()) + offset))
    if big > 0 and not _COST_RANGE[0] <= big <= _COST_RANGE[1]:
        s = power_of_two_scale(big)
        C = C / s
    N = n + m + 1
    opts = _Options(np.iinfo(np.int64).max if max_iter is None else int(max_iter),
                    max(1000, N // 4), init == "greedy",
                    int(hub_block) if hub_block is not None else _default_hub_block(n, m),
                    float(block_factor), int(candidates), int(hot_rows))
    status, it, pred, pflow, P, stats = _run_kernel(
        C.reshape(-1), offset / s, a_lo / w, a_hi / w, b_lo / w, b_hi / w, opts)
    if status is Status.MAX_ITER:
        raise SolverError(f"netsimplex: max_iter={max_iter} pivots reached before optimality")
    if status is not Status.OPTIMAL:
        raise SolverError(f"netsimplex: {status.name.lower()} (the optimal basis's flows, "
                          "recomputed exactly, leave the bounds by more than the tolerance; "
                          "please report this problem)")
    nm = n * m
    pr = pred[:N]
    mask = (pr >= 0) & (pr < nm) & (pflow[:N] > 0)
    arcs = pr[mask]
    rows = (arcs // m).astype(np.int64)
    cols = (arcs % m).astype(np.int64)
    flows = pflow[:N][mask]
    order = np.lexsort((cols, rows))
    rows, cols, flows = rows[order], cols[order], flows[order]
    value = float(np.dot(C[rows, cols] + offset / s, flows)) * s * w  # overflow: inf, no warning
    if not np.isfinite(value):
        raise InputError("M: the optimal cost exceeds the largest float64 (the costs times the "
                         "masses); rescale M or the bounds")
    flows = flows * w
    return BoundedTransportSolution(rows=rows, cols=cols, flows=flows, P_pos=P[:n] * s,
                                    P_neg=P[n:n + m] * s, P_hub=float(P[n + m]) * s, value=value,
                                    iterations=int(it), status=status, shape=(n, m),
                                    stats=SolveStats(*(int(s) for s in stats)), offset=offset)


def bounded_dual_value(u: np.ndarray, v: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray,
                       b_lo: np.ndarray, b_hi: np.ndarray) -> float:
    """The dual objective sum_i phi_i(u_i) + sum_j psi_j(v_j) of the bounded transport problem,
    phi_i(u) = a_lo_i u for u >= 0 and a_hi_i u for u < 0 (psi alike): a lower bound of the
    primal minimum for every (u, v) with u_i + v_j <= C_ij (docs/bounded_emd.md)."""
    def part(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
        neg = w < 0
        if np.any(np.isinf(hi[neg])):
            return -np.inf
        return float(lo[~neg] @ w[~neg]) + float(hi[neg] @ w[neg])
    return part(u, a_lo, a_hi) + part(v, b_lo, b_hi)


def certify(C: ArrayLike, a_lo: ArrayLike, a_hi: ArrayLike, b_lo: ArrayLike, b_hi: ArrayLike,
            sol: BoundedTransportSolution, tol: float = 1e-9,
            chunk: int = 1 << 22) -> dict[str, float | bool]:
    """Check the optimality of ``sol`` independently of the solver, relative to the problem's
    scales: S = max |C + offset| (costs) and W = max(sum a_lo, sum b_lo, mass of the plan).

    Keys: ``primal`` (negative flows and marginal bound violations, / W), ``dual`` (largest
    u_i + v_j - C_ij over ALL n*m arcs, / S), ``slackness`` (largest |C_ij - u_i - v_j| on
    the plan's support, / S), ``gap`` (|primal value - dual value| / (S W), the dual value of
    :func:`bounded_dual_value`), ``dual_value``, ``value``, ``scale_cost``, ``scale_mass`` and
    ``ok`` (all four <= tol).
    """
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    off = sol.offset
    a_lo, a_hi, b_lo, b_hi = (np.asarray(v, dtype=np.float64) for v in (a_lo, a_hi, b_lo, b_hi))
    r, c = sol.row_sums, sol.col_sums
    S = max(abs(float(C.min()) + off), abs(float(C.max()) + off)) or 1.0
    W = max(float(a_lo.sum()), float(b_lo.sum()), float(sol.flows.sum())) or 1.0
    primal = max(0.0, float(-sol.flows.min()) if sol.flows.size else 0.0,
                 float(np.max(a_lo - r)), float(np.max(r - a_hi)),
                 float(np.max(b_lo - c)), float(np.max(c - b_hi))) / W
    u, v = sol.u, sol.v
    rows_per = max(1, chunk // max(m, 1))
    worst = -np.inf  # largest u_i + v_j - C_ij, by chunks of rows
    for s in range(0, n, rows_per):
        worst = max(worst, float((u[s:s + rows_per, None] + v[None, :]
                                  - (C[s:s + rows_per] + off)).max()))
    worst = max(worst, float(np.max(-u[np.isinf(a_hi)], initial=0.0)),
                float(np.max(-v[np.isinf(b_hi)], initial=0.0)))  # phi = -inf for u < 0 there
    dual = max(0.0, worst) / S
    slack = 0.0
    if sol.flows.size:
        rs = C[sol.rows, sol.cols] + off - u[sol.rows] - v[sol.cols]
        slack = float(np.max(np.abs(rs))) / S
    dual_value = bounded_dual_value(u, v, a_lo, a_hi, b_lo, b_hi)
    gap = abs(sol.value - dual_value) / (S * W)
    ok = max(primal, dual, slack, gap) <= tol
    return {"primal": primal, "dual": dual, "slackness": slack, "gap": gap,
            "dual_value": dual_value, "value": sol.value, "scale_cost": S, "scale_mass": W,
            "ok": bool(ok)}
