"""HKRClassifier against scikit-learn's LogisticRegression: held-out accuracy and CPU seconds.

Data (all shipped inside scikit-learn, no download): every pair of digits (pixels / 16, a
stratified half for training, the other half for testing), all ten digits (half of the data for
training), breast cancer and wine (standardised on the training half).  The classifier's
defaults were chosen on the ``tuning`` digit pairs; every other row is held out.  Also times
``check_estimator(HKRClassifier())``.  Targets: a digit pair in <= 5 s within one point of
LogisticRegression, all ten digits in <= 30 s within two points, check_estimator in <= 60 s.

    python benchmarks/bench_classifier.py                     # -> benchmarks/results/classifier.md
    python benchmarks/bench_classifier.py --params '{"lam": 10}' --no-write
    python benchmarks/bench_classifier.py --quick
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402

#: the digit pairs the classifier's defaults were chosen on; the other 35 pairs are held out
TUNING_PAIRS = ((3, 8), (4, 9), (1, 7), (5, 6), (2, 3), (0, 6), (7, 9), (1, 8), (5, 9), (2, 7))


def _split(x, y, seed=0):
    from sklearn.model_selection import train_test_split

    return train_test_split(x, y, test_size=0.5, random_state=seed, stratify=y)


def datasets(quick=False):
    """(label, part, (x_train, x_test, y_train, y_test)) for every benchmark row."""
    from sklearn import datasets as skd

    x, y = skd.load_digits(return_X_y=True)
    x = x / 16.0
    pairs = list(itertools.combinations(range(10), 2))
    if quick:
        pairs = [(3, 8)]
    for a, b in pairs:
        keep = (y == a) | (y == b)
        part = "tuning" if (a, b) in TUNING_PAIRS or (b, a) in TUNING_PAIRS else "held-out"
        yield f"digits {a} vs {b}", part, _split(x[keep], y[keep])
    if quick:
        return
    yield "digits, all 10 classes", "held-out", _split(x, y)
    for name in ("breast_cancer", "wine"):
        xs, ys = getattr(skd, f"load_{name}")(return_X_y=True)
        xtr, xte, ytr, yte = _split(xs, ys)
        mean, std = xtr.mean(axis=0), xtr.std(axis=0)
        std[std == 0] = 1.0
        yield name.replace("_", " "), "held-out", ((xtr - mean) / std, (xte - mean) / std, ytr,
                                                   yte)


def row(label, part, split, params):
    from sklearn.linear_model import LogisticRegression

    from otreg.classifier import HKRClassifier

    xtr, xte, ytr, yte = split
    c0 = time.process_time()
    base = LogisticRegression(max_iter=5000).fit(xtr, ytr)
    t_lr = time.process_time() - c0
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = HKRClassifier(random_state=0, **params).fit(xtr, ytr)
    t_hkr = time.process_time() - c0
    acc, acc_lr = clf.score(xte, yte), base.score(xte, yte)
    return [label, part, f"{len(ytr)}/{len(yte)}", xtr.shape[1], f"{100 * acc:.1f}%",
            f"{100 * acc_lr:.1f}%", f"{100 * (acc - acc_lr):+.1f}", f"{t_hkr:.2f}",
            f"{t_lr:.2f}"]


def check_estimator_seconds():
    from sklearn.utils.estimator_checks import check_estimator

    from otreg.classifier import HKRClassifier

    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(HKRClassifier())
    return time.process_time() - c0


def summary(rows):
    """Worst accuracy difference and slowest fit per group of rows."""
    out = []
    groups = {"digit pairs, tuning": [r for r in rows if r[1] == "tuning"],
              "digit pairs, held out": [r for r in rows if r[1] == "held-out"
                                        and r[0].startswith("digits") and "all" not in r[0]],
              "other held-out rows": [r for r in rows if r[1] == "held-out"
                                      and not (r[0].startswith("digits") and "all" not in r[0])]}
    for name, rs in groups.items():
        if not rs:
            continue
        diffs = [float(r[6]) for r in rs]
        out.append([name, len(rs), f"{min(diffs):+.1f}", f"{np.mean(diffs):+.2f}",
                    sum(d < -1.0 for d in diffs), f"{max(float(r[7]) for r in rs):.2f}"])
    return markdown_table(["rows", "count", "worst acc - LR (points)", "mean", "below -1 point",
                           "slowest fit (CPU s)"], out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="{}", help="HKRClassifier parameters as JSON")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--part", choices=("tuning", "held-out"), default=None)
    parser.add_argument("--margin-scale", type=float, default=None,
                        help="margin=None's fraction of the data's RMS radius (tuning)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--skip-check", action="store_true", help="do not time check_estimator")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "classifier.md"))
    args = parser.parse_args(argv)
    from otreg.nn._blas import blas_threads

    params = json.loads(args.params)
    if args.margin_scale is not None:
        import otreg.classifier

        otreg.classifier.MARGIN_SCALE = args.margin_scale
    rows = []
    with blas_threads(1):
        for label, part, split in datasets(args.quick):
            if args.part and part != args.part:
                continue
            rows.append(row(label, part, split, params))
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
        check = None if (args.skip_check or args.quick) else check_estimator_seconds()
    table = markdown_table(["data", "part", "train/test", "d", "HKRClassifier", "LogReg",
                            "difference (points)", "HKR fit CPU s", "LogReg CPU s"], rows)
    sums = summary(rows)
    print(sums)
    extra = [] if check is None else [
        f"`check_estimator(HKRClassifier())`: {check:.1f} CPU s (target 60 s)."]
    print(*extra)
    if not (args.no_write or args.quick):
        write_result(args.out, "HKRClassifier against LogisticRegression", [
            f"HKRClassifier parameters: {json.dumps(params) if params else 'defaults'}, "
            "random_state=0; LogisticRegression(max_iter=5000). CPU seconds of the fit on one "
            "BLAS thread; accuracy on the held-out half.", sums, *extra, table])
    return 0


if __name__ == "__main__":
    sys.exit(main())
