"""The unconstrained baseline: a plain ReLU network trained with cross-entropy.

Same layer sizes as the 1-Lipschitz network it is compared with, but ordinary dense layers
(He-initialised, no constraint on the weights) and the usual loss: the logistic loss
``log(1 + exp(-y s))`` on one output for two classes, the softmax cross-entropy on C outputs
otherwise.  Built from :class:`otreg.nn.Tensor` operations and trained with
:class:`otreg.nn.Adam`; nothing certifies its robustness, which is the point of the comparison.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..data.validate import as_int, as_number, as_points
from ..errors import InputError
from ..nn import Adam, Tensor, no_grad, where

__all__ = ["DenseNet", "cross_entropy", "train_baseline"]


class DenseNet:
    """A ReLU MLP ``in_dim - width x depth - out_dim`` with unconstrained weights."""

    def __init__(self, in_dim: int, width: int = 64, depth: int = 3, out_dim: int = 1,
                 seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        dims = [int(in_dim)] + [int(width)] * int(depth) + [int(out_dim)]
        self.weights = [Tensor(rng.standard_normal((i, o)) * math.sqrt(2.0 / i),
                               requires_grad=True) for i, o in zip(dims[:-1], dims[1:])]
        self.biases = [Tensor(np.zeros(o), requires_grad=True) for o in dims[1:]]
        self.in_dim, self.out_dim = dims[0], dims[-1]

    def parameters(self) -> list[Tensor]:
        return self.weights + self.biases

    def __call__(self, x: Any, constant: bool = False) -> Tensor:
        """Scores (k, out_dim); with ``constant`` the weights are held fixed (input gradients
        only, for attacks)."""
        out = x if isinstance(x, Tensor) else Tensor(x)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if constant:
                w, b = w.detach(), b.detach()
            out = out @ w + b
            if i < last:
                out = out.relu()
        return out

    def score(self, x: Tensor) -> Tensor:
        """Scores with constant weights: (k,) for one output, (k, C) otherwise."""
        out = self(x, constant=True)
        return out.reshape(-1) if self.out_dim == 1 else out

    def predict(self, points: Any) -> np.ndarray:
        """Scores as an array: (k,) for one output, (k, C) otherwise."""
        x = as_points(points, "points", dim=self.in_dim)
        with no_grad():
            return self.score(Tensor(x)).data

    def predict_class(self, points: Any) -> np.ndarray:
        """Class codes: 0 / 1 (score > 0) for one output, the arg-max otherwise."""
        s = self.predict(points)
        return (s > 0).astype(np.intp) if s.ndim == 1 else np.argmax(s, axis=1)


def _softplus(u: Tensor) -> Tensor:
    """``log(1 + exp(u))`` without overflow: ``u + log(1 + exp(-u))`` where u > 0 (each branch
    evaluated only where it is used, so the gradient is the sigmoid everywhere, 1/2 at 0)."""
    pos = u.data > 0
    up, un = where(pos, u, 0.0), where(pos, 0.0, u)
    return where(pos, up + (1.0 + (-up).exp()).log(), (1.0 + un.exp()).log())


def cross_entropy(scores: Tensor, codes: np.ndarray) -> Tensor:
    """Mean cross-entropy: logistic loss on (k,) / (k, 1) scores with class codes in {0, 1}
    (code 1 = positive score), softmax cross-entropy on (k, C) scores with codes 0..C-1."""
    codes = np.asarray(codes, dtype=np.intp)
    if scores.ndim == 1 or scores.shape[1] == 1:
        z = (scores.reshape(-1) if scores.ndim == 2 else scores) * np.where(codes == 1, 1.0, -1.0)
        return _softplus(-z).mean()
    rows = np.arange(codes.shape[0])
    shift = scores.data.max(axis=1, keepdims=True)  # constant: the value does not depend on it
    log_norm = (scores - shift).exp().sum(axis=1).log() + shift[:, 0]
    return (log_norm - scores[rows, codes]).mean()


def train_baseline(x: Any, codes: Any, *, width: int = 64, depth: int = 3,
                   epochs: int = 200, batch_size: int = 64, lr: float = 1e-3,
                   seed: int = 0, progress: bool = False) -> DenseNet:
    """Train a :class:`DenseNet` with Adam on the cross-entropy of :func:`cross_entropy`.

    ``codes`` are class codes 0..C-1 (C = 2 gives one output and the logistic loss).
    Mini-batches of ``batch_size`` reshuffled every epoch; a fixed ``seed`` gives identical
    networks.
    """
    pts = as_points(x, "x")
    codes = np.asarray(codes)
    if codes.shape != (pts.shape[0],) or not np.issubdtype(codes.dtype, np.integer) \
            or codes.min() < 0:
        raise InputError(f"codes: expected {pts.shape[0]} integer class codes 0..C-1")
    n_classes = int(codes.max()) + 1
    if n_classes < 2:
        raise InputError("codes: need at least 2 classes")
    epochs, batch_size = as_int(epochs, "epochs", low=1), as_int(batch_size, "batch_size", low=1)
    lr = as_number(lr, "lr", low=0.0, strict=True)
    net = DenseNet(pts.shape[1], width, depth, 1 if n_classes == 2 else n_classes, seed)
    opt = Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    n_batches = max(1, math.ceil(pts.shape[0] / batch_size))
    for _ in tqdm(range(epochs), disable=not progress, desc="baseline", unit="epoch",
                  leave=False):
        for idx in np.array_split(rng.permutation(pts.shape[0]), n_batches):
            loss = cross_entropy(net(pts[idx]), codes[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net
