"""``verify``: solve exactly, train (or take) a network, run every check, report.

The :class:`Report` keeps the objects (exact result, potentials, network) for plotting, and
serialises to JSON with the keys ``data``, ``params``, ``lp``, ``neural``, ``checks``.
"""
from __future__ import annotations

import json
import textwrap
import time
from dataclasses import dataclass, field

import numpy as np

from ..data.validate import make_problem
from . import checks as C


@dataclass
class Tolerances:
    """Every tolerance of :func:`verify` (see docs/verification.md for the reasoning).

    The first group holds for any exact LP optimum up to floating point; the second bounds how
    well a trained network must approximate it (calibrated on all toys with default settings,
    with a safety factor, and documented in the report's details).
    """

    lp: float = 1e-8                 # LP identities (relative to 1 + max d + 2m)
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
    problem: object
    result: object                     # exact HKRResult
    w1: float
    checks: list
    exact: object                      # Potential (extension of the exact solution)
    network: object | None = None      # Potential of the network (None without it)
    model: object | None = None        # the network model itself
    train_seconds: float | None = None
    net_lipschitz: dict | None = None
    seconds: dict = field(default_factory=dict)
    extension: str = "mcshane"

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failed(self) -> list:
        return [c.name for c in self.checks if not c.passed]

    def check(self, name: str):
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
            "checks": [c.to_dict() for c in self.checks],
            "passed": self.passed,
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

    def to_json(self, path=None, indent: int = 2) -> str:
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text + "\n")
        return text

    # ---------------------------------------------------------------- text
    def summary(self) -> str:
        pr, res = self.problem, self.result
        s = (f"n={pr.n} m={pr.m} d={pr.dim} lam={pr.lam:g} margin={pr.margin:g} p={pr.p:.3g} | "
             f"exact loss {res.loss:.6f}  W1 {self.w1:.6f}  mass moved {res.mass:.4f}  "
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
            lines.append(f"{c.name:<32}{'PASS' if c.passed else 'FAIL':<8}{fmt(c.value):>12}  "
                         f"{fmt(c.tolerance):>10}  {wrap[0]}")
            lines += [ind + w for w in wrap[1:]]
            for p in c.parts:
                pw = textwrap.wrap(p.detail, width=max(30, width - 66)) or [""]
                lines.append(f"  - {p.name[:28]:<28}{'ok' if p.passed else 'FAIL':<8}"
                             f"{fmt(p.value):>12}  {fmt(p.tolerance):>10}  {pw[0]}")
                lines += [ind + w for w in pw[1:]]
        n_fail = len(self.failed)
        lines.append("-" * min(width, 120))
        lines.append("ALL CHECKS PASSED" if n_fail == 0 else
                     f"{n_fail} CHECK(S) FAILED: {', '.join(self.failed)}")
        return "\n".join(lines)


def _head_detail(c) -> str:
    if not c.parts:
        return c.detail
    # details of the parts are printed on their own rows; keep the check's own preamble
    first = c.detail.split("[", 1)[0].strip()
    return first or f"{len(c.parts)} parts, all must pass"


#: training epochs used by :func:`verify` unless ``train_kwargs`` says otherwise (fit's own
#: default is tuned for speed; the network tolerances were calibrated with this many epochs)
DEFAULT_EPOCHS = 300


def verify(x_pos, x_neg, lam=1.0, margin=0.1, a=None, b=None, p=None, *, model=None,
           train_kwargs=None, seed: int = 0, neural: bool = True, extension: str = "mcshane",
           tolerances: Tolerances | None = None, w1_lams=(1e-1, 1e-2, 1e-3),
           n_test_points: int = 150, progress: bool = False) -> Report:
    """Solve the hKR problem exactly, train a 1-Lipschitz network (or use ``model``), and check
    the paper's properties on both (spec sections 5-7).

    ``model`` is anything with ``predict(points)`` and ``grad(points)`` (or a callable); with
    ``neural=False`` and no model, only the exact solution is checked.  ``train_kwargs`` go to
    :func:`otreg.nn.fit` (default ``epochs=300``).  Returns a :class:`Report` (``.table()``, ``.to_json()``, ``.passed``).
    """
    from ..transport import hkr_transport, wasserstein1

    tol = tolerances or Tolerances()
    rng = np.random.default_rng(seed)
    times = {}
    t0 = time.perf_counter()
    pr = make_problem(x_pos, x_neg, lam=lam, margin=margin, a=a, b=b, p=p)
    res = hkr_transport(pr.x_pos, pr.x_neg, lam=pr.lam, margin=pr.margin, a=a, b=b, p=p)
    w1 = wasserstein1(pr.x_pos, pr.x_neg, a, b)
    times["exact"] = time.perf_counter() - t0

    net = None
    train_seconds = None
    if model is not None:
        net = C.as_potential(model, "network")
    elif neural:
        from ..nn import fit

        kw = dict(seed=seed, progress=progress, epochs=DEFAULT_EPOCHS)
        kw.update(train_kwargs or {})
        t1 = time.perf_counter()
        tr = fit(pr.x_pos, pr.x_neg, lam=pr.lam, margin=pr.margin, a=a, b=b, p=p, **kw)
        train_seconds = float(tr.seconds)
        model = tr.model
        net = C.as_potential(model, "network")
        times["train"] = time.perf_counter() - t1
    if net is not None:
        net.name = "network"

    t2 = time.perf_counter()
    sol = C.Solution.from_result(res)
    exact = C.fast_exact_potential(res, extension)
    pots = {"exact": exact}
    if net is not None:
        pots["network"] = net
    out = [
        C.check_strong_duality(sol, tol.lp),
        C.check_complementary_slackness(sol, tol.lp),
        C.check_marginal_bounds(sol, tol.lp),
        C.check_hinge_slackness(sol, tol.hinge),
    ]
    lip = C.check_lipschitz(sol, pots, rng, tol.lp,
                            {"exact": tol.exact_lipschitz, "network": tol.net_lipschitz})
    out.append(lip)
    net_lip = None
    if net is not None:
        est = C.lipschitz_estimate(net, pr, np.random.default_rng(seed + 1))
        net_lip = {"max_pair_ratio": est["pairs"], "max_sample_pair_ratio": est["sample_pairs"],
                   "max_random_pair_ratio": est["random_pairs"], "max_grad_norm": est["grad"]}
    out.append(C.check_invariance(pr.x_pos, pr.x_neg, pr.lam, pr.margin, res.loss, a, b, p,
                                  seed=seed, tol=tol.lp))
    out.append(C.check_w1_limit(pr.x_pos, pr.x_neg, pr.margin, a, b, p, lams=w1_lams, w1=w1,
                                tol=tol.lp))

    # geometry
    rays, *_ = C.ray_points(sol, rng, k=400)
    cross, *_ = C.ray_points(sol, rng, k=max(40, n_test_points), crossing=True)
    cert_pts = C.certificate_points(pr, rng, k=n_test_points)
    grad_parts, cert_parts, tight_parts = [], [], []
    for name, pot in pots.items():
        is_net = name == "network"
        g = C.check_gradient_norm(pot, rays,
                                  min_norm=tol.net_grad_min_norm if is_net else 1 - 1e-6,
                                  min_fraction=tol.net_grad_fraction if is_net else 0.99,
                                  name=name)
        grad_parts.append(g)
        c, _ = C.check_certificate(pot, cert_pts, rng, tol=tol.certificate, name=name)
        cert_parts.append(c)
        ft = tol.net_tight_f if is_net else tol.exact_tightness
        dt = tol.net_tight_dist if is_net else tol.exact_tightness
        t = C.check_adversarial_tightness(pot, cross, None, rng, f_tol=ft, dist_tol=dt,
                                          min_abs_f=pr.margin / 2, name=name,
                                          median_tol=tol.net_tight_median if is_net else None)
        tight_parts.append(t)
    out.append(C._combine("gradient_norm", grad_parts,
                          "|grad f| on points of the exact transport rays."))
    out.append(C._combine("certificate", cert_parts))
    out.append(C._combine("adversarial_tightness", _flatten(tight_parts)))
    if net is not None:
        fp, fn = net(pr.x_pos), net(pr.x_neg)
        out.append(C.check_neural_gap(pr, res.loss, fp, fn, tol.neural_gap, tol.neural_below))
        out.append(C.check_potential_agreement(pr, res.f_pos, res.f_neg, fp, fn,
                                               tol.agreement_rms, tol.agreement_sign))
    times["checks"] = time.perf_counter() - t2
    times["total"] = time.perf_counter() - t0
    return Report(problem=pr, result=res, w1=w1, checks=out, exact=exact, network=net,
                  model=model, train_seconds=train_seconds, net_lipschitz=net_lip,
                  seconds=times, extension=extension)


def _flatten(parts):
    """Sub-checks of per-potential tightness checks, named 'potential: quantity'."""
    flat = []
    for p in parts:
        if p.parts:
            for q in p.parts:
                flat.append(C.Check(f"{'net' if p.name == 'network' else p.name}: {q.name}", q.passed, q.value, q.tolerance,
                                    q.detail))
        else:
            flat.append(p)
    return flat
