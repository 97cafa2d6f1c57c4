"""Verification of the hKR solution against the paper's properties (spec sections 5-7).

``verify(x_pos, x_neg, lam, margin, ...) -> Report`` solves exactly, trains a network (or takes
one), runs every check of :mod:`otreg.verify.checks` and reports them (``Report.table()``,
``Report.to_json()``).  The checks are also usable one by one on any potential.
"""
from .checks import (
    DEFAULT_RADII, Check, ExtensionPotential, Potential, Solution, accuracies, as_potential,
    boundary_distance,
    check_adversarial_tightness, check_certificate, check_complementary_slackness,
    check_gradient_norm, check_hinge_slackness, check_invariance, check_lipschitz,
    check_marginal_bounds,
    check_neural_gap, check_potential_agreement, check_strong_duality, check_w1_limit,
    exact_potential, fast_exact_potential, lipschitz_estimate, ray_points,
)
from .report import Report, Tolerances, verify

CHECK_NAMES = (
    "strong_duality", "complementary_slackness", "marginal_bounds", "hinge_slackness",
    "lipschitz", "invariance", "w1_limit", "gradient_norm", "certificate",
    "adversarial_tightness",
    "neural_gap", "potential_agreement",
)

__all__ = [
    "verify", "Report", "Tolerances", "Check", "Potential", "ExtensionPotential", "Solution",
    "accuracies", "DEFAULT_RADII",
    "as_potential", "exact_potential", "fast_exact_potential", "boundary_distance",
    "lipschitz_estimate", "ray_points", "CHECK_NAMES",
    "check_strong_duality", "check_complementary_slackness", "check_marginal_bounds",
    "check_hinge_slackness", "check_invariance", "check_lipschitz", "check_w1_limit",
    "check_gradient_norm",
    "check_certificate", "check_adversarial_tightness", "check_neural_gap",
    "check_potential_agreement",
]
