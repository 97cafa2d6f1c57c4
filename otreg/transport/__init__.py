"""Exact solvers of the hKR optimal-transport problem (docs/mathematics.md §2-§6).

The one way into the bounded-marginal solvers is :func:`solve_bounded` (POT's argument order,
``M`` the cost matrix), returning one record, :class:`BoundedSolution`; :func:`bounded_emd` and
:func:`bounded_emd2` are its POT-style faces and :func:`hkr_transport` / :func:`wasserstein1`
build on it.

The names below are imported on first use (numba, SciPy and POT load only then), so that the
command line's ``--help`` and the method names stay quick to import.
"""
from __future__ import annotations

import importlib

from .methods import BOUNDED_METHODS, METHODS

#: public name -> the submodule defining it
_LAZY = {
    "bounded_emd": "bounded", "bounded_emd2": "bounded", "solve_bounded": "bounded",
    "ExtensionPotential": "extension", "extend_with_grad": "extension",
    "c_transform_clean": "extension", "pairwise_distances": "objective",
    "BoundedSolution": "plan", "HKRResult": "solve", "hkr_transport": "solve",
    "optimal_shift": "solve", "wasserstein1": "solve",
}

__all__ = ["METHODS", "BOUNDED_METHODS", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
