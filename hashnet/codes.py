"""Neural codes: the on/off pattern of a network's ReLU units for each input.

Two inputs with the same pattern lie in the same linear region of the network. The study's
"determinism" property says a trained classifier gives almost every training example a
pattern of its own.
"""

from __future__ import annotations

import numpy as np


def alone_in_pattern(bits) -> np.ndarray:
    """For each row of a 0/1 pattern matrix (N, n_bits), True if no other row has the same one.

    `net.activation_bits(X)` gives the patterns; `alone_in_pattern(...).sum()` counts the
    examples that have a linear region to themselves.
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"expected a 2D (N, n_bits) pattern matrix, got shape {bits.shape}")
    packed = np.packbits(bits.astype(bool), axis=1)  # 8 bits a byte: fewer columns to compare
    _, inverse, counts = np.unique(packed, axis=0, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()] == 1
