"""Solutions to the exercises of 07_regularization.ipynb."""

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)

# %% Exercise 1: push weight decay until the codes collapse.
for decay in (1e-2, 3e-2, 1e-1):
    net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0)
    net.fit(Xtr, ytr, epochs=20, weight_decay=decay, verbose=0)
    record = hn.encoding_properties(net, Xtr, ytr, Xte, yte, probes=("knn",))
    print(
        f"weight decay {decay:g}: rr_train {record['rr_train']:.3f}  "
        f"knn_test {record['knn_test']:.3f}  test_acc {record['test_acc']:.3f}"
    )
