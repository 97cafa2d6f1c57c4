"""Exact solvers of the hKR optimal-transport problem (spec sections 2-5)."""
from .bounded import BOUNDED_METHODS, bounded_emd, bounded_emd2
from .extension import ExtensionPotential, c_transform_clean, extend_with_grad
from .objective import pairwise_distances
from .solve import METHODS, HKRResult, hkr_transport, optimal_shift, wasserstein1

__all__ = [
    "HKRResult", "hkr_transport", "wasserstein1", "METHODS", "pairwise_distances",
    "bounded_emd", "bounded_emd2", "BOUNDED_METHODS",
    "ExtensionPotential", "extend_with_grad", "c_transform_clean", "optimal_shift",
]
