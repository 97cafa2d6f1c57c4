"""The data sets of the training-quality tests (tests/nn/test_nn_train.py for the toys,
tests/nn/test_nn_train_hard.py for the hard cases: two files, so that the suite's two workers
train them in parallel), each trained once per process with ``fit``'s defaults, and the checks
both files run on them.

The gap is ``(L_net - min L) / (|min L| + 2 margin)``, as ``otreg verify``'s ``neural_gap``
reports it; exact minima come from ``otreg.transport.hkr_transport``.
"""
import warnings
from functools import lru_cache

import numpy as np

from otreg import Problem
from otreg.data.toys import circles, gaussians, make_toy, two_moons
from otreg.nn import TrainingBudgetWarning, fit
from otreg.transport import hkr_transport

#: name -> (problem factory, target gap); fit's defaults on all of them
TOYS = {
    "moons": (lambda: Problem(*two_moons(200, 200, 0.1, 0), 1.0, 0.1), 0.005),
    "gaussians": (lambda: Problem(*gaussians(150, 150, seed=1), 5.0, 0.1), 0.005),
    "circles": (lambda: Problem(*circles(200, 200, seed=2), 1.0, 0.1), 0.005),
}
HARD = {
    "anisotropic": (lambda: Problem(*make_toy("anisotropic", 70, 45), 1.0, 0.1), 0.02),
    "stripes": (lambda: Problem(*make_toy("stripes", 50, 50), 1.0, 0.1), 0.02),
    "ring": (lambda: Problem(*make_toy("ring_blob", 60, 60), 10.0, 0.5), 0.02),
}
SETTINGS = {**TOYS, **HARD}


def gap(problem, value, exact):
    return (value - exact) / (abs(exact) + 2 * problem.margin)


@lru_cache(maxsize=None)
def trained(name):
    """(problem, fit result) of a data set, trained once per process with the defaults."""
    pr = SETTINGS[name][0]()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingBudgetWarning)
        return pr, fit(pr, progress=False)


def check_reaches_the_exact_minimum(name):
    pr, res = trained(name)
    exact = hkr_transport(pr).loss
    # the loss reported by fit is the frozen network's full-data loss, recomputed here
    mine = pr.loss(res.model.predict(pr.x_pos), res.model.predict(pr.x_neg))
    assert abs(mine - res.loss) <= 1e-12
    print(f"{name}: exact={exact:.6f} net={mine:.6f} gap={100 * gap(pr, mine, exact):.3f}% "
          f"time={res.seconds:.1f}s steps={res.steps_run} ({res.stop_reason})")
    assert mine >= exact - 1e-9  # a 1-Lipschitz f is feasible for the LP: never below
    assert gap(pr, mine, exact) <= SETTINGS[name][1]
    assert len(res.history) == res.steps_run + res.cone_steps_run
    assert min(res.history) < res.history[0]


def lipschitz_ratios(model, xp, xn, n_pairs=20000, seed=0):
    rng = np.random.default_rng(seed)
    pts = np.vstack([xp, xn])
    lo, hi = pts.min(0) - 0.5, pts.max(0) + 0.5
    u = np.vstack([pts[rng.integers(0, len(pts), n_pairs // 2)],
                   rng.uniform(lo, hi, (n_pairs // 2, 2))])
    scale = rng.choice([1e-4, 1e-2, 0.1, 1.0], (n_pairs, 1))
    v = u + scale * rng.standard_normal(u.shape)
    # plus pairs across the two classes (long-range, along transport rays)
    u2 = xp[rng.integers(0, len(xp), 5000)]
    v2 = xn[rng.integers(0, len(xn), 5000)]
    u, v = np.vstack([u, u2]), np.vstack([v, v2])
    dist = np.linalg.norm(u - v, axis=1)
    keep = dist > 0  # points present in both classes (stripes) pair with themselves
    return np.abs(model.predict(u[keep]) - model.predict(v[keep])) / dist[keep]


def check_is_1_lipschitz(name):
    pr, res = trained(name)
    ratios = lipschitz_ratios(res.model, pr.x_pos, pr.x_neg)
    norms = res.model.spectral_norms()
    print(f"{name}: max ratio {ratios.max():.9f}, spectral norms max {max(norms)}")
    assert ratios.max() <= 1 + 1e-6
    assert max(norms) <= 1 + 1e-12
    # the training-time weights too, not only the frozen ones
    train_norms = [np.linalg.norm(layer.weight_tensor().data, 2)
                   for layer in res.model.train().dense_layers]
    res.model.freeze()
    assert max(train_norms) <= 1 + 1e-9
    # the network uses its Lipschitz budget: some pair gets close to slope 1
    assert ratios.max() > 0.9
