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

#: names imported on first use: they need optional dependencies (scikit-learn)
_LAZY = {"HKRClassifier": "classifier"}


def __getattr__(name: str):
    """``otreg.HKRClassifier`` imports :mod:`otreg.classifier` (and scikit-learn) on first use,
    so that ``import otreg`` works without scikit-learn."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
