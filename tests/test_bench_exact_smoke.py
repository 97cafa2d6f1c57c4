import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_exact_quick_runs():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_exact.py"),
                          "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "moons | 20 | 1.0 | 0.1 |" in out.stdout
    assert "Log-log scaling exponent" in out.stdout
    # loss agreement with the HiGHS reference on every quick row
    for line in out.stdout.splitlines():
        if line.startswith(("moons |", "gauss |")):
            cells = [c.strip() for c in line.split("|")]
            # ..., loss, |dloss| ref, ref, ns cert, hkr gap
            assert cells[-3] == "highs" and float(cells[-4]) < 1e-8, line
            assert float(cells[-2]) < 1e-9 and float(cells[-1]) < 1e-9, line
