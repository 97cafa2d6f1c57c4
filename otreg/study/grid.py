"""The combinations of a sweep and one run of a combination.

:func:`make_configs` expands the parameter lists into :class:`SweepConfig` records (the key
columns :data:`KEY_COLUMNS` identify a combination); :func:`run_one` solves, (trains,) verifies
and measures one of them; :func:`run_safe` records a failure in the row's ``error`` column.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..data.toys import load_data
from ..data.validate import as_int, as_number
from ..errors import InputError
from ..metrics import DEFAULT_RADII, accuracies
from ..nn import fit
from ..problem import Problem
from ..transport import hkr_transport, wasserstein1
from ..verify import verify
from .path import exact_columns
from .signals import _SIGINT_SEEN, _reraise_interrupt

__all__ = ["KEY_COLUMNS", "Row", "Runner", "SweepConfig", "make_configs", "run_one", "run_safe"]

#: a sweep row: column name -> value
Row = dict[str, Any]
#: what runs one combination (default :func:`run_one`)
Runner = Callable[["SweepConfig"], Row]

#: the columns identifying a combination (a row's key)
KEY_COLUMNS = ("data", "n", "lam", "margin", "seed", "neural")


@dataclass(frozen=True)
class SweepConfig:
    """One combination of a sweep (picklable; everything :func:`run_one` needs)."""

    data: str
    n: int
    lam: float
    margin: float
    seed: int
    neural: bool = False
    radii: tuple = DEFAULT_RADII
    checks: bool = True
    train_kwargs: tuple = ()          # sorted (name, value) pairs for otreg.nn.fit

    def key(self) -> tuple:
        return (str(self.data), int(self.n), float(self.lam), float(self.margin),
                int(self.seed), bool(self.neural))

    def key_dict(self) -> Row:
        return dict(zip(KEY_COLUMNS, self.key()))


def _as_list(values: Any, name: str) -> list:
    if values is None:
        raise InputError(f"{name}: at least one value is needed")
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(values)
    if not values:
        raise InputError(f"{name}: at least one value is needed")
    return values


def _unique(seq: Iterable) -> list:
    """The distinct items of ``seq`` in first-seen order, in linear time (a million seeds
    take a fraction of a second)."""
    return list(dict.fromkeys(seq))


def make_configs(datasets: Any, lams: Any, margins: Any, seeds: Any, n: int = 500,
                 neural: bool = False, radii: Iterable[float] = DEFAULT_RADII,
                 checks: bool = True, train_kwargs: dict | None = None) -> list[SweepConfig]:
    """All combinations, in the order data, λ, margin, seed (duplicates removed).

    ``lams`` must be >= 0, ``margins`` > 0, ``seeds`` integers >= 0, ``n`` >= 2.  Data names
    are passed unchanged to :func:`otreg.data.toys.load_data` (toy names or data files); they
    are validated when the combination runs, so a bad one records its error in its row.
    """
    datasets = [str(d).strip() for d in _as_list(datasets, "datasets")]
    if any(not d for d in datasets):
        raise InputError("datasets: empty data name")
    lams = [as_number(x, "lam", 0.0) for x in _as_list(lams, "lams")]
    margins = [as_number(x, "margin", 0.0, strict=True) for x in _as_list(margins, "margins")]
    seeds = [as_int(x, "seed") for x in _as_list(seeds, "seeds")]
    n = as_int(n, "n", 2)
    radii = tuple(sorted({as_number(r, "radius", 0.0) for r in _as_list(radii, "radii")}))
    tk = tuple(sorted((train_kwargs or {}).items()))
    lists = {"data": _unique(datasets), "lam": _unique(lams), "margin": _unique(margins),
             "seeds": _unique(seeds)}
    _check_size(lists)
    return [SweepConfig(d, n, lam, mg, s, bool(neural), radii, bool(checks), tk)
            for d in lists["data"] for lam in lists["lam"] for mg in lists["margin"]
            for s in lists["seeds"]]


#: the most combinations one sweep runs: beyond, building the grid alone takes seconds and
#: the runs take days (split such a study into several sweeps and tables)
MAX_COMBINATIONS = 100_000
#: the time of the quickest run (a few points, no checks), for the estimate in the refusal
QUICKEST_RUN_SECONDS = 0.02


def _check_size(lists: dict[str, list]) -> None:
    """Refuse, before anything is built, a grid of more than :data:`MAX_COMBINATIONS`
    combinations, naming its longest list and estimating the time it would take."""
    total = 1
    for values in lists.values():
        total *= len(values)
    if total <= MAX_COMBINATIONS:
        return
    longest = max(lists, key=lambda k: len(lists[k]))
    shape = " x ".join(f"{len(v)} {k}" for k, v in lists.items())
    hours = total * QUICKEST_RUN_SECONDS / 3600
    raise InputError(f"{longest}: the grid has {total:,} combinations ({shape}), more than "
                     f"the {MAX_COMBINATIONS:,} one sweep runs (at least {hours:,.1f} hours "
                     f"even at {QUICKEST_RUN_SECONDS} s per run); split it into several "
                     "sweeps")


# ------------------------------------------------------------------------------ one run
def _check_columns(checks: list[dict]) -> Row:
    """Columns of a list of check dicts ``{"name", "passed", "value", ...}``."""
    out = {}
    failed = na = 0
    for c in checks:
        name = "".join(ch if ch.isalnum() else "_" for ch in str(c["name"]).lower()).strip("_")
        passed = None if c["passed"] is None else bool(c["passed"])   # None: n/a
        failed += passed is False
        na += passed is None
        out[f"check_{name}"] = passed
        try:
            out[f"check_{name}_value"] = float(c["value"])
        except (TypeError, ValueError):
            out[f"check_{name}_value"] = float("nan")
    out["checks_failed"] = failed
    out["checks_na"] = na
    out["checks_passed"] = failed == 0
    return out


def run_one(config: SweepConfig) -> Row:
    """Solve, (train,) verify and measure one combination; returns its row (a flat dict).

    Raises on failure; :func:`sweep` turns exceptions into the row's ``error`` column.
    """
    t0 = time.perf_counter()
    x_pos, x_neg, a, b = load_data(config.data, n=config.n, seed=config.seed)
    pr = Problem(x_pos, x_neg, config.lam, config.margin, a, b)
    row = config.key_dict()
    row["n_pos"], row["n_neg"] = pr.n, pr.m
    train = None
    if config.neural:
        train = fit(pr, **{"seed": config.seed, "progress": False, **dict(config.train_kwargs)})

    report = None
    verify_error = ""
    if config.checks:
        try:
            report = verify(pr, model=train.model if train else None, seed=config.seed,
                            neural=False)
        except Exception as exc:  # keep the measurements, record the failure
            _reraise_interrupt(exc)
            verify_error = f"verify: {type(exc).__name__}: {exc}"
    res = report.result if report is not None else hkr_transport(pr)
    row["w1"] = float(report.w1 if report is not None else wasserstein1(pr))
    row.update(exact_columns(res, config.radii))
    if train is not None:
        nf_pos, nf_neg = train.model.predict(pr.x_pos), train.model.predict(pr.x_neg)
        nn_loss = pr.loss(nf_pos, nf_neg)
        row.update(nn_loss=nn_loss, nn_gap=nn_loss - float(res.loss),
                   nn_epochs=int(train.epochs_run), train_seconds=float(train.seconds))
        row.update(accuracies(pr, nf_pos, nf_neg, config.radii, prefix="nn_"))
    if report is not None:  # the checks alone: Report.to_dict would re-evaluate the network
        row.update(_check_columns([c.to_dict() for c in report.checks]))
    row["error"] = verify_error
    row["seconds"] = time.perf_counter() - t0
    return row


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def run_safe(config: SweepConfig, runner: Runner | None = None) -> Row:
    """``runner(config)`` (default :func:`run_one`) with exceptions recorded in ``error``."""
    runner = run_one if runner is None else runner
    t0 = time.perf_counter()
    try:
        row = dict(runner(config))
    except Exception as exc:
        _reraise_interrupt(exc)
        row = config.key_dict()
        row["error"] = _one_line(f"{type(exc).__name__}: {exc}")
        row["seconds"] = time.perf_counter() - t0
        return row
    if _SIGINT_SEEN.is_set():              # Ctrl-C was swallowed somewhere inside the run
        raise KeyboardInterrupt
    row.update(config.key_dict())          # the key columns always describe the combination
    row["error"] = _one_line(row.get("error") or "")
    return row
