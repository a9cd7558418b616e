# Source of tutorials/08_label_noise.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 8. Label noise
#
# What happens to the codes when some training labels are wrong? The network can still
# memorise noisy labels, but it must cut the input space further to isolate the
# mislabelled examples. `hn.datasets.label_noise(y, fraction)` changes exactly that
# fraction of the labels to another, wrong class (hashnet's "flip" model; the study
# shuffles the picked labels among themselves, `model="permute"`). K-NN votes with the
# noisy training labels and is scored on the clean test labels.
#
# **Paper:** its label-noise experiments (the noise levels here are hashnet's).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)

fractions = [0.0, 0.2, 0.4, 0.6, 0.8]
results = []
for f in fractions:
    noisy = hn.datasets.label_noise(ytr, f, seed=0)
    net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0)
    net.fit(Xtr, noisy, epochs=20, verbose=0)
    record = hn.encoding_properties(net, Xtr, noisy, Xte, yte, probes=("knn",))
    results.append((record["rr_train"], record["knn_test"], record["test_acc"]))
    print(
        f"{np.mean(noisy != ytr):.0%} labels changed: rr_train {results[-1][0]:.3f}  "
        f"knn_test {results[-1][1]:.3f}  test_acc {results[-1][2]:.3f}"
    )


# %%
rr, knn, acc = np.array(results).T
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
left.plot(fractions, rr, "o-", color="#D55E00")
left.set_ylabel("rr_train (determinism)")
right.plot(fractions, knn, "o-", color="#0072B2", label="K-NN on test codes")
right.plot(fractions, acc, "s--", color="black", label="network's test accuracy")
right.axhline(0.1, color="0.5", ls=":", lw=1, label="chance")
right.set_ylim(0, 1)
right.set_ylabel("accuracy (clean test labels)")
right.legend(fontsize=8)
for ax in (left, right):
    ax.set_xlabel("fraction of wrong training labels")
plt.show()


# %% [markdown]
# **What to look at.** Categorization holds up at moderate noise (up to 40 % of wrong
# labels) and collapses when most labels are wrong: the codes can only group by class if the labels
# say what the classes
# are. Meanwhile the redundancy ratio drops: memorising arbitrary labels needs more,
# smaller regions, so the network cuts the space more finely.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
assert knn[fractions.index(0.4)] > knn[0] - 0.15
assert knn[-1] < knn[0] - 0.3
assert rr[-1] < rr[0]


# %% [markdown]
# ## Try this
#
# **1. Memorising the wrong labels** (about 5 min) With 40 % noise, how many of the wrong
# labels does the network reproduce on its training images after 20 and after 100 epochs?
# *Expected:* about 14 % after 20 epochs and about 86 % after 100; meanwhile the test
# accuracy drops (about 0.71 to 0.58) and so does `rr_train` (about 0.24 to 0.10): the
# network buys memorisation with more, smaller regions. *Hint:* `wrong = noisy != ytr`,
# then `net.score(Xtr[wrong], noisy[wrong])`.
#
# **2. The study's noise model** (about 2 min) With `model="permute"` the picked labels are
# shuffled among themselves. What fraction of the labels actually changes at 40 %?
# *Expected:* fewer than 40 % (36 % here): a shuffled label can land on its own class.
# *Hint:* `np.mean(noisy != ytr)`.
#
# Solutions: `tutorials/solutions/08_label_noise.py`.
