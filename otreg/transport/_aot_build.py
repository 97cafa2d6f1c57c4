"""Build-time only: the exported signatures of the ahead-of-time compiled kernels (numba.pycc),
used by setup.py.  See :mod:`otreg.transport._aot`."""
from __future__ import annotations

import numpy as np
from numba.pycc import CC

from . import extension, objective
from ._aot import source_hash
from .netsimplex import driver

_HASH = source_hash()  # a compile-time constant of the module below

cc = CC("_compiled")
cc.verbose = False


@cc.export("source_hash", "i8()")
def _source_hash():
    return _HASH


# the arguments after the bounds are the fields of netsimplex.driver._Options, in order
@cc.export("network_simplex", "Tuple((i8, i8, i8[:], f8[:], f8[:], i8[:]))(f8[::1], f8, f8[::1], "
           "f8[::1], f8[::1], f8[::1], i8, i8, b1, i8, f8, i8, i8)")
def _network_simplex(M, offset, a_lo, a_hi, b_lo, b_hi, max_iter, refresh_every, greedy,
                     hub_block, block_factor, candidates, hot_rows):
    opts = driver._Options(max_iter, refresh_every, greedy, hub_block, block_factor, candidates,
                           hot_rows)
    status, it, pred, flow, P, stats = driver._network_simplex(M, offset, a_lo, a_hi, b_lo, b_hi,
                                                               opts)
    return np.int64(status), it, pred, flow, P, stats


@cc.export("distances_into", "f8(f8[:, ::1], f8[:, ::1], f8[:, ::1])")
def _distances_into(x, zt, out):
    return objective._distances_into(x, zt, out)


@cc.export("c_transform", "Tuple((f8[:], f8[:]))(f8[::1], f8[:, ::1])")
def _c_transform(f_neg, M):
    return extension._c_transform_kernel(f_neg, M)


@cc.export("extension", "Tuple((f8[:], f8[:, :]))(f8[:, ::1], f8[:, ::1], f8[::1], i8)")
def _extension(points, samples, values, kind):
    return extension._extension_kernel(points, samples, values, kind)
