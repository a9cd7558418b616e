# Source of tutorials/10_cnn_codes.ipynb. Edit this file or the notebook, then run
# `python scripts/build_tutorials.py` to carry the change across and re-execute.
# A notebook shows a cell's last expression and takes imports where they are used:
# ruff: noqa: B018, E402


# %% [markdown]
# # 10. The codes of a convolutional network
#
# Everything so far used multilayer perceptrons. A convolutional network is a ReLU network
# too: convolutions and average pooling are linear, and max pooling is piecewise linear.
# So every input of a CNN also has a neural code, one bit per ReLU unit. In this notebook
# you will train LeNet-5 (with ReLUs), look at its codes, which are much longer than an
# MLP's, and find at which layer the images come apart.
#
# **Paper:** its CNN experiments (VGG and ResNet on CIFAR-10); LeNet on fashion-mnist-mini
# is the laptop-sized version.


# %%
import matplotlib.pyplot as plt

import hashnet as hn

# %% [markdown]
# ## Images as NCHW arrays
#
# A CNN takes images with their shape: `flatten=False` gives arrays of shape
# (N, channels, height, width), here (N, 1, 28, 28).


# %%
Xi, yi, Xi_te, yi_te = hn.datasets.load("fashion-mnist-mini", flatten=False)
names = hn.datasets.CLASS_NAMES["fashion-mnist-mini"]
print(Xi.shape, Xi.dtype)

cnn = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
print(cnn)
print(cnn.n_params, "parameters")
cnn.fit(Xi, yi, epochs=2, batch_size=64, lr=3e-3)
print("test accuracy:", cnn.score(Xi_te, yi_te))


# %% [markdown]
# ## One bit per unit, and a convolution has many units
#
# A convolutional ReLU layer has one unit per channel **and** per position: LeNet's first
# layer has 6 channels of 28x28, so 4704 bits; the second 16 channels of 10x10 (1600
# bits); then the dense layers with 120 and 84 units. The code of one image has 6508
# bits. The first layer's bits can be drawn as six small black-and-white images: where
# each filter is on.


# %%
codes = cnn.codes(Xi)
print(codes, "layer sizes:", codes.layer_sizes)

first_layer = codes.layer(0).bits()[0].reshape(6, 28, 28)  # image 0, layer 1
fig, axes = plt.subplots(1, 7, figsize=(10, 1.8))
axes[0].imshow(Xi[0, 0], cmap="gray_r")
axes[0].set_title(names[yi[0]], fontsize=8)
for c, ax in enumerate(axes[1:]):
    ax.imshow(first_layer[c], cmap="gray_r")
    ax.set_title(f"channel {c} on", fontsize=8)
for ax in axes:
    ax.axis("off")
plt.show()


# %% [markdown]
# With thousands of bits, every image has a code of its own. The interesting question
# is at which layer the examples come apart. `codes.layer(i)` keeps one layer's bits,
# `codes.prefix(n)` the first `n` layers':


# %%
layer_rr = []
for i, size in enumerate(codes.layer_sizes):
    layer_rr.append(hn.redundancy_ratio(codes.layer(i)))
    print(
        f"layer {i + 1} ({size:4d} bits): rr {layer_rr[-1]:.3f}   "
        f"layers 1..{i + 1}: rr {hn.redundancy_ratio(codes.prefix(i + 1)):.3f}"
    )
knn = hn.KNN(k=9).fit(codes, yi).score(cnn.codes(Xi_te), yi_te)
print("K-NN on the CNN codes:", knn)


# %% [markdown]
# **What to look at.** The convolutional layers alone already separate every image: with
# thousands of bits, the first layer's code almost copies the image. The small dense
# layers near the output are where examples share codes: their codes describe the class
# rather than the particular image.


# %% tags=["remove-cell"]
# Checks that the text states what the cells computed (hidden in the rendered notebook).
assert codes.layer_sizes == (4704, 1600, 120, 84) and codes.n_bits == 6508
assert layer_rr[0] == 0 and layer_rr[1] == 0
assert layer_rr[3] > layer_rr[1]


# %% [markdown]
# ## Try this
#
# **1. Which layer classifies best?** (about 5 min) Run K-NN (k = 9) on each layer's codes
# alone (`codes.layer(i)` for training and test codes).
# *Expected:* every layer alone gives between about 0.75 and 0.81. The 84 bits of the last
# layer (about 0.77) do nearly as well as the 4704 of the first (about 0.79, like K-NN on
# the pixels): short codes near the output are already organised by class. *Hint:*
# `cnn.codes(Xi_te).layer(i)`.
#
# Solutions: `tutorials/solutions/10_cnn_codes.py`.
