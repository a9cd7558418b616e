"""Solutions to the exercises of 04_categorizing_with_codes.ipynb."""

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
net = hn.MLP(784, hidden=(100,), n_classes=10, seed=0)
net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
codes_tr, codes_te = net.codes(Xtr), net.codes(Xte)

# %% Exercise 1: K-NN with k = 1, 3, 9, 27, 81 on codes and on pixels.
for k in (1, 3, 9, 27, 81):
    on_codes = hn.KNN(k=k, metric="hamming").fit(codes_tr, ytr).score(codes_te, yte)
    on_pixels = hn.KNN(k=k, metric="euclidean").fit(Xtr, ytr).score(Xte, yte)
    print(f"k = {k:2d}: codes {on_codes:.3f}   pixels {on_pixels:.3f}")

# %% Exercise 2: drop the bits that never change on the training set.
kept_tr = codes_tr.drop_constant()
kept_te = codes_te.drop_constant(reference=codes_tr)
print(f"{codes_tr.n_bits} bits, {kept_tr.n_bits} of them change on the training set")
for label, (tr, te) in {"all bits": (codes_tr, codes_te), "kept": (kept_tr, kept_te)}.items():
    knn = hn.KNN(k=9).fit(tr, ytr).score(te, yte)
    lr = hn.LogisticRegression(C=1.0).fit(tr, ytr).score(te, yte)
    print(f"{label:8s}: K-NN {knn:.3f}   logistic regression {lr:.3f}")
