"""Solutions to the exercises of 03_codes_as_hashes.ipynb."""

from collections import Counter

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]

# %% Exercise 1: 10 hidden units name at most 2**10 = 1024 codes, so at least 3500 - 1024 of
# the 3500 examples must repeat a code: the redundancy ratio is at least 2476 / 3500 = 0.707.
net = hn.MLP(784, hidden=(10,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
codes = net.codes(Xtr)
print("smallest possible:", (len(Xtr) - 2**10) / len(Xtr))
print("measured:         ", hn.redundancy_ratio(codes))

# %% Exercise 2: which classes share codes with which?
net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
col = hn.collisions(net.codes(Xtr), ytr)
pairs = Counter()
for group in col.groups:
    labels = sorted({names[k] for k in ytr[group]})
    if len(labels) > 1:
        pairs[" + ".join(labels)] += 1
print(pairs.most_common())
