"""Geometry of the classifier sign(f) (docs/mathematics.md §8), as numerical checks on any
potential.

Points on the transport rays of the exact plan, the distance to the decision boundary found by
a ray search, |grad f| = 1 on the rays, the certificate (no flip closer than |f(x)|) and its
tightness (the one-step attack x - f(x) grad f(x) lands on the boundary at distance |f(x)|).
Potentials are :class:`otreg.potential.Potential` objects: the exact extension, a network, or
hand-made functions in the tests.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..metrics import bounding_box
from ..potential import Potential
from ..problem import Problem
from ..transport import HKRResult
from .check import Check, combine, not_applicable

#: relative rounding of positions: distances below ``ROUNDING * max |x|`` are treated as 0
ROUNDING = 1024 * np.finfo(np.float64).eps


def position_rounding(problem: Problem) -> float:
    """The scale below which two points of ``problem`` are indistinguishable in floating
    point (``ROUNDING`` times the largest coordinate in absolute value)."""
    return ROUNDING * float(np.max(np.abs(problem.samples)))


def ray_points(res: HKRResult, rng: np.random.Generator, k: int = 400,
               t_range: tuple[float, float] = (0.05, 0.95), crossing: bool = False,
               min_length: float = 0.0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points on transport rays x_i + t (z_j - x_i), pairs drawn with probability ∝ plan_ij.

    With ``crossing=True`` only rays whose end values straddle 0 (f_i > 0 > g_j) are used;
    rays not longer than ``min_length`` (default 0: mass moved between coincident points, which
    has no ray to speak of) are left out.  Returns (points, i, j, t); no points if no ray is
    left."""
    plan = res.plan.copy()
    if crossing:
        plan = plan * ((res.f_pos[:, None] > 0) & (res.f_neg[None, :] < 0))
    plan = plan * (res.distances > min_length)
    flat = plan.ravel()
    if flat.sum() <= 0:
        d = res.problem.dim
        return np.zeros((0, d)), np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    idx = rng.choice(flat.size, size=k, p=flat / flat.sum())
    i, j = np.divmod(idx, plan.shape[1])
    t = rng.uniform(*t_range, k)
    xp, xn = res.problem.x_pos[i], res.problem.x_neg[j]
    return xp + t[:, None] * (xn - xp), i, j, t


def unit_directions(d: int, n_dirs: int, rng: np.random.Generator) -> np.ndarray:
    """``n_dirs`` unit vectors of R^d: evenly spaced with a random phase in 2-D, the two
    directions in 1-D, Gaussian directions otherwise."""
    if d == 1:
        return np.array([[1.0], [-1.0]])
    if d == 2:
        th = (np.arange(n_dirs) + rng.uniform()) * 2 * np.pi / n_dirs
        return np.column_stack([np.cos(th), np.sin(th)])
    u = rng.standard_normal((n_dirs, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def boundary_distance(pot: Potential, points: np.ndarray, r_max: Any,
                      rng: np.random.Generator | None = None, n_dirs: int = 32,
                      n_steps: int = 32, n_bisect: int = 20, extra_radii: Any = None,
                      point_dirs: Any = None) -> np.ndarray:
    """Distance from each point to the decision boundary {f = 0} found by a search along rays.

    Along ``n_dirs`` directions, f is scanned at ``n_steps`` radii up to ``r_max`` (a number or
    one per point; plus the
    per-point ``extra_radii``, shape (k, q)), the first sign change is refined by bisection,
    and the smallest crossing radius over directions is returned (inf if none).  It is an upper
    bound of the true distance, tight up to the angular resolution of the directions (in 2-D,
    32 directions overestimate it by at most 1/cos(pi/32) - 1 ~ 0.5%; in higher dimension the
    random directions give a cruder upper bound) and to the scan step.  ``point_dirs`` (k, d)
    adds one direction per point (e.g. the attack direction -sign(f) grad f).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    k, d = pts.shape
    common = unit_directions(d, n_dirs, rng)
    dirs = np.broadcast_to(common[None], (k,) + common.shape)
    if point_dirs is not None:
        extra = np.asarray(point_dirs, dtype=np.float64).reshape(k, 1, d)
        norm = np.linalg.norm(extra, axis=2, keepdims=True)
        extra = np.where(norm > 0, extra / np.where(norm > 0, norm, 1.0), dirs[:, :1, :])
        dirs = np.concatenate([dirs, extra], axis=1)
    D = dirs.shape[1]
    f0 = pot(pts)
    r_max = np.broadcast_to(np.asarray(r_max, dtype=np.float64), (k,))
    radii = r_max[:, None] * np.linspace(1.0 / n_steps, 1.0, n_steps)[None, :]
    if extra_radii is not None:
        radii = np.sort(np.hstack([radii, np.asarray(extra_radii).reshape(k, -1)]), axis=1)
    R = radii.shape[1]
    # values along every (point, direction, radius)
    P = pts[:, None, None, :] + radii[:, None, :, None] * dirs[:, :, None, :]
    vals = pot(P.reshape(-1, d)).reshape(k, D, R)
    s0 = np.sign(f0)[:, None, None]
    flipped = (vals * s0 <= 0) & (s0 != 0)
    any_flip = flipped.any(axis=2)
    first = np.argmax(flipped, axis=2)  # (k, D)
    hi = np.take_along_axis(np.broadcast_to(radii[:, None, :], (k, D, R)), first[..., None],
                            2)[..., 0]
    prev = np.where(first > 0, first - 1, 0)
    lo = np.where(first > 0, np.take_along_axis(
        np.broadcast_to(radii[:, None, :], (k, D, R)), prev[..., None], 2)[..., 0], 0.0)
    # bisection on the bracketing interval [lo, hi] (only where a flip was seen)
    kk, dd = np.nonzero(any_flip)
    lo_b, hi_b = lo[kk, dd], hi[kk, dd]
    base, u, sg = pts[kk], dirs[kk, dd], np.sign(f0[kk])
    for _ in range(n_bisect if len(kk) else 0):
        mid = 0.5 * (lo_b + hi_b)
        fm = pot(base + mid[:, None] * u)
        same = fm * sg > 0
        lo_b = np.where(same, mid, lo_b)
        hi_b = np.where(same, hi_b, mid)
    out = np.full((k, D), np.inf)
    out[kk, dd] = hi_b
    dist = out.min(axis=1)
    dist[f0 == 0] = 0.0
    return dist


def check_gradient_norm(pot: Potential, points: np.ndarray, min_norm: float = 0.9,
                        min_fraction: float = 0.8, name: str = "gradient_norm") -> Check:
    """|grad f| = 1 on transport rays: fraction of ray points with |grad f| >= ``min_norm``.

    Without points (no transport ray of positive length) the check is n/a."""
    if len(points) == 0:
        return not_applicable(name, "no transport ray of positive length: all the mass moves "
                                    "between coincident points (or the plan is empty), so "
                                    "there is no ray to measure |grad f| on", min_fraction)
    g = np.linalg.norm(pot.grad(points), axis=1)
    frac = float(np.mean(g >= min_norm)) if len(g) else float("nan")
    detail = (f"{len(g)} points on transport rays: fraction with |grad f| >= {min_norm:g} is "
              f"{frac:.1%} (>= {min_fraction:.0%} required); median |grad f| "
              f"{np.median(g) if len(g) else float('nan'):.4f}, 10% quantile "
              f"{np.quantile(g, 0.1) if len(g) else float('nan'):.4f}")
    return Check(name, bool(frac >= min_fraction), frac, min_fraction, detail)


def certificate_points(problem: Problem, rng: np.random.Generator, k: int = 150) -> np.ndarray:
    """Random test points: half uniform in the bounding box, half jittered samples."""
    samples = problem.samples
    lo, hi = bounding_box(samples, pad=0.1)
    h = k // 2
    jit = samples[rng.integers(0, len(samples), k - h)]
    jit = jit + 0.02 * np.linalg.norm(hi - lo) * rng.standard_normal(jit.shape)
    return np.vstack([rng.uniform(lo, hi, (h, problem.dim)), jit])


def check_certificate(pot: Potential, points: np.ndarray, rng: np.random.Generator | None = None,
                      n_dirs: int = 32, n_inner: int = 16, n_steps: int = 16, r_max: Any = None,
                      tol: float = 1e-6,
                      name: str = "certificate") -> tuple[Check, np.ndarray]:
    """No perturbation shorter than |f(x)| flips sign(f(x)).

    For each point the boundary distance is searched along ``n_dirs`` rays, scanning densely
    inside the certified ball (``n_inner`` radii in (0, |f(x)|)) and coarsely beyond; the check
    fails if a flip is found at a radius below |f(x)| (1 - tol).  Returns the check and the
    boundary distances (reused by the tightness check).
    """
    rng = np.random.default_rng(0) if rng is None else rng
    pts = np.atleast_2d(points)
    f = pot(pts)
    if r_max is None:  # beyond |f| only to report how tight the certificates are
        r_max = 3.0 * np.maximum(np.abs(f), 1e-3)
    inner = np.abs(f)[:, None] * (np.arange(1, n_inner + 1) / n_inner)[None, :] * (1 - tol)
    dist = boundary_distance(pot, pts, r_max, rng, n_dirs, n_steps, extra_radii=inner)
    absf = np.abs(f)
    short = (absf - dist) / np.maximum(absf, 1e-12)  # > 0: a flip closer than |f|
    bad = short > tol
    worst = float(np.max(short)) if len(short) else 0.0
    finite = np.isfinite(dist) & (dist > 0)
    tight = absf[finite] / dist[finite]
    detail = (f"{len(pts)} random points x {n_dirs} rays: {int(bad.sum())} with a sign flip "
              f"closer than |f(x)|; value = max (|f|-dist)/|f| = {worst:.2e} <= {tol:g}; "
              "certified/true radius median "
              f"{np.median(tight) if tight.size else float('nan'):.3f}")
    return Check(name, not bad.any(), max(worst, 0.0), tol, detail), dist


def check_adversarial_tightness(pot: Potential, points: np.ndarray, r_max: Any = None,
                                rng: np.random.Generator | None = None,
                                f_tol: float = 0.05, dist_tol: float = 0.05,
                                quantile: float = 0.9, n_dirs: int = 32,
                                min_abs_f: float = 0.0, median_tol: float | None = None,
                                name: str = "adversarial_tightness") -> Check:
    """x' = x - f(x) grad f(x) lies on the boundary, and |x' - x| is the boundary distance.

    On points of transport rays crossing the boundary: the ``quantile`` of |f(x')| / |f(x)|
    must be <= ``f_tol`` and that of | |x'-x| / dist(x, {f=0}) - 1 | <= ``dist_tol``, and both
    medians <= ``median_tol`` if given (the true
    distance is found by :func:`boundary_distance` up to ``r_max``, default 3 |f(x)|, along
    ``n_dirs`` directions plus the attack direction itself)."""
    rng = np.random.default_rng(0) if rng is None else rng
    pts = np.asarray(points, dtype=np.float64)
    if len(pts) == 0:
        return not_applicable(name, "no transport ray crosses the decision boundary (no pair "
                                    "with f(x) > 0 > f(z) carries mass)", f_tol)
    pts = np.atleast_2d(pts)
    f = pot(pts)
    keep = np.abs(f) > max(min_abs_f, 1e-9)
    pts, f = pts[keep], f[keep]
    if len(pts) == 0:
        return not_applicable(name, f"no point of the {len(keep)} on crossing transport rays "
                                    f"has |f| > {max(min_abs_f, 1e-9):.3g}: the one-step "
                                    "attack cannot be told from rounding there", f_tol)
    g = pot.grad(pts)
    adv = pts - f[:, None] * g
    f_adv = pot(adv)
    rel_f = np.abs(f_adv) / np.abs(f)
    moved = np.abs(f) * np.linalg.norm(g, axis=1)
    if r_max is None:  # a 1-Lipschitz f has dist >= |f|; look up to 3 |f|
        r_max = 3.0 * np.abs(f)
    else:
        r_max = np.broadcast_to(np.asarray(r_max, dtype=np.float64), f.shape)
    dist = boundary_distance(pot, pts, r_max, rng, n_dirs, point_dirs=-np.sign(f)[:, None] * g)
    # no boundary within r_max: the step cannot be tight -> counted as a full mismatch (1)
    rel_d = np.where(np.isfinite(dist) & (dist > 0),
                     np.abs(moved / np.where(dist > 0, dist, 1.0) - 1.0), 1.0)
    q_f = float(np.quantile(rel_f, quantile))
    q_d = float(np.quantile(rel_d, quantile)) if rel_d.size else float("inf")
    flipped = float(np.mean(f_adv * f <= 0))
    parts = [
        Check(f"|f(x')|/|f(x)| q{quantile * 100:.0f}", q_f <= f_tol, q_f, f_tol,
              f"{quantile:.0%} quantile {q_f:.3g} (median {np.median(rel_f):.3g}) <= {f_tol:g}"),
        Check(f"|x'-x|/dist-1 q{quantile * 100:.0f}", q_d <= dist_tol, q_d, dist_tol,
              f"{quantile:.0%} quantile {q_d:.3g} (median "
              f"{np.median(rel_d) if rel_d.size else float('nan'):.3g}) <= {dist_tol:g}"),
    ]
    if median_tol is not None:
        med_f = float(np.median(rel_f))
        med_d = float(np.median(rel_d))
        parts += [
            Check("|f(x')|/|f(x)| median", med_f <= median_tol, med_f, median_tol,
                  f"median {med_f:.3g} <= {median_tol:g}"),
            Check("|x'-x|/dist-1 median", med_d <= median_tol, med_d, median_tol,
                  f"median {med_d:.3g} <= {median_tol:g}"),
        ]
    c = combine(name, parts, f"{len(pts)} points on crossing transport rays; "
                              f"{flipped:.0%} of the one-step attacks reach or cross the boundary.")
    return c
