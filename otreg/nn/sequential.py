"""The :class:`Sequential` container: units, freezing, NumPy inference and input gradients."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..data.validate import as_points
from ..errors import InputError
from .activation_layers import Activation, Householder
from .base import Module
from .chain import chain_activations, dense_chain
from .dense import LipschitzDense
from .residual import RESIDUAL_LAYERS
from .tensor import Tensor

__all__ = ["Sequential"]


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
        self._chain = chain_activations(self.layers)

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
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise InputError(f"{where}: invalid architecture ({type(exc).__name__}: {exc})") \
                from None
        dims = [(l.n_in, l.n_out) for l in model.constrained_layers]
        for (_, out_prev), (in_next, _) in zip(dims, dims[1:]):
            if out_prev != in_next:
                raise InputError(f"{where}: invalid architecture (layer sizes {dims} do not "
                                 "chain)")
        return model
