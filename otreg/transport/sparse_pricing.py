"""Passes over all n*m pairs without storing them: pricing and c-transforms, in row blocks.

Both clouds are put in a spatial order (a k-d split into leaves of at most ``leaf`` points,
:func:`spatial_blocks`), so that each block of consecutive points has a small bounding box.
One compiled, parallel (``prange`` over row blocks) kernel then computes, for every row point r,

    s_r = min_c (W_c + |x_r - x_c|) - V_r

(and its arg-min) or the up to k columns with the smallest such values below a threshold.
With rows = positives, W = g (negatives' potential) and V = f this is the reduced cost
``d_ij - f_i + g_j`` of column generation; with V = 0 it is a c-transform.  A column block Q
is skipped for a row (or a whole row block R) when the lower bound

    min_{c in Q} W_c + dist(box(R), box(Q)) - V_r

cannot beat the value sought.  The bound holds in floating point too (every operation of the
box distance is monotone in the coordinates, and the per-pair value is evaluated in the same
order), so the pruning never changes a result: the passes are exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable

import numpy as np
from numba import njit, prange

from ..errors import InputError, SolverError, caused_by_interrupt

__all__ = ["Blocks", "dask_pricing", "row_pass", "spatial_blocks"]


@dataclass
class Blocks:
    """Points in spatial order, cut into blocks of consecutive points.

    ``points`` (N, d) are the input points permuted by ``order`` (``points = x[order]``);
    block b holds ``points[start[b]:start[b + 1]]`` and lies in the box ``lo[b] .. hi[b]``.
    """

    points: np.ndarray
    order: np.ndarray
    start: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @cached_property
    def coords(self) -> np.ndarray:
        """The points coordinate by coordinate, shape (d, N) (for vectorised distance loops)."""
        return np.ascontiguousarray(self.points.T)

    @property
    def count(self) -> int:
        return self.start.shape[0] - 1


def spatial_blocks(x: np.ndarray, leaf: int = 64) -> Blocks:
    """Recursive median split of ``x`` (N, d) along the widest coordinate of each part, until
    parts have at most ``leaf`` points; the leaves, in depth-first order, are the blocks."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    N = x.shape[0]
    order = np.arange(N)
    starts = []
    stack = [(0, N)]
    while stack:
        s, e = stack.pop()
        if e - s <= leaf:
            starts.append(s)
            continue
        seg = order[s:e]
        pts = x[seg]
        dim = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        half = (e - s) // 2
        part = np.argpartition(pts[:, dim], half)
        order[s:e] = seg[part]
        stack.append((s + half, e))  # popped second: depth-first, left part first
        stack.append((s, s + half))
    start = np.array(sorted(starts) + [N], dtype=np.int64)
    pts = x[order]
    lo = np.minimum.reduceat(pts, start[:-1], axis=0) if N else np.empty((0, x.shape[1]))
    hi = np.maximum.reduceat(pts, start[:-1], axis=0) if N else np.empty((0, x.shape[1]))
    return Blocks(np.ascontiguousarray(pts), order, start, np.ascontiguousarray(lo),
                  np.ascontiguousarray(hi))


@njit(cache=True, nogil=True)
def _box_gap(alo, ahi, blo, bhi):
    """Euclidean distance between two boxes (0 if they meet), never above the computed distance
    of any two points inside them."""
    s = 0.0
    for c in range(alo.shape[0]):
        g = blo[c] - ahi[c]
        h = alo[c] - bhi[c]
        if h > g:
            g = h
        if g > 0.0:
            s += g * g
    return math.sqrt(s)


@njit(cache=True, nogil=True)
def _block_wmin(W, start):
    out = np.empty(start.shape[0] - 1)
    for q in range(out.shape[0]):
        v = np.inf
        for j in range(start[q], start[q + 1]):
            if W[j] < v:
                v = W[j]
        out[q] = v
    return out


@njit(cache=True, nogil=True)
def _scan_block(xr, i, vi, cT, W, j0, j1, top_j, top_v, r, found, bound, thr, k, tslack, buf):
    """Scan columns j0 .. j1 for row i: insert the values ``(W_j + d_ij) - vi`` below
    ``bound`` into the sorted top list ``top_*[r]``; returns (entries found, new bound).

    A vectorised filter first compares squared distances with ``(bound + vi - W_j)^2``
    (widened by ``tslack``, far above the rounding of either form), so that the square roots
    and the exact values are only computed for blocks holding a candidate."""
    nj = j1 - j0
    bv = bound + vi + tslack
    hit = 0
    if cT.shape[0] == 2:  # the common case, one fused loop
        x0 = xr[i, 0]
        x1 = xr[i, 1]
        c0 = cT[0]
        c1 = cT[1]
        for jj in range(nj):
            t0 = x0 - c0[j0 + jj]
            t1 = x1 - c1[j0 + jj]
            d2 = t0 * t0 + t1 * t1
            buf[jj] = d2
            lim = bv - W[j0 + jj]
            hit += (lim > 0.0) & (d2 < lim * lim)
    else:
        for jj in range(nj):
            buf[jj] = 0.0
        for c in range(cT.shape[0]):
            xc = xr[i, c]
            row = cT[c]
            for jj in range(nj):
                t = xc - row[j0 + jj]
                buf[jj] += t * t
        for jj in range(nj):
            lim = bv - W[j0 + jj]
            hit += (lim > 0.0) & (buf[jj] < lim * lim)
    if hit == 0:
        return found, bound
    for jj in range(nj):
        j = j0 + jj
        v = (W[j] + math.sqrt(buf[jj])) - vi
        if v < bound:
            p = found if found < k else k - 1
            while p > 0 and top_v[r, p - 1] > v:
                top_v[r, p] = top_v[r, p - 1]
                top_j[r, p] = top_j[r, p - 1]
                p -= 1
            top_v[r, p] = v
            top_j[r, p] = j
            if found < k:
                found += 1
            bound = _row_bound(top_v, r, found, thr, k)
    return found, bound


@njit(cache=True, nogil=True)
def _row_bound(top_v, i, found, thr, k):
    """The value a new column must beat: the row's minimum is always wanted, and the k smallest
    below ``thr``: max(best, min(thr, k-th best))."""
    if found == 0:
        return np.inf
    kth = top_v[i, k - 1] if found == k else np.inf
    lim = thr if thr < kth else kth
    return top_v[i, 0] if top_v[i, 0] > lim else lim


#: directions of the 2-D directional bound: u_k = (cos, sin)(2 pi k / _NDIR)
_NDIR = 32


@njit(cache=True, nogil=True)
def _block_directions(cT, W, c_start):
    """For each column block, the index k of the direction u_k nearest to the one along which
    W decreases (least-squares slope over the block's points), or -1 (not 2-D, fewer than 3
    points, degenerate or nearly flat: the box bound alone is used there)."""
    ncb = c_start.shape[0] - 1
    kdir = np.full(ncb, -1, np.int64)
    if cT.shape[0] != 2:
        return kdir
    for q in range(ncb):
        j0, j1 = c_start[q], c_start[q + 1]
        if j1 - j0 < 3:
            continue
        mx = my = mw = 0.0
        for j in range(j0, j1):
            mx += cT[0, j]
            my += cT[1, j]
            mw += W[j]
        mx /= j1 - j0
        my /= j1 - j0
        mw /= j1 - j0
        sxx = sxy = syy = sxw = syw = 0.0
        for j in range(j0, j1):
            dx, dy, dw = cT[0, j] - mx, cT[1, j] - my, W[j] - mw
            sxx += dx * dx
            sxy += dx * dy
            syy += dy * dy
            sxw += dx * dw
            syw += dy * dw
        det = sxx * syy - sxy * sxy
        if not det > 1e-9 * sxx * syy:
            continue
        bx = (syy * sxw - sxy * syw) / det
        by = (sxx * syw - sxy * sxw) / det
        if bx * bx + by * by < 0.25:
            continue
        k = int(round(math.atan2(-by, -bx) / (2.0 * math.pi) * _NDIR)) % _NDIR
        kdir[q] = k
    return kdir


@njit(cache=True, nogil=True)
def _directional_data(cT, W, c_start, c_lo, c_hi, kdir, ux, uy):
    """Per column block with a direction u = u_k (normal nv = (-uy, ux)):
    h = min_c (W_c + x_c . u), and the box's projection on nv, centre pc and half-width pr."""
    ncb = c_start.shape[0] - 1
    h = np.full(ncb, np.inf)
    pc = np.zeros(ncb)
    pr = np.zeros(ncb)
    for q in range(ncb):
        k = kdir[q]
        if k < 0:
            continue
        for j in range(c_start[q], c_start[q + 1]):
            v = W[j] + (cT[0, j] * ux[k] + cT[1, j] * uy[k])
            if v < h[q]:
                h[q] = v
        cx, cy = 0.5 * (c_lo[q, 0] + c_hi[q, 0]), 0.5 * (c_lo[q, 1] + c_hi[q, 1])
        pc[q] = -uy[k] * cx + ux[k] * cy
        pr[q] = abs(uy[k]) * 0.5 * (c_hi[q, 0] - c_lo[q, 0]) + abs(ux[k]) * 0.5 * (
            c_hi[q, 1] - c_lo[q, 1])
    return h, pc, pr


@njit(cache=True, nogil=True)
def _directional_bound(lin, t, pr, far2):
    """lin + P^2 / (2 D): ``lin`` = min (W_c + x_c . u) - x . u over the block, P = the
    smallest distance |y_perp| of the block from the line x + R u (``t`` = distance of the
    projections' centres on the normal, ``pr`` = the sum of their half-widths), D^2 = ``far2``
    the largest squared distance: |y| - y . u = |y_perp|^2 / (|y| + y . u) >= P^2 / (2 D)."""
    P = abs(t) - pr
    if P > 0.0 and far2 > 0.0:
        return lin + P * P / (2.0 * math.sqrt(far2))
    return lin


@njit(cache=True, nogil=True)
def _far2(alo, ahi, blo, bhi):
    """Squared largest distance between two points of two boxes (a point: alo = ahi)."""
    s = 0.0
    for c in range(alo.shape[0]):
        g = max(bhi[c] - alo[c], ahi[c] - blo[c])
        s += g * g
    return s


@njit(cache=True, nogil=True)
def _row_block_bounds(xr, V, i0, i1, lo, hi, wmin, kdir, h, pc, pr, c_lo, c_hi, ux, uy,
                      directional, ncb):
    """Lower bounds, for the rows i0 .. i1 of one row block (box [lo, hi]), of the values in
    each of the ``ncb`` column blocks: (box bound without V, directional bound, the column
    block of the smallest bound, which is scanned first)."""
    # max over the rows of V + x . u_k, for the directional bound of the whole row block
    tmax = np.full(_NDIR, -np.inf)
    vmax = -np.inf
    for i in range(i0, i1):
        vmax = max(vmax, V[i])
        if directional:
            for kk in range(_NDIR):
                tmax[kk] = max(tmax[kk], V[i] + (xr[i, 0] * ux[kk] + xr[i, 1] * uy[kk]))
    lbb = np.empty(ncb)
    lbd = np.full(ncb, -np.inf)
    qbest, sbest = 0, np.inf
    for q in range(ncb):
        lbb[q] = wmin[q] + _box_gap(lo, hi, c_lo[q], c_hi[q])
        kq = kdir[q]
        if kq >= 0:
            t = (-uy[kq] * 0.5 * (lo[0] + hi[0]) + ux[kq] * 0.5 * (lo[1] + hi[1])) - pc[q]
            prr = pr[q] + abs(uy[kq]) * 0.5 * (hi[0] - lo[0]) + abs(ux[kq]) * 0.5 * (
                hi[1] - lo[1])
            lbd[q] = _directional_bound(h[q] - tmax[kq], t, prr,
                                        _far2(lo, hi, c_lo[q], c_hi[q]))
        score = max(lbb[q] - vmax, lbd[q])
        if score < sbest:
            qbest, sbest = q, score
    return lbb, lbd, qbest


@njit(parallel=True, cache=True)
def _pass_kernel(xr, V, r_start, r_lo, r_hi, cT, W, c_start, c_lo, c_hi, thr, k, slack, rb0,
                 rb1):
    """For the rows of row blocks rb0 .. rb1: the exact minimum over all columns of
    ``(W_c + d_rc) - V_r`` and, after it, the smallest values below ``thr`` (up to k in all,
    sorted; column -1 pads).  Branch and bound: each row first scans the column block of
    smallest lower bound, then the blocks whose bounds (box, and in 2-D directional) can
    still beat the row's bound."""
    ncb = c_start.shape[0] - 1
    wmin = _block_wmin(W, c_start)
    kdir = _block_directions(cT, W, c_start)
    ang = 2.0 * math.pi * np.arange(_NDIR) / _NDIR
    ux, uy = np.cos(ang), np.sin(ang)
    h, pc, pr = _directional_data(cT, W, c_start, c_lo, c_hi, kdir, ux, uy)
    directional = cT.shape[0] == 2
    r0 = r_start[rb0]
    nrows = r_start[rb1] - r0
    top_j = np.full((nrows, k), -1, np.int64)
    top_v = np.full((nrows, k), np.inf)
    lmax = 0
    for q in range(ncb):
        lmax = max(lmax, c_start[q + 1] - c_start[q])
    for rb in prange(rb0, rb1):
        i0, i1 = r_start[rb], r_start[rb + 1]
        buf = np.empty(lmax)
        lo, hi = r_lo[rb], r_hi[rb]
        lbb, lbd, qbest = _row_block_bounds(xr, V, i0, i1, lo, hi, wmin, kdir, h, pc, pr, c_lo,
                                            c_hi, ux, uy, directional, ncb)
        found = np.zeros(i1 - i0, np.int64)
        bound = np.full(i1 - i0, np.inf)
        ub = -np.inf
        bmax = -np.inf
        for i in range(i0, i1):
            found[i - i0], bound[i - i0] = _scan_block(
                xr, i, V[i], cT, W, c_start[qbest], c_start[qbest + 1], top_j, top_v, i - r0,
                0, np.inf, thr, k, slack, buf)
            ub = max(ub, bound[i - i0] + V[i])
            bmax = max(bmax, bound[i - i0])
        for q in range(ncb):
            if q == qbest or lbb[q] >= ub + slack or lbd[q] - slack >= bmax:
                continue
            kq = kdir[q]
            for i in range(i0, i1):
                b = bound[i - i0]
                if (wmin[q] + _box_gap(xr[i], xr[i], c_lo[q], c_hi[q])) - V[i] >= b:
                    continue
                if kq >= 0:
                    x0, x1 = xr[i, 0], xr[i, 1]
                    lin = h[q] - (x0 * ux[kq] + x1 * uy[kq])
                    t = (-uy[kq] * x0 + ux[kq] * x1) - pc[q]
                    if _directional_bound(lin, t, pr[q], _far2(xr[i], xr[i], c_lo[q], c_hi[q])
                                          ) - V[i] - slack >= b:
                        continue
                found[i - i0], bound[i - i0] = _scan_block(
                    xr, i, V[i], cT, W, c_start[q], c_start[q + 1], top_j, top_v,
                    i - r0, found[i - i0], b, thr, k, slack, buf)
        for r in range(i0 - r0, i1 - r0):  # drop former minima that are not below thr
            for p in range(1, k):
                if top_v[r, p] >= thr:
                    top_v[r, p] = np.inf
                    top_j[r, p] = -1
    return top_j, top_v


def _default_slack(rows: Blocks, V: np.ndarray, cols: Blocks, W: np.ndarray) -> float:
    """1e-12 times the scale of the values compared (|W| + |V| + the diameter of both clouds):
    a thousand times the rounding error of a value, far below any tolerance that matters."""
    lo = np.minimum(rows.lo.min(axis=0), cols.lo.min(axis=0))
    hi = np.maximum(rows.hi.max(axis=0), cols.hi.max(axis=0))
    scale = float(np.abs(V).max() + np.abs(W).max() + np.linalg.norm(hi - lo))
    return 1e-12 * scale + 1e-300


def row_pass(rows: Blocks, V: np.ndarray, cols: Blocks, W: np.ndarray, thr: float = -np.inf,
             k: int = 1, slack: float | None = None,
             row_blocks: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(top_j, top_v)`` of shape (rows, k), for each row point r (in the blocks' order):
    ``top_v[r, 0] = min_c (W_c + |x_r - x_c|) - V_r`` over all columns, exactly, with its
    arg-min ``top_j[r, 0]``, followed by the next smallest values below ``thr`` (sorted; column
    -1 and value inf where there are fewer).  ``slack`` (default: :func:`_default_slack`)
    widens the filters beyond rounding; ``row_blocks = (b0, b1)`` restricts the pass to the
    rows of those row blocks."""
    V = np.ascontiguousarray(V, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    if slack is None:
        slack = _default_slack(rows, V, cols, W)
    b0, b1 = (0, rows.count) if row_blocks is None else row_blocks
    return _pass_kernel(rows.points, V, rows.start, rows.lo, rows.hi, cols.coords, W,
                        cols.start, cols.lo, cols.hi, float(thr), int(k), float(slack), b0, b1)


def _row_pass_task(rows: Blocks, V: np.ndarray, cols: Blocks, W: np.ndarray, thr: float, k: int,
                   slack: float, row_blocks: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return row_pass(rows, V, cols, W, thr, k, slack, row_blocks)


def dask_pricing(scheduler: Any, tasks_per_worker: int = 2) -> Callable[..., tuple]:
    """A :func:`row_pass` that runs on a Dask cluster: the row blocks are split into
    ``tasks_per_worker`` contiguous ranges per worker, each priced by one task (the blocks of
    points are sent once per solve and reused).  ``scheduler`` is a
    ``dask.distributed.Client`` or a scheduler address."""
    try:
        from dask.distributed import Client
    except ImportError as exc:  # pragma: no cover - the dask extra is missing
        raise InputError("scheduler: needs dask.distributed (pip install 'otreg[dask]')") \
            from exc
    if isinstance(scheduler, Client):
        client = scheduler
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise InputError(f"scheduler: cannot connect to the Dask scheduler {scheduler!r} "
                             f"({type(exc).__name__}: {exc})") from None
    scattered: dict[int, tuple[Blocks, Any]] = {}

    def remote(blocks: Blocks) -> Any:
        if id(blocks) not in scattered:  # keep the object alive with its future
            scattered[id(blocks)] = (blocks, client.scatter(blocks, broadcast=True))
        return scattered[id(blocks)][1]

    def pricing(rows: Blocks, V: np.ndarray, cols: Blocks, W: np.ndarray, thr: float = -np.inf,
                k: int = 1) -> tuple[np.ndarray, np.ndarray]:
        V = np.ascontiguousarray(V, dtype=np.float64)
        W = np.ascontiguousarray(W, dtype=np.float64)
        slack = _default_slack(rows, V, cols, W)
        parts = max(1, tasks_per_worker * len(client.scheduler_info()["workers"]))
        cuts = np.unique(np.linspace(0, rows.count, parts + 1).astype(int))
        r_fut, c_fut = remote(rows), remote(cols)
        w_fut = client.scatter(W, broadcast=True)
        futures = [client.submit(_row_pass_task, r_fut, V, c_fut, w_fut, thr, k, slack,
                                 (int(b0), int(b1)), pure=False)
                   for b0, b1 in zip(cuts[:-1], cuts[1:])]
        try:
            res = client.gather(futures)
        except Exception as exc:  # a worker died, the cluster went away, a task failed
            if caused_by_interrupt(exc):
                raise
            raise SolverError(f"sparse: the Dask cluster failed during a pricing pass "
                              f"({type(exc).__name__}: {exc})") from exc
        return (np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res]))

    return pricing
