# Source of tutorials/06_training_time.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 6. Training time
#
# Does a network become a better hash encoder the longer it trains? Train once, keep a
# snapshot of the weights at chosen epochs (`checkpoints=`, 0 being the untrained network)
# and measure each snapshot: determinism (`rr_train`) and categorization (`knn_test`).
# This is how the study's training-time runs work.
#
# **Paper:** its training-time figures (MLPs on MNIST; here fashion-mnist-mini).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)


def measure(net):
    record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, probes=("knn",))
    return record["rr_train"], record["knn_test"], record["test_acc"]


# %% [markdown]
# ## Snapshots of one run
#
# The network has 40 hidden units: at that width the redundancy ratio is neither 0 nor 1
# (notebook 5), so it can move either way.


# %%
snapshots = [0, 1, 2, 5, 10, 20, 40]
net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=max(snapshots), checkpoints=snapshots, verbose=0)
results = [measure(net.checkpoint(e)) for e in snapshots]
for e, (rr, knn, acc) in zip(snapshots, results):
    print(f"epoch {e:2d}: rr_train {rr:.3f}  knn_test {knn:.3f}  test_acc {acc:.3f}")

rr, knn, acc = np.array(results).T
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(snapshots, rr, "o-", color="#D55E00")
left.set_ylabel("rr_train (determinism)")
right.plot(snapshots, knn, "o-", color="#0072B2", label="K-NN on test codes")
right.plot(snapshots, acc, "s--", color="black", label="network's test accuracy")
right.axhline(0.1, color="0.5", ls=":", lw=1, label="chance")
right.set_ylim(0, 1)
right.set_ylabel("accuracy")
right.legend(fontsize=8)
for ax in (left, right):
    ax.set_xscale("symlog", linthresh=1)  # epoch 0 stays on the axis
    ax.set_xticks(snapshots, [str(e) for e in snapshots])
    ax.set_xlabel("epochs of training")
plt.show()


# %% [markdown]
# **What to look at.** At epoch 0 the random network already separates most examples
# (SimHash, notebook 3). The first epochs *merge* many of them (the ratio rises until
# about epoch 5): the network first learns coarse, class-level features, so similar
# examples fall into the same region. Longer training splits them apart again, slowly. Notice also
# how little K-NN on the codes
# changes compared with the network's own accuracy, which starts at chance: on this small
# problem random codes already carry much of the class information (notebook 4).


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
assert rr[0] < 0.2 and rr[1] > rr[0] + 0.1
assert snapshots[int(np.argmax(rr))] in (2, 5, 10) and rr[-1] < rr.max() - 0.1
assert knn.max() - knn.min() < acc.max() - acc.min()
assert acc[0] < 0.2


# %% [markdown]
# ## Try this
#
# **1. Narrow and wide** (about 5 min) Redo the snapshots for widths 10 and 160.
# *Expected:* at width 10 the ratio starts near 0.76 and only rises (to about 0.96 at
# epoch 40): 10 bits cannot keep 1000 examples apart once training groups them. At width
# 160 it stays at or below 0.003 throughout: a wide network keeps every example alone
# while it learns. *Hint:* `hn.redundancy_ratio(net.checkpoint(e).codes(Xtr))` is the only
# number you need.
#
# Solutions: `tutorials/solutions/06_training_time.py`.
