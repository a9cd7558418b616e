"""Regions per second: exact linear-region enumeration with hashnet.regions.enumerate.

Three networks, as in the study's pictures: MLPs 2-64-64 and 2-128-128-128 trained on the 2D
"spirals" set (the whole input box), and a 784-100-100-10 MLP trained on Fashion-MNIST, on the
plane through three of its training images. For each: the number of regions, the median time
of `--repeats` enumerations after a warm-up one, and regions per second. No other library
enumerates exact regions, so there is no reference column; the targets are hashnet's own
(at least 3e5 regions per second on one core, a 2-64-64 network in at most 0.05 s).

    python bench/regions.py            # the full benchmark (a minute or two)
    python bench/regions.py --quick    # smaller training runs
"""

from __future__ import annotations

import statistics
import sys
import time

import _common  # bench/_common.py; imports no NumPy
from _common import print_table


def build_parser():
    parser = _common.make_parser(
        "Exact linear regions per second with hashnet.regions.enumerate.",
        quick_help="fewer training epochs and images",
        threaded="BLAS and Numba",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed enumerations (median)")
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)


def timed(function, repeats):
    function()  # warm-up: compilation and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None):
    args = build_parser().parse_args(argv)
    hn = _common.import_hashnet()
    from hashnet.regions import enumerate as enumerate_regions
    from hashnet.regions import plane_through

    _common.print_environment(
        "hashnet regions benchmark: exact linear regions per second",
        settings=[f"threads: {args.threads} (the enumeration itself runs on one core)"],
        versions={},
        blas=f"BLAS: {_common.describe_blas()}",
        coretype_effect="(only the small products between layers) slower.",
        notes=[],
    )
    hn.warmup(verbose=True)
    epochs = 20 if args.quick else 200
    cases = []
    Xs, ys, _, _ = hn.datasets.load("spirals", n_train=1000)
    for hidden in ((64, 64), (128, 128, 128)):
        net = hn.MLP(2, hidden, 2, seed=0).fit(Xs, ys, epochs=epochs, lr=3e-3, verbose=0)
        name = "2-" + "-".join(map(str, hidden)) + " spirals"
        cases.append((name, net, dict(box=(-3, 3, -3, 3)), net.score(Xs, ys)))
    try:
        Xf, yf, _, _ = hn.datasets.load("fashion-mnist", n_train=5000 if args.quick else None)
        source = "fashion-mnist"
    except FileNotFoundError:
        Xf, yf, _, _ = hn.datasets.load("fashion-mnist-mini")
        source = "fashion-mnist-mini (the full set is not installed)"
    net = hn.MLP(784, (100, 100), 10, seed=0).fit(Xf, yf, epochs=2 if args.quick else 5, verbose=0)
    plane = plane_through(Xf[0], Xf[1], Xf[2])
    cases.append((f"784-100-100-10 {source}, plane", net, dict(plane=plane), net.score(Xf, yf)))

    rows, rates, times = [], [], []
    for name, net, domain, accuracy in cases:
        seconds, regions = timed(
            lambda net=net, domain=domain: enumerate_regions(net, max_regions=10**7, **domain),
            args.repeats,
        )
        rates.append(regions.n_regions / seconds)
        times.append(seconds)
        rows.append(
            [
                name,
                f"{accuracy:.3f}",
                regions.n_regions,
                f"{seconds * 1000:.1f} ms",
                f"{rates[-1]:.3g}",
            ]
        )
    print()
    print_table(["network", "train acc", "regions", "median time", "regions/s"], rows)
    all_fast = "met" if min(rates) >= 3e5 else "NOT met"
    first_fast = "met" if times[0] <= 0.05 else "NOT met"
    print(f"\ntargets: >= 3e5 regions/s for every network: {all_fast} (lowest {min(rates):.3g});")
    print(f"         2-64-64 in <= 0.05 s: {first_fast} ({times[0]:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
