"""``otreg explore``: the page's embedded data against the exact solver and the λ path, and
bad input as one-line errors (exit 2)."""
import base64
import json
import re

import numpy as np
import pytest

from otreg import Problem, hkr_transport
from otreg.cli import main
from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.plot.explore import explorer_data
from otreg.study import lam_path


def _data(path):
    text = path.read_text(encoding="utf-8")
    return json.loads(re.search(r'id="otreg-data">(.*?)</script>', text, re.S).group(1))


def test_explore_writes_the_exact_solves(tmp_path, capsys):
    out = tmp_path / "sub" / "e.html"
    assert main(["explore", "--data", "circles", "--n", "25", "--lam", "2", "--margin", "0.15",
                 "--lams", "0", "0.5", "2", "50", "--margins", "0.15", "0.3", "--grid", "16",
                 "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    data = _data(out)
    assert data["lams"] == [0, 0.5, 2, 50] and data["margins"] == [0.15, 0.3]
    assert data["start"] == {"lam": 2, "margin": 0}
    x_pos, x_neg = make_toy("circles", n_pos=25, seed=0)
    for im, margin in enumerate(data["margins"]):
        for il, lam in enumerate(data["lams"]):
            res = hkr_transport(x_pos, x_neg, lam=lam, margin=margin)
            entry = data["solves"][im][il]
            f = np.frombuffer(base64.b64decode(entry["f"]), "<f8")
            w = np.frombuffer(base64.b64decode(entry["plan_w"]), "<f8")
            i = np.frombuffer(base64.b64decode(entry["plan_i"]), "<u2")
            j = np.frombuffer(base64.b64decode(entry["plan_j"]), "<u2")
            assert np.allclose(f, np.concatenate([res.f_pos, res.f_neg]), rtol=0, atol=1e-12)
            assert np.allclose(w, res.plan[i, j], rtol=0, atol=1e-15)
            assert abs(w.sum() - res.mass) <= 1e-12 and entry["loss"] == pytest.approx(res.loss,
                                                                                      abs=1e-12)


def test_rows_are_the_lambda_path():
    """The accuracy curves are otreg.study.lam_path's rows for each margin."""
    x_pos, x_neg = make_toy("moons", n_pos=20, seed=1)
    pr = Problem(x_pos, x_neg, 1.0, 0.2)
    lams, radii = [0.0, 0.3, 3.0], [0.05, 0.2]
    data = explorer_data(pr, lams=lams, margins=[0.2], radii=radii, grid=8)
    path = lam_path(pr, lams, radii)
    for entry, row in zip(data["solves"][0], path["rows"]):
        assert entry["acc_clean"] == row["acc_clean"]
        assert entry["acc_cert"] == [row["acc_cert_0.05"], row["acc_cert_0.2"]]
        assert entry["mass"] == pytest.approx(row["mass"], abs=1e-12)
    assert data["w1"] == pytest.approx(path["w1"], abs=1e-12)


def test_network_values_on_the_grid():
    x_pos, x_neg = make_toy("moons", n_pos=10, seed=0)
    pr = Problem(x_pos, x_neg)
    data = explorer_data(pr, lams=[1.0], margins=[0.1], grid=8,
                         network=lambda p: np.atleast_2d(p)[:, 0])
    grid = np.frombuffer(base64.b64decode(data["network"]["grid"]), "<f4").reshape(8, 8)
    x0, x1 = data["box"][:2]
    assert np.allclose(grid[3], np.linspace(x0, x1, 8), atol=1e-6)  # one row: f = x
    with pytest.raises(InputError, match="network"):
        explorer_data(pr, lams=[1.0], grid=8, network=lambda p: np.full(len(p), np.nan))


@pytest.mark.parametrize("argv,msg", [
    (["--margins", "0.1", "0"], "margins"),
    (["--lams", "1", "-2"], "lams"),
    (["--lams", "1", "nan"], "lams"),
    (["--lam-max", "0"], "lam-max"),
    (["--radii", "0"], "radii"),
    (["--data", "no_such_toy"], "no_such_toy"),
    (["--margin", "-1"], "margin"),
])
def test_explore_bad_input_exits_2(argv, msg, tmp_path, capsys):
    args = ["explore", "--data", "moons", "--n", "8", "--grid", "8", "--out",
            str(tmp_path / "e.html")]
    assert main(args + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("otreg explore: error:") and msg in err and err.count("\n") == 1


@pytest.mark.parametrize("out,msg", [("e.png", "out"), ("", "out")])
def test_explore_bad_output_exits_2(out, msg, tmp_path, capsys):
    target = str(tmp_path / out) if out else ""
    assert main(["explore", "--data", "moons", "--n", "8", "--out", target]) == 2
    assert msg in capsys.readouterr().err


def test_explore_bad_grid_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explore", "--data", "moons", "--grid", "3", "--out", str(tmp_path / "e.html")])
    assert exc.value.code == 2 and "grid" in capsys.readouterr().err
