"""Batch norm and global average pooling on the GPU, through the same layers as on the CPU.

Their CUDA kernels against the NumPy twins, and networks with them trained on the GPU against
the same networks trained on the CPU (history, weights, running statistics, codes). Without a
GPU these run on numba's simulator, in the subprocess that tests/test_cuda.py starts.
"""

from __future__ import annotations

import numpy as np
import pytest
from _tolerance import assert_close
from test_cuda import _assert_same_training, cuda_kernels, dev, host

import hashnet as hn
from hashnet.kernels import reference as R
from hashnet.kernels.backend import CPU
from hashnet.nn import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Residual,
)


@pytest.mark.parametrize("positions", [1, 5])  # a Dense layer's output, or image channels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_kernels(positions, dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(positions)
    n, c = 7, 3
    x = (rng.normal(size=(n, c, positions)) * 2 + 1).astype(dtype)
    dy = rng.normal(size=x.shape).astype(dtype)
    gamma, beta = rng.normal(size=c).astype(dtype), rng.normal(size=c).astype(dtype)
    eps = 1e-5

    want = [np.zeros_like(x), np.zeros_like(x), np.zeros(c, dtype), np.zeros(c, dtype)]
    R.batchnorm_forward_train(x, gamma, beta, eps, *want)
    got = [dev(np.zeros_like(a)) for a in want]
    K.batchnorm_forward_train(dev(x), dev(gamma), dev(beta), eps, *got)
    out, xhat, mean, var = want
    size = np.abs(x).mean(axis=(0, 2))  # what the statistics are summed from
    for g, w, scale in zip(got, want, [None, None, size, size**2 + var]):
        assert_close(host(g), w, scale=scale)

    eval_out = dev(np.zeros_like(x))
    K.batchnorm_forward_eval(dev(x), dev(gamma), dev(beta), dev(mean), dev(var), eps, eval_out)
    want_eval = np.zeros_like(x)
    R.batchnorm_forward_eval(x, gamma, beta, mean, var, eps, want_eval)
    assert_close(host(eval_out), want_eval)

    sums = np.abs(dy).sum(axis=(0, 2))  # dgamma and dbeta add up a column of dy
    for train_mode in (True, False):
        want_grads = [np.zeros_like(x), np.zeros(c, dtype), np.zeros(c, dtype)]
        got_grads = [dev(np.zeros_like(a)) for a in want_grads]
        if train_mode:
            R.batchnorm_backward(dy, xhat, gamma, var, eps, *want_grads)
            K.batchnorm_backward(dev(dy), dev(xhat), dev(gamma), dev(var), eps, *got_grads)
        else:
            args = (gamma, mean, var, eps)
            R.batchnorm_backward_eval(dy, x, *args, *want_grads)
            K.batchnorm_backward_eval(dev(dy), dev(x), *(dev(a) for a in args[:3]), eps, *got_grads)
        dx_size = np.abs(gamma)[:, None] / np.sqrt(var[:, None] + eps) * 3 * np.abs(dy).max()
        for g, w, scale in zip(got_grads, want_grads, [dx_size, sums * 4, sums]):
            assert_close(host(g), w, scale=scale)

    running = [rng.normal(size=c).astype(dtype), rng.random(c).astype(dtype) + 0.5]
    want_running = [a.copy() for a in running]
    R.batchnorm_update_running(*want_running, mean, var, 0.1, n * positions)
    got_running = [dev(a) for a in running]
    K.batchnorm_update_running(*got_running, dev(mean), dev(var), 0.1, n * positions)
    for g, w in zip(got_running, want_running):
        assert_close(host(g), w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_global_average_pooling_and_row_losses(dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 5, 2)).astype(dtype)
    want = np.zeros((3, 4), dtype)
    R.global_avgpool_forward(x, want)
    got = dev(want)
    K.global_avgpool_forward(dev(x), got)
    assert_close(host(got), want, scale=np.abs(x).mean(axis=(2, 3)))
    dy = rng.normal(size=(3, 4)).astype(dtype)
    want_dx = np.zeros_like(x)
    R.global_avgpool_backward(dy, want_dx)
    dx = dev(np.full_like(x, np.nan))
    K.global_avgpool_backward(dev(dy), dx)
    assert_close(host(dx), want_dx)

    logits = (3 * rng.normal(size=(6, 4))).astype(dtype)
    y = rng.integers(0, 4, 6)
    want_rows = [np.zeros_like(logits), np.zeros(6), np.zeros(6, np.int32)]
    R.softmax_xent_rows(logits, y, *want_rows)
    got_rows = [dev(a) for a in want_rows]
    K.softmax_xent_rows(dev(logits), dev(y), *got_rows)
    np.testing.assert_array_equal(host(got_rows[2]), want_rows[2])
    assert_close(host(got_rows[1]), want_rows[1], scale=2 * np.abs(logits).max() + 2, dtype=dtype)
    assert_close(host(got_rows[0]), want_rows[0], scale=1 / 6)


def _fit_both(build, X, y, **kwargs):
    on_gpu = build().fit(X, y, device="cuda", verbose=0, **kwargs)
    on_cpu = build().fit(X, y, verbose=0, **kwargs)
    return on_gpu, on_cpu


def test_mlp_with_batchnorm_trains_on_the_gpu_as_on_the_cpu():
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(2)
    X = rng.normal(size=(13, 4)).astype(np.float32)
    y = rng.integers(0, 3, 13)

    def build():
        return hn.MLP(4, (6, 5), 3, batchnorm=True, dropout=0.2, seed=3)

    # SGD, not Adam: a Dense layer's bias before BatchNorm gets a gradient that is zero up to
    # rounding (batch norm removes any shift), and Adam would blow that noise, which differs
    # between a GPU's sums and the CPU's, up to full steps of size lr.
    kwargs = dict(epochs=2, batch_size=6, optimizer="sgd", lr=0.05, checkpoints=(1,))
    kwargs.update(validation_data=(X, y))
    on_gpu, on_cpu = _fit_both(build, X, y, **kwargs)
    _assert_same_training(on_gpu, on_cpu)
    for a, b in zip(on_gpu._state_arrays(), on_cpu._state_arrays()):
        assert_close(a, b, rtol=1e-5)  # running statistics, carried over both batches
    assert not np.array_equal(on_gpu._state_arrays()[0], 0)  # they did move
    for a, b in zip(on_gpu.checkpoint(1).get_weights(), on_cpu.checkpoint(1).get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # After the fit the layers compute on the CPU again, with the weights the GPU trained.
    assert all(layer.ops is CPU for layer in on_gpu.layers)
    np.testing.assert_array_equal(on_gpu.codes(X, device="cuda").words, on_gpu.codes(X).words)
    assert on_gpu.score(X, y) == on_cpu.score(X, y)


def test_cnn_with_batchnorm_and_global_pooling_trains_on_the_gpu_as_on_the_cpu():
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(4)
    X = rng.normal(size=(5, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, 5)

    def build():
        layers = [
            Conv2D(3, 3, padding=1),
            BatchNorm(),
            ReLU(),
            MaxPool2D(2),
            Conv2D(2, 1),
            BatchNorm(),
            LeakyReLU(0.1),
            GlobalAvgPool2D(),
            Dense(3),
            ReLU(),
            Dropout(0.3),
            Dense(2),
        ]
        return hn.CNN(layers, input_shape=(1, 4, 4), seed=5)

    kwargs = dict(epochs=2, batch_size=3, optimizer="sgd", lr=0.05, weight_decay=1e-3)
    on_gpu, on_cpu = _fit_both(build, X, y, **kwargs)
    _assert_same_training(on_gpu, on_cpu)
    for a, b in zip(on_gpu._state_arrays(), on_cpu._state_arrays()):
        assert_close(a, b, rtol=1e-5)
    np.testing.assert_array_equal(on_gpu.codes(X, device="cuda").words, on_gpu.codes(X).words)


def test_a_new_layer_runs_on_the_gpu_unchanged():
    cuda_kernels()  # skips without a usable CUDA device
    from test_layer_types import shifted_net

    rng = np.random.default_rng(6)
    X = rng.normal(size=(9, 4)).astype(np.float32)
    y = rng.integers(0, 3, 9)
    on_gpu, on_cpu = _fit_both(shifted_net, X, y, epochs=2, batch_size=4, optimizer="sgd", lr=0.1)
    _assert_same_training(on_gpu, on_cpu)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_into_kernel(dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(7)
    a, b = (rng.normal(size=(3, 2, 5, 4)).astype(dtype) for _ in range(2))
    want = a.copy()
    R.add_into(want, b)
    got = dev(a)
    K.add_into(got, dev(b))
    assert_close(host(got), want, scale=np.abs(a) + np.abs(b))


def test_resnet_trains_on_the_gpu_as_on_the_cpu():
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(8)
    X = rng.normal(size=(5, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, 5)

    def build():
        # one block with a projection shortcut (stride 2) and one with the identity
        layers = [Conv2D(2, 3, padding=1), BatchNorm(), ReLU(), Residual(3, stride=2)]
        layers += [Residual(3), GlobalAvgPool2D(), Dense(2)]
        return hn.CNN(layers, input_shape=(1, 4, 4), seed=9)

    kwargs = dict(epochs=2, batch_size=3, optimizer="sgd", lr=0.05)
    on_gpu, on_cpu = _fit_both(build, X, y, **kwargs)
    _assert_same_training(on_gpu, on_cpu)
    for a, b in zip(on_gpu._state_arrays(), on_cpu._state_arrays()):
        assert_close(a, b, rtol=1e-5)
    np.testing.assert_array_equal(on_gpu.codes(X, device="cuda").words, on_gpu.codes(X).words)
