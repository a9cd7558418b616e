# Source of tutorials/04_categorizing_with_codes.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 4. Categorizing with codes
#
# If neural codes are good hashes of the inputs, how much do they know about the
# *classes*? The study asks three simple algorithms to work with nothing but the bits:
#
# - **K-Means** clusters the codes without seeing any label; do the clusters match the
#   classes?
# - **K-NN** labels a test code by a vote of its nearest training codes in Hamming
#   distance;
# - **logistic regression** learns a linear classifier on the bits.
#
# You will run all three on the codes of a trained network, on the raw pixels for
# comparison, and on the codes of an untrained network as a control (random codes are
# SimHash, notebook 3: a fair baseline, not a straw man). The probes are written in hashnet
# from scratch and follow scikit-learn's habits (`fit` returns the estimator, learned values
# end in `_`).
#
# **Paper:** the categorization property (its K-Means, K-NN and logistic-regression
# accuracies on the codes).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")

net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
print("the network's own test accuracy:", net.score(Xte, yte))

codes_tr, codes_te = net.codes(Xtr), net.codes(Xte)
untrained = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
random_tr, random_te = untrained.codes(Xtr), untrained.codes(Xte)
print(codes_tr, codes_te, sep="\n")


# %% [markdown]
# ## K-Means and cluster accuracy
#
# K-Means finds 10 clusters, but it names them 0..9 in an arbitrary order, so its labels
# cannot be compared with the classes directly. `hn.cluster_accuracy` first turns each
# cluster into a class:
#
# - `mapping="majority"` (the study's choice): each cluster votes for its most common
#   class. Two clusters may pick the same class, so this asks "is each cluster pure?";
# - `mapping="hungarian"`: clusters and classes are paired one to one, the best possible
#   pairing. Never higher than majority.
#
# On codes, K-Means treats the bits as 0/1 vectors (Euclidean distance), as in the study.
# `n_init` restarts keep the best of several random starts.


# %%
kmeans = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(codes_tr)
km_codes = hn.cluster_accuracy(ytr, kmeans.labels_, mapping="majority")
print("K-Means on trained codes, majority :", km_codes)
print(
    "K-Means on trained codes, hungarian:",
    hn.cluster_accuracy(ytr, kmeans.labels_, mapping="hungarian"),
)

kmeans_pixels = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(Xtr)
km_pixels = hn.cluster_accuracy(ytr, kmeans_pixels.labels_)
print("K-Means on raw pixels, majority    :", km_pixels)
kmeans_random = hn.KMeans(n_clusters=10, n_init=3, seed=0).fit(random_tr)
km_random = hn.cluster_accuracy(ytr, kmeans_random.labels_)
print("K-Means on untrained codes, majority:", km_random)


# %%
from hashnet.probes import contingency_matrix

names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
table = contingency_matrix(ytr, kmeans.labels_)  # table[class, cluster] = count
fig, ax = plt.subplots(figsize=(6, 4.2))
ax.imshow(table, cmap="Blues")
ax.set_yticks(range(10), names, fontsize=8)
ax.set_xticks(range(table.shape[1]))
ax.set_xlabel("cluster found by K-Means on the codes")
for (c, k), n in np.ndenumerate(table):
    color = "white" if n > table.max() / 2 else "black"
    ax.text(k, c, n, ha="center", va="center", fontsize=7, color=color)
ax.set_title("350 training images per class, counted per cluster", fontsize=9)
plt.show()


# %% [markdown]
# **What to look at.** Each column is a cluster; a pure cluster has one dark cell. Classes
# that look alike to the network (shirts, T-shirts, pullovers, coats) tend to share
# clusters, while trousers, bags and shoes get clusters of their own. No label was used
# to find these clusters: the structure is in the codes.
#
# ## K-NN in Hamming distance
#
# A test code is labelled by a majority vote of its `k` nearest training codes.
# The Hamming distance between two codes is a popcount of their XOR, so the search is
# very fast, and small: a code of 100 bits fits in two 64-bit words (16 bytes), an image
# takes 784 floats (3136 bytes).


# %%
import time


def timed(fit_and_score):
    start = time.perf_counter()
    score = fit_and_score()
    return score, time.perf_counter() - start


hamming, euclidean = hn.KNN(k=9, metric="hamming"), hn.KNN(k=9, metric="euclidean")
knn_codes = timed(lambda: hamming.fit(codes_tr, ytr).score(codes_te, yte))
knn_random = timed(lambda: hamming.fit(random_tr, ytr).score(random_te, yte))
knn_pixels = timed(lambda: euclidean.fit(Xtr, ytr).score(Xte, yte))
print("K-NN on trained codes   (Hamming):   {:.3f} in {:.2f}s".format(*knn_codes))
print("K-NN on untrained codes (Hamming):   {:.3f} in {:.2f}s".format(*knn_random))
print("K-NN on raw pixels      (Euclidean): {:.3f} in {:.2f}s".format(*knn_pixels))


# %% [markdown]
# ## Logistic regression on the bits
#
# Finally a linear classifier on the 100 bits (multinomial, L2-penalised, `C` is the
# inverse strength of the penalty). On raw pixels it has 784 inputs instead of 100.


# %%
logistic = hn.LogisticRegression(C=1.0)
lr_codes = timed(lambda: logistic.fit(codes_tr, ytr).score(codes_te, yte))
lr_random = timed(lambda: logistic.fit(random_tr, ytr).score(random_te, yte))
lr_pixels = timed(lambda: logistic.fit(Xtr, ytr).score(Xte, yte))
print("logistic regression on trained codes:   {:.3f} in {:.2f}s".format(*lr_codes))
print("logistic regression on untrained codes: {:.3f} in {:.2f}s".format(*lr_random))
print("logistic regression on raw pixels:      {:.3f} in {:.2f}s".format(*lr_pixels))


# %%
results = {
    "K-Means (train)": [km_pixels, km_random, km_codes],
    "K-NN (test)": [knn_pixels[0], knn_random[0], knn_codes[0]],
    "logistic (test)": [lr_pixels[0], lr_random[0], lr_codes[0]],
}
inputs = ["raw pixels (784 floats)", "untrained codes (100 bits)", "trained codes (100 bits)"]
colors = ["#999999", "#56B4E9", "#0072B2"]  # Okabe-Ito grey, sky blue, blue
fig, ax = plt.subplots(figsize=(8, 3.3))
x = np.arange(len(results))
for i, (label, color) in enumerate(zip(inputs, colors)):
    values = [v[i] for v in results.values()]
    ax.bar(x + (i - 1) * 0.27, values, width=0.27, label=label, color=color)
ax.axhline(net.score(Xte, yte), color="black", ls="--", lw=1, label="the network itself")
ax.axhline(0.1, color="#D55E00", ls=":", lw=1.2, label="chance (10 classes)")
ax.set_xticks(x, list(results))
ax.set_ylabel("accuracy")
ax.set_ylim(0, 1)
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
ax.set_title("3500 training and 1000 test images of fashion-mnist-mini", fontsize=9)
plt.show()


# %% [markdown]
# **What to look at.** Compare the bars within each group.
#
# - Without any label, K-Means finds the classes better in the trained codes than in
#   the pixels or in random codes: training has organised the codes by class.
# - K-NN and logistic regression do well on the trained codes, within 0.1 of the network
#   itself (dashed line), with 100 bits instead of 784 floats. On this small data set both
#   are still a little better on the raw pixels: the codes are a compression, not magic.
# - Untrained codes are far better than chance (dotted line) with K-NN, because SimHash
#   keeps similar images close (notebook 3), but below the trained codes.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
own = net.score(Xte, yte)
assert km_codes > km_pixels and km_codes > km_random
assert own - knn_codes[0] < 0.1 and own - lr_codes[0] < 0.1
assert knn_pixels[0] > knn_codes[0] and lr_pixels[0] > lr_codes[0]
assert 0.5 < knn_random[0] < knn_codes[0] and lr_random[0] < lr_codes[0]


# %% [markdown]
# ## Everything in one call
#
# `hn.encoding_properties` measures all of this for one network: the redundancy ratio of
# the training and test codes (*determinism*), the three probes (*categorization*), the
# network's own loss and accuracy, and the time each step took. The sweeps of notebooks
# 5 to 9 record exactly this dictionary for every network they train.


# %%
from hashnet.properties import format_record

record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, kmeans_n_init=3)
print(format_record(record))


# %% [markdown]
# ## Try this
#
# **1. How many neighbours?** (about 5 min) Change `k` in K-NN (1, 3, 9, 27, 81) on the
# codes and on the pixels. Where is the best value for each? Does a very large `k` hurt?
# *Expected:* codes peak near k = 9 (about 0.76), pixels are flat from 1 to 9 (about 0.79
# to 0.80); both drop at k = 81 (about 0.73 and 0.74), because the vote then reaches into
# other classes. *Hint:* a loop over `k` around the K-NN cell.
#
# **2. Bits that never change** (about 5 min) Some units are always on or always off on
# the training set. Drop them with `codes_tr.drop_constant()` and
# `codes_te.drop_constant(reference=codes_tr)`: how many bits are left, and do the probes
# change?
# *Expected:* about 90 of the 100 bits are left, and K-NN and logistic regression give the
# same accuracies to three decimals: a constant bit adds the same amount to every
# distance. *Hint:* `.n_bits` counts the bits.
#
# Solutions: `tutorials/solutions/04_categorizing_with_codes.py`.
