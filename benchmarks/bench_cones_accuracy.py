"""Held-out accuracy of ``otreg.nn.fit``'s model with and without cones (the training-sample gap
and held-out accuracy pull apart).

Each data set is split in two halves (stratified, seed 0); the model is trained on one half and
classifies the other by the sign of f.  Two settings: fit's defaults (lam 1, margin 0.1) and the
classifier's (lam 10, margin half the RMS radius, a 64 x 2 network, 1000 steps); each with
``architecture="cones"`` and ``"mlp"``.  Training-sample gap (L - L*) / (|L*| + 2 margin) beside.

    python benchmarks/bench_cones_accuracy.py [--out benchmarks/results/cones_accuracy.md]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402
from neural_cases import _sklearn, _standardised  # noqa: E402

HEADER = ["data", "setting", "architecture", "held-out accuracy", "training gap", "CPU s"]


def datasets():
    x, y = _sklearn("digits")
    out = [(f"digits {a} vs {b}", x[y == a] / 16.0, x[y == b] / 16.0)
           for a, b in ((4, 9), (3, 8), (1, 7), (5, 6), (0, 8), (2, 3))]
    x, y = _sklearn("breast_cancer")
    x = _standardised(x)
    out.append(("breast cancer", x[y == 1], x[y == 0]))
    x, y = _sklearn("wine")
    x = _standardised(x)
    out.append(("wine 1 vs rest", x[y == 1], x[y != 1]))
    return out


def halves(x, rng):
    idx = rng.permutation(len(x))
    return x[idx[: len(x) // 2]], x[idx[len(x) // 2:]]


def run_one(x_pos, x_neg, setting, arch, seed=0):
    from otreg import Problem, hkr_transport
    from otreg.metrics import relative_gap
    from otreg.nn import fit
    from otreg.nn._blas import blas_threads
    from otreg.nn.train import data_units

    rng = np.random.default_rng(seed)
    (p_train, p_test), (n_train, n_test) = halves(x_pos, rng), halves(x_neg, rng)
    if setting == "fit":
        pr, opts = Problem(p_train, n_train, 1.0, 0.1), {}
    else:
        both = np.concatenate([p_train, n_train])
        radius = data_units(both, np.ones(len(both)))[1]
        pr = Problem(p_train, n_train, 10.0, 0.5 * radius)
        opts = {"width": 64, "depth": 2, "steps": 1000}
    cpu = time.process_time()
    with blas_threads(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = fit(pr, progress=False, architecture=arch, **opts)
    cpu = time.process_time() - cpu
    right = np.sum(res.model.predict(p_test) > 0) + np.sum(res.model.predict(n_test) <= 0)
    acc = right / (len(p_test) + len(n_test))
    gap = relative_gap(res.loss, hkr_transport(pr).loss, pr.margin)
    return acc, gap, cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rows = []
    for label, x_pos, x_neg in datasets():
        for setting in ("fit", "classifier"):
            for arch in ("cones", "mlp"):
                acc, gap, cpu = run_one(x_pos, x_neg, setting, arch)
                rows.append([label, setting, arch, f"{100 * acc:.1f}%", f"{100 * gap:.2f}%",
                             f"{cpu:.1f}"])
                print(" | ".join(rows[-1]), flush=True)
    load = os.getloadavg()[0]
    text = (f"Load average {load:.1f} at the end. Setting `fit`: lam 1, margin 0.1, fit's "
            "defaults otherwise; `classifier`: lam 10, margin half the RMS radius, 64 x 2, "
            "1000 network steps (HKRClassifier's defaults). Training gap = (L - L*) / "
            "(abs(L*) + 2 margin) on the training half.")
    if args.out:
        write_result(args.out, "Held-out accuracy with and without cones",
                     [text, markdown_table(HEADER, rows)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
