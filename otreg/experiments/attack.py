"""L2 adversarial attacks written with otreg's autodiff (:class:`otreg.nn.Tensor`).

An attack takes a *score function* ``score(x_tensor) -> Tensor`` (differentiable in ``x``) and
the true labels.  The *margin* of a row is positive while the row is classified correctly:

* one score per row (shape (k,) or (k, 1)), labels y in {+1, -1}: ``y * score``;
* C scores per row (k, C), integer labels: ``s_y - max_{j != y} s_j``.

* :func:`pgd_l2` — projected gradient descent on the margin in the L2 ball of radius ε (one
  radius per row allowed), normalised-gradient steps, several random restarts, the pixel box
  kept; it returns the lowest-margin point found.  ``margin <= 0`` means the attack succeeded.
* :func:`minimal_adversarial_radius` — per row, the smallest ε at which :func:`pgd_l2`
  succeeds, by bisection: an upper bound on the distance to the decision boundary, to set
  against a certified lower bound.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from ..nn import Tensor

__all__ = ["ScoreFn", "AttackResult", "margin", "pgd_l2", "minimal_adversarial_radius"]

#: ``score(x_tensor) -> Tensor``: (k,) / (k, 1) for a binary score, (k, C) for C classes
ScoreFn = Callable[[Tensor], Tensor]


def margin(scores: Any, labels: np.ndarray) -> Any:
    """The classification margin of each row (Tensor or array in, same out): ``y * s`` for
    one score per row and labels in {+1, -1}; ``s_y - max_{j != y} s_j`` for (k, C) scores and
    integer labels.  Positive where the row is classified correctly."""
    if scores.ndim == 1 or scores.shape[1] == 1:
        s = scores.reshape(-1) if scores.ndim == 2 else scores
        return s * np.asarray(labels, dtype=np.float64)
    lab = np.asarray(labels, dtype=np.intp)
    rows = np.arange(lab.shape[0])
    data = scores.data if isinstance(scores, Tensor) else np.asarray(scores)
    masked = data.copy()
    masked[rows, lab] = -np.inf
    return scores[rows, lab] - scores[rows, masked.argmax(axis=1)]


@dataclass
class AttackResult:
    """Outcome of an attack: the adversarial points, their margin and perturbation norm."""

    x_adv: np.ndarray
    margin: np.ndarray
    norm: np.ndarray

    @property
    def success(self) -> np.ndarray:
        """Rows where the attack changed the prediction (margin <= 0)."""
        return self.margin <= 0


def _margin_and_grad(score: ScoreFn, x: np.ndarray,
                     labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xt = Tensor(x, requires_grad=True)
    out = margin(score(xt), labels)
    out.sum().backward()
    grad = xt.grad if xt.grad is not None else np.zeros_like(x)
    return out.data.copy(), grad


def _project(x0: np.ndarray, x: np.ndarray, eps: np.ndarray,
             box: tuple[float, float] | None) -> np.ndarray:
    """Back into the L2 ball of radius eps around x0 (row-wise), then into the box."""
    delta = x - x0
    norm = np.linalg.norm(delta, axis=1, keepdims=True)
    scale = np.minimum(1.0, eps[:, None] / np.maximum(norm, 1e-300))
    out = x0 + delta * scale
    return out if box is None else np.clip(out, box[0], box[1])


def _random_start(x0: np.ndarray, eps: np.ndarray, rng: np.random.Generator,
                  box: tuple[float, float] | None) -> np.ndarray:
    """A point uniform in the L2 ball of radius eps around each row (then clipped)."""
    k, d = x0.shape
    direction = rng.standard_normal((k, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = eps * rng.random(k) ** (1.0 / d)
    return _project(x0, x0 + direction * radius[:, None], eps, box)


def pgd_l2(score: ScoreFn, x: Any, labels: Any, eps: Any, *, steps: int = 100,
           restarts: int = 5, step_size: float | None = None,
           box: tuple[float, float] | None = (0.0, 1.0), seed: int = 0) -> AttackResult:
    """L2 projected gradient descent on the margin within ``|x' - x| <= eps``.

    Parameters
    ----------
    score : callable
        ``score(x_tensor) -> Tensor``: (k,) or (k, 1) for a binary classifier (sign = class),
        (k, C) for C classes (arg-max = class).
    x : array (k, d)
        The points to attack.
    labels : array (k,)
        True labels: +1 / -1 for a binary score, integers 0..C-1 otherwise.
    eps : float or array (k,)
        L2 budget (per row if an array); rows with ``eps = 0`` are left unchanged.
    steps : int
        Gradient steps per restart; each moves by ``step_size * eps`` along the normalised
        gradient (default step size ``2.5 / steps``, at least 0.05: enough to cross the ball).
    restarts : int
        The first run starts at ``x``, the others at uniform random points of the ball.
    box : (lo, hi) or None
        Keep the adversarial points in this box (pixel range); None for no bound.
    seed : int
        Seed of the random starts.

    Returns
    -------
    AttackResult
        Per row, the lowest-margin point over all steps and restarts (once a row is broken,
        the first adversarial point found is kept).
    """
    x0 = np.array(x, dtype=np.float64)
    if x0.ndim != 2:
        raise InputError(f"x: expected a 2-D array (k, d), got shape {x0.shape}")
    labels = np.asarray(labels)
    if labels.shape != (x0.shape[0],):
        raise InputError(f"labels: expected shape ({x0.shape[0]},), got {labels.shape}")
    eps = np.broadcast_to(np.asarray(eps, dtype=np.float64), (x0.shape[0],)).copy()
    if not np.all(np.isfinite(eps)) or np.any(eps < 0):
        raise InputError("eps: must be finite and >= 0")
    if int(steps) < 1 or int(restarts) < 1:
        raise InputError(f"steps, restarts: must be >= 1, got {steps}, {restarts}")
    alpha = max(2.5 / steps, 0.05) if step_size is None else float(step_size)
    rng = np.random.default_rng(seed)
    best_x, best_m = x0.copy(), _margin_and_grad(score, x0, labels)[0]

    def keep(cur: np.ndarray, m: np.ndarray) -> None:
        better = (m < best_m) & (best_m > 0)
        best_x[better], best_m[better] = cur[better], m[better]

    for restart in range(int(restarts)):
        cur = x0.copy() if restart == 0 else _random_start(x0, eps, rng, box)
        for _ in range(int(steps)):
            m, g = _margin_and_grad(score, cur, labels)
            keep(cur, m)
            gnorm = np.linalg.norm(g, axis=1, keepdims=True)
            step = np.where(gnorm > 0, g / np.maximum(gnorm, 1e-300), 0.0)
            cur = _project(x0, cur - alpha * eps[:, None] * step, eps, box)
        keep(cur, _margin_and_grad(score, cur, labels)[0])
    return AttackResult(best_x, best_m, np.linalg.norm(best_x - x0, axis=1))


def minimal_adversarial_radius(score: ScoreFn, x: Any, labels: Any, hi: Any, *,
                               iters: int = 8, steps: int = 50, restarts: int = 1,
                               box: tuple[float, float] | None = (0.0, 1.0),
                               seed: int = 0) -> AttackResult:
    """Per row, the smallest adversarial perturbation :func:`pgd_l2` finds, by bisection on ε.

    A first PGD run at the budget ``hi`` (float or (k,)); then ``iters`` rounds at the middle
    of each row's bracket ``[lo, hi]``: a success lowers ``hi`` to the norm of the adversarial
    point found, a failure raises ``lo``.  Returns an :class:`AttackResult` whose ``x_adv`` is
    the smallest adversarial point found and ``norm`` its distance (0 for rows already
    misclassified, ``inf`` where the attack failed even at ``hi``, with ``x_adv = x``): an
    upper bound on each row's distance to the decision boundary (within the box).
    """
    x0 = np.array(x, dtype=np.float64)
    labels = np.asarray(labels)
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (x0.shape[0],)).copy()
    lo = np.zeros(x0.shape[0])
    found = pgd_l2(score, x0, labels, hi, steps=steps, restarts=restarts, box=box, seed=seed)
    best_x = np.where(found.success[:, None], found.x_adv, x0)
    radius = np.where(found.success, found.norm, np.inf)
    radius[_margin_and_grad(score, x0, labels)[0] <= 0] = 0.0
    for it in range(int(iters)):
        idx = np.flatnonzero(np.isfinite(radius) & (radius > 0))
        if idx.size == 0:
            break
        mid = 0.5 * (np.minimum(lo[idx], radius[idx]) + radius[idx])
        res = pgd_l2(score, x0[idx], labels[idx], mid, steps=steps, restarts=restarts, box=box,
                     seed=seed + 1 + it)
        better = res.success & (res.norm < radius[idx])
        radius[idx[better]] = res.norm[better]
        best_x[idx[better]] = res.x_adv[better]
        lo[idx[~res.success]] = mid[~res.success]
    return AttackResult(best_x, _margin_and_grad(score, best_x, labels)[0], radius)
