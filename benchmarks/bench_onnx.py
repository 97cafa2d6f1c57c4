"""ONNX export and import: export time, file size, evaluation of 10 000 points by onnxruntime,
by otreg's own network and by otreg's interpreter of the exported file, and the largest
relative differences between them, for every layer type (and the deel-torchlip file of
tests/data).

    python benchmarks/bench_onnx.py            # -> benchmarks/results/onnx.md
    python benchmarks/bench_onnx.py --quick    # small, nothing written

Times are medians of ``--repeats`` runs of the whole call, in CPU seconds of this process
(onnxruntime on one thread, otreg's BLAS on one thread).  Errors are max |a - b| / max |b|.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: (label, lipschitz_mlp options) on 2-D inputs, as tests/test_onnx.py builds them
NETWORKS = [
    ("GroupSort-2 2-32x16-1 (fit's default)", dict(width=32, depth=1)),
    ("GroupSort-2 2-64x3-1", dict(width=64, depth=3)),
    ("GroupSort-4 2-64x3-1", dict(width=64, depth=3, activation="groupsort4")),
    ("FullSort 2-64x3-1", dict(width=64, depth=3, activation="fullsort")),
    ("Householder 2-64x3-1", dict(width=64, depth=3, activation="householder")),
    ("Cayley 2-64x3-1", dict(width=64, depth=3, parametrization="cayley")),
    ("CPL 2-64x3-1", dict(width=64, depth=3, residual="cpl")),
    ("SLL 2-64x3-1", dict(width=64, depth=3, residual="sll")),
]


def median_cpu(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return statistics.median(times)


def relerr(a, b):
    return float(np.max(np.abs(np.reshape(a, np.shape(b)) - b)) / np.max(np.abs(b)))


def measure(label, model, data, points, repeats):
    """One table row: the times and the differences for one network (``model`` may be None:
    a file from elsewhere, compared with the interpreter only)."""
    import onnxruntime as ort

    from otreg.nn import from_onnx

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    imported = from_onnx(data)
    ort_f = session.run(None, {name: points})[0]
    imp_f, imp_g = imported.predict(points), imported.grad(points)
    t_ort = median_cpu(lambda: session.run(None, {name: points}), repeats)
    t_imp = median_cpu(lambda: imported.predict(points), repeats)
    t_imp_g = median_cpu(lambda: imported.grad(points), repeats)
    row = [label, f"{len(data) / 1024:.1f}"]
    if model is not None:
        from otreg.nn import to_onnx

        t_exp = median_cpu(lambda: to_onnx(model), repeats)
        want_f, want_g = model.predict(points), model.grad(points)
        t_own = median_cpu(lambda: model.predict(points), repeats)
        t_own_g = median_cpu(lambda: model.grad(points), repeats)
        row += [f"{1e3 * t_exp:.1f}", f"{1e3 * t_ort:.1f}", f"{1e3 * t_own:.1f}",
                f"{1e3 * t_imp:.1f}", f"{1e3 * t_own_g:.1f}", f"{1e3 * t_imp_g:.1f}",
                f"{relerr(ort_f, want_f):.1e}", f"{relerr(imp_f, want_f):.1e}",
                f"{relerr(imp_g, want_g):.1e}"]
    else:
        row += ["-", f"{1e3 * t_ort:.1f}", "-", f"{1e3 * t_imp:.1f}", "-",
                f"{1e3 * t_imp_g:.1f}", f"{relerr(ort_f, imp_f):.1e}", "-", "-"]
    return row


def main(argv=None) -> int:
    from otreg.nn import lipschitz_mlp, to_onnx
    from otreg.nn._blas import blas_threads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 000 points, 1 run, no file")
    parser.add_argument("--points", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "onnx.md"))
    args = parser.parse_args(argv)
    n, repeats = (1000, 1) if args.quick else (args.points, args.repeats)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(n, 2))
    rows = []
    with blas_threads(1):
        for label, opts in NETWORKS:
            model = lipschitz_mlp(2, seed=1, bias_spread=0.5, shift=[0.3, -0.2], scale=1.7,
                                  **opts).freeze()
            rows.append(measure(label, model, to_onnx(model), points, repeats))
            print(" | ".join(rows[-1]), flush=True)
        with open(os.path.join(ROOT, "tests", "data", "torchlip_moons.onnx"), "rb") as fh:
            rows.append(measure("deel-torchlip 2-16x2-1 (tests/data)", None, fh.read(), points,
                                repeats))
        print(" | ".join(rows[-1]), flush=True)
    if args.quick:
        return 0
    table = markdown_table(
        ["network", "file kB", "export ms", "onnxruntime ms", "otreg ms", "imported ms",
         "otreg grad ms", "imported grad ms", "err onnxruntime", "err imported",
         "err imported grad"], rows)
    write_result(args.out, "ONNX export and import", [
        f"{n} points, medians of {repeats} runs in CPU ms (one thread). *otreg*: the network's "
        "own `predict` / `grad`; *imported*: `from_onnx` of the exported file (otreg's "
        "interpreter of the ONNX operators, back-propagation for the gradient). Errors: max "
        "|a - b| / max |b| against otreg's own values and gradients (the torchlip row: "
        "onnxruntime against the interpreter). Networks with random orthonormal weights, "
        "biases in +-0.5, input units (shift, scale) not the identity, frozen; float64 files.",
        table])
    return 0


if __name__ == "__main__":
    sys.exit(main())
