"""Ctrl-C ends any ``otreg`` command within a second, whatever runs: compiled solvers (HiGHS
through SciPy, POT's network simplex, otreg's numba network simplex and column generation),
training, a sweep on worker processes.  The command exits with status 130 and one line, and
writes no output file."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

#: solver / command -> argv (``{out}``: the output file), each busy for well over 5 s
COMMANDS = {
    "highs": ["solve", "--data", "gaussians", "--n", "450", "--method", "highs",
              "--json", "{out}"],
    "pot": ["solve", "--data", "gaussians", "--n", "900", "--method", "pot", "--json", "{out}"],
    "netsimplex": ["solve", "--data", "gaussians", "--n", "7000", "--method", "netsimplex",
                   "--json", "{out}"],
    "sparse": ["solve", "--data", "gaussians", "--n", "8000", "--method", "sparse",
               "--no-progress", "--json", "{out}"],
    "train": ["train", "--data", "moons", "--n", "3000", "--steps", "200000", "--width", "64",
              "--no-progress", "--out", "{out}"],
    "sweep": ["sweep", "--data", "gaussians", "--n", "7000", "--lam", "1,2", "--no-checks",
              "--workers", "2", "--quiet", "--out", "{out}"],
}
SUFFIX = {"train": ".npz", "sweep": ".csv"}
#: CPU seconds a command (with its processes) has used when it is surely inside its solver:
#: a whole solve of 10 points takes 1.2 s, a training of 3 steps 1.9 s (imports, the data)
BUSY = {"train": 2.2, "sweep": 4.0}


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        st = _stat(int(p))
        if st is not None and int(st[1]) == pid:
            out.append(int(p))
    return out


def _descendants(pid: int) -> list[int]:
    todo, out = [pid], []
    while todo:
        kids = _children(todo.pop())
        out += kids
        todo += kids
    return out


def _cpu(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        st = _stat(p)
        if st is not None:
            total += int(st[11]) + int(st[12])
    return total / ticks


def _signal_all(pids: list[int], signum: int) -> None:
    for p in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signum)


def _alive(pid: int) -> bool:
    st = _stat(pid)
    return st is not None and st[0] != "Z"


@pytest.mark.slow
def test_ctrl_c_ends_every_solver_within_a_second(tmp_path):
    procs = {}
    for name, argv in COMMANDS.items():
        out = str(tmp_path / f"{name}{SUFFIX.get(name, '.json')}")
        cmd = [sys.executable, "-c", "from otreg.cli import console_main; console_main()",
               *[a.replace("{out}", out) for a in argv]]
        procs[name] = (subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True), out)
    try:
        deadline = time.monotonic() + 120   # a loaded machine
        busy: dict[str, list[int]] = {}
        while len(busy) < len(procs) and time.monotonic() < deadline:
            for name, (proc, _) in procs.items():
                if name not in busy and proc.poll() is None:
                    tree = _descendants(proc.pid)
                    if _cpu(tree) >= BUSY.get(name, 1.5):   # inside its solver: stopped
                        busy[name] = tree                   # (SIGSTOP) until its turn
                        _signal_all(tree, signal.SIGSTOP)
            time.sleep(0.05)
        assert set(busy) == set(procs), f"not busy in time: {set(procs) - set(busy)}"
        # one command at a time, the others stopped meanwhile: the latency of each is measured
        # without the CPU demand of the five others
        latency = {}
        for name, (proc, _) in procs.items():
            _signal_all(busy[name], signal.SIGCONT)
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
                latency[name] = time.monotonic() - t0
        report = {k: round(v, 3) for k, v in latency.items()}
        assert set(latency) == set(procs) and max(latency.values()) < 1.0, report
        for name, (proc, out) in procs.items():
            err = proc.stderr.read()
            assert proc.returncode == 130, (name, err)
            assert err.strip().splitlines()[-1] == f"otreg {COMMANDS[name][0]}: interrupted"
            assert "Traceback" not in err, (name, err)
            assert not os.path.exists(out), name
        left = [p for tree in busy.values() for p in tree]
        end = time.monotonic() + 5        # every process dies with the command: the child,
        while left and time.monotonic() < end:      # the sweep's workers
            left = [p for p in left if _alive(p)]
            time.sleep(0.05)
        assert not left
        assert sorted(os.listdir(tmp_path)) == []
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                _signal_all(_descendants(proc.pid), signal.SIGKILL)
                proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()


def test_the_exit_status_and_output_of_a_finished_command_pass_through(tmp_path):
    """The parent process hands on what the command printed and its status."""
    cmd = [sys.executable, "-c", "from otreg.cli import console_main; console_main()"]
    ok = subprocess.run(cmd + ["solve", "--data", "moons", "--n", "10", "--json",
                               str(tmp_path / "s.json")], capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0 and "W1=" in ok.stdout and (tmp_path / "s.json").exists()
    bad = subprocess.run(cmd + ["solve", "--data", "moons", "--lam", "-1"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("otreg solve: error: lam")


def test_an_interrupt_inside_a_compiled_callback_is_not_printed(capsys, monkeypatch):
    """A Ctrl-C that lands while numba's compiler calls back into Python cannot propagate;
    the supervised child drops it silently (the parent answers the signal in one line), and
    reports any other exception raised there as usual."""
    import ctypes

    from otreg.cli._supervise import _quiet_interrupt

    monkeypatch.setattr(sys, "unraisablehook", _quiet_interrupt)
    callback = ctypes.CFUNCTYPE(None)

    def interrupted():
        raise KeyboardInterrupt

    def failed():
        raise ValueError("a real error")

    callback(interrupted)()
    assert capsys.readouterr().err == ""
    callback(failed)()
    assert "ValueError: a real error" in capsys.readouterr().err
