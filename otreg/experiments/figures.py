"""Pictures of the digits experiment (matplotlib, Agg canvas, PNG files).

* :func:`plot_accuracy_eps` — accuracy against the L2 radius ε, one panel per λ: certified
  (|f(x)| > ε), under attack (PGD) for the hKR network, and under attack for the baseline.
* :func:`plot_lambda_tradeoff` — clean and certified accuracy against λ, and the network's
  loss next to the exact optimum (the gap).
* :func:`plot_adversarial_digits` — one-step adversarial examples ``x - f(x) grad f(x)`` of the
  hKR network and their difference with the original, next to the baseline's smallest
  adversarial examples found by PGD.
* :func:`plot_tightness` — per test image, the certified radius |f(x)| against the smallest
  adversarial perturbation found: points on the diagonal are images where the certificate is
  tight.
* :func:`write_figures` — all of them for one run.

Like :mod:`otreg.plot`, every function takes ``out`` (a path, returned) and leaves pyplot alone.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..data.paths import atomic_file
from ..metrics import radius_key
from .digits import DigitsRun, one_step_adversarial

__all__ = ["plot_accuracy_eps", "plot_lambda_tradeoff", "plot_adversarial_digits",
           "plot_tightness", "write_figures"]

CERT_COLOR, ATTACK_COLOR, BASE_COLOR = "#2ca02c", "#d62728", "#7f7f7f"


def _save(fig: Figure, out: Any) -> str:
    d = os.path.dirname(os.fspath(out))
    if d:
        os.makedirs(d, exist_ok=True)
    with atomic_file(out) as fh:
        fig.savefig(fh, format=os.path.splitext(os.fspath(out))[1][1:] or "png", dpi=110,
                    bbox_inches="tight")
    return os.fspath(out)


def _curve(acc: dict, clean: float, eps: tuple) -> tuple[list, list]:
    return [0.0] + list(eps), [clean] + [acc[radius_key(e)] for e in eps]


def plot_accuracy_eps(run: DigitsRun, out: Any) -> str:
    """Test accuracy against ε (pixels in [0, 1], L2), one panel per λ."""
    eps = tuple(run.config.eps)
    k = len(run.rows)
    fig = Figure(figsize=(3.2 * k, 3.2))
    axes = fig.subplots(1, k, sharey=True, squeeze=False)[0]
    for ax, r in zip(axes, run.rows):
        ax.plot(*_curve(r.certified_acc, r.clean_acc, eps), "o-", color=CERT_COLOR,
                label="hKR certified")
        ax.plot(*_curve(r.attack_acc, r.clean_acc, eps), "s--", color=ATTACK_COLOR,
                label="hKR under PGD")
        ax.plot(*_curve(run.baseline_attack_acc, run.baseline_clean_acc, eps), "^:",
                color=BASE_COLOR, label="baseline under PGD")
        ax.set_title(f"λ = {r.lam:g} (gap {100 * r.gap:.1f}%)", fontsize=10)
        ax.set_xlabel("L2 radius ε")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"digits {run.pair[0]} vs {run.pair[1]}: certified and attacked test accuracy",
                 fontsize=11, y=1.04)
    return _save(fig, out)


def plot_lambda_tradeoff(run: DigitsRun, out: Any) -> str:
    """Left: clean and certified accuracy against λ; right: exact min L, network L and gap."""
    lams = [r.lam for r in run.rows]
    fig = Figure(figsize=(10, 3.6))
    ax, ax2 = fig.subplots(1, 2)
    ax.plot(lams, [r.clean_acc for r in run.rows], "k-o", label="clean")
    cmap = fig.colormaps["viridis"] if hasattr(fig, "colormaps") else None
    for i, e in enumerate(run.config.eps):
        colour = (cmap(i / max(1, len(run.config.eps) - 1)) if cmap is not None else None)
        ax.plot(lams, [r.certified_acc[radius_key(e)] for r in run.rows], "o--", color=colour,
                label=f"certified ε={e:g}")
    ax.set_xscale("log")
    ax.set_xlabel("λ")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.03, 1.03)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("robustness / accuracy against λ", fontsize=10)
    ax2.plot(lams, [r.exact_loss for r in run.rows], "k-o", label="exact min L (train)")
    ax2.plot(lams, [r.network_loss for r in run.rows], "s--", color=ATTACK_COLOR,
             label="network L (train)")
    ax2.set_xscale("log")
    ax2.set_xlabel("λ")
    ax2.set_ylabel("hKR loss")
    ax2.grid(alpha=0.3)
    twin = ax2.twinx()
    twin.plot(lams, [100 * r.gap for r in run.rows], "d:", color=BASE_COLOR, label="gap (%)")
    twin.set_ylabel("gap (%)")
    lines = ax2.get_lines() + twin.get_lines()
    ax2.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="best")
    ax2.set_title("network against the exact optimum", fontsize=10)
    return _save(fig, out)


def _examples(run: DigitsRun, per_class: int) -> np.ndarray:
    """Indices of test images shown: the first ``per_class`` correctly classified images of
    each digit that the baseline attack broke."""
    r = run.rows[run.shown]
    ok = (run.signs * r.scores > 0) & np.isfinite(run.baseline_minimal.norm) \
        & (run.baseline_minimal.norm > 0)
    picks = [np.flatnonzero(ok & (run.split.y_test == d))[:per_class] for d in run.pair]
    return np.concatenate(picks)


def _image(ax, img: np.ndarray, title: str, diff: bool = False) -> None:
    if diff:
        v = max(float(np.max(np.abs(img))), 1e-12)
        ax.imshow(img.reshape(8, 8), cmap="RdBu_r", vmin=-v, vmax=v)
    else:
        ax.imshow(np.clip(img, 0, 1).reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_adversarial_digits(run: DigitsRun, out: Any, per_class: int = 4) -> str:
    """Grid: per test image (columns), the original, the hKR one-step adversarial example, their
    difference, the baseline's smallest PGD adversarial example and its difference."""
    r = run.rows[run.shown]
    idx = _examples(run, per_class)
    x = run.split.x_test[idx]
    adv, f_adv = one_step_adversarial(r.model, x)
    base = run.baseline_minimal
    base_adv = base.x_adv[idx]
    base_scores = run.baseline.predict(base_adv)
    cols = max(1, len(idx))
    fig = Figure(figsize=(1.25 * cols, 7.2))
    axes = fig.subplots(5, cols, squeeze=False)
    for j, i in enumerate(idx):
        f0 = r.scores[i]
        _image(axes[0, j], x[j], f"digit {run.split.y_test[i]}\nf={f0:+.2f}")
        _image(axes[1, j], adv[j], f"hKR x-f∇f\nf={f_adv[j]:+.2f}")
        _image(axes[2, j], adv[j] - x[j], f"difference\n|δ|={np.linalg.norm(adv[j] - x[j]):.2f}",
               diff=True)
        _image(axes[3, j], base_adv[j], f"baseline PGD\ns={base_scores[j]:+.2f}")
        _image(axes[4, j], base_adv[j] - x[j], f"difference\n|δ|={base.norm[i]:.2f}", diff=True)
    for j in range(len(idx), cols):
        for row in axes[:, j]:
            row.axis("off")
    fig.suptitle(f"digits {run.pair[0]} vs {run.pair[1]}, λ = {r.lam:g}: one-step adversarial "
                 "examples of the hKR network (rows 2-3),\nthe baseline's smallest PGD "
                 "adversarial examples (rows 4-5)", fontsize=9)
    return _save(fig, out)


def plot_tightness(run: DigitsRun, out: Any) -> str:
    """Certified radius against the smallest adversarial perturbation found, per test image
    (hKR network, shown λ), and the distributions of the attack radii of both networks."""
    r = run.rows[run.shown]
    ok = run.signs * r.scores > 0
    att = run.hkr_minimal.norm
    fin = ok & np.isfinite(att)
    free = run.hkr_minimal_unboxed.norm
    fin_free = ok & np.isfinite(free)
    fig = Figure(figsize=(10, 3.8))
    ax, ax2 = fig.subplots(1, 2)
    ax.scatter(r.radius[fin], att[fin], s=10, color=ATTACK_COLOR, alpha=0.7,
               label="PGD inside the pixel box [0, 1]")
    ax.scatter(r.radius[fin_free], free[fin_free], s=10, color=CERT_COLOR, alpha=0.7,
               marker="x", label="PGD without the box")
    top = float(max(np.max(att[fin], initial=0.0), np.max(r.radius[fin], initial=0.0), 1e-3))
    ax.plot([0, top], [0, top], "k-", lw=0.8, label="attack radius = |f(x)| (tight)")
    ax.set_xlabel("certified radius |f(x)|")
    ax.set_ylabel("smallest adversarial perturbation found")
    ratio = att[fin] / np.maximum(r.radius[fin], 1e-12)
    ax.set_title(f"λ = {r.lam:g}: median ratio in the box "
                 f"{np.median(ratio) if ratio.size else np.nan:.3f}"
                 f" ({int(fin.sum())} images)", fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    for vals, colour, label in ((att[ok], ATTACK_COLOR, "hKR network"),
                                (run.baseline_minimal.norm[run.baseline_minimal.norm > 0],
                                 BASE_COLOR, "baseline")):
        v = np.sort(vals[np.isfinite(vals)])
        ax2.step(v, np.arange(1, v.size + 1) / max(1, vals.size), where="post", color=colour,
                 label=label)
    ax2.set_xlabel("smallest adversarial perturbation found (L2)")
    ax2.set_ylabel("fraction of correctly classified test images")
    ax2.set_title("how far the attack had to go", fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    return _save(fig, out)


def write_figures(run: DigitsRun, outdir: Any, prefix: str | None = None) -> list[str]:
    """All pictures of ``run`` into ``outdir`` (``digits_A_B_<kind>.png`` by default)."""
    prefix = prefix if prefix is not None else f"digits_{run.pair[0]}_{run.pair[1]}_"
    os.makedirs(outdir, exist_ok=True)
    makers = (("accuracy_eps", plot_accuracy_eps), ("lambda", plot_lambda_tradeoff),
              ("adversarial", plot_adversarial_digits), ("tightness", plot_tightness))
    return [make(run, os.path.join(outdir, f"{prefix}{name}.png")) for name, make in makers]
