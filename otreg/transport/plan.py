"""The one record of a solved bounded transport problem, whichever exact solver produced it.

:class:`BoundedSolution` holds an optimal plan by its nonzero entries and optimal duals ``u``,
``v`` (``u_i + v_j <= M_ij + offset``, equality on the plan's support); see
docs/bounded_emd.md for the problem and its dual.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["BoundedSolution", "SolveStats", "SparsePlan", "bounded_dual_value"]


class SolveStats(NamedTuple):
    """Work counters of one network simplex solve."""

    arcs_priced: int  # reduced costs computed by the block search
    potential_updates: int  # node potentials shifted by the pivots
    join_steps: int  # tree steps walked to find the apex of the pivot cycles


class SparsePlan:
    """A transport plan held as its nonzero entries ``rows``, ``cols``, ``flows`` of an
    (n, m) = ``shape`` matrix (mixed into the solution records)."""

    rows: np.ndarray
    cols: np.ndarray
    flows: np.ndarray
    shape: tuple[int, int]

    def plan(self) -> np.ndarray:
        """The dense (n, m) plan (np.zeros: pages without a nonzero entry are never touched)."""
        out = np.zeros(self.shape)
        out[self.rows, self.cols] = self.flows
        return out

    @property
    def row_sums(self) -> np.ndarray:
        return np.bincount(self.rows, weights=self.flows, minlength=self.shape[0])

    @property
    def col_sums(self) -> np.ndarray:
        return np.bincount(self.cols, weights=self.flows, minlength=self.shape[1])

    @property
    def mass(self) -> float:
        return float(self.flows.sum())


@dataclass
class BoundedSolution(SparsePlan):
    """An optimal plan in coordinate form (its nonzero entries, rows sorted) with optimal duals.

    ``u_i > 0`` only if row i sits at its lower bound, ``u_i < 0`` only at its upper bound
    (``v`` alike); ``value`` is ``<pi, M + offset>``.  ``iterations`` and ``stats`` are the
    network simplex's pivots and work counters (0 and None for the other methods)."""

    rows: np.ndarray
    cols: np.ndarray
    flows: np.ndarray
    u: np.ndarray
    v: np.ndarray
    value: float
    shape: tuple[int, int]
    method: str
    iterations: int = 0
    stats: SolveStats | None = None
    offset: float = 0.0


def bounded_dual_value(u: np.ndarray, v: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray,
                       b_lo: np.ndarray, b_hi: np.ndarray) -> float:
    """The dual objective sum_i phi_i(u_i) + sum_j psi_j(v_j) of the bounded transport problem,
    phi_i(u) = a_lo_i u for u >= 0 and a_hi_i u for u < 0 (psi alike): a lower bound of the
    primal minimum for every (u, v) with u_i + v_j <= M_ij (docs/bounded_emd.md)."""
    def part(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
        neg = w < 0
        if np.any(np.isinf(hi[neg])):
            return -np.inf
        return float(lo[~neg] @ w[~neg]) + float(hi[neg] @ w[neg])
    return part(u, a_lo, a_hi) + part(v, b_lo, b_hi)
