"""Central finite-difference gradient checks for the autodiff tests."""
import numpy as np

from otreg.nn import Tensor


def numeric_grads(fn, arrays, h=1e-6):
    """Central differences of the scalar ``fn(*arrays)`` (plain ndarrays in, float out)."""
    grads = []
    for k, arr in enumerate(arrays):
        g = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[k][idx] += h
            minus[k][idx] -= h
            g[idx] = (fn(*plus) - fn(*minus)) / (2 * h)
        grads.append(g)
    return grads


def check_grads(fn, *arrays, rtol=1e-6, atol=1e-7, project=None):
    """Compare autodiff and finite-difference gradients of ``sum(fn(*tensors) * R)``.

    ``R`` is a fixed random array so that every output entry matters (not just the sum).
    """
    rng = np.random.default_rng(1234)
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    weights = rng.standard_normal(out.shape)
    (out * weights).sum().backward()

    def scalar(*arrs):
        return float(np.sum(fn(*[Tensor(a) for a in arrs]).data * weights))

    num = numeric_grads(scalar, [np.array(a, dtype=float) for a in arrays])
    for t, g in zip(tensors, num):
        assert t.grad is not None, "no gradient reached an input"
        assert t.grad.shape == t.data.shape
        np.testing.assert_allclose(t.grad, g, rtol=rtol, atol=atol)
    return tensors


def pair_ratios(fn, dim, n=4000, seed=0):
    """|fn(u) - fn(v)| / |u - v| on random pairs at scales 1e-6 .. 3."""
    r = np.random.default_rng(seed)
    u = 2 * r.standard_normal((n, dim))
    v = u + r.standard_normal((n, dim)) * r.choice([1e-6, 1e-3, 0.1, 3.0], (n, 1))
    return np.linalg.norm(np.atleast_2d(fn(u) - fn(v)).reshape(n, -1), axis=1) / \
        np.linalg.norm(u - v, axis=1)
