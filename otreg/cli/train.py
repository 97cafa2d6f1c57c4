"""``otreg train``: fit a 1-Lipschitz network to the hKR loss and save it (.npz)."""
from __future__ import annotations

import argparse

from ._args import add_data_arguments, add_network_arguments, problem_from_args, train_kwargs
from ._paths import apart, output_file, writing


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train", help="train a 1-Lipschitz network on the hKR loss",
        description="Train a 1-Lipschitz GroupSort network minimising the empirical hKR loss "
                    "(Adam, NumPy autodiff) and save it as an .npz model.")
    add_data_arguments(p)
    p.add_argument("--out", required=True, help="output model file (.npz)")
    add_network_arguments(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from ..nn import fit, save_model

    output_file(args.out, "out")
    apart({"out": args.out}, {"data": args.data})
    pr = problem_from_args(args)
    res = fit(pr, seed=args.seed, progress=not args.no_progress, **train_kwargs(args))
    writing(args.out, "out", lambda path: save_model(res.model, path))
    norms = res.model.spectral_norms()
    print(f"data: {args.data} (n={pr.n}, m={pr.m}, d={pr.dim})")
    print(f"final loss: {res.loss:.10g}")
    print(f"epochs: {res.epochs_run} (best {res.best_epoch}"
          f"{', early stop' if res.stopped_early else ''})")
    print(f"max layer spectral norm: {max(norms):.12f}")
    print(f"time: {res.seconds:.2f} s")
    print(f"model: {args.out}")
    return 0
