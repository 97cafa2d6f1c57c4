"""The cost matrix of the hKR primal and the guard on its memory.

* :func:`pairwise_distances` is the Euclidean cost matrix d_ij = |x_i - z_j|;
* :func:`check_dense_size` refuses, before allocating, dense n x m arrays above
  :func:`dense_limit_bytes` (a share of the memory actually available: MemAvailable of
  /proc/meminfo and the cgroup's memory.max, or :data:`MAX_DENSE_BYTES` when set).

The loss itself is :func:`otreg.problem.hkr_objective` and the marginal bounds of the primal
are :meth:`otreg.problem.Problem.marginal_bounds`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..data import memory
from ..errors import InputError, MemoryLimitError
from ._aot import kernel

#: Largest dense n x m float64 block (bytes) a solver may allocate, or None (the default) for
#: :data:`AVAILABLE_SHARE` of the memory available when the check runs
#: (:func:`otreg.data.memory.available_memory_bytes`).  Set
#: ``otreg.transport.objective.MAX_DENSE_BYTES = ...`` to impose a limit of your own.
MAX_DENSE_BYTES: int | None = None
#: share of the available memory one solve may take for its dense arrays (the rest: the
#: interpreter, the solver's own arrays, other programs' growth meanwhile)
AVAILABLE_SHARE = 0.75
def dense_limit_bytes() -> tuple[int, str]:
    """``(bytes, where it comes from)``: :data:`MAX_DENSE_BYTES` if set, else
    :data:`AVAILABLE_SHARE` of :func:`available_memory_bytes`."""
    if MAX_DENSE_BYTES is not None:
        return int(MAX_DENSE_BYTES), "otreg.transport.objective.MAX_DENSE_BYTES"
    return (int(AVAILABLE_SHARE * memory.available_memory_bytes()),
            f"{AVAILABLE_SHARE:.0%} of the memory available now (MemAvailable, cgroup "
            "memory.max)")


def check_dense_size(n: int, m: int, copies: float = 1,
                     what: str = "the n x m cost matrix") -> None:
    """Raise :class:`MemoryLimitError` before allocating ``copies`` dense (n, m) float64 arrays
    that would exceed :func:`dense_limit_bytes`."""
    need = 8 * n * m * copies
    limit, source = dense_limit_bytes()
    if need > limit:
        raise MemoryLimitError(
            f"n={n}, m={m}: {what} needs {need / 2**30:.1f} GiB ({copies:g} dense array(s)), "
            f"above the limit of {limit / 2**30:.1f} GiB ({source}); subsample the clouds, use "
            "method='sparse' or set otreg.transport.objective.MAX_DENSE_BYTES"
        )


@njit(cache=True, nogil=True)
def _distances_into(x, zt, out):  # pragma: no cover - compiled
    """out[i, j] = |x_i - z_j| (zt = z transposed, (d, m)); returns max_ij out[i, j].  The
    squares are summed coordinate by coordinate in order, as NumPy would, in one row buffer."""
    n, d = x.shape
    m = zt.shape[1]
    big = 0.0
    for i in range(n):
        row = out[i]
        for j in range(m):
            t = x[i, 0] - zt[0, j]
            row[j] = t * t
        for k in range(1, d):
            xk = x[i, k]
            zk = zt[k]
            for j in range(m):
                t = xk - zk[j]
                row[j] += t * t
        for j in range(m):
            row[j] = np.sqrt(row[j])
            big = max(big, row[j])
    return big


def pairwise_distances(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``x`` (n, d) and ``z`` (m, d), shape (n, m).

    Computed from coordinate differences (not the |x|^2 + |z|^2 - 2 x.z expansion), so that
    duplicate points give exactly 0 and rounding stays at the scale of the distances; one
    compiled pass, no temporary beyond the result.
    """
    check_dense_size(x.shape[0], z.shape[0], copies=1, what="the distance matrix")
    out = np.empty((x.shape[0], z.shape[0]))
    fn = kernel("distances_into") or _distances_into
    fn(np.ascontiguousarray(x, dtype=np.float64),
       np.ascontiguousarray(np.asarray(z, dtype=np.float64).T), out)
    return out


def coordinate_scale(x: np.ndarray, z: np.ndarray) -> float:
    """A power of two between half and all of the largest extent (max - min) of a coordinate
    over both clouds (1 if they are one point): dividing the points by it is exact and puts the
    distances between the data's relative resolution and 2 sqrt(d)."""
    lo = np.minimum(x.min(axis=0), z.min(axis=0))
    hi = np.maximum(x.max(axis=0), z.max(axis=0))
    half = float(np.max(hi / 2 - lo / 2))  # halves: no overflow for any finite coordinates
    if not half > 0:
        return 1.0
    return float(np.ldexp(1.0, min(int(np.frexp(half)[1]), 1023)))


def scaled_distances(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, float, float]:
    """``(D, s, max D)``: the distances in units of s = :func:`coordinate_scale` (|x_i - z_j|
    = s D_ij exactly up to the rounding of D itself), computed at any scale of the
    coordinates without overflow or underflow."""
    s = coordinate_scale(x, z)
    with np.errstate(over="ignore"):
        xs, zs = x / s, z / s
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(zs))):
        big = max(np.abs(x).max(), np.abs(z).max())
        raise InputError(f"x_pos, x_neg: coordinates up to {big:g} with an extent of only {s:g}"
                         " cannot be represented in the units of the extent; translate the "
                         "clouds towards the origin")
    check_dense_size(x.shape[0], z.shape[0], copies=1, what="the distance matrix")
    D = np.empty((x.shape[0], z.shape[0]))
    fn = kernel("distances_into") or _distances_into
    big = fn(np.ascontiguousarray(xs), np.ascontiguousarray(zs.T), D)
    return D, s, big
