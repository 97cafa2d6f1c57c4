"""Activation modules: the parameter-free :class:`Activation` and the learnable
:class:`Householder` activation."""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from .activations import NUMPY_ACTIVATIONS, get_activation
from .base import Module
from .tensor import Tensor

__all__ = ["Activation", "Householder"]


class Activation(Module):
    """A parameter-free activation module (``groupsort``, ``fullsort`` or ``relu``)."""

    def __init__(self, name: str):
        fn = get_activation(name)
        self.name = fn.__name__
        self.fn = fn

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def config(self) -> dict:
        return {"type": "activation", "name": self.name}

    def numpy(self, x: np.ndarray) -> np.ndarray:
        """The activation on a plain array (inference)."""
        return NUMPY_ACTIVATIONS[self.name](x)


class Householder(Module):
    """Householder activation (Singla, Singla & Feizi, ICLR 2022), a learnable
    gradient-norm-preserving activation.

    Units i and i + k of a 2k-wide layer form a pair z; with ``v = (cos t, sin t)`` (one
    learnable angle t per pair) the output is z where ``v . z > 0`` and the reflection
    ``z - 2 (v . z) v`` elsewhere.  The map is continuous (the reflection fixes the line
    ``v . z = 0``), its Jacobian is I or a reflection (orthogonal), so it is 1-Lipschitz and
    keeps gradient norms.  At t = -pi/4 it is GroupSort-2 (MaxMin), its initialisation.
    """

    def __init__(self, units: int) -> None:
        units = int(units)
        if units < 2 or units % 2:
            raise InputError(f"units: the Householder activation needs an even width, got "
                             f"{units}")
        self.units = units
        self.theta = Tensor(np.full(units // 2, -np.pi / 4), requires_grad=True)

    def parameters(self) -> list:
        return [self.theta]

    @staticmethod
    def _forward(z: np.ndarray, theta: np.ndarray):
        k = z.shape[-1] // 2
        c, s = np.cos(theta), np.sin(theta)
        z1, z2 = z[..., :k], z[..., k:]
        dot = c * z1 + s * z2
        refl = np.where(dot > 0, 0.0, 2.0 * dot)  # 2 (v.z) where reflected
        return np.concatenate([z1 - refl * c, z2 - refl * s], axis=-1), (k, c, s, dot)

    def __call__(self, x: Tensor) -> Tensor:
        z = x.data
        out, (k, c, s, dot) = self._forward(z, self.theta.data)
        mask = dot <= 0
        z1, z2 = z[..., :k], z[..., k:]

        def backward(g):
            g1, g2 = g[..., :k], g[..., k:]
            vg = c * g1 + s * g2             # v . g
            wg = -s * g1 + c * g2            # v' . g,  v' = dv/dt = (-sin t, cos t)
            wz = -s * z1 + c * z2
            two_vg = np.where(mask, 2.0 * vg, 0.0)
            g_z = np.concatenate([g1 - two_vg * c, g2 - two_vg * s], axis=-1)
            g_t = -2.0 * np.where(mask, wz * vg + dot * wg, 0.0)
            return g_z, g_t.reshape(-1, k).sum(axis=0)

        return Tensor._make(out, (x, self.theta), backward, "householder")

    def numpy(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x, self.theta.data)[0]

    def config(self) -> dict:
        return {"type": "householder", "units": self.units}

    def state(self) -> dict:
        return {"theta": self.theta.data}

    def load_state(self, arrays: dict) -> None:
        theta = np.asarray(arrays.get("theta", np.nan), dtype=np.float64)
        if theta.shape != (self.units // 2,) or not np.all(np.isfinite(theta)):
            raise InputError(f"model: array 'theta' of a Householder activation has shape "
                             f"{theta.shape} or non-finite values (expected "
                             f"({self.units // 2},))")
        if set(arrays) != {"theta"}:
            raise InputError(f"model: unexpected arrays {sorted(set(arrays) - {'theta'})} for "
                             "a Householder activation")
        self.theta.data = theta.copy()
