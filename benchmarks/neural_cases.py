"""The benchmark families of the neural solver: toys, hard 2-D / 3-D sets, synthetic and real
data of 10 to 64 dimensions, each split into a tuning part and a held-out part.

A case is ``(label, family, part, builder)``; ``builder()`` returns an :class:`otreg.Problem`.
The defaults of :func:`otreg.nn.fit` were chosen on the ``"tuning"`` cases only; the
``"held-out"`` cases (other seeds, sizes, covariances, dimensions and real data sets) check that
they carry over.  Targets (CPU seconds, gap (L - L*) / (|L*| + 2 margin)):

* toys at 500 per class: 0.2 % in 5 s;
* hard 2-D / 3-D data up to 500 per class: 1 % in 20 s;
* 4 to 64 dimensions, up to 600 points: 2 % in 30 s.
"""
from __future__ import annotations

import functools

import numpy as np

from otreg import Problem
from otreg.data.toys import make_toy

#: family -> (target gap, target CPU seconds)
TARGETS = {"toys": (0.002, 5.0), "hard": (0.01, 20.0), "high-D": (0.02, 30.0)}


def toy(name, n, m=None, lam=1.0, margin=0.1, seed=0, **params):
    m = n if m is None else m
    return lambda: Problem(*make_toy(name, n, m, seed=seed, **params), lam, margin)


def _standardised(x):
    return (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)


@functools.lru_cache(maxsize=None)
def _sklearn(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def breast_cancer():
    x, y = _sklearn("breast_cancer")
    x = _standardised(x)
    return Problem(x[y == 1], x[y == 0], 1.0, 0.1)  # 357 benign vs 212 malignant, 30-D


def wine():
    x, y = _sklearn("wine")
    x = _standardised(x)
    return Problem(x[y == 1], x[y != 1], 1.0, 0.1)  # class 1 (71) vs the rest (107), 13-D


def digits(a, b):
    def build():
        x, y = _sklearn("digits")
        x = x / 16.0
        return Problem(x[y == a], x[y == b], 1.0, 0.1)  # ~180 vs ~180, 64-D
    return build


def weighted(build, seed):
    """The problem of ``build`` with sample weights drawn uniformly in [0.2, 1.8]."""
    def make():
        pr = build()
        rng = np.random.default_rng(seed)
        return Problem(pr.x_pos, pr.x_neg, pr.lam, pr.margin, a=rng.uniform(0.2, 1.8, pr.n),
                       b=rng.uniform(0.2, 1.8, pr.m))
    return make


def wine_class(c):
    def build():
        x, y = _sklearn("wine")
        x = _standardised(x)
        return Problem(x[y == c], x[y != c], 1.0, 0.1)
    return build


def _case(label, family, part, builder):
    return (label, family, part, builder)


CASES = [
    # ------------------------------------------------------------- toys, 500 per class
    *[_case(f"{name} 500/500", "toys", "tuning", toy(name, 500))
      for name in ("moons", "circles", "gaussians", "spirals", "xor", "ring_blob")],
    *[_case(f"{name} 500/500, seed 1", "toys", "held-out", toy(name, 500, seed=1))
      for name in ("moons", "circles", "gaussians", "spirals", "xor", "ring_blob")],
    # ------------------------------------------------------------- hard 2-D / 3-D
    _case("stripes 50/50 (3 shared)", "hard", "tuning", toy("stripes", 50)),
    _case("stripes 500/500 (15 shared)", "hard", "tuning", toy("stripes", 500, shared=15)),
    _case("anisotropic 70/45 (4:1)", "hard", "tuning", toy("anisotropic", 70, 45)),
    _case("anisotropic 500/500 (4:1)", "hard", "tuning", toy("anisotropic", 500)),
    _case("ring-blob 60/60, lam 10, margin 0.5", "hard", "tuning",
          toy("ring_blob", 60, lam=10.0, margin=0.5)),
    _case("shell 3-D 100/100", "hard", "tuning", toy("shell", 100, dim=3)),
    _case("shell 3-D 500/500", "hard", "tuning", toy("shell", 500, dim=3)),
    _case("clusters 3-D 100/100", "hard", "tuning", toy("clusters", 100, dim=3)),
    _case("checkerboard 4x4 300/300", "hard", "tuning", toy("xor", 300, cells=4, gap=0.0)),
    _case("stripes 300/300 (10 stripes, 8 shared), seed 1", "hard", "held-out",
          toy("stripes", 300, stripes=10, shared=8, seed=1)),
    _case("anisotropic 500/500 (8:1, angle 1.2, separation 0.3)", "hard", "held-out",
          toy("anisotropic", 500, ratio=8.0, angle=1.2, separation=0.3, seed=1)),
    _case("anisotropic 500/500 (2:1, angle -0.3, separation 1)", "hard", "held-out",
          toy("anisotropic", 500, ratio=2.0, angle=-0.3, separation=1.0, seed=2)),
    _case("anisotropic 300/200 (6:1, std 2), seed 3", "hard", "held-out",
          toy("anisotropic", 300, 200, ratio=6.0, std=2.0, seed=3)),
    _case("shell 3-D 400/300, seed 1", "hard", "held-out", toy("shell", 400, 300, dim=3,
                                                                  seed=1)),
    _case("clusters 3-D 500/500 (k 6), seed 1", "hard", "held-out",
          toy("clusters", 500, dim=3, k=6, seed=1)),
    _case("checkerboard 6x6 500/500, seed 1", "hard", "held-out",
          toy("xor", 500, cells=6, gap=0.0, seed=1)),
    _case("ring-blob 500/500, lam 5, margin 0.3, seed 2", "hard", "held-out",
          toy("ring_blob", 500, lam=5.0, margin=0.3, seed=2)),
    # ------------------------------------------------------------- 4 to 64 dimensions
    _case("clusters 10-D 100/100", "high-D", "tuning", toy("clusters", 100, dim=10)),
    _case("anisotropic 10-D 100/100", "high-D", "tuning", toy("anisotropic", 100, dim=10)),
    _case("breast cancer 357/212, 30-D", "high-D", "tuning", breast_cancer),
    _case("digits 4 vs 9, 64-D", "high-D", "tuning", digits(4, 9)),
    _case("anisotropic 30-D 300/300", "high-D", "tuning", toy("anisotropic", 300, dim=30)),
    _case("wine 1 vs rest 71/107, 13-D", "high-D", "held-out", wine),
    _case("digits 3 vs 8, 64-D", "high-D", "held-out", digits(3, 8)),
    _case("digits 1 vs 7, 64-D", "high-D", "held-out", digits(1, 7)),
    _case("digits 5 vs 6, 64-D", "high-D", "held-out", digits(5, 6)),
    _case("anisotropic 10-D 250/250 (6:1), seed 1", "high-D", "held-out",
          toy("anisotropic", 250, dim=10, ratio=6.0, seed=1)),
    _case("clusters 30-D 300/300, seed 2", "high-D", "held-out",
          toy("clusters", 300, dim=30, seed=2)),
    _case("shell 5-D 200/200, seed 1", "high-D", "held-out", toy("shell", 200, dim=5, seed=1)),
    _case("anisotropic 64-D 300/300 (3:1), seed 4", "high-D", "held-out",
          toy("anisotropic", 300, dim=64, ratio=3.0, seed=4)),
    # ------------------------------------------------------------- held-out rows added with
    # the cone model (fresh seeds, sizes, dimensions, weights; not looked at while choosing it)
    _case("gaussians 300/700, seed 5", "toys", "held-out", toy("gaussians", 300, 700, seed=5)),
    _case("spirals 400/500, seed 6, weights", "toys", "held-out",
          weighted(toy("spirals", 400, 500, seed=6), 6)),
    _case("checkerboard 5x5 450/350, seed 7", "hard", "held-out",
          toy("xor", 450, 350, cells=5, gap=0.0, seed=7)),
    _case("anisotropic 400/250 (5:1, angle 0.7), seed 8, weights", "hard", "held-out",
          weighted(toy("anisotropic", 400, 250, ratio=5.0, angle=0.7, seed=8), 8)),
    _case("stripes 250/350 (6 stripes, 5 shared), seed 9", "hard", "held-out",
          toy("stripes", 250, 350, stripes=6, shared=5, seed=9)),
    _case("digits 0 vs 8, 64-D, weights", "high-D", "held-out", weighted(digits(0, 8), 10)),
    _case("wine 2 vs rest 71/107, 13-D", "high-D", "held-out", wine_class(2)),
    _case("anisotropic 20-D 250/350 (4:1), seed 11", "high-D", "held-out",
          toy("anisotropic", 250, 350, dim=20, ratio=4.0, seed=11)),
    _case("clusters 40-D 200/300, seed 12", "high-D", "held-out",
          toy("clusters", 200, 300, dim=40, seed=12)),
    _case("shell 8-D 300/250, seed 13", "high-D", "held-out",
          toy("shell", 300, 250, dim=8, seed=13)),
]


def select(family=None, part=None, contains=None):
    """The cases of a family / part whose label contains one of the comma-separated
    substrings of ``contains``."""
    keys = contains.split(",") if contains else None
    return [c for c in CASES if (family is None or c[1] in family.split(","))
            and (part is None or c[2] == part)
            and (keys is None or any(k in c[0] for k in keys))]
