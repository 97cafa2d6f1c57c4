"""1-Lipschitz residual layers: convex potential layers (CPL) and SDP-based Lipschitz layers (SLL).

Both act on ``n`` features with an inner weight ``W`` of shape ``(n, k)`` and bias ``b`` (k),
on row vectors ``x`` (the layers' convention, ``x @ W``):

* :class:`ConvexPotentialLayer` (Meunier et al., ICML 2022):
  ``h(x) = x - (2 / ||W||_2^2) relu(x W + b) W^T``, the gradient step of size 2/L on the
  convex potential ``sum softplus-like(relu)``; 1-Lipschitz for any ``W``.  During training
  ``||W||_2`` is the power-iteration estimate ``sigma = u^T W v`` (one step per training step,
  ``u`` persists, gradients flow through ``sigma`` as in spectral normalisation);
  :meth:`~ConvexPotentialLayer.freeze` stores the exact norm (SVD).
* :class:`SLLLayer` (Araujo et al., ICLR 2023):
  ``h(x) = x - 2 relu(x W + b) T^{-1} W^T`` with
  ``T = diag(t)``, ``t_i = sum_j |W^T W|_ij q_j / q_i``, ``q = exp(p)`` (``p`` learned);
  1-Lipschitz for any ``W`` and ``p`` (exact at every step, no estimate).

Each layer is one fused autodiff op with a hand-written backward pass (gradients for ``x``,
``W``, ``b`` and ``p``; checked by finite differences in the tests).  Neither layer preserves
the gradient norm: |grad h| can be < 1, which matters for hKR, whose optimum has |grad f| = 1.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ..errors import InputError
from .base import Module, PowerIteration, _unit, checked_state, orthonormal
from .tensor import Tensor, no_grad

__all__ = ["cpl", "sll", "sll_t", "ConvexPotentialLayer", "SLLLayer", "RESIDUAL_LAYERS"]


def cpl(x: Tensor, w: Tensor, b: Tensor, sigma: float, uv: np.ndarray | None = None) -> Tensor:
    """``x - (2 / sigma^2) relu(x W + b) W^T`` as one op.

    ``uv`` (optional, ``outer(u, v)``): ``sigma = u^T W v`` depends on ``W`` (``u, v``
    constants) and the gradient includes ``d sigma / dW = u v^T``; None: ``sigma`` is a
    constant (frozen layers).
    """
    xd, wd = x.data, w.data
    z = xd @ wd
    z += b.data
    mask = z > 0
    a = np.where(mask, z, 0.0)
    c = 2.0 / (sigma * sigma)
    aw = a @ wd.T
    out = xd - c * aw

    def backward(g):
        g_z = (-c) * (g @ wd) * mask
        g_x = g + g_z @ wd.T
        g_w = (-c) * (g.T @ a) + xd.T @ g_z
        if uv is not None:  # through c = 2 / sigma^2:  dc/dsigma = -4 / sigma^3
            g_w += (np.vdot(g, aw) * 4.0 / sigma ** 3) * uv
        return g_x, g_w, g_z.sum(axis=0)

    return Tensor._make(out, (x, w, b), backward, "cpl")


def sll_t(w: np.ndarray, p: np.ndarray) -> np.ndarray:
    """SLL's diagonal ``t_i = sum_j |W^T W|_ij q_j / q_i`` with ``q = exp(p)``."""
    q = np.exp(p - p.max())  # t is invariant to a common factor of q
    return (np.abs(w.T @ w) @ q) / q


def sll(x: Tensor, w: Tensor, b: Tensor, p: Tensor, t: np.ndarray | None = None) -> Tensor:
    """``x - 2 relu(x W + b) diag(1/t) W^T`` with ``t = sll_t(W, p)``, as one op.

    ``t`` given (frozen layers): a constant, no gradient for ``p`` and none through ``t``.
    Backward through ``t``: with ``g_t`` the gradient at ``t``, ``G = W^T W``,
    ``S_ij = g_t_i sign(G_ij) q_j / q_i`` gives ``g_W += W (S + S^T)``, and
    ``g_p_k = q_k sum_i g_t_i |G_ik| / q_i - g_t_k t_k``.
    """
    xd, wd = x.data, w.data
    trained = t is None
    if trained:
        q = np.exp(p.data - p.data.max())
        gram = wd.T @ wd
        abs_gram = np.abs(gram)
        t = (abs_gram @ q) / q
    z = xd @ wd
    z += b.data
    mask = z > 0
    s = np.where(mask, z, 0.0) / t
    out = xd - 2.0 * (s @ wd.T)

    def backward(g):
        g_s = -2.0 * (g @ wd)
        g_z = (g_s / t) * mask
        g_x = g + g_z @ wd.T
        g_w = -2.0 * (g.T @ s) + xd.T @ g_z
        g_p = None
        if trained:
            g_t = -(g_s * s).sum(axis=0) / t
            r = g_t / q
            sym = np.outer(r, q) * np.sign(gram)
            g_w += wd @ (sym + sym.T)
            g_p = q * (abs_gram.T @ r) - g_t * t
        return g_x, g_w, g_z.sum(axis=0), g_p

    return Tensor._make(out, (x, w, b, p), backward, "sll")


class _Residual(Module):
    """Shared parts of the residual layers: ``n`` features, inner width ``k``, weight (n, k),
    bias (k,), frozen state, config and state round trip."""

    kind = ""
    what = ""

    def __init__(self, n: int, hidden: int | None = None, *,
                 rng: np.random.Generator | None = None) -> None:
        hidden = n if hidden is None else hidden
        for name, val in (("n", n), ("hidden", hidden)):
            if isinstance(val, bool) or int(val) != val or val < 1:
                raise InputError(f"{name}: must be a positive integer, got {val!r}")
        rng = np.random.default_rng(0) if rng is None else rng
        self.n, self.hidden = int(n), int(hidden)
        self.weight = Tensor(orthonormal(self.n, self.hidden, rng), requires_grad=True)
        self.bias = Tensor(np.zeros(self.hidden), requires_grad=True)
        self.frozen = None

    @property
    def n_in(self) -> int:
        return self.n

    @property
    def n_out(self) -> int:
        return self.n

    def parameters(self) -> list:
        return [self.weight, self.bias]

    def unfreeze(self) -> None:
        self.frozen = None

    def after_step(self) -> None:
        """Nothing to re-anchor (kept for :meth:`Sequential.after_step`)."""

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """The layer on a plain array (frozen state if frozen)."""
        with no_grad():
            return self(Tensor(x)).data

    def config(self) -> dict:
        return {"type": self.kind, "units": self.n, "hidden": self.hidden}

    def _shapes(self) -> dict:
        return {"weight": (self.n, self.hidden), "bias": (self.hidden,)}

    def state(self) -> dict:
        st = {"weight": self.weight.data, "bias": self.bias.data}
        if self.frozen is not None:
            st["frozen"] = np.atleast_1d(self.frozen)
        return st

    def load_state(self, arrays: dict) -> None:
        arr = checked_state(arrays, self._shapes(), [k for k in self._shapes() if k != "frozen"],
                            self.what)
        self.weight.data, self.bias.data = arr["weight"], arr["bias"]
        self._load_extra(arr)
        self.frozen = arr.get("frozen")

    def _load_extra(self, arrays: dict) -> None:
        pass


class ConvexPotentialLayer(PowerIteration, _Residual):
    """Convex potential layer ``h(x) = x - (2 / ||W||_2^2) relu(x W + b) W^T`` on ``n``
    features (inner width ``hidden``, default ``n``); 1-Lipschitz (Meunier et al. 2022).

    ``power_iters`` power-iteration steps per training step estimate ``||W||_2`` (the vector
    ``u`` persists between steps); :meth:`freeze` stores the exact norm, so inference is
    1-Lipschitz exactly.  The estimate is from below: while ``W`` moves faster than the
    iteration follows (singular values close together, as from an orthonormal start), the
    training-time layer can expand distances, which an hKR loss (its KR term rewards a large
    slope) exploits.  ``exact_norm=True`` computes ``||W||_2`` and its singular vectors by an
    SVD at every training step instead (1-Lipschitz during training too; costs one SVD per
    layer and step).
    """

    kind = "cpl"
    what = "a convex potential layer"

    def __init__(self, n: int, hidden: int | None = None, *, power_iters: int = 1,
                 exact_norm: bool = False, rng: np.random.Generator | None = None) -> None:
        if isinstance(power_iters, bool) or int(power_iters) != power_iters or power_iters < 1:
            raise InputError(f"power_iters: must be a positive integer, got {power_iters!r}")
        rng = np.random.default_rng(0) if rng is None else rng
        super().__init__(n, hidden, rng=rng)
        self.power_iters = int(power_iters)
        self.exact_norm = bool(exact_norm)
        self._start_power(rng, self.n)

    def sigma(self) -> tuple[float, np.ndarray | None]:
        """``(sigma, outer(u, v))`` used by the forward pass now; ``(exact norm, None)`` when
        frozen.  The power iteration only advances while a graph is recorded (training)."""
        if self.frozen is not None:
            return float(self.frozen[0]), None
        if self.exact_norm:  # d sigma_1 / dW = u_1 v_1^T: the top eigenpair of W^T W
            w = self.weight.data
            k = w.shape[1]
            gram = w.T @ w
            lam, vec = scipy.linalg.eigh(gram, subset_by_index=[k - 1, k - 1], driver="evx")
            if lam.shape != (1,):  # LAPACK's subset driver can miss it in a tight cluster
                lam, vec = np.linalg.eigh(gram)
                lam, vec = lam[-1:], vec[:, -1:]
            sigma = float(np.sqrt(max(lam[0], 0.0)))
            return sigma, np.outer(_unit(w @ vec[:, 0]), vec[:, 0])
        v = self._power_v(self.power_iters)
        return float(self.u @ self.weight.data @ v), np.outer(self.u, v)

    def freeze(self) -> None:
        self.frozen = np.array([np.linalg.norm(self.weight.data, 2)])

    def __call__(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        sigma, uv = self.sigma()
        return cpl(x, self.weight, self.bias, sigma, uv)

    def config(self) -> dict:
        return dict(super().config(), power_iters=self.power_iters,
                    exact_norm=self.exact_norm)

    def _shapes(self) -> dict:
        return dict(super()._shapes(), u=(self.n,), frozen=(1,))

    def state(self) -> dict:
        return dict(super().state(), u=self.u)

    def _load_extra(self, arrays: dict) -> None:
        self.u = arrays["u"]


class SLLLayer(_Residual):
    """SDP-based Lipschitz layer ``h(x) = x - 2 relu(x W + b) T^{-1} W^T`` on ``n`` features,
    ``T = diag(sum_j |W^T W|_ij q_j / q_i)``, ``q = exp(p)`` learned; 1-Lipschitz at every
    step (Araujo et al. 2023).  :meth:`freeze` caches ``T``."""

    kind = "sll"
    what = "an SLL layer"

    def __init__(self, n: int, hidden: int | None = None, *,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(n, hidden, rng=rng)
        self.log_q = Tensor(np.zeros(self.hidden), requires_grad=True)

    def parameters(self) -> list:
        return [self.weight, self.bias, self.log_q]

    def freeze(self) -> None:
        self.frozen = sll_t(self.weight.data, self.log_q.data)

    def __call__(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        return sll(x, self.weight, self.bias, self.log_q, self.frozen)

    def _shapes(self) -> dict:
        return dict(super()._shapes(), log_q=(self.hidden,), frozen=(self.hidden,))

    def state(self) -> dict:
        return dict(super().state(), log_q=self.log_q.data)

    def _load_extra(self, arrays: dict) -> None:
        self.log_q.data = arrays["log_q"]


#: config "type" -> class, for :meth:`otreg.nn.Sequential.from_config` and ``lipschitz_mlp``
RESIDUAL_LAYERS = {"cpl": ConvexPotentialLayer, "sll": SLLLayer}
