"""Summaries of a sweep table: means and standard deviations over seeds, and the markdown
table of the robustness / accuracy trade-off."""
from __future__ import annotations

import math
import os
from typing import Any, Iterable

import numpy as np

from .grid import Row
from .tables import dedupe_rows, order_columns, read_table

__all__ = ["summarize", "trade_off_table"]


def _finite(values: Iterable) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def summarize(table: Any, metrics: list[str] | None = None,
              by: tuple[str, ...] = ("data", "neural", "margin", "n", "lam")) -> list[Row]:
    """Mean and standard deviation over seeds (one row per combination, see
    :func:`dedupe_rows`; rows with an error are left out).

    Returns one dict per group (sorted) with the ``by`` columns, ``runs`` (rows averaged) and
    ``<metric>_mean`` / ``<metric>_std`` (population std; 0 for a single seed).  ``metrics``
    default to the accuracy columns, ``loss`` and ``mass``.
    """
    rows = read_table(table) if isinstance(table, (str, os.PathLike)) else dedupe_rows(table)
    rows = [r for r in rows if not r.get("error")]
    if metrics is None:
        cols = order_columns([c for r in rows for c in r])
        metrics = ["loss", "mass"] + [c for c in cols if "acc_" in c]
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r.get(b) for b in by), []).append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v) for v in k)):
        g = groups[key]
        s = dict(zip(by, key))
        s["runs"] = len(g)
        for mcol in metrics:
            vals = _finite(r.get(mcol) for r in g)
            s[f"{mcol}_mean"] = float(np.mean(vals)) if vals else float("nan")
            s[f"{mcol}_std"] = float(np.std(vals)) if vals else float("nan")
        out.append(s)
    return out


def trade_off_table(table: Any, prefix: str = "", digits: int = 3) -> str:
    """Markdown table of the robustness / accuracy trade-off: for each data set and margin,
    clean and certified accuracies (mean ± std over seeds) against λ.  ``prefix="nn_"`` gives
    the network's columns."""
    rows = read_table(table) if isinstance(table, (str, os.PathLike)) else dedupe_rows(table)
    rows = [r for r in rows if not r.get("error")]
    acc = [c for c in order_columns([c for r in rows for c in r])
           if c.startswith(prefix + "acc_") and (prefix or not c.startswith("nn_"))]
    if not acc:
        return "(no rows)"
    radius = [c for c in (prefix + "mean_radius",) if any(c in r for r in rows)]
    # the exact solution: min L and the plan's mass; the network: its loss and gap to min L
    base = ["loss", "mass"] if not prefix else [prefix + "loss", prefix + "gap"]
    summ = summarize(rows, metrics=base + radius + acc, by=("data", "margin", "n", "lam"))
    head = ["data", "margin", "λ", "runs"] + (["min L", "mass"] if not prefix else
                                             ["L(network)", "gap to min L"]) + [
        "mean radius"] * len(radius) + [
        "clean" if c.endswith("clean") else "ε=" + c.rsplit("_", 1)[1] for c in acc]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summ:
        cells = [str(s["data"]), f"{s['margin']:g}", f"{s['lam']:g}", str(s["runs"])]
        for mcol in base + radius + acc:
            mu, sd = s[f"{mcol}_mean"], s[f"{mcol}_std"]
            cells.append(f"{mu:.{digits}f} ± {sd:.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
