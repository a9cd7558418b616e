"""Configurations and grids: what one run of a sweep is, and which runs a sweep makes.

A *configuration* is a flat dict of plain JSON values that says everything about one training
run: the data, the network, the training, the probes, the seed and the repeat index. `DEFAULTS`
lists every key with its default; `normalise_config` fills in the defaults and checks the
values, so two spellings of the same run (`dropout=0` and `dropout=0.0`) are the same config.
`config_hash` names a configuration with 16 hex digits of the SHA-256 of its canonical JSON:
stable across runs, machines and Python versions, so the result store can find a run's record
from its configuration alone.

A *grid* is the ordered list of configurations of one sweep. `PRESETS` holds, for every kind
of sweep, a "full" grid on the study's training protocol (`PROTOCOLS["study"]`; the study's
own grid where its published code has one, hashnet's otherwise, as each preset's comment
says) and a "quick" one, the same protocol scaled down for a laptop; `make_grid` builds
either, with any key overridden. The order is fixed (repeats outermost, then the axes
in the order written), which is what makes `--shard K/N` deterministic.

This module is plain Python (no NumPy), so the command line can import it quickly.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import numbers

KINDS = (
    "width",
    "width-deep",
    "depth",
    "time",
    "samples",
    "regularization",
    "noise",
    "random",
    "random-training",
    "phase",
    "cnn",
)

# The networks a run can train: an MLP (`width` hidden units over `depth` layers), or one of
# hashnet's CNN builders, whose `width` is the channels of its first stage (all later stages
# scale with it, so width is a channel multiplier: width / CNN_WIDTHS[model]).
CNN_WIDTHS = {
    "lenet": 6,
    "vgg11": 64,
    "vgg13": 64,
    "vgg16": 64,
    "vgg19": 64,
    "resnet20": 16,
    "resnet32": 16,
    "resnet56": 16,
    "resnet18": 64,
}

# Every key of a configuration, with its default. Comments say what the key means.
DEFAULTS = {
    "sweep": "custom",  # which sweep the run belongs to: a label for the tables
    "protocol": "hashnet",  # the training and probing rules the run started from (PROTOCOLS)
    "dataset": "fashion-mnist-mini",  # any name hashnet.datasets.load knows
    "n_train": None,  # keep the first n training examples (None: all of them)
    "n_test": None,  # keep the first n test examples (None: all of them)
    "train_fraction": 1.0,  # then train on the first fraction of them (the study: 0.8)
    "model": "mlp",  # "mlp", or a CNN of CNN_WIDTHS (trained on images, NCHW)
    "width": 100,  # total hidden units, split over `depth` layers (hashnet.nn.split_width);
    # a CNN's channels in its first stage
    "depth": 1,  # hidden layers of an MLP (a CNN's depth is in its name)
    "activation": "relu",  # or "leaky_relu"
    "init": "he",  # initial weights: "he" uniform (hashnet's) or "glorot" uniform (Keras')
    "batchnorm": False,  # batch normalisation before each activation
    "bn_momentum": 0.1,  # weight of each batch in batch norm's running statistics
    "bn_eps": 1e-5,  # added to the variance in batch norm
    "dropout": 0.0,  # dropout rate after each activation
    "weight_decay": 0.0,  # L2 penalty on the weight matrices: adds weight_decay * W to the
    # gradient (Keras' l2(c) adds 2c * W: the study's l2(1e-6) is weight_decay=2e-6)
    "optimizer": "adam",  # or "sgd" (momentum 0.9)
    "lr": 1e-3,
    "adam_eps": 1e-8,  # Adam's epsilon (Keras: 1e-7)
    "lr_schedule": None,  # None (constant) or "step" (lr x 0.1 every `lr_step` epochs)
    "lr_step": 20,  # epochs between the step schedule's steps (the study's CNNs: 50)
    "batch_size": 128,
    "epochs": 20,  # the most epochs; set to max(snapshots) when snapshots are given
    "patience": None,  # stop when the training loss has not fallen for this many epochs
    "snapshots": None,  # epochs measured from ONE run (training-time sweeps), e.g. [0, 1, 10]
    "sample_size": None,  # distinct training examples (None: all n_train)
    "sample_protocol": "first",  # "first": the first n; "stratified": a class-stratified draw
    "epoch_length": None,  # rows per epoch once the n examples are tiled (None: n_train)
    "tiling": "exact",  # "exact": tile to epoch_length rows; "whole": whole copies only
    "label_noise": 0.0,  # fraction of the training labels disturbed
    "noise_model": "flip",  # "flip": to another class; "permute": shuffled among themselves
    "augment": False,  # random turns, shifts and mirrors of training images (the study's CNNs)
    "inputs": "data",  # train on "data", or on "uniform" noise with the data's shape and range
    "labels": "real",  # "real", or "random": uniformly random training labels
    "random_inputs": False,  # also measure the redundancy of -U(0, 1) inputs at each point
    "probes": ["kmeans", "knn", "lr"],  # which categorization probes to run
    "k": 9,  # neighbours of K-NN
    "kmeans_n_init": 10,  # K-Means restarts
    "C": 1.0,  # inverse L2 strength of the logistic regression
    "probe_bits": None,  # the probes see this many random varying bits (None: all bits)
    "multi_class": "multinomial",  # or "ovo" (one-vs-one, the study's setting)
    "seed": 0,  # base seed; each repeat derives its own streams from (seed, repeat)
    "repeat": 0,  # repeat index: 0, 1, ... (a new initialisation and shuffling)
}

# The rules of training and probing, as a protocol. "study" is what the study's published
# code does for its MLPs (Keras: Dense -> BatchNorm -> ReLU, Glorot-uniform weights, l2(1e-6)
# on the kernels, Adam lr 1e-2 x 0.1 every 20 epochs, batch 64, up to 200 epochs with early
# stopping on the training loss (patience 10), the first 80 % of the training split, K-NN
# k = 9 Hamming, one-vs-one logistic regression with C = 1, label noise by permutation, the
# first n examples tiled by whole copies). "hashnet" is hashnet's own plain setting. A
# configuration records which one it started from in "protocol"; `protocol_changes` says
# where it departs from it.
PROTOCOLS = {
    "study": {
        "train_fraction": 0.8,
        "init": "glorot",
        "batchnorm": True,
        "bn_momentum": 0.01,  # Keras' momentum=0.99 keeps 99 % of the running value
        "bn_eps": 1e-3,
        "weight_decay": 2e-6,
        "optimizer": "adam",
        "lr": 1e-2,
        "adam_eps": 1e-7,
        "lr_schedule": "step",
        "batch_size": 64,
        "epochs": 200,
        "patience": 10,
        "sample_protocol": "first",
        "tiling": "whole",
        "noise_model": "permute",
        "k": 9,
        "kmeans_n_init": 10,
        "C": 1.0,
        "multi_class": "ovo",
    },
}
# The study's CNN protocol (CIFAR-10: VGG-16/19, ResNet-18/20/32/56), as its paper and code
# describe it: batch norm after every convolution (built into hashnet's VGG and ResNet
# recipes), Adam 1e-2 x 0.1 every 50 epochs, weight decay 5e-6, augmentation (turns up to 15
# degrees, shifts up to 0.1, horizontal flips), up to 200 epochs with early stopping. Read as
# Keras' l2(5e-6) like the MLP scripts' l2, that is weight_decay=1e-5 here. Batch size 64,
# the 80 % split and the Keras initialisation and batch-norm settings are carried over from
# the MLP protocol (see docs/experiments.md, which lists what was not read from the code).
PROTOCOLS["study-cnn"] = {
    **PROTOCOLS["study"],
    "weight_decay": 1e-5,
    "lr_step": 50,
    "augment": True,
}
PROTOCOLS["hashnet"] = {key: DEFAULTS[key] for key in PROTOCOLS["study-cnn"]}

# Allowed values of the categorical keys; the first one is the plain, default setting.
CHOICES = {
    "protocol": ("hashnet", "study", "study-cnn"),
    "model": ("mlp", *CNN_WIDTHS),
    "activation": ("relu", "leaky_relu"),
    "init": ("he", "glorot"),
    "optimizer": ("adam", "sgd"),
    "lr_schedule": (None, "step"),
    "sample_protocol": ("first", "stratified"),
    "tiling": ("exact", "whole"),
    "noise_model": ("flip", "permute"),
    "inputs": ("data", "uniform"),
    "labels": ("real", "random"),
    "multi_class": ("multinomial", "ovo"),
}
_PROBES = ("kmeans", "knn", "lr")
_INTS = {"width": 1, "depth": 1, "batch_size": 1, "epochs": 0, "k": 1, "kmeans_n_init": 1}
_INTS["lr_step"] = 1
_INTS.update(seed=0, repeat=0)
_OPTIONAL_INTS = {"n_train": 1, "n_test": 1, "sample_size": 1, "epoch_length": 1, "patience": 1}
_OPTIONAL_INTS["probe_bits"] = 1
_FLOATS = ("dropout", "weight_decay", "label_noise", "C")  # finite numbers >= 0
_POSITIVE = ("lr", "train_fraction", "bn_momentum", "bn_eps", "adam_eps")  # ... and > 0
_FRACTIONS = ("train_fraction", "bn_momentum", "label_noise")  # at most 1
_BOOLS = ("batchnorm", "random_inputs", "augment")

# --- presets --------------------------------------------------------------------------------

# The study's grids, from its published MLP scripts (MNIST: depth 1; CIFAR-10: depth 5).
STUDY_WIDTHS = [3, 7, 10, 15, 20, 23, 27, 30, 33, 37, 40, 43, 47, 50, 53, 57, 60, 65, 70, 75]
STUDY_WIDTHS += [80, 90, 100]
STUDY_DEEP_WIDTHS = list(range(50, 1001, 50))  # total width over 5 layers
# Snapshot epochs of the training-time runs (0 is the untrained network).
STUDY_SNAPSHOTS = [0, 1, 3, 6, 10, 20, 30, 40, 60, 80, 100, 120, 140, 160, 180, 200]
STUDY_SAMPLE_SIZES = [10, 30, 60, 100, 300, 600, 1000, 2000, 3000, 6000, 10000, 20000]
STUDY_SAMPLE_SIZES += [30000, 40000]
STUDY_REPEATS = 10

_STUDY = {"protocol": "study", **PROTOCOLS["study"], "dataset": "fashion-mnist"}
# The quick presets: the study's protocol scaled down to minutes on a laptop (fewer epochs,
# fewer K-Means restarts, the first 3000 / 1000 images of the bundled mini set).
_QUICK = {
    **_STUDY,
    "dataset": "fashion-mnist-mini",
    "n_train": 3000,
    "n_test": 1000,
    "epochs": 20,
    "kmeans_n_init": 3,
}
_QUICK_SNAPSHOTS = [0, 1, 2, 4, 8, 15, 30]
# The training-time runs: no early stopping, every snapshot measured, and the redundancy of
# random inputs measured too (the random-input experiment uses these very runs).
_TIME = {"depth": 1, "snapshots": STUDY_SNAPSHOTS, "patience": None, "random_inputs": True}

_STUDY_CNN = {"protocol": "study-cnn", **PROTOCOLS["study-cnn"], "dataset": "fashion-mnist"}
# The CNN records: each model at its standard width. On this preset, `model` picks models
# (each at its standard width unless `width` is given too). The probes see 8192 random bits
# of codes that run to 10^5 bits and more (probe_bits: hashnet's rule, not the study's).
_CNN_MODELS = ["lenet", "vgg16", "resnet20"]
# The quick one: narrow networks (4 channels in the first stage) for 2 epochs on 600 images.
_QUICK_CNN = {
    **_STUDY_CNN,
    "dataset": "fashion-mnist-mini",
    "n_train": 750,
    "n_test": 200,
    "epochs": 2,
    "kmeans_n_init": 3,
    "width": 4,
    "probe_bits": 1024,
    # 20 batches are too few for running statistics that keep 99 % of their value per batch
    "bn_momentum": 0.1,
}

# kind -> {"full"/"quick": {"fixed": {...}, "axes": [sub-grid, ...], "repeats": R}}.
# A sub-grid is a dict key -> list of values; a grid is the union of the sub-grids' products.
# "fixed" may set "sweep" to share another kind's runs (the random-input experiment measures
# the networks of the training-time sweep, as the study did).
PRESETS = {
    "width": {
        "full": {
            "fixed": {**_STUDY, "depth": 1},
            "axes": [{"width": STUDY_WIDTHS}],
            "repeats": STUDY_REPEATS,
        },
        "quick": {
            "fixed": {**_QUICK, "depth": 1},
            "axes": [{"width": [3, 5, 10, 20, 40, 80, 160]}],
            "repeats": 2,
        },
    },
    "width-deep": {  # the study's CIFAR-10 width sweep: total width over 5 layers
        "full": {
            "fixed": {**_STUDY, "depth": 5},
            "axes": [{"width": STUDY_DEEP_WIDTHS}],
            "repeats": STUDY_REPEATS,
        },
        "quick": {
            "fixed": {**_QUICK, "depth": 5},
            "axes": [{"width": [10, 25, 50, 100, 200]}],
            "repeats": 2,
        },
    },
    "depth": {  # hashnet's grid (the study varies depth only between data sets)
        "full": {
            "fixed": _STUDY,
            "axes": [{"width": [50, 100], "depth": [1, 2, 3, 4, 5]}],
            "repeats": 3,
        },
        "quick": {
            "fixed": _QUICK,
            "axes": [{"width": [40, 100], "depth": [1, 2, 3, 4]}],
            "repeats": 2,
        },
    },
    "time": {  # no early stopping: every snapshot up to 200 epochs, the schedule active
        "full": {
            "fixed": {**_STUDY, **_TIME},
            "axes": [{"width": [40, 50, 60]}],
            "repeats": STUDY_REPEATS,
        },
        "quick": {
            "fixed": {**_QUICK, **_TIME, "snapshots": _QUICK_SNAPSHOTS},
            "axes": [{"width": [20, 40, 80]}],
            "repeats": 2,
        },
    },
    "samples": {
        "full": {
            "fixed": {**_STUDY, "depth": 1},
            "axes": [{"width": [40, 50, 60], "sample_size": STUDY_SAMPLE_SIZES}],
            "repeats": STUDY_REPEATS,
        },
        "quick": {
            "fixed": _QUICK,
            "axes": [{"width": [20, 40, 80], "sample_size": [10, 30, 100, 300, 1000, 2400]}],
            "repeats": 2,
        },
    },
    "regularization": {  # hashnet's grid, on the study's protocol with batch norm off
        "full": {
            "fixed": {**_STUDY, "width": 50, "depth": 1, "batchnorm": False, "weight_decay": 0.0},
            "axes": [
                {"weight_decay": [0.0, 2e-6, 1e-5, 1e-4, 1e-3, 1e-2]},
                {"dropout": [0.0, 0.1, 0.2, 0.3, 0.5]},
                {"batchnorm": [False, True]},
            ],
            "repeats": 3,
        },
        "quick": {
            "fixed": {**_QUICK, "width": 40, "batchnorm": False, "weight_decay": 0.0},
            "axes": [
                {"weight_decay": [0.0, 1e-4, 1e-3, 1e-2]},
                {"dropout": [0.0, 0.2, 0.5]},
                {"batchnorm": [False, True]},
            ],
            "repeats": 2,
        },
    },
    "noise": {  # the study's permutation noise; hashnet's grid of fractions
        "full": {
            "fixed": {**_STUDY, "depth": 1},
            "axes": [{"width": [50, 100], "label_noise": [0.0, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0]}],
            "repeats": 3,
        },
        "quick": {
            "fixed": _QUICK,
            "axes": [{"width": [40, 100], "label_noise": [0.0, 0.2, 0.4, 0.6, 0.8]}],
            "repeats": 2,
        },
    },
    "random": {  # the study's: -U(0, 1) inputs through the training-time sweep's networks
        "full": {
            "fixed": {**_STUDY, **_TIME, "sweep": "time"},
            "axes": [{"width": [40, 50, 60]}],
            "repeats": STUDY_REPEATS,
        },
        "quick": {
            "fixed": {**_QUICK, **_TIME, "sweep": "time", "snapshots": _QUICK_SNAPSHOTS},
            "axes": [{"width": [20, 40, 80]}],
            "repeats": 2,
        },
    },
    "random-training": {  # hashnet's: networks trained on noise and/or random labels
        "full": {
            "fixed": {
                **_STUDY,
                "width": 50,
                "depth": 1,
                "snapshots": STUDY_SNAPSHOTS,
                "patience": None,
            },
            "axes": [{"inputs": ["data", "uniform"], "labels": ["real", "random"]}],
            "repeats": 3,
        },
        "quick": {
            "fixed": {**_QUICK, "width": 40, "snapshots": _QUICK_SNAPSHOTS, "patience": None},
            "axes": [{"inputs": ["data", "uniform"], "labels": ["real", "random"]}],
            "repeats": 2,
        },
    },
    "phase": {  # hashnet's cube: width x training time x sample size
        "full": {
            "fixed": {
                **_STUDY,
                "depth": 1,
                "snapshots": [0, 1, 3, 10, 30, 100],
                "patience": None,
            },
            "axes": [{"sample_size": [100, 1000, 10000, 40000], "width": [5, 10, 20, 40, 80]}],
            "repeats": 3,
        },
        "quick": {
            "fixed": {**_QUICK, "snapshots": _QUICK_SNAPSHOTS, "patience": None},
            "axes": [{"sample_size": [100, 500, 2400], "width": [5, 10, 20, 40, 80, 160]}],
            "repeats": 1,
        },
    },
    "cnn": {  # the study's CNN protocol; hashnet's choice of models (one per family)
        "full": {
            "fixed": {**_STUDY_CNN, "probe_bits": 8192},
            "axes": [{"model": [m], "width": [CNN_WIDTHS[m]]} for m in _CNN_MODELS],
            "repeats": 1,
        },
        "quick": {
            "fixed": _QUICK_CNN,
            "axes": [{"model": ["lenet", "vgg11", "resnet20"]}],
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
    for key in _FLOATS + _POSITIVE:
        c[key] = _float(key, c[key])
        if key in _POSITIVE and c[key] == 0:
            raise ValueError(f"config {key!r} must be > 0")
        if key in _FRACTIONS and c[key] > 1:
            low = "(0" if key in _POSITIVE else "[0"
            raise ValueError(f"config {key!r} must be in {low}, 1], got {c[key]}")
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
    if not c["dropout"] < 1:
        raise ValueError(f"config 'dropout' must be a rate in [0, 1), got {c['dropout']}")
    if c["model"] == "mlp" and c["width"] < c["depth"]:
        raise ValueError(f"config 'width' ({c['width']}) must be >= 'depth' ({c['depth']})")
    if c["augment"] and c["model"] == "mlp":
        raise ValueError("config 'augment' turns and shifts images: it needs a CNN 'model'")
    if c["model"].startswith("resnet") and c["activation"] != "relu":
        raise ValueError(
            f"config 'activation': hashnet's ResNets use ReLUs, not {c['activation']!r}"
        )
    if c["model"] != "mlp" and (c["depth"] != 1 or c["dropout"] > 0):
        raise ValueError(
            f"config 'depth' and 'dropout' shape MLPs; a CNN ({c['model']!r}) has its depth in "
            "its name and its dropout in its recipe (leave them at 1 and 0)"
        )
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


# Keys added after the first records were stored. At their default value they are left out
# of the text a configuration's hash is taken of, so the records stored before they existed
# keep their names (and a resumed sweep finds them).
_LATER_KEYS = (
    "protocol",
    "train_fraction",
    "init",
    "bn_momentum",
    "bn_eps",
    "adam_eps",
    "patience",
    "tiling",
    "noise_model",
    "random_inputs",
    "model",
    "lr_step",
    "augment",
    "probe_bits",
)


def canonical_json(config) -> str:
    """The configuration as compact JSON with sorted keys: the text its hash is taken of."""
    c = normalise_config(config)
    for key in _LATER_KEYS:
        if c[key] == DEFAULTS[key]:
            del c[key]
    return json.dumps(c, sort_keys=True, separators=(",", ":"))


def protocol_changes(config) -> dict:
    """Where a configuration departs from the protocol it names: {key: (protocol's, its)}.

    Empty for a run that follows its protocol to the letter; the quick presets, for example,
    follow the study's protocol with fewer epochs and K-Means restarts, and say so here.
    """
    c = normalise_config(config)
    rules = PROTOCOLS[c["protocol"]]
    return {key: (rules[key], c[key]) for key in rules if c[key] != rules[key]}


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
    fixed, axes = {"sweep": kind, **preset["fixed"]}, preset["axes"]
    if kind == "cnn" and "model" in overrides and not quick:
        # each model chosen at its standard width (a width given too replaces it)
        models = _as_list(overrides.pop("model"))
        axes = [{"model": [m], "width": [CNN_WIDTHS.get(m, 1)]} for m in models]
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
