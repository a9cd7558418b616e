"""Saving and loading models: one .npz file of plain arrays and a JSON description, no pickle.

A file holds

    format_version  1
    config          JSON: the model class, its input shape, seed and dtype, and its layers as
                    [class name, constructor arguments] pairs (an MLP also keeps its builder
                    arguments, so it is rebuilt by the same recipe)
    weight_i        the parameters in the order of `get_weights()`
    state_i         the non-trainable arrays (batch-norm running statistics), in layer order
    diverged        True when some weight was NaN or infinite at saving time

Nothing here knows a layer or model type: layer classes join `hashnet.nn.layers.LAYER_TYPES`
and model classes join `MODEL_TYPES` (below) when they are defined, and a file names them by
class name.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from hashnet._io import atomic_path
from hashnet.nn.layers import layer_from_config

FORMAT_VERSION = 1

# Model classes by name ("Sequential", "MLP", "CNN", ...): Sequential registers itself and
# every subclass as it is defined (see Sequential.__init_subclass__).
MODEL_TYPES: dict[str, type] = {}


def register_model(cls):
    """Let files name the model class `cls` (class decorator)."""
    MODEL_TYPES[cls.__name__] = cls
    return cls


def layers_from_config(config):
    """The layers described by a model's config, rebuilt from their class names."""
    return [layer_from_config(name, cfg) for name, cfg in config["layers"]]


def model_from_config(config):
    """A new model (fresh weights) built from the config a model gives with `_config()`."""
    name = config.get("class", "Sequential")
    if name not in MODEL_TYPES:
        raise ValueError(f"unknown model type {name!r}; known: {sorted(MODEL_TYPES)}")
    return MODEL_TYPES[name].from_config(config)


def save(model, path) -> Path:
    """Write `model` to the .npz file `path` (see the module docstring); returns the path.

    The file is written under a temporary name and renamed, so an interrupted save never
    leaves half a file. A model whose training diverged is saved too, marked as diverged.
    """
    path = Path(path)
    arrays = {
        "format_version": np.array(FORMAT_VERSION),
        "config": np.array(json.dumps(model._config())),
        "diverged": np.array(not model.is_finite()),
    }
    for i, w in enumerate(model.get_weights()):
        arrays[f"weight_{i}"] = w
    for i, s in enumerate(model._state_arrays()):
        arrays[f"state_{i}"] = s
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
    return path


def load(path):
    """Load a model saved with `save` (architecture, weights and batch-norm statistics).

    Every array is checked before the model is used: a file that is not a hashnet model, or
    one whose weights or statistics are damaged (wrong shapes, NaN, a negative variance), is a
    ValueError naming the file. A model saved after its training diverged loads with a
    RuntimeWarning.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")

    def refuse(problem):
        return ValueError(f"{path} is not a readable hashnet model file: {problem}")

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # np.load reports a file that is not an .npz as "pickled data": say what it means here.
        raise refuse(exc) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise refuse("it holds a single array (.npy), not a model archive (.npz)")
    try:
        with archive as f:
            for key in ("format_version", "config"):
                if key not in f.files:
                    raise refuse(f"no {key!r} entry")
            version = f["format_version"]
            if version.shape != () or not np.issubdtype(version.dtype, np.integer):
                raise refuse(f"format_version must be one integer, got {version!r}")
            version = int(version)
            if version != FORMAT_VERSION:
                raise ValueError(
                    f"{path} has model format version {version}; this hashnet reads version "
                    f"{FORMAT_VERSION}"
                )
            config = json.loads(str(f["config"]))
            if not isinstance(config, dict):
                raise refuse(f"its config is a JSON {type(config).__name__}, not an object")
            weights = [f[f"weight_{i}"] for i in range(sum(k.startswith("weight_") for k in f))]
            states = [f[f"state_{i}"] for i in range(sum(k.startswith("state_") for k in f))]
            flag = f["diverged"] if "diverged" in f.files else np.array(False)
            diverged = flag.shape == () and bool(flag)
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as exc:
        raise refuse(exc) from None
    try:
        model = model_from_config(config)
        model._assign(weights, states, allow_nonfinite=diverged)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise refuse(exc) from None
    if diverged:
        warnings.warn(diverged_warning(str(path)), RuntimeWarning, 2)
    return model


def diverged_warning(what):
    return (
        f"{what} holds a model whose training diverged: some weights are NaN or infinite, so "
        "its predictions and codes mean nothing"
    )
