"""Seconds per training epoch on Fashion-MNIST: hashnet vs PyTorch (CPU) vs plain NumPy.

Three implementations train the same MLPs (784-100-10 and 784-256-256-10 by default) with
Adam (lr 1e-3) on the full Fashion-MNIST training set, in this one process, with the same
number of threads:

  hashnet  hn.MLP(...).fit(...); its per-epoch times come from net.history_["time"]
  numpy    a careful hand-written NumPy/BLAS training loop (below): what plain NumPy can do,
           the yardstick for a trainer whose matrix products go through NumPy's BLAS, as
           hashnet's do (its Numba kernels should then make the rest cheaper still)
  torch    the idiomatic PyTorch CPU loop, when torch is installed

Each implementation runs one warm-up epoch (hashnet also compiles its kernels first, in
hn.warmup()), then `--repeats` timed epochs; the table reports the median, because a shared
machine is noisy. Every epoch draws a fresh random permutation and gathers each batch with
X[idx], the same scheme in all three; all three also track the training loss as they go. The
test accuracy each one reached is printed as a sanity check that all three really learn.

Run from the repository root:

    python bench/train_mlp.py              # the full benchmark (takes a few minutes)
    python bench/train_mlp.py --quick      # smoke run: 10000 examples, 2 timed epochs
    python bench/train_mlp.py --threads 1 --configs 100 --batches 32 64 128

Ratios below 1 in the table mean hashnet is faster.
"""

from __future__ import annotations

import argparse
import functools
import math
import statistics
import time
from dataclasses import dataclass

import _common  # bench/_common.py; imports no NumPy


def build_parser() -> argparse.ArgumentParser:
    parser = _common.make_parser(
        "Seconds per epoch of MLP training: hashnet vs PyTorch vs plain NumPy.",
        quick_help="smoke run: a 10000-example slice and 2 timed epochs",
        threaded="BLAS, torch and numba",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=["100", "256-256"],
        help="hidden layer widths, one network per argument, e.g. 100 256-256",
    )
    parser.add_argument(
        "--batches", nargs="+", type=int, default=[64, 128], help="batch sizes (default: 64 128)"
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed epochs after the warm-up epoch (default 3; 2 with --quick)",
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--seed", type=int, default=0)
    return parser


# These libraries read their thread count once, when they are loaded, so the count has to be in
# the environment before NumPy (or torch, or Numba) is imported. threadpoolctl, when installed,
# sets the BLAS count again at run time (see limit_threads), and torch gets set_num_threads.
if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)

import numpy as np  # noqa: E402

N_CLASSES = 10
LEARNING_RATE = 1e-3


@dataclass
class Result:
    """What one implementation did on one (network, batch size) pair."""

    epoch_seconds: list  # the timed epochs, warm-up excluded
    train_loss: float  # mean training loss of the last epoch
    test_accuracy: float

    @property
    def median(self) -> float:
        return statistics.median(self.epoch_seconds)


# --------------------------------------------------------------------------------------------
# (a) hashnet
# --------------------------------------------------------------------------------------------


def import_hashnet():
    """Return (hashnet module, None), or (None, the reason its trainer is unavailable)."""
    # Benchmark the checkout this script lives in, even when hashnet is not installed.
    try:
        hn = _common.import_hashnet()
    except Exception as exc:  # a half-written package can fail in many ways
        return None, f"hashnet is not importable ({type(exc).__name__}: {exc})"
    if not hasattr(hn, "MLP"):
        return None, "hashnet has no MLP yet (hn.MLP missing)"
    return hn, None


def run_hashnet(hn, data, hidden, batch_size, repeats, dtype, seed) -> Result:
    Xtr, ytr, Xte, yte = data
    net = hn.MLP(input_dim=Xtr.shape[1], hidden=hidden, n_classes=N_CLASSES, seed=seed, dtype=dtype)
    net.fit(
        Xtr,
        ytr,
        epochs=1 + repeats,
        batch_size=batch_size,
        optimizer="adam",
        lr=LEARNING_RATE,
        verbose=0,
    )
    epoch_seconds = list(net.history_["time"])[1:]  # drop the warm-up epoch
    return Result(epoch_seconds, net.history_["loss"][-1], float(net.score(Xte, yte)))


# --------------------------------------------------------------------------------------------
# (b) PyTorch
# --------------------------------------------------------------------------------------------


def import_torch():
    """Return (torch module, None), or (None, why not)."""
    try:
        import torch
    except ImportError:
        return None, "torch is not installed (pip install torch; see bench/README.md)"
    return torch, None


def run_torch(torch, data, hidden, batch_size, repeats, dtype, seed) -> Result:
    """The idiomatic PyTorch CPU training loop, data held as in-memory tensors."""
    import torch.nn.functional as F
    from torch import nn

    Xtr, ytr, Xte, yte = data
    torch.manual_seed(seed)
    sizes = [Xtr.shape[1], *hidden, N_CLASSES]
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(getattr(torch, dtype))  # no ReLU after the last
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)

    X = torch.from_numpy(Xtr)
    y = torch.from_numpy(ytr.astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    n = len(X)
    epoch_seconds = []
    for _ in range(1 + repeats):
        start_time = time.perf_counter()
        total_loss = torch.zeros(())
        for idx in torch.randperm(n, generator=generator).split(batch_size):
            logits = model(X[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.detach() * len(idx)
        epoch_seconds.append(time.perf_counter() - start_time)

    with torch.inference_mode():
        predictions = model(torch.from_numpy(Xte)).argmax(dim=1).numpy()
    return Result(epoch_seconds[1:], total_loss.item() / n, float(np.mean(predictions == yte)))


# --------------------------------------------------------------------------------------------
# (c) plain NumPy
# --------------------------------------------------------------------------------------------


class NumpyMLP:
    """The same MLP trained by hand in NumPy: the floor for a NumPy-based trainer.

    Forward, for each layer:  z = a @ W + b,  a = relu(z)  (no ReLU on the last layer);
    softmax cross-entropy on the logits. Backward, from  delta = (softmax - onehot) / n:
    dW = a_prev.T @ delta,  db = sum(delta),  delta_prev = (delta @ W.T) * [a_prev > 0].

    Everything a training step touches is allocated once, in __init__, so a step only calls
    BLAS (np.dot with out=) and in-place ufuncs. Parameters, gradients and Adam's moments each
    live in one flat vector (the weight matrices are views into it), so Adam updates all layers
    with a handful of whole-vector operations instead of a Python loop over layers.
    """

    def __init__(
        self, sizes, batch_size, dtype, seed, lr=LEARNING_RATE, betas=(0.9, 0.999), eps=1e-8
    ):
        rng = np.random.default_rng(seed)
        self.lr, self.betas, self.eps, self.step_count = lr, betas, eps, 0
        n_params = sum(i * o + o for i, o in zip(sizes[:-1], sizes[1:]))
        self.params = np.empty(n_params, dtype)
        self.grads = np.zeros(n_params, dtype)
        self.m = np.zeros(n_params, dtype)  # Adam's first moment
        self.v = np.zeros(n_params, dtype)  # Adam's second moment
        self.scratch = np.empty(n_params, dtype)
        self.tiny_moments = np.empty(n_params, bool)

        self.W, self.b, self.dW, self.db = [], [], [], []
        offset = 0
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            for shape, values, grads in (
                ((fan_in, fan_out), self.W, self.dW),
                ((fan_out,), self.b, self.db),
            ):
                size = int(np.prod(shape))
                values.append(self.params[offset : offset + size].reshape(shape))
                grads.append(self.grads[offset : offset + size].reshape(shape))
                offset += size
            bound = 1.0 / np.sqrt(fan_in)  # the scale torch.nn.Linear uses
            self.W[-1][...] = rng.uniform(-bound, bound, (fan_in, fan_out))
            self.b[-1][...] = rng.uniform(-bound, bound, fan_out)

        # Batch-sized buffers; a short last batch uses their first n rows.
        # activations[0] is the gathered input batch, activations[-1] the logits, which turn
        # into softmax probabilities and then into the output delta, in place.
        self.activations = [np.empty((batch_size, width), dtype) for width in sizes]
        self.deltas = [np.empty((batch_size, width), dtype) for width in sizes[1:-1]]
        self.relu_masks = [np.empty((batch_size, width), bool) for width in sizes[1:-1]]
        self.row_buffer = np.empty((batch_size, 1), dtype)
        self.rows = np.arange(batch_size)
        # Sums over short axes as products with a vector of ones: one BLAS call, several
        # times faster than np.sum on arrays this small.
        self.ones_batch = np.ones(batch_size, dtype)
        self.ones_classes = np.ones((sizes[-1], 1), dtype)
        self.batch_size = batch_size

    def forward(self, n):
        """Forward the first n rows of activations[0]; return the logits (a buffer view)."""
        a = self.activations[0][:n]
        last = len(self.W) - 1
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            z = self.activations[layer + 1][:n]
            np.dot(a, W, out=z)
            z += b
            if layer < last:
                np.maximum(z, 0, out=z)
            a = z
        return a

    def train_step(self, n, yb):
        """One Adam step on the batch in activations[0][:n]; return (summed loss, # correct)."""
        logits = self.forward(n)
        rows, row_buffer = self.rows[:n], self.row_buffer[:n]
        correct = int(np.count_nonzero(logits.argmax(axis=1) == yb))

        # Softmax cross-entropy, computed stably: loss_i = log(sum_j exp(s_ij)) - s_i,y_i
        # with s = logits - rowmax.
        np.max(logits, axis=1, keepdims=True, out=row_buffer)
        logits -= row_buffer
        true_class_scores = logits[rows, yb]
        np.exp(logits, out=logits)
        np.dot(logits, self.ones_classes, out=row_buffer)  # row sums
        logits /= row_buffer  # now the softmax probabilities
        loss = float(np.log(row_buffer).sum() - true_class_scores.sum())

        delta = logits  # d(mean loss)/d(logits) = (probabilities - onehot) / n
        delta[rows, yb] -= 1
        delta *= 1.0 / n
        for layer in range(len(self.W) - 1, -1, -1):
            a_prev = self.activations[layer][:n]
            np.dot(a_prev.T, delta, out=self.dW[layer])
            np.dot(self.ones_batch[:n], delta, out=self.db[layer])  # column sums
            if layer > 0:
                delta_prev = self.deltas[layer - 1][:n]
                np.dot(delta, self.W[layer].T, out=delta_prev)
                mask = self.relu_masks[layer - 1][:n]
                np.greater(a_prev, 0, out=mask)  # relu'(z) = [z > 0] = [relu(z) > 0]
                delta_prev *= mask
                delta = delta_prev

        self.adam_update()
        return loss, correct

    def adam_update(self):
        """Adam (Kingma & Ba), in place on the flat vectors, as torch.optim.Adam computes it."""
        beta1, beta2 = self.betas
        self.step_count += 1
        g, m, v, scratch = self.grads, self.m, self.v, self.scratch
        m *= beta1  # m = beta1 m + (1 - beta1) g
        np.multiply(g, 1 - beta1, out=scratch)
        m += scratch
        v *= beta2  # v = beta2 v + (1 - beta2) g^2
        np.multiply(g, g, out=scratch)
        scratch *= 1 - beta2
        v += scratch
        # params -= lr / bc1 * m / (sqrt(v / bc2) + eps), with the bias corrections bc1, bc2
        # folded into two scalars to save passes over memory.
        root_bc2 = math.sqrt(1 - beta2**self.step_count)  # a Python float: keeps float32 math
        np.sqrt(v, out=scratch)
        scratch += self.eps * root_bc2
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr * root_bc2 / (1 - beta1**self.step_count)
        self.params -= scratch
        if self.step_count % 100 == 0:
            self.flush_tiny_moments()

    def flush_tiny_moments(self, threshold=1e-30):
        """Set the entries of m and v below `threshold` to zero.

        A weight whose gradient stays exactly zero (one from an always-black border pixel, or
        into a dead ReLU) sees its m shrink by beta1 = 0.9 every step, and after ~800 steps m
        is a subnormal float. x86 CPUs do arithmetic on subnormals in microcode, tens of times
        slower: without this flush, Adam took three quarters of an epoch. Going from 1e-30 to
        the subnormal range (< 1.2e-38) takes m some 170 steps, so flushing every 100 steps
        keeps it out. The weight does not notice: its step, lr * m / (sqrt(v) + eps), was below
        1e-3 * 1e-30 / 1e-8 anyway.
        """
        for moment in (self.m, self.v):
            np.abs(moment, out=self.scratch)
            np.less(self.scratch, threshold, out=self.tiny_moments)
            np.copyto(moment, 0, where=self.tiny_moments)

    def train_epoch(self, X, y, rng):
        """One pass over (X, y) in a fresh random order; return (mean loss, accuracy)."""
        order = rng.permutation(len(X))
        total_loss, total_correct = 0.0, 0
        for start in range(0, len(X), self.batch_size):
            idx = order[start : start + self.batch_size]
            n = len(idx)
            # X[idx] into the preallocated buffer; mode="clip" skips the extra buffering that
            # the default mode="raise" does (the indices are valid anyway).
            np.take(X, idx, axis=0, out=self.activations[0][:n], mode="clip")
            loss, correct = self.train_step(n, y[idx])
            total_loss += loss
            total_correct += correct
        return total_loss / len(X), total_correct / len(X)

    def predict(self, X):
        a = X
        for layer, (W, b) in enumerate(zip(self.W, self.b)):
            a = a @ W + b
            if layer < len(self.W) - 1:
                a = np.maximum(a, 0)
        return a.argmax(axis=1)


def run_numpy(data, hidden, batch_size, repeats, dtype, seed) -> Result:
    Xtr, ytr, Xte, yte = data
    net = NumpyMLP([Xtr.shape[1], *hidden, N_CLASSES], batch_size, dtype, seed)
    rng = np.random.default_rng(seed)
    epoch_seconds = []
    for _ in range(1 + repeats):
        start_time = time.perf_counter()
        train_loss, _ = net.train_epoch(Xtr, ytr, rng)
        epoch_seconds.append(time.perf_counter() - start_time)
    return Result(epoch_seconds[1:], train_loss, float(np.mean(net.predict(Xte) == yte)))


# --------------------------------------------------------------------------------------------
# Environment, threads, data
# --------------------------------------------------------------------------------------------


def limit_threads(threads, torch):
    """Set the thread count of torch and (with threadpoolctl) of NumPy's BLAS at run time.

    Returns (the threadpoolctl limiter or None, notes for the report). Numba got its count
    from NUMBA_NUM_THREADS at start-up.
    """
    if torch is not None:
        torch.set_num_threads(threads)
    return _common.threadpool_limit(threads, "blas", "NumPy's BLAS threads")


def print_environment(args, repeats, torch, notes):
    _common.print_environment(
        "hashnet training benchmark: seconds per epoch, median of "
        f"{repeats} timed epochs after 1 warm-up epoch",
        settings=[f"threads: {args.threads}  dtype: {args.dtype}"],
        versions={"torch": _common.version(torch)},
        blas=f"NumPy BLAS: {_common.describe_blas()}",
        coretype_effect="(and so the numpy and hashnet columns) slower; torch uses its own BLAS"
        " (MKL/oneDNN) and is not affected.",
        notes=notes,
    )


def load_fashion_mnist(quick, dtype):
    """Fashion-MNIST through hashnet's loader (which finds or downloads the IDX files)."""
    try:
        from hashnet import datasets  # import_hashnet put this checkout on sys.path
    except ImportError as exc:
        raise SystemExit(f"the data comes from hashnet.datasets, not importable: {exc}") from None
    Xtr, ytr, Xte, yte = datasets.load("fashion-mnist")
    if quick:
        Xtr, ytr = Xtr[:10000], ytr[:10000]
    return (
        np.ascontiguousarray(Xtr, dtype=dtype),
        np.asarray(ytr, dtype=np.intp),
        np.ascontiguousarray(Xte, dtype=dtype),
        np.asarray(yte, dtype=np.intp),
    )


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def format_seconds(result):
    return f"{result.median:.3f}" if result is not None else "n/a"


def format_accuracy(result):
    return f"{result.test_accuracy:.3f}" if result is not None else "n/a"


def main(argv=None):
    args = build_parser().parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 3)
    torch, torch_note = import_torch()
    hn, hashnet_note = import_hashnet()
    _limits, notes = limit_threads(args.threads, torch)
    notes += [note for note in (hashnet_note, torch_note) if note]
    print_environment(args, repeats, torch, notes)

    data = load_fashion_mnist(args.quick, args.dtype)
    print(f"data: Fashion-MNIST train {data[0].shape}, test {data[2].shape}, {data[0].dtype}")
    if hashnet_note is None:
        hn.warmup()  # compile the Numba kernels now, outside the timed epochs
    print()

    # name -> function(data, hidden, batch_size, repeats, dtype, seed), None when unavailable
    runners = {
        "hashnet": functools.partial(run_hashnet, hn) if hashnet_note is None else None,
        "numpy": run_numpy,
        "torch": functools.partial(run_torch, torch) if torch is not None else None,
    }
    rows, accuracy_rows = [], []
    for config in args.configs:
        hidden = tuple(int(width) for width in config.split("-"))
        name = "-".join(str(width) for width in (data[0].shape[1], *hidden, N_CLASSES))
        for batch_size in args.batches:
            print(f"{name}, batch {batch_size}", flush=True)
            results = {}
            for label, runner in runners.items():
                if runner is None:
                    results[label] = None
                    continue
                result = runner(data, hidden, batch_size, repeats, args.dtype, args.seed)
                epochs = " ".join(f"{seconds:.3f}" for seconds in result.epoch_seconds)
                print(
                    f"  {label:8} epochs {epochs} s   train loss {result.train_loss:.3f}  "
                    f"test accuracy {result.test_accuracy:.3f}",
                    flush=True,
                )
                results[label] = result
            ours, plain, reference = (results[k] for k in ("hashnet", "numpy", "torch"))
            rows.append(
                [
                    name,
                    batch_size,
                    format_seconds(ours),
                    format_seconds(plain),
                    format_seconds(reference),
                    _common.format_ratio(ours and ours.median, reference and reference.median),
                    _common.format_ratio(ours and ours.median, plain and plain.median),
                ]
            )
            accuracy_rows.append(
                [
                    name,
                    batch_size,
                    format_accuracy(ours),
                    format_accuracy(plain),
                    format_accuracy(reference),
                ]
            )

    print(f"\nseconds per epoch (median of {repeats}; ratios < 1: hashnet is faster)")
    _common.print_table(
        [
            "network",
            "batch",
            "hashnet s/epoch",
            "numpy s/epoch",
            "torch s/epoch",
            "hashnet/torch",
            "hashnet/numpy",
        ],
        rows,
    )
    print(f"\ntest accuracy after {1 + repeats} epochs (sanity check: all three should learn)")
    _common.print_table(["network", "batch", "hashnet", "numpy", "torch"], accuracy_rows)


if __name__ == "__main__":
    main()
