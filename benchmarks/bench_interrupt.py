"""How fast ``otreg`` answers Ctrl-C, per solver: the time from SIGINT to the end of the
process, for a command busy in HiGHS, POT, otreg's network simplex, column generation, a
training and a two-worker sweep (medians and maxima over several runs, the whole user call).

    python benchmarks/bench_interrupt.py [--runs 3] [--quick]

Each command is started alone and interrupted once it has used enough CPU time to be inside
its solver (``BUSY``); the load average is printed with every row: other processes on the
machine delay both the start and the answer.  Writes ``benchmarks/results/interrupt.md``
(not with --quick).
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "highs": ["solve", "--data", "gaussians", "--n", "450", "--method", "highs"],
    "pot": ["solve", "--data", "gaussians", "--n", "900", "--method", "pot"],
    "netsimplex": ["solve", "--data", "gaussians", "--n", "7000", "--method", "netsimplex"],
    "sparse": ["solve", "--data", "gaussians", "--n", "8000", "--method", "sparse",
               "--no-progress"],
    "train": ["train", "--data", "moons", "--n", "3000", "--steps", "200000", "--width", "64",
              "--no-progress", "--out", "{tmp}/m.npz"],
    "sweep": ["sweep", "--data", "gaussians", "--n", "7000", "--lam", "1,2", "--no-checks",
              "--workers", "2", "--quiet", "--out", "{tmp}/t.csv"],
}
#: CPU seconds of the command's processes when it is surely inside its solver
BUSY = {"train": 2.2, "sweep": 4.0}
QUICK = {"netsimplex": ["solve", "--data", "gaussians", "--n", "3000", "--method", "netsimplex"]}


def _cpu_of_tree(pid: int) -> float:
    """CPU seconds of ``pid``'s descendants (from /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as fh:
                st = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(p)], times[int(p)] = int(st[1]), int(st[11]) + int(st[12])
    tree, todo = [], [pid]
    while todo:
        top = todo.pop()
        kids = [c for c, par in parents.items() if par == top]
        tree += kids
        todo += kids
    return sum(times[c] for c in tree) / os.sysconf("SC_CLK_TCK")


def one(argv: list[str], busy: float) -> tuple[float, int, float]:
    """(seconds from SIGINT to the end, exit status, load average at the signal)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", "from otreg.cli import console_main; console_main()",
               *[a.replace("{tmp}", tmp) for a in argv]]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while _cpu_of_tree(proc.pid) < busy and proc.poll() is None:
                time.sleep(0.05)
            load = os.getloadavg()[0]
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
            return time.monotonic() - t0, proc.returncode, load
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one short case (the test suite)")
    args = ap.parse_args()
    cases = QUICK if args.quick else COMMANDS
    runs = 1 if args.quick else args.runs
    lines = ["| command | runs | median s | max s | exit status | load average |",
             "|---|---|---|---|---|---|"]
    for name, argv in cases.items():
        res = [one(argv, 1.0 if args.quick else BUSY.get(name, 1.5)) for _ in range(runs)]
        lat = [r[0] for r in res]
        lines.append(f"| {name} | {runs} | {statistics.median(lat):.3f} | {max(lat):.3f} | "
                     f"{','.join(sorted({str(r[1]) for r in res}))} | "
                     f"{statistics.mean(r[2] for r in res):.1f} |")
        print(lines[-1], flush=True)
    if not args.quick:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                            "interrupt.md")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("# Ctrl-C latency of `otreg` (SIGINT to the end of the process)\n\n"
                     f"`python benchmarks/bench_interrupt.py --runs {runs}`, 2 cores shared "
                     "with other jobs (load average at the signal in the last column).\n\n"
                     + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
