"""Exact hKR and W1 beyond the dense cost matrix: ``hkr_transport(method="sparse")`` (column
generation on the network simplex), at n = m up to 100 000 and more.

For two Gaussian clouds and two moons (the toys of otreg.data, n = m points, seed 0), margin
0.1, lam = 1 and lam = 0, each size runs in a fresh process (so that its peak memory, ru_maxrss,
is its own) and reports: wall and CPU time of the whole ``hkr_transport`` call, peak memory,
the pricing rounds, transport arcs and simplex pivots of the finest level (and the number of
levels of the multiscale start), the time spent in the simplex and in the pricing passes, the
certificate (most negative reduced cost over all pairs, relative) and the gap, and for
n <= --dense-max the relative difference to the dense network simplex on the same points
(timed in the same process, after).  The load average is recorded with each row (the machine
may be shared).  Then, per data set and lam: the growth exponent of the time (least squares of
log time on log n over the sizes >= 10 000, or all if fewer) and the time it extrapolates to for
n = m = 1 000 000.  With --dask, the pricing passes of one size also run on a
``dask.distributed.LocalCluster`` (2 worker processes, 1 thread each) against the default
in-process pricing, interleaved, medians of --repeats runs.

    python benchmarks/bench_sparse.py                  # the whole table (long: ~1 h)
    python benchmarks/bench_sparse.py --sizes 5000 20000 --lams 1 --dask 0
    python benchmarks/bench_sparse.py --quick          # smoke test: tiny sizes
    python benchmarks/bench_sparse.py --sizes 100000 --lams 1 --data gauss --dask 0 --append

The rows measured are kept in results/sparse.json beside the table; ``--append`` adds the new
rows to those (a row of the same data, n and lam is replaced) and writes the table of all, so
that a long table can be measured in pieces.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import markdown_table, write_result  # noqa: E402

from otreg import Problem, hkr_transport  # noqa: E402
from otreg.data.toys import gaussians, two_moons  # noqa: E402
from otreg.transport.sparse import solve_sparse  # noqa: E402

DATASETS = {"gauss": lambda n: gaussians(n, seed=0), "moons": lambda n: two_moons(n, seed=0)}
MARGIN = 0.1


def one_run(data: str, n: int, lam: float, dense_max: int) -> dict:
    """One size in this process: the sparse solve, then (small n) the dense one."""
    x, z = DATASETS[data](n)
    pr = Problem(x, z, lam=lam, margin=MARGIN)
    hkr_transport(Problem(x[:20], z[:20], lam=lam), method="sparse")  # numba cache load
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    res = hkr_transport(pr, method="sparse")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    info = res.info
    top = [h for h in info["history"] if h["n"] == n and h["m"] == n]
    out = {"data": data, "n": n, "lam": lam, "wall": wall, "cpu": cpu, "peak_gib": peak,
           "rounds": info["rounds"], "arcs": info["arcs"], "pivots": info["pivots"],
           "levels": len({(h["n"], h["m"]) for h in info["history"]}),
           "simplex_s": sum(h["simplex_s"] for h in top),
           "pricing_s": sum(h["pricing_s"] for h in top),
           "violation": info["violation"], "tol": info["tol"], "gap": res.gap,
           "loss": res.loss, "load": load, "load_end": os.getloadavg()[0]}
    if n <= dense_max:
        t = time.perf_counter()
        ref = hkr_transport(pr, method="netsimplex")
        out["dense_s"] = time.perf_counter() - t
        out["rel_diff"] = abs(ref.loss - res.loss) / max(abs(ref.loss), 1e-300)
    return out


def run_child(data: str, n: int, lam: float, dense_max: int) -> dict:
    """:func:`one_run` in a fresh interpreter (its own peak memory)."""
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--one", data, str(n),
                           repr(lam), "--dense-max", str(dense_max)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{data} n={n} lam={lam} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _save(path: str, kept: dict) -> None:
    with open(path, "w") as fh:
        json.dump(kept, fh, indent=1)


def _row(r: dict) -> list:
    """One line of the main table."""
    return [r["data"], r["n"], r["lam"], f"{r['wall']:.2f}", f"{r['cpu']:.2f}",
            f"{r['peak_gib']:.2f}", r["levels"], r["rounds"], r["arcs"], r["pivots"],
            f"{r['simplex_s']:.1f}", f"{r['pricing_s']:.1f}",
            f"{r['violation']:.1e} <= {r['tol']:.0e}", f"{r['gap']:.1e}",
            f"{r['dense_s']:.2f}" if "dense_s" in r else "",
            f"{r['rel_diff']:.1e}" if "rel_diff" in r else "",
            f"{r['load']:.1f}-{r['load_end']:.1f}"]


def growth(rows: list[dict]) -> list[list]:
    """Per (data, lam): exponent of wall time in n and the extrapolation to n = 1e6."""
    out = []
    for data in DATASETS:
        for lam in sorted({r["lam"] for r in rows}, reverse=True):
            sel = sorted((r for r in rows if r["data"] == data and r["lam"] == lam),
                         key=lambda r: r["n"])
            big = [r for r in sel if r["n"] >= 10_000]
            fit = big if len(big) >= 2 else sel
            if len(fit) < 2:
                continue
            ln = np.log([r["n"] for r in fit])
            for key in ("wall", "cpu"):
                slope = float(np.polyfit(ln, np.log([r[key] for r in fit]), 1)[0])
                last = fit[-1]
                t1m = last[key] * (1e6 / last["n"]) ** slope
                out.append([data, lam, key, f"{fit[0]['n']}..{last['n']}", f"{slope:.2f}",
                            f"{t1m:.0f} s ({t1m / 3600:.1f} h)"])
    return out


def dask_table(n: int, repeats: int) -> list[list]:
    """Pricing in-process against a LocalCluster, interleaved (Gaussians, lam = 1)."""
    from dask.distributed import Client, LocalCluster

    pr = Problem(*DATASETS["gauss"](n), lam=1.0, margin=MARGIN)
    times: dict[str, list] = {"local": [], "LocalCluster": []}
    results = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        solve_sparse(Problem(pr.x_pos[:30], pr.x_neg[:30]), scheduler=client)  # warm workers
        for _ in range(repeats):
            for name, sched in (("local", None), ("LocalCluster", client)):
                t = time.perf_counter()
                sol = solve_sparse(pr, scheduler=sched)
                wall = time.perf_counter() - t
                pricing = sum(h["pricing_s"] for h in sol.history)
                times[name].append((wall, pricing))
                results[name] = sol.primal
    same = results["local"] == results["LocalCluster"]
    return [[name, n, f"{statistics.median(w for w, _ in v):.2f}",
             f"{statistics.median(p for _, p in v):.2f}", "yes" if same else "NO"]
            for name, v in times.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    ap.add_argument("--sizes", type=int, nargs="*",
                    default=[2500, 5000, 10000, 20000, 50000, 100000])
    ap.add_argument("--lams", type=float, nargs="*", default=[1.0, 0.0])
    ap.add_argument("--data", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    ap.add_argument("--dense-max", type=int, default=10000,
                    help="compare with the dense network simplex up to this n")
    ap.add_argument("--dask", type=int, default=20000, metavar="N",
                    help="also time the pricing on a LocalCluster at this n (0: no; never "
                         "with --quick)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the Dask comparison")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "sparse.md"))
    ap.add_argument("--append", action="store_true",
                    help="add to the rows kept from earlier runs (results/sparse.json)")
    ap.add_argument("--one", nargs=3, metavar=("DATA", "N", "LAM"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        data, n, lam = args.one
        print(json.dumps(one_run(data, int(n), float(lam), args.dense_max)))
        return 0
    sizes = [300, 600] if args.quick else args.sizes
    lams = [1.0] if args.quick else args.lams
    rows_path = os.path.splitext(args.out)[0] + ".json"
    kept: dict = {"rows": [], "dask": None}
    if args.append and not args.quick and os.path.exists(rows_path):
        with open(rows_path) as fh:
            kept = json.load(fh)
    rows = kept["rows"]
    header = ["data", "n = m", "lam", "wall s", "CPU s", "peak GiB", "levels", "rounds",
              "arcs", "pivots", "simplex s", "pricing s", "certificate", "gap", "dense s",
              "rel. diff", "load"]
    for data in args.data:
        for lam in lams:
            for n in sizes:
                r = run_child(data, n, lam, args.dense_max)
                rows = [q for q in rows if (q["data"], q["n"], q["lam"]) != (data, n, lam)]
                rows.append(r)
                kept["rows"] = rows
                if not args.quick:  # after each row: a long run interrupted keeps its rows
                    _save(rows_path, kept)
                print(" | ".join(str(c) for c in _row(r)), flush=True)
    rows.sort(key=lambda r: (list(DATASETS).index(r["data"]), -r["lam"], r["n"]))
    table = [_row(r) for r in rows]
    sections = [
        "## Time, memory, rounds and arcs against n\n\n"
        "Whole `hkr_transport(method='sparse')` call, each row in a fresh process; rounds, "
        "arcs, pivots, simplex and pricing seconds are those of the finest level (levels = "
        "problems solved by the multiscale start, the finest included); certificate = the "
        "most negative reduced cost d_ij - f_i + g_j over all n*m pairs in the last pricing "
        "pass, relative to 1 + diameter + 2 margin, against the pricing tolerance; gap = "
        "certified duality gap; rel. diff = |loss - dense netsimplex loss| / |loss|; load = "
        "1-minute load average at the start and end of the row (2 cores).\n\n"
        + markdown_table(header, table)]
    g = growth(rows)
    if g:
        sections.append("## Growth and extrapolation to n = m = 1 000 000\n\n"
                        "Least-squares slope of log time on log n, and the last size's time "
                        "scaled by (1e6 / n)^slope.\n\n"
                        + markdown_table(["data", "lam", "time", "sizes", "exponent",
                                          "n = 1e6 (extrapolated)"], g))
    if args.dask and not args.quick:
        kept["dask"] = {"n": args.dask, "repeats": args.repeats,
                        "table": dask_table(args.dask, args.repeats)}
        _save(rows_path, kept)
    if kept["dask"]:
        d = kept["dask"]["table"]
        sections.append("## Pricing on Dask (LocalCluster, 2 worker processes x 1 thread)\n\n"
                        f"Gaussians, lam = 1, medians of {kept['dask']['repeats']} interleaved "
                        "runs of "
                        "`solve_sparse`; 'pricing s' sums the pricing passes of all levels.\n\n"
                        + markdown_table(["pricing on", "n = m", "wall s", "pricing s",
                                          "same optimum"], d))
    text_path = args.out if not args.quick else os.devnull
    write_result(text_path, "Exact hKR beyond the dense cost matrix (benchmarks/bench_sparse.py)",
                 sections)
    print("\n\n".join(sections))
    bad = [r for r in rows if r.get("rel_diff", 0.0) > 1e-9 or r["violation"] > r["tol"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
