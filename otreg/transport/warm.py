"""Load or compile every numba kernel of otreg.transport once, so that no user call waits for
the just-in-time compiler.

The install compiles the dense kernels ahead of time with ``numba.pycc`` (setup.py,
:mod:`otreg.transport._aot`).  Where that cannot run (``numba.pycc`` is deprecated and may be
missing from a numba release, or there is no C compiler), the install goes on without the
extension module and the kernels are compiled by numba on first use, into numba's on-disk cache
(``cache=True``: beside the sources, or in the user's cache folder when those are read-only).
``python -m otreg.transport.warm`` fills that cache at install time (the Makefile runs it after
``pip install``): it solves tiny problems through every solver path, so each kernel is compiled
(or, once cached, loaded) once.  With the extension module present it only compiles the
kernels that are never compiled ahead of time (column generation and its pricing).
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ._aot import compiled_module

__all__ = ["warm"]


def warm() -> list[str]:
    """Run every kernel once on a tiny problem; returns the paths exercised."""
    from ..problem import Problem
    from .bounded import solve_bounded
    from .solve import hkr_transport
    from .sparse import solve_sparse

    rng = np.random.default_rng(0)
    x, z = rng.normal(size=(12, 2)), rng.normal(size=(9, 2)) + 1.0
    res = hkr_transport(x, z, method="netsimplex")  # distances, simplex, c-transform
    res.potential(np.zeros((2, 2)))  # the extension
    solve_bounded(np.full(3, 1 / 3), np.full(3, 0.5), np.full(2, 0.5), np.full(2, 0.6),
                  rng.normal(size=(3, 2)), init="artificial")
    solve_sparse(Problem(x, z))  # restricted simplex and the pricing passes
    return ["dense (ahead of time)" if compiled_module() is not None else "dense (numba JIT)",
            "extension", "column generation"]


def main() -> int:
    t = time.perf_counter()
    done = warm()
    print(f"otreg: kernels ready ({', '.join(done)}) in {time.perf_counter() - t:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
