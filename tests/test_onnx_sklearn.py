"""HKRClassifier through skl2onnx: onnxruntime's labels and scores equal predict and
decision_function, for two classes (string labels) and more (integer labels)."""
import numpy as np
import onnxruntime as ort
import pytest
import skl2onnx
from sklearn.datasets import make_blobs

from otreg import HKRClassifier
from otreg.classifier import register_skl2onnx

# small training budgets on purpose: the neural solver's "stopped on its budget" warning is noise
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")


@pytest.mark.parametrize("n_classes", [2, 4])
def test_classifier_converts_through_skl2onnx(n_classes):
    x, y = make_blobs(150, centers=n_classes, n_features=3, cluster_std=2.0, random_state=0)
    if n_classes == 2:
        y = np.array(["no", "yes"])[y]
    clf = HKRClassifier(lam=5.0, steps=40, width=8, depth=2, lr=0.05, random_state=0)
    clf.fit(x, y)
    register_skl2onnx()
    x32 = x.astype(np.float32)
    onx = skl2onnx.to_onnx(clf, x32[:1], options={"zipmap": False})
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    labels, scores = session.run(None, {session.get_inputs()[0].name: x32})
    # the estimator on the same (single-precision) features
    want_labels = clf.predict(x32.astype(np.float64))
    want = clf.decision_function(x32.astype(np.float64))
    np.testing.assert_array_equal(labels, want_labels)
    assert len(set(want_labels)) == n_classes  # every class is predicted somewhere
    if n_classes == 2:
        want = np.stack([-want, want], axis=1)
    assert scores.shape == (len(x), n_classes)
    np.testing.assert_allclose(scores, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())
    # the default output: skl2onnx's ZipMap, one {class: score} dict per row
    default = skl2onnx.to_onnx(clf, x32[:1])
    session = ort.InferenceSession(default.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    labels, maps = session.run(None, {session.get_inputs()[0].name: x32[:5]})
    np.testing.assert_array_equal(labels, want_labels[:5])
    assert maps[0][clf.classes_[-1]] == pytest.approx(want[0, -1], rel=1e-5)
