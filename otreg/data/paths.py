"""Output paths, checked before any computation: the one place that decides whether a file or
a folder can be written (the command line's options, a sweep's table).

Every check raises :class:`otreg.errors.InputError` starting with the option at fault: a
directory where a file is expected, a missing or read-only folder, a wrong suffix.
"""
from __future__ import annotations

import os

from ..errors import InputError

__all__ = ["output_dir", "output_file"]

#: check permissions as the effective user (who will write), where the platform can
_EFFECTIVE = {"effective_ids": True} if os.access in os.supports_effective_ids else {}


def _nearest_existing(path: str) -> str:
    """``path`` or its nearest existing ancestor."""
    cur = os.path.abspath(path)
    while not os.path.lexists(cur):
        parent = os.path.dirname(cur)
        if parent == cur:
            break
        cur = parent
    return cur


def _writable_dir(option: str, path: str, directory: str) -> None:
    if not os.path.isdir(directory):
        raise InputError(f"{option}: cannot write {path!r}: {directory!r} is a file, not a "
                         "directory")
    if not os.access(directory, os.W_OK | os.X_OK, **_EFFECTIVE):
        raise InputError(f"{option}: cannot write {path!r}: permission denied in directory "
                         f"{directory!r}")


def output_file(path: str | None, option: str, suffixes: tuple[str, ...] = (),
                create_parent: bool = False) -> str | None:
    """Check that a file can be written at ``path`` (None: nothing to check).

    The path must not be a directory, an existing file must be writable, and its directory
    must exist (or, with ``create_parent``, be creatable) and be writable.  ``suffixes`` are
    the accepted extensions (any if empty).  Raises :class:`InputError` starting with
    ``option``.
    """
    if path is None:
        return None
    if not str(path).strip():
        raise InputError(f"{option}: empty file name")
    path = os.fspath(path)
    if suffixes and not path.lower().endswith(suffixes):
        raise InputError(f"{option}: expected a file name ending in {' or '.join(suffixes)}, "
                         f"got {path!r}")
    if os.path.isdir(path) or path.endswith(os.sep):
        raise InputError(f"{option}: {path!r} is a directory; give a file name")
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise InputError(f"{option}: {path!r} exists and is not a regular file")
        if not os.access(path, os.W_OK, **_EFFECTIVE):
            raise InputError(f"{option}: cannot write {path!r}: permission denied")
    parent = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(parent):
        _writable_dir(option, path, parent)
    elif create_parent:
        _writable_dir(option, path, _nearest_existing(parent))
    elif os.path.lexists(parent):
        raise InputError(f"{option}: cannot write {path!r}: {parent!r} is a file, not a "
                         "directory")
    else:
        raise InputError(f"{option}: directory {parent!r} does not exist")
    return path


def output_dir(path: str | None, option: str) -> str | None:
    """Check (and create) a directory to write files into; None: nothing to do."""
    if path is None:
        return None
    if not str(path).strip():
        raise InputError(f"{option}: empty directory name")
    path = os.fspath(path)
    _writable_dir(option, path, _nearest_existing(path))
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{option}: cannot create directory {path!r} "
                         f"({exc.strerror or exc})") from None
    return path
