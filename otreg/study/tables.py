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

from ..data.paths import atomic_file
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
    """(header, parsed rows, repaired), read tolerantly (:func:`_csv_rows`).

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
    return _csv_rows(text, header)


def _csv_rows(text: str, header: list[str]) -> tuple[list[str], list[Row], bool]:
    """The rows of a sweep table's text, none lost: a row shorter than the header (columns
    added to the header by hand) has empty cells, a longer one keeps its extra cells in
    columns ``column_<k>`` (k counted from 1), a row whose key does not parse is kept with
    its cells as text (``_foreign``: rewritten as it was, never counted as a combination), and
    a last row without its final newline (stripped by an editor) counts like the others.

    Only a last line cut by a kill — no final newline, and fewer cells than both the header
    and the row before it — is dropped.  ``repaired`` says that a rewrite would change the
    file (such a cut line, a missing final newline, extra cells)."""
    lines = list(csv.reader(io.StringIO(text, newline="")))[1:]
    repaired = not text.endswith("\n")
    if repaired and lines:
        previous = len(lines[-2]) if len(lines) > 1 else len(header)
        if len(lines[-1]) < min(len(header), previous):
            lines.pop()
    header = list(header)
    rows = []
    for fields in lines:
        if not any(f.strip() for f in fields):
            continue
        extra = [f"column_{k + 1}" for k in range(len(header), len(fields))]
        if extra:
            header += [c for c in extra if c not in header]
            repaired = True
        raw = dict(zip(header, fields))
        try:
            row = _parse_row(raw)
            row_key(row)
        except (KeyError, TypeError, ValueError):
            row = dict(raw, _foreign=True)
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
    return dedupe_rows([r for r in _read_csv_text(path, what)[1] if not r.get("_foreign")])


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
        with atomic_file(self.path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(self.header)
            for r in self.rows:
                w.writerow([_fmt(r.get(c)) for c in self.header])

    def append(self, row: Row) -> None:
        self.rows.append(row)
        new = [c for c in row if c not in self.header]
        if new or not os.path.exists(self.path):
            self.header = order_columns(self.header + new)
            self._rewrite()
            return
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow([_fmt(row.get(c)) for c in self.header])
        with open(self.path, "ab+") as fh:
            # a table whose last newline was removed (by an editor) gets it back first
            size = fh.seek(0, os.SEEK_END)
            if size:
                fh.seek(size - 1)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line.getvalue().encode("utf-8"))
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
    with atomic_file(path) as fh:
        pq.write_table(table, fh)


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
