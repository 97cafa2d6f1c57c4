"""Generate the figures and tables of the documentation with otreg itself (run by ``make docs``).

Writes

* ``docs/gallery/*.png`` — the figures shown on the Gallery page (git-ignored, regenerated at
  every build);
* ``build/docs_snippets/gallery_figures.md`` — the Markdown of the figures actually produced
  (included by ``docs/gallery.md``; a figure whose plotting function fails is reported on stderr
  and left out instead of breaking the build);
* ``build/docs_snippets/benchmarks.md`` — the tables of ``benchmarks/results/*.md``
  (``make bench``), included by ``docs/benchmarks.md``;
* ``build/docs_snippets/sweep_table.md`` — the robustness / accuracy trade-off table of a small
  exact sweep, included by ``docs/benchmarks.md``;
* ``docs/gallery/explore.html``, ``docs/gallery/explorer.png`` and
  ``build/docs_snippets/explorer.md`` — the interactive explorer (``otreg explore``), a
  screenshot of it taken in headless Chromium, and the Markdown of ``docs/explorer.md``;
* ``build/docs_snippets/digits_results.md`` and ``docs/gallery/digits_0_8_*.png`` — the digits
  experiment (``otreg experiment digits --pair 0,8``): its table, the measured findings and its
  pictures, included by ``docs/digits.md``.

Usage: ``python docs/gen_gallery.py [--quick]`` from the repository root (``--quick``: smaller
problems, for tests).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GALLERY = os.path.join(ROOT, "docs", "gallery")
SNIPPETS = os.path.join(ROOT, "build", "docs_snippets")


def _figure(entries, name, caption, make):
    """Run ``make(path)``; on success record (file, caption) for the gallery page."""
    path = os.path.join(GALLERY, name)
    t0 = time.perf_counter()
    try:
        make(path)
    except Exception:  # one broken figure must not hide the others
        print(f"gen_gallery: {name} FAILED, left out:", file=sys.stderr)
        traceback.print_exc()
        return
    entries.append((name, caption))
    print(f"gen_gallery: {name} ({time.perf_counter() - t0:.1f}s)")


def gallery(quick: bool) -> list:
    import numpy as np

    from otreg import Problem, hkr_transport
    from otreg import plot as P
    from otreg.data.toys import list_toys, make_toy
    from otreg.study import lam_path

    n = 80 if quick else 200
    lam, margin = 1.0, 0.1
    x_pos, x_neg = make_toy("moons", n_pos=n, seed=0)
    res = hkr_transport(x_pos, x_neg, lam=lam, margin=margin)
    entries: list = []
    state = {}

    def net():
        if "model" not in state:
            from otreg.nn import fit

            state["model"] = fit(x_pos, x_neg, lam=lam, margin=margin, width=32, depth=2,
                                 epochs=30 if quick else 150, seed=0, progress=False).model
        return state["model"]

    _figure(entries, "plan.png",
            f"Two moons ({n} points per class), λ = {lam:g}, margin {margin:g}: the optimal "
            "plan of the bounded-marginal transport problem. Arcs between pairs closer than 2m "
            "(where the hinge's extra mass can flow) are coloured apart; ringed points ship "
            "more than their mandatory mass.",
            lambda out: P.plot_plan(res, out))
    _figure(entries, "potential.png",
            "Level sets of the exact potential's 1-Lipschitz (McShane) extension and of a "
            "trained 1-Lipschitz network: decision boundary f = 0 and margins f = ±m.",
            lambda out: P.plot_potential(res, net(), out))
    _figure(entries, "gradnorm.png",
            "|∇f| of the network: close to 1 where the transport happens (the paper's "
            "gradient-norm property), below 1 only away from the data.",
            lambda out: P.plot_gradnorm(net(), res.problem, out, result=res))
    _figure(entries, "adversarial.png",
            "One-step attacks x → x − f(x)∇f(x) on the network: they land on the decision "
            "boundary after a move of length |f(x)| — the certificate is tight.",
            lambda out: P.plot_adversarial(net(), res.problem, out))
    _figure(entries, "lambda_sweep.png",
            "The exact solution against λ: min L rises from −W1, the moved mass grows, and "
            "clean vs certified accuracy trade off.",
            lambda out: P.plot_sweep(lam_path(
                Problem(x_pos, x_neg, margin=margin), np.logspace(-2, 2, 5 if quick else 9)), out))

    toys = list_toys()
    for name in toys:
        xp, xn = make_toy(name, n_pos=max(40, n // 2), seed=0)
        r = hkr_transport(xp, xn, lam=lam, margin=margin)
        _figure(entries, f"toy_{name}.png",
                f"`{name}`: the exact optimal potential (λ = {lam:g}, margin {margin:g}, "
                f"{len(xp)} points per class), min L = {r.loss:.4f}.",
                lambda out, r=r: P.plot_potential(r, None, out))
    return entries


def trade_off(quick: bool, entries: list) -> str:
    import tempfile

    from otreg.plot.sweep import plot_sweep_table
    from otreg.study import sweep, trade_off_table

    n, seeds = (60, [0, 1]) if quick else (200, [0, 1, 2, 3, 4])
    lams = [0, 0.1, 1, 10, 100]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        table = sweep(["moons", "circles"], lams, [0.1], seeds, n=n,
                      out=os.path.join(tmp, "sweep.csv"), checks=False, workers=1,
                      progress=False)
    seconds = time.perf_counter() - t0
    _figure(entries, "trade_off.png",
            f"Robustness / accuracy trade-off (`otreg sweep`, exact potential, {n} points per "
            f"class, {len(seeds)} seeds): clean accuracy and certified accuracy at radius ε "
            "against λ, mean ± std over seeds.",
            lambda out: plot_sweep_table(table, out))
    return (f"Exact potential, margin 0.1, {n} points per class, seeds "
            f"{seeds[0]}–{seeds[-1]}; mean ± std over seeds; sweep time {seconds:.1f} s "
            "(one core, checks off).\n\n" + trade_off_table(table) + "\n")


def digits(quick: bool) -> str:
    """The digits experiment on 0 vs 8 (default settings; ``--quick``: the smoke-run budgets):
    its pictures into the gallery folder, and the Markdown of ``docs/digits.md``'s results."""
    from otreg.experiments import (
        DigitsConfig,
        findings,
        projected_optimum_gaps,
        run_digits,
        summary_table,
    )
    from otreg.experiments.figures import write_figures

    t0 = time.perf_counter()
    config = DigitsConfig.quick() if quick else DigitsConfig()
    try:
        run = run_digits((0, 8), config)
        names = [os.path.basename(p) for p in write_figures(run, GALLERY)]
    except Exception:  # e.g. scikit-learn missing: the page says so instead of breaking
        print("gen_gallery: digits experiment FAILED, left out:", file=sys.stderr)
        traceback.print_exc()
        return ("*The digits experiment could not run at this build (see the build log); "
                "run `otreg experiment digits --pair 0,8 --plots DIR` yourself.*\n")
    print(f"gen_gallery: digits experiment ({time.perf_counter() - t0:.1f}s)")
    settings = (f"Settings: λ ∈ {{{', '.join(f'{v:g}' for v in config.lams)}}}, margin "
                f"{config.margin:g}, test share {config.test_size:g}, seed {config.seed}, "
                f"{run.split.y_train.size} training and {run.split.y_test.size} test images; "
                f"network {config.network}, next λ warm-started with {config.warm_network}; "
                f"PGD {config.attack}; baseline {config.baseline}."
                + (" **Quick build: smoke-run budgets, not the experiment's numbers.**"
                   if quick else ""))
    captions = {
        "accuracy_eps": "Test accuracy against the L2 radius ε: certified (|f(x)| > ε), under "
                        "PGD for the hKR network, and under PGD for the baseline.",
        "lambda": "Left: clean and certified test accuracy against λ. Right: the network's "
                  "training loss next to the exact optimum, and the gap.",
        "adversarial": "One-step adversarial examples x − f(x)∇f(x) of the hKR network (rows "
                       "2–3), and the baseline's smallest PGD adversarial examples (rows 4–5).",
        "tightness": "Left: per test image, the certified radius |f(x)| against the smallest "
                     "adversarial perturbation PGD found (on the diagonal the certificate is "
                     "tight). Right: how far the attack had to go, both networks.",
    }
    figures = "".join(
        f"### {key}\n\n![{name}](gallery/{name})\n\n{captions.get(key, '')}\n\n"
        for name in names for key in [name[len("digits_0_8_"):-4]])
    proj = projected_optimum_gaps(run.split, 10.0, config.margin)
    with open(os.path.join(SNIPPETS, "digits_projection.md"), "w", encoding="utf-8") as fh:
        fh.write("| principal directions kept | " + " | ".join(str(p["dim"]) for p in proj)
                 + " |\n|---|" + "---|" * len(proj) + "\n| gap of the projected optimum | "
                 + " | ".join(f"{100 * p['gap']:.2f}%" for p in proj) + " |\n")
    return (f"{settings}\n\n{summary_table([run])}\n\n**Measured:**\n\n{findings(run)}\n\n"
            f"{figures}")


def explorer(quick: bool) -> str:
    """The explorer page of the demo's problem (two moons, 500 points per class; ``--quick``:
    100) and its screenshot in headless Chromium; returns the Markdown of docs/explorer.md."""
    from otreg import Problem
    from otreg.data.toys import make_toy
    from otreg.plot.browser import chromium, screenshot
    from otreg.plot.explore import write_explorer

    n = 100 if quick else 500
    page = os.path.join(GALLERY, "explore.html")
    t0 = time.perf_counter()
    try:
        write_explorer(Problem(*make_toy("moons", n_pos=n, seed=0), 1.0, 0.1), page)
        with chromium() as browser:
            screenshot(browser, page, os.path.join(GALLERY, "explorer.png"), width=1400,
                       height=900)
    except Exception:  # e.g. no Chromium: the page says so instead of breaking the build
        print("gen_gallery: explorer FAILED, left out:", file=sys.stderr)
        traceback.print_exc()
        return ("*The explorer could not be generated at this build (see the build log); run "
                "`otreg explore --data moons --out explore.html` yourself.*\n")
    size = os.path.getsize(page) / 1e6
    print(f"gen_gallery: explorer ({time.perf_counter() - t0:.1f}s, {size:.2f} MB)")
    return (f"[**Open the explorer**](gallery/explore.html) — two moons, {n} points per "
            f"class, λ = 1 and margin 0.1 at start; 50 λ values × 3 margins, {size:.1f} MB, "
            "works offline.\n\n"
            "![The explorer in headless Chromium](gallery/explorer.png)\n\n"
            "*The page as headless Chromium draws it at this build (screenshot taken by "
            "`docs/gen_gallery.py`).*\n")


def benchmark_tables() -> str:
    files = sorted(glob.glob(os.path.join(ROOT, "benchmarks", "results", "*.md")))
    if not files:
        return ("*No benchmark results yet: run `make bench`, which writes "
                "`benchmarks/results/*.md`, then `make docs`.*\n")
    parts = []
    for path in files:
        with open(path, encoding="utf-8") as fh:
            text = fh.read().strip()
        # demote the file's headings below the page's "## name" section heading
        lines = ["#" * 2 + line if line.startswith("#") else line for line in text.splitlines()]
        parts.append(f"## {os.path.basename(path)[:-3]}\n\n*From `benchmarks/results/"
                     f"{os.path.basename(path)}`.*\n\n" + "\n".join(lines) + "\n")
    return "\n".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems (tests)")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.makedirs(GALLERY, exist_ok=True)
    os.makedirs(SNIPPETS, exist_ok=True)
    t0 = time.perf_counter()
    for old in glob.glob(os.path.join(GALLERY, "*.png")) + glob.glob(os.path.join(GALLERY,
                                                                                 "*.html")):
        os.remove(old)
    entries = gallery(args.quick)
    table = trade_off(args.quick, entries)
    with open(os.path.join(SNIPPETS, "digits_results.md"), "w", encoding="utf-8") as fh:
        fh.write(digits(args.quick))
    with open(os.path.join(SNIPPETS, "explorer.md"), "w", encoding="utf-8") as fh:
        fh.write(explorer(args.quick))
    with open(os.path.join(SNIPPETS, "sweep_table.md"), "w", encoding="utf-8") as fh:
        fh.write(table)
    with open(os.path.join(SNIPPETS, "benchmarks.md"), "w", encoding="utf-8") as fh:
        fh.write(benchmark_tables())
    with open(os.path.join(SNIPPETS, "gallery_figures.md"), "w", encoding="utf-8") as fh:
        for name, caption in entries:
            fh.write(f"### {os.path.splitext(name)[0].replace('_', ' ')}\n\n"
                     f"![{name}](gallery/{name})\n\n{caption}\n\n")
    print(f"gen_gallery: {len(entries)} figures in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
