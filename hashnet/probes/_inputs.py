"""What every probe accepts: neural codes (`hashnet.codes.Codes`) or a 2D float array."""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_X
from hashnet.codes import Codes, check_codes


def check_input(X, n_features=None, name="X", codes_only=False):
    """Check a probe's input and return it: Codes as they are, arrays as float64.

    Codes must be non-empty, have at least one bit and, when `n_features` is given, that many
    bits (the width the probe was fitted on: codes of another network will not do). With
    `codes_only` (the Hamming metric) anything but Codes is a TypeError.
    """
    if isinstance(X, Codes):
        check_codes(X, name)
        if X.n_bits == 0:
            raise ValueError(f"{name} has codes of 0 bits: there is nothing to learn from")
        if n_features is not None and X.n_bits != n_features:
            raise ValueError(
                f"{name} has codes of {X.n_bits} bits, but the probe was fitted on "
                f"{n_features}; the codes must come from the same network"
            )
        return X
    if codes_only:
        raise TypeError(
            f"metric='hamming' needs neural codes (hashnet Codes, e.g. net.codes(X)) as {name}, "
            f"got {type(X).__name__}; use metric='euclidean' for float features"
        )
    X = check_X(X, n_features=n_features, dtype=np.float64, name=name)
    if X.shape[1] == 0:
        raise ValueError(f"{name} has 0 features (shape {X.shape}): there is nothing to learn from")
    return X


def as_float_matrix(X, n_features=None, name="X"):
    """`check_input`, then Codes as their 0/1 bits in float64 (what the study fed its probes)."""
    X = check_input(X, n_features, name)
    return X.bits().astype(np.float64) if isinstance(X, Codes) else X


def n_columns(X) -> int:
    """Bits of Codes, columns of an array."""
    return X.n_bits if isinstance(X, Codes) else X.shape[1]
