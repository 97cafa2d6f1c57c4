"""Neural solver against the exact one: W1 estimate (lam = 0 network) and hKR loss.

For each distribution and size, trains a 1-Lipschitz GroupSort network (otreg.nn.fit) and solves
the exact problem (otreg.hkr_transport, W1 through POT's ot.emd2) on the same points, and prints
the relative errors and the times.  The network is 1-Lipschitz on all of R^d, so its empirical
loss can never beat the exact minimum: the "gap" column is >= 0 up to rounding.

    python benchmarks/bench_neural.py            # n = 200 ... 5000, three distributions
    python benchmarks/bench_neural.py --quick    # tiny sizes, a smoke test
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _common import markdown_table, write_result  # noqa: E402

from otreg import hkr_transport, wasserstein1  # noqa: E402
from otreg.data.toys import make_toy  # noqa: E402
from otreg.nn import fit  # noqa: E402

DATASETS = ("moons", "circles", "gaussians")


def run(sizes, datasets, lam, margin, epochs):
    rows = []
    for name in datasets:
        for n in sizes:
            x_pos, x_neg = make_toy(name, n, seed=0)
            t0 = time.perf_counter()
            w1 = wasserstein1(x_pos, x_neg)
            t_w1 = time.perf_counter() - t0
            exact = hkr_transport(x_pos, x_neg, lam=lam, margin=margin)
            kr = fit(x_pos, x_neg, lam=0.0, margin=margin, epochs=epochs, progress=False)
            hkr = fit(x_pos, x_neg, lam=lam, margin=margin, epochs=epochs, progress=False)
            rows.append([
                name, n,
                f"{w1:.5f}", f"{-kr.loss:.5f}", f"{(w1 + kr.loss) / w1:+.2%}",
                f"{t_w1:.2f}", f"{kr.seconds:.1f}",
                f"{exact.loss:.5f}", f"{hkr.loss:.5f}",
                f"{(hkr.loss - exact.loss) / abs(exact.loss):+.2%}",
                f"{exact.seconds:.2f}", f"{hkr.seconds:.1f}",
            ])
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    header = ["data", "n/class", "W1 (emd2)", "W1 (net)", "W1 error", "emd2 s", "train s",
              f"exact L (lam={lam:g}, m={margin:g})", "net L", "gap", "exact s", "train s"]
    return markdown_table(header, rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--lam", type=float, default=1.0)
    parser.add_argument("--margin", type=float, default=0.1)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                      "neural.md"))
    args = parser.parse_args(argv)
    if args.quick:
        table = run([40], DATASETS[:1], args.lam, args.margin, epochs=5)
        print(table)
        return 0
    table = run([200, 500, 1000, 2000, 5000], DATASETS, args.lam, args.margin, epochs=100)
    print(table)
    write_result(args.out, "Neural solver against the exact solution", [
        "W1 error = (W1 - W1_net) / W1 with W1_net = -L(network trained with lam = 0); "
        "gap = (L_net - L_exact) / |L_exact| (>= 0: the network is 1-Lipschitz).", table])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
