"""Convolutional networks: `CNN`, with the `lenet`, `vgg`, `resnet` and `resnet18` builders.

A CNN here is a `Sequential` whose input is an image (channels, height, width): everything
an MLP offers (fit, predict, codes, get_weights, save, ...) works the same way. Its neural
code has one bit per ReLU unit, and a convolutional ReLU layer has one unit per channel *and*
position: a 6-channel 28x28 feature map gives 4704 bits.
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_dtype, check_int, check_seed
from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, GlobalAvgPool2D, MaxPool2D
from hashnet.nn.layers import BatchNorm, Dense, Dropout, ReLU, activation_layer
from hashnet.nn.model import Sequential
from hashnet.nn.residual import Residual

# Convolutions per block of the standard VGGs (Simonyan and Zisserman 2015, table 1).
VGG_CONVS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


class CNN(Sequential):
    """A convolutional classifier: a Sequential that takes NCHW images.

    Build one with a recipe, `CNN.lenet(...)`, `CNN.vgg(...)`, `CNN.resnet(depth=20)` or
    `CNN.resnet18()`, or from your own list of
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
        width=6,
        batchnorm=False,
    ):
        """LeNet-5 with ReLUs: conv 6@5x5 -> pool -> conv 16@5x5 -> pool -> 120 -> 84 -> classes.

        For 28x28 inputs (MNIST, Fashion-MNIST) the first convolution pads by 2, so the
        feature maps have LeNet's sizes (28 -> 14 -> 10 -> 5); 32x32 inputs (CIFAR-10) need no
        padding. pool: "max" (the modern choice) or "avg" (as in the original, and affine).
        width: channels of the first convolution (the second gets 16/6 as many, rounded);
        batchnorm: a BatchNorm layer before every activation, as the study's CNNs have.
        """
        channels, height, width_px = _image_shape(input_shape)
        pad = 2 if min(height, width_px) < 32 else 0
        pool_layer = _pool_maker(pool)
        width = check_int(width, "width (channels of the first convolution)", 1)

        def act():
            norm = [BatchNorm()] if batchnorm else []
            return [*norm, activation_layer(activation, alpha)]

        layers = [
            Conv2D(width, 5, padding=pad),
            *act(),
            pool_layer(),
            Conv2D(max(1, round(16 * width / 6)), 5),
            *act(),
            pool_layer(),
            Flatten(),
            Dense(120),
            *act(),
            Dense(84),
            *act(),
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
        depth=None,
        width=64,
    ):
        """A VGG network: blocks of 3x3 convolutions, each block ending in a 2x2 max pool.

        With `depth` (11, 13, 16 or 19) it is the standard VGG of that depth, as the study
        trained it on CIFAR-10: five blocks of 64, 128, 256, 512 and 512 channels (scaled by
        width / 64) with 1-1-2-2-2 (VGG-11), 2-2-2-2-2 (VGG-13), 2-2-3-3-3 (VGG-16) or
        2-2-4-4-4 (VGG-19) convolutions, batch norm after every convolution, and the study's
        head: Flatten -> Dense 512 -> BatchNorm -> ReLU -> Dropout 0.5 -> logits. Five blocks
        halve a 32x32 image down to 1x1; a 28x28 image (Fashion-MNIST) gets a first
        convolution padded by 3, so the feature maps have the CIFAR sizes.

        Without `depth`, a small VGG-style network for laptops: one block per entry of `widths`,
        each `convs_per_block` x [conv 3x3 (padding 1) -> (BatchNorm) -> ReLU] and a 2x2 max
        pool; then `head` ("flatten", or "gap" for global average pooling), the hidden Dense
        layers `dense` (each followed by ReLU and optional Dropout) and the class logits.
        widths=(16, 32) on 28x28 images gives feature maps 16@28x28 -> 16@14x14 -> 32@14x14 ->
        32@7x7. Each block halves the image, so it needs at least 2**len(widths) pixels a side.
        convs_per_block may also list a count per block.
        """
        _, height, width_px = _image_shape(input_shape)
        dense_batchnorm, first_pad = False, 1
        if depth is not None:
            if depth not in VGG_CONVS:
                raise ValueError(f"depth must be one of {sorted(VGG_CONVS)}, got {depth!r}")
            width = check_int(width, "width (channels of the first block)", 1)
            widths = [max(1, round(c * width / 64)) for c in (64, 128, 256, 512, 512)]
            convs_per_block, batchnorm, dense, dropout = VGG_CONVS[depth], True, (512,), 0.5
            dense_batchnorm, head = True, "flatten"
            if min(height, width_px) < 32:  # pad small images up to 32x32 in the first conv
                first_pad = 1 + (32 - min(height, width_px) + 1) // 2
        widths = [check_int(w, "a VGG block's width", 1) for w in np.atleast_1d(widths).tolist()]
        if not widths:
            raise ValueError("widths must list at least one block's channel count")
        side = min(height, width_px) + 2 * (first_pad - 1)
        if side < 2 ** len(widths):
            raise ValueError(
                f"{len(widths)} VGG blocks halve the image {len(widths)} times and need at least "
                f"{2 ** len(widths)}x{2 ** len(widths)} pixels, got {height}x{width_px}"
            )
        if head not in ("flatten", "gap"):
            raise ValueError(f"head must be 'flatten' or 'gap', got {head!r}")
        counts = np.atleast_1d(convs_per_block).tolist()
        if len(counts) == 1:
            counts = counts * len(widths)
        if len(counts) != len(widths):
            raise ValueError(f"convs_per_block lists {len(counts)} counts for {len(widths)} blocks")
        counts = [check_int(c, "convs_per_block", 1) for c in counts]
        layers = []
        for channels, count in zip(widths, counts):
            for _ in range(count):
                layers.append(Conv2D(channels, 3, padding=first_pad if not layers else 1))
                if batchnorm:
                    layers.append(BatchNorm())
                layers.append(activation_layer(activation, alpha))
            layers.append(MaxPool2D(2))
        layers.append(Flatten() if head == "flatten" else GlobalAvgPool2D())
        for units in np.atleast_1d(dense if dense is not None else ()).tolist():
            layers.append(Dense(units))
            if dense_batchnorm:
                layers.append(BatchNorm())
            layers.append(activation_layer(activation, alpha))
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Dense(_n_classes(n_classes)))
        return cls._from_recipe(layers, input_shape, seed, dtype)

    @classmethod
    def resnet(
        cls,
        depth=20,
        input_shape=(3, 32, 32),
        n_classes=10,
        width=16,
        seed=0,
        dtype="float32",
    ):
        """A ResNet of the CIFAR family (He et al. 2016, section 4.2): depth 6n + 2.

        A 3x3 convolution with batch norm and ReLU, then three stages of n residual blocks
        (`hashnet.nn.Residual`) with width, 2 x width and 4 x width channels (16/32/64 by
        default), the first block of the second and third stage halving the image; then global
        average pooling and the logits. depth=20, 32, 56 give n = 3, 5, 9. `width` scales the
        channels (the width of the study's sweeps, as a channel multiplier).
        """
        depth = check_int(depth, "depth", 8)
        if (depth - 2) % 6:
            raise ValueError(f"a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, ...), got {depth}")
        width = check_int(width, "width", 1)
        blocks = (depth - 2) // 6
        layers = [Conv2D(width, 3, padding=1), BatchNorm(), ReLU()]
        for stage, channels in enumerate((width, 2 * width, 4 * width)):
            for b in range(blocks):
                layers.append(Residual(channels, stride=2 if stage > 0 and b == 0 else 1))
        layers += [GlobalAvgPool2D(), Dense(_n_classes(n_classes))]
        return cls._from_recipe(layers, input_shape, seed, dtype)

    @classmethod
    def resnet18(cls, input_shape=(3, 32, 32), n_classes=10, width=64, seed=0, dtype="float32"):
        """ResNet-18 as trained on CIFAR-10: a 3x3 stem convolution (no max pool: the images
        are small), four stages of two residual blocks with width, 2x, 4x and 8x width channels
        (64 ... 512 by default; stages 2-4 halve the image), global average pooling, logits."""
        width = check_int(width, "width", 1)
        layers = [Conv2D(width, 3, padding=1), BatchNorm(), ReLU()]
        for stage in range(4):
            for b in range(2):
                stride = 2 if stage > 0 and b == 0 else 1
                layers.append(Residual(width * 2**stage, stride=stride))
        layers += [GlobalAvgPool2D(), Dense(_n_classes(n_classes))]
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
