"""What data augmentation costs: `Augment.study()` per batch and per epoch, next to a LeNet-5
training epoch.

The study's setting (turns up to 15 degrees, shifts up to 10 %, mirrors, edge fill; bilinear)
on mini-batches of 64 images, as `fit(augment="study")` makes them: the time to draw the
parameters and write the augmented copy of a batch (median of `--repeats` runs of one batch,
after a warm-up call), and the time of a whole epoch of such batches, gathered in a shuffled
order from the data set as the training loop does (augmentation and the gather alone, no
network). For reference, the seconds of one LeNet-5 training epoch (Adam, batch 64) on the
same Fashion-MNIST images without and with augmentation: the median of `--epochs` epochs after
a warm-up epoch, the two fits taking turns.

    python bench/augment.py --threads 1      # full: 60000 Fashion-MNIST images, ~2-3 minutes
    python bench/augment.py --quick          # 10000 images, no CIFAR-size epoch
    python bench/augment.py --no-lenet       # augmentation alone

The CIFAR-size rows (3x32x32, 50000 images) use random pixels (the cost does not depend on
them), so they need no download; Fashion-MNIST is loaded with hashnet.datasets.load.
"""

from __future__ import annotations

import statistics
import time

import _common  # bench/_common.py; imports no NumPy

BATCH = 64


def build_parser():
    parser = _common.make_parser(
        "Time of data augmentation (Augment.study) per batch and per epoch, and of a LeNet "
        "epoch with and without it.",
        quick_help="smoke run: 10000 Fashion-MNIST images, no CIFAR-size epoch",
        threaded="BLAS and numba",
    )
    parser.add_argument("--repeats", type=int, default=None, help="timed batches (default 200)")
    parser.add_argument("--epochs", type=int, default=None, help="timed LeNet epochs (default 3)")
    parser.add_argument("--no-lenet", action="store_true", help="skip the LeNet epochs")
    parser.add_argument("--seed", type=int, default=0)
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)

import numpy as np  # noqa: E402


def per_batch_ms(augment, x, repeats, rng):
    """Median milliseconds of augment(x, rng) over `repeats` calls (after a warm-up call)."""
    augment(x, rng)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        augment(x, rng)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def epoch_seconds(augment, X, rng):
    """Seconds to gather and augment every batch of one shuffled epoch of X."""
    augment(X[:BATCH], rng)
    start = time.perf_counter()
    order = rng.permutation(len(X))
    for first in range(0, len(X), BATCH):
        augment(X[order[first : first + BATCH]], rng)
    return time.perf_counter() - start


def lenet_epochs(hn, X, y, epochs, seed):
    """Median seconds of `epochs` LeNet-5 epochs without and with augment="study", after a
    warm-up epoch each; the two fits take turns epoch by epoch, so that a change of load on
    the machine affects both alike."""
    nets = {
        aug: hn.CNN.lenet(input_shape=X.shape[1:], n_classes=10, seed=seed)
        for aug in (None, "study")
    }
    times = {aug: [] for aug in nets}
    for _ in range(1 + epochs):
        for aug, net in nets.items():
            net.fit(X, y, epochs=1, batch_size=BATCH, lr=1e-3, augment=aug, verbose=0)
            times[aug].append(net.history_["time"][0])
    return statistics.median(times[None][1:]), statistics.median(times["study"][1:])


def main(argv=None):
    args = build_parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (50 if args.quick else 200)
    epochs = args.epochs if args.epochs is not None else (1 if args.quick else 3)
    hn = _common.import_hashnet()
    from hashnet.nn.augment import Augment

    _limits, notes = _common.threadpool_limit(args.threads, "blas", "NumPy's BLAS threads")
    _common.print_environment(
        f"hashnet augmentation benchmark: Augment.study() on batches of {BATCH}",
        settings=[
            f"threads: {args.threads}  dtype: float32  timed batches: {repeats}  "
            f"timed LeNet epochs: {epochs}"
        ],
        versions={},
        blas=f"NumPy BLAS: {_common.describe_blas()}",
        coretype_effect="(and so the LeNet epochs) slower; augmentation does not use BLAS.",
        notes=notes,
    )
    augment = Augment.study()
    print(f"augmentation: {augment!r}")
    rng = np.random.default_rng(args.seed)
    Xf, yf, _, _ = hn.datasets.load("fashion-mnist", flatten=False)
    if args.quick:
        Xf, yf = Xf[:10000], yf[:10000]
    data = [("Fashion-MNIST", Xf, yf)]
    if not args.quick:
        cifar = rng.random((50000, 3, 32, 32), dtype=np.float32)
        data.append(("CIFAR-size (random)", cifar, None))

    rows = []
    for name, X, y in data:
        ms = per_batch_ms(augment, np.ascontiguousarray(X[:BATCH]), repeats, rng)
        epoch = epoch_seconds(augment, X, rng)
        plain = augmented = None
        if y is not None and not args.no_lenet:
            plain, augmented = lenet_epochs(hn, X, y, epochs, args.seed)
        print(f"{name}: done", flush=True)
        rows.append(
            [
                name,
                "x".join(map(str, X.shape[1:])),
                len(X),
                f"{ms:.3f}",
                f"{epoch:.2f}",
                "n/a" if plain is None else f"{plain:.2f}",
                "n/a" if augmented is None else f"{augmented:.2f}",
                "n/a" if plain is None else f"{100 * epoch / plain:.1f} %",
            ]
        )
    if args.quick:
        # The CIFAR-size batch alone: a quick check of the 3-channel case.
        x = rng.random((BATCH, 3, 32, 32), dtype=np.float32)
        ms = per_batch_ms(augment, x, repeats, rng)
        rows.append(
            ["CIFAR-size (random)", "3x32x32", "-", f"{ms:.3f}", "n/a", "n/a", "n/a", "n/a"]
        )
    print(
        f"\nbatches of {BATCH}: augmentation (drawing + kernel) per batch, per shuffled epoch "
        "(gather + augmentation), and a LeNet-5 epoch without / with augment='study'"
    )
    header = [
        "data",
        "image",
        "images",
        "ms/batch",
        "aug s/epoch",
        "LeNet s/epoch",
        "LeNet+aug s/epoch",
        "aug/LeNet",
    ]
    _common.print_table(header, rows)


if __name__ == "__main__":
    main()
