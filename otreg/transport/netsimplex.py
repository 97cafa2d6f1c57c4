"""Exact network simplex for transport with bounded marginals (the hKR primal, spec section 3).

Problem::

    min  sum_ij C_ij pi_ij
    s.t. pi >= 0,  a_lo <= pi 1 <= a_hi,  b_lo <= pi^T 1 <= b_hi.

It is solved as a min-cost flow on n positives, m negatives and one hub node h:

* arc i -> j, cost C_ij, capacity inf (n*m arcs, never stored: arc k <-> (k // m, k % m));
* arc h -> i, cost 0, capacity a_hi_i - a_lo_i   (extra mass leaving positive i);
* arc j -> h, cost 0, capacity b_hi_j - b_lo_j   (extra mass reaching negative j);
* supplies: +a_lo_i at i, -b_lo_j at j, sum(b_lo) - sum(a_lo) at h.

The solver is a port of LEMON's NetworkSimplex (the algorithm inside POT's ``ot.emd``):
artificial root with big-M artificial arcs for the initial strongly feasible tree, thread /
parent / pred / succ_num / last_succ tree arrays, block-search pricing and the strongly feasible
leaving-arc rule (which makes it immune to cycling on these very degenerate problems).  The
bounded hub arcs are handled natively (states lower / upper / tree), so no split nodes are
needed.  Only tree arcs carry flow among the n*m dense arcs, so flows are stored per tree node.

Node potentials follow LEMON's convention: the reduced cost of arc u -> v is
``c_uv + P_u - P_v``; it is >= 0 at the lower bound, <= 0 at the upper bound and 0 on the tree.
See docs/fast_solver.md.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

import numpy as np
from numba import njit
from numpy.typing import ArrayLike

from ..errors import SolverError

__all__ = ["BoundedTransportSolution", "SolveStats", "Status", "bounded_transport", "certify"]

_UP = 1
_DOWN = -1
_LOWER = 1
_UPPER = -1
_TREE = 0  # also used for fixed (zero-capacity) and retired artificial arcs


class Status(IntEnum):
    """How the simplex ended (only OPTIMAL yields a solution; the others raise SolverError)."""

    OPTIMAL = 0
    MAX_ITER = 1
    INFEASIBLE = 2
    UNBOUNDED = 3


class SolveStats(NamedTuple):
    """Work counters of one solve."""

    arcs_priced: int  # reduced costs computed by the block search
    potential_updates: int  # node potentials shifted by the pivots
    join_steps: int  # tree steps walked to find the apex of the pivot cycles


@dataclass
class BoundedTransportSolution:
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

    def plan(self) -> np.ndarray:
        """Dense n x m plan."""
        out = np.zeros(self.shape)
        np.add.at(out, (self.rows, self.cols), self.flows)
        return out

    @property
    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.flows, minlength=self.shape[0])

    @property
    def col_sums(self) -> np.ndarray:
        return np.bincount(self.cols, weights=self.flows, minlength=self.shape[1])


# --------------------------------------------------------------------------------------------
# numba kernel
# --------------------------------------------------------------------------------------------


@njit(cache=True)
def _arc_src(e, nm, m, xsrc):
    if e < nm:
        return e // m
    return xsrc[e - nm]


@njit(cache=True)
def _arc_tgt(e, nm, n, m, xtgt):
    if e < nm:
        return n + e % m
    return xtgt[e - nm]


@njit(cache=True)
def _arc_cost(e, nm, Cf, xcost):
    if e < nm:
        return Cf[e]
    return xcost[e - nm]


@njit(cache=True)
def _arc_cap(e, nm, xcap):
    if e < nm:
        return np.inf
    return xcap[e - nm]


@njit(cache=True)
def _refresh_potentials(root, thread, parent, pred, pred_dir, P, nm, Cf, xcost, hub, S):
    """Recompute all potentials exactly from the tree (removes the drift of the incremental
    updates), shift them so that P[hub] = 0, and return the pricing tolerance for them:
    64 ulp of the largest |P| (or of max|C|)."""
    P[root] = 0.0
    u = thread[root]
    while u != root:
        c = _arc_cost(pred[u], nm, Cf, xcost)
        if pred_dir[u] == 1:
            P[u] = P[parent[u]] - c
        else:
            P[u] = P[parent[u]] + c
        u = thread[u]
    shift = P[hub]
    big = S
    for u in range(root + 1):
        if abs(P[u]) > big:  # the rounding above is relative to the unshifted values
            big = abs(P[u])
        P[u] -= shift
        if abs(P[u]) > big:
            big = abs(P[u])
    return 64.0 * 2.220446049250313e-16 * big


@njit(cache=True, fastmath=True)
def _seg_min(Cf, base, Pi, Pn, j0, j1):
    """~ min_j C[base + j] + Pi - Pn[j] over [j0, j1): vectorised, used only to skip segments
    without a candidate (the candidate itself is re-priced exactly)."""
    row = Cf[base + j0:base + j1]
    pn = Pn[j0:j1]
    mv = np.inf
    for j in range(row.shape[0]):
        c = row[j] - pn[j]
        mv = c if c < mv else mv
    return mv + Pi


@njit(cache=True)
def _find_entering(Cf, n, m, nm, total, P, xsrc, xtgt, xcost, xstate, next_arc, block, eps,
                   hub_block, hub_pos):
    """LEMON block search.  Returns (entering arc or -1, new next_arc)."""
    minc = -eps
    in_arc = -1
    cnt = block
    e = next_arc
    scanned = 0
    nh = total - nm
    Pn = P[n:n + m]
    if hub_block > 0:
        x = hub_pos[0]
        for _ in range(min(hub_block, nh)):
            s = xstate[x]
            if s != 0:
                c = s * (xcost[x] + P[xsrc[x]] - P[xtgt[x]])
                if c < minc:
                    minc = c
                    in_arc = nm + x
            x += 1
            if x >= nh:
                x = 0
        hub_pos[0] = x
    while scanned < total + block:
        if e < nm:
            i = e // m
            j0 = e - i * m
            base = i * m
            Pi = P[i]
            j = j0
            while j < m:
                seg = min(m, j + cnt)
                if _seg_min(Cf, base, Pi, Pn, j, seg) < minc:
                    for jj in range(j, seg):
                        c = Cf[base + jj] + Pi - Pn[jj]
                        if c < minc:
                            minc = c
                            in_arc = base + jj
                cnt -= seg - j
                j = seg
                if cnt == 0:
                    if in_arc >= 0:
                        return in_arc, base + j, scanned + j - j0
                    cnt = block
            scanned += m - j0
            e = base + m
        else:
            for e2 in range(e, total):
                x = e2 - nm
                s = xstate[x]
                if s != 0:
                    c = s * (xcost[x] + P[xsrc[x]] - P[xtgt[x]])
                    if c < minc:
                        minc = c
                        in_arc = e2
                cnt -= 1
                if cnt == 0:
                    if in_arc >= 0:
                        nxt = e2 + 1
                        if nxt >= total:
                            nxt = 0
                        return in_arc, nxt, scanned + e2 - e + 1
                    cnt = block
            scanned += total - e
            e = 0
    return in_arc, e, scanned


@njit(cache=True)
def _network_simplex(Cf, n, m, a_lo, a_hi, b_lo, b_hi, max_iter, refresh_every, two_phase,
                     hub_block, block_factor):
    nm = n * m
    hub = n + m
    N = n + m + 1  # real nodes
    root = N
    nx = n + m + N  # extra arcs: n hub->pos, m neg->hub, N artificial
    total = nm + n + m  # searchable arcs

    # ---- cost scale, big M, tolerances
    S = 0.0
    for k in range(nm):
        a = abs(Cf[k])
        if a > S:
            S = a
    if S == 0.0:
        S = 1.0
    ART = (N + 2) * S
    eps = 64.0 * 2.220446049250313e-16 * ART
    Fmax = 0.0
    for i in range(n):
        Fmax = max(Fmax, a_hi[i])
    for j in range(m):
        Fmax = max(Fmax, b_hi[j])
    if Fmax == 0.0:
        Fmax = 1.0
    feps = 1e-14 * Fmax

    # ---- extra arcs
    xsrc = np.empty(nx, np.int64)
    xtgt = np.empty(nx, np.int64)
    xcost = np.zeros(nx)
    xcap = np.empty(nx)
    xstate = np.zeros(nx, np.int8)
    xflow = np.zeros(nx)
    for i in range(n):
        xsrc[i] = hub
        xtgt[i] = i
        cap = a_hi[i] - a_lo[i]
        xcap[i] = cap
        xstate[i] = _LOWER if cap > 0 else _TREE
    for j in range(m):
        x = n + j
        xsrc[x] = n + j
        xtgt[x] = hub
        cap = b_hi[j] - b_lo[j]
        xcap[x] = cap
        xstate[x] = _LOWER if cap > 0 else _TREE

    supply = np.empty(N)
    sa = 0.0
    sb = 0.0
    for i in range(n):
        supply[i] = a_lo[i]
        sa += a_lo[i]
    for j in range(m):
        supply[n + j] = -b_lo[j]
        sb += b_lo[j]
    supply[hub] = sb - sa
    for u in range(N):  # rounding dust (e.g. sum a - sum b ~ 1e-16) would keep an artificial
        if abs(supply[u]) < feps:  # arc of cost M in the tree and put potentials at scale M
            supply[u] = 0.0

    # ---- tree arrays (size N + 1, root = N)
    NT = N + 1
    parent = np.empty(NT, np.int64)
    pred = np.empty(NT, np.int64)
    pred_dir = np.zeros(NT, np.int8)
    thread = np.empty(NT, np.int64)
    rev_thread = np.empty(NT, np.int64)
    succ_num = np.empty(NT, np.int64)
    last_succ = np.empty(NT, np.int64)
    P = np.zeros(NT)
    pflow = np.zeros(NT)
    dirty = np.empty(NT, np.int64)

    for u in range(N):
        x = n + m + u
        parent[u] = root
        pred[u] = nm + x
        thread[u] = u + 1
        rev_thread[u + 1] = u
        succ_num[u] = 1
        last_succ[u] = u
        xcap[x] = np.inf
        xstate[x] = _TREE
        if supply[u] >= 0:
            pred_dir[u] = _UP
            P[u] = 0.0
            xsrc[x] = u
            xtgt[x] = root
            pflow[u] = supply[u]
            xcost[x] = 0.0
        else:
            pred_dir[u] = _DOWN
            P[u] = ART
            xsrc[x] = root
            xtgt[x] = u
            pflow[u] = -supply[u]
            xcost[x] = ART
    parent[root] = -1
    pred[root] = -1
    thread[root] = 0
    rev_thread[0] = root
    succ_num[root] = NT
    last_succ[root] = root - 1
    P[root] = 0.0

    block = max(10, int(block_factor * math.sqrt(total)))
    hub_pos = np.zeros(1, np.int64)
    any_hub = False
    for x in range(n + m):
        if xcap[x] > 0:
            any_hub = True
    if not any_hub:
        hub_block = 0
    next_arc = 0
    it = 0
    since_refresh = 0
    fresh = False
    status = Status.OPTIMAL
    phase = 1
    stats = np.zeros(4, np.int64)  # arcs priced, potential updates, cycle length, stem length
    if two_phase:
        # phase 1: hub arcs fixed at 0 (the balanced lambda = 0 problem), phase 2: released
        for x in range(n + m):
            xstate[x] = _TREE
    while True:
        in_arc, next_arc, nsc = _find_entering(Cf, n, m, nm, total, P, xsrc, xtgt, xcost,
                                               xstate, next_arc, block, eps, hub_block, hub_pos)
        stats[0] += nsc
        if in_arc < 0:
            if fresh:
                if two_phase and phase == 1:
                    phase = 2
                    for x in range(n + m):
                        xstate[x] = _LOWER if xcap[x] > 0 else _TREE
                    fresh = False
                    continue
                # An artificial root -> v arc (cost M) left in the tree with rounding dust of
                # flow puts v's subtree at potential scale M and the pricing tolerance with it:
                # turn it into a zero-flow v -> root arc of cost 0 (still strongly feasible) and
                # go on pricing with exact, small potentials.
                flipped = False
                for u in range(N):
                    x = pred[u] - nm
                    if x >= n + m and xsrc[x] == root and pflow[u] <= 1e3 * feps:
                        xsrc[x] = u
                        xtgt[x] = root
                        xcost[x] = 0.0
                        pred_dir[u] = _UP
                        pflow[u] = 0.0
                        flipped = True
                if flipped:
                    eps = _refresh_potentials(root, thread, parent, pred, pred_dir, P, nm, Cf,
                                              xcost, hub, S)
                    continue
                break
            eps = _refresh_potentials(root, thread, parent, pred, pred_dir, P, nm, Cf, xcost,
                                     hub, S)
            fresh = True
            since_refresh = 0
            continue
        u0 = _arc_src(in_arc, nm, m, xsrc)
        v0 = _arc_tgt(in_arc, nm, n, m, xtgt)
        # a tree arc can only be selected if potentials drifted: refresh and retry
        if (parent[u0] == v0 and pred[u0] == in_arc) or (parent[v0] == u0 and pred[v0] == in_arc):
            if fresh:  # still after an exact refresh: the tolerance is too tight, widen it
                eps *= 4.0
                continue
            eps = _refresh_potentials(root, thread, parent, pred, pred_dir, P, nm, Cf, xcost,
                                     hub, S)
            fresh = True
            since_refresh = 0
            continue
        if it >= max_iter:
            status = Status.MAX_ITER
            break
        it += 1
        fresh = False

        # ---- join node
        u = u0
        v = v0
        while u != v:
            stats[2] += 1
            if succ_num[u] < succ_num[v]:
                u = parent[u]
            else:
                v = parent[v]
        join = u

        # ---- leaving arc (strongly feasible rule)
        if in_arc < nm:
            state_in = _LOWER
            cap_in = np.inf
        else:
            state_in = xstate[in_arc - nm]
            cap_in = xcap[in_arc - nm]
        if state_in == _LOWER:
            first = u0
            second = v0
        else:
            first = v0
            second = u0
        delta = cap_in
        result = 0
        u_out = -1
        u = first
        while u != join:
            d = pflow[u]
            if pred_dir[u] == _DOWN:
                c = _arc_cap(pred[u], nm, xcap)
                d = np.inf if c == np.inf else c - d
            if d < 0.0:
                d = 0.0
            if d < delta:
                delta = d
                u_out = u
                result = 1
            u = parent[u]
        u = second
        while u != join:
            d = pflow[u]
            if pred_dir[u] == _UP:
                c = _arc_cap(pred[u], nm, xcap)
                d = np.inf if c == np.inf else c - d
            if d < 0.0:
                d = 0.0
            if d <= delta:
                delta = d
                u_out = u
                result = 2
            u = parent[u]
        if delta == np.inf:
            status = Status.UNBOUNDED
            break
        if result == 1:
            u_in = first
            v_in = second
        else:
            u_in = second
            v_in = first
        change = result != 0

        # ---- change flow
        if state_in == _LOWER:
            in_flow = 0.0
        else:
            in_flow = cap_in
        if delta > 0.0:
            val = state_in * delta
            in_flow += val
            u = u0
            while u != join:
                f = pflow[u] - pred_dir[u] * val
                if abs(f) < feps:
                    f = 0.0
                pflow[u] = f
                u = parent[u]
            u = v0
            while u != join:
                f = pflow[u] + pred_dir[u] * val
                if abs(f) < feps:
                    f = 0.0
                pflow[u] = f
                u = parent[u]
        if not change:
            x = in_arc - nm
            xstate[x] = -xstate[x]
            xflow[x] = xcap[x] if xstate[x] == _UPPER else 0.0
            continue

        # record the leaving arc's non-tree state
        lo = pred[u_out]
        if lo >= nm:
            x = lo - nm
            if x < n + m:
                f = pflow[u_out]
                if abs(f) <= abs(xcap[x] - f):
                    xstate[x] = _LOWER
                    xflow[x] = 0.0
                else:
                    xstate[x] = _UPPER
                    xflow[x] = xcap[x]
            else:
                xstate[x] = _TREE  # retired artificial arc: never re-enters
                xflow[x] = 0.0
        if in_arc >= nm:
            xstate[in_arc - nm] = _TREE

        # ---- update tree structure (LEMON)
        old_rev_thread = rev_thread[u_out]
        old_succ_num = succ_num[u_out]
        old_last_succ = last_succ[u_out]
        v_out = parent[u_out]

        if u_in == u_out:
            parent[u_in] = v_in
            pred[u_in] = in_arc
            pred_dir[u_in] = _UP if u_in == u0 else _DOWN
            pflow[u_in] = in_flow
            if thread[v_in] != u_out:
                after = thread[old_last_succ]
                thread[old_rev_thread] = after
                rev_thread[after] = old_rev_thread
                after = thread[v_in]
                thread[v_in] = u_out
                rev_thread[u_out] = v_in
                thread[old_last_succ] = after
                rev_thread[after] = old_last_succ
        else:
            thread_continue = thread[old_last_succ] if old_rev_thread == v_in else thread[v_in]
            stem = u_in
            par_stem = v_in
            last = last_succ[u_in]
            after = thread[last]
            thread[v_in] = u_in
            nd = 0
            dirty[nd] = v_in
            nd += 1
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
            tmp_sc = 0
            tmp_ls = last_succ[u_out]
            u = u_out
            p = parent[u]
            while u != u_in:
                pred[u] = pred[p]
                pred_dir[u] = -pred_dir[p]
                pflow[u] = pflow[p]
                tmp_sc += succ_num[u] - succ_num[p]
                succ_num[u] = tmp_sc
                last_succ[p] = tmp_ls
                u = p
                p = parent[u]
            pred[u_in] = in_arc
            pred_dir[u_in] = _UP if u_in == u0 else _DOWN
            pflow[u_in] = in_flow
            succ_num[u_in] = old_succ_num

        up_limit_out = join if last_succ[join] == v_in else -1
        last_succ_out = last_succ[u_out]
        u = v_in
        while u != -1 and last_succ[u] == v_in:
            last_succ[u] = last_succ_out
            u = parent[u]
        if join != old_rev_thread and v_in != old_rev_thread:
            u = v_out
            while u != up_limit_out and last_succ[u] == old_last_succ:
                last_succ[u] = old_rev_thread
                u = parent[u]
        elif last_succ_out != old_last_succ:
            u = v_out
            while u != up_limit_out and last_succ[u] == old_last_succ:
                last_succ[u] = last_succ_out
                u = parent[u]
        u = v_in
        while u != join:
            succ_num[u] += old_succ_num
            u = parent[u]
        u = v_out
        while u != join:
            succ_num[u] -= old_succ_num
            u = parent[u]

        # ---- update potentials of the moved subtree
        sigma = P[v_in] - P[u_in] - pred_dir[u_in] * _arc_cost(in_arc, nm, Cf, xcost)
        end = thread[last_succ[u_in]]
        u = u_in
        while u != end:
            P[u] += sigma
            u = thread[u]
            stats[1] += 1

        since_refresh += 1
        if since_refresh >= refresh_every:
            eps = _refresh_potentials(root, thread, parent, pred, pred_dir, P, nm, Cf, xcost,
                                     hub, S)
            since_refresh = 0

    if status == Status.OPTIMAL:
        # artificial arcs must carry no flow
        for u in range(N):
            if pred[u] >= nm + n + m and pflow[u] > 1e3 * feps:
                status = Status.INFEASIBLE
    return status, it, pred, pflow, P, xstate, xflow, stats


# --------------------------------------------------------------------------------------------
# Python API
# --------------------------------------------------------------------------------------------


def _as_vec(v: ArrayLike, name: str, size: int) -> np.ndarray:
    v = np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != size:
        raise SolverError(f"netsimplex: {name} has length {v.shape[0]}, expected {size}")
    if not np.all(np.isfinite(v)):
        raise SolverError(f"netsimplex: {name} contains NaN or inf")
    return v


def bounded_transport(C: ArrayLike, a_lo: ArrayLike, a_hi: ArrayLike, b_lo: ArrayLike,
                      b_hi: ArrayLike, *, max_iter: int | None = None, two_phase: bool = False,
                      hub_block: int | None = None,
                      block_factor: float = 0.5) -> BoundedTransportSolution:
    """Solve min <C, pi> s.t. pi >= 0, a_lo <= pi 1 <= a_hi, b_lo <= pi^T 1 <= b_hi exactly.

    Returns a :class:`BoundedTransportSolution`; raises :class:`otreg.errors.SolverError` (naming
    "netsimplex") on invalid input, infeasible bounds or when ``max_iter`` pivots are exceeded.
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2 or C.shape[0] < 1 or C.shape[1] < 1:
        raise SolverError(f"netsimplex: C must be a non-empty 2-D array, got shape {C.shape}")
    if not np.all(np.isfinite(C)):
        raise SolverError("netsimplex: C contains NaN or inf")
    n, m = C.shape
    a_lo = _as_vec(a_lo, "a_lo", n)
    a_hi = _as_vec(a_hi, "a_hi", n)
    b_lo = _as_vec(b_lo, "b_lo", m)
    b_hi = _as_vec(b_hi, "b_hi", m)
    if np.any(a_lo < 0) or np.any(b_lo < 0):
        raise SolverError("netsimplex: lower bounds must be >= 0")
    if np.any(a_hi < a_lo) or np.any(b_hi < b_lo):
        raise SolverError("netsimplex: infeasible, some upper bound is below its lower bound")
    sa_lo, sa_hi, sb_lo, sb_hi = a_lo.sum(), a_hi.sum(), b_lo.sum(), b_hi.sum()
    tol = 1e-12 * max(1.0, sa_hi, sb_hi)
    if sa_lo > sb_hi + tol:
        raise SolverError(f"netsimplex: infeasible, sum(a_lo)={sa_lo:.17g} > sum(b_hi)={sb_hi:.17g}")
    if sb_lo > sa_hi + tol:
        raise SolverError(f"netsimplex: infeasible, sum(b_lo)={sb_lo:.17g} > sum(a_hi)={sa_hi:.17g}")
    Cf = np.ascontiguousarray(C).reshape(-1)
    if max_iter is None:
        max_iter_i = np.iinfo(np.int64).max
    else:
        max_iter_i = int(max_iter)
    N = n + m + 1
    status, it, pred, pflow, P, xstate, xflow, stats = _network_simplex(
        Cf, n, m, a_lo, a_hi, b_lo, b_hi, max_iter_i, max(1000, N // 4), bool(two_phase),
        int(hub_block) if hub_block is not None else max(32, 2 * math.isqrt(n + m)),
        float(block_factor))
    if status is Status.MAX_ITER:
        raise SolverError(f"netsimplex: max_iter={max_iter} pivots reached before optimality")
    if status is Status.INFEASIBLE:
        raise SolverError("netsimplex: infeasible (artificial flow left at the optimum)")
    if status is Status.UNBOUNDED:
        raise SolverError("netsimplex: unbounded (should not happen: check the inputs)")
    nm = n * m
    pr = pred[:N]
    mask = (pr >= 0) & (pr < nm) & (pflow[:N] > 0)
    arcs = pr[mask]
    rows = (arcs // m).astype(np.int64)
    cols = (arcs % m).astype(np.int64)
    flows = pflow[:N][mask].copy()
    order = np.lexsort((cols, rows))
    rows, cols, flows = rows[order], cols[order], flows[order]
    value = float(np.dot(C[rows, cols], flows))
    return BoundedTransportSolution(rows=rows, cols=cols, flows=flows, P_pos=P[:n].copy(),
                                    P_neg=P[n:n + m].copy(), P_hub=float(P[n + m]), value=value,
                                    iterations=int(it), status=status, shape=(n, m),
                                    stats=SolveStats(*(int(s) for s in stats[:3])))


def certify(C: ArrayLike, a_lo: ArrayLike, a_hi: ArrayLike, b_lo: ArrayLike, b_hi: ArrayLike,
            sol: BoundedTransportSolution, tol: float = 1e-9,
            chunk: int = 1 << 22) -> dict[str, float | bool]:
    """Check optimality of ``sol``: returns a dict of max violations and the duality gap.

    Keys: ``primal`` (negative flows, marginal bound violations), ``dual`` (most negative
    reduced cost over ALL n*m arcs, and hub-arc sign violations given the marginal states),
    ``slackness`` (max |reduced cost| on the support of the plan), ``gap`` (|primal - dual|
    objective, dual of the min-cost-flow form), ``dual_value`` and ``ok`` (all <= tol,
    gap relative to max(1, |value|)).
    """
    C = np.asarray(C, dtype=np.float64)
    n, m = C.shape
    a_lo, a_hi, b_lo, b_hi = (np.asarray(v, dtype=np.float64) for v in (a_lo, a_hi, b_lo, b_hi))
    r = sol.row_sums
    c = sol.col_sums
    primal = max(0.0, float(-sol.flows.min()) if sol.flows.size else 0.0,
                 float(np.max(a_lo - r)), float(np.max(r - a_hi)),
                 float(np.max(b_lo - c)), float(np.max(c - b_hi)))
    Pp, Pn, Ph = sol.P_pos, sol.P_neg, sol.P_hub
    # dense arcs, chunked by rows
    rows_per = max(1, chunk // max(m, 1))
    dmin = np.inf
    for s in range(0, n, rows_per):
        rc = C[s:s + rows_per] + Pp[s:s + rows_per, None] - Pn[None, :]
        dmin = min(dmin, float(rc.min()))
    dual = max(0.0, -dmin)
    # hub arcs h->i (reduced Ph - Pp) and j->h (reduced Pn - Ph), flows r-a_lo, c-b_lo
    mtol = 1e-12 * max(1.0, float(a_hi.max()), float(b_hi.max()))
    rh = Ph - Pp
    at_lo = r <= a_lo + mtol
    at_hi = r >= a_hi - mtol
    dual = max(dual, float(np.max(np.where(at_hi, 0.0, np.maximum(-rh, 0.0)), initial=0.0)),
               float(np.max(np.where(at_lo, 0.0, np.maximum(rh, 0.0)), initial=0.0)))
    rn = Pn - Ph
    bt_lo = c <= b_lo + mtol
    bt_hi = c >= b_hi - mtol
    dual = max(dual, float(np.max(np.where(bt_hi, 0.0, np.maximum(-rn, 0.0)), initial=0.0)),
               float(np.max(np.where(bt_lo, 0.0, np.maximum(rn, 0.0)), initial=0.0)))
    if sol.flows.size:
        rs = C[sol.rows, sol.cols] + Pp[sol.rows] - Pn[sol.cols]
        slack = float(np.max(np.abs(rs)))
    else:
        slack = 0.0
    # dual objective of the min-cost flow form (supplies a_lo, -b_lo, sum b_lo - sum a_lo)
    dual_value = -(float(a_lo @ Pp) - float(b_lo @ Pn) + (b_lo.sum() - a_lo.sum()) * Ph)
    dual_value -= float((a_hi - a_lo) @ np.maximum(0.0, -rh))
    dual_value -= float((b_hi - b_lo) @ np.maximum(0.0, -rn))
    gap = abs(sol.value - dual_value)
    ok = (primal <= tol and dual <= tol and slack <= tol
          and gap <= tol * max(1.0, abs(sol.value)))
    return {"primal": primal, "dual": dual, "slackness": slack, "gap": gap,
            "dual_value": dual_value, "value": sol.value, "ok": bool(ok)}
