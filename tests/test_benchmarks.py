"""The benchmark scripts on tiny inputs: what they compute is checked against independent
numbers (ot.emd2's W1, the dense solver, a closed form), not only that they run."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import ot
import pytest

from otreg.nn.train import DEFAULT_NETWORK

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bench_module(name):
    """A benchmark script imported in this process (its helpers called on tiny inputs)."""
    spec = importlib.util.spec_from_file_location(
        f"_bench_{name}", os.path.join(ROOT, "benchmarks", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


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


def test_bench_cold_start_probe():
    """A fresh process with an empty numba cache loads the install's compiled kernels and its
    first solve gives the loss computed here."""
    from otreg import hkr_transport
    from otreg.transport import _aot

    bench = bench_module("bench_cold_start")
    t_import, t_first, t_potential, compiled, loss = bench.probe(sys.executable, jit=False)
    rng = np.random.default_rng(0)
    ref = hkr_transport(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)) + 1.0)
    assert loss == ref.loss
    assert compiled == (_aot.compiled_module() is not None)
    assert min(t_import, t_first, t_potential) > 0


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


def test_bench_netsimplex_rows_are_the_optima():
    """The core benchmark's rows: pivots and values of the installed solver; at lam = 0 the
    value + 2 margin is ot.emd2's W1, at every lam the value matches the pivot counter and the
    dense HiGHS LP of the same problem."""
    from bounded_reference import lp_value

    bench = bench_module("bench_netsimplex")
    versions = {"current": bench.solve_of(bench.netsimplex)}
    _, rows = bench.run(versions, [20], [0.0, 1.0], repeats=1)
    assert [(r[0], r[2]) for r in rows] == [("moons", 0.0), ("moons", 1.0), ("gauss", 0.0),
                                            ("gauss", 1.0)]
    for data, n, lam, pivots, value, _seconds in rows:
        a_lo, a_hi, b_lo, b_hi, M = bench.problem(data, n, lam)
        assert float.fromhex(value) == pytest.approx(lp_value(M, a_lo, a_hi, b_lo, b_hi),
                                                     abs=1e-9)
        if lam == 0.0:
            assert float.fromhex(value) + 0.2 == pytest.approx(ot.emd2(a_lo, b_lo, M + 0.2),
                                                               abs=1e-12)
        assert pivots > 0


def test_bench_netsimplex_loads_another_version(tmp_path):
    """--against PATH: a package folder is imported under otreg.transport (its relative
    imports resolve) and run through its network_simplex; rows compare it with the installed
    one (here a thin copy that delegates to it: same pivots and values, "yes")."""
    pkg = tmp_path / "other"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from ..netsimplex import network_simplex  # noqa\n")
    bench = bench_module("bench_netsimplex")
    other = bench.load_version(str(pkg))
    assert other.__name__ == "otreg.transport._bench_other"
    versions = {"current": bench.solve_of(bench.netsimplex), "other": bench.solve_of(other)}
    _, rows = bench.run(versions, [15], [1.0], repeats=1)
    assert all(r[-1] == "yes" for r in rows)


def test_bench_sparse_rows_and_extrapolation():
    """One row of the sparse benchmark (in this process): the sparse loss equals the dense
    network simplex's, the certificate is within its tolerance; the extrapolation to n = 1e6
    is the power law through the rows (exact on synthetic times t = 2e-6 n^1.5)."""
    bench = bench_module("bench_sparse")
    row = bench.one_run("gauss", 200, 1.0, dense_max=1000)
    assert row["rel_diff"] <= 1e-9 and row["violation"] <= row["tol"]
    assert row["gap"] <= 1e-9 and row["levels"] >= 1 and row["arcs"] > 0
    synthetic = [{"data": "gauss", "lam": 1.0, "n": n, "wall": 2e-6 * n**1.5,
                  "cpu": 4e-6 * n**1.5} for n in (10_000, 40_000)]
    grown = {r[2]: r for r in bench.growth(synthetic)}
    assert grown["wall"][4] == "1.50" and grown["cpu"][4] == "1.50"
    assert grown["wall"][5].startswith(f"{2e-6 * 1e9:.0f} s")


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
        assert row[6] == "cones", row  # fit's default model at this size
        gap, rel = float(row[7].rstrip("%")), float(row[8].rstrip("%"))
        assert gap >= -1e-4 and rel >= -1e-4 and abs(rel) >= abs(gap) - 1e-9, row


def test_bench_classifier_quick():
    """One digit pair: both accuracies in [0, 100] %, the difference is theirs."""
    pytest.importorskip("sklearn")
    out = run_bench("bench_classifier.py")
    row = next(ln.split(" | ") for ln in out.splitlines() if ln.startswith("digits 3 vs 8"))
    acc, base, diff = float(row[4].rstrip("%")), float(row[5].rstrip("%")), float(row[6])
    assert 0 <= acc <= 100 and 0 <= base <= 100 and diff == pytest.approx(acc - base, abs=0.11)


def test_bench_onnx_measures_against_otreg():
    """bench_onnx's row: its error columns are the differences between onnxruntime, otreg's
    interpreter and otreg's own network, recomputed here."""
    from otreg.nn import lipschitz_mlp, to_onnx

    mod = bench_module("bench_onnx")
    model = lipschitz_mlp(2, width=8, depth=1, seed=0, bias_spread=0.5, scale=2.0).freeze()
    points = np.random.default_rng(0).normal(size=(50, 2))
    row = mod.measure("net", model, to_onnx(model), points, 1)
    assert len(row) == 11 and row[0] == "net"
    assert all(float(v) <= 1e-13 for v in row[-3:])
    assert mod.relerr(model.predict(points) + 1e-3, model.predict(points)) > 1e-4
