"""``python -m otreg.demo --out out`` (what ``make demo`` runs).

Two-moons, 500 points per class, lambda = 1, margin = 0.1: exact solution, a trained
1-Lipschitz network, every verification check (table printed, exit status 1 if one fails),
``out/report.json``, the figures ``out/*.png`` (plan, potential, gradnorm, adversarial,
sweep) and the interactive explorer ``out/explore.html`` (λ and margin sliders over exact
solves, the network beside the exact potential).  About 1-2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .data.toys import load_data
from .plot import plot_report
from .plot.explore import write_explorer
from .problem import DEFAULT_LAM, DEFAULT_MARGIN, Problem
from .verify import verify


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m otreg.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out", help="output directory (default out/)")
    parser.add_argument("--data", default="moons", help="toy name or data file (default moons)")
    parser.add_argument("--n", type=int, default=500, help="points per class (default 500)")
    parser.add_argument("--lam", type=float, default=DEFAULT_LAM)
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (fit default)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the lambda sweep figure")
    parser.add_argument("--no-explore", action="store_true",
                        help="skip the interactive explorer page (out/explore.html)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    os.makedirs(args.out, exist_ok=True)
    x_pos, x_neg, a, b = load_data(args.data, n=args.n, seed=args.seed)
    pr = Problem(x_pos, x_neg, args.lam, args.margin, a, b)
    print(f"otreg demo: {args.data}, {pr.n} + {pr.m} points, lam={pr.lam:g}, "
          f"margin={pr.margin:g}", flush=True)
    kw = {} if args.epochs is None else {"epochs": args.epochs}
    rep = verify(pr, seed=args.seed, train_kwargs=kw)
    print(rep.table(), flush=True)
    res = rep.result
    print(f"\nexact loss {res.loss:.6f} | W1 {rep.w1:.6f} | mass moved {res.mass:.4f} "
          f"(extra {res.mass - 1:.4f}) | exact solve {res.seconds:.2f}s ({res.method}) | "
          f"training {rep.train_seconds or 0:.1f}s | checks {rep.seconds.get('checks', 0):.1f}s")
    path = os.path.join(args.out, "report.json")
    rep.to_json(path)
    print(f"wrote {path}")
    for f in plot_report(rep, args.out, sweep=not args.no_sweep):
        print(f"wrote {f}")
    if not args.no_explore:
        page = write_explorer(pr, os.path.join(args.out, "explore.html"), network=rep.network)
        print(f"wrote {page} (open it in a browser: lambda and margin sliders, offline)")
    print(f"demo finished in {time.perf_counter() - t0:.1f}s: "
          + ("all checks passed" if rep.passed else f"FAILED: {', '.join(rep.failed)}"))
    return 0 if rep.passed else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
