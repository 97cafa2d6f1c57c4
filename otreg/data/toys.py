"""Toy 2-D distributions with seeds and sizes, for demos, tests and benchmarks.

Every generator has the signature ``gen(n_pos=500, n_neg=None, seed=0, **shape_params)`` and
returns ``(x_pos, x_neg)`` of shapes (n_pos, 2) and (n_neg, 2) (``n_neg`` defaults to ``n_pos``;
pass a different value for unbalanced classes).  Same seed, same points.  The clouds live in a
box of a few units, so the default margin 0.1 is a small fraction of the class separation.

Use :data:`TOYS` / :func:`list_toys` to enumerate them, :func:`make_toy` to build one by name and
:func:`load_data` to resolve either a toy name or a data file.
"""
from __future__ import annotations

import inspect
import os

import numpy as np

from ..errors import InputError
from .io import DEFAULT_LABEL_COLUMN, LabelColumn, load_dataset
from .memory import check_allocation
from .validate import as_int, as_number


def _sizes(n_pos: int, n_neg: int | None) -> tuple[int, int]:
    n_pos = as_int(n_pos, "n_pos", low=1)
    n_neg = n_pos if n_neg is None else as_int(n_neg, "n_neg", low=1)
    return n_pos, n_neg


def two_moons(n_pos: int = 500, n_neg: int | None = None, noise: float = 0.1, seed: int = 0):
    """Two interleaved half circles (positives: upper moon, negatives: lower moon).

    Returns ``(x_pos, x_neg)`` of shapes (n_pos, 2) and (n_neg, 2); same seed, same points.
    """
    n_pos, n_neg = _sizes(n_pos, n_neg)
    noise = as_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    t_pos = rng.uniform(0.0, np.pi, n_pos)
    t_neg = rng.uniform(0.0, np.pi, n_neg)
    x_pos = np.column_stack([np.cos(t_pos), np.sin(t_pos)])
    x_neg = np.column_stack([1.0 - np.cos(t_neg), 0.5 - np.sin(t_neg)])
    x_pos += noise * rng.standard_normal(x_pos.shape)
    x_neg += noise * rng.standard_normal(x_neg.shape)
    return x_pos, x_neg


def circles(n_pos: int = 500, n_neg: int | None = None, r_pos: float = 0.5, r_neg: float = 1.0,
            noise: float = 0.08, seed: int = 0):
    """Concentric circles: positives on the circle of radius ``r_pos``, negatives on ``r_neg``."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    r_pos = as_number(r_pos, "r_pos", low=0.0)
    r_neg = as_number(r_neg, "r_neg", low=0.0)
    noise = as_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    t_pos = rng.uniform(0.0, 2 * np.pi, n_pos)
    t_neg = rng.uniform(0.0, 2 * np.pi, n_neg)
    x_pos = r_pos * np.column_stack([np.cos(t_pos), np.sin(t_pos)])
    x_neg = r_neg * np.column_stack([np.cos(t_neg), np.sin(t_neg)])
    x_pos += noise * rng.standard_normal(x_pos.shape)
    x_neg += noise * rng.standard_normal(x_neg.shape)
    return x_pos, x_neg


def gaussians(n_pos: int = 500, n_neg: int | None = None, separation: float = 2.0,
              std: float = 0.5, anisotropy: float = 1.0, angle: float = 0.0, seed: int = 0):
    """Two Gaussian blobs with means (±separation/2, 0) and a common covariance.

    The covariance has standard deviations ``std`` (along x) and ``std * anisotropy`` (along y),
    rotated by ``angle`` radians.  Overlap grows as ``separation / std`` shrinks (0 = same law).
    """
    n_pos, n_neg = _sizes(n_pos, n_neg)
    separation = as_number(separation, "separation", low=0.0)
    std = as_number(std, "std", low=0.0)
    anisotropy = as_number(anisotropy, "anisotropy", low=0.0)
    try:
        angle = float(angle)
    except (TypeError, ValueError):
        raise InputError(f"angle: expected a number, got {angle!r}") from None
    rng = np.random.default_rng(seed)
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    scale = np.diag([std, std * anisotropy])
    cov_root = rot @ scale
    x_pos = rng.standard_normal((n_pos, 2)) @ cov_root.T + np.array([separation / 2, 0.0])
    x_neg = rng.standard_normal((n_neg, 2)) @ cov_root.T - np.array([separation / 2, 0.0])
    return x_pos, x_neg


def spirals(n_pos: int = 500, n_neg: int | None = None, turns: float = 1.5,
            noise: float = 0.05, seed: int = 0):
    """Two interleaved Archimedean spirals (the negatives are the positives rotated by π)."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    turns = as_number(turns, "turns", low=0.0)
    noise = as_number(noise, "noise", low=0.0)
    if turns == 0:
        raise InputError("turns: must be > 0")
    rng = np.random.default_rng(seed)

    def arm(k: int, phase: float) -> np.ndarray:
        u = np.sqrt(rng.uniform(0.05, 1.0, k))          # uniform-ish density along the arm
        t = u * turns * 2 * np.pi
        r = 1.5 * u
        pts = np.column_stack([r * np.cos(t + phase), r * np.sin(t + phase)])
        return pts + noise * rng.standard_normal(pts.shape)

    return arm(n_pos, 0.0), arm(n_neg, np.pi)


def xor(n_pos: int = 500, n_neg: int | None = None, cells: int = 2, gap: float = 0.1,
        noise: float = 0.0, seed: int = 0):
    """Checkerboard on [-1, 1]^2 with ``cells`` x ``cells`` squares (2 = XOR).

    Positives fill the squares with even (row + column), negatives the odd ones; ``gap`` is an
    empty band (in units of the square side) kept around the square borders.
    """
    n_pos, n_neg = _sizes(n_pos, n_neg)
    cells = as_int(cells, "cells", low=1)
    if cells < 2:
        raise InputError(f"cells: must be >= 2, got {cells}")
    gap = as_number(gap, "gap", low=0.0)
    if gap >= 0.5:
        raise InputError(f"gap: must be < 0.5 (fraction of a square), got {gap}")
    noise = as_number(noise, "noise", low=0.0)
    rng = np.random.default_rng(seed)
    side = 2.0 / cells
    even = [(r, c) for r in range(cells) for c in range(cells) if (r + c) % 2 == 0]
    odd = [(r, c) for r in range(cells) for c in range(cells) if (r + c) % 2 == 1]

    def fill(k: int, squares: list) -> np.ndarray:
        idx = rng.integers(0, len(squares), k)
        rc = np.array(squares, dtype=float)[idx]
        local = rng.uniform(gap, 1.0 - gap, (k, 2))
        pts = -1.0 + side * (rc[:, ::-1] + local)
        return pts + noise * rng.standard_normal(pts.shape)

    return fill(n_pos, even), fill(n_neg, odd)


def ring_blob(n_pos: int = 500, n_neg: int | None = None, blob_std: float = 0.3,
              r_ring: float = 1.5, ring_width: float = 0.15, seed: int = 0):
    """A Gaussian blob of positives at the origin inside a ring of negatives of radius
    ``r_ring``."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    blob_std = as_number(blob_std, "blob_std", low=0.0)
    r_ring = as_number(r_ring, "r_ring", low=0.0)
    ring_width = as_number(ring_width, "ring_width", low=0.0)
    rng = np.random.default_rng(seed)
    x_pos = blob_std * rng.standard_normal((n_pos, 2))
    t = rng.uniform(0.0, 2 * np.pi, n_neg)
    r = r_ring + ring_width * rng.standard_normal(n_neg)
    x_neg = np.column_stack([r * np.cos(t), r * np.sin(t)])
    return x_pos, x_neg


# ------------------------------------------- hard cases (interleaved or overlapping by design)
# Data on which a shallow 1-Lipschitz network is far from the exact optimum: the optimal
# potential changes sign from point to point (interleaved classes, overlap, shared points) or
# the data live in more than two dimensions.  They keep the signature of the toys above.

def stripes(n_pos: int = 50, n_neg: int | None = None, stripes: int = 8, shared: int = 3,
            seed: int = 0):
    """Interleaved vertical stripes on [-1, 1]^2: positives in the even stripes, negatives in
    the odd ones, and the last ``shared`` negatives are copies of positives (points present in
    both classes).  With ``stripes`` = 8 a stripe is 0.25 wide: the classes interleave at a
    scale far below the data's extent."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    stripes = as_int(stripes, "stripes", low=2)
    shared = as_int(shared, "shared", low=0)
    if shared > min(n_pos, n_neg):
        raise InputError(f"shared: at most min(n_pos, n_neg) = {min(n_pos, n_neg)}, got {shared}")
    rng = np.random.default_rng(seed)
    side = 2.0 / stripes

    def fill(k: int, parity: int) -> np.ndarray:
        cols = 2 * rng.integers(0, (stripes - parity + 1) // 2, k) + parity
        return np.column_stack([-1.0 + side * (cols + rng.uniform(0.0, 1.0, k)),
                                rng.uniform(-1.0, 1.0, k)])

    x_pos, x_neg = fill(n_pos, 0), fill(n_neg, 1)
    if shared:
        x_neg[n_neg - shared:] = x_pos[rng.choice(n_pos, shared, replace=False)]
    return x_pos, x_neg


def anisotropic(n_pos: int = 70, n_neg: int | None = None, separation: float = 0.6,
                std: float = 1.0, ratio: float = 4.0, angle: float = 0.5, dim: int = 2,
                seed: int = 0):
    """Two heavily overlapping anisotropic Gaussian clouds in R^dim: standard deviation
    ``std`` along one axis and ``std / ratio`` along the others, the frame rotated by ``angle``
    in the first plane, means ``separation`` apart along the long axis."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    separation = as_number(separation, "separation", low=0.0)
    std = as_number(std, "std", low=0.0)
    ratio = as_number(ratio, "ratio", low=0.0)
    if ratio == 0:
        raise InputError("ratio: must be > 0")
    dim = as_int(dim, "dim", low=2)
    angle = as_number(angle, "angle")
    rng = np.random.default_rng(seed)
    axes = np.eye(dim)
    c, s = np.cos(angle), np.sin(angle)
    axes[:2, :2] = [[c, -s], [s, c]]
    root = axes * np.r_[std, np.full(dim - 1, std / ratio)]  # columns: scaled principal axes
    shift = 0.5 * separation * axes[:, 0]
    return (rng.standard_normal((n_pos, dim)) @ root.T + shift,
            rng.standard_normal((n_neg, dim)) @ root.T - shift)


def shell(n_pos: int = 500, n_neg: int | None = None, dim: int = 3, blob_std: float = 0.3,
          radius: float = 1.2, width: float = 0.15, seed: int = 0):
    """A Gaussian blob of positives at the origin of R^dim inside a spherical shell of
    negatives (radius ``radius``, radial noise ``width``): ring_blob in any dimension."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    dim = as_int(dim, "dim", low=2)
    blob_std = as_number(blob_std, "blob_std", low=0.0)
    radius = as_number(radius, "radius", low=0.0)
    width = as_number(width, "width", low=0.0)
    rng = np.random.default_rng(seed)
    x_pos = blob_std * rng.standard_normal((n_pos, dim))
    u = rng.standard_normal((n_neg, dim))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return x_pos, u * (radius + width * rng.standard_normal((n_neg, 1)))


def clusters(n_pos: int = 500, n_neg: int | None = None, dim: int = 3, k: int = 4,
             std: float = 0.2, seed: int = 0):
    """Interleaved Gaussian clusters in R^dim: ``2 k`` centres drawn in [-1, 1]^dim, the even
    ones positive, the odd ones negative, each point around a random centre of its class."""
    n_pos, n_neg = _sizes(n_pos, n_neg)
    dim = as_int(dim, "dim", low=2)
    k = as_int(k, "k", low=1)
    std = as_number(std, "std", low=0.0)
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1.0, 1.0, (2 * k, dim))
    x_pos = centres[0::2][rng.integers(0, k, n_pos)] + std * rng.standard_normal((n_pos, dim))
    x_neg = centres[1::2][rng.integers(0, k, n_neg)] + std * rng.standard_normal((n_neg, dim))
    return x_pos, x_neg


#: name -> generator ``gen(n_pos, n_neg=None, seed=0, **params) -> (x_pos, x_neg)``
TOYS = {
    "moons": two_moons,
    "circles": circles,
    "gaussians": gaussians,
    "spirals": spirals,
    "xor": xor,
    "ring_blob": ring_blob,
    "stripes": stripes,
    "anisotropic": anisotropic,
    "shell": shell,
    "clusters": clusters,
}

#: accepted spellings -> canonical name
_ALIASES = {
    "two_moons": "moons", "two-moons": "moons", "moon": "moons",
    "circle": "circles", "concentric": "circles",
    "gaussian": "gaussians", "blobs": "gaussians", "two_gaussians": "gaussians",
    "spiral": "spirals", "checkerboard": "xor",
    "ring": "ring_blob", "ring-blob": "ring_blob", "ringblob": "ring_blob",
}


def list_toys() -> list[str]:
    """Names accepted by :func:`make_toy` (canonical names, sorted)."""
    return sorted(TOYS)


def _canonical(name: str) -> str:
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in TOYS:
        raise InputError(f"name: unknown toy distribution {name!r}; valid names: "
                         + ", ".join(list_toys()))
    return key


def toy_params(name: str) -> dict:
    """Shape parameters (beyond n_pos, n_neg, seed) of a toy and their defaults."""
    gen = TOYS[_canonical(name)]
    return {k: v.default for k, v in inspect.signature(gen).parameters.items()
            if k not in ("n_pos", "n_neg", "seed")}


def make_toy(name: str, n_pos: int = 500, n_neg: int | None = None, seed: int = 0, **kw):
    """Sample the toy distribution ``name`` (see :func:`list_toys`): returns ``(x_pos, x_neg)``.

    Extra keyword arguments are the generator's shape parameters (:func:`toy_params`).
    """
    key = _canonical(name)
    allowed = toy_params(key)
    unknown = sorted(set(kw) - set(allowed))
    if unknown:
        raise InputError(f"{unknown[0]}: not a parameter of toy {key!r}; its parameters are "
                         + (", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"))
    # the points in float64 with the generators' temporaries: ~16 numbers per point
    sizes = [v for v in (n_pos, n_pos if n_neg is None else n_neg)
             if isinstance(v, (int, np.integer))]
    check_allocation(8 * 16 * sum(sizes), f"the toy {key!r} with {' + '.join(map(str, sizes))} "
                     "points", "n")
    try:  # a bad seed (e.g. -1) would surface as a raw NumPy error inside the generator
        np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise InputError(f"seed: expected an integer >= 0, got {seed!r} ({exc})") from None
    return TOYS[key](n_pos=n_pos, n_neg=n_neg, seed=seed, **kw)


def is_toy(name: object) -> bool:
    try:
        _canonical(name)
    except InputError:
        return False
    return True


def shadowed_file(name: object) -> bool:
    """Whether ``name`` is a toy's name and also an existing path (which :func:`load_data`
    does not read: the toy wins)."""
    return isinstance(name, str) and is_toy(name) and os.path.exists(name)


def load_data(name_or_path: str | os.PathLike, n: int = 500, seed: int = 0,
              n_neg: int | None = None, label_column: LabelColumn = DEFAULT_LABEL_COLUMN,
              **kw: float):
    """Resolve a toy name or a data file; returns ``(x_pos, x_neg, a, b)``.

    A toy name gives ``n`` positives and ``n_neg`` (default ``n``) negatives drawn with ``seed``
    and no weights (``a = b = None``).  Anything else is read as a ``.npz`` or CSV file through
    :func:`otreg.data.io.load_dataset` (``n``, ``seed`` are then ignored; ``label_column``
    names a CSV file's column of labels).

    A toy name always means the toy, even when a file of that name exists in the current
    directory: a file is read when its name is not a toy's (write ``./moons`` for a file named
    like a toy; :func:`shadowed_file` tells whether such a file exists).
    """
    if isinstance(name_or_path, str) and is_toy(name_or_path):
        x_pos, x_neg = make_toy(name_or_path, n_pos=n, n_neg=n_neg, seed=seed, **kw)
        return x_pos, x_neg, None, None
    path = os.fspath(name_or_path)
    if not os.path.exists(path):
        raise InputError(f"data: {path!r} is neither a toy name ({', '.join(list_toys())}) "
                         "nor an existing file")
    return load_dataset(path, label_column=label_column)
