"""K-Means on neural codes: hashnet.probes.KMeans against scikit-learn, same data, same threads.

The study's K-Means probe: an MLP 784-100-10 is trained on the full Fashion-MNIST training set
(Adam, lr 1e-3, batch 64, `--epochs` epochs), and its 100-bit codes of the 60000 training
images are clustered into k = 10 clusters, Euclidean on the 0/1 bits, k-means++ seeding and 10
restarts, by hashnet and by `sklearn.cluster.KMeans(n_clusters=10, n_init=10)` on the same bits
as float64 and as float32 (scikit-learn then computes in float32, which is faster). They take
turns (run 1 of each, then run 2 of each, ...) so that a change of load on a shared machine
hits all alike; the table shows the median wall-clock time of `--repeats` runs, the inertia of
the kept run (the quantity all minimise: the sum of squared distances of the codes to their
centres), the iterations of that run, the time per iteration and the cluster accuracy
(majority mapping). The target: hashnet no slower than the faster scikit-learn run, at the
same (within 0.1 %) or a lower inertia than either.

    python bench/kmeans.py --threads 1          # what a shared machine should use
    python bench/kmeans.py --quick              # 10000 codes, 1 training epoch

scikit-learn is only needed for its column (it is not a hashnet dependency).
"""

from __future__ import annotations

import statistics
import sys
import time

import _common  # bench/_common.py; imports no NumPy
from _common import print_table

N_CLUSTERS = 10
N_INIT = 10


def build_parser():
    parser = _common.make_parser(
        "K-Means on neural codes: hashnet against scikit-learn.",
        quick_help="10000 training codes, 1 training epoch",
        threaded="BLAS, OpenMP and Numba",
    )
    parser.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    parser.add_argument("--repeats", type=int, default=3, help="timed fits each (median)")
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)


def main(argv=None):
    args = build_parser().parse_args(argv)
    hn = _common.import_hashnet()
    import numba
    import numpy as np

    notes = []
    try:
        import sklearn
        from sklearn.cluster import KMeans as SKKMeans
    except ImportError:
        sklearn = SKKMeans = None
        notes.append("scikit-learn is not installed (pip install scikit-learn): its column is n/a")
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    _limits, thread_notes = _common.threadpool_limit(args.threads, None, "BLAS/OpenMP threads")
    _common.print_environment(
        "hashnet K-Means benchmark: clustering the codes of a trained MLP",
        settings=[f"threads: {args.threads} (Numba, BLAS, OpenMP)", f"repeats: {args.repeats}"],
        versions={"scikit-learn": _common.version(sklearn)},
        blas=f"BLAS: {_common.describe_blas()}",
        coretype_effect="(the distance products of both implementations) slower.",
        notes=notes + thread_notes,
    )
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist")
    epochs = 1 if args.quick else args.epochs
    if args.quick:
        Xtr, ytr = Xtr[:10000], ytr[:10000]
    hn.warmup(("float32",), verbose=False)
    net = hn.MLP(784, (100,), 10, seed=0).fit(Xtr, ytr, epochs=epochs, lr=1e-3, verbose=0)
    codes = net.codes(Xtr)
    bits = codes.bits().astype(np.float64)
    print(
        f"codes: {len(codes)} x {codes.n_bits} bits of an MLP 784-100-10 trained {epochs} "
        f"epoch(s) (train accuracy {net.score(Xtr, ytr):.3f}); {len(np.unique(bits, axis=0))} "
        "distinct codes"
    )

    contenders = {"hashnet": lambda: hn.KMeans(N_CLUSTERS, n_init=N_INIT, seed=0).fit(codes)}
    hn.KMeans(N_CLUSTERS, n_init=1, seed=0).fit(codes[:500])  # warm-up: kernels, caches
    if SKKMeans is not None:
        bits32 = bits.astype(np.float32)
        for name, data in (("sklearn float64", bits), ("sklearn float32", bits32)):
            contenders[name] = lambda data=data: SKKMeans(
                N_CLUSTERS, n_init=N_INIT, random_state=0
            ).fit(data)
            SKKMeans(N_CLUSTERS, n_init=1, random_state=0).fit(data[:500])
    times = {name: [] for name in contenders}
    models = {}
    for _ in range(max(1, args.repeats)):
        for name, fit in contenders.items():
            start = time.perf_counter()
            models[name] = fit()
            times[name].append(time.perf_counter() - start)
            print(f"  {name}: {times[name][-1]:.2f} s", flush=True)
    rows = []
    for name, model in models.items():
        median = statistics.median(times[name])
        accuracy = hn.cluster_accuracy(ytr, model.labels_, mapping="majority")
        rows.append(
            [
                name,
                f"{median:.2f} s",
                f"{model.inertia_:.1f}",
                model.n_iter_,
                f"{1e3 * median / max(model.n_iter_, 1) / N_INIT:.1f} ms",
                f"{accuracy:.4f}",
            ]
        )
    print()
    print_table(
        ["", "median time", "inertia", "iterations (kept run)", "time/iter", "accuracy"], rows
    )
    others = [name for name in models if name.startswith("sklearn")]
    if others:
        fastest = min(statistics.median(times[name]) for name in others)
        ratio = statistics.median(times["hashnet"]) / fastest
        inertia = max(models["hashnet"].inertia_ / models[name].inertia_ for name in others)
        met = "met" if ratio <= 1.0 and inertia <= 1.001 else "NOT met"
        print(
            f"\ntarget: time hashnet / fastest sklearn <= 1 at inertia hashnet/sklearn <= 1.001: "
            f"{met} (time {ratio:.2f}, inertia {inertia:.4f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
