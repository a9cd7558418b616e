"""Numba kernels for the element-wise work around the matrix products.

The matrix products themselves go through BLAS (`np.dot(..., out=...)` in the layers); what is
left is cheap arithmetic per element, and the cost of that is mostly *passes over memory* and
Python call overhead. Each kernel below therefore does in one pass what NumPy would do in
several (for example: add the bias, apply the ReLU and record the sign bit the neural codes are
made of). Every kernel has a plain NumPy twin with the same name in `reference.py`; the tests
compare the two.

Conventions: 2D arrays are (batch, features) and C-contiguous; outputs are passed in (no
allocation in the training loop); masks are uint8 0/1.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from hashnet.kernels._jit import kernel, parallel_kernel, popcount

# --- dense layers and activations ----------------------------------------------------------


@kernel
def add_bias(z, b):
    """z += b, row by row (the bias of a Dense layer not followed by an activation)."""
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            z[i, j] += b[j]


@kernel
def bias_act_forward(z, b, alpha, out, mask):
    """a = z + b; mask = a > 0; out = a where mask else alpha * a (ReLU when alpha = 0).

    `mask` is the activation pattern of the layer: one bit of the neural code per unit.
    `out` may be the same array as `z`.
    """
    alpha = z.dtype.type(alpha)  # keep float32 arithmetic in float32
    n, m = z.shape
    for i in range(n):
        for j in range(m):
            a = z[i, j] + b[j]
            positive = a > 0
            mask[i, j] = positive
            out[i, j] = a if positive else alpha * a


@kernel
def act_forward(z, alpha, out, mask):
    """mask = z > 0; out = z where mask else alpha * z (an activation after BatchNorm)."""
    bias_act_forward(z, np.zeros(z.shape[1], z.dtype), alpha, out, mask)


@kernel
def act_backward(dy, mask, alpha, dx):
    """dx = dy where the unit was active else alpha * dy (the activation's derivative)."""
    alpha = dy.dtype.type(alpha)  # keep float32 arithmetic in float32
    n, m = dy.shape
    for i in range(n):
        for j in range(m):
            dx[i, j] = dy[i, j] if mask[i, j] else alpha * dy[i, j]


@kernel
def act_backward_bias(dy, mask, alpha, dx, db):
    """act_backward fused with the bias gradient of the Dense layer before it: db = dx.sum(0)."""
    alpha = dy.dtype.type(alpha)  # keep float32 arithmetic in float32
    n, m = dy.shape
    for j in range(m):
        db[j] = 0
    for i in range(n):
        for j in range(m):
            g = dy[i, j] if mask[i, j] else alpha * dy[i, j]
            dx[i, j] = g
            db[j] += g


@kernel
def column_sum(dz, db):
    """db = dz.sum(axis=0): the bias gradient of a Dense layer."""
    n, m = dz.shape
    for j in range(m):
        db[j] = 0
    for i in range(n):
        for j in range(m):
            db[j] += dz[i, j]


# --- softmax cross-entropy ------------------------------------------------------------------


@kernel
def softmax(logits, out):
    """Row-wise softmax, shifted by the row maximum so exp never overflows."""
    n, k = logits.shape
    for i in range(n):
        top = logits[i, 0]
        for j in range(1, k):
            top = max(top, logits[i, j])
        total = 0.0
        for j in range(k):
            e = math.exp(logits[i, j] - top)
            out[i, j] = e
            total += e
        for j in range(k):
            out[i, j] /= total


@kernel
def softmax_xent(logits, y, dlogits):
    """Mean cross-entropy of softmax(logits) against labels y, and its gradient.

    Returns (mean loss, number of rows whose argmax equals y). Writes
    dlogits = (softmax(logits) - onehot(y)) / n, the gradient of the *mean* loss.
    `softmax_xent_rows` does the work, row by row; this adds the rows up.
    """
    n = logits.shape[0]
    row_loss = np.empty(n)
    row_correct = np.empty(n, np.int32)
    softmax_xent_rows(logits, y, dlogits, row_loss, row_correct)
    return row_loss.sum() / n, row_correct.sum()


@kernel
def softmax_xent_rows(logits, y, dlogits, row_loss, row_correct):
    """The loss of each row and its gradient: row_loss[i] is row i's cross-entropy (float64),
    logsumexp(logits_i) - logits_i[y_i] with the max shift for stability; row_correct[i] is 1
    when its argmax is y[i]; dlogits = (softmax(logits) - onehot(y)) / n, the gradient of the
    batch's *mean* loss.

    The training loop keeps these per-example numbers for the whole epoch and adds them up once
    at its end. On a GPU that is what lets the host wait once per epoch instead of after every
    batch; the CPU uses the same loop, so it writes them too.
    """
    n, k = logits.shape
    for i in range(n):
        top = logits[i, 0]
        best = 0
        for j in range(1, k):
            if logits[i, j] > top:
                top = logits[i, j]
                best = j
        total = 0.0
        for j in range(k):
            total += math.exp(logits[i, j] - top)
        log_total = math.log(total)
        row_loss[i] = log_total + top - logits[i, y[i]]
        row_correct[i] = best == y[i]
        for j in range(k):
            dlogits[i, j] = math.exp(logits[i, j] - top - log_total) / n
        dlogits[i, y[i]] -= 1.0 / n


# --- batch normalisation --------------------------------------------------------------------


# The kernels read the arrays as flat vectors with unsigned (uint64) indices, as in images.py:
# Numba then skips its negative-index checks and the compiler vectorises the loops. They work
# one channel at a time, so the channel's values are still in the cache when the second pass
# (normalising, or the gradient) comes back to them. The sums run in float64 on four
# interleaved totals: with one running total every addition would wait for the previous one.
U = np.uint64


@kernel
def _sum_and_squares(xf, j, channels, positions, shift):
    """(sum of d, sum of d^2) with d = x - shift, over the batch and positions of channel j of
    a flat (batch, channels, positions) array. Summing x - shift with shift a value of the
    channel keeps the variance accurate when the mean is large next to the spread."""
    n = xf.size // (channels * positions)
    s0 = s1 = s2 = s3 = 0.0
    q0 = q1 = q2 = q3 = 0.0
    whole = U(positions - positions % 4)
    for i in range(n):
        base = U((i * channels + j) * positions)
        for k in range(U(0), whole, U(4)):
            d0 = xf[base + k] - shift
            d1 = xf[base + k + U(1)] - shift
            d2 = xf[base + k + U(2)] - shift
            d3 = xf[base + k + U(3)] - shift
            s0, s1, s2, s3 = s0 + d0, s1 + d1, s2 + d2, s3 + d3
            q0, q1, q2, q3 = q0 + d0 * d0, q1 + d1 * d1, q2 + d2 * d2, q3 + d3 * d3
        for k in range(whole, U(positions)):
            d0 = xf[base + k] - shift
            s0, q0 = s0 + d0, q0 + d0 * d0
    return (s0 + s1) + (s2 + s3), (q0 + q1) + (q2 + q3)


@kernel
def _sum_and_dot(af, bf, j, channels, positions):
    """(sum of a, sum of a * b) over the batch and positions of channel j of two flat
    (batch, channels, positions) arrays."""
    n = af.size // (channels * positions)
    s0 = s1 = s2 = s3 = 0.0
    p0 = p1 = p2 = p3 = 0.0
    whole = U(positions - positions % 4)
    for i in range(n):
        base = U((i * channels + j) * positions)
        for k in range(U(0), whole, U(4)):
            a0, a1 = float(af[base + k]), float(af[base + k + U(1)])
            a2, a3 = float(af[base + k + U(2)]), float(af[base + k + U(3)])
            s0, s1, s2, s3 = s0 + a0, s1 + a1, s2 + a2, s3 + a3
            p0 += a0 * bf[base + k]
            p1 += a1 * bf[base + k + U(1)]
            p2 += a2 * bf[base + k + U(2)]
            p3 += a3 * bf[base + k + U(3)]
        for k in range(whole, U(positions)):
            a0 = float(af[base + k])
            s0, p0 = s0 + a0, p0 + a0 * bf[base + k]
    return (s0 + s1) + (s2 + s3), (p0 + p1) + (p2 + p3)


@kernel
def batchnorm_forward_train(x, gamma, beta, eps, out, xhat, mean, var):
    """Normalise each channel with the batch statistics: xhat = (x - mean) / sqrt(var + eps).

    x is (batch, channels, positions): a Dense layer's output is viewed as (n, m, 1), an
    image batch (N, C, H, W) as (N, C, H*W), so the statistics of a channel are taken over the
    batch *and* every position, as batch norm for convolutions does. out = gamma * xhat + beta.
    Writes the batch mean and (biased) variance, which the layer needs for the running
    statistics, and xhat, which the backward pass needs.
    """
    n, c, p = x.shape
    count = n * p
    t = out.dtype.type
    xf, of, hf = x.ravel(), out.ravel(), xhat.ravel()
    for j in range(c):
        shift = float(xf[j * p])  # the channel's first value
        s, q = _sum_and_squares(xf, j, c, p, shift)
        m = s / count
        mean[j] = shift + m
        var[j] = max(q / count - m * m, 0.0)  # the variance of x - shift: the same
        inv_std = 1.0 / math.sqrt(var[j] + eps)
        mu, inv, g, b = t(mean[j]), t(inv_std), gamma[j], beta[j]
        for i in range(n):
            base = U((i * c + j) * p)
            for k in range(U(p)):
                h = (xf[base + k] - mu) * inv
                hf[base + k] = h
                of[base + k] = g * h + b


@kernel
def batchnorm_forward_eval(x, gamma, beta, mean, var, eps, out):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta with fixed (running) statistics."""
    n, c, p = x.shape
    t = out.dtype.type
    xf, of = x.ravel(), out.ravel()
    for i in range(n):
        for j in range(c):
            scale = gamma[j] / math.sqrt(var[j] + eps)
            a, b = t(scale), t(beta[j] - scale * mean[j])
            base = U((i * c + j) * p)
            for k in range(U(p)):
                of[base + k] = a * xf[base + k] + b


@kernel
def batchnorm_backward(dy, xhat, gamma, var, eps, dx, dgamma, dbeta):
    """Gradients of batch norm in training mode, on (batch, channels, positions) arrays.

    dbeta = sum dy, dgamma = sum dy * xhat (sums over batch and positions), and, because the
    batch mean and variance depend on every entry of the channel,
    dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)).
    """
    n, c, p = dy.shape
    count = n * p
    t = dx.dtype.type
    yf, hf, df = dy.ravel(), xhat.ravel(), dx.ravel()
    for j in range(c):
        sum_dy, sum_dyx = _sum_and_dot(yf, hf, j, c, p)
        dbeta[j], dgamma[j] = sum_dy, sum_dyx
        scale = t(gamma[j] / math.sqrt(var[j] + eps))
        mean_dy, mean_dyx = t(sum_dy / count), t(sum_dyx / count)
        for i in range(n):
            base = U((i * c + j) * p)
            for k in range(U(p)):
                df[base + k] = scale * (yf[base + k] - mean_dy - hf[base + k] * mean_dyx)


@kernel
def batchnorm_backward_eval(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta):
    """Gradients of batch norm in evaluation mode, where mean and var are fixed numbers.

    The layer is then the affine map out = gamma * xhat + beta with xhat = (x - mean) /
    sqrt(var + eps), so dbeta = sum dy, dgamma = sum dy * xhat (over batch and positions) and
    dx = dy * gamma / sqrt(var + eps): none of the batch coupling of the training mode.
    """
    n, c, p = dy.shape
    for j in range(c):
        dgamma[j] = 0
        dbeta[j] = 0
    for j in range(c):
        inv_std = 1.0 / math.sqrt(var[j] + eps)
        scale = gamma[j] * inv_std
        for i in range(n):
            for k in range(p):
                g = dy[i, j, k]
                dbeta[j] += g
                dgamma[j] += g * ((x[i, j, k] - mean[j]) * inv_std)
                dx[i, j, k] = g * scale


@kernel
def batchnorm_update_running(running_mean, running_var, mean, var, momentum, count):
    """Move the running statistics towards the batch's: r = (1 - momentum) * r + momentum * b.

    The batch variance `var` is the biased one (divided by count, the values behind each
    channel); the running variance keeps the unbiased estimate var * count / (count - 1), as
    PyTorch does. The numbers are rounded to the statistics' dtype before the arithmetic, so a
    float32 model updates in float32.
    """
    t = running_mean.dtype.type
    keep, new = t(1.0 - momentum), t(momentum)
    unbias = t(count / (count - 1.0))
    for j in range(running_mean.shape[0]):
        running_mean[j] = running_mean[j] * keep + new * mean[j]
        running_var[j] = running_var[j] * keep + new * (var[j] * unbias)


# --- dropout --------------------------------------------------------------------------------


@kernel
def dropout_forward(x, u, rate, out, mask):
    """Inverted dropout: keep a unit when its uniform draw u >= rate, scale kept ones by 1/(1-rate).

    The uniform draws come from the caller's seeded NumPy generator, so runs are reproducible
    and the NumPy twin can be given the very same draws.
    """
    n, m = x.shape
    scale = x.dtype.type(1.0 / (1.0 - rate))
    for i in range(n):
        for j in range(m):
            keep = u[i, j] >= rate
            mask[i, j] = keep
            out[i, j] = x[i, j] * scale if keep else 0.0


@kernel
def dropout_backward(dy, mask, rate, dx):
    """dx = dy * mask / (1 - rate)."""
    n, m = dy.shape
    scale = dy.dtype.type(1.0 / (1.0 - rate))
    for i in range(n):
        for j in range(m):
            dx[i, j] = dy[i, j] * scale if mask[i, j] else 0.0


# --- optimisers, on the flat parameter vector -------------------------------------------------
# All parameters of a model live in one flat array (the layers hold views into it), so one
# kernel call updates the whole model. The first `n_decay` entries are the weight matrices,
# which get the L2 penalty; biases and batch-norm parameters come after them and do not.
#
# Two details matter for speed. The settings arrive as Python floats; cast to the parameters'
# dtype first (`p.dtype.type`), or a float32 model would do all its arithmetic in float64.
# And moving averages of a gradient that stays zero (an always-black pixel, a dead unit)
# shrink geometrically until they become subnormal numbers, which x86 processors handle about
# a hundred times slower than normal ones; entries below TINY are set to exactly zero, which
# changes no weight by a representable amount.

TINY = 1e-30


@kernel
def sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay, n_decay):
    """SGD with momentum: v = momentum * v + g; p -= lr * (g + momentum * v if nesterov else v).

    g includes the L2 term weight_decay * p for the first n_decay entries.
    """
    lr, mu, wd = p.dtype.type(lr), p.dtype.type(momentum), p.dtype.type(weight_decay)
    tiny, zero = p.dtype.type(TINY), p.dtype.type(0.0)
    for i in range(p.shape[0]):
        grad = g[i] + wd * p[i] if i < n_decay else g[i]
        v = mu * velocity[i] + grad
        if abs(v) < tiny:
            v = zero
        velocity[i] = v
        p[i] -= lr * (grad + mu * v if nesterov else v)


@kernel
def adam_step(p, g, m1, m2, lr, beta1, beta2, eps, step, weight_decay, n_decay):
    """Adam (Kingma & Ba): moving averages m1 of g and m2 of g*g, bias-corrected (step = 1, 2...).

    p -= lr * m1_hat / (sqrt(m2_hat) + eps) with m1_hat = m1 / (1 - beta1**step) and
    m2_hat = m2 / (1 - beta2**step); g includes the L2 term as in `sgd_step`.
    """
    step_size = p.dtype.type(lr / (1.0 - beta1**step))
    inv_c2 = p.dtype.type(1.0 / (1.0 - beta2**step))
    b1, b2 = p.dtype.type(beta1), p.dtype.type(beta2)
    one_b1, one_b2 = p.dtype.type(1.0 - beta1), p.dtype.type(1.0 - beta2)
    eps, wd = p.dtype.type(eps), p.dtype.type(weight_decay)
    tiny, zero = p.dtype.type(TINY), p.dtype.type(0.0)
    for i in range(p.shape[0]):
        grad = g[i] + wd * p[i] if i < n_decay else g[i]
        a = b1 * m1[i] + one_b1 * grad
        b = b2 * m2[i] + one_b2 * grad * grad
        if abs(a) < tiny:
            a = zero
        if b < tiny:
            b = zero
        m1[i] = a
        m2[i] = b
        p[i] -= step_size * a / (np.sqrt(b * inv_c2) + eps)


# --- neural codes: bit packing and Hamming distances ------------------------------------------
# A code is a row of uint64 words: bit j of the pattern is bit (j % 64) of word j // 64, least
# significant bit first; the unused high bits of the last word are zero. One ReLU unit, one bit.


@kernel
def bias_act_pack(z, b, alpha, out, words, offset):
    """`bias_act_forward`, but the sign bits go straight into packed codes.

    ORs bit offset + j of row i of `words` with (z[i, j] + b[j] > 0). The bits of a word are
    gathered in a register without branching and written once, which keeps the loop as fast as
    the plain activation.
    """
    alpha = z.dtype.type(alpha)
    n, m = z.shape
    for i in range(n):
        acc = np.uint64(0)
        for j in range(m):
            a = z[i, j] + b[j]
            positive = a > 0
            out[i, j] = a if positive else alpha * a
            bit = offset + j
            acc |= np.uint64(positive) << np.uint64(bit & 63)
            if (bit & 63) == 63 or j == m - 1:  # the word is complete, or the layer is
                words[i, bit >> 6] |= acc
                acc = np.uint64(0)


@kernel
def act_pack(z, alpha, out, words, offset):
    """`act_forward` writing packed sign bits (an activation after BatchNorm)."""
    bias_act_pack(z, np.zeros(z.shape[1], z.dtype), alpha, out, words, offset)


@kernel
def pack_bits(bits, words):
    """Pack a 0/1 matrix (N, n_bits) into words (N, ceil(n_bits / 64)) uint64."""
    n, m = bits.shape
    words[:] = 0
    for i in range(n):
        for j in range(m):
            if bits[i, j]:
                words[i, j >> 6] |= np.uint64(1) << np.uint64(j & 63)


@kernel
def unpack_bits(words, bits):
    """Unpack words into the 0/1 matrix `bits` (N, n_bits); n_bits is bits.shape[1]."""
    n, m = bits.shape
    for i in range(n):
        for j in range(m):
            bits[i, j] = (words[i, j >> 6] >> np.uint64(j & 63)) & np.uint64(1)


@kernel
def select_bits(words, index, out):
    """out gets, as its bit j, bit index[j] of `words` (repacking a subset of the bits)."""
    n = words.shape[0]
    out[:] = 0
    for i in range(n):
        for j in range(index.shape[0]):
            src = index[j]
            bit = (words[i, src >> 6] >> np.uint64(src & 63)) & np.uint64(1)
            out[i, j >> 6] |= bit << np.uint64(j & 63)


@parallel_kernel
def hamming_distances(a, b, out):
    """out[i, j] = number of differing bits between code a[i] and code b[j] (popcount of XOR)."""
    n_words = a.shape[1]
    for i in prange(a.shape[0]):
        for j in range(b.shape[0]):
            d = 0
            for w in range(n_words):
                d += popcount(a[i, w] ^ b[j, w])
            out[i, j] = d


@kernel
def _insert_neighbour(best_d, best_i, d, j):
    """Insert training code j at distance d into the sorted lists; return the new k-th distance.

    Called only when d is strictly below the current k-th distance, so an equal distance never
    displaces an earlier (smaller) training index: ties go to the smaller index.
    """
    pos = best_d.shape[0] - 1
    while pos > 0 and best_d[pos - 1] > d:
        best_d[pos] = best_d[pos - 1]
        best_i[pos] = best_i[pos - 1]
        pos -= 1
    best_d[pos] = d
    best_i[pos] = j
    return best_d[best_d.shape[0] - 1]


@parallel_kernel
def hamming_knn(query, train, k, out_index, out_dist):
    """The k training codes nearest to each query code in Hamming distance.

    Row i of out_index/out_dist lists them by increasing distance, ties broken by the smaller
    training index, so the answer is unique. Each query keeps a small sorted list of its best k;
    most training codes are rejected by one comparison with the current k-th distance. Codes of
    up to 128 bits (one or two words) get their own loop, which the compiler unrolls.
    """
    n_train, n_words = train.shape
    for i in prange(query.shape[0]):
        best_d = np.full(k, n_words * 64 + 1, np.int64)
        best_i = np.full(k, -1, np.int64)
        worst = best_d[k - 1]
        if n_words == 1:
            q0 = query[i, 0]
            for j in range(n_train):
                d = np.int64(popcount(q0 ^ train[j, 0]))
                if d < worst:
                    worst = _insert_neighbour(best_d, best_i, d, j)
        elif n_words == 2:
            q0, q1 = query[i, 0], query[i, 1]
            for j in range(n_train):
                d = np.int64(popcount(q0 ^ train[j, 0]) + popcount(q1 ^ train[j, 1]))
                if d < worst:
                    worst = _insert_neighbour(best_d, best_i, d, j)
        else:
            for j in range(n_train):
                d = np.int64(0)
                for w in range(n_words):
                    d += popcount(query[i, w] ^ train[j, w])
                if d < worst:
                    worst = _insert_neighbour(best_d, best_i, d, j)
        out_index[i] = best_i
        out_dist[i] = best_d


@kernel
def code_groups(words, order, hashes):
    """Group identical codes: returns ids with ids[i] == ids[j] exactly when rows i and j match.

    `hashes` holds a 64-bit hash of each row and `order` sorts it; equal codes have equal
    hashes, so they sit next to each other in that order. Within a run of equal hashes the rows
    are compared word by word, which keeps the answer exact even if two different codes ever
    share a hash. Ids are numbered in the order of first appearance.
    """
    n, n_words = words.shape
    ids = np.full(n, -1, np.int64)
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and hashes[order[stop]] == hashes[order[start]]:
            stop += 1
        # Within the run: each row joins the first earlier row with the same words.
        for a in range(start, stop):
            row = order[a]
            if ids[row] != -1:
                continue
            ids[row] = row  # provisional id: a row index; renumbered below
            for c in range(a + 1, stop):
                other = order[c]
                if ids[other] == -1:
                    same = True
                    for w in range(n_words):
                        if words[row, w] != words[other, w]:
                            same = False
                            break
                    if same:
                        ids[other] = row
        start = stop
    # Renumber: the group of the first row gets id 0, the next new group 1, and so on. A group's
    # provisional id is one of its rows; map it to the smallest row of the group first.
    first = np.full(n, n, np.int64)
    for i in range(n):
        if i < first[ids[i]]:
            first[ids[i]] = i
    number = np.full(n, -1, np.int64)
    next_id = 0
    out = np.empty(n, np.int64)
    for i in range(n):
        head = first[ids[i]]
        if number[head] == -1:
            number[head] = next_id
            next_id += 1
        out[i] = number[head]
    return out


@kernel
def row_hashes(words):
    """A 64-bit hash of each code (splitmix64-style mixing of its words)."""
    n, n_words = words.shape
    out = np.empty(n, np.uint64)
    for i in range(n):
        h = np.uint64(0x9E3779B97F4A7C15)
        for w in range(n_words):
            x = words[i, w] + h
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = x ^ (x >> np.uint64(31))
        out[i] = h
    return out


# --- probes: K-Means, K-NN, logistic regression ------------------------------------------------
# Squared Euclidean distances come from one matrix product: ||x - c||^2 = ||x||^2 - 2 x.c +
# ||c||^2, and the x.c for all samples and centres is X @ C.T, which BLAS does at full speed.
# What is left (pick the nearest centre, add each sample into its cluster's sum) is a cheap pass
# over the samples, and the real cost of an iteration is *reading X from memory*. So the K-Means
# kernels walk X in blocks of KMEANS_BLOCK rows: BLAS multiplies a block by the centres, and the
# same block, still in the CPU cache, is then assigned and summed. X is read from memory once per
# iteration instead of two or three times.

KMEANS_BLOCK = 256  # rows per block: 256 x 100 float64 features = 200 KB, fits in the L2 cache


@kernel
def kmeans_lloyd_pass(X, x_sq, centers, labels, best, sums, counts):
    """One assignment pass of Lloyd's algorithm, with the sums the centre update needs.

    For each row x_i of X (with x_sq[i] = ||x_i||^2): labels[i] = the nearest centre (ties go to
    the lowest index), best[i] = the squared distance to it. sums[k] / counts[k] become the sum
    and number of the rows labelled k, so the new centres are sums / counts. Returns how many
    labels changed, which tells Lloyd's loop when it has converged.
    """
    n, d = X.shape
    k = centers.shape[0]
    centers_t = np.ascontiguousarray(centers.T)
    c_sq = np.zeros(k)
    for j in range(k):
        for f in range(d):
            c_sq[j] += centers[j, f] * centers[j, f]
    xc = np.empty((KMEANS_BLOCK, k))
    sums[:] = 0
    counts[:] = 0
    changed = 0
    for start in range(0, n, KMEANS_BLOCK):
        stop = min(start + KMEANS_BLOCK, n)
        block = xc[: stop - start]
        np.dot(X[start:stop], centers_t, block)  # BLAS: x.c for this block
        for i in range(start, stop):
            r = i - start
            # ||x||^2 is the same for every centre, so the nearest minimises ||c||^2 - 2 x.c
            arg = 0
            low = c_sq[0] - 2.0 * block[r, 0]
            for j in range(1, k):
                dist = c_sq[j] - 2.0 * block[r, j]
                if dist < low:
                    low = dist
                    arg = j
            if labels[i] != arg:
                changed += 1
                labels[i] = arg
            best[i] = max(x_sq[i] + low, 0.0)  # rounding can dip just below 0
            counts[arg] += 1
            for f in range(d):
                sums[arg, f] += X[i, f]
    return changed


@kernel
def kmeans_plus_plus_candidates(X, x_sq, rows, closest, out):
    """Try the samples `rows` as the next k-means++ centre.

    closest[i] is the squared distance of sample i to its nearest centre so far. Fills
    out[i, t] = min(closest[i], ||x_i - x_rows[t]||^2), sample i's distance once candidate t is
    added, and returns the totals out.sum(axis=0): the inertia each candidate would leave.
    """
    n, d = X.shape
    m = rows.shape[0]
    cand_t = np.ascontiguousarray(X[rows].T)
    xy = np.empty((KMEANS_BLOCK, m))
    totals = np.zeros(m)
    for start in range(0, n, KMEANS_BLOCK):
        stop = min(start + KMEANS_BLOCK, n)
        block = xy[: stop - start]
        np.dot(X[start:stop], cand_t, block)
        for i in range(start, stop):
            for t in range(m):
                dist = max(x_sq[i] - 2.0 * block[i - start, t] + x_sq[rows[t]], 0.0)
                dist = min(dist, closest[i])
                out[i, t] = dist
                totals[t] += dist
    return totals


@kernel
def nearest_from_distances(dist, labels, best):
    """Nearest centre from a full (N, K) distance matrix (K-Means with Hamming distances).

    Same contract as kmeans_lloyd_pass: labels[i] = argmin (ties to the lowest index),
    best[i] = the minimum; returns how many labels changed.
    """
    n, k = dist.shape
    changed = 0
    for i in range(n):
        arg = 0
        low = dist[i, 0]
        for j in range(1, k):
            if dist[i, j] < low:
                low = dist[i, j]
                arg = j
        if labels[i] != arg:
            changed += 1
            labels[i] = arg
        best[i] = low
    return changed


@kernel
def cluster_sums(X, labels, sums, counts):
    """sums[k] = sum of the rows of X labelled k, counts[k] = how many there are.

    For 0/1 code bits the sums count how many members have each bit set, which is all the
    majority vote of the Hamming centre update needs.
    """
    n, d = X.shape
    sums[:] = 0
    counts[:] = 0
    for i in range(n):
        k = labels[i]
        counts[k] += 1
        for f in range(d):
            sums[k, f] += X[i, f]


@kernel
def squared_error(X, centers, labels):
    """sum_i ||x_i - c_{labels[i]}||^2, summed directly (no cancellation, unlike the expansion)."""
    n, d = X.shape
    # one running total per feature: the loop over features then has no chain of dependent
    # additions and vectorises (a single scalar total would wait on each add in turn)
    per_feature = np.zeros(d)
    for i in range(n):
        k = labels[i]
        for f in range(d):
            diff = X[i, f] - centers[k, f]
            per_feature[f] += diff * diff
    return per_feature.sum()


@kernel
def merge_k_smallest(qt, sq_train, offset, best_index, best_key):
    """Merge key_j = sq_train[j] - 2 qt[i, j] (training index offset + j) into row i's best k.

    The inner step of the tiled Euclidean K-NN search: qt (n, m) is one tile of query x training
    dot products. best_key / best_index (n, k) hold each row's k smallest keys so far, sorted by
    (key, index); they start as +inf / -1. Most j are rejected by one comparison with the current
    k-th. Tiles come in increasing training index and only *strictly* smaller keys get in, so
    among equal keys the smaller index wins and the answer is unique. One thread on purpose:
    between BLAS products a threaded kernel fights OpenBLAS's waiting threads for the cores
    (measured: slower, not faster).
    """
    k = best_key.shape[1]
    for i in range(qt.shape[0]):
        worst = best_key[i, k - 1]
        for j in range(qt.shape[1]):
            key = sq_train[j] - 2.0 * qt[i, j]
            if key < worst:
                pos = k - 1
                while pos > 0 and best_key[i, pos - 1] > key:
                    best_key[i, pos] = best_key[i, pos - 1]
                    best_index[i, pos] = best_index[i, pos - 1]
                    pos -= 1
                best_key[i, pos] = key
                best_index[i, pos] = j + offset
                worst = best_key[i, k - 1]


# --- probes on codes too big to unpack: byte-table products ----------------------------------
# Logistic regression on Codes multiplies the packed 0/1 codes by a weight matrix W (the
# logits, X W) and by the logits' gradient (X^T dZ) without ever unpacking them. Byte p of a
# code selects bits 8p .. 8p+7, so a row of X W is a sum of one table row per byte; the caller
# builds the tables (tables[p, v] = sum of W's rows at the bits set in v) for a block of byte
# positions at a time, which keeps them small for codes of any width. These two kernels do the
# per-byte work; `hashnet.probes.logistic` explains the rest.


@kernel
def table_lookup_sum(code_bytes, tables, out):
    """out[i] += sum_p tables[p, code_bytes[i, p]]: x_i W for one block of byte positions.

    code_bytes (n, n_bytes) uint8 (a strided view of the code words is fine), tables
    (n_bytes, 256, width), out (n, width), accumulated so that blocks can follow each other.
    One thread: it runs between the small BLAS calls of L-BFGS.

    Each output is a long sum of lookups, and a single running total would wait for every
    addition to finish before the next (a chain of dependent adds); four totals that take
    turns over the byte positions keep the adder busy (measured: 5x faster for one logit).
    """
    n, n_bytes = code_bytes.shape
    width = out.shape[1]
    whole = n_bytes - n_bytes % 4
    for i in range(n):
        row = code_bytes[i]
        for k in range(width):
            a0 = a1 = a2 = a3 = 0.0
            for p in range(0, whole, 4):
                a0 += tables[p, row[p], k]
                a1 += tables[p + 1, row[p + 1], k]
                a2 += tables[p + 2, row[p + 2], k]
                a3 += tables[p + 3, row[p + 3], k]
            for p in range(whole, n_bytes):
                a0 += tables[p, row[p], k]
            out[i, k] += (a0 + a1) + (a2 + a3)


@kernel
def table_histogram(code_bytes, dz, hist):
    """hist[p, code_bytes[i, p]] += dz[i] for every row i and byte position p.

    The transposed product: (X^T dZ)[8p + j] is the sum of hist[p, v] over the byte values v
    whose bit j is set. hist (n_bytes, 256, width) is accumulated, not cleared.
    """
    n, n_bytes = code_bytes.shape
    width = dz.shape[1]
    for i in range(n):
        for p in range(n_bytes):
            h = hist[p, code_bytes[i, p]]
            for k in range(width):
                h[k] += dz[i, k]
