"""Training a 1-Lipschitz network on the hKR loss with Adam, to a plateau of the full-data loss.

**Units.** The network works in normalised units (:meth:`Sequential.set_units`): the data are
centred and divided by their RMS radius ``s``, the margin by ``s``, and the network's output
is multiplied by ``s``.  The model is exactly as 1-Lipschitz in the original units as in the
normalised ones, and training is scale-invariant: data multiplied by 1e-6 or 1e6 train along
the same trajectory (the loss is multiplied by ``s``, Adam is invariant to that).

**Budget in optimiser steps.** ``steps`` counts Adam steps (not epochs: with the whole data in
one batch an epoch is one step).  The learning rate starts at ``lr`` and is divided by
``decay`` each time the full-data loss reaches a plateau (no improvement of the best value by
more than ``tol`` x (|best| + 2 margin) for ``patience`` steps); training stops on the plateau
reached at the smallest rate ``lr * final_lr``, or on the budget, with a warning naming the
option to raise when the loss was still improving.  The weights of the best full-data loss are
kept, then frozen (exact orthonormal weights).

**Mini-batches.** When the data exceed ``batch_size``, each epoch shuffles the n + m points and
splits them into ``K`` batches of (nearly) equal size.  A batch ``B`` contributes
``K * sum_{k in B} l_k(f)``, where ``l_k`` is the point's term of the full-data loss: over a
uniformly chosen batch of the partition this is exactly the full-data loss in expectation, so
the gradient estimate is unbiased.  The full-data loss is then evaluated once per epoch.

**Divergence** (a non-finite loss or weight, or a loss far above its start) raises
:class:`~otreg.errors.TrainingError` naming ``lr``.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..data.validate import as_int, as_number, as_points, check_lam, check_margin, raw_weights
from ..errors import InputError, TrainingError
from ..problem import DEFAULT_LAM, DEFAULT_MARGIN, Problem, as_problem, hkr_objective
from ._blas import blas_threads
from .budget import check_budget
from .cones import CONE_SCHEDULE, MAX_CONE_POINTS, train_cones
from .layers import Sequential, lipschitz_mlp
from .losses import multiclass_coefficients
from .optim import SGD, Adam, Optimizer
from .tensor import no_grad

__all__ = ["TrainResult", "TrainingBudgetWarning", "fit", "fit_multiclass", "full_loss",
           "default_settings", "default_network", "step_budget", "interleaving",
           "DEFAULT_NETWORK", "HIGH_DIM_NETWORK", "DEFAULT_SCHEDULE"]


class TrainingBudgetWarning(UserWarning):
    """Training stopped on its step budget while the full-data loss was still improving."""


@dataclass
class TrainResult:
    """Outcome of :func:`fit`.

    ``history``: full-data hKR loss at each evaluation (every step with full batches, every
    epoch with mini-batches; training-time weights), then at each step of the cones' heights;
    ``loss``: full-data loss of the returned (frozen, exactly 1-Lipschitz) model;
    ``steps_run``/``best_step``: the network's optimiser steps done and the step of the kept
    weights; ``stop_reason``: the network's, ``"plateau"`` or ``"budget"``; ``settings``:
    every training setting used (defaults resolved); ``cone_steps_run``: steps on the cones'
    heights (0 without cones).
    """

    model: Sequential
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    epochs_run: int = 0
    best_epoch: int = 0
    loss: float = float("nan")
    stopped_early: bool = False
    steps_run: int = 0
    best_step: int = 0
    stop_reason: str = ""
    settings: dict = field(default_factory=dict)
    cone_steps_run: int = 0

    def html_rows(self) -> list[tuple[str, object]]:
        """The quantities :meth:`_repr_html_` shows, (name, value), settings last."""
        rows = [("loss (full data)", float(self.loss)), ("seconds", float(self.seconds)),
                ("steps run", self.steps_run), ("best step", self.best_step),
                ("epochs run", self.epochs_run), ("stop reason", self.stop_reason),
                ("evaluations in history", len(self.history))]
        return rows + [(f"setting: {k}", v) for k, v in self.settings.items()]

    def _repr_html_(self) -> str:
        """A table of the training outcome and settings in notebooks."""
        from .._html import key_values
        return key_values(self.html_rows(), "training result (TrainResult)")


def full_loss(model: Sequential, problem: Problem) -> float:
    """Full-data hKR loss of ``model`` on a Problem (docs/mathematics.md §1)."""
    return problem.loss(model.predict(problem.x_pos), model.predict(problem.x_neg))


def data_units(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (weighted mean) and RMS radius of the points ``x`` with weights ``w``: the
    units in which the network is trained (1.0 for data all at one point)."""
    w = w / w.sum()
    centre = w @ x
    radius = float(np.sqrt(w @ np.sum((x - centre) ** 2, axis=1)))
    return centre, (radius if radius > 0 else 1.0)


#: the default network in 2 and 3 dimensions: deep and narrow (depth is what lets a
#: 1-Lipschitz GroupSort network zig-zag at slope 1 between interleaved classes; width does
#: not), warm-started Björck
DEFAULT_NETWORK = {"width": 32, "depth": 16, "activation": "groupsort", "bjorck_iters": 1,
                   "warm_start": True, "bias_spread": 0.0}
#: from 4 dimensions on: at least as wide as the data (a narrower first layer projects the
#: points onto a subspace, where they are closer: a capacity limit) and 64 units, half as deep
#: (measured: 64 x 8 reaches in 5000 steps the gaps 32 x 16 reached in 30000, docs/neural.md)
HIGH_DIM_NETWORK = {"width": 64, "depth": 8}
#: the default optimisation (learning rates in the model's normalised units)
#: (patience None: a twentieth of the step budget, at least 200 steps)
DEFAULT_SCHEDULE = {"batch_size": 2048, "lr": 4e-3, "final_lr": 1e-2, "patience": None,
                    "decay": 0.1, "tol": 3e-4, "betas": (0.8, 0.99), "anneal": 0.5,
                    "dtype": "float32"}
#: step budget: BASE_STEPS on well-separated classes, plus MIX_STEPS x the interleaving
#: (fraction of points whose nearest neighbour has the other label), at most MAX_STEPS and at
#: most MAX_WORK / (points x weights + LAYER_WORK x layers): a cap on the work of the whole run
#: (about 20 CPU s on the benchmark machine), whatever the size of the data and of the network.
#: A step costs about points x weights multiply-adds in the matrix products plus, per dense
#: layer, the Björck step, Adam and Python's overhead (measured: worth LAYER_WORK)
BASE_STEPS, MIX_STEPS, MAX_STEPS = 4000, 55000, 30000
MAX_WORK, LAYER_WORK = 1.67e11, 7e5
#: with cones (:mod:`otreg.nn.cones`) the network's budget is capped at this many steps: the
#: cones take the values on the sample the rest of the way to the optimum
CONE_NETWORK_STEPS = 300


def network_weights(dim: int, width: int, depth: int, out_dim: int = 1) -> int:
    """Number of weights of the dense layers of a ``dim - width x depth - out_dim`` network."""
    dims = [dim] + [width] * depth + [out_dim]
    return sum(a * b for a, b in zip(dims, dims[1:]))


def default_network(dim: int) -> dict:
    """:data:`DEFAULT_NETWORK`, with :data:`HIGH_DIM_NETWORK`'s width and depth from 4
    dimensions on (the width rounded up to an even number at least ``dim``)."""
    if dim <= 3:
        return dict(DEFAULT_NETWORK)
    width = max(HIGH_DIM_NETWORK["width"], dim + dim % 2)
    return {**DEFAULT_NETWORK, **HIGH_DIM_NETWORK, "width": width}


def step_budget(n_points: int, dim: int, mix: float, width: int, depth: int,
                out_dim: int = 1) -> int:
    """The default step budget (see :data:`BASE_STEPS`): more steps where the classes
    interleave, capped by the work of the run; from 4 dimensions on the cap itself (on every
    benchmark set of 10 to 64 dimensions the loss still improves well past BASE_STEPS, e.g.
    digits 4 vs 9: gap 4.6 % at 5000 steps, 3.9 % at 10000; the plateau rule stops earlier
    when it converges)."""
    work = n_points * network_weights(dim, width, depth, out_dim) + LAYER_WORK * (depth + 1)
    cap = max(200, min(MAX_STEPS, int(MAX_WORK / work)))
    if dim > 3:
        return cap
    return min(cap, BASE_STEPS + 1000 * round(MIX_STEPS * mix / 1000))


def interleaving(samples: np.ndarray, labels: np.ndarray, max_points: int = 4000,
                 seed: int = 0) -> float:
    """Fraction of the points whose nearest other point has the other label (on at most
    ``max_points`` points drawn at random): ~0 for separated or nested classes, 0.1-0.5 when
    the classes interleave at a scale far below the data's extent (stripes, overlapping
    clouds), where the optimal potential changes sign from point to point and training needs
    more steps."""
    from scipy.spatial import cKDTree

    x, y = samples, labels
    if x.shape[0] > max_points:
        keep = np.random.default_rng(seed).choice(x.shape[0], max_points, replace=False)
        x, y = x[keep], y[keep]
    if x.shape[0] < 2:
        return 0.0
    _, idx = cKDTree(x).query(x, k=2)
    return float(np.mean(y[idx[:, 1]] != y))


def default_settings(samples: np.ndarray, labels: np.ndarray) -> dict:
    """Every default of :func:`fit` for these data: :func:`default_network` for their
    dimension, :data:`DEFAULT_SCHEDULE` and a :func:`step_budget` from the classes'
    :func:`interleaving`, capped by the work of the run (see docs/neural.md for the
    measurements behind them)."""
    mix = interleaving(samples, labels)
    net = default_network(samples.shape[1])
    steps = step_budget(samples.shape[0], samples.shape[1], mix, net["width"], net["depth"])
    cones = samples.shape[0] <= MAX_CONE_POINTS or \
        np.unique(samples, axis=0).shape[0] <= MAX_CONE_POINTS
    if cones:
        steps = min(steps, CONE_NETWORK_STEPS)
    return {**net, **DEFAULT_SCHEDULE, **CONE_SCHEDULE, "steps": steps, "interleaving": mix,
            "architecture": "cones" if cones else "mlp"}


def _optimizer(name: str, params: list, lr: float, betas=(0.9, 0.999)) -> Optimizer:
    if name == "adam":
        return Adam(params, lr=lr, betas=betas)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9)
    raise InputError(f"optimizer: expected 'adam' or 'sgd', got {name!r}")


def _check_architecture(cfg: dict, given: dict, samples: np.ndarray, out_dim: int) -> None:
    arch = cfg["architecture"]
    if arch not in ("cones", "mlp"):
        raise InputError(f"architecture: expected 'cones' or 'mlp', got {arch!r}")
    if arch == "cones" and out_dim > 1:
        raise InputError("architecture: cones are for one output (otreg.nn.fit), use 'mlp'")
    if arch == "cones" and given.get("architecture") == "cones" \
            and np.unique(samples, axis=0).shape[0] > MAX_CONE_POINTS:
        raise InputError(f"architecture: cones need at most {MAX_CONE_POINTS} distinct "
                         f"samples (a samples x centres distance matrix), got "
                         f"{np.unique(samples, axis=0).shape[0]}; use 'mlp'")


def _settings(samples: np.ndarray, labels: np.ndarray, given: dict, out_dim: int = 1) -> dict:
    """Defaults of :func:`default_settings` overridden by the options given (not None),
    validated; ``epochs`` (if given) sets the step budget to that many passes over the data.
    Without ``steps`` the budget follows the network's width and depth (given or default)."""
    cfg = default_settings(samples, labels)
    n_points = samples.shape[0]
    cones = cfg["architecture"] == "cones"
    if out_dim > 1:
        cfg["architecture"] = "mlp"
    cfg.update({k: v for k, v in given.items() if v is not None})
    _check_architecture(cfg, given, samples, out_dim)
    if given.get("steps") is None and (given.get("width") is not None or out_dim > 1
                                       or given.get("depth") is not None
                                       or cones != (cfg["architecture"] == "cones")):
        cfg["steps"] = step_budget(n_points, samples.shape[1], cfg["interleaving"],
                                   as_int(cfg["width"], "width", low=1),
                                   as_int(cfg["depth"], "depth", low=0), out_dim)
        if cfg["architecture"] == "cones":
            cfg["steps"] = min(cfg["steps"], CONE_NETWORK_STEPS)
    for name, low in (("steps", 1), ("batch_size", 1), ("patience", 1), ("seed", 0),
                      ("width", 1), ("depth", 0), ("bjorck_iters", 1), ("cone_steps", 0)):
        if cfg[name] is not None:
            cfg[name] = as_int(cfg[name], name, low=low)
    cfg["lr"] = as_number(cfg["lr"], "lr", low=0.0, strict=True)
    for name in ("final_lr", "tol"):
        val = cfg[name]
        if not (isinstance(val, (int, float)) and 0 < val <= 1):
            raise InputError(f"{name}: must be in (0, 1], got {val!r}")
    try:  # "float32", np.float32 and np.dtype("float32") alike
        cfg["dtype"] = np.dtype(cfg["dtype"]).name
    except TypeError:
        cfg["dtype"] = repr(cfg["dtype"])
    if cfg["dtype"] not in ("float32", "float64"):
        raise InputError(f"dtype: expected 'float32' or 'float64', got {given.get('dtype')!r}")
    decay = cfg["decay"]
    if not (isinstance(decay, (int, float)) and 0 < decay < 1):
        raise InputError(f"decay: must be in (0, 1), got {decay!r}")
    n_batches = max(1, math.ceil(n_points / cfg["batch_size"]))
    if given.get("epochs") is not None:
        cfg["steps"] = as_int(given["epochs"], "epochs", low=1) * n_batches
    if cfg["patience"] is None:  # a plateau is judged on a window in proportion to the budget
        cfg["patience"] = max(200, cfg["steps"] // 20)
    cfg["n_batches"] = n_batches
    check_budget(cfg, n_points, samples.shape[1], out_dim)  # before anything is allocated
    return cfg


def fit(x_pos: Any, x_neg: Any = None, lam: float | None = None, margin: float | None = None,
        a: Any = None, b: Any = None, p: float | None = None, *,
        width: int | None = None, depth: int | None = None, activation: str | None = None,
        steps: int | None = None, epochs: int | None = None, batch_size: int | None = None,
        lr: float | None = None, seed: int = 0, progress: bool = True,
        patience: int | None = None, model: Sequential | None = None, optimizer: str = "adam",
        final_lr: float | None = None, bjorck_iters: int | None = None,
        tol: float | None = None, decay: float | None = None,
        dtype: str | None = None, architecture: str | None = None,
        cone_steps: int | None = None) -> TrainResult:
    """Minimise the empirical hKR loss over a 1-Lipschitz network.

    The data are those of :func:`otreg.hkr_transport` (``x_pos`` may be a
    :class:`otreg.Problem`; ``lam`` defaults to 1, ``margin`` to 0.1).  Every option left at
    None takes the value of :func:`default_settings` for the data (a GroupSort network of
    ``depth`` hidden layers of ``width`` units with warm-started Björck layers, Adam at ``lr``).

    ``steps``: budget of optimiser steps (``epochs`` instead sets it to that many passes over
    the data).  The learning rate is divided by ``decay`` on each plateau of the full-data loss
    (``patience`` steps without an improvement of ``tol`` x (|best| + 2 margin)); training
    stops on the plateau at ``lr * final_lr``.  Stopping on the budget while still improving
    warns (:class:`TrainingBudgetWarning`).  The weights of the best full-data loss are kept,
    then frozen (exact orthonormal weights).  A fixed ``seed`` gives bit-identical results.
    A diverging run (non-finite or exploding loss) raises :class:`~otreg.errors.TrainingError`.

    ``model``: continue training a given network (its own units are kept).  ``optimizer`` is
    ``"adam"`` or ``"sgd"`` (momentum 0.9).  ``dtype``: ``"float32"`` (default) runs the
    network's forward and backward passes in single precision during training (the weights,
    Björck steps, loss and optimiser stay float64, and the returned model is evaluated in
    float64); ``"float64"`` throughout.

    ``architecture``: ``"cones"`` (default up to :data:`~otreg.nn.cones.MAX_CONE_POINTS`
    distinct samples) trains the network, then adds distance cones at the samples and trains
    their heights for ``cone_steps`` steps with the network fixed
    (:class:`~otreg.nn.cones.ConeNetwork`, still exactly 1-Lipschitz; docs/neural.md §5.8);
    ``"mlp"``: the network alone.  Returns a :class:`TrainResult`.
    """
    prob = as_problem(x_pos, x_neg, lam, margin, a, b, p)
    if model is not None and architecture is None:  # train the network given, as it is
        architecture = "mlp"
    cfg = _settings(prob.samples, prob.labels, dict(
        width=width, depth=depth, activation=activation, steps=steps, epochs=epochs,
        batch_size=batch_size, lr=lr, seed=seed, patience=patience, final_lr=final_lr,
        bjorck_iters=bjorck_iters, tol=tol, decay=decay, dtype=dtype,
        architecture=architecture, cone_steps=cone_steps))
    if model is None:
        shift, scale = data_units(prob.samples, prob.weights)
        model = lipschitz_mlp(prob.dim, width=cfg["width"], depth=cfg["depth"],
                              activation=cfg["activation"], seed=cfg["seed"],
                              bjorck_iters=cfg["bjorck_iters"], warm_start=cfg["warm_start"],
                              shift=shift, scale=scale, bias_spread=cfg["bias_spread"])
    elif not isinstance(model, Sequential):
        raise InputError(f"model: expected an otreg.nn Sequential, got {type(model).__name__}")
    elif model.in_dim != prob.dim or model.out_dim != 1:
        raise InputError(f"model: maps R^{model.in_dim} -> R^{model.out_dim}, the data need "
                         f"R^{prob.dim} -> R")
    y, c_kr, c_h = prob.coefficients()
    cones = cfg["architecture"] == "cones"
    # with cones the network's budget is short by design: no budget warning for it
    out = _train(model, optimizer, prob.samples, y[:, None], c_kr[:, None], c_h[:, None],
                 prob.margin, cfg, progress, warn_budget=not cones)
    if cones:
        start = time.perf_counter()
        with blas_threads(1):
            out.model, cone_history = train_cones(
                model, prob.samples, y, c_kr, c_h, prob.margin, cfg["cone_steps"],
                cfg["cone_lr"], cfg["cone_final_lr"])
        out.history += cone_history
        out.cone_steps_run = len(cone_history)
        out.seconds += time.perf_counter() - start
    out.loss = full_loss(out.model, prob)
    return out


def _train(model: Sequential, optimizer: str, x: np.ndarray, y: np.ndarray, c_kr: np.ndarray,
           c_h: np.ndarray, margin: float, cfg: dict, progress: bool,
           warn_budget: bool = True) -> TrainResult:
    """Shared driver: y, c_kr, c_h are (N, C) (C = 1 for binary), c_h includes lam.  Trains in
    the model's units, keeps the best weights, freezes the model."""
    model.train()
    opt = _optimizer(optimizer, model.parameters(), cfg["lr"], cfg["betas"])
    scale = model.scale
    xu, mu = model.to_units(x), margin / scale
    rng = np.random.default_rng(np.random.SeedSequence([cfg["seed"], 20210601]))
    start = time.perf_counter()
    with blas_threads(1):
        loop = _Loop(model, opt, xu, y, c_kr, c_h, mu, cfg, rng)
        loop.run(progress)
    if loop.best_state is not None:
        params, us = loop.best_state
        for prm, arr in zip(model.parameters(), params):
            prm.data = arr
        for layer, u in zip(model.dense_layers, us):
            layer.u = u
    model.freeze()
    n_batches = cfg["n_batches"]
    gain = loop.final_gain()
    if warn_budget and loop.stop_reason == "budget" and gain > cfg["tol"]:
        how = (f"while the full-data loss was still improving (by {gain:.1e} x (|loss| + 2 "
               f"margin) over the last {min(cfg['patience'], loop.step - 1)} steps)"
               if math.isfinite(gain) else "before any plateau could be seen")
        warnings.warn(f"steps: training stopped on its budget of {cfg['steps']} optimiser "
                      f"steps {how}; raise steps (otreg: --steps) for a closer optimum",
                      TrainingBudgetWarning, stacklevel=3)
    return TrainResult(model=model, history=[v * scale for v in loop.history],
                       seconds=time.perf_counter() - start,
                       epochs_run=math.ceil(loop.step / n_batches),
                       best_epoch=math.ceil(loop.best_step / n_batches),
                       stopped_early=loop.stop_reason == "plateau", steps_run=loop.step,
                       best_step=loop.best_step, stop_reason=loop.stop_reason,
                       settings={k: v for k, v in cfg.items()})


class _Loop:
    """The optimisation loop, in the model's units (losses divided by the model's scale)."""

    def __init__(self, model: Sequential, opt: Optimizer, x: np.ndarray, y: np.ndarray,
                 c_kr: np.ndarray, c_h: np.ndarray, margin: float, cfg: dict,
                 rng: np.random.Generator) -> None:
        self.model, self.opt, self.cfg, self.rng = model, opt, cfg, rng
        self.x, self.y, self.c_kr, self.c_h, self.margin = x, y, c_kr, c_h, margin
        self.n_batches = cfg["n_batches"]
        self.history: list[float] = []
        self.best, self.best_step, self.best_state = math.inf, 0, None
        self.step = 0
        self.stop_reason = "budget"
        # plateau bookkeeping: best value at the start of the current window
        self.window_start, self.window_best = 0, math.inf
        self.lr_floor = cfg["lr"] * cfg["final_lr"]
        self.plateau_lr = cfg["lr"]
        self.start_loss = None
        # the last `anneal` fraction of the budget decays the rate geometrically to the floor
        self.anneal_from = int(cfg["steps"] * (1.0 - cfg.get("anneal", 0.25)))

    def _set_lr(self) -> None:
        t, end = self.step, self.cfg["steps"]
        lr = self.plateau_lr
        if t > self.anneal_from:
            frac = (t - self.anneal_from) / max(1, end - self.anneal_from)
            lr = min(lr, self.cfg["lr"] * self.cfg["final_lr"] ** frac)
        self.opt.lr = lr

    def _scale(self) -> float:
        return abs(self.best) + 2 * self.margin

    def final_gain(self) -> float:
        """Improvement of the best loss over the last ``patience`` steps, relative to
        (|best| + 2 margin)."""
        recs = min(max(1, self.cfg["patience"] // self.n_batches), len(self.history) - 1)
        if recs < 1:
            return math.inf
        return (min(self.history[:-recs]) - self.best) / self._scale()

    def _snapshot(self) -> list:
        return ([prm.data.copy() for prm in self.model.parameters()],
                [layer.u.copy() for layer in self.model.dense_layers])

    def _check_divergence(self, value: float) -> None:
        if self.start_loss is None:
            self.start_loss = value
        limit = self.start_loss + 100.0 * (abs(self.start_loss) + 1.0 + self.c_h.sum()
                                           * (1.0 + self.margin))
        finite = math.isfinite(value) and all(np.isfinite(p.data).all()
                                              for p in self.model.parameters())
        if not finite or value > limit:
            what = "a non-finite loss or weight" if not finite else \
                f"a loss of {value * self.model.scale:.3g}, far above its start " \
                f"({self.start_loss * self.model.scale:.3g})"
            raise TrainingError(
                f"lr: training diverged at step {self.step} ({what}) with learning rate "
                f"{self.cfg['lr']:g}; lower the learning rate (otreg: --lr)")

    def _record(self, value: float, state: list | None) -> bool:
        """Record a full-data loss at the current step; False when training should stop."""
        self._check_divergence(value)
        self.history.append(value)
        if value < self.best:
            self.best, self.best_step = value, self.step
            self.best_state = state if state is not None else self._snapshot()
        if self.step - self.window_start < self.cfg["patience"]:
            return True
        # end of a window: did the best improve enough?
        gain = (self.window_best - self.best) / self._scale() if math.isfinite(
            self.window_best) else math.inf
        self.window_start, self.window_best = self.step, self.best
        if gain > self.cfg["tol"]:
            return True
        if self.opt.lr <= self.lr_floor * (1 + 1e-9):
            self.stop_reason = "plateau"
            return False
        self.plateau_lr = max(self.opt.lr * self.cfg["decay"], self.lr_floor)
        return True

    def run(self, progress: bool) -> None:
        cfg, model = self.cfg, self.model
        n_total = self.x.shape[0]
        full = self.n_batches == 1
        c_kr_b, c_h_b = self.n_batches * self.c_kr, self.n_batches * self.c_h
        bar = tqdm(total=cfg["steps"], disable=not progress, desc="hKR training", unit="step",
                   leave=False, mininterval=0.5)
        scale = model.scale
        try:
            while self.step < cfg["steps"]:
                batches = [slice(None)] if full else np.array_split(
                    self.rng.permutation(n_total), self.n_batches)
                for idx in batches:
                    if self.step >= cfg["steps"]:
                        break
                    self._set_lr()
                    out = model.core(self.x[idx], dtype=cfg["dtype"])
                    loss = hkr_objective(out, self.y[idx], c_kr_b[idx], c_h_b[idx], self.margin)
                    state = self._snapshot() if full and loss.data < self.best else None
                    self.opt.zero_grad()
                    loss.backward()
                    self.opt.step()
                    model.after_step()
                    if full:  # the step's loss is the full-data loss before the update
                        go = self._record(float(loss.data), state)
                    self.step += 1
                    bar.update(1)
                    if full and not go:
                        return
                if not full:
                    with no_grad():
                        value = float(hkr_objective(model.core(self.x).data, self.y,
                                                    self.c_kr, self.c_h, self.margin))
                    if not self._record(value, None):
                        return
                if progress:
                    bar.set_postfix(loss=f"{self.history[-1] * scale:.6g}",
                                    best=f"{self.best * scale:.6g}",
                                    lr=f"{self.opt.lr:.1e}", refresh=False)
        finally:
            if progress and self.history:
                bar.set_postfix(loss=f"{self.history[-1] * scale:.6g}",
                                best=f"{self.best * scale:.6g}", lr=f"{self.opt.lr:.1e}")
            bar.close()


def fit_multiclass(x: Any, labels: Any, lam: float = DEFAULT_LAM,
                   margin: float = DEFAULT_MARGIN,
                   weights: Any = None, *,
                   width: int | None = None, depth: int | None = None,
                   activation: str | None = None, steps: int | None = None,
                   epochs: int | None = None, batch_size: int | None = None,
                   lr: float | None = None, seed: int = 0, progress: bool = True,
                   patience: int | None = None, model: Sequential | None = None,
                   optimizer: str = "adam", final_lr: float | None = None,
                   bjorck_iters: int | None = None, tol: float | None = None,
                   decay: float | None = None, dtype: str | None = None) -> TrainResult:
    """Multi-class hKR (the paper's one-vs-all loss): one output per class, summed hKR terms.

    ``labels`` are integers 0..C-1 (C >= 2, every class present); ``weights`` optional
    per-sample weights.  Column c of the network is trained on positives = class c, negatives =
    the rest, each side normalised to mass 1, prior = class share of the weight.  ``loss`` in
    the result is :func:`~otreg.nn.losses.multiclass_hkr_loss` on all the data.  The training
    options are those of :func:`fit`.
    """
    pts = as_points(x, "x")
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.shape[0] != pts.shape[0]:
        raise InputError(f"labels: expected shape ({pts.shape[0]},), got {lab.shape}")
    if not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0:
        raise InputError("labels: must be non-negative integers 0..C-1")
    n_classes = int(lab.max()) + 1
    counts = np.bincount(lab, minlength=n_classes)
    if n_classes < 2 or np.any(counts == 0):
        raise InputError(f"labels: need every class 0..C-1 (C >= 2) present, counts {counts}")
    w = raw_weights(weights, pts.shape[0], "weights")
    lam, margin = check_lam(lam), check_margin(margin)
    cfg = _settings(pts, lab, dict(
        width=width, depth=depth, activation=activation, steps=steps, epochs=epochs,
        batch_size=batch_size, lr=lr, seed=seed, patience=patience, final_lr=final_lr,
        bjorck_iters=bjorck_iters, tol=tol, decay=decay, dtype=dtype), out_dim=n_classes)
    if model is None:
        shift, scale = data_units(pts, w)
        model = lipschitz_mlp(pts.shape[1], width=cfg["width"], depth=cfg["depth"],
                              activation=cfg["activation"], seed=cfg["seed"],
                              out_dim=n_classes, bjorck_iters=cfg["bjorck_iters"],
                              warm_start=cfg["warm_start"], shift=shift, scale=scale,
                              bias_spread=cfg["bias_spread"])
    elif not isinstance(model, Sequential) or model.in_dim != pts.shape[1] \
            or model.out_dim != n_classes:
        raise InputError(f"model: must map R^{pts.shape[1]} -> R^{n_classes}")
    y, c_kr, c_h = multiclass_coefficients(lab, n_classes, w)
    out = _train(model, optimizer, pts, y, c_kr, lam * c_h, margin, cfg, progress)
    out.loss = float(hkr_objective(model.predict(pts), y, c_kr, lam * c_h, margin))
    return out
