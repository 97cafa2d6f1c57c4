"""Fault injection: hostile or careless input and faults, through the API and the
command line.  Every case must end in a clear error naming the argument or the file (never a
traceback, never a silent wrong answer), or in the right answer; sweeps must never lose or
duplicate a row, nor leave processes behind.

The command line is driven in-process (``otreg.cli.main``) except where signals are involved.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import otreg.plot  # noqa: F401  (imported before any test switches to an unprivileged user,
import otreg.plot.view  # noqa: F401  who may not read the Python installation)
from otreg import Problem, hkr_transport, wasserstein1
from otreg.cli import main
from otreg.data.io import load_dataset, load_points, read_csv, save_dataset
from otreg.data.toys import load_data, make_toy
from otreg.errors import InputError, MemoryLimitError, OtregError, TrainingError
from otreg.nn import fit, load_model
from otreg.potential import Potential
from otreg.study import (dedupe_rows, grid, make_configs, read_table, row_key, run_one, summarize,
                         sweep, trade_off_table)
from otreg.study.grid import _check_columns
from otreg.study.tables import _TableLock
from otreg.verify import verify
from otreg.verify.check import Check, combine, not_applicable
from otreg.verify.geometry import ray_points
from otreg.verify.neural import check_potential_agreement
from otreg.verify.optimality import lipschitz_estimate, nearest_optimal_values

#: these tests train on deliberately short budgets: the budget warning is expected
pytestmark = pytest.mark.filterwarnings("ignore::otreg.nn.TrainingBudgetWarning")

LINUX = sys.platform.startswith("linux")
XP, XN = make_toy("moons", 12, seed=0)


# ------------------------------------------------------------------------------------ helpers
def one_line_error(err: str, *needles: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("otreg "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory, barely_trained_model):
    """A data set (npz, csv) of XP, XN, a 3-D data set, and a small trained 2-D model (the
    shared one of conftest.py, trained on XP, XN)."""
    d = tmp_path_factory.mktemp("faults")
    save_dataset(d / "d.npz", XP, XN)
    save_dataset(d / "d.csv", XP, XN)
    rng = np.random.default_rng(0)
    save_dataset(d / "d3.npz", rng.normal(size=(10, 3)), rng.normal(size=(9, 3)) + 1.5)
    shutil.copyfile(barely_trained_model, d / "m.npz")
    return d


@contextlib.contextmanager
def unprivileged():
    """Run as user 'nobody' (root ignores permission bits): read-only really is read-only."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def public_tmp():
    """A directory every user can enter (pytest's own is private to its user)."""
    d = tempfile.mkdtemp(prefix="otreg-faults-")
    os.chmod(d, 0o777)
    yield d
    for root, dirs, _ in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
    shutil.rmtree(d, ignore_errors=True)


# ================================================================ arrays, weights, parameters
BAD_POINTS = [
    ("nan", lambda x: np.where(np.arange(x.size).reshape(x.shape) == 3, np.nan, x), "NaN"),
    ("inf", lambda x: x * np.inf, "infinite"),
    ("-inf", lambda x: -np.inf + x, "infinite"),
    ("complex", lambda x: x + 1j, "complex"),
    ("complex zero imag", lambda x: x.astype(complex), "complex"),
    ("complex list", lambda x: [[1 + 2j, 0.0]], "complex"),
    ("bool", lambda x: x > 0, "boolean"),
    ("strings", lambda x: x.astype(str), "string"),
    ("bytes", lambda x: x.astype("S8"), "bytes"),
    ("datetime", lambda x: np.array([["2020-01-01", "2020-01-02"]], dtype="M8[D]"), "datetime"),
    ("record", lambda x: np.zeros(3, dtype=[("a", float), ("b", float)]), "structured"),
    ("None", lambda x: None, "float array"),
    ("dict", lambda x: {"a": 1}, "float array"),
    ("text", lambda x: "points", "string"),
    ("ragged", lambda x: [[1.0, 2.0], [3.0]], "float array"),
    ("object junk", lambda x: np.array([[object(), 1.0]], dtype=object), "float array"),
    ("1-D", lambda x: x[:, 0], "2-D array"),
    ("3-D", lambda x: x[None], "2-D array"),
    ("scalar", lambda x: 3.0, "2-D array"),
    ("empty", lambda x: x[:0], "empty"),
    ("no columns", lambda x: x[:, :0], "dimension 0"),
    ("overflow", lambda x: x * 0 + float("1e309"), "infinite"),
]


@pytest.mark.parametrize("which", ["x_pos", "x_neg"])
@pytest.mark.parametrize("label,make,match", BAD_POINTS, ids=[c[0] for c in BAD_POINTS])
def test_bad_points_name_the_argument(which, label, make, match):
    kw = {"x_pos": XP, "x_neg": XN}
    kw[which] = make(kw[which].copy())
    with pytest.raises(InputError, match=f"^{which}: .*{match}"):
        Problem(**kw)


@pytest.mark.parametrize("shape", [(12, 3), (12, 1)])
def test_dimension_mismatch(shape):
    with pytest.raises(InputError, match="^x_neg: dimension mismatch"):
        hkr_transport(XP, np.zeros(shape))


BAD_WEIGHTS = [
    ("negative", lambda k: -np.ones(k), "non-negative"),
    ("one negative", lambda k: np.r_[np.ones(k - 1), -1e-9], "non-negative"),
    ("zero sum", lambda k: np.zeros(k), "sum to zero"),
    ("nan", lambda k: np.full(k, np.nan), "NaN"),
    ("inf", lambda k: np.full(k, np.inf), "NaN or infinite"),
    ("short", lambda k: np.ones(k - 1), "shape"),
    ("long", lambda k: np.ones(k + 1), "shape"),
    ("2-D", lambda k: np.ones((k, 1)), "shape"),
    ("scalar", lambda k: 1.0, "shape"),
    ("complex", lambda k: np.ones(k) * 1j, "complex"),
    ("bool", lambda k: np.ones(k, bool), "boolean"),
    ("strings", lambda k: ["1"] * k, "string"),
]


@pytest.mark.parametrize("which", ["a", "b"])
@pytest.mark.parametrize("label,make,match", BAD_WEIGHTS, ids=[c[0] for c in BAD_WEIGHTS])
def test_bad_weights_name_the_argument(which, label, make, match):
    k = len(XP) if which == "a" else len(XN)
    with pytest.raises(InputError, match=f"^{which}: .*{match}"):
        Problem(XP, XN, **{which: make(k)})


def test_good_weights_with_zeros_and_a_prior_from_masses():
    pr = Problem(XP, XN, a=np.r_[np.zeros(11), 2.0], b=np.ones(12) * 3)
    assert pr.a.sum() == pytest.approx(1) and pr.p == pytest.approx(2 / 38)


BAD_PARAMS = [
    ("lam", -1.0, "lam: must be >= 0"), ("lam", float("nan"), "lam: must be finite"),
    ("lam", float("inf"), "lam: must be finite"), ("lam", "x", "lam: expected a number"),
    ("lam", True, "lam: expected a number"), ("lam", 1j, "lam: expected a number"),
    ("lam", [1.0], "lam: expected a number"), ("lam", "1e400", "lam: must be finite"),
    ("margin", 0.0, "margin: must be > 0"), ("margin", -0.1, "margin: must be > 0"),
    ("margin", float("nan"), "margin: must be finite"), ("margin", "abc", "margin: expected"),
    ("margin", None, "margin: expected a number"), ("margin", np.bool_(True), "margin: expected"),
    ("p", 0.0, "p: the positive-class prior"), ("p", 1.0, "p: the positive-class prior"),
    ("p", -0.2, "p: the positive-class prior"), ("p", 1.5, "p: the positive-class prior"),
    ("p", float("nan"), "p: the positive-class prior"), ("p", "half", "p: expected a number"),
]


@pytest.mark.parametrize("name,value,match", BAD_PARAMS)
def test_bad_parameters(name, value, match):
    with pytest.raises(InputError, match="^" + match):
        Problem(XP, XN, **{name: value})


def test_parameters_cannot_be_given_twice():
    pr = Problem(XP, XN)
    with pytest.raises(InputError, match="^lam: already set"):
        hkr_transport(pr, lam=2.0)
    with pytest.raises(InputError, match="^x_neg: missing"):
        hkr_transport(XP)
    with pytest.raises(AttributeError, match="read-only"):
        pr.lam = 3.0
    with pytest.raises(ValueError):
        pr.x_pos[0, 0] = 1.0            # the arrays are frozen copies


API_ERRORS = [
    ("method", lambda: hkr_transport(XP, XN, method="bogus"), InputError, "^method"),
    ("extension", lambda: hkr_transport(XP, XN).extension("bogus"), InputError, "^kind"),
    ("potential dim", lambda: hkr_transport(XP, XN).potential(np.zeros((2, 3))), InputError,
     "^points"),
    ("w1 nan", lambda: wasserstein1(XP, XN * np.nan), InputError, "^x_neg"),
    ("memory guard", lambda: hkr_transport(np.zeros((300_000, 2)), np.ones((300_000, 2)),
                                           method="netsimplex"), MemoryLimitError, "GiB"),
    ("fit epochs", lambda: fit(XP, XN, epochs=0, progress=False), InputError, "^epochs"),
    ("fit lr", lambda: fit(XP, XN, lr=float("nan"), progress=False), InputError, "^lr"),
    ("fit lr<0", lambda: fit(XP, XN, lr=-1, progress=False), InputError, "^lr"),
    ("fit batch", lambda: fit(XP, XN, batch_size=0, progress=False), InputError, "^batch_size"),
    ("fit width", lambda: fit(XP, XN, width=0, progress=False), InputError, "^width"),
    ("fit activation", lambda: fit(XP, XN, activation="tanh", progress=False), InputError,
     "^activation"),
    ("fit seed", lambda: fit(XP, XN, seed=-1, progress=False), InputError, "^seed"),
    ("fit seed float", lambda: fit(XP, XN, seed=1.5, progress=False), InputError, "^seed"),
    ("fit optimizer", lambda: fit(XP, XN, optimizer="lbfgs", progress=False), InputError,
     "^optimizer"),
    ("verify seed", lambda: verify(XP, XN, neural=False, seed=-1), InputError, "^seed"),
    ("verify extension", lambda: verify(XP, XN, neural=False, extension="x"), InputError,
     "^extension"),
    ("verify model dim", lambda: verify(XP, XN, model=Potential(lambda p: p[:, 2])), InputError,
     "^model: cannot be evaluated"),
    ("verify model junk", lambda: verify(XP, XN, model=object()), InputError, "^model"),
    ("verify model nan", lambda: verify(XP, XN, model=Potential(lambda p: p[:, 0] * np.nan)),
     InputError, "^model: returns NaN"),
    ("verify model 2 outputs", lambda: verify(XP, XN, model=Potential(lambda p: p)),
     InputError, "^model: expected one value"),
    ("toy name", lambda: make_toy("banana", 5), InputError, "banana"),
    ("toy n", lambda: make_toy("moons", 0), InputError, "^n_pos"),
    ("toy seed", lambda: make_toy("moons", 5, seed=-1), InputError, "^seed"),
    ("toy noise", lambda: make_toy("moons", 5, noise=-1), InputError, "^noise"),
    ("toy kw", lambda: make_toy("moons", 5, bogus=1), InputError, "^bogus"),
    ("load_data missing", lambda: load_data("no/such/file.csv"), InputError, "^data"),
    ("sweep lam", lambda: make_configs(["moons"], [-1], [0.1], [0]), InputError, "^lam"),
    ("sweep seed", lambda: make_configs(["moons"], [1], [0.1], [-3]), InputError, "^seed"),
    ("sweep n", lambda: make_configs(["moons"], [1], [0.1], [0], n=1), InputError, "^n"),
    ("sweep datasets", lambda: make_configs([], [1], [0.1], [0]), InputError, "^datasets"),
]


@pytest.mark.parametrize("label,call,exc,match", API_ERRORS, ids=[c[0] for c in API_ERRORS])
def test_api_errors_are_clear(label, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ===================================================================================== files
GOOD_CSV = [
    ("header", b"x,y,label\n0,0,1\n3,0,-1\n0,1,1\n", None),
    ("BOM", b"\xef\xbb\xbfx,y,label\n0,0,1\n3,0,-1\n0,1,1\n", None),
    ("UTF-16", "x,y,label\n0,0,1\n3,0,-1\n0,1,1\n".encode("utf-16"), None),
    ("CRLF", b"x,y,label\r\n0,0,1\r\n3,0,-1\r\n0,1,1\r\n", None),
    ("label first", b"label,x,y\n1,0,0\n-1,3,0\n1,0,1\n", None),
    ("Label case", b"x,y,Label\n0,0,1\n3,0,-1\n0,1,1\n", None),
    ("labels 1/0", b"x,y,label\n0,0,1\n3,0,0\n0,1,1\n", None),
    ("quoted", b'"x","y","label"\n"0","0","1"\n"3","0","-1"\n"0","1","1"\n', None),
    ("semicolons", b"x;y;label\n0;0;1\n3;0;-1\n0;1;1\n", None),
    ("tabs", b"x\ty\tlabel\n0\t0\t1\n3\t0\t-1\n0\t1\t1\n", None),
    ("blanks", b"x y label\n0 0 1\n3   0 -1\n0 1 1\n", None),
    ("comments", b"# exported\nx,y,label\n\n0,0,1\n# mid\n3,0,-1\n0,1,1\n", None),
    ("spaces", b" x , y , label \n 0 , 0 , 1\n3,0,-1\n0,1,1\n", None),
    ("named column", b"x,y,cls\n0,0,1\n3,0,-1\n0,1,1\n", "cls"),
    ("numbered, no header", b"0,0,1\n3,0,-1\n0,1,1\n", -1),
    ("numbered first", b"1,0,0\n-1,3,0\n1,0,1\n", 1),
]


@pytest.mark.parametrize("label,content,column", GOOD_CSV, ids=[c[0] for c in GOOD_CSV])
def test_csv_variants_read_right(tmp_path, label, content, column):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    xp, xn, a, b = load_dataset(path, **({} if column is None else {"label_column": column}))
    assert np.array_equal(xp, [[0, 0], [0, 1]]) and np.array_equal(xn, [[3, 0]])
    assert a is None and b is None


BAD_CSV = [
    # labels are never guessed
    ("no header", b"0,0,1\n3,0,-1\n", "no header row, so no column named 'label'"),
    ("binary last coordinate", b"0,0,1\n3,0,0\n0,1,1\n", "no header row"),
    ("no label column", b"x,y,z\n0,0,1\n3,0,0\n", "no column named 'label'"),
    ("header typo", b"x,y,lable\n0,0,1\n3,0,-1\n", "Is 'lable' the label column"),
    ("two label columns", b"label,x,label\n1,0,1\n-1,3,-1\n", "ambiguous"),
    # a malformed first row is data, not a header
    ("typo in first row", b"1,2x,1\n3,4,-1\n", "line 1 has a non-numeric value '2x' in column 2"),
    ("typo after header", b"x,y,label\n1,2x,1\n", "line 2 has a non-numeric value '2x'"),
    ("mixed header", b"x,1,label\n0,0,1\n", "line 1 has a non-numeric value 'x'"),
    ("empty header cell", b"x,,label\n0,0,1\n", "line 1 is a header with no name for column 2;"),
    ("empty cell", b"x,y,label\n0,,1\n", "line 2 has an empty cell in column 2"),
    ("trailing comma", b"x,y,label\n0,0,1,\n", "line 2 has 4 columns, expected 3"),
    ("short row", b"x,y,label\n0,0,1\n3,-1\n", "line 3 has 2 columns"),
    ("nan", b"x,y,label\n0,nan,1\n3,0,-1\n", "NaN or infinite value at line 2, column 2"),
    ("inf", b"x,y,label\n0,0,1\n-inf,0,-1\n", "NaN or infinite value at line 3"),
    ("label 2", b"x,y,label\n0,0,1\n3,0,2\n", "must hold labels in"),
    ("label 0.5", b"x,y,label\n0,0,1\n3,0,0.5\n", "must hold labels in"),
    ("only positives", b"x,y,label\n0,0,1\n3,0,1\n", "negative class is empty"),
    ("only negatives", b"x,y,label\n0,0,-1\n3,0,-1\n", "positive class is empty"),
    ("mixed conventions", b"x,y,label\n0,0,-1\n3,0,0\n", "must hold labels in"),
    ("only labels", b"label\n1\n-1\n", "no coordinate column"),
    ("empty", b"", "the file is empty"),
    ("blank lines", b"\n\n  \n", "the file is empty"),
    ("comments only", b"# nothing\n", "the file is empty"),
    ("header only", b"x,y,label\n", "has a header but no data rows"),
    ("NUL bytes", b"x,y,label\n0,0\x00,1\n", "a binary file"),
    ("latin-1", "x,y,label,caf\xe9\n".encode("latin-1"), "not a UTF-8 text file"),
    ("zip content", b"PK\x03\x04rest", "a zip archive"),
    ("npy content", b"\x93NUMPY\x01\x00", "a single NumPy .npy array"),
    ("unterminated quote", b'x,y,label\n"0,0,1\n', "line 2 has 1 columns, expected 3"),
]


@pytest.mark.parametrize("label,content,match", BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_bad_csv_is_one_clear_error(tmp_path, label, content, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=f"^{path}: ") as info:
        load_dataset(path)
    assert match in str(info.value)


@pytest.mark.parametrize("column,match", [(0, "out of range"), (4, "out of range"),
                                          (-4, "out of range"), ("", "expected a column"),
                                          (True, "expected a column"), (2.5, "expected")])
def test_bad_label_column(tmp_path, column, match):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x,y,label\n0,0,1\n3,0,-1\n")
    with pytest.raises(InputError, match=match):
        load_dataset(path, label_column=column)


def test_header_is_kept_apart_from_data(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"x0,x1,label\n1,2,1\n")
    header, data, lines = read_csv(path)
    assert header == ["x0", "x1", "label"] and data.tolist() == [[1, 2, 1]] and lines == [2]
    path.write_bytes(b"1,2,1\n3,4,-1\n")
    header, data, lines = read_csv(path)          # no row swallowed as a header
    assert header is None and data.shape == (2, 3) and lines == [1, 2]


def _npz(path, **arrays):
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _save_npy(path, arr=XP):
    """A single .npy array written under the given name (an .npz expected there)."""
    with open(path, "wb") as fh:
        np.save(fh, arr)


BAD_NPZ = [
    ("npy renamed", _save_npy, "a single NumPy .npy array"),
    ("text renamed", lambda p: p.write_text("x,y,label\n0,0,1\n"), "not an .npz archive"),
    ("garbage", lambda p: p.write_bytes(b"garbage"), "not an .npz archive"),
    ("empty", lambda p: p.write_bytes(b""), "not an .npz archive"),
    ("truncated zip", lambda p: p.write_bytes(b"PK\x03\x04\x14\x00"), "cannot read as .npz"),
    ("pickled objects", lambda p: _npz(p, x_pos=np.array([[object()]], dtype=object),
                                       x_neg=XN), "cannot read as .npz"),
    ("missing x_neg", lambda p: _npz(p, x_pos=XP), "missing array"),
    ("complex", lambda p: _npz(p, x_pos=XP + 1j, x_neg=XN), "x_pos: expected real numbers"),
    ("bool", lambda p: _npz(p, x_pos=XP > 0, x_neg=XN), "x_pos: expected real numbers"),
    ("1-D", lambda p: _npz(p, x_pos=XP[:, 0], x_neg=XN), "x_pos: expected a 2-D array"),
    ("dims", lambda p: _npz(p, x_pos=XP, x_neg=np.zeros((3, 3))), "x_neg: dimension"),
    ("nan", lambda p: _npz(p, x_pos=XP * np.nan, x_neg=XN), "x_pos: contains"),
    ("empty class", lambda p: _npz(p, x_pos=XP[:0], x_neg=XN), "x_pos: is empty"),
    ("bad weights", lambda p: _npz(p, x_pos=XP, x_neg=XN, a=-np.ones(12)), "a: weights"),
    ("zero weights", lambda p: _npz(p, x_pos=XP, x_neg=XN, b=np.zeros(12)), "b: weights sum"),
    ("weights shape", lambda p: _npz(p, x_pos=XP, x_neg=XN, a=np.ones(3)), "a: expected shape"),
]


@pytest.mark.parametrize("label,write,match", BAD_NPZ, ids=[c[0] for c in BAD_NPZ])
def test_bad_npz_is_one_clear_error(tmp_path, label, write, match):
    path = tmp_path / "bad.npz"
    write(path)
    with pytest.raises(InputError, match=f"^{path}: ") as info:
        load_dataset(path)
    assert match in str(info.value)


def test_content_is_recognised_whatever_the_extension(tmp_path, files):
    shutil.copy(files / "d.npz", tmp_path / "data")             # no extension: sniffed
    shutil.copy(files / "d.csv", tmp_path / "data2")
    for name in ("data", "data2"):
        xp, xn, _, _ = load_dataset(tmp_path / name)
        assert np.array_equal(xp, XP) and np.array_equal(xn, XN)
    shutil.copy(files / "d.npz", tmp_path / "zip.csv")          # an npz named .csv: refused
    with pytest.raises(InputError, match="zip archive"):
        load_dataset(tmp_path / "zip.csv")


@pytest.mark.parametrize("kind", ["directory", "fifo", "device", "missing", "unreadable"])
def test_data_path_that_is_not_a_readable_file(tmp_path, kind, public_tmp):
    if kind == "directory":
        path, match = tmp_path, "is a directory"
    elif kind == "fifo":
        path, match = tmp_path / "pipe.csv", "not a regular file"
        os.mkfifo(path)                                         # would block a reader forever
    elif kind == "device":
        path, match = "/dev/zero", "not a regular file"         # would never end
    elif kind == "missing":
        path, match = tmp_path / "nope.csv", "file not found"
    else:
        path, match = os.path.join(public_tmp, "secret.csv"), "cannot read"
        with open(path, "w") as fh:
            fh.write("x,y,label\n0,0,1\n1,1,-1\n")
        os.chmod(path, 0)
    with unprivileged() if kind == "unreadable" else contextlib.nullcontext():
        with pytest.raises(InputError, match=match):
            load_dataset(path)


POINTS = [
    ("3 columns, 2-D model", b"x,y,z\n1,2,3\n", 2, "dimension mismatch, the file has 3"),
    ("no header, 3 columns", b"1,2,1\n3,4,-1\n", 2, "every column is a coordinate"),
    ("1 column", b"1\n2\n", 2, "dimension mismatch"),
    ("typo", b"1,2x\n", 2, "line 1 has a non-numeric value '2x'"),
]


@pytest.mark.parametrize("label,content,dim,match", POINTS, ids=[c[0] for c in POINTS])
def test_points_files_have_no_labels(tmp_path, label, content, dim, match):
    path = tmp_path / "p.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        load_points(path, dim=dim)


def test_points_files_every_column_is_a_coordinate(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes(b"x,y,z\n1,2,3\n4,5,6\n")
    assert load_points(path, dim=3).tolist() == [[1, 2, 3], [4, 5, 6]]
    path.write_bytes(b"x,y,label\n1,2,1\n4,5,-1\n")             # a named label column is not
    assert load_points(path, dim=2).tolist() == [[1, 2], [4, 5]]   # a coordinate
    path.write_bytes(b"\xef\xbb\xbf1,2\n3,4\n")
    assert load_points(path, dim=2).tolist() == [[1, 2], [3, 4]]


BAD_MODELS = [
    ("missing", None, "model: file not found"),
    ("npy renamed", _save_npy, "single NumPy"),
    ("text", lambda p: p.write_text("hello"), "not a readable .npz model"),
    ("data file", lambda p: _npz(p, x_pos=XP, x_neg=XN), "no 'architecture'"),
    ("bad json", lambda p: _npz(p, architecture=np.array(["{not json"])), "not valid JSON"),
    ("unknown format", lambda p: _npz(p, architecture=np.array(['{"format": "x"}'])),
     "unknown model format"),
]


@pytest.mark.parametrize("label,write,match", BAD_MODELS, ids=[c[0] for c in BAD_MODELS])
def test_bad_model_files(tmp_path, label, write, match):
    path = tmp_path / "model.npz"
    if write is not None:
        write(path)
    with pytest.raises(InputError, match=match):
        load_model(path)


def test_save_dataset_to_an_unwritable_place(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(InputError, match="^path: cannot write"):
        save_dataset(tmp_path / "f" / "d.npz", XP, XN)
    (tmp_path / "dir.npz").mkdir()
    with pytest.raises(InputError, match="^path: cannot write"):
        save_dataset(tmp_path / "dir.npz", XP, XN)     # a directory named like a file


# ========================================================================= command line: paths
def _no_compute(monkeypatch):
    """Any computation is a test failure: output paths are checked before it."""
    def boom(*a, **k):
        raise AssertionError("computed before checking the output path")
    for mod in ("train", "solve", "verify", "plot"):
        monkeypatch.setattr(f"otreg.cli.{mod}.problem_from_args", boom)
    monkeypatch.setattr("otreg.nn.load_model", boom)
    monkeypatch.setattr(grid, "run_one", boom)


OUTPUTS = [  # (command line, option named in the error)
    (["train", "--data", "moons", "--n", "10", "--no-progress", "--out", "{p}"], "out"),
    (["solve", "--data", "moons", "--n", "10", "--json", "{p}"], "json"),
    (["predict", "--model", "{m}", "--points", "{d}", "--json", "{p}"], "json"),
    (["verify", "--data", "moons", "--n", "10", "--no-neural", "--json", "{p}"], "json"),
    (["verify", "--data", "moons", "--n", "10", "--save-model", "{p}"], "save-model"),
    (["plot", "plan", "--data", "moons", "--n", "10", "--out", "{p}.png"], "out"),
    (["sweep", "--data", "moons", "--lam", "1", "--n", "10", "--out", "{p}.csv"], "out"),
]
PLACES = ["directory", "missing parent", "parent is a file", "read-only directory",
          "read-only file"]


@pytest.mark.parametrize("argv,option,place", [
    pytest.param(argv, option, place, id=f"{argv[0]}-{option}-{place}")
    for argv, option in OUTPUTS for place in PLACES
    if not (argv[0] == "plot" and place == "missing parent")])   # plot creates directories
def test_output_paths_checked_before_any_computation(argv, option, place, files, cli,
                                                     monkeypatch, public_tmp):
    base = public_tmp
    suffix = ".png" if "{p}.png" in argv else ".csv" if "{p}.csv" in argv else ""
    if place == "directory":
        target = os.path.join(base, "dir")
        os.makedirs(target + suffix)
    elif place == "missing parent":
        target = os.path.join(base, "no", "such", "x")
    elif place == "parent is a file":
        open(os.path.join(base, "file"), "w").close()
        target = os.path.join(base, "file", "x")
    else:
        ro = os.path.join(base, "ro")
        os.makedirs(ro)
        target = os.path.join(ro, "x")
        if place == "read-only file":
            open(target + suffix, "w").close()
            os.chmod(target + suffix, 0o444)
        os.chmod(ro, 0o555)
    _no_compute(monkeypatch)
    argv = [a.format(p=target, m=files / "m.npz", d=files / "d.npz") for a in argv]
    with unprivileged():
        rc, _, err = cli(argv)
    assert rc == 2
    one_line_error(err, f"error: {option}:")


@pytest.mark.parametrize("argv,match", [
    (["verify", "--data", "moons", "--no-neural", "--plots", "{f}"], "plots: cannot write"),
    (["verify", "--data", "moons", "--json", "{j}", "--save-model", "{j}"], "each output"),
    (["verify", "--data", "moons", "--no-neural", "--save-model", "{j}"], "no network to save"),
    (["plot", "plan", "--data", "moons", "--out", "{j}"], "ending in .png"),
    (["sweep", "--data", "moons", "--lam", "1", "--out", "{j}"], "ending in .csv or .parquet"),
    (["train", "--data", "moons", "--out", ""], "empty file name"),
])
def test_more_output_mistakes(argv, match, tmp_path, cli, monkeypatch):
    (tmp_path / "file").write_text("a file where a directory is expected")
    _no_compute(monkeypatch)
    argv = [a.format(f=tmp_path / "file", j=tmp_path / "r.json") for a in argv]
    rc, _, err = cli(argv)
    assert rc == 2
    one_line_error(err, match)


# ===================================================================== command line: arguments
@pytest.mark.parametrize("extra,match", [
    (["--seed", "-1"], "seed: must be >= 0"), (["--seed", "1.5"], "seed: expected an integer"),
    (["--seed", "x"], "seed: expected an integer"), (["--n", "0"], "n: must be >= 1"),
    (["--n", "-5"], "n: must be >= 1"), (["--n-neg", "0"], "n-neg: must be >= 1"),
    (["--lam", "x"], "invalid float value"), (["--label-column", " "], "label_column: empty"),
])
def test_usage_errors(extra, match, cli):
    rc, _, err = cli(["solve", "--data", "moons"] + extra)
    assert rc == 2 and match in err


@pytest.mark.parametrize("extra,match", [
    (["--lam", "nan"], "lam: must be finite"), (["--lam", "-1"], "lam: must be >= 0"),
    (["--margin", "0"], "margin: must be > 0"), (["--margin", "inf"], "margin: must be finite"),
    (["--p", "1"], "p: the positive-class prior"), (["--p", "0"], "p: the positive-class"),
    (["--data", "banana"], "'banana' is neither a toy name"),
    (["--data", "."], "is a directory"),
    (["--n", "300000", "--method", "netsimplex"], "GiB"),  # the memory guard, before any
    #                                                          allocation (auto: sparse)
])
def test_bad_values_are_one_line(extra, match, cli):
    rc, _, err = cli(["solve", "--data", "moons", "--n", "8"] + extra)
    assert rc == 2
    one_line_error(err, match)


def test_silent_wrong_results_are_gone(tmp_path, files, cli):
    """Inputs that once gave a silent wrong answer, through the command line: each is now an
    error or the right answer."""
    # predict: a 3-column points file on a 2-D model is an error, not a projection
    (tmp_path / "p.csv").write_text("x,y,z\n0.1,0.2,0.3\n")
    rc, _, err = cli(["predict", "--model", files / "m.npz", "--points",
                          tmp_path / "p.csv"])
    assert rc == 2
    one_line_error(err, "dimension mismatch", "3 coordinate columns")
    # solve: a binary last coordinate is not a label column
    (tmp_path / "d.csv").write_text("x,y,flag\n0,0,1\n3,0,0\n0,1,1\n")
    rc, _, err = cli(["solve", "--data", tmp_path / "d.csv"])
    assert rc == 2
    one_line_error(err, "no column named 'label'")
    rc, out, _ = cli(["solve", "--data", tmp_path / "d.csv", "--label-column", "flag",
                          "--lam", "0"])
    assert rc == 0 and "loss=" in out
    # a typo in the first row of a file without header is reported, not swallowed
    (tmp_path / "t.csv").write_text("1,2x,1\n3,4,-1\n5,6,1\n")
    rc, _, err = cli(["solve", "--data", tmp_path / "t.csv", "--label-column", "-1"])
    assert rc == 2
    one_line_error(err, "line 1 has a non-numeric value '2x'")
    # a BOM is not part of the first column's name
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbflabel,x\n1,0\n-1,2\n")
    rc, out, _ = cli(["solve", "--data", tmp_path / "b.csv", "--lam", "0", "--json",
                          tmp_path / "b.json"])
    assert rc == 0 and json.loads((tmp_path / "b.json").read_text())["loss"] == \
        pytest.approx(-2.0)


def test_verify_plots_3d_data_in_a_projection(files, tmp_path, cli):
    figs = tmp_path / "figs"
    rc, out, _ = cli(["verify", "--data", files / "d3.npz", "--no-neural", "--plots",
                          figs])
    assert rc == 0
    assert "plots: d=3: projected on the plane of the main transport direction" in out
    assert sorted(os.listdir(figs)) == ["adversarial_exact.png", "plan.png", "potential.png"]
    assert all((figs / f).read_bytes()[:4] == b"\x89PNG" for f in os.listdir(figs))


# ================================================================ command line: error handling
def _raise(exc):
    def f(*a, **k):
        raise exc
    return f


@pytest.mark.parametrize("exc,rc,needle", [
    (TrainingError("lr: the loss diverged (1.2e10); lower --lr"), 1, "error: lr: the loss"),
    (KeyboardInterrupt(), 130, "interrupted"),
    (PermissionError(13, "Permission denied", "/some/where.json"), 2,
     "Permission denied: /some/where.json"),
    (OSError(28, "No space left on device"), 2, "No space left on device"),
    (ZeroDivisionError("boom"), 1, "internal error: ZeroDivisionError: boom"),
    (SystemError("CPUDispatcher(<f>) returned a result with an exception set"), 1,
     "internal error: SystemError"),
    ("Ctrl-C inside numba", 130, "interrupted"),
])
def test_every_failure_is_one_line(exc, rc, needle, monkeypatch, cli):
    monkeypatch.setattr("otreg.transport.hkr_transport",
                        _raise(exc) if isinstance(exc, BaseException)
                        else lambda *a, **k: _hidden_interrupt())
    got, _, err = cli(["solve", "--data", "moons", "--n", "5"])
    assert got == rc
    one_line_error(err, needle)


@pytest.mark.parametrize("command", ["train", "verify", "plot"])
def test_diverged_training_is_reported(command, monkeypatch, cli, tmp_path):
    """``fit`` raises TrainingError when the loss diverges: one line, exit 1 (a failed
    computation, not bad input)."""
    err_ = TrainingError("lr: training diverged (loss 1.2e+10 at epoch 3); lower --lr")
    monkeypatch.setattr("otreg.nn.fit", _raise(err_))
    monkeypatch.setattr("otreg.verify.report.fit", _raise(err_))
    argv = {"train": ["train", "--data", "moons", "--n", "5", "--lr", "1e10", "--out",
                      tmp_path / "m.npz", "--no-progress"],
            "verify": ["verify", "--data", "moons", "--n", "5", "--lr", "1e10"],
            "plot": ["plot", "potential", "--data", "moons", "--n", "5", "--lr", "1e10",
                     "--out", tmp_path / "p.png"]}[command]
    rc, _, err = cli(argv)
    assert rc == 1
    one_line_error(err, "training diverged", "--lr")
    assert not (tmp_path / "m.npz").exists()
    assert issubclass(TrainingError, OtregError)


def test_debug_shows_the_traceback(monkeypatch, capsys):
    monkeypatch.setattr("otreg.transport.hkr_transport", _raise(ZeroDivisionError("boom")))
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "solve", "--data", "moons", "--n", "5"])
    monkeypatch.setenv("OTREG_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        main(["solve", "--data", "moons", "--n", "5"])
    monkeypatch.setenv("OTREG_DEBUG", "0")
    assert main(["solve", "--data", "moons", "--n", "5"]) == 1
    capsys.readouterr()


def test_broken_pipe_is_quiet(files, monkeypatch, capsys):
    class Closed:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdout", Closed())
    assert main(["predict", "--model", str(files / "m.npz"), "--points",
                 str(files / "d.csv")]) == 141
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("content,match", [
    (None, "file not found"), (b"\x00\x01\x02", "a binary file"),
    (b"just a note", "no column 'data'"), (b"x,y,label\n0,0,1\n", "no column 'data'"),
])
def test_plot_sweep_table_that_is_not_one(content, match, tmp_path, cli):
    table = tmp_path / "t.csv"
    if content is not None:
        table.write_bytes(content)
    rc, _, err = cli(["plot", "sweep", table, "--out", tmp_path / "x.png"])
    assert rc == 2
    one_line_error(err, "table:", match)


# ==================================================================================== sweeps
def _fake(cfg):
    return {"loss": -float(cfg.lam), "acc_clean": 1.0, "mass": 1.0}


def _hidden_interrupt():
    """What a Ctrl-C inside numba-compiled code looks like from Python."""
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("<function _numba_unpickle> returned a result with an exception "
                              "set") from ki
    except SystemError as inner:
        raise SystemError("CPUDispatcher(<function _network_simplex>) returned a result with "
                          "an exception set") from inner


GRID = dict(datasets=["moons"], lams=[0.0, 1.0, 2.0, 3.0], margins=[0.1], seeds=[0], n=10,
            checks=False, workers=1, progress=False)


@pytest.mark.parametrize("how", ["SystemError from numba", "swallowed by the run",
                                 "inside verify"])
def test_ctrl_c_stops_the_sweep_and_records_nothing_for_it(how, tmp_path, monkeypatch):
    # Python's own Ctrl-C handler, whatever an earlier test or library left installed (with
    # SIGINT ignored, a real Ctrl-C never reaches the sweep and there is nothing to test)
    prev = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_case(how, tmp_path, monkeypatch)
    finally:
        signal.signal(signal.SIGINT, prev)


def _ctrl_c_case(how, tmp_path, monkeypatch):
    out = tmp_path / "s.csv"
    calls = []

    def runner(cfg):
        calls.append(cfg.lam)
        if cfg.lam == 2.0:
            if how == "SystemError from numba":
                _hidden_interrupt()
            elif how == "swallowed by the run":
                try:
                    signal.raise_signal(signal.SIGINT)      # a real Ctrl-C ...
                except KeyboardInterrupt:
                    pass                                     # ... eaten by some library
            else:
                monkeypatch.setattr(grid, "verify", lambda *a, **k:
                                    _hidden_interrupt())
                return run_one(cfg.__class__(**{**cfg.__dict__, "checks": True}))
        return _fake(cfg)

    with pytest.raises(KeyboardInterrupt):
        sweep(**GRID, out=out, runner=runner)
    assert calls == [0.0, 1.0, 2.0]                         # stopped at once
    rows = read_table(out)
    assert [r["lam"] for r in rows] == [0.0, 1.0] and all(r["error"] == "" for r in rows)
    monkeypatch.undo()
    done = []
    table = sweep(**GRID, out=out, runner=lambda c: done.append(c.lam) or _fake(c))
    assert done == [2.0, 3.0] and [r["lam"] for r in table] == [0.0, 1.0, 2.0, 3.0]
    assert all(r["error"] == "" for r in read_table(out))


def test_ordinary_errors_are_still_recorded(tmp_path):
    def runner(cfg):
        if cfg.lam == 1.0:
            raise SystemError("a genuine bug")                # not an interrupt
        return _fake(cfg)
    table = sweep(**GRID, out=tmp_path / "e.csv", runner=runner)
    assert [r["error"] for r in table] == ["", "SystemError: a genuine bug", "", ""]


NOT_A_TABLE = [
    ("one-line note", b"remember to buy milk"),
    ("note with newline", b"remember to buy milk\n"),
    ("binary", b"\x00\x01\x02\x03"),
    ("latin-1", "caf\xe9,au,lait\n".encode("latin-1")),
    ("other csv", b"x,y,label\n0,0,1\n"),
    ("partial key", b"data,n,lam\nmoons,10,1\n"),
]


@pytest.mark.parametrize("label,content", NOT_A_TABLE, ids=[c[0] for c in NOT_A_TABLE])
def test_sweep_never_touches_an_unrelated_file(label, content, tmp_path, cli):
    out = tmp_path / "notes.csv"
    out.write_bytes(content)
    with pytest.raises(InputError, match="is not a sweep table"):
        sweep(**GRID, out=out, runner=_fake)
    assert out.read_bytes() == content
    rc, _, err = cli(["sweep", "--data", "moons", "--lam", "1", "--n", "10", "--out", out,
                          "--workers", "1", "--quiet", "--no-checks"])
    assert rc == 2 and out.read_bytes() == content
    one_line_error(err, "out:", "not a sweep table")


@pytest.mark.parametrize("content", [b"", b"\n", None])
def test_sweep_accepts_an_empty_file_or_a_bare_header(content, tmp_path):
    out = tmp_path / "s.csv"
    if content is None:                                      # a header written by a sweep
        sweep(**dict(GRID, lams=[0.0]), out=out, runner=_fake)
        out.write_text(out.read_text().splitlines()[0] + "\n")
    else:
        out.write_bytes(content)
    table = sweep(**GRID, out=out, runner=_fake)
    assert len(table) == 4 and len(read_table(out)) == 4


def test_one_sweep_per_table(tmp_path, cli):
    out = tmp_path / "s.csv"
    with _TableLock(str(out)):
        with pytest.raises(InputError, match=r"another sweep \(pid \d+ on .*\) is writing"):
            sweep(**GRID, out=out, runner=_fake)
        rc, _, err = cli(["sweep", "--data", "moons", "--lam", "1", "--n", "10", "--out",
                              out, "--quiet", "--no-checks", "--workers", "1"])
        assert rc == 2
        one_line_error(err, "another sweep")
    assert not out.exists()
    assert len(sweep(**GRID, out=out, runner=_fake)) == 4   # free again
    assert not os.path.exists(str(out) + ".lock")


def test_summaries_count_each_combination_once(tmp_path):
    out = tmp_path / "s.csv"
    sweep(**GRID, out=out, runner=_fake)
    lines = out.read_text().splitlines(keepends=True)
    out.write_text("".join(lines + lines[1:3]))              # two rows written twice
    keys = [row_key(r) for r in csv.DictReader(out.read_text().splitlines())]
    assert len(keys) == 6 and len(set(keys)) == 4
    assert len(read_table(out)) == 4
    (s,) = summarize(out, by=("data",))
    assert s["runs"] == 4
    assert "| moons | 0.1 | 0 | 1 |" in trade_off_table(out)
    rows = read_table(out)
    assert len(dedupe_rows(rows + rows)) == 4
    bad = dict(rows[0], error="RuntimeError: x", loss=None)   # an error row and a good one:
    assert dedupe_rows([bad, rows[0]])[0] is rows[0]          # the good one counts
    sweep(**GRID, out=out, runner=_fake)                      # a resume repairs the file
    keys = [row_key(r) for r in csv.DictReader(out.read_text().splitlines())]
    assert len(keys) == len(set(keys)) == 4


def _group(pgid: int) -> list[str]:
    """Live processes of a process group (from /proc)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            out.append(pid)
    return out


@pytest.mark.slow
@pytest.mark.skipif(not LINUX, reason="process groups read from /proc")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill -9"])
def test_killed_parallel_sweep_leaves_no_process_and_holds_its_table(sig, tmp_path):
    out = tmp_path / "p.csv"
    cmd = [sys.executable, "-c", "import sys; from otreg.cli import main; sys.exit(main())",
           "sweep", "--data", "moons", "--lam", "0,1,2,3", "--n", "300", "--neural",
           "--epochs", "300", "--no-checks", "--workers", "2", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 90
        while len(_group(proc.pid)) < 5 and time.time() < deadline:   # main, resource
            time.sleep(0.1)                                           # tracker, forkserver,
        assert len(_group(proc.pid)) >= 5, proc.stderr.read()        # two workers
        # a second sweep on the same table is refused while the first one runs
        with pytest.raises(InputError, match="another sweep"):
            sweep(["moons"], [0], [0.1], [0], n=10, out=out, runner=_fake, progress=False)
        proc.send_signal(sig)
        proc.wait(timeout=30)
        deadline = time.time() + 10
        while _group(proc.pid) and time.time() < deadline:
            time.sleep(0.1)
        assert _group(proc.pid) == [], "orphan processes left behind"
        if sig == signal.SIGTERM:
            assert proc.returncode == 143 and b"terminated" in proc.stderr.read()
    finally:
        for pid in _group(proc.pid):
            os.kill(int(pid), signal.SIGKILL)
        proc.stderr.close()
    # the table is free again, and holds no half-done combination
    assert all(r["error"] == "" for r in (read_table(out) if out.exists() else []))


@pytest.mark.slow
def test_real_ctrl_c_in_compiled_code(tmp_path):
    """SIGINT to a serial ``otreg sweep`` while the network simplex runs (n = 1500)."""
    out = tmp_path / "i.csv"
    cmd = [sys.executable, "-c", "import sys; from otreg.cli import main; sys.exit(main())",
           "sweep", "--data", "moons", "--lam", "0,1,2,3,4", "--n", "1500", "--no-checks",
           "--workers", "1", "--quiet", "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and proc.poll() is None:
            if out.exists() and out.read_text().count("\n") >= 2:    # one row done
                break
            time.sleep(0.02)
        time.sleep(0.1)                                              # into the next solve
        sent = time.time()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        err = proc.stderr.read()
        proc.stderr.close()
    if proc.returncode == 0:
        pytest.skip("the sweep finished before it could be interrupted")
    assert proc.returncode == 130 and b"interrupted" in err
    assert time.time() - sent < 30
    rows = read_table(out)
    assert 1 <= len(rows) < 5 and all(r["error"] == "" for r in rows)


# ======================================================================= verify: degenerate data
def _linear(value_at_zero: float, direction: np.ndarray, origin: np.ndarray) -> Potential:
    """f(u) = c - <u - origin, e>: 1-Lipschitz, |grad f| = 1 everywhere."""
    e = direction / np.linalg.norm(direction)
    return Potential(lambda p: value_at_zero - (p - origin) @ e,
                     lambda p: np.tile(-e, (len(p), 1)), name="linear")


def test_each_class_at_one_location_other_optimum_passes():
    """Two locations at distance D: every f(x) in [m, D - m] is optimal.  A network at another
    optimum than the solver's agrees with the optimal set (it used to FAIL)."""
    xp, xn = np.zeros((5, 2)), np.ones((4, 2))
    model = _linear(0.7, np.ones(2), np.zeros(2))
    rep = verify(xp, xn, lam=1.0, margin=0.1, model=model, n_test_points=30)
    assert rep.passed, rep.table()
    agree = rep.check("potential_agreement")
    assert agree.passed and "not unique" in agree.detail
    res = rep.result
    assert res.f_pos[0] == pytest.approx(0.1)                # the solver's optimum is another
    assert rep.check("neural_gap").value == pytest.approx(0.0, abs=1e-12)
    old = check_potential_agreement(rep.problem, res.f_pos, res.f_neg,
                                    model(xp), model(xn), 0.25, 0.9)
    assert not old.passed                                     # what the report used to say
    near = nearest_optimal_values(rep.problem, res.loss, np.r_[model(xp), model(xn)])
    assert np.allclose(near, np.r_[model(xp), model(xn)], atol=1e-6)


def test_classes_1e12_apart_say_na_instead_of_fail(tmp_path):
    x0 = np.ones(2)
    xp, xn = np.tile(x0, (5, 1)), np.tile(x0 + [0.0, 1e-12], (4, 1))
    model = _linear(0.1, np.array([0.0, 1.0]), x0)
    rep = verify(xp, xn, lam=1.0, margin=0.1, model=model, n_test_points=30)
    assert rep.passed, rep.table()
    assert rep.not_applicable == ["adversarial_tightness"]
    grad = rep.check("gradient_norm")
    assert grad.passed and grad.parts[1].passed is None
    assert "below the network's loss tolerance" in grad.parts[1].detail
    lip = rep.check("lipschitz")
    assert lip.passed and "closer than 1000 x the rounding scale" in lip.parts[1].detail
    assert "n/a" in rep.table() and "not applicable" in rep.table()
    data = json.loads(rep.to_json())
    tight = next(c for c in data["checks"] if c["name"] == "adversarial_tightness")
    assert tight["passed"] is None and "crosses the decision boundary" in json.dumps(tight)
    assert data["passed"] is True and data["not_applicable"] == ["adversarial_tightness"]


def test_points_present_in_both_classes():
    rng = np.random.default_rng(0)
    xp, xn = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + [1.0, 0.0]
    xp = np.vstack([xp, xn[:3]])                              # 3 points in both classes
    rep = verify(xp, xn, lam=1.0, margin=0.1, neural=False, n_test_points=30)
    assert rep.passed, rep.table()
    assert rep.check("gradient_norm").value == 1.0            # was 0.97: zero-length rays
    res = rep.result
    assert res.plan[20:23, :3].diagonal().sum() > 0           # mass moves between twins ...
    pts, i, j, _ = ray_points(res, np.random.default_rng(0), 200)
    assert np.all(res.distances[i, j] > 0)                    # ... but has no ray to measure


def test_cli_verify_on_degenerate_data_reports_na(tmp_path, cli):
    save_dataset(tmp_path / "p.npz", np.ones((5, 2)), np.ones((4, 2)) + [0.0, 1e-12])
    rc, out, _ = cli(["verify", "--data", tmp_path / "p.npz", "--no-neural", "--json",
                          tmp_path / "r.json"])
    assert rc == 0 and "ALL EVALUATED CHECKS PASSED" in out and "n/a" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert [c["name"] for c in data["checks"] if c["passed"] is None] == ["adversarial_tightness"]


def test_lipschitz_ignores_rounding_but_not_a_steep_slope():
    x0 = np.ones(2)
    pr = Problem(np.tile(x0, (3, 1)), np.tile(x0 + [1e-12, 0.0], (3, 1)))
    one = Potential(lambda p: 0.3 - p[:, 0], lambda p: np.tile([-1.0, 0.0], (len(p), 1)))
    est = lipschitz_estimate(one, pr)
    assert np.isnan(est["random_pairs"]) and est["unresolved"] > 0 and est["grad"] == 1.0
    steep = Potential(lambda p: 1.5 * p[:, 0], lambda p: np.tile([1.5, 0.0], (len(p), 1)))
    assert lipschitz_estimate(steep, pr)["grad"] == 1.5       # still caught, by the gradient
    wide = Problem(np.zeros((3, 2)), np.ones((3, 2)))           # ordinary scale: every pair used
    est = lipschitz_estimate(steep, wide)
    assert est["unresolved"] == 0 and est["pairs"] == pytest.approx(1.5)


def test_not_applicable_checks_neither_pass_nor_fail():
    ok = Check("a", True, 0.1, 1.0)
    bad = Check("b", False, 2.0, 1.0)
    na = not_applicable("c", "no ray")
    assert na.passed is None and na.status == "n/a" and not na.failed
    assert na.to_dict()["passed"] is None and na.detail == "n/a: no ray"
    assert combine("x", [ok, na]).passed is True
    assert combine("x", [bad, na]).passed is False
    assert combine("x", [na, na]).passed is None
    assert combine("x", []).passed is None
    cols = _check_columns([c.to_dict() for c in (ok, bad, na)])
    assert cols["check_c"] is None and cols["checks_na"] == 1 and cols["checks_failed"] == 1
