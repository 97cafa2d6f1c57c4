"""otreg.study.sweep and ``otreg sweep``: determinism across back-ends, resume, errors, CLI."""
import csv
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from otreg import Problem, hkr_transport
from otreg.cli import main
from otreg.data.io import save_dataset
from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.metrics import accuracies
from otreg.study import (KEY_COLUMNS, SweepConfig, make_configs, read_table, row_key, run_one,
                         summarize, sweep, trade_off_table)

#: these tests train on deliberately short budgets: the budget warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")

# tiny but complete: 2 data sets (one invalid -> error rows) x 2 lam x 2 seeds, trained networks
GRID = dict(datasets=["moons", "circles", "no_such_toy"], lams=[0.0, 1.0], margins=[0.1],
            seeds=[0, 1], n=20, neural=True, checks=False,
            train_kwargs={"epochs": 3, "width": 8, "depth": 2, "batch_size": 16})
# the verify checks are slow (~1.5 s per run even this small): a smaller grid for them
CHECKED = dict(datasets=["moons"], lams=[1.0], margins=[0.1], seeds=[0, 1], n=20,
               neural=False, checks=True)


def comparable(rows):
    """Rows without timing columns, NaN made comparable."""
    out = []
    for r in rows:
        out.append({k: ("nan" if isinstance(v, float) and math.isnan(v) else v)
                    for k, v in r.items() if not k.endswith("seconds")})
    return out


def keys_in_file(path):
    with open(path, newline="") as fh:
        return [row_key(r) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    d = tmp_path_factory.mktemp("serial")
    grid = sweep(**GRID, out=d / "grid.csv", workers=1, progress=False)
    checked = sweep(**CHECKED, out=d / "checked.csv", workers=1, progress=False)
    return grid, checked, d


def test_serial_table_contents(serial):
    grid, checked, d = serial
    assert [row_key(r)[:5] for r in grid] == [c.key()[:5] for c in make_configs(
        GRID["datasets"], GRID["lams"], GRID["margins"], GRID["seeds"], GRID["n"])]
    good = [r for r in grid if r["data"] != "no_such_toy"]
    bad = [r for r in grid if r["data"] == "no_such_toy"]
    assert len(good) == 8 and len(bad) == 4
    for r in good:
        assert r["error"] == ""
        assert 0 <= r["acc_cert_0.2"] <= r["acc_cert_0.1"] <= r["acc_cert_0.01"] <= r["acc_clean"]
        assert r["nn_gap"] >= -1e-9          # the LP value is the minimum of L
        assert abs(r["loss"] + r["w1"]) < 1e-9 if r["lam"] == 0 else r["loss"] > -r["w1"] - 1e-9
        assert r["mass"] >= 1 - 1e-9
    for r in bad:                            # the failing combinations record their error
        assert r["error"].startswith("InputError:") and "no_such_toy" in r["error"]
        assert r["loss"] is None
    for r in checked:                        # every verify check becomes two columns
        assert r["checks_failed"] == 0 and r["checks_passed"] is True
        assert r["check_strong_duality"] is True and "check_certificate_value" in r
    # the file holds exactly one row per combination
    assert sorted(keys_in_file(d / "grid.csv")) == sorted(row_key(r) for r in grid)


def test_plot_sweep(serial, tmp_path):
    from otreg.plot.sweep import plot_sweep_table

    grid, _, d = serial
    out = plot_sweep_table(d / "grid.csv", tmp_path / "trade_off.png")   # from the file: 2 panels
    assert os.path.getsize(out) > 10_000
    assert out.figure.axes and out._repr_png_()[:4] == b"\x89PNG"        # the path holds it
    assert plot_sweep_table(grid, None).axes                               # from rows: a Figure
    with pytest.raises(ValueError, match="no row"):
        plot_sweep_table([r for r in grid if r["error"]], tmp_path / "none.png")


def test_parallel_equals_serial(serial, tmp_path):
    grid, checked, _ = serial
    par = sweep(**GRID, out=tmp_path / "grid.csv", workers=2, progress=False)
    par_checked = sweep(**CHECKED, out=tmp_path / "checked.csv", workers=2, progress=False)
    assert comparable(par) == comparable(grid)
    assert comparable(par_checked) == comparable(checked)


def test_dask_local_cluster_equals_serial(serial, tmp_path, monkeypatch):
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask.distributed not installed (pip install 'otreg[dask]')")
    grid, checked, _ = serial
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=":0") as cluster:
        on_dask = sweep(**GRID, out=tmp_path / "grid.csv", scheduler=cluster.scheduler_address,
                        progress=False)
        # the scheduler can also come from the environment
        monkeypatch.setenv("OTREG_SCHEDULER", cluster.scheduler_address)
        on_dask_checked = sweep(**CHECKED, out=tmp_path / "checked.csv", progress=False)
    assert comparable(on_dask) == comparable(grid)
    assert comparable(on_dask_checked) == comparable(checked)


def test_resume_after_cut_file(serial, tmp_path):
    grid, _, d = serial
    lines = (d / "grid.csv").read_text().splitlines(keepends=True)
    k = 5
    # header, k complete rows, and half of the next one (killed while writing)
    partial = "".join(lines[: 1 + k]) + lines[1 + k][: len(lines[1 + k]) // 2]
    out = tmp_path / "grid.csv"
    out.write_text(partial)
    ran = []

    def counting(cfg):
        ran.append(cfg.key())
        return run_one(cfg)

    resumed = sweep(**GRID, out=out, workers=1, progress=False, runner=counting)
    done_before = {row_key(r) for r in read_table(d / "grid.csv")[:k]}
    assert len(ran) == len(grid) - k and not (set(ran) & done_before)
    assert comparable(resumed) == comparable(grid)
    keys = keys_in_file(out)
    assert len(keys) == len(set(keys)) == len(grid)       # none lost, none duplicated
    # a complete file: nothing left to do
    ran.clear()
    again = sweep(**GRID, out=out, workers=1, progress=False, runner=counting)
    assert ran == [] and comparable(again) == comparable(grid)


def test_resume_after_interrupt_and_retry_errors(tmp_path):
    out = tmp_path / "t.csv"
    calls = []

    def interrupted(cfg):
        if len(calls) == 3:
            raise KeyboardInterrupt          # Ctrl-C in the middle of the sweep
        calls.append(cfg.key())
        return run_one(cfg)

    grid = dict(GRID, neural=False)
    with pytest.raises(KeyboardInterrupt):
        sweep(**grid, out=out, workers=1, progress=False, runner=interrupted)
    assert sorted(keys_in_file(out)) == sorted(calls)      # the 3 finished rows are saved
    rest = []
    table = sweep(**grid, out=out, workers=1, progress=False,
                  runner=lambda c: rest.append(c.key()) or run_one(c))
    assert len(rest) == 12 - 3 and not set(rest) & set(calls)
    keys = keys_in_file(out)
    assert len(keys) == len(set(keys)) == 12 and len(table) == 12
    # error rows are kept on resume unless retried; retrying replaces them (no duplicates)
    retried = []
    sweep(**grid, out=out, workers=1, progress=False, retry_errors=True,
          runner=lambda c: retried.append(c.key()) or run_one(c))
    assert sorted(retried) == sorted(row_key(r) for r in table if r["error"])
    keys = keys_in_file(out)
    assert len(keys) == len(set(keys)) == 12


def test_resume_after_sigkill(tmp_path):
    """Kill -9 the ``otreg sweep`` process after a few rows, run it again: every combination
    once, the same values as an uninterrupted sweep."""
    out = tmp_path / "k.csv"
    cmd = [sys.executable, "-c", "import sys; from otreg.cli import main; sys.exit(main())",
           "sweep", "--data", "moons,circles", "--lam", "0,1", "--seeds", "0-1", "--n", "20",
           "--neural", "--epochs", "30", "--no-checks", "--workers", "1", "--quiet",
           "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    try:
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 1 + 3:
                break
            time.sleep(0.05)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    if not killed:
        pytest.skip("the sweep finished before it could be killed")
    before = keys_in_file(out)
    assert 3 <= len(before) < 8 and len(before) == len(set(before))
    assert subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          timeout=300).returncode == 0
    keys = keys_in_file(out)
    assert len(keys) == len(set(keys)) == 8 and set(before) <= set(keys)
    fresh = sweep(["moons", "circles"], [0, 1], [0.1], [0, 1], n=20, neural=True,
                  checks=False, train_kwargs={"epochs": 30}, workers=1, progress=False)
    by_key = {row_key(r): r for r in read_table(out)}
    for r in fresh:
        got = by_key[row_key(r)]
        assert all(got[k] == v for k, v in r.items() if not k.endswith("seconds")), row_key(r)


def _explode(cfg):
    if cfg.lam == 1.0 and cfg.seed == 1:
        raise RuntimeError("boom\nsecond line")
    return {"loss": -cfg.lam, "acc_clean": 1.0}


def _crash(cfg):
    if cfg.lam == 1.0 and cfg.seed == 0:
        os._exit(3)                          # the worker process dies (like an OOM kill)
    return {"loss": -cfg.lam}


def test_dead_worker_records_error_and_sweep_goes_on(tmp_path):
    table = sweep(["moons"], [0, 1], [0.1], [0, 1], n=10, out=tmp_path / "c.csv", workers=2,
                  progress=False, runner=_crash)
    errs = {(r["lam"], r["seed"]): r["error"] for r in table}
    assert errs.pop((1.0, 0)).startswith("worker died")
    assert set(errs.values()) == {""} and len(errs) == 3
    assert sorted(keys_in_file(tmp_path / "c.csv")) == sorted(row_key(r) for r in table)


def test_failing_combination_records_error(tmp_path):
    table = sweep(["moons"], [0, 1], [0.1], [0, 1], n=10, out=tmp_path / "e.csv", workers=1,
                  progress=False, runner=_explode)
    errs = {(r["lam"], r["seed"]): r["error"] for r in table}
    assert errs == {(0.0, 0): "", (0.0, 1): "", (1.0, 0): "", (1.0, 1): "RuntimeError: boom "
                    "second line"}
    assert [r["loss"] for r in table] == [-0.0, -0.0, -1.0, None]
    # error rows first, full rows later: the header grows (file rewritten), nothing is lost
    out = tmp_path / "grow.csv"
    t = sweep(["nope", "moons"], [1], [0.1], [0, 1], n=10, out=out, workers=1,
              progress=False, checks=False)
    header = out.read_text().splitlines()[0].split(",")
    assert "acc_cert_0.1" in header and len(keys_in_file(out)) == 4
    assert [r["error"] != "" for r in t] == [True, True, False, False]
    assert comparable(read_table(out)) == comparable(t)


def test_sweep_accuracies_use_the_problems_weighted_prior(tmp_path):
    """The accuracy columns weigh the classes with the problem's own prior (the loss's), here
    sum(a) / (sum(a) + sum(b)) = 0.15, not n / (n + m)."""
    xp, xn = make_toy("gaussians", 30, 40, seed=3, separation=0.5)
    a, b = np.full(30, 0.2), np.full(40, 0.85)
    path = tmp_path / "weighted.npz"
    save_dataset(path, xp, xn, a=a, b=b)
    row = run_one(SweepConfig(str(path), 0, 1.0, 0.1, 0, checks=False))
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1, a=a, b=b)
    assert res.problem.p == pytest.approx(0.15)
    expected = 0.15 * np.mean(res.f_pos > 0) + 0.85 * np.mean(res.f_neg < 0)
    assert row["acc_clean"] == pytest.approx(expected, abs=1e-12)
    other_prior = 30 / 70 * np.mean(res.f_pos > 0) + 40 / 70 * np.mean(res.f_neg < 0)
    assert abs(expected - other_prior) > 1e-2


def test_accuracies_and_summaries():
    pr = Problem(np.zeros((3, 1)), np.ones((2, 1)))              # uniform weights, p = 3/5
    acc = accuracies(pr, [0.3, 0.05, -0.1], [-0.5, 0.2], radii=(0.1,))
    assert acc == {"acc_clean": pytest.approx(3 / 5), "acc_cert_0.1": pytest.approx(2 / 5),
                   "mean_radius": pytest.approx(0.6 * 0.35 / 3 + 0.4 * 0.5 / 2)}
    rows = [dict(data="m", neural=False, margin=0.1, n=5, lam=1.0, seed=s, error="",
                 loss=float(s), mass=1.0, acc_clean=0.5 + 0.1 * s) for s in range(3)]
    (s,) = summarize(rows)
    assert s["runs"] == 3 and s["acc_clean_mean"] == pytest.approx(0.6)
    assert s["loss_std"] == pytest.approx((2 / 3) ** 0.5)
    assert "0.600 ± 0.082" in trade_off_table(rows)


def test_input_errors(tmp_path):
    with pytest.raises(InputError, match="lam"):
        make_configs(["moons"], [-1], [0.1], [0])
    with pytest.raises(InputError, match="margin"):
        make_configs(["moons"], [1], [0], [0])
    with pytest.raises(InputError, match="seed"):
        make_configs(["moons"], [1], [0.1], [1.5])
    with pytest.raises(InputError, match=r"\.csv or \.parquet"):
        sweep(["moons"], [1], [0.1], [0], out=tmp_path / "x.txt", progress=False)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(InputError, match="pyarrow"):
            sweep(["moons"], [1], [0.1], [0], out=tmp_path / "x.parquet", progress=False)
    else:
        t = sweep(["moons"], [1], [0.1], [0], n=10, out=tmp_path / "x.parquet", workers=1,
                  progress=False, checks=False)
        assert comparable(read_table(tmp_path / "x.parquet")) == comparable(t)
    assert SweepConfig("moons", 10, 1, 0.1, 0).key() == ("moons", 10, 1.0, 0.1, 0, False)
    assert KEY_COLUMNS[0] == "data"


def test_cli_end_to_end(tmp_path, capsys):
    out = str(tmp_path / "cli.csv")
    argv = ["sweep", "--data", "moons,circles", "--lam", "0,1", "--margin", "0.1",
            "--seeds", "0-1", "--n", "15", "--no-checks", "--out", out, "--workers", "1",
            "--radii", "0.05,0.1"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "| moons | 0.1 | 1 | 2 |" in text and "8 rows in" in text
    rows = read_table(out)
    assert len(rows) == 8 and "acc_cert_0.05" in rows[0] and "acc_cert_0.2" not in rows[0]
    assert main(argv + ["--quiet"]) == 0                  # resumed: nothing to redo
    assert len(read_table(out)) == 8
    capsys.readouterr()
    for bad, msg in [(["--seeds", "4-1"], "empty range"), (["--lam", "1,x"], "not a number"),
                     (["--margin", "0"], "must be > 0"), (["--workers", "0"], ">= 1")]:
        with pytest.raises(SystemExit) as exc:
            main(["sweep", "--data", "moons", "--lam", "1", "--out", out] + bad)
        assert exc.value.code == 2 and msg in capsys.readouterr().err
    assert main(["sweep", "--data", "moons", "--lam", "1", "--n", "10", "--no-checks",
                 "--out", str(tmp_path / "nodir" / "x.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    # an error row gives exit status 1 and is reported
    assert main(["sweep", "--data", "nope", "--lam", "1", "--quiet", "--workers", "1",
                 "--out", str(tmp_path / "err.csv")]) == 1
    assert "nope" in capsys.readouterr().err
    assert os.path.exists(tmp_path / "err.csv")


def test_cli_plot_sweep_from_table(serial, tmp_path, capsys):
    from otreg.cli import main

    _, _, d = serial
    out = tmp_path / "cli_trade_off.png"
    assert main(["plot", "sweep", str(d / "grid.csv"), "--out", str(out)]) == 0
    assert os.path.getsize(out) > 10_000
    assert main(["plot", "plan", str(d / "grid.csv"), "--out", str(out)]) == 2
    assert "table: only `otreg plot sweep`" in capsys.readouterr().err
    assert main(["plot", "plan", "--out", str(out)]) == 2
    assert "data: required" in capsys.readouterr().err
