"""The paper's experiment on real handwritten digits, with the exact optimum as ground truth.

Data: scikit-learn's ``load_digits`` (1797 images of 8 x 8 pixels, shipped inside the package,
no download), pixels scaled to [0, 1], so the images live in the unit cube of R^64 and every
radius below is a Euclidean distance in that cube.  For a pair of digits A, B:

1. a stratified, seeded train / test split;
2. for each λ of a grid (in the order ``DigitsConfig.order``, each network warm-started from
   the previous one):
   the exact hKR optimum on the training set (:func:`otreg.hkr_transport`, 64-D), a 1-Lipschitz
   network trained on the same loss (:class:`otreg.classifier.HKRClassifier`) and its loss gap
   ``(L(net) - min L) / (|min L| + 2 margin)``; on the test set: clean accuracy, certified
   accuracy (correct and certified radius |f(x)| > ε) and accuracy under an L2 PGD attack with
   budget ε (:func:`otreg.experiments.attack.pgd_l2`);
3. an unconstrained ReLU network of the same size trained with cross-entropy
   (:mod:`otreg.experiments.baseline`), attacked the same way;
4. for the λ shown in the pictures, the smallest adversarial radius found by bisection, next to
   the certificate |f(x)|: where the certificate is tight and where it is not.

:func:`run_digits` returns a :class:`DigitsRun`; ``DigitsRun.to_json()`` is the schema
``{"pair": [A, B], "rows": [{"lam", "exact_loss", "network_loss", "gap", "clean_acc",
"certified_acc": {eps: acc}, "attack_acc": {eps: acc}, "baseline_clean_acc",
"baseline_attack_acc": {eps: acc}}]}`` (ε keys as strings); the pictures are drawn by
:mod:`otreg.experiments.figures`.
"""
from __future__ import annotations

import copy
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
from tqdm.auto import tqdm

from ..data.validate import check_lam, check_margin
from ..errors import InputError
from ..metrics import radius_key, relative_gap
from ..nn import Tensor
from ..problem import Problem
from ..transport import hkr_transport, pairwise_distances
from .attack import AttackResult, minimal_adversarial_radius, pgd_l2
from .baseline import DenseNet, train_baseline

__all__ = ["EPS", "DigitsConfig", "DigitsSplit", "DigitsRun", "LamRow", "load_digit_pair",
           "run_digits", "run_digits_all", "all_pairs", "summary_table", "findings",
           "one_step_adversarial", "projected_optimum_gaps"]

#: the L2 radii (pixels in [0, 1]) of the certified and attacked accuracies
EPS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 1.5)


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - scikit-learn is a test dependency
        raise ImportError("the digits experiment needs scikit-learn (it ships the data set): "
                          "pip install 'otreg[sklearn]'") from exc
    x, y = load_digits(return_X_y=True)
    return x / 16.0, y.astype(np.intp)


@dataclass
class DigitsSplit:
    """Train / test images of two digits (rows of 64 pixels in [0, 1]) and their labels (the
    digits themselves)."""

    pair: tuple[int, int]
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def problem(self, lam: float, margin: float) -> Problem:
        """The training set as an hKR problem: positives = the larger digit (the classifier's
        ``classes_[1]``, f > 0), negatives = the smaller."""
        hi = max(self.pair)
        return Problem(self.x_train[self.y_train == hi], self.x_train[self.y_train != hi], lam,
                       margin)


def load_digit_pair(a: int, b: int, test_size: float = 0.3, seed: int = 0) -> DigitsSplit:
    """Images of digits ``a`` and ``b``, split into train and test sets (stratified by digit,
    ``test_size`` of each digit in the test set, seeded)."""
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or int(v) != v or not 0 <= v <= 9:
            raise InputError(f"pair: digits must be integers 0..9, got {name}={v!r}")
    if a == b:
        raise InputError(f"pair: needs two different digits, got {a},{b}")
    if not 0 < test_size < 1:
        raise InputError(f"test_size: must be in (0, 1), got {test_size!r}")
    x, y = _load_digits()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 64]))
    train, test = [], []
    for digit in (a, b):
        idx = rng.permutation(np.flatnonzero(y == digit))
        k = int(round(test_size * idx.size))
        test.append(idx[:k])
        train.append(idx[k:])
    tr, te = np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
    return DigitsSplit((int(a), int(b)), x[tr], y[tr], x[te], y[te])


@dataclass
class DigitsConfig:
    """Settings of :func:`run_digits`.

    ``network``: keyword arguments of :class:`otreg.classifier.HKRClassifier` for the first λ
    trained; ``warm_network``: those changed for the next λ values (each warm-started from the
    previous network, so a smaller budget suffices); ``order``: ``"increasing"`` or
    ``"decreasing"`` λ.  The defaults are the best measured on 0 vs 8 within the 10-minute
    budget: a 64 x 12 GroupSort network (the neural solver's default 32 x 16 stayed at
    3.5-4.8%), 20000 steps then 10000 per λ at a fifth of the learning rate (4000 per λ:
    1.8-3.8%; at the first λ's rate of 5e-3 the warm network never improved on its start at
    λ = 1 and 100, which left 2.3-2.7% at λ = 100; at 1e-3: 1.4%), increasing λ (decreasing,
    with the same network: 2.0-4.3%).  ``baseline``: keyword arguments of
    :func:`otreg.experiments.baseline.train_baseline`.  ``attack``: of
    :func:`otreg.experiments.attack.pgd_l2` (``steps``, ``restarts``); ``radius``: of
    :func:`otreg.experiments.attack.minimal_adversarial_radius`.  ``box``: the pixel range the
    attacks stay in.
    """

    lams: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    margin: float = 1.0
    eps: tuple[float, ...] = EPS
    test_size: float = 0.3
    seed: int = 0
    network: dict = field(default_factory=lambda: dict(width=64, depth=12, steps=20000))
    warm_network: dict = field(default_factory=lambda: dict(steps=10000, lr=1e-3))
    baseline: dict = field(default_factory=lambda: dict(epochs=300, batch_size=64, lr=1e-3))
    attack: dict = field(default_factory=lambda: dict(steps=100, restarts=5))
    radius: dict = field(default_factory=lambda: dict(iters=10, steps=50, restarts=2))
    box: tuple[float, float] | None = (0.0, 1.0)
    order: str = "increasing"

    @classmethod
    def quick(cls, **changes: Any) -> "DigitsConfig":
        """Small budgets (tests, smoke runs): two λ values, short training, weak attacks."""
        base = dict(lams=(1.0, 10.0),
                    network=dict(width=32, depth=2, steps=150),
                    warm_network=dict(steps=30),
                    baseline=dict(epochs=60, batch_size=64, lr=3e-3),
                    attack=dict(steps=20, restarts=2), radius=dict(iters=5, steps=20,
                                                                  restarts=1))
        base.update(changes)
        return cls(**base)


@dataclass
class LamRow:
    """Everything measured at one λ (the JSON row and the arrays behind the pictures)."""

    lam: float
    exact_loss: float
    network_loss: float
    gap: float
    clean_acc: float
    certified_acc: dict
    attack_acc: dict
    seconds: float
    scores: np.ndarray = field(repr=False)      # f on the test set
    radius: np.ndarray = field(repr=False)      # certified radius on the test set
    model: Any = field(repr=False)              # the trained network (otreg.nn.Sequential)


@dataclass
class DigitsRun:
    """The outcome of :func:`run_digits` (see the module docstring)."""

    pair: tuple[int, int]
    config: DigitsConfig
    split: DigitsSplit
    rows: list[LamRow]
    baseline: DenseNet
    baseline_clean_acc: float
    baseline_attack_acc: dict
    shown: int                                   # index of the λ of the pictures
    hkr_minimal: AttackResult                   # smallest adversarial points found, shown λ
    baseline_minimal: AttackResult
    hkr_minimal_unboxed: AttackResult          # the same without the pixel box
    seconds: dict

    def to_json(self) -> dict:
        """The run as JSON (ε keys as strings, ``metrics.radius_key``), the schema of the module
        docstring."""
        rows = [{"lam": r.lam, "exact_loss": r.exact_loss, "network_loss": r.network_loss,
                 "gap": r.gap, "clean_acc": r.clean_acc,
                 "certified_acc": dict(r.certified_acc), "attack_acc": dict(r.attack_acc),
                 "baseline_clean_acc": self.baseline_clean_acc,
                 "baseline_attack_acc": dict(self.baseline_attack_acc)} for r in self.rows]
        return {"pair": [int(self.pair[0]), int(self.pair[1])], "rows": rows}

    @property
    def signs(self) -> np.ndarray:
        """Test labels as +1 (the larger digit, f > 0) / -1."""
        return np.where(self.split.y_test == max(self.pair), 1.0, -1.0)

    def summary(self) -> str:
        """The markdown table of :func:`summary_table` for this run."""
        return summary_table([self])


def one_step_adversarial(model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(x - f(x) grad f(x), f there)``: the paper's one-step attack on a 1-Lipschitz network
    (it lands on the decision boundary where |grad f| = 1)."""
    f = model.predict(x)
    adv = x - f[:, None] * model.grad(x)
    return adv, model.predict(adv)


def _network_score(model: Any):
    """``score(x_tensor)``: the frozen network's output with constant weights."""
    weights = [(Tensor(l.effective_weight()), None if l.bias is None else Tensor(l.bias.data))
               for l in model.dense_layers]

    def score(x: Tensor) -> Tensor:
        return model(x, weights).reshape(-1)

    return score


def _attack_accuracy(score, x: np.ndarray, signs: np.ndarray, correct: np.ndarray,
                     eps: Iterable[float], cfg: DigitsConfig) -> dict:
    """Accuracy under PGD at each ε: correct and not broken by the attack."""
    out = {}
    for i, e in enumerate(eps):
        res = pgd_l2(score, x, signs, e, box=cfg.box, seed=cfg.seed + 1000 * i, **cfg.attack)
        out[radius_key(e)] = float(np.mean(correct & ~res.success))
    return out


def _fit_lam(split: DigitsSplit, cfg: DigitsConfig, lam: float, clf: Any) -> LamRow:
    """Exact optimum, network, certificates and attacks at one λ."""
    t0 = time.perf_counter()
    exact = hkr_transport(split.problem(lam, cfg.margin))
    clf.set_params(lam=lam).fit(split.x_train, split.y_train)
    scores = clf.decision_function(split.x_test)
    radius = clf.certified_radius(split.x_test)
    signs = np.where(split.y_test == max(split.pair), 1.0, -1.0)
    correct = signs * scores > 0
    gap = relative_gap(clf.loss_, exact.loss, cfg.margin)
    return LamRow(
        lam=float(lam), exact_loss=float(exact.loss), network_loss=float(clf.loss_),
        gap=float(gap), clean_acc=float(np.mean(correct)),
        certified_acc={radius_key(e): float(np.mean(correct & (radius > e))) for e in cfg.eps},
        attack_acc=_attack_accuracy(_network_score(clf.model_), split.x_test, signs, correct,
                                    cfg.eps, cfg),
        seconds=time.perf_counter() - t0, scores=scores, radius=radius,
        model=copy.deepcopy(clf.model_))  # the next λ's warm start trains clf.model_ in place


def _shown_index(rows: list[LamRow], eps: tuple[float, ...]) -> int:
    """The λ of the pictures: best clean accuracy, then best certified accuracy at the middle
    radius, then the smallest λ."""
    key = radius_key(sorted(eps)[len(eps) // 2])
    return max(range(len(rows)), key=lambda i: (rows[i].clean_acc, rows[i].certified_acc[key],
                                                -rows[i].lam))


def run_digits(pair: tuple[int, int] = (0, 8), config: DigitsConfig | None = None,
               progress: bool = False) -> DigitsRun:
    """Run the digits experiment on one pair of digits (see the module docstring).

    ``config`` defaults to :class:`DigitsConfig` (``DigitsConfig.quick()`` for a smoke run);
    ``progress`` shows a bar over the λ grid and the training bars.
    """
    from ..classifier import HKRClassifier

    cfg = config or DigitsConfig()
    if cfg.order not in ("increasing", "decreasing"):
        raise InputError(f"order: expected 'increasing' or 'decreasing', got {cfg.order!r}")
    lams = sorted((check_lam(v) for v in cfg.lams), reverse=cfg.order == "decreasing")
    if not lams:
        raise InputError("lams: give at least one λ")
    check_margin(cfg.margin)
    if not cfg.eps or any(not (np.isfinite(e) and e > 0) for e in cfg.eps):
        raise InputError(f"eps: radii must be finite and > 0, got {cfg.eps!r}")
    t0 = time.perf_counter()
    split = load_digit_pair(*pair, test_size=cfg.test_size, seed=cfg.seed)
    clf = HKRClassifier(margin=cfg.margin, warm_start=True, random_state=cfg.seed,
                        verbose=progress, **cfg.network)
    rows = []
    for i, lam in enumerate(tqdm(lams, disable=not progress, desc=f"digits {pair}",
                                 unit="lam", leave=False)):
        if i == 1:
            clf.set_params(**cfg.warm_network)
        rows.append(_fit_lam(split, cfg, lam, clf))
    rows.sort(key=lambda r: r.lam)
    t_hkr = time.perf_counter() - t0
    codes = (split.y_train == max(pair)).astype(np.intp)
    hidden = [layer.n_out for layer in rows[0].model.dense_layers[:-1]]  # same size as hKR's
    base = train_baseline(split.x_train, codes, width=max(hidden, default=1),
                          depth=len(hidden), seed=cfg.seed, progress=progress, **cfg.baseline)
    signs = np.where(split.y_test == max(pair), 1.0, -1.0)
    base_correct = signs * base.predict(split.x_test) > 0
    base_attack = _attack_accuracy(base.score, split.x_test, signs, base_correct, cfg.eps, cfg)
    t_base = time.perf_counter() - t0 - t_hkr
    shown = _shown_index(rows, cfg.eps)
    hi = 2.0 * max(cfg.eps) + float(np.max(rows[shown].radius))
    r_hkr = minimal_adversarial_radius(_network_score(rows[shown].model), split.x_test, signs,
                                       hi, box=cfg.box, seed=cfg.seed, **cfg.radius)
    r_base = minimal_adversarial_radius(base.score, split.x_test, signs, hi, box=cfg.box,
                                        seed=cfg.seed, **cfg.radius)
    r_free = minimal_adversarial_radius(_network_score(rows[shown].model), split.x_test, signs,
                                        hi, box=None, seed=cfg.seed, **cfg.radius)
    seconds = {"hkr": t_hkr, "baseline": t_base,
               "radius": time.perf_counter() - t0 - t_hkr - t_base,
               "total": time.perf_counter() - t0}
    return DigitsRun(tuple(int(v) for v in pair), cfg, split, rows, base,
                     float(np.mean(base_correct)), base_attack, shown, r_hkr, r_base, r_free,
                     seconds)


def projected_optimum_gaps(split: DigitsSplit, lam: float, margin: float,
                           dims: Iterable[int] = (1, 2, 5, 10, 20, 40, 64)) -> list[dict]:
    """How many directions the exact optimum uses: for each k of ``dims``, the exact hKR
    optimum after projecting the training images onto their top-k principal directions.

    A projection is 1-Lipschitz, so ``f o P`` is feasible for the full problem: the projected
    optimum is what a 1-Lipschitz function reading only those k directions can reach at best,
    and its gap ``(min L_k - min L) / (|min L| + 2 margin)`` says how much of the optimum lives
    in the other directions.  Returns ``[{"dim": k, "loss": min L_k, "gap": gap}, ...]``.
    """
    problem = split.problem(lam, margin)
    full = hkr_transport(problem).loss
    centred = problem.samples - problem.samples.mean(axis=0)
    basis = np.linalg.svd(centred, full_matrices=False)[2]
    out = []
    for k in dims:
        proj = basis[:int(k)].T
        loss = hkr_transport(problem.x_pos @ proj, problem.x_neg @ proj, lam=lam,
                             margin=margin).loss
        out.append({"dim": int(k), "loss": float(loss),
                    "gap": relative_gap(loss, full, margin)})
    return out


def all_pairs() -> list[tuple[int, int]]:
    """The 45 pairs of different digits (a < b)."""
    return list(itertools.combinations(range(10), 2))


def run_digits_all(pairs: Iterable[tuple[int, int]] | None = None,
                   config: DigitsConfig | None = None, progress: bool = False,
                   callback: Any = None) -> list[DigitsRun]:
    """:func:`run_digits` on every pair (default :func:`all_pairs`); ``callback(run)`` is
    called after each pair (e.g. to write its results before the next one starts)."""
    runs = []
    todo = list(all_pairs() if pairs is None else pairs)
    for pair in tqdm(todo, disable=not progress, desc="pairs", unit="pair"):
        run = run_digits(pair, config, progress=False)
        runs.append(run)
        if callback is not None:
            callback(run)
    return runs


def summary_table(runs: list[DigitsRun]) -> str:
    """Markdown table: one line per (pair, λ) with the gap to the exact optimum and the test
    accuracies (clean, then ``certified / attacked`` at each ε), and one line per pair for the
    baseline (``– / attacked``: nothing is certified)."""
    eps = runs[0].config.eps
    keys = [radius_key(e) for e in eps]
    head = (["pair", "λ", "min L (exact)", "L (network)", "gap", "clean"]
            + [f"ε={k}: cert / attack" for k in keys])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for run in runs:
        name = f"{run.pair[0]} vs {run.pair[1]}"
        for r in run.rows:
            cells = ([name, f"{r.lam:g}", f"{r.exact_loss:.4f}", f"{r.network_loss:.4f}",
                      f"{100 * r.gap:.2f}%", f"{r.clean_acc:.3f}"]
                     + [f"{r.certified_acc[k]:.3f} / {r.attack_acc[k]:.3f}" for k in keys])
            lines.append("| " + " | ".join(cells) + " |")
        cells = ([name, "baseline", "", "", "", f"{run.baseline_clean_acc:.3f}"]
                 + [f"– / {run.baseline_attack_acc[k]:.3f}" for k in keys])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _half_distance_to_other_digit(split: DigitsSplit) -> np.ndarray:
    """For each test image, half its distance to the nearest image (train or test) of the
    other digit."""
    x = np.vstack([split.x_train, split.x_test])
    y = np.concatenate([split.y_train, split.y_test])
    out = np.empty(split.y_test.shape[0])
    for digit in split.pair:
        mine = split.y_test == digit
        out[mine] = pairwise_distances(split.x_test[mine], x[y != digit]).min(axis=1) / 2.0
    return out


def findings(run: DigitsRun) -> str:
    """The measured facts behind the docs' reading, as markdown bullets: the gap, the best
    clean accuracy, the certificate's tightness at the shown λ, the hKR network against the
    baseline under attack, and where the one-step adversarial examples land."""
    eps = run.config.eps
    r = run.rows[run.shown]
    ok = run.signs * r.scores > 0
    att, base = run.hkr_minimal.norm[ok], run.baseline_minimal.norm
    ratio = att / np.maximum(r.radius[ok], 1e-12)
    free = run.hkr_minimal_unboxed.norm[ok] / np.maximum(r.radius[ok], 1e-12)
    half = _half_distance_to_other_digit(run.split)
    _, f_adv = one_step_adversarial(r.model, run.split.x_test[ok])
    gaps = [100 * row.gap for row in run.rows]
    lines = [
        f"gap to the exact optimum on the training set: {min(gaps):.2f}% to {max(gaps):.2f}% "
        f"over λ in {{{', '.join(f'{row.lam:g}' for row in run.rows)}}}",
        f"best clean test accuracy: {max(row.clean_acc for row in run.rows):.4f} "
        f"(baseline {run.baseline_clean_acc:.4f}), {run.split.y_test.size} test images",
        f"certificate at λ = {r.lam:g}: smallest adversarial perturbation found / |f(x)| has "
        f"minimum {np.min(ratio):.3f} (>= 1: sound), median {np.median(ratio):.3f}, 90th "
        f"percentile {np.quantile(ratio, 0.9):.3f}; "
        f"{100 * np.mean(ratio <= 1.05):.0f}% of the correctly classified test images are "
        "broken within 1.05 |f(x)|",
        f"the same attack without the pixel box [0, 1] (the certificate's setting): median "
        f"ratio {np.median(free):.3f}, 90th percentile {np.quantile(free, 0.9):.3f}, "
        f"{100 * np.mean(free <= 1.05):.0f}% within 1.05 |f(x)|",
        f"geometry of the data: half the distance from a test image to the nearest image of "
        f"the other digit has median {np.median(half):.3f}; share of test images where it "
        "exceeds ε (no classifier is robust at ε on both images otherwise): " + ", ".join(
            f"ε={e:g}: {np.mean(half > e):.3f}" for e in eps),
        f"median smallest adversarial perturbation found: hKR network "
        f"{np.median(att[np.isfinite(att)]):.3f}, baseline "
        f"{np.median(base[np.isfinite(base) & (base > 0)]):.3f}",
        "attacked accuracy, hKR network (λ = %g) vs baseline: " % r.lam + ", ".join(
            f"ε={e:g}: {r.attack_acc[radius_key(e)]:.3f} vs "
            f"{run.baseline_attack_acc[radius_key(e)]:.3f}" for e in eps),
        f"one-step adversarial examples x - f(x) grad f(x): |f| after the step has median "
        f"{np.median(np.abs(f_adv)):.3f} (before: {np.median(np.abs(r.scores[ok])):.3f}); "
        f"{100 * np.mean(np.abs(f_adv) <= 0.05 * np.abs(r.scores[ok])):.0f}% land within "
        "5% of |f(x)| of the decision boundary (the step is tight where |grad f| = 1)",
        f"run time: {run.seconds['total']:.0f} s (networks and exact solutions "
        f"{run.seconds['hkr']:.0f} s, baseline {run.seconds['baseline']:.0f} s, "
        f"minimal-radius attacks {run.seconds['radius']:.0f} s)",
    ]
    return "\n".join(f"- {line}" for line in lines)
