"""Configurations and grids: what one run of a sweep is, and which runs a sweep makes.

A *configuration* is a flat dict of plain JSON values that says everything about one training
run: the data, the network, the training, the probes, the seed and the repeat index. `DEFAULTS`
lists every key with its default; `normalise_config` fills in the defaults and checks the
values, so two spellings of the same run (`dropout=0` and `dropout=0.0`) are the same config.
`config_hash` names a configuration with 16 hex digits of the SHA-256 of its canonical JSON:
stable across runs, machines and Python versions, so the result store can find a run's record
from its configuration alone.

A *grid* is the ordered list of configurations of one sweep. `PRESETS` holds, for every kind
of sweep, a "full" grid that follows the study and a "quick" one for a laptop; `make_grid`
builds either, with any key overridden. The order is fixed (repeats outermost, then the axes
in the order written), which is what makes `--shard K/N` deterministic.

This module is plain Python (no NumPy), so the command line can import it quickly.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import numbers

KINDS = ("width", "depth", "time", "samples", "regularization", "noise", "random", "phase")

# Every key of a configuration, with its default. Comments say what the key means.
DEFAULTS = {
    "sweep": "custom",  # which sweep the run belongs to: a label for the tables
    "dataset": "fashion-mnist-mini",  # any name hashnet.datasets.load knows
    "n_train": None,  # keep the first n training examples (None: all of them)
    "n_test": None,  # keep the first n test examples (None: all of them)
    "width": 100,  # total hidden units, split over `depth` layers (hashnet.nn.split_width)
    "depth": 1,
    "activation": "relu",  # or "leaky_relu"
    "batchnorm": False,  # batch normalisation before each activation
    "dropout": 0.0,  # dropout rate after each activation
    "weight_decay": 0.0,  # L2 penalty on the weight matrices
    "optimizer": "adam",  # or "sgd" (momentum 0.9)
    "lr": 1e-3,
    "lr_schedule": None,  # None (constant) or "step" (lr x 0.1 every 20 epochs)
    "batch_size": 128,
    "epochs": 20,  # set to max(snapshots) when snapshots are given
    "snapshots": None,  # epochs measured from ONE run (training-time sweeps), e.g. [0, 1, 10]
    "sample_size": None,  # distinct training examples (None: all n_train)
    "sample_protocol": "first",  # "first": the first n; "stratified": a class-stratified draw
    "epoch_length": None,  # rows per epoch once the n examples are tiled (None: n_train)
    "label_noise": 0.0,  # fraction of the training labels replaced by another class
    "inputs": "data",  # "data", or "uniform": noise with the data's shape and range
    "labels": "real",  # "real", or "random": uniformly random training labels
    "probes": ["kmeans", "knn", "lr"],  # which categorization probes to run
    "k": 9,  # neighbours of K-NN
    "kmeans_n_init": 10,  # K-Means restarts
    "C": 1.0,  # inverse L2 strength of the logistic regression
    "multi_class": "multinomial",  # or "ovo" (one-vs-one, the study's setting)
    "seed": 0,  # base seed; each repeat derives its own streams from (seed, repeat)
    "repeat": 0,  # repeat index: 0, 1, ... (a new initialisation and shuffling)
}

# Allowed values of the categorical keys; the first one is the plain, default setting.
CHOICES = {
    "activation": ("relu", "leaky_relu"),
    "optimizer": ("adam", "sgd"),
    "lr_schedule": (None, "step"),
    "sample_protocol": ("first", "stratified"),
    "inputs": ("data", "uniform"),
    "labels": ("real", "random"),
    "multi_class": ("multinomial", "ovo"),
}
_PROBES = ("kmeans", "knn", "lr")
_INTS = {"width": 1, "depth": 1, "batch_size": 1, "epochs": 0, "k": 1, "kmeans_n_init": 1}
_INTS.update(seed=0, repeat=0)
_OPTIONAL_INTS = {"n_train": 1, "n_test": 1, "sample_size": 1, "epoch_length": 1}
_FLOATS = ("dropout", "weight_decay", "lr", "label_noise", "C")
_BOOLS = ("batchnorm",)

# --- presets --------------------------------------------------------------------------------

# Snapshot epochs of the study's training-time runs (0 is the untrained network).
STUDY_SNAPSHOTS = [0, 1, 2, 3, 6, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90, 100]
_QUICK_DATA = {"dataset": "fashion-mnist-mini", "n_train": 3000, "n_test": 1000}
_QUICK_TRAIN = {"epochs": 20, "batch_size": 64, "kmeans_n_init": 3}

# kind -> {"full"/"quick": {"fixed": {...}, "axes": [sub-grid, ...], "repeats": R}}.
# A sub-grid is a dict key -> list of values; a grid is the union of the sub-grids' products.
PRESETS = {
    "width": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "depth": 1, "epochs": 100},
            "axes": [{"width": [3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90, 100]}],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN, "depth": 1},
            "axes": [{"width": [3, 5, 10, 20, 40, 80, 160]}],
            "repeats": 2,
        },
    },
    "depth": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "epochs": 100},
            "axes": [{"width": [50, 100], "depth": [1, 2, 3, 4, 5]}],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN},
            "axes": [{"width": [40, 100], "depth": [1, 2, 3, 4]}],
            "repeats": 2,
        },
    },
    "time": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "depth": 1, "snapshots": STUDY_SNAPSHOTS},
            "axes": [{"width": [40, 50, 60]}],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN, "snapshots": [0, 1, 2, 4, 8, 15, 30]},
            "axes": [{"width": [20, 40, 80]}],
            "repeats": 2,
        },
    },
    "samples": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "depth": 1, "epochs": 100},
            "axes": [
                {
                    "width": [30, 40, 50],
                    "sample_size": [100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000],
                }
            ],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN},
            "axes": [{"width": [20, 40, 80], "sample_size": [50, 100, 200, 500, 1000, 3000]}],
            "repeats": 2,
        },
    },
    "regularization": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "width": 50, "depth": 1, "epochs": 100},
            "axes": [
                {"weight_decay": [0.0, 1e-5, 1e-4, 1e-3, 1e-2]},
                {"dropout": [0.0, 0.1, 0.2, 0.3, 0.5]},
                {"batchnorm": [False, True]},
            ],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN, "width": 40},
            "axes": [
                {"weight_decay": [0.0, 1e-4, 1e-3, 1e-2]},
                {"dropout": [0.0, 0.2, 0.5]},
                {"batchnorm": [False, True]},
            ],
            "repeats": 2,
        },
    },
    "noise": {
        "full": {
            "fixed": {"dataset": "fashion-mnist", "depth": 1, "epochs": 100},
            "axes": [{"width": [30, 100], "label_noise": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8]}],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN},
            "axes": [{"width": [40, 100], "label_noise": [0.0, 0.2, 0.4, 0.6, 0.8]}],
            "repeats": 2,
        },
    },
    "random": {
        "full": {
            "fixed": {
                "dataset": "fashion-mnist",
                "width": 50,
                "depth": 1,
                "snapshots": STUDY_SNAPSHOTS,
            },
            "axes": [{"inputs": ["data", "uniform"], "labels": ["real", "random"]}],
            "repeats": 2,
        },
        "quick": {
            "fixed": {
                **_QUICK_DATA,
                **_QUICK_TRAIN,
                "width": 40,
                "snapshots": [0, 1, 2, 5, 10, 20, 40],
            },
            "axes": [{"inputs": ["data", "uniform"], "labels": ["real", "random"]}],
            "repeats": 2,
        },
    },
    "phase": {
        "full": {
            "fixed": {
                "dataset": "fashion-mnist",
                "depth": 1,
                "snapshots": [0, 1, 2, 5, 10, 20, 50, 100],
            },
            "axes": [
                {
                    "sample_size": [1000, 5000, 20000, 60000],
                    "width": [5, 10, 20, 30, 40, 60, 80, 100],
                }
            ],
            "repeats": 2,
        },
        "quick": {
            "fixed": {**_QUICK_DATA, **_QUICK_TRAIN, "snapshots": [0, 1, 2, 5, 10, 20, 40]},
            "axes": [{"sample_size": [100, 500, 3000], "width": [5, 10, 20, 40, 80, 160]}],
            "repeats": 1,
        },
    },
}


# --- configurations ---------------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int(key, value, low):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value) or value < low:
        raise ValueError(f"config {key!r} must be an integer >= {low}, got {value!r}")
    return int(value)


def _float(key, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"config {key!r} must be a number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"config {key!r} must be a finite number >= 0, got {value!r}")
    return value


def normalise_config(config) -> dict:
    """Return a complete, checked copy of `config` (defaults filled in, values canonical).

    Raises ValueError naming the key for unknown keys and bad values. When `snapshots` is
    given, `epochs` becomes max(snapshots): the snapshots decide how long the run trains.
    """
    unknown = set(config) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown config key(s) {sorted(unknown)}; known keys: {', '.join(DEFAULTS)}"
        )
    c = {**copy.deepcopy(DEFAULTS), **copy.deepcopy(dict(config))}
    for key, low in _INTS.items():
        c[key] = _int(key, c[key], low)
    for key, low in _OPTIONAL_INTS.items():
        c[key] = None if c[key] is None else _int(key, c[key], low)
    for key in _FLOATS:
        c[key] = _float(key, c[key])
    for key in _BOOLS:
        if c[key] not in (True, False, 0, 1):
            raise ValueError(f"config {key!r} must be True or False, got {c[key]!r}")
        c[key] = bool(c[key])
    for key, choices in CHOICES.items():
        if c[key] not in choices:
            raise ValueError(f"config {key!r} must be one of {choices}, got {c[key]!r}")
    for key in ("sweep", "dataset"):
        if not isinstance(c[key], str) or not c[key]:
            raise ValueError(f"config {key!r} must be a non-empty string, got {c[key]!r}")
    if c["lr"] == 0:
        raise ValueError("config 'lr' must be > 0")
    if not c["dropout"] < 1:
        raise ValueError(f"config 'dropout' must be a rate in [0, 1), got {c['dropout']}")
    if not c["label_noise"] <= 1:
        raise ValueError(f"config 'label_noise' must be in [0, 1], got {c['label_noise']}")
    if c["width"] < c["depth"]:
        raise ValueError(f"config 'width' ({c['width']}) must be >= 'depth' ({c['depth']})")
    probes = c["probes"]
    if isinstance(probes, str) or not all(p in _PROBES for p in probes):
        raise ValueError(f"config 'probes' must be a list drawn from {_PROBES}, got {probes!r}")
    c["probes"] = [p for p in _PROBES if p in probes]  # canonical order, no duplicates
    if c["snapshots"] is not None:
        snaps = c["snapshots"]
        if isinstance(snaps, (str, bytes)) or not hasattr(snaps, "__iter__"):
            raise ValueError(f"config 'snapshots' must be a list of epochs, got {snaps!r}")
        snaps = sorted({_int("snapshots", e, 0) for e in snaps})
        if not snaps:
            raise ValueError("config 'snapshots' is empty; give epochs or None")
        c["snapshots"], c["epochs"] = snaps, snaps[-1]
    if c["sample_size"] is not None and c["epoch_length"] is not None:
        if c["epoch_length"] < c["sample_size"]:
            raise ValueError(
                f"config 'epoch_length' ({c['epoch_length']}) must be >= 'sample_size' "
                f"({c['sample_size']})"
            )
    return c


def canonical_json(config) -> str:
    """The configuration as compact JSON with sorted keys: the text its hash is taken of."""
    return json.dumps(normalise_config(config), sort_keys=True, separators=(",", ":"))


def config_hash(config) -> str:
    """16 hex digits naming a configuration (SHA-256 of its canonical JSON)."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


# --- grids ------------------------------------------------------------------------------------


def _as_list(value):
    if isinstance(value, (list, tuple, range)):
        return list(value)
    return [value]


def make_grid(kind, quick=False, repeats=None, **overrides) -> list[dict]:
    """The configurations of one sweep, in their fixed order.

    kind : one of KINDS ("width", "time", ...); the preset gives the axes and fixed values
    quick : the laptop preset (minutes) instead of the study's (hours)
    repeats : runs per point, each with its own seeds (default: the preset's)
    overrides : any config key. For a key the preset sweeps over ("width" in the width
        sweep), a list replaces the values swept and a single value pins it; for any other
        key the value is fixed for every run, except that a list (or tuple) for a key other
        than `snapshots` and `probes` adds a new axis, e.g. make_grid("width", lr=[1e-3, 1e-2]).

    >>> [c["width"] for c in make_grid("width", quick=True, repeats=1)]
    [3, 5, 10, 20, 40, 80]
    """
    if kind not in PRESETS:
        raise ValueError(f"unknown sweep kind {kind!r}; choose from {', '.join(KINDS)}")
    preset = copy.deepcopy(PRESETS[kind]["quick" if quick else "full"])
    fixed, axes = {**preset["fixed"], "sweep": kind}, preset["axes"]
    repeats = preset["repeats"] if repeats is None else _int("repeats", repeats, 1)
    new_axes = {}
    for key, value in overrides.items():
        if key not in DEFAULTS or key == "repeat":
            hint = " (use repeats=)" if key == "repeat" else f"; known keys: {', '.join(DEFAULTS)}"
            raise ValueError(f"cannot override {key!r}{hint}")
        swept = [sub for sub in axes if key in sub]
        for sub in swept:
            sub[key] = _as_list(value)
        if swept:
            continue
        if isinstance(value, (list, tuple, range)) and key not in ("snapshots", "probes"):
            new_axes[key] = list(value)
        else:
            fixed[key] = value
    configs, seen = [], set()
    for repeat in range(repeats):
        for sub in axes:
            sub = {**sub, **new_axes}
            keys = list(sub)
            for values in itertools.product(*(sub[k] for k in keys)):
                config = normalise_config({**fixed, **dict(zip(keys, values)), "repeat": repeat})
                name = config_hash(config)
                if name not in seen:  # sub-grids may share a point (the unregularized net)
                    seen.add(name)
                    configs.append(config)
    return configs


def parse_shard(shard):
    """'K/N' (or a pair (K, N)) -> (K, N), checking 1 <= K <= N."""
    if shard is None:
        return None
    if isinstance(shard, str):
        try:
            k, n = (int(part) for part in shard.split("/"))
        except ValueError:
            raise ValueError(f"shard must look like K/N (e.g. 3/16), got {shard!r}") from None
    else:
        k, n = shard
    if not (_is_int(k) and _is_int(n) and 1 <= k <= n):
        raise ValueError(f"shard K/N needs 1 <= K <= N, got {k}/{n}")
    return int(k), int(n)


def select_shard(configs, shard):
    """The configurations of shard K/N: those whose index in the grid is K-1 modulo N."""
    shard = parse_shard(shard)
    if shard is None:
        return list(configs)
    k, n = shard
    return [c for i, c in enumerate(configs) if i % n == k - 1]


def varying_keys(configs, exclude=("repeat", "seed")) -> list[str]:
    """Keys whose value differs between configurations, in DEFAULTS order."""
    keys = []
    for key in DEFAULTS:
        if key in exclude:
            continue
        if len({json.dumps(c.get(key), sort_keys=True) for c in configs}) > 1:
            keys.append(key)
    return keys
