"""Input checks shared by the whole package.

Every public entry point funnels its arrays through these helpers so that bad input fails early
with a message saying what was wrong and what was expected, instead of deep inside a kernel.
"""

from __future__ import annotations

import numbers

import numpy as np

FLOAT_DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype) -> type:
    """Return np.float32 or np.float64 for a dtype given as a name or a NumPy type."""
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return FLOAT_DTYPES[name]


def check_int(value, name, low=None, high=None) -> int:
    """Return `value` as a Python int in [low, high] (either bound may be None), or raise a
    ValueError that says what was expected.

    Only integers pass (Python or NumPy, not bool): 4.9, 2.5 or "10" are refused rather than
    silently rounded or parsed, because a network with `Dense(4)` where the user asked for 4.9
    units would train without complaint and answer a different question.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            allowed = f"an integer >= {low}"
        elif low is None:
            allowed = f"an integer <= {high}"
        else:
            allowed = f"an integer between {low} and {high}"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def check_seed(seed):
    """A model's seed: None or a non-negative int (NumPy integers become Python ints, so the
    seed can be saved as JSON and combined with other numbers by np.random.SeedSequence)."""
    if seed is None:
        return None
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    raise TypeError(f"seed must be None or a non-negative int, got {seed!r}")


def check_random_state(seed) -> np.random.Generator:
    """Turn None, an int or a Generator into a NumPy Generator (scikit-learn's habit)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, numbers.Integral):
        return np.random.default_rng(seed)
    raise TypeError(f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}")


def check_X(X, n_features=None, dtype=np.float32, name="X", ndim=2) -> np.ndarray:
    """Validate a feature array and return it as a C-contiguous array of `dtype`.

    Rejects non-numeric data, the wrong number of dimensions or features, empty arrays, NaN and
    infinity. `n_features` may be an int (2D input) or a shape tuple (images: (C, H, W)).
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):  # casting would silently drop the imaginary part
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}D array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one example is needed")
    if n_features is not None:
        expected = (n_features,) if isinstance(n_features, numbers.Integral) else tuple(n_features)
        if arr.shape[1:] != expected:
            raise ValueError(
                f"{name} has examples of shape {arr.shape[1:]}, but the model expects {expected}"
            )
    arr = np.ascontiguousarray(arr, dtype=dtype)
    # min and max are NaN or infinite exactly when some entry is: two fast passes, no mask array.
    if not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        bad = int(arr.size - np.isfinite(arr).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all must be finite")
    return arr


def check_y(y, n_samples=None, n_classes=None, name="y") -> np.ndarray:
    """Validate integer class labels in [0, n_classes) and return them as int64."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1D array of class labels, got shape {arr.shape}")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise ValueError(f"{name} has {arr.shape[0]} labels but X has {n_samples} examples")
    if arr.size == 0:
        raise ValueError(f"{name} is empty; at least one label is needed")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} must hold whole-number class labels")
    elif not np.issubdtype(arr.dtype, np.integer) and arr.dtype != bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if n_classes is not None:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"{name} has labels in [{lo}, {hi}], expected labels in [0, {n_classes})"
            )
    return arr


class NotFittedError(ValueError):
    """Raised when an estimator is used (predict, score, ...) before `fit`."""


def check_fitted(estimator, attribute: str) -> None:
    """Raise NotFittedError unless `estimator` has the learned `attribute` that fit sets."""
    if not hasattr(estimator, attribute):
        name = type(estimator).__name__
        raise NotFittedError(f"this {name} is not fitted yet; call fit before using it")
