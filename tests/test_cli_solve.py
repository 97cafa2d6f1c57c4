import json

import numpy as np
import pytest

from otreg import hkr_transport
from otreg.cli import main
from otreg.data.toys import make_toy


def test_solve_toy_matches_library(tmp_path, capsys):
    out = tmp_path / "sol.json"
    assert main(["solve", "--data", "moons", "--n", "40", "--lam", "2", "--margin", "0.2",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    x_pos, x_neg = make_toy("moons", 40, seed=0)
    res = hkr_transport(x_pos, x_neg, lam=2, margin=0.2)
    assert report["loss"] == pytest.approx(res.loss, abs=1e-10)
    assert np.allclose(report["f_pos"], res.f_pos, atol=1e-9)
    assert sum(report["plan"]["mass"]) == pytest.approx(res.mass, abs=1e-12)
    assert "loss=" in capsys.readouterr().out


def test_solve_csv_file(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y,label\n0,0,1\n0,1,1\n3,0,-1\n3,1,-1\n")
    out = tmp_path / "s.json"
    assert main(["solve", "--data", str(path), "--lam", "0", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["loss"] == pytest.approx(-3.0, abs=1e-12)


@pytest.mark.parametrize("argv,msg", [
    (["--data", "no_such_toy"], "no_such_toy"),
    (["--data", "moons", "--margin", "0"], "margin"),
    (["--data", "moons", "--lam", "-1"], "lam"),
])
def test_solve_bad_input_exits_2(argv, msg, capsys):
    assert main(["solve", "--n", "10"] + argv) == 2
    assert msg in capsys.readouterr().err


def test_help_loads_no_numerical_library():
    """``otreg --help`` and each command's ``--help`` build the parsers without importing
    NumPy, SciPy or numba (they cost most of a start-up): every command imports them inside
    its ``run``."""
    import subprocess
    import sys

    code = ("import sys\nfrom otreg.cli import main\n"
            "for argv in (['--help'], ['solve', '--help'], ['verify', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('numpy', 'scipy', 'numba') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
