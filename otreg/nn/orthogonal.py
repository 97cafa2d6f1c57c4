"""Orthogonal parametrisations of a dense layer's weight: Cayley transform and matrix exponential.

Both map an unconstrained square matrix ``M`` (``N x N``, ``N = max(n_in, n_out)``) to an
orthogonal matrix through the skew-symmetric ``A = M - M^T``:

* Cayley:  ``Q = (I - A)(I + A)^{-1} = 2 (I + A)^{-1} - I``  (``I + A`` is invertible for every
  skew ``A``: its singular values are ``sqrt(1 + s^2) >= 1``);
* exponential:  ``Q = expm(A)``.

A rectangular ``(n_in, n_out)`` weight is the leading block of ``Q``: ``n_in`` rows of an
orthogonal matrix are orthonormal (or ``n_out`` columns), so the layer's spectral norm is 1 at
every training step, with no iteration.  Each map is one fused autodiff op; the derivations of
the backward passes are in ``docs/neural.md`` ("Orthogonal parametrisations").
"""
from __future__ import annotations

import numpy as np

from .tensor import Tensor

__all__ = ["cayley", "skew_expm", "skew_expm_numpy", "cayley_numpy", "random_skew_param",
           "PARAMETRIZATIONS"]

#: the parametrisations of :class:`otreg.nn.LipschitzDense` (``bjorck`` is in layers.py)
PARAMETRIZATIONS = ("bjorck", "cayley", "exp")


def random_skew_param(size: int, rng: np.random.Generator, norm: float = 1.5) -> np.ndarray:
    """A random ``M`` whose skew part ``A = M - M^T`` has spectral norm about ``norm``.

    A Gaussian skew matrix with entry variance s^2 has spectral norm ~ 2 s sqrt(N); the
    rotation angles of ``expm(A)`` are then spread over about +-``norm`` radians (Cayley:
    +-2 atan(``norm``)), a random orthogonal start away from the maps' singular regions.
    """
    s = norm / (2.0 * np.sqrt(size)) / np.sqrt(2.0)  # A_ij = M_ij - M_ji has variance 2 s^2
    return s * rng.standard_normal((size, size))


def cayley_numpy(m: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_in, n_out)`` block of the Cayley transform of ``A = m - m^T`` (plain NumPy)."""
    a = m - m.T
    inv = np.linalg.inv(np.eye(a.shape[0]) + a)
    return 2.0 * inv[:n_in, :n_out] - np.eye(a.shape[0])[:n_in, :n_out]


def cayley(m: Tensor, n_in: int, n_out: int) -> Tensor:
    """Leading ``(n_in, n_out)`` block of ``Q = (I - A)(I + A)^{-1}``, ``A = M - M^T``.

    With ``B = (I + A)^{-1}``: ``Q = 2 B - I``, ``dQ = -2 B dA B``, so the gradient at ``A`` is
    ``-2 B^T G B^T`` (``G`` the gradient at ``Q``, zero outside the block) and at ``M`` its
    skew part ``G_A - G_A^T``.
    """
    a = m.data - m.data.T
    size = a.shape[0]
    inv = np.linalg.inv(np.eye(size) + a)
    out = 2.0 * inv[:n_in, :n_out] - np.eye(size)[:n_in, :n_out]

    def backward(g):
        # -2 B^T G_full B^T, with G_full zero outside the block: only B's needed rows/columns
        g_a = -2.0 * inv[:n_in].T @ g @ inv[:, :n_out].T
        return (g_a - g_a.T,)

    return Tensor._make(out, (m,), backward, "cayley")


def _skew_eigh(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``A = U diag(i lam) U^H`` for a real skew ``A``: ``-i A`` is Hermitian, so ``eigh``
    gives real ``lam`` and a unitary ``U`` even for repeated eigenvalues."""
    return np.linalg.eigh(-1j * a)


def skew_expm_numpy(m: np.ndarray, n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_in, n_out)`` block of ``expm(m - m^T)`` (plain NumPy)."""
    lam, u = _skew_eigh(m - m.T)
    return ((u[:n_in] * np.exp(1j * lam)) @ u[:n_out].conj().T).real


def skew_expm(m: Tensor, n_in: int, n_out: int) -> Tensor:
    """Leading ``(n_in, n_out)`` block of ``expm(A)``, ``A = M - M^T``, through the unitary
    eigendecomposition of the skew (normal) matrix ``A = U diag(i lam) U^H``.

    The Fréchet derivative of expm at a normal matrix is
    ``L(A, E) = U (F o (U^H E U)) U^H`` with the divided differences
    ``F_jk = (e^{i lam_j} - e^{i lam_k}) / (i (lam_j - lam_k))``
    ``= e^{i (lam_j + lam_k) / 2} sinc((lam_j - lam_k) / 2)`` (stable for close eigenvalues,
    ``F_jj = e^{i lam_j}``); its adjoint (the backward pass) is
    ``G -> Re U (conj(F) o (U^H G U)) U^H``, equal to scipy's ``expm_frechet(A^T, G)``
    (tested).
    """
    a = m.data - m.data.T
    lam, u = _skew_eigh(a)
    e = np.exp(1j * lam)
    out = ((u[:n_in] * e) @ u[:n_out].conj().T).real

    def backward(g):
        y = u[:n_in].conj().T @ g @ u[:n_out]          # U^H G_full U
        diff = lam[:, None] - lam[None, :]
        f_conj = np.exp(-0.5j * (lam[:, None] + lam[None, :])) * np.sinc(diff / (2 * np.pi))
        g_a = (u @ (f_conj * y) @ u.conj().T).real
        return (g_a - g_a.T,)

    return Tensor._make(out, (m,), backward, "skew_expm")
