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
import os
import sys
from typing import Any, Iterable

from tqdm.auto import tqdm

from ..data.paths import output_file, outputs_apart_from_inputs
from ..data.validate import as_int
from ..errors import InputError
from ..metrics import DEFAULT_RADII
from .backends import SCHEDULER_ENV, _backend
from .grid import Row, Runner, SweepConfig, make_configs
from .signals import _watch_sigint
from .tables import (_CsvJournal, _fmt, _parse_row, _pyarrow, _read_csv_text, _read_parquet,
                     _TableLock, _write_parquet, dedupe_rows, order_columns, row_key)

__all__ = ["sweep"]


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
    journal_path, parquet_out = _output_paths(out, {c.data for c in configs})
    lock = _TableLock(parquet_out or journal_path) if journal_path else contextlib.nullcontext()
    with lock, _watch_sigint():
        by_key, journal = _resume(journal_path, parquet_out, configs, retry_errors)
        todo = [c for c in configs if c.key() not in by_key]
        results = _run_all(todo, runner, scheduler, workers, progress, journal, by_key,
                           len(configs))
        if journal is not None:
            final = (_read_csv_text(journal_path)[1] if os.path.exists(journal_path)
                     else journal.rows)
            final = [r for r in final if not r.get("_foreign")]
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


def _output_paths(out: Any, datasets: set[str]) -> tuple[str | None, str | None]:
    """``(journal, parquet)``: the CSV appended to row by row, and the parquet file written at
    the end (``None`` when not asked for); neither may be one of the data files."""
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
    outputs_apart_from_inputs({"out": out, "out (its journal)": journal if parquet else None},
                              {f"datasets ({d})": d for d in datasets})
    return journal, parquet


def _resume(journal_path: str | None, parquet_out: str | None, configs: list[SweepConfig],
            retry_errors: bool) -> tuple[dict[tuple, Row], _CsvJournal | None]:
    """Rows already done (by key, see :func:`dedupe_rows`) and the journal to append to.

    A line cut by a kill, duplicates and rows to retry are dropped by rewriting the file; rows
    whose key does not parse stay in it as they were (:func:`_csv_rows`)."""
    existing, header, repaired = [], [], False
    if parquet_out and os.path.exists(parquet_out):
        existing = _read_parquet(parquet_out, "out")
    if journal_path and os.path.exists(journal_path):
        header, rows, repaired = _read_csv_text(journal_path, "out")
        existing += rows
    foreign = [r for r in existing if r.get("_foreign")]
    existing = [r for r in existing if not r.get("_foreign")]
    by_key = {row_key(r): r for r in dedupe_rows(existing)}
    if retry_errors:
        wanted = {c.key() for c in configs}
        by_key = {k: r for k, r in by_key.items() if not (k in wanted and r.get("error"))}
    if not journal_path:
        return by_key, None
    kept = list(by_key.values()) + foreign
    journal = _CsvJournal(journal_path, header, kept)
    if repaired or len(kept) != len(existing) + len(foreign):
        if kept:
            journal.header = order_columns(header + [c for r in kept for c in r
                                                     if c != "_foreign"])
            journal._rewrite()
        elif os.path.exists(journal_path):
            os.remove(journal_path)
            journal.header = []
    return by_key, journal
