import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_bench_neural_quick_runs():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_neural.py"),
                          "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "| moons | 40 |" in out.stdout
