"""``otreg explore``: one self-contained HTML page to explore λ, the margin, the plan and the
potential (:mod:`otreg.plot.explore`)."""
from __future__ import annotations

import argparse
import os

from ..errors import InputError
from ._args import (add_data_arguments, add_train_arguments, int_at_least, load_model_arg,
                    problem_from_args, train_kwargs)
from ._paths import apart, distinct, output_file


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "explore",
        help="write an interactive page (HTML, offline) of the exact solution against lambda "
             "and the margin",
        description="Solve exactly on a grid of margins x a lambda path and write one "
                    "self-contained HTML page (no server, no network): lambda and margin "
                    "sliders, the points, the plan's links, the potential's level sets and "
                    "zero set, clean and certified accuracy against lambda; a click on a point "
                    "shows f(x), its certified radius and the adversarial step.  --lam and "
                    "--margin choose where the sliders start.",
    )
    add_data_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE.html", help="output page")
    parser.add_argument("--lams", type=float, nargs="+", default=None, metavar="LAM",
                        help="the lambda path (default: 0 and --n-lams - 1 values from 1e-3 to "
                             "--lam-max, log-spaced)")
    parser.add_argument("--lam-max", type=float, default=100.0,
                        help="largest lambda of the default path (default 100)")
    parser.add_argument("--n-lams", type=int_at_least(2, "n-lams"), default=50,
                        help="number of lambda values of the default path (default 50)")
    parser.add_argument("--margins", type=float, nargs="+", default=None, metavar="M",
                        help="the margin grid (default: half, once and twice --margin)")
    parser.add_argument("--radii", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.4],
                        metavar="EPS", help="certified-accuracy radii drawn against lambda")
    parser.add_argument("--grid", type=int_at_least(8, "grid"), default=96,
                        help="side of the grid on which the page evaluates the potential "
                             "(default 96)")
    parser.add_argument("--network", action="store_true",
                        help="also train a 1-Lipschitz network at --lam and --margin and draw "
                             "its potential beside the exact one (or give --model)")
    add_train_arguments(parser)
    parser.add_argument("--screenshot", metavar="FILE.png",
                        help="also write a screenshot of the page (needs playwright and the "
                             "system's Chromium, /usr/bin/chromium)")
    parser.set_defaults(func=run)


def _lams(args: argparse.Namespace) -> list[float] | None:
    if args.lams is not None:
        return args.lams
    import numpy as np

    if not (np.isfinite(args.lam_max) and args.lam_max > 1e-3):
        raise InputError(f"lam-max: must be a finite number > 0.001, got {args.lam_max!r}")
    return [0.0] + list(np.logspace(-3, np.log10(args.lam_max), args.n_lams - 1))


def run(args: argparse.Namespace) -> int:
    output_file(args.out, "out", suffixes=(".html", ".htm"), create_parent=True)
    output_file(args.screenshot, "screenshot", suffixes=(".png",), create_parent=True)
    distinct(out=args.out, screenshot=args.screenshot)
    apart({"out": args.out, "screenshot": args.screenshot},
          {"data": args.data, "model": args.model})
    from ..plot.explore import write_explorer

    pr = problem_from_args(args)
    lams = _lams(args)
    model = load_model_arg(args)
    if model is None and args.network:
        from ..nn import fit

        model = fit(pr, seed=args.seed, progress=args.progress, **train_kwargs(args)).model
    write_explorer(pr, args.out, lams=lams, margins=args.margins, radii=args.radii,
                   network=model, grid=args.grid, progress=args.progress)
    size = os.path.getsize(args.out)
    print(f"wrote {args.out} ({size / 1e6:.2f} MB; {len(lams)} lambda values; "
          f"open it in a browser, offline)")
    if args.screenshot:
        from ..plot.browser import chromium, screenshot

        with chromium() as browser:
            screenshot(browser, args.out, args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0
