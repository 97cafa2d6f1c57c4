"""``hkr_transport``: the exact solution of the hKR problem on two labelled point clouds.

Data flow: a validated :class:`otreg.problem.Problem` -> cost matrix -> one exact solver of the
bounded transport problem (spec section 3) -> dual potentials, cleaned by a c-transform and an
optimal constant shift -> certificate (primal feasibility, 1-Lipschitz potentials, equal values).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
import ot
import scipy.sparse as sp

from ..errors import InputError, MemoryLimitError, SolverError
from ..problem import Problem, as_problem
from .extension import ExtensionPotential, c_transform_clean
from .highs_solver import solve_bounded_highs
from .netsimplex import bounded_transport  # numba: compiled on first call, then cached
from .objective import check_dense_size, pairwise_distances
from .pot_solver import solve_bounded_pot
from .sparse import SparseSolution, solve_sparse

METHODS = ("auto", "netsimplex", "pot", "highs", "sparse")
W1_METHODS = ("auto", "pot", "sparse")
#: relative tolerance of the optimality certificate (values and feasibility, scaled by the data)
CERT_TOL = 1e-9

Bounds = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
#: a bounded-transport solver: (C, a_lo, a_hi, b_lo, b_hi) -> (plan, alpha, beta)
BoundedSolver = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]


def _solve_netsimplex(C: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray,
                      b_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sol = bounded_transport(C, a_lo, a_hi, b_lo, b_hi)
    return sol.plan(), sol.P_hub - sol.P_pos, sol.P_neg - sol.P_hub


_SOLVERS: dict[str, BoundedSolver] = {"highs": solve_bounded_highs, "pot": solve_bounded_pot,
                                      "netsimplex": _solve_netsimplex}


@dataclass
class HKRResult:
    """The exact solution of an hKR problem.

    Attributes
    ----------
    loss : float
        min of the empirical hKR loss L over 1-Lipschitz f (spec section 1); equals
        ``-2 margin - primal_value``.
    plan : ndarray (n, m) or scipy.sparse.csr_array
        An optimal transport plan of the bounded-marginal primal (spec section 3); sparse
        (at most n + m nonzeros) when ``method == "sparse"``.
    f_pos, f_neg : ndarray
        The optimal dual potential on the positives and negatives: 1-Lipschitz on all samples,
        ``f_pos_i - f_neg_j <= d_ij`` with equality on the plan's support.
    primal_value : float
        ``sum_ij plan_ij (d_ij - 2 margin)``.
    dual_value : float
        L evaluated on ``(f_pos, f_neg)``; equals ``loss`` up to the certificate tolerance.
    mass, row_marginal, col_marginal :
        Total transported mass and the plan's row / column sums.
    gap : float
        ``|(-2 margin - primal_value) - dual_value|``, the certified duality gap.
    method, seconds : str, float
        The solver that produced the plan and the wall time of the whole call.
    distances : ndarray (n, m)
        The cost matrix d_ij (for ``method == "sparse"`` computed on first access, subject to
        the memory limit: the solver never stores it).
    info : dict
        Solver details; for ``"sparse"``: pricing rounds, arcs, pivots, the pricing tolerance
        and the per-round history.
    """

    loss: float
    plan: np.ndarray
    f_pos: np.ndarray
    f_neg: np.ndarray
    primal_value: float
    dual_value: float
    gap: float
    method: str
    seconds: float
    problem: Problem
    info: dict = field(default_factory=dict, repr=False)

    @cached_property
    def distances(self) -> np.ndarray:
        """The (n, m) distance matrix (computed on first access if the solver did not keep
        it; raises MemoryLimitError above the dense memory limit)."""
        return pairwise_distances(self.problem.x_pos, self.problem.x_neg)

    @property
    def mass(self) -> float:
        return float(self.plan.sum())

    @property
    def row_marginal(self) -> np.ndarray:
        return np.asarray(self.plan.sum(axis=1)).reshape(-1)

    @property
    def col_marginal(self) -> np.ndarray:
        return np.asarray(self.plan.sum(axis=0)).reshape(-1)

    @property
    def extra_mass(self) -> float:
        """Mass moved beyond the mandatory unit (the hinge's contribution), ``mass - 1``."""
        return self.mass - 1.0

    def extension(self, kind: str = "mcshane") -> ExtensionPotential:
        """The optimal potential's 1-Lipschitz extension to R^d, as a function with its
        gradient (``ext(points)``, ``ext.grad(points)``).

        ``kind`` is ``"mcshane"`` (the largest 1-Lipschitz extension, ``min_k f_k + |x - s_k|``),
        ``"whitney"`` (the smallest, ``max_k f_k - |x - s_k|``) or ``"mean"`` (their average).
        All three equal the sample values on the samples.  The gradient of McShane and Whitney
        is a unit vector (the direction of the transport ray through the arg-min / arg-max
        sample), defined everywhere except where that sample ties.
        """
        return ExtensionPotential(self.problem.samples, np.concatenate([self.f_pos, self.f_neg]),
                                  kind)

    def potential(self, points: Any, kind: str = "mcshane") -> np.ndarray:
        """The extension (:meth:`extension`) evaluated at ``points`` (k, d)."""
        return self.extension(kind)(points)

    def potential_grad(self, points: Any, kind: str = "mcshane") -> np.ndarray:
        """Gradient (k, d) of :meth:`potential` at ``points``."""
        return self.extension(kind).grad(points)

    def summary(self) -> str:
        return (f"hKR {self.problem.describe()}: loss={self.loss:.10g} mass={self.mass:.6g} "
                f"gap={self.gap:.2e} method={self.method} time={self.seconds:.3f}s")


def optimal_shift(pr: Problem, f_pos: np.ndarray, f_neg: np.ndarray) -> float:
    """The constant k minimising L(f + k) (only the hinge term depends on k).

    k -> L(f + k) is convex piecewise linear with breakpoints at ``margin - f_pos_i`` and
    ``-margin - f_neg_j``; its slope is ``-lam p A(k) + lam (1 - p) B(k)`` with A(k) the weight of
    positives with f + k < margin and B(k) that of negatives with f + k > -margin.  The smallest
    breakpoint where the slope becomes >= 0 is a minimiser.
    """
    if pr.lam == 0:
        return 0.0
    kp = pr.margin - f_pos  # positive i is inside its hinge for k < kp_i
    kn = -pr.margin - f_neg  # negative j is inside its hinge for k > kn_j
    cand = np.concatenate([kp, kn])
    order_p = np.argsort(kp)
    order_n = np.argsort(kn)
    cum_a = np.concatenate([[0.0], np.cumsum(pr.a[order_p])])
    cum_b = np.concatenate([[0.0], np.cumsum(pr.b[order_n])])
    # slope just right of each candidate k: positives with kp > k, negatives with kn <= k
    pos_active = 1.0 - cum_a[np.searchsorted(kp[order_p], cand, side="right")]
    neg_active = cum_b[np.searchsorted(kn[order_n], cand, side="right")]
    slope = -pr.p * pos_active + (1.0 - pr.p) * neg_active
    ok = slope >= -1e-15
    return float(np.min(cand[ok])) if np.any(ok) else float(np.max(cand))


def _certify(pr: Problem, dist: np.ndarray, plan: np.ndarray, f_pos: np.ndarray,
             f_neg: np.ndarray, bounds: Bounds, scale: float) -> tuple[float, float, float, float]:
    """Return (primal_value, dual_value, gap, violation) of a candidate solution."""
    a_lo, a_hi, b_lo, b_hi = bounds
    rows, cols = plan.sum(axis=1), plan.sum(axis=0)
    violation = max(
        float(np.max(a_lo - rows)), float(np.max(rows - a_hi)),
        float(np.max(b_lo - cols)), float(np.max(cols - b_hi)),
        float(-plan.min()), float(np.max(f_pos[:, None] - f_neg[None, :] - dist)),
    )
    primal = float(np.sum(plan * (dist - 2.0 * pr.margin)))
    dual = pr.loss(f_pos, f_neg)
    gap = abs((-2.0 * pr.margin - primal) - dual)
    return primal, dual, gap, violation / scale


def _dense_fits(n: int, m: int) -> bool:
    """Whether the dense solvers' n x m arrays fit under the memory limit."""
    try:
        check_dense_size(n, m, copies=3)
    except MemoryLimitError:
        return False
    return True


def _sparse_result(pr: Problem, t0: float, sol: SparseSolution) -> HKRResult:
    """The :class:`HKRResult` of a column-generation solution, certified like the others."""
    shift = optimal_shift(pr, sol.f_pos, sol.f_neg)
    f_pos, f_neg = sol.f_pos + shift, sol.f_neg + shift
    dual = pr.loss(f_pos, f_neg)
    gap = abs((-2.0 * pr.margin - sol.primal) - dual)
    if gap > CERT_TOL * sol.scale * (1.0 + pr.lam) or sol.violation > CERT_TOL:
        raise SolverError(f"sparse: certificate failed (gap {gap:.2e}, violation "
                          f"{sol.violation:.2e})")
    return HKRResult(loss=-2.0 * pr.margin - sol.primal, plan=sol.plan, f_pos=f_pos,
                     f_neg=f_neg, primal_value=sol.primal, dual_value=dual, gap=gap,
                     method="sparse", seconds=time.perf_counter() - t0, problem=pr,
                     info=sol.info())


def _choose_method(n: int, m: int) -> list[str]:
    """Solvers tried by ``method="auto"``, fastest first; later ones are fall-backs."""
    return ["netsimplex"] + (["pot", "highs"] if n * m > 400 else ["highs", "pot"])


def hkr_transport(x_pos: Any, x_neg: Any = None, lam: float | None = None,
                  margin: float | None = None, a: Any = None, b: Any = None,
                  p: float | None = None, method: str = "auto", *, progress: bool = False,
                  scheduler: Any = None) -> HKRResult:
    """Solve the hinge-regularized optimal transport problem exactly.

    Parameters
    ----------
    x_pos : array (n, d) or Problem
        Positive samples (label +1), or a :class:`otreg.Problem` holding everything (then leave
        the other data arguments out).
    x_neg : array (m, d)
        Negative samples (label -1), same dimension d >= 1.
    lam : float >= 0, default 1
        Weight of the hinge term; ``lam=0`` is the Kantorovich-Rubinstein dual (loss = -W1).
    margin : float > 0, default 0.1
        The hinge margin m_.
    a, b : array (n,), (m,), optional
        Non-negative sample weights (normalised per class; uniform by default).
    p : float in (0, 1), optional
        Positive-class prior.  Default: the positive share of the total sample mass before
        normalisation, i.e. n / (n + m) without weights, ``sum(a) / (sum(a) + sum(b))`` with.
    method : {"auto", "netsimplex", "pot", "highs", "sparse"}
        Exact solver.  ``"auto"`` takes the fastest available and falls back to the next one if
        its answer fails the optimality certificate; it takes ``"sparse"`` (column generation,
        memory linear in n + m, see docs/sparse.md) when the dense problem would exceed
        :data:`otreg.transport.objective.MAX_DENSE_BYTES`.
    progress : bool
        ``"sparse"`` only: a progress bar over the pricing rounds.
    scheduler : dask.distributed.Client or str, optional
        ``"sparse"`` only: run the pricing passes on this Dask cluster (a Client or a scheduler
        address); by default they run in this process, on all cores.

    Returns
    -------
    HKRResult
        Optimal loss, plan, potentials (with ``.potential(points)`` extending them to R^d),
        primal and dual values, the certified gap, the method and the wall time.

    Raises
    ------
    InputError
        Invalid clouds, weights or parameters (the message names the argument).
    SolverError
        No solver produced a certified optimum.
    MemoryLimitError
        The dense problem would not fit in memory.
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise InputError(f"method: expected one of {METHODS}, got {method!r}")
    pr = as_problem(x_pos, x_neg, lam, margin, a, b, p)
    if method == "sparse" or (method == "auto" and not _dense_fits(pr.n, pr.m)):
        return _sparse_result(pr, t0, solve_sparse(pr, progress=progress, scheduler=scheduler))
    check_dense_size(pr.n, pr.m, copies=3, what="the dense hKR problem (costs, plan)")
    dist = pairwise_distances(pr.x_pos, pr.x_neg)
    C = dist - 2.0 * pr.margin
    bounds = pr.marginal_bounds()
    scale = 1.0 + float(dist.max()) + 2.0 * pr.margin
    failures = []
    for name in (_choose_method(pr.n, pr.m) if method == "auto" else [method]):
        try:
            plan, alpha, beta = _SOLVERS[name](C, *bounds)
        except SolverError as exc:
            failures.append(str(exc))
            continue
        f_pos, f_neg = c_transform_clean(alpha + pr.margin, -beta - pr.margin, dist)
        shift = optimal_shift(pr, f_pos, f_neg)
        f_pos, f_neg = f_pos + shift, f_neg + shift
        primal, dual, gap, viol = _certify(pr, dist, plan, f_pos, f_neg, bounds, scale)
        if gap <= CERT_TOL * scale * (1.0 + pr.lam) and viol <= CERT_TOL:
            res = HKRResult(
                loss=-2.0 * pr.margin - primal, plan=plan, f_pos=f_pos, f_neg=f_neg,
                primal_value=primal, dual_value=dual, gap=gap, method=name,
                seconds=time.perf_counter() - t0, problem=pr,
            )
            res.__dict__["distances"] = dist  # the cached property, already computed
            return res
        failures.append(f"{name}: certificate failed (gap {gap:.2e}, violation {viol:.2e})")
    raise SolverError("no exact solver certified an optimum: " + "; ".join(failures))


def wasserstein1(x_pos: Any, x_neg: Any = None, a: Any = None, b: Any = None,
                 method: str = "auto", *, progress: bool = False, scheduler: Any = None) -> float:
    """Exact Wasserstein-1 distance (Euclidean ground cost) between the weighted clouds.
    Weights are normalised per class (uniform by default); ``x_pos`` may be a
    :class:`otreg.Problem` (its clouds and weights are used).

    ``method``: ``"pot"`` (POT's ``ot.emd2`` on the dense cost matrix), ``"sparse"`` (column
    generation, memory linear in n + m, certified like :func:`hkr_transport`) or ``"auto"``
    (``"pot"`` when the dense matrix fits under the memory limit, else ``"sparse"``);
    ``progress`` and ``scheduler`` as in :func:`hkr_transport`.
    """
    if method not in W1_METHODS:
        raise InputError(f"method: expected one of {W1_METHODS}, got {method!r}")
    pr = as_problem(x_pos, x_neg, a=a, b=b)
    if method == "sparse" or (method == "auto" and not _dense_fits(pr.n, pr.m)):
        kr = pr.with_params(lam=0.0)
        res = _sparse_result(kr, time.perf_counter(),
                             solve_sparse(kr, progress=progress, scheduler=scheduler))
        return -res.loss
    wb = pr.b * (pr.a.sum() / pr.b.sum())
    dist = pairwise_distances(pr.x_pos, pr.x_neg)
    return float(ot.emd2(pr.a, wb, dist, numItermax=10**9))
