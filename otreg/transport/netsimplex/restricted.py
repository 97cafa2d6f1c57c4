"""The network simplex on an explicit, growing arc list: the restricted problems of column
generation (:mod:`otreg.transport.sparse`).

Each round adds arcs and continues from the previous optimal spanning tree (the basis stays
primal feasible: a new arc enters the arc list at its lower bound, flow 0).  The spanning tree,
its artificial start, the pivot driver and the final flows are the dense solver's own
(:mod:`.tree`, :mod:`.start`, :mod:`.driver`); only the arc store, its pricing and the node
renumbering are specific.  The store is the dense solver's ``_Arcs`` record with no dense arcs
(``nm = 0``, an empty ``C``), holding in its stored-arc arrays::

    x in [0, n + m)              the hub arcs h -> i and j -> h
    x in [n + m, 2 (n + m) + 1)  the artificial arcs of the initial tree
    x >= 2 (n + m) + 1           the transport arcs i -> n + j, cost d_ij - 2 margin, capacity inf

so that an arc id is its index in these arrays.
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ...errors import SolverError
from ._common import _LOWER, _TREE, Status
from .arcs import _Arcs
from .driver import _final_flows, _pivot_loop
from .start import _initial_tree
from .tree import _refresh_potentials, _renumber

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
    """The dense solver's ``_Arcs`` record with no dense arcs (nm = 0, an empty C, no cost
    offset)."""
    fields = {"C": np.empty(0), "offset": 0.0, "n": n, "m": m, "nm": 0, "src": src,
              "tgt": tgt, "cost": cost, "cap": cap, "state": state, "flow": flow}
    return _Arcs(*(fields[f] for f in _Arcs._fields))


def _make_store(a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray,
                b_hi: np.ndarray) -> _Arcs:
    """The hub arcs h -> i and j -> h (at their lower bound, fixed if of capacity 0) and room
    for the artificial arcs (set by :func:`.start._initial_tree`)."""
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


@njit(cache=True)
def _restricted_simplex(arcs, tree, node, S, feps, opts, stats, first_new):
    """Optimise the restricted problem from the tree ``tree`` (the shared pivot driver with the
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
    cursor = np.zeros(2, np.int64)
    cursor[0] = first_new if first_new < ntr else 0
    none = np.zeros(1, np.int64)
    return _pivot_loop(arcs, tree, hub, S, feps, eps, True, True,
                       (cursor, block, hub_block, none, none),
                       (opts.max_iter, opts.refresh_every, opts.renumber_every), node, stats)


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


class SparseNetwork:
    """The bounded transport problem (the dense solver's network) on a growing list of
    transport arcs, solved by the network simplex warm-started from its last optimal tree.

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
            supply = np.empty_like(self.supply)
            supply[self.node] = self.supply
            left, _ = _final_flows(self.arcs, self.tree, supply)
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
