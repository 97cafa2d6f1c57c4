"""The names of the exact methods (no imports: the command line reads them for its --help)."""

#: exact solvers of the bounded problem ("netsimplex" is otreg's network simplex; "pot" is
#: ot.emd on a balanced reduction twice the size; "highs" is SciPy's HiGHS on the LP)
BOUNDED_METHODS = ("netsimplex", "pot", "highs")
#: the methods of :func:`otreg.hkr_transport` and :func:`otreg.wasserstein1`: the bounded
#: solvers, "sparse" (column generation) and "auto" (the fastest that fits in memory)
METHODS = ("auto",) + BOUNDED_METHODS + ("sparse",)

#: the largest lam each method answers and certifies (measured on toys with uniform weights and
#: weights spanning six orders of magnitude, margins from 1e-3 to 1e6 diameters: tests/
#: test_params_range.py); "auto" tries "netsimplex" first. The lam of every method is also
#: bounded by otreg.data.validate.LAM_MAX.
LAM_MAX_BY_METHOD = {"auto": 1e6, "netsimplex": 1e6, "pot": 1e5, "highs": 1e4, "sparse": 1e4}
