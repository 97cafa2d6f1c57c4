"""``otreg verify``: solve exactly, train a network, check the paper's properties.

Prints the table of checks; exit status 0 if all pass, 1 if any fails (2 on bad input).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING

from ..errors import InputError
from ._args import (add_data_arguments, add_train_arguments, load_model_arg, problem_from_args,
                    train_kwargs)
from ._paths import apart, distinct, output_dir, output_file, write_text, writing

if TYPE_CHECKING:  # the command line's --help does not load NumPy
    from ..potential import Potential


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
    parser.add_argument("--potential", metavar="FILE",
                        help="verify this potential instead of training one: an ONNX file "
                             "(e.g. a PyTorch network, see docs/verify-your-network.md) or an "
                             "otreg model (.npz); its measured Lipschitz constant and gap are "
                             "reported first")
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


def load_potential(path: str) -> "Potential":
    """The network in ``path`` as a potential named after the file: ONNX
    (:func:`otreg.nn.from_onnx`) or an otreg ``.npz`` model."""
    from ..potential import as_potential

    ext = os.path.splitext(path)[1].lower()
    if not os.path.isfile(path):
        raise InputError(f"potential: file not found: {path}")
    if ext == ".onnx":
        from ..nn import from_onnx
        model = from_onnx(path)
    elif ext == ".npz":
        from ..nn import load_model
        model = load_model(path)
    else:
        raise InputError(f"potential: {path}: expected an ONNX file (.onnx) or an otreg model "
                         f"(.npz), got {ext or 'no extension'!r}")
    return as_potential(model, os.path.basename(path))


def run(args: argparse.Namespace) -> int:
    if args.potential and args.model:
        raise InputError("potential: give either --potential or --model, not both")
    if args.potential and args.save_model:
        raise InputError("save-model: the potential is read from a file, there is no trained "
                         "network to save")
    if args.save_model and args.no_neural and not args.model:
        raise InputError("save-model: there is no network to save with --no-neural")
    output_file(args.json, "json")
    output_file(args.save_model, "save-model")
    distinct(json=args.json, save_model=args.save_model)
    output_dir(args.plots, "plots")
    apart({"json": args.json, "save-model": args.save_model},
          {"data": args.data, "model": args.model}, plots=args.plots)

    from ..nn import save_model
    from ..plot import plot_report
    from ..plot.view import view_for
    from ..verify import verify

    pr = problem_from_args(args)
    model = load_potential(args.potential) if args.potential else load_model_arg(args)
    t0 = time.perf_counter()
    rep = verify(pr, model=model, train_kwargs=train_kwargs(args), seed=args.seed,
                 neural=not args.no_neural, extension=args.extension,
                 progress=args.progress)
    print(rep.table())
    if args.save_model and rep.model is not None:
        writing(args.save_model, "save-model", lambda path: save_model(rep.model, path))
        print(f"wrote {args.save_model}")
    if args.json:
        write_text(args.json, "json", rep.to_json() + "\n")
        print(f"wrote {args.json}")
    if args.plots:
        if rep.problem.dim != 2:
            print(f"plots: {view_for(rep.problem, rep.result).note}")
        for f in plot_report(rep, args.plots, sweep=args.sweep):
            print(f"wrote {f}")
    print(f"total time {time.perf_counter() - t0:.1f}s")
    return 0 if rep.passed else 1
