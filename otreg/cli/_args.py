"""Command-line arguments shared by several ``otreg`` sub-commands.

The data options become one validated :class:`otreg.Problem` (:func:`problem_from_args`) that
the command then hands to the solvers, the training and the checks.  Heavy modules are imported
inside the functions: ``otreg --help`` should not load numba or matplotlib.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from ..defaults import DEFAULT_LAM, DEFAULT_MARGIN


def int_at_least(low: int, what: str):
    """An argparse type: an integer >= ``low`` (the message names the option)."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: expected an integer, got {text!r}") \
                from None
        if v < low:
            raise argparse.ArgumentTypeError(f"{what}: must be >= {low}, got {v}")
        return v
    parse.__name__ = what  # argparse names the type in its messages
    return parse


def label_column(text: str) -> Any:
    """An argparse type: a CSV column name, or a 1-based column number (-1: the last)."""
    from ..data.io import parse_label_column
    from ..errors import InputError

    try:
        return parse_label_column(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_data_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """--data/--label-column/--n/--n-neg/--seed/--lam/--margin/--p: the problem to solve."""
    parser.add_argument("--data", required=required,
                        help="toy name (moons, circles, gaussians, spirals, xor, ring_blob) "
                             "or a .npz/CSV file (a toy name always means the toy: write "
                             "./moons for a file named moons)")
    parser.add_argument("--label-column", type=label_column, default="label",
                        metavar="NAME|N",
                        help="CSV data: the column of labels (+1/-1 or 1/0), by header name or "
                             "by number (1-based, -1 = last; for a file without header); "
                             "default: the column named 'label'")
    parser.add_argument("--lam", type=float, default=DEFAULT_LAM,
                        help=f"hinge weight lam >= 0 (default {DEFAULT_LAM:g})")
    parser.add_argument("--margin", type=float, default=DEFAULT_MARGIN,
                        help=f"margin > 0 (default {DEFAULT_MARGIN:g})")
    parser.add_argument("--p", type=float, default=None,
                        help="positive-class prior in (0, 1) (default: class mass share)")
    parser.add_argument("--n", type=int_at_least(1, "n"), default=500,
                        help="toys: points per class (default 500)")
    parser.add_argument("--n-neg", type=int_at_least(1, "n-neg"), default=None,
                        help="toys: number of negatives if different from --n")
    parser.add_argument("--seed", type=int_at_least(0, "seed"), default=0,
                        help="seed (integer >= 0) of toys, tests and training")


def problem_from_args(args: argparse.Namespace) -> Any:
    """The :class:`otreg.Problem` of :func:`add_data_arguments`' options (validated here, once)."""
    from ..data.toys import load_data, shadowed_file
    from ..problem import Problem

    if shadowed_file(args.data):
        print(f"otreg: note: --data {args.data} is the built-in toy; the file {args.data!r} in "
              f"this directory is not read (write ./{args.data} to read it)", file=sys.stderr)
    x_pos, x_neg, a, b = load_data(args.data, n=args.n, seed=args.seed, n_neg=args.n_neg,
                                   label_column=args.label_column)
    return Problem(x_pos, x_neg, args.lam, args.margin, a, b, args.p)


_NETWORK_OPTIONS = ("steps", "epochs", "width", "depth", "activation", "lr", "batch_size",
                    "patience")


def add_network_arguments(parser: argparse.ArgumentParser) -> Any:
    """Options of :func:`otreg.nn.fit`; unset ones keep fit's defaults.  Returns the group."""
    g = parser.add_argument_group("network (otreg.nn.fit; defaults chosen from the data)")
    g.add_argument("--steps", type=int, default=None,
                   help="budget of optimiser steps (training stops earlier on a plateau of the "
                        "loss; a warning says when the budget cut an improving run)")
    g.add_argument("--epochs", type=int, default=None,
                   help="budget in passes over the data instead of --steps")
    g.add_argument("--width", type=int, default=None, help="hidden width")
    g.add_argument("--depth", type=int, default=None, help="number of hidden layers")
    g.add_argument("--activation", choices=("groupsort", "fullsort", "relu"), default=None,
                   help="activation (default groupsort)")
    g.add_argument("--lr", type=float, default=None, help="Adam learning rate")
    g.add_argument("--batch-size", type=int, default=None, help="mini-batch size")
    g.add_argument("--patience", type=int, default=None,
                   help="optimiser steps without improvement that make a plateau")
    return g


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """:func:`add_network_arguments` plus --model (a saved network instead of training) and
    --progress, for the commands that train only when no model is given."""
    g = add_network_arguments(parser)
    g.add_argument("--model", metavar="FILE", help="use a saved network (.npz) instead of training")
    g.add_argument("--progress", action="store_true", help="show a training progress bar")


def train_kwargs(args: argparse.Namespace) -> dict:
    """The network options that were given, as keyword arguments of :func:`otreg.nn.fit`."""
    return {k: getattr(args, k) for k in _NETWORK_OPTIONS if getattr(args, k, None) is not None}


def load_model_arg(args: argparse.Namespace) -> Any:
    """The network of --model, or None."""
    if not getattr(args, "model", None):
        return None
    from ..nn import load_model

    return load_model(args.model)
