"""Solutions to the exercises of 01_linear_regions.ipynb.

Run from the repository root: python tutorials/solutions/01_linear_regions.py
"""

import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("moons", n_train=300, n_test=300, seed=0)
BOX = (-3, 3, -2, 2)

# %% Exercise 1: 32 hidden units arranged as one, two or four layers.
# Depth multiplies regions: each layer cuts every region of the layer before, so the deeper
# arrangements give more regions and leave more training points alone.
for hidden in [(32,), (16, 16), (8, 8, 8, 8)]:
    net = hn.MLP(2, hidden=hidden, n_classes=2, seed=0)
    net.fit(Xtr, ytr, epochs=60, batch_size=32, lr=1e-2, verbose=0)
    R = hn.regions.enumerate(net, box=BOX)
    alone = R.occupancy(Xtr).alone_fraction
    print(f"hidden {hidden}: {R.n_regions} regions, {alone:.0%} of the points alone")

# %% Exercise 2: where does training put its regions?
# Count the regions whose centre lies near a training point (within 0.2) against all regions.
# Longer training adds regions mostly where the data is.
for epochs in (5, 300):
    net = hn.MLP(2, hidden=(16, 16), n_classes=2, seed=0)
    net.fit(Xtr, ytr, epochs=epochs, batch_size=32, lr=1e-2, verbose=0)
    R = hn.regions.enumerate(net, box=BOX)
    centres = R.centroids()
    gaps = np.sqrt(((centres[:, None, :] - Xtr[None, :, :]) ** 2).sum(-1)).min(axis=1)
    near = int((gaps < 0.2).sum())
    alone = R.occupancy(Xtr).alone_fraction
    print(
        f"{epochs:3d} epochs: {R.n_regions} regions, {near} of them near the data "
        f"({near / R.n_regions:.0%}), {alone:.0%} of the points alone"
    )
