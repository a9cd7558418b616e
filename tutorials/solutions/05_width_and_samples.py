"""Solutions to the exercises of 05_width_and_samples.ipynb."""

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)

# %% Exercise 1: the sample-size loop at widths 20 and 160.
for width in (20, 160):
    for n in (50, 100, 200, 500, 1000):
        Xn, yn = hn.datasets.first_n_tiled(Xtr, ytr, n, epoch_length=len(Xtr))
        net = hn.MLP(784, hidden=(width,), n_classes=10, seed=0)
        net.fit(Xn, yn, epochs=20, verbose=0)
        rr = hn.redundancy_ratio(net.codes(Xtr[:n]))
        print(f"width {width:3d}, {n:4d} examples: rr_train {rr:.3f}")
