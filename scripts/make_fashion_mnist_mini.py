"""Build hashnet/data/fashion_mnist_mini.npz, the small Fashion-MNIST subset bundled with hashnet.

The subset is real Fashion-MNIST: training images come from the official training split, test
images from the official test split, with the same number of images for every class. Which
images is decided by a seeded random permutation of each class, so running this script again
on the same source files gives the same selection. The training count per class is the largest
that keeps the compressed file within the size budget (2 MB by default), found by bisection:
the more training images, the closer a small network gets to its full-data accuracy.

Examples are stored interleaved by class (one of each class, then the next one of each, ...),
so that any prefix of the arrays is class-balanced as well - handy for sample-size studies
that take the first n examples.

Usage:
    python scripts/make_fashion_mnist_mini.py [--source DIR] [--out FILE] [--seed 0]
        [--test-per-class 100] [--max-bytes 2000000] [--train-per-class N]

The source folder holds the four IDX files (raw or .gz); by default it is found the way
`hashnet.datasets.load("fashion-mnist")` finds it.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

# Run from a checkout without installing: make the repository's hashnet importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hashnet import datasets  # noqa: E402
from hashnet._io import atomic_write_bytes  # noqa: E402

N_CLASSES = 10


def class_permutations(labels, seed):
    """For each class, its example indices in a seeded random order."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(np.flatnonzero(labels == c)) for c in range(N_CLASSES)]


def interleaved(perms, per_class):
    """The first `per_class` indices of every class, ordered class 0, 1, ..., 9, 0, 1, ..."""
    return np.stack([p[:per_class] for p in perms], axis=1).ravel()


def build(train, test, train_perms, test_perms, per_train, per_test, seed):
    """The .npz file's bytes for the given per-class counts."""
    (im_tr, lab_tr), (im_te, lab_te) = train, test
    idx_tr = interleaved(train_perms, per_train)
    idx_te = interleaved(test_perms, per_test)
    description = (
        "A class-balanced subset of Fashion-MNIST (Zalando SE, MIT licence; see "
        "LICENSE-fashion-mnist.txt). X_* are uint8 images (N, 28, 28), y_* uint8 labels 0-9. "
        f"{per_train} training images per class from the official training split and "
        f"{per_test} test images per class from the official test split, chosen by a seeded "
        f"permutation (seed {seed}) of each class and stored interleaved by class, so every "
        "prefix is balanced. index_train / index_test are the positions in the official splits. "
        "Built by scripts/make_fashion_mnist_mini.py."
    )
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        X_train=im_tr[idx_tr],
        y_train=lab_tr[idx_tr],
        X_test=im_te[idx_te],
        y_test=lab_te[idx_te],
        index_train=idx_tr.astype(np.uint16),  # official splits have < 65536 images
        index_test=idx_te.astype(np.uint16),
        description=np.array(description),  # a unicode array: loads without pickle
    )
    return buffer.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="folder with the four Fashion-MNIST IDX files")
    parser.add_argument("--out", type=Path, default=datasets.MINI_PATH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--max-bytes", type=int, default=2_000_000)
    parser.add_argument("--train-per-class", type=int, help="fixed count (default: the largest)")
    args = parser.parse_args(argv)

    source = args.source or datasets.find_data_dir("fashion-mnist")
    print(f"reading Fashion-MNIST from {source}")
    train = datasets.loading._read_split(source, "train")
    test = datasets.loading._read_split(source, "test")
    # Different seeds for the two splits, derived from one: independent selections.
    train_perms = class_permutations(train[1], [args.seed, 0])
    test_perms = class_permutations(test[1], [args.seed, 1])
    most = min(len(p) for p in train_perms)

    def size(per_train):
        return len(
            build(train, test, train_perms, test_perms, per_train, args.test_per_class, args.seed)
        )

    if args.train_per_class is not None:
        per_train = args.train_per_class
    else:
        # Bisection for the largest count that fits: the size grows with the count.
        lo, hi = 0, most
        while lo < hi:
            mid = (lo + hi + 1) // 2
            fits = size(mid) <= args.max_bytes
            print(f"  {mid:5d} per class -> {'fits' if fits else 'too big'}")
            lo, hi = (mid, hi) if fits else (lo, mid - 1)
        per_train = lo
        if per_train == 0:
            sys.exit(f"not even one training image per class fits in {args.max_bytes} bytes")

    data = build(train, test, train_perms, test_perms, per_train, args.test_per_class, args.seed)
    if len(data) > args.max_bytes:
        sys.exit(f"{len(data)} bytes is over the budget of {args.max_bytes}")
    atomic_write_bytes(args.out, data)
    args.out.chmod(0o644)  # the temporary file was private (0600); package data is world-readable
    print(
        f"wrote {args.out}: {per_train} train + {args.test_per_class} test images per class, "
        f"{len(data)} bytes"
    )


if __name__ == "__main__":
    main()
