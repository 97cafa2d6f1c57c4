"""Distance cones on top of a 1-Lipschitz network: ``f = max(min(m, U), D)``.

With centres ``p_k`` (the training samples), upper heights ``c_k`` and lower heights ``l_k``

    U(x) = min_k (c_k + |x - p_k|),     D(x) = max_k (l_k - |x - p_k|)

(Euclidean norm) are 1-Lipschitz: each cone is, and a minimum or maximum of 1-Lipschitz
functions is.  So ``f = max(min(m, U), D)`` is exactly 1-Lipschitz whenever the network ``m``
is (docs/mathematics.md §9).  With ``c = l = v`` for values ``v`` on the samples that satisfy
``|v_i - v_j| <= |x_i - x_j|``, ``f(x_i) = v_i``: the model can take any 1-Lipschitz values on
the sample, the exact optimum among them (McShane), which a GroupSort network of fixed size
cannot (docs/neural.md §5.8).  The cones let the model memorise the sample; away from it
``f`` is ``m`` wherever ``m`` lies between ``D`` and ``U``.

:func:`train_cones` starts from ``c = l = m`` at the centres (so ``f = m``) and trains the
heights alone on the hKR loss with Adam, the network fixed: the distances between samples and
centres are computed once, a step costs one pass over them.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit
from scipy.spatial.distance import cdist

from ..errors import InputError
from ..problem import hkr_objective
from .sequential import Sequential
from .tensor import Tensor

__all__ = ["ConeNetwork", "train_cones", "MAX_CONE_POINTS", "CONE_SCHEDULE"]

#: cones are only added up to this many distinct samples (training stores the samples x
#: centres distance matrix: 4000^2 doubles, 128 MB)
MAX_CONE_POINTS = 4000
#: the heights' training: Adam steps, first rate (in the network's normalised units) and the
#: factor by which the rate decays geometrically over the steps (a piecewise-linear objective
#: needs decaying steps to settle)
CONE_SCHEDULE = {"cone_steps": 1000, "cone_lr": 1e-2, "cone_final_lr": 1e-3}


@njit(cache=True)
def _scan(row, up, down):  # pragma: no cover - compiled
    """Lowest upper cone and highest lower cone given the distances ``row`` to the centres."""
    best_u, arg_u, best_d, arg_d = np.inf, 0, -np.inf, 0
    for j in range(row.shape[0]):
        a = up[j] + row[j]
        if a < best_u:
            best_u, arg_u = a, j
        b = down[j] - row[j]
        if b > best_d:
            best_d, arg_d = b, j
    return best_u, arg_u, best_d, arg_d


@njit(cache=True)
def _cones_rows(dist, up, down, u_val, u_arg, d_val, d_arg):  # pragma: no cover - compiled
    for i in range(dist.shape[0]):
        u_val[i], u_arg[i], d_val[i], d_arg[i] = _scan(dist[i], up, down)


@njit(cache=True)
def _cones_points(x, centres, up, down, u_val, u_arg, d_val, d_arg):  # pragma: no cover
    row = np.empty(centres.shape[0])
    for i in range(x.shape[0]):
        for j in range(centres.shape[0]):
            s = 0.0
            for t in range(x.shape[1]):
                diff = x[i, t] - centres[j, t]
                s += diff * diff
            row[j] = np.sqrt(s)
        u_val[i], u_arg[i], d_val[i], d_arg[i] = _scan(row, up, down)


def _cone_values(x: np.ndarray, centres: np.ndarray, up: np.ndarray, down: np.ndarray,
                 dist: np.ndarray | None = None):
    """``(U, argmin, D, argmax)`` at the points ``x`` (or from their distances ``dist`` to
    the centres)."""
    n = x.shape[0] if dist is None else dist.shape[0]
    u_val, d_val = np.empty(n), np.empty(n)
    u_arg, d_arg = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    if dist is None:
        _cones_points(np.ascontiguousarray(x, dtype=np.float64), centres, up, down,
                      u_val, u_arg, d_val, d_arg)
    else:
        _cones_rows(dist, up, down, u_val, u_arg, d_val, d_arg)
    return u_val, u_arg, d_val, d_arg


def _branches(m: np.ndarray, u_val: np.ndarray, d_val: np.ndarray,
              g: np.ndarray | None = None):
    """``f = max(min(m, U), D)`` and which part gives it (masks ``on_u``, ``on_d``).  At a
    tie, with a descent direction ``g`` of the values, the part that can move ``f`` that way:
    a lower cone for an increase (g < 0), an upper cone for a decrease."""
    low = np.minimum(m, u_val)
    f = np.maximum(low, d_val)
    up_g = np.zeros(m.shape, dtype=bool) if g is None else g < 0
    on_d = (d_val > low) | ((d_val == low) & up_g)
    on_u = ~on_d & ((u_val < m) | ((u_val == m) & ~up_g & (g is not None)))
    return f, on_u, on_d


class ConeNetwork(Sequential):
    """``f(x) = max(min(m(x), U(x)), D(x))``: a network ``m`` (the layers, in their units)
    and distance cones at ``centres`` (k, d) with upper heights ``up`` and lower heights
    ``down`` (k,), all in the original units of the data.  1-Lipschitz whenever ``m`` is;
    one output."""

    def __init__(self, layers: list, shift: Any = None, scale: float = 1.0,
                 centres: Any = None, up: Any = None, down: Any = None) -> None:
        super().__init__(layers, shift, scale)
        if self.out_dim != 1:
            raise InputError(f"layers: cones need a network with one output, got "
                             f"{self.out_dim}")
        self.set_cones(centres, up, down)

    @classmethod
    def on_network(cls, net: Sequential, centres: Any, up: Any, down: Any) -> "ConeNetwork":
        """Cones on the network ``net`` (its layers are shared, not copied)."""
        return cls(net.layers, net.shift, net.scale, centres, up, down)

    def set_cones(self, centres: Any, up: Any, down: Any) -> None:
        centres, up, down = (np.array(v, dtype=np.float64) for v in (centres, up, down))
        k = centres.shape[0] if centres.ndim == 2 else 0
        if k < 1 or centres.shape[1] != self.in_dim or up.shape != (k,) or down.shape != (k,):
            raise InputError(f"cones: need k >= 1 centres (k, {self.in_dim}) and k upper and "
                             f"lower heights, got {centres.shape}, {up.shape}, {down.shape}")
        if not all(np.all(np.isfinite(v)) for v in (centres, up, down)):
            raise InputError("cones: centres and heights must be finite")
        self.centres, self.up, self.down = centres, up, down

    def config(self) -> dict:
        return {"type": "cones", "network": super().config(), "cones": len(self.up)}

    def cone_state(self) -> dict:
        return {"centres": self.centres, "up": self.up, "down": self.down}

    def network_values(self, points: Any) -> np.ndarray:
        """The network ``m`` alone at ``points``."""
        return super().predict(points)

    def _parts(self, points: Any):
        x = self._check_points(points)
        u_val, u_arg, d_val, d_arg = _cone_values(x, self.centres, self.up, self.down)
        f, on_u, on_d = _branches(super().predict(x), u_val, d_val)
        return x, f, on_u, on_d, u_arg, d_arg

    def predict(self, points: Any) -> np.ndarray:
        """f at ``points`` (k, d): shape (k,)."""
        return self._parts(points)[1]

    def _directions(self, x, on_u, on_d, u_arg, d_arg) -> np.ndarray:
        """Gradient of the active cone at each point where a cone is active (0 elsewhere and
        at a cone's apex, where 0 is a subgradient)."""
        out = np.zeros_like(x)
        for mask, arg, sign in ((on_u, u_arg, 1.0), (on_d, d_arg, -1.0)):
            diff = x[mask] - self.centres[arg[mask]]
            norm = np.linalg.norm(diff, axis=1, keepdims=True)
            out[mask] = sign * np.divide(diff, norm, out=np.zeros_like(diff), where=norm > 0)
        return out

    def grad(self, points: Any, output: int = 0) -> np.ndarray:
        """Gradient of f w.r.t. the input: the network's where it is active, else the active
        cone's unit direction."""
        if int(output) != 0:
            raise InputError(f"output: must be 0 (one output), got {output!r}")
        x, _, on_u, on_d, u_arg, d_arg = self._parts(points)
        out = self._directions(x, on_u, on_d, u_arg, d_arg)
        net = ~(on_u | on_d)
        if net.any():
            out[net] = super().grad(x[net])
        return out

    def __call__(self, x: Any, weights: list | None = None) -> Tensor:
        """Forward pass on a Tensor, gradients to the input (the heights are constants)."""
        x = x if isinstance(x, Tensor) else Tensor(x)
        m = super().__call__(x, weights)
        pts = np.asarray(x.data, dtype=np.float64)
        u_val, u_arg, d_val, d_arg = _cone_values(pts, self.centres, self.up, self.down)
        f, on_u, on_d = _branches(m.data[:, 0], u_val, d_val)
        direc = self._directions(pts, on_u, on_d, u_arg, d_arg)
        net = ~(on_u | on_d)

        def backward(g):
            return g * direc, g * net[:, None]
        return Tensor._make(f[:, None], (x, m), backward, "cones")


def train_cones(model: Sequential, x: np.ndarray, y: np.ndarray, c_kr: np.ndarray,
                c_h: np.ndarray, margin: float, steps: int, lr: float,
                final_lr: float) -> tuple[ConeNetwork, list[float]]:
    """Cones at the distinct samples ``x`` on the (fixed) network ``model``, heights trained
    by ``steps`` Adam steps on the hKR loss with coefficients ``y, c_kr, c_h`` (n,) (c_h
    includes lam; docs/mathematics.md §1) at rates decaying geometrically from ``lr`` to
    ``lr * final_lr``.  Returns the model with the heights of the lowest loss, and the
    full-data loss at each step (original units)."""
    base = Sequential.predict
    scale = model.scale
    # the distinct samples in their order of first appearance (not sorted by coordinates:
    # the trajectory is then the same for data moved or scaled)
    centres = x[np.sort(np.unique(x, axis=0, return_index=True)[1])]
    xu, cu, mu = model.to_units(x), model.to_units(centres), margin / scale
    dist = cdist(xu, cu)
    m = base(model, x) / scale
    heights = np.tile(base(model, centres) / scale, 2)  # up, then down
    k = centres.shape[0]
    mom, vel = np.zeros(2 * k), np.zeros(2 * k)
    best, best_h, history = np.inf, heights.copy(), []
    b1, b2 = 0.9, 0.999
    for t in range(steps):
        u_val, u_arg, d_val, d_arg = _cone_values(xu, cu, heights[:k], heights[k:], dist)
        f = np.maximum(np.minimum(m, u_val), d_val)
        active = mu - y * f > 0
        loss = float(hkr_objective(f, y, c_kr, c_h, mu))
        history.append(loss * scale)
        if loss < best:
            best, best_h = loss, heights.copy()
        g = c_kr - c_h * y * active
        _, on_u, on_d = _branches(m, u_val, d_val, g)
        grad = np.bincount(u_arg[on_u], g[on_u], minlength=k)
        grad = np.concatenate([grad, np.bincount(d_arg[on_d], g[on_d], minlength=k)])
        mom = b1 * mom + (1 - b1) * grad
        vel = b2 * vel + (1 - b2) * grad * grad
        rate = lr * final_lr ** (t / max(1, steps - 1))
        heights -= rate * (mom / (1 - b1 ** (t + 1))) / (np.sqrt(vel / (1 - b2 ** (t + 1)))
                                                          + 1e-12)
    if steps == 0:
        best_h = heights
    out = ConeNetwork.on_network(model, centres, best_h[:k] * scale, best_h[k:] * scale)
    return out, history
