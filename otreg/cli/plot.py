"""``otreg plot KIND``: one figure (PNG) of the exact and/or neural hKR solution."""
from __future__ import annotations


from ._args import (add_data_arguments, add_train_arguments, load_data_args, load_model_arg,
                    train_kwargs)

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


def _network(args, x_pos, x_neg, a, b):
    model = load_model_arg(args)
    if model is not None:
        return model
    from ..nn import fit

    kw = dict(seed=args.seed, progress=args.progress)
    kw.update(train_kwargs(args))
    return fit(x_pos, x_neg, lam=args.lam, margin=args.margin, a=a, b=b, p=args.p, **kw).model


def run(args) -> int:
    from ..errors import InputError
    from .. import plot as P

    if not args.out.lower().endswith(".png"):
        raise InputError(f"out: expected a .png file name, got {args.out!r}")
    if args.table is not None:
        if args.kind != "sweep":
            raise InputError(f"table: only `otreg plot sweep` reads a table, not {args.kind!r}")
        from ..plot.sweep import plot_sweep_table

        print(f"wrote {plot_sweep_table(args.table, args.out)}")
        return 0
    if args.data is None:
        raise InputError("data: required (a toy name or a data file), or give a sweep table")
    x_pos, x_neg, a, b = load_data_args(args)
    if args.kind == "sweep":
        data = P.compute_sweep(x_pos, x_neg, args.margin, args.lams, tuple(args.eps), a, b,
                               args.p)
        for r in data["rows"]:
            print(f"lam={r['lam']:<8.3g} loss={r['loss']:.6f} mass={r['mass']:.4f} "
                  f"clean={r['clean']:.3f} certified={[round(v, 3) for v in r['certified'].values()]}")
        out = P.plot_sweep(data, args.out)
    else:
        from ..transport import hkr_transport

        res = hkr_transport(x_pos, x_neg, lam=args.lam, margin=args.margin, a=a, b=b, p=args.p)
        neural = not args.no_neural
        if args.kind == "gradnorm" and not neural:
            raise InputError("no-neural: the gradnorm plot shows the network's gradient")
        model = _network(args, x_pos, x_neg, a, b) if neural and args.kind != "plan" else None
        if args.kind == "plan":
            out = P.plot_plan(res, args.out)
        elif args.kind == "potential":
            out = P.plot_potential(res, model, args.out, args.extension)
        elif args.kind == "gradnorm":
            out = P.plot_gradnorm(model, res.problem, args.out, result=res)
        else:
            from ..verify import fast_exact_potential

            pot = model if model is not None else fast_exact_potential(res, args.extension)
            out = P.plot_adversarial(pot, res.problem, args.out)
        print(res.summary())
    print(f"wrote {out}")
    return 0
