"""Output paths of the ``otreg`` commands, checked before any computation.

A run that trains for minutes must not end in a traceback because ``--json`` names a
directory or ``--plots`` names a file: every command checks its output paths first
(:func:`otreg.data.paths.output_file` and ``output_dir``, re-exported here) and writes
through :func:`write_text` / :func:`writing`, which turn an ``OSError`` into one
:class:`~otreg.errors.InputError` naming the option and the path.
"""
from __future__ import annotations

import os
from typing import Callable

from ..data.paths import atomic_write, output_dir, output_file, outputs_apart_from_inputs
from ..errors import InputError

__all__ = ["output_file", "output_dir", "distinct", "apart", "writing", "write_text"]

#: the files ``--plots DIR`` of ``otreg verify`` may write (:func:`otreg.plot.plot_report`)
REPORT_FIGURES = ("plan.png", "potential.png", "gradnorm.png", "adversarial.png",
                  "adversarial_exact.png", "sweep.png")


def apart(outputs: dict[str, str | None], inputs: dict[str, str | None],
          plots: str | None = None) -> None:
    """No output file may be an input file (same file, however named: links, ``./x``);
    ``plots``: a directory of :data:`REPORT_FIGURES`, each an output of the option "plots".
    Raises :class:`InputError` naming both options, before any work."""
    outputs = dict(outputs)
    if plots is not None:
        for name in REPORT_FIGURES:
            outputs[f"plots ({name})"] = os.path.join(plots, name)
    outputs_apart_from_inputs(outputs, inputs)


def distinct(**paths: str | None) -> None:
    """Two options must not name the same output file."""
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise InputError(f"{option}: {path!r} is also given as {seen[key]}; each output "
                             "needs its own file")
        seen[key] = option


def writing(path: str, option: str, write: Callable[[str], object]) -> None:
    """``write(path)``, with an ``OSError`` (disk full, permissions changed meanwhile)
    reported as one :class:`InputError` naming the option and the path."""
    try:
        write(path)
    except OSError as exc:
        raise InputError(f"{option}: cannot write {path!r} ({exc.strerror or exc})") from None


def write_text(path: str, option: str, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8); see :func:`writing`."""
    writing(path, option, lambda p: atomic_write(p, text))
