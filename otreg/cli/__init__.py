"""The ``otreg`` command line: ``otreg COMMAND ...``.

Each sub-command lives in its own module of this package and exposes ``add_parser(subparsers)``
(registering its arguments, with ``func=run``) and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import OtregError

#: sub-command name -> module of this package implementing it
COMMANDS = ("solve", "train", "predict", "verify", "plot", "sweep", "experiment")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otreg",
        description="Optimal transport with hinge regularization (hKR): exact and neural solvers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # command not built yet
            if exc.name == f"{__name__}.{name}":
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except OtregError as exc:
        print(f"otreg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except FileNotFoundError as exc:
        print(f"otreg {args.command}: error: file not found: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
