"""The outcome of a check: :class:`Check` (name, passed, value, tolerance, detail, parts).

``value`` is always the quantity compared with ``tolerance`` (the direction of the comparison
is in ``detail``), so that a table of checks reads as "measured vs allowed".  A check made of
parts (:func:`combine`) passes only if every part passes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Check", "combine"]


@dataclass
class Check:
    """The outcome of one check: ``passed`` iff ``value`` is within ``tolerance``."""

    name: str
    passed: bool
    value: float
    tolerance: float
    detail: str = ""
    parts: list[Check] = field(default_factory=list)
    #: measurements behind ``value`` (e.g. the Lipschitz estimates of a potential)
    data: dict[str, float] = field(default_factory=dict)

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
        if self.data:
            out["data"] = {k: _num(v) for k, v in self.data.items()}
        return out


def _num(x: float) -> float | str:
    x = float(x)
    return x if np.isfinite(x) else str(x)


def combine(name: str, parts: list[Check], detail: str = "") -> Check:
    """A check made of parts: passes iff all parts pass; value/tolerance of the worst part."""
    if not parts:
        return Check(name, False, float("nan"), float("nan"), "no part could be evaluated")
    worst = next((p for p in parts if not p.passed), None)
    if worst is None:
        worst = max(parts, key=lambda p: _ratio(p.value, p.tolerance))
    summary = "; ".join(f"[{p.name}] {p.detail}" for p in parts)
    return Check(name, all(p.passed for p in parts), worst.value, worst.tolerance,
                 (detail + " " if detail else "") + summary, parts)


def _ratio(value: float, tol: float) -> float:
    try:
        return abs(float(value)) / max(abs(float(tol)), 1e-300)
    except (TypeError, ValueError):
        return float("inf")

