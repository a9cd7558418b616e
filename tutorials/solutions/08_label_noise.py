"""Solutions to the exercises of 08_label_noise.ipynb."""

import numpy as np

import hashnet as hn

Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=500)

# %% Exercise 1: does the network memorise the wrong labels? Its accuracy on the noisy labels it
# was trained with, against its accuracy on the true labels of the same images.
for epochs in (20, 100):
    noisy = hn.datasets.label_noise(ytr, 0.4, seed=0)
    net = hn.MLP(784, hidden=(40,), n_classes=10, seed=0)
    net.fit(Xtr, noisy, epochs=epochs, verbose=0)
    wrong = noisy != ytr
    fits_noise = net.score(Xtr[wrong], noisy[wrong])
    print(
        f"{epochs:3d} epochs: fits {fits_noise:.0%} of the wrong labels, "
        f"test accuracy {net.score(Xte, yte):.3f}, "
        f"rr_train {hn.redundancy_ratio(net.codes(Xtr)):.3f}"
    )

# %% Exercise 2: the study's noise model shuffles the picked labels among themselves.
for model in ("flip", "permute"):
    noisy = hn.datasets.label_noise(ytr, 0.4, seed=0, model=model)
    print(f"{model:8s}: {np.mean(noisy != ytr):.0%} of the labels actually changed")
