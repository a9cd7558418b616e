"""Neural codes on Fashion-MNIST: how fast hashnet extracts and probes them, next to the tools
people would otherwise reach for.

One MLP 784-100-10 is trained on the full Fashion-MNIST training set (Adam, lr 1e-3, batch 64,
`--epochs` epochs), then every step of the study's pipeline is timed on its codes, each next to
a reference when there is one:

  1. codes     net.codes(X) vs a plain forward pass net.predict(X); the codes of all 70000
               images: time and peak extra memory (traced by tracemalloc)
  2. rr        hashnet.codes.redundancy_ratio on the training codes (and the test codes' value)
  3. K-NN      Hamming k-NN (k=9), 10000 test codes against 60000 training codes: hashnet's
               hamming_knn and KNN probe vs faiss.IndexBinaryFlat and scikit-learn's
               KNeighborsClassifier(metric="hamming") (the latter on a 1000-query subset,
               extrapolated)
  4. K-Means   10 clusters, n_init=10, Euclidean on the 0/1 bits (what the study ran):
               hashnet.probes.KMeans vs sklearn.cluster.KMeans on the same bits
  5. LR        logistic regression (C=1) on the bits: hashnet.probes.LogisticRegression vs
               sklearn.linear_model.LogisticRegression(max_iter=1000)

Fast steps (1, 2) report the median of `--repeats` runs (default 5), slow ones (3 to 5) the
median of `--slow-repeats` (default 3). Every timed call is preceded by an untimed call on a
small slice, so Numba compilation and first-call set-up are not counted, and hashnet and its
references take turns (run 1 of each, then run 2 of each, ...), so that a change of load on a
shared machine hits both sides of a ratio alike. The progress lines give the wall-clock and
CPU seconds of every run. scikit-learn and faiss are only needed for the reference columns
(they are not hashnet dependencies); without them those columns read n/a. A final table lists
each step with its target.

Run from the repository root:

    python bench/codes.py                 # the full benchmark (3 to 8 minutes on 2 cores)
    python bench/codes.py --quick         # smoke run: 10000 training / 2000 test images
    python bench/codes.py --threads 1 --epochs 2 --repeats 3

Ratios are hashnet time / reference time: below 1, hashnet is faster.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import statistics
import time
import tracemalloc
import warnings
from dataclasses import dataclass

import _common  # bench/_common.py; imports no NumPy
from _common import format_ratio as fmt_ratio
from _common import print_table

K_NEIGHBOURS = 9
N_CLUSTERS = 10
C_LR = 1.0
SKLEARN_KNN_QUERIES = 1000  # scikit-learn's Hamming k-NN runs on this many test codes only


def build_parser() -> argparse.ArgumentParser:
    parser = _common.make_parser(
        "Extracting and probing neural codes: hashnet vs faiss and scikit-learn.",
        quick_help="smoke run: 10000 training and 2000 test images",
        threaded="BLAS, OpenMP and numba",
    )
    parser.add_argument(
        "--epochs", type=int, default=5, help="training epochs of the MLP (default 5)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs of the fast steps 1-2 (default 5)"
    )
    parser.add_argument(
        "--slow-repeats",
        type=int,
        default=3,
        help="timed runs of the slow steps 3-5, hashnet and references alike (default 3)",
    )
    return parser


# These libraries read their thread count once, when they are loaded, so the count has to be in
# the environment before NumPy (or Numba, faiss, scikit-learn) is imported. threadpoolctl, when
# installed, sets it again at run time (see limit_threads).
if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)

import numpy as np  # noqa: E402

# --------------------------------------------------------------------------------------------
# Timing, tables
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """The runs of one timed call: wall-clock and CPU seconds (all threads of this process)."""

    wall: list
    cpu: list
    result: object  # what the last run returned

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def runs(self) -> str:
        """The individual timings, for the progress lines: a noisy run shows up here, and CPU
        seconds well below threads x wall seconds mean that other processes held the cores."""
        wall = " ".join(f"{s:.3f}" for s in self.wall)
        cpu = " ".join(f"{s:.3f}" for s in self.cpu)
        return f"wall {wall} s, cpu {cpu} s"


def timed_together(functions, repeats) -> dict:
    """Time each function of {name: function} `repeats` times (at least once), round-robin:
    the first run of each, then the second of each, and so on. On a shared machine the load
    drifts during a benchmark; taking turns exposes every contender to the same drift, which
    keeps their ratio fair. Returns {name: Timing}."""
    timings = {name: Timing([], [], None) for name in functions}
    for _ in range(max(1, repeats)):
        for name, function in functions.items():
            timing = timings[name]
            wall, cpu = time.perf_counter(), time.process_time()
            timing.result = function()
            timing.cpu.append(time.process_time() - cpu)
            timing.wall.append(time.perf_counter() - wall)
    return timings


def timed(function, repeats) -> Timing:
    """Call `function` `repeats` times (at least once) and time each call."""
    return timed_together({"": function}, repeats)[""]


def traced_peak_bytes(function):
    """Peak memory that `function` allocated through Python and NumPy while it ran (tracemalloc;
    NumPy reports its array buffers to it). Memory allocated inside Numba kernels is not seen."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def fmt_seconds(seconds):
    if seconds is None:
        return "n/a"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt_accuracy(accuracy):
    return "n/a" if accuracy is None else f"{accuracy:.4f}"


def fmt_met(condition):
    return "n/a" if condition is None else ("yes" if condition else "NO")


# --------------------------------------------------------------------------------------------
# Optional tools, threads, environment
# --------------------------------------------------------------------------------------------


PROBES = ("KNN", "KMeans", "cluster_accuracy", "LogisticRegression")


def import_probes():
    """Return ({name: the probe, or None where it is missing}, notes)."""
    try:
        from hashnet import probes
    except Exception as exc:  # a half-written package can fail in many ways
        note = f"hashnet.probes is not importable ({type(exc).__name__}: {exc})"
        return dict.fromkeys(PROBES), [note + "; its rows read n/a"]
    found = {name: getattr(probes, name, None) for name in PROBES}
    missing = [name for name, probe in found.items() if probe is None]
    notes = (
        [f"hashnet.probes has no {', '.join(missing)} yet: those rows read n/a"] if missing else []
    )
    return found, notes


def import_optional(module, install):
    """Return (module, None), or (None, a note saying how to install it)."""
    try:
        return importlib.import_module(module), None
    except ImportError:
        return None, f"{module} is not installed (pip install {install}): its columns read n/a"


def limit_threads(threads, faiss):
    """Set the thread count of Numba, faiss and (with threadpoolctl) of every BLAS and OpenMP
    library loaded so far. Returns (the threadpoolctl limiter or None, notes)."""
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    if faiss is not None:
        faiss.omp_set_num_threads(threads)
    return _common.threadpool_limit(threads, None, "BLAS/OpenMP threads")


def print_environment(args, sklearn, faiss, notes):
    import scipy

    _common.print_environment(
        "hashnet codes benchmark: extracting neural codes and probing them",
        settings=[
            f"threads: {args.threads} (Numba, BLAS, OpenMP: faiss and scikit-learn alike)",
            f"repeats: median of {args.repeats} (steps 1-2), of {args.slow_repeats} (steps 3-5)",
        ],
        versions={
            "scipy": scipy.__version__,
            "scikit-learn": _common.version(sklearn),
            "faiss": _common.version(faiss),
        },
        blas=f"BLAS: {_common.describe_blas(locations=True)}",
        coretype_effect="(the forward passes, K-Means and both LR solvers) slower.",
        notes=notes,
    )


def load_fashion_mnist(hn, quick):
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist")
    if quick:
        Xtr, ytr, Xte, yte = Xtr[:10000], ytr[:10000], Xte[:2000], yte[:2000]
    return (
        np.ascontiguousarray(Xtr, dtype=np.float32),
        np.asarray(ytr, dtype=np.intp),
        np.ascontiguousarray(Xte, dtype=np.float32),
        np.asarray(yte, dtype=np.intp),
    )


# --------------------------------------------------------------------------------------------
# 1. Extracting the codes
# --------------------------------------------------------------------------------------------


def summary_row(step, ours, tool="-", theirs="-", ratio="-", target="-", met="-"):
    """One row of the final table (columns: see main)."""
    return [step, ours, tool, theirs, ratio, target, met]


def bench_extraction(net, Xtr, Xte, repeats, summary):
    print("1. code extraction", flush=True)
    net.codes(Xtr[:100])  # warm-up: loads the kernels
    net.predict(Xtr[:100])
    X_all = np.concatenate([Xtr, Xte])  # allocated here, before the memory is traced
    runs = timed_together(
        {"net.codes(Xtr)": lambda: net.codes(Xtr), "net.predict(Xtr)": lambda: net.predict(Xtr)},
        repeats,
    )
    runs["net.codes(train+test)"] = timed(lambda: net.codes(X_all), repeats)
    peak = traced_peak_bytes(lambda: net.codes(X_all))
    rows = []
    for name, timing in runs.items():
        n = len(X_all) if "test" in name else len(Xtr)
        print(f"  {name:22} {timing.runs()}")
        rows.append([name, n, fmt_seconds(timing.median), fmt_seconds(timing.median / n * 1e3)])
    print()
    print_table(["what", "examples", "median", "per 1000 examples"], rows)

    codes_tr = runs["net.codes(Xtr)"].result
    codes_all = runs["net.codes(train+test)"].result
    t_codes = runs["net.codes(Xtr)"].median
    t_forward = runs["net.predict(Xtr)"].median
    t_all = runs["net.codes(train+test)"].median
    print(
        f"  codes of all {len(X_all)} images: {codes_all.n_bits} bits in {codes_all.n_words}"
        f" words each, {codes_all.words.nbytes / 2**20:.2f} MiB (the images:"
        f" {X_all.nbytes / 2**20:.0f} MiB)"
    )
    print(
        f"  peak extra memory of net.codes(train+test): {peak / 2**20:.1f} MiB, measured with"
        " tracemalloc (the most memory the call held at once, its result included, the input"
        " not; NumPy reports its buffers to tracemalloc, Numba's own allocations would not show)"
    )
    print()
    summary.append(
        summary_row(
            "codes(Xtr) vs forward pass",
            fmt_seconds(t_codes),
            "net.predict(Xtr)",
            fmt_seconds(t_forward),
            fmt_ratio(t_codes, t_forward),
            "<= 1.3",
            fmt_met(t_codes / t_forward <= 1.3),
        )
    )
    summary.append(
        summary_row(
            f"codes of {len(X_all)} images", f"{fmt_seconds(t_all)}, {peak / 2**20:.1f} MiB peak"
        )
    )
    return codes_tr


# --------------------------------------------------------------------------------------------
# 2. Redundancy ratio
# --------------------------------------------------------------------------------------------


def bench_redundancy(codes_tr, codes_te, repeats, summary):
    from hashnet.codes import redundancy_ratio

    print("2. redundancy ratio", flush=True)
    redundancy_ratio(codes_tr[:100])  # warm-up
    timing = timed(lambda: redundancy_ratio(codes_tr), repeats)
    rr_train, rr_test = timing.result, redundancy_ratio(codes_te)
    print(f"  redundancy_ratio(codes_tr)  {timing.runs()}")
    print(
        f"  {fmt_seconds(timing.median)} for {len(codes_tr)} codes;  rr_train {rr_train:.5f}"
        f" ({round(rr_train * len(codes_tr))} codes repeat an earlier one)  rr_test {rr_test:.5f}"
    )
    print()
    summary.append(
        summary_row(
            "redundancy_ratio(codes_tr)",
            f"{fmt_seconds(timing.median)} (rr {rr_train:.4f})",
            target="< 10 ms",
            met=fmt_met(timing.median < 0.010),
        )
    )


# --------------------------------------------------------------------------------------------
# 3. K-NN in Hamming distance
# --------------------------------------------------------------------------------------------


def majority_vote(neighbour_labels, n_classes):
    """The most common label in each row of (n, k) neighbour labels, nearest first. A tie goes
    to the tied class of the nearest neighbour, the rule of hashnet.probes.KNN."""
    n, k = neighbour_labels.shape
    votes = np.zeros((n, n_classes), np.int64)
    np.add.at(votes, (np.repeat(np.arange(n), k), neighbour_labels.ravel()), 1)
    tied = votes == votes.max(axis=1, keepdims=True)
    first = np.argmax(np.take_along_axis(tied, neighbour_labels, axis=1), axis=1)
    return neighbour_labels[np.arange(n), first]


def as_bytes(codes, n_bytes):
    """The codes as (N, n_bytes) uint8 rows, in faiss's bit layout: bit j of a code is bit j % 8
    of byte j // 8. hashnet keeps bit j at bit j % 64 of word j // 64, so the little-endian
    bytes of the words are exactly that; bytes past the last bit are zero and can be cut."""
    little_endian = codes.words.astype("<u8", copy=False)
    return np.ascontiguousarray(little_endian.view(np.uint8)[:, :n_bytes])


def faiss_search(faiss, codes_tr, codes_te, n_bytes):
    """A function that runs an exact Hamming k-NN search with faiss.IndexBinaryFlat over
    n_bytes-byte codes and returns (distances, indices)."""
    index = faiss.IndexBinaryFlat(8 * n_bytes)
    index.add(as_bytes(codes_tr, n_bytes))
    queries = as_bytes(codes_te, n_bytes)
    index.search(queries[:100], K_NEIGHBOURS)  # warm-up
    return lambda: index.search(queries, K_NEIGHBOURS)


def rates(n_pairs, timing, threads):
    """G distances per second: in all, per thread, and per CPU-second (the last one holds up
    when other processes share the cores)."""
    rate = n_pairs / timing.median / 1e9
    return rate, rate / threads, n_pairs / timing.cpu_median / 1e9


def bench_knn(probes, sklearn, faiss, data, codes_tr, codes_te, args, summary):
    from hashnet.codes import hamming_knn

    _, ytr, _, yte = data
    n_classes = int(ytr.max()) + 1
    repeats, threads = args.slow_repeats, args.threads
    n_pairs = len(codes_te) * len(codes_tr)
    print(
        f"3. K-NN, Hamming, k={K_NEIGHBOURS}: {len(codes_te)} test x {len(codes_tr)} train codes"
        f" = {n_pairs / 1e9:.2f} G distances",
        flush=True,
    )
    rows = []

    def add_row(name, timing, accuracy, seconds=None):
        rate, per_thread, per_cpu = rates(n_pairs, timing, threads)
        seconds = fmt_seconds(timing.median) if seconds is None else seconds
        rows.append([name, seconds, f"{rate:.3f}", f"{per_thread:.3f}", f"{per_cpu:.3f}", accuracy])

    # hashnet's raw search and its probe (search + vote), and faiss with the bits padded to
    # whole bytes (IndexBinaryFlat needs a multiple of 8) and, for comparison, with the full
    # 64-bit words (16 bytes for 100 bits, a width faiss has dedicated popcount code for)
    hamming_knn(codes_te[:100], codes_tr, K_NEIGHBOURS)  # warm-up
    contenders = {"hashnet hamming_knn": lambda: hamming_knn(codes_te, codes_tr, K_NEIGHBOURS)}
    if probes["KNN"] is not None:
        knn = probes["KNN"](k=K_NEIGHBOURS, metric="hamming").fit(codes_tr, ytr)
        knn.predict(codes_te[:100])  # warm-up
        contenders["hashnet KNN.predict"] = lambda: knn.predict(codes_te)
    faiss_widths = []
    if faiss is not None:
        faiss_widths = list(dict.fromkeys([(codes_tr.n_bits + 7) // 8, 8 * codes_tr.n_words]))
        for width in faiss_widths:
            contenders[f"faiss IndexBinaryFlat({8 * width})"] = faiss_search(
                faiss, codes_tr, codes_te, width
            )
    timings = timed_together(contenders, repeats)
    for name, timing in timings.items():
        print(f"  {name:27} {timing.runs()}")

    search = timings["hashnet hamming_knn"]
    hashnet_distances = search.result[1]
    add_row("hashnet hamming_knn (search)", search, "-")
    predicted = None
    predict = timings.get("hashnet KNN.predict")
    if predict is not None:
        predicted = predict.result
        add_row(
            "hashnet KNN.predict (search + vote)", predict, fmt_accuracy(np.mean(predicted == yte))
        )
    for width in faiss_widths:
        timing = timings[f"faiss IndexBinaryFlat({8 * width})"]
        distances, indices = timing.result
        start = time.perf_counter()
        accuracy = np.mean(majority_vote(ytr[indices], n_classes) == yte)
        vote_seconds = time.perf_counter() - start
        same = np.array_equal(distances, hashnet_distances)
        print(f"  faiss, {8 * width} bits: same neighbour distances as hashnet: {same}")
        add_row(
            f"faiss IndexBinaryFlat({8 * width}) search (+ vote)",
            timing,
            fmt_accuracy(accuracy),
            f"{fmt_seconds(timing.median)} (+{fmt_seconds(vote_seconds)})",
        )

    # scikit-learn: brute force on the 0/1 bits, slow, so one run on a subset, extrapolated
    sklearn_seconds = None
    if sklearn is not None:
        from sklearn.neighbors import KNeighborsClassifier

        n_sub = min(SKLEARN_KNN_QUERIES, len(codes_te))
        bits_sub = codes_te[:n_sub].bits()
        clf = KNeighborsClassifier(n_neighbors=K_NEIGHBOURS, metric="hamming", n_jobs=threads)
        clf.fit(codes_tr.bits(), ytr)
        clf.predict(bits_sub[:10])  # warm-up
        timing = timed(lambda: clf.predict(bits_sub), 1)
        scale = len(codes_te) / n_sub
        sklearn_seconds = timing.median * scale
        accuracy = f"{fmt_accuracy(np.mean(timing.result == yte[:n_sub]))} on {n_sub}"
        if predicted is not None:
            accuracy += (
                f" (hashnet on them: {fmt_accuracy(np.mean(predicted[:n_sub] == yte[:n_sub]))})"
            )
        print(f"  sklearn KNeighborsClassifier on {n_sub} queries  {timing.runs()}")
        extrapolated = Timing(
            [t * scale for t in timing.wall], [t * scale for t in timing.cpu], None
        )
        add_row(
            f"sklearn KNeighborsClassifier ({n_sub} queries x {scale:g})",
            extrapolated,
            accuracy,
            f"{fmt_seconds(sklearn_seconds)} (extrapolated)",
        )
    print()
    print_table(["what", "time", "G dist/s", "per thread", "per CPU-second", "test accuracy"], rows)
    print()

    _, per_thread, per_cpu = rates(n_pairs, search, threads)
    summary.append(
        summary_row(
            "K-NN search rate per thread",
            f"{per_thread:.2f} G/s ({per_cpu:.2f} per CPU-s)",
            target=">= 0.7 G/s",
            met=fmt_met(per_thread >= 0.7),
        )
    )
    # The target is for the bits padded to whole bytes; the full-word row is for information.
    for width, target in zip(faiss_widths or [(codes_tr.n_bits + 7) // 8], ["<= 1.5", "-"]):
        name = f"faiss IndexBinaryFlat({8 * width})"
        reference = timings[name].median if name in timings else None
        met = "-" if target == "-" else fmt_met(reference and search.median / reference <= 1.5)
        summary.append(
            summary_row(
                f"K-NN search {len(codes_te) // 1000}k x {len(codes_tr) // 1000}k",
                fmt_seconds(search.median),
                name,
                fmt_seconds(reference),
                fmt_ratio(search.median, reference),
                target,
                met,
            )
        )
    summary.append(
        summary_row(
            "K-NN predict (search + vote)",
            "n/a" if predict is None else fmt_seconds(predict.median),
            "sklearn KNN (extrapolated)",
            fmt_seconds(sklearn_seconds),
            fmt_ratio(predict and predict.median, sklearn_seconds),
        )
    )


# --------------------------------------------------------------------------------------------
# 4. K-Means
# --------------------------------------------------------------------------------------------


def bench_kmeans(probes, sklearn, data, codes_tr, repeats, summary):
    _, ytr, _, _ = data
    print(
        f"4. K-Means, {N_CLUSTERS} clusters, n_init=10, Euclidean on the {codes_tr.n_bits} bits"
        f" of {len(codes_tr)} training codes",
        flush=True,
    )
    KMeans, cluster_accuracy = probes["KMeans"], probes["cluster_accuracy"]
    contenders = {}  # name -> a function that fits and returns the fitted estimator
    if KMeans is not None:
        KMeans(N_CLUSTERS, n_init=1, seed=0).fit(codes_tr[:500])  # warm-up
        contenders["hashnet"] = lambda: KMeans(N_CLUSTERS, n_init=10, seed=0).fit(codes_tr)
    if sklearn is not None:
        from sklearn.cluster import KMeans as SKKMeans

        bits = codes_tr.bits().astype(np.float64)  # the same 0/1 vectors, as floats
        SKKMeans(N_CLUSTERS, n_init=1, random_state=0).fit(bits[:500])  # warm-up
        contenders["sklearn"] = lambda: SKKMeans(N_CLUSTERS, n_init=10, random_state=0).fit(bits)
    fits = timed_together(contenders, repeats)
    rows = []
    for name, timing in fits.items():
        model = timing.result
        print(f"  {name} KMeans  {timing.runs()}  ({model.n_iter_} iterations in the best run)")
        accuracies = ["n/a", "n/a"]
        if cluster_accuracy is not None:
            accuracies = [
                fmt_accuracy(cluster_accuracy(ytr, model.labels_, mapping=mapping))
                for mapping in ("majority", "hungarian")
            ]
        rows.append([name, fmt_seconds(timing.median), f"{model.inertia_:.1f}", *accuracies])
    print()
    print_table(["", "time", "inertia", "accuracy (majority)", "accuracy (hungarian)"], rows)
    print()

    ours, reference = fits.get("hashnet"), fits.get("sklearn")
    met = None
    if ours is not None and reference is not None:
        # "No slower at equal or better inertia"; equal means within 0.1%.
        inertia_ratio = ours.result.inertia_ / reference.result.inertia_
        met = ours.median <= reference.median and inertia_ratio <= 1.001
        print(f"  inertia hashnet/sklearn {inertia_ratio:.4f}")
        print()
    summary.append(
        summary_row(
            "K-Means k=10, n_init=10",
            fmt_fit(ours, f"inertia {ours.result.inertia_:.0f}" if ours else ""),
            "sklearn KMeans",
            fmt_fit(reference, f"inertia {reference.result.inertia_:.0f}" if reference else ""),
            fmt_ratio(ours and ours.median, reference and reference.median),
            "<= 1, inertia <=",
            fmt_met(met),
        )
    )


def fmt_fit(timing, detail):
    return "n/a" if timing is None else f"{fmt_seconds(timing.median)}, {detail}"


# --------------------------------------------------------------------------------------------
# 5. Logistic regression
# --------------------------------------------------------------------------------------------


def lr_objective(model, features, y, C):
    """sum_i CE_i + ||W||^2 / (2C), intercepts unpenalised: what both implementations minimise
    (scikit-learn writes it (sum CE + ||W||^2 / (2C)) / n, the same minimiser)."""
    proba = model.predict_proba(features)
    cross_entropy = -np.log(np.maximum(proba[np.arange(len(y)), y], 1e-300)).sum()
    return float(cross_entropy + np.sum(np.square(model.coef_)) / (2 * C))


def bench_logistic(probes, sklearn, data, codes_tr, codes_te, repeats, summary):
    _, ytr, _, yte = data
    print(f"5. logistic regression, C={C_LR}, on the bits of the training codes", flush=True)
    models = {}  # name -> (a function that makes the model, train features, test features)
    if probes["LogisticRegression"] is not None:
        make_ours = functools.partial(probes["LogisticRegression"], C=C_LR)
        models["hashnet"] = (make_ours, codes_tr, codes_te)
    if sklearn is not None:
        from sklearn.linear_model import LogisticRegression

        make_reference = functools.partial(LogisticRegression, C=C_LR, max_iter=1000)
        bits_tr, bits_te = codes_tr.bits().astype(np.float64), codes_te.bits().astype(np.float64)
        models["sklearn"] = (make_reference, bits_tr, bits_te)
    with warnings.catch_warnings():
        # Both warn when they stop at max_iter; the table says so instead (from n_iter_).
        warnings.simplefilter("ignore")
        for make_model, train, _ in models.values():
            make_model().fit(train[:500], ytr[:500])  # warm-up
        timings = timed_together(
            {
                name: functools.partial(lambda make, X: make().fit(X, ytr), make_model, train)
                for name, (make_model, train, _) in models.items()
            },
            repeats,
        )
    rows, fits = [], {}
    for name, (_, train, test) in models.items():
        timing = timings[name]
        model = timing.result
        n_iter = int(np.max(model.n_iter_))
        print(f"  {name} LogisticRegression  {timing.runs()}")
        accuracy = model.score(test, yte)
        fits[name] = (timing, accuracy)
        rows.append(
            [
                name,
                fmt_seconds(timing.median),
                f"{n_iter}{' (max_iter)' if n_iter >= model.max_iter else ''}",
                fmt_seconds(timing.median / n_iter),
                fmt_accuracy(accuracy),
                f"{lr_objective(model, train, ytr, C_LR):.3f}",
            ]
        )
    print()
    print_table(
        [
            "",
            "fit time",
            "L-BFGS iterations",
            "per iteration",
            "test accuracy",
            "objective sum CE + |W|^2/(2C)",
        ],
        rows,
    )
    print()

    ours, reference = fits.get("hashnet"), fits.get("sklearn")
    summary.append(
        summary_row(
            "logistic regression C=1",
            fmt_fit(ours and ours[0], f"acc {ours[1]:.4f}" if ours else ""),
            "sklearn LogisticRegression",
            fmt_fit(reference and reference[0], f"acc {reference[1]:.4f}" if reference else ""),
            fmt_ratio(ours and ours[0].median, reference and reference[0].median),
        )
    )


# --------------------------------------------------------------------------------------------


def main(argv=None):
    args = build_parser().parse_args(argv)
    hn = _common.import_hashnet()
    probes, notes = import_probes()
    sklearn, sklearn_note = import_optional("sklearn", "scikit-learn")
    faiss, faiss_note = import_optional("faiss", "faiss-cpu")
    if sklearn is not None:  # load its OpenMP runtime now, so that limit_threads sees it
        import sklearn.cluster  # noqa: F401
    _limits, thread_notes = limit_threads(args.threads, faiss)
    notes += thread_notes + [note for note in (sklearn_note, faiss_note) if note]
    print_environment(args, sklearn, faiss, notes)

    data = load_fashion_mnist(hn, args.quick)
    Xtr, ytr, Xte, yte = data
    print(f"data: Fashion-MNIST train {Xtr.shape}, test {Xte.shape}, {Xtr.dtype}")
    hn.warmup(("float32",))
    start = time.perf_counter()
    net = hn.MLP(Xtr.shape[1], (100,), 10, seed=0)
    net.fit(Xtr, ytr, epochs=args.epochs, batch_size=64, lr=1e-3, verbose=0)
    print(
        f"network: MLP 784-100-10, {args.epochs} epochs in {time.perf_counter() - start:.1f} s;"
        f" train accuracy {net.score(Xtr, ytr):.4f}, test accuracy {net.score(Xte, yte):.4f}"
    )
    print()

    summary = []
    codes_tr = bench_extraction(net, Xtr, Xte, args.repeats, summary)
    codes_te = net.codes(Xte)
    bench_redundancy(codes_tr, codes_te, args.repeats, summary)
    bench_knn(probes, sklearn, faiss, data, codes_tr, codes_te, args, summary)
    bench_kmeans(probes, sklearn, data, codes_tr, args.slow_repeats, summary)
    bench_logistic(probes, sklearn, data, codes_tr, codes_te, args.slow_repeats, summary)

    print(
        f"summary: {args.threads} thread(s), median wall-clock times; ratio = hashnet / reference"
        " (below 1: hashnet is faster)"
    )
    print_table(
        ["step", "hashnet", "reference tool", "reference time", "ratio", "target", "met?"],
        summary,
    )


if __name__ == "__main__":
    main()
