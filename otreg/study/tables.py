"""Sweep tables on disk: CSV (appended row by row, resumable) or parquet, read back with typed
values, one row per combination, columns in reading order; the journal that appends rows and
the lock that keeps two sweeps off one table."""
from __future__ import annotations

import contextlib
import csv
import io
import os
import socket
import time
from typing import Any, Iterable

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: sweeps are not locked
    fcntl = None

import numpy as np

from ..errors import InputError
from .grid import KEY_COLUMNS, Row

__all__ = ["dedupe_rows", "order_columns", "read_table", "row_key"]

_FIRST_COLUMNS = KEY_COLUMNS + (
    "error", "method", "loss", "w1", "mass", "extra_mass", "gap", "acc_clean",
)


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (float, np.floating)):
        return repr(float(v))           # shortest round-trip representation
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


_TYPED = {"data": str, "method": str, "error": str}


def _parse(col: str, s: str) -> Any:
    if col in _TYPED:
        return s
    if s == "":
        return None
    if s in ("True", "False"):
        return s == "True"
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def _parse_row(raw: dict) -> Row:
    row = {k: _parse(k, v if v is not None else "") for k, v in raw.items() if k is not None}
    # key columns keep their types even if written as e.g. "1" for a float lam
    for k, typ in zip(KEY_COLUMNS, (str, int, float, float, int, bool)):
        if row.get(k) is not None and k != "data":
            row[k] = typ(row[k])
    return row


def row_key(row: Row) -> tuple:
    """The combination a row belongs to (see :data:`KEY_COLUMNS`)."""
    neural = row["neural"]
    if isinstance(neural, str):
        neural = neural == "True"
    return (str(row["data"]), int(row["n"]), float(row["lam"]), float(row["margin"]),
            int(row["seed"]), bool(neural))


def _not_a_table(what: str, path: str, why: str) -> InputError:
    return InputError(f"{what}: {path} exists and is not a sweep table ({why}); remove it or "
                      "choose another file")


def _read_csv_text(path: str, what: str = "out") -> tuple[list[str], list[Row], bool]:
    """(header, parsed rows, repaired): drops a trailing line cut by an interruption and rows
    whose field count does not match the header.

    A file that is not a sweep table — binary, not UTF-8, or whose first line is not a header
    with every key column — raises :class:`InputError` (``what`` names the argument): a sweep
    never appends to, or overwrites, somebody else's file.  An empty file is an empty table.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputError(f"{what}: cannot read {path} ({exc.strerror or exc})") from None
    if b"\0" in raw:
        raise _not_a_table(what, path, "a binary file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_a_table(what, path, "not UTF-8 text") from None
    if not text.strip():
        return [], [], bool(text)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = next(csv.reader([first]), [])
    missing = [k for k in KEY_COLUMNS if k not in header]
    if missing:
        raise _not_a_table(what, path, f"its first line has no column {missing[0]!r}; a sweep "
                                       f"table starts with the columns {', '.join(KEY_COLUMNS)}")
    repaired = False
    if not text.endswith("\n"):  # a line cut by a kill (the header is written atomically)
        text = text[: text.rfind("\n") + 1]
        repaired = True
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader)
    rows = []
    for fields in reader:
        if len(fields) != len(header):
            repaired = True
            continue
        try:
            row = _parse_row(dict(zip(header, fields)))
            row_key(row)
        except (TypeError, ValueError):
            repaired = True
            continue
        rows.append(row)
    return header, rows, repaired


def _read_parquet(path: str, what: str) -> list[Row]:
    pq = _pyarrow(what)
    try:
        table = pq.read_table(path)
    except OSError as exc:  # pyarrow's ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise InputError(f"{what}: cannot read {path} as parquet ({exc})") from None
    except ValueError as exc:
        raise _not_a_table(what, path, f"not a parquet file: {exc}") from None
    missing = [k for k in KEY_COLUMNS if k not in table.column_names]
    if missing:
        raise _not_a_table(what, path, f"no column {missing[0]!r}")
    return [_parse_row({k: _fmt(v) for k, v in r.items()}) for r in table.to_pylist()]


def read_table(path: str | os.PathLike, what: str = "table") -> list[Row]:
    """Rows of a sweep table (CSV or parquet) as dicts with typed values (None = empty), one
    per combination (see :func:`dedupe_rows`).  A missing file or one that is not a sweep
    table raises :class:`InputError` starting with ``what``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"{what}: {path}: " + ("is a directory" if os.path.isdir(path)
                                                else "file not found"))
    if path.endswith(".parquet"):
        return dedupe_rows(_read_parquet(path, what))
    return dedupe_rows(_read_csv_text(path, what)[1])


def dedupe_rows(rows: Iterable[Row]) -> list[Row]:
    """One row per combination (:func:`row_key`), in first-seen order: the first row without
    an error, else the first row.  Rows without the key columns are kept as they are.

    Tables written by otreg never hold a combination twice; this protects summaries against
    files merged or written by older versions (where two concurrent sweeps could both run a
    combination)."""
    out: dict[Any, Row] = {}
    for i, r in enumerate(rows):
        try:
            key = row_key(r)
        except (KeyError, TypeError, ValueError):
            key = ("__row", i)
        if key not in out or (out[key].get("error") and not r.get("error")):
            out[key] = r
    return list(out.values())


def order_columns(cols: Iterable[str]) -> list[str]:
    """Sweep-table columns in reading order: key, solution, accuracies (by radius), other,
    network, checks, times."""
    cols = list(dict.fromkeys(cols))
    first = [c for c in _FIRST_COLUMNS if c in cols]
    rest = [c for c in cols if c not in first]
    acc = sorted([c for c in rest if "acc_" in c and not c.startswith("nn_")], key=_acc_order)
    nn = [c for c in rest if c.startswith("nn_") or c == "train_seconds"]
    nn = sorted(nn, key=lambda c: (("acc_" in c), _acc_order(c) if "acc_" in c else (0, c)))
    acc += [c for c in rest if c == "mean_radius"]
    checks = sorted(c for c in rest if c.startswith("check"))
    secs = sorted(c for c in rest if c.endswith("seconds") and c not in nn)
    other = [c for c in rest if c not in acc + nn + checks + secs]
    return first + acc + other + nn + checks + secs


def _acc_order(c: str) -> tuple:
    tail = c.rsplit("acc_", 1)[1]
    if tail == "clean":
        return (0, 0.0)
    try:
        return (1, float(tail.split("_", 1)[1]))
    except (IndexError, ValueError):
        return (2, tail)


class _CsvJournal:
    """Append-only CSV writer: one flushed (and fsync'ed) line per row; the header grows by a
    rewrite when a row brings new columns."""

    def __init__(self, path: str, header: list[str], rows: list[Row]) -> None:
        self.path = path
        self.header = list(header)
        self.rows = list(rows)          # everything in the file, parsed

    def _rewrite(self) -> None:
        tmp = f"{self.path}.tmp{os.getpid()}"
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(self.header)
            for r in self.rows:
                w.writerow([_fmt(r.get(c)) for c in self.header])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def append(self, row: Row) -> None:
        self.rows.append(row)
        new = [c for c in row if c not in self.header]
        if new or not os.path.exists(self.path):
            self.header = order_columns(self.header + new)
            self._rewrite()
            return
        with open(self.path, "a", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerow([_fmt(row.get(c)) for c in self.header])
            fh.flush()
            os.fsync(fh.fileno())


def _pyarrow(what: str = "out"):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{what}: parquet tables need pyarrow (pip install 'otreg[parquet]'); "
                         "use a .csv file instead") from None
    return pq


def _write_parquet(path: str, rows: list[Row]) -> None:
    pq = _pyarrow()
    import pyarrow as pa

    cols = order_columns([c for r in rows for c in r])
    table = pa.table({c: [r.get(c) for r in rows] for c in cols})
    tmp = f"{path}.tmp{os.getpid()}"
    pq.write_table(table, tmp)
    os.replace(tmp, path)


class _TableLock:
    """An exclusive lock on an output table for the duration of one sweep: ``flock`` on
    ``<table>.lock``, which names its holder.  A second sweep on the same table fails at once
    with an :class:`InputError` instead of running (and writing) combinations twice."""

    def __init__(self, table: str) -> None:
        self.table, self.path, self.fh = table, table + ".lock", None

    def __enter__(self) -> _TableLock:
        if fcntl is None:  # pragma: no cover
            return self
        while True:
            try:
                fh = open(self.path, "a+", encoding="utf-8")
            except OSError as exc:
                raise InputError(f"out: cannot create the lock file {self.path} "
                                 f"({exc.strerror or exc})") from None
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.seek(0)
                holder = fh.read().strip() or "another process"
                fh.close()
                raise InputError(f"out: another sweep ({holder}) is writing to {self.table}; "
                                 "wait for it to finish, or write to another file") from None
            try:  # the previous holder may have removed the file after we opened it
                same = os.fstat(fh.fileno()).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            fh.close()
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()} since "
                 f"{time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        fh.flush()
        self.fh = fh
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.fh is not None:
            with contextlib.suppress(OSError):
                os.remove(self.path)
            self.fh.close()
            self.fh = None
