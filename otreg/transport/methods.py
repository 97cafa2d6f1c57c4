"""The names of the exact methods (no imports: the command line reads them for its --help)."""

#: exact solvers of the bounded problem ("netsimplex" is otreg's network simplex; "pot" is
#: ot.emd on a balanced reduction twice the size; "highs" is SciPy's HiGHS on the LP)
BOUNDED_METHODS = ("netsimplex", "pot", "highs")
#: the methods of :func:`otreg.hkr_transport` and :func:`otreg.wasserstein1`: the bounded
#: solvers, "sparse" (column generation) and "auto" (the fastest that fits in memory)
METHODS = ("auto",) + BOUNDED_METHODS + ("sparse",)
