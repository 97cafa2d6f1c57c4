"""Imported once by the process-pool server of :func:`otreg.study.sweep` (multiprocessing
"forkserver" preload): the heavy imports and the compiled solver are loaded there a single time,
and every worker forked from it starts warm instead of paying them again.  The server also asks
to be killed with the sweeping process, so that a ``kill -9`` of the sweep leaves no orphan."""
import numpy as np

from ..transport import hkr_transport
from . import grid  # noqa: F401 - imports data, nn, transport and verify once, here
from .signals import _die_with_parent

_die_with_parent()

try:  # load the numba-compiled network simplex from its cache
    _x = np.array([[0.0, 0.0], [1.0, 0.0]])
    hkr_transport(_x, _x + 3.0)
except Exception:  # pragma: no cover - warm-up only
    pass
