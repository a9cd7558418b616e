"""A network as the exact region code sees it: affine maps between piecewise-linear steps.

Dense, Conv2D, AvgPool2D, evaluation-mode BatchNorm, Flatten, GlobalAvgPool2D and Dropout
(off outside training) are all affine: x -> L(x) + b with a linear L. What is left are the
piecewise-linear steps, which create region boundaries:

* a ReLU-like layer, one boundary per unit where its pre-activation is 0;
* a max-pooling layer, one boundary per pair of inputs of a window where the two are equal
  (there the winner of the window can change).

`network_steps(net)` returns the network as [Step(ops, kind, arg), ...] plus the affine ops
that lead to the logits. The region algorithms (`enumerate`, `count_along`) carry, on each
piece of input space, an affine map x(s) = s @ M + c from the piece's coordinates to the
current layer's values, and push it through the ops with `push`: the linear part acts on M,
linear part plus bias on c. Everything is float64 and flat: an image (C, H, W) is the vector of
its C*H*W values in NCHW order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet.kernels import images as KI


@dataclass
class AffineOp:
    """x -> linear(x) + bias on a batch of flat vectors (rows)."""

    linear: object  # function (B, D_in) -> (B, D_out)
    bias: np.ndarray  # (D_out,)


@dataclass
class Step:
    """Affine `ops`, then the piecewise-linear `kind`: "relu" (arg: the negative slope) or
    "maxpool" (arg: (n_outputs, k*k) flat indices of each window's inputs)."""

    ops: list
    kind: str
    arg: object


def push(ops, M, c):
    """Apply affine ops to the maps x(s) = s @ M[r] + c[r] of every piece r.

    M has shape (pieces, coordinates, D), c (pieces, D); returns the same for the output.
    """
    n, k, d = M.shape
    flat = M.reshape(n * k, d)
    for op in ops:
        flat = op.linear(flat)
        c = op.linear(c) + op.bias
    return flat.reshape(n, k, -1), c


def prepare_kernels(net):
    """Compile (or load) the kernels the region code will call for this network: the
    network's own, plus the image kernels in float64 for a CNN (its affine ops run on them)."""
    from hashnet import kernels

    if len(net.input_shape) == 3:
        kernels.warmup((net.dtype, "float64"), images=True)
    else:
        kernels.warmup((net.dtype,), images=False)


def network_steps(net):
    """([Step, ...], final ops): the network from its flat input to its logits."""
    from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, GlobalAvgPool2D, MaxPool2D
    from hashnet.nn.layers import BatchNorm, Dense, Dropout, LeakyReLU

    shape = tuple(net.input_shape)
    steps, ops = [], []
    for layer in net.layers:
        if isinstance(layer, Dense):
            ops.append(_dense(layer))
        elif isinstance(layer, BatchNorm):
            ops.append(_batchnorm(layer, shape))
        elif isinstance(layer, Conv2D):
            ops.append(_conv(layer, shape))
        elif isinstance(layer, AvgPool2D):
            ops.append(_avgpool(layer, shape))
        elif isinstance(layer, GlobalAvgPool2D):
            ops.append(_global_avgpool(shape))
        elif isinstance(layer, LeakyReLU):
            steps.append(Step(ops, "relu", layer.alpha))
            ops = []
        elif isinstance(layer, MaxPool2D):
            steps.append(Step(ops, "maxpool", _pool_windows(layer, shape)))
            ops = []
        elif not isinstance(layer, Dropout | Flatten):
            raise ValueError(
                "exact regions support Dense, Conv2D, ReLU/LeakyReLU, BatchNorm, MaxPool2D, "
                f"AvgPool2D, GlobalAvgPool2D, Flatten and Dropout layers, not "
                f"{type(layer).__name__}"
            )
        # The layer's output shape, from one zero input (the layers know it after build).
        shape = layer.forward(np.zeros((1, *shape), net.dtype), training=False).shape[1:]
    return steps, ops


def _dense(layer):
    W, b = (layer.params[k].astype(np.float64) for k in ("W", "b"))
    return AffineOp(lambda h: h @ W, b)


def _batchnorm(layer, shape):
    scale = layer.params["gamma"] / np.sqrt(layer.state["running_var"] + layer.eps)
    shift = layer.params["beta"] - layer.state["running_mean"] * scale
    positions = int(np.prod(shape[1:]))  # 1 for flat inputs: one value per feature
    scale = np.repeat(scale.astype(np.float64), positions)
    return AffineOp(lambda h: h * scale, np.repeat(shift.astype(np.float64), positions))


def _conv(layer, shape):
    W = layer.params["W"].astype(np.float64).reshape(layer.filters, -1)
    k, s, p = layer.kernel_size, layer.stride, layer.padding
    oh, ow = layer._out_hw
    zero = np.zeros(layer.filters)

    def linear(h):
        x = np.ascontiguousarray(h.reshape(len(h), *shape))
        cols = np.empty((W.shape[1], len(h) * oh * ow))
        KI.im2col(x, k, k, s, p, cols)
        out = np.empty((len(h), layer.filters, oh * ow))
        KI.rows_to_images(W @ cols, zero, out)
        return out.reshape(len(h), -1)

    return AffineOp(linear, np.repeat(layer.params["b"].astype(np.float64), oh * ow))


def _avgpool(layer, shape):
    out_shape = (shape[0], *layer._out_hw)

    def linear(h):
        x = np.ascontiguousarray(h.reshape(len(h), *shape))
        out = np.empty((len(h), *out_shape))
        KI.avgpool_forward(x, layer.pool_size, layer.stride, out)
        return out.reshape(len(h), -1)

    return AffineOp(linear, np.zeros(int(np.prod(out_shape))))


def _global_avgpool(shape):
    return AffineOp(lambda h: h.reshape(len(h), shape[0], -1).mean(axis=2), np.zeros(shape[0]))


def _pool_windows(layer, shape):
    """(n_outputs, k*k): for each output of the pooling layer (NCHW order), the flat indices
    of the inputs its window covers."""
    channels, height, width = shape
    oh, ow = layer._out_hw
    k, s = layer.pool_size, layer.stride
    c = np.arange(channels)[:, None, None, None, None]
    y = (np.arange(oh) * s)[None, :, None, None, None] + np.arange(k)[None, None, None, :, None]
    x = (np.arange(ow) * s)[None, None, :, None, None] + np.arange(k)[None, None, None, None, :]
    flat = (c * height + y) * width + x  # (C, oh, ow, k, k)
    return flat.reshape(channels * oh * ow, k * k)


def window_pairs(windows):
    """Index arrays (first, second) of every pair of inputs within each pooling window: the
    max can only change where one of these differences changes sign."""
    k2 = windows.shape[1]
    a, b = np.triu_indices(k2, 1)
    return windows[:, a].ravel(), windows[:, b].ravel()


def pool_winners(values, windows):
    """For values (pieces, D) at one point of each piece: which input of each window wins
    (the first on ties, as MaxPool2D), as (pieces, n_outputs) flat input indices."""
    best = values[:, windows].argmax(axis=2)  # (pieces, n_outputs): position in the window
    return windows[np.arange(len(windows))[None, :], best]


def affine_blocks(net):
    """An MLP as ReLU blocks: [(W, b, alpha), ...] and the final affine map (W, b).

    Each block maps its input h to the pre-activations h @ W + b of one ReLU-like layer (all
    Dense and evaluation-mode BatchNorm layers since the previous activation, multiplied out),
    followed by the activation with negative slope alpha (0 for ReLU). Networks with image
    layers have no such matrices; use `network_steps`.
    """
    steps, final = network_steps(net)
    if any(step.kind != "relu" for step in steps):
        raise ValueError("affine_blocks describes MLPs; this network has pooling layers")
    size = int(np.prod(net.input_shape))
    blocks = []
    for step in steps + [Step(final, "end", None)]:
        d = size if not blocks else blocks[-1][0].shape[1]
        M, c = push(step.ops, np.eye(d)[None], np.zeros((1, d)))
        if step.kind == "end":
            return blocks, (M[0], c[0])
        blocks.append((M[0], c[0], step.arg))
    raise AssertionError("unreachable")
