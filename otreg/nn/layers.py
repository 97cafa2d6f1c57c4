"""1-Lipschitz layers: orthonormal dense layers, activations, and the Sequential container.

:class:`LipschitzDense` stores an unconstrained matrix ``W_raw`` (shape ``(in, out)``, used as
``x @ W + bias``) and uses the weight

    W = bjorck( W_raw / sigma(W_raw) ),

where ``sigma`` is the spectral norm estimated by power iteration (the vector ``u`` persists
between steps, one iteration per training step) and ``bjorck`` runs Björck–Bowie
orthonormalisation ``W <- 1.5 W - 0.5 (W W^T) W`` (15 iterations by default).  Gradients flow
through both: ``sigma = u^T W_raw v`` is a differentiable expression (``u, v`` held constant,
as in spectral normalisation) and Björck is one fused autodiff op with a hand-written backward
through all its iterations.  After training, :meth:`Sequential.freeze` iterates Björck to
convergence and stores the resulting weights, so inference is exactly 1-Lipschitz.

With ``warm_start=True`` (what :func:`otreg.nn.fit` builds) the raw weight is kept near
orthonormal and ``W = bjorck(W_raw, k)`` with k = 1-2 iterations and no spectral scaling; after
each optimiser step :meth:`Sequential.after_step` moves the raw weight by the Björck correction
(see :func:`warm_bjorck`).  :func:`dense_chain` runs a whole chain of dense layers and
activations as one autodiff op.  :class:`Sequential` works in normalised units
(:meth:`Sequential.set_units`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.validate import as_points
from ..errors import InputError
from ._kernels import groupsort2_bias, groupsort2_bias_backward
from .base import Module, PowerIteration, checked_state, orthonormal
from .orthogonal import (PARAMETRIZATIONS, cayley, cayley_numpy, random_skew_param, skew_expm,
                         skew_expm_numpy)
from .residual import RESIDUAL_LAYERS
from .activations import KERNELS, NUMPY_ACTIVATIONS, get_activation, groupsort2
from .tensor import Tensor, as_tensor, is_grad_enabled, no_grad

__all__ = ["bjorck", "spectral_bjorck", "warm_bjorck", "dense_chain", "bjorck_numpy",
           "orthonormal", "LipschitzDense", "Activation", "Householder", "Sequential",
           "lipschitz_mlp"]


# ---------------------------------------------------------------------- Björck
_EYE15: dict = {}


def _eye15(k: int) -> np.ndarray:
    """1.5 I_k (cached, read-only)."""
    out = _EYE15.get(k)
    if out is None:
        out = _EYE15[k] = 1.5 * np.eye(k)
        out.flags.writeable = False
    return out


def _bjorck_forward(a: np.ndarray, iters: int):
    flip = a.shape[0] > a.shape[1]
    cur = a.T if flip else a
    eye15 = _eye15(cur.shape[0])
    saved = []
    for _ in range(int(iters)):
        mult = eye15 - 0.5 * (cur @ cur.T)  # 1.5 I - 0.5 W W^T, symmetric
        saved.append((cur, mult))
        cur = mult @ cur
    return np.ascontiguousarray(cur.T if flip else cur), (flip, saved)


def _bjorck_backward(g: np.ndarray, cache: tuple) -> np.ndarray:
    # adjoint of W' = M W with M = 1.5 I - 0.5 W W^T:  B <- M B - 0.5 (S + S^T) W,  S = B W^T
    flip, saved = cache
    bmat = g.T if flip else g
    for cur_k, mult_k in reversed(saved):
        s = bmat @ cur_k.T
        s += s.T
        s *= -0.5
        bmat = mult_k @ bmat + s @ cur_k
    return bmat.T if flip else bmat


def bjorck(w: Tensor, iters: int = 15) -> Tensor:
    """Björck–Bowie orthonormalisation, ``iters`` steps of ``W <- 1.5 W - 0.5 (W W^T) W``.

    For a matrix with singular values in (0, sqrt(3)) the iteration converges to the nearest
    matrix with orthonormal rows (or columns), i.e. all singular values -> 1; a value s <= 1
    stays <= 1 at every step.  The product is computed through the smaller Gram matrix.
    One fused op: the backward pass runs the adjoint of each step in reverse,
    ``B <- 1.5 B - 0.5 ((B W^T + W B^T) W + (W W^T) B)``.
    """
    out, cache = _bjorck_forward(w.data, iters)
    return Tensor._make(out, (w,), lambda g: (_bjorck_backward(g, cache),), "bjorck")


def spectral_bjorck(w: Tensor, u: np.ndarray, v: np.ndarray, iters: int = 15) -> Tensor:
    """``bjorck(w / sigma)`` with ``sigma = u^T w v`` (``u``, ``v`` constants), as one op.

    Same value and gradient as ``bjorck(w / (w * outer(u, v)).sum(), iters)`` written with
    separate ops (tested); fusing saves graph nodes and temporaries on every training step.
    The backward pass: with ``B0`` the gradient at ``W0 = w / sigma``,
    ``grad_w = B0 / sigma - (sum(B0 * W0) / sigma) u v^T``.
    """
    a = w.data
    sigma = float(u @ a @ v)
    w0 = a / sigma
    out, cache = _bjorck_forward(w0, iters)

    def backward(g):
        b0 = _bjorck_backward(g, cache)
        return (b0 / sigma - (np.vdot(b0, w0) / sigma) * np.outer(u, v),)

    return Tensor._make(out, (w,), backward, "spectral_bjorck")


#: Björck iterations of the cold start (spectral scaling first), used by a warm-started layer
#: whose raw weight has drifted too far from orthonormal for a few iterations
COLD_BJORCK_ITERS = 15
#: a warm start is used while ||W W^T - I||_F (smaller Gram) stays below this: the singular
#: values are then in (0.7, 1.23) and 2 iterations bring them to 1 - O(1e-2) or better
WARM_LIMIT = 0.5


def warm_bjorck(w: Tensor, iters: int = 2) -> Tensor | None:
    """``bjorck(w, iters)`` without spectral scaling, for a ``w`` already near orthonormal;
    None when ``w`` is too far from it (``||W W^T - I||_F >= WARM_LIMIT``).

    Near an orthonormal matrix one Björck step's Jacobian is the projection onto the tangent
    space of the orthonormal matrices (``dW -> W skew(W^T dW)``), so differentiating through
    one or two steps gives the Riemannian gradient; and a step maps every singular value
    s in [0, 2] to ``s (1.5 - 0.5 s^2) <= 1``: the training-time weight is never above norm 1.
    """
    out, cache = _bjorck_forward(w.data, iters)
    first_mult = cache[1][0][1]  # 1.5 I - 0.5 G of the first step:  G - I = 2 (I - M)
    dev = 2.0 * np.linalg.norm(_eye15(first_mult.shape[0]) * (2.0 / 3.0) - first_mult)
    if not dev < WARM_LIMIT:
        return None
    return Tensor._make(out, (w,), lambda g: (_bjorck_backward(g, cache),), "bjorck")


def bjorck_numpy(a: np.ndarray, iters: int = 15, tol: float | None = None,
                 max_iters: int = 1000) -> np.ndarray:
    """Björck in plain NumPy; with ``tol``, iterate past ``iters`` until max|W W^T - I| < tol."""
    flip = a.shape[0] > a.shape[1]
    cur = a.T if flip else a
    eye = np.eye(cur.shape[0])
    for k in range(max_iters):
        gram = cur @ cur.T
        if k >= iters and (tol is None or np.max(np.abs(gram - eye)) < tol):
            break
        cur = (1.5 * eye - 0.5 * gram) @ cur
    return np.ascontiguousarray(cur.T if flip else cur)


#: parametrisation -> (autodiff op, NumPy function) of the square raw weight
_ORTHOGONAL_MAPS = {"cayley": (cayley, cayley_numpy), "exp": (skew_expm, skew_expm_numpy)}


# ---------------------------------------------------------------------- modules
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


class Sequential(Module):
    """A chain of modules; the networks of :func:`lipschitz_mlp` are 1-Lipschitz.

    The model maps points ``(k, d)`` to ``(k, out)``; :meth:`predict` and :meth:`grad` work on
    plain arrays.
    """

    def __init__(self, layers: list[Module], shift: Any = None, scale: float = 1.0) -> None:
        self.layers = list(layers)
        dense = [l for l in self.layers if isinstance(l, LipschitzDense)]
        if not dense:
            raise InputError("layers: a model needs at least one dense layer")
        self.in_dim, self.out_dim = dense[0].n_in, dense[-1].n_out
        self.set_units(shift, scale)
        self._chain = _chain_activations(self.layers)

    def set_units(self, shift: Any = None, scale: float = 1.0) -> "Sequential":
        """Work in normalised units: ``f(x) = scale * g((x - shift) / scale)`` with ``g`` the
        layers.  ``f`` is 1-Lipschitz exactly when ``g`` is (the same factor divides the input
        and multiplies the output), so the network can be trained on data of any coordinate
        scale as if it were of unit size.  Defaults: no shift, scale 1."""
        shift = np.zeros(self.in_dim) if shift is None else np.asarray(shift, dtype=np.float64)
        if shift.shape != (self.in_dim,) or not np.all(np.isfinite(shift)):
            raise InputError(f"shift: expected {self.in_dim} finite numbers, got {shift!r}")
        if not (isinstance(scale, (int, float, np.floating)) and np.isfinite(scale)
                and scale > 0):
            raise InputError(f"scale: must be a positive finite number, got {scale!r}")
        self.shift, self.scale = shift.copy(), float(scale)
        return self

    def to_units(self, points: np.ndarray) -> np.ndarray:
        """Points in the layers' normalised coordinates, ``(x - shift) / scale``."""
        return (points - self.shift) / self.scale

    # -------------------------------------------------------------- structure
    def parameters(self) -> list:
        return [p for layer in self.layers for p in layer.parameters()]

    @property
    def dense_layers(self) -> list:
        return [l for l in self.layers if isinstance(l, LipschitzDense)]

    @property
    def constrained_layers(self) -> list:
        """The layers with a training-time re-parametrisation and an exact frozen form: dense
        and residual layers (they have ``freeze``, ``unfreeze`` and ``after_step``)."""
        return [l for l in self.layers if hasattr(l, "freeze")]

    @property
    def frozen(self) -> bool:
        return all(l.frozen is not None for l in self.constrained_layers)

    def freeze(self) -> "Sequential":
        """Store exact weights for inference: orthonormal dense weights (Björck to
        convergence), exact spectral norms of convex potential layers, SLL's scaling."""
        for layer in self.constrained_layers:
            layer.freeze()
        return self

    def train(self) -> "Sequential":
        """Back to the differentiable re-parametrisation (drops frozen weights)."""
        for layer in self.constrained_layers:
            layer.unfreeze()
        return self

    def after_step(self) -> None:
        """Call after every optimiser step (warm-started Björck layers re-anchor)."""
        for layer in self.constrained_layers:
            layer.after_step()

    def config(self) -> dict:
        return {"type": "sequential", "layers": [l.config() for l in self.layers],
                "shift": [float(v) for v in self.shift], "scale": self.scale}

    def spectral_norms(self) -> list:
        """Spectral norm of every dense layer's effective weight (2-norm via SVD).

        For a ``normalize="columns"`` output layer, the largest column norm (the Lipschitz
        constant of each output taken separately).
        """
        out = []
        for l in self.dense_layers:
            w = l.effective_weight()
            out.append(float(np.linalg.norm(w, axis=0).max() if l.normalize == "columns"
                             else np.linalg.norm(w, 2)))
        return out

    # -------------------------------------------------------------- evaluation
    def __call__(self, x: Any, weights: list | None = None) -> Tensor:
        """Forward pass on a Tensor (or array), in the original units.

        ``weights``, optional: one ``(W, bias)`` pair per dense layer, used instead of the
        layers' own parameters (e.g. constants, so that only the input gets a gradient).
        """
        x = x if isinstance(x, Tensor) else Tensor(x)
        if self.scale == 1.0 and not self.shift.any():
            return self.core(x, weights)
        return self.core((x - self.shift) * (1.0 / self.scale), weights) * self.scale

    def core(self, x: Any, weights: list | None = None, fused: bool = True,
             dtype: Any = None) -> Tensor:
        """The layers alone (normalised units, see :meth:`set_units`).

        With ``fused`` (default) a chain of dense layers and parameter-free activations runs
        as one autodiff op (:func:`dense_chain`, computing in ``dtype``, default float64);
        ``fused=False`` records every elementary op (same values and gradients, tested)."""
        out = x if isinstance(x, Tensor) else Tensor(x)
        if fused and self._chain is not None:
            dense = self.dense_layers
            pairs = weights if weights is not None else [
                (Tensor(l.frozen) if l.frozen is not None else l.weight_tensor(), l.bias)
                for l in dense]
            return dense_chain(out, [w for w, _ in pairs], [b for _, b in pairs], self._chain,
                               dtype)
        it = iter(weights) if weights is not None else None
        for layer in self.layers:
            if isinstance(layer, LipschitzDense):
                out = layer(out) if it is None else layer(out, *next(it))
            else:
                out = layer(out)
        return out

    def _check_points(self, points: Any) -> np.ndarray:
        return as_points(points, "points", dim=self.in_dim)

    def predict(self, points: Any) -> np.ndarray:
        """f at ``points`` (k, d): shape (k,) for one output, (k, out) otherwise.

        Plain NumPy with the frozen (or current training-time) weights.
        """
        x = self.to_units(self._check_points(points))
        for layer in self.layers:
            if isinstance(layer, LipschitzDense):
                x = x @ layer.effective_weight()
                if layer.bias is not None:
                    x = x + layer.bias.data
            else:
                x = layer.numpy(x)
        x = x * self.scale
        return x[:, 0] if self.out_dim == 1 else x

    def grad(self, points: Any, output: int = 0) -> np.ndarray:
        """Gradient of output ``output`` of f w.r.t. the input, at each point: (k, d)."""
        x = self._check_points(points)
        if not (0 <= int(output) < self.out_dim):
            raise InputError(f"output: must be in [0, {self.out_dim}), got {output!r}")
        weights = [(Tensor(l.effective_weight()),
                    None if l.bias is None else Tensor(l.bias.data)) for l in self.dense_layers]
        # the other layers' parameters (residual, Householder) as constants for the duration:
        # no parameter gradient accumulates, no power iteration advances
        params = self.parameters()
        flags = [p.requires_grad for p in params]
        try:
            for p in params:
                p.requires_grad = False
            xt = Tensor(x, requires_grad=True)
            out = self(xt, weights)
            out[:, int(output)].sum().backward()
        finally:
            for p, flag in zip(params, flags):
                p.requires_grad = flag
        return xt.grad

    @classmethod
    def from_config(cls, cfg: dict, where: str = "model") -> "Sequential":
        """Build an (untrained) model from the architecture dict of :meth:`config`; any
        problem raises :class:`InputError` prefixed by ``where``."""
        try:
            if cfg.get("type") != "sequential":
                raise InputError(f"{where}: architecture type must be 'sequential'")
            layers = []
            for lc in cfg["layers"]:
                if lc["type"] == "dense":
                    layers.append(LipschitzDense(
                        int(lc["in"]), int(lc["out"]), bias=bool(lc["bias"]),
                        bjorck_iters=int(lc["bjorck_iters"]), power_iters=int(lc["power_iters"]),
                        normalize=lc.get("normalize", "orthonormal"),
                        warm_start=bool(lc.get("warm_start", False)),
                        parametrization=lc.get("parametrization", "bjorck")))
                elif lc["type"] in RESIDUAL_LAYERS:
                    extra = {k: type_(lc[k]) for k, type_ in (("power_iters", int),
                                                               ("exact_norm", bool)) if k in lc}
                    layers.append(RESIDUAL_LAYERS[lc["type"]](int(lc["units"]),
                                                              int(lc["hidden"]), **extra))
                elif lc["type"] == "activation":
                    layers.append(Activation(lc["name"]))
                elif lc["type"] == "householder":
                    layers.append(Householder(int(lc["units"])))
                else:
                    raise InputError(f"{where}: unknown layer type {lc['type']!r}")
            model = cls(layers, cfg.get("shift"), cfg.get("scale", 1.0))
        except InputError as exc:
            raise InputError(f"{where}: invalid architecture ({exc})") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{where}: invalid architecture ({type(exc).__name__}: {exc})") \
                from None
        dims = [(l.n_in, l.n_out) for l in model.constrained_layers]
        for (_, out_prev), (in_next, _) in zip(dims, dims[1:]):
            if out_prev != in_next:
                raise InputError(f"{where}: invalid architecture (layer sizes {dims} do not "
                                 "chain)")
        return model


def _chain_activations(layers: list) -> list | None:
    """The activation after each dense layer (None for none) if ``layers`` alternate dense
    layers and parameter-free activations that have a NumPy kernel; else None."""
    acts: list = []
    for layer in layers:
        if isinstance(layer, LipschitzDense):
            acts.append(None)
        elif isinstance(layer, Activation) and layer.name in KERNELS and acts \
                and acts[-1] is None:
            acts[-1] = layer.name
        else:
            return None
    return acts


def dense_chain(x: Tensor, weights: list, biases: list, activations: list,
                dtype: Any = None) -> Tensor:
    """``h <- act_k(h @ W_k + b_k)`` for k = 1..L as one autodiff op.

    ``activations[k]`` names a kernel of :data:`otreg.nn.activations.KERNELS` or is None.  The
    backward pass runs the chain rule of every layer in one function (no graph nodes, no
    topological sort per layer): gradients for ``x``, every ``W_k`` and every ``b_k``.

    ``dtype``: the floating type the chain computes in (default float64).  With
    ``np.float32`` the points, weights and back-propagated gradients are rounded to single
    precision inside the op (matrix products about 1.7x faster); the output and every
    gradient handed back are float64, so the rest of the graph, the Björck steps and the
    optimiser stay in double precision.
    """
    biases = [as_tensor(b) if b is not None else None for b in biases]
    weights = [as_tensor(w) for w in weights]
    dt = np.dtype(np.float64 if dtype is None else dtype)
    if dt not in (np.float32, np.float64):
        raise InputError(f"dtype: expected float32 or float64, got {dt}")
    w_data = [w.data.astype(dt, copy=False) for w in weights]
    b_data = [b.data.astype(dt, copy=False) if b is not None else None for b in biases]
    h = x.data.astype(dt, copy=False)
    saved = []
    for w, b, act in zip(w_data, b_data, activations):
        z = h @ w
        if act == "groupsort2" and b is not None and z.ndim == 2:
            z, mask = groupsort2_bias(z, b)  # compiled: bias, pairs, max/min in one pass
            saved.append((h, mask))
            h = z
            continue
        if b is not None:
            z += b
        back = None
        if act is not None:
            z, back = KERNELS[act](z)
        saved.append((h, back))
        h = z
    has_bias = [b is not None for b in biases]
    need_x = x.requires_grad

    def backward(g):
        g = g.astype(dt, copy=False)
        g_w, g_b = [None] * len(weights), [None] * len(weights)
        g_x = None
        for k in range(len(weights) - 1, -1, -1):
            h_in, back = saved[k]
            bias_grad = None
            if isinstance(back, np.ndarray):  # the compiled GroupSort-2 + bias kernel's mask
                g, bias_grad = groupsort2_bias_backward(g, back)
            elif back is not None:
                g = back(g)
            if weights[k].requires_grad:
                g_w[k] = (h_in.T @ g).astype(np.float64, copy=False)
            if has_bias[k] and biases[k].requires_grad:
                g_b[k] = (g.sum(axis=0) if bias_grad is None else bias_grad).astype(
                    np.float64, copy=False)
            if k > 0 or need_x:
                g = g @ w_data[k].T
        if need_x:
            g_x = g.astype(np.float64, copy=False)
        return (g_x, *g_w, *[gb for gb, hb in zip(g_b, has_bias) if hb])

    parents = (x, *weights, *[b for b in biases if b is not None])
    return Tensor._make(h.astype(np.float64, copy=False), parents, backward, "dense_chain")


def lipschitz_mlp(in_dim: int, width: int = 64, depth: int = 3,
                  activation: str | None = None, seed: int = 0, out_dim: int = 1,
                  bjorck_iters: int = 15, warm_start: bool = False, shift: Any = None,
                  scale: float = 1.0, bias_spread: float = 0.0, parametrization: str = "bjorck",
                  residual: str | None = None,
                  residual_options: dict | None = None) -> Sequential:
    """A 1-Lipschitz MLP ``in_dim - width x depth - out_dim`` with orthonormal dense layers.

    ``depth`` is the number of hidden layers (2-64-64-64-1 is ``width=64, depth=3``).
    With ``out_dim > 1`` the output layer normalises each output column separately
    (``normalize="columns"``), so that every output is 1-Lipschitz: an orthonormal output layer
    would make the outputs' gradients orthogonal, and with d inputs
    sum_c |grad f_c|^2 <= d, too tight for one-vs-all potentials with C > d classes.

    ``activation``: ``groupsort`` (default), ``groupsort4``, ``groupsort8``, ``fullsort``,
    ``relu`` or ``householder``.  ``warm_start``: Björck warm-started from the previous step's
    orthonormal matrix (``bjorck_iters`` per step, typically 1-2; the training loop must call
    :meth:`Sequential.after_step` after each optimiser step).  ``shift``, ``scale``: the
    model's units (:meth:`Sequential.set_units`).  ``bias_spread``: hidden biases drawn
    uniformly in +-``bias_spread`` (0: zero biases).

    ``parametrization``: how the dense layers are kept orthonormal, ``"bjorck"`` (default),
    ``"cayley"`` or ``"exp"`` (see :class:`LipschitzDense`; a multi-output layer normalises
    its columns whatever this is; ``warm_start`` only applies to Björck).  ``residual``:
    ``"cpl"`` or ``"sll"`` builds
    ``in_dim -> width`` (orthonormal, an isometry when ``width >= in_dim``), then ``depth``
    residual layers of ``width`` features (:class:`~otreg.nn.residual.ConvexPotentialLayer`,
    :class:`~otreg.nn.residual.SLLLayer`: their ReLU is the non-linearity, so ``activation``
    must be left unset), then ``width -> out_dim``.  ``residual_options``: keyword arguments of
    every residual layer, e.g. ``{"hidden": 64}`` or, for CPL, ``{"exact_norm": True}``.
    """
    for name, val, low in (("in_dim", in_dim, 1), ("width", width, 1), ("depth", depth, 0),
                           ("out_dim", out_dim, 1)):
        if isinstance(val, bool) or int(val) != val or val < low:
            raise InputError(f"{name}: must be an integer >= {low}, got {val!r}")
    if residual is not None and residual not in RESIDUAL_LAYERS:
        raise InputError(f"residual: expected None or one of {', '.join(RESIDUAL_LAYERS)}, got "
                         f"{residual!r}")
    if residual_options and residual is None:
        raise InputError("residual_options: only for a residual network (residual='cpl' or "
                         "'sll')")
    if residual is not None and activation is not None:
        raise InputError(f"activation: a residual network ({residual!r}) has no separate "
                         f"activation (its layers' ReLU), got {activation!r}")
    activation = "groupsort" if activation is None else activation
    householder = str(activation).lower() == "householder"
    act = groupsort2 if householder else get_activation(activation)
    group = {"groupsort2": 2, "groupsort4": 4, "groupsort8": 8}.get(act.__name__)
    if residual is None and group and width % group and depth > 0:
        raise InputError(f"width: GroupSort-{group} needs a width divisible by {group}, "
                         f"got {width}")
    rng = np.random.default_rng(seed)
    opts = dict(bjorck_iters=bjorck_iters, warm_start=warm_start and parametrization == "bjorck",
                parametrization=parametrization)
    columns = dict(opts, normalize="columns", parametrization="bjorck")
    if residual is not None:
        try:
            hidden = [RESIDUAL_LAYERS[residual](int(width), rng=rng, **(residual_options or {}))
                      for _ in range(int(depth))]
        except TypeError as exc:
            raise InputError(f"residual_options: {exc}") from None
        for layer in hidden if bias_spread else ():
            layer.bias.data = rng.uniform(-bias_spread, bias_spread, layer.hidden)
        layers = [LipschitzDense(int(in_dim), int(width), rng=rng, **opts), *hidden,
                  LipschitzDense(int(width), int(out_dim), rng=rng,
                                 **(columns if out_dim > 1 else opts))]
        return Sequential(layers, shift, scale)
    dims = [int(in_dim)] + [int(width)] * int(depth) + [int(out_dim)]
    layers = []
    for i in range(len(dims) - 1):
        last = i == len(dims) - 2
        layers.append(LipschitzDense(dims[i], dims[i + 1], rng=rng,
                                     **(columns if last and out_dim > 1 else opts)))
        if not last:
            if bias_spread:
                layers[-1].bias.data = rng.uniform(-bias_spread, bias_spread, dims[i + 1])
            layers.append(Householder(dims[i + 1]) if householder else Activation(activation))
    return Sequential(layers, shift, scale)
