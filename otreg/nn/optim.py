"""First-order optimisers updating :class:`~otreg.nn.tensor.Tensor` parameters in place."""
from __future__ import annotations

from typing import Iterable

import numpy as np

from ..errors import InputError
from .tensor import Tensor

__all__ = ["SGD", "Adam"]


class Optimizer:
    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise InputError("params: the optimiser got no parameters")
        if not (float(lr) > 0 and np.isfinite(lr)):
            raise InputError(f"lr: must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """Stochastic gradient descent with optional (heavy-ball) momentum."""

    def __init__(self, params: Iterable[Tensor], lr: float = 0.01, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise InputError(f"momentum: must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        for p, vel in zip(self.params, self.velocity):
            if p.grad is None:
                continue
            if self.momentum:
                vel *= self.momentum
                vel += p.grad
                p.data -= self.lr * vel
            else:
                p.data -= self.lr * p.grad


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction.

    The moments of all parameters live in one flat array, so that a step is a handful of
    vectorised operations whatever the number of parameter arrays (a deep network has dozens).
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise InputError(f"betas: must be in [0, 1), got {betas!r}")
        self.eps = float(eps)
        self.t = 0
        sizes = [p.data.size for p in self.params]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.m = np.zeros(self._offsets[-1])
        self.v = np.zeros(self._offsets[-1])

    def step(self) -> None:
        self.t += 1
        c1 = 1.0 - self.beta1 ** self.t
        c2 = 1.0 - self.beta2 ** self.t
        g = np.concatenate([np.zeros(p.data.size) if p.grad is None else p.grad.ravel()
                            for p in self.params])
        m, v = self.m, self.v
        m *= self.beta1
        m += (1.0 - self.beta1) * g
        v *= self.beta2
        g *= g
        g *= 1.0 - self.beta2
        v += g
        upd = np.sqrt(v * (1.0 / c2))
        upd += self.eps
        np.divide(m, upd, out=upd)
        upd *= self.lr / c1
        off = self._offsets
        for k, p in enumerate(self.params):
            if p.grad is not None:
                p.data -= upd[off[k]:off[k + 1]].reshape(p.data.shape)
