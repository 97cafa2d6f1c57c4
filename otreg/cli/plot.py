"""``otreg plot KIND``: one figure (PNG) of the exact and/or neural hKR solution."""
from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from ._args import (add_data_arguments, add_train_arguments, load_model_arg, problem_from_args,
                    train_kwargs)
from ._paths import apart, output_file

KINDS = ("plan", "potential", "gradnorm", "adversarial", "sweep")


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "plot",
        help="draw the plan, potentials, gradient norm, adversarial paths or a lambda sweep",
        description="plan: clouds and transport arcs; potential: level sets of the exact "
                    "potential and of the network (boundary, margins); gradnorm: |grad f| of "
                    "the network; adversarial: x -> x - f(x) grad f(x); sweep: loss, W1, mass, "
                    "clean and certified accuracy against lambda.",
    )
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("table", nargs="?", default=None,
                        help="sweep: a table written by `otreg sweep` (CSV/parquet); draws the "
                             "accuracy/robustness trade-off from it instead of solving --data")
    add_data_arguments(parser, required=False)
    add_train_arguments(parser)
    parser.add_argument("--out", required=True, metavar="FILE.png", help="output PNG")
    parser.add_argument("--no-neural", action="store_true",
                        help="potential/adversarial: exact potential only (no network)")
    parser.add_argument("--extension", choices=("mcshane", "whitney", "mean"), default="mcshane")
    parser.add_argument("--lams", type=float, nargs="+", default=None,
                        help="sweep: lambda values (default 11 values in 1e-3..1e2)")
    parser.add_argument("--eps", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.4],
                        help="sweep: certified radii")
    parser.set_defaults(func=run)


def _network(args: argparse.Namespace, problem: Any) -> Any:
    model = load_model_arg(args)
    if model is not None:
        return model
    from ..nn import fit

    return fit(problem, **{"seed": args.seed, "progress": args.progress,
                           **train_kwargs(args)}).model


def run(args: argparse.Namespace) -> int:
    output_file(args.out, "out", suffixes=(".png",), create_parent=True)
    apart({"out": args.out}, {"table": args.table, "data": args.data, "model": args.model})
    from .. import plot as P
    from ..study import lam_path
    from ..transport import hkr_transport

    if args.table is not None:
        if args.kind != "sweep":
            raise InputError(f"table: only `otreg plot sweep` reads a table, not {args.kind!r}")
        print(f"wrote {P.plot_sweep_table(args.table, args.out)}")
        return 0
    if args.data is None:
        raise InputError("data: required (a toy name or a data file), or give a sweep table")
    pr = problem_from_args(args)
    if args.kind == "sweep":
        path = lam_path(pr, args.lams, tuple(args.eps))
        for r in path["rows"]:
            cert = [round(v, 3) for k, v in r.items() if k.startswith("acc_cert_")]
            print(f"lam={r['lam']:<8.3g} loss={r['loss']:.6f} mass={r['mass']:.4f} "
                  f"clean={r['acc_clean']:.3f} certified={cert}")
        out = P.plot_sweep(path, args.out)
    else:
        res = hkr_transport(pr)
        neural = not args.no_neural
        if args.kind == "gradnorm" and not neural:
            raise InputError("no-neural: the gradnorm plot shows the network's gradient")
        model = _network(args, pr) if neural and args.kind != "plan" else None
        if args.kind == "plan":
            out = P.plot_plan(res, args.out)
        elif args.kind == "potential":
            out = P.plot_potential(res, model, args.out, args.extension)
        elif args.kind == "gradnorm":
            out = P.plot_gradnorm(model, res.problem, args.out, result=res)
        else:
            pot = model if model is not None else res.extension(args.extension)
            out = P.plot_adversarial(pot, res.problem, args.out)
        print(res.summary())
    print(f"wrote {out}")
    return 0
