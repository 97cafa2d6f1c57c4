"""Studies on top of the solvers and the verification: parameter sweeps and λ paths.

>>> from otreg.study import sweep
>>> table = sweep(["moons"], lams=[0, 1, 10], margins=[0.1], seeds=[0, 1], n=200,
...               out="results.csv")                                    # doctest: +SKIP

A sweep is split by job: :mod:`.grid` (the combinations and one run), :mod:`.runner`
(:func:`sweep`: resume, journal, progress), :mod:`.tables` (table files, their journal and
lock), :mod:`.backends` (this process, local processes, Dask), :mod:`.signals` (Ctrl-C, dying
workers) and :mod:`.summary` (means over seeds, the trade-off table); :mod:`.path` solves one
problem along a path of λ.
"""
from .grid import KEY_COLUMNS, SweepConfig, make_configs, run_one
from .path import DEFAULT_PATH_LAMS, exact_columns, lam_path
from .runner import sweep
from .summary import summarize, trade_off_table
from .tables import dedupe_rows, order_columns, read_table, row_key

__all__ = ["sweep", "run_one", "make_configs", "SweepConfig", "read_table", "row_key",
           "summarize", "trade_off_table", "dedupe_rows", "order_columns", "KEY_COLUMNS",
           "lam_path", "exact_columns", "DEFAULT_PATH_LAMS"]
