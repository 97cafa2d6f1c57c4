"""The network simplex of :mod:`otreg.transport.netsimplex` on an explicit, growing arc list.

Column generation (:mod:`otreg.transport.sparse`) solves a sequence of restricted problems: the
bounded transport problem of netsimplex with only some of the n*m transport arcs i -> j.  Each
round adds arcs and continues from the previous optimal spanning tree (the basis stays primal
feasible: a new arc enters the arc list at its lower bound, flow 0).

The spanning tree, its initial artificial form, the pivots (join node, leaving arc, flow push,
tree update, potential update) and the potential refresh are netsimplex's own compiled helpers;
only the arc store and the pricing are new.  The store is netsimplex's ``_Arcs`` record with no
dense arcs (``nm = 0``, an empty ``C``), holding in its stored-arc arrays::

    x in [0, n + m)              the hub arcs h -> i and j -> h   (as in netsimplex)
    x in [n + m, 2 (n + m) + 1)  the artificial arcs of the initial tree (as in netsimplex)
    x >= 2 (n + m) + 1           the transport arcs i -> n + j, cost d_ij - 2 margin, capacity inf

so that an arc id is its index in these arrays and netsimplex's ``_arc``, ``_enter_tree``,
``_flip_bound``, ``_price_hub_arcs``, ``_initial_tree`` and ``_flip_artificial`` apply as they
are.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ..errors import SolverError

from .netsimplex import (_BOUND_FLIP, _LOWER, _TREE, _UNBOUNDED, _Arcs, Status, _arc,
                         _borrowing, _enter_tree, _flip_artificial, _flip_bound, _initial_tree,
                         _is_tree_arc, _leave_tree, _node_excess, _pivot, _price_hub_arcs,
                         _refresh_flows, _refresh_potentials)

__all__ = ["SparseNetwork"]

# Options of the kernel: pivot limit, pivots between two exact potential refreshes, hub arcs
# priced at each pivot, block size / sqrt(#arcs), pivots between two renumberings of the nodes
# (0: never).
_Options = namedtuple("_Options", ["max_iter", "refresh_every", "hub_block", "block_factor",
                                   "renumber_every"])


def _first_transport(n: int, m: int) -> int:
    """Index of the first transport arc in the store."""
    return 2 * (n + m) + 1


def _store(n: int, m: int, src: np.ndarray, tgt: np.ndarray, cost: np.ndarray,
           cap: np.ndarray, state: np.ndarray, flow: np.ndarray) -> _Arcs:
    """netsimplex's ``_Arcs`` record with no dense arcs (nm = 0, an empty C, no cost offset)."""
    fields = {"C": np.empty(0), "offset": 0.0, "n": n, "m": m, "nm": 0, "src": src,
              "tgt": tgt, "cost": cost, "cap": cap, "state": state, "flow": flow}
    return _Arcs(*(fields[f] for f in _Arcs._fields))


def _make_store(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray,
                b_hi: np.ndarray) -> _Arcs:
    """The hub arcs h -> i and j -> h (at their lower bound, fixed if of capacity 0) and room
    for the artificial arcs (set by netsimplex's ``_initial_tree``)."""
    n, m = a_lo.shape[0], b_lo.shape[0]
    nh = n + m
    K = 2 * nh + 1
    src = np.zeros(K, np.int64)
    tgt = np.zeros(K, np.int64)
    src[:n], tgt[:n] = nh, np.arange(n)
    src[n:nh], tgt[n:nh] = np.arange(n, nh), nh
    cap = np.zeros(K)
    cap[:n], cap[n:nh] = a_hi - a_lo, b_hi - b_lo
    state = np.where(cap > 0, _LOWER, _TREE).astype(np.int8)
    state[nh:] = _TREE
    return _store(n, m, src, tgt, np.zeros(K), cap, state, np.zeros(K))


def _grow_store(arcs: _Arcs, src: np.ndarray, tgt: np.ndarray, cost: np.ndarray) -> _Arcs:
    """A copy of the store with arcs src -> tgt (node ids) appended at their lower bound, flow
    0, capacity inf (the ids of the arcs already stored are unchanged)."""
    k = src.shape[0]
    return _store(arcs.n, arcs.m, np.concatenate([arcs.src, src]),
                  np.concatenate([arcs.tgt, tgt]), np.concatenate([arcs.cost, cost]),
                  np.concatenate([arcs.cap, np.full(k, np.inf)]),
                  np.concatenate([arcs.state, np.full(k, _LOWER, np.int8)]),
                  np.concatenate([arcs.flow, np.zeros(k)]))


@_borrowing
def _leave_tree_sparse(arcs, e, flow):
    """Arc e left the tree: a transport arc (capacity inf) leaves at flow 0; hub and artificial
    arcs as in netsimplex."""
    if e >= 2 * (arcs.n + arcs.m) + 1:
        arcs.state[e] = _LOWER
        arcs.flow[e] = 0.0
    else:
        _leave_tree(arcs, e, flow)


@njit(cache=True)
def _exact_flows(arcs, tree, supply):
    """Recompute the tree arcs' flows from the supplies (``supply`` indexed by the current node
    ids) by netsimplex's :func:`_refresh_flows`, without the rounding accumulated by the pivots;
    then zero the artificial arcs' flows and clamp the others into their bounds (netsimplex's
    ``_clean_flows`` expects the artificial arcs last; here the transport arcs follow them).
    Returns the largest flow taken off an artificial arc."""
    root = tree.P.shape[0] - 1
    excess = np.empty(root + 1)
    _node_excess(arcs, supply, excess)
    _refresh_flows(tree, excess)
    lo = arcs.n + arcs.m
    hi = 2 * lo + 1
    worst = 0.0
    for u in range(root):
        f = tree.flow[u]
        if lo <= tree.pred[u] < hi:
            worst = max(worst, abs(f))
            f = 0.0
        tree.flow[u] = min(max(f, 0.0), tree.cap[u])
    return worst


@_borrowing
def _find_entering_sparse(arcs, P, cursor, block, hub_block, eps):
    """LEMON block search over the transport arcs (after a rolling block of ``hub_block`` hub
    arcs, as in netsimplex): the most negative reduced cost below -eps in the first block of
    ``block`` transport arcs from ``cursor[0]`` on that has one; if none has, all hub arcs.
    Returns (entering arc or -1, arcs priced)."""
    nh = arcs.n + arcs.m
    t0 = 2 * nh + 1
    ntr = arcs.src.shape[0] - t0
    minc = -eps
    in_arc = -1
    if hub_block > 0:
        minc, in_arc = _price_hub_arcs(arcs, P, cursor, hub_block, minc)
    src, tgt, cost, state = arcs.src, arcs.tgt, arcs.cost, arcs.state
    q = cursor[0]
    cnt = block
    for scanned in range(ntr):
        x = t0 + q
        if state[x] != _TREE:
            c = cost[x] + P[src[x]] - P[tgt[x]]
            if c < minc:
                minc = c
                in_arc = x
        q += 1
        if q == ntr:
            q = 0
        cnt -= 1
        if cnt == 0:
            if in_arc >= 0:
                cursor[0] = q
                return in_arc, scanned + 1
            cnt = block
    if in_arc >= 0:
        cursor[0] = q
        return in_arc, ntr
    minc, in_arc = _price_hub_arcs(arcs, P, cursor, nh, minc)
    return in_arc, ntr + nh


@njit(cache=True)
def _renumber(arcs, tree, node):
    """Renumber the nodes (the root keeps the last id) in the order of the tree's thread, so
    that the subtrees a pivot walks (potential updates) lie in consecutive memory; the tree
    arrays, the arcs' end nodes and ``node`` (current id of each original node) follow."""
    N1 = tree.P.shape[0]
    root = N1 - 1
    new_id = np.empty(N1, np.int64)
    new_id[root] = root
    u = tree.thread[root]
    k = 0
    while u != root:
        new_id[u] = k
        k += 1
        u = tree.thread[u]
    for a in (tree.parent, tree.thread, tree.rev_thread, tree.last_succ):
        tmp = a.copy()
        for v in range(N1):
            w = tmp[v]
            a[new_id[v]] = new_id[w] if w >= 0 else w
    for a in (tree.pred, tree.succ_num):
        tmp = a.copy()
        for v in range(N1):
            a[new_id[v]] = tmp[v]
    for a in (tree.flow, tree.cost, tree.cap, tree.P):
        tmp = a.copy()
        for v in range(N1):
            a[new_id[v]] = tmp[v]
    tmp8 = tree.pred_dir.copy()
    for v in range(N1):
        tree.pred_dir[new_id[v]] = tmp8[v]
    for x in range(arcs.src.shape[0]):
        arcs.src[x] = new_id[arcs.src[x]]
        arcs.tgt[x] = new_id[arcs.tgt[x]]
    for k in range(node.shape[0]):
        node[k] = new_id[node[k]]


@njit(cache=True)
def _restricted_simplex(arcs, tree, node, S, feps, opts, stats, first_new):
    """Optimise the restricted problem from the tree ``tree`` (netsimplex's driver loop with the
    sparse pricing).  ``node`` maps the original node ids to the current ones (the nodes are
    renumbered every ``opts.renumber_every`` pivots); the block search starts at transport arc
    ``first_new`` (the arcs added since the last call).  Returns (status, pivots, pricing
    tolerance at the end)."""
    if opts.renumber_every > 0:
        _renumber(arcs, tree, node)
    hub = node[arcs.n + arcs.m]
    eps = _refresh_potentials(tree, hub, S)
    ntr = arcs.src.shape[0] - (2 * hub + 1)
    block = max(10, int(opts.block_factor * math.sqrt(ntr + hub)))
    hub_block = opts.hub_block if np.any(arcs.cap[:arcs.n + arcs.m] > 0) else 0
    since_renumber = 0
    cursor = np.zeros(2, np.int64)
    cursor[0] = first_new if first_new < ntr else 0
    status = Status.OPTIMAL
    it = 0
    since_refresh = 0
    fresh = True
    while True:
        e, priced = _find_entering_sparse(arcs, tree.P, cursor, block, hub_block, eps)
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
            if fresh:
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
        _leave_tree_sparse(arcs, out_arc, out_flow)
        _enter_tree(arcs, e)
        since_refresh += 1
        since_renumber += 1
        if opts.renumber_every > 0 and since_renumber >= opts.renumber_every:
            _renumber(arcs, tree, node)
            hub = node[arcs.n + arcs.m]
            since_renumber = 0
        if since_refresh >= opts.refresh_every:
            eps = _refresh_potentials(tree, hub, S)
            since_refresh = 0
    return status, it, eps


@njit(cache=True)
def _tree_flows(arcs, tree, orig):
    """The transport arcs of the tree with positive flow: (rows, cols, flows); ``orig`` maps
    current node ids to the original ones."""
    t0 = 2 * (arcs.n + arcs.m) + 1
    N = tree.P.shape[0] - 1
    k = 0
    for u in range(N):
        if tree.pred[u] >= t0 and tree.flow[u] > 0.0:
            k += 1
    rows = np.empty(k, np.int64)
    cols = np.empty(k, np.int64)
    flows = np.empty(k)
    k = 0
    for u in range(N):
        e = tree.pred[u]
        if e >= t0 and tree.flow[u] > 0.0:
            rows[k] = orig[arcs.src[e]]
            cols[k] = orig[arcs.tgt[e]] - arcs.n
            flows[k] = tree.flow[u]
            k += 1
    return rows, cols, flows


@njit(cache=True)
def _hub_flows(arcs, tree):
    """Flow on each hub arc (extra mass of each positive, then of each negative)."""
    nh = arcs.n + arcs.m
    out = np.zeros(nh)
    for x in range(nh):
        if arcs.state[x] != _TREE:
            out[x] = arcs.flow[x]
    for u in range(tree.P.shape[0] - 1):
        e = tree.pred[u]
        if e < nh:
            out[e] = tree.flow[u]
    return out


class SparseNetwork:
    """The bounded transport problem (netsimplex's network) on a growing list of transport arcs,
    solved by the network simplex warm-started from its last optimal tree.

    Parameters
    ----------
    a_lo, a_hi, b_lo, b_hi : arrays (n,), (n,), (m,), (m,)
        Marginal bounds of the rows (positives) and columns (negatives).
    cost_bound : float
        An upper bound of |cost| over ALL n*m arcs (not only those stored): it sets the big M
        of the initial tree's artificial arcs, so that they leave the tree for any arc set whose
        restricted problem is feasible.
    max_iter : int, optional
        Pivot limit of each :meth:`solve`.
    """

    def __init__(self, a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray,
                 cost_bound: float, max_iter: int | None = None) -> None:
        self.n, self.m = a_lo.shape[0], b_lo.shape[0]
        self.bounds = tuple(np.ascontiguousarray(v, dtype=np.float64)
                            for v in (a_lo, a_hi, b_lo, b_hi))
        self.S = max(float(cost_bound), 1e-300) if cost_bound > 0 else 1.0
        fmax = max(float(a_hi.max()), float(b_hi.max()), 0.0) or 1.0
        self.feps = 1e-14 * fmax
        N = self.n + self.m + 1
        self.opts = _Options(np.iinfo(np.int64).max if max_iter is None else int(max_iter),
                             max(1000, N // 4), max(32, 2 * math.isqrt(self.n + self.m)), 0.5,
                             N)
        self.node = np.arange(N, dtype=np.int64)  # current id of each original node
        # supplies: +a_lo at the positives, -b_lo at the negatives, the balance at the hub
        # (exact sums; rounding dust at the hub would keep an artificial arc of cost M)
        a_lo, b_lo = self.bounds[0], self.bounds[2]
        hub = math.fsum(b_lo) - math.fsum(a_lo)
        self.supply = np.concatenate([a_lo, -b_lo, [hub]])
        self.supply[np.abs(self.supply) < self.feps] = 0.0
        self.mass = max(math.fsum(a_lo), math.fsum(b_lo), 1e-300)
        self.arcs = None
        self.tree = None
        self._solved_arcs = 0  # transport arcs at the last solve
        self.stats = np.zeros(3, np.int64)
        self.pivots = 0
        self.eps = 0.0

    @property
    def num_arcs(self) -> int:
        """Number of transport arcs stored."""
        return 0 if self.arcs is None else self.arcs.src.shape[0] - _first_transport(self.n,
                                                                                      self.m)

    def add_arcs(self, rows: np.ndarray, cols: np.ndarray, cost: np.ndarray) -> None:
        """Append transport arcs rows[k] -> cols[k] of cost ``cost[k]`` (at flow 0)."""
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        cols = np.ascontiguousarray(cols, dtype=np.int64)
        cost = np.ascontiguousarray(cost, dtype=np.float64)
        if self.arcs is None:
            self.arcs = _make_store(*self.bounds)
            big_m = (self.n + self.m + 3) * self.S
            self.tree = _initial_tree(self.arcs, self.supply, big_m)
        # the nodes may have been renumbered since: current ids
        self.arcs = _grow_store(self.arcs, self.node[rows], self.node[self.n + cols], cost)

    def solve(self) -> int:
        """Optimise over the stored arcs from the current tree; returns the pivots taken.

        Raises ``SolverError`` (naming "sparse") if the pivot limit is reached or the problem
        is unbounded; an infeasible restricted problem is not an error (the artificial arcs
        keep the flow, :attr:`feasible` is False)."""
        status, it, self.eps = _restricted_simplex(self.arcs, self.tree, self.node, self.S,
                                                   self.feps, self.opts, self.stats,
                                                   self._solved_arcs)
        self._solved_arcs = self.num_arcs
        self.pivots += it
        if status == Status.OPTIMAL:
            # exact flows of the final basis; the artificial arcs must be empty up to rounding
            excess = np.empty_like(self.supply)
            excess[self.node] = self.supply
            left = _exact_flows(self.arcs, self.tree, excess)
            self.feasible = left <= 1e-12 * self.mass
        if status == Status.MAX_ITER:
            raise SolverError(f"sparse: max_iter={self.opts.max_iter} pivots reached")
        if status == Status.UNBOUNDED:
            raise SolverError("sparse: unbounded restricted problem (check the inputs)")
        return it

    def potentials(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Node potentials (LEMON convention) of the positives, the negatives and the hub."""
        P = self.tree.P[self.node]
        return P[:self.n], P[self.n:self.n + self.m], float(P[self.n + self.m])

    def plan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current plan's nonzero entries (rows, cols, flows)."""
        orig = np.empty(self.node.shape[0] + 1, np.int64)
        orig[self.node] = np.arange(self.node.shape[0])
        orig[-1] = -1
        return _tree_flows(self.arcs, self.tree, orig)

    def hub_flows(self) -> np.ndarray:
        """Extra mass above the lower bound at each positive, then each negative."""
        return _hub_flows(self.arcs, self.tree)
