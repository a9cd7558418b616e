# Source of tutorials/01_linear_regions.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 1. The linear regions of a ReLU network, exactly
#
# A ReLU unit computes $\max(0, w \cdot x + b)$: for every input it is either **on**
# ($w \cdot x + b > 0$, it passes its value through) or **off** (it outputs 0). Fix the
# on/off state of every unit and the whole network becomes one affine map, $x \mapsto
# Ax + c$. The set of inputs that share one on/off pattern is a **linear region**.
#
# So a ReLU network is a patchwork: it cuts its input space into pieces and uses a
# different affine map on each. In this notebook you will *see* that patchwork, computed
# exactly (not sampled on a grid), for a network with 2D inputs:
#
# 1. one layer of units: every unit draws a straight line;
# 2. a trained network, its regions and its decision boundary;
# 3. how each layer refines the regions of the layer before;
# 4. how many training points share a region;
# 5. how many regions a straight path between two inputs crosses.
#
# **You will learn** what a linear region and an activation code are, and why a code names
# a region. **Paper:** the picture behind the whole study (its introduction and the
# definition of the neural code).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

# %% [markdown]
# ## A toy data set
#
# `hn.datasets.load` returns `(X_train, y_train, X_test, y_test)`. The "moons" set has two
# classes in the plane, curled into each other: no single straight line separates them,
# so the network has to bend its decision boundary, and it can only do that by using
# several linear regions.


# %%
Xtr, ytr, Xte, yte = hn.datasets.load("moons", n_train=300, n_test=300, seed=0)
print("training inputs", Xtr.shape, "labels", np.bincount(ytr))

BOX = (-3, 3, -2, 2)  # the part of the plane we look at: -3 < x < 3, -2 < y < 2

fig, ax = plt.subplots(figsize=(5, 3.4))
for k, color in enumerate(hn.plot.CLASS_COLORS[:2]):
    ax.scatter(*Xtr[ytr == k].T, s=10, color=color, label=f"class {k}")
ax.set_xlim(BOX[:2])
ax.set_ylim(BOX[2:])
ax.set_aspect("equal")
ax.legend(fontsize=8)
ax.set_title("two moons: 300 training points")
plt.show()


# %% [markdown]
# ## One layer: every unit draws a line
#
# Start with an untrained network with a single hidden layer of 4 units. Unit $j$ is on
# where $w_j \cdot x + b_j > 0$: one side of the straight line $w_j \cdot x + b_j = 0$.
# Four lines cut the plane into at most $1 + 4 + \binom{4}{2} = 11$ pieces (in general,
# $n$ lines make at most $1 + n + n(n-1)/2$), and each piece is one linear region.
#
# `hn.regions.enumerate(net, box=...)` finds every region inside the box as a convex
# polygon, with its activation code.


# %%
tiny = hn.MLP(input_dim=2, hidden=(4,), n_classes=2, seed=1)
R_tiny = hn.regions.enumerate(tiny, box=BOX)
print(R_tiny)
print("at most", 1 + 4 + 4 * 3 // 2, "regions for 4 lines")

# Draw the regions, then each unit's line w . x + b = 0 on top of them.
W, b = tiny.get_weights()[:2]  # first layer: W is (2 inputs, 4 units), b is (4,)
fig = hn.plot.regions(R_tiny, title="an untrained 2-4-2 network")
ax = fig.axes[0]
xs = np.linspace(BOX[0], BOX[1], 2)
for j in range(W.shape[1]):
    ax.plot(xs, -(W[0, j] * xs + b[j]) / W[1, j], "--", lw=1, label=f"unit {j}")
ax.set_ylim(BOX[2:])
ax.legend(fontsize=8, loc="lower left")
fig


# %% [markdown]
# **What to look at.** The edges between the coloured regions lie exactly on the dashed
# lines: with one layer, the regions are the pieces the units' lines cut out, nothing
# more. Here all four lines meet at the origin, because a new network starts with zero
# biases, so they make only 2 x 4 = 8 regions instead of 11; training will move them
# apart. The black line is the decision boundary: where the two logits are equal. Inside
# each region the logits are affine, so the boundary is straight there and can only bend
# where it crosses from one region into the next.
#
# Each region has an **activation code**: one bit per unit, 1 where the unit is on.
# `R.codes` holds the codes of the regions, and they are what `net.codes(X)` gives for any
# input inside. Check it with one point inside each region (its centroid):


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
assert R_tiny.n_regions == 8
assert np.allclose(tiny.get_weights()[1], 0)


# %%
print(R_tiny.codes.bits())  # one row per region, one column per unit

inside = R_tiny.centroids()  # a point strictly inside each region
print(
    "codes of the centroids equal the regions' codes:",
    np.array_equal(tiny.codes(inside).bits(), R_tiny.codes.bits()),
)


# %% [markdown]
# ## A trained network
#
# Now train a network with two hidden layers of 16 units on the moons, and enumerate its
# regions. `verbose=1` prints how many regions there are after each layer.


# %%
net = hn.MLP(2, hidden=(16, 16), n_classes=2, seed=0)
net.fit(Xtr, ytr, epochs=60, batch_size=32, lr=1e-2, verbose=0)
print("test accuracy", net.score(Xte, yte))

R = hn.regions.enumerate(net, box=BOX, verbose=1)
print(R)
hn.plot.regions(R, Xtr, ytr, color_by="class", title="regions coloured by predicted class")


# %% [markdown]
# **What to look at.** Each polygon is coloured by the class the network predicts at its
# centre. The decision boundary (black) is a chain of straight segments: it turns only
# where it passes from one region into another. A smooth-looking curve needs many small
# regions along it.
#
# ## Layer by layer
#
# The first hidden layer cuts the plane along 16 straight lines, exactly like the tiny
# network. The second layer then cuts *each of those pieces* again. Inside one piece, a
# second-layer unit's pre-activation is affine in the input, so its cut is straight
# there, but the line bends when it enters the next piece. `R.at_layer(l)` gives the
# regions after the first `l` layers; `layers=True` draws them side by side.


# %%
for depth in (1, 2):
    print(f"after layer {depth}: {R.at_layer(depth).n_regions} regions")
hn.plot.regions(R, layers=True)


# %% [markdown]
# **What to look at.** In the left panel every edge is a full straight line across the
# box. In the middle panel new edges appear that are straight inside one old region and
# bend at its border: the second layer's "folded" lines. The right panel is the same
# partition with the decision boundary.
#
# ## Does every training point get a region of its own?
#
# This is the question behind the next notebooks. A trained network on real data tends
# to put almost every training example in a region of its own, so the region (its code)
# identifies the example, like a hash. `R.occupancy(points, y)` counts the points per
# region; `color_by="occupancy"` paints regions with no point grey, one point blue, and
# two or more orange (shared regions are also outlined). The title counts the regions and
# the points alone in theirs.


# %%
from hashnet.codes import alone_in_pattern

occ = R.occupancy(Xtr, ytr)
print(f"{occ.alone_fraction:.0%} of the training points are alone in their region")
print(
    f"{len(occ.shared)} regions hold two or more points; "
    f"{len(occ.mixed)} of them hold points of both classes"
)

# The same number from the codes alone, without any geometry:
print("alone, from net.codes:", alone_in_pattern(net.codes(Xtr)).mean())
hn.plot.regions(R, Xtr, ytr, color_by="occupancy")


# %% [markdown]
# **What to look at.** With 2D inputs and only 32 units, most points share a region: the
# regions are large compared with the gaps between points. The shared regions that mix
# both classes are where the network has to treat points of different classes with the
# same affine map. Keep this picture in mind: with 784-pixel images and 100 units
# (notebook 3) almost every example ends up alone.


# %% tags=["remove-cell"]
assert occ.alone_fraction < 0.5  # "most points share a region"
assert len(occ.mixed) >= 1
assert occ.alone_fraction == alone_in_pattern(net.codes(Xtr)).mean()


# %% [markdown]
# ## More units, more regions
#
# How does the number of regions grow with the width, and what does training do to it?
# Count the regions in the box for a few widths, before and after training.


# %%
counts = {}
for width in (4, 8, 16, 32):
    model = hn.MLP(2, hidden=(width, width), n_classes=2, seed=0)
    before = hn.regions.enumerate(model, box=BOX).n_regions
    model.fit(Xtr, ytr, epochs=60, batch_size=32, lr=1e-2, verbose=0)
    after = hn.regions.enumerate(model, box=BOX)
    alone = after.occupancy(Xtr).alone_fraction
    counts[width] = (before, after.n_regions, alone)
    print(
        f"2-{width}-{width}-2: {before:5d} regions untrained, "
        f"{after.n_regions:5d} trained, {alone:.0%} of the points alone"
    )


# %% [markdown]
# **What to look at.** Wider networks have more regions, trained or not, and leave more
# points alone. The untrained counts are small because all first-layer lines pass through
# the origin; training spreads them out and multiplies the regions.


# %% tags=["remove-cell"]
trained = [counts[w][1] for w in (4, 8, 16, 32)]
assert trained == sorted(trained)
assert all(counts[w][1] > counts[w][0] for w in counts)
assert counts[32][2] > counts[4][2]


# %% [markdown]
# ## Walking along a segment
#
# In high dimensions you cannot draw the regions, but you can still count them along a
# straight path. `hn.regions.count_along(net, xa, xb)` walks from input `xa` to input
# `xb` and finds, exactly, every boundary it crosses. It works in any input dimension;
# here you can check it against the picture. Take one point of each class:


# %%
from hashnet.codes import hamming_distances

left_0 = np.flatnonzero(ytr == 0)[np.argmin(Xtr[ytr == 0, 0])]  # leftmost point of class 0
right_1 = np.flatnonzero(ytr == 1)[np.argmax(Xtr[ytr == 1, 0])]  # rightmost of class 1
xa, xb = Xtr[left_0], Xtr[right_1]
along = hn.regions.count_along(net, xa, xb)
print("regions crossed:", along.n_regions)
print("crossings at t =", along.t.round(3))

# How many units switch at each crossing? (Hamming distance of neighbouring codes)
flips = [
    int(hamming_distances(along.codes[i : i + 1], along.codes[i + 1 : i + 2])[0, 0])
    for i in range(along.n_regions - 1)
]
print("units that switch at each crossing:", flips)

fig = hn.plot.regions(R, color_by="code", boundary=False)
ax = fig.axes[0]
ax.plot([xa[0], xb[0]], [xa[1], xb[1]], "k-", lw=1.5)
ax.scatter(along.points[:, 0], along.points[:, 1], s=18, color="#D55E00", zorder=5)
ax.set_title(f"{along.n_regions} regions between two training points", fontsize=9)
fig


# %% [markdown]
# **What to look at.** Every orange dot sits on an edge of the region picture: each is a
# place where some unit changes state. Most crossings switch a single unit: you step over
# one unit's (folded) line at a time.


# %% tags=["remove-cell"]
assert np.mean(np.array(flips) == 1) > 0.5


# %% [markdown]
# ## Try this
#
# **1. Depth or width?** (about 5 min) Keep 32 hidden units in total but arrange them as
# `hidden=(32,)`, `(16, 16)` and `(8, 8, 8, 8)`. Train each as above (60 epochs) and count
# the regions in the box and the points alone.
# *Expected:* between about 350 and 500 regions for all three, and 10 to 15 % of the points
# alone: at this size no arrangement clearly wins, although deep networks *can* make far
# more regions than shallow ones. *Hint:* reuse the loop of "More units, more regions" with
# `hidden=` as the loop variable.
#
# **2. Where does training put the regions?** (about 5 min) Train the 2-16-16-2 network for
# 5 epochs and for 300 epochs. Count all the regions, and those whose centroid
# (`R.centroids()`) lies within 0.2 of a training point.
# *Expected:* the total barely changes (about 370 to 420), but the share of regions near the
# data grows from about 40 % to over 50 %: training moves regions to where the data is more
# than it creates new ones. *Hint:* `np.sqrt(((c[:, None] - Xtr[None]) ** 2).sum(-1))` gives
# all the distances between centroids `c` and points.
#
# Solutions: `tutorials/solutions/01_linear_regions.py`.
