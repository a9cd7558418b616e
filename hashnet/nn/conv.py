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

# Bytes of im2col matrix per chunk of images on the CPU (see Conv2D._chunk).
CHUNK_BYTES = 1 << 18


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

    def _chunk(self, n, dtype):
        """Images per pass of the im2col-product loop.

        On the CPU a batch goes through in chunks whose `cols` matrix fits in the core's cache
        (about CHUNK_BYTES): the copies and the products then work on data the cache already
        holds, instead of streaming a matrix of tens of megabytes through memory three times
        (the 16-channel layers of a ResNet on 32x32 images have a 38 MB `cols` per batch of 64).
        The backward pass copies each chunk's windows again, which costs less than keeping
        them. On a GPU the whole batch is one chunk: there one large product is what is fast.
        """
        if self.ops.name != "cpu":
            return n
        per_image = self.scratch_per_example * np.dtype(dtype).itemsize
        return max(1, min(n, CHUNK_BYTES // per_image))

    def _scratch(self, n_images, dtype, names):
        """Scratch matrices for a chunk of `n_images` images, by name: "cols" and "dcols"
        (weights, positions), "rows" (filters, positions).

        On the CPU they stay inside the layer, the same memory from batch to batch: a fresh
        array of this size would cost a round of page faults at every call. The last chunk of
        a batch may be shorter; its matrices are views of the same memory."""
        positions = n_images * self._out_hw[0] * self._out_hw[1]
        weights = self._matrix(self.params).shape[1]
        shapes = {"cols": (weights, positions), "rows": (self.filters, positions)}
        shapes["dcols"] = shapes["cols"]
        out = []
        for name in names:
            shape = shapes[name]
            if self.ops.name != "cpu":
                out.append(self.buffer(name, shape, dtype))
                continue
            size, buf = math.prod(shape), self._buffers.get(name)
            if buf is None or buf.dtype != dtype or buf.size < size:
                buf = self._buffers[name] = np.empty(size, dtype)
            out.append(buf[:size].reshape(shape))
        return out

    def _chunks(self, n, dtype, names):
        """(start, stop, scratch matrices) for each chunk of a batch of n images."""
        chunk = self._chunk(n, dtype)
        full = self._scratch(chunk, dtype, names)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            short = stop - start < chunk  # the last chunk of the batch
            yield start, stop, self._scratch(stop - start, dtype, names) if short else full

    def forward(self, x, training=False):
        ops = self.ops
        n, f = x.shape[0], self.filters
        k, s, p = self.kernel_size, self.stride, self.padding
        x = ops.contiguous(x)
        W, b = self._matrix(self.params), self.params["b"]
        out = self.buffer("out", (n, f, self._out_hw[0] * self._out_hw[1]), x.dtype)
        self.cache["x"] = x  # kept for the backward pass, which needs the windows again
        self.cache["cols"] = None
        for start, stop, (cols, rows) in self._chunks(n, x.dtype, ("cols", "rows")):
            ops.im2col(x[start:stop], k, k, s, p, cols)
            ops.matmul(W, cols, rows)  # every filter on every window: one product
            ops.rows_to_images(rows, b, out[start:stop])
        if self._chunk(n, x.dtype) >= n:
            self.cache["cols"] = cols  # one chunk: the backward pass can use it as it is
        return out.reshape(n, f, *self._out_hw)

    def backward(self, dy):
        ops, x = self.ops, self.cache["x"]
        n, f = dy.shape[0], self.filters
        k, s, p = self.kernel_size, self.stride, self.padding
        dy = ops.contiguous(dy).reshape(n, f, self._out_hw[0] * self._out_hw[1])
        W, dW, db = self._matrix(self.params), self._matrix(self.grads), self.grads["b"]
        dx = self.buffer("dx", x.shape, dy.dtype) if self.needs_input_grad else None
        # On the CPU, BLAS makes the thin product rows cols^T (a few filters by many weights,
        # summed over positions) two to three times faster as its transpose cols rows^T, which
        # the chunks add up in one (weights, filters) matrix. Later chunks add their dW^T and
        # db to the first chunk's.
        cpu = ops.name == "cpu"
        dWT = dWT_part = db_part = None
        if cpu:
            dWT = self._small("dWT", (W.shape[1], f), dW.dtype)
            dWT_part = self._small("dWT_part", (W.shape[1], f), dW.dtype)
            db_part = self._small("db_part", db.shape, db.dtype)
        names = ("cols", "rows", "dcols") if dx is not None else ("cols", "rows")
        for start, stop, scratch in self._chunks(n, dy.dtype, names):
            cols, rows = self.cache["cols"], scratch[1]
            if cols is None:  # the windows of this chunk, copied again
                cols = scratch[0]
                ops.im2col(x[start:stop], k, k, s, p, cols)
            first = start == 0
            # dL/db sums dy over images and positions, dL/dW = rows cols^T.
            ops.images_to_rows(dy[start:stop], rows, db if first else db_part)
            if not cpu:
                ops.matmul(rows, cols, dW, trans_b=True)  # one chunk on a GPU
            else:
                ops.matmul(cols, rows, dWT if first else dWT_part, trans_b=True)
                if not first:
                    ops.add_into(db, db_part)
                    ops.add_into(dWT, dWT_part)
            if dx is not None:
                ops.matmul(W, rows, scratch[2], trans_a=True)  # W^T rows
                ops.col2im(scratch[2], k, k, s, p, dx[start:stop])
        if cpu:
            ops.copy_into(dW, dWT.T)
        return dx

    def _small(self, name, shape, dtype):
        """A small scratch array kept by the layer (CPU)."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype)
        return buf

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
