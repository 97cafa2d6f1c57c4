"""The outcome of a check: :class:`Check` (name, passed, value, tolerance, detail, parts).

``value`` is always the quantity compared with ``tolerance`` (the direction of the comparison
is in ``detail``), so that a table of checks reads as "measured vs allowed".  A check made of
parts (:func:`combine`) passes only if every part that could be evaluated passes.

A check that cannot be evaluated on the data at hand — a property about transport rays when
all mass moves between coincident points, a tightness test when no point is far enough from
the boundary — is *not applicable*: ``passed is None`` (``"passed": null`` in JSON, "n/a" in
the table), its ``detail`` says why, and it counts neither as passed nor as failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Check", "combine", "not_applicable"]


@dataclass
class Check:
    """The outcome of one check: ``passed`` iff ``value`` is within ``tolerance``; ``None``
    when the check could not be evaluated (see :func:`not_applicable`)."""

    name: str
    passed: bool | None
    value: float
    tolerance: float
    detail: str = ""
    parts: list[Check] = field(default_factory=list)
    #: measurements behind ``value`` (e.g. the Lipschitz estimates of a potential)
    data: dict[str, float] = field(default_factory=dict)
    #: how the check was made, when the reader must know it (e.g. ``"FD gradient"``: on a
    #: gradient from finite differences); a combined check carries the marks of its parts
    marks: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``"PASS"``, ``"FAIL"`` or ``"n/a"``."""
        return "n/a" if self.passed is None else ("PASS" if self.passed else "FAIL")

    @property
    def failed(self) -> bool:
        """Evaluated and not passed (an n/a check has not failed)."""
        return self.passed is False

    def to_dict(self) -> dict:
        out = {
            "name": self.name,
            "passed": None if self.passed is None else bool(self.passed),
            "value": _num(self.value),
            "tolerance": _num(self.tolerance),
            "detail": self.detail,
        }
        if self.parts:
            out["parts"] = [p.to_dict() for p in self.parts]
        if self.data:
            out["data"] = {k: _num(v) for k, v in self.data.items()}
        if self.marks:
            out["marks"] = list(self.marks)
        return out


def not_applicable(name: str, reason: str, tolerance: float = float("nan")) -> Check:
    """A check that cannot be evaluated on these data; ``reason`` says why."""
    return Check(name, None, float("nan"), tolerance, f"n/a: {reason}")


def _num(x: float) -> float | str:
    x = float(x)
    return x if np.isfinite(x) else str(x)


def combine(name: str, parts: list[Check], detail: str = "") -> Check:
    """A check made of parts: passes iff every evaluated part passes; value/tolerance of the
    worst evaluated part.  Parts that are n/a are ignored; if all are, the check is n/a."""
    evaluated = [p for p in parts if p.passed is not None]
    summary = "; ".join(f"[{p.name}] {p.detail}" for p in parts)
    full = (detail + " " if detail else "") + summary
    marks = tuple(dict.fromkeys(m for p in parts for m in p.marks))
    if not evaluated:
        return Check(name, None, float("nan"), float("nan"),
                     full if parts else "n/a: no part could be evaluated", parts, marks=marks)
    worst = next((p for p in evaluated if not p.passed), None)
    if worst is None:
        worst = max(evaluated, key=lambda p: _ratio(p.value, p.tolerance))
    return Check(name, all(p.passed for p in evaluated), worst.value, worst.tolerance, full,
                 parts, marks=marks)


def _ratio(value: float, tol: float) -> float:
    try:
        return abs(float(value)) / max(abs(float(tol)), 1e-300)
    except (TypeError, ValueError):
        return float("inf")
