# Source of tutorials/03_codes_as_hashes.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 3. Neural codes as hashes
#
# A **hash function** gives every item a short code; a good one gives different items
# different codes (few *collisions*). He, Lei, Ji and Tao (2021) observed that a trained
# ReLU classifier behaves like one: the on/off pattern of its hidden units for an input,
# the input's **neural code**, is almost never shared by two training examples.
#
# The comparison with hashing goes further than collisions. An *untrained* ReLU layer is
# already a well-known hash: the sign pattern of random hyperplanes is **SimHash**
# (Charikar, 2002), a *locality-sensitive* hash, whose codes are close when the inputs
# point in similar directions. Training keeps the codes unique and makes them
# *label-aware*: codes of the same class move closer than codes of different classes.
#
# In this notebook you will:
#
# 1. compute the codes of real images (bits, one per ReLU unit);
# 2. check that random codes behave as SimHash predicts;
# 3. measure how often codes collide: the *redundancy ratio*;
# 4. follow the codes from an untrained network to a trained one, and see who collides.
#
# **Paper:** the determinism property (its redundancy-ratio tables and figures).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

# %% [markdown]
# ## The data: fashion-mnist-mini
#
# hashnet ships a small, class-balanced piece of Fashion-MNIST: 3500 training and 1000
# test images of clothes, 28x28 grey pixels, 10 classes. (The study used MNIST and
# CIFAR-10; Fashion-MNIST is hashnet's choice here: it is harder than MNIST and small
# enough to ship.) With `flatten=True` (the default) each image is one row of 784 numbers
# in [0, 1].


# %%
Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
print(Xtr.shape, Xte.shape, "images per class:", np.bincount(ytr))

fig, axes = plt.subplots(1, 10, figsize=(10, 1.5))
for k, ax in enumerate(axes):
    ax.imshow(Xtr[k].reshape(28, 28), cmap="gray_r")
    ax.set_title(names[ytr[k]], fontsize=8)
    ax.axis("off")
plt.show()


# %% [markdown]
# ## Codes of an untrained network
#
# Build an MLP 784-100-10 (one hidden layer of 100 ReLU units) and do not train it yet.
# `net.codes(X)` runs the inputs through the network and keeps, for each example, the
# sign of each hidden unit's pre-activation: 100 bits. They are stored packed, 64 bits per
# `uint64` word, so 100 bits take two words; `codes.bits()` unpacks them into a 0/1
# matrix.


# %%
untrained = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
codes0 = untrained.codes(Xtr)
print(codes0)
print("packed words:", codes0.words.shape, codes0.words.dtype)
bits0 = codes0.bits()
print("unpacked bits:", bits0.shape, "first code:", "".join(map(str, bits0[0])))
print(f"on average {bits0.mean():.0%} of the units are on")


# %% [markdown]
# ## Random codes are SimHash
#
# A new network has zero biases, so unit $j$ is on when $w_j \cdot x > 0$: the side of a
# random hyperplane through the origin on which $x$ lies. For two inputs at an angle
# $\theta$, a random hyperplane separates them with probability $\theta / \pi$. So the
# fraction of differing bits (the Hamming distance divided by 100) should be close to
# $\theta / \pi$: the code is a sketch of the input's direction. Check it on 2000 random
# pairs of images.


# %%
rng = np.random.default_rng(0)
i, j = rng.integers(0, len(Xtr), (2, 2000))
cosine = np.sum(Xtr[i] * Xtr[j], axis=1) / (
    np.linalg.norm(Xtr[i], axis=1) * np.linalg.norm(Xtr[j], axis=1)
)
angle = np.arccos(np.clip(cosine, -1, 1)) / np.pi  # theta / pi
differing = np.mean(bits0[i] != bits0[j], axis=1)  # Hamming distance / number of bits
correlation = np.corrcoef(angle, differing)[0, 1]

fig, ax = plt.subplots(figsize=(4.2, 3.6))
ax.scatter(angle, differing, s=4, alpha=0.4, color=hn.plot.CLASS_COLORS[0])
ax.plot([0, 0.5], [0, 0.5], "k--", lw=1, label=r"SimHash: $\theta/\pi$")
ax.set_xlabel(r"angle between the images, $\theta / \pi$")
ax.set_ylabel("fraction of bits that differ")
ax.legend(fontsize=8)
ax.set_title(f"untrained 784-100-10: correlation {correlation:.2f}", fontsize=9)
plt.show()


# %% [markdown]
# **What to look at.** The points follow the dashed line: random ReLU codes preserve the
# angles between images, up to the noise of 100 random bits. Images with a small angle
# (similar images) get near codes, so even before training the codes *know* something
# about the inputs. (The weights are uniform, not Gaussian, so the law holds only
# approximately; in 784 dimensions the difference is small.)


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
assert np.allclose(untrained.get_weights()[1], 0)  # zero biases: hyperplanes through 0
assert correlation > 0.8
assert abs(np.mean(differing - angle)) < 0.05


# %% [markdown]
# ## Redundancy ratio: how many examples share a code?
#
# The study measures collisions with the **redundancy ratio**
#
# $$\text{rr} = \frac{N - \#\{\text{distinct codes}\}}{N}.$$
#
# 0 means every example has a code (a linear region) of its own; close to 1 means almost
# all share a few codes. You can compute it by hand with `np.unique` and compare with
# `hn.redundancy_ratio`, which does the same on the packed words, much faster.


# %%
n_distinct = len(np.unique(bits0, axis=0))
print("by hand:            ", (len(bits0) - n_distinct) / len(bits0))
print("hn.redundancy_ratio:", hn.redundancy_ratio(codes0))


# %% [markdown]
# Even without training, 100 random hyperplanes in a 784-dimensional space separate
# almost all 3500 images: SimHash with 100 bits rarely collides on distinct inputs.
#
# ## Training, and watching the codes change
#
# Train the same network for 20 epochs and keep a snapshot of the weights at a few
# epochs (`checkpoints=`; epoch 0 is the untrained network). `net.checkpoint(e)` gives
# back the network as it was after epoch `e`, so you can measure its codes.
#
# One caution: **the redundancy ratio depends on N**. More examples crowd the same codes,
# so 3500 training codes collide more than 1000 test codes would even if both came from
# the same images. To compare train with test fairly, measure the first 1000 training
# codes too (`rr_train_1000`).


# %%
from hashnet.codes import alone_in_pattern

EPOCHS = (0, 1, 2, 5, 10, 20)
net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, checkpoints=EPOCHS, verbose=0)
print("test accuracy after 20 epochs:", net.score(Xte, yte))

history = []
for epoch in EPOCHS:
    snapshot = net.checkpoint(epoch)
    c_train, c_test = snapshot.codes(Xtr), snapshot.codes(Xte)
    rr_tr, rr_te = hn.redundancy_ratio(c_train), hn.redundancy_ratio(c_test)
    rr_tr_1000 = hn.redundancy_ratio(c_train[:1000])
    alone, acc = alone_in_pattern(c_train).mean(), snapshot.score(Xte, yte)
    history.append((epoch, rr_tr, rr_tr_1000, rr_te, alone, acc))
    print(
        f"epoch {epoch:2d}: rr_train {rr_tr:.4f}  rr_train_1000 {rr_tr_1000:.4f}  "
        f"rr_test {rr_te:.4f}  alone {alone:.3f}  test acc {acc:.3f}"
    )


# %%
epochs, rr_train, rr_train_1000, rr_test, alone, acc = np.array(history).T
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(epochs, rr_train, "o-", label="3500 training codes")
left.plot(epochs, rr_train_1000, "^-", label="first 1000 training codes")
left.plot(epochs, rr_test, "s-", label="1000 test codes")
left.set_xlabel("epoch")
left.set_ylabel("redundancy ratio")
left.legend(fontsize=8)
right.plot(epochs, alone, "o-", label="training examples alone in their code")
right.plot(epochs, acc, "s-", label="test accuracy of the network")
right.axhline(0.1, color="0.5", ls=":", lw=1, label="chance (10 classes)")
right.set_xlabel("epoch")
right.set_ylim(0, 1.05)
right.legend(fontsize=8)
plt.show()


# %% [markdown]
# **What to look at.** The redundancy ratio stays small all along (below 0.07): the trained
# network still gives nearly every example a code of its own. It can creep up a little
# during training, because training pulls examples of the same class together, and a few
# of them end up sharing a region. On equal numbers of codes, train and test collide about
# equally often. The question is *which* examples collide.


# %% tags=["remove-cell"]
assert np.all(rr_train < 0.07) and np.all(rr_test < 0.07)
assert np.all(np.abs(rr_train_1000 - rr_test) < 0.01)


# %% [markdown]
# ## Who collides with whom?
#
# `hn.collisions(codes, y)` lists the groups of examples that share a code and tells you
# how many groups are all one label (harmless: one affine map for one class) and how
# many mix labels.


# %%
codes = net.codes(Xtr)
for label, c in (("untrained", codes0), ("trained", codes)):
    col = hn.collisions(c, ytr)
    print(
        f"{label:9s}: {col.n_distinct} distinct codes for {col.n_examples} examples, "
        f"{len(col.groups)} shared codes ({col.same_label} one-label, "
        f"{col.mixed_label} mixed), {col.alone_fraction:.1%} alone"
    )


# %%
col = hn.collisions(codes, ytr)
groups = sorted(col.groups, key=len, reverse=True)[:4]
fig, axes = plt.subplots(len(groups), 6, figsize=(7, 1.4 * len(groups)), squeeze=False)
for row, group in zip(axes, groups):
    for ax in row:
        ax.axis("off")
    for ax, i in zip(row, group):
        ax.imshow(Xtr[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(names[ytr[i]], fontsize=8)
fig.suptitle("the largest groups of training images that share one code", fontsize=9)
plt.show()


# %% [markdown]
# **What to look at.** The images in one row got the same 100 bits. They usually look
# alike and mostly have the same label: the network merged them because it treats them
# the same way.
#
# ## From locality-sensitive to label-aware
#
# SimHash keeps *similar-looking* images close. Training should make codes of the *same
# class* close, even when the images differ. Compare the average **Hamming distance**
# between two examples of the same class and between two of different classes, before and
# after training.


# %%
from hashnet.codes import hamming_distances

sample = slice(0, 1000)  # 1000 training examples: a million pairs is plenty
same_class = ytr[sample, None] == ytr[None, sample]
ratios = {}
for label, c in (("untrained", codes0), ("trained", codes)):
    d = hamming_distances(c[sample], c[sample])
    off_diagonal = ~np.eye(len(d), dtype=bool)
    within = d[same_class & off_diagonal].mean()
    between = d[~same_class].mean()
    ratios[label] = between / within
    print(
        f"{label:9s}: same class {within:5.1f} bits apart, "
        f"different classes {between:5.1f} bits apart (ratio {between / within:.2f})"
    )


# %% [markdown]
# **What to look at.** Already before training, different classes are further apart than
# same-class pairs (a ratio above 1): clothes of one class look alike, and SimHash keeps
# what looks alike close. After training the ratio is clearly larger: the codes now
# separate the *classes*, which is what the next notebook exploits with simple algorithms
# working on nothing but the bits.


# %% tags=["remove-cell"]
assert ratios["untrained"] > 1.0
assert ratios["trained"] > ratios["untrained"] + 0.1


# %% [markdown]
# ## Layer by layer
#
# With several hidden layers, a code is the concatenation of each layer's bits.
# `hashnet.codes.prefix_redundancy` gives the redundancy ratio of the code made of the
# first layer, then the first two, and so on: how quickly the examples get separated.


# %%
from hashnet.codes import prefix_redundancy

deep = hn.MLP(784, hidden=(32, 32, 32), n_classes=10, seed=0)
deep.fit(Xtr, ytr, epochs=10, verbose=0)
deep_codes = deep.codes(Xtr)
print(deep_codes)
for n_layers, rr in enumerate(prefix_redundancy(deep_codes), start=1):
    n_bits = sum(deep_codes.layer_sizes[:n_layers])
    print(f"first {n_layers} layer(s): {n_bits:3d} bits, rr {rr:.3f}")


# %% [markdown]
# ## Try this
#
# **1. Too few bits** (about 5 min) Train an MLP with only 10 hidden units (20 epochs, as
# above). 10 bits can name at most $2^{10} = 1024$ different codes: what is the smallest
# redundancy ratio it could reach on 3500 examples? How close does it get?
# *Expected:* the bound is $(3500 - 1024) / 3500 \approx 0.707$; the trained network is far
# above it, about 0.98 to 0.99: it uses only a few dozen of its 1024 possible codes.
# *Hint:* `len(np.unique(net.codes(Xtr).bits(), axis=0))` counts the codes in use.
#
# **2. Which classes collide?** (about 10 min) For the trained 100-unit network, list the
# pairs of classes that appear together in mixed-label groups (`col.groups` with `ytr`). Are
# they the pairs you would confuse yourself?
# *Expected:* coat with shirt most often, then pullover with shirt, coat with pullover,
# T-shirt with shirt: the upper-body garments. *Hint:* for each group,
# `sorted({names[k] for k in ytr[group]})`, and count them with `collections.Counter`.
#
# Solutions: `tutorials/solutions/03_codes_as_hashes.py`.
