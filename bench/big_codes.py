"""The probes on wide codes: time and memory of K-Means, K-NN and logistic regression.

The study's CNNs give codes far wider than an MLP's: LeNet-5 has 6 508 ReLU units, a VGG-16
on CIFAR-10 about 280 000. Unpacked to float64, 60 000 VGG codes would take 134 GB; packed
they take 2.1 GB. hashnet's probes read the packed codes a block at a time (see
`hashnet.probes.kmeans._Rows` and the byte tables of `hashnet.probes.logistic`), so their
memory should follow a block and the model, not the number of codes times their width. This
script measures that, for two code widths:

    LeNet   6 508 bits   (the width of `hn.CNN.lenet` codes on 28 x 28 images)
    VGG   280 000 bits   (about the width of a VGG-16 on 32 x 32 images)

The codes are synthetic, made packed without ever unpacking them: 10 random prototype codes,
each code its class's prototype with every bit flipped with probability 1/4. Their width and
number are realistic; their structure (every class far from every other) is not, so the
accuracies in the table are only a check that each probe computed something sensible.

For each width and probe, the table shows:

- the median wall-clock time of `--repeats` runs (after an untimed warm-up on a few codes that
  compiles or loads the Numba kernels), and the work done (Lloyd or L-BFGS iterations);
- "traced peak": the most memory NumPy and Python held at once during the call, from
  tracemalloc (measured in a separate, untimed run: tracing slows Python down). Numba's own
  allocations inside kernels and SciPy's Fortran work arrays do not show here;
- "RSS growth": the most the resident memory of the process grew above its size when the call
  began, sampled every 5 ms by a thread; this sees every allocation, but memory the allocator
  keeps from earlier calls is reused without growing the process, so it can read low;
- next to them, the size of the codes packed and of the float64 matrix that unpacking them
  would take.

The workloads: K-Means with 10 clusters, Euclidean on the 0/1 bits, one k-means++ seeding
(n_init=1) and at most `--kmeans-iter` Lloyd iterations; K-NN with k=9 in Hamming distance,
the test codes against the training codes; multinomial logistic regression (C=1) with at most
`--lr-iter` L-BFGS iterations (tol=1e-8, so that it runs them all: with the default tol=1e-4
the gradient of so many weights is "small" after one or two), scored on the test codes.

    python bench/big_codes.py --threads 1            # what a shared machine should use
    python bench/big_codes.py --threads 1 --quick    # 10 000 / 2 000 codes, 1 run each

The full run takes about 10 minutes at one thread (`--quick`: under 2).

The VGG row uses `--vgg-images` codes (default 6 000), not 60 000: at one thread, K-NN over
60 000 x 10 000 VGG codes alone would run for hours, and so would each logistic regression.
The table says how many codes each row used; nothing in it is extrapolated.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
import tracemalloc
import warnings

import _common  # bench/_common.py; imports no NumPy
from _common import print_table

WIDTHS = {"LeNet": 6508, "VGG": 280_000}
N_CLASSES = 10
N_CLUSTERS = 10
MB = 2**20


def build_parser():
    parser = _common.make_parser(
        "Time and memory of K-Means, K-NN and logistic regression on wide codes.",
        quick_help="10000 LeNet / 2000 VGG training codes, 1 run each",
        threaded="BLAS and Numba",
    )
    parser.add_argument("--images", type=int, default=60000, help="LeNet training codes")
    parser.add_argument("--vgg-images", type=int, default=6000, help="VGG training codes")
    parser.add_argument("--test", type=int, default=10000, help="LeNet test codes (K-NN, LR)")
    parser.add_argument("--vgg-test", type=int, default=1000, help="VGG test codes")
    parser.add_argument("--kmeans-iter", type=int, default=10, help="most Lloyd iterations")
    parser.add_argument("--lr-iter", type=int, default=10, help="most L-BFGS iterations")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs each (median)")
    parser.add_argument("--vgg-repeats", type=int, default=1, help="timed runs of VGG rows")
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)


# --- codes -------------------------------------------------------------------------------------


def prototype_codes(hn, np, n, n_bits, seed):
    """(Codes, labels): n codes around N_CLASSES random prototypes, each bit flipped with
    probability 1/4 (an AND of two random words), built as packed words."""
    rng = np.random.default_rng(seed)
    n_words = (n_bits + 63) // 64

    def random_words(rows):
        return rng.integers(0, 2**64, size=(rows, n_words), dtype=np.uint64, endpoint=False)

    prototypes = random_words(N_CLASSES)
    y = rng.integers(N_CLASSES, size=n)
    words = random_words(n)
    words &= random_words(n)
    words ^= prototypes[y]
    if n_bits % 64:
        words[:, -1] &= np.uint64((1 << (n_bits % 64)) - 1)
    return hn.Codes(words, n_bits), y


# --- measuring -----------------------------------------------------------------------------------


def resident_bytes():
    """The resident memory of this process (Linux /proc; None elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class ResidentPeak:
    """Samples the resident memory every 5 ms while in a `with` block; `growth` is the most it
    rose above its size at the start (None where /proc is missing)."""

    def __enter__(self):
        self.start = resident_bytes()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while not self._stop.wait(0.005):
            now = resident_bytes()
            if now is not None and self.peak is not None:
                self.peak = max(self.peak, now)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        now = resident_bytes()
        if now is not None and self.peak is not None:
            self.peak = max(self.peak, now)
        self.growth = None if self.start is None else self.peak - self.start


def memory_of(function, *args):
    """(tracemalloc peak, RSS growth) of one call function(*args), in bytes."""
    with ResidentPeak() as resident:
        tracemalloc.start()
        try:
            function(*args)
            traced = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return traced, resident.growth


def fmt_bytes(n):
    if n is None:
        return "n/a"
    if n >= 2**30:
        return f"{n / 2**30:.1f} GiB"
    return f"{n / MB:.1f} MiB" if n >= MB else f"{n / 1024:.0f} KiB"


def fmt_seconds(seconds):
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- the probes --------------------------------------------------------------------------------


def probes(hn, args):
    """{name: (fit-and-score(train, ytr, test, yte) -> (score, iterations), score label)}."""

    def kmeans(train, ytr, test, yte):
        model = hn.KMeans(N_CLUSTERS, n_init=1, max_iter=args.kmeans_iter, seed=0).fit(train)
        return hn.cluster_accuracy(ytr, model.labels_, mapping="majority"), model.n_iter_

    def knn(train, ytr, test, yte):
        return hn.KNN(k=9).fit(train, ytr).score(test, yte), None

    def logistic(train, ytr, test, yte):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # max_iter reached: on purpose
            model = hn.LogisticRegression(C=1.0, max_iter=args.lr_iter, tol=1e-8)
            model.fit(train, ytr)
        return model.score(test, yte), model.n_iter_

    return {
        "K-Means (10, Euclidean)": (kmeans, "cluster acc."),
        "K-NN (k=9, Hamming)": (knn, "test acc."),
        "LR (multinomial, C=1)": (logistic, "test acc."),
    }


def measure_width(hn, np, args, name, n_bits, n_train, n_test, repeats):
    """The table rows of every probe on n_train + n_test synthetic codes of n_bits."""
    codes, y = prototype_codes(hn, np, n_train + n_test, n_bits, seed=0)
    data = codes[:n_train], y[:n_train], codes[n_train:], y[n_train:]
    del codes  # the slices above are copies: keep one set of packed words
    packed = data[0].words.nbytes
    dense = n_train * n_bits * 8
    print(
        f"{name}: {n_train} training + {n_test} test codes of {n_bits} bits; training "
        f"codes packed {fmt_bytes(packed)}, as float64 {fmt_bytes(dense)}",
        flush=True,
    )
    rows = []
    for probe, (run, score_name) in probes(hn, args).items():
        train, ytr, test, yte = data
        run(train[:200], ytr[:200], test[:20], yte[:20])  # warm-up: kernels, caches
        traced, growth = memory_of(run, *data)
        times = []
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            score, n_iter = run(*data)
            times.append(time.perf_counter() - start)
            print(f"  {probe}: {fmt_seconds(times[-1])}", flush=True)
        rows.append(
            [
                f"{name} {n_bits}",
                f"{n_train}+{n_test}",
                probe,
                fmt_seconds(statistics.median(times)),
                "-" if n_iter is None else str(int(np.max(n_iter))),
                fmt_bytes(traced),
                fmt_bytes(growth),
                fmt_bytes(packed),
                fmt_bytes(dense),
                f"{score:.3f} {score_name}",
            ]
        )
    return rows


def main(argv=None):
    args = build_parser().parse_args(argv)
    hn = _common.import_hashnet()
    import numba
    import numpy as np

    if args.quick:
        args.images, args.vgg_images = min(args.images, 10000), min(args.vgg_images, 2000)
        args.test, args.vgg_test = min(args.test, 2000), min(args.vgg_test, 500)
        args.repeats = args.vgg_repeats = 1
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    _limits, thread_notes = _common.threadpool_limit(args.threads, None, "BLAS threads")
    _common.print_environment(
        "hashnet probes on wide codes: time and memory",
        settings=[
            f"threads: {args.threads} (Numba, BLAS)",
            f"repeats: {args.repeats} (median; VGG rows {args.vgg_repeats})",
            f"K-Means: n_init=1, max_iter={args.kmeans_iter}; LR: max_iter={args.lr_iter}",
        ],
        versions={},
        blas=f"BLAS: {_common.describe_blas()}",
        coretype_effect="(the K-Means distance products) slower.",
        notes=thread_notes,
    )
    sizes = {
        "LeNet": (args.images, args.test, args.repeats),
        "VGG": (args.vgg_images, args.vgg_test, args.vgg_repeats),
    }
    rows = []
    for name, n_bits in WIDTHS.items():
        rows += measure_width(hn, np, args, name, n_bits, *sizes[name])
    print()
    print_table(
        [
            "codes (bits)",
            "train+test",
            "probe",
            "median time",
            "iterations",
            "traced peak",
            "RSS growth",
            "packed train",
            "float64 train",
            "score",
        ],
        rows,
    )
    lbfgs = ", ".join(
        f"{name} {fmt_bytes((2 * 10 + 5) * (n_bits + 1) * N_CLASSES * 8)}"
        for name, n_bits in WIDTHS.items()
    )
    print(
        "\nThe LR rows' traced peak is mostly SciPy's L-BFGS-B workspace, (2 m + 5) floats per"
        f" parameter with m = 10 corrections ({lbfgs}): it grows with bits x classes, not with"
        " the number of codes."
    )
    if sizes["VGG"][0] < 60000:
        print(
            f"\nThe VGG rows use {sizes['VGG'][0]} training codes, not 60000 (see the docstring);"
            " nothing is extrapolated."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
