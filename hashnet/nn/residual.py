"""The residual block of ResNets: y = ReLU(F(x) + shortcut(x)).

A plain stack of layers has to *learn* to pass its input on; a residual block gets the input for
free and learns only a correction F(x):

    F(x)        = BN(conv3x3(ReLU(BN(conv3x3(x)))))      the "main path"
    shortcut(x) = x                                      when the shape stays the same
                = BN(conv1x1 with stride s (x))          when the block changes the number of
                                                         channels or halves the image (stride 2)
    y           = ReLU(F(x) + shortcut(x))

Gradients flow back through the sum along both paths, which is why networks of 50 and more
layers still train. To hashnet the block is one layer that holds its parts (Conv2D, BatchNorm
and ReLU layers, the same classes as elsewhere) and runs them in order. It has two ReLUs, and
both are part of the neural code: the block's bits are those of its inner ReLU, then those of
the ReLU after the sum.

For exact linear regions the sum changes nothing essential: on a piece of input space where
the inner ReLU's pattern is fixed, F and the shortcut are both affine, and so is their sum. The
region code carries the block's input beside the inner ReLU's output (see `region_step`).
"""

from __future__ import annotations

import math

import numpy as np

from hashnet._validation import check_int
from hashnet.nn.conv import Conv2D
from hashnet.nn.layers import BatchNorm, Layer, RegionStep, ReLU


class Residual(Layer):
    """A residual block: two 3x3 convolutions with batch norm, a shortcut, a ReLU after the sum.

    filters   output channels of both convolutions
    stride    1, or 2 to halve the image (the first convolution and the shortcut stride)
    momentum, eps: of the block's BatchNorm layers

    The shortcut is the identity when the input already has `filters` channels and the stride is
    1; otherwise a 1x1 convolution (with the stride) and batch norm project the input to the
    output's shape ("option B" of the ResNet paper).

    Parameters and statistics are named after the part that holds them ("conv1.W", "bn2.gamma",
    "shortcut_bn.running_var", ...), in the order the parts run.
    """

    input_rank = 3
    has_code = True

    def __init__(self, filters: int, stride: int = 1, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.filters = check_int(filters, "filters", 1)
        self.stride = check_int(stride, "stride", 1)
        self.momentum, self.eps = float(momentum), float(eps)
        self.conv1 = Conv2D(self.filters, 3, stride=self.stride, padding=1)
        self.bn1 = BatchNorm(momentum, eps)
        self.relu1 = ReLU()
        self.conv2 = Conv2D(self.filters, 3, padding=1)
        self.bn2 = BatchNorm(momentum, eps)
        self.relu2 = ReLU()
        self.shortcut: list = []  # decided in build, when the input's channels are known

    # --- building ----------------------------------------------------------------------------

    def parts(self):
        """(name, layer) of every part, in the order they run (the shortcut's after the main
        path's: it runs on the block's input, beside the main path)."""
        main = [("conv1", self.conv1), ("bn1", self.bn1), ("relu1", self.relu1)]
        main += [("conv2", self.conv2), ("bn2", self.bn2)]
        short = list(zip(("shortcut_conv", "shortcut_bn"), self.shortcut))
        return [*main, *short, ("relu2", self.relu2)]

    def build(self, input_shape, dtype, rng):
        channels = input_shape[0]
        if self.stride != 1 or channels != self.filters:
            self.shortcut = [
                Conv2D(self.filters, 1, stride=self.stride),
                BatchNorm(self.momentum, self.eps),
            ]
        else:
            self.shortcut = []
        shape = self.conv1.setup(input_shape, dtype, rng)
        for layer in (self.bn1, self.relu1, self.conv2, self.bn2):
            shape = layer.setup(shape, dtype, rng)
        if self.shortcut:
            short_shape = self.shortcut[0].setup(input_shape, dtype, rng)
            self.shortcut[1].setup(short_shape, dtype, rng)
        self.relu2.setup(shape, dtype, rng)
        # The block's arrays are its parts' arrays, under the parts' names.
        self.params, self.grads, self.state = {}, {}, {}
        for name, layer in self.parts():
            for key in layer.params:
                self.params[f"{name}.{key}"] = layer.params[key]
                self.grads[f"{name}.{key}"] = layer.grads[key]
            for key in layer.state:
                self.state[f"{name}.{key}"] = layer.state[key]
        self.decay = tuple(f"{name}.{key}" for name, layer in self.parts() for key in layer.decay)
        self.scratch_per_example = max(
            layer.scratch_per_example + math.prod(layer.output_shape) for _, layer in self.parts()
        )
        return shape

    @property
    def code_size(self):
        return 2 * math.prod(self.output_shape)  # the inner ReLU's bits, then the outer's

    def link(self, previous):
        # The first convolutions need no input gradient when the block is a network's first layer.
        self.conv1.needs_input_grad = self.needs_input_grad
        if self.shortcut:
            self.shortcut[0].needs_input_grad = self.needs_input_grad
        for before, layer in zip(
            [None, self.conv1, self.bn1, self.relu1, self.conv2],
            [self.conv1, self.bn1, self.relu1, self.conv2, self.bn2],
        ):
            layer.link(before)
        self.relu2.link(None)
        for layer in self.shortcut:
            layer.link(None)

    def place(self, ops, params, grads, state):
        super().place(ops, params, grads, state)
        for name, layer in self.parts():
            layer.place(
                ops,
                {key: params[f"{name}.{key}"] for key in layer.params},
                {key: grads[f"{name}.{key}"] for key in layer.grads},
                {key: state[f"{name}.{key}"] for key in layer.state},
            )

    def kernel_key(self):
        return (*super().kernel_key(), *(layer.kernel_key() for _, layer in self.parts()))

    def save_state(self):
        return [layer.save_state() for _, layer in self.parts()]

    def restore_state(self, saved):
        for (_, layer), state in zip(self.parts(), saved):
            layer.restore_state(state)

    # --- computing ---------------------------------------------------------------------------

    def _main(self, x, training, words=None, offset=0):
        h = self.bn1.forward(self.conv1.forward(x, training), training)
        if words is None:
            h = self.relu1.forward(h, training)
        else:
            h = self.relu1.forward_and_pack(h, words, offset)
        return self.bn2.forward(self.conv2.forward(h, training), training)

    def _sum(self, x, main, training):
        """main + shortcut(x), written into main (the main path's last buffer, free now)."""
        short = x
        for layer in self.shortcut:
            short = layer.forward(short, training)
        self.ops.add_into(main, short)
        return main

    def forward(self, x, training=False):
        s = self._sum(x, self._main(x, training), training)
        return self.relu2.forward(s, training)

    def forward_and_pack(self, x, words, offset):
        """The evaluation pass, writing both ReLUs' sign bits into the packed codes: the inner
        ReLU's from bit `offset`, the outer one's after them."""
        s = self._sum(x, self._main(x, False, words, offset), False)
        return self.relu2.forward_and_pack(s, words, offset + self.code_size // 2)

    def backward(self, dy):
        ds = self.relu2.backward(dy)  # the gradient of the sum goes to both of its terms
        d = self.bn2.backward(ds)
        d = self.relu1.backward(self.conv2.backward(d))
        dx = self.conv1.backward(self.bn1.backward(d))
        if self.shortcut:
            d_short = self.shortcut[0].backward(self.shortcut[1].backward(ds))
        else:
            d_short = ds
        if dx is None:  # the block is the network's first layer
            return None
        self.ops.add_into(dx, d_short)
        return dx

    # --- what other parts of hashnet ask -------------------------------------------------------

    def config(self):
        return {
            "filters": self.filters,
            "stride": self.stride,
            "momentum": self.momentum,
            "eps": self.eps,
        }

    def check_state(self, name, value):
        part, key = name.split(".", 1)
        return dict(self.parts())[part].check_state(key, value)

    def region_step(self):
        """The block to the exact-region algorithms: kind "residual", with `arg` holding its
        three affine maps (float64, on flat rows): the main path up to the inner ReLU
        ("first": conv1 + bn1), from the inner ReLU to the sum ("second": conv2 + bn2) and the
        shortcut (identity, or its conv + bn). Both ReLUs are plain ReLUs (slope 0)."""

        def affine(layers):
            steps = [layer.region_step() for layer in layers]

            def linear(h):
                for step in steps:
                    h = step.linear(h)
                return h

            bias = np.zeros(math.prod(layers[0].input_shape))
            for step in steps:
                bias = step.linear(bias[None])[0] + step.bias
            return linear, bias

        first = affine([self.conv1, self.bn1])
        second = affine([self.conv2, self.bn2])
        shortcut = affine(self.shortcut) if self.shortcut else None
        arg = {"first": first, "second": second, "shortcut": shortcut}
        return RegionStep("residual", arg={**arg, "n_in": math.prod(self.input_shape)})
