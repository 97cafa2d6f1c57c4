"""The :class:`otreg.verify.Report` as HTML tables for notebooks: the potential under test
first (measured Lipschitz constant, gap), then the exact solution, then every check with its
parts (escaped text, numbers to 6 significant digits)."""
from __future__ import annotations

from typing import Any

from .._html import key_values, table

STATUS_STYLE = {"PASS": "background:#e6f4ea", "ok": "background:#e6f4ea",
                "FAIL": "background:#fce8e6", "n/a": "background:#f1f3f4"}


def potential_rows(summary: Any) -> list[tuple[str, Any]]:
    """(quantity, value) rows of a :class:`otreg.verify.external.PotentialSummary`."""
    return [
        ("potential", summary.name),
        ("Lipschitz constant L (measured lower bound)", summary.constant),
        ("  largest slope over sample and random pairs", summary.pairs),
        ("  largest slope along the gradient", summary.gradient_search),
        ("  max |grad f|" + (" (FD gradient)" if summary.fd_gradient else ""), summary.grad),
        ("1-Lipschitz (L <= 1 + tol)", summary.one_lipschitz),
        ("tolerance", summary.tolerance),
        ("loss L(f)", summary.loss), ("exact optimum L*", summary.exact_loss),
        ("gap (L - L*)/(|L*| + 2m)", summary.gap), ("gap (L - L*)/|L*|", summary.gap_rel),
        ("gap of f / L", summary.scaled_gap),
    ]


def check_rows(checks: list) -> tuple[list[tuple], list[str]]:
    """(name, result, value, tolerance, marks, detail) rows, parts indented under their check,
    and a background style per row."""
    rows, styles = [], []
    for c in checks:
        rows.append((c.name, c.status, c.value, c.tolerance, ", ".join(c.marks),
                     c.detail.split("[", 1)[0].strip() if c.parts else c.detail))
        styles.append(STATUS_STYLE[c.status])
        for p in c.parts:
            status = "n/a" if p.passed is None else ("ok" if p.passed else "FAIL")
            rows.append((f"  - {p.name}", status, p.value, p.tolerance, ", ".join(p.marks),
                         p.detail))
            styles.append(STATUS_STYLE[status])
    return rows, styles


def report_html(report: Any) -> str:
    """The whole report: potential summary, exact solution, checks, verdict."""
    parts = []
    if report.potential is not None:
        parts.append(key_values(potential_rows(report.potential),
                                "potential under test (the constant is a lower bound)"))
    res = report.result
    parts.append(key_values([("problem", report.problem.describe()), ("exact loss L*", res.loss),
                             ("W1", report.w1), ("mass moved", res.mass),
                             ("method", res.method)], "exact solution"))
    rows, styles = check_rows(report.checks)
    parts.append(table(rows, ("check", "result", "value", "tolerance", "marks", "detail"),
                       "checks", styles))
    verdict = ("all evaluated checks passed" if report.passed
               else f"{len(report.failed)} check(s) failed: {', '.join(report.failed)}")
    if report.not_one_lipschitz:
        verdict += ("; not applicable to the potential, which is not 1-Lipschitz: "
                    + ", ".join(report.not_one_lipschitz))
    if report.not_applicable:
        verdict += f"; not applicable: {', '.join(report.not_applicable)}"
    parts.append(table([(verdict,)], None, "verdict"))
    return "<div>" + "\n".join(parts) + "</div>"
