"""Optimality conditions of the exact hKR solution (docs/mathematics.md §7), as numerical checks.

Strong duality, transport rays (complementary slackness), the marginal bounds, hinge
slackness, the 1-Lipschitz property (on the samples and of any potential on R^d), the
invariances, and the λ -> 0 limit to W1.  The checks never trust the solver's own bookkeeping:
they recompute every value from the plan and the potential values in an
:class:`otreg.transport.HKRResult` (which the tests alter with ``dataclasses.replace`` to see
each check fail).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ..metrics import bounding_box
from ..potential import Potential
from ..problem import Problem
from ..transport import HKRResult, hkr_transport, pairwise_distances, wasserstein1
from ..transport.certificate import value_scale
from .check import Check, combine

#: an exact solver: Problem -> HKRResult (hkr_transport, or a wrong one in the tests)
Solver = Callable[[Problem], HKRResult]

def _den(w: np.ndarray) -> np.ndarray:
    """Denominator for relative marginal errors (zero weights are allowed by the data layer)."""
    w = np.asarray(w, dtype=np.float64)
    return np.maximum(w, 1e-9 * float(w.max()))


def _scale(res: HKRResult) -> float:
    """The data's scale for absolute tolerances on potential values: largest distance +
    2 margin (in the data's units, so that the checks mean the same at every scale)."""
    return float(np.max(res.distances)) + 2.0 * res.problem.margin


# --------------------------------------------------------------------------------------------
# section 5: optimality conditions of the exact solution

#: relative tolerance for identities that hold exactly for an LP optimum (floating-point only)
LP_TOL = 1e-8


def check_strong_duality(res: HKRResult, tol: float = LP_TOL) -> Check:
    """Primal value of the plan, L of the potential (and the claimed loss) coincide.

    Weak duality gives ``L(f) >= min L = -2m - min primal >= -2m - primal(plan)`` for any
    feasible f and plan; equality certifies that both are optimal (feasibility is the business
    of ``marginal_bounds`` and ``lipschitz``).
    """
    pr = res.problem
    primal = float(np.sum(res.plan * (res.distances - 2.0 * pr.margin)))
    from_plan = -2.0 * pr.margin - primal
    from_f = pr.loss(res.f_pos, res.f_neg)
    vals = {"-2m-primal(plan)": from_plan, "L(f)": from_f, "claimed loss": float(res.loss)}
    spread = max(vals.values()) - min(vals.values())
    plan = np.asarray(res.plan)
    allowed = tol * value_scale(pr, res.f_pos, res.f_neg, float(plan.sum()),
                                float(np.sum(plan * res.distances)))
    detail = (", ".join(f"{k}={v:.10g}" for k, v in vals.items())
              + f"; value = max-min spread <= tol = {tol:g} x the magnitude of the values' "
              "terms (docs/mathematics.md §3.5)")
    return Check("strong_duality", spread <= allowed, spread, allowed, detail)


def check_complementary_slackness(res: HKRResult, tol: float = LP_TOL,
                                  support_tol: float = 1e-12) -> Check:
    """Transport rays: f(x_i) - f(z_j) = d_ij wherever plan_ij > 0."""
    plan = res.plan
    support = plan > support_tol * max(float(plan.max()), 1e-300)
    resid = np.abs(res.f_pos[:, None] - res.f_neg[None, :] - res.distances)[support]
    worst = float(resid.max()) if resid.size else 0.0
    wmean = float((plan[support] * resid).sum() / plan[support].sum()) if resid.size else 0.0
    allowed = tol * _scale(res)
    detail = (f"{int(support.sum())} support pairs; max |f(x)-f(z)-d| = {worst:.2e} "
              f"(mass-weighted mean {wmean:.2e}) <= {allowed:.1e}")
    return Check("complementary_slackness", worst <= allowed, worst, allowed, detail)


def check_marginal_bounds(res: HKRResult, tol: float = LP_TOL) -> Check:
    """a <= rows <= (1+lam p) a, b <= cols <= (1+lam(1-p)) b, plan >= 0 (relative violations)."""
    pr = res.problem
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    rows, cols = res.plan.sum(axis=1), res.plan.sum(axis=0)
    da, db = _den(a_lo), _den(b_lo)
    viol = {
        "rows>=a": float(np.max((a_lo - rows) / da)),
        "rows<=(1+lam p)a": float(np.max((rows - a_hi) / da)),
        "cols>=b": float(np.max((b_lo - cols) / db)),
        "cols<=(1+lam(1-p))b": float(np.max((cols - b_hi) / db)),
        "plan>=0": float(-res.plan.min() / min(da.min(), db.min())),
    }
    worst_key = max(viol, key=viol.get)
    worst = max(0.0, viol[worst_key])
    mass = float(res.plan.sum())
    at_up_pos = float(np.mean(rows >= a_hi * (1 - 1e-9))) if pr.lam > 0 else 0.0
    at_up_neg = float(np.mean(cols >= b_hi * (1 - 1e-9))) if pr.lam > 0 else 0.0
    detail = (f"worst relative violation {worst:.2e} ({worst_key}) <= {tol:g}; mass moved "
              f"{mass:.6g} (extra {mass - 1:.4g} of at most {pr.lam:g}); at upper bound: "
              f"{at_up_pos:.1%} of positives, {at_up_neg:.1%} of negatives")
    return Check("marginal_bounds", worst <= tol, worst, tol, detail)


def check_hinge_slackness(res: HKRResult, tol: float = 1e-6, f_tol: float = 1e-9) -> Check:
    """y f < m  =>  marginal at its upper bound;  y f > m  =>  at its lower bound.

    ``f_tol`` (relative to the data scale) decides when y f is "equal" to m; ``value`` is the
    largest relative distance of a marginal from the bound the hinge requires.
    """
    pr = res.problem
    a_lo, a_hi, b_lo, b_hi = pr.marginal_bounds()
    rows, cols = res.plan.sum(axis=1), res.plan.sum(axis=0)
    eps = f_tol * _scale(res)
    yf_pos, yf_neg = res.f_pos, -res.f_neg
    v = []
    inside_p, outside_p = yf_pos < pr.margin - eps, yf_pos > pr.margin + eps
    inside_n, outside_n = yf_neg < pr.margin - eps, yf_neg > pr.margin + eps
    da, db = _den(a_lo), _den(b_lo)
    v.append(((a_hi - rows) / da)[inside_p])
    v.append(((rows - a_lo) / da)[outside_p])
    v.append(((b_hi - cols) / db)[inside_n])
    v.append(((cols - b_lo) / db)[outside_n])
    allv = np.concatenate(v)
    worst = float(np.max(allv)) if allv.size else 0.0
    n_bad = int(np.sum(allv > tol))
    detail = (f"inside margin (y f < m): {inside_p.mean():.1%} of positives, "
              f"{inside_n.mean():.1%} of negatives; {n_bad} point(s) off the required bound; "
              f"worst relative gap {worst:.2e} <= {tol:g}")
    if pr.lam == 0:
        detail += " (lam = 0: both bounds coincide)"
    return Check("hinge_slackness", worst <= tol, worst, tol, detail)


# --------------------------------------------------------------------------------------------
# Lipschitz property


def _test_pairs(problem: Problem, rng: np.random.Generator,
                n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of points (u, v) for empirical Lipschitz ratios: far pairs in the bounding box,
    close pairs (|u - v| ~ 1e-3 .. 1e-1 of the box) around samples and random points."""
    lo, hi = bounding_box(problem.samples)
    d = problem.dim
    diam = float(np.linalg.norm(hi - lo))
    samples = problem.samples
    k = n_pairs // 3
    far_u = rng.uniform(lo, hi, (k, d))
    far_v = rng.uniform(lo, hi, (k, d))
    base = np.vstack([samples[rng.integers(0, len(samples), k)], rng.uniform(lo, hi, (k, d))])
    direc = rng.standard_normal(base.shape)
    direc /= np.linalg.norm(direc, axis=1, keepdims=True)
    r = diam * 10 ** rng.uniform(-3, -1, (base.shape[0], 1))
    return np.vstack([far_u, base]), np.vstack([far_v, base + r * direc])


def _sample_pair_blocks(samples: np.ndarray, vals: np.ndarray):
    """Blocks ``(|s_k - s_l|, |f_k - f_l|)`` over all pairs of samples, ~2e6 pairs at a time."""
    step = max(1, 2_000_000 // len(samples))
    for st in range(0, len(samples), step):
        yield (pairwise_distances(samples[st:st + step], samples),
               np.abs(vals[st:st + step, None] - vals[None, :]))


#: relative rounding of a potential's values (and of the points it is evaluated at)
F_ROUNDING = 1024 * np.finfo(np.float64).eps
#: a pair is used for a Lipschitz ratio only if it is this many rounding scales apart, so that
#: rounding alone cannot move its ratio by more than 1/RESOLVE
RESOLVE = 1e3


def f_rounding(problem: Problem, values: np.ndarray) -> float:
    """The rounding scale of a potential with ``values`` at the samples: differences of f
    below it are indistinguishable from 0 (``F_ROUNDING`` x (max |x| + max |f|))."""
    lo, hi = bounding_box(problem.samples)
    return F_ROUNDING * (float(np.max(np.abs(np.concatenate([lo, hi]))))
                         + float(np.max(np.abs(values))))


def gradient_search(pot: Potential, points: np.ndarray, grads: np.ndarray, diam: float,
                    delta: float, near: float, n_top: int = 64, n_radii: int = 8) -> float:
    """Largest secant slope |f(x + r u) - f(x - r u)| / 2r along u = grad f / |grad f| from the
    ``n_top`` points of steepest gradient, over radii from 1e-4 to 1e-1 of ``diam``.

    The gradient only chooses where and in which direction to look: the slopes are ratios of
    values, so their maximum is a lower bound of the Lipschitz constant even when the gradient
    is approximate (finite differences) or wrong.  Differences are lowered by the rounding
    scale ``delta`` and steps 2r below ``near`` are skipped, as in :func:`lipschitz_estimate`."""
    norms = np.linalg.norm(grads, axis=1)
    top = np.argsort(norms)[-n_top:]
    top = top[norms[top] > 0]
    radii = diam * np.logspace(-4, -1, n_radii)
    radii = radii[2 * radii > near]
    if not len(top) or not len(radii):
        return float("nan")
    x, u = points[top], grads[top] / norms[top, None]
    step = radii[None, :, None] * u[:, None, :]
    d = points.shape[1]
    up = pot((x[:, None, :] + step).reshape(-1, d)).reshape(len(top), len(radii))
    down = pot((x[:, None, :] - step).reshape(-1, d)).reshape(len(top), len(radii))
    return float(np.max(np.maximum(np.abs(up - down) - delta, 0.0) / (2 * radii[None, :])))


def lipschitz_estimate(pot: Potential, problem: Problem, rng: np.random.Generator | None = None,
                       n_pairs: int = 3000, n_grad: int = 2000) -> dict[str, float]:
    """Largest |f(u) - f(v)| / |u - v| over all pairs of samples, over random test pairs and
    along the gradient (:func:`gradient_search`), and largest |grad f| over random points.

    ``constant`` is the largest of the ratios: a lower bound of the Lipschitz constant made of
    values only (|grad f| is reported beside it, ``grad``; it stands in for ``constant`` only
    when no pair could be used).  Ratios are taken on pairs at least ``RESOLVE`` rounding
    scales apart (:func:`f_rounding`), with |f(u) - f(v)| lowered by one rounding scale: a pair
    closer than the rounding of f (e.g. two points 1e-12 apart at coordinates of order 1)
    measures rounding, not the slope.  A maximum over no usable pair is NaN; ``unresolved``
    counts the pairs left out."""
    rng = np.random.default_rng(0) if rng is None else rng
    values = pot(problem.samples)
    delta = f_rounding(problem, values)
    near = RESOLVE * delta
    u, v = _test_pairs(problem, rng, n_pairs)
    dist = np.linalg.norm(u - v, axis=1)
    ok = dist > near
    ratio = np.maximum(np.abs(pot(u) - pot(v)) - delta, 0.0)[ok] / dist[ok]
    rmax = float(ratio.max()) if ratio.size else float("nan")
    smax, unresolved = float("nan"), int(np.count_nonzero(~ok))
    for dd, df in _sample_pair_blocks(problem.samples, values):
        sel = dd > near
        unresolved += int(np.count_nonzero((dd > 0) & ~sel))
        if sel.any():
            smax = np.nanmax([smax, float(np.max((df[sel] - delta) / dd[sel]))])
    lo, hi = bounding_box(problem.samples)
    gpts = np.vstack([rng.uniform(lo, hi, (n_grad, problem.dim)), problem.samples])
    grads = pot.grad(gpts)
    gmax = float(np.max(np.linalg.norm(grads, axis=1)))
    search = gradient_search(pot, gpts, grads, float(np.linalg.norm(hi - lo)) or 1.0, delta, near)
    ratios = [r for r in (rmax, smax, search) if not np.isnan(r)]
    pairs = float(np.nanmax([rmax, smax])) if not (np.isnan(rmax) and np.isnan(smax)) \
        else float("nan")
    return {"constant": max(ratios) if ratios else gmax, "pairs": pairs, "random_pairs": rmax,
            "sample_pairs": float(smax), "gradient_search": search, "grad": gmax,
            "unresolved": float(unresolved), "rounding": delta}


def check_lipschitz(res: HKRResult, potentials: dict[str, Potential] | None = None,
                    rng: np.random.Generator | None = None, tol: float = LP_TOL,
                    tols: dict[str, float] | None = None, n_pairs: int = 3000) -> Check:
    """f is 1-Lipschitz: on all pairs of samples (the LP's values) and, for each potential
    given as a function on R^d, on random far and close pairs and through |grad f|.

    ``tols`` maps a potential's name to its allowed excess over 1 (default ``tol``)."""
    rng = np.random.default_rng(0) if rng is None else rng
    problem = res.problem
    excess = max(float(np.max(df - dd)) for dd, df in _sample_pair_blocks(
        problem.samples, np.concatenate([res.f_pos, res.f_neg])))
    allowed = tol * _scale(res)
    parts = [Check("samples", excess <= allowed, excess, allowed,
                   f"max over all {len(problem.samples)}^2 sample pairs of |f_k-f_l|-|s_k-s_l| "
                   f"= {excess:.2e} <= {allowed:.1e}")]
    for name, pot in (potentials or {}).items():
        est = lipschitz_estimate(pot, problem, rng, n_pairs)
        t = (tols or {}).get(name, tol)
        worst = float(np.nanmax([est["constant"], est["grad"]])) - 1.0
        skipped = (f" ({int(est['unresolved'])} pairs closer than {RESOLVE:g} x the rounding "
                   f"scale of f, {est['rounding']:.1e}, not used)" if est["unresolved"] else "")
        parts.append(Check(name, worst <= t, worst, t,
                           f"max ratio |f(u)-f(v)|/|u-v| on all sample pairs "
                           f"{est['sample_pairs']:.6f}, on {n_pairs} random pairs "
                           f"{est['random_pairs']:.6f}{skipped}, along the gradient "
                           f"{est['gradient_search']:.6f}; max |grad f| {est['grad']:.6f}; "
                           f"value = excess over 1 <= {t:g}", data=est))
    return combine("lipschitz", parts)


def nearest_optimal_values(problem: Problem, loss: float, values: np.ndarray,
                           tol: float = LP_TOL, max_locations: int = 100) -> np.ndarray | None:
    """The optimal potential nearest to ``values`` on the samples (positives then negatives):
    the values p minimising sum_k w_k |p_k - values_k| (w = ``problem.weights``) over every
    potential that is 1-Lipschitz on the samples with L(p) <= ``loss`` + tol (max d + 2m).
    One LP over the distinct sample locations; None when there are more than
    ``max_locations`` of them or the LP fails.

    The optimum is often unique on the samples, but not always: with each class at a single
    location at distance D > 2m, any f(x) in [m, D - m] (with f(z) = f(x) - D) is optimal, and
    with ``lam = 0`` f is only defined up to a constant.  A network is then to be compared with
    the nearest optimal values, not with the one optimum a solver happened to return."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, hstack, identity, vstack

    uniq, first, inv = np.unique(problem.samples, axis=0, return_index=True,
                                 return_inverse=True)
    inv = inv.reshape(-1)
    k = len(uniq)
    if k > max_locations:
        return None
    y, c_kr, c_h = problem.coefficients()
    target = np.asarray(values, dtype=np.float64)[first]   # a function: one value per point
    # variables: f (k), hinge slacks s (positive roles), t (negative roles), |f - target| e
    loss_row = np.concatenate([np.bincount(inv, c_kr, k), np.bincount(inv, c_h * (y > 0), k),
                               np.bincount(inv, c_h * (y < 0), k), np.zeros(k)])
    d = pairwise_distances(uniq, uniq)
    iu, ju = np.nonzero(~np.eye(k, dtype=bool))
    r = np.arange(len(iu))
    lip = coo_matrix((np.r_[np.ones(len(iu)), -np.ones(len(iu))], (np.r_[r, r], np.r_[iu, ju])),
                     shape=(len(iu), 4 * k))                     # f_u - f_v <= d_uv
    eye, zero = identity(k), coo_matrix((k, k))
    a_ub = vstack([lip,
                   hstack([-eye, -eye, zero, zero]),             # s >= m - f
                   hstack([eye, zero, -eye, zero]),              # t >= m + f
                   hstack([eye, zero, zero, -eye]),              # e >= f - target
                   hstack([-eye, zero, zero, -eye]),             # e >= target - f
                   coo_matrix(loss_row[None])]).tocsr()          # L(f) <= loss + tol
    scale = float(d.max(initial=0.0)) + 2.0 * problem.margin
    b_ub = np.concatenate([d[iu, ju], -problem.margin * np.ones(2 * k), target, -target,
                           [loss + tol * scale]])
    cost = np.concatenate([np.zeros(3 * k), np.bincount(inv, problem.weights, k)])
    bounds = [(None, None)] * k + [(0, None)] * (3 * k)
    sol = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if sol.status != 0:
        return None
    return sol.x[:k][inv]


# --------------------------------------------------------------------------------------------
# lambda -> 0


def best_hinge(pr: Problem, f_pos: np.ndarray, f_neg: np.ndarray) -> float:
    """min over constants c of the hinge term H(f + c) (f a KR potential, defined up to c)."""
    margin = pr.margin
    cand = np.concatenate([margin - f_pos, -margin - f_neg])

    def h(c):
        return (pr.p * np.maximum(margin - f_pos[None, :] - c[:, None], 0) @ pr.a
                + (1 - pr.p) * np.maximum(margin + f_neg[None, :] + c[:, None], 0) @ pr.b)

    best = np.inf
    for s in range(0, len(cand), 512):
        best = min(best, float(h(cand[s:s + 512]).min()))
    return best


def check_w1_limit(problem: Problem, lams: Sequence[float] = (1e-1, 1e-2, 1e-3),
                   solver: Solver = hkr_transport, w1: float | None = None,
                   tol: float = LP_TOL, losses: dict[float, float] | None = None) -> Check:
    """lam = 0 gives -W1 (POT's ot.emd2), and min L_lam -> -W1 as lam -> 0, monotonically,
    inside the bracket  -W1 <= min L_lam <= -W1 + lam H*  (H* = smallest hinge term of a KR
    potential), so the convergence is at least linear in lam.  ``problem``'s own λ is not used.

    ``losses`` (lam -> min L) replaces the solver calls (used by the tests to inject errors).
    """
    w1 = wasserstein1(problem) if w1 is None else float(w1)
    res0 = solver(problem.with_params(lam=0.0))
    margin = problem.margin
    losses = dict(losses or {})
    if 0.0 not in losses:
        losses[0.0] = float(res0.loss)
    for lam in lams:
        if lam not in losses:
            losses[lam] = float(solver(problem.with_params(lam=lam)).loss)
    h_star = best_hinge(problem, np.asarray(res0.f_pos), np.asarray(res0.f_neg))
    t = tol * (abs(w1) + 2 * margin)
    parts = [Check("lam=0", abs(losses[0.0] + w1) <= t, abs(losses[0.0] + w1), t,
                   f"min L_0 = {losses[0.0]:.10g}, -W1 (ot.emd2) = {-w1:.10g}")]
    seq = sorted((l for l in losses if l > 0), reverse=True)
    prev = None
    for lam in seq:
        L = losses[lam]
        low = (-w1 - t) - L                      # > 0 if L < -W1
        high = L - (-w1 + lam * h_star + t)      # > 0 if L above the linear bound
        mono = 0.0 if prev is None else L - prev - t  # > 0 if L increased as lam decreased
        worst = max(low, high, mono, 0.0)
        parts.append(Check(f"lam={lam:g}", worst <= 0, L + w1, lam * h_star + t,
                           f"L={L:.10g}, value L+W1={L + w1:.3e} in [0, lam H*={lam * h_star:.3e}]"
                           + ("" if prev is None else ", not above previous")))
        prev = L
    c = combine("w1_limit", parts, f"W1={w1:.10g}, H*={h_star:.4g}.")
    # the table's value: the gap at the smallest lam (against its allowed bound)
    if seq and c.passed:
        lam = seq[-1]
        c.value, c.tolerance = losses[lam] + w1, lam * h_star + t
    return c


def check_invariance(problem: Problem, loss: float, scale: float = 2.5, seed: int = 0,
                     solver: Solver = hkr_transport, tol: float = LP_TOL) -> Check:
    """Scaling all points and the margin by s multiplies min L by s; a rotation plus a
    translation of both clouds leaves it unchanged (docs/mathematics.md §7).  ``loss`` is the
    min of L on the original problem (pass a wrong one to see the check fail)."""
    d = problem.dim
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    shift = rng.uniform(-3, 3, d)
    l_scaled = float(solver(problem.transformed(scale=scale)).loss)
    l_moved = float(solver(problem.transformed(rotation=q, shift=shift)).loss)
    samples = problem.samples
    dist_max = float(np.max(np.linalg.norm(samples - problem.x_pos.mean(0), axis=1)))
    t = tol * (abs(loss) + 2 * dist_max + 2 * problem.margin) * scale
    e1 = abs(l_scaled - scale * loss)
    e2 = abs(l_moved - loss)
    parts = [Check(f"scale x{scale:g}", e1 <= t, e1, t,
                   f"min L(s x, s m) = {l_scaled:.10g} vs s min L = {scale * loss:.10g}"),
             Check("rotate+translate", e2 <= t, e2, t,
                   f"min L after a random rotation and shift = {l_moved:.10g} vs {loss:.10g}")]
    return combine("invariance", parts)
