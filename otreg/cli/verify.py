"""``otreg verify``: solve exactly, train a network, check the paper's properties.

Prints the table of checks; exit status 0 if all pass, 1 if any fails (2 on bad input).
"""
from __future__ import annotations

import time


def add_data_arguments(parser, required: bool = True) -> None:
    """--data/--n/--n-neg/--seed/--lam/--margin/--p, shared with ``otreg plot``."""
    parser.add_argument("--data", required=required,
                        help="toy name (moons, circles, gaussians, spirals, xor, ring_blob) "
                             "or a .npz/CSV file")
    parser.add_argument("--lam", type=float, default=1.0, help="hinge weight lam >= 0 (default 1)")
    parser.add_argument("--margin", type=float, default=0.1, help="margin > 0 (default 0.1)")
    parser.add_argument("--p", type=float, default=None,
                        help="positive-class prior in (0, 1) (default: class mass share)")
    parser.add_argument("--n", type=int, default=500, help="toys: points per class (default 500)")
    parser.add_argument("--n-neg", type=int, default=None,
                        help="toys: number of negatives if different from --n")
    parser.add_argument("--seed", type=int, default=0, help="seed of toys, tests and training")


def add_train_arguments(parser) -> None:
    g = parser.add_argument_group("network (otreg.nn.fit)")
    g.add_argument("--model", metavar="FILE", help="use a saved network (.npz) instead of training")
    g.add_argument("--epochs", type=int, default=None,
                   help="training epochs (verify: 300; plot: otreg.nn.fit's default)")
    g.add_argument("--width", type=int, default=None, help="hidden width")
    g.add_argument("--depth", type=int, default=None, help="number of hidden layers")
    g.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    g.add_argument("--batch-size", type=int, default=None, help="mini-batch size")
    g.add_argument("--progress", action="store_true", help="show a training progress bar")


def train_kwargs(args) -> dict:
    kw = {}
    for k in ("epochs", "width", "depth", "lr", "batch_size"):
        v = getattr(args, k, None)
        if v is not None:
            kw[k] = v
    return kw


def load_model_arg(args):
    if not getattr(args, "model", None):
        return None
    from ..nn import load_model

    return load_model(args.model)


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "verify",
        help="check the exact and neural solutions against the paper's properties",
        description="Solve the hKR problem exactly, train a 1-Lipschitz network (or load one) "
                    "and run every check of otreg.verify (strong duality, complementary "
                    "slackness, marginal bounds, hinge slackness, Lipschitz, W1 limit, gradient "
                    "norm, certificate, adversarial tightness, neural gap, potential "
                    "agreement).  Exit status 1 if any check fails.",
    )
    add_data_arguments(parser)
    add_train_arguments(parser)
    parser.add_argument("--no-neural", action="store_true",
                        help="check the exact solution only (no network)")
    parser.add_argument("--extension", choices=("mcshane", "whitney", "mean"), default="mcshane",
                        help="1-Lipschitz extension of the exact potential (default mcshane)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON")
    parser.add_argument("--plots", metavar="DIR", help="write the figures (PNG) into DIR")
    parser.add_argument("--sweep", action="store_true",
                        help="with --plots: also the lambda sweep figure (11 exact solves)")
    parser.add_argument("--save-model", metavar="FILE", help="save the trained network (.npz)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from ..data.toys import load_data
    from ..verify import verify

    x_pos, x_neg, a, b = load_data(args.data, n=args.n, seed=args.seed, n_neg=args.n_neg)
    model = load_model_arg(args)
    t0 = time.perf_counter()
    rep = verify(x_pos, x_neg, lam=args.lam, margin=args.margin, a=a, b=b, p=args.p,
                 model=model, train_kwargs=train_kwargs(args), seed=args.seed,
                 neural=not args.no_neural, extension=args.extension,
                 progress=args.progress)
    print(rep.table())
    if args.save_model and rep.model is not None and hasattr(rep.model, "save"):
        rep.model.save(args.save_model)
        print(f"wrote {args.save_model}")
    if args.json:
        rep.to_json(args.json)
        print(f"wrote {args.json}")
    if args.plots and rep.problem.dim != 2:
        print(f"--plots: the figures need 2-D data (d={rep.problem.dim}); skipped")
    elif args.plots:
        from ..plot import plot_report

        for f in plot_report(rep, args.plots, sweep=args.sweep):
            print(f"wrote {f}")
    print(f"total time {time.perf_counter() - t0:.1f}s")
    return 0 if rep.passed else 1
