"""``otreg train``: fit a 1-Lipschitz network to the hKR loss and save it (.npz)."""
from __future__ import annotations

import os

from ._args import add_data_arguments, add_network_arguments, load_data_args, train_kwargs


def add_parser(subparsers):
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


def run(args) -> int:
    from ..errors import InputError
    from ..nn import fit

    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise InputError(f"out: directory {out_dir!r} does not exist")
    x_pos, x_neg, a, b = load_data_args(args)
    res = fit(x_pos, x_neg, lam=args.lam, margin=args.margin, a=a, b=b, p=args.p,
              seed=args.seed, progress=not args.no_progress, **train_kwargs(args))
    res.model.save(args.out)
    norms = res.model.spectral_norms()
    print(f"data: {args.data} (n={len(x_pos)}, m={len(x_neg)}, d={x_pos.shape[1]})")
    print(f"final loss: {res.loss:.10g}")
    print(f"epochs: {res.epochs_run} (best {res.best_epoch}"
          f"{', early stop' if res.stopped_early else ''})")
    print(f"max layer spectral norm: {max(norms):.12f}")
    print(f"time: {res.seconds:.2f} s")
    print(f"model: {args.out}")
    return 0
