"""The network against the exact solution (docs/mathematics.md §9): the loss gap and the
agreement of the potentials on the samples."""
from __future__ import annotations

import numpy as np

from ..metrics import loss_scale
from ..problem import Problem
from .check import Check, combine


def check_neural_gap(problem: Problem, exact_loss: float, f_pos: np.ndarray, f_neg: np.ndarray,
                     rel_tol: float = 0.05, below_tol: float = 1e-6) -> Check:
    """exact loss - tiny <= L(network) <= exact loss + rel_tol (|exact loss| + 2 margin).

    The lower bound is a theorem (a 1-Lipschitz network restricted to the samples is feasible
    for the LP); the upper bound measures training.  ``below_tol`` absorbs float32 rounding.
    """
    L = problem.loss(f_pos, f_neg)
    gap = L - exact_loss
    scale = loss_scale(exact_loss, problem.margin)
    low = -below_tol * scale
    allowed = rel_tol * scale
    ok = (gap >= low) and (gap <= allowed)
    detail = (f"L(network)={L:.6g}, exact min L={exact_loss:.6g}, gap {gap:.3e} in "
              f"[{low:.1e}, {allowed:.3e}] (= -{below_tol:g}, +{rel_tol:g} x (|min L|+2m)); "
              f"relative gap {gap / scale:.2%}")
    if gap < low:
        detail += "  -- BELOW the LP optimum: the network is not 1-Lipschitz on the samples"
    return Check("neural_gap", bool(ok), gap, allowed if gap >= 0 else low, detail)



def check_potential_agreement(problem: Problem, exact_pos: np.ndarray, exact_neg: np.ndarray,
                              net_pos: np.ndarray, net_neg: np.ndarray, rms_tol: float = 0.1,
                              sign_tol: float = 0.9) -> Check:
    """The network's values on the samples against the exact potential's: RMS difference
    (relative to the spread of the exact values) and agreement of the predicted classes.

    With lam = 0 the optimal potential is only defined up to an additive constant (L is
    invariant to it), so the network is first shifted by the best constant in weighted L2.
    """
    fe = np.concatenate([exact_pos, exact_neg])
    fn = np.concatenate([net_pos, net_neg])
    w = problem.weights
    if problem.lam == 0:
        fn = fn + np.sum(w * (fe - fn)) / np.sum(w)
    rms = float(np.sqrt(np.sum(w * (fn - fe) ** 2)))
    spread = float(np.sqrt(np.sum(w * (fe - np.sum(w * fe)) ** 2))) + problem.margin
    rel = rms / spread
    agree = float(np.sum(w * (np.sign(fn) == np.sign(fe))))
    parts = [
        Check("rms", rel <= rms_tol, rel, rms_tol,
              f"RMS(f_net - f_exact) = {rms:.4g} = {rel:.3f} x (std f_exact + m) <= {rms_tol:g}"),
        Check("sign", agree >= sign_tol, agree, sign_tol,
              f"sign agreement on the samples {agree:.2%} >= {sign_tol:.0%}"),
    ]
    return combine("potential_agreement", parts)
