"""Ctrl-C within a second, whatever is running: the ``otreg`` command runs in a child process
that a small parent waits for.

Compiled code — HiGHS through SciPy, POT's network simplex, otreg's numba kernels — does not
look at signals: a Ctrl-C is seen by Python only when the solve returns, seconds or minutes
later.  The parent process only waits, so it notices the signal at once; it makes sure the
child has it (the terminal sends Ctrl-C to both, ``kill -INT`` only to the parent), gives the
child :data:`GRACE` seconds to stop by itself (a sweep stops its workers and records nothing
for the runs in progress), then kills it.  Outputs are written atomically
(:func:`otreg.data.paths.atomic_file`), so a killed command leaves no partial file.

The child asks Linux to kill it when the parent dies (``kill -9`` of the parent takes the
command with it).  Where ``fork`` is missing, or with ``OTREG_NO_FORK=1``, the command runs
in the process itself.
"""
from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import select
import signal
import sys
import time
from typing import Callable

#: seconds the child has, after the signal, to stop by itself before it is killed
GRACE = 0.25
#: seconds the parent waits for a killed child to be gone before it exits all the same (the
#: kernel may take longer to free a large process; init collects it)
REAP = 0.05
#: set to 1: run the command in this process (no child; Ctrl-C waits for compiled code)
NO_FORK_ENV = "OTREG_NO_FORK"
#: the signals the parent hands on to the child (then it kills the child)
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

_PR_SET_PDEATHSIG = 1


class _Signalled(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _die_with(parent: int) -> None:
    """In the child: SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``, Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL),
                                                    0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(128 + signal.SIGKILL)


def _exit_code(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code   # killed by signal N: 128 + N, as the shell says


def _quiet_interrupt(unraisable) -> None:
    """A Ctrl-C that lands in a callback from compiled code (numba's compiler calls back into
    Python) cannot propagate and Python would print it as "Exception ignored ... Traceback";
    the parent already answers the signal (it stops the child and says so in one line), so
    such an interrupt is dropped silently. Anything else goes to the default report."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)


def supervised(run: Callable[[], int], command: str = "") -> int:
    """``run()`` in a child process; returns its exit status, or 130 (Ctrl-C) / 128 + N
    (signal N) within :data:`GRACE` seconds of a signal, printing one line ``otreg COMMAND:
    interrupted``.  In the child this returns ``run()``'s status itself."""
    if not hasattr(os, "fork") or os.environ.get(NO_FORK_ENV, "") not in ("", "0"):
        return run()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    parent = os.getpid()
    seen_r, seen_w = os.pipe()      # the child's C-level signal handler writes here at once
    pid = os.fork()
    if pid == 0:
        os.close(seen_r)
        _die_with(parent)
        os.set_blocking(seen_w, False)
        signal.set_wakeup_fd(seen_w, warn_on_full_buffer=False)
        sys.unraisablehook = _quiet_interrupt
        status = run()
        if status >= 128:  # interrupted (and said so): gone before the parent's deadline,
            atexit._run_exitfuncs()    # with the clean-ups (multiprocessing's) but without
            for stream in (sys.stdout, sys.stderr):     # the interpreter's slow teardown
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(status)
        return status
    os.close(seen_w)
    try:
        return _wait(pid, seen_r, command)
    finally:
        os.close(seen_r)


def _wait(pid: int, seen: int, command: str) -> int:
    def handler(signum, frame):
        raise _Signalled(signum)

    previous = {s: signal.signal(s, handler) for s in FORWARDED}
    try:
        try:
            return _exit_code(os.waitpid(pid, 0)[1])
        except _Signalled as sig:
            for s in FORWARDED:                     # one signal is enough
                signal.signal(s, signal.SIG_IGN)
            return _stop(pid, seen, sig.signum, command)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _child_saw(seen: int, signum: int, timeout: float) -> bool:
    """Whether the child's signal handler recorded ``signum`` within ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while (left := end - time.monotonic()) > 0:
        if not select.select([seen], [], [], left)[0]:
            return False
        data = os.read(seen, 64)
        if not data:
            return False
        if signum in data:
            return True
    return False


def _stop(pid: int, seen: int, signum: int, command: str) -> int:
    """Hand ``signum`` to the child unless it has it already, wait :data:`GRACE` seconds for
    it to stop, then kill it (and return without waiting long for the kernel to free a large
    process: init collects it)."""
    with contextlib.suppress(ProcessLookupError):
        if not _child_saw(seen, signum, 0.05):
            os.kill(pid, signum)
    now = time.monotonic()
    kill_at, give_up = now + GRACE, now + GRACE + REAP
    killed = False
    while time.monotonic() < give_up:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            if not killed and not os.WIFSIGNALED(status):  # it stopped by itself, and said so
                return _exit_code(status)
            break
        if not killed and time.monotonic() >= kill_at:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.005)
    what = "interrupted" if signum == signal.SIGINT else "terminated"
    print(f"otreg{' ' + command if command else ''}: {what}", file=sys.stderr, flush=True)
    return 128 + signum
