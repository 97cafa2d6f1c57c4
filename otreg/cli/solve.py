"""``otreg solve``: the exact hKR solution of a toy distribution or a data file."""
from __future__ import annotations

import argparse

from ..transport.methods import METHODS
from ._args import add_data_arguments, problem_from_args
from ._paths import output_file, write_text


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "solve",
        help="solve the hKR transport problem exactly",
        description="Solve the hinge-regularized OT problem exactly; print loss, W1, mass, time.",
    )
    add_data_arguments(parser)
    parser.add_argument("--method", choices=METHODS, default="auto",
                        help="exact solver (default auto: netsimplex, or sparse column "
                             "generation when the dense problem would not fit in memory)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="sparse: no progress bar over the pricing rounds")
    parser.add_argument("--json", metavar="FILE", help="write the solution (potentials, plan "
                        "support) as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.io import json_text
    from ..transport import hkr_transport, wasserstein1

    output_file(args.json, "json")
    pr = problem_from_args(args)
    res = hkr_transport(pr, method=args.method, progress=args.progress)
    # lam = 0: the loss is -W1 already; the sparse solver's W1 avoids the dense matrix
    w1 = -res.loss if pr.lam == 0 else wasserstein1(
        pr, method="sparse" if res.method == "sparse" else "auto", progress=args.progress)
    print(res.summary())
    print(f"W1={w1:.10g}  -loss/W1={-res.loss / w1 if w1 > 0 else float('nan'):.6g}  "
          f"extra mass={res.extra_mass:.6g}")
    if args.json:
        rows, cols = res.plan.nonzero()
        report = {
            "data": {"n": pr.n, "m": pr.m, "dim": pr.dim},
            "params": {"lam": pr.lam, "margin": pr.margin, "p": pr.p},
            "loss": res.loss, "w1": w1, "mass": res.mass, "gap": res.gap,
            "method": res.method, "seconds": res.seconds,
            "f_pos": res.f_pos.tolist(), "f_neg": res.f_neg.tolist(),
            "plan": {"rows": rows.tolist(), "cols": cols.tolist(),
                     "mass": res.plan[rows, cols].tolist()},
        }
        write_text(args.json, "json", json_text(report, "--json"))
        print(f"wrote {args.json}")
    return 0
