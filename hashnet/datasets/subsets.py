"""Training sets for the experiments: class-balanced subsets, the study's first-n tiling, and
label noise.
"""

from __future__ import annotations

import numbers

import numpy as np

from hashnet._validation import check_int, check_random_state, check_y


def _check_pair(X, y):
    X = np.asarray(X)
    if X.ndim == 0:
        raise ValueError("X must be an array of examples (at least 1D), got a scalar")
    y = check_y(y, n_samples=X.shape[0])
    return X, y


def stratified_subset(X, y, n, seed=0):
    """A random subset of n examples that keeps the class proportions of y.

    Each class gets n * (its share of y) examples, rounded so the counts add up to n (the
    classes with the largest remainders get the extra one). Within a class the examples are
    drawn without replacement from a seeded generator; the picked examples keep their original
    order. Returns (X_subset, y_subset) as copies.
    """
    X, y = _check_pair(X, y)
    n = check_int(n, "n", 1, len(y))
    rng = check_random_state(seed)
    classes, counts = np.unique(y, return_counts=True)
    # Integer arithmetic keeps the rounding exact: class c's quota is n * counts[c] / len(y).
    take, remainder = np.divmod(n * counts, len(y))
    # Largest remainder first; a stable sort breaks ties by class order, so it is deterministic.
    extra = np.argsort(-remainder, kind="stable")[: n - take.sum()]
    take[extra] += 1
    picked = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    index = np.sort(np.concatenate(picked))
    return X[index], y[index]


def first_n_tiled(X, y, n, epoch_length):
    """The first n examples, repeated until there are `epoch_length` rows.

    The idea of the study's sample-size protocol: a network trained on 100 examples and one
    trained on 10000 should take about the same number of gradient steps per epoch, so that
    only the amount of *distinct* data differs. Rows are the first n examples in order, again
    and again; the last copy is cut short if epoch_length is not a multiple of n. (The study
    itself uses whole copies only, n x (N // n) rows: pass epoch_length = n * (N // n) for
    that, as the experiments' `tiling="whole"` does.)
    """
    X, y = _check_pair(X, y)
    n = check_int(n, "n", 1, len(y))
    epoch_length = check_int(epoch_length, "epoch_length", n)
    index = np.arange(epoch_length) % n
    return X[index], y[index]


def label_noise(y, fraction, n_classes=None, seed=0, model="flip") -> np.ndarray:
    """A copy of the labels `y` with a given fraction of them disturbed.

    Label noise is one of the knobs that shape the code: train the same network on labels with
    0%, 10%, 20%, ... noise and watch the encoding properties (redundancy ratio, and how well
    K-Means, K-NN and logistic regression do on the neural codes) change. A network can
    memorise noisy labels too, and it needs more linear regions to do so.

    Exactly round(fraction * N) labels are picked, at random without replacement (Python's
    round, so an exact half goes to the even number). What happens to them is the `model`:

    "flip" (hashnet's): each picked label gets a class drawn uniformly from the other
        n_classes - 1 classes, so it is always wrong and `fraction` is exactly the share of
        wrong labels. The class proportions change.
    "permute" (the study's): the picked labels are shuffled among themselves. The class
        proportions stay exactly as they were, but a picked label can land on its own class
        (about 1/n_classes of them with balanced classes), so fewer than `fraction` of the
        labels end up wrong.

    `n_classes` defaults to y.max() + 1 and must be at least 2; every label must lie in
    [0, n_classes). `seed` is an int, None or a numpy Generator: the same seed gives the same
    noisy labels. Returns int64 labels; `np.flatnonzero(noisy != y)` gives the changed ones.
    """
    if model not in ("flip", "permute"):
        raise ValueError(f"model must be 'flip' or 'permute', got {model!r}")
    y = check_y(y)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise ValueError(f"fraction must be a number between 0 and 1, got {fraction!r}")
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:  # also False for NaN
        raise ValueError(
            f"fraction must be between 0 and 1 (a share of the labels), got {fraction}"
        )
    if n_classes is None:
        n_classes = int(y.max()) + 1
        if n_classes < 2:
            raise ValueError(
                f"y only holds class {n_classes - 1}, so there is no other class to switch to; "
                "pass n_classes (at least 2) to say how many classes there are"
            )
    n_classes = check_int(n_classes, "n_classes", 2)
    y = check_y(y, n_classes=n_classes)
    rng = check_random_state(seed)
    n_changed = round(fraction * len(y))
    picked = rng.choice(len(y), size=n_changed, replace=False)
    noisy = y.copy()
    if model == "permute":
        noisy[picked] = y[rng.permutation(picked)]
        return noisy
    # Adding 1..n_classes-1 (mod n_classes) reaches each other class exactly once: uniform, and
    # never the original class.
    shift = rng.integers(1, n_classes, size=n_changed)
    noisy[picked] = (y[picked] + shift) % n_classes
    return noisy
