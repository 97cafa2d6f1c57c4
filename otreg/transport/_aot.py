"""The kernels compiled ahead of time (at install), so that the first call of a fresh install
does not wait for numba's just-in-time compiler (6.4 s for the network simplex alone; see
docs/fast_solver.md).

``pip install`` builds the extension module ``otreg.transport._compiled`` from the numba
kernels of the files in :data:`SOURCES` (setup.py, :mod:`otreg.transport._aot_build`).  It
records a hash of those files; at run time :func:`kernel` hands out a compiled function only if
the files still hash the same, so an edited source (a development checkout) falls back to the
numba-compiled function of the edited code instead of running stale machine code.  The
environment variable ``OTREG_JIT=1`` forces the fall-back.
"""
from __future__ import annotations

import hashlib
import importlib
import os
from functools import lru_cache
from types import ModuleType
from typing import Callable

#: the files whose compiled code the extension module holds (paths relative to this folder):
#: the one list of the kernels' sources, read by setup.py (through _aot_build.py) and by the
#: Makefile (``python otreg/transport/_aot.py`` prints it), which reinstalls when they change
SOURCES = ("netsimplex/_common.py", "netsimplex/arcs.py", "netsimplex/pricing.py",
           "netsimplex/tree.py", "netsimplex/start.py", "netsimplex/driver.py", "objective.py",
           "extension.py", "_aot_build.py")
HERE = os.path.dirname(os.path.abspath(__file__))


def source_hash() -> int:
    """A 60-bit hash of :data:`SOURCES` (what the build baked into the module)."""
    h = hashlib.sha256()
    for name in SOURCES:
        with open(os.path.join(HERE, name), "rb") as fh:
            h.update(fh.read())
    return int(h.hexdigest()[:15], 16)


@lru_cache(maxsize=1)
def compiled_module() -> ModuleType | None:
    """The extension module if it is built and current, else None."""
    if os.environ.get("OTREG_JIT", "") not in ("", "0"):
        return None
    try:  # through sys.modules (not the package's attribute), so that a test can hide it
        _compiled = importlib.import_module(f"{__package__}._compiled")
    except ImportError:
        return None
    try:
        current = _compiled.source_hash() == source_hash()
    except (AttributeError, OSError):
        return None
    return _compiled if current else None


def kernel(name: str) -> Callable | None:
    """The ahead-of-time compiled function ``name``, or None (use the numba one)."""
    mod = compiled_module()
    return None if mod is None else getattr(mod, name)


if __name__ == "__main__":  # the Makefile's list of the kernels' sources
    print(" ".join(os.path.join("otreg", "transport", name) for name in SOURCES))
