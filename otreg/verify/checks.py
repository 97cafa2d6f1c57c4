"""Numerical checks of the properties of the hKR solution (spec sections 5-7).

Every check is a plain function returning a :class:`Check` ``(name, passed, value, tolerance,
detail)``; checks that look at several objects (the exact extension and the network, say)
carry one sub-check per object in ``parts`` and pass only if every part passes.  ``value`` is
always the quantity compared with ``tolerance`` (the direction of the comparison is in
``detail``), so that a table of checks reads as "measured vs allowed".

The checks never trust the solver's own bookkeeping: they recompute every value from the plan,
the potential values on the samples, and the potentials as functions on R^d.  Potentials are
anything satisfying the small :class:`Potential` protocol (values and gradients at points), so
the checks run equally on the exact potential's 1-Lipschitz extension, on a trained network,
and on hand-made (wrong) potentials in the tests.

See docs/verification.md for what each check proves and why its tolerance is what it is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..transport.extension import extend_with_grad
from ..transport.objective import marginal_bounds, pairwise_distances

# --------------------------------------------------------------------------------------------
# results


@dataclass
class Check:
    """The outcome of one check: ``passed`` iff ``value`` is within ``tolerance``."""

    name: str
    passed: bool
    value: float
    tolerance: float
    detail: str = ""
    parts: list = field(default_factory=list)

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "passed": bool(self.passed),
            "value": _num(self.value),
            "tolerance": _num(self.tolerance),
            "detail": self.detail,
        }
        if self.parts:
            out["parts"] = [p.to_dict() for p in self.parts]
        return out


def _num(x):
    x = float(x)
    return x if np.isfinite(x) else str(x)


def _combine(name: str, parts: list[Check], detail: str = "") -> Check:
    """A check made of parts: passes iff all parts pass; value/tolerance of the worst part."""
    if not parts:
        return Check(name, False, float("nan"), float("nan"), "no part could be evaluated")
    worst = next((p for p in parts if not p.passed), None)
    if worst is None:
        worst = max(parts, key=lambda p: _ratio(p.value, p.tolerance))
    summary = "; ".join(f"[{p.name}] {p.detail}" for p in parts)
    return Check(name, all(p.passed for p in parts), worst.value, worst.tolerance,
                 (detail + " " if detail else "") + summary, parts)


def _ratio(value, tol):
    try:
        return abs(float(value)) / max(abs(float(tol)), 1e-300)
    except (TypeError, ValueError):
        return float("inf")


# --------------------------------------------------------------------------------------------
# potentials


class Potential:
    """A scalar function on R^d with its gradient: ``pot(points) -> (k,)``, ``pot.grad(points)
    -> (k, d)``.

    ``grad`` defaults to central finite differences of step ``h`` (exact for the piecewise
    distance-like extensions away from their kinks).  Evaluations are chunked.
    """

    def __init__(self, f, grad=None, name: str = "potential", h: float = 1e-6, chunk: int = 8192):
        self._f = f
        self._grad = grad
        self.name = name
        self.h = h
        self.chunk = chunk

    def __call__(self, points) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        out = [np.asarray(self._f(pts[s:s + self.chunk]), dtype=np.float64).reshape(-1)
               for s in range(0, pts.shape[0], self.chunk)]
        return np.concatenate(out) if out else np.zeros(0)

    def grad(self, points) -> np.ndarray:
        pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if self._grad is not None:
            out = [np.asarray(self._grad(pts[s:s + self.chunk]), dtype=np.float64)
                   for s in range(0, pts.shape[0], self.chunk)]
            return np.concatenate(out).reshape(pts.shape)
        k, d = pts.shape
        g = np.empty((k, d))
        for j in range(d):
            e = np.zeros(d)
            e[j] = self.h
            g[:, j] = (self(pts + e) - self(pts - e)) / (2 * self.h)
        return g


def as_potential(obj, name: str | None = None) -> Potential:
    """Wrap a :class:`Potential`, a model with ``predict``/``grad``, or a callable."""
    if isinstance(obj, Potential):
        return obj
    if hasattr(obj, "predict"):
        grad = getattr(obj, "grad", None)
        return Potential(obj.predict, grad, name or type(obj).__name__)
    if callable(obj):
        return Potential(obj, getattr(obj, "grad", None), name or getattr(obj, "__name__", "f"))
    raise TypeError(f"model: expected a potential, a model with predict/grad or a callable, "
                    f"got {type(obj).__name__}")


def exact_potential(result, kind: str = "mcshane") -> Potential:
    """The exact solution's 1-Lipschitz extension ``result.potential(points, kind)``."""
    return Potential(lambda pts: result.potential(pts, kind=kind), None, f"exact ({kind})")


# --------------------------------------------------------------------------------------------
# solutions on the samples


@dataclass
class Solution:
    """What the sample-level checks look at: a plan and potential values (possibly wrong)."""

    problem: object
    plan: np.ndarray
    f_pos: np.ndarray
    f_neg: np.ndarray
    distances: np.ndarray
    loss: float | None = None  # the solver's claimed minimum of L

    @classmethod
    def from_result(cls, res) -> "Solution":
        return cls(res.problem, np.asarray(res.plan), np.asarray(res.f_pos),
                   np.asarray(res.f_neg), np.asarray(res.distances), float(res.loss))

    def replace(self, **kw) -> "Solution":
        d = dict(self.__dict__)
        d.update(kw)
        return Solution(**d)


def _loss(sol: Solution, f_pos=None, f_neg=None) -> float:
    return sol.problem.loss(sol.f_pos if f_pos is None else f_pos,
                            sol.f_neg if f_neg is None else f_neg)


def _den(w) -> np.ndarray:
    """Denominator for relative marginal errors (zero weights are allowed by the data layer)."""
    w = np.asarray(w, dtype=np.float64)
    return np.maximum(w, 1e-9 * float(w.max()))


def _scale(sol: Solution) -> float:
    return 1.0 + float(np.max(sol.distances)) + 2.0 * sol.problem.margin


# --------------------------------------------------------------------------------------------
# section 5: optimality conditions of the exact solution

#: relative tolerance for identities that hold exactly for an LP optimum (floating-point only)
LP_TOL = 1e-8


def check_strong_duality(sol: Solution, tol: float = LP_TOL) -> Check:
    """Primal value of the plan, L of the potential (and the claimed loss) coincide.

    Weak duality gives ``L(f) >= min L = -2m - min primal >= -2m - primal(plan)`` for any
    feasible f and plan; equality certifies that both are optimal (feasibility is the business
    of ``marginal_bounds`` and ``lipschitz``).
    """
    pr = sol.problem
    primal = float(np.sum(sol.plan * (sol.distances - 2.0 * pr.margin)))
    from_plan = -2.0 * pr.margin - primal
    from_f = _loss(sol)
    vals = {"-2m-primal(plan)": from_plan, "L(f)": from_f}
    if sol.loss is not None:
        vals["claimed loss"] = float(sol.loss)
    spread = max(vals.values()) - min(vals.values())
    allowed = tol * _scale(sol) * (1.0 + pr.lam)
    detail = (", ".join(f"{k}={v:.10g}" for k, v in vals.items())
              + f"; value = max-min spread <= tol = {tol:g}*(1+max d+2m)*(1+lam)")
    return Check("strong_duality", spread <= allowed, spread, allowed, detail)


def check_complementary_slackness(sol: Solution, tol: float = LP_TOL,
                                  support_tol: float = 1e-12) -> Check:
    """Transport rays: f(x_i) - f(z_j) = d_ij wherever plan_ij > 0."""
    plan = sol.plan
    support = plan > support_tol * max(float(plan.max()), 1e-300)
    resid = np.abs(sol.f_pos[:, None] - sol.f_neg[None, :] - sol.distances)[support]
    worst = float(resid.max()) if resid.size else 0.0
    wmean = float((plan[support] * resid).sum() / plan[support].sum()) if resid.size else 0.0
    allowed = tol * _scale(sol)
    detail = (f"{int(support.sum())} support pairs; max |f(x)-f(z)-d| = {worst:.2e} "
              f"(mass-weighted mean {wmean:.2e}) <= {allowed:.1e}")
    return Check("complementary_slackness", worst <= allowed, worst, allowed, detail)


def check_marginal_bounds(sol: Solution, tol: float = LP_TOL) -> Check:
    """a <= rows <= (1+lam p) a, b <= cols <= (1+lam(1-p)) b, plan >= 0 (relative violations)."""
    pr = sol.problem
    a_lo, a_hi, b_lo, b_hi = marginal_bounds(pr.a, pr.b, pr.p, pr.lam)
    rows, cols = sol.plan.sum(axis=1), sol.plan.sum(axis=0)
    da, db = _den(a_lo), _den(b_lo)
    viol = {
        "rows>=a": float(np.max((a_lo - rows) / da)),
        "rows<=(1+lam p)a": float(np.max((rows - a_hi) / da)),
        "cols>=b": float(np.max((b_lo - cols) / db)),
        "cols<=(1+lam(1-p))b": float(np.max((cols - b_hi) / db)),
        "plan>=0": float(-sol.plan.min() / min(da.min(), db.min())),
    }
    worst_key = max(viol, key=viol.get)
    worst = max(0.0, viol[worst_key])
    mass = float(sol.plan.sum())
    at_up_pos = float(np.mean(rows >= a_hi * (1 - 1e-9))) if pr.lam > 0 else 0.0
    at_up_neg = float(np.mean(cols >= b_hi * (1 - 1e-9))) if pr.lam > 0 else 0.0
    detail = (f"worst relative violation {worst:.2e} ({worst_key}) <= {tol:g}; mass moved "
              f"{mass:.6g} (extra {mass - 1:.4g} of at most {pr.lam:g}); at upper bound: "
              f"{at_up_pos:.1%} of positives, {at_up_neg:.1%} of negatives")
    return Check("marginal_bounds", worst <= tol, worst, tol, detail)


def check_hinge_slackness(sol: Solution, tol: float = 1e-6, f_tol: float = 1e-9) -> Check:
    """y f < m  =>  marginal at its upper bound;  y f > m  =>  at its lower bound.

    ``f_tol`` (relative to the data scale) decides when y f is "equal" to m; ``value`` is the
    largest relative distance of a marginal from the bound the hinge requires.
    """
    pr = sol.problem
    a_lo, a_hi, b_lo, b_hi = marginal_bounds(pr.a, pr.b, pr.p, pr.lam)
    rows, cols = sol.plan.sum(axis=1), sol.plan.sum(axis=0)
    eps = f_tol * _scale(sol)
    yf_pos, yf_neg = sol.f_pos, -sol.f_neg
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


def bounding_box(problem, pad: float = 0.25):
    pts = np.vstack([problem.x_pos, problem.x_neg])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w = np.maximum(hi - lo, 1e-12)
    return lo - pad * w, hi + pad * w


def _test_pairs(problem, rng, n_pairs: int):
    """Pairs of points (u, v) for empirical Lipschitz ratios: far pairs in the bounding box,
    close pairs (|u - v| ~ 1e-3 .. 1e-1 of the box) around samples and random points."""
    lo, hi = bounding_box(problem)
    d = problem.dim
    diam = float(np.linalg.norm(hi - lo))
    samples = np.vstack([problem.x_pos, problem.x_neg])
    k = n_pairs // 3
    far_u = rng.uniform(lo, hi, (k, d))
    far_v = rng.uniform(lo, hi, (k, d))
    base = np.vstack([samples[rng.integers(0, len(samples), k)], rng.uniform(lo, hi, (k, d))])
    direc = rng.standard_normal(base.shape)
    direc /= np.linalg.norm(direc, axis=1, keepdims=True)
    r = diam * 10 ** rng.uniform(-3, -1, (base.shape[0], 1))
    return np.vstack([far_u, base]), np.vstack([far_v, base + r * direc])


def lipschitz_estimate(pot: Potential, problem, rng=None, n_pairs: int = 3000,
                       n_grad: int = 2000) -> dict:
    """Largest |f(u) - f(v)| / |u - v| over all pairs of samples and over random test pairs,
    and largest |grad f| over random points."""
    rng = np.random.default_rng(0) if rng is None else rng
    u, v = _test_pairs(problem, rng, n_pairs)
    ratio = np.abs(pot(u) - pot(v)) / np.linalg.norm(u - v, axis=1)
    samples = np.vstack([problem.x_pos, problem.x_neg])
    vals = pot(samples)
    smax = 0.0
    step = max(1, 2_000_000 // len(samples))
    for st in range(0, len(samples), step):
        dd = pairwise_distances(samples[st:st + step], samples)
        df = np.abs(vals[st:st + step, None] - vals[None, :])
        ok = dd > 1e-9
        if ok.any():
            smax = max(smax, float(np.max(df[ok] / dd[ok])))
    lo, hi = bounding_box(problem)
    gpts = rng.uniform(lo, hi, (n_grad, problem.dim))
    gmax = float(np.max(np.linalg.norm(pot.grad(gpts), axis=1)))
    return {"pairs": float(max(ratio.max(), smax)), "random_pairs": float(ratio.max()),
            "sample_pairs": smax, "grad": gmax}


def check_lipschitz(sol: Solution | None = None, potentials: dict | None = None,
                    rng=None, tol: float = LP_TOL, tols: dict | None = None,
                    n_pairs: int = 3000) -> Check:
    """f is 1-Lipschitz: on all pairs of samples (the LP's values) and, for each potential
    given as a function on R^d, on random far and close pairs and through |grad f|.

    ``tols`` maps a potential's name to its allowed excess over 1 (default ``tol``)."""
    rng = np.random.default_rng(0) if rng is None else rng
    parts = []
    problem = sol.problem if sol is not None else None
    if sol is not None:
        samples = np.vstack([problem.x_pos, problem.x_neg])
        vals = np.concatenate([sol.f_pos, sol.f_neg])
        excess = 0.0
        step = max(1, 2_000_000 // len(samples))
        for s in range(0, len(samples), step):
            dd = pairwise_distances(samples[s:s + step], samples)
            df = np.abs(vals[s:s + step, None] - vals[None, :])
            excess = max(excess, float(np.max(df - dd)))
        allowed = tol * _scale(sol)
        parts.append(Check("samples", excess <= allowed, excess, allowed,
                           f"max over all {len(samples)}^2 sample pairs of |f_k-f_l|-|s_k-s_l| "
                           f"= {excess:.2e} <= {allowed:.1e}"))
    for name, pot in (potentials or {}).items():
        if problem is None:
            raise ValueError("check_lipschitz: a Solution is needed to place test points")
        est = lipschitz_estimate(pot, problem, rng, n_pairs)
        t = (tols or {}).get(name, tol)
        worst = max(est["pairs"], est["grad"]) - 1.0
        parts.append(Check(name, worst <= t, worst, t,
                           f"max ratio |f(u)-f(v)|/|u-v| on all sample pairs "
                           f"{est['sample_pairs']:.6f}, on {n_pairs} random pairs "
                           f"{est['random_pairs']:.6f}; max |grad f| {est['grad']:.6f}; "
                           f"value = excess over 1 <= {t:g}"))
    return _combine("lipschitz", parts)


# --------------------------------------------------------------------------------------------
# lambda -> 0


def best_hinge(f_pos, f_neg, a, b, p, margin) -> float:
    """min over constants c of the hinge term H(f + c) (f a KR potential, defined up to c)."""
    cand = np.concatenate([margin - f_pos, -margin - f_neg])

    def h(c):
        return (p * np.maximum(margin - f_pos[None, :] - c[:, None], 0) @ a
                + (1 - p) * np.maximum(margin + f_neg[None, :] + c[:, None], 0) @ b)

    best = np.inf
    for s in range(0, len(cand), 512):
        best = min(best, float(h(cand[s:s + 512]).min()))
    return best


def check_w1_limit(x_pos, x_neg, margin: float, a=None, b=None, p=None,
                   lams=(1e-1, 1e-2, 1e-3), solver=None, w1=None, tol: float = LP_TOL,
                   losses: dict | None = None) -> Check:
    """lam = 0 gives -W1 (POT's ot.emd2), and min L_lam -> -W1 as lam -> 0, monotonically,
    inside the bracket  -W1 <= min L_lam <= -W1 + lam H*  (H* = smallest hinge term of a KR
    potential), so the convergence is at least linear in lam.

    ``losses`` (lam -> min L) replaces the solver calls (used by the tests to inject errors).
    """
    from ..transport import hkr_transport, wasserstein1

    solver = hkr_transport if solver is None else solver
    w1 = wasserstein1(x_pos, x_neg, a, b) if w1 is None else float(w1)
    res0 = solver(x_pos, x_neg, lam=0.0, margin=margin, a=a, b=b, p=p)
    pr = res0.problem
    losses = dict(losses or {})
    if 0.0 not in losses:
        losses[0.0] = float(res0.loss)
    for lam in lams:
        if lam not in losses:
            losses[lam] = float(solver(x_pos, x_neg, lam=lam, margin=margin, a=a, b=b, p=p).loss)
    h_star = best_hinge(np.asarray(res0.f_pos), np.asarray(res0.f_neg), pr.a, pr.b, pr.p, margin)
    t = tol * (1.0 + abs(w1) + 2 * margin)
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
    c = _combine("w1_limit", parts, f"W1={w1:.10g}, H*={h_star:.4g}.")
    # the table's value: the gap at the smallest lam (against its allowed bound)
    if seq and c.passed:
        lam = seq[-1]
        c.value, c.tolerance = losses[lam] + w1, lam * h_star + t
    return c


def check_invariance(x_pos, x_neg, lam: float, margin: float, loss: float, a=None, b=None,
                     p=None, scale: float = 2.5, seed: int = 0, solver=None,
                     tol: float = LP_TOL) -> Check:
    """Scaling all points and the margin by s multiplies min L by s; a rotation plus a
    translation of both clouds leaves it unchanged (spec section 5).  ``loss`` is the min of L
    on the original data (pass a wrong one to see the check fail)."""
    from ..transport import hkr_transport

    solver = hkr_transport if solver is None else solver
    x_pos, x_neg = np.asarray(x_pos, dtype=np.float64), np.asarray(x_neg, dtype=np.float64)
    d = x_pos.shape[1]
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    shift = rng.uniform(-3, 3, d)
    l_scaled = float(solver(scale * x_pos, scale * x_neg, lam=lam, margin=scale * margin,
                            a=a, b=b, p=p).loss)
    l_moved = float(solver(x_pos @ q.T + shift, x_neg @ q.T + shift, lam=lam, margin=margin,
                           a=a, b=b, p=p).loss)
    dist_max = float(np.max(np.linalg.norm(np.vstack([x_pos, x_neg]) - x_pos.mean(0), axis=1)))
    t = tol * (1.0 + 2 * dist_max + 2 * margin) * (1.0 + lam) * scale
    e1 = abs(l_scaled - scale * loss)
    e2 = abs(l_moved - loss)
    parts = [Check(f"scale x{scale:g}", e1 <= t, e1, t,
                   f"min L(s x, s m) = {l_scaled:.10g} vs s min L = {scale * loss:.10g}"),
             Check("rotate+translate", e2 <= t, e2, t,
                   f"min L after a random rotation and shift = {l_moved:.10g} vs {loss:.10g}")]
    return _combine("invariance", parts)


# --------------------------------------------------------------------------------------------
# geometry: transport rays, gradients, certificates, adversarial steps


def ray_points(sol: Solution, rng, k: int = 400, t_range=(0.05, 0.95), crossing: bool = False):
    """Points on transport rays x_i + t (z_j - x_i), pairs drawn with probability ∝ plan_ij.

    With ``crossing=True`` only rays whose end values straddle 0 (f_i > 0 > g_j) are used.
    Returns (points, i, j, t)."""
    plan = sol.plan.copy()
    if crossing:
        plan = plan * ((sol.f_pos[:, None] > 0) & (sol.f_neg[None, :] < 0))
    flat = plan.ravel()
    if flat.sum() <= 0:
        d = sol.problem.dim
        return np.zeros((0, d)), np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    idx = rng.choice(flat.size, size=k, p=flat / flat.sum())
    i, j = np.divmod(idx, plan.shape[1])
    t = rng.uniform(*t_range, k)
    xp, xn = sol.problem.x_pos[i], sol.problem.x_neg[j]
    return xp + t[:, None] * (xn - xp), i, j, t


def unit_directions(d: int, n_dirs: int, rng) -> np.ndarray:
    if d == 1:
        return np.array([[1.0], [-1.0]])
    if d == 2:
        th = (np.arange(n_dirs) + rng.uniform()) * 2 * np.pi / n_dirs
        return np.column_stack([np.cos(th), np.sin(th)])
    u = rng.standard_normal((n_dirs, d))
    return u / np.linalg.norm(u, axis=1, keepdims=True)


def boundary_distance(pot: Potential, points, r_max, rng=None, n_dirs: int = 32,
                      n_steps: int = 32, n_bisect: int = 20, extra_radii=None,
                      point_dirs=None) -> np.ndarray:
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
    hi = np.take_along_axis(np.broadcast_to(radii[:, None, :], (k, D, R)), first[..., None], 2)[..., 0]
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


def check_gradient_norm(pot: Potential, points, min_norm: float = 0.9,
                        min_fraction: float = 0.8, name: str = "gradient_norm") -> Check:
    """|grad f| = 1 on transport rays: fraction of ray points with |grad f| >= ``min_norm``."""
    g = np.linalg.norm(pot.grad(points), axis=1)
    frac = float(np.mean(g >= min_norm)) if len(g) else float("nan")
    detail = (f"{len(g)} points on transport rays: fraction with |grad f| >= {min_norm:g} is "
              f"{frac:.1%} (>= {min_fraction:.0%} required); median |grad f| "
              f"{np.median(g) if len(g) else float('nan'):.4f}, 10% quantile "
              f"{np.quantile(g, 0.1) if len(g) else float('nan'):.4f}")
    return Check(name, bool(frac >= min_fraction), frac, min_fraction, detail)


def certificate_points(problem, rng, k: int = 150):
    """Random test points: half uniform in the bounding box, half jittered samples."""
    lo, hi = bounding_box(problem, pad=0.1)
    samples = np.vstack([problem.x_pos, problem.x_neg])
    h = k // 2
    jit = samples[rng.integers(0, len(samples), k - h)]
    jit = jit + 0.02 * np.linalg.norm(hi - lo) * rng.standard_normal(jit.shape)
    return np.vstack([rng.uniform(lo, hi, (h, problem.dim)), jit])


def check_certificate(pot: Potential, points, rng=None, n_dirs: int = 32, n_inner: int = 16,
                      n_steps: int = 16, r_max=None, tol: float = 1e-6,
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
              f"certified/true radius median {np.median(tight) if tight.size else float('nan'):.3f}")
    return Check(name, not bad.any(), max(worst, 0.0), tol, detail), dist


def check_adversarial_tightness(pot: Potential, points, r_max=None, rng=None,
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
    pts = np.atleast_2d(points)
    f = pot(pts)
    keep = np.abs(f) > max(min_abs_f, 1e-9)
    pts, f = pts[keep], f[keep]
    if len(pts) == 0:
        return Check(name, False, float("nan"), f_tol, "no usable point (|f| too small)")
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
    c = _combine(name, parts, f"{len(pts)} points on crossing transport rays; "
                              f"{flipped:.0%} of the one-step attacks reach or cross the boundary.")
    return c


# --------------------------------------------------------------------------------------------
# section 7: the network against the exact solution


def check_neural_gap(problem, exact_loss: float, f_pos, f_neg, rel_tol: float = 0.05,
                     below_tol: float = 1e-6) -> Check:
    """exact loss - tiny <= L(network) <= exact loss + rel_tol (|exact loss| + 2 margin).

    The lower bound is a theorem (a 1-Lipschitz network restricted to the samples is feasible
    for the LP); the upper bound measures training.  ``below_tol`` absorbs float32 rounding.
    """
    L = problem.loss(f_pos, f_neg)
    gap = L - exact_loss
    scale = abs(exact_loss) + 2 * problem.margin
    low = -below_tol * scale
    allowed = rel_tol * scale
    ok = (gap >= low) and (gap <= allowed)
    detail = (f"L(network)={L:.6g}, exact min L={exact_loss:.6g}, gap {gap:.3e} in "
              f"[{low:.1e}, {allowed:.3e}] (= -{below_tol:g}, +{rel_tol:g} x (|min L|+2m)); "
              f"relative gap {gap / scale:.2%}")
    if gap < low:
        detail += "  -- BELOW the LP optimum: the network is not 1-Lipschitz on the samples"
    return Check("neural_gap", bool(ok), gap, allowed if gap >= 0 else low, detail)


# --------------------------------------------------------------------------------------------
# robustness metrics of the classifier sign(f) (the sweep's and the lambda plot's columns)

#: certified-accuracy radii used by default
DEFAULT_RADII = (0.01, 0.05, 0.1, 0.2)


def _radius_name(eps) -> str:
    return f"{float(eps):g}"


def accuracies(f_pos, f_neg, radii=DEFAULT_RADII, a=None, b=None, p=None, prefix="") -> dict:
    """Clean and certified accuracy of the classifier sign(f) on labelled samples.

    Each class counts with its share ``p`` of the samples (default n / (n + m); weights ``a``,
    ``b`` normalised per class, uniform without weights): ``acc_clean`` is the
    weight of the samples with y f > 0, ``acc_cert_<eps>`` that of the samples with y f > eps.
    For a 1-Lipschitz f the latter are certified: no perturbation of norm <= eps changes the
    sign of f there.  ``mean_radius`` is the mean certified radius, the weighted mean of
    ``max(y f, 0)``.
    """
    f_pos = np.asarray(f_pos, float).ravel()
    f_neg = np.asarray(f_neg, float).ravel()
    n, m = f_pos.size, f_neg.size
    wa = np.full(n, 1.0 / n) if a is None else np.asarray(a, float) / np.sum(a)
    wb = np.full(m, 1.0 / m) if b is None else np.asarray(b, float) / np.sum(b)
    p = n / (n + m) if p is None else p
    margin_pos, margin_neg = f_pos, -f_neg          # y f(x)

    def acc(eps):
        return float(p * wa[margin_pos > eps].sum() + (1 - p) * wb[margin_neg > eps].sum())

    out = {f"{prefix}acc_clean": acc(0.0)}
    for eps in radii:
        out[f"{prefix}acc_cert_{_radius_name(eps)}"] = acc(float(eps))
    # mean certified radius: (y f)_+ is the radius certified at each sample (0 if wrong)
    out[f"{prefix}mean_radius"] = float(p * wa @ np.maximum(margin_pos, 0.0)
                                        + (1 - p) * wb @ np.maximum(margin_neg, 0.0))
    return out


def check_potential_agreement(problem, exact_pos, exact_neg, net_pos, net_neg,
                              rms_tol: float = 0.1, sign_tol: float = 0.9) -> Check:
    """The network's values on the samples against the exact potential's: RMS difference
    (relative to the spread of the exact values) and agreement of the predicted classes.

    With lam = 0 the optimal potential is only defined up to an additive constant (L is
    invariant to it), so the network is first shifted by the best constant in weighted L2.
    """
    fe = np.concatenate([exact_pos, exact_neg])
    fn = np.concatenate([net_pos, net_neg])
    w = np.concatenate([problem.p * problem.a, (1 - problem.p) * problem.b])
    if problem.lam == 0:
        fn = fn + np.sum(w * (fe - fn)) / np.sum(w)
    rms = float(np.sqrt(np.sum(w * (fn - fe) ** 2)))
    spread = float(np.sqrt(np.sum(w * (fe - np.sum(w * fe)) ** 2))) + problem.margin
    rel = rms / spread
    agree = float(np.sum(w * (np.sign(fn) == np.sign(fe))))
    parts = [
        Check("rms", rel <= rms_tol, rel, rms_tol,
              f"RMS(f_net - f_exact) = {rms:.4g} = {rel:.3f} x (std f_exact + m) <= {rms_tol:g}"),
        Check("sign", agree >= sign_tol, agree, sign_tol,
              f"sign agreement on the samples {agree:.2%} >= {sign_tol:.0%}"),
    ]
    return _combine("potential_agreement", parts)


# --------------------------------------------------------------------------------------------
# fast evaluation of the exact extensions (the geometric checks evaluate them ~10^6 times)

class ExtensionPotential(Potential):
    """McShane / Whitney / mean extension of sample values, compiled, with its exact gradient
    (defined everywhere except on the measure-zero set where the arg-min/arg-max ties)."""

    def __init__(self, samples, values, kind: str = "mcshane", name: str | None = None):
        self.samples = np.ascontiguousarray(samples, dtype=np.float64)
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        self.kind = kind

        def f(pts):
            return extend_with_grad(pts, self.samples, self.values, kind)[0]

        def grad(pts):
            return extend_with_grad(pts, self.samples, self.values, kind)[1]

        super().__init__(f, grad, name or f"exact ({kind})", chunk=65536)


def fast_exact_potential(result_or_solution, kind: str = "mcshane") -> ExtensionPotential:
    """:class:`ExtensionPotential` of an exact solution's values on its samples."""
    pr = result_or_solution.problem
    return ExtensionPotential(np.vstack([pr.x_pos, pr.x_neg]),
                              np.concatenate([result_or_solution.f_pos, result_or_solution.f_neg]),
                              kind)
