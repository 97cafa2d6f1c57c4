"""otreg: optimal transport with hinge regularization (Serrurier et al., CVPR 2021).

Layers, data flowing one way: ``otreg.data`` (input checks, toys, files) -> ``otreg.problem``
(the validated :class:`Problem`) -> ``otreg.transport`` (exact) / ``otreg.nn`` (neural) ->
``otreg.verify`` (the paper's properties) and ``otreg.metrics`` -> ``otreg.study`` (sweeps) ->
``otreg.plot`` / ``otreg.cli``.

The names below are imported on first use, so that ``import otreg`` (and ``otreg --help``)
does not load numba, SciPy or scikit-learn before they are needed.
"""
from __future__ import annotations

import importlib

from .errors import (InputError, MemoryLimitError, NumericalError, OtregError, SolverError,
                     TrainingError)

__version__ = "0.1.0"

#: public name -> the module defining it (imported on first use; "classifier" needs the
#: optional scikit-learn)
_LAZY = {
    "Problem": "problem", "hkr_transport": "transport", "wasserstein1": "transport",
    "HKRResult": "transport", "bounded_emd": "transport", "bounded_emd2": "transport",
    "HKRClassifier": "classifier",
}
#: the subpackages and modules reachable as attributes after ``import otreg``
_SUBMODULES = ("classifier", "cli", "data", "demo", "errors", "experiments", "metrics", "nn",
               "plot", "potential", "problem", "study", "transport", "verify")

__all__ = [
    "Problem", "hkr_transport", "wasserstein1", "HKRResult", "bounded_emd", "bounded_emd2",
    "OtregError", "InputError", "SolverError", "MemoryLimitError", "TrainingError",
    "NumericalError",
]


def __getattr__(name: str):
    """``otreg.<name>`` imports the module that defines it on first use."""
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
