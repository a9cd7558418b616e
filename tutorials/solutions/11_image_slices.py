"""Solutions to the exercises of 11_image_slices.ipynb."""

import hashnet as hn

Xi, yi, _, _ = hn.datasets.load("fashion-mnist-mini", flatten=False)
P = hn.regions.plane_through(Xi[0], Xi[1], Xi[2])

# %% Exercise 1: with average pooling every region is one ReLU pattern.
avg = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, pool="avg", seed=0)
avg.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3, verbose=0)
for half in (0.01, 0.02, 0.04):
    R = hn.regions.enumerate(avg, plane=P.zoom(P.anchors[0], half))
    print(f"avg pooling, side {2 * half:.2f}: {R.n_regions} regions, {R.distinct_codes()} codes")

# %% Exercise 2: around image B instead of A, for the tutorial's LeNet (max pooling).
cnn = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
cnn.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3, verbose=0)
# Around A the count falls with the square (about 40 regions at side 0.02, 5 at side 0.002).
# Around B (a trouser on a large empty background) it barely falls: about 2400 regions at side
# 0.02 and still hundreds at side 0.0002. Many boundaries pass through B itself: on its flat
# background many units and pooling windows sit on a tie, and in float64 those boundaries
# miss each other by specks, which the smallest square resolves (it can hold more pieces
# than the square of side 0.002 around it: see docs/regions.md). A square of side 0.08 around
# B holds tens of thousands of regions; past max_regions the enumeration stops and says so.
for name, centre in zip("AB", P.anchors[:2]):
    for half in (0.01, 0.001, 0.0001):
        try:
            R = hn.regions.enumerate(cnn, plane=P.zoom(centre, half))
        except ValueError as error:
            print(f"around {name}, side {2 * half:g}: {str(error).split(';')[0]}")
        else:
            print(f"around {name}, side {2 * half:g}: {R.n_regions} regions")
