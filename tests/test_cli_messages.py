"""Exit statuses and the words of the command line's messages (docs/faults.md): 1 for a
computation that failed on valid input, 2 for bad input; every message names the user's
argument or file; JSON never holds NaN or Infinity; a toy name is the toy."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from otreg.data.io import json_text, load_dataset, save_dataset
from otreg.data.toys import make_toy
from otreg.errors import InputError, NumericalError, SolverError
from otreg.nn import load_model
from test_faults import _raise
from test_faults import one_line_error as one_line

XP, XN = make_toy("moons", 6, seed=0)


# ---------------------------------------------------------------------------------- exit status
def test_a_solver_failure_exits_1_bad_input_exits_2(cli, monkeypatch):
    rc, _, err = cli(["solve", "--data", "moons", "--n", "5", "--lam", "2e6"])
    assert rc == 2
    one_line(err, "lam: must be at most 1e+06, got 2000000")
    rc, _, err = cli(["solve", "--data", "moons", "--n", "5", "--lam", "2e4", "--method",
                      "sparse", "--no-progress"])
    assert rc == 2
    one_line(err, "lam: 20000 is above 10000", "'sparse'", "'netsimplex' takes lam up to 1e+06")
    rc, _, err = cli(["solve", "--data", "moons", "--n", "5", "--margin", "1e308"])
    assert rc == 2
    one_line(err, "margin: 1e+308 is", "times the diameter of the data")
    monkeypatch.setattr("otreg.transport.hkr_transport",
                        _raise(SolverError("netsimplex: certificate failed (relative gap 1e-3)")))
    rc, _, err = cli(["solve", "--data", "moons", "--n", "5"])
    assert rc == 1
    one_line(err, "error: netsimplex: certificate failed")


def test_json_never_holds_nan_or_infinity(cli, monkeypatch, tmp_path):
    """A non-finite number bound for a JSON file is a numerical failure (exit 1) naming the
    entry, and nothing is written; where a value may not apply it becomes null."""
    with pytest.raises(NumericalError, match=r"^out\.w1: inf cannot be written"):
        json_text({"w1": np.float64(np.inf)}, "out")
    assert json.loads(json_text({"v": [1.0, float("nan")]}, nan_as_null=True)) == {"v": [1.0,
                                                                                         None]}
    monkeypatch.setattr("otreg.transport.wasserstein1", lambda *a, **k: float("inf"))
    out = tmp_path / "s.json"
    rc, _, err = cli(["solve", "--data", "moons", "--n", "5", "--json", out])
    assert rc == 1 and not out.exists()
    one_line(err, "--json.w1: inf cannot be written as JSON number")


def test_stdout_that_cannot_be_written_is_named():
    """Disk full on stdout: one line naming standard output; a closed pipe: silent 141."""
    code = "import sys; from otreg.cli import main; sys.exit(main(sys.argv[1:]))"
    args = [sys.executable, "-c", code, "solve", "--data", "moons", "--n", "5"]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2
    one_line(proc.stderr, "standard output: No space left on device")


# ---------------------------------------------------------------------------------- words
def test_messages_name_the_users_file_not_internal_variables(cli, tmp_path):
    rc, _, err = cli(["solve", "--data", tmp_path])                 # a directory as data
    assert rc == 2 and "is a directory" in err and "not found" not in err
    rc, _, err = cli(["predict", "--model", tmp_path, "--points", tmp_path / "p.csv"])
    assert rc == 2
    one_line(err, f"model: {tmp_path} is a directory")
    header = tmp_path / "h.csv"
    header.write_text("x,y,label,\n1,2,1,\n3,4,-1,\n")                 # header ends in a comma
    rc, _, err = cli(["solve", "--data", header])
    assert rc == 2
    one_line(err, "line 1 is a header with no name for column 4", "separator at the end")
    huge = tmp_path / "huge.csv"
    huge.write_text("x,y,label\n1e400,2,1\n3,4,-1\n")                 # finite, beyond float64
    with pytest.raises(InputError, match=r"line 2, column 1: '1e400' is beyond the float64"):
        load_dataset(huge)


def test_a_finite_long_double_is_not_called_infinite():
    from otreg import Problem

    big = np.array([[np.longdouble("1e400"), 0]], dtype=np.longdouble)
    if not np.isfinite(big).all():  # platforms whose long double is a double
        big = np.array([[np.finfo(np.longdouble).max, 0]])
    with pytest.raises(InputError, match="^x_pos: .*beyond the float64 range") as info:
        Problem(big, [[0.0, 0.0]])
    assert "infinite" not in str(info.value) or np.longdouble is np.float64


def test_a_toy_name_is_the_toy_even_with_a_file_of_that_name(cli, tmp_path, monkeypatch):
    """Decided: a bare toy name always means the toy (a note says the file is not read);
    ./moons reads the file."""
    monkeypatch.chdir(tmp_path)
    save_dataset(tmp_path / "data.npz", XP + 100.0, XN + 100.0)
    os.rename(tmp_path / "data.npz", tmp_path / "moons")
    rc, toy, err = cli(["solve", "--data", "moons", "--n", "6"])
    assert rc == 0 and "note: --data moons is the built-in toy" in err and "./moons" in err
    rc, own, err = cli(["solve", "--data", "./moons"])
    assert rc == 0 and "note" not in err
    rc, plain, _ = cli(["solve", "--data", "moons", "--n", "6"])
    # the toy's clouds (W1 of the toy) vs the file's (the same clouds moved: the same W1,
    # a different loss would show a different problem: compare the whole first line)
    assert toy.splitlines()[0].split("time=")[0] == plain.splitlines()[0].split("time=")[0]


def test_certified_radius_before_fit_is_not_fitted():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import NotFittedError

    from otreg import HKRClassifier

    clf = HKRClassifier()
    for method in (clf.certified_radius, clf.predict, clf.decision_function):
        with pytest.raises(NotFittedError):
            method(XP)


def test_architecture_json_with_infinity_is_refused(tmp_path, barely_trained_model, cli):
    files = dict(np.load(barely_trained_model))
    arch = json.loads(str(files["architecture"][0]))
    net = arch["network"] if arch["type"] == "cones" else arch  # fit's default: cones on top
    net["layers"][0]["in"] = "__INF__"
    text = json.dumps(arch).replace('"__INF__"', "Infinity")
    files["architecture"] = np.array([text])
    bad = tmp_path / "inf.npz"
    np.savez(bad, **files)
    with pytest.raises(InputError, match=f"^model: {bad}: the architecture is not valid JSON "
                                         r"\(it holds Infinity"):
        load_model(bad)
    rc, _, err = cli(["predict", "--model", bad, "--points", barely_trained_model])
    assert rc == 2
    one_line(err, str(bad), "Infinity")


def test_sweep_table_without_rows_names_the_table():
    from otreg.plot.sweep import plot_sweep_table

    with pytest.raises(InputError, match=r"^table \(rows given\): the sweep table has no row"):
        plot_sweep_table([{"data": "moons", "lam": 1.0, "error": "boom"}])


def test_dask_scheduler_errors_are_wrapped(monkeypatch):
    """An unreachable scheduler is an input error naming ``scheduler``; a cluster that fails
    during a pricing pass is a solver failure naming the sparse solver."""
    distributed = pytest.importorskip("dask.distributed")
    from otreg import hkr_transport

    class Broken:
        def __init__(self, address=None, **kwargs):
            if address is not None:
                raise OSError(f"Timed out trying to connect to {address}")

        def scheduler_info(self):
            return {"workers": {"w": {}}}

        def scatter(self, data, broadcast=False):
            return data

        def submit(self, *args, **kwargs):
            return None

        def gather(self, futures):
            raise RuntimeError("worker tcp://10.0.0.1:1234 died")

    monkeypatch.setattr(distributed, "Client", Broken)
    with pytest.raises(InputError, match="^scheduler: cannot connect to the Dask scheduler "
                                         "'tcp://nowhere:1'"):
        hkr_transport(XP, XN, method="sparse", scheduler="tcp://nowhere:1")
    with pytest.raises(SolverError, match="^sparse: the Dask cluster failed during a pricing "
                                          "pass .*died"):
        hkr_transport(XP, XN, method="sparse", scheduler=Broken())
