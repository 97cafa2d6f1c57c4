"""Exact solvers of the hKR optimal-transport problem (docs/mathematics.md §2-§6).

The one way into the bounded-marginal solvers is :func:`solve_bounded` (POT's argument order,
``M`` the cost matrix), returning one record, :class:`BoundedSolution`; :func:`bounded_emd` and
:func:`bounded_emd2` are its POT-style faces and :func:`hkr_transport` / :func:`wasserstein1`
build on it.
"""
from .bounded import BOUNDED_METHODS, bounded_emd, bounded_emd2, solve_bounded
from .extension import ExtensionPotential, c_transform_clean, extend_with_grad
from .objective import pairwise_distances
from .plan import BoundedSolution
from .solve import METHODS, HKRResult, hkr_transport, optimal_shift, wasserstein1

__all__ = [
    "HKRResult", "hkr_transport", "wasserstein1", "METHODS", "pairwise_distances",
    "bounded_emd", "bounded_emd2", "solve_bounded", "BoundedSolution", "BOUNDED_METHODS",
    "ExtensionPotential", "extend_with_grad", "c_transform_clean", "optimal_shift",
]
