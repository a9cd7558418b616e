"""A network's forward and backward passes on the GPU.

`Runner(net)` copies the model's flat parameter vector to the GPU once and gives every layer a
GPU twin (a "step") that holds *views* into that one device vector, just as the host layers
hold views into `net._flat_params`; the gradients live in one device vector too, so an
optimiser step is one kernel over all parameters. Each step does what its layer does on the
CPU, with the kernels of `hashnet.kernels.cuda` in place of those of `cpu.py`/`images.py`, and
keeps what its backward pass needs (inputs, masks, im2col columns) in device buffers that are
reused from batch to batch (`Workspace`): after the first batch, training allocates nothing.

Supported layers: Dense, ReLU, LeakyReLU, Conv2D, MaxPool2D, AvgPool2D, Flatten and Dropout
(its random draws come from the layer's own generator on the host, so the GPU drops exactly the
units the CPU would). BatchNorm and GlobalAvgPool2D are not supported on the GPU yet.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from numba import cuda

from hashnet.kernels import cuda as K
from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from hashnet.nn.layers import Dense, Dropout, LeakyReLU

SUPPORTED = "Dense, ReLU, LeakyReLU, Conv2D, MaxPool2D, AvgPool2D, Flatten, Dropout"
_WARMED: set = set()  # kernel signatures compiled in this process (announced once)


class Workspace:
    """Device buffers by name, grown when a larger one is needed and otherwise reused.

    `array(name, shape, dtype)` returns a contiguous view of the named buffer with that shape,
    so the last, smaller batch of an epoch reuses the buffers of the full ones.
    """

    def __init__(self):
        self._buffers: dict = {}

    def array(self, name, shape, dtype):
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        size = int(np.prod(shape))
        buf = self._buffers.get(name)
        if buf is None or buf.dtype != dtype or buf.shape[0] < size:
            buf = cuda.device_array(max(size, 1), dtype)
            self._buffers[name] = buf
        return buf[:size].reshape(shape)


def _offset(view, flat):
    """Where the host view `view` starts inside the flat vector `flat`, in elements."""
    start = view.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    return start // flat.itemsize


def _flat(x):
    """A batch viewed as rows: (N, ...) -> (N, prod(...))."""
    return x.reshape(x.shape[0], int(np.prod(x.shape[1:])))


class Runner:
    """The GPU twin of a network (or of its first `n_layers` layers).

    params, grads    the flat parameter and gradient vectors on the device
    steps            one GPU step per layer, in order
    """

    def __init__(self, net, n_layers=None):
        layers = net.layers if n_layers is None else net.layers[:n_layers]
        for i, layer in enumerate(layers):
            if _STEPS.get(type(layer)) is None and not isinstance(layer, LeakyReLU):
                raise NotImplementedError(
                    f"device='cuda' does not support {type(layer).__name__} layers yet (layer "
                    f"{i} of this network); use device='cpu' for this network. Supported on "
                    f"the GPU: {SUPPORTED}."
                )
        self.net = net
        self.dtype = np.dtype(net.dtype)
        self.params = cuda.to_device(net._flat_params)
        self.grads = cuda.device_array(net._flat_grads.shape, self.dtype)
        K.fill(self.grads, 0)
        self.ws = Workspace()
        self.steps = [_make_step(i, layer, self) for i, layer in enumerate(layers)]

    # --- parameters ----------------------------------------------------------------------

    def _view(self, device_flat, host_flat, host_view):
        start = _offset(host_view, host_flat)
        return device_flat[start : start + host_view.size].reshape(host_view.shape)

    def param(self, layer, name):
        """The device view of layer.params[name] inside the flat parameter vector."""
        return self._view(self.params, self.net._flat_params, layer.params[name])

    def grad(self, layer, name):
        return self._view(self.grads, self.net._flat_grads, layer.grads[name])

    def pull(self):
        """Copy the device parameters into the model's flat host vector (predict, save, ...)."""
        self.params.copy_to_host(self.net._flat_params)

    # --- passes --------------------------------------------------------------------------

    def forward(self, x, training=False):
        for step in self.steps:
            x = step.forward(x, training)
        return x

    def backward(self, dlogits):
        grad = dlogits
        for step in reversed(self.steps):
            grad = step.backward(grad)

    def evaluate(self, X, y, chunk):
        """(mean cross-entropy, accuracy) of device arrays X (N, features) and y, in evaluation
        mode, `chunk` examples at a time."""
        n = X.shape[0]
        row_loss = self.ws.array("eval loss", (n,), np.float64)
        row_correct = self.ws.array("eval correct", (n,), np.int32)
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            x = X[start:stop].reshape(stop - start, *self.net.input_shape)
            logits = self.forward(x, training=False)
            dlogits = self.ws.array("eval dlogits", logits.shape, self.dtype)
            labels = y[start:stop]
            K.softmax_xent_rows(
                logits, labels, dlogits, row_loss[start:stop], row_correct[start:stop]
            )
        loss = float(row_loss.copy_to_host().sum())
        return loss / n, int(row_correct.copy_to_host().sum()) / n

    def warmup(self, optimizer, verbose=True):
        """Compile every kernel this network's training uses (numba compiles a CUDA kernel the
        first time it meets new argument types), announcing it once per process, so the first
        epoch's time is training only. Runs one example forward and backward (gradients are
        overwritten by every batch anyway) and the optimiser on a scratch vector."""
        kinds = tuple(sorted({type(step).__name__ for step in self.steps}))
        key = (self.dtype.str, kinds, type(optimizer).__name__)
        if key in _WARMED:
            return
        start = time.perf_counter()
        if verbose:
            print("preparing the CUDA kernels (compiled on first use) ...", end="", **_ERR)
        x = self.ws.array("warmup x", (1, *self.net.input_shape), self.dtype)
        K.fill(x, 0)
        logits = self.forward(x, training=False)
        y = self.ws.array("warmup y", (1,), np.int64)
        K.fill(y, 0)
        dlogits = self.ws.array("warmup dlogits", logits.shape, self.dtype)
        row_loss = self.ws.array("warmup loss", (1,), np.float64)
        row_correct = self.ws.array("warmup correct", (1,), np.int32)
        K.softmax_xent_rows(logits, y, dlogits, row_loss, row_correct)
        self.backward(dlogits)
        for step in self.steps:
            step.warm()
        p = self.ws.array("warmup p", (1,), self.dtype)
        K.fill(p, 0)
        _optimizer_step(optimizer, p, p, [p, p], 0)
        cuda.synchronize()
        _WARMED.add(key)
        if verbose:
            print(f" done in {time.perf_counter() - start:.1f}s", **_ERR)


_ERR = dict(file=sys.stderr, flush=True)


def optimizer_state(optimizer, n_params, dtype):
    """The device arrays of an optimiser's state: [velocity] for SGD, [m1, m2] for Adam."""
    from hashnet.nn.optim import SGD

    state = [
        cuda.device_array(n_params, dtype) for _ in range(1 if isinstance(optimizer, SGD) else 2)
    ]
    for array in state:
        K.fill(array, 0)
    return state


def _optimizer_step(optimizer, params, grads, state, n_decay, step=1):
    """One optimiser step on the device, with the settings of the host optimiser object."""
    from hashnet.nn.optim import SGD

    if isinstance(optimizer, SGD):
        K.sgd_step(
            params,
            grads,
            state[0],
            optimizer.lr,
            optimizer.momentum,
            optimizer.nesterov,
            optimizer.weight_decay,
            n_decay,
        )
    else:
        K.adam_step(
            params,
            grads,
            state[0],
            state[1],
            optimizer.lr,
            optimizer.beta1,
            optimizer.beta2,
            optimizer.eps,
            step,
            optimizer.weight_decay,
            n_decay,
        )


# --- the steps: one per layer ------------------------------------------------------------------


class _Step:
    def __init__(self, index, layer, runner):
        self.key = f"{index} {type(layer).__name__}"
        self.layer = layer
        self.ws = runner.ws
        self.dtype = runner.dtype

    def buffer(self, name, shape, dtype=None):
        return self.ws.array(f"{self.key} {name}", shape, self.dtype if dtype is None else dtype)

    def warm(self):
        """Compile kernels that the warm-up's evaluation-mode pass does not reach."""


class _DenseStep(_Step):
    def __init__(self, index, layer, runner):
        super().__init__(index, layer, runner)
        self.W, self.b = runner.param(layer, "W"), runner.param(layer, "b")
        self.dW, self.db = runner.grad(layer, "W"), runner.grad(layer, "b")

    def forward(self, x, training=False):
        z = self.buffer("z", (x.shape[0], self.layer.units))
        K.matmul(x, self.W, z)
        if not self.layer.bias_in_activation:
            K.add_bias(z, self.b)
        self.x = x
        return z

    def backward(self, dz):
        K.matmul(self.x, dz, self.dW, trans_a=True)  # dW = x^T dz
        if not self.layer.bias_in_activation:
            K.column_sum(dz, self.db)
        if not self.layer.needs_input_grad:
            return None
        dx = self.buffer("dx", self.x.shape)
        K.matmul(dz, self.W, dx, trans_b=True)  # dx = dz W^T
        return dx


class _ActivationStep(_Step):
    """ReLU and LeakyReLU; adds the bias of the Dense layer before it, as on the CPU."""

    def __init__(self, index, layer, runner):
        super().__init__(index, layer, runner)
        dense = layer.bias_from
        self.b = None if dense is None else runner.param(dense, "b")
        self.db = None if dense is None else runner.grad(dense, "b")

    def forward(self, z, training=False):
        flat = _flat(z)
        out = self.buffer("out", flat.shape)
        self.mask = self.buffer("mask", flat.shape, np.uint8)
        if self.b is None:
            K.act_forward(flat, self.layer.alpha, out, self.mask)
        else:
            K.bias_act_forward(flat, self.b, self.layer.alpha, out, self.mask)
        return out.reshape(z.shape)

    def pack(self, z, words, offset):
        """The forward pass that ORs the sign bits into packed codes instead of a mask."""
        flat = _flat(z)
        out = self.buffer("out", flat.shape)
        if self.b is None:
            K.act_pack(flat, self.layer.alpha, out, words, offset)
        else:
            K.bias_act_pack(flat, self.b, self.layer.alpha, out, words, offset)
        return out.reshape(z.shape)

    def backward(self, dy):
        flat = _flat(dy)
        dx = self.buffer("dx", flat.shape)
        if self.db is None:
            K.act_backward(flat, self.mask, self.layer.alpha, dx)
        else:
            K.act_backward_bias(flat, self.mask, self.layer.alpha, dx, self.db)
        return dx.reshape(dy.shape)


class _ConvStep(_Step):
    """im2col, one product with the filters, and the NCHW re-layout with the bias (as the CPU
    layer); backward: the bias sum with the re-layout, two products, col2im."""

    def __init__(self, index, layer, runner):
        super().__init__(index, layer, runner)
        fan_in = int(np.prod(layer.params["W"].shape[1:]))
        self.W = runner.param(layer, "W").reshape(layer.filters, fan_in)  # one row per filter
        self.b = runner.param(layer, "b")
        self.dW = runner.grad(layer, "W").reshape(self.W.shape)
        self.db = runner.grad(layer, "b")

    def forward(self, x, training=False):
        layer = self.layer
        n, f = x.shape[0], layer.filters
        oh, ow = layer._out_hw
        k = layer.kernel_size
        cols = self.buffer("cols", (self.W.shape[1], n * oh * ow))
        K.im2col(x, k, k, layer.stride, layer.padding, cols)
        rows = self.buffer("rows", (f, n * oh * ow))
        K.matmul(self.W, cols, rows)
        out = self.buffer("out", (n, f, oh * ow))
        K.rows_to_images(rows, self.b, out)
        self.cols, self.x_shape = cols, x.shape
        return out.reshape(n, f, oh, ow)

    def backward(self, dy):
        layer = self.layer
        n, f = dy.shape[0], layer.filters
        rows = self.buffer("drows", (f, self.cols.shape[1]))
        K.images_to_rows(dy.reshape(n, f, self.cols.shape[1] // n), rows, self.db)
        K.matmul(rows, self.cols, self.dW, trans_b=True)  # dW = rows cols^T
        if not layer.needs_input_grad:
            return None
        dcols = self.buffer("dcols", self.cols.shape)
        K.matmul(self.W, rows, dcols, trans_a=True)  # W^T rows
        dx = self.buffer("dx", self.x_shape)
        k = layer.kernel_size
        K.col2im(dcols, k, k, layer.stride, layer.padding, dx)
        return dx


class _MaxPoolStep(_Step):
    def forward(self, x, training=False):
        out_shape = (*x.shape[:2], *self.layer._out_hw)
        out = self.buffer("out", out_shape)
        self.argmax = self.buffer("argmax", out_shape, np.int32)
        K.maxpool_forward(x, self.layer.pool_size, self.layer.stride, out, self.argmax)
        self.x_shape = x.shape
        return out

    def backward(self, dy):
        dx = self.buffer("dx", self.x_shape)
        K.maxpool_backward(dy, self.argmax, dx, self.layer.pool_size, self.layer.stride)
        return dx


class _AvgPoolStep(_Step):
    def forward(self, x, training=False):
        out = self.buffer("out", (*x.shape[:2], *self.layer._out_hw))
        K.avgpool_forward(x, self.layer.pool_size, self.layer.stride, out)
        self.x_shape = x.shape
        return out

    def backward(self, dy):
        dx = self.buffer("dx", self.x_shape)
        K.avgpool_backward(dy, self.layer.pool_size, self.layer.stride, dx)
        return dx


class _FlattenStep(_Step):
    def forward(self, x, training=False):
        self.x_shape = x.shape
        return _flat(x)

    def backward(self, dy):
        return dy.reshape(self.x_shape)


class _DropoutStep(_Step):
    def forward(self, x, training=False):
        layer = self.layer
        self.active = training and layer.rate > 0
        if not self.active:
            return x
        flat = _flat(x)
        # The same draw as Dropout.forward on the CPU, from the same generator.
        u = self.buffer("u", flat.shape)
        u.copy_to_device(layer.rng.random(flat.shape, self.dtype))
        out = self.buffer("out", flat.shape)
        self.mask = self.buffer("mask", flat.shape, np.uint8)
        K.dropout_forward(flat, u, layer.rate, out, self.mask)
        return out.reshape(x.shape)

    def backward(self, dy):
        if not self.active:
            return dy
        flat = _flat(dy)
        dx = self.buffer("dx", flat.shape)
        K.dropout_backward(flat, self.mask, self.layer.rate, dx)
        return dx.reshape(dy.shape)

    def warm(self):
        x = self.buffer("warm", (1, 1))
        mask = self.buffer("warm mask", (1, 1), np.uint8)
        K.fill(x, 1)
        K.dropout_forward(x, x, 0.5, x, mask)
        K.dropout_backward(x, mask, 0.5, x)


_STEPS = {
    Dense: _DenseStep,
    Conv2D: _ConvStep,
    MaxPool2D: _MaxPoolStep,
    AvgPool2D: _AvgPoolStep,
    Flatten: _FlattenStep,
    Dropout: _DropoutStep,
}


def _make_step(index, layer, runner):
    if isinstance(layer, LeakyReLU):  # ReLU is a LeakyReLU with alpha = 0
        return _ActivationStep(index, layer, runner)
    return _STEPS[type(layer)](index, layer, runner)
