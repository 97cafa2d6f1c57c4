"""``HKRClassifier``: a 1-Lipschitz network trained on the hKR loss, as a scikit-learn estimator.

The estimator follows scikit-learn's conventions (``fit`` / ``predict`` / ``decision_function``
/ ``score``, ``get_params`` / ``set_params``, ``classes_``, ``n_features_in_``, ``random_state``,
``warm_start``) and adds :meth:`HKRClassifier.certified_radius`, the radius of the L2 ball
around a point in which the prediction provably cannot change (docs/mathematics.md §8; the
multi-class bound is derived in the documentation page *Handwritten digits*).

* Two classes: the network f : R^d -> R minimises the hKR loss with positives = ``classes_[1]``
  (f > 0) and negatives = ``classes_[0]``; ``decision_function`` is f and the certified radius
  is ``|f(x)| / L`` with L the network's Lipschitz bound (1 up to rounding).
* More classes: one output per class, the paper's one-vs-all hKR loss; the prediction is the
  arg-max output.

scikit-learn is an optional dependency (``pip install 'otreg[sklearn]'``): ``import otreg`` does
not import this module; ``otreg.HKRClassifier`` does, on first use.
"""
from __future__ import annotations

from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError("otreg.HKRClassifier needs scikit-learn >= 1.6: "
                      "pip install 'otreg[sklearn]'") from exc

from .data.validate import raw_weights
from .nn import Sequential, fit, fit_multiclass
from .nn.train import data_units
from .problem import Problem

__all__ = ["HKRClassifier", "lipschitz_bound", "certified_radius", "canonical_rows",
           "register_skl2onnx"]

#: training settings passed on to :func:`otreg.nn.fit` / :func:`otreg.nn.fit_multiclass` when set
_TRAINING = ("width", "depth", "activation", "steps", "epochs", "batch_size", "lr", "final_lr",
             "patience", "bjorck_iters", "tol", "decay", "dtype")

#: the classifier's training defaults where they differ from :func:`otreg.nn.fit`'s: a
#: classifier is judged on held-out accuracy, not on the training optimum, and a small network
#: with a short budget generalises as well on the benchmark data at a fraction of the time
#: (docs/neural.md, "HKRClassifier's defaults")
CLASSIFIER_DEFAULTS = {"width": 64, "depth": 2, "steps": 1000}
#: ``margin=None``: the margin is this fraction of the training data's RMS radius (the
#: distance of the points to their mean, root-mean-square), so that the classifier does not
#: depend on the units of the features
MARGIN_SCALE = 0.5


def lipschitz_bound(model: Sequential) -> tuple[float, np.ndarray]:
    """``(L_hidden, W_out)``: a Lipschitz bound of the network's last hidden representation
    (product of the spectral norms of all dense layers but the last; the activations are
    1-Lipschitz) and the output layer's effective weight matrix (hidden, C)."""
    dense = model.dense_layers
    hidden = 1.0
    for layer in dense[:-1]:
        hidden *= float(np.linalg.norm(layer.effective_weight(), 2))
    return hidden, dense[-1].effective_weight()


def certified_radius(model: Sequential, scores: np.ndarray) -> np.ndarray:
    """Certified L2 radius of the arg-max / sign prediction of ``model`` from its ``scores``.

    One output: ``|f(x)| / L`` with ``L = L_hidden * |w|`` the network's Lipschitz bound.
    C outputs ``f_c = w_c . h(x) + b_c`` (h is ``L_hidden``-Lipschitz): the prediction k keeps
    winning against class j while ``f_k - f_j > 0``, and ``f_k - f_j`` is
    ``L_hidden |w_k - w_j|``-Lipschitz, so the radius is
    ``min_{j != k} (f_k(x) - f_j(x)) / (L_hidden |w_k - w_j|)``; it is at least
    ``(f_top - f_second) / (2 L_hidden)`` since each output column has norm <= 1.
    """
    hidden, w_out = lipschitz_bound(model)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:
        bound = hidden * float(np.linalg.norm(w_out))
        return np.abs(scores) / bound if bound > 0 else np.full(scores.shape, np.inf)
    rows = np.arange(scores.shape[0])
    top = np.argmax(scores, axis=1)
    # Lipschitz constant of f_k - f_j for every pair of outputs (C, C)
    pair = np.linalg.norm(w_out[:, :, None] - w_out[:, None, :], axis=0) * hidden
    const = pair[top]                                             # (k, C)
    gaps = scores[rows, top][:, None] - scores                    # (k, C), >= 0
    # const = 0: f_k - f_j is constant, the order of k and j never changes
    ratio = np.where(const > 0, gaps / np.where(const > 0, const, 1.0), np.inf)
    ratio[rows, top] = np.inf
    return np.min(ratio, axis=1)


def canonical_rows(X: np.ndarray, codes: np.ndarray,
                   weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The training data in a canonical form: rows of zero weight dropped, identical
    (features, label) rows merged into one carrying the sum of their weights, in lexicographic
    order of (label, features).

    The hKR loss is the same either way; the point is the training: a network trained for
    hundreds of steps amplifies rounding differences (the order of a sum), so a fit on integer
    weights and one on repeated rows, or on the same rows shuffled, would otherwise end at
    different networks.  In canonical form they see identical data and, with the same seed,
    give bit-identical networks.
    """
    keep = weights > 0
    key = np.column_stack([codes[keep].astype(np.float64), X[keep]])
    rows, inverse = np.unique(key, axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=weights[keep], minlength=rows.shape[0])
    return np.ascontiguousarray(rows[:, 1:]), rows[:, 0].astype(np.intp), merged


class HKRClassifier(ClassifierMixin, BaseEstimator):
    """A 1-Lipschitz network classifier trained with the hinge-regularized KR (hKR) loss.

    Parameters
    ----------
    lam : float >= 0, default 1
        Weight λ of the hinge term (small λ: robustness, f close to a Kantorovich–Rubinstein
        potential; large λ: accuracy, f close to a hinge classifier).
    margin : float > 0, default 0.1
        Hinge margin, in the units of the features (choose it on the scale of the distances
        between classes).
    width, depth : int, optional
        Hidden width and number of hidden layers of the GroupSort network.
    activation : str, optional
        The activation of :func:`otreg.nn.lipschitz_mlp` (GroupSort by default).
    steps, epochs, batch_size, lr, final_lr, patience, tol, decay, bjorck_iters : optional
        Training settings of :func:`otreg.nn.fit`: a budget of ``steps`` Adam steps (or
        ``epochs`` passes over the data), the learning rate divided by ``decay`` on each
        plateau of the full-data loss (``patience`` steps without a relative improvement of
        ``tol``) down to ``lr * final_lr``.  Every setting left at None takes
        :func:`otreg.nn.fit`'s default for the data.
    dtype : {"float32", "float64"}, optional
        Precision of the network's passes during training (:func:`otreg.nn.fit`; default
        float32, about 1.4x faster).  Fits on weighted and on repeated rows agree to this
        precision's rounding (float64: to 1e-7).
    optimizer : {"adam", "sgd"}, default "adam"
    warm_start : bool, default False
        Continue from the previous fit's network (same classes and features), e.g. along a λ
        path.
    random_state : int, RandomState or None
        Seed of the initial weights and of the mini-batches; an int gives identical fits.
    verbose : bool, default False
        Show a training progress bar.

    Attributes
    ----------
    classes_ : ndarray (C,)
        The class labels (sorted); for two classes ``classes_[1]`` is the positive class.
    n_features_in_ : int
    model_ : otreg.nn.Sequential
        The trained (frozen, exactly 1-Lipschitz) network.
    loss_ : float
        Its empirical hKR loss on the training data (sample weights included).
    history_ : list of float
        Training loss at each evaluation (see :class:`otreg.nn.TrainResult`).
    """

    def __init__(self, lam: float = 10.0, margin: float | None = None, *,
                 width: int | None = None,
                 depth: int | None = None, activation: str | None = None,
                 steps: int | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None,
                 final_lr: float | None = None, patience: int | None = None,
                 optimizer: str = "adam", bjorck_iters: int | None = None,
                 tol: float | None = None, decay: float | None = None,
                 dtype: str | None = None, warm_start: bool = False, random_state: Any = None,
                 verbose: bool = False) -> None:
        self.lam = lam
        self.margin = margin
        self.width = width
        self.depth = depth
        self.activation = activation
        self.steps = steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.final_lr = final_lr
        self.patience = patience
        self.optimizer = optimizer
        self.bjorck_iters = bjorck_iters
        self.tol = tol
        self.decay = decay
        self.dtype = dtype
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> "HKRClassifier":
        """Train the network on features ``X`` (n, d) and labels ``y`` (n,) (any two or more
        labels), optionally with non-negative ``sample_weight`` (n,)."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        weights = self._sample_weight(sample_weight, X.shape[0])
        mass = np.bincount(codes, weights=weights, minlength=len(classes))
        if len(classes) < 2 or np.count_nonzero(mass > 0) < 2:
            raise ValueError(f"y: needs samples of at least 2 classes with positive weight, got "
                             f"{np.count_nonzero(mass > 0)} class")
        if np.any(mass <= 0):
            raise ValueError(f"sample_weight: every class needs a positive total weight; class "
                             f"{classes[np.argmin(mass)]!r} has none")
        X, codes, weights = canonical_rows(X, codes, weights)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        previous = self._warm_model(classes, X.shape[1])
        settings = {**CLASSIFIER_DEFAULTS, **{name: getattr(self, name) for name in _TRAINING
                                              if getattr(self, name) is not None}}
        margin = self._margin(X, weights)
        settings.update(optimizer=self.optimizer, seed=seed, progress=bool(self.verbose),
                        model=previous)
        if len(classes) == 2:
            pos = codes == 1
            problem = Problem(X[pos], X[~pos], self.lam, margin, a=weights[pos],
                              b=weights[~pos])
            # the network alone: cones fit the training sample, not held-out points
            # (docs/neural.md §5.8)
            result = fit(problem, architecture="mlp", **settings)
        else:
            result = fit_multiclass(X, codes, self.lam, margin, weights, **settings)
        self.classes_ = classes
        self.margin_ = margin
        self.model_ = result.model
        self.loss_ = float(result.loss)
        self.history_ = list(result.history)
        return self

    def _margin(self, X: np.ndarray, weights: np.ndarray) -> float:
        """The margin given, or :data:`MARGIN_SCALE` x the data's RMS radius (None)."""
        if self.margin is not None:
            return self.margin
        return MARGIN_SCALE * data_units(X, weights)[1]

    @staticmethod
    def _sample_weight(sample_weight: Any, n: int) -> np.ndarray:
        """The weights checked by :func:`otreg.data.validate.raw_weights` (an InputError is a
        ValueError, as scikit-learn expects); a scalar weighs every sample alike."""
        if sample_weight is None:
            return np.ones(n)
        w = np.asarray(sample_weight, dtype=np.float64)
        return raw_weights(np.full(n, w) if w.ndim == 0 else w, n, "sample_weight")

    def _warm_model(self, classes: np.ndarray, n_features: int) -> Sequential | None:
        """The previous network if ``warm_start`` and it fits the new data, else None."""
        old = getattr(self, "model_", None)
        if not self.warm_start or old is None:
            return None
        out = 1 if len(classes) == 2 else len(classes)
        if (old.in_dim != n_features or old.out_dim != out
                or not np.array_equal(getattr(self, "classes_", None), classes)):
            return None
        return old

    # ------------------------------------------------------------------ prediction
    def decision_function(self, X: Any) -> np.ndarray:
        """The network's output: f(x) (n,) for two classes (> 0 means ``classes_[1]``), the C
        one-vs-all scores (n, C) otherwise."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.model_.predict(X)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted class of each row of ``X``."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.intp)]
        return self.classes_[np.argmax(scores, axis=1)]

    def certified_radius(self, X: Any) -> np.ndarray:
        """For each row x of ``X``: a radius r such that every x' with |x' - x| < r (Euclidean)
        gets the same prediction as x.

        Two classes: ``|f(x)|`` divided by the network's Lipschitz bound (1 up to rounding).
        More classes: ``min_{j != k} (f_k(x) - f_j(x)) / Lip(f_k - f_j)`` for the predicted
        class k, with ``Lip(f_k - f_j) = |w_k - w_j|`` computed from the output layer (see
        :func:`certified_radius`); at least half the gap between the two top scores.
        """
        scores = self.decision_function(X)  # first: NotFittedError before model_ is read
        return certified_radius(self.model_, scores)


def register_skl2onnx() -> None:
    """Register :class:`HKRClassifier` with skl2onnx, so that ``skl2onnx.to_onnx(clf,
    X[:1].astype(np.float32))`` converts a fitted classifier like any scikit-learn model
    (``pip install 'otreg[onnx]'``).  Call it once before converting; calling again is
    harmless.

    The graph's outputs are skl2onnx's for a classifier: the label (as :meth:`~HKRClassifier.
    predict`) and, in place of probabilities (the hKR network has none), the decision
    function: ``(-f, f)`` for two classes, the C one-vs-all scores otherwise.  The option
    ``zipmap`` (default True: a list of {class: score} dicts) works as for scikit-learn's
    classifiers; pass ``options={"zipmap": False}`` for a plain (N, C) array.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError("register_skl2onnx needs skl2onnx: pip install 'otreg[onnx]'") \
            from None
    from .nn.onnx_sklearn import converter, shape_calculator

    update_registered_converter(HKRClassifier, "OtregHKRClassifier", shape_calculator,
                                converter, options={"zipmap": [True, False, "columns"],
                                                    "nocl": [True, False]})
