"""``otreg train`` / ``otreg predict`` end to end on a tiny data set, in a temp dir."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from otreg.cli import main
from otreg.data.io import save_dataset
from otreg.data.toys import two_moons
from otreg.nn import load_model

#: these tests train on deliberately short budgets: the budget warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")


@pytest.fixture
def tiny(tmp_path):
    xp, xn = two_moons(30, 20, 0.1, 1)
    save_dataset(tmp_path / "d.npz", xp, xn)
    save_dataset(tmp_path / "d.csv", xp, xn)
    return tmp_path, xp, xn


def test_train_then_predict_json(tiny, capsys):
    tmp, xp, xn = tiny
    model_path = tmp / "model.npz"
    rc = main(["train", "--data", str(tmp / "d.npz"), "--lam", "2", "--margin", "0.1",
               "--out", str(model_path), "--epochs", "5", "--width", "8", "--depth", "2",
               "--no-progress", "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0 and model_path.exists()
    assert "final loss:" in out and "time:" in out
    model = load_model(model_path)
    from otreg import Problem
    loss = Problem(xp, xn, lam=2.0, margin=0.1).loss(model.predict(xp), model.predict(xn))
    reported = float(out.split("final loss:")[1].split()[0])
    assert reported == pytest.approx(loss, rel=1e-9)
    rc = main(["predict", "--model", str(model_path), "--points", str(tmp / "d.npz"),
               "--json", str(tmp / "out.json")])
    assert rc == 0
    payload = json.loads((tmp / "out.json").read_text())
    pts = np.vstack([xp, xn])
    assert np.allclose(payload["points"], pts)
    assert np.allclose(payload["f"], model.predict(pts), atol=0, rtol=0)
    assert np.allclose(payload["grad"], model.grad(pts), atol=0, rtol=0)


def test_train_csv_and_predict_stdout_csv(tiny, capsys):
    tmp, xp, xn = tiny
    model_path = tmp / "m2.npz"
    assert main(["train", "--data", str(tmp / "d.csv"), "--out", str(model_path), "--epochs", "2",
                 "--width", "8", "--depth", "1", "--activation", "fullsort",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model_path), "--points", str(tmp / "d.csv")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "x0,x1,f,df_dx0,df_dx1"
    table = np.array([[float(c) for c in ln.split(",")] for ln in lines[1:]])
    pts = np.vstack([xp, xn])
    model = load_model(model_path)
    assert table.shape == (50, 5)
    assert np.array_equal(table[:, :2], pts)
    assert np.array_equal(table[:, 2], model.predict(pts))
    assert np.array_equal(table[:, 3:], model.grad(pts))


def test_cli_errors_exit_2_with_message(tiny, capsys):
    tmp, _, _ = tiny
    rc = main(["train", "--data", str(tmp / "missing.csv"), "--out", str(tmp / "m.npz"),
               "--no-progress"])
    assert rc == 2 and "missing.csv" in capsys.readouterr().err
    rc = main(["train", "--data", str(tmp / "d.npz"), "--lam", "-1", "--out",
               str(tmp / "m.npz"), "--no-progress", "--epochs", "1"])
    assert rc == 2 and "lam" in capsys.readouterr().err
    rc = main(["train", "--data", str(tmp / "d.npz"), "--out", str(tmp / "no" / "m.npz"),
               "--no-progress", "--epochs", "1"])
    assert rc == 2 and "out" in capsys.readouterr().err
    rc = main(["predict", "--model", str(tmp / "nope.npz"), "--points", str(tmp / "d.npz")])
    assert rc == 2 and "nope.npz" in capsys.readouterr().err
    (tmp / "bad.csv").write_text("1,2,1\n3,x,-1\n")
    main(["train", "--data", str(tmp / "d.npz"), "--out", str(tmp / "ok.npz"), "--epochs", "1",
          "--width", "8", "--depth", "1", "--no-progress"])
    capsys.readouterr()
    rc = main(["predict", "--model", str(tmp / "ok.npz"), "--points", str(tmp / "bad.csv")])
    assert rc == 2 and "bad.csv" in capsys.readouterr().err


def test_entry_point_subprocess(tiny):
    tmp, _, _ = tiny
    script = os.path.join(os.path.dirname(sys.executable), "otreg")
    launcher = ([script] if os.path.exists(script)
                else [sys.executable, "-c", "import sys; from otreg.cli import main; "
                                            "sys.exit(main())"])
    cmd = launcher + ["train", "--data", str(tmp / "d.npz"), "--out",
           str(tmp / "s.npz"), "--epochs", "1", "--width", "8", "--depth", "1", "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "final loss" in proc.stdout and os.path.exists(tmp / "s.npz")
