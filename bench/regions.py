"""Regions per second, and memory: exact linear-region enumeration with hashnet.regions.

The networks of the study's pictures: MLPs 2-64-64 and 2-128-128-128 trained on the 2D
"spirals" set (the whole input box), an MLP 784-100-100-10 trained on Fashion-MNIST (the plane
through three training images), and LeNet-5 trained on the full Fashion-MNIST (2 epochs, Adam
lr 1e-3, batch 64, as in the README) on the plane through three test images: a square of
half-width 0.03 around the first image (6e4 to 1e5 regions, by training run), and the whole
plane (about 1.7e7 regions; about a minute on one core, run last).

For each: the number of regions, the median time of `--repeats` enumerations after a warm-up
one (the whole plane runs once), regions per second, and for the LeNet rows the peak resident
memory of a fresh process that does only that enumeration (its VmHWM on Linux: `ru_maxrss`
would also count this process's own memory, which the fresh one inherits at the fork that
starts it; the interpreter with NumPy and the compiled kernels is about a fifth of a gigabyte
of it). No other library enumerates exact regions with max pooling on a CPU, so there is no
reference column; the targets are hashnet's own: >= 1e5 regions/s for LeNet, >= 3e5 for the
2-128-128-128 MLP, the 2-64-64 MLP in at most 0.05 s, and the whole plane in at most 4 GB.

    python bench/regions.py --threads 1             # the full benchmark (about 2 minutes)
    python bench/regions.py --threads 1 --quick     # smaller training runs, no whole plane
    python bench/regions.py --picture docs/images/lenet_whole_plane.png   # and draw it
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # bench/_common.py; imports no NumPy
from _common import print_table

LENET_ZOOM = 0.03  # half-width of the square around the first image


def build_parser():
    parser = _common.make_parser(
        "Exact linear regions per second with hashnet.regions.enumerate.",
        quick_help="fewer training epochs and images, no whole plane",
        threaded="BLAS and Numba",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed enumerations (median)")
    parser.add_argument(
        "--no-whole-plane", action="store_true", help="skip LeNet's whole plane (the long row)"
    )
    parser.add_argument(
        "--picture", type=Path, default=None, help="draw LeNet's whole plane to this file"
    )
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
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


def child(folder: Path):
    """One LeNet enumeration in this fresh process (its peak memory is this row's), as asked
    in folder/task.json; writes folder/result.json."""
    hn = _common.import_hashnet()
    import numpy as np

    from hashnet.regions import enumerate as enumerate_regions
    from hashnet.regions import plane_through

    task = json.loads((folder / "task.json").read_text())
    net = hn.load(folder / "lenet.npz")
    images = np.load(folder / "images.npy")
    plane = plane_through(*images)
    if task["half_width"] is not None:
        plane = plane.zoom(plane.anchors[0], task["half_width"])
    times = []
    for _ in range(task["runs"]):
        start = time.perf_counter()
        regions = enumerate_regions(net, plane=plane, max_regions=10**9, verbose=task["verbose"])
        times.append(time.perf_counter() - start)
    peak = peak_resident_bytes()
    result = {"regions": regions.n_regions, "times": times, "peak_bytes": peak}
    if task["picture"]:
        picture = Path(task["picture"])
        picture.parent.mkdir(parents=True, exist_ok=True)
        title = f"LeNet-5 on the plane through three Fashion-MNIST test images ({task['label']})"
        hn.plot.region_density(regions, images=images, width=1400, path=picture, title=title)
    (folder / "result.json").write_text(json.dumps(result))


def peak_resident_bytes():
    """This process's peak resident memory: VmHWM of /proc/self/status where there is one.
    `ru_maxrss` also counts the resident memory of the parent at the fork that started this
    process (Linux keeps the larger of the two across exec), so a parent holding more than
    the enumeration needs would show as the enumeration's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def lenet_row(folder, half_width, runs, threads, picture=None, verbose=0):
    """Run one LeNet enumeration in a fresh process; returns its result dict."""
    label = "whole plane" if half_width is None else f"half-width {half_width} around A"
    task = {
        "half_width": half_width,
        "runs": runs,
        "picture": str(picture) if picture else None,
        "verbose": verbose,
        "label": label,
    }
    (folder / "task.json").write_text(json.dumps(task))
    command = [sys.executable, __file__, "--child", str(folder), "--threads", str(threads)]
    subprocess.run(command, check=True, env={**os.environ})
    return json.loads((folder / "result.json").read_text())


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.child is not None:
        child(args.child)
        return 0
    hn = _common.import_hashnet()
    import numpy as np

    from hashnet.regions import enumerate as enumerate_regions
    from hashnet.regions import plane_through

    _common.print_environment(
        "hashnet regions benchmark: exact linear regions per second",
        settings=[f"threads: {args.threads} (the enumeration itself runs on one core)"],
        versions={},
        blas=f"BLAS: {_common.describe_blas()}",
        coretype_effect="(only the products between layers) slower.",
        notes=[],
    )
    hn.warmup(verbose=True)
    epochs = 20 if args.quick else 200
    cases = []
    Xs, ys, _, _ = hn.datasets.load("spirals", n_train=1000)
    for hidden in ((64, 64), (128, 128, 128)):
        net = hn.MLP(2, hidden, 2, seed=0).fit(Xs, ys, epochs=epochs, lr=3e-3, verbose=0)
        name = "2-" + "-".join(map(str, hidden)) + " spirals"
        cases.append((name, "box", net, dict(box=(-3, 3, -3, 3)), net.score(Xs, ys)))
    Xf, yf, Xt, yt = hn.datasets.load("fashion-mnist", n_train=10000 if args.quick else None)
    net = hn.MLP(784, (100, 100), 10, seed=0).fit(Xf, yf, epochs=2 if args.quick else 5, verbose=0)
    plane = plane_through(Xf[0], Xf[1], Xf[2])
    cases.append(("784-100-100-10", "plane", net, dict(plane=plane), net.score(Xf, yf)))

    rows, results = [], {}
    for name, domain, net, where, accuracy in cases:
        seconds, regions = timed(
            lambda net=net, where=where: enumerate_regions(net, max_regions=10**7, **where),
            args.repeats,
        )
        results[name] = (regions.n_regions, seconds)
        rate = regions.n_regions / seconds
        rows.append(
            [name, domain, f"{accuracy:.3f}", regions.n_regions, fmt(seconds), f"{rate:.3g}", "-"]
        )

    # LeNet: trained here, enumerated in fresh processes (each row's peak memory is its own).
    images = Xt[:3].reshape(3, 1, 28, 28)
    Xi = Xf.reshape(len(Xf), 1, 28, 28)
    start = time.perf_counter()
    lenet = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
    lenet.fit(Xi, yf, epochs=1 if args.quick else 2, batch_size=64, lr=1e-3, verbose=0)
    accuracy = lenet.score(Xt.reshape(len(Xt), 1, 28, 28), yt)
    print(f"LeNet trained in {time.perf_counter() - start:.0f} s, test accuracy {accuracy:.3f}")
    del Xf, Xi, Xs
    # One small enumeration here first, so that the fresh processes below find every kernel
    # compiled in the cache: compiling takes a few hundred megabytes, which would otherwise
    # count in their peak memory.
    small = plane_through(*images)
    enumerate_regions(lenet, plane=small.zoom(small.anchors[0], 0.001), max_regions=10**7)
    lenet_rates = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        lenet.save(folder / "lenet.npz")
        np.save(folder / "images.npy", images)
        todo = [(f"square around A, half-width {LENET_ZOOM}", LENET_ZOOM, args.repeats + 1)]
        if not (args.quick or args.no_whole_plane):
            todo.append(("the whole plane", None, 1))
        for domain, half_width, runs in todo:
            whole = half_width is None
            picture = args.picture if whole else None
            print(f"LeNet, {domain} ...", flush=True)
            result = lenet_row(
                folder, half_width, runs, args.threads, picture, verbose=1 if whole else 0
            )
            seconds = statistics.median(result["times"][1:] or result["times"])
            rate = result["regions"] / seconds
            lenet_rates[domain] = (rate, result["peak_bytes"], seconds)
            rows.append(
                [
                    "LeNet-5 fashion-mnist",
                    domain,
                    f"{accuracy:.3f}",
                    result["regions"],
                    fmt(seconds),
                    f"{rate:.3g}",
                    f"{result['peak_bytes'] / 2**30:.2f} GiB",
                ]
            )
    print()
    print_table(
        ["network", "domain", "accuracy", "regions", "median time", "regions/s", "peak RSS"], rows
    )
    mlp_rate = results["2-128-128-128 spirals"][0] / results["2-128-128-128 spirals"][1]
    small_time = results["2-64-64 spirals"][1]
    zoom_rate = lenet_rates[f"square around A, half-width {LENET_ZOOM}"][0]
    print("\ntargets:")
    print(f"  2-128-128-128 >= 3e5 regions/s: {met(mlp_rate >= 3e5)} ({mlp_rate:.3g})")
    print(f"  2-64-64 in <= 0.05 s: {met(small_time <= 0.05)} ({small_time:.3f} s)")
    print(f"  LeNet >= 1e5 regions/s: {met(zoom_rate >= 1e5)} ({zoom_rate:.3g} on the square)")
    if "the whole plane" in lenet_rates:
        rate, peak, seconds = lenet_rates["the whole plane"]
        print(
            f"  LeNet's whole plane in <= 4 GB: {met(peak <= 4 * 2**30)} "
            f"({peak / 2**30:.2f} GiB, {seconds:.0f} s, {rate:.3g} regions/s)"
        )
    return 0


def fmt(seconds):
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def met(condition):
    return "met" if condition else "NOT met"


if __name__ == "__main__":
    sys.exit(main())
