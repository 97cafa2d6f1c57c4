"""Save and load models as ``.npz``: a JSON architecture string plus float arrays, no pickle."""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from ..errors import InputError

FORMAT = "otreg.nn/1"


def save_model(model, path) -> None:
    """Write ``model`` (a :class:`~otreg.nn.layers.Sequential`) to ``path`` (.npz)."""
    cfg = dict(model.config())
    cfg["format"] = FORMAT
    arrays = {"architecture": np.array([json.dumps(cfg)])}
    for i, layer in enumerate(model.layers):
        for key, arr in layer.state().items():
            arrays[f"layer{i}.{key}"] = np.asarray(arr, dtype=np.float64)
    path = os.fspath(path)
    with open(path, "wb") as fh:  # np.savez would append ".npz" to other names
        np.savez(fh, **arrays)


def model_from_config(cfg: dict, where: str = "model"):
    """Build an (untrained) Sequential from an architecture dict."""
    from .layers import Activation, LipschitzDense, Sequential

    try:
        if cfg.get("type") != "sequential":
            raise InputError(f"{where}: architecture type must be 'sequential'")
        layers = []
        for lc in cfg["layers"]:
            if lc["type"] == "dense":
                layers.append(LipschitzDense(int(lc["in"]), int(lc["out"]), bias=bool(lc["bias"]),
                                             bjorck_iters=int(lc["bjorck_iters"]),
                                             power_iters=int(lc["power_iters"]),
                                             normalize=lc.get("normalize", "orthonormal")))
            elif lc["type"] == "activation":
                layers.append(Activation(lc["name"]))
            else:
                raise InputError(f"{where}: unknown layer type {lc['type']!r}")
        model = Sequential(layers)
    except InputError as exc:
        raise InputError(f"{where}: invalid architecture ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{where}: invalid architecture ({type(exc).__name__}: {exc})") from None
    dims = [(l.n_in, l.n_out) for l in model.dense_layers]
    for (_, out_prev), (in_next, _) in zip(dims, dims[1:]):
        if out_prev != in_next:
            raise InputError(f"{where}: invalid architecture (layer sizes {dims} do not chain)")
    return model


def load_model(path):
    """Read a model written by :meth:`Sequential.save`; any problem raises InputError."""
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise InputError(f"model: file not found: {name}")
    try:
        with np.load(name, allow_pickle=False) as data:
            files = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"model: {name} is not a readable .npz model file ({exc})") from None
    if "architecture" not in files:
        raise InputError(f"model: {name} has no 'architecture' entry (not an otreg model)")
    try:
        arch = files.pop("architecture")
        cfg = json.loads(str(arch.reshape(-1)[0]))
    except (ValueError, IndexError, TypeError) as exc:
        raise InputError(f"model: {name}: the architecture is not valid JSON ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise InputError(f"model: {name}: unknown model format (expected {FORMAT!r})")
    model = model_from_config(cfg, where=f"model: {name}")
    per_layer = {}
    for key, arr in files.items():
        head, _, tail = key.partition(".")
        if not head.startswith("layer") or not head[5:].isdigit() or not tail:
            raise InputError(f"model: {name}: unexpected array {key!r}")
        per_layer.setdefault(int(head[5:]), {})[tail] = arr
    for i, layer in enumerate(model.layers):
        st = per_layer.pop(i, {})
        if hasattr(layer, "weight"):
            try:
                layer.load_state(st)
            except InputError as exc:
                raise InputError(f"model: {name}: layer {i}: {exc}") from None
        elif st:
            raise InputError(f"model: {name}: layer {i} has unexpected arrays {sorted(st)}")
    if per_layer:
        raise InputError(f"model: {name}: arrays for non-existent layers {sorted(per_layer)}")
    return model
