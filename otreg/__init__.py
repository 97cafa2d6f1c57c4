"""otreg: optimal transport with hinge regularization (Serrurier et al., CVPR 2021).

Layers, data flowing one way: ``otreg.data`` (input checks, toys, files) -> ``otreg.problem``
(the validated :class:`Problem`) -> ``otreg.transport`` (exact) / ``otreg.nn`` (neural) ->
``otreg.verify`` (the paper's properties) and ``otreg.metrics`` -> ``otreg.study`` (sweeps) ->
``otreg.plot`` / ``otreg.cli``.
"""
from .errors import InputError, MemoryLimitError, OtregError, SolverError, TrainingError
from .problem import Problem
from .transport import HKRResult, bounded_emd, bounded_emd2, hkr_transport, wasserstein1

__version__ = "0.1.0"
__all__ = [
    "Problem", "hkr_transport", "wasserstein1", "HKRResult", "bounded_emd", "bounded_emd2",
    "OtregError", "InputError", "SolverError", "MemoryLimitError", "TrainingError",
]
