"""The potential under test, measured before it is checked: its Lipschitz constant and its
loss gap to the exact optimum (docs/verification.md §1).

A potential that otreg did not train (a PyTorch network imported from ONNX, any callable) is
not 1-Lipschitz by construction, and the checks whose meaning rests on that property — the
robustness certificate, the tightness of the one-step attack, |grad f| = 1 on transport rays,
the loss gap as a distance to the optimum — say "not applicable" for it when its measured
constant exceeds 1 + tolerance, instead of passing or failing on a property it lacks.
"""
from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass

import numpy as np

from ..metrics import loss_scale
from ..problem import Problem
from .check import Check, not_applicable

#: the mark of a check made on a finite-difference gradient
FD_MARK = "FD gradient"
#: how the detail of a check that does not apply to a steeper potential begins
NOT_ONE_LIPSCHITZ = "not applicable: the potential is not 1-Lipschitz"


@dataclass
class PotentialSummary:
    """What the report states first about the potential under test.

    ``constant`` is a *lower bound* of the Lipschitz constant (the largest slope found over
    sample pairs, random pairs and along the gradient; ``grad`` is the largest |grad f| seen);
    ``gap`` is (L(f) - L*) / (|L*| + 2 margin) and ``gap_rel`` (L(f) - L*) / |L*|, L* the exact
    optimum; ``scaled_gap`` is the gap of f / constant (1-Lipschitz as far as measured)."""

    name: str
    constant: float
    pairs: float
    gradient_search: float
    grad: float
    tolerance: float
    fd_gradient: bool
    loss: float
    exact_loss: float
    gap: float
    gap_rel: float
    scaled_gap: float

    @property
    def one_lipschitz(self) -> bool:
        """Measured constant within 1 + ``tolerance`` (a lower bound: this can be refuted,
        never proved, by sampling)."""
        return bool(self.constant <= 1.0 + self.tolerance)

    def reason(self) -> str | None:
        """Why checks assuming 1-Lipschitz do not apply, or None when they do."""
        if self.one_lipschitz:
            return None
        return (f"{NOT_ONE_LIPSCHITZ} (measured L = {self.constant:.4g} > 1 + "
                f"{self.tolerance:g}, a lower bound)")

    def gate(self, check: Check) -> Check:
        """``check`` if the potential is 1-Lipschitz, else the same check marked n/a."""
        reason = self.reason()
        if reason is None:
            return check
        c = not_applicable(check.name, reason.removeprefix("not applicable: "), check.tolerance)
        c.detail = reason
        return c

    def to_dict(self) -> dict:
        out = {k: (float(v) if isinstance(v, (float, np.floating)) and np.isfinite(v)
                   else (None if isinstance(v, float) else v)) for k, v in asdict(self).items()}
        out["one_lipschitz"] = self.one_lipschitz
        out["lower_bound"] = True
        return out

    def lines(self, width: int = 110) -> list[str]:
        """The report's first lines (wrapped at ``width``)."""
        grad = f"max |grad f| {self.grad:.4g}" + (f" ({FD_MARK})" if self.fd_gradient else "")
        verdict = ("1-Lipschitz within tolerance: every check applies" if self.one_lipschitz
                   else "NOT 1-Lipschitz: checks that assume it are not applicable")
        text = [
            f"potential under test ({self.name}): measured Lipschitz constant L >= "
            f"{self.constant:.6g} (a lower bound: largest slope over sample pairs "
            f"{self.pairs:.6g} and along the gradient {self.gradient_search:.6g}; {grad}) -- "
            f"{verdict} (tolerance 1 + {self.tolerance:g})",
            f"loss L(f) = {self.loss:.6g}, exact optimum L* = {self.exact_loss:.6g}: gap "
            f"(L - L*)/(|L*| + 2m) = {self.gap:+.3%}  [(L - L*)/|L*| = {self.gap_rel:+.3%}]"
            + ("" if self.one_lipschitz else
               f"; f / {self.constant:.4g} has gap {self.scaled_gap:+.3%}"),
        ]
        return [w for t in text for w in textwrap.wrap(t, width, subsequent_indent="    ")]


def summarize_potential(problem: Problem, exact_loss: float, potential, estimate: dict,
                        tolerance: float) -> PotentialSummary:
    """The :class:`PotentialSummary` of ``potential`` from its Lipschitz ``estimate``
    (:func:`otreg.verify.lipschitz_estimate`)."""
    fp, fn = potential(problem.x_pos), potential(problem.x_neg)
    loss = problem.loss(fp, fn)
    const = float(estimate["constant"])
    scale = loss_scale(exact_loss, problem.margin)
    k = const if np.isfinite(const) and const > 0 else 1.0
    scaled = problem.loss(fp / k, fn / k)
    return PotentialSummary(
        name=potential.name, constant=const, pairs=float(estimate["pairs"]),
        gradient_search=float(estimate["gradient_search"]), grad=float(estimate["grad"]),
        tolerance=tolerance, fd_gradient=bool(getattr(potential, "fd", False)), loss=loss,
        exact_loss=float(exact_loss), gap=(loss - exact_loss) / scale,
        gap_rel=(loss - exact_loss) / abs(exact_loss) if exact_loss else float("nan"),
        scaled_gap=(scaled - exact_loss) / scale)


def mark_fd(check: Check, potential) -> Check:
    """``check`` marked as made on a finite-difference gradient when ``potential``'s is one."""
    if getattr(potential, "fd", False) and check.passed is not None:
        check.marks = tuple(dict.fromkeys(check.marks + (FD_MARK,)))
        check.detail = f"[{FD_MARK}] {check.detail}"
    return check
