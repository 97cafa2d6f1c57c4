"""Figures of the hKR solution (matplotlib, Agg canvas, PNG files).

* :func:`plot_plan` - the two clouds and the optimal plan's arcs (width ~ mass); arcs between
  pairs closer than 2 m (where the hinge's extra mass can flow) are coloured apart, and points
  whose marginal exceeds the mandatory mass are ringed.
* :func:`plot_potential` - level sets of the exact potential's 1-Lipschitz extension and of the
  network side by side, decision boundary f = 0 and margins f = +-m.
* :func:`plot_gradnorm` - heat map of |grad f| of the network.
* :func:`plot_adversarial` - one-step attacks x -> x - f(x) grad f(x) over the level sets.
* :func:`plot_sweep` - exact loss, W1, mass moved, clean and certified accuracy against lambda
  (from :func:`otreg.study.lam_path`).
* :func:`plot_sweep_table` - the robustness / accuracy trade-off of a sweep table.

Data with d != 2 are drawn in a plane that keeps what matters — the main transport direction
and the main principal direction orthogonal to it (:func:`otreg.plot.view.view_for`); each
figure says so in its title.

Every function takes ``out``: without it the figure is returned; with a path the figure is
written there and the path returned as a :class:`~otreg.plot.figures.FigurePath` — a ``str``
that also holds the figure (``.figure``).  Both show as pictures in notebooks.  No pyplot
state is touched, so they are safe in scripts, tests and threads.
"""
from .figures import (plot_adversarial, plot_gradnorm, plot_plan, plot_potential, plot_report,
                      plot_sweep)
from .sweep import plot_sweep_table

__all__ = ["plot_plan", "plot_potential", "plot_gradnorm", "plot_adversarial", "plot_sweep",
           "plot_sweep_table", "plot_report"]
