"""Where the runs of a sweep execute: this process, local worker processes (each run in its own
single-worker pool forked from a warm forkserver), or a Dask cluster.  Each back-end yields the
rows as they finish; a run that kills its worker is recorded as an error row."""
from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from ..errors import InputError
from .grid import Row, Runner, SweepConfig, _one_line, run_safe
from .signals import _die_with_parent

#: environment variable naming a Dask scheduler address
SCHEDULER_ENV = "OTREG_SCHEDULER"


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
