"""``otreg train``: fit a 1-Lipschitz network to the hKR loss and save it (.npz)."""
from __future__ import annotations

import os


def add_parser(subparsers):
    p = subparsers.add_parser(
        "train", help="train a 1-Lipschitz network on the hKR loss",
        description="Train a 1-Lipschitz GroupSort network minimising the empirical hKR loss "
                    "(Adam, NumPy autodiff) and save it as an .npz model.")
    p.add_argument("--data", required=True,
                   help="data set: .npz (x_pos, x_neg[, a, b]) or CSV (coords..., label), "
                        "or a toy name")
    p.add_argument("--lam", type=float, default=1.0, help="hinge weight λ >= 0 (default 1)")
    p.add_argument("--margin", type=float, default=0.1, help="hinge margin > 0 (default 0.1)")
    p.add_argument("--out", required=True, help="output model file (.npz)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--depth", type=int, default=3, help="number of hidden layers")
    p.add_argument("--activation", choices=["groupsort", "fullsort", "relu"], default="groupsort")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--p", type=float, default=None, help="positive-class prior (default n/(n+m))")
    p.add_argument("--patience", type=int, default=30, help="early-stopping patience (epochs)")
    p.add_argument("--n", type=int, default=500, help="points per class for a toy name")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..data.toys import load_data
    from ..errors import InputError
    from ..nn import fit

    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise InputError(f"out: directory {out_dir!r} does not exist")
    x_pos, x_neg, a, b = load_data(args.data, n=args.n, seed=args.seed)
    res = fit(x_pos, x_neg, lam=args.lam, margin=args.margin, a=a, b=b, p=args.p,
              width=args.width, depth=args.depth, activation=args.activation,
              epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
              progress=not args.no_progress, patience=args.patience)
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
