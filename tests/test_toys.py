"""Toy distributions: registry, sizes, seeds, shapes of the clouds, errors, load_data."""
import numpy as np
import ot
import pytest

from otreg.data.toys import TOYS, list_toys, load_data, make_toy, toy_params, two_moons
from otreg.errors import InputError

#: the hard cases: interleaved or overlapping by design, some in 3-D
HARD_TOYS = ("stripes", "anisotropic", "shell", "clusters")


@pytest.mark.parametrize("name", sorted(TOYS))
def test_sizes_seed_and_finiteness(name):
    xp, xn = make_toy(name, n_pos=37, n_neg=21, seed=3)
    dim = toy_params(name).get("dim", 2)
    assert xp.shape == (37, dim) and xn.shape == (21, dim)
    assert np.all(np.isfinite(xp)) and np.all(np.isfinite(xn))
    xp2, xn2 = make_toy(name, n_pos=37, n_neg=21, seed=3)
    assert np.array_equal(xp, xp2) and np.array_equal(xn, xn2)
    xp3, _ = make_toy(name, n_pos=37, n_neg=21, seed=4)
    assert not np.array_equal(xp, xp3)
    xp4, xn4 = make_toy(name, n_pos=10, seed=0)
    assert xn4.shape == (10, dim)  # n_neg defaults to n_pos


@pytest.mark.parametrize("name", sorted(set(TOYS) - set(HARD_TOYS)))
def test_the_two_classes_are_different_distributions(name):
    """W1 between the classes (POT, exact) is several times the sampling noise: W1 between two
    independent samples of the positive class (measured ratios 3.5 (spirals) to 14)."""
    xp, xn = make_toy(name, 200, seed=0)
    xp2, _ = make_toy(name, 200, seed=1)
    between = ot.emd2([], [], ot.dist(xp, xn, metric="euclidean"))
    within = ot.emd2([], [], ot.dist(xp, xp2, metric="euclidean"))
    assert between > 2.5 * within


def test_hard_toys_have_their_shape():
    """stripes: classes in alternate stripes, ``shared`` negatives equal to positives;
    anisotropic: covariance axes 4:1, means apart along the long axis; shell: negatives on
    the sphere of radius 1.2 (noise 0.15); clusters: any dimension."""
    xp, xn = make_toy("stripes", 300, 200, stripes=8, shared=5, seed=1)
    col_p, col_n = np.floor((xp[:, 0] + 1) / 0.25), np.floor((xn[:, 0] + 1) / 0.25)
    assert np.all(col_p % 2 == 0) and np.all(col_n[:-5] % 2 == 1)
    assert all(any(np.array_equal(z, x) for x in xp) for z in xn[-5:])
    xp, xn = make_toy("anisotropic", 4000, 4000, ratio=4.0, angle=0.0, separation=0.6, seed=2)
    cov = np.cov(np.vstack([xp - xp.mean(0), xn - xn.mean(0)]).T)
    assert cov[0, 0] / cov[1, 1] == pytest.approx(16.0, rel=0.1)
    assert xp.mean(0) - xn.mean(0) == pytest.approx([0.6, 0.0], abs=0.06)
    assert make_toy("anisotropic", 5, dim=10)[0].shape == (5, 10)
    xp, xn = make_toy("shell", 2000, 2000, dim=3, seed=3)
    r = np.linalg.norm(xn, axis=1)
    assert r.mean() == pytest.approx(1.2, abs=0.02) and r.std() == pytest.approx(0.15, rel=0.1)
    assert np.linalg.norm(xp, axis=1).mean() < 0.6
    xp, xn = make_toy("clusters", 300, 300, dim=10, k=4, std=0.05, seed=4)
    assert xp.shape == (300, 10)
    with pytest.raises(InputError, match="^shared"):
        make_toy("stripes", 3, 3, shared=4)
    with pytest.raises(InputError, match="^dim"):
        make_toy("shell", 3, dim=1)


def test_list_and_unknown_name():
    assert list_toys() == sorted(["moons", "circles", "gaussians", "spirals", "xor", "ring_blob",
                                  *HARD_TOYS])
    with pytest.raises(InputError) as exc:
        make_toy("banana")
    msg = str(exc.value)
    assert msg.startswith("name")
    for n in list_toys():
        assert n in msg


def test_aliases_and_two_moons_signature():
    a = make_toy("two_moons", 20, seed=1)
    b = two_moons(20, seed=1)
    c = make_toy("moons", n_pos=20, seed=1)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert all(np.array_equal(u, v) for u, v in zip(a, c))
    assert make_toy("checkerboard", 5)[0].shape == (5, 2)


def test_bad_arguments():
    with pytest.raises(InputError, match="^n_pos"):
        make_toy("moons", n_pos=0)
    with pytest.raises(InputError, match="^n_neg"):
        make_toy("moons", n_pos=3, n_neg=2.5)
    with pytest.raises(InputError, match="^wiggle"):
        make_toy("circles", 10, wiggle=2)
    with pytest.raises(InputError, match="^noise"):
        make_toy("moons", 10, noise=-1)
    with pytest.raises(InputError, match="^cells"):
        make_toy("xor", 10, cells=1)
    assert "separation" in toy_params("gaussians")


def test_geometry_of_each_toy():
    xp, xn = make_toy("circles", 2000, r_pos=0.5, r_neg=1.0, noise=0.0)
    assert np.allclose(np.linalg.norm(xp, axis=1), 0.5)
    assert np.allclose(np.linalg.norm(xn, axis=1), 1)
    xp, xn = make_toy("gaussians", 4000, separation=3.0, std=0.2)
    assert np.allclose(xp.mean(0), [1.5, 0], atol=0.02)
    assert np.allclose(xn.mean(0), [-1.5, 0], atol=0.02)
    assert np.allclose(xp.std(0), 0.2, atol=0.01)
    xp, _ = make_toy("gaussians", 4000, std=0.2, anisotropy=3.0)
    assert abs(xp[:, 1].std() / xp[:, 0].std() - 3.0) < 0.2
    xp, xn = make_toy("gaussians", 100, separation=0.0, seed=2)  # full overlap is allowed
    xp, xn = make_toy("xor", 500, gap=0.1)
    assert np.all(xp[:, 0] * xp[:, 1] < 0) or np.all(xp[:, 0] * xp[:, 1] > 0)
    assert np.all(np.sign(xp[:, 0] * xp[:, 1]) == -np.sign(xn[:, 0] * xn[:, 1])[:1])
    xp, xn = make_toy("ring_blob", 1000)
    assert np.linalg.norm(xp, axis=1).mean() < 0.5 < 1.2 < np.linalg.norm(xn, axis=1).mean()
    xp, xn = make_toy("spirals", 300, noise=0.0)
    assert np.allclose(xn.mean(0), -xp.mean(0), atol=0.3)  # arms rotated by pi


def test_load_data_toy_and_files(tmp_path):
    xp, xn, a, b = load_data("moons", n=12, seed=5, n_neg=7)
    assert xp.shape == (12, 2) and xn.shape == (7, 2) and a is None and b is None
    assert np.array_equal(xp, make_toy("moons", 12, 7, seed=5)[0])
    from otreg.data.io import save_dataset

    path = tmp_path / "d.npz"
    save_dataset(path, xp, xn, a=np.arange(1, 13), b=None)
    xp2, xn2, a2, _ = load_data(str(path))
    assert np.array_equal(xp2, xp) and np.array_equal(xn2, xn) and a2 is not None
    with pytest.raises(InputError, match="^data"):
        load_data(str(tmp_path / "missing.npz"))
