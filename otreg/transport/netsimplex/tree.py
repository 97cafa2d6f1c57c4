"""The spanning tree (LEMON's thread / parent / pred / succ_num / last_succ) and the pivot.

Node N = n + m + 1 is the artificial root.  Each node u != root keeps its pred arc (the arc
to its parent): id, direction (_UP: u -> parent), flow, cost and capacity, so pivoting never
looks an arc up.  P holds the potentials; dirty is scratch space of the tree update.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from ._common import (_BOUND_FLIP, _DOWN, _LOWER, _TREE_CHANGE, _ULPS64, _UNBOUNDED, _UP,
                      _borrowing)

_Tree = namedtuple("_Tree", ["parent", "pred", "pred_dir", "thread", "rev_thread", "succ_num",
                             "last_succ", "flow", "cost", "cap", "P", "dirty"])



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
def _clean_flows(tree, art_lo, art_hi):
    """After :func:`_refresh_flows`: set the flows of the artificial arcs (ids in
    [art_lo, art_hi)) to 0 and clamp the real arcs' flows to their bounds.  Returns (largest
    |flow| removed from an artificial arc, largest bound violation clamped on a real arc)."""
    worst_art = 0.0
    worst_real = 0.0
    for u in range(tree.P.shape[0] - 1):
        f = tree.flow[u]
        if art_lo <= tree.pred[u] < art_hi:
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

    Since the complement may be the part that moves, a caller must not assume that the
    potentials outside u_in's subtree stay put (only their differences are kept); the hub's
    potential is reset to 0 by _refresh_potentials."""
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
