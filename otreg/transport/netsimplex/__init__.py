"""Exact network simplex for transport with bounded marginals (the hKR primal of
docs/mathematics.md §3, and ``bounded_emd`` for any costs).

Problem::

    min  sum_ij (M_ij + offset) pi_ij
    s.t. pi >= 0,  a_lo <= pi 1 <= a_hi,  b_lo <= pi^T 1 <= b_hi      (upper bounds may be inf)

It is solved as a min-cost flow on n positives, m negatives and one hub node h:

* arc i -> j, cost M_ij + offset, capacity inf (n*m arcs, never stored: arc k <-> (k // m,
  k % m); the offset is added on the fly, so hKR's d - 2 margin needs no copy of d);
* arc h -> i, cost 0, capacity a_hi_i - a_lo_i   (extra mass leaving positive i);
* arc j -> h, cost 0, capacity b_hi_j - b_lo_j   (extra mass reaching negative j);
* supplies: +a_lo_i at i, -b_lo_j at j, sum(b_lo) - sum(a_lo) at h.

The solver is a port of LEMON's NetworkSimplex (the algorithm inside POT's ``ot.emd``):
thread / parent / pred / succ_num / last_succ tree arrays, block-search pricing and the
strongly feasible leaving-arc rule (which makes it immune to cycling on these very degenerate
problems).  The bounded hub arcs are handled natively (states lower / upper / tree), so no split
nodes are needed.  Only tree arcs carry flow among the n*m dense arcs, so flows are stored per
tree node.  The first tree comes from a greedy feasible plan (no artificial flow; LEMON's
artificial start is kept as an option), and at the optimum the basis's flows are recomputed
exactly from the supplies, so that no rounding accumulated over the pivots is left; every
tolerance is relative to the problem's scales.

Node potentials follow LEMON's convention: the reduced cost of arc u -> v is
``c_uv + P_u - P_v``; it is >= 0 at the lower bound, <= 0 at the upper bound and 0 on the tree.

The modules, in the order a pivot uses them (docs/fast_solver.md walks through them):

* :mod:`.arcs`: arc ids, the stored arcs and their bound states;
* :mod:`.pricing`: the search for an entering arc over the dense arcs;
* :mod:`.tree`: the spanning tree and the pivot (cycle, leaving arc, tree and potential update);
* :mod:`.start`: scales, tolerances and the first tree (greedy or artificial);
* :mod:`.driver`: the pivot loop shared by the dense and the restricted solver, and the dense
  kernel (compiled ahead of time at install, :mod:`otreg.transport._aot`);
* :mod:`.solver`: :func:`network_simplex`, the Python entry of the dense solver;
* :mod:`.restricted`: :class:`SparseNetwork`, the same simplex on an explicit, growing arc list
  (column generation, :mod:`otreg.transport.sparse`).
"""
from ._common import Status
from .restricted import SparseNetwork
from .solver import INITS, network_simplex

__all__ = ["INITS", "SparseNetwork", "Status", "network_simplex"]
