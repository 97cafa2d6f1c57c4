"""The first spanning tree: the problem's scales and tolerances, the supplies, LEMON's
artificial start and the greedy start (a feasible plan by the row-minimum rule, turned into a
strongly feasible tree)."""
from __future__ import annotations

import numpy as np
from numba import njit

from ._common import _DOWN, _LOWER, _TREE, _UP, _UPPER, _borrowing
from .tree import _Tree, _set_pred


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

