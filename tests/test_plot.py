"""Every figure is written as a PNG (the content was reviewed by eye; here: files, errors)."""
import numpy as np
import pytest

from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.plot import (compute_sweep, plot_adversarial, plot_gradnorm, plot_plan,
                        plot_potential, plot_report, plot_sweep)
from otreg.transport import hkr_transport
from otreg.verify import Potential, fast_exact_potential, verify

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def res():
    xp, xn = make_toy("circles", 50, 40, seed=0)
    return hkr_transport(xp, xn, lam=1.0, margin=0.1)


def is_png(path):
    with open(path, "rb") as fh:
        head = fh.read(8)
    return head == PNG


def test_plan_and_potential(res, tmp_path):
    assert is_png(plot_plan(res, tmp_path / "plan.png"))
    assert is_png(plot_potential(res, None, tmp_path / "pot1.png", res=40))
    model = fast_exact_potential(res, "mean")   # any predict/grad object works as "network"
    assert is_png(plot_potential(res, model, tmp_path / "sub" / "pot2.png", res=40))


def test_gradnorm_and_adversarial(res, tmp_path):
    model = fast_exact_potential(res)
    assert is_png(plot_gradnorm(model, res.problem, tmp_path / "g.png", res=40, result=res))
    assert is_png(plot_adversarial(model, res.problem, tmp_path / "a.png", k=10, res=40))


def test_sweep(tmp_path):
    xp, xn = make_toy("gaussians", 30, seed=1)
    data = compute_sweep(xp, xn, 0.1, lams=[1e-2, 1.0, 10.0], eps=(0.1,))
    rows = data["rows"]
    assert [r["lam"] for r in rows] == [1e-2, 1.0, 10.0]
    assert all(rows[k]["loss"] <= rows[k + 1]["loss"] + 1e-12 for k in range(2))
    assert all(r["mass"] >= 1 - 1e-9 and 0 <= r["certified"][0.1] <= r["clean"] <= 1 for r in rows)
    assert rows[0]["loss"] >= -data["w1"] - 1e-9
    assert is_png(plot_sweep(data, tmp_path / "s.png"))


def test_report_figures_and_errors(tmp_path):
    xp, xn = make_toy("moons", 40, seed=0)
    rep = verify(xp, xn, neural=False, n_test_points=20)
    files = plot_report(rep, tmp_path / "figs")
    assert [f.rsplit("/", 1)[-1] for f in files] == ["plan.png", "potential.png",
                                                      "adversarial_exact.png"]
    assert all(is_png(f) for f in files)
    x3 = np.random.default_rng(0).normal(size=(10, 3))
    r3 = hkr_transport(x3, x3 + 1.0)
    with pytest.raises(InputError, match="^data"):
        plot_plan(r3, tmp_path / "x.png")
    with pytest.raises(InputError, match="^data"):
        plot_gradnorm(Potential(lambda p: p[:, 0]), r3.problem, tmp_path / "x.png")
