"""The robustness / accuracy trade-off of a sweep table (:func:`otreg.study.sweep`).

:func:`plot_sweep_table` draws, for each data set (columns) and margin (rows), the clean
accuracy and the certified accuracies at each radius against λ (log scale), mean ± std over the
seeds: solid lines for the exact potential, dashed for the network when the table has the
network's columns.
λ = 0 (the pure Kantorovich–Rubinstein potential) is placed one decade left of the smallest
positive λ, behind an axis break.  When the table has the ``mean_radius`` column, the mean
certified radius E[(y f)_+] is drawn on a second axis (grey): the robustness side of the
trade-off, which shrinks as λ grows while the accuracies rise.
"""
from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ..errors import InputError
from ..study import dedupe_rows, order_columns, read_table, summarize
from .figures import NotebookFigure, save_figure

__all__ = ["plot_sweep_table"]

_COLORS = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#e377c2",
           "#17becf"]


def _acc_columns(rows: list[dict], prefix: str) -> list[str]:
    cols = order_columns([c for r in rows for c in r])
    return [c for c in cols if c.startswith(prefix + "acc_")
            and (prefix or not c.startswith("nn_"))
            and any(isinstance(r.get(c), float) for r in rows)]


def _label(col: str) -> str:
    tail = col.rsplit("acc_", 1)[1]
    return "clean" if tail == "clean" else "certified ε=" + tail.split("_", 1)[1]


def _draw_accuracies(ax: Any, group: list[dict], x: np.ndarray, exact_cols: list[str],
                     nn_cols: list[str]) -> None:
    """The accuracy curves of one panel: exact (solid) and network (dashed), each with its
    ± std band; λ = 0 (behind the axis break) as an error bar."""
    zero = np.array([s["lam"] == 0 for s in group])
    for k, col in enumerate(exact_cols):
        color = _COLORS[k % len(_COLORS)]
        for cols, style, who in ((exact_cols, "-", "exact"), (nn_cols, "--", "network")):
            c = col if who == "exact" else "nn_" + col
            if c not in cols:
                continue
            mu = np.array([s[f"{c}_mean"] for s in group])
            sd = np.array([s[f"{c}_std"] for s in group])
            label = _label(col) + ("" if who == "exact" else " (network)")
            marker = "o" if who == "exact" else "s"
            if (~zero).any():
                ax.plot(x[~zero], mu[~zero], style, marker=marker, ms=3.5, color=color,
                        label=label)
                ax.fill_between(x[~zero], (mu - sd)[~zero], (mu + sd)[~zero],
                                color=color, alpha=0.15 if who == "exact" else 0.08, lw=0)
                label = None
            if zero.any():
                ax.errorbar(x[zero], mu[zero], yerr=sd[zero], fmt=marker, ms=3.5,
                            color=color, capsize=2, label=label,
                            mfc="none" if who == "network" else color)


def _draw_radius(ax: Any, group: list[dict], x: np.ndarray, radius_cols: list[str],
                 legend: bool) -> None:
    """The robustness side: mean certified radius E[(y f)_+] on a second axis."""
    tw = ax.twinx()
    for c, style in zip(radius_cols, (":", "-.")):
        mu = np.array([s[f"{c}_mean"] for s in group])
        tw.plot(x, mu, style, color="0.35", marker="x", ms=4, lw=1.2,
                label="mean certified radius" + (" (network)" if "nn_" in c else ""))
    tw.set_ylim(bottom=0)
    tw.set_ylabel("mean certified radius E[(y f)+]", color="0.35", fontsize=8)
    tw.tick_params(axis="y", labelsize=7, colors="0.35")
    if legend:
        tw.legend(fontsize=6.5, loc="upper left")


def _format_lam_axis(ax: Any, lams: list[float], zero_x: float) -> None:
    """Log-scaled λ ticks, λ = 0 drawn at ``zero_x`` behind a dotted axis break."""
    pos = [v for v in lams if v > 0]
    ax.set_xscale("log")
    ticks = sorted({zero_x if v == 0 else v for v in lams})
    ax.set_xticks(ticks)
    ax.set_xticklabels(["0" if t == zero_x and 0 in lams else f"{t:g}" for t in ticks])
    ax.minorticks_off()
    if 0 in lams and pos:
        ax.axvline(math.sqrt(zero_x * min(pos)), color="0.6", lw=0.8, ls=":")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)


def _sweep_rows(table_or_path: Any) -> list[dict]:
    rows = (read_table(table_or_path) if isinstance(table_or_path, (str, os.PathLike))
            else dedupe_rows(table_or_path))
    rows = [r for r in rows if not r.get("error") and isinstance(r.get("acc_clean"), float)]
    if not rows:
        where = (f"{os.fspath(table_or_path)}: " if isinstance(table_or_path, (str, os.PathLike))
                 else "table (rows given): ")
        raise InputError(f"{where}the sweep table has no row without error")
    return rows


def plot_sweep_table(table_or_path: Any, out_png: Any = None, title: str | None = None) -> Any:
    """Clean and certified accuracy against λ, mean ± std over seeds, one panel per data set.

    Parameters
    ----------
    table_or_path : list of dict or path
        Rows returned by :func:`otreg.study.sweep` or the CSV / parquet file it wrote.  Rows
        with an error are ignored.
    out_png : path, optional
        Where to write the PNG (the path is returned); without it the figure is returned.
    title : str, optional
        Figure title.
    """
    rows = _sweep_rows(table_or_path)
    exact_cols = _acc_columns(rows, "")
    nn_cols = _acc_columns(rows, "nn_")
    radius_cols = [c for c in ("mean_radius", "nn_mean_radius")
                   if any(isinstance(r.get(c), float) for r in rows)]
    summ = summarize(rows, metrics=exact_cols + nn_cols + radius_cols,
                     by=("data", "margin", "lam"))
    datasets = list(dict.fromkeys(r["data"] for r in rows))
    margins = sorted({r["margin"] for r in rows})
    lams = sorted({r["lam"] for r in rows})
    pos = [x for x in lams if x > 0]
    zero_x = (min(pos) / 10.0) if pos else 1.0
    nr, nc = len(margins), len(datasets)
    fig = NotebookFigure(figsize=(max(7.0, 4.8 * nc + 0.8), 3.8 * nr + 1.0))
    axes = np.atleast_2d(fig.subplots(nr, nc, squeeze=False))
    for i, margin in enumerate(margins):
        for j, data in enumerate(datasets):
            ax = axes[i, j]
            group = [s for s in summ if s["data"] == data and s["margin"] == margin]
            group.sort(key=lambda s: s["lam"])
            x = np.array([zero_x if s["lam"] == 0 else s["lam"] for s in group])
            _draw_accuracies(ax, group, x, exact_cols, nn_cols)
            if radius_cols:
                _draw_radius(ax, group, x, radius_cols, legend=i == 0 and j == nc - 1)
            _format_lam_axis(ax, lams, zero_x)
            runs = max((s["runs"] for s in group), default=0)
            ax.set_title(f"{data}, margin {margin:g} ({runs} seeds)", fontsize=10)
            ax.set_xlabel("λ (hinge weight)")
            if j == 0:
                ax.set_ylabel("accuracy on the samples")
    axes[0, 0].legend(fontsize=6.5 if nn_cols else 7, loc="lower right", ncol=2 if nn_cols else 1)
    fig.suptitle(title or "Robustness / accuracy trade-off\nclean and certified accuracy "
                 "(y f(x) > ε) against λ, mean ± std over seeds", fontsize=10)
    fig.tight_layout()
    if out_png is None:
        return fig
    return save_figure(fig, out_png, dpi=120, bbox_inches=None)


