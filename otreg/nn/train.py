"""Training a 1-Lipschitz network on the hKR loss with mini-batch Adam.

Mini-batch estimate: each epoch shuffles the n + m points and splits them into ``K`` batches
of (nearly) equal size.  A batch ``B`` contributes ``K * sum_{k in B} l_k(f)``, where ``l_k`` is
the point's term of the full-data loss (its class weight a_i or b_j times the linear and hinge
terms).  Over a uniformly chosen batch of the partition this is exactly the full-data loss in
expectation (every point lies in exactly one batch), so the gradient estimate is unbiased.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from typing import Any

from tqdm.auto import tqdm

from ..data.validate import as_int, as_number, as_points, check_lam, check_margin, raw_weights
from ..errors import InputError
from ..problem import Problem, as_problem, hkr_objective
from ._blas import blas_threads
from .layers import Sequential, lipschitz_mlp
from .losses import multiclass_coefficients
from .optim import SGD, Adam, Optimizer
from .tensor import no_grad

__all__ = ["TrainResult", "fit", "fit_multiclass", "full_loss"]


@dataclass
class TrainResult:
    """Outcome of :func:`fit`.

    ``history``: full-data hKR loss after each epoch (training-time weights);
    ``loss``: full-data loss of the returned (frozen, exactly 1-Lipschitz) model.
    """

    model: Sequential
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    epochs_run: int = 0
    best_epoch: int = 0
    loss: float = float("nan")
    stopped_early: bool = False


def full_loss(model: Sequential, problem: Problem) -> float:
    """Full-data hKR loss of ``model`` on a Problem (spec section 1)."""
    return problem.loss(model.predict(problem.x_pos), model.predict(problem.x_neg))


def _optimizer(name: str, params: list, lr: float) -> Optimizer:
    if name == "adam":
        return Adam(params, lr=lr)
    if name == "sgd":
        return SGD(params, lr=lr, momentum=0.9)
    raise InputError(f"optimizer: expected 'adam' or 'sgd', got {name!r}")


def _check_schedule(epochs: Any, batch_size: Any, patience: Any, seed: Any, lr: Any,
                    final_lr: Any) -> tuple[int, int, int, int, float, float]:
    """Validate the optimisation settings shared by :func:`fit` and :func:`fit_multiclass`."""
    if not (isinstance(final_lr, (int, float)) and 0 < final_lr <= 1):
        raise InputError(f"final_lr: must be in (0, 1], got {final_lr!r}")
    return (as_int(epochs, "epochs", low=1), as_int(batch_size, "batch_size", low=1),
            as_int(patience, "patience", low=1), as_int(seed, "seed", low=0),
            as_number(lr, "lr", low=0.0, strict=True), final_lr)


def fit(x_pos: Any, x_neg: Any = None, lam: float | None = None, margin: float | None = None,
        a: Any = None, b: Any = None, p: float | None = None, *,
        width: int = 64, depth: int = 3, activation: str = "groupsort", epochs: int = 100,
        batch_size: int = 256, lr: float = 1e-2, seed: int = 0, progress: bool = True,
        patience: int = 30, model: Sequential | None = None, optimizer: str = "adam",
        final_lr: float = 0.01, bjorck_iters: int = 15) -> TrainResult:
    """Minimise the empirical hKR loss over a 1-Lipschitz network.

    The data are those of :func:`otreg.hkr_transport` (``x_pos`` may be a
    :class:`otreg.Problem`; ``lam`` defaults to 1, ``margin`` to 0.1).  Adam with a cosine learning-rate decay from ``lr`` to ``lr * final_lr`` over ``epochs``;
    early stop when the full-data loss has not improved for ``patience`` epochs (relative
    improvement below 1e-6).  The weights of the best epoch are kept, then frozen (exact
    orthonormal weights).  A fixed ``seed`` gives bit-identical results.

    ``width``, ``depth``, ``activation``, ``bjorck_iters`` describe the network built when no
    ``model`` is given (2-64-64-64-1 GroupSort-2 by default); ``optimizer`` is ``"adam"`` or
    ``"sgd"`` (momentum 0.9).  The returned :class:`TrainResult` has the frozen model, the
    per-epoch full-data loss ``history``, ``seconds``, ``epochs_run``, ``best_epoch`` and the
    final full-data ``loss``.
    """
    prob = as_problem(x_pos, x_neg, lam, margin, a, b, p)
    epochs, batch_size, patience, seed, lr, final_lr = _check_schedule(
        epochs, batch_size, patience, seed, lr, final_lr)
    if model is None:
        model = lipschitz_mlp(prob.dim, width=width, depth=depth, activation=activation,
                              seed=seed, bjorck_iters=bjorck_iters)
    elif not isinstance(model, Sequential):
        raise InputError(f"model: expected an otreg.nn Sequential, got {type(model).__name__}")
    elif model.in_dim != prob.dim or model.out_dim != 1:
        raise InputError(f"model: maps R^{model.in_dim} -> R^{model.out_dim}, the data need "
                         f"R^{prob.dim} -> R")
    model.train()
    opt = _optimizer(optimizer, model.parameters(), lr)
    y, c_kr, c_h = prob.coefficients()
    model, history, best_epoch, seconds, stopped_early = _train(
        model, opt, prob.samples, y[:, None], c_kr[:, None], c_h[:, None], prob.margin,
        epochs, lr, final_lr, batch_size, patience, seed, progress)
    return TrainResult(model=model, history=history, seconds=seconds, epochs_run=len(history),
                       best_epoch=best_epoch, loss=full_loss(model, prob),
                       stopped_early=stopped_early)


def _train(model: Sequential, opt: Optimizer, x: np.ndarray, y: np.ndarray, c_kr: np.ndarray,
           c_h: np.ndarray, margin: float, epochs: int, lr: float, final_lr: float,
           batch_size: int, patience: int, seed: int, progress: bool):
    """Shared loop driver: y, c_kr, c_h are (N, C) (C = 1 for binary), c_h includes lam."""
    n_batches = max(1, math.ceil(x.shape[0] / batch_size))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 20210601]))
    start = time.perf_counter()
    with blas_threads(1):
        history, best_epoch, best_state, stopped_early = _loop(
            model, opt, x, y, c_kr, c_h, margin, epochs, lr, final_lr, n_batches, patience, rng,
            progress)
    if best_state is not None:
        for layer, (w, u, bias) in zip(model.dense_layers, best_state):
            layer.weight.data, layer.u = w, u
            if bias is not None:
                layer.bias.data = bias
    model.freeze()
    return model, history, best_epoch, time.perf_counter() - start, stopped_early


def _loop(model: Sequential, opt: Optimizer, x: np.ndarray, y: np.ndarray, c_kr: np.ndarray,
          c_h: np.ndarray, margin: float, epochs: int, lr: float, final_lr: float,
          n_batches: int, patience: int, rng: np.random.Generator, progress: bool):
    # a batch's loss is n_batches * (its share of the full-data loss): unbiased estimate
    c_kr_b = n_batches * c_kr
    c_h_b = n_batches * c_h
    n_total = x.shape[0]
    history = []
    best, best_epoch, best_state, wait = math.inf, 0, None, 0
    stopped_early = False
    bar = tqdm(range(epochs), disable=not progress, desc="hKR training", unit="epoch",
               leave=False)
    for epoch in bar:
        opt.lr = lr * (final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * epoch / epochs)))
        perm = rng.permutation(n_total)
        for idx in np.array_split(perm, n_batches):
            loss = hkr_objective(model(x[idx]), y[idx], c_kr_b[idx], c_h_b[idx], margin)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with no_grad():
            f_all = model(x).data
        value = float(hkr_objective(f_all, y, c_kr, c_h, margin))
        history.append(value)
        if progress:
            bar.set_postfix(loss=f"{value:.6f}", best=f"{min(best, value):.6f}")
        if value < best - 1e-6 * max(1.0, abs(best) if math.isfinite(best) else 1.0):
            best, best_epoch, wait = value, epoch + 1, 0
            best_state = [(l.weight.data.copy(), l.u.copy(),
                           None if l.bias is None else l.bias.data.copy())
                          for l in model.dense_layers]
        else:
            wait += 1
            if wait >= patience:
                stopped_early = True
                break
    bar.close()
    return history, best_epoch, best_state, stopped_early


def fit_multiclass(x: Any, labels: Any, lam: float = 1.0, margin: float = 0.1,
                   weights: Any = None, *,
                   width: int = 64, depth: int = 3, activation: str = "groupsort",
                   epochs: int = 100, batch_size: int = 256, lr: float = 1e-2, seed: int = 0,
                   progress: bool = True, patience: int = 30, model: Sequential | None = None,
                   optimizer: str = "adam", final_lr: float = 0.01,
                   bjorck_iters: int = 15) -> TrainResult:
    """Multi-class hKR (the paper's one-vs-all loss): one output per class, summed hKR terms.

    ``labels`` are integers 0..C-1 (C >= 2, every class present); ``weights`` optional
    per-sample weights.  Column c of the network is trained on positives = class c, negatives =
    the rest, each side normalised to mass 1, prior = class share of the weight.  ``loss`` in
    the result is :func:`~otreg.nn.losses.multiclass_hkr_loss` on all the data.
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
    epochs, batch_size, patience, seed, lr, final_lr = _check_schedule(
        epochs, batch_size, patience, seed, lr, final_lr)
    if model is None:
        model = lipschitz_mlp(pts.shape[1], width=width, depth=depth, activation=activation,
                              seed=seed, out_dim=n_classes, bjorck_iters=bjorck_iters)
    elif not isinstance(model, Sequential) or model.in_dim != pts.shape[1] \
            or model.out_dim != n_classes:
        raise InputError(f"model: must map R^{pts.shape[1]} -> R^{n_classes}")
    model.train()
    opt = _optimizer(optimizer, model.parameters(), lr)
    y, c_kr, c_h = multiclass_coefficients(lab, n_classes, w)
    model, history, best_epoch, seconds, stopped_early = _train(
        model, opt, pts, y, c_kr, lam * c_h, margin, epochs, lr, final_lr, batch_size,
        patience, seed, progress)
    loss = float(hkr_objective(model.predict(pts), y, c_kr, lam * c_h, margin))
    return TrainResult(model=model, history=history, seconds=seconds, epochs_run=len(history),
                       best_epoch=best_epoch, loss=loss, stopped_early=stopped_early)
