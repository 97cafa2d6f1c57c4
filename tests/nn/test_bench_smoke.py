"""The autodiff benchmark runs (--quick) and its two implementations agree."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bench_autodiff_quick(tmp_path):
    out = tmp_path / "autodiff.md"
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_autodiff.py"),
                           "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "otreg autodiff" in text and "hand-written NumPy" in text and "numpy:" in text
    assert "cpu count" in text
