# Source of tutorials/07_regularization.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 7. Regularization
#
# Weight decay (an L2 penalty on the weights), dropout and batch normalisation all change
# how a network uses its units, and so its codes. This notebook turns them on one at a
# time, on MLPs 784-40-10 trained for 20 epochs on 1000 images, and measures determinism
# (`rr_train`) and categorization (`knn_test`).
#
# **Paper:** its regularization experiments (the grid of settings here is hashnet's).


# %%
import matplotlib.pyplot as plt
import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)

settings = {
    "none": dict(),
    "weight decay 1e-3": dict(fit=dict(weight_decay=1e-3)),
    "weight decay 1e-2": dict(fit=dict(weight_decay=1e-2)),
    "dropout 0.2": dict(model=dict(dropout=0.2)),
    "dropout 0.5": dict(model=dict(dropout=0.5)),
    "batch norm": dict(model=dict(batchnorm=True)),
}
results = {}
for name, extra in settings.items():
    net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0, **extra.get("model", {}))
    net.fit(Xtr, ytr, epochs=20, verbose=0, **extra.get("fit", {}))
    record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, probes=("knn",))
    results[name] = record["rr_train"], record["knn_test"], record["test_acc"]
    rr, knn, acc = results[name]
    print(f"{name:18s} rr_train {rr:.3f}  knn_test {knn:.3f}  test_acc {acc:.3f}")


# %%
rr, knn, acc = np.array(list(results.values())).T
fig, ax = plt.subplots(figsize=(9, 3))
x = np.arange(len(results))
ax.bar(x - 0.2, rr, width=0.4, color="#D55E00", label="rr_train (determinism)")
ax.bar(x + 0.2, knn, width=0.4, color="#0072B2", label="knn_test (categorization)")
ax.set_xticks(x, list(results), fontsize=8)
ax.set_ylim(0, 1)
ax.legend(fontsize=8)
ax.set_title("MLP 784-40-10, 1000 training images, 20 epochs", fontsize=9)
plt.show()


# %% [markdown]
# **What to look at.**
#
# - Strong **weight decay** pushes the weights towards zero and the codes towards sharing:
#   `rr_train` is higher at 1e-2 than without it, and K-NN on the codes is worse.
# - **Dropout** trains the network to work with random units missing, which spreads the
#   information over many units: fewer collisions than without it, and better K-NN.
# - **Batch normalisation** centres every unit's pre-activation on each batch, so each
#   unit is on for about half of the examples: a bit that splits the data in half carries
#   the most information, and collisions almost vanish.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
rr = {name: values[0] for name, values in results.items()}
knn = {name: values[1] for name, values in results.items()}
assert rr["weight decay 1e-2"] > rr["none"] and knn["weight decay 1e-2"] < knn["none"]
for name in ("dropout 0.2", "dropout 0.5"):
    assert rr[name] < rr["none"] and knn[name] > knn["none"]
assert rr["batch norm"] < 0.02


# %% [markdown]
# ## Try this
#
# **1. Until the codes collapse** (about 5 min) Raise the weight decay to 3e-2 and 1e-1.
# *Expected:* `rr_train` climbs from about 0.44 (1e-2) to about 0.6, K-NN on the codes
# falls from about 0.57 to about 0.49, and the network's own test accuracy falls about as
# much (from about 0.79 to 0.71): the codes collide and both lose accuracy together.
# *Hint:* `fit(..., weight_decay=...)`.
#
# Solutions: `tutorials/solutions/07_regularization.py`.
