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

This module builds the networks (:func:`lipschitz_mlp`) and re-exports the pieces, each in its
own module: the Björck ops (:mod:`otreg.nn.bjorck`), the dense layer (:mod:`otreg.nn.dense`),
the activation modules (:mod:`otreg.nn.activation_layers`), the fused chain
(:mod:`otreg.nn.chain`) and the container (:mod:`otreg.nn.sequential`).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from .activation_layers import Activation, Householder
from .activations import get_activation, groupsort2
from .base import orthonormal
from .bjorck import (COLD_BJORCK_ITERS, WARM_LIMIT, bjorck, bjorck_numpy, spectral_bjorck,
                     warm_bjorck)
from .chain import dense_chain
from .dense import LipschitzDense
from .residual import RESIDUAL_LAYERS
from .sequential import Sequential

__all__ = ["bjorck", "spectral_bjorck", "warm_bjorck", "dense_chain", "bjorck_numpy",
           "orthonormal", "LipschitzDense", "Activation", "Householder", "Sequential",
           "lipschitz_mlp", "COLD_BJORCK_ITERS", "WARM_LIMIT"]


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
