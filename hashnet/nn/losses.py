"""Softmax cross-entropy, the loss of every classifier in hashnet.

For logits z (one row per example) and label y, p = softmax(z) and the loss is -log p[y]. Its
gradient with respect to z is simply p - onehot(y): the kernel computes loss and gradient in
one pass, which is both faster and more accurate than differentiating a softmax layer and a
log separately.
"""

from __future__ import annotations

import numpy as np

from hashnet.kernels import cpu


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray):
    """Return (mean loss, number correct, d mean loss / d logits) for a batch."""
    dlogits = np.empty_like(logits)
    loss, correct = cpu.softmax_xent(logits, y, dlogits)
    return float(loss), int(correct), dlogits


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities, row by row."""
    out = np.empty_like(logits)
    cpu.softmax(logits, out)
    return out
