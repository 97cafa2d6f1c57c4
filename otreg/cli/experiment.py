"""``otreg experiment digits``: the paper's experiment on real handwritten digits.

    otreg experiment digits --pair 0,8 --json digits.json --plots out/
    otreg experiment digits --all --json all.json --plots out/      # the 45 pairs

Runs :func:`otreg.experiments.run_digits` (exact hKR optimum on the training set vs a trained
1-Lipschitz network, certified and attacked test accuracy, an unconstrained baseline), prints a
table, and writes the JSON of :meth:`otreg.experiments.DigitsRun.to_json` (a list of such
objects with ``--all``) and the
pictures.
"""
from __future__ import annotations

import argparse
import os
import time

from ..errors import InputError
from ._paths import output_dir, output_file, write_text, writing


def add_parser(sub) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "experiment", help="experiments on real data (digits)",
        description="Experiments on real data with the exact optimum as ground truth.")
    inner = parser.add_subparsers(dest="experiment", required=True, metavar="EXPERIMENT")
    p = inner.add_parser(
        "digits", help="handwritten digits: exact optimum, certified vs attacked accuracy",
        description="scikit-learn's 8x8 handwritten digits (pixels in [0, 1]): for each lambda, "
                    "the exact hKR optimum on the training set, a 1-Lipschitz network and its "
                    "gap, certified and PGD-attacked test accuracy, and an unconstrained "
                    "cross-entropy baseline of the same size.")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--pair", metavar="A,B", help="two digits, e.g. 0,8")
    which.add_argument("--all", action="store_true", help="every pair of digits (45 runs)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--plots", metavar="DIR", help="write the pictures into DIR")
    p.add_argument("--lam", metavar="L1,L2,...", help="the lambda grid (default 0.1,1,10,100)")
    p.add_argument("--margin", type=float, default=None, help="hinge margin (default 1)")
    p.add_argument("--test-size", type=float, default=None,
                   help="fraction of each digit held out for testing (default 0.3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, training and attacks")
    p.add_argument("--quick", action="store_true",
                   help="small budgets (a smoke run of a few seconds, not the experiment)")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.set_defaults(func=run)
    return parser


def _pair(text: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"pair: expected two digits 'A,B', got {text!r}") from None
    return a, b


def _config(args: argparse.Namespace):
    from ..experiments import DigitsConfig

    changes = {"seed": args.seed}
    if args.lam:
        try:
            changes["lams"] = tuple(float(v) for v in args.lam.split(","))
        except ValueError:
            raise InputError(f"lam: expected numbers separated by commas, got {args.lam!r}") \
                from None
    if args.margin is not None:
        changes["margin"] = args.margin
    if args.test_size is not None:
        changes["test_size"] = args.test_size
    return DigitsConfig.quick(**changes) if args.quick else DigitsConfig(**changes)


def run(args: argparse.Namespace) -> int:
    from ..data.io import json_text
    from ..experiments import findings, run_digits, run_digits_all, summary_table
    from ..experiments.figures import write_figures

    output_file(args.json, "json")   # checked before minutes of computation
    output_dir(args.plots, "plots")
    config = _config(args)
    t0 = time.perf_counter()
    done = []

    def save(run_) -> None:
        done.append(run_)
        if args.plots:
            writing(args.plots, "plots", lambda d: write_figures(run_, d))
        if args.json:
            data = [r.to_json() for r in done] if args.all else run_.to_json()
            write_text(args.json, "json", json_text(data, "--json", nan_as_null=True, indent=1))

    if args.all:
        run_digits_all(config=config, progress=args.progress, callback=save)
    else:
        save(run_digits(_pair(args.pair), config, progress=args.progress))
    print(summary_table(done))
    if not args.all:
        print(findings(done[0]))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"time: {time.perf_counter() - t0:.1f} s (load average {load:.2f})")
    if args.json:
        print(f"wrote {args.json}")
    if args.plots:
        print(f"pictures in {args.plots}")
    return 0
