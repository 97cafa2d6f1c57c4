"""Björck–Bowie orthonormalisation as autodiff ops (cold, spectrally scaled, warm-started) and
in plain NumPy: the weight map of :class:`otreg.nn.dense.LipschitzDense`."""
from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["bjorck", "spectral_bjorck", "warm_bjorck", "bjorck_numpy", "COLD_BJORCK_ITERS",
           "WARM_LIMIT"]

_EYE15: dict = {}


def _eye15(k: int) -> np.ndarray:
    """1.5 I_k (cached, read-only)."""
    out = _EYE15.get(k)
    if out is None:
        out = _EYE15[k] = 1.5 * np.eye(k)
        out.flags.writeable = False
    return out


def _bjorck_forward(a: np.ndarray, iters: int):
    flip = a.shape[0] > a.shape[1]
    cur = a.T if flip else a
    eye15 = _eye15(cur.shape[0])
    saved = []
    for _ in range(int(iters)):
        mult = eye15 - 0.5 * (cur @ cur.T)  # 1.5 I - 0.5 W W^T, symmetric
        saved.append((cur, mult))
        cur = mult @ cur
    return np.ascontiguousarray(cur.T if flip else cur), (flip, saved)


def _bjorck_backward(g: np.ndarray, cache: tuple) -> np.ndarray:
    # adjoint of W' = M W with M = 1.5 I - 0.5 W W^T:  B <- M B - 0.5 (S + S^T) W,  S = B W^T
    flip, saved = cache
    bmat = g.T if flip else g
    for cur_k, mult_k in reversed(saved):
        s = bmat @ cur_k.T
        s += s.T
        s *= -0.5
        bmat = mult_k @ bmat + s @ cur_k
    return bmat.T if flip else bmat


def bjorck(w: Tensor, iters: int = 15) -> Tensor:
    """Björck–Bowie orthonormalisation, ``iters`` steps of ``W <- 1.5 W - 0.5 (W W^T) W``.

    For a matrix with singular values in (0, sqrt(3)) the iteration converges to the nearest
    matrix with orthonormal rows (or columns), i.e. all singular values -> 1; a value s <= 1
    stays <= 1 at every step.  The product is computed through the smaller Gram matrix.
    One fused op: the backward pass runs the adjoint of each step in reverse,
    ``B <- 1.5 B - 0.5 ((B W^T + W B^T) W + (W W^T) B)``.
    """
    out, cache = _bjorck_forward(w.data, iters)
    return Tensor._make(out, (w,), lambda g: (_bjorck_backward(g, cache),), "bjorck")


def spectral_bjorck(w: Tensor, u: np.ndarray, v: np.ndarray, iters: int = 15) -> Tensor:
    """``bjorck(w / sigma)`` with ``sigma = u^T w v`` (``u``, ``v`` constants), as one op.

    Same value and gradient as ``bjorck(w / (w * outer(u, v)).sum(), iters)`` written with
    separate ops (tested); fusing saves graph nodes and temporaries on every training step.
    The backward pass: with ``B0`` the gradient at ``W0 = w / sigma``,
    ``grad_w = B0 / sigma - (sum(B0 * W0) / sigma) u v^T``.
    """
    a = w.data
    sigma = float(u @ a @ v)
    w0 = a / sigma
    out, cache = _bjorck_forward(w0, iters)

    def backward(g):
        b0 = _bjorck_backward(g, cache)
        return (b0 / sigma - (np.vdot(b0, w0) / sigma) * np.outer(u, v),)

    return Tensor._make(out, (w,), backward, "spectral_bjorck")


#: Björck iterations of the cold start (spectral scaling first), used by a warm-started layer
#: whose raw weight has drifted too far from orthonormal for a few iterations
COLD_BJORCK_ITERS = 15
#: a warm start is used while ||W W^T - I||_F (smaller Gram) stays below this: the singular
#: values are then in (0.7, 1.23) and 2 iterations bring them to 1 - O(1e-2) or better
WARM_LIMIT = 0.5


def warm_bjorck(w: Tensor, iters: int = 2) -> Tensor | None:
    """``bjorck(w, iters)`` without spectral scaling, for a ``w`` already near orthonormal;
    None when ``w`` is too far from it (``||W W^T - I||_F >= WARM_LIMIT``).

    Near an orthonormal matrix one Björck step's Jacobian is the projection onto the tangent
    space of the orthonormal matrices (``dW -> W skew(W^T dW)``), so differentiating through
    one or two steps gives the Riemannian gradient; and a step maps every singular value
    s in [0, 2] to ``s (1.5 - 0.5 s^2) <= 1``: the training-time weight is never above norm 1.
    """
    out, cache = _bjorck_forward(w.data, iters)
    first_mult = cache[1][0][1]  # 1.5 I - 0.5 G of the first step:  G - I = 2 (I - M)
    dev = 2.0 * np.linalg.norm(_eye15(first_mult.shape[0]) * (2.0 / 3.0) - first_mult)
    if not dev < WARM_LIMIT:
        return None
    return Tensor._make(out, (w,), lambda g: (_bjorck_backward(g, cache),), "bjorck")


def bjorck_numpy(a: np.ndarray, iters: int = 15, tol: float | None = None,
                 max_iters: int = 1000) -> np.ndarray:
    """Björck in plain NumPy; with ``tol``, iterate past ``iters`` until max|W W^T - I| < tol."""
    flip = a.shape[0] > a.shape[1]
    cur = a.T if flip else a
    eye = np.eye(cur.shape[0])
    for k in range(max_iters):
        gram = cur @ cur.T
        if k >= iters and (tol is None or np.max(np.abs(gram - eye)) < tol):
            break
        cur = (1.5 * eye - 0.5 * gram) @ cur
    return np.ascontiguousarray(cur.T if flip else cur)
