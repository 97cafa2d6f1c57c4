"""Pricing: the search for an entering arc.  LEMON's block search over the dense arcs that are
never stored, with the candidate list and the hot rows that serve the end game
(:func:`_find_entering`), and the plain block search over an explicit arc list
(:func:`_find_entering_sparse`, the restricted problems of :mod:`.restricted`)."""
from __future__ import annotations

from ._common import _TREE, _borrowing, _borrowing_fastmath
from .arcs import _stored_reduced_cost

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
def _find_entering_sparse(arcs, P, cursor, block, hub_block, eps):
    """LEMON block search over the explicit transport arcs (after a rolling block of
    ``hub_block`` hub arcs, as in :func:`_find_entering`): the most negative reduced cost below
    -eps in the first block of ``block`` transport arcs from ``cursor[0]`` on that has one; if
    none has, all hub arcs.  Returns (entering arc or -1, arcs priced)."""
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
