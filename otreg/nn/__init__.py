"""PyTorch-free neural hKR solver: NumPy autodiff, 1-Lipschitz networks, losses, training.

>>> from otreg.nn import fit
>>> result = fit(x_pos, x_neg, lam=1.0, margin=0.1)            # doctest: +SKIP
>>> result.model.predict(points), result.model.grad(points)      # doctest: +SKIP
"""
from .activations import fullsort, groupsort2, groupsort4, groupsort8, relu
from .cones import ConeNetwork
from .io import load_model, save_model
from .layers import (Activation, Householder, LipschitzDense, Sequential, bjorck, bjorck_numpy,
                     dense_chain, lipschitz_mlp, orthonormal, spectral_bjorck, warm_bjorck)
from .losses import hinge_loss, hkr_loss, kr_loss, loss_coefficients, multiclass_hkr_loss
from .onnx import OnnxModel, from_onnx, to_onnx
from .optim import SGD, Adam
from .orthogonal import cayley, skew_expm
from .residual import ConvexPotentialLayer, SLLLayer
from .tensor import Tensor, concatenate, maximum, minimum, no_grad, stack, where
from .train import (TrainingBudgetWarning, TrainResult, default_settings, fit, fit_multiclass,
                    full_loss)

__all__ = [
    "Tensor", "no_grad", "concatenate", "stack", "maximum", "minimum", "where",
    "groupsort2", "groupsort4", "groupsort8", "fullsort", "relu",
    "LipschitzDense", "ConeNetwork", "Activation", "Householder", "Sequential", "lipschitz_mlp",
    "bjorck",
    "spectral_bjorck", "warm_bjorck", "dense_chain", "bjorck_numpy",
    "orthonormal", "cayley", "skew_expm", "ConvexPotentialLayer", "SLLLayer",
    "kr_loss", "hinge_loss", "hkr_loss", "multiclass_hkr_loss", "loss_coefficients",
    "Adam", "SGD", "fit", "fit_multiclass", "TrainResult", "TrainingBudgetWarning",
    "default_settings", "full_loss", "save_model", "load_model", "to_onnx", "from_onnx",
    "OnnxModel",
]
