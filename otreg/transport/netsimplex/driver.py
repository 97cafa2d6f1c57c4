"""The pivot driver, shared by the dense solver (every n*m arc, priced on the fly) and the
restricted one of column generation (:mod:`.restricted`, an explicit arc list), and the dense
kernel built on it.

One loop serves both: price (the solver's own pricing function, passed in), refresh the
potentials when the pricing finds nothing or an arc already in the tree (both mean the
incremental potentials drifted), pivot, and refresh every ``refresh_every`` pivots; the
restricted solver also renumbers its nodes every ``renumber_every`` pivots.  At the end the
basis's flows are recomputed exactly from the supplies (:func:`_final_flows`).
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._common import _BOUND_FLIP, _ULPS64, _UNBOUNDED, _UP, Status, _borrowing
from .arcs import _arc, _enter_tree, _flip_bound, _leave_tree, _make_arcs, _node_excess
from .pricing import _find_entering, _find_entering_sparse
from .start import _greedy_start, _initial_tree, _supplies, _tolerances
from .tree import (_clean_flows, _is_tree_arc, _pivot, _refresh_flows, _refresh_potentials,
                   _renumber, _set_pred)

# Options of the dense kernel: pivot limit, pivots between two exact potential refreshes, first
# tree (greedy plan, else LEMON's artificial one), hub arcs priced at each pivot, block size /
# sqrt(#arcs), remembered candidate arcs, hot rows.  (Their order is that of the arguments of
# the ahead-of-time compiled kernel, _aot_build.py.)
_Options = namedtuple("_Options", ["max_iter", "refresh_every", "greedy", "hub_block",
                                   "block_factor", "candidates", "hot_rows"])


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
    """The optimal basis's flows recomputed from the supplies (:func:`_refresh_flows`;
    ``supply`` indexed by the current node ids), the artificial arcs emptied and the real ones
    clamped to their bounds: returns what was removed (see :func:`_clean_flows`) for the
    caller to judge against its tolerance."""
    excess = np.empty(tree.P.shape[0])
    _node_excess(arcs, supply, excess)
    _refresh_flows(tree, excess)
    first_artificial = arcs.nm + arcs.n + arcs.m
    return _clean_flows(tree, first_artificial, first_artificial + arcs.n + arcs.m + 1)


@njit(cache=True)
def _pivot_loop(arcs, tree, hub, S, feps, eps, fresh, explicit, pricing, limits, node, stats):
    """Pivot from ``tree`` to an optimal basis.

    The pricing is :func:`.pricing._find_entering` over the dense arcs, or
    :func:`.pricing._find_entering_sparse` over an explicit arc list if ``explicit``, with
    ``pricing = (cursor, block, hub_block, cand, hot)`` its state; ``eps`` is the pricing
    tolerance and ``fresh`` whether the potentials are exact (just refreshed).  ``limits`` =
    (max_iter, refresh_every, renumber_every): after every ``renumber_every`` tree changes
    (0: never) :func:`.tree._renumber` renumbers the nodes (``node`` maps the original ids to
    the current ones; the hub is node[n + m]).  ``stats`` counts (arcs priced, potential
    updates, join-path steps).  Returns (status, pivots, pricing tolerance at the end).

    (The pricing is chosen by a flag rather than passed as a function: numba cannot cache a
    function that receives another compiled function as an argument here.)"""
    cursor, block, hub_block, cand, hot = pricing
    max_iter, refresh_every, renumber_every = limits
    status = Status.OPTIMAL
    it = 0
    since_refresh = 0
    since_renumber = 0
    while True:
        if explicit:
            e, priced = _find_entering_sparse(arcs, tree.P, cursor, block, hub_block, eps)
        else:
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
        if it >= max_iter:
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
        since_renumber += 1
        if renumber_every > 0 and since_renumber >= renumber_every:
            _renumber(arcs, tree, node)
            hub = node[arcs.n + arcs.m]
            since_renumber = 0
        if since_refresh >= refresh_every:
            eps = _refresh_potentials(tree, hub, S)
            since_refresh = 0
    return status, it, eps


@njit(cache=True)
def _network_simplex(C, offset, a_lo, a_hi, b_lo, b_hi, opts):
    """Solve the min-cost flow of the package docstring with dense costs C + offset.  Returns
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
    # pricing._price_hot_rows)
    stats = np.zeros(3, np.int64)  # arcs priced, potential updates, join-path steps
    status, it, eps = _pivot_loop(arcs, tree, hub, S, feps, eps, fresh, False,
                                  (cursor, block, hub_block, cand, hot),
                                  (opts.max_iter, opts.refresh_every, 0), np.zeros(0, np.int64),
                                  stats)
    if status == Status.OPTIMAL:
        worst_art, worst_real = _final_flows(arcs, tree, supply)
        if worst_art > tol:
            status = Status.INFEASIBLE
        elif worst_real > tol:
            status = Status.INACCURATE
    return status, it, tree.pred, tree.flow, tree.P, stats
