"""``hkr_transport``: the exact solution of the hKR problem on two labelled point clouds.

Data flow: a validated :class:`otreg.problem.Problem` -> distances in normalised units (the
points divided by a power of two near their extent: exact, so every scale of the data is
solved as the same problem) -> :func:`otreg.transport.bounded.solve_bounded`, the core of
``bounded_emd``, on costs d - 2 margin (the shift applied on the fly, no second matrix) ->
dual potentials, cleaned by a c-transform and an optimal constant shift -> certificate
(primal feasibility, 1-Lipschitz potentials, relative duality gap) -> back to the data's units.
Beyond the dense memory limit, ``method="sparse"`` (column generation, :mod:`.sparse`) solves
the same problem in the same units without an n x m array.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InputError, MemoryLimitError, SolverError
from ..problem import Problem, as_problem
from .bounded import BoundedSolution, solve_bounded
from .certificate import marginal_violation, relative_gap, value_scale
from .extension import ExtensionPotential, c_transform_clean
from .methods import LAM_MAX_BY_METHOD, METHODS
from .objective import check_dense_size, coordinate_scale, scaled_distances
from .sparse import SparseSolution, solve_sparse

#: relative tolerance of the optimality certificate: the duality gap relative to the magnitudes
#: of the values' terms (docs/mathematics.md §3.5), the marginal violations relative to the
#: masses
CERT_TOL = 1e-9
#: peak resident memory of hkr_transport in dense (n, m) float64 arrays, as measured by
#: tests/test_memory.py: the distances during the solve, then the returned plan (the distances
#: are freed first; HKRResult.distances recomputes them on demand)
HKR_DENSE_COPIES = 1.05

Bounds = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass
class HKRResult:
    """The exact solution of an hKR problem.

    Attributes
    ----------
    loss : float
        min of the empirical hKR loss L over 1-Lipschitz f (docs/mathematics.md §1); equals
        ``-2 margin - primal_value``.
    plan : ndarray (n, m) or scipy.sparse.csr_array
        An optimal transport plan of the bounded-marginal primal (docs/mathematics.md §3); sparse
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
        The certified duality gap ``|(-2 margin - primal_value) - dual_value|`` relative to the
        sum of the magnitudes of the two values' terms (docs/mathematics.md §3.5): a
        dimensionless number, <= 1e-9 by the certificate, independent of the data's units,
        of lam, of the margin and of the weights' scale.
    method, seconds : str, float
        The solver that produced the plan and the wall time of the whole call.
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
        """The (n, m) distance matrix |x_i - z_j| (computed on first access: the solve frees
        its own copy before building the plan, so that a call holds one dense array at a
        time; for ``method == "sparse"`` never stored, and subject to the memory limit)."""
        return distance_matrix(self.problem)

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

    def html_rows(self) -> list[tuple[str, object]]:
        """The quantities :meth:`_repr_html_` shows, (name, value)."""
        pr = self.problem
        return [("positives n", pr.n), ("negatives m", pr.m), ("dimension d", pr.dim),
                ("lam", pr.lam), ("margin", pr.margin), ("prior p", pr.p),
                ("loss (min L)", float(self.loss)), ("mass moved", self.mass),
                ("extra mass (hinge)", self.extra_mass),
                ("primal value", float(self.primal_value)),
                ("dual value L(f)", float(self.dual_value)),
                ("certified relative gap", float(self.gap)), ("method", self.method),
                ("seconds", float(self.seconds))]

    def _repr_html_(self) -> str:
        """A table of the solution in notebooks."""
        from .._html import key_values
        return key_values(self.html_rows(), "hKR exact solution (HKRResult)")

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


def _certify(pr: Problem, D: np.ndarray, sol: BoundedSolution, f_pos: np.ndarray,
             f_neg: np.ndarray, bounds: Bounds) -> tuple[float, float, float, float]:
    """(primal value, dual value L(f), relative gap, relative violation) of a candidate in the
    units of ``pr`` (those of D).  f is 1-Lipschitz on the samples by construction (the
    c-transform), so a feasible plan and a small gap certify both as optimal: for every plan
    pi and 1-Lipschitz f, -2 m - <pi, d - 2 m> <= min L <= L(f).  The gap is relative to the
    magnitudes of the values' terms (:func:`.certificate.value_scale`, docs/mathematics.md
    §3.5); the marginal violation to the masses (:func:`.certificate.marginal_violation`)."""
    violation = marginal_violation(bounds, sol.row_sums, sol.col_sums,
                                   sol.flows.min(initial=0.0))
    dist = D[sol.rows, sol.cols]
    transported = float(np.dot(dist, sol.flows))
    primal = float(np.dot(dist - 2.0 * pr.margin, sol.flows))
    dual = pr.loss(f_pos, f_neg)
    scale = value_scale(pr, f_pos, f_neg, float(sol.flows.sum()), transported)
    gap = relative_gap(-2.0 * pr.margin - primal, dual, scale)
    return primal, dual, gap, violation


def _goes_sparse(method: str, pr: Problem) -> bool:
    """Whether ``method`` means column generation: ``"sparse"``, or ``"auto"`` when the dense
    solve's (n, m) arrays would exceed the memory limit."""
    if method != "auto":
        return method == "sparse"
    try:
        check_dense_size(pr.n, pr.m, copies=HKR_DENSE_COPIES)
    except MemoryLimitError:
        return True
    return False


_AUTO = " (chosen by 'auto': the dense problem does not fit in memory)"


def check_method_lam(pr: Problem, method: str, why: str = "") -> None:
    """``lam`` must lie in the range ``method`` resolves (:data:`.methods.LAM_MAX_BY_METHOD`)."""
    top = LAM_MAX_BY_METHOD[method]
    if pr.lam > top:
        best = max(LAM_MAX_BY_METHOD.values())
        raise InputError(f"lam: {pr.lam:g} is above {top:g}, the largest lam method {method!r}"
                         f"{why} solves to full accuracy; method 'netsimplex' takes lam up to "
                         f"{best:g}")


def _solve_sparse(pr: Problem, t0: float, progress: bool, scheduler: Any,
                  why: str = "") -> HKRResult:
    """Column generation on ``pr`` in normalised units (like the dense solve), certified."""
    check_method_lam(pr, "sparse", why)
    s = coordinate_scale(pr.x_pos, pr.x_neg)
    sol = solve_sparse(pr.transformed(scale=1.0 / s), progress=progress, scheduler=scheduler)
    return _sparse_result(pr, t0, sol, s)


def _sparse_result(pr: Problem, t0: float, sol: SparseSolution, s: float = 1.0) -> HKRResult:
    """The :class:`HKRResult` of a column-generation solution of ``pr`` solved in units of s,
    certified like the dense ones: the relative gap of the c-transformed potentials (1-Lipschitz
    on all pairs by the final full pricing pass) against the magnitudes of the values' terms,
    and the plan's marginal bounds."""
    unit = pr.transformed(scale=1.0 / s) if s != 1.0 else pr
    shift = optimal_shift(unit, sol.f_pos, sol.f_neg)
    f_pos, f_neg = sol.f_pos + shift, sol.f_neg + shift
    dual = unit.loss(f_pos, f_neg)
    plan = sol.plan
    gap = relative_gap(-2.0 * unit.margin - sol.primal, dual,
                       value_scale(unit, f_pos, f_neg, float(plan.sum()), sol.transported))
    viol = max(sol.violation, marginal_violation(
        unit.marginal_bounds(), np.asarray(plan.sum(axis=1)).reshape(-1),
        np.asarray(plan.sum(axis=0)).reshape(-1), plan.data.min(initial=0.0)))
    if not gap <= CERT_TOL or not viol <= CERT_TOL:
        raise SolverError(f"sparse: certificate failed (relative gap {gap:.2e}, violation "
                          f"{viol:.2e})")
    return _finite(HKRResult(loss=(-2.0 * unit.margin - sol.primal) * s, plan=sol.plan,
                             f_pos=f_pos * s, f_neg=f_neg * s, primal_value=sol.primal * s,
                             dual_value=dual * s, gap=gap, method="sparse",
                             seconds=time.perf_counter() - t0, problem=pr, info=sol.info()))


def _finite(res: HKRResult) -> HKRResult:
    """``res`` if its values are finite in the data's units; they overflow only when the
    solution itself exceeds the float64 range (e.g. min L = 2 margin lam min(p, 1 - p) for
    coinciding clouds), which is reported as a range error of the parameters."""
    with np.errstate(over="ignore", invalid="ignore"):
        values = (res.loss, res.primal_value, res.dual_value, float(np.max(np.abs(res.f_pos))),
                  float(np.max(np.abs(res.f_neg))))
    if not all(np.isfinite(values)):
        raise _overflow(res.problem)
    return res


def _overflow(pr: Problem) -> InputError:
    return InputError(f"margin, lam: the optimal loss or potential exceeds the largest float64 "
                      f"({np.finfo(float).max:.3g}) with margin={pr.margin:g}, lam={pr.lam:g}; "
                      "rescale the data and the margin")


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
        memory linear in n + m, see docs/sparse.md) when the dense problem would exceed the
        memory available (:func:`otreg.transport.objective.dense_limit_bytes`).
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
    if _goes_sparse(method, pr):
        return _solve_sparse(pr, t0, progress, scheduler, "" if method == "sparse" else _AUTO)
    check_method_lam(pr, method)
    check_dense_size(pr.n, pr.m, copies=HKR_DENSE_COPIES,
                     what="the dense hKR problem (distances, plan)")
    D, s, big = scaled_distances(pr.x_pos, pr.x_neg)
    unit = pr.transformed(scale=1.0 / s)  # the same problem in units of s (exact)
    bounds = pr.marginal_bounds()
    failures = []
    for name in (_choose_method(pr.n, pr.m) if method == "auto" else [method]):
        try:  # the library built D and the bounds: no second pass of checks; an InputError
            sol = solve_bounded(*bounds, D, method=name, offset=-2.0 * unit.margin,
                                validate=False)  # can only be an overflow
        except (SolverError, MemoryLimitError) as exc:
            failures.append(str(exc))
            continue
        except InputError:
            raise _overflow(pr) from None
        f_pos, f_neg = c_transform_clean(sol.u + unit.margin, -sol.v - unit.margin, D)
        shift = optimal_shift(unit, f_pos, f_neg)
        f_pos, f_neg = f_pos + shift, f_neg + shift
        primal, dual, gap, viol = _certify(unit, D, sol, f_pos, f_neg, bounds)
        if gap <= CERT_TOL and viol <= CERT_TOL:
            del D  # before the dense plan is built: one (n, m) array at a time
            return _result(pr, sol, s, big, f_pos, f_neg, primal, dual, gap, name, t0)
        failures.append(f"{name}: certificate failed (relative gap {gap:.2e}, violation "
                        f"{viol:.2e})")
    raise SolverError("no exact solver certified an optimum: " + "; ".join(failures))


def _result(pr: Problem, sol: BoundedSolution, s: float, big: float, f_pos: np.ndarray,
            f_neg: np.ndarray, primal: float, dual: float, gap: float, method: str,
            t0: float) -> HKRResult:
    """The certified solution in the data's units (values times s, exact)."""
    if not np.isfinite(big * s):
        raise InputError("x_pos, x_neg: some distances exceed the largest float64 "
                         f"({np.finfo(float).max:.3g}); rescale the data")
    with np.errstate(over="ignore"):
        return _finite(HKRResult(loss=(-2.0 * pr.margin / s - primal) * s, plan=sol.plan(),
                                 f_pos=f_pos * s, f_neg=f_neg * s, primal_value=primal * s,
                                 dual_value=dual * s, gap=gap, method=method,
                                 seconds=time.perf_counter() - t0, problem=pr))


def distance_matrix(pr: Problem) -> np.ndarray:
    """The problem's distances |x_i - z_j| in its own units (computed in normalised units and
    scaled back, so that neither the squares nor the sums over- or underflow)."""
    D, s, big = scaled_distances(pr.x_pos, pr.x_neg)
    if not np.isfinite(big * s):
        raise InputError("x_pos, x_neg: some distances exceed the largest float64 "
                         f"({np.finfo(float).max:.3g}); rescale the data")
    if s != 1.0:
        D *= s
    return D


def wasserstein1(x_pos: Any, x_neg: Any = None, a: Any = None, b: Any = None,
                 method: str = "auto", *, progress: bool = False, scheduler: Any = None) -> float:
    """Exact Wasserstein-1 distance (Euclidean ground cost) between the weighted clouds.

    Solved in normalised units (the points divided by a power of two near their extent, which
    is exact; the tolerances are relative), so the result is right to the same relative accuracy
    at every scale of the data.  Weights are normalised per class (uniform by default);
    ``x_pos`` may be a :class:`otreg.Problem` (its clouds and weights are used).

    ``method``: a dense solver of :func:`otreg.bounded_emd` (``"netsimplex"``, ``"pot"``,
    ``"highs"``), ``"sparse"`` (column generation, memory linear in n + m, certified like
    :func:`hkr_transport`) or ``"auto"`` (``"netsimplex"`` when the dense matrix fits under the
    memory limit, else ``"sparse"``); ``progress`` and ``scheduler`` as in
    :func:`hkr_transport`.
    """
    if method not in METHODS:
        raise InputError(f"method: expected one of {METHODS}, got {method!r}")
    # W1 has no margin: the smallest positive one stays below any data's range limit
    pr = as_problem(x_pos, x_neg, a=a, b=b,
                    margin=None if isinstance(x_pos, Problem) else np.finfo(np.float64).tiny)
    if _goes_sparse(method, pr):
        # lam = 0: loss = -2 margin - primal = -W1 for any margin; one far below the data's
        # extent keeps the cancellation in -2 margin - (W1 - 2 margin) at the rounding of W1
        kr = pr.with_params(lam=0.0, margin=coordinate_scale(pr.x_pos, pr.x_neg) * 2.0**-10)
        return -_solve_sparse(kr, time.perf_counter(), progress, scheduler).loss
    check_dense_size(pr.n, pr.m, copies=1, what="the distance matrix")
    D, s, _ = scaled_distances(pr.x_pos, pr.x_neg)
    wb = pr.b * (pr.a.sum() / pr.b.sum())
    dense = "netsimplex" if method == "auto" else method
    value = solve_bounded(pr.a, pr.a, wb, wb, D, method=dense, validate=False).value * s
    if not np.isfinite(value):
        raise InputError("x_pos, x_neg: W1 exceeds the largest float64; rescale the data")
    return float(value)
