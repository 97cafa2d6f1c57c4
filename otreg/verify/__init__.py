"""Verification of the hKR solution against the paper's properties (docs/mathematics.md §7-§9).

``verify(x_pos, x_neg, lam, margin, ...) -> Report`` solves exactly, trains a network (or takes
one), runs every check of :data:`CHECKS` and reports them (``Report.table()``,
``Report.to_json()``).  The checks are also usable one by one: :mod:`.optimality` (section 5,
on an exact result), :mod:`.geometry` (section 6, on any potential) and :mod:`.neural`
(section 7).
"""
from .check import Check, combine
from .geometry import (boundary_distance, certificate_points, check_adversarial_tightness,
                       check_certificate, check_gradient_norm, ray_points)
from .neural import check_neural_gap, check_potential_agreement
from .optimality import (check_complementary_slackness, check_hinge_slackness, check_invariance,
                         check_lipschitz, check_marginal_bounds, check_strong_duality,
                         check_w1_limit, lipschitz_estimate)
from .report import CHECK_NAMES, CHECKS, Report, Tolerances, verify

__all__ = [
    "verify", "Report", "Tolerances", "Check", "combine", "CHECKS", "CHECK_NAMES",
    "boundary_distance", "certificate_points", "lipschitz_estimate", "ray_points",
    "check_strong_duality", "check_complementary_slackness", "check_marginal_bounds",
    "check_hinge_slackness", "check_invariance", "check_lipschitz", "check_w1_limit",
    "check_gradient_norm", "check_certificate", "check_adversarial_tightness",
    "check_neural_gap", "check_potential_agreement",
]
