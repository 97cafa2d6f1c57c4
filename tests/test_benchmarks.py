"""The benchmark scripts' --quick modes run, and what they print is numerically sound."""
import os
import subprocess
import sys

import pytest

from otreg.nn.train import DEFAULT_NETWORK

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_bench(script, *args, timeout=300):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", script), "--quick",
                           *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_bench_exact_quick():
    out = run_bench("bench_exact.py")
    rows = [[c.strip() for c in line.split("|")] for line in out.splitlines()
            if line.startswith(("moons |", "gauss |", "grid", "gauss 10-D |", "gauss, random"))]
    assert len(rows) == 5 * 4  # five shapes, four lam (the progress lines)
    # data, n, m, d, lam, POT s, hkr s, ratio, core s, core/POT, pivots, gap, |W1 err|, ratio
    for r in rows:
        assert float(r[11]) <= 1e-9, r  # the certified relative gap
        if float(r[4]) == 0.0:
            assert float(r[12]) <= 1e-12, r  # -loss against ot.emd2's W1


def test_bench_cold_start_quick():
    out = run_bench("bench_cold_start.py")
    row = next(line for line in out.splitlines() if line.startswith("| this environment"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "ahead of time" and float(cells[3]) >= 0


def test_bench_autodiff_quick(tmp_path):
    """otreg's warm and cold steps are timed; JAX / autograd (when installed) compute the
    same steps (the script exits non-zero otherwise)."""
    md = tmp_path / "autodiff.md"
    run_bench("bench_autodiff.py", "--out", str(md), timeout=240)
    text = md.read_text()
    warm = DEFAULT_NETWORK["bjorck_iters"]  # the default step: fit's Björck iterations
    assert f"| otreg (warm {warm}) |" in text and "| otreg (cold 15) |" in text
    assert "numpy " in text and "CPUs" in text


def test_bench_neural_quick():
    out = run_bench("bench_neural.py")
    rows = [ln.split(" | ") for ln in out.splitlines() if ln.startswith(("moons (quick)",
                                                                          "stripes (quick)"))]
    defaults = [r for r in rows if len(r) == 15]
    archs = [r for r in rows if len(r) == 7]
    grads = [r for r in rows if len(r) == 5]
    # two data sets with defaults; two Björck architectures, Cayley, exponential, CPL (three
    # ways of taking its norm), SLL; the gradient norms of two of them
    assert (len(defaults), len(archs), len(grads)) == (2, 8, 2)
    for row in defaults:  # the network never beats the exact minimum
        assert float(row[7].rstrip("%")) >= -1e-4, row
    labels = " ".join(r[1] for r in archs)
    assert all(name in labels for name in ("Cayley", "exponential", "CPL", "SLL"))
    for row in archs:  # the architecture rows: gap, never below the exact minimum
        assert float(row[2].rstrip("%")) >= -1e-4, row
    for row in grads:  # 1-Lipschitz networks: |grad f| <= 1
        assert 0 <= float(row[4]) <= float(row[2]) <= 1 + 1e-9, row


def test_bench_netsimplex_quick():
    """Comparing the installed kernel against a copy of itself: same pivots and values."""
    src = os.path.join(ROOT, "otreg", "transport", "netsimplex.py")
    out = run_bench("bench_netsimplex.py", "--against", src)
    assert "| moons | 40 | 1.0 |" in out and "| NO" not in out


def test_bench_sparse_quick():
    """Each size in its own process; the script exits non-zero if the sparse loss differs from
    the dense network simplex by more than 1e-9 or the certificate exceeds its tolerance."""
    out = run_bench("bench_sparse.py")
    assert "| gauss | 300 | 1.0 |" in out and "| moons | 600 | 1.0 |" in out
    assert "n = 1e6 (extrapolated)" in out


def test_bench_digits_quick():
    """The timed digits command runs and its certificate-soundness line holds."""
    pytest.importorskip("sklearn")
    out = run_bench("bench_digits.py")
    assert "| certified <= attacked accuracy at every λ and ε | True | True | yes |" in out
    assert "load average" in out


def test_bench_neural_families_quick():
    """The family benchmark's rows: the gap in the project's measure, never below the exact
    minimum, and the |L*|-relative gap beside it of the same sign."""
    out = run_bench("bench_neural_families.py")
    rows = [ln.split(" | ") for ln in out.splitlines() if "(quick)" in ln]
    assert len(rows) == 2
    for row in rows:
        gap, rel = float(row[6].rstrip("%")), float(row[7].rstrip("%"))
        assert gap >= -1e-4 and rel >= -1e-4 and abs(rel) >= abs(gap) - 1e-9, row


def test_bench_classifier_quick():
    """One digit pair: both accuracies in [0, 100] %, the difference is theirs."""
    pytest.importorskip("sklearn")
    out = run_bench("bench_classifier.py")
    row = next(ln.split(" | ") for ln in out.splitlines() if ln.startswith("digits 3 vs 8"))
    acc, base, diff = float(row[4].rstrip("%")), float(row[5].rstrip("%")), float(row[6])
    assert 0 <= acc <= 100 and 0 <= base <= 100 and diff == pytest.approx(acc - base, abs=0.11)
