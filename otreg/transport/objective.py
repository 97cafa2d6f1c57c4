"""The cost matrix of the hKR primal and the guard on its memory.

* :func:`pairwise_distances` is the Euclidean cost matrix d_ij = |x_i - z_j|;
* :func:`check_dense_size` refuses, before allocating, dense n x m arrays above
  :data:`MAX_DENSE_BYTES`.

The loss itself is :func:`otreg.problem.hkr_objective` and the marginal bounds of the primal
are :meth:`otreg.problem.Problem.marginal_bounds`.
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
