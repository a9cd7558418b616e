"""Image layers: convolution, pooling and the step from images to flat features.

Batches of images are NCHW arrays: (images, channels, height, width). A convolution is a
Dense layer applied to every small window of the image with the *same* weights, so it is
written here as one: `im2col` gathers the windows into the rows of a matrix, one BLAS product
applies every filter to every window, and a Numba kernel puts the result into NCHW order with
the bias added (see `hashnet.kernels.images`).

Pooling shrinks an image by summarising each k x k window: its largest value (MaxPool2D) or
its mean (AvgPool2D). Average pooling is affine, so it keeps the linear regions of the network
as they are; max pooling is piecewise linear and adds its own region boundaries, where the
winner of a window changes.
"""

from __future__ import annotations

import math

import numpy as np

from hashnet._validation import check_int
from hashnet.kernels import images
from hashnet.nn.layers import Layer, RegionStep


class Conv2D(Layer):
    """2D convolution: `filters` learned (C, k, k) filters slid over the image.

    out[n, f, y, x] = b[f] + sum over c, i, j of W[f, c, i, j] * x[n, c, y*s + i - p, x*s + j - p]
    with stride s, zero padding p, and output size (size + 2p - k) // s + 1 per axis.
    Weights W have shape (filters, channels, k, k) and start He-uniform with fan-in C * k * k,
    the same rule as Dense (a filter *is* a Dense unit looking at one window).
    """

    decay = ("W",)
    input_rank = 3

    def __init__(self, filters: int, kernel_size: int = 3, stride: int = 1, padding: int = 0):
        super().__init__()
        self.filters = check_int(filters, "filters", 1)
        self.kernel_size = check_int(kernel_size, "kernel_size", 1)
        self.stride = check_int(stride, "stride", 1)
        self.padding = check_int(padding, "padding", 0)

    def build(self, input_shape, dtype, rng):
        channels, height, width = input_shape
        k, s, p = self.kernel_size, self.stride, self.padding
        if min(height, width) + 2 * p < k:
            raise ValueError(
                f"Conv2D with a {k}x{k} kernel and padding {p} needs images of at least "
                f"{k - 2 * p}x{k - 2 * p} pixels, got {height}x{width}"
            )
        self._out_hw = images.output_size(height, k, s, p), images.output_size(width, k, s, p)
        fan_in = channels * k * k
        self.scratch_per_example = self._out_hw[0] * self._out_hw[1] * fan_in
        limit = np.sqrt(6.0 / fan_in)
        self.params = {
            "W": rng.uniform(-limit, limit, (self.filters, channels, k, k)).astype(dtype),
            "b": np.zeros(self.filters, dtype),
        }
        self.grads = {name: np.zeros_like(v) for name, v in self.params.items()}
        return (self.filters, *self._out_hw)

    def _matrix(self, arrays):
        """The filters as a matrix, one row per filter (a view)."""
        W = arrays["W"]
        return W.reshape(self.filters, math.prod(W.shape[1:]))

    def forward(self, x, training=False):
        ops = self.ops
        n, f = x.shape[0], self.filters
        k, s, p = self.kernel_size, self.stride, self.padding
        positions = n * self._out_hw[0] * self._out_hw[1]
        x = ops.contiguous(x)
        W = self._matrix(self.params)
        # Kept for the backward pass; stored at once, so the previous batch's copy can go before
        # the next arrays are made (the largest array here, and memory is what bounds a batch).
        self.cache["cols"] = cols = self.buffer("cols", (W.shape[1], positions), x.dtype)
        self.cache["x_shape"] = x.shape
        ops.im2col(x, k, k, s, p, cols)
        rows = self.buffer("rows", (f, positions), x.dtype)
        ops.matmul(W, cols, rows)  # every filter on every window: one product
        out = self.buffer("out", (n, f, positions // n), x.dtype)
        ops.rows_to_images(rows, self.params["b"], out)
        return out.reshape(n, f, *self._out_hw)

    def backward(self, dy):
        ops, cols = self.ops, self.cache["cols"]
        n, f = dy.shape[0], self.filters
        rows = self.buffer("drows", (f, cols.shape[1]), dy.dtype)
        ops.images_to_rows(
            ops.contiguous(dy).reshape(n, f, cols.shape[1] // n), rows, self.grads["b"]
        )
        # dL/dW = rows cols^T (summed over images and positions by the product).
        ops.matmul(rows, cols, self._matrix(self.grads), trans_b=True)
        if not self.needs_input_grad:
            return None
        dcols = self.buffer("dcols", cols.shape, dy.dtype)
        ops.matmul(self._matrix(self.params), rows, dcols, trans_a=True)  # W^T rows
        dx = self.buffer("dx", self.cache["x_shape"], dy.dtype)
        k = self.kernel_size
        ops.col2im(dcols, k, k, self.stride, self.padding, dx)
        return dx

    def config(self):
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
        }

    def region_step(self):
        W = self._matrix(self.params).astype(np.float64)
        k, s, p = self.kernel_size, self.stride, self.padding
        shape, (oh, ow) = self.input_shape, self._out_hw
        zero = np.zeros(self.filters)

        def linear(h):
            x = np.ascontiguousarray(h.reshape(len(h), *shape))
            cols = np.empty((W.shape[1], len(h) * oh * ow))
            images.im2col(x, k, k, s, p, cols)
            out = np.empty((len(h), self.filters, oh * ow))
            images.rows_to_images(W @ cols, zero, out)
            return out.reshape(len(h), -1)

        bias = np.repeat(self.params["b"].astype(np.float64), oh * ow)
        return RegionStep("affine", linear, bias)


class _Pool(Layer, abstract=True):
    """Shared checks of the pooling layers: a k x k window moved by `stride` (default k)."""

    input_rank = 3

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        self.pool_size = check_int(pool_size, "pool_size", 1)
        self.stride = self.pool_size if stride is None else check_int(stride, "stride", 1)

    def build(self, input_shape, dtype, rng):
        channels, height, width = input_shape
        k = self.pool_size
        if min(height, width) < k:
            raise ValueError(
                f"{type(self).__name__} with a {k}x{k} window needs images of at least "
                f"{k}x{k} pixels, got {height}x{width}"
            )
        self._out_hw = (
            images.output_size(height, k, self.stride, 0),
            images.output_size(width, k, self.stride, 0),
        )
        return (channels, *self._out_hw)

    def _output(self, x, name="out", dtype=None):
        shape = (*x.shape[:2], *self._out_hw)
        return self.buffer(name, shape, x.dtype if dtype is None else dtype)

    def config(self):
        return {"pool_size": self.pool_size, "stride": self.stride}


class MaxPool2D(_Pool):
    """Keep the largest value of each k x k window (the first one on ties).

    Inside a window only the winner passes its gradient back. The layer is piecewise linear:
    where the winner of a window changes, the network's linear region changes too.
    """

    def forward(self, x, training=False):
        x = self.ops.contiguous(x)
        self.cache["argmax"] = argmax = self._output(x, "argmax", np.int32)
        self.cache["x_shape"] = x.shape
        out = self._output(x)
        self.ops.maxpool_forward(x, self.pool_size, self.stride, out, argmax)
        return out

    def backward(self, dy):
        dx = self.buffer("dx", self.cache["x_shape"], dy.dtype)
        dy = self.ops.contiguous(dy)
        self.ops.maxpool_backward(dy, self.cache["argmax"], self.pool_size, self.stride, dx)
        return dx

    def region_step(self):
        return RegionStep("maxpool", arg=self.windows())

    def windows(self):
        """(n_outputs, k*k): for each output (NCHW order), the flat indices of the inputs its
        window covers."""
        channels, height, width = self.input_shape
        oh, ow = self._out_hw
        k, s = self.pool_size, self.stride
        c = np.arange(channels)[:, None, None, None, None]
        y = (np.arange(oh) * s)[None, :, None, None, None] + np.arange(k)[None, None, None, :, None]
        x = (np.arange(ow) * s)[None, None, :, None, None] + np.arange(k)[None, None, None, None, :]
        flat = (c * height + y) * width + x  # (C, oh, ow, k, k)
        return flat.reshape(channels * oh * ow, k * k)


class AvgPool2D(_Pool):
    """Replace each k x k window by its mean: an affine map, the same for every input."""

    def forward(self, x, training=False):
        x = self.ops.contiguous(x)
        out = self._output(x)
        self.ops.avgpool_forward(x, self.pool_size, self.stride, out)
        self.cache["x_shape"] = x.shape
        return out

    def backward(self, dy):
        dx = self.buffer("dx", self.cache["x_shape"], dy.dtype)
        self.ops.avgpool_backward(self.ops.contiguous(dy), self.pool_size, self.stride, dx)
        return dx

    def region_step(self):
        shape, out_shape = self.input_shape, self.output_shape

        def linear(h):
            x = np.ascontiguousarray(h.reshape(len(h), *shape))
            out = np.empty((len(h), *out_shape))
            images.avgpool_forward(x, self.pool_size, self.stride, out)
            return out.reshape(len(h), -1)

        return RegionStep("affine", linear, np.zeros(math.prod(out_shape)))


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), channel by channel, row by row, so Dense layers can follow."""

    def build(self, input_shape, dtype, rng):
        self._in_shape = tuple(input_shape)
        return (math.prod(input_shape),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, dy):
        return dy.reshape(dy.shape[0], *self._in_shape)

    def region_step(self):
        return RegionStep("identity")  # the values stay, in the same (NCHW) order


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C): the mean of each channel over all positions.

    A common last step of convolutional networks instead of Flatten: the classifier then sees
    one number per feature map, wherever in the image the feature appeared.
    """

    input_rank = 3

    def build(self, input_shape, dtype, rng):
        self._in_shape = tuple(input_shape)
        return (input_shape[0],)

    def forward(self, x, training=False):
        out = self.buffer("out", x.shape[:2], x.dtype)
        self.ops.global_avgpool_forward(self.ops.contiguous(x), out)
        return out

    def backward(self, dy):
        dx = self.buffer("dx", (dy.shape[0], *self._in_shape), dy.dtype)
        self.ops.global_avgpool_backward(self.ops.contiguous(dy), dx)
        return dx

    def region_step(self):
        channels = self._in_shape[0]
        return RegionStep(
            "affine", lambda h: h.reshape(len(h), channels, -1).mean(axis=2), np.zeros(channels)
        )
