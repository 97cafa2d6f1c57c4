"""The interactive explorer: one self-contained HTML page of the exact solution against λ and
the margin.

:func:`explorer_data` solves the problem exactly on a grid of margins times a λ path (the rows
of :func:`otreg.study.lam_path`, plus each solve's plan and potential) and packs what the page
draws; :func:`write_explorer` writes the page: the template, script and style shipped with the
package (``otreg/plot/_explorer/``) with the data inlined as JSON.  The page needs no server, no
network and no library: it opens from disk, offline, and can be mailed.

What the page draws, and where each piece comes from:

* the plan's links and the total mass moved: the solver's plan, every nonzero entry at full
  precision (the page sums the drawn masses);
* the potential's level sets, zero set and margins ``f = +-m``: the McShane extension
  ``F(x) = min_k (f_k + |x - s_k|)`` of the sample values, evaluated in the page on a grid of
  the drawing plane (the formula of ``HKRResult.extension()``, docs/mathematics.md section 6);
* clean and certified accuracy against λ: the path's rows (:func:`otreg.metrics.accuracies`);
* a clicked point's f(x), certified radius ``max(y f(x), 0)`` and the adversarial step
  ``x -> x - f(x) grad F(x)`` of length |f(x)|, from the same extension;
* optionally a network's potential on the same grid, beside the exact one.

Binary arrays are embedded as base64 of little-endian float64 (exact: sample values, masses,
coordinates), float32 (the network's grid, drawn only) and uint16/uint32 (plan indices).
"""
from __future__ import annotations

import base64
import html
import json
import os
import re
from importlib import resources
from typing import Any, Iterable

import numpy as np
from tqdm.auto import tqdm

from ..data.paths import atomic_write
from ..errors import InputError
from ..potential import as_potential
from ..problem import Problem
from ..study import exact_columns
from ..transport import hkr_transport, wasserstein1
from .view import view_for

__all__ = ["explorer_data", "write_explorer", "explorer_html", "DEFAULT_EXPLORER_LAMS",
           "default_margins"]

#: λ values of the explorer by default: 0 and 49 values from 1e-3 to 1e2 (50 in all)
DEFAULT_EXPLORER_LAMS: tuple[float, ...] = (0.0,) + tuple(float(v)
                                                          for v in np.logspace(-3, 2, 49))
#: certified-accuracy radii drawn by default (those of :func:`otreg.study.lam_path`)
DEFAULT_EXPLORER_RADII: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)
#: side of the grid on which the page evaluates the potentials (grid x grid nodes)
DEFAULT_GRID = 96
_ASSETS = "_explorer"


def default_margins(margin: float) -> tuple[float, ...]:
    """The margin grid by default: half, once and twice the problem's margin."""
    return (0.5 * margin, margin, 2.0 * margin)


def _b64(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=dtype).tobytes()).decode("ascii")


def _values(name: str, values: Iterable[float] | None, default: tuple[float, ...],
            low: float, strict: bool) -> tuple[float, ...]:
    """A sorted tuple of distinct finite numbers > low (strict) or >= low, or an InputError
    naming ``name``."""
    try:
        vals = default if values is None else tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a list of numbers, got {values!r}") from None
    if not vals:
        raise InputError(f"{name}: expected at least one value")
    bad = [v for v in vals if not np.isfinite(v) or v < low or (strict and v == low)]
    if bad:
        rule = f"> {low:g}" if strict else f">= {low:g}"
        raise InputError(f"{name}: every value must be finite and {rule}, got {bad[0]!r}")
    return tuple(sorted(set(vals)))


def _solve_entry(res: Any, radii: tuple[float, ...], itype: str) -> dict[str, Any]:
    """What the page keeps of one exact solve: the path row, f on the samples, the plan."""
    row = exact_columns(res, radii)
    rows, cols = np.nonzero(np.asarray(res.plan))
    mass = np.asarray(res.plan)[rows, cols]
    return {
        "loss": row["loss"], "mass": row["mass"], "gap": row["gap"],
        "acc_clean": row["acc_clean"], "mean_radius": row["mean_radius"],
        "acc_cert": [row[k] for k in row if k.startswith("acc_cert_")],
        "f": _b64(np.concatenate([res.f_pos, res.f_neg]), "<f8"),
        "plan_i": _b64(rows, itype), "plan_j": _b64(cols, itype), "plan_w": _b64(mass, "<f8"),
    }


def _network_entry(network: Any, pr: Problem, lift: np.ndarray, name: str | None,
                   lam: float, margin: float) -> dict[str, Any]:
    """The network's values on the page's grid (float32, drawn only) and on the samples."""
    pot = as_potential(network, name or "network")
    grid_vals = pot(lift)
    sample_vals = pot(pr.samples)
    if not (np.all(np.isfinite(grid_vals)) and np.all(np.isfinite(sample_vals))):
        raise InputError("network: returns NaN or infinite values on the drawn region")
    return {"name": pot.name, "lam": lam, "margin": margin,
            "grid": _b64(grid_vals, "<f4"), "f": _b64(sample_vals, "<f8")}


def _geometry(pr: Problem, grid: int) -> tuple[dict[str, Any], np.ndarray]:
    """The drawing plane (see :mod:`otreg.plot.view`): display coordinates, a square box
    around them, and the grid's nodes lifted to R^d (row-major, y outer)."""
    view = view_for(pr, hkr_transport(pr) if pr.dim > 2 else None)
    labels = np.concatenate([np.ones(pr.n), -np.ones(pr.m)])
    xy = view.to2d(pr.samples, labels)
    lo, hi = view.box(pr, pad=0.08)
    half = 0.5 * float(max(hi - lo))  # a square box: distances drawn to scale
    mid = 0.5 * (lo + hi)
    lo, hi = mid - half, mid + half
    u = np.linspace(lo[0], hi[0], grid)
    v = np.linspace(lo[1], hi[1], grid)
    uu, vv = np.meshgrid(u, v)
    lift = view.lift(np.column_stack([uu.ravel(), vv.ravel()]))
    geo = {"box": [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])], "grid": grid,
           "center": np.atleast_1d(view.center).astype(float).tolist(),
           "basis": np.asarray(view.basis, dtype=float).tolist(),
           "axis_labels": [s.replace("$", "") for s in view.labels], "note": view.note,
           "xy": _b64(xy, "<f8")}
    return geo, lift


def explorer_data(problem: Problem, lams: Iterable[float] | None = None,
                  margins: Iterable[float] | None = None,
                  radii: Iterable[float] = DEFAULT_EXPLORER_RADII, network: Any = None,
                  network_name: str | None = None, grid: int = DEFAULT_GRID,
                  title: str | None = None, progress: bool = False) -> dict[str, Any]:
    """Solve ``problem`` exactly for every margin of ``margins`` and λ of ``lams`` and pack what
    the explorer page draws (a JSON-ready dict; large arrays as base64).

    ``lams`` default :data:`DEFAULT_EXPLORER_LAMS` (0 and 49 values in 1e-3..1e2), ``margins``
    default :func:`default_margins` of the problem's margin; the problem's own λ and margin
    choose where the sliders start.  Each λ row is what :func:`otreg.study.lam_path` records
    (loss, mass, gap, clean and certified accuracy at ``radii``, mean radius), with the plan
    and the potential's sample values.  ``network``: a potential, a model with ``predict`` or a
    callable, drawn beside the exact potential (trained at the problem's λ and margin).
    """
    if not isinstance(problem, Problem):
        raise InputError(f"problem: expected an otreg.Problem, got {type(problem).__name__}")
    lams = _values("lams", lams, DEFAULT_EXPLORER_LAMS, 0.0, strict=False)
    margins = _values("margins", margins, default_margins(problem.margin), 0.0, strict=True)
    radii = _values("radii", radii, DEFAULT_EXPLORER_RADII, 0.0, strict=True)
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or not 8 <= grid <= 400:
        raise InputError(f"grid: expected an integer in [8, 400], got {grid!r}")
    geo, lift = _geometry(problem, int(grid))
    itype = "<u2" if problem.n + problem.m <= 65535 else "<u4"
    bar = tqdm(total=len(lams) * len(margins), desc="explore: exact solves", disable=not progress)
    solves = []
    for margin in margins:
        row = []
        for lam in lams:
            res = hkr_transport(problem.with_params(lam=lam, margin=margin))
            row.append(_solve_entry(res, radii, itype))
            bar.update()
        solves.append(row)
    bar.close()
    start_lam = int(np.argmin(np.abs(np.log1p(np.array(lams)) - np.log1p(problem.lam))))
    start_margin = int(np.argmin(np.abs(np.array(margins) - problem.margin)))
    return {
        "format": "otreg-explorer-1", "title": title or f"otreg explorer: {problem.describe()}",
        "describe": problem.describe(), "n": problem.n, "m": problem.m, "dim": problem.dim,
        "p": problem.p, "samples": _b64(problem.samples, "<f8"), "index_type": itype[1:],
        "w1": float(wasserstein1(problem)), "lams": list(lams), "margins": list(margins),
        "radii": list(radii), "start": {"lam": start_lam, "margin": start_margin},
        "solves": solves, **geo,
        "network": None if network is None else _network_entry(
            network, problem, lift, network_name, problem.lam, problem.margin),
    }


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(_ASSETS, name).read_text(encoding="utf-8")


def explorer_html(data: dict[str, Any]) -> str:
    """The page: template + style + script, with ``data`` inlined as JSON (every ``<``
    written as ``\\u003c``, so that no string can close the script element)."""
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    parts = {"STYLE": _asset("explorer.css"), "SCRIPT": _asset("explorer.js"),
             "TITLE": html.escape(data["title"]), "DATA": payload}
    # one pass: the inserted text is never scanned for markers itself
    return re.sub(r"\{\{OTREG_(STYLE|SCRIPT|TITLE|DATA)\}\}", lambda m: parts[m.group(1)],
                  _asset("explorer.html"))


def write_explorer(problem: Problem, out: Any, **kwargs: Any) -> Any:
    """Solve (:func:`explorer_data`, same keyword arguments) and write the page to ``out``
    (a path ending in ``.html``, its directory created); returns ``out``."""
    out = os.fspath(out)
    if not out.lower().endswith((".html", ".htm")):
        raise InputError(f"out: expected a .html file name, got {out!r}")
    text = explorer_html(explorer_data(problem, **kwargs))
    try:
        parent = os.path.dirname(out)
        if parent:
            os.makedirs(parent, exist_ok=True)
        atomic_write(out, text)
    except OSError as exc:
        raise InputError(f"out: cannot write {out!r} ({exc.strerror or exc})") from None
    return out
