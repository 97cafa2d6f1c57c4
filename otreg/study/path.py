"""The exact solution along a path of λ values, and the columns a sweep records of a solution.

:func:`exact_columns` is what every sweep row and every point of a λ path says about an exact
solution (loss, mass, gap, accuracies under the problem's own measure); :func:`lam_path` solves
one problem for several λ (the data of :func:`otreg.plot.plot_sweep`).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ..metrics import accuracies
from ..problem import Problem
from ..transport import HKRResult, hkr_transport, wasserstein1

__all__ = ["exact_columns", "lam_path", "DEFAULT_PATH_LAMS"]

#: λ values of :func:`lam_path` by default: 11 values from 1e-3 to 1e2
DEFAULT_PATH_LAMS: tuple[float, ...] = tuple(float(v) for v in np.logspace(-3, 2, 11))


def exact_columns(res: HKRResult, radii: Iterable[float]) -> dict[str, Any]:
    """What a sweep records of an exact solution, as table columns:
    ``method, loss, mass, extra_mass, gap, solve_seconds, acc_clean, acc_cert_<eps>,
    mean_radius`` (accuracies weighted by the problem's measure,
    :func:`otreg.metrics.accuracies`)."""
    row = {"method": res.method, "loss": float(res.loss), "mass": float(res.mass),
           "extra_mass": float(res.extra_mass), "gap": float(res.gap),
           "solve_seconds": float(res.seconds)}
    row.update(accuracies(res.problem, res.f_pos, res.f_neg, radii))
    return row


def lam_path(problem: Problem, lams: Iterable[float] | None = None,
             radii: Iterable[float] = (0.05, 0.1, 0.2, 0.4)) -> dict[str, Any]:
    """Exact solutions of ``problem`` for each λ of ``lams`` (default :data:`DEFAULT_PATH_LAMS`;
    the problem's own λ is not used).

    Returns ``{"w1", "margin", "radii", "rows"}``, one row per λ with ``lam`` and
    :func:`exact_columns`: min L, mass moved, clean accuracy, certified accuracies
    ``acc_cert_<eps>`` (y f(x) > eps, f the exact potential) and the mean certified radius.
    """
    lams = DEFAULT_PATH_LAMS if lams is None else tuple(float(v) for v in lams)
    radii = tuple(float(e) for e in radii)
    rows = [{"lam": lam, **exact_columns(hkr_transport(problem.with_params(lam=lam)), radii)}
            for lam in lams]
    return {"w1": wasserstein1(problem), "margin": problem.margin, "radii": list(radii),
            "rows": rows}
