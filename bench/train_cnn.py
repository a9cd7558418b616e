"""Seconds per training epoch of LeNet-5 on Fashion-MNIST and of ResNet-20 on CIFAR-shaped
images: hashnet vs PyTorch (CPU), and the cost of CNN codes.

Both train the same network, LeNet-5 with ReLUs and max pooling (conv 6@5x5 padded by 2,
pool, conv 16@5x5, pool, 120, 84, 10), with Adam (lr 1e-3) on the full training set, in this
one process, with the same number of threads. Each runs one warm-up epoch, then `--repeats`
timed epochs; the table shows the median (a shared machine is noisy) and the ratio
hashnet / torch (below 1: hashnet is faster). The test accuracy is printed as a check that
both learn.

ResNet-20 (the CIFAR family: conv-BN-ReLU stem with 16 filters, 9 basic blocks of 16, 32 and
64 filters with 1x1 convolution + batch norm shortcuts where the shape changes, global average
pooling, linear) is timed the same way on random 3x32x32 images (50000 per epoch, the size of
CIFAR-10's training set; `--resnet-images` changes it): what is measured is the arithmetic,
which does not depend on the pixels.

Then the codes of all 70000 images (train + test) with the trained hashnet network: 6508 bits
each, computed in chunks, so memory holds the packed bits and one chunk's activations, never
the float activations of every image (which would be 70000 x 6508 x 4 bytes = 1.7 GiB).

    python bench/train_cnn.py               # full run (several minutes on 2 cores)
    python bench/train_cnn.py --quick       # 10000 training images (ResNet: 2048), 1 timed epoch
    python bench/train_cnn.py --threads 1 --batches 64
"""

from __future__ import annotations

import statistics
import time

import _common  # bench/_common.py; imports no NumPy


def build_parser():
    parser = _common.make_parser(
        "Seconds per epoch of LeNet-5 and ResNet-20 training: hashnet vs PyTorch; time and "
        "memory of codes.",
        quick_help="smoke run: 10000 training images (ResNet-20: 2048), 1 timed epoch",
        threaded="BLAS, torch and numba",
    )
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--resnet-images",
        type=int,
        default=None,
        help="random 3x32x32 images per ResNet-20 epoch (default 50000; --quick: 2048)",
    )
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)

import numpy as np  # noqa: E402

LEARNING_RATE = 1e-3


def run_hashnet(hn, data, batch_size, repeats, seed):
    Xtr, ytr, Xte, yte = data
    net = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=seed)
    net.fit(Xtr, ytr, epochs=1 + repeats, batch_size=batch_size, lr=LEARNING_RATE, verbose=0)
    return net.history_["time"][1:], net.score(Xte, yte), net


def torch_epochs(torch, model, X, y, batch_size, repeats, seed):
    """Train a PyTorch model with Adam for one warm-up and `repeats` timed epochs; returns the
    timed epochs' seconds."""
    import torch.nn.functional as F

    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(seed)
    seconds = []
    for _ in range(1 + repeats):
        start = time.perf_counter()
        for idx in torch.randperm(len(X), generator=generator).split(batch_size):
            loss = F.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return seconds[1:]


def run_torch(torch, data, batch_size, repeats, seed):
    from torch import nn

    Xtr, ytr, Xte, yte = data
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    seconds = torch_epochs(torch, model, Xtr, ytr, batch_size, repeats, seed)
    with torch.inference_mode():
        accuracy = float((model(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean())
    return seconds, accuracy


def resnet_hashnet(hn, data, batch_size, repeats, seed):
    X, y = data
    net = hn.CNN.resnet(depth=20, input_shape=(3, 32, 32), n_classes=10, seed=seed)
    net.fit(X, y, epochs=1 + repeats, batch_size=batch_size, lr=LEARNING_RATE, verbose=0)
    return net.history_["time"][1:]


def torch_resnet20(nn):
    """ResNet-20 for 3x32x32 images, the same architecture as hn.CNN.resnet(depth=20)."""

    class Block(nn.Module):
        def __init__(self, channels, filters, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, filters, 3, stride, 1)
            self.bn1 = nn.BatchNorm2d(filters)
            self.conv2 = nn.Conv2d(filters, filters, 3, 1, 1)
            self.bn2 = nn.BatchNorm2d(filters)
            self.shortcut = nn.Identity()
            if stride != 1 or channels != filters:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(channels, filters, 1, stride), nn.BatchNorm2d(filters)
                )

        def forward(self, x):
            h = self.bn1(self.conv1(x)).relu()
            return (self.bn2(self.conv2(h)) + self.shortcut(x)).relu()

    layers = [nn.Conv2d(3, 16, 3, 1, 1), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        for block in range(3):
            layers.append(Block(channels, filters, stride if block == 0 else 1))
            channels = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def resnet_torch(torch, data, batch_size, repeats, seed):
    from torch import nn

    torch.manual_seed(seed)
    model = torch_resnet20(nn)
    return torch_epochs(torch, model, data[0], data[1], batch_size, repeats, seed)


def resnet_row(ours, theirs, batch_size):
    """Print both runs' epochs; return the table row."""
    line = f"ResNet-20 batch {batch_size}: hashnet epochs {' '.join(f'{s:.2f}' for s in ours)} s"
    if theirs is not None:
        line += f"; torch epochs {' '.join(f'{s:.2f}' for s in theirs)} s"
    print(line, flush=True)
    return table_row("ResNet-20", batch_size, ours, theirs)


def table_row(network, batch_size, ours, theirs):
    """A row of the printed table: both sides' median epoch (theirs None: no torch)."""
    ours_median = statistics.median(ours)
    theirs_median = statistics.median(theirs) if theirs else None
    return [
        network,
        batch_size,
        f"{ours_median:.2f}",
        "n/a" if theirs_median is None else f"{theirs_median:.2f}",
        _common.format_ratio(ours_median, theirs_median),
        "<= 1.5",
    ]


def codes_cost(hn, net, X_all):
    """Seconds and traced peak memory (tracemalloc: NumPy's buffers) of net.codes(X_all)."""
    import tracemalloc

    net.codes(X_all[:100])  # compile and warm up outside the measurement
    tracemalloc.start()
    start = time.perf_counter()
    codes = net.codes(X_all)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return codes, seconds, peak


def main(argv=None):
    args = build_parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 2)
    hn = _common.import_hashnet()
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    _limits, notes = _common.threadpool_limit(args.threads, "blas", "NumPy's BLAS threads")
    if torch is None:
        notes.append("torch is not installed: no comparison (pip install torch)")
    _common.print_environment(
        f"hashnet CNN benchmark: LeNet-5 seconds per epoch, median of {repeats} timed epochs "
        "after 1 warm-up epoch",
        settings=[f"threads: {args.threads}  dtype: float32"],
        versions={"torch": _common.version(torch)},
        blas=f"NumPy BLAS: {_common.describe_blas()}",
        coretype_effect="(and so the hashnet column) slower; torch uses its own kernels.",
        notes=notes,
    )
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist", flatten=False)
    X_all = np.concatenate([Xtr, Xte])
    if args.quick:
        Xtr, ytr = Xtr[:10000], ytr[:10000]
    data = Xtr, ytr, Xte, yte
    print(f"data: Fashion-MNIST train {Xtr.shape}, test {Xte.shape}")
    hn.warmup(("float32",))

    rows, net = [], None
    for batch_size in args.batches:
        ours, ours_acc, net = run_hashnet(hn, data, batch_size, repeats, args.seed)
        line = f"batch {batch_size}: hashnet epochs {' '.join(f'{s:.2f}' for s in ours)} s, "
        line += f"test accuracy {ours_acc:.3f}"
        theirs = None
        if torch is not None:
            theirs, theirs_acc = run_torch(torch, data, batch_size, repeats, args.seed)
            line += f"; torch epochs {' '.join(f'{s:.2f}' for s in theirs)} s, "
            line += f"test accuracy {theirs_acc:.3f}"
        print(line, flush=True)
        rows.append(table_row("LeNet-5", batch_size, ours, theirs))
    print(f"\nseconds per epoch on {len(Xtr)} images (median of {repeats}; ratio < 1: faster)")
    _common.print_table(["network", "batch", "hashnet s", "torch s", "ratio", "target"], rows)

    n_images = args.resnet_images or (2048 if args.quick else 50000)
    rng = np.random.default_rng(args.seed)
    resnet_data = (
        rng.random((n_images, 3, 32, 32), dtype=np.float32),
        rng.integers(0, 10, n_images),
    )
    print(f"\ndata: {n_images} random 3x32x32 images, 10 classes", flush=True)
    rows = []
    for batch_size in args.batches:
        ours = resnet_hashnet(hn, resnet_data, batch_size, repeats, args.seed)
        theirs = None
        if torch is not None:
            theirs = resnet_torch(torch, resnet_data, batch_size, repeats, args.seed)
        rows.append(resnet_row(ours, theirs, batch_size))
    print(f"\nseconds per epoch on {n_images} images (median of {repeats}; ratio < 1: faster)")
    _common.print_table(["network", "batch", "hashnet s", "torch s", "ratio", "target"], rows)

    codes, seconds, peak = codes_cost(hn, net, X_all)
    dense = len(X_all) * codes.n_bits * 4
    print(f"\ncodes of {len(X_all)} images: {codes.n_bits} bits each, {seconds:.2f} s")
    print(
        f"  peak traced memory {peak / 2**20:.0f} MiB (the packed codes alone: "
        f"{codes.words.nbytes / 2**20:.0f} MiB; all float activations at once would be "
        f"{dense / 2**30:.1f} GiB)"
    )
    print(f"  redundancy ratio of the training codes: {hn.redundancy_ratio(codes[: len(Xtr)]):.4f}")


if __name__ == "__main__":
    main()
