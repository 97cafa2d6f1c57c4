"""Exact solvers of the hKR optimal-transport problem (spec sections 2-5)."""
from .extension import c_transform_clean, extend, extend_with_grad
from .objective import hkr_loss_values, marginal_bounds, pairwise_distances
from .solve import HKRResult, hkr_transport, optimal_shift, wasserstein1

__all__ = [
    "HKRResult", "hkr_transport", "wasserstein1", "hkr_loss_values", "marginal_bounds",
    "pairwise_distances", "extend", "extend_with_grad", "c_transform_clean", "optimal_shift",
]
