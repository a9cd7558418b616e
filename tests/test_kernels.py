"""Every Numba kernel against its plain NumPy twin, on random shapes (batch 1, odd sizes)."""

import numpy as np
import pytest
from _tolerance import assert_close

from hashnet.kernels import cpu, reference

SHAPES = [(1, 1), (1, 7), (5, 3), (33, 17)]
DTYPES = [np.float32, np.float64]


def run_both(name, *args):
    """Call the kernel and its twin on separate copies of the arguments; return both copies."""
    copies = []
    results = []
    for impl in (cpu, reference):
        args_copy = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        results.append(getattr(impl, name)(*args_copy))
        copies.append(args_copy)
    return copies, results


def assert_same(copies, dtype, scales=None):
    """Float arrays agree up to rounding (see assert_close), all other arrays exactly.

    scales[i] is the magnitude to measure argument i's rounding against when it is smaller
    than what it was computed from (a sum that cancels: the sum of the |terms|); by default
    the magnitude of the array itself.
    """
    scales = scales or {}
    for i, (got, want) in enumerate(zip(copies[0], copies[1])):
        if not isinstance(got, np.ndarray):
            continue
        if np.issubdtype(got.dtype, np.floating):
            assert_close(got, want, scale=scales.get(i), dtype=dtype, err_msg=f"argument {i}")
        else:
            np.testing.assert_array_equal(got, want, err_msg=f"argument {i}")


def magnitudes(name, *args):
    """The twin of a kernel that is linear in its float inputs, run on their absolute values:
    each output entry becomes the sum of the |terms| that made it."""
    args = [
        (np.abs(a) if a.dtype.kind == "f" else a.copy()) if isinstance(a, np.ndarray) else a
        for a in args
    ]
    getattr(reference, name)(*args)
    return dict(enumerate(args))


@pytest.fixture(params=[(s, d) for s in SHAPES for d in DTYPES], ids=str)
def case(request):
    (n, m), dtype = request.param
    rng = np.random.default_rng(n * 100 + m)
    return rng, n, m, dtype


def test_bias_and_activation_kernels(case):
    rng, n, m, dtype = case
    z = rng.normal(size=(n, m)).astype(dtype)
    b = rng.normal(size=m).astype(dtype)
    dy = rng.normal(size=(n, m)).astype(dtype)
    mask = (rng.random((n, m)) > 0.5).astype(np.uint8)
    out, dx, db = np.zeros_like(z), np.zeros_like(z), np.zeros(m, dtype)
    for alpha in (0.0, 0.01, 0.3):
        empty = np.zeros((n, m), np.uint8)
        assert_same(run_both("bias_act_forward", z, b, alpha, out, empty)[0], dtype)
        assert_same(run_both("act_forward", z, alpha, out, empty)[0], dtype)
        assert_same(run_both("act_backward", dy, mask, alpha, dx)[0], dtype)
        args = dy, mask, alpha, dx, db
        scales = magnitudes("act_backward_bias", *args)  # db sums a column of dx
        assert_same(run_both("act_backward_bias", *args)[0], dtype, scales)
    assert_same(run_both("add_bias", z, b)[0], dtype)
    assert_same(run_both("column_sum", dy, db)[0], dtype, magnitudes("column_sum", dy, db))


def test_mask_is_sign_of_preactivation(case):
    rng, n, m, dtype = case
    z = rng.normal(size=(n, m)).astype(dtype)
    b = rng.normal(size=m).astype(dtype)
    mask = np.zeros((n, m), np.uint8)
    cpu.bias_act_forward(z, b, 0.0, np.empty_like(z), mask)
    np.testing.assert_array_equal(mask, (z + b > 0).astype(np.uint8))


def test_softmax_kernels(case):
    rng, n, m, dtype = case
    k = m + 1  # at least two classes
    logits = (rng.normal(size=(n, k)) * 10).astype(dtype)
    logits[0, 0] = 500  # would overflow exp without the max shift
    y = rng.integers(0, k, n)
    copies, results = run_both("softmax_xent", logits, y, np.zeros_like(logits))
    # dlogits = (p - onehot) / n: entries of size 1 / n, which cancel to ~0 where p ~ 1
    assert_same(copies, dtype, {2: 1.0 / n})
    assert np.isfinite(results[0][0])
    # loss_i = log(sum exp(l - top)) + top - l[y] is computed from numbers as large as the logits
    magnitude = np.mean(2 * np.abs(logits.astype(np.float64)).max(axis=1)) + np.log(k)
    assert_close(results[0][0], results[1][0], scale=magnitude, dtype=dtype)
    assert results[0][1] == results[1][1]
    assert_same(run_both("softmax", logits, np.zeros_like(logits))[0], dtype)


@pytest.mark.parametrize("positions", [1, 6])  # a Dense layer's output, or image channels
def test_batchnorm_kernels(case, positions):
    rng, n, m, dtype = case
    x = (rng.normal(size=(n, m, positions)) * 3 + 1).astype(dtype)
    gamma, beta = rng.normal(size=m).astype(dtype), rng.normal(size=m).astype(dtype)
    dy = rng.normal(size=(n, m, positions)).astype(dtype)
    vecs = [np.zeros(m, dtype) for _ in range(2)]
    copies, _ = run_both(
        "batchnorm_forward_train", x, gamma, beta, 1e-5, np.zeros_like(x), np.zeros_like(x), *vecs
    )
    xhat, var = copies[1][5], copies[1][7]
    mean = copies[1][6]
    # The magnitudes each output is computed from (sums over the batch and positions, and the
    # differences x - mean, which cancel), per channel j or per entry.
    channels = (0, 2)
    x_size = np.abs(x) + np.abs(mean)[:, None]  # |x| + |mean| bounds |x - mean|
    inv_std = 1 / np.sqrt(var[:, None].astype(np.float64) + 1e-5)
    xhat_size = x_size * inv_std
    out_size = np.abs(gamma)[:, None] * xhat_size + np.abs(beta)[:, None]
    scales = {4: out_size, 5: xhat_size, 6: np.abs(x).mean(axis=channels)}
    scales[7] = (x_size**2).mean(axis=channels)
    assert_same(copies, dtype, scales)
    assert_same(
        run_both("batchnorm_forward_eval", x, gamma, beta, mean, var, 1e-5, np.zeros_like(x))[0],
        dtype,
        {6: out_size},
    )
    # dx = gamma / std * (dy - mean(dy) - xhat * mean(dy * xhat)), dgamma and dbeta are sums
    dy_size, dy_xhat_size = np.abs(dy), np.abs(dy * xhat)
    g_size = dy_size + dy_size.mean(axis=channels)[:, None]
    g_size += np.abs(xhat) * dy_xhat_size.mean(axis=channels)[:, None]
    scales = {5: np.abs(gamma)[:, None] * inv_std * g_size}
    scales.update({6: dy_xhat_size.sum(axis=channels), 7: dy_size.sum(axis=channels)})
    assert_same(
        run_both("batchnorm_backward", dy, xhat, gamma, var, 1e-5, np.zeros_like(x), *vecs)[0],
        dtype,
        scales,
    )


def test_dropout_kernels(case):
    rng, n, m, dtype = case
    x = rng.normal(size=(n, m)).astype(dtype)
    u = rng.random((n, m)).astype(dtype)
    for rate in (0.0, 0.3, 0.9):
        copies, _ = run_both(
            "dropout_forward", x, u, rate, np.zeros_like(x), np.zeros((n, m), np.uint8)
        )
        assert_same(copies, dtype)
        mask = copies[0][4]
        assert_same(run_both("dropout_backward", x, mask, rate, np.zeros_like(x))[0], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 8, 101])
def test_optimizer_kernels(dtype, size):
    rng = np.random.default_rng(size)
    p, g = rng.normal(size=size).astype(dtype), rng.normal(size=size).astype(dtype)
    state = [rng.normal(size=size).astype(dtype), rng.random(size).astype(dtype)]
    n_decay = size // 2
    for nesterov in (False, True):
        copies, _ = run_both("sgd_step", p, g, state[0], 0.1, 0.9, nesterov, 0.01, n_decay)
        assert_same(copies, dtype)
    for step in (1, 7):
        copies, _ = run_both("adam_step", p, g, *state, 0.01, 0.9, 0.999, 1e-8, step, 0.01, n_decay)
        assert_same(copies, dtype)


def test_warmup_is_idempotent():
    from hashnet import kernels

    kernels.warmup(("float64",), verbose=False)
    assert kernels.warmup(("float64",), verbose=False) == 0.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizers_flush_subnormal_moments(dtype):
    # A gradient that stays zero makes the moving averages decay geometrically; they must
    # reach exactly zero instead of lingering as (slow) subnormal numbers.
    p, g = np.ones(4, dtype), np.zeros(4, dtype)
    m1, m2 = np.full(4, 1e-29, dtype), np.full(4, 1e-29, dtype)
    for step in range(1, 60):
        cpu.adam_step(p, g, m1, m2, 1e-3, 0.9, 0.999, 1e-8, step, 0.0, 0)
    assert not m1.any()
    velocity = np.full(4, 1e-29, dtype)
    for _ in range(60):
        cpu.sgd_step(p, g, velocity, 0.1, 0.9, False, 0.0, 0)
    assert not velocity.any()


# --- neural-code kernels ---------------------------------------------------------------------

BIT_SHAPES = [(1, 1), (3, 64), (7, 65), (20, 130)]


@pytest.mark.parametrize("n,n_bits", BIT_SHAPES)
def test_packing_kernels(n, n_bits):
    rng = np.random.default_rng(n_bits)
    bits = rng.integers(0, 2, (n, n_bits)).astype(np.uint8)
    n_words = (n_bits + 63) // 64
    copies, _ = run_both("pack_bits", bits, np.full((n, n_words), 7, np.uint64))
    np.testing.assert_array_equal(copies[0][1], copies[1][1])
    words = copies[0][1]
    copies, _ = run_both("unpack_bits", words, np.zeros_like(bits))
    np.testing.assert_array_equal(copies[0][1], bits)
    np.testing.assert_array_equal(copies[1][1], bits)
    index = rng.permutation(n_bits)[: max(1, n_bits // 2)]
    out = np.zeros((n, (index.size + 63) // 64), np.uint64)
    copies, _ = run_both("select_bits", words, index, out)
    np.testing.assert_array_equal(copies[0][2], copies[1][2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n,m,offset", [(1, 1, 0), (5, 70, 3), (9, 64, 64)])
def test_fused_activation_packing(dtype, n, m, offset):
    rng = np.random.default_rng(m)
    z, b = rng.normal(size=(n, m)).astype(dtype), rng.normal(size=m).astype(dtype)
    words = np.zeros((n, (offset + m + 63) // 64), np.uint64)
    for alpha in (0.0, 0.1):
        copies, _ = run_both("bias_act_pack", z, b, alpha, np.zeros_like(z), words, offset)
        assert_same(copies, dtype)
        np.testing.assert_array_equal(copies[0][4], copies[1][4])
        copies, _ = run_both("act_pack", z, alpha, np.zeros_like(z), words, offset)
        np.testing.assert_array_equal(copies[0][3], copies[1][3])


@pytest.mark.parametrize("n_bits", [3, 64, 130])
def test_hamming_kernels(n_bits):
    rng = np.random.default_rng(n_bits)
    n_words = (n_bits + 63) // 64
    a = np.zeros((11, n_words), np.uint64)
    b = np.zeros((37, n_words), np.uint64)
    cpu.pack_bits(rng.integers(0, 2, (11, n_bits)).astype(np.uint8), a)
    cpu.pack_bits(rng.integers(0, 2, (37, n_bits)).astype(np.uint8), b)
    copies, _ = run_both("hamming_distances", a, b, np.zeros((11, 37), np.int32))
    np.testing.assert_array_equal(copies[0][2], copies[1][2])
    for k in (1, 5, 37):  # few bits: many ties, broken by the smaller index
        out = np.zeros((11, k), np.int64), np.zeros((11, k), np.int64)
        copies, _ = run_both("hamming_knn", a, b, k, *out)
        np.testing.assert_array_equal(copies[0][3], copies[1][3])
        np.testing.assert_array_equal(copies[0][4], copies[1][4])


@pytest.mark.parametrize("n,n_bits", [(1, 5), (300, 4), (200, 130)])
def test_code_groups_kernel(n, n_bits):
    rng = np.random.default_rng(n)
    words = np.zeros((n, (n_bits + 63) // 64), np.uint64)
    cpu.pack_bits(rng.integers(0, 2, (n, n_bits)).astype(np.uint8), words)
    hashes = cpu.row_hashes(words)
    ids = cpu.code_groups(words, np.argsort(hashes, kind="stable"), hashes)
    np.testing.assert_array_equal(ids, reference.code_groups(words))
    # Even if every hash collided, the grouping must stay exact.
    same_hash = np.zeros(n, np.uint64)
    ids = cpu.code_groups(words, np.arange(n), same_hash)
    np.testing.assert_array_equal(ids, reference.code_groups(words))


# --- probe kernels: K-Means, K-NN, logistic regression -----------------------------------------


@pytest.mark.parametrize("n", [1, 255, 700])  # around the 256-row blocks of the K-Means kernels
def test_kmeans_kernels(n):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, 7))
    x_sq = np.einsum("nd,nd->n", X, X)
    centers = rng.normal(size=(4, 7))
    c_sq = np.einsum("kd,kd->k", centers, centers)
    sums, counts = np.empty((4, 7)), np.empty(4, np.int64)

    def lloyd_pass(labels):
        args = X, x_sq, centers, labels, np.empty(n), sums, counts
        copies, changed = run_both("kmeans_lloyd_pass", *args)
        assert changed[0] == changed[1]
        new_labels = copies[1][3]
        # best = ||x||^2 - 2 x.c + ||c||^2 cancels to ~0 near a centre; the sums cancel too
        scales = {4: 2 * (x_sq + c_sq[new_labels])}
        scales[5] = magnitudes("cluster_sums", X, new_labels, sums, counts)[2]
        assert_same(copies, np.float64, scales)
        return copies[0][3], changed[0]

    labels, changed = lloyd_pass(np.full(n, -1, np.int64))
    assert changed == n  # every label starts at -1
    lloyd_pass(rng.integers(0, 4, n))  # some labels change
    assert lloyd_pass(labels)[1] == 0  # the nearest centres once more: no label changes

    rows = rng.integers(n, size=3)
    closest = rng.random(n) * 10
    copies, totals = run_both(
        "kmeans_plus_plus_candidates", X, x_sq, rows, closest, np.empty((n, 3))
    )
    # ||x_i - x_r||^2 = ||x_i||^2 - 2 x_i.x_r + ||x_r||^2 is exactly 0 for i = r, up to
    # rounding of the terms (each at most ||x_i||^2 + ||x_r||^2); the totals add those up.
    distance_size = 2 * (x_sq[:, None] + x_sq[rows][None, :])
    assert_same(copies, np.float64, {4: distance_size})
    assert_close(totals[0], totals[1], scale=distance_size.sum(axis=0))

    dist = rng.integers(0, 5, size=(n, 4)).astype(np.int32)  # small range: many ties
    labels = np.zeros(n, np.int64)
    copies, changed = run_both("nearest_from_distances", dist, labels, np.empty(n, np.int64))
    assert changed[0] == changed[1]
    np.testing.assert_array_equal(copies[0][1], copies[1][1])
    np.testing.assert_array_equal(copies[0][2], copies[1][2])

    bits = rng.integers(0, 2, size=(n, 9)).astype(np.uint8)
    labels = copies[0][1]
    sums, counts = np.empty((4, 9), np.int64), np.empty(4, np.int64)
    copies, _ = run_both("cluster_sums", bits, labels, sums, counts)
    np.testing.assert_array_equal(copies[0][2], copies[1][2])
    np.testing.assert_array_equal(copies[0][3], copies[1][3])

    _, errors = run_both("squared_error", X, centers, labels)
    assert_close(errors[0], errors[1])  # a sum of squares: no cancellation


@pytest.mark.parametrize("k", [1, 3, 50])
def test_merge_k_smallest_kernel(k):
    rng = np.random.default_rng(k)
    qt = rng.integers(-3, 3, (17, 50)).astype(float)  # small integers: many equal keys
    sq = rng.integers(0, 4, 50).astype(float)
    index, key = np.full((17, k), -1, np.int64), np.full((17, k), np.inf)
    for start, stop in ((0, 20), (20, 33), (33, 50)):  # tiles of training columns, in order
        copies, _ = run_both(
            "merge_k_smallest", qt[:, start:stop], sq[start:stop], start, index, key
        )
        np.testing.assert_array_equal(copies[0][3], copies[1][3])
        np.testing.assert_array_equal(copies[0][4], copies[1][4])
        index, key = copies[0][3], copies[0][4]
    # After the last tile: the k smallest keys of each row, equal keys by the smaller index.
    all_keys = sq - 2.0 * qt
    order = np.argsort(all_keys, axis=1, kind="stable")[:, :k]
    np.testing.assert_array_equal(index, order)
    np.testing.assert_array_equal(key, np.take_along_axis(all_keys, order, axis=1))
