"""Model save/load and data-file reading (npz / CSV)."""
import numpy as np
import pytest

from otreg.data.io import load_dataset, load_points, save_dataset
from otreg.errors import InputError
from otreg.nn import lipschitz_mlp, load_model, save_model

rng = np.random.default_rng(3)


def perturbed_model(**kw):
    model = lipschitz_mlp(2, width=8, depth=2, seed=4, **kw)
    for layer in model.dense_layers:
        layer.weight.data += 0.3 * rng.standard_normal(layer.weight.data.shape)
        layer.bias.data += 0.1 * rng.standard_normal(layer.bias.data.shape)
    return model


@pytest.mark.parametrize("frozen", [True, False])
@pytest.mark.parametrize("activation", ["groupsort", "fullsort", "relu"])
def test_model_round_trip_identical_predictions(tmp_path, frozen, activation):
    model = perturbed_model(activation=activation)
    if frozen:
        model.freeze()
    path = tmp_path / "m.npz"
    save_model(model, path)
    loaded = load_model(path)
    x = rng.standard_normal((50, 2))
    assert np.array_equal(model.predict(x), loaded.predict(x))
    assert np.array_equal(model.grad(x), loaded.grad(x))
    assert loaded.config() == model.config()
    assert loaded.frozen == frozen
    # plain npz, readable without pickle
    with np.load(path, allow_pickle=False) as z:
        assert "architecture" in z.files


def test_model_saved_under_any_name(tmp_path):
    model = perturbed_model().freeze()
    path = tmp_path / "model.bin"
    save_model(model, path)
    assert path.exists() and not (tmp_path / "model.bin.npz").exists()
    assert np.array_equal(load_model(path).predict(np.ones((1, 2))), model.predict(np.ones((1, 2))))


def test_bad_model_files(tmp_path):
    with pytest.raises(InputError, match="^model.*not found"):
        load_model(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(InputError, match="^model"):
        load_model(junk)
    data = tmp_path / "data.npz"
    np.savez(data, x_pos=np.zeros((2, 2)), x_neg=np.ones((2, 2)))
    with pytest.raises(InputError, match="architecture"):
        load_model(data)
    good = tmp_path / "good.npz"
    save_model(perturbed_model(), good)
    with np.load(good) as z:
        arrays = {k: z[k] for k in z.files}
    bad = dict(arrays)
    bad["layer0.weight"] = np.zeros((3, 3))
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(InputError, match="^model.*layer 0"):
        load_model(tmp_path / "shape.npz")
    bad = dict(arrays)
    bad["architecture"] = np.array(["{not json"])
    np.savez(tmp_path / "json.npz", **bad)
    with pytest.raises(InputError, match="JSON"):
        load_model(tmp_path / "json.npz")
    bad = dict(arrays)
    del bad["layer2.weight"]
    np.savez(tmp_path / "missing_w.npz", **bad)
    with pytest.raises(InputError, match="missing array"):
        load_model(tmp_path / "missing_w.npz")
    bad = dict(arrays)
    bad["layer0.weight"] = np.full_like(arrays["layer0.weight"], np.nan)
    np.savez(tmp_path / "nan.npz", **bad)
    with pytest.raises(InputError, match="non-finite"):
        load_model(tmp_path / "nan.npz")


# ---------------------------------------------------------------------- data files
def clouds():
    return rng.standard_normal((5, 2)), rng.standard_normal((4, 2)) + 1


def test_npz_dataset_round_trip_with_weights(tmp_path):
    xp, xn = clouds()
    a, b = rng.uniform(1, 2, 5), rng.uniform(1, 2, 4)
    save_dataset(tmp_path / "d.npz", xp, xn, a, b)
    got = load_dataset(tmp_path / "d.npz")
    for g, e in zip(got, (xp, xn, a, b)):
        assert np.array_equal(g, e)
    save_dataset(tmp_path / "e.npz", xp, xn)
    assert load_dataset(tmp_path / "e.npz")[2] is None
    pts = load_points(tmp_path / "d.npz")
    assert np.array_equal(pts, np.vstack([xp, xn]))
    np.savez(tmp_path / "p.npz", points=xp)
    assert np.array_equal(load_points(tmp_path / "p.npz"), xp)


def test_csv_dataset_round_trip_and_label_conventions(tmp_path):
    xp, xn = clouds()
    save_dataset(tmp_path / "d.csv", xp, xn)
    gp, gn, a, b = load_dataset(tmp_path / "d.csv")
    assert np.array_equal(gp, xp) and np.array_equal(gn, xn) and a is None and b is None
    # no header (the label column is then given by number), labels 1/0, interleaved rows,
    # comments and blank lines
    rows = ["# a comment", "0.5,1.5,1", "", "2.0,3.0,0", "-1,2,1"]
    (tmp_path / "raw.csv").write_text("\n".join(rows) + "\n")
    gp, gn, _, _ = load_dataset(tmp_path / "raw.csv", label_column=-1)
    assert np.array_equal(gp, [[0.5, 1.5], [-1, 2]]) and np.array_equal(gn, [[2.0, 3.0]])
    with pytest.raises(InputError, match="raw.csv: no header row"):
        load_dataset(tmp_path / "raw.csv")                 # labels are never guessed
    # load_points: file order, a column named 'label' dropped; otherwise every column counts
    assert np.array_equal(load_points(tmp_path / "d.csv"), np.vstack([xp, xn]))
    assert np.array_equal(load_points(tmp_path / "raw.csv", dim=3),
                          [[0.5, 1.5, 1], [2.0, 3.0, 0], [-1, 2, 1]])
    with pytest.raises(InputError, match="raw.csv: points: dimension mismatch"):
        load_points(tmp_path / "raw.csv", dim=2)
    (tmp_path / "pts.csv").write_text("x,y\n1,2\n3,4\n")
    assert np.array_equal(load_points(tmp_path / "pts.csv"), [[1, 2], [3, 4]])
    (tmp_path / "cls.csv").write_text("u,v,cls\n1,2,1\n3,4,0\n")
    assert np.array_equal(load_points(tmp_path / "cls.csv", label_column="cls", dim=2),
                          [[1, 2], [3, 4]])
    with pytest.raises(InputError, match="cls.csv: points: dimension mismatch"):
        load_points(tmp_path / "cls.csv", dim=2)


@pytest.mark.parametrize("content,match", [
    ("", "empty"),
    ("x,y,label\n", "no data rows"),
    ("1,2,1\n3,4\n", "line 2 has 2 columns"),
    ("1,2,1\n3,abc,-1\n", "line 2 has a non-numeric"),
    ("1,2,1\n3,nan,-1\n", "NaN"),
    ("x,y,label\n1,2,1\n3,4,2\n", "labels"),
    ("x,y,label\n1,2,1\n3,4,1\n", "negative class is empty"),
    ("x,y,label\n1,2,-1\n3,4,-1\n", "positive class is empty"),
    ("1\n2\n", "column"),
    ("label\n1\n0\n", "no coordinate column"),
])
def test_bad_csv(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as info:
        load_dataset(path)
    assert "bad.csv" in str(info.value)


def test_bad_npz_and_missing_files(tmp_path):
    with pytest.raises(InputError, match="nope.npz: file not found"):
        load_dataset(tmp_path / "nope.npz")
    with pytest.raises(InputError, match="file not found"):
        load_points(tmp_path / "nope.csv")
    np.savez(tmp_path / "a.npz", x_pos=np.zeros((2, 2)))
    with pytest.raises(InputError, match="missing array"):
        load_dataset(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x_pos=np.zeros((2, 2)), x_neg=np.zeros((2, 3)))
    with pytest.raises(InputError, match="b.npz: x_neg: dimension mismatch"):
        load_dataset(tmp_path / "b.npz")
    np.savez(tmp_path / "c.npz", x_pos=np.zeros((0, 2)), x_neg=np.zeros((2, 2)))
    with pytest.raises(InputError, match="x_pos: is empty"):
        load_dataset(tmp_path / "c.npz")
    np.savez(tmp_path / "d.npz", x_pos=np.full((2, 2), np.nan), x_neg=np.zeros((2, 2)))
    with pytest.raises(InputError, match="NaN"):
        load_dataset(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", x_pos=np.zeros((2, 2)), x_neg=np.zeros((2, 2)), a=[1.0, -1.0])
    with pytest.raises(InputError, match="e.npz: a:"):
        load_dataset(tmp_path / "e.npz")
    np.savez(tmp_path / "f.npz", other=np.zeros(3))
    with pytest.raises(InputError, match="points"):
        load_points(tmp_path / "f.npz")
    (tmp_path / "g.npz").write_bytes(b"garbage")
    with pytest.raises(InputError, match="not an .npz archive"):
        load_dataset(tmp_path / "g.npz")
    with pytest.raises(InputError, match="^a: weights cannot be stored in CSV"):
        save_dataset(tmp_path / "w.csv", np.zeros((1, 2)), np.ones((1, 2)), a=[1.0])
    with pytest.raises(InputError, match="^path"):
        save_dataset(tmp_path / "w.txt", np.zeros((1, 2)), np.ones((1, 2)))
