"""Reading and writing labelled point clouds (``.npz`` and CSV).

``.npz`` files hold arrays ``x_pos`` (n, d), ``x_neg`` (m, d) and optionally weights ``a`` (n,)
and ``b`` (m,) (or, for :func:`load_points`, a single array ``points``); they are read with
``allow_pickle=False``.  CSV files have one point per row: the coordinates, then a last column
``label`` in {+1, -1} or {1, 0} (1 = positive).  A header row is optional (detected when the
first row is not numeric); blank lines and lines starting with ``#`` are skipped.

Every problem (missing file, unreadable content, wrong columns, NaN, an empty class) raises
:class:`otreg.errors.InputError` naming the file and the problem.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from ..errors import InputError
from .validate import as_points, raw_weights

__all__ = ["load_dataset", "load_points", "save_dataset"]


def _path(path: object) -> str:
    try:
        name = os.fspath(path)
    except TypeError:
        raise InputError(f"path: expected a file name, got {path!r}") from None
    if not os.path.exists(name):
        raise InputError(f"{name}: file not found")
    if os.path.isdir(name):
        raise InputError(f"{name}: is a directory, not a data file")
    return name


def _is_npz(name: str) -> bool:
    if name.lower().endswith(".npz"):
        return True
    if name.lower().endswith((".csv", ".txt", ".tsv")):
        return False
    with open(name, "rb") as fh:
        return fh.read(2) == b"PK"


def _read_npz(name: str) -> dict:
    try:
        with np.load(name, allow_pickle=False) as data:
            if not hasattr(data, "files"):
                raise InputError(f"{name}: not an .npz archive (a single .npy array?)")
            return {k: data[k] for k in data.files}
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{name}: cannot read as .npz ({exc})") from None


def _read_csv(name: str):
    """Return (header or None, float array (rows, cols))."""
    try:
        with open(name, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError:
        raise InputError(f"{name}: not a text CSV file (cannot decode as UTF-8)") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc})") from None
    rows = [(i + 1, ln) for i, ln in enumerate(lines)
            if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise InputError(f"{name}: the file is empty")
    sep = "\t" if "\t" in rows[0][1] and "," not in rows[0][1] else ","
    header = None
    first = [c.strip() for c in rows[0][1].split(sep)]
    try:
        [float(c) for c in first]
    except ValueError:
        header = first
        rows = rows[1:]
    if not rows:
        raise InputError(f"{name}: has a header but no data rows")
    width = len(header) if header is not None else len(rows[0][1].split(sep))
    data = np.empty((len(rows), width))
    for k, (lineno, ln) in enumerate(rows):
        cells = [c.strip() for c in ln.split(sep)]
        if len(cells) != width:
            raise InputError(f"{name}: line {lineno} has {len(cells)} columns, expected {width}")
        try:
            data[k] = [float(c) for c in cells]
        except ValueError:
            raise InputError(f"{name}: line {lineno} has a non-numeric value: {ln.strip()!r}") \
                from None
    if not np.all(np.isfinite(data)):
        bad = np.argwhere(~np.isfinite(data))[0]
        raise InputError(f"{name}: NaN or infinite value at line {rows[bad[0]][0]}, "
                         f"column {bad[1] + 1}")
    return header, data


def _split_labels(name: str, data: np.ndarray):
    if data.shape[1] < 2:
        raise InputError(f"{name}: expected coordinate columns and a last 'label' column, "
                         f"got {data.shape[1]} column(s)")
    coords, labels = data[:, :-1], data[:, -1]
    values = set(np.unique(labels).tolist())
    if values <= {1.0, -1.0}:
        pos = labels == 1.0
    elif values <= {1.0, 0.0}:
        pos = labels == 1.0
    else:
        raise InputError(f"{name}: the last column must hold labels in {{+1, -1}} or {{1, 0}}, "
                         f"found values {sorted(values)[:6]}")
    if not pos.any():
        raise InputError(f"{name}: the positive class is empty (no label +1)")
    if pos.all():
        raise InputError(f"{name}: the negative class is empty (no label -1 or 0)")
    return coords[pos], coords[~pos]


def load_dataset(path: str | os.PathLike):
    """Read a labelled data set; returns ``(x_pos, x_neg, a, b)`` (``a``, ``b`` may be None)."""
    name = _path(path)
    if _is_npz(name):
        arrays = _read_npz(name)
        missing = [k for k in ("x_pos", "x_neg") if k not in arrays]
        if missing:
            raise InputError(f"{name}: missing array(s) {missing}; a data set needs 'x_pos' and "
                             f"'x_neg' (found {sorted(arrays)})")
        try:
            x_pos = as_points(arrays["x_pos"], "x_pos")
            x_neg = as_points(arrays["x_neg"], "x_neg", dim=x_pos.shape[1])
            a = raw_weights(arrays["a"], x_pos.shape[0], "a") if "a" in arrays else None
            b = raw_weights(arrays["b"], x_neg.shape[0], "b") if "b" in arrays else None
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        return x_pos, x_neg, a, b
    header, data = _read_csv(name)
    x_pos, x_neg = _split_labels(name, data)
    return x_pos, x_neg, None, None


def load_points(path: str | os.PathLike, dim: int | None = None) -> np.ndarray:
    """Read points ``(k, d)`` in file order (npz: ``points``, or ``x_pos`` rows then ``x_neg``).

    For CSV, a last column named ``label`` (header) is dropped; otherwise, when ``dim`` is
    given and the file has ``dim + 1`` columns, the last one is taken as the label.
    """
    name = _path(path)
    if _is_npz(name):
        arrays = _read_npz(name)
        try:
            if "points" in arrays:
                pts = as_points(arrays["points"], "points", dim=dim)
            elif "x_pos" in arrays and "x_neg" in arrays:
                xp = as_points(arrays["x_pos"], "x_pos", dim=dim)
                xn = as_points(arrays["x_neg"], "x_neg", dim=xp.shape[1])
                pts = np.vstack([xp, xn])
            else:
                raise InputError(f"expected an array 'points' or 'x_pos' and 'x_neg', found "
                                 f"{sorted(arrays)}")
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
        return pts
    header, data = _read_csv(name)
    if header is not None and header[-1].lower() in ("label", "labels"):
        data = data[:, :-1]
    elif dim is not None and data.shape[1] == dim + 1:
        data = data[:, :-1]
    if data.shape[1] == 0:
        raise InputError(f"{name}: no coordinate column")
    try:
        return as_points(data, "points", dim=dim)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None


def save_dataset(path: str | os.PathLike, x_pos: object, x_neg: object, a: object = None,
                 b: object = None) -> None:
    """Write a labelled data set: ``.npz`` (with weights) or ``.csv`` (label +1 / -1)."""
    x_pos = as_points(x_pos, "x_pos")
    x_neg = as_points(x_neg, "x_neg", dim=x_pos.shape[1])
    arrays = {"x_pos": x_pos, "x_neg": x_neg}
    if a is not None:
        arrays["a"] = raw_weights(a, x_pos.shape[0], "a")
    if b is not None:
        arrays["b"] = raw_weights(b, x_neg.shape[0], "b")
    try:
        name = os.fspath(path)
    except TypeError:
        raise InputError(f"path: expected a file name, got {path!r}") from None
    if name.lower().endswith(".csv"):
        if a is not None or b is not None:
            raise InputError("a: weights cannot be stored in CSV; save to .npz instead")
        d = x_pos.shape[1]
        rows = np.vstack([np.column_stack([x_pos, np.ones(len(x_pos))]),
                          np.column_stack([x_neg, -np.ones(len(x_neg))])])
        header = ",".join([f"x{i}" for i in range(d)] + ["label"])
        np.savetxt(name, rows, delimiter=",", header=header, comments="",
                   fmt=["%.17g"] * d + ["%d"])
        return
    if not name.lower().endswith(".npz"):
        raise InputError(f"path: unknown extension for {name!r}; use .npz or .csv")
    with open(name, "wb") as fh:
        np.savez(fh, **arrays)
