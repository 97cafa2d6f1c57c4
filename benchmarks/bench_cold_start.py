"""Cold start: the first hkr_transport call of a fresh install (target <= 2 s).

Each run is a new Python process with numba's cache pointed at an empty directory
(``NUMBA_CACHE_DIR``), so nothing compiled earlier can be reused.  It times ``import otreg``,
the first ``hkr_transport`` call (50 x 40 points) and the first ``res.potential`` call, with

* the kernels compiled ahead of time by the install (setup.py, otreg.transport._aot), and
* ``OTREG_JIT=1``: numba compiling them on first use, as every install did before.

``--fresh-venv`` first builds a new virtual environment and ``pip install``s the repository
into it (not editable), then measures with that interpreter: a fresh install, end to end.

    python benchmarks/bench_cold_start.py                # -> benchmarks/results/cold_start.md
    python benchmarks/bench_cold_start.py --fresh-venv   # also times a fresh install
    python benchmarks/bench_cold_start.py --quick        # one run, ahead-of-time only, prints
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _common import markdown_table, write_result  # noqa: E402

PROBE = r"""
import time
t0 = time.perf_counter()
import numpy as np
from otreg import hkr_transport
from otreg.transport import _aot
t1 = time.perf_counter()
rng = np.random.default_rng(0)
res = hkr_transport(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)) + 1.0)
t2 = time.perf_counter()
res.potential(np.zeros((3, 2)))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, int(_aot.compiled_module() is not None), repr(res.loss))
"""


def probe(python: str, jit: bool) -> list[float]:
    """(import s, first hkr_transport s, first res.potential s, compiled module used (1/0),
    the loss of that first solve) in a new process with an empty numba cache."""
    with tempfile.TemporaryDirectory(prefix="numba_cache_") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, OTREG_JIT="1" if jit else "0")
        out = subprocess.run([python, "-c", PROBE], env=env, capture_output=True, text=True,
                             cwd=tempfile.gettempdir(), check=True).stdout
    return [float(v) for v in out.split()]


def fresh_venv(folder: str) -> tuple[str, float]:
    """A new venv with the repository pip-installed (not editable); (python, install seconds)."""
    subprocess.run([sys.executable, "-m", "venv", folder], check=True)
    python = os.path.join(folder, "bin", "python")
    t = time.perf_counter()
    subprocess.run([python, "-m", "pip", "install", "--quiet", ROOT], check=True)
    return python, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one run, ahead-of-time only, prints")
    ap.add_argument("--fresh-venv", action="store_true", help="measure a fresh install too")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    interpreters = [("this environment", sys.executable)]
    notes = []
    tmp = tempfile.TemporaryDirectory(prefix="otreg_fresh_")
    if args.fresh_venv:
        python, seconds = fresh_venv(os.path.join(tmp.name, "venv"))
        interpreters.append(("fresh venv", python))
        notes.append(f"Fresh venv: `pip install` of the repository took {seconds:.0f} s "
                     "(building the isolated build environment and compiling the kernels).")
    header = ["install", "kernels", "import otreg s", "first hkr_transport s",
              "first res.potential s", "compiled module used"]
    rows = []
    for where, python in interpreters:
        for jit in ([False] if args.quick else [False, True]):
            runs = [probe(python, jit) for _ in range(repeats)]
            med = [statistics.median(r[k] for r in runs) for k in range(3)]
            rows.append([where, "numba JIT (OTREG_JIT=1)" if jit else "ahead of time",
                         *(f"{v:.2f}" for v in med), "yes" if runs[0][3] else "no"])
            print(" | ".join(rows[-1]), flush=True)
    tmp.cleanup()
    table = markdown_table(header, rows)
    print(table)
    out = args.out or (None if args.quick else os.path.join(HERE, "results", "cold_start.md"))
    if out:
        write_result(out, "Cold start of a fresh install (benchmarks/bench_cold_start.py)", [
            __doc__.split("\n\n    python")[0].strip(),
            f"Medians of {repeats} processes, each with an empty numba cache.", *notes, table])
    return 0


if __name__ == "__main__":
    sys.exit(main())
