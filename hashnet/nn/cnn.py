"""Convolutional networks: `CNN`, with the `lenet` and `vgg` builders.

A CNN here is a `Sequential` whose input is an image (channels, height, width): everything
an MLP offers (fit, predict, codes, get_weights, save, ...) works the same way. Its neural
code has one bit per ReLU unit, and a convolutional ReLU layer has one unit per channel *and*
position: a 6-channel 28x28 feature map gives 4704 bits.
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_dtype, check_int, check_seed
from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, GlobalAvgPool2D, MaxPool2D
from hashnet.nn.layers import BatchNorm, Dense, Dropout, activation_layer
from hashnet.nn.model import Sequential


class CNN(Sequential):
    """A convolutional classifier: a Sequential that takes NCHW images.

    Build one with a recipe, `CNN.lenet(...)` or `CNN.vgg(...)`, or from your own list of
    layers: `CNN([Conv2D(8, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(10)],
    input_shape=(1, 28, 28))`.
    """

    def __init__(self, layers, input_shape, seed=0, dtype="float32"):
        shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
        if len(tuple(shape)) != 3:
            raise ValueError(
                f"a CNN takes images: input_shape must be (channels, height, width), got "
                f"{input_shape!r}"
            )
        super().__init__(layers, input_shape, seed=seed, dtype=dtype)

    @classmethod
    def lenet(
        cls,
        input_shape=(1, 28, 28),
        n_classes=10,
        pool="max",
        activation="relu",
        alpha=0.01,
        seed=0,
        dtype="float32",
    ):
        """LeNet-5 with ReLUs: conv 6@5x5 -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> classes.

        For 28x28 inputs (MNIST, Fashion-MNIST) the first convolution pads by 2, so the
        feature maps have LeNet's sizes (28 -> 14 -> 10 -> 5); 32x32 inputs (CIFAR-10) need no
        padding. pool: "max" (the modern choice) or "avg" (as in the original, and affine).
        """
        channels, height, width = _image_shape(input_shape)
        pad = 2 if min(height, width) < 32 else 0
        pool_layer = _pool_maker(pool)

        def act():
            return activation_layer(activation, alpha)

        layers = [
            Conv2D(6, 5, padding=pad),
            act(),
            pool_layer(),
            Conv2D(16, 5),
            act(),
            pool_layer(),
            Flatten(),
            Dense(120),
            act(),
            Dense(84),
            act(),
            Dense(_n_classes(n_classes)),
        ]
        return cls._from_recipe(layers, input_shape, seed, dtype)

    @classmethod
    def vgg(
        cls,
        widths=(16, 32),
        input_shape=(1, 28, 28),
        n_classes=10,
        convs_per_block=2,
        dense=(128,),
        batchnorm=False,
        dropout=0.0,
        head="flatten",
        activation="relu",
        alpha=0.01,
        seed=0,
        dtype="float32",
    ):
        """A small VGG-style network: one block per entry of `widths`, each block being
        `convs_per_block` x [conv 3x3 (padding 1) -> (BatchNorm) -> ReLU] and a 2x2 max pool;
        then `head` ("flatten", or "gap" for global average pooling), the hidden Dense layers
        `dense` (each followed by ReLU and optional Dropout) and the class logits.

        widths=(16, 32) on 28x28 images gives feature maps 16@28x28 -> 16@14x14 -> 32@14x14 ->
        32@7x7. Each block halves the image, so it needs at least 2**len(widths) pixels a side.
        """
        _, height, width = _image_shape(input_shape)
        widths = [check_int(w, "a VGG block's width", 1) for w in np.atleast_1d(widths).tolist()]
        if not widths:
            raise ValueError("widths must list at least one block's channel count")
        if min(height, width) < 2 ** len(widths):
            raise ValueError(
                f"{len(widths)} VGG blocks halve the image {len(widths)} times and need at least "
                f"{2 ** len(widths)}x{2 ** len(widths)} pixels, got {height}x{width}"
            )
        if head not in ("flatten", "gap"):
            raise ValueError(f"head must be 'flatten' or 'gap', got {head!r}")
        convs_per_block = check_int(convs_per_block, "convs_per_block", 1)
        layers = []
        for channels in widths:
            for _ in range(convs_per_block):
                layers.append(Conv2D(channels, 3, padding=1))
                if batchnorm:
                    layers.append(BatchNorm())
                layers.append(activation_layer(activation, alpha))
            layers.append(MaxPool2D(2))
        layers.append(Flatten() if head == "flatten" else GlobalAvgPool2D())
        for units in np.atleast_1d(dense if dense is not None else ()).tolist():
            layers.append(Dense(units))
            layers.append(activation_layer(activation, alpha))
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Dense(_n_classes(n_classes)))
        return cls._from_recipe(layers, input_shape, seed, dtype)

    @classmethod
    def _from_recipe(cls, layers, input_shape, seed, dtype):
        return cls(
            layers, _image_shape(input_shape), seed=check_seed(seed), dtype=check_dtype(dtype)
        )

    def _config(self):
        return {**super()._config(), "class": "CNN"}

    def __repr__(self):
        return "CNN" + super().__repr__()[len("Sequential") :]


def _image_shape(input_shape):
    shape = tuple(np.atleast_1d(input_shape).tolist())
    if len(shape) != 3:
        raise ValueError(
            f"input_shape must be (channels, height, width) of positive sizes, got {input_shape!r}"
        )
    return tuple(check_int(d, "each size of input_shape", 1) for d in shape)


def _n_classes(n_classes):
    return check_int(n_classes, "n_classes", 2)


def _pool_maker(pool):
    makers = {"max": MaxPool2D, "avg": AvgPool2D}
    if pool not in makers:
        raise ValueError(f"pool must be 'max' or 'avg', got {pool!r}")
    return lambda: makers[pool](2)
