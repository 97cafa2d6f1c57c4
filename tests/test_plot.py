"""Figures: what they draw is checked against the solution they draw (not just that a PNG is
written): arcs against the plan, the boundary contour against f = 0, the attack arrows against
x - f(x) grad f(x), the curves against the λ path, the heat map against |grad f|."""
import numpy as np
import pytest
from matplotlib.collections import LineCollection, QuadMesh
from matplotlib.contour import ContourSet
from matplotlib.image import imread
from matplotlib.quiver import Quiver

from otreg import Problem
from otreg.data.toys import make_toy
from otreg.errors import InputError
from otreg.plot import (plot_adversarial, plot_gradnorm, plot_plan, plot_potential, plot_report,
                        plot_sweep)
from otreg.plot.view import view_for
from otreg.potential import Potential
from otreg.study import lam_path
from otreg.transport import hkr_transport
from otreg.verify import verify


@pytest.fixture(scope="module")
def res():
    xp, xn = make_toy("circles", 50, 40, seed=0)
    return hkr_transport(xp, xn, lam=1.0, margin=0.1)


def colours(path):
    """Fractions of clearly red and clearly blue pixels of a PNG (the two classes' colours)."""
    img = imread(path)[..., :3]
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return float(np.mean((r > 0.7) & (g < 0.4) & (b < 0.4))), \
        float(np.mean((b > 0.6) & (r < 0.3)))


def contour_vertices(ax, levels):
    for c in ax.collections:
        if isinstance(c, ContourSet) and len(c.levels) == len(levels) \
                and np.allclose(c.levels, levels):
            return np.vstack([p.vertices for p in c.get_paths() if len(p.vertices)])
    raise AssertionError(f"no contour at levels {levels}")


def test_plan_draws_every_support_arc_between_its_points(res, tmp_path):
    fig = plot_plan(res)
    ax = fig.axes[0]
    segs = np.vstack([c.get_segments() for c in ax.collections
                      if isinstance(c, LineCollection)])
    i, j = np.nonzero(res.plan > 1e-12 * res.plan.max())
    assert len(segs) == len(i)
    drawn = {(tuple(s[0]), tuple(s[1])) for s in segs}
    assert drawn == {(tuple(res.problem.x_pos[a]), tuple(res.problem.x_neg[b]))
                     for a, b in zip(i, j)}
    assert f"{res.mass:.4f}" in ax.get_title()
    red, blue = colours(plot_plan(res, tmp_path / "plan.png"))
    assert red > 1e-4 and blue > 1e-4


def test_potential_boundary_is_the_zero_set_of_the_drawn_functions(res, tmp_path):
    model = res.extension("whitney")    # any predict/grad object works as "network"
    fig = plot_potential(res, model, res=80)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2
    step = np.ptp(res.problem.samples, axis=0).max() / 60   # grid spacing (80 points, padded)
    for ax, pot in zip(panels, (res.extension("mcshane"), model)):
        zero = contour_vertices(ax, [0.0])
        assert len(zero) > 20 and np.max(np.abs(pot(zero))) < step
        m = res.problem.margin
        margins = contour_vertices(ax, [-m, m])
        assert np.max(np.abs(np.abs(pot(margins)) - m)) < step
    assert len([ax for ax in plot_potential(res, None, res=30).axes if ax.get_title()]) == 1
    red, blue = colours(plot_potential(res, None, tmp_path / "sub" / "pot.png", res=40))
    assert red > 5e-3 and blue > 5e-3            # both sides of the level sets are drawn


def test_gradnorm_heat_map_is_the_gradient_norm(res):
    pot = res.extension()
    fig = plot_gradnorm(pot, res.problem, res=30, result=res)
    mesh = next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))
    values = np.asarray(mesh.get_array()).reshape(-1)
    assert values.size == 30 * 30
    assert np.allclose(np.sort(values), 1.0, atol=1e-9)  # the McShane extension: |grad| = 1
    half = Potential(lambda p: 0.5 * pot(p), lambda p: 0.5 * pot.grad(p))
    mesh = next(c for c in plot_gradnorm(half, res.problem, res=30).axes[0].collections
                if isinstance(c, QuadMesh))
    assert np.allclose(np.asarray(mesh.get_array()), 0.5, atol=1e-9)


def test_adversarial_arrows_are_the_one_step_attacks(res):
    pot = res.extension()
    fig = plot_adversarial(pot, res.problem, k=10, res=30)
    q = next(c for c in fig.axes[0].collections if isinstance(c, Quiver))
    x = np.asarray(q.get_offsets())
    step = np.column_stack([q.U, q.V])
    assert len(x) == 10
    assert np.allclose(step, -pot(x)[:, None] * pot.grad(x), atol=1e-12)
    # the exact potential's attacks end on the boundary: |f(x')| << |f(x)|
    assert np.median(np.abs(pot(x + step)) / np.abs(pot(x))) < 1e-6


def test_sweep_curves_are_the_lam_path(tmp_path):
    xp, xn = make_toy("gaussians", 30, seed=1)
    path = lam_path(Problem(xp, xn, margin=0.1), lams=[1e-2, 1.0, 10.0], radii=(0.1,))
    rows = path["rows"]
    assert [r["lam"] for r in rows] == [1e-2, 1.0, 10.0]
    assert all(rows[k]["loss"] <= rows[k + 1]["loss"] + 1e-12 for k in range(2))
    assert all(r["mass"] >= 1 - 1e-9 and 0 <= r["acc_cert_0.1"] <= r["acc_clean"] <= 1
               for r in rows)
    assert rows[0]["loss"] >= -path["w1"] - 1e-9
    fig = plot_sweep(path)
    loss_line = fig.axes[0].get_lines()[0]
    assert np.allclose(loss_line.get_ydata(), [r["loss"] for r in rows])
    clean = next(line for line in fig.axes[2].get_lines() if line.get_label() == "clean accuracy")
    assert np.allclose(clean.get_ydata(), [r["acc_clean"] for r in rows])
    assert plot_sweep(path, tmp_path / "s.png").endswith("s.png")


def test_report_figures_and_errors(tmp_path):
    xp, xn = make_toy("moons", 40, seed=0)
    rep = verify(xp, xn, neural=False, n_test_points=20)
    files = plot_report(rep, tmp_path / "figs")
    assert [f.rsplit("/", 1)[-1] for f in files] == ["plan.png", "potential.png",
                                                      "adversarial_exact.png"]
    for f in files:
        red, blue = colours(f)
        assert red > 1e-4 and blue > 1e-4
        assert f.figure.axes                 # each path also holds its figure

    # d = 3: drawn in the plane of the transport direction (here the shift e between the
    # clouds) and the main principal direction orthogonal to it, through the weighted mean
    rng = np.random.default_rng(0)
    e = np.array([2.0, -1.0, 2.0]) / 3.0
    x3 = rng.normal(size=(12, 3)) * [1.0, 3.0, 0.2]
    r3 = hkr_transport(x3, x3 + 10 * e)
    view = view_for(r3.problem, r3)
    assert abs(view.basis[:, 0] @ e) > 0.99
    assert np.allclose(view.basis.T @ view.basis, np.eye(2), atol=1e-12)
    assert np.allclose(view.center, r3.problem.weights @ r3.problem.samples)
    fig = plot_plan(r3)
    segs = np.vstack([c.get_segments() for c in fig.axes[0].collections
                      if isinstance(c, LineCollection)])
    i, j = np.nonzero(r3.plan > 1e-12 * r3.plan.max())
    assert {(tuple(np.round(s[0], 9)), tuple(np.round(s[1], 9))) for s in segs} == {
        (tuple(np.round(view.to2d(x3[a:a + 1])[0], 9)),
         tuple(np.round(view.to2d(x3[b:b + 1] + 10 * e)[0], 9))) for a, b in zip(i, j)}
    assert "d=3: projected on the plane of the main transport direction" in \
        fig._suptitle.get_text()
    # the heat map is |grad f| at the lifted grid points of the plane
    f3 = Potential(lambda p: 0.5 * p[:, 0], lambda p: np.tile([0.5, 0.0, 0.0], (len(p), 1)))
    mesh = next(c for c in plot_gradnorm(f3, r3.problem).axes[0].collections
                if isinstance(c, QuadMesh))
    assert np.allclose(mesh.get_array(), 0.5)
    with pytest.raises(InputError, match="^out: cannot write"):
        plot_plan(r3, tmp_path / "figs" / "plan.png" / "x.png")   # a file as a directory


def test_every_plot_function_returns_its_figure_and_writes_its_file(tmp_path):
    """Given a path, each public plot function writes the PNG and returns the path (a str, as
    the command line prints it) holding the figure drawn; without a path, the figure.  Both
    show as PNG in notebooks (plot_sweep_table and plot_report: tests/test_sweep.py and
    test_report_figures_and_errors)."""
    from otreg.plot.figures import FigurePath, NotebookFigure
    xp, xn = make_toy("moons", 25, seed=4)
    res = hkr_transport(xp, xn, lam=1.0, margin=0.1)
    ext = res.extension()
    calls = {
        "plan": lambda out: plot_plan(res, out),
        "potential": lambda out: plot_potential(res, ext, out, res=20),
        "gradnorm": lambda out: plot_gradnorm(ext, res.problem, out, res=20),
        "adversarial": lambda out: plot_adversarial(ext, res.problem, out, k=5, res=20),
        "sweep": lambda out: plot_sweep(lam_path(res.problem, [0.1, 1.0]), out),
    }
    for name, call in calls.items():
        out = call(tmp_path / f"{name}.png")
        assert isinstance(out, FigurePath) and out == str(tmp_path / f"{name}.png"), name
        assert (tmp_path / f"{name}.png").stat().st_size > 1000 and out.figure.axes, name
        assert isinstance(out.figure, NotebookFigure) and isinstance(call(None), NotebookFigure)
    assert out._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
