"""otreg: optimal transport with hinge regularization (Serrurier et al., CVPR 2021).

Layers, data flowing one way: ``otreg.data`` -> ``otreg.transport`` (exact) / ``otreg.nn``
(neural) -> ``otreg.verify`` -> ``otreg.plot`` / ``otreg.cli``.
"""
from .errors import InputError, MemoryLimitError, OtregError, SolverError
from .transport import HKRResult, hkr_loss_values, hkr_transport, wasserstein1

__version__ = "0.1.0"
__all__ = [
    "hkr_transport", "wasserstein1", "hkr_loss_values", "HKRResult",
    "OtregError", "InputError", "SolverError", "MemoryLimitError",
]
