"""The GPU path: every CUDA kernel against its NumPy twin, GPU training against CPU training,
and the errors when there is no GPU.

The kernel tests need numba.cuda to work in this process. On a machine with an NVIDIA GPU they
run on it. Elsewhere they are skipped here, and `test_cuda_kernels_on_the_simulator` runs this
same file again in a subprocess with NUMBA_ENABLE_CUDASIM=1: numba decides between the GPU and
its CPU simulator when numba.cuda is first imported, which a running test session may already
have done, so the switch has to be made before a new Python starts. In the simulator every GPU
thread is a Python thread, hence the tiny shapes (hashnet.kernels.cuda also shrinks its blocks
and tiles there, so these shapes still cross every tile and grid boundary).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _tolerance import assert_close

import hashnet as hn
from hashnet import gpu
from hashnet.kernels import reference as R
from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, MaxPool2D
from hashnet.nn.layers import Dense, Dropout, LeakyReLU, ReLU

USABLE = gpu.cuda_available()
ROOT = Path(__file__).resolve().parents[1]
if USABLE and gpu.is_simulator():
    # Simulated blocks hand the interpreter lock around between Python threads; a shorter
    # switch interval makes that (and so these tests) several times faster.
    sys.setswitchinterval(5e-4)

DTYPES = [np.float32, np.float64]
# The files whose tests need numba.cuda: without a GPU, one simulator run covers them all.
SIMULATED = [
    str(Path(__file__).with_name(name))
    for name in ("test_cuda.py", "test_cuda_layers.py", "test_augment.py")
]


def cuda_kernels():
    """hashnet.kernels.cuda, for the tests that need a usable numba.cuda; skips the others.
    (Skipping from here, rather than with a mark on each test, makes pytest report all these
    skips on one line.)"""
    if not USABLE:
        pytest.skip(
            "no usable CUDA device in this process; test_cuda_kernels_on_the_simulator runs "
            "these tests on numba's CUDA simulator"
        )
    from hashnet.kernels import cuda as cuda_kernels

    return cuda_kernels


def dev(a):
    from numba import cuda

    return cuda.to_device(np.ascontiguousarray(a))


def host(d):
    return d.copy_to_host()


# --- kernels against their twins -----------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_matmul_all_transpositions_and_splits(dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(1)
    m, k, n = 17, 19, 10  # several tiles each way, and a ragged inner slab
    for trans_a in (False, True):
        for trans_b in (False, True):
            a = rng.normal(size=(k, m) if trans_a else (m, k)).astype(dtype)
            b = rng.normal(size=(n, k) if trans_b else (k, n)).astype(dtype)
            a64, b64 = (a.T if trans_a else a).astype(np.float64), (b.T if trans_b else b)
            want = a64 @ b64
            size = np.abs(a64) @ np.abs(b64)  # each entry sums k products
            for splits in (None, 3):
                out = dev(np.full((m, n), np.nan, dtype))
                K.matmul(dev(a), dev(b), out, trans_a, trans_b, splits=splits)
                assert_close(host(out), want, scale=size)
    with pytest.raises(ValueError, match="shapes"):
        K.matmul(dev(a), dev(b), dev(np.zeros((2, 2), dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_and_activation_kernels(dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(2)
    n, m = 5, 9
    z = rng.normal(size=(n, m)).astype(dtype)
    b = rng.normal(size=m).astype(dtype)
    dy = rng.normal(size=(n, m)).astype(dtype)
    mask = (rng.random((n, m)) > 0.5).astype(np.uint8)
    for alpha in (0.0, 0.1):
        want_out, want_mask = np.empty_like(z), np.empty((n, m), np.uint8)
        R.bias_act_forward(z, b, alpha, want_out, want_mask)
        out, got_mask = dev(np.zeros_like(z)), dev(np.zeros((n, m), np.uint8))
        K.bias_act_forward(dev(z), dev(b), alpha, out, got_mask)
        np.testing.assert_array_equal(host(got_mask), want_mask)
        assert_close(host(out), want_out)
        R.act_forward(z, alpha, want_out, want_mask)
        K.act_forward(dev(z), alpha, out, got_mask)
        np.testing.assert_array_equal(host(got_mask), want_mask)
        assert_close(host(out), want_out)

        want_dx, want_db = np.empty_like(dy), np.empty(m, dtype)
        R.act_backward_bias(dy, mask, alpha, want_dx, want_db)
        dx, db = dev(np.zeros_like(dy)), dev(np.zeros(m, dtype))
        K.act_backward_bias(dev(dy), dev(mask), alpha, dx, db)
        assert_close(host(dx), want_dx)
        assert_close(host(db), want_db, scale=np.abs(want_dx).sum(axis=0))  # sums over rows
        K.act_backward(dev(dy), dev(mask), alpha, dx)
        assert_close(host(dx), want_dx)
    zz = dev(z)
    K.add_bias(zz, dev(b))
    assert_close(host(zz), z + b)
    db = dev(np.zeros(m, dtype))
    K.column_sum(dev(dy), db)
    assert_close(host(db), dy.sum(axis=0), scale=np.abs(dy).sum(axis=0))


def test_softmax_cross_entropy():
    K = cuda_kernels()
    rng = np.random.default_rng(3)
    logits = (3 * rng.normal(size=(7, 4))).astype(np.float32)
    y = rng.integers(0, 4, 7)
    want_d = np.empty_like(logits)
    want_loss, want_correct = R.softmax_xent(logits, y, want_d)
    d = dev(np.zeros_like(logits))
    loss, correct = K.softmax_xent(dev(logits), dev(y), d)
    assert correct == want_correct
    # loss_i = logsumexp - logit[y]: a difference of numbers as large as the logits, in float32
    size = np.mean(2 * np.abs(logits).max(axis=1)) + np.log(4)
    assert_close(loss, want_loss, scale=size, dtype=np.float32)
    assert_close(host(d), want_d, scale=1 / 7)  # (p - onehot) / n cancels where p ~ 1


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_steps(dtype):
    K = cuda_kernels()
    rng = np.random.default_rng(4)
    size, n_decay = 37, 20
    p = rng.normal(size=size).astype(dtype)
    g = rng.normal(size=size).astype(dtype)
    g[30] = 1e-32  # moving averages of a tiny gradient (no decay there) are flushed to zero
    want = [p.copy(), np.zeros(size, dtype), np.zeros(size, dtype)]
    got = [dev(p), dev(np.zeros(size, dtype)), dev(np.zeros(size, dtype))]
    for step in (1, 2, 3):
        R.adam_step(want[0], g, want[1], want[2], 1e-2, 0.9, 0.999, 1e-8, step, 1e-2, n_decay)
        K.adam_step(got[0], dev(g), got[1], got[2], 1e-2, 0.9, 0.999, 1e-8, step, 1e-2, n_decay)
    for w, d in zip(want, got):
        assert_close(host(d), w)
    assert want[1][30] == 0 and host(got[1])[30] == 0  # flushed, not a tiny number
    for nesterov in (False, True):
        want_p, want_v = p.copy(), np.zeros(size, dtype)
        got_p, got_v = dev(p), dev(np.zeros(size, dtype))
        for _ in range(2):
            R.sgd_step(want_p, g, want_v, 0.1, 0.9, nesterov, 1e-3, n_decay)
            K.sgd_step(got_p, dev(g), got_v, 0.1, 0.9, nesterov, 1e-3, n_decay)
        assert_close(host(got_p), want_p)
        assert_close(host(got_v), want_v)


def test_dropout_gather_and_fill():
    K = cuda_kernels()
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 6)).astype(np.float32)
    u = rng.random((4, 6)).astype(np.float32)
    want_out, want_mask = np.empty_like(x), np.empty(x.shape, np.uint8)
    R.dropout_forward(x, u, 0.4, want_out, want_mask)
    out, mask = dev(np.zeros_like(x)), dev(np.zeros(x.shape, np.uint8))
    K.dropout_forward(dev(x), dev(u), 0.4, out, mask)
    np.testing.assert_array_equal(host(mask), want_mask)
    np.testing.assert_allclose(host(out), want_out, rtol=1e-6)
    want_dx = np.empty_like(x)
    R.dropout_backward(x, want_mask, 0.4, want_dx)
    dx = dev(np.zeros_like(x))
    K.dropout_backward(dev(x), mask, 0.4, dx)
    np.testing.assert_allclose(host(dx), want_dx, rtol=1e-6)

    index = np.array([3, 0, 2, 2, 1])
    rows = dev(np.zeros((5, 6), np.float32))
    K.take_rows(dev(x), dev(index), rows)
    np.testing.assert_array_equal(host(rows), x[index])
    labels = dev(np.zeros(5, np.int64))
    K.take(dev(np.arange(4) * 10), dev(index), labels)
    np.testing.assert_array_equal(host(labels), index * 10)
    K.fill(rows, 0.5)
    assert (host(rows) == 0.5).all()


@pytest.mark.parametrize("k,stride,pad", [(3, 1, 1), (2, 2, 0)])
def test_convolution_kernels(k, stride, pad):
    K = cuda_kernels()
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 2, 5, 4)).astype(np.float32)
    oh, ow = (5 + 2 * pad - k) // stride + 1, (4 + 2 * pad - k) // stride + 1
    want = np.empty((2 * k * k, 2 * oh * ow), np.float32)
    R.im2col(x, k, k, stride, pad, want)
    cols = dev(np.full(want.shape, np.nan, np.float32))
    K.im2col(dev(x), k, k, stride, pad, cols)
    np.testing.assert_array_equal(host(cols), want)

    dcols = rng.normal(size=want.shape).astype(np.float32)
    want_dx = np.empty_like(x)
    R.col2im(dcols, k, k, stride, pad, want_dx)
    dx = dev(np.full(x.shape, np.nan, np.float32))
    K.col2im(dev(dcols), k, k, stride, pad, dx)
    size = np.empty_like(x)
    R.col2im(np.abs(dcols), k, k, stride, pad, size)  # overlapping windows add up
    assert_close(host(dx), want_dx, scale=size)

    f, p = 3, oh * ow
    rows = rng.normal(size=(f, 2 * p)).astype(np.float32)
    b = rng.normal(size=f).astype(np.float32)
    want_img = np.empty((2, f, p), np.float32)
    R.rows_to_images(rows, b, want_img)
    img = dev(np.zeros_like(want_img))
    K.rows_to_images(dev(rows), dev(b), img)
    np.testing.assert_allclose(host(img), want_img, rtol=1e-6)
    want_rows, want_db = np.empty_like(rows), np.empty(f, np.float32)
    R.images_to_rows(want_img, want_rows, want_db)
    got_rows, db = dev(np.zeros_like(rows)), dev(np.zeros(f, np.float32))
    K.images_to_rows(img, got_rows, db)
    np.testing.assert_array_equal(host(got_rows), want_rows)
    assert_close(host(db), want_db, scale=np.abs(want_img).sum(axis=(0, 2)))


@pytest.mark.parametrize("k,stride", [(2, 2), (3, 2)])  # (3, 2): overlapping windows
def test_pooling_kernels(k, stride):
    K = cuda_kernels()
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, size=(2, 2, 5, 5)).astype(np.float32)  # many ties
    oh = (5 - k) // stride + 1
    out_shape = (2, 2, oh, oh)
    want, want_arg = np.empty(out_shape, np.float32), np.empty(out_shape, np.int32)
    R.maxpool_forward(x, k, stride, want, want_arg)
    out, arg = dev(np.zeros(out_shape, np.float32)), dev(np.zeros(out_shape, np.int32))
    K.maxpool_forward(dev(x), k, stride, out, arg)
    np.testing.assert_array_equal(host(out), want)
    np.testing.assert_array_equal(host(arg), want_arg)
    dy = rng.normal(size=out_shape).astype(np.float32)
    want_dx = np.empty_like(x)
    R.maxpool_backward(dy, want_arg, k, stride, want_dx)
    dx = dev(np.full(x.shape, np.nan, np.float32))
    K.maxpool_backward(dev(dy), arg, k, stride, dx)
    size = np.empty_like(x)  # overlapping windows add gradients into one pixel
    R.maxpool_backward(np.abs(dy), want_arg, k, stride, size)
    assert_close(host(dx), want_dx, scale=size)

    R.avgpool_forward(x, k, stride, want)
    K.avgpool_forward(dev(x), k, stride, out)
    np.testing.assert_allclose(host(out), want, rtol=1e-6)
    R.avgpool_backward(dy, k, stride, want_dx)
    K.avgpool_backward(dev(dy), k, stride, dx)
    R.avgpool_backward(np.abs(dy), k, stride, size)
    assert_close(host(dx), want_dx, scale=size)


def test_code_packing_kernels():
    K = cuda_kernels()
    rng = np.random.default_rng(8)
    n, m = 3, 70  # 70 bits: two words, and offsets that start mid-word
    z = rng.normal(size=(n, m)).astype(np.float32)
    b = rng.normal(size=m).astype(np.float32)
    for offset in (0, 5, 60):
        n_words = (offset + m + 63) // 64
        want_words = np.zeros((n, n_words), np.uint64)
        want_words[:, 0] = 1  # bits already set by an earlier layer stay set (OR)
        want_out = np.empty_like(z)
        got_words, out = dev(want_words), dev(np.zeros_like(z))
        R.bias_act_pack(z, b, 0.1, want_out, want_words, offset)
        K.bias_act_pack(dev(z), dev(b), 0.1, out, got_words, offset)
        np.testing.assert_array_equal(host(got_words), want_words)
        np.testing.assert_allclose(host(out), want_out, rtol=1e-6)
    words = np.zeros((n, 2), np.uint64)
    got_words = dev(words)
    R.act_pack(z, 0.0, want_out, words, 3)
    K.act_pack(dev(z), 0.0, out, got_words, 3)
    np.testing.assert_array_equal(host(got_words), words)


@pytest.mark.parametrize("n_bits", [9, 70])  # one and two words; 9 bits: many equal distances
def test_hamming_knn_same_neighbours_as_cpu(n_bits):
    K = cuda_kernels()
    rng = np.random.default_rng(9)
    train = hn.Codes.from_bits(rng.integers(0, 2, size=(23, n_bits)))
    query = hn.Codes.from_bits(rng.integers(0, 2, size=(5, n_bits)))
    k = 6
    want_index, want_dist = np.empty((5, k), np.int64), np.empty((5, k), np.int64)
    R.hamming_knn(query.words, train.words, k, want_index, want_dist)
    for segments in (None, 1, 4):
        index, dist = dev(np.zeros((5, k), np.int64)), dev(np.zeros((5, k), np.int64))
        K.hamming_knn(dev(query.words), dev(train.words), k, index, dist, segments=segments)
        np.testing.assert_array_equal(host(index), want_index)
        np.testing.assert_array_equal(host(dist), want_dist)
    from hashnet.codes import hamming_knn

    want = hamming_knn(query, train, k)
    for got in (hamming_knn(query, train, k, device="cuda"), gpu.hamming_knn(query, train, k)):
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


# --- the GPU trainer against the CPU one -----------------------------------------------------


def _assert_same_training(a, b, rtol=1e-5):
    assert a.history_.keys() == b.history_.keys()
    for key in a.history_:
        if key == "time":
            continue
        np.testing.assert_allclose(a.history_[key], b.history_[key], rtol=rtol, err_msg=key)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)


def test_fit_mlp_matches_cpu_and_codes_are_identical(capsys):
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(10)
    X = rng.normal(size=(13, 4)).astype(np.float32)
    y = rng.integers(0, 3, 13)
    kwargs = dict(
        epochs=2,
        batch_size=5,  # 13 = 5 + 5 + 3: a smaller last batch
        lr=1e-2,
        lr_schedule=lambda epoch: 0.5**epoch,
        validation_data=(X[:4], y[:4]),
        checkpoints=(0, 1),
    )
    on_gpu = hn.MLP(4, (6, 5), 3, seed=1).fit(X, y, device="cuda", verbose=1, **kwargs)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and "val_acc" in lines[0]
    on_cpu = hn.MLP(4, (6, 5), 3, seed=1).fit(X, y, verbose=0, **kwargs)
    _assert_same_training(on_gpu, on_cpu)
    assert on_gpu.history_["lr"] == [1e-2, 5e-3]
    for epoch in (0, 1):
        for wa, wb in zip(
            on_gpu.checkpoint(epoch).get_weights(), on_cpu.checkpoint(epoch).get_weights()
        ):
            np.testing.assert_allclose(wa, wb, rtol=1e-4, atol=1e-5)
    # The weights are back on the host: CPU codes of the GPU-trained net, and GPU codes of
    # the same weights, bit for bit.
    codes = on_gpu.codes(X, device="cuda")
    assert codes.n_bits == 11 and codes.layer_sizes == (6, 5)
    np.testing.assert_array_equal(codes.words, on_gpu.codes(X).words)
    np.testing.assert_array_equal(
        on_gpu.codes(X, layers=[1], device="cuda").words, on_gpu.codes(X, layers=[1]).words
    )


def test_fit_cnn_with_dropout_matches_cpu():
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(11)
    X = rng.normal(size=(5, 1, 4, 4)).astype(np.float32)
    y = rng.integers(0, 2, 5)

    def build():
        layers = [
            Conv2D(2, 3, padding=1),
            LeakyReLU(0.1),
            MaxPool2D(2),
            Conv2D(2, 1),
            ReLU(),
            AvgPool2D(2),
            Flatten(),
            Dense(3),
            ReLU(),
            Dropout(0.3),
            Dense(2),
        ]
        return hn.CNN(layers, input_shape=(1, 4, 4), seed=2)

    kwargs = dict(epochs=1, batch_size=3, optimizer="sgd", nesterov=True, lr=0.05)
    kwargs.update(weight_decay=1e-3, verbose=0)
    on_gpu = build().fit(X, y, device="cuda", **kwargs)
    on_cpu = build().fit(X, y, **kwargs)
    _assert_same_training(on_gpu, on_cpu)
    np.testing.assert_array_equal(on_gpu.codes(X, device="cuda").words, on_gpu.codes(X).words)


def test_encoding_properties_and_knn_on_cuda():
    cuda_kernels()  # skips without a usable CUDA device
    rng = np.random.default_rng(12)
    X = rng.normal(size=(12, 3)).astype(np.float32)
    y = rng.integers(0, 2, 12)
    net = hn.MLP(3, (8,), 2, seed=0)
    kwargs = dict(k=3, probes=("knn",))
    on_gpu = hn.encoding_properties(net, X[:8], y[:8], X[8:], y[8:], device="cuda", **kwargs)
    on_cpu = hn.encoding_properties(net, X[:8], y[:8], X[8:], y[8:], **kwargs)
    for key in ("rr_train", "rr_test", "knn_test", "n_bits"):
        assert on_gpu[key] == on_cpu[key]
    codes_tr, codes_te = net.codes(X[:8]), net.codes(X[8:])
    knn = hn.KNN(k=3, device="cuda").fit(codes_tr, y[:8])
    want = hn.KNN(k=3).fit(codes_tr, y[:8])
    for g, w in zip(knn.kneighbors(codes_te), want.kneighbors(codes_te)):
        np.testing.assert_array_equal(g, w)


# --- without a GPU ----------------------------------------------------------------------------


@pytest.mark.skipif(USABLE, reason="a CUDA device (or the simulator) is usable here")
def test_clear_error_without_a_gpu():
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    net = hn.MLP(2, (4,), 2)
    before = net.get_weights()
    with pytest.raises(gpu.CUDAUnavailableError) as info:
        net.fit(X, y, device="cuda", verbose=0)
    error = info.value
    assert isinstance(error, RuntimeError)
    message = str(error)
    for part in ("NVIDIA driver", "numba.cuda", "NUMBA_ENABLE_CUDASIM=1", "device='cpu'"):
        assert part in message
    numba_line = next(line for line in message.splitlines() if "numba.cuda:" in line)
    assert numba_line.strip().startswith("- numba.cuda")  # numba's reason, on one line
    # Raised by hashnet, not chained onto an exception from deep inside numba.
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)
    for w, w0 in zip(net.get_weights(), before):
        np.testing.assert_array_equal(w, w0)
    codes = net.codes(X)
    for call in (
        lambda: net.codes(X, device="cuda"),
        lambda: hn.KNN(k=1, device="cuda").fit(codes, y),
        lambda: hn.encoding_properties(net, X, y, X, y, probes=("knn",), device="cuda"),
    ):
        with pytest.raises(gpu.CUDAUnavailableError, match="NUMBA_ENABLE_CUDASIM"):
            call()


def test_unknown_device_names():
    X, y = np.zeros((4, 2), np.float32), np.array([0, 1, 0, 1])
    net = hn.MLP(2, (4,), 2)
    for call in (
        lambda: net.fit(X, y, device="gpu", verbose=0),
        lambda: net.codes(X, device="GPU"),
        lambda: hn.KNN(k=1, device="tpu").fit(net.codes(X), y),
        lambda: hn.encoding_properties(net, X, y, X, y, device=None),
    ):
        with pytest.raises(ValueError, match="expected 'cpu' or 'cuda'"):
            call()


def test_importing_hashnet_does_not_import_numba_cuda():
    script = (
        "import sys, numpy as np, hashnet as hn, hashnet.gpu\n"
        "X = np.random.default_rng(0).normal(size=(8, 2)); y = np.arange(8) % 2\n"
        "net = hn.MLP(2, (4,), 2).fit(X, y, epochs=1, verbose=0, device='cpu')\n"
        "net.codes(X)\n"
        "assert 'numba.cuda' not in sys.modules, 'numba.cuda was imported'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(USABLE, reason="the CUDA tests ran in this process")
def test_cuda_kernels_on_the_simulator():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *SIMULATED, "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert " passed" in done.stdout and " failed" not in done.stdout, report
