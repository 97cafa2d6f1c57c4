"""The base class of the network modules, shared by the dense and the residual layers."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .tensor import is_grad_enabled


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def orthonormal(n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """Random (n_in, n_out) matrix with orthonormal rows or columns (QR of a Gaussian)."""
    big, small = max(n_in, n_out), min(n_in, n_out)
    q, r = np.linalg.qr(rng.standard_normal((big, small)))
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    return q if n_in >= n_out else q.T.copy()


class Module:
    """Base class: parameters, configuration (JSON-able dict) and array state."""

    def parameters(self) -> list:
        return []

    def config(self) -> dict:
        raise NotImplementedError

    def state(self) -> dict:
        return {}

    def load_state(self, arrays: dict) -> None:
        pass


class PowerIteration:
    """Power-iteration estimate of the spectral norm of a layer's ``weight`` (n, k): the left
    vector ``u`` persists between training steps; ``sigma = u^T W v``.  Shared by the Björck
    dense layers and the convex potential layers."""

    def _start_power(self, rng: np.random.Generator, n: int, steps: int = 20) -> None:
        """Draw ``u`` (n,) from ``rng`` and run ``steps`` iterations from it."""
        self.u = _unit(rng.standard_normal(n))
        for _ in range(steps):
            self._power_step()

    def _power_step(self) -> np.ndarray:
        """One iteration: updates ``u``, returns the right vector ``v``."""
        w = self.weight.data
        v = _unit(w.T @ self.u)
        self.u = _unit(w @ v)
        return v

    def _power_v(self, steps: int) -> np.ndarray:
        """The right vector ``v`` of the current estimate: ``steps`` (>= 1) more iterations
        when a graph is being recorded (a training step), else from ``u`` without advancing
        it, so that evaluations never change the training trajectory."""
        if is_grad_enabled() and self.weight.requires_grad:
            for _ in range(steps):
                v = self._power_step()
            return v
        return _unit(self.weight.data.T @ self.u)


def checked_state(arrays: dict, shapes: dict, need: list, what: str) -> dict:
    """``arrays`` as float64 copies after checking that every key of ``need`` is present and
    every array has its shape in ``shapes`` and finite values; else InputError naming ``what``
    (e.g. "a dense layer")."""
    for key in need:
        if key not in arrays:
            raise InputError(f"model: missing array {key!r} for {what}")
    out = {}
    for key, arr in arrays.items():
        arr = np.array(arr, dtype=np.float64)
        if key not in shapes or arr.shape != shapes[key] or not np.all(np.isfinite(arr)):
            raise InputError(f"model: array {key!r} of {what} has shape {arr.shape} "
                             f"or non-finite values (expected {shapes.get(key)})")
        out[key] = arr
    return out
