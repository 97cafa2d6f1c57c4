"""Experiments on real data: the paper's claims measured against the exact optimum.

* :mod:`otreg.experiments.digits` — handwritten digits (scikit-learn's ``load_digits``, 8 x 8
  pixels): exact hKR optimum vs network, certified vs attacked accuracy, an unconstrained
  baseline, one-step adversarial examples (``otreg experiment digits``).
* :mod:`otreg.experiments.attack` — L2 PGD and minimal-radius attacks on otreg's autodiff.
* :mod:`otreg.experiments.baseline` — the unconstrained cross-entropy network.
* :mod:`otreg.experiments.figures` — the pictures.

The digits data need scikit-learn (``pip install 'otreg[sklearn]'``); it is imported when the
data are loaded, not with this package.
"""
from .attack import AttackResult, minimal_adversarial_radius, pgd_l2
from .baseline import DenseNet, train_baseline
from .digits import (EPS, DigitsConfig, DigitsRun, DigitsSplit, all_pairs, load_digit_pair,
                     projected_optimum_gaps, run_digits, run_digits_all, summary_table,
                     findings)

__all__ = ["pgd_l2", "minimal_adversarial_radius", "AttackResult", "DenseNet", "train_baseline",
           "EPS", "DigitsConfig", "DigitsRun", "DigitsSplit", "load_digit_pair", "run_digits",
           "run_digits_all", "all_pairs", "summary_table", "findings", "projected_optimum_gaps"]
