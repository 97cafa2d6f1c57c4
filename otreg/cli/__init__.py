"""The ``otreg`` command line: ``otreg COMMAND ...``.

Each sub-command lives in its own module of this package and exposes ``add_parser(subparsers)``
(registering its arguments, with ``func=run``) and ``run(args) -> int``.
"""
from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

from ..errors import (NumericalError, OtregError, SolverError, TrainingError,
                      caused_by_interrupt)

#: sub-command name -> module of this package implementing it
COMMANDS = ("solve", "train", "predict", "verify", "plot", "sweep", "experiment", "explore")


#: errors of writing a stream: disk full, file too large, I/O error, closed descriptor
_STREAM_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, errno.EBADF}

#: environment variable that, set to 1, shows the traceback of an unexpected error
DEBUG_ENV = "OTREG_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otreg",
        description="Optimal transport with hinge regularization (hKR): exact and neural solvers.",
        epilog=f"Errors are reported in one line (exit status 2 for bad input, a file that "
               f"cannot be read or written or a problem too large for the memory, 1 for a "
               f"solver or training failure or an unexpected error, 130 when interrupted); "
               f"--debug or {DEBUG_ENV}=1 shows the traceback of an unexpected error.",
    )
    parser.add_argument("--debug", action="store_true",
                        help=f"show the traceback of an unexpected error (or {DEBUG_ENV}=1)")
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


def _debug(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc) or type(exc).__name__
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    return f"{what}: {' -> '.join(map(str, names))}" if names else what


def main(argv: list[str] | None = None) -> int:
    """Run ``otreg COMMAND ...``; returns the exit status (argparse exits 2 on bad usage).

    Every failure is one line on stderr, never a traceback: 2 for bad input (including a
    problem too large for the memory) and files that cannot be read or written; 1 for a
    solver or a training that failed, for a numerical failure and for anything unexpected
    (traceback with ``--debug`` or ``OTREG_DEBUG=1``); 130 for Ctrl-C.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    prefix = f"otreg {args.command}"
    try:
        return int(args.func(args) or 0)
    except (SolverError, TrainingError, NumericalError) as exc:  # valid input, failed computation
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 1
    except OtregError as exc:
        print(f"{prefix}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM where a command turns it into one
        status = getattr(exc, "exit_status", 130)
        print(f"{prefix}: {'terminated' if status != 130 else 'interrupted'}", file=sys.stderr)
        return status
    except BrokenPipeError:  # stdout closed early (otreg predict ... | head)
        _silence_stdout()
        return 141
    except OSError as exc:
        if exc.filename is None and exc.errno in _STREAM_ERRNOS:
            # every file otreg writes is named in its errors: this is stdout (disk full, ...)
            _silence_stdout()
            print(f"{prefix}: error: standard output: {_os_error(exc)}", file=sys.stderr)
            return 2
        print(f"{prefix}: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # the last resort: one line, the traceback only on request
        if caused_by_interrupt(exc):  # Ctrl-C inside compiled code (numba's SystemError)
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130
        if _debug(args):
            raise
        msg = " ".join(str(exc).split())[:300]
        print(f"{prefix}: internal error: {type(exc).__name__}: {msg} (please report it; "
              f"--debug or {DEBUG_ENV}=1 shows the traceback)", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush does
    not print another error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # pragma: no cover - stdout not a real file
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
