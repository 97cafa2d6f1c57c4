"""The arcs of the network (storage, access, bound states).

Arc ids: e < nm are the dense arcs i -> n + j, e = i * m + j, cost C[e], capacity inf, never
stored.  e = nm + x are stored: x < n hub -> x, n <= x < n + m negative x -> hub,
n + m <= x < 2 (n + m) + 1 the artificial arc of node x - n - m, and beyond those (only in the
store of :mod:`.restricted`, which has no dense arcs, nm = 0) explicit transport arcs of
capacity inf.  Only pricing and the functions below know this; the tree (:mod:`.tree`) gets an
arc as the record of :func:`_arc` and returns the arc that left.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._common import _LOWER, _TREE, _UPPER, _borrowing

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
    """Arc e left the tree carrying ``flow``: put it at the nearer bound (dense and explicit
    transport arcs, of capacity inf, are at 0 when off the tree); an artificial arc is retired
    for good."""
    if e < arcs.nm:
        return
    x = e - arcs.nm
    if x >= 2 * (arcs.n + arcs.m) + 1:  # an explicit transport arc
        arcs.state[x] = _LOWER
        arcs.flow[x] = 0.0
    elif x >= arcs.n + arcs.m:
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


@_borrowing
def _stored_reduced_cost(arcs, P, x):
    """Reduced cost of stored arc x, signed so that < 0 means it can enter; 0 in the tree."""
    s = arcs.state[x]
    if s == 0:
        return 0.0
    return s * (arcs.cost[x] + P[arcs.src[x]] - P[arcs.tgt[x]])



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

