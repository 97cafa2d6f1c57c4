"""Studies on top of the solvers and the verification: parameter sweeps and λ paths.

>>> from otreg.study import sweep
>>> table = sweep(["moons"], lams=[0, 1, 10], margins=[0.1], seeds=[0, 1], n=200,
...               out="results.csv")                                    # doctest: +SKIP

See :mod:`otreg.study.sweep` and :mod:`otreg.study.path`.
"""
from .path import DEFAULT_PATH_LAMS, exact_columns, lam_path
from .sweep import (KEY_COLUMNS, SweepConfig, dedupe_rows, make_configs, order_columns, read_table, row_key,
                    run_one, summarize, sweep, trade_off_table)

__all__ = ["sweep", "run_one", "make_configs", "SweepConfig", "read_table", "row_key",
           "summarize", "trade_off_table", "dedupe_rows", "order_columns", "KEY_COLUMNS", "lam_path",
           "exact_columns", "DEFAULT_PATH_LAMS"]
