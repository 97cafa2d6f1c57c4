"""Implementation of :mod:`otreg.plot` (see the package docstring)."""
from __future__ import annotations

import io
import os
import textwrap
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..errors import InputError
from ..metrics import radius_key
from ..potential import Potential, as_potential
from ..problem import Problem
from ..study.path import lam_path
from ..transport import HKRResult
from ..verify import Report, ray_points
from .view import View, view_for

POS_COLOR = "#d62728"   # positives (y = +1): red
NEG_COLOR = "#1f77b4"   # negatives (y = -1): blue
LEVEL_CMAP = "RdBu_r"   # f > 0 red (positive side), f < 0 blue


class NotebookFigure(Figure):
    """A matplotlib figure that shows itself in notebooks (``_repr_png_``) without pyplot."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        return buf.getvalue()


class FigurePath(str):
    """The path a figure was written to — a ``str``, as the command line and scripts use it —
    that also holds the figure (``.figure``) and shows it in notebooks."""

    figure: Figure

    def __new__(cls, path: str, figure: Figure) -> "FigurePath":
        self = super().__new__(cls, path)
        self.figure = figure
        return self

    def _repr_png_(self) -> bytes:
        return NotebookFigure._repr_png_(self.figure)


def save_figure(fig: Figure, out: Any, dpi: int = 110, bbox_inches: str | None = "tight") -> Any:
    """Write ``fig`` to ``out`` (creating its directory) and return the path as a
    :class:`FigurePath` (a ``str`` holding the figure, ``.figure``); ``out=None`` returns the
    figure.  A path that cannot be written raises one :class:`InputError` naming it."""
    if out is None:
        return fig
    out = os.fspath(out)
    try:
        d = os.path.dirname(out)
        if d:
            os.makedirs(d, exist_ok=True)
        fig.savefig(out, dpi=dpi, bbox_inches=bbox_inches)
    except OSError as exc:
        raise InputError(f"out: cannot write {out!r} ({exc.strerror or exc})") from None
    return FigurePath(out, fig)


_save = save_figure


def _scatter(ax, problem: Problem, view: View, s: float = 10, alpha: float = 0.8,
             edge: bool = False) -> None:
    kw = dict(s=s, alpha=alpha, linewidths=0.4 if edge else 0,
              edgecolors="white" if edge else "none", zorder=3)
    ax.scatter(*view.to2d(problem.x_pos, 1.0).T, c=POS_COLOR,
               label=f"positives (y=+1, n={problem.n})", **kw)
    ax.scatter(*view.to2d(problem.x_neg, -1.0).T, c=NEG_COLOR,
               label=f"negatives (y=-1, n={problem.m})", **kw)


def _axes_style(ax, problem: Problem, title: str, view: View) -> None:
    lo, hi = view.box(problem)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal" if view.dim > 1 else "auto")
    ax.set_xlabel(view.labels[0])
    ax.set_ylabel(view.labels[1])
    if view.dim == 1:
        ax.set_yticks([])
    ax.set_title(title, fontsize=10)


def _finish(fig: Figure, view: View, out: Any) -> Any:
    """Say in the figure's title how d != 2 data are drawn, then save."""
    if view.note:
        note = "\n".join(textwrap.wrap(view.note, 110))
        sup = fig._suptitle.get_text() if fig._suptitle is not None else ""
        fig.suptitle(f"{sup}\n{note}" if sup else note, fontsize=9)
    return _save(fig, out)


def _grid(problem: Problem, view: View, res: int = 200):
    """Plane coordinates X, Y of a grid over the drawn region and its points of R^d."""
    lo, hi = view.box(problem)
    xs = np.linspace(lo[0], hi[0], res)
    ys = np.linspace(lo[1], hi[1], res)
    X, Y = np.meshgrid(xs, ys)
    return X, Y, view.lift(np.column_stack([X.ravel(), Y.ravel()]))


# ------------------------------------------------------------------------------------ plan
def plot_plan(result: HKRResult, out: Any = None, max_arcs: int = 3000,
              title: str | None = None, view: View | None = None) -> Any:
    """Clouds and the optimal plan: one segment per transported pair, width and opacity by mass.

    Grey-blue arcs join pairs with d >= 2m (mass any plan must move, earning less than it
    costs); orange arcs join pairs with d < 2m, the only ones where moving *extra* mass pays
    (each unit earns 2m - d > 0).  Points whose marginal is above the mandatory mass (a_i or
    b_j), i.e. that carry hinge mass, are ringed in black.  Data with d != 2 are drawn in
    ``view`` (default :func:`otreg.plot.view.view_for`).
    """
    pr = result.problem
    view = view or view_for(pr, result)
    plan, dist = np.asarray(result.plan), np.asarray(result.distances)
    fig = NotebookFigure(figsize=(8, 6.3), layout="constrained")
    ax = fig.add_subplot()
    i, j = np.nonzero(plan > 1e-12 * plan.max())
    mass = plan[i, j]
    order = np.argsort(mass)[::-1][:max_arcs]
    i, j, mass = i[order], j[order], mass[order]
    rows, cols = plan.sum(axis=1), plan.sum(axis=0)
    extra_p = rows > pr.a * (1 + 1e-9)
    extra_n = cols > pr.b * (1 + 1e-9)
    hinge_arc = extra_p[i] | extra_n[j]
    w = mass / mass.max()
    for sel, color, z in ((~hinge_arc, "#4a6fa5", 1), (hinge_arc, "#ff7f0e", 2)):
        if not sel.any():
            continue
        segs = np.stack([view.to2d(pr.x_pos[i[sel]], 1.0), view.to2d(pr.x_neg[j[sel]], -1.0)],
                        axis=1)
        rgba = np.zeros((sel.sum(), 4))
        rgba[:, :3] = [int(color[k:k + 2], 16) / 255 for k in (1, 3, 5)]
        rgba[:, 3] = 0.25 + 0.6 * w[sel]
        ax.add_collection(LineCollection(segs, colors=rgba, linewidths=0.3 + 1.7 * w[sel],
                                         zorder=z))
    _scatter(ax, pr, view, s=9)
    ring = dict(s=34, facecolors="none", edgecolors="black", linewidths=0.7, zorder=4)
    ax.scatter(*view.to2d(pr.x_pos[extra_p], 1.0).T, **ring)
    ax.scatter(*view.to2d(pr.x_neg[extra_n], -1.0).T, **ring)
    hinge_mask = extra_p[:, None] | extra_n[None, :]
    short_mass = float(plan[dist < 2 * pr.margin].sum())
    handles = [
        Line2D([], [], color=POS_COLOR, marker="o", ls="", label=f"positives (n={pr.n})"),
        Line2D([], [], color=NEG_COLOR, marker="o", ls="", label=f"negatives (m={pr.m})"),
        Line2D([], [], marker="o", ls="", mfc="none", mec="black",
               label=f"point with marginal above its mandatory mass ({extra_p.sum()} + "
                     f"{extra_n.sum()}): y f < m, carries hinge mass"),
        Line2D([], [], color="#ff7f0e", lw=2,
               label=f"arc touching such a point ({plan[hinge_mask].sum():.3f} mass)"),
        Line2D([], [], color="#4a6fa5", lw=2,
               label=f"other arc ({plan[~hinge_mask].sum():.3f} mass, all mandatory)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=2, fontsize=8)
    _axes_style(ax, pr, title or (
        f"Optimal hKR plan ($\\lambda$={pr.lam:g}, m={pr.margin:g}): mass moved "
        f"{result.mass:.4f} = 1 + {result.mass - 1:.4f} extra\n"
        f"width/opacity $\\propto$ mass; loss {result.loss:.4f}; {len(i)} arcs; "
        f"mass on arcs with d < 2m: {short_mass:.3f}"), view)
    return _finish(fig, view, out)


# ------------------------------------------------------------------------------ potential
def _levels_panel(ax, pot: Potential, problem: Problem, title: str, vmax: float, view: View,
                  res: int = 200):
    X, Y, P = _grid(problem, view, res)
    Z = pot(P).reshape(X.shape)
    levels = np.linspace(-vmax, vmax, 21)
    cf = ax.contourf(X, Y, np.clip(Z, -vmax, vmax), levels=levels, cmap=LEVEL_CMAP, alpha=0.85)
    ax.contour(X, Y, Z, levels=levels, colors="k", linewidths=0.25, alpha=0.4)
    ax.contour(X, Y, Z, levels=[0.0], colors="k", linewidths=2.0)
    ax.contour(X, Y, Z, levels=[-problem.margin, problem.margin], colors="k",
               linewidths=1.0, linestyles="--")
    _scatter(ax, problem, view, s=7, alpha=0.9, edge=True)
    _axes_style(ax, problem, title, view)
    return cf


def plot_potential(result: HKRResult, model: Any = None, out: Any = None,
                   extension: str = "mcshane", res: int = 200, view: View | None = None) -> Any:
    """Level sets of the exact potential (left) and of the network (right, if ``model``), with
    the decision boundary f = 0 (thick) and the margins f = +-m (dashed)."""
    pr = result.problem
    view = view or view_for(pr, result)
    exact = result.extension(extension)
    pots = [(exact, f"exact potential ({extension} extension)\nloss {result.loss:.4f}")]
    if model is not None:
        net = as_potential(model, "network")
        L = pr.loss(net(pr.x_pos), net(pr.x_neg))
        pots.append((net, f"1-Lipschitz network\nloss {L:.4f} (gap {L - result.loss:+.1e})"))
    vmax = float(np.quantile(np.abs(np.concatenate([result.f_pos, result.f_neg])), 0.98))
    vmax = max(vmax, 2 * pr.margin)
    fig = NotebookFigure(figsize=(6.2 * len(pots) + 1.2, 5.6), layout="constrained")
    axes = fig.subplots(1, len(pots), squeeze=False)[0]
    cf = None
    for ax, (pot, title) in zip(axes, pots):
        cf = _levels_panel(ax, pot, pr, title, vmax, view, res)
    cb = fig.colorbar(cf, ax=list(axes), shrink=0.85)
    cb.set_label("f(x)  (red: classified +1, blue: -1)")
    handles = [Line2D([], [], color="k", lw=2, label="decision boundary f = 0"),
               Line2D([], [], color="k", lw=1, ls="--", label=f"margins f = $\\pm${pr.margin:g}"),
               Line2D([], [], color=POS_COLOR, marker="o", ls="", label="positives"),
               Line2D([], [], color=NEG_COLOR, marker="o", ls="", label="negatives")]
    fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=9)
    fig.suptitle(f"hKR potential, $\\lambda$={pr.lam:g}, margin={pr.margin:g}", fontsize=11)
    return _finish(fig, view, out)


# ------------------------------------------------------------------------------- gradnorm
def plot_gradnorm(model: Any, problem: Problem, out: Any = None, res: int = 150,
                  result: HKRResult | None = None, view: View | None = None) -> Any:
    """Heat map of |grad f| of the network (1 = gradient-norm preserving, the optimum's value
    on transport rays), with the samples and the boundary f = 0."""
    view = view or view_for(problem, result)
    net = as_potential(model, "network")
    X, Y, P = _grid(problem, view, res)
    G = np.linalg.norm(net.grad(P), axis=1).reshape(X.shape)
    Z = net(P).reshape(X.shape)
    fig = NotebookFigure(figsize=(7.6, 6.0), layout="constrained")
    ax = fig.add_subplot()
    im = ax.pcolormesh(X, Y, G, cmap="viridis", vmin=0.0, vmax=1.0, shading="auto")
    ax.contour(X, Y, Z, levels=[0.0], colors="white", linewidths=1.8)
    _scatter(ax, problem, view, s=6, alpha=0.7, edge=True)
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label("|$\\nabla_x$ f(x)|")
    frac = float(np.mean(G >= 0.9))
    ax.legend(handles=[Line2D([], [], color="white", lw=2, label="f = 0"),
                       Line2D([], [], color=POS_COLOR, marker="o", ls="", label="positives"),
                       Line2D([], [], color=NEG_COLOR, marker="o", ls="", label="negatives")],
              loc="lower left", fontsize=8, facecolor="0.6", framealpha=0.85)
    title = (f"Gradient norm of the network: max {G.max():.4f} ($\\leq$ 1: 1-Lipschitz), "
             f"\n|$\\nabla$f| $\\geq$ 0.9 on {frac:.0%} of the box")
    if result is not None:
        pts, *_ = ray_points(result, np.random.default_rng(0), 400)
        g = np.linalg.norm(net.grad(pts), axis=1)
        title += f", on {np.mean(g >= 0.9):.0%} of the transport rays" if len(g) else ""
    _axes_style(ax, problem, title, view)
    return _finish(fig, view, out)


# ---------------------------------------------------------------------------- adversarial
def plot_adversarial(model: Any, problem: Problem, out: Any = None, k: int = 60, seed: int = 0,
                     res: int = 150, title: str | None = None, view: View | None = None) -> Any:
    """One-step attacks x -> x - f(x) grad f(x) from ``k`` samples, over f's level sets.

    For an optimal potential the arrow ends on the boundary f = 0 and is the shortest
    perturbation that changes the class (its length is the certified radius |f(x)|)."""
    view = view or view_for(problem)
    pot = as_potential(model, "f")
    rng = np.random.default_rng(seed)
    X, Y, P = _grid(problem, view, res)
    Z = pot(P).reshape(X.shape)
    vmax = max(float(np.quantile(np.abs(Z), 0.95)), 2 * problem.margin)
    samples, y = problem.samples, problem.labels
    fs = pot(samples)
    ok = np.nonzero(y * fs > 0)[0]          # attack correctly classified points
    pick = rng.choice(ok, size=min(k, len(ok)), replace=False) if len(ok) else np.zeros(0, int)
    x = samples[pick]
    f = fs[pick]
    g = pot.grad(x)
    adv = x - f[:, None] * g
    f_adv = pot(adv)
    fig = NotebookFigure(figsize=(7.6, 6.6), layout="constrained")
    ax = fig.add_subplot()
    cf = ax.contourf(X, Y, np.clip(Z, -vmax, vmax), levels=np.linspace(-vmax, vmax, 21),
                     cmap=LEVEL_CMAP, alpha=0.55)
    ax.contour(X, Y, Z, levels=[0.0], colors="k", linewidths=2.0)
    ax.contour(X, Y, Z, levels=[-problem.margin, problem.margin], colors="k", linewidths=0.8,
               linestyles="--")
    _scatter(ax, problem, view, s=5, alpha=0.35)
    colors = np.where(y[pick] > 0, POS_COLOR, NEG_COLOR)
    x2, adv2 = view.to2d(x, y[pick]), view.to2d(adv, y[pick])
    ax.quiver(x2[:, 0], x2[:, 1], adv2[:, 0] - x2[:, 0], adv2[:, 1] - x2[:, 1], color=colors,
              angles="xy", scale_units="xy", scale=1, width=0.004, zorder=5)
    ax.scatter(*adv2.T, marker="x", c="k", s=18, linewidths=1.0, zorder=6)
    cb = fig.colorbar(cf, ax=ax, shrink=0.85)
    cb.set_label("f(x)")
    fig.legend(handles=[
        Line2D([], [], color="k", lw=2, label="decision boundary f = 0"),
        Line2D([], [], color="k", lw=0.8, ls="--", label=f"margins f = $\\pm${problem.margin:g}"),
        Line2D([], [], color="0.3", marker=r"$\rightarrow$", ms=12, ls="",
               label="x $\\to$ x - f(x) $\\nabla$f(x)"),
        Line2D([], [], color="k", marker="x", ls="", label="attacked point x'")],
        loc="outside lower center", ncol=2, fontsize=8)
    rel = np.abs(f_adv) / np.maximum(np.abs(f), 1e-12)
    _axes_style(ax, problem, title or (
        f"One-step adversarial attacks on {len(pick)} correctly classified samples\n"
        f"median |f(x')|/|f(x)| = {np.median(rel) if len(rel) else float('nan'):.2g} "
        f"(0 = lands on the boundary)"), view)
    return _finish(fig, view, out)


# ---------------------------------------------------------------------------------- sweep
def plot_sweep(path: dict, out: Any = None, title: str | None = None) -> Any:
    """Three panels against lambda (log scale) from :func:`otreg.study.lam_path`: exact loss vs
    -W1; mass moved and mean certified radius; clean and certified accuracies (the paper's
    robustness / accuracy trade-off)."""
    rows = path["rows"]
    lam = np.array([r["lam"] for r in rows])
    fig = NotebookFigure(figsize=(15, 4.6), layout="constrained")
    ax1, ax2, ax3 = fig.subplots(1, 3)
    ax1.semilogx(lam, [r["loss"] for r in rows], "o-", label="exact min L$_\\lambda$")
    ax1.axhline(-path["w1"], color="k", ls="--", label=f"-W1 = {-path['w1']:.4f} (POT)")
    ax1.set_ylabel("loss")
    ax1.set_title("min L increases with $\\lambda$, -> -W1 as $\\lambda$ -> 0", fontsize=10)
    ax2.semilogx(lam, [r["mass"] for r in rows], "s-", color="#ff7f0e", label="mass moved")
    ax2.axhline(1.0, color="k", ls=":", label="mandatory mass 1")
    ax2.set_ylabel("total plan mass")
    ax2.set_title("mass moved (1 + extra) and mean certified radius", fontsize=10)
    tw = ax2.twinx()
    tw.semilogx(lam, [r["mean_radius"] for r in rows], "d--", color="#2ca02c")
    tw.set_ylabel("E[(y f)+] on the samples (mean certified radius)", color="#2ca02c")
    ax2.plot([], [], "d--", color="#2ca02c", label="E[(y f)+] (right axis)")
    ax3.semilogx(lam, [r["acc_clean"] for r in rows], "o-", color="k", label="clean accuracy")
    for e, c in zip(path["radii"], ["#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]):
        ax3.semilogx(lam, [r[f"acc_cert_{radius_key(e)}"] for r in rows], "^-", color=c,
                     label=f"certified at $\\epsilon$={e:g}")
    ax3.set_ylabel("accuracy on the samples (weighted)")
    ax3.set_ylim(-0.02, 1.02)
    ax3.set_title("robustness vs accuracy: certified = y f(x) > $\\epsilon$", fontsize=10)
    for ax, loc in ((ax1, "upper left"), (ax2, "center left"), (ax3, "lower left")):
        ax.set_xlabel("$\\lambda$ (log scale)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc=loc)
    fig.suptitle(title or f"$\\lambda$ sweep of the exact hKR solution (margin "
                          f"{path['margin']:g})", fontsize=11)
    return _save(fig, out)


# --------------------------------------------------------------------------------- report
def plot_report(report: Report, outdir: Any, sweep: bool = False,
                sweep_lams: Any = None) -> list[str]:
    """Write plan.png, potential.png and (with a network) gradnorm.png, adversarial.png
    (network attacks; adversarial_exact.png otherwise), and optionally sweep.png.  Data with
    d != 2 are drawn in one plane for all figures (:func:`otreg.plot.view.view_for`)."""
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        raise InputError(f"outdir: cannot create {os.fspath(outdir)!r} "
                         f"({exc.strerror or exc})") from None
    pr, res = report.problem, report.result
    view = view_for(pr, res)
    files = [plot_plan(res, os.path.join(outdir, "plan.png"), view=view),
             plot_potential(res, report.model if report.network is not None else None,
                            os.path.join(outdir, "potential.png"), report.extension,
                            view=view)]
    if report.network is not None:
        files.append(plot_gradnorm(report.network, pr, os.path.join(outdir, "gradnorm.png"),
                                   result=res, view=view))
        files.append(plot_adversarial(report.network, pr,
                                      os.path.join(outdir, "adversarial.png"), view=view))
    else:
        files.append(plot_adversarial(report.exact, pr,
                                      os.path.join(outdir, "adversarial_exact.png"),
                                      view=view))
    if sweep:
        files.append(plot_sweep(lam_path(pr, sweep_lams), os.path.join(outdir, "sweep.png")))
    return files
