"""Save and load models as ``.npz``: a JSON architecture string plus float arrays, no pickle."""
from __future__ import annotations

import json
import os

import numpy as np

from ..data.io import read_npz
from ..data.paths import atomic_file
from ..errors import InputError
from .cones import ConeNetwork
from .layers import Sequential

FORMAT = "otreg.nn/1"


def save_model(model: Sequential, path: str | os.PathLike) -> None:
    """Write ``model``'s architecture and weights to ``path`` (.npz, no pickle)."""
    cfg = dict(model.config())
    cfg["format"] = FORMAT
    arrays = {"architecture": np.array([json.dumps(cfg, allow_nan=False)])}
    for i, layer in enumerate(model.layers):
        for key, arr in layer.state().items():
            arrays[f"layer{i}.{key}"] = np.asarray(arr, dtype=np.float64)
    if isinstance(model, ConeNetwork):
        for key, arr in model.cone_state().items():
            arrays[f"cones.{key}"] = np.asarray(arr, dtype=np.float64)
    path = os.fspath(path)
    # through a file object: np.savez would append ".npz" to other names; atomically: a failed
    # write keeps the previous model
    with atomic_file(path, "wb") as fh:
        np.savez(fh, **arrays)


def _no_constant(word: str) -> None:
    """JSON's non-standard Infinity / NaN have no place in an architecture (sizes, scales)."""
    raise ValueError(f"it holds {word}, which is not a number an architecture can use")


def load_model(path: str | os.PathLike) -> Sequential:
    """Read a model written by :func:`save_model`; any problem raises InputError."""
    name = os.fspath(path)
    if os.path.isdir(name):
        raise InputError(f"model: {name} is a directory, not a model file")
    if not os.path.isfile(name):
        raise InputError(f"model: file not found: {name}")
    try:  # also refuses a .npy array renamed .npz, which np.load returns as a bare array
        files = read_npz(name)
    except InputError as exc:
        raise InputError(f"model: {name} is not a readable .npz model file ({exc})") from None
    if "architecture" not in files:
        raise InputError(f"model: {name} has no 'architecture' entry (not an otreg model)")
    try:
        arch = files.pop("architecture")
        cfg = json.loads(str(arch.reshape(-1)[0]), parse_constant=_no_constant)
    except (ValueError, IndexError, TypeError) as exc:
        raise InputError(f"model: {name}: the architecture is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise InputError(f"model: {name}: unknown model format (expected {FORMAT!r})")
    cones = cfg.get("type") == "cones"
    net_cfg = cfg.get("network") if cones else cfg
    if not isinstance(net_cfg, dict):
        raise InputError(f"model: {name}: the cone model has no network architecture")
    model = Sequential.from_config(net_cfg, where=f"model: {name}")
    cone_arrays = {key[6:]: files.pop(key) for key in list(files) if key.startswith("cones.")}
    per_layer = {}
    for key, arr in files.items():
        head, _, tail = key.partition(".")
        if not head.startswith("layer") or not head[5:].isdigit() or not tail:
            raise InputError(f"model: {name}: unexpected array {key!r}")
        per_layer.setdefault(int(head[5:]), {})[tail] = arr
    for i, layer in enumerate(model.layers):
        st = per_layer.pop(i, {})
        if layer.parameters():
            try:
                layer.load_state(st)
            except InputError as exc:
                raise InputError(f"model: {name}: layer {i}: {exc}") from None
        elif st:
            raise InputError(f"model: {name}: layer {i} has unexpected arrays {sorted(st)}")
    if per_layer:
        raise InputError(f"model: {name}: arrays for non-existent layers {sorted(per_layer)}")
    if cones != bool(cone_arrays):
        raise InputError(f"model: {name}: cone arrays {sorted(cone_arrays)} do not match the "
                         f"architecture type {cfg.get('type')!r}")
    if cones:
        missing = {"centres", "up", "down"} - set(cone_arrays)
        if missing or len(cone_arrays) != 3:
            raise InputError(f"model: {name}: the cones need arrays centres, up and down, got "
                             f"{sorted(cone_arrays)}")
        try:
            model = ConeNetwork.on_network(model, cone_arrays["centres"], cone_arrays["up"],
                                           cone_arrays["down"])
        except InputError as exc:
            raise InputError(f"model: {name}: {exc}") from None
    return model
