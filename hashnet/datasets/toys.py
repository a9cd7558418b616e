"""2D toy sets: points in the plane, so you can *look* at the regions a network carves.

Each maker returns X float32 (n, 2) and y int64 (n,), drawn from a seeded random generator:
the same seed gives the same arrays, bit for bit. Class counts are balanced (they differ by at
most one) and the labels are shuffled first, so every prefix of a set is a fair sample too.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from hashnet._validation import check_int, check_random_state

TOY_NAMES = ("moons", "spirals", "blobs", "xor", "circles")


def _check_nonneg(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def _balanced_labels(n, n_classes, rng) -> np.ndarray:
    """Labels with (almost) equal class counts, in random order.

    The counts differ by at most one (the first `n % n_classes` classes get the extra point).
    Shuffling the labels first and then drawing each point for its label means every prefix of
    the data set is a fair sample too.
    """
    n = check_int(n, "n", n_classes)
    y = np.arange(n, dtype=np.int64) % n_classes
    return rng.permutation(y)


def _finish(X, scale) -> np.ndarray:
    return np.ascontiguousarray(X * scale, dtype=np.float32)


def make_moons(n, noise=0.1, seed=0):
    """Two interleaving half circles, one per class (the classic "moons").

    The half circles have radius 1; `noise` is the standard deviation of the Gaussian jitter
    added to each point, in those units. The picture is then centred and scaled by 1.5, so it
    fills about [-2.3, 2.3] x [-1.2, 1.2]. Returns X float32 (n, 2) and y int64 (n,).
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=y.size)  # position along the half circle
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where(y[:, None] == 0, upper, lower)
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X - [0.5, 0.25], 1.5), y


def make_spirals(n, noise=0.05, seed=0, n_arms=2, turns=1.5):
    """Interleaved spiral arms around the origin, one class per arm.

    Arm k starts at the centre and winds `turns` times outwards to radius 1, rotated by
    2*pi*k/n_arms from arm 0. `noise` is the standard deviation of the Gaussian jitter, relative
    to that radius (neighbouring arms are 1/(turns*n_arms) apart). Scaled by 2.5, the spirals
    fill about [-2.5, 2.5]^2. A hard set for a small network: it needs many linear regions.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    n_arms = check_int(n_arms, "n_arms", 2)
    turns = _check_nonneg(turns, "turns")
    y = _balanced_labels(n, n_arms, rng)
    r = rng.uniform(0.0, 1.0, size=y.size)
    theta = 2 * np.pi * (turns * r + y / n_arms)
    X = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


def make_blobs(n, n_classes=3, noise=0.4, seed=0):
    """Round Gaussian clusters, one per class, with centres evenly spaced on a circle of radius 2.

    `noise` is the standard deviation of each cluster (in the output units). With 3 classes the
    blobs are well apart; with many classes they start to overlap, which makes a good test of
    how a network handles ambiguous points.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    n_classes = check_int(n_classes, "n_classes", 2)
    y = _balanced_labels(n, n_classes, rng)
    angle = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    X = centres[y] + noise * rng.standard_normal((y.size, 2))
    return _finish(X, 1.0), y


def make_xor(n, noise=0.1, seed=0):
    """The XOR problem: class 0 fills quadrants I and III, class 1 quadrants II and IV.

    Points are uniform in the square [-1, 1]^2 (before scaling) with the quadrant fixed by the
    class; `noise` is the standard deviation of Gaussian jitter in those units, which blurs the
    class boundary along the axes. Scaled by 2.5. No single line separates the classes, so a
    network needs at least two hidden units.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    y = _balanced_labels(n, 2, rng)
    sign_x = rng.choice([-1.0, 1.0], size=y.size)
    sign_y = np.where(y == 0, sign_x, -sign_x)  # same signs -> class 0, opposite -> class 1
    X = rng.uniform(0.0, 1.0, size=(y.size, 2)) * np.column_stack([sign_x, sign_y])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


def make_circles(n, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles: class 0 on the outer circle (radius 1), class 1 on the inner one.

    `factor` is the inner radius relative to the outer one (between 0 and 1); `noise` the
    standard deviation of the Gaussian jitter, relative to the outer radius. Scaled by 2.5.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    if not isinstance(factor, numbers.Real) or not 0.0 < float(factor) < 1.0:
        raise ValueError(f"factor must be a number strictly between 0 and 1, got {factor!r}")
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, 2 * np.pi, size=y.size)
    radius = np.where(y == 0, 1.0, float(factor))
    X = radius[:, None] * np.column_stack([np.cos(t), np.sin(t)])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


TOY_MAKERS = {
    "moons": make_moons,
    "spirals": make_spirals,
    "blobs": make_blobs,
    "xor": make_xor,
    "circles": make_circles,
}
