"""``otreg verify`` and ``otreg plot``: exit codes, table, JSON, figures."""
import json

import pytest

from otreg.cli import main
from otreg.data.toys import make_toy
from otreg.nn import fit, save_model

#: these tests train on deliberately short budgets: the budget warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")


@pytest.fixture(scope="module")
def bad_model(tmp_path_factory):
    """A barely trained network: 1-Lipschitz but far from optimal."""
    xp, xn = make_toy("moons", 40, seed=0)
    tr = fit(xp, xn, epochs=1, width=8, depth=1, progress=False)
    path = tmp_path_factory.mktemp("m") / "bad.npz"
    save_model(tr.model, path)
    return str(path)


def test_verify_exact_only_writes_json_and_plots(tmp_path, capsys):
    rc = main(["verify", "--data", "moons", "--n", "40", "--n-neg", "30", "--lam", "1",
               "--margin", "0.1", "--no-neural", "--json", str(tmp_path / "r.json"),
               "--plots", str(tmp_path / "figs")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "ALL CHECKS PASSED" in out and "strong_duality" in out and "w1_limit" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["data"] == {"n_pos": 40, "n_neg": 30, "dim": 2}
    assert rep["params"]["lam"] == 1.0 and rep["neural"] is None
    assert all(c["passed"] for c in rep["checks"])
    assert (tmp_path / "figs" / "plan.png").stat().st_size > 1000
    assert (tmp_path / "figs" / "potential.png").exists()


def test_verify_exits_1_when_a_check_fails(bad_model, tmp_path, capsys):
    rc = main(["verify", "--data", "moons", "--n", "40", "--model", bad_model,
               "--json", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert rc == 1
    assert "FAIL" in out and "neural_gap" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    failed = {c["name"] for c in rep["checks"] if not c["passed"]}
    assert "neural_gap" in failed
    assert rep["neural"]["train_seconds"] is None and len(rep["neural"]["f_pos"]) == 40
    # the exact solution's own checks still pass
    assert not failed & {"strong_duality", "complementary_slackness", "marginal_bounds",
                         "hinge_slackness", "w1_limit"}


def test_bad_input_exits_2(capsys):
    assert main(["verify", "--data", "banana", "--no-neural"]) == 2
    err = capsys.readouterr().err
    assert "banana" in err and "moons" in err
    assert main(["verify", "--data", "moons", "--margin", "-1", "--no-neural"]) == 2
    assert "margin" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["plan", "potential", "adversarial", "sweep"])
def test_plot_kinds_without_network(kind, tmp_path):
    out = tmp_path / f"{kind}.png"
    args = ["plot", kind, "--data", "gaussians", "--n", "30", "--out", str(out), "--no-neural"]
    if kind == "sweep":
        args += ["--lams", "0.01", "1", "--eps", "0.1"]
    assert main(args) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_plot_with_a_saved_network(bad_model, tmp_path):
    for kind in ("gradnorm", "potential"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", kind, "--data", "moons", "--n", "40", "--model", bad_model,
                     "--out", str(out)]) == 0
        assert out.exists()
    assert main(["plot", "gradnorm", "--data", "moons", "--n", "20", "--no-neural",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert main(["plot", "plan", "--data", "moons", "--n", "20",
                 "--out", str(tmp_path / "x.jpg")]) == 2
