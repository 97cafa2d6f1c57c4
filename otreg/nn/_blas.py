"""Best-effort control of the BLAS thread count (OpenBLAS as shipped with NumPy).

The matrices of a small network (64 x 64, batches of 256) are far too small for a
multi-threaded BLAS: on a loaded 2-core machine threading made a training step 5-7x slower.
:func:`blas_threads` limits OpenBLAS to ``n`` threads inside a ``with`` block, via ctypes on
the library NumPy already loaded; if it cannot be found, it does nothing.
"""
from __future__ import annotations

import contextlib
import ctypes
import re

import numpy  # noqa: F401  (loads the BLAS searched for below)

_LIB = None
_SEARCHED = False
_NAMES = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
          ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
          ("openblas_set_num_threads", "openblas_get_num_threads"))


def _find():
    global _LIB, _SEARCHED
    if _SEARCHED:
        return _LIB
    _SEARCHED = True
    try:  # the BLAS NumPy loaded, as mapped into this process
        with open("/proc/self/maps") as fh:
            paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", fh.read())))
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                _LIB = (setter, getter)
                return _LIB
    return None


@contextlib.contextmanager
def blas_threads(n: int = 1):
    """Limit the BLAS to ``n`` threads inside the block (no-op if not possible)."""
    lib = _find()
    if lib is None:
        yield
        return
    setter, getter = lib
    old = getter()
    setter(int(n))
    try:
        yield
    finally:
        setter(old)
