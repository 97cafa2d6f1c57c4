"""``otreg sweep``: verified hKR solves over a grid of data sets, λ, margins and seeds.

    otreg sweep --data moons,circles --lam 0,0.1,1,10,100 --margin 0.05,0.1 --seeds 0-4 \\
                --out results.csv [--n 500] [--neural] [--scheduler ADDRESS] [--workers K]

Writes one row per combination (see :func:`otreg.study.sweep`); re-running the same command
after an interruption resumes where it stopped.  Prints the robustness / accuracy trade-off
table at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import re
import signal
import sys

from ..defaults import DEFAULT_MARGIN
from ._args import int_at_least

_INT_RANGE = re.compile(r"^\s*(\d+)\s*(?:-|\.\.)\s*(\d+)\s*$")


def _items(text: str, what: str) -> list[str]:
    items = [t.strip() for t in str(text).split(",")]
    if not text.strip() or any(not t for t in items):
        raise argparse.ArgumentTypeError(f"{what}: empty item in {text!r} (expected a "
                                         "comma-separated list)")
    return items


def int_list(text: str, what: str = "seeds") -> list[int]:
    """``"0-4"``, ``"0..4"``, ``"1,3,5"``, ``"0-2,7"`` -> integers (ranges inclusive)."""
    out = []
    for item in _items(text, what):
        m = _INT_RANGE.match(item)
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise argparse.ArgumentTypeError(f"{what}: empty range {item!r} ({lo} > {hi})")
            out.extend(range(lo, hi + 1))
            continue
        try:
            v = int(item)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{what}: {item!r} is not an integer or a range like 0-4") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"{what}: must be >= 0, got {v}")
        out.append(v)
    return list(dict.fromkeys(out))


def float_list(text: str, what: str, positive: bool = False) -> list[float]:
    """``"0,0.1,1,1e2"`` -> floats (>= 0, or > 0 with ``positive``)."""
    out = []
    for item in _items(text, what):
        try:
            v = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what}: {item!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{what}: {item!r} is not finite")
        if v < 0 or (positive and v == 0):
            raise argparse.ArgumentTypeError(
                f"{what}: must be {'> 0' if positive else '>= 0'}, got {item}")
        out.append(v)
    return list(dict.fromkeys(out))


def _typed(fn, *a, **kw):
    def parse(text):
        return fn(text, *a, **kw)
    parse.__name__ = a[0] if a else fn.__name__   # argparse names the type in its messages
    return parse


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "sweep",
        help="verified solves over data sets x lam x margin x seeds, to a CSV table",
        description="Solve (and verify, and optionally train) every combination of data sets, "
                    "lam, margins and seeds; one row per combination with losses, W1, mass "
                    "moved, clean and certified accuracies, check results, times and errors. "
                    "Re-running the same command resumes an interrupted sweep.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--data", required=True, type=lambda t: _items(t, "data"),
                        help="comma-separated toy names or data files, e.g. moons,circles")
    parser.add_argument("--lam", required=True, type=_typed(float_list, "lam"),
                        help="comma-separated hinge weights >= 0, e.g. 0,0.1,1,10,100")
    parser.add_argument("--margin", default=[DEFAULT_MARGIN], type=_typed(float_list, "margin",
                                                               positive=True),
                        help="comma-separated margins > 0")
    parser.add_argument("--seeds", default=[0], type=_typed(int_list, "seeds"),
                        help="seeds: list and/or inclusive ranges, e.g. 0-4 or 0,3,7-9")
    parser.add_argument("--n", type=int_at_least(1, "n"), default=500,
                        help="points per class for toys")
    parser.add_argument("--neural", action="store_true",
                        help="also train a 1-Lipschitz network per combination")
    parser.add_argument("--epochs", type=int_at_least(1, "epochs"), default=None,
                        help="training epochs with --neural (default: otreg.nn.fit's)")
    parser.add_argument("--radii", default=None, type=_typed(float_list, "radii"),
                        help="radii of the certified accuracies (default 0.01,0.05,0.1,0.2)")
    parser.add_argument("--no-checks", action="store_true",
                        help="skip otreg.verify's checks (solve and measure only; much faster)")
    parser.add_argument("--out", required=True, help="output table: .csv (or .parquet with "
                        "pyarrow); existing rows are kept and skipped")
    parser.add_argument("--retry-errors", action="store_true",
                        help="re-run combinations whose existing row recorded an error")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address (default: $OTREG_SCHEDULER; none = local "
                             "processes)")
    parser.add_argument("--workers", type=int_at_least(1, "workers"), default=None,
                        help="local worker processes (default: number of cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar, no table")
    parser.set_defaults(func=run)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the sweep stops its workers and records nothing
    for the combinations in progress; ``otreg`` then exits with status 143."""

    exit_status = 128 + signal.SIGTERM


@contextlib.contextmanager
def _sigterm_as_interrupt():
    def handler(signum, frame):
        raise Terminated("terminated (SIGTERM)")

    try:
        prev = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, prev)


def run(args: argparse.Namespace) -> int:
    from ..data.paths import output_file
    from ..metrics import DEFAULT_RADII
    from ..study import sweep, trade_off_table
    from ._paths import apart

    output_file(args.out, "out", suffixes=(".csv", ".parquet"))
    journal = args.out + ".partial.csv" if args.out.endswith(".parquet") else None
    apart({"out": args.out, "out (its journal)": journal},
          {f"data ({d})" if len(args.data) > 1 else "data": d for d in args.data})
    train_kwargs = {"epochs": args.epochs} if args.epochs else None
    with _sigterm_as_interrupt():
        table = sweep(args.data, args.lam, args.margin, args.seeds, n=args.n,
                      neural=args.neural, out=args.out, scheduler=args.scheduler,
                      workers=args.workers, progress=not args.quiet,
                      radii=args.radii or DEFAULT_RADII, checks=not args.no_checks,
                      train_kwargs=train_kwargs, retry_errors=args.retry_errors)
    errors = [r for r in table if r.get("error")]
    failed = [r for r in table if not r.get("error") and r.get("checks_failed")]
    if not args.quiet:
        print(trade_off_table(table))
        if args.neural:
            print("\nnetwork:")
            print(trade_off_table(table, prefix="nn_"))
    print(f"{len(table)} rows in {args.out}; {len(errors)} with errors, "
          f"{len(failed)} with failed checks")
    for r in errors[:5]:
        print(f"  error data={r['data']} lam={r['lam']:g} margin={r['margin']:g} "
              f"seed={r['seed']}: {r['error']}", file=sys.stderr)
    return 1 if errors else 0
