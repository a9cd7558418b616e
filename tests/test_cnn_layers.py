"""Image layers: kernels against their NumPy twins, a convolution against its definition,
and every backward pass against central finite differences in float64."""

import numpy as np
import pytest
from _tolerance import assert_close
from test_gradients import check_layer_gradients, network_loss, numeric_grad
from test_kernels import assert_same, magnitudes

from hashnet.kernels import images, reference
from hashnet.nn import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sequential,
)

DTYPES = [np.float32, np.float64]


def both(name, *args):
    """Run the Numba kernel and its twin on copies of args; return the two argument lists."""
    runs = []
    for impl in (images, reference):
        copies = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        getattr(impl, name)(*copies)
        runs.append(copies)
    return runs


# (batch, channels, height, width, kernel, stride, padding): odd sizes, stride 2, batch 1
CONV_CASES = [
    (1, 1, 5, 5, 3, 1, 0),
    (2, 3, 7, 6, 3, 2, 1),
    (3, 2, 8, 8, 5, 1, 2),
    (1, 4, 6, 9, 2, 2, 0),
    (2, 1, 4, 4, 1, 1, 0),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_convolution_kernels_match_twins(case, dtype):
    n, c, h, w, k, s, p = case
    rng = np.random.default_rng(sum(case))
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    oh, ow = images.output_size(h, k, s, p), images.output_size(w, k, s, p)
    cols = np.full((c * k * k, n * oh * ow), np.nan, dtype)
    runs = both("im2col", x, k, k, s, p, cols)
    assert_same(runs, dtype)
    assert not np.isnan(runs[0][5]).any()
    dcols = rng.normal(size=cols.shape).astype(dtype)
    args = dcols, k, k, s, p, np.full_like(x, np.nan)  # overlapping windows add up
    assert_same(both("col2im", *args), dtype, magnitudes("col2im", *args))
    f = 3
    rows = rng.normal(size=(f, n * oh * ow)).astype(dtype)
    b = rng.normal(size=f).astype(dtype)
    assert_same(both("rows_to_images", rows, b, np.empty((n, f, oh * ow), dtype)), dtype)
    dy = rng.normal(size=(n, f, oh * ow)).astype(dtype)
    args = dy, np.empty_like(rows), np.empty(f, dtype)  # the bias gradient sums dy
    assert_same(both("images_to_rows", *args), dtype, magnitudes("images_to_rows", *args))


def test_conv2d_in_chunks_matches_one_pass(monkeypatch):
    # On the CPU a batch goes through Conv2D a few images at a time; outputs and gradients
    # must not depend on how many.
    from hashnet.nn import conv

    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 3, 7, 6))
    dy = rng.normal(size=(5, 4, 4, 3))
    bias = rng.normal(size=4)
    results = []
    for chunk_bytes in (1 << 30, 1):  # the whole batch at once, then one image per chunk
        monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
        layer = Conv2D(4, 3, stride=2, padding=1)
        layer.build((3, 7, 6), np.float64, np.random.default_rng(0))
        layer.params["b"][...] = bias
        out = layer.forward(x, training=True).copy()
        dx = layer.backward(dy).copy()
        results.append((out, dx, layer.grads["W"].copy(), layer.grads["b"].copy()))
    for one, chunked in zip(*results):
        np.testing.assert_allclose(chunked, one, rtol=1e-12, atol=1e-12)
    W, b = layer.params["W"], layer.params["b"]
    assert_close(results[1][0], direct_convolution(x, W, b, 2, 1), scale=1.0)


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), D> == <x, col2im(D)> for all x, D: col2im is exactly the transpose.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    cols = np.empty((27, 2 * 4 * 3))
    images.im2col(x, 3, 3, 2, 1, cols)
    D = rng.normal(size=cols.shape)
    back = np.empty_like(x)
    images.col2im(D, 3, 3, 2, 1, back)
    assert_close(np.sum(cols * D), np.sum(x * back), scale=np.sum(np.abs(cols * D)))


POOL_CASES = [(1, 1, 4, 4, 2, 2), (2, 3, 7, 5, 2, 2), (2, 2, 6, 7, 3, 2), (1, 2, 5, 5, 3, 1)]


@pytest.mark.parametrize("case", POOL_CASES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
def test_pooling_kernels_match_twins(case, dtype):
    n, c, h, w, k, s = case
    rng = np.random.default_rng(sum(case))
    x = rng.normal(size=(n, c, h, w)).astype(dtype)
    x[0, 0, :2, :2] = 1.0  # a tie: both must pick the first maximum
    oh, ow = images.output_size(h, k, s, 0), images.output_size(w, k, s, 0)
    out, argmax = np.empty((n, c, oh, ow), dtype), np.empty((n, c, oh, ow), np.int32)
    runs = both("maxpool_forward", x, k, s, out, argmax)
    assert_same(runs, dtype)
    np.testing.assert_array_equal(runs[0][4], runs[1][4])
    dy = rng.normal(size=out.shape).astype(dtype)
    # Overlapping windows (stride < kernel) add several gradients into one input pixel.
    for name, args in [
        ("maxpool_backward", (dy, runs[0][4], k, s, np.full_like(x, np.nan))),
        ("avgpool_forward", (x, k, s, np.empty_like(out))),
        ("avgpool_backward", (dy, k, s, np.full_like(x, np.nan))),
    ]:
        assert_same(both(name, *args), dtype, magnitudes(name, *args))


def direct_convolution(x, W, b, stride, pad):
    """The definition, one output value at a time: independent of im2col."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    out = np.empty((n, f, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * stride : i * stride + k, j * stride : j * stride + k]
            out[:, :, i, j] = np.einsum("ncij,fcij->nf", window, W) + b
    return out


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_forward_is_a_convolution(case):
    n, c, h, w, k, s, p = case
    rng = np.random.default_rng(1)
    layer = Conv2D(4, k, stride=s, padding=p)
    out_shape = layer.build((c, h, w), np.float64, rng)
    layer.params["b"][...] = rng.normal(size=4)
    x = rng.normal(size=(n, c, h, w))
    got = layer.forward(x)
    assert got.shape == (n, *out_shape)
    W, b = layer.params["W"], layer.params["b"]
    want = direct_convolution(x, W, b, s, p)
    # each output is a sum of products: measured against the sum of their absolute values
    assert_close(got, want, scale=direct_convolution(np.abs(x), np.abs(W), np.abs(b), s, p))


IMAGE_LAYERS = {
    "conv 3x3": lambda: Conv2D(3, 3),
    "conv stride 2 pad 1": lambda: Conv2D(2, 3, stride=2, padding=1),
    "conv 1x1": lambda: Conv2D(2, 1),
    "conv 2x2 stride 2": lambda: Conv2D(2, 2, stride=2),
    "maxpool 2": lambda: MaxPool2D(2),
    "maxpool 3 stride 2": lambda: MaxPool2D(3, stride=2),
    "avgpool 2": lambda: AvgPool2D(2),
    "avgpool 3 stride 1": lambda: AvgPool2D(3, stride=1),
    "batchnorm train": BatchNorm,
    "batchnorm eval": BatchNorm,
    "flatten": Flatten,
    "global average pool": GlobalAvgPool2D,
    "relu": ReLU,
    "leaky relu": lambda: LeakyReLU(0.2),
    "dropout": lambda: Dropout(0.3),
}


@pytest.mark.parametrize("name", list(IMAGE_LAYERS))
@pytest.mark.parametrize("shape", [(1, 2, 5, 5), (3, 2, 7, 6)], ids=str)
def test_image_layer_backward_matches_finite_differences(name, shape):
    rng = np.random.default_rng(len(name) + shape[0])
    layer = IMAGE_LAYERS[name]()
    layer.build(shape[1:], np.float64, rng)
    for p in layer.params.values():
        p[...] = rng.normal(size=p.shape)
    if name == "batchnorm eval":
        layer.state["running_mean"][...] = rng.normal(size=shape[1])
        layer.state["running_var"][...] = rng.random(shape[1]) + 0.5
    # Distinct values spaced apart, so no max-pool window has a near tie the differences
    # could step across.
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.01 - 0.305  # none exactly 0
    check_layer_gradients(layer, x, training=name != "batchnorm eval")


CNNS = {
    "conv-relu-maxpool": lambda: [
        Conv2D(3, 3, padding=1),
        ReLU(),
        MaxPool2D(2),
        Flatten(),
        Dense(4),
        ReLU(),
        Dense(3),
    ],
    "stride-bn-leaky-gap": lambda: [
        Conv2D(4, 3, stride=2, padding=1),
        BatchNorm(),
        LeakyReLU(0.1),
        Conv2D(3, 2),
        ReLU(),
        GlobalAvgPool2D(),
        Dense(3),
    ],
    "avgpool": lambda: [Conv2D(2, 3), ReLU(), AvgPool2D(2), Flatten(), Dense(3)],
}


@pytest.mark.parametrize("kind", list(CNNS))
@pytest.mark.parametrize("training", [False, True])
def test_cnn_gradients_match_finite_differences(kind, training):
    rng = np.random.default_rng(5)
    net = Sequential(CNNS[kind](), input_shape=(2, 6, 7), seed=0, dtype="float64")
    net.set_weights([rng.normal(size=w.shape) * 0.5 for w in net.get_weights()])
    X, y = rng.normal(size=(4, 2, 6, 7)), rng.integers(0, 3, 4)
    grads = net.gradients(X, y, training=training)
    for (layer, name), analytic in zip(net._named_params(), grads):
        numeric = numeric_grad(lambda: network_loss(net, X, y, training), layer.params[name])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
