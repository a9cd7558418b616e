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

import numpy as np

from hashnet._validation import check_int
from hashnet.kernels import images as KI
from hashnet.nn.layers import Layer


def _check_image_shape(layer, input_shape):
    if len(input_shape) != 3:
        raise ValueError(
            f"{type(layer).__name__} expects images (channels, height, width), got input "
            f"shape {input_shape}; put it before any Flatten or Dense layer"
        )
    return input_shape


class Conv2D(Layer):
    """2D convolution: `filters` learned (C, k, k) filters slid over the image.

    out[n, f, y, x] = b[f] + sum over c, i, j of W[f, c, i, j] * x[n, c, y*s + i - p, x*s + j - p]
    with stride s, zero padding p, and output size (size + 2p - k) // s + 1 per axis.
    Weights W have shape (filters, channels, k, k) and start He-uniform with fan-in C * k * k,
    the same rule as Dense (a filter *is* a Dense unit looking at one window).
    """

    decay = ("W",)

    def __init__(self, filters: int, kernel_size: int = 3, stride: int = 1, padding: int = 0):
        super().__init__()
        self.filters = check_int(filters, "filters", 1)
        self.kernel_size = check_int(kernel_size, "kernel_size", 1)
        self.stride = check_int(stride, "stride", 1)
        self.padding = check_int(padding, "padding", 0)

    def build(self, input_shape, dtype, rng):
        channels, height, width = _check_image_shape(self, input_shape)
        k, s, p = self.kernel_size, self.stride, self.padding
        if min(height, width) + 2 * p < k:
            raise ValueError(
                f"Conv2D with a {k}x{k} kernel and padding {p} needs images of at least "
                f"{k - 2 * p}x{k - 2 * p} pixels, got {height}x{width}"
            )
        self._out_hw = KI.output_size(height, k, s, p), KI.output_size(width, k, s, p)
        fan_in = channels * k * k
        self.scratch_per_example = self._out_hw[0] * self._out_hw[1] * fan_in
        limit = np.sqrt(6.0 / fan_in)
        self.params = {
            "W": rng.uniform(-limit, limit, (self.filters, channels, k, k)).astype(dtype),
            "b": np.zeros(self.filters, dtype),
        }
        self.grads = {name: np.zeros_like(v) for name, v in self.params.items()}
        return (self.filters, *self._out_hw)

    def forward(self, x, training=False):
        n = x.shape[0]
        k, s, p = self.kernel_size, self.stride, self.padding
        oh, ow = self._out_hw
        x = np.ascontiguousarray(x)
        W = self.params["W"].reshape(self.filters, -1)  # one row per filter
        cols = np.empty((W.shape[1], n * oh * ow), x.dtype)
        KI.im2col(x, k, k, s, p, cols)
        self._cols, self._x_shape = cols, x.shape
        out = np.empty((n, self.filters, oh * ow), x.dtype)
        KI.rows_to_images(W @ cols, self.params["b"], out)  # (filters, n * positions)
        return out.reshape(n, self.filters, oh, ow)

    def backward(self, dy):
        n = dy.shape[0]
        W = self.params["W"].reshape(self.filters, -1)
        rows = np.empty((self.filters, self._cols.shape[1]), dy.dtype)
        dy = np.ascontiguousarray(dy).reshape(n, self.filters, -1)
        KI.images_to_rows(dy, rows, self.grads["b"])
        # dL/dW = rows cols^T (summed over images and positions by the product).
        np.dot(rows, self._cols.T, out=self.grads["W"].reshape(self.filters, -1))
        if not self.needs_input_grad:
            return None
        dx = np.empty(self._x_shape, dy.dtype)
        KI.col2im(W.T @ rows, self.kernel_size, self.kernel_size, self.stride, self.padding, dx)
        return dx

    def config(self):
        return {
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
        }


class _Pool(Layer):
    """Shared checks of the pooling layers: a k x k window moved by `stride` (default k)."""

    def __init__(self, pool_size: int = 2, stride: int | None = None):
        super().__init__()
        self.pool_size = check_int(pool_size, "pool_size", 1)
        self.stride = self.pool_size if stride is None else check_int(stride, "stride", 1)

    def build(self, input_shape, dtype, rng):
        channels, height, width = _check_image_shape(self, input_shape)
        k = self.pool_size
        if min(height, width) < k:
            raise ValueError(
                f"{type(self).__name__} with a {k}x{k} window needs images of at least "
                f"{k}x{k} pixels, got {height}x{width}"
            )
        self._out_hw = (
            KI.output_size(height, k, self.stride, 0),
            KI.output_size(width, k, self.stride, 0),
        )
        return (channels, *self._out_hw)

    def _output(self, x):
        return np.empty((*x.shape[:2], *self._out_hw), x.dtype)

    def config(self):
        return {"pool_size": self.pool_size, "stride": self.stride}


class MaxPool2D(_Pool):
    """Keep the largest value of each k x k window (the first one on ties).

    Inside a window only the winner passes its gradient back. The layer is piecewise linear:
    where the winner of a window changes, the network's linear region changes too.
    """

    def forward(self, x, training=False):
        x = np.ascontiguousarray(x)
        out = self._output(x)
        self._argmax = np.empty(out.shape, np.int32)
        KI.maxpool_forward(x, self.pool_size, self.stride, out, self._argmax)
        self._x_shape = x.shape
        return out

    def backward(self, dy):
        dx = np.empty(self._x_shape, dy.dtype)
        KI.maxpool_backward(np.ascontiguousarray(dy), self._argmax, dx)
        return dx


class AvgPool2D(_Pool):
    """Replace each k x k window by its mean: an affine map, the same for every input."""

    def forward(self, x, training=False):
        x = np.ascontiguousarray(x)
        out = self._output(x)
        KI.avgpool_forward(x, self.pool_size, self.stride, out)
        self._x_shape = x.shape
        return out

    def backward(self, dy):
        dx = np.empty(self._x_shape, dy.dtype)
        KI.avgpool_backward(np.ascontiguousarray(dy), self.pool_size, self.stride, dx)
        return dx


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), channel by channel, row by row, so Dense layers can follow."""

    def build(self, input_shape, dtype, rng):
        self._in_shape = tuple(input_shape)
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(dy.shape[0], *self._in_shape)


class GlobalAvgPool2D(Layer):
    """(N, C, H, W) -> (N, C): the mean of each channel over all positions.

    A common last step of convolutional networks instead of Flatten: the classifier then sees
    one number per feature map, wherever in the image the feature appeared.
    """

    def build(self, input_shape, dtype, rng):
        channels, height, width = _check_image_shape(self, input_shape)
        self._in_shape = (channels, height, width)
        return (channels,)

    def forward(self, x, training=False):
        return x.mean(axis=(2, 3), dtype=x.dtype)

    def backward(self, dy):
        positions = self._in_shape[1] * self._in_shape[2]
        share = dy / dy.dtype.type(positions)
        return np.repeat(share[:, :, None], positions, axis=2).reshape(dy.shape[0], *self._in_shape)


IMAGE_LAYERS = {
    cls.__name__: cls for cls in (Conv2D, MaxPool2D, AvgPool2D, Flatten, GlobalAvgPool2D)
}
