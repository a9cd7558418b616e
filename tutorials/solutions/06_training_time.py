"""Solutions to the exercises of 06_training_time.ipynb."""

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)
snapshots = [0, 1, 2, 5, 10, 20, 40]

# %% Exercise 1: the same snapshots for widths 10 and 160.
for width in (10, 160):
    net = hn.MLP(784, hidden=(width,), n_classes=10, seed=0)
    net.fit(Xtr, ytr, epochs=max(snapshots), checkpoints=snapshots, verbose=0)
    rr = [hn.redundancy_ratio(net.checkpoint(e).codes(Xtr)) for e in snapshots]
    print(f"width {width:3d}: rr_train " + "  ".join(f"{e}:{r:.3f}" for e, r in zip(snapshots, rr)))
