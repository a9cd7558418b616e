"""`python -m hashnet.demo`: the study's story in five steps, in well under a minute.

A ReLU network switches each hidden unit on or off, and inside a region where the on/off
pattern stays the same it computes one affine map: it cuts its input space into *linear
regions*. The pattern of an input (its *neural code*) names its region. He et al. (2021) found
that a trained classifier cuts so finely that almost every training example gets a region of
its own, and that simple algorithms classify well from the codes alone. The demo

  1. trains a small ReLU network on the 2D "spirals" set, keeping snapshots of its weights,
  2. draws its exact linear regions with the training points, marking the regions that hold
     more than one point, and animates them over the snapshots (a GIF that counts, on every
     frame, the regions and the training points alone in theirs),
  3. measures its codes: the redundancy ratio, and K-Means, K-NN and logistic regression on
     the codes,
  4. shows the redundancy ratio fall as a network gets wider (a width sweep on the bundled
     fashion-mnist-mini images, against untrained codes of the same width and chance),
  5. measures the codes of an MLP 784-100-10 trained on fashion-mnist-mini, and draws its
     exact regions on the plane through three of those images,

printing what it does and writing its figures (PNG, and one GIF) into --out (default
./hashnet-demo/).
--quick trains less (for the tests); the figures are the same. BLAS and Numba run on one
thread unless --threads says otherwise: on a busy 2-core machine that is the fastest choice.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

TOY = "spirals"
TOY_HIDDEN = (100, 100)
TOY_POINTS = 200  # training points, and as many test points
# Snapshots for the animation: epochs grow by factors, because early epochs change the most.
TOY_SNAPSHOTS = (0, 1, 3, 10, 30, 60, 100, 200)
# What --quick changes: fewer epochs, fewer widths, fewer K-Means restarts. Same figures.
SETTINGS = {
    "full": {
        "toy_epochs": 200,
        "widths": (3, 5, 10, 20, 40, 80, 160),
        "sweep_epochs": 5,
        "fashion_epochs": 20,
        "kmeans_n_init": 10,
    },
    "quick": {
        "toy_epochs": 60,
        "widths": (3, 10, 40, 160),
        "sweep_epochs": 2,
        "fashion_epochs": 4,
        "kmeans_n_init": 3,
    },
}
N_STEPS = 5
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

# What each number means, printed under it.
MEANINGS = {
    "rr": "(N - distinct codes) / N; 0 = every example has a region of its own",
    "kmeans": "groups the codes without labels; each group votes for its commonest class",
    "knn": "the majority label of the 9 nearest training codes (Hamming distance)",
    "lr": "a linear classifier that sees the code bits only, not the input",
}


def run(out="hashnet-demo", quick=False, seed=0, threads=1) -> dict:
    """Run the demo, writing figures into `out`; return what it measured.

    The result holds "toy" (the 2D network: regions and code measurements), "sweep" (one
    record per width), "fashion-mnist-mini" (the MLP 784-100-10), "files" (the figures written,
    absolute paths, in order) and "seconds".
    """
    from hashnet._io import check_output_folder
    from hashnet._validation import check_int

    # Checked first: a bad folder or seed would otherwise surface only after a step has run.
    out = check_output_folder(out, "out").resolve()
    check_int(seed, "seed", 0)
    check_int(threads, "threads", 1)
    settings = SETTINGS["quick" if quick else "full"]
    start = time.perf_counter()
    print("hashnet demo: do trained ReLU networks behave as hash encoders?")
    print(f"(figures go to {out}{', quick mode' if quick else ''})")
    with _threads(threads):
        import hashnet as hn

        sys.stdout.flush()  # the kernels' message goes to stderr: keep the order on screen
        # Compile (first run) or load (later runs) the Numba kernels now, with a message,
        # rather than as an unexplained pause inside the first step.
        hn.warmup(("float32", "float64"), images=False)
        results = {"files": []}
        toy = _toy_network(hn, settings, seed)
        results["toy"] = _toy_regions(hn, toy, out, results["files"])
        results["toy"].update(_toy_codes(hn, toy, settings, seed))
        results["sweep"] = _width_sweep(hn, settings, seed, out, results["files"])
        results["fashion-mnist-mini"] = _fashion(hn, settings, seed, out, results["files"])
    results["seconds"] = time.perf_counter() - start
    print(f"\ndone in {results['seconds']:.0f}s. Files written:")
    for path in results["files"]:
        print(f"  {path}")
    return results


# --- the steps ------------------------------------------------------------------------------


def _step(number, text):
    print(f"\n[{number}/{N_STEPS}] {text}", flush=True)


def _toy_network(hn, settings, seed):
    name = _mlp_name(2, TOY_HIDDEN, 2)
    _step(1, f'train a small ReLU network, {name}, on {TOY_POINTS} points of the 2D "{TOY}" set')
    Xtr, ytr, Xte, yte = hn.datasets.load(TOY, n_train=TOY_POINTS, n_test=TOY_POINTS, seed=seed)
    net = hn.MLP(2, TOY_HIDDEN, 2, seed=seed)
    clock = time.perf_counter()
    epochs = settings["toy_epochs"]
    snapshots = [e for e in TOY_SNAPSHOTS if e < epochs] + [epochs]
    net.fit(Xtr, ytr, epochs=epochs, batch_size=32, lr=1e-2, checkpoints=snapshots, verbose=0)
    print(
        f"  {_epochs(settings['toy_epochs'])} ({time.perf_counter() - clock:.1f}s): "
        f"{_pct(net.score(Xtr, ytr))} right on the training points, "
        f"{_pct(net.score(Xte, yte))} on {len(Xte)} new points"
    )
    return net, Xtr, ytr, Xte, yte


def _toy_regions(hn, toy, out, files):
    net, Xtr, ytr, _, _ = toy
    _step(2, "find its exact linear regions (in each one the network is a single affine map)")
    low, high = Xtr.min(axis=0) - 0.5, Xtr.max(axis=0) + 0.5
    box = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    R = hn.regions.enumerate(net, box=box)
    occupancy = R.occupancy(Xtr, ytr)
    n_alone = int(round(occupancy.alone_fraction * len(Xtr)))
    shared, mixed = len(occupancy.shared), len(occupancy.mixed)
    print(
        f"  the box [{box[0]:.1f}, {box[1]:.1f}] x [{box[2]:.1f}, {box[3]:.1f}] around the data "
        f"is cut into {R.n_regions} linear regions"
    )
    mix = {0: "none of them mixes", 1: "one of them mixes"}.get(mixed, f"{mixed} of them mix")
    print(
        f"  {n_alone} of the {len(Xtr)} training points ({_pct(n_alone / len(Xtr))}) have a "
        f"region to themselves; {shared} regions hold two or more, {mix} both classes"
    )
    figure = hn.plot.regions(
        R,
        Xtr,
        ytr,
        color_by="occupancy",
        title=f"{TOY}, {_mlp_name(2, TOY_HIDDEN, 2)}: regions with two or more training "
        "points are outlined",
    )
    figure.set_size_inches(7.0, 6.3)  # room for thousands of regions
    print("  (in the figure: grey = no training point, blue = one, orange = several;")
    print("   the black line is the decision boundary)")
    files.append(_save(hn, figure, out / f"{TOY}_linear_regions.png", "linear regions"))

    # The same network at every snapshot: count, rather than assume, what training does.
    gif = out / f"{TOY}_regions_over_training.gif"
    movie = hn.plot.regions_over_training(net, Xtr, ytr, box=box, path=gif, dpi=100)
    print("  during training (epoch: regions, training points alone in theirs):")
    print(
        "    "
        + ", ".join(f"{e}: {n}, {a}" for e, n, a in zip(movie.epochs, movie.n_regions, movie.alone))
    )
    print(f"  regions over training -> {gif}")
    files.append(gif)
    return {
        "n_regions": R.n_regions,
        "n_train": len(Xtr),
        "alone": n_alone,
        "shared_regions": shared,
        "mixed_regions": mixed,
        "frames": {"epochs": movie.epochs, "n_regions": movie.n_regions, "alone": movie.alone},
    }


def _toy_codes(hn, toy, settings, seed):
    net, Xtr, ytr, Xte, yte = toy
    n_bits = sum(TOY_HIDDEN)
    _step(3, f"read each point's on/off pattern as a {n_bits}-bit code (its neural code)")
    record = hn.encoding_properties(
        net, Xtr, ytr, Xte, yte, kmeans_n_init=settings["kmeans_n_init"], seed=seed
    )
    _print_record(record, 2)
    return record


def _width_sweep(hn, settings, seed, out, files):
    widths, epochs = settings["widths"], settings["sweep_epochs"]
    _step(
        4,
        f"make the network wider: MLPs 784-w-10 on fashion-mnist-mini, {_epochs(epochs)} "
        f"each, w = {', '.join(map(str, widths))}",
    )
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
    rows = []
    for width in widths:
        net = hn.MLP(784, (width,), 10, seed=seed)
        # The baseline: K-NN on the codes of the same network before training (random
        # hyperplanes: already a locality-sensitive hash of the images).
        untrained = hn.KNN(k=9).fit(net.codes(Xtr), ytr).score(net.codes(Xte), yte)
        net.fit(Xtr, ytr, epochs=epochs, batch_size=64, lr=1e-3, verbose=0)
        record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, probes=("knn",), seed=seed)
        # A redundancy ratio grows with the number of codes: compare train and test on as
        # many codes each.
        same_size = hn.redundancy_ratio(net.codes(Xtr[: len(Xte)]))
        rows.append(
            {"width": width, **record, "rr_train_same_size": same_size, "knn_untrained": untrained}
        )
        print(
            f"  w = {width:3d}: redundancy ratio {record['rr_train']:.3f} on {len(Xtr)} train, "
            f"{same_size:.3f} on {len(Xte)} train, {record['rr_test']:.3f} on {len(Xte)} test; "
            f"K-NN on codes {_pct(record['knn_test'])} (untrained {_pct(untrained)}), "
            f"network {_pct(record['test_acc'])}",
            flush=True,
        )
    print("  a few units give few codes, shared by many images; with more units nearly every")
    print("  image gets a code of its own, and the codes classify better; random codes of the")
    print("  same width are a strong baseline")
    figure = _width_figure(rows, len(Xtr), len(Xte), epochs)
    files.append(_save(hn, figure, out / "width_sweep.png", "redundancy ratio against width"))
    return rows


def _width_figure(rows, n_train, n_test, epochs):
    """Redundancy ratio (left) and accuracy (right) against the width, on a log axis with a
    tick at every width trained, the untrained codes and chance as baselines."""
    from matplotlib.figure import Figure

    widths = [r["width"] for r in rows]
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    left, right = figure.subplots(1, 2)
    curves = (
        (left, "rr_train", f"train, all {n_train}", "#D55E00", "o-"),
        (left, "rr_train_same_size", f"train, first {n_test}", "#E69F00", "^--"),
        (left, "rr_test", f"test, {n_test}", "#0072B2", "s-"),
        (right, "test_acc", "the network itself", "black", "s--"),
        (right, "knn_test", "K-NN on trained codes", "#0072B2", "o-"),
        (right, "knn_untrained", "K-NN on untrained codes", "#56B4E9", "^:"),
    )
    for ax, key, label, color, style in curves:
        ax.plot(widths, [r[key] for r in rows], style, color=color, label=label, ms=4)
    right.axhline(0.1, color="0.45", ls=":", lw=1, label="chance (10 classes)")
    left.set_ylabel("redundancy ratio (codes)", fontsize=9)
    right.set_ylabel("test accuracy", fontsize=9)
    right.set_ylim(0, 1)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.minorticks_off()
        ax.set_xlabel("hidden units (width)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=8)
    figure.suptitle(
        f"fashion-mnist-mini, MLP 784-w-10, {_epochs(epochs)} each: more units, fewer shared codes",
        fontsize=10,
    )
    return figure


def _fashion(hn, settings, seed, out, files):
    epochs = settings["fashion_epochs"]
    _step(5, "the same measurements on real images: MLP 784-100-10 on fashion-mnist-mini")
    import numpy as np

    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
    net = hn.MLP(784, (100,), 10, seed=seed)
    clock = time.perf_counter()
    net.fit(Xtr, ytr, epochs=epochs, batch_size=64, lr=1e-3, validation_data=(Xte, yte), verbose=0)
    print(
        f"  {_epochs(epochs)} on {len(Xtr)} images ({len(Xte)} for testing) in "
        f"{time.perf_counter() - clock:.1f}s; codes of 100 bits"
    )
    record = hn.encoding_properties(
        net, Xtr, ytr, Xte, yte, kmeans_n_init=settings["kmeans_n_init"], seed=seed
    )
    _print_record(record, 10)

    # The codes on real images, seen exactly: the plane through three test images of
    # different classes, cut into the MLP's linear regions.
    names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
    picks = [int(np.flatnonzero(yte == k)[0]) for k in (0, 1, 7)]  # T-shirt, trouser, sneaker
    plane = hn.regions.plane_through(*Xte[picks])
    R = hn.regions.enumerate(net, plane=plane)
    codes = net.codes(Xte[picks]).bits()
    differ = [int((codes[i] != codes[j]).sum()) for i, j in ((0, 1), (0, 2), (1, 2))]
    shown = ", ".join(names[yte[i]] for i in picks)
    print(
        f"  the plane through three test images ({shown}) is cut into {R.n_regions} linear "
        f"regions; their codes differ in {differ[0]}, {differ[1]} and {differ[2]} of 100 bits"
    )
    figure = hn.plot.regions(
        R,
        color_by="class",
        images=Xte[picks],
        title="MLP 784-100-10 on the plane through three test images",
    )
    files.append(_save(hn, figure, out / "fashion_mnist_mini_plane.png", "regions on images"))
    record["plane_regions"] = R.n_regions
    return record


# --- helpers --------------------------------------------------------------------------------


def _print_record(r, n_classes):
    lines = (
        ("redundancy ratio", f"{r['rr_train']:.3f} train, {r['rr_test']:.3f} test", "rr"),
        (
            "K-Means accuracy",
            f"{_pct(r['kmeans_train'])} train, {_pct(r['kmeans_test'])} test",
            "kmeans",
        ),
        ("K-NN accuracy", f"{_pct(r['knn_test'])} test", "knn"),
        ("logistic regression", f"{_pct(r['lr_test'])} test", "lr"),
    )
    for name, value, key in lines:
        print(f"  {name:<20} {value}")
        print(f"      {MEANINGS[key]}")
    print(
        f"  for comparison: the network itself gets {_pct(r['test_acc'])} test, "
        f"guessing {_pct(1 / n_classes)}"
    )


def _mlp_name(n_in, hidden, n_out):
    return "MLP " + "-".join(map(str, (n_in, *hidden, n_out)))


def _epochs(n):
    return f"{n} epoch{'' if n == 1 else 's'}"


def _pct(x):
    return f"{100 * x:.1f}%"


def _save(hn, figure, path, what):
    path = hn.plot.save(figure, path)  # written to a temporary file, then renamed
    print(f"  {what} -> {path}")
    return path


@contextlib.contextmanager
def _threads(n):
    """Run BLAS and Numba on `n` threads. A matrix product split over two threads waits for
    the slower one, so on a machine whose other core is busy one thread is much faster."""
    import numba
    import scipy.linalg  # noqa: F401  (loads SciPy's own BLAS, so that it is limited too)

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it, BLAS keeps the threads it started with
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(n)
    try:
        with limits:
            yield
    finally:
        numba.set_num_threads(before)


def main(argv=None) -> int:
    """Run the demo from the command line; returns the exit status (2, with one `error: ...`
    line on stderr, for a bad argument, before anything runs)."""
    from hashnet.experiments.cli import ArgumentParser, add_debug, integer, run_main

    parser = ArgumentParser(
        prog="python -m hashnet.demo",
        description="Train small ReLU networks and see them behave as hash encoders: exact "
        "linear regions, codes, probes and a width sweep, with figures.",
    )
    parser.add_argument("--out", default="hashnet-demo", help="folder for the figures")
    parser.add_argument(
        "--quick", action="store_true", help="fewer epochs and widths (for tests); same figures"
    )
    parser.add_argument(
        "--seed", type=integer(0), default=0, help="seed of data, networks and probes"
    )
    parser.add_argument(
        "--threads", type=integer(1), default=1, help="BLAS and Numba threads (default 1)"
    )
    add_debug(parser, top=True)
    return run_main(parser, argv, _main)


def _main(args) -> int:
    from hashnet._io import check_output_folder

    check_output_folder(args.out, "--out")  # run() checks it too, naming it "out"
    if "numpy" not in sys.modules:
        # BLAS reads its thread count once, when NumPy loads (later, `_threads` needs the
        # optional threadpoolctl to change it).
        for name in _THREAD_VARIABLES:
            os.environ[name] = str(args.threads)
    run(args.out, quick=args.quick, seed=args.seed, threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
