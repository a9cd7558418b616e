"""Make the saved-model fixtures of tests/test_saving_compat.py.

The committed .npz files were made with hashnet 0.1.0 before its layers, saving and GPU path
were reorganised, by running this script from a checkout of that version:

    python tests/data/make_saved_models.py tests/data

It saves four small trained models (an MLP with batch norm, dropout and leaky ReLUs; a float64
Sequential; a CNN with every image layer; a VGG-style CNN) and, in saved_outputs.npz, inputs
with the probabilities and codes each model gave. Loading the files with a later hashnet must
give the same numbers: files saved by earlier versions keep loading.
"""

import sys

import numpy as np

import hashnet as hn
from hashnet.nn import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sequential,
)

OUT = sys.argv[1]
rng = np.random.default_rng(0)
X = rng.normal(size=(40, 3)).astype(np.float32)
y = rng.integers(0, 3, 40)
mlp = hn.MLP(3, (6, 5), 3, batchnorm=True, dropout=0.2, activation="leaky_relu", alpha=0.05, seed=3)
mlp.fit(X, y, epochs=3, batch_size=8, verbose=0)
mlp.save(f"{OUT}/saved_mlp.npz")
seq = Sequential(
    [Dense(4), ReLU(), Dense(4), LeakyReLU(0.2), Dense(2)], input_shape=3, seed=1, dtype="float64"
)
seq.fit(X, y % 2, epochs=2, batch_size=8, verbose=0)
seq.save(f"{OUT}/saved_sequential.npz")
Xi = rng.normal(size=(12, 2, 8, 8)).astype(np.float32)
yi = rng.integers(0, 2, 12)
cnn = hn.CNN(
    [
        Conv2D(3, 3, padding=1),
        BatchNorm(),
        ReLU(),
        MaxPool2D(2),
        Conv2D(4, 3, stride=1),
        LeakyReLU(0.1),
        AvgPool2D(2, stride=1),
        GlobalAvgPool2D(),
        Dense(5),
        ReLU(),
        Dense(2),
    ],
    input_shape=(2, 8, 8),
    seed=4,
)
cnn.fit(Xi, yi, epochs=2, batch_size=4, verbose=0)
cnn.save(f"{OUT}/saved_cnn.npz")
lenet = hn.CNN.vgg(
    widths=(2,), input_shape=(1, 4, 4), n_classes=2, dense=(3,), batchnorm=True, seed=5
)
lenet.save(f"{OUT}/saved_vgg.npz")
Xv = rng.normal(size=(6, 1, 4, 4)).astype(np.float32)
np.savez(
    f"{OUT}/saved_outputs.npz",
    X=X[:10],
    Xi=Xi[:6],
    Xv=Xv,
    mlp_proba=mlp.predict_proba(X[:10]),
    mlp_codes=mlp.codes(X[:10]).words,
    seq_proba=seq.predict_proba(X[:10]),
    seq_codes=seq.codes(X[:10]).words,
    cnn_proba=cnn.predict_proba(Xi[:6]),
    cnn_codes=cnn.codes(Xi[:6]).words,
    vgg_proba=lenet.predict_proba(Xv),
    vgg_codes=lenet.codes(Xv).words,
)
print(mlp, seq, cnn, lenet, sep="\n")
