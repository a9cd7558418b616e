# Source of tutorials/05_width_and_samples.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 5. Width against sample size
#
# A network with $w$ hidden units in one layer gives every input a $w$-bit code. Whether
# the training examples get codes of their own depends on two numbers: how finely the
# network can cut (its **width**) and how many examples must be told apart (the **sample
# size**). This notebook varies one, then the other, and watches two properties:
#
# - **determinism**: the redundancy ratio of the training codes (`rr_train`; 0 means every
#   training example is alone in its linear region);
# - **categorization**: how well K-NN classifies test examples from their codes
#   (`knn_test`).
#
# To stay fast it uses the first 1000 training and 500 test images of fashion-mnist-mini
# and short trainings; the trends are what matter, not the last decimal.
#
# **Paper:** its model-size and training-sample-size figures (MLPs on MNIST; here
# Fashion-MNIST, hashnet's choice of data).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)
EPOCHS = 20


def measure(net, X=Xtr, y=ytr):
    """rr_train, knn_test and test_acc of a trained network (K-NN: the fastest probe)."""
    record = hn.encoding_properties(net, X, y, Xte, yte, probes=("knn",))
    return record["rr_train"], record["knn_test"], record["test_acc"]


def plot_properties(x, results, xlabel, baseline=None):
    """Determinism (left) and categorization (right) against x, on a log axis."""
    rr, knn, acc = np.array(results).T
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
    left.plot(x, rr, "o-", color="#D55E00")
    left.set_ylabel("rr_train (determinism)")
    left.set_ylim(-0.03, 1.03)
    right.plot(x, knn, "o-", color="#0072B2", label="K-NN on test codes")
    right.plot(x, acc, "s--", color="black", label="network's test accuracy")
    if baseline is not None:
        right.plot(x, baseline, "^:", color="#56B4E9", label="K-NN, untrained codes")
    right.axhline(0.1, color="0.5", ls=":", lw=1, label="chance")
    right.set_ylabel("accuracy")
    right.set_ylim(0, 1)
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_xlabel(xlabel)
        ax.set_xscale("log")
        ax.set_xticks(x, [str(v) for v in x])
        ax.minorticks_off()
    plt.show()


# %% [markdown]
# ## Width
#
# With few units there are few possible codes, so many examples must share; with more
# units the input space is cut more finely. The dotted blue line is the same K-NN on the
# codes of the *untrained* network of each width: the baseline training has to beat.


# %%
widths = [2, 5, 10, 20, 40, 80, 160]
results, untrained = [], []
for w in widths:
    net = hn.MLP(784, hidden=(w,), n_classes=10, seed=0)
    start = hn.KNN(k=9).fit(net.codes(Xtr), ytr).score(net.codes(Xte), yte)
    net.fit(Xtr, ytr, epochs=EPOCHS, verbose=0)
    results.append(measure(net))
    untrained.append(start)
    rr, knn, _ = results[-1]
    print(f"width {w:3d}: rr_train {rr:.3f}  knn_test {knn:.3f}  (untrained codes {start:.3f})")
plot_properties(widths, results, "width (hidden units)", baseline=untrained)


# %% [markdown]
# **What to look at.** The redundancy ratio falls steeply with the width, from almost 1 at
# 2 units to below 0.05 from 80 units on: a wide enough network gives every training
# example its own region. K-NN on the codes improves with the width too, because more bits
# describe the inputs better. The untrained codes of the same width are only a little
# worse, by less than 0.08 at every width: on this problem most of what K-NN finds in a
# code comes from its length (SimHash, notebook 3), and training adds the rest.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
rr_w, knn_w, _ = np.array(results).T
assert np.all(np.diff(rr_w) <= 0.01) and rr_w[0] > 0.9 and np.all(rr_w[-2:] < 0.05)
assert knn_w[-1] > knn_w[0] + 0.3
gain = knn_w - np.array(untrained)
assert np.all(gain > 0) and np.all(gain < 0.08)


# %% [markdown]
# ## Sample size
#
# How does the number of *distinct* training examples matter? To compare fairly, every
# network takes the same number of gradient steps:
# `hn.datasets.first_n_tiled(X, y, n, epoch_length)` keeps the first `n` examples and
# repeats them until an epoch has `epoch_length` rows (the study's protocol). The
# redundancy ratio is measured on the `n` distinct examples. All networks here have 40
# units, a width at which the ratio is neither 0 nor 1 and can move either way.


# %%
sizes = [50, 100, 200, 500, 1000]
results = []
for n in sizes:
    Xn, yn = hn.datasets.first_n_tiled(Xtr, ytr, n, epoch_length=len(Xtr))
    net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0)
    net.fit(Xn, yn, epochs=EPOCHS, verbose=0)
    results.append(measure(net, Xtr[:n], ytr[:n]))
    print(f"{n:4d} examples: rr_train {results[-1][0]:.3f}  knn_test {results[-1][1]:.3f}")
plot_properties(sizes, results, "distinct training examples")


# %% [markdown]
# **What to look at.** More examples crowd the same number of regions, so the redundancy
# ratio rises with the sample size for a fixed width. Categorization, on the other hand,
# improves with more data: determinism and categorization can move in opposite
# directions. That is why the phase chart (notebook 9) needs both.


# %% tags=["remove-cell"]
rr_n, knn_n, _ = np.array(results).T
assert rr_n[-1] > rr_n[0] and knn_n[-1] > knn_n[0] + 0.1


# %% [markdown]
# ## Try this
#
# **1. Does the width needed depend on the data?** (about 5 min) Redo the sample-size loop
# with a width of 20 and of 160.
# *Expected:* at width 20 the ratio climbs from about 0.5 (50 examples) to about 0.8
# (1000 examples); at width 160 it stays at 0.000 to 0.001 for every size. The width a
# network needs to give every example its own code grows with the number of examples.
# *Hint:* put the loop inside `for width in (20, 160):`.
#
# Solutions: `tutorials/solutions/05_width_and_samples.py`.
