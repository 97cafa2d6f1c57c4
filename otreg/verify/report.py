"""``verify``: solve exactly, train (or take) a network, run every check, report.

The :class:`Report` keeps the objects (exact result, potentials, network) for plotting, and
serialises to JSON with the keys ``data``, ``params``, ``lp``, ``neural``, ``checks``.
"""
from __future__ import annotations

import textwrap
import time
import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np

from ..data.io import json_text
from ..data.validate import as_int
from ..metrics import loss_scale
from ..errors import InputError
from ..nn import fit
from ..potential import Potential, as_potential
from ..problem import Problem, as_problem
from ..transport import ExtensionPotential, HKRResult, hkr_transport, wasserstein1
from .check import Check, combine, not_applicable
from .external import NOT_ONE_LIPSCHITZ, PotentialSummary, mark_fd, summarize_potential
from .html import report_html
from .geometry import (certificate_points, check_adversarial_tightness, check_certificate,
                       check_gradient_norm, position_rounding, ray_points)
from .neural import check_neural_gap, check_potential_agreement
from .optimality import (check_complementary_slackness, check_hinge_slackness, check_invariance,
                         check_lipschitz, check_marginal_bounds, check_strong_duality,
                         check_w1_limit, nearest_optimal_values)


@dataclass
class Tolerances:
    """Every tolerance of :func:`verify` (see docs/verification.md for the reasoning).

    The first group holds for any exact LP optimum up to floating point; the second bounds how
    well a trained network must approximate it (calibrated on all toys with default settings,
    with a safety factor, and documented in the report's details).
    """

    lp: float = 1e-8                 # LP identities (relative to max d + 2m, or S)
    hinge: float = 1e-6              # marginal vs. required bound (relative to a_i, b_j)
    exact_lipschitz: float = 1e-8    # excess over 1 of the exact extension's ratios/gradients
    certificate: float = 1e-6        # relative flip radius below |f|
    exact_tightness: float = 0.02    # exact extension: quantiles of |f(x')|/|f| and |x'-x|/dist-1
    net_lipschitz: float = 2e-3      # excess over 1 of the network's ratios / gradient norms
    net_grad_min_norm: float = 0.9   # |grad f| counted as "= 1" above this
    net_grad_fraction: float = 0.8   # fraction of transport-ray points with |grad f| >= above
    net_tight_f: float = 0.25        # 90% quantile of |f(x')| / |f(x)| for the network
    net_tight_dist: float = 0.25     # 90% quantile of | |x'-x|/dist - 1 | for the network
    net_tight_median: float = 0.05   # medians of both for the network
    neural_gap: float = 0.08         # L_net - L* <= this x (|L*| + 2m)
    neural_below: float = 1e-6       # L_net >= L* - this x (|L*| + 2m)
    agreement_rms: float = 0.25      # RMS(f_net - f*) / (std f* + m)
    agreement_sign: float = 0.9      # weighted sign agreement on the samples


@dataclass
class Report:
    """The outcome of :func:`verify`: the checks and the objects they looked at."""

    problem: Problem
    result: HKRResult
    w1: float
    checks: list[Check]
    exact: ExtensionPotential          # the exact solution's extension to R^d
    network: Potential | None = None   # the network as a potential (None without it)
    model: Any = None                  # the network model itself
    train_seconds: float | None = None
    net_lipschitz: dict[str, float] | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    extension: str = "mcshane"
    #: the potential under test measured first: Lipschitz constant (a lower bound) and gap
    potential: PotentialSummary | None = None

    @property
    def passed(self) -> bool:
        """No check failed (checks that could not be evaluated, n/a, are ignored)."""
        return not any(c.failed for c in self.checks)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.failed]

    @property
    def not_applicable(self) -> list[str]:
        """The checks that could not be evaluated on these data (their detail says why)."""
        return [c.name for c in self.checks if c.passed is None]

    @property
    def not_one_lipschitz(self) -> list[str]:
        """The checks not applicable to the potential under test because it is measured
        steeper than 1-Lipschitz (their other parts, e.g. the exact potential's, still run)."""
        return [c.name for c in self.checks if any(
            p.passed is None and p.detail.startswith(NOT_ONE_LIPSCHITZ) for p in [c, *c.parts])]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        pr, res = self.problem, self.result
        out = {
            "data": {"n_pos": pr.n, "n_neg": pr.m, "dim": pr.dim},
            "params": {"lam": pr.lam, "margin": pr.margin, "p": pr.p,
                       "extension": self.extension},
            "lp": {
                "loss": float(res.loss), "w1": float(self.w1), "mass": float(res.mass),
                "primal_value": float(res.primal_value), "dual_value": float(res.dual_value),
                "method": res.method, "seconds": float(res.seconds),
                "f_pos": np.asarray(res.f_pos).tolist(), "f_neg": np.asarray(res.f_neg).tolist(),
            },
            "neural": None,
            "potential": None if self.potential is None else self.potential.to_dict(),
            "checks": [c.to_dict() for c in self.checks],
            "passed": self.passed,
            "not_applicable": self.not_applicable,
            "seconds": self.seconds,
        }
        if self.network is not None:
            fp, fn = self.network(pr.x_pos), self.network(pr.x_neg)
            out["neural"] = {
                "loss": pr.loss(fp, fn),
                "f_pos": fp.tolist(), "f_neg": fn.tolist(),
                "lipschitz_estimate": self.net_lipschitz,
                "train_seconds": self.train_seconds,
            }
        return out

    def to_json(self, path: Any = None, indent: int = 2) -> str:
        text = json_text(self.to_dict(), "report", nan_as_null=True, indent=indent)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    def _repr_html_(self) -> str:
        """The report as HTML tables in notebooks (:func:`otreg.verify.html.report_html`)."""
        return report_html(self)

    # ---------------------------------------------------------------- text
    def summary(self) -> str:
        pr, res = self.problem, self.result
        s = "".join(line + "\n" for line in (self.potential.lines() if self.potential else []))
        s += (f"{pr.describe()} | exact loss {res.loss:.6f}  W1 {self.w1:.6f}  "
             f"mass moved {res.mass:.4f}  "
             f"({res.method}, {res.seconds:.2f}s)")
        if self.network is not None:
            d = self.to_dict()["neural"]
            s += f"\nnetwork loss {d['loss']:.6f} (gap {d['loss'] - res.loss:+.2e})"
            s += (f", trained in {self.train_seconds:.1f}s" if self.train_seconds is not None
                  else " (given model)")
        return s

    def table(self, width: int = 110) -> str:
        head = f"{'check':<32}{'result':<8}{'value':>12}  {'tolerance':>10}  detail"
        lines = [self.summary(), head, "-" * min(width, 120)]
        ind = " " * 66

        def fmt(x):
            return f"{x:.3g}" if isinstance(x, (int, float)) and np.isfinite(x) else str(x)

        for c in self.checks:
            wrap = textwrap.wrap(_head_detail(c), width=max(30, width - 66)) or [""]
            lines.append(f"{c.name:<32}{c.status:<8}{fmt(c.value):>12}  "
                         f"{fmt(c.tolerance):>10}  {wrap[0]}")
            lines += [ind + w for w in wrap[1:]]
            for p in c.parts:
                pw = textwrap.wrap(p.detail, width=max(30, width - 66)) or [""]
                lines.append(f"  - {p.name[:28]:<28}{_part_status(p):<8}"
                             f"{fmt(p.value):>12}  {fmt(p.tolerance):>10}  {pw[0]}")
                lines += [ind + w for w in pw[1:]]
        n_fail = len(self.failed)
        lines.append("-" * min(width, 120))
        na = self.not_applicable
        lines.append(("ALL CHECKS PASSED" if not na else "ALL EVALUATED CHECKS PASSED")
                     if n_fail == 0 else f"{n_fail} CHECK(S) FAILED: {', '.join(self.failed)}")
        if self.not_one_lipschitz:
            lines.append("not applicable to the potential under test, which is not 1-Lipschitz "
                         f"(its parts are n/a): {', '.join(self.not_one_lipschitz)}")
        if na:
            lines.append(f"{len(na)} check(s) not applicable (n/a, see their "
                         f"detail): {', '.join(na)}")
        return "\n".join(lines)


def _part_status(p: Check) -> str:
    return "n/a" if p.passed is None else ("ok" if p.passed else "FAIL")


def _head_detail(c: Check) -> str:
    marks = "".join(f"({m}) " for m in c.marks)
    if not c.parts:
        return c.detail if c.detail.startswith("[") else marks + c.detail
    # details of the parts are printed on their own rows; keep the check's own preamble
    first = c.detail.split("[", 1)[0].strip()
    return marks + (first or f"{len(c.parts)} parts, all must pass")


#: training epochs used by :func:`verify` unless ``train_kwargs`` says otherwise; None: the
#: defaults of :func:`otreg.nn.fit` (a step budget chosen from the data, stop on a plateau of
#: the loss), with which the network tolerances were calibrated
DEFAULT_EPOCHS = None


class _Run:
    """What the checks of one :func:`verify` call share: the problem, the exact result, the
    potentials under test (``"exact"`` and, with a network, ``"network"``), the tolerances,
    and test points drawn once.  Each check draws from its own generator, seeded by ``seed``
    and its name, so results do not depend on which checks run or in which order."""

    def __init__(self, result: HKRResult, w1: float, potentials: dict[str, Potential],
                 tol: Tolerances, seed: int, w1_lams: tuple[float, ...], n_test_points: int):
        self.problem, self.result, self.w1 = result.problem, result, w1
        self.potentials, self.tol, self.seed = potentials, tol, seed
        self.w1_lams, self.n_test_points = w1_lams, n_test_points

    @cached_property
    def lipschitz(self) -> Check:
        """The lipschitz check, made once: the other checks read the network's measured
        constant from it (:attr:`summary`)."""
        t = self.tol
        c = check_lipschitz(self.result, self.potentials, self.rng("lipschitz"), t.lp,
                            {"exact": t.exact_lipschitz, "network": t.net_lipschitz})
        for part in c.parts:
            if part.name in self.potentials:
                mark_fd(part, self.potentials[part.name])
        return combine(c.name, c.parts)

    @cached_property
    def summary(self) -> PotentialSummary | None:
        """The network's measured Lipschitz constant and gap (None without a network)."""
        if self.network is None:
            return None
        est = next(p for p in self.lipschitz.parts if p.name == "network").data
        return summarize_potential(self.problem, self.result.loss, self.network, est,
                                   self.tol.net_lipschitz)

    def gated(self, check: Check, net: bool) -> Check:
        """A network's part of a check that assumes 1-Lipschitz: n/a if the measured constant
        says it is not (docs/verification.md §1.3), marked if made on an FD gradient."""
        return self.summary.gate(check) if net else check

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode())])

    @property
    def network(self) -> Potential | None:
        return self.potentials.get("network")

    @cached_property
    def rays(self) -> np.ndarray:
        return ray_points(self.result, self.rng("rays"), k=400,
                          min_length=position_rounding(self.problem))[0]

    @cached_property
    def crossing_rays(self) -> np.ndarray:
        return ray_points(self.result, self.rng("crossing rays"), k=max(40, self.n_test_points),
                          crossing=True, min_length=position_rounding(self.problem))[0]

    @cached_property
    def network_unresolved(self) -> str | None:
        """Why the network's slope along the transport rays is not constrained, or None.

        The loss of a network within the ``neural_gap`` tolerance G of the optimum may fall
        short of the optimal transport value by up to G; when the whole transport cost
        sum(plan * d) is below G (rays far shorter than the loss resolution, e.g. classes
        1e-12 apart), even a network constant along every ray passes, so |grad f| = 1 on the
        rays cannot be asked of it."""
        res, t = self.result, self.tol
        moved = float(np.sum(res.plan * res.distances))
        allowed = t.neural_gap * loss_scale(res.loss, self.problem.margin)
        if moved > allowed:
            return None
        return (f"the transport cost sum(plan x d) = {moved:.3g} is below the network's loss "
                f"tolerance {allowed:.3g} (neural_gap), so the loss does not constrain the "
                "network's slope along the rays")

    def per_potential(self, name: str, one: Callable[[str, Potential, bool], Check],
                      detail: str = "") -> Check:
        """A check with one part per potential: ``one(name, potential, is_network)``."""
        return combine(name, [one(key, pot, key == "network")
                              for key, pot in self.potentials.items()], detail)


def _lipschitz(run: _Run) -> Check:
    return run.lipschitz


def _gradient_norm(run: _Run) -> Check:
    t = run.tol

    def one(name, pot, net):
        if net and run.summary.reason():
            return run.gated(Check(name, None, float("nan"), t.net_grad_fraction), net)
        if net and run.network_unresolved:
            return not_applicable(name, run.network_unresolved, t.net_grad_fraction)
        return mark_fd(check_gradient_norm(pot, run.rays,
                                           min_norm=t.net_grad_min_norm if net else 1 - 1e-6,
                                           min_fraction=t.net_grad_fraction if net else 0.99,
                                           name=name), pot)

    return run.per_potential("gradient_norm", one,
                             "|grad f| on points of the exact transport rays.")


def _certificate(run: _Run) -> Check:
    points = certificate_points(run.problem, run.rng("certificate points"), run.n_test_points)
    def one(name, pot, net):
        if net and run.summary.reason():
            return run.gated(Check(name, None, float("nan"), run.tol.certificate), net)
        return check_certificate(pot, points, run.rng(f"certificate {name}"),
                                 tol=run.tol.certificate, name=name)[0]

    return run.per_potential("certificate", one)


def _adversarial_tightness(run: _Run) -> Check:
    t = run.tol

    def one(name, pot, net):
        if net and run.summary.reason():
            return run.gated(Check(name, None, float("nan"), t.net_tight_f), net)
        if net and run.network_unresolved and len(run.crossing_rays):
            return not_applicable(name, run.network_unresolved, t.net_tight_f)
        return mark_fd(check_adversarial_tightness(
            pot, run.crossing_rays, None, run.rng(f"tightness {name}"),
            f_tol=t.net_tight_f if net else t.exact_tightness,
            dist_tol=t.net_tight_dist if net else t.exact_tightness,
            min_abs_f=run.problem.margin / 2, name=name,
            median_tol=t.net_tight_median if net else None), pot)

    per = run.per_potential("adversarial_tightness", one)
    return combine(per.name, [Check(f"{'net' if p.name == 'network' else p.name}: {q.name}",
                                    q.passed, q.value, q.tolerance, q.detail, marks=p.marks)
                              for p in per.parts for q in (p.parts or [p])])


def _neural_gap(run: _Run) -> Check:
    """The loss gap as a distance to the optimum: its lower bound is a theorem for 1-Lipschitz
    potentials only, so a potential measured steeper gets n/a (its gap is in the summary)."""
    t = run.tol
    return run.gated(check_neural_gap(run.problem, run.result.loss, *_network_values(run),
                                      t.neural_gap, t.neural_below), True)


def _network_values(run: _Run) -> tuple[np.ndarray, np.ndarray]:
    return run.network(run.problem.x_pos), run.network(run.problem.x_neg)


def _potential_agreement(run: _Run) -> Check:
    """The network against the exact potential on the samples — against the nearest optimal
    values (:func:`nearest_optimal_values`) on data with few distinct points, where the optimum
    is often not unique (e.g. each class at one location)."""
    pr, res, t = run.problem, run.result, run.tol
    net_pos, net_neg = _network_values(run)
    fe = np.concatenate([res.f_pos, res.f_neg])
    near = nearest_optimal_values(pr, float(res.loss), np.concatenate([net_pos, net_neg]))
    note = ""
    if near is not None:
        w = pr.weights
        spread = float(np.sqrt(w @ (fe - w @ fe) ** 2)) + pr.margin
        moved = fe - near - (float(w @ (fe - near)) if pr.lam == 0 else 0.0)
        if float(np.sqrt(w @ moved ** 2)) > 1e-3 * spread:
            note = ("The optimal potential is not unique on these data: the network is "
                    "compared with the nearest optimal values (RMS distance "
                    f"{float(np.sqrt(w @ moved ** 2)):.3g} from the solver's optimum). ")
        fe = near
    c = check_potential_agreement(pr, fe[:pr.n], fe[pr.n:], net_pos, net_neg,
                                  t.agreement_rms, t.agreement_sign)
    c.detail = note + c.detail
    return c


#: every check of :func:`verify`, in report order: (name, function of the run, needs a network)
CHECKS: tuple[tuple[str, Callable[[_Run], Check], bool], ...] = (
    ("strong_duality", lambda run: check_strong_duality(run.result, run.tol.lp), False),
    ("complementary_slackness",
     lambda run: check_complementary_slackness(run.result, run.tol.lp), False),
    ("marginal_bounds", lambda run: check_marginal_bounds(run.result, run.tol.lp), False),
    ("hinge_slackness", lambda run: check_hinge_slackness(run.result, run.tol.hinge), False),
    ("lipschitz", _lipschitz, False),
    ("invariance", lambda run: check_invariance(run.problem, run.result.loss, seed=run.seed,
                                                tol=run.tol.lp), False),
    ("w1_limit", lambda run: check_w1_limit(run.problem, lams=run.w1_lams, w1=run.w1,
                                            tol=run.tol.lp), False),
    ("gradient_norm", _gradient_norm, False),
    ("certificate", _certificate, False),
    ("adversarial_tightness", _adversarial_tightness, False),
    ("neural_gap", _neural_gap, True),
    ("potential_agreement", _potential_agreement, True),
)
#: the names of :data:`CHECKS`, in report order
CHECK_NAMES: tuple[str, ...] = tuple(name for name, _, _ in CHECKS)


#: the 1-Lipschitz extensions of the exact potential (:meth:`otreg.HKRResult.extension`)
EXTENSIONS = ("mcshane", "whitney", "mean")


def _network_potential(model: Any, pr: Problem, gradient: Any = None,
                       what: str = "model") -> Potential:
    """The model as a potential, checked once on the samples: a model for other data (another
    dimension, several outputs) or one whose values are not finite is refused here, naming
    ``model``, rather than failing inside a check.  Without a gradient, finite differences
    take their step from the data's scale (:func:`otreg.potential.fd_gradient`)."""
    if gradient is not None and not callable(gradient):
        raise InputError(f"gradient: expected a callable on (n, d) arrays, got "
                         f"{type(gradient).__name__}")
    net = as_potential(model, "network", gradient, what)
    if net.fd and net is not model:
        centred = pr.samples - pr.samples.mean(axis=0)
        net.scale = float(np.sqrt(np.mean(np.sum(centred ** 2, axis=1)))) or 1.0
    net.name = "network"
    try:
        vals = net(pr.x_pos[:2])
    except InputError as exc:
        raise InputError(f"{what}: cannot be evaluated on the data (d={pr.dim}): {exc}") from None
    except Exception as exc:  # the user's function failed on the samples (e.g. IndexError)
        raise InputError(f"{what}: cannot be evaluated on the data (d={pr.dim}): "
                         f"{type(exc).__name__}: {exc}") from None
    if vals.shape != (min(2, pr.n),):
        raise InputError(f"{what}: expected one value per point, got shape {vals.shape} for "
                         f"{min(2, pr.n)} points (a multi-output network?)")
    if not np.all(np.isfinite(vals)):
        raise InputError(f"{what}: returns NaN or infinite values on the data")
    return net


def verify(x_pos: Any, x_neg: Any = None, lam: float | None = None, margin: float | None = None,
           a: Any = None, b: Any = None, p: float | None = None, *, model: Any = None,
           potential: Any = None, gradient: Any = None, train_kwargs: dict | None = None,
           seed: int = 0, neural: bool = True,
           extension: str = "mcshane", tolerances: Tolerances | None = None,
           w1_lams: tuple[float, ...] = (1e-1, 1e-2, 1e-3), n_test_points: int = 150,
           progress: bool = False) -> Report:
    """Solve the hKR problem exactly, train a 1-Lipschitz network (or use ``model``), and check
    the paper's properties on both (docs/mathematics.md §7-§9; the list is :data:`CHECKS`).

    The data are those of :func:`otreg.hkr_transport` (``x_pos`` may be a
    :class:`otreg.Problem`).  ``potential`` (or its synonym ``model``) is the function under
    test, trained by otreg or not: any callable on (n, d) arrays returning (n,) values, an
    object with ``predict``/``grad`` or ``value``/``gradient``, or an imported network
    (:func:`otreg.nn.from_onnx`); ``gradient`` is its gradient (n, d) if it has none, else
    finite differences are used and the checks made on them are marked ``FD gradient``.  The
    report first states its measured Lipschitz constant (a lower bound) and loss gap to the
    exact optimum; the checks that assume 1-Lipschitz are n/a when the constant exceeds
    1 + ``tolerances.net_lipschitz`` (docs/verification.md §1).  With ``neural=False`` and no
    potential, only the exact solution is checked; with neither, a network is trained
    (``train_kwargs`` go to :func:`otreg.nn.fit`).  Returns a :class:`Report` (``.table()``,
    ``.to_json()``, ``.passed``).
    """
    if potential is not None and model is not None:
        raise InputError("potential: give either potential or model (synonyms), not both")
    model = potential if potential is not None else model
    if gradient is not None and model is None:
        raise InputError("gradient: given without a potential")
    tol = tolerances or Tolerances()
    times = {}
    t0 = time.perf_counter()
    pr = as_problem(x_pos, x_neg, lam, margin, a, b, p)
    seed = as_int(seed, "seed")
    if extension not in EXTENSIONS:
        raise InputError(f"extension: expected one of {EXTENSIONS}, got {extension!r}")
    res = hkr_transport(pr)
    w1 = wasserstein1(pr)
    times["exact"] = time.perf_counter() - t0

    train_seconds = None
    if model is None and neural:
        t1 = time.perf_counter()
        tr = fit(pr, **{"seed": seed, "progress": progress, "epochs": DEFAULT_EPOCHS,
                        **(train_kwargs or {})})
        model, train_seconds = tr.model, float(tr.seconds)
        times["train"] = time.perf_counter() - t1
    exact = res.extension(extension)
    potentials: dict[str, Potential] = {"exact": exact}
    net = None
    if model is not None:
        label = getattr(model, "name", None) or getattr(model, "__name__", None) \
            or type(model).__name__
        net = _network_potential(model, pr, gradient,
                                 "potential" if potential is not None else "model")
        potentials["network"] = net

    t2 = time.perf_counter()
    run = _Run(res, w1, potentials, tol, seed, tuple(w1_lams), n_test_points)
    checks = [fn(run) for name, fn, needs_net in CHECKS if net is not None or not needs_net]
    net_lip = None
    if net is not None:
        est = next(p for p in checks[CHECK_NAMES.index("lipschitz")].parts
                   if p.name == "network").data
        net_lip = {"max_pair_ratio": est["pairs"], "max_sample_pair_ratio": est["sample_pairs"],
                   "max_random_pair_ratio": est["random_pairs"], "max_grad_norm": est["grad"]}
        net_lip = {k: (float(v) if np.isfinite(v) else None) for k, v in net_lip.items()}
        const = run.summary.constant
        net_lip["constant_lower_bound"] = float(const) if np.isfinite(const) else None
        run.summary.name = str(label)
    times["checks"] = time.perf_counter() - t2
    times["total"] = time.perf_counter() - t0
    return Report(problem=pr, result=res, w1=w1, checks=checks, exact=exact, network=net,
                  model=model, train_seconds=train_seconds, net_lipschitz=net_lip,
                  seconds=times, extension=extension, potential=run.summary)
