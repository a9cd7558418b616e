# Source of tutorials/11_image_slices.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 11. Exact slices through image space
#
# You cannot draw a 784-dimensional space, but you can draw a flat slice of it, exactly:
# the plane through three images. In this notebook you will
#
# 1. see the exact regions of an MLP on the plane through three Fashion-MNIST images;
# 2. zoom in on the same plane for LeNet, whose regions are far smaller;
# 3. count the regions on the straight path between two images.
#
# **Paper:** the linear-region picture of the study, on real inputs instead of toy 2D data.


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xi, yi, Xi_te, yi_te = hn.datasets.load("fashion-mnist-mini", flatten=False)
X_flat = Xi.reshape(len(Xi), -1)

mlp = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
mlp.fit(X_flat, yi, epochs=10, verbose=0)
cnn = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
cnn.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3, verbose=0)
print(f"test accuracy: MLP {mlp.score(Xi_te.reshape(len(Xi_te), -1), yi_te):.3f}, ", end="")
print(f"LeNet {cnn.score(Xi_te, yi_te):.3f}")


# %% [markdown]
# ## A plane through three images
#
# `hn.regions.plane_through(A, B, C)` is the plane through three images: every point
# `(s, t)` of it is the image `origin + s*u + t*v`, and distances in the picture are true
# distances between images.


# %%
P = hn.regions.plane_through(X_flat[0], X_flat[1], X_flat[2])
print("A, B, C in plane coordinates:\n", P.anchors.round(2))
R_mlp = hn.regions.enumerate(mlp, plane=P)
hn.plot.regions(R_mlp, images=X_flat[:3], title="MLP 784-100-10")


# %% [markdown]
# **What to look at.** The stars are the three images, shown on the right. Every white
# line is a place where one of the 100 hidden units switches; the black lines are the
# MLP's decision boundaries between classes. Inside one polygon, every image of the
# plane is handled by the same affine map.
#
# ## The same plane for the CNN: zoom in
#
# LeNet has 6508 ReLU units and 4704 of them are in its first layer, so the same plane
# holds millions of regions: far too many to enumerate and draw. Instead, zoom in on a
# small square around image A and count how many regions it holds as the square grows.
# `P.zoom(centre, half)` is the square of half-side `half` around a point of the plane.


# %%
P_cnn = hn.regions.plane_through(Xi[0], Xi[1], Xi[2])  # the same plane, for NCHW images
A = P_cnn.anchors[0]  # image A in plane coordinates

zoomed = {}
for half in (0.01, 0.02, 0.04):
    zoomed[half] = hn.regions.enumerate(cnn, plane=P_cnn.zoom(A, half))
    print(
        f"square of side {2 * half:.2f}: {zoomed[half].n_regions:5d} regions, "
        f"{zoomed[half].distinct_codes():5d} distinct codes"
    )
width_plane = P.extent[1] - P.extent[0]
print(f"(the MLP's picture is {width_plane:.0f} units wide, {width_plane / 0.08:.0f} times more)")


# %%
R_zoom = zoomed[0.04]
hn.plot.regions(R_zoom, A[None], yi[:1], images=Xi[:3], title="LeNet, zoomed in around A")


# %% [markdown]
# **What to look at.** The square is about 200 times narrower than the MLP's
# picture, and it already holds dozens of regions (hundreds at side 0.08); doubling its side
# multiplies the count by about 3 to 5, around the factor 4 of the area. Many edges run in a few
# nearly
# parallel directions: thousands of first-layer units are shifted copies of the same 6
# filters.
#
# Notice also that there are more regions than distinct codes. With max pooling the
# network's affine map also changes where the winner of a pooling window changes, even
# when no ReLU switches, so two neighbouring regions can share a ReLU code. (With
# `hn.CNN.lenet(pool="avg")` the two counts agree.)


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
n = [zoomed[h].n_regions for h in (0.01, 0.02, 0.04)]
assert 100 < width_plane / 0.08 < 400 and n[2] >= 100
assert all(2.5 < b / a < 5.5 for a, b in zip(n, n[1:])) and n[0] >= 12
assert all(zoomed[h].n_regions > zoomed[h].distinct_codes() for h in zoomed)


# %% [markdown]
# ## Counting along the path between two images
#
# `hn.regions.count_along(net, xa, xb)` counts, exactly, the regions the straight path
# from one image to another crosses, for any network and input size. Compare the MLP and
# the CNN on the same pairs of images:


# %%
same = np.flatnonzero(yi == yi[0])[1]  # another image of image 0's class
pairs = {"A to B (different classes)": (0, 1), "A to another of its class": (0, same)}
crossed = {}
fig, ax = plt.subplots(figsize=(7, 2.6))
for label, (i, j) in pairs.items():
    n_mlp = hn.regions.count_along(mlp, X_flat[i], X_flat[j]).n_regions
    along = hn.regions.count_along(cnn, Xi[i], Xi[j])
    crossed[label] = n_mlp, along.n_regions
    print(f"{label:28s}  MLP: {n_mlp:4d} regions   LeNet: {along.n_regions:5d} regions")
    ax.hist(along.t, bins=50, histtype="step", lw=1.5, label=f"LeNet, {label}")
ax.set_xlabel("position along the path (0 = image A, 1 = the other image)")
ax.set_ylabel("crossings")
ax.legend(fontsize=8)
plt.show()


# %% [markdown]
# **What to look at.** The CNN's path crosses far more regions than the MLP's (more than
# ten times as many): its input space is cut much more finely. The histogram shows where
# along the path the boundaries are: they are not spread evenly. Where they bunch up,
# many units switch within a short step. (A hint to test: a convolution unit that looks at
# an empty patch of background sees only its bias, so a tiny change of those pixels can
# switch it.)


# %% tags=["remove-cell"]
assert all(cnn_count > 10 * mlp_count for mlp_count, cnn_count in crossed.values())


# %% [markdown]
# ## Try this
#
# **1. Average pooling** (about 5 min) Build `hn.CNN.lenet(pool="avg", seed=0)`, train it
# the same way and redo the zoomed counts: do the numbers of regions and of distinct codes
# now agree?
# *Expected:* yes, exactly, at every zoom: without max pooling every region is one ReLU
# pattern. *Hint:* only the constructor changes.
#
# **2. Around another image** (about 5 min) Zoom in around image B instead of A
# (`P_cnn.anchors[1]`). Is the density of regions the same around every image?
# *Expected:* no. Around B a square of side 0.02 holds thousands of regions (about 2400,
# against about 40 around A), side 0.08 tens of thousands, and even a square of side 0.0002
# still hundreds: many boundaries pass through B itself, whose flat background puts many
# units and pooling windows on a tie (docs/regions.md explains why such a point can even
# show more pieces in a smaller square). *Hint:* replace `A` in the zoom loop, start with
# small squares, and catch the `ValueError` that `max_regions` raises on a big one.
#
# Solutions: `tutorials/solutions/11_image_slices.py`.
