"""Signals during a sweep: Ctrl-C noticed even where compiled code or a library swallows it,
and worker processes that die with the sweeping process."""
from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from typing import Iterator

from ..errors import caused_by_interrupt

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
