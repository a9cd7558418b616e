"""`python -m hashnet.demo`: train small ReLU networks and see them act as hash encoders.

It trains an MLP on the 2D "moons" set and on a bundled slice of Fashion-MNIST, and for each
prints the test accuracy and how many training examples have an activation pattern (a linear
region of the network) that no other training example shares. For the 2D set it also draws the
decision regions, circling the few points that share their pattern.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def run(out="hashnet-demo", quick=False, seed=0) -> dict:
    """Run the demo, writing figures into `out`; return the numbers it printed."""
    import hashnet as hn
    from hashnet import plot
    from hashnet.codes import alone_in_pattern

    out = Path(out)
    start = time.perf_counter()
    results = {"files": []}
    print("hashnet demo: do trained ReLU networks give every training point its own region?")
    hn.warmup(("float32",))

    print("\n[1/2] two moons (2D), MLP 2-256-256-2")
    # A plane has little room: it takes a wide network to cut it into enough regions for
    # most points to get one of their own (narrower nets share more; try hidden=(32, 32)).
    Xtr, ytr, Xte, yte = hn.datasets.load("moons", n_train=300, seed=seed)
    net = hn.MLP(2, (256, 256), 2, seed=seed)
    net.fit(Xtr, ytr, epochs=30 if quick else 100, batch_size=32, lr=1e-2, verbose=0)
    alone = alone_in_pattern(net.codes(Xtr))
    results["moons"] = _report(net, Xtr, Xte, yte, alone)
    fig_path = plot.save(
        plot.decision_regions(
            net,
            Xtr,
            ytr,
            highlight=~alone,
            title=f"moons: {alone.sum()} of {len(Xtr)} points alone in their region",
        ),
        out / "moons_decision_regions.png",
    )
    results["files"].append(fig_path)
    print(f"  decision regions -> {fig_path}")

    print("\n[2/2] fashion-mnist-mini (real images, bundled), MLP 784-100-10")
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
    net = hn.MLP(784, (100,), 10, seed=seed)
    net.fit(Xtr, ytr, epochs=5 if quick else 20, batch_size=64, lr=1e-3, verbose=0)
    alone = alone_in_pattern(net.codes(Xtr))
    results["fashion-mnist-mini"] = _report(net, Xtr, Xte, yte, alone)
    fig_path = plot.save(
        plot.training_history(net.history_, title="fashion-mnist-mini, MLP 784-100-10"),
        out / "fashion_mnist_mini_training.png",
    )
    results["files"].append(fig_path)
    print(f"  training curve -> {fig_path}")

    results["seconds"] = time.perf_counter() - start
    print(f"\ndone in {results['seconds']:.0f}s; figures in {out}/")
    return results


def _report(net, Xtr, Xte, yte, alone):
    acc = net.score(Xte, yte)
    n_alone, n = int(alone.sum()), len(Xtr)
    print(f"  test accuracy {100 * acc:.1f}%")
    print(
        f"  training points with an activation pattern of their own: {n_alone} / {n} "
        f"({100 * n_alone / n:.1f}%)"
    )
    return {
        "test_acc": acc,
        "alone": n_alone,
        "n_train": n,
        "alone_fraction": float(np.mean(alone)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m hashnet.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--out", default="hashnet-demo", help="folder for the figures")
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a few seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.out, quick=args.quick, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
