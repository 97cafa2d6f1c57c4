"""Output paths, checked before any computation, and written atomically: the one place that
decides whether a file or a folder can be written (the command line's options, a sweep's
table) and how every output file reaches the disk.

Every check raises :class:`otreg.errors.InputError` starting with the option at fault: a
directory where a file is expected, a missing or read-only folder, a wrong suffix, an output
that is one of the inputs (:func:`outputs_apart_from_inputs`).  :func:`atomic_file` writes
into a temporary file of the same folder and renames it into place, so that a failed write
leaves the previous file as it was.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import signal
import threading
from typing import IO, Iterator

from ..errors import InputError

__all__ = ["atomic_file", "atomic_write", "output_dir", "output_file",
           "outputs_apart_from_inputs", "same_file"]

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


# ------------------------------------------------------------------------ atomic writes
def _target(path: str) -> str:
    """The file a write to ``path`` should replace: through a symbolic link, its target (the
    link stays a link)."""
    return os.path.realpath(path) if os.path.islink(path) else path


def _open_temp(directory: str, base: str) -> tuple[int, str | None]:
    """A file descriptor open for writing on a new file of ``directory``, and its name.

    On Linux the file has no name until :func:`_publish` (``O_TMPFILE``): a process killed
    while writing (``kill -9``, a file-size limit, SIGTERM) leaves nothing behind.  Elsewhere
    (or on a file system without ``O_TMPFILE``) a hidden name ``.<base>.<random>.tmp``, removed
    on failure."""
    if hasattr(os, "O_TMPFILE"):
        try:
            return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o666), None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise
    name = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), name


def _publish(fd: int, name: str | None, directory: str, base: str, target: str) -> None:
    """Give the temporary file a name (if it has none) and rename it over ``target``."""
    if name is None:
        name = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
        dir_fd = os.open(directory, os.O_RDONLY)
        try:  # linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N: the way to name an O_TMPFILE
            os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        finally:
            os.close(dir_fd)
    try:
        os.replace(name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(name)
        raise


@contextlib.contextmanager
def _sigterm_deferred() -> Iterator[None]:
    """Hold SIGTERM back while a file is published (a few system calls), so that a default
    SIGTERM cannot kill the process between naming the temporary file and renaming it."""
    if threading.current_thread() is not threading.main_thread() or \
            not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _named(exc: OSError, path: str) -> OSError:
    """``exc`` with ``path`` as its file name if it has none (errors name the file)."""
    if exc.filename is None:
        exc.filename = path
    return exc


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb", *, encoding: str | None = None,
                newline: str | None = None) -> Iterator[IO]:
    """Open ``path`` for writing, atomically: the data go to a temporary file in the same
    folder, which is flushed to the disk (``fsync``) and renamed over ``path`` only when the
    ``with`` block ends without an exception.

    Whatever interrupts the write — an exception, a full disk, the file-size limit, Ctrl-C,
    SIGTERM, ``kill -9`` — the previous file at ``path`` stays byte for byte as it was and no
    temporary file remains.  An existing file keeps its permissions; a symbolic link keeps
    pointing where it did (its target is replaced).  ``mode`` is ``"wb"`` or ``"w"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode: expected 'w' or 'wb', got {mode!r}")
    target = _target(os.fspath(path))
    directory = os.path.dirname(os.path.abspath(target))
    base = os.path.basename(target)
    try:
        fd, name = _open_temp(directory, base)
    except OSError as exc:
        raise _named(exc, target) from None
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, os.stat(target).st_mode & 0o7777)
        with os.fdopen(os.dup(fd), mode, encoding=encoding if mode == "w" else None,
                       newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        with _sigterm_deferred():
            _publish(fd, name, directory, base, target)
        name = None
    except OSError as exc:  # a full disk, the file-size limit: name the file
        raise _named(exc, target) from None
    finally:
        os.close(fd)
        if name is not None:
            with contextlib.suppress(OSError):
                os.remove(name)


def atomic_write(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` with :func:`atomic_file`."""
    if isinstance(data, str):
        with atomic_file(path, "w", encoding="utf-8") as fh:
            fh.write(data)
    else:
        with atomic_file(path, "wb") as fh:
            fh.write(data)


# ------------------------------------------------------------------ outputs and inputs
def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: the same device and inode after following symbolic
    links (so ``./x`` and ``x``, a link and its target, two hard links), or, where ``a`` does
    not exist yet, the same resolved path."""
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def outputs_apart_from_inputs(outputs: dict[str, str | None],
                              inputs: dict[str, str | None]) -> None:
    """Refuse, before any work, an output file that is one of the input files.

    ``outputs`` and ``inputs`` map an option's name to a path (None: not given; an input that
    is not an existing file, such as a toy name, is skipped).  The message names both
    options: ``train --data d.npz --out d.npz`` must not replace the data with a model."""
    real_inputs = {opt: p for opt, p in inputs.items()
                   if p is not None and os.path.isfile(os.fspath(p))}
    for out_opt, out in outputs.items():
        if out is None:
            continue
        for in_opt, inp in real_inputs.items():
            if same_file(os.fspath(out), os.fspath(inp)):
                raise InputError(f"{out_opt}: {os.fspath(out)!r} is the input file of "
                                 f"{in_opt} ({os.fspath(inp)!r}); writing it would destroy "
                                 "the input, choose another output file")
