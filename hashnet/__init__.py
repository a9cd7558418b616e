"""hashnet: see and measure how ReLU networks behave as hash encoders.

    import hashnet as hn
    Xtr, ytr, Xte, yte = hn.datasets.load("moons")
    net = hn.MLP(input_dim=2, hidden=(32, 32), n_classes=2).fit(Xtr, ytr, epochs=50)
    net.score(Xte, yte)

Heavy modules (Numba kernels, matplotlib) are imported on first use, so `import hashnet` is
quick.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it, imported when first touched
_LAZY = {
    "MLP": "hashnet.nn.model",
    "CNN": "hashnet.nn.cnn",
    "Augment": "hashnet.nn.augment",
    "Sequential": "hashnet.nn.model",
    "load": "hashnet.nn.saving",
    "warmup": "hashnet.kernels",
    "Codes": "hashnet.codes",
    "redundancy_ratio": "hashnet.codes",
    "collisions": "hashnet.codes",
    "KMeans": "hashnet.probes",
    "KNN": "hashnet.probes",
    "LogisticRegression": "hashnet.probes",
    "cluster_accuracy": "hashnet.probes",
    "encoding_properties": "hashnet.properties",
}
_SUBMODULES = {
    "datasets",
    "nn",
    "kernels",
    "codes",
    "probes",
    "properties",
    "regions",
    "experiments",
    "gpu",
    "plot",
    "demo",
}

__all__ = ["__version__", *sorted(_LAZY), *sorted(_SUBMODULES)]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"hashnet.{name}")
    raise AttributeError(f"module 'hashnet' has no attribute {name!r}")


def __dir__():
    return __all__
