"""What every part of the network simplex kernel shares: the codes of arc directions, bound
states and pivot outcomes, the solver's status, and the two numba decorators of the per-pivot
helpers."""
from __future__ import annotations

from enum import IntEnum

from numba import njit

# direction of a tree node's pred arc: _UP = node -> parent
_UP = 1
_DOWN = -1
# state of a stored arc: reduced cost sign it needs to enter (flow at the lower / upper bound)
_LOWER = 1
_UPPER = -1
_TREE = 0  # also used for fixed (zero-capacity) and retired artificial arcs
# outcome of a pivot
_UNBOUNDED = -1
_BOUND_FLIP = 0
_TREE_CHANGE = 1
_ULPS64 = 64.0 * 2.220446049250313e-16  # pricing tolerance / largest |potential| (2**-46)


class Status(IntEnum):
    """How the simplex ended (only OPTIMAL yields a solution; the others raise SolverError)."""

    OPTIMAL = 0
    MAX_ITER = 1
    INFEASIBLE = 2
    UNBOUNDED = 3
    INACCURATE = 4  # the optimal basis's exact flows leave a bound by more than the tolerance


# The helpers called at each pivot run without numba's reference counting (NRT): they only
# index arrays owned by _network_simplex and return scalars, so they must never allocate an
# array or return one.  With it, each call increfs and decrefs every array of the _Arcs and
# _Tree tuples it receives, ~100 atomic operations per pivot: 20-35% slower at n = 1000.
_borrowing = njit(cache=True, _nrt=False)
# fastmath lets LLVM vectorise the pricing's min (exact: a min does not round); only for code
# that sees finite numbers (no inf constant either: "ninf" makes them poison)
_borrowing_fastmath = njit(cache=True, fastmath=True, _nrt=False)
