"""The orthonormal dense layer :class:`LipschitzDense` (Björck, Cayley or exponential weight
map; see :mod:`otreg.nn.layers` for the parametrisation)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .base import Module, PowerIteration, checked_state, orthonormal
from .bjorck import COLD_BJORCK_ITERS, bjorck_numpy, spectral_bjorck, warm_bjorck
from .orthogonal import (PARAMETRIZATIONS, cayley, cayley_numpy, random_skew_param, skew_expm,
                         skew_expm_numpy)
from .tensor import Tensor, is_grad_enabled, no_grad

__all__ = ["LipschitzDense"]


#: parametrisation -> (autodiff op, NumPy function) of the square raw weight
_ORTHOGONAL_MAPS = {"cayley": (cayley, cayley_numpy), "exp": (skew_expm, skew_expm_numpy)}

class LipschitzDense(PowerIteration, Module):
    """Dense layer ``x @ W + bias`` with ``W`` orthonormalised (spectral norm 1).

    ``bjorck_iters`` Björck steps run at every training step (15 gives singular values equal
    to 1 to machine precision for any start >= 0.01 after spectral scaling);
    ``power_iters`` power-iteration steps update the spectral-norm estimate per step.

    ``parametrization``: ``"bjorck"`` (default, the above), ``"cayley"`` or ``"exp"``: the raw
    weight is a square ``N x N`` matrix ``M`` (``N = max(n_in, n_out)``) and ``W`` the leading
    ``(n_in, n_out)`` block of the orthogonal ``(I - A)(I + A)^{-1}`` or ``expm(A)``,
    ``A = M - M^T`` (:mod:`otreg.nn.orthogonal`): orthonormal at every step, no iteration,
    no power iteration (``bjorck_iters``, ``power_iters`` and ``warm_start`` are Björck's).
    """

    def __init__(self, n_in: int, n_out: int, *, bias: bool = True, bjorck_iters: int = 15,
                 power_iters: int = 1, rng: np.random.Generator | None = None,
                 normalize: str = "orthonormal", warm_start: bool = False,
                 parametrization: str = "bjorck"):
        for name, val in (("n_in", n_in), ("n_out", n_out)):
            if int(val) != val or val < 1:
                raise InputError(f"{name}: must be a positive integer, got {val!r}")
        if int(bjorck_iters) != bjorck_iters or bjorck_iters < 1:
            raise InputError(f"bjorck_iters: must be a positive integer, got {bjorck_iters!r}")
        if int(power_iters) != power_iters or power_iters < 1:
            raise InputError(f"power_iters: must be a positive integer, got {power_iters!r}")
        if normalize not in ("orthonormal", "columns"):
            raise InputError(f"normalize: expected 'orthonormal' or 'columns', got {normalize!r}")
        if parametrization not in PARAMETRIZATIONS:
            raise InputError(f"parametrization: expected one of {', '.join(PARAMETRIZATIONS)}, "
                             f"got {parametrization!r}")
        if parametrization != "bjorck" and (warm_start or normalize != "orthonormal"):
            raise InputError(f"parametrization: {parametrization!r} makes orthonormal weights "
                             "itself (no warm_start, no normalize='columns')")
        rng = np.random.default_rng(0) if rng is None else rng
        self.parametrization = parametrization
        self.normalize = normalize
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.use_bias = bool(bias)
        self.bjorck_iters, self.power_iters = int(bjorck_iters), int(power_iters)
        if parametrization == "bjorck":
            self.weight = Tensor(orthonormal(self.n_in, self.n_out, rng), requires_grad=True)
        else:
            self.weight = Tensor(random_skew_param(max(self.n_in, self.n_out), rng),
                                 requires_grad=True)
        self.bias = Tensor(np.zeros(self.n_out), requires_grad=True) if bias else None
        # Björck's power iteration (the draw is made for every parametrisation: same stream)
        self._start_power(rng, self.n_in, 20 if parametrization == "bjorck" else 0)
        self.frozen = None  # exact inference weight once frozen
        self.warm_start = bool(warm_start)
        self._anchor_shift = None  # warm start: orthonormalised weight - raw weight, last step

    def parameters(self) -> list:
        return [self.weight] + ([self.bias] if self.bias is not None else [])

    def weight_tensor(self) -> Tensor:
        """The training-time weight ``bjorck(W_raw / sigma)`` as an autodiff expression.

        The power-iteration vector only advances when a graph is being recorded (a training
        step), so evaluations never change the training trajectory.

        With ``normalize="columns"`` (multi-class output layers) each output column is divided
        by its norm instead: every output is 1-Lipschitz on its own.
        """
        if self.normalize == "columns":
            return self.weight / ((self.weight * self.weight).sum(axis=0, keepdims=True)).sqrt()
        if self.parametrization != "bjorck":
            return _ORTHOGONAL_MAPS[self.parametrization][0](self.weight, self.n_in, self.n_out)
        recording = is_grad_enabled() and self.weight.requires_grad
        if self.warm_start:
            out = warm_bjorck(self.weight, self.bjorck_iters)
            if out is not None:
                if recording:
                    self._anchor_shift = out.data - self.weight.data
                return out
        v = self._power_v(self.power_iters)
        iters = max(self.bjorck_iters, COLD_BJORCK_ITERS) if self.warm_start else self.bjorck_iters
        out = spectral_bjorck(self.weight, self.u, v, iters)
        if recording and self.warm_start:
            self._anchor_shift = out.data - self.weight.data
        return out

    def after_step(self) -> None:
        """Warm start: move the raw weight by the Björck correction of the last training
        forward pass, so that the optimiser's update applies to the orthonormalised matrix
        and the raw weight stays within O(step^2) of orthonormal (then the next step's few
        Björck iterations start from there)."""
        if self._anchor_shift is not None:
            self.weight.data = self.weight.data + self._anchor_shift
            self._anchor_shift = None

    def effective_weight(self) -> np.ndarray:
        """The weight used by the forward pass now (frozen, or the training-time one)."""
        if self.frozen is not None:
            return self.frozen
        with no_grad():
            return self.weight_tensor().data

    def exact_weight(self, tol: float = 1e-13) -> np.ndarray:
        """Björck iterated to convergence from the exact-spectral-norm scaling; norm <= 1."""
        w = self.weight.data
        if self.normalize == "columns":
            return w / np.sqrt(np.sum(w * w, axis=0, keepdims=True))
        if self.parametrization != "bjorck":  # orthonormal to rounding; polish, never above 1
            w = _ORTHOGONAL_MAPS[self.parametrization][1](w, self.n_in, self.n_out)
            out = bjorck_numpy(w, 0, tol=tol)
        else:
            out = bjorck_numpy(w / np.linalg.norm(w, 2), self.bjorck_iters, tol=tol)
        s = np.linalg.norm(out, 2)
        return out / s if s > 1.0 else out

    def freeze(self) -> None:
        self.frozen = self.exact_weight()
        self._anchor_shift = None

    def unfreeze(self) -> None:
        self.frozen = None

    def __call__(self, x: Any, weight: Tensor | None = None, bias: Tensor | None = None) -> Tensor:
        """``x @ W + bias``; ``weight``/``bias`` override the layer's own (as constants)."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        if weight is None:
            weight = Tensor(self.frozen) if self.frozen is not None else self.weight_tensor()
        if bias is None:
            bias = self.bias
        out = x @ weight
        return out + bias if bias is not None else out

    def config(self) -> dict:
        return {"type": "dense", "in": self.n_in, "out": self.n_out, "bias": self.use_bias,
                "bjorck_iters": self.bjorck_iters, "power_iters": self.power_iters,
                "normalize": self.normalize, "warm_start": self.warm_start,
                "parametrization": self.parametrization}

    def state(self) -> dict:
        st = {"weight": self.weight.data, "u": self.u}
        if self.bias is not None:
            st["bias"] = self.bias.data
        if self.frozen is not None:
            st["frozen"] = self.frozen
        return st

    def load_state(self, arrays: dict) -> None:
        shapes = {"weight": self.weight.data.shape, "u": (self.n_in,), "bias": (self.n_out,),
                  "frozen": (self.n_in, self.n_out)}
        need = ["weight", "u"] + (["bias"] if self.use_bias else [])
        arrays = checked_state(arrays, shapes, need, "a dense layer")
        self.weight.data = arrays["weight"]
        self.u = arrays["u"]
        if self.use_bias:
            self.bias.data = arrays["bias"]
        self.frozen = arrays.get("frozen")
