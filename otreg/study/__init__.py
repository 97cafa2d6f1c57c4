"""Studies on top of the solvers and the verification: parameter sweeps.

>>> from otreg.study import sweep
>>> table = sweep(["moons"], lams=[0, 1, 10], margins=[0.1], seeds=[0, 1], n=200,
...               out="results.csv")                                    # doctest: +SKIP

See :mod:`otreg.study.sweep`.
"""
from .sweep import (DEFAULT_RADII, KEY_COLUMNS, SweepConfig, make_configs, read_table,
                    row_key, run_one, summarize, sweep, trade_off_table)

__all__ = ["sweep", "run_one", "make_configs", "SweepConfig", "read_table", "row_key",
           "summarize", "trade_off_table", "KEY_COLUMNS", "DEFAULT_RADII"]
