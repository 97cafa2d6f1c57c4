"""Robustness sweeps: one verified hKR solve per (data, λ, margin, seed), tabulated.

:func:`sweep` runs :func:`run_one` on every combination of the parameter lists and writes one
row per combination to a CSV (or parquet) file:

* the key columns :data:`KEY_COLUMNS` (``data, n, lam, margin, seed, neural``);
* the exact solution: ``loss`` (min of L), ``w1``, ``mass``, ``extra_mass``, ``gap``,
  ``method``, and — computed here from the exact potential f on the samples — the clean
  accuracy ``acc_clean`` (share of samples with y f(x) > 0) and the certified accuracies
  ``acc_cert_<eps>`` (share with y f(x) > eps; a valid certificate because f is 1-Lipschitz,
  so no perturbation shorter than eps can flip the sign of f at those samples);
* with ``neural=True``, the same quantities for the trained network (``nn_`` prefix) and the
  training gap ``nn_gap = nn_loss - loss`` (>= 0 up to rounding: the LP value is the minimum);
* every check of :func:`otreg.verify.verify` (``check_<name>`` pass flag, empty when the
  check was not applicable to the data, and ``check_<name>_value``), ``checks_failed`` (their
  count), ``checks_na`` (the number not applicable) and ``checks_passed``;
* wall times (columns ending in ``seconds``) and ``error``: a combination that raises records
  ``"ExceptionType: message"`` there instead of stopping the sweep.

Runs are deterministic: the data of a combination are drawn with its ``seed`` and the network
is trained with the same seed, so the rows (all but the timing columns) are identical from run
to run and between the serial, process-pool and Dask back-ends.

Resuming: the output file is appended to and flushed after each row; when it already exists,
combinations whose key is in it are skipped (a line cut by a kill is dropped), so an
interrupted sweep loses nothing and duplicates nothing.
"""
from __future__ import annotations

import contextlib
import csv
import ctypes
import io
import math
import multiprocessing as mp
import os
import signal
import socket
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux/macOS: sweeps are not locked
    fcntl = None

import numpy as np
from tqdm.auto import tqdm

from ..data.toys import load_data
from ..data.validate import as_int, as_number, output_file
from ..errors import InputError, caused_by_interrupt
from ..metrics import DEFAULT_RADII, accuracies
from ..nn import fit
from ..problem import Problem
from ..transport import hkr_transport, wasserstein1
from ..verify import verify
from .path import exact_columns

#: a sweep row: column name -> value
Row = dict[str, Any]
#: what runs one combination (default :func:`run_one`)
Runner = Callable[["SweepConfig"], Row]

#: the columns identifying a combination (a row's key)
KEY_COLUMNS = ("data", "n", "lam", "margin", "seed", "neural")
#: environment variable naming a Dask scheduler address
SCHEDULER_ENV = "OTREG_SCHEDULER"

_FIRST_COLUMNS = KEY_COLUMNS + (
    "error", "method", "loss", "w1", "mass", "extra_mass", "gap", "acc_clean",
)


# ------------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class SweepConfig:
    """One combination of a sweep (picklable; everything :func:`run_one` needs)."""

    data: str
    n: int
    lam: float
    margin: float
    seed: int
    neural: bool = False
    radii: tuple = DEFAULT_RADII
    checks: bool = True
    train_kwargs: tuple = ()          # sorted (name, value) pairs for otreg.nn.fit

    def key(self) -> tuple:
        return (str(self.data), int(self.n), float(self.lam), float(self.margin),
                int(self.seed), bool(self.neural))

    def key_dict(self) -> Row:
        return dict(zip(KEY_COLUMNS, self.key()))


def _as_list(values: Any, name: str) -> list:
    if values is None:
        raise InputError(f"{name}: at least one value is needed")
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise InputError(f"{name}: at least one value is needed")
    return values


def _unique(seq: Iterable) -> list:
    out = []
    for x in seq:
        if x not in out:
            out.append(x)
    return out


def make_configs(datasets: Any, lams: Any, margins: Any, seeds: Any, n: int = 500,
                 neural: bool = False, radii: Iterable[float] = DEFAULT_RADII,
                 checks: bool = True, train_kwargs: dict | None = None) -> list[SweepConfig]:
    """All combinations, in the order data, λ, margin, seed (duplicates removed).

    ``lams`` must be >= 0, ``margins`` > 0, ``seeds`` integers >= 0, ``n`` >= 2.  Data names
    are passed unchanged to :func:`otreg.data.toys.load_data` (toy names or data files); they
    are validated when the combination runs, so a bad one records its error in its row.
    """
    datasets = [str(d).strip() for d in _as_list(datasets, "datasets")]
    if any(not d for d in datasets):
        raise InputError("datasets: empty data name")
    lams = [as_number(x, "lam", 0.0) for x in _as_list(lams, "lams")]
    margins = [as_number(x, "margin", 0.0, strict=True) for x in _as_list(margins, "margins")]
    seeds = [as_int(x, "seed") for x in _as_list(seeds, "seeds")]
    n = as_int(n, "n", 2)
    radii = tuple(sorted({as_number(r, "radius", 0.0) for r in _as_list(radii, "radii")}))
    tk = tuple(sorted((train_kwargs or {}).items()))
    return [SweepConfig(d, n, lam, mg, s, bool(neural), radii, bool(checks), tk)
            for d in _unique(datasets) for lam in _unique(lams) for mg in _unique(margins)
            for s in _unique(seeds)]


# ------------------------------------------------------------------------------ one run
def _check_columns(checks: list[dict]) -> Row:
    """Columns of a list of check dicts ``{"name", "passed", "value", ...}``."""
    out = {}
    failed = na = 0
    for c in checks:
        name = "".join(ch if ch.isalnum() else "_" for ch in str(c["name"]).lower()).strip("_")
        passed = None if c["passed"] is None else bool(c["passed"])   # None: n/a
        failed += passed is False
        na += passed is None
        out[f"check_{name}"] = passed
        try:
            out[f"check_{name}_value"] = float(c["value"])
        except (TypeError, ValueError):
            out[f"check_{name}_value"] = float("nan")
    out["checks_failed"] = failed
    out["checks_na"] = na
    out["checks_passed"] = failed == 0
    return out


def run_one(config: SweepConfig) -> Row:
    """Solve, (train,) verify and measure one combination; returns its row (a flat dict).

    Raises on failure; :func:`sweep` turns exceptions into the row's ``error`` column.
    """
    t0 = time.perf_counter()
    x_pos, x_neg, a, b = load_data(config.data, n=config.n, seed=config.seed)
    pr = Problem(x_pos, x_neg, config.lam, config.margin, a, b)
    row = config.key_dict()
    row["n_pos"], row["n_neg"] = pr.n, pr.m
    train = None
    if config.neural:
        train = fit(pr, **{"seed": config.seed, "progress": False, **dict(config.train_kwargs)})

    report = None
    verify_error = ""
    if config.checks:
        try:
            report = verify(pr, model=train.model if train else None, seed=config.seed,
                            neural=False)
        except Exception as exc:  # keep the measurements, record the failure
            _reraise_interrupt(exc)
            verify_error = f"verify: {type(exc).__name__}: {exc}"
    res = report.result if report is not None else hkr_transport(pr)
    row["w1"] = float(report.w1 if report is not None else wasserstein1(pr))
    row.update(exact_columns(res, config.radii))
    if train is not None:
        nf_pos, nf_neg = train.model.predict(pr.x_pos), train.model.predict(pr.x_neg)
        nn_loss = pr.loss(nf_pos, nf_neg)
        row.update(nn_loss=nn_loss, nn_gap=nn_loss - float(res.loss),
                   nn_epochs=int(train.epochs_run), train_seconds=float(train.seconds))
        row.update(accuracies(pr, nf_pos, nf_neg, config.radii, prefix="nn_"))
    if report is not None:  # the checks alone: Report.to_dict would re-evaluate the network
        row.update(_check_columns([c.to_dict() for c in report.checks]))
    row["error"] = verify_error
    row["seconds"] = time.perf_counter() - t0
    return row


#: set by :func:`_watch_sigint` when Ctrl-C arrives during a sweep in the main thread
_SIGINT_SEEN = threading.Event()


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` hides a Ctrl-C (:func:`otreg.errors.caused_by_interrupt`), or one
    arrived during the run (:func:`_watch_sigint`)."""
    return caused_by_interrupt(exc) or _SIGINT_SEEN.is_set()


def _reraise_interrupt(exc: Exception) -> None:
    """Turn an exception that hides a Ctrl-C back into a KeyboardInterrupt."""
    if _interrupted(exc):
        raise KeyboardInterrupt(f"interrupted ({type(exc).__name__})") from exc


@contextlib.contextmanager
def _watch_sigint() -> Iterator[None]:
    """Note every Ctrl-C during the sweep (then let the previous handler raise as usual), so
    that a run which swallowed it is not recorded.  Only in the main thread, and only when a
    Python handler is installed."""
    _SIGINT_SEEN.clear()
    prev = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(prev):
        yield
        return

    def handler(signum, frame):
        _SIGINT_SEEN.set()
        prev(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, prev)
        _SIGINT_SEEN.clear()


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_safe(config: SweepConfig, runner: Runner | None = None) -> Row:
    """``runner(config)`` (default :func:`run_one`) with exceptions recorded in ``error``."""
    runner = run_one if runner is None else runner
    t0 = time.perf_counter()
    try:
        row = dict(runner(config))
    except Exception as exc:
        _reraise_interrupt(exc)
        row = config.key_dict()
        row["error"] = _one_line(f"{type(exc).__name__}: {exc}")
        row["seconds"] = time.perf_counter() - t0
        return row
    if _SIGINT_SEEN.is_set():              # Ctrl-C was swallowed somewhere inside the run
        raise KeyboardInterrupt
    row.update(config.key_dict())          # the key columns always describe the combination
    row["error"] = _one_line(row.get("error") or "")
    return row


# ------------------------------------------------------------------------------ table I/O
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


# ------------------------------------------------------------------------------ back-ends
def _serial(todo: list[SweepConfig], runner: Runner | None) -> Iterator[Row]:
    for cfg in todo:
        yield run_safe(cfg, runner)


def _pool_context():
    """Workers are forked from a clean "forkserver" process that has imported otreg and loaded
    the compiled solver once (nothing inherited from the caller's threads or state); "spawn"
    where there is no forkserver."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["otreg.study._preload"])
        return ctx
    return mp.get_context("spawn")


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (``prctl(PR_SET_PDEATHSIG)``).

    Called in the forkserver (whose parent is the sweeping process) and in every worker (whose
    parent is the forkserver): a ``kill -9`` of the sweep then takes the forkserver and the
    workers with it, and the resource tracker, left without clients, exits too.  Elsewhere a
    no-op (the pools are still terminated on Ctrl-C and SIGTERM by the sweep itself)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if os.getppid() == 1:  # the parent died before prctl: nobody will collect our results
        os._exit(1)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now (interrupted sweep): kill its worker, drop its queue."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        try:
            proc.terminate()
        except Exception:  # pragma: no cover - already gone
            pass
    pool.shutdown(wait=False, cancel_futures=True)


def _processes(todo: list[SweepConfig], runner: Runner | None,
               workers: int) -> Iterator[Row]:
    """Run each combination in its own single-worker ProcessPoolExecutor, ``workers`` at a
    time.  A worker forked from the warm forkserver costs little, and a run that kills its
    process (out of memory, a crash in compiled code, ``kill``) only takes down its own pool:
    it is recorded as an error and the others go on."""
    ctx = _pool_context()
    queue = iter(todo)
    live = {}

    def start():
        cfg = next(queue, None)
        if cfg is None:
            return
        pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_die_with_parent)
        live[pool.submit(run_safe, cfg, runner)] = (cfg, pool)

    finished = False
    try:
        for _ in range(workers):
            start()
        while live:
            done, _ = wait(list(live), return_when=FIRST_COMPLETED)
            for fut in done:
                cfg, pool = live.pop(fut)
                try:
                    row = fut.result()
                except BrokenProcessPool as exc:
                    row = cfg.key_dict()
                    row["error"] = _one_line(f"worker died: {type(exc).__name__}: {exc}")
                pool.shutdown(wait=True)
                start()
                yield row
        finished = True
    finally:
        if not finished:
            for _, pool in live.values():
                _terminate(pool)


def _dask(todo: list[SweepConfig], runner: Runner | None, scheduler: Any) -> Iterator[Row]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise InputError("scheduler: running on a Dask cluster needs dask.distributed "
                         "(pip install 'otreg[dask]')") from None
    own = not isinstance(scheduler, Client)
    if own:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"scheduler: cannot connect to the Dask scheduler {scheduler!r} "
                             f"({type(exc).__name__}: {exc}); check the address or unset "
                             f"${SCHEDULER_ENV}") from None
    else:
        client = scheduler
    try:
        futures = {}
        for cfg in todo:
            fut = client.submit(run_safe, cfg, runner, pure=False)
            futures[fut] = cfg
        try:
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:  # KilledWorker, lost connection: record and go on
                    row = futures[fut].key_dict()
                    row["error"] = _one_line(f"dask: {type(exc).__name__}: {exc}")
                    yield row
        finally:
            for fut in futures:
                fut.cancel()
    finally:
        if own:
            client.close()


# ------------------------------------------------------------------------------ the sweep
def sweep(datasets: Any, lams: Any, margins: Any, seeds: Any, n: int = 500, neural: bool = False,
          out: Any = None, scheduler: Any = None, workers: int | None = None,
          progress: bool = True, *, radii: Iterable[float] = DEFAULT_RADII, checks: bool = True,
          train_kwargs: dict | None = None, retry_errors: bool = False,
          runner: Runner | None = None) -> list[Row]:
    """Run every (data, λ, margin, seed) combination and tabulate the results.

    Parameters
    ----------
    datasets : str or list of str
        Toy names (``otreg.data.toys.list_toys()``) or data files.
    lams, margins, seeds : lists
        λ >= 0, margins > 0, integer seeds >= 0 (the data and the network use the seed).
    n : int
        Samples per class for toy data.
    neural : bool
        Also train a 1-Lipschitz network per combination (``train_kwargs`` go to
        :func:`otreg.nn.fit`) and report its loss, gap and accuracies.
    out : path, optional
        ``.csv`` (appended row by row, resumable) or ``.parquet`` (needs pyarrow; the rows are
        journaled in ``<out>.partial.csv`` and the parquet file is written at the end).
        Combinations already in the file are skipped.
    scheduler : str or dask.distributed.Client, optional
        Run on this Dask cluster (default: the ``OTREG_SCHEDULER`` environment variable).
        Otherwise runs on local processes.
    workers : int, optional
        Local worker processes (default: the number of cores, at most the number of runs;
        1 runs in this process).
    progress : bool
        tqdm progress bar (runs done, ETA).
    radii : floats
        Radii of the certified accuracies.
    checks : bool
        Run :func:`otreg.verify.verify` on each combination (default) and record its checks.
    retry_errors : bool
        Re-run combinations whose existing row has an error (the old row is replaced).
    runner : callable, optional
        ``runner(config) -> dict`` replacing :func:`run_one` (must be picklable by reference
        for the parallel back-ends).

    Returns
    -------
    list of dict
        One row per requested combination, in the order data, λ, margin, seed, with the values
        as read back from the table (so identical whether fresh or resumed).

    Notes
    -----
    A row is identified by :data:`KEY_COLUMNS` only: re-running with other ``radii``,
    ``checks`` or ``train_kwargs`` keeps the existing rows, so write to a new file when
    changing those.  With a scheduler, ``workers`` is ignored (the cluster decides).
    """
    configs = make_configs(datasets, lams, margins, seeds, n=n, neural=neural, radii=radii,
                           checks=checks, train_kwargs=train_kwargs)
    if workers is not None:
        workers = as_int(workers, "workers", 1)
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV) or None
    journal_path, parquet_out = _output_paths(out)
    lock = _TableLock(parquet_out or journal_path) if journal_path else contextlib.nullcontext()
    with lock, _watch_sigint():
        by_key, journal = _resume(journal_path, parquet_out, configs, retry_errors)
        todo = [c for c in configs if c.key() not in by_key]
        results = _run_all(todo, runner, scheduler, workers, progress, journal, by_key,
                           len(configs))
        if journal is not None:
            final = (_read_csv_text(journal_path)[1] if os.path.exists(journal_path)
                     else journal.rows)
            if parquet_out:
                _write_parquet(parquet_out, final)
                os.remove(journal_path)
            results = {row_key(r): r for r in dedupe_rows(final)}
        else:
            # no file: give the same typed values a file round trip would
            results = {k: _parse_row({c: _fmt(v) for c, v in r.items()})
                       for k, r in results.items()}
    return [results[c.key()] for c in configs if c.key() in results]


def _run_all(todo: list[SweepConfig], runner: Runner | None, scheduler: Any,
             workers: int | None, progress: bool, journal: _CsvJournal | None,
             done: dict[tuple, Row], total: int) -> dict[tuple, Row]:
    """Run ``todo`` on the chosen back-end, appending each row to ``journal`` as it comes;
    returns every row by key (``done`` plus the new ones)."""
    rows_iter, backend = _backend(todo, runner, scheduler, workers)
    bar = tqdm(total=len(todo), desc=f"sweep ({backend})", unit="run", disable=not progress,
               dynamic_ncols=True, file=sys.stderr)
    if progress and total > len(todo):
        bar.write(f"sweep: {total - len(todo)} of {total} runs already in "
                  f"{journal.path if journal else 'the table'}, {len(todo)} to go")
    results = dict(done)
    n_err = 0
    try:
        for row in rows_iter:
            if journal is not None:
                journal.append(row)
            results[row_key(row)] = row
            n_err += bool(row.get("error"))
            bar.update(1)
            if n_err:
                bar.set_postfix(errors=n_err)
    finally:
        bar.close()
        if hasattr(rows_iter, "close"):
            rows_iter.close()
    return results


def _output_paths(out: Any) -> tuple[str | None, str | None]:
    """``(journal, parquet)``: the CSV appended to row by row, and the parquet file written at
    the end (``None`` when not asked for)."""
    if out is None:
        return None, None
    out = os.fspath(out)
    if out.endswith(".parquet"):
        _pyarrow()                          # fail now, not after hours of runs
        journal, parquet = out + ".partial.csv", out
    elif out.endswith(".csv"):
        journal, parquet = out, None
    else:
        raise InputError(f"out: expected a .csv or .parquet file, got {out!r}")
    output_file(out, "out")
    if parquet:
        output_file(journal, "out")
    return journal, parquet


def _resume(journal_path: str | None, parquet_out: str | None, configs: list[SweepConfig],
            retry_errors: bool) -> tuple[dict[tuple, Row], _CsvJournal | None]:
    """Rows already done (by key, see :func:`dedupe_rows`) and the journal to append to.

    A line cut by a kill, duplicates and rows to retry are dropped by rewriting the file."""
    existing, header, repaired = [], [], False
    if parquet_out and os.path.exists(parquet_out):
        existing = _read_parquet(parquet_out, "out")
    if journal_path and os.path.exists(journal_path):
        header, rows, repaired = _read_csv_text(journal_path, "out")
        existing += rows
    by_key = {row_key(r): r for r in dedupe_rows(existing)}
    if retry_errors:
        wanted = {c.key() for c in configs}
        by_key = {k: r for k, r in by_key.items() if not (k in wanted and r.get("error"))}
    if not journal_path:
        return by_key, None
    kept = list(by_key.values())
    journal = _CsvJournal(journal_path, header, kept)
    if repaired or len(kept) != len(existing):
        if kept:
            journal.header = order_columns(header + [c for r in kept for c in r])
            journal._rewrite()
        elif os.path.exists(journal_path):
            os.remove(journal_path)
            journal.header = []
    return by_key, journal


def _backend(todo: list[SweepConfig], runner: Runner | None, scheduler: Any,
             workers: int | None) -> tuple[Iterator[Row], str]:
    """The rows of ``todo`` as they finish, and the back-end's name: a Dask cluster when a
    scheduler is given, else ``workers`` local processes (default: the cores), or this
    process for one."""
    if scheduler is not None:
        return (_dask(todo, runner, scheduler) if todo else iter(())), "dask"
    k = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    if k == 1:
        return _serial(todo, runner), "serial"
    return _processes(todo, runner, k), f"{k} processes"


# ------------------------------------------------------------------------------ summaries
def _finite(values: Iterable) -> list[float]:
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def summarize(table: Any, metrics: list[str] | None = None,
              by: tuple[str, ...] = ("data", "neural", "margin", "n", "lam")) -> list[Row]:
    """Mean and standard deviation over seeds (one row per combination, see
    :func:`dedupe_rows`; rows with an error are left out).

    Returns one dict per group (sorted) with the ``by`` columns, ``runs`` (rows averaged) and
    ``<metric>_mean`` / ``<metric>_std`` (population std; 0 for a single seed).  ``metrics``
    default to the accuracy columns, ``loss`` and ``mass``.
    """
    rows = read_table(table) if isinstance(table, (str, os.PathLike)) else dedupe_rows(table)
    rows = [r for r in rows if not r.get("error")]
    if metrics is None:
        cols = order_columns([c for r in rows for c in r])
        metrics = ["loss", "mass"] + [c for c in cols if "acc_" in c]
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r.get(b) for b in by), []).append(r)
    out = []
    for key in sorted(groups, key=lambda k: tuple((v is None, v) for v in k)):
        g = groups[key]
        s = dict(zip(by, key))
        s["runs"] = len(g)
        for mcol in metrics:
            vals = _finite(r.get(mcol) for r in g)
            s[f"{mcol}_mean"] = float(np.mean(vals)) if vals else float("nan")
            s[f"{mcol}_std"] = float(np.std(vals)) if vals else float("nan")
        out.append(s)
    return out


def trade_off_table(table: Any, prefix: str = "", digits: int = 3) -> str:
    """Markdown table of the robustness / accuracy trade-off: for each data set and margin,
    clean and certified accuracies (mean ± std over seeds) against λ.  ``prefix="nn_"`` gives
    the network's columns."""
    rows = read_table(table) if isinstance(table, (str, os.PathLike)) else dedupe_rows(table)
    rows = [r for r in rows if not r.get("error")]
    acc = [c for c in order_columns([c for r in rows for c in r])
           if c.startswith(prefix + "acc_") and (prefix or not c.startswith("nn_"))]
    if not acc:
        return "(no rows)"
    radius = [c for c in (prefix + "mean_radius",) if any(c in r for r in rows)]
    # the exact solution: min L and the plan's mass; the network: its loss and gap to min L
    base = ["loss", "mass"] if not prefix else [prefix + "loss", prefix + "gap"]
    summ = summarize(rows, metrics=base + radius + acc, by=("data", "margin", "n", "lam"))
    head = ["data", "margin", "λ", "runs"] + (["min L", "mass"] if not prefix else
                                             ["L(network)", "gap to min L"]) + [
        "mean radius"] * len(radius) + [
        "clean" if c.endswith("clean") else "ε=" + c.rsplit("_", 1)[1] for c in acc]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in summ:
        cells = [str(s["data"]), f"{s['margin']:g}", f"{s['lam']:g}", str(s["runs"])]
        for mcol in base + radius + acc:
            mu, sd = s[f"{mcol}_mean"], s[f"{mcol}_std"]
            cells.append(f"{mu:.{digits}f} ± {sd:.{digits}f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
