"""Reading and writing labelled point clouds (``.npz`` and CSV).

``.npz`` files hold arrays ``x_pos`` (n, d), ``x_neg`` (m, d) and optionally weights ``a`` (n,)
and ``b`` (m,) (or, for :func:`load_points`, a single array ``points``); they are read with
``allow_pickle=False``.

CSV files have one point per row.  A **data set** names its label column in a header row:
``x0,x1,label`` with labels in {+1, -1} or {1, 0} (1 = positive); every other column is a
coordinate.  The label column can be another one (``label_column="cls"``, or a 1-based column
number such as ``-1`` for the last column of a file without header), but it is never guessed.
A **points** file (:func:`load_points`) has no labels: every column is a coordinate (a column
that the header names ``label`` is the one exception, so that a data set can be evaluated).

The header is the first row when every cell of it is a name (a non-empty, non-numeric cell);
a first row with a numeric cell is data, so a typo such as ``1,2x,1`` is reported with its
line instead of being swallowed as a header.  Cells are separated by commas (or tabs, or
semicolons, or blanks, detected on the first row), may be quoted; blank lines and lines
starting with ``#`` are skipped; a UTF-8 byte-order mark (and UTF-16 with its mark) is handled.

Every problem (missing file, a directory, binary or unreadable content, a file whose content
does not match its extension, wrong columns, NaN, an empty class) raises
:class:`otreg.errors.InputError` naming the file and the problem.
"""
from __future__ import annotations

import csv
import difflib
import json
import math
import os
import stat
import zipfile
from typing import Any, Union

import numpy as np

from ..errors import InputError, NumericalError
from .validate import as_points, raw_weights

__all__ = ["load_dataset", "load_points", "save_dataset", "read_npz", "read_csv",
           "LabelColumn", "DEFAULT_LABEL_COLUMN", "json_text"]

#: a label column: a header name, or a 1-based column number (negative: from the end)
LabelColumn = Union[str, int]
#: the column that holds the labels unless told otherwise
DEFAULT_LABEL_COLUMN = "label"

def _finite_copy(obj: Any, where: str, nan_as_null: bool) -> Any:
    """``obj`` with NumPy scalars as Python numbers; a NaN or infinity is None if
    ``nan_as_null`` (a value that does not apply), else a :class:`NumericalError` naming it."""
    if isinstance(obj, dict):
        return {k: _finite_copy(v, f"{where}.{k}", nan_as_null) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite_copy(v, f"{where}[{i}]", nan_as_null) for i, v in enumerate(obj)]
    if isinstance(obj, (float, np.floating)):
        if math.isfinite(obj):
            return float(obj)
        if nan_as_null:
            return None
        raise NumericalError(f"{where}: {float(obj)} cannot be written as JSON number; "
                             "nothing was written")
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def json_text(obj: Any, where: str = "json", nan_as_null: bool = False, **dumps: Any) -> str:
    """Standard JSON of ``obj`` (never ``NaN`` / ``Infinity``, which JSON does not have):
    non-finite numbers become ``null`` if ``nan_as_null`` (for values that may not apply),
    else raise :class:`NumericalError` naming the entry, before anything is written."""
    return json.dumps(_finite_copy(obj, where, nan_as_null), allow_nan=False, **dumps)


_ZIP_MAGIC = b"PK"
_NPY_MAGIC = b"\x93NUMPY"


def _path(path: object) -> str:
    """The name of an existing regular file (not a directory, a device or a pipe)."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise InputError(f"path: expected a file name, got {path!r}") from None
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        raise InputError(f"{name}: file not found") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot access ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{name}: is a directory, not a data file")
    if not stat.S_ISREG(mode):
        raise InputError(f"{name}: not a regular file (a device, pipe or socket)")
    return name


def _head(name: str, k: int = 8) -> bytes:
    try:
        with open(name, "rb") as fh:
            return fh.read(k)
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _is_npz(name: str) -> bool:
    """Whether ``name`` is an ``.npz`` archive; its content must agree with its extension."""
    head = _head(name)
    low = name.lower()
    if head.startswith(_NPY_MAGIC):
        raise InputError(f"{name}: a single NumPy .npy array, not an .npz archive of named "
                         "arrays; save the data with np.savez(path, x_pos=..., x_neg=...)")
    if head.startswith(_ZIP_MAGIC):
        if low.endswith((".csv", ".txt", ".tsv")):
            raise InputError(f"{name}: a zip archive (an .npz file?), not a text CSV file; "
                             "give it the extension .npz")
        return True
    if low.endswith(".npz"):
        raise InputError(f"{name}: not an .npz archive (no zip signature"
                         + ("; it starts like a text file: if it is a CSV, name it .csv)"
                            if _looks_like_text(head) else ")"))
    return False


def _looks_like_text(head: bytes) -> bool:
    return bool(head) and b"\0" not in head and all(b >= 9 for b in head)


def read_npz(name: str) -> dict[str, np.ndarray]:
    """All arrays of an ``.npz`` archive (``allow_pickle=False``); any problem -> InputError.

    The file is opened here, not by ``np.load``, so that it is closed whatever happens (np.load
    leaves its own file open when the archive turns out to be broken)."""
    try:
        with open(name, "rb") as fh:
            return _npz_arrays(name, fh)
    except OSError as exc:
        raise InputError(f"{name}: cannot read as .npz ({exc})") from None


def _npz_arrays(name: str, fh: Any) -> dict[str, np.ndarray]:
    try:
        data = np.load(fh, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{name}: cannot read as .npz ({exc})") from None
    if not hasattr(data, "files"):  # a .npy array under another name
        raise InputError(f"{name}: a single NumPy array, not an .npz archive of named arrays; "
                         "save the data with np.savez(path, x_pos=..., x_neg=...)")
    try:
        with data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise InputError(f"{name}: cannot read as .npz ({exc})") from None


# ------------------------------------------------------------------------------------- CSV
def _decode(name: str, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(f"{name}: cannot decode as UTF-16 text") from None
    if b"\0" in raw:
        raise InputError(f"{name}: a binary file, not a text CSV file")
    try:
        return raw.decode("utf-8-sig")  # drops a UTF-8 byte-order mark
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not a UTF-8 text file (byte {exc.start} cannot be decoded); "
                         "save it as UTF-8 CSV") from None


def _delimiter(first: str) -> str | None:
    """',' / tab / ';' as found on the first row, else None (blank-separated or one column)."""
    for sep in (",", "\t", ";"):
        if sep in first:
            return sep
    return None


def _cells(line: str, sep: str | None) -> list[str]:
    if sep is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=sep, skipinitialspace=True))]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_header(cells: list[str]) -> bool:
    """A header names every column: no cell is empty or numeric."""
    return all(c and not _is_number(c) for c in cells)


def read_csv(path: str | os.PathLike) -> tuple[list[str] | None, np.ndarray, list[int]]:
    """``(header or None, float array (rows, columns), line number of each row)``.

    Every cell of every data row must be a finite number; the first row is a header only if
    all its cells are names (see the module docstring).
    """
    name = _path(path)
    try:
        with open(name, "rb") as fh:
            text = _decode(name, fh.read())
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None
    rows = [(i + 1, ln) for i, ln in enumerate(text.splitlines())
            if ln.strip() and not ln.lstrip().startswith("#")]
    if not rows:
        raise InputError(f"{name}: the file is empty")
    sep = _delimiter(rows[0][1])
    try:
        cells = [(lineno, _cells(ln, sep)) for lineno, ln in rows]
    except csv.Error as exc:
        raise InputError(f"{name}: cannot parse as CSV ({exc})") from None
    header = None
    _check_header_gaps(name, *cells[0])
    if _is_header(cells[0][1]):
        header = cells[0][1]
        cells = cells[1:]
    if not cells:
        raise InputError(f"{name}: has a header but no data rows")
    width = len(header) if header is not None else len(cells[0][1])
    data = np.empty((len(cells), width))
    for k, (lineno, row) in enumerate(cells):
        if len(row) != width:
            raise InputError(f"{name}: line {lineno} has {len(row)} columns, expected {width}"
                             + (f" (as in the header {','.join(header)!r})" if header else ""))
        for col, cell in enumerate(row):
            try:
                data[k, col] = float(cell)
            except ValueError:
                what = "an empty cell" if not cell else f"a non-numeric value {cell!r}"
                hint = (" (a header row must name every column; this row is read as data)"
                        if k == 0 and header is None else "")
                raise InputError(f"{name}: line {lineno} has {what} in column {col + 1}{hint}") \
                    from None
    bad = np.argwhere(~np.isfinite(data))
    if bad.size:
        k, col = bad[0]
        cell = cells[k][1][col].strip()
        beyond = cell.lower().lstrip("+-") not in ("nan", "inf", "infinity")
        raise InputError(f"{name}: " + (
            f"line {cells[k][0]}, column {col + 1}: {cell!r} is beyond the float64 range "
            f"(+-{np.finfo(np.float64).max:.3g})" if beyond else
            f"NaN or infinite value at line {cells[k][0]}, column {col + 1}"))
    return header, data, [lineno for lineno, _ in cells]


def _check_header_gaps(name: str, lineno: int, cells: list[str]) -> None:
    """A first row whose cells are names except for empty ones is a header with an unnamed
    column (typically a trailing separator): say which column, instead of reading the row
    as data and blaming its first name."""
    names = [c for c in cells if c.strip()]
    if names and len(names) < len(cells) and not any(_is_number(c) for c in names):
        empty = [i + 1 for i, c in enumerate(cells) if not c.strip()]
        trailing = " (a separator at the end of the line?)" if empty[-1] == len(cells) else ""
        raise InputError(f"{name}: line {lineno} is a header with no name for column "
                         f"{', '.join(map(str, empty))}{trailing}; name every column or remove "
                         "the empty one")


def parse_label_column(value: object) -> LabelColumn:
    """A label column as given on the command line: a 1-based column number (negative: from
    the end; ``-1`` is the last column) or a header name."""
    text = str(value).strip()
    if not text:
        raise InputError("label_column: empty column name")
    try:
        return int(text)
    except ValueError:
        return text


def _label_index(name: str, header: list[str] | None, width: int,
                 label_column: LabelColumn) -> int:
    """The 0-based index of the label column; never guessed."""
    if isinstance(label_column, (int, np.integer)) and not isinstance(label_column, bool):
        k = int(label_column)
        if k == 0 or abs(k) > width:
            raise InputError(f"label_column: column number {k} is out of range: {name} has "
                             f"{width} columns (1..{width}, or -1 for the last)")
        return k - 1 if k > 0 else width + k
    if not isinstance(label_column, str) or not label_column.strip():
        raise InputError(f"label_column: expected a column name or number, got {label_column!r}")
    want = label_column.strip()
    if header is None:
        raise InputError(
            f"{name}: no header row, so no column named {want!r} holds the labels; add a "
            f"header line (e.g. {','.join([f'x{i}' for i in range(max(width - 1, 1))] + [want])}) "
            "or give the label column's number (--label-column -1 for the last column)")
    found = [i for i, h in enumerate(header) if h.strip().lower() == want.lower()]
    if len(found) > 1:
        raise InputError(f"{name}: {len(found)} columns are named {want!r}; which one holds the "
                         "labels is ambiguous")
    if not found:
        close = difflib.get_close_matches(want.lower(), [h.lower() for h in header], n=1)
        hint = (f" Is {header[[h.lower() for h in header].index(close[0])]!r} the label "
                "column (a typo)?" if close else "")
        raise InputError(f"{name}: no column named {want!r} holds the labels (columns: "
                         f"{', '.join(header)}).{hint} Name the label column {want!r} or pass "
                         "its name or number with --label-column")
    return found[0]


def _split_labels(name: str, header: list[str] | None, data: np.ndarray,
                  label_column: LabelColumn):
    k = _label_index(name, header, data.shape[1], label_column)
    col = header[k] if header else f"column {k + 1}"
    if data.shape[1] < 2:
        raise InputError(f"{name}: no coordinate column besides the labels ({col!r})")
    coords, labels = np.delete(data, k, axis=1), data[:, k]
    values = set(np.unique(labels).tolist())
    if not (values <= {1.0, -1.0} or values <= {1.0, 0.0}):
        raise InputError(f"{name}: the label column {col!r} must hold labels in {{+1, -1}} or "
                         f"{{1, 0}}, found values {sorted(values)[:6]}")
    pos = labels == 1.0
    if not pos.any():
        raise InputError(f"{name}: the positive class is empty (no label +1 in {col!r})")
    if pos.all():
        raise InputError(f"{name}: the negative class is empty (no label -1 or 0 in {col!r})")
    return coords[pos], coords[~pos]


def load_dataset(path: str | os.PathLike, label_column: LabelColumn = DEFAULT_LABEL_COLUMN):
    """Read a labelled data set; returns ``(x_pos, x_neg, a, b)`` (``a``, ``b`` may be None).

    For CSV, ``label_column`` names the column of labels (header name, case-insensitive) or
    gives its 1-based number (negative counts from the end); see the module docstring.
    """
    name = _path(path)
    if _is_npz(name):
        arrays = read_npz(name)
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
    header, data, _ = read_csv(name)
    x_pos, x_neg = _split_labels(name, header, data, label_column)
    return x_pos, x_neg, None, None


def load_points(path: str | os.PathLike, dim: int | None = None,
                label_column: str | None = DEFAULT_LABEL_COLUMN) -> np.ndarray:
    """Read points ``(k, d)`` in file order (npz: ``points``, or ``x_pos`` rows then ``x_neg``).

    A CSV points file has no labels: every column is a coordinate, except a column that the
    header names ``label_column`` (default ``"label"``; None keeps every column), which is
    dropped so that a labelled data set can be evaluated.  ``dim``, if given, is the required
    dimension; a mismatch is an error (never resolved by dropping a column).
    """
    name = _path(path)
    if _is_npz(name):
        arrays = read_npz(name)
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
    header, data, _ = read_csv(name)
    if header is not None and label_column is not None:
        keep = [h.strip().lower() != str(label_column).strip().lower() for h in header]
        data = data[:, keep]
    if data.shape[1] == 0:
        raise InputError(f"{name}: no coordinate column")
    if dim is not None and data.shape[1] != dim:
        cols = f" ({', '.join(header)})" if header is not None else ""
        raise InputError(f"{name}: points: dimension mismatch, the file has {data.shape[1]} "
                         f"coordinate columns{cols} but d={dim} is expected; a points file has "
                         "no labels, every column is a coordinate")
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
    is_csv = name.lower().endswith(".csv")
    if is_csv and (a is not None or b is not None):
        raise InputError("a: weights cannot be stored in CSV; save to .npz instead")
    if not is_csv and not name.lower().endswith(".npz"):
        raise InputError(f"path: unknown extension for {name!r}; use .npz or .csv")
    try:
        if is_csv:
            d = x_pos.shape[1]
            rows = np.vstack([np.column_stack([x_pos, np.ones(len(x_pos))]),
                              np.column_stack([x_neg, -np.ones(len(x_neg))])])
            header = ",".join([f"x{i}" for i in range(d)] + ["label"])
            np.savetxt(name, rows, delimiter=",", header=header, comments="",
                       fmt=["%.17g"] * d + ["%d"])
        else:
            with open(name, "wb") as fh:
                np.savez(fh, **arrays)
    except OSError as exc:
        raise InputError(f"path: cannot write {name!r} ({exc.strerror or exc})") from None
