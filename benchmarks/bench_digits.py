"""The digits experiment's targets, timed: ``otreg experiment digits --pair 0,8``.

Runs the experiment exactly as the command does (default :class:`DigitsConfig`), in a fresh
process so that the time includes loading the compiled exact solver, and writes
``benchmarks/results/digits.md``: the wall and CPU time of the whole run with the load average
before and after, the gap to the exact optimum at every λ, the best clean test accuracy, the
soundness of the certificate (certified <= attacked accuracy at every ε) and the hKR network's
attacked accuracy next to the baseline's.

    python benchmarks/bench_digits.py            # the full experiment on 0 vs 8
    python benchmarks/bench_digits.py --quick    # smoke-run budgets (tests)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402

TARGETS = {"gap": 0.02, "clean": 0.97, "seconds": 600.0}


def run_command(quick: bool, pair: str) -> tuple[dict, str, float, float, tuple, tuple]:
    """Run ``otreg experiment digits`` in a subprocess; returns (json, stdout, wall, cpu,
    load before, load after)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "digits.json")
        cmd = [sys.executable, "-c", "import sys; from otreg.cli import main; sys.exit(main())",
               "experiment", "digits", "--pair", pair,
               "--json", out, "--plots", os.path.join(tmp, "png")] + (["--quick"] if quick
                                                                       else [])
        load0 = os.getloadavg()
        t0, c0 = time.perf_counter(), os.times()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        c1 = os.times()
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()
        if proc.returncode != 0:
            raise SystemExit(f"otreg experiment digits failed:\n{proc.stderr}")
        with open(out) as fh:
            data = json.load(fh)
    cpu = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    return data, proc.stdout, wall, cpu, load0, load1


def verdicts(data: dict, wall: float, cpu: float) -> list[list]:
    """One line per target: measured value and pass / fail (the CPU time is what the wall time
    would be on an idle machine: the run trains on one thread)."""
    rows = data["rows"]
    worst_gap = max(r["gap"] for r in rows)
    best_clean = max(r["clean_acc"] for r in rows)
    sound = all(r["certified_acc"][k] <= r["attack_acc"][k] for r in rows
                for k in r["certified_acc"])
    out = [["gap to the exact optimum (training set), worst λ", f"{100 * worst_gap:.2f}%",
            f"<= {100 * TARGETS['gap']:g}%", "yes" if worst_gap <= TARGETS["gap"] else "NO"],
           ["gap, best λ", f"{100 * min(r['gap'] for r in rows):.2f}%", "", ""],
           ["best clean test accuracy", f"{best_clean:.4f}", f">= {TARGETS['clean']:g}",
            "yes" if best_clean >= TARGETS["clean"] else "NO"],
           ["certified <= attacked accuracy at every λ and ε", str(sound), "True",
            "yes" if sound else "NO"],
           ["whole command, wall time", f"{wall:.0f} s", f"<= {TARGETS['seconds']:g} s",
            "yes" if wall <= TARGETS["seconds"] else "NO"],
           ["whole command, CPU time (= wall time when idle)", f"{cpu:.0f} s",
            f"<= {TARGETS['seconds']:g} s", "yes" if cpu <= TARGETS["seconds"] else "NO"]]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run budgets (tests)")
    parser.add_argument("--pair", default="0,8")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "digits.md"))
    args = parser.parse_args(argv)
    data, stdout, wall, cpu, load0, load1 = run_command(args.quick, args.pair)
    table = markdown_table(["target", "measured", "wanted", "met"], verdicts(data, wall, cpu))
    timing = (f"`otreg experiment digits --pair {args.pair}`{' --quick' if args.quick else ''}: "
              f"wall {wall:.1f} s, CPU {cpu:.1f} s; load average (1 min) {load0[0]:.2f} before, "
              f"{load1[0]:.2f} after (2 cores: a load above 2 stretches the wall time).")
    print(table)
    print(timing)
    if args.quick:
        return 0
    lines = stdout.splitlines()
    results = "\n".join(ln for ln in lines if ln.startswith("|"))
    facts = "\n".join(ln for ln in lines if ln.startswith("- "))
    write_result(args.out, f"Digits experiment {args.pair.replace(',', ' vs ')}",
                 [timing, table, "Per λ (pixels in [0, 1], L2 radii):", results,
                  "Measured:", facts])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
