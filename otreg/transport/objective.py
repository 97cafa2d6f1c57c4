"""The hKR objective and the marginal bounds of the primal, on sample values.

Pure NumPy evaluations used by every solver and by the verification layer:

* :func:`hkr_loss_values` is the empirical loss L of spec section 1 for a potential given by its
  values on the samples;
* :func:`marginal_bounds` gives the bounds of spec section 3 on the rows and columns of a plan;
* :func:`pairwise_distances` is the Euclidean cost matrix d_ij = |x_i - z_j|.
"""
from __future__ import annotations

import numpy as np

from ..errors import MemoryLimitError

#: Largest dense n x m float64 block (bytes) a solver may allocate; about a third of the machine
#: memory leaves room for the solver's own copies.  Override with ``otreg.transport.objective.
#: MAX_DENSE_BYTES = ...`` if your machine is larger.
MAX_DENSE_BYTES = 8 * 2**30


def check_dense_size(n: int, m: int, copies: int = 1, what: str = "the n x m cost matrix") -> None:
    """Raise :class:`MemoryLimitError` before allocating ``copies`` dense (n, m) float64 arrays
    that would exceed :data:`MAX_DENSE_BYTES`."""
    need = 8 * n * m * copies
    if need > MAX_DENSE_BYTES:
        raise MemoryLimitError(
            f"n={n}, m={m}: {what} needs {need / 2**30:.1f} GiB ({copies} dense array(s)), above "
            f"the limit of {MAX_DENSE_BYTES / 2**30:.1f} GiB (otreg.transport.objective."
            "MAX_DENSE_BYTES); subsample the clouds or raise the limit"
        )


def pairwise_distances(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``x`` (n, d) and ``z`` (m, d), shape (n, m).

    Computed from coordinate differences (not the |x|^2 + |z|^2 - 2 x.z expansion), so that
    duplicate points give exactly 0 and rounding stays at the scale of the distances.
    """
    check_dense_size(x.shape[0], z.shape[0], copies=2, what="the distance matrix")
    out = np.zeros((x.shape[0], z.shape[0]))
    for k in range(x.shape[1]):
        diff = np.subtract.outer(x[:, k], z[:, k])
        out += diff * diff
    return np.sqrt(out, out=out)


def marginal_bounds(a, b, p: float, lam: float):
    """Lower and upper bounds of the plan's row and column sums (spec section 3).

    Returns ``(a_lo, a_hi, b_lo, b_hi)`` = ``(a, (1 + lam p) a, b, (1 + lam (1 - p)) b)``.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return a, (1.0 + lam * p) * a, b, (1.0 + lam * (1.0 - p)) * b


def hkr_loss_values(f_pos, f_neg, a, b, p: float, lam: float, margin: float) -> float:
    """The empirical hKR loss L (spec section 1) of a potential with values ``f_pos`` on the
    positives and ``f_neg`` on the negatives::

        L = sum_j b_j f(z_j) - sum_i a_i f(x_i)
            + lam * (p sum_i a_i (margin - f(x_i))_+ + (1 - p) sum_j b_j (margin + f(z_j))_+)

    ``a`` and ``b`` are the class weights, each summing to 1.
    """
    f_pos = np.asarray(f_pos, dtype=np.float64)
    f_neg = np.asarray(f_neg, dtype=np.float64)
    kr = float(np.dot(b, f_neg) - np.dot(a, f_pos))
    hinge = p * float(np.dot(a, np.maximum(margin - f_pos, 0.0))) + (1.0 - p) * float(
        np.dot(b, np.maximum(margin + f_neg, 0.0))
    )
    return kr + lam * hinge
