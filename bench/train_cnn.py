"""Seconds per training epoch of LeNet-5 on Fashion-MNIST: hashnet vs PyTorch (CPU), and the
cost of CNN codes.

Both train the same network, LeNet-5 with ReLUs and max pooling (conv 6@5x5 padded by 2,
pool, conv 16@5x5, pool, 120, 84, 10), with Adam (lr 1e-3) on the full training set, in this
one process, with the same number of threads. Each runs one warm-up epoch, then `--repeats`
timed epochs; the table shows the median (a shared machine is noisy) and the ratio
hashnet / torch (below 1: hashnet is faster). The test accuracy is printed as a check that
both learn.

Then the codes of all 70000 images (train + test) with the trained hashnet network: 6508 bits
each, computed in chunks, so memory holds the packed bits and one chunk's activations, never
the float activations of every image (which would be 70000 x 6508 x 4 bytes = 1.7 GiB).

    python bench/train_cnn.py               # full run (several minutes on 2 cores)
    python bench/train_cnn.py --quick       # 10000 training images, 1 timed epoch
    python bench/train_cnn.py --threads 1 --batches 64
"""

from __future__ import annotations

import statistics
import time

import _common  # bench/_common.py; imports no NumPy


def build_parser():
    parser = _common.make_parser(
        "Seconds per epoch of LeNet-5 training: hashnet vs PyTorch; time and memory of codes.",
        quick_help="smoke run: 10000 training images, 1 timed epoch",
        threaded="BLAS, torch and numba",
    )
    parser.add_argument("--batches", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs (default 2)")
    parser.add_argument("--seed", type=int, default=0)
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


def run_torch(torch, data, batch_size, repeats, seed):
    import torch.nn.functional as F
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
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    X, y = torch.from_numpy(Xtr), torch.from_numpy(ytr)
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
    with torch.inference_mode():
        accuracy = float((model(torch.from_numpy(Xte)).argmax(1).numpy() == yte).mean())
    return seconds[1:], accuracy


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
        ours_median = statistics.median(ours)
        theirs_median = statistics.median(theirs) if theirs else None
        rows.append(
            [
                "LeNet-5",
                batch_size,
                f"{ours_median:.2f}",
                "n/a" if theirs_median is None else f"{theirs_median:.2f}",
                _common.format_ratio(ours_median, theirs_median),
                "<= 1.5",
            ]
        )
    print(f"\nseconds per epoch on {len(Xtr)} images (median of {repeats}; ratio < 1: faster)")
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
