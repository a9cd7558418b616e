"""Plain NumPy twins of the Numba kernels in `cpu.py`: the oracle the tests compare against.

Same names, same arguments, same outputs. These are written to be obviously correct, not fast:
read them first to see what each kernel computes.
"""

from __future__ import annotations

import numpy as np


def add_bias(z, b):
    z += b


def bias_act_forward(z, b, alpha, out, mask):
    a = z + b
    mask[...] = a > 0
    out[...] = np.where(a > 0, a, alpha * a)


def act_forward(z, alpha, out, mask):
    bias_act_forward(z, np.zeros(z.shape[1], z.dtype), alpha, out, mask)


def act_backward(dy, mask, alpha, dx):
    dx[...] = np.where(mask.astype(bool), dy, alpha * dy)


def act_backward_bias(dy, mask, alpha, dx, db):
    act_backward(dy, mask, alpha, dx)
    db[...] = dx.sum(axis=0)


def column_sum(dz, db):
    db[...] = dz.sum(axis=0)


def softmax(logits, out):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    out[...] = e / e.sum(axis=1, keepdims=True)


def softmax_xent(logits, y, dlogits):
    n = logits.shape[0]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    onehot = np.zeros_like(log_probs)
    onehot[np.arange(n), y] = 1.0
    dlogits[...] = (np.exp(log_probs) - onehot) / n
    correct = int((logits.argmax(axis=1) == y).sum())
    return loss, correct


def batchnorm_forward_train(x, gamma, beta, eps, out, xhat, mean, var):
    # x is (batch, channels, positions); statistics per channel over batch and positions.
    mean[...] = x.mean(axis=(0, 2))
    var[...] = x.var(axis=(0, 2))
    xhat[...] = (x - mean[:, None]) / np.sqrt(var[:, None] + eps)
    out[...] = gamma[:, None] * xhat + beta[:, None]


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps, out):
    out[...] = gamma[:, None] * (x - mean[:, None]) / np.sqrt(var[:, None] + eps) + beta[:, None]


def batchnorm_backward(dy, xhat, gamma, var, eps, dx, dgamma, dbeta):
    dbeta[...] = dy.sum(axis=(0, 2))
    dgamma[...] = (dy * xhat).sum(axis=(0, 2))
    mean_dy = dy.mean(axis=(0, 2))[:, None]
    mean_dy_xhat = (dy * xhat).mean(axis=(0, 2))[:, None]
    scale = (gamma / np.sqrt(var + eps))[:, None]
    dx[...] = scale * (dy - mean_dy - xhat * mean_dy_xhat)


def dropout_forward(x, u, rate, out, mask):
    mask[...] = u >= rate
    out[...] = x * mask / (1.0 - rate)


def dropout_backward(dy, mask, rate, dx):
    dx[...] = dy * mask / (1.0 - rate)


TINY = 1e-30  # moving averages below this are flushed to zero (see cpu.py)


def _with_decay(p, g, weight_decay, n_decay):
    grad = g.copy()
    grad[:n_decay] += weight_decay * p[:n_decay]
    return grad


def _flush(a):
    a[np.abs(a) < TINY] = 0


def sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay, n_decay):
    grad = _with_decay(p, g, weight_decay, n_decay)
    velocity[...] = momentum * velocity + grad
    _flush(velocity)
    p -= lr * (grad + momentum * velocity if nesterov else velocity)


def adam_step(p, g, m1, m2, lr, beta1, beta2, eps, step, weight_decay, n_decay):
    grad = _with_decay(p, g, weight_decay, n_decay)
    m1[...] = beta1 * m1 + (1 - beta1) * grad
    m2[...] = beta2 * m2 + (1 - beta2) * grad**2
    _flush(m1)
    _flush(m2)
    m1_hat = m1 / (1 - beta1**step)
    m2_hat = m2 / (1 - beta2**step)
    p -= lr * m1_hat / (np.sqrt(m2_hat) + eps)


# --- neural codes -----------------------------------------------------------------------------


def _set_bits(words, bits, offset=0):
    """OR the 0/1 columns of `bits` into `words` at bit positions offset, offset + 1, ..."""
    for j in range(bits.shape[1]):
        position = offset + j
        column = bits[:, j].astype(np.uint64) << np.uint64(position % 64)
        words[:, position // 64] |= column


def bias_act_pack(z, b, alpha, out, words, offset):
    mask = np.zeros(z.shape, np.uint8)
    bias_act_forward(z, b, alpha, out, mask)
    _set_bits(words, mask, offset)


def act_pack(z, alpha, out, words, offset):
    bias_act_pack(z, np.zeros(z.shape[1], z.dtype), alpha, out, words, offset)


def pack_bits(bits, words):
    words[...] = 0
    _set_bits(words, bits)


def unpack_bits(words, bits):
    for j in range(bits.shape[1]):
        bits[:, j] = (words[:, j // 64] >> np.uint64(j % 64)) & np.uint64(1)


def select_bits(words, index, out):
    n_bits = int(index.max()) + 1 if len(index) else 0
    bits = np.zeros((words.shape[0], n_bits), np.uint8)
    unpack_bits(words, bits)
    pack_bits(bits[:, index], out)


def hamming_distances(a, b, out):
    bytes_a = np.unpackbits(a.view(np.uint8), axis=1)
    bytes_b = np.unpackbits(b.view(np.uint8), axis=1)
    out[...] = (bytes_a[:, None, :] != bytes_b[None, :, :]).sum(axis=2)


def hamming_knn(query, train, k, out_index, out_dist):
    dist = np.zeros((query.shape[0], train.shape[0]), np.int64)
    hamming_distances(query, train, dist)
    for i in range(query.shape[0]):
        order = np.lexsort((np.arange(train.shape[0]), dist[i]))[:k]  # by distance, then index
        out_index[i] = order
        out_dist[i] = dist[i, order]


def code_groups(words, order=None, hashes=None):
    """Group ids in order of first appearance (order and hashes are not needed here)."""
    _, first, inverse = np.unique(words, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.ravel()]


# --- probes: K-Means, K-NN, logistic regression ----------------------------------------------


def kmeans_lloyd_pass(X, x_sq, centers, labels, best, sums, counts):
    d = x_sq[:, None] - 2.0 * (X @ centers.T) + np.sum(centers**2, axis=1)[None, :]
    arg = np.argmin(d, axis=1)
    changed = int(np.count_nonzero(arg != labels))
    labels[:] = arg
    best[:] = np.maximum(d[np.arange(len(d)), arg], 0.0)
    cluster_sums(X, labels, sums, counts)
    return changed


def kmeans_plus_plus_candidates(X, x_sq, rows, closest, out):
    d = x_sq[:, None] - 2.0 * (X @ X[rows].T) + x_sq[rows][None, :]
    out[:] = np.minimum(np.maximum(d, 0.0), closest[:, None])
    return out.sum(axis=0)


def nearest_from_distances(dist, labels, best):
    arg = np.argmin(dist, axis=1)  # the first minimum: ties go to the lowest index
    changed = int(np.count_nonzero(arg != labels))
    labels[:] = arg
    best[:] = dist[np.arange(len(dist)), arg]
    return changed


def cluster_sums(X, labels, sums, counts):
    sums[:] = 0
    counts[:] = np.bincount(labels, minlength=len(counts))
    np.add.at(sums, labels, X)


def squared_error(X, centers, labels):
    return float(np.sum((X - centers[labels]) ** 2))


def merge_k_smallest(qt, sq_train, offset, best_index, best_key):
    """Pool the current best k with the whole tile, sort by (key, index), keep the first k."""
    k = best_key.shape[1]
    key = sq_train[None, :] - 2.0 * qt
    index = np.broadcast_to(offset + np.arange(qt.shape[1]), key.shape)
    all_key = np.concatenate([best_key, key], axis=1)
    all_index = np.concatenate([best_index, index], axis=1)
    order = np.lexsort((all_index, all_key), axis=1)[:, :k]  # by key, then by index
    best_key[...] = np.take_along_axis(all_key, order, axis=1)
    best_index[...] = np.take_along_axis(all_index, order, axis=1)


def table_xent(code_bytes, tables, shift, y, binary, hist):
    n, n_bytes = code_bytes.shape
    position = np.arange(n_bytes)
    z = shift + tables[position[None, :], code_bytes].sum(axis=1)  # (n, width) logits
    if binary:
        t, zi = y.astype(np.float64), z[:, 0]
        log1p_exp = np.logaddexp(0.0, zi)  # log(1 + e^z) without overflow
        loss = np.mean(log1p_exp - t * zi)
        dz = (np.exp(zi - log1p_exp) - t)[:, None] / n  # sigma(z) = e^z / (1 + e^z)
    else:
        dz = np.empty_like(z)
        loss, _ = softmax_xent(z, y, dz)
    for p in range(n_bytes):
        np.add.at(hist[p], code_bytes[:, p], dz)
    return float(loss)


# --- exact linear regions ---------------------------------------------------------------------


def _signed_area(polygon):
    if len(polygon) < 3:
        return 0.0
    s, t = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(s, np.roll(t, -1)) - np.dot(np.roll(s, -1), t))


def cut_regions(verts, starts, counts, A, z0, reach_s, reach_t, tol_factor, area_tol, limit):
    out, owner, out_bits = [], [], []
    m = z0.shape[1]

    def visit(r, piece, j, bits):
        if len(out) > limit:
            return
        while j < m:
            a, b, c = A[r, 0, j], A[r, 1, j], z0[r, j]
            tol = tol_factor * (abs(a) * reach_s + abs(b) * reach_t + abs(c))
            f = piece @ np.array([a, b]) + c
            side = np.where(f > tol, 1, np.where(f < -tol, -1, 0))
            if (side > 0).any() and (side < 0).any():
                halves = [_half(piece, f, side, positive) for positive in (True, False)]
                areas = [_signed_area(h) for h in halves]
                if min(areas) > area_tol:
                    visit(r, halves[1], j + 1, bits.copy())  # negative half first
                    on = bits.copy()
                    on[j] = 1
                    visit(r, halves[0], j + 1, on)
                    return
                bits[j] = areas[0] > areas[1]
            elif (side != 0).any():
                bits[j] = (side > 0).any()
            else:
                bits[j] = a * piece[:, 0].mean() + b * piece[:, 1].mean() + c > 0
            j += 1
        out.append(piece)
        owner.append(r)
        out_bits.append(bits)

    for r, (start, k) in enumerate(zip(starts, counts)):
        visit(r, verts[start : start + k], 0, np.zeros(m, np.uint8))
    counts_out = np.array([len(p) for p in out], np.int64)
    return (
        np.concatenate(out) if out else np.empty((0, 2)),
        np.concatenate([[0], np.cumsum(counts_out)[:-1]]).astype(np.int64),
        counts_out,
        np.array(owner, np.int64),
        np.array(out_bits, np.uint8).reshape(len(out), m),
    )


def _half(piece, f, side, positive):
    """One half of a cut piece: its vertices on that side (see `_keeps`) and the crossings."""
    rows, k = [], len(piece)
    for q in range(k):
        p = (q + 1) % k
        if _keeps(side, q, positive):
            rows.append(piece[q])
        if side[q] * side[p] < 0:
            rows.append(piece[q] + f[q] / (f[q] - f[p]) * (piece[p] - piece[q]))
    return np.array(rows)


def _keeps(side, q, positive):
    """Vertex q's half: off-line vertices by their side; a run on the line between the sides
    whole to the positive half and only its end next to the negative side to the negative half;
    a run touching the line from one side stays on that side."""
    k = len(side)
    if side[q] != 0:
        return (side[q] > 0) == positive
    before = next(side[(q - d) % k] for d in range(1, k) if side[(q - d) % k] != 0)
    after = next(side[(q + d) % k] for d in range(1, k) if side[(q + d) % k] != 0)
    if positive:
        return before > 0 or after > 0
    if before < 0 and after < 0:
        return True
    if before > 0 and after < 0:
        return side[(q + 1) % k] != 0
    if after > 0 and before < 0:
        return side[(q - 1) % k] != 0
    return False


# --- image layers (twins of images.py) --------------------------------------------------------


def im2col(x, kh, kw, stride, pad, cols):
    n, c, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    windows = np.empty((c, kh, kw, n, oh, ow), x.dtype)
    for i in range(kh):
        for j in range(kw):
            # every output position's pixel at offset (i, j) of its window
            part = padded[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            windows[:, i, j] = part.transpose(1, 0, 2, 3)
    cols[...] = windows.reshape(c * kh * kw, n * oh * ow)


def col2im(dcols, kh, kw, stride, pad, dx):
    n, c, height, width = dx.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    padded = np.zeros((n, c, height + 2 * pad, width + 2 * pad), dx.dtype)
    windows = dcols.reshape(c, kh, kw, n, oh, ow)
    for i in range(kh):
        for j in range(kw):
            part = windows[:, i, j].transpose(1, 0, 2, 3)
            padded[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += part
    dx[...] = padded[:, :, pad : pad + height, pad : pad + width]


def rows_to_images(rows, b, out):
    n, f, p = out.shape
    out[...] = rows.reshape(f, n, p).transpose(1, 0, 2) + b[:, None]


def images_to_rows(dy, rows, db):
    n, f, p = dy.shape
    rows[...] = dy.transpose(1, 0, 2).reshape(f, n * p)
    db[...] = dy.sum(axis=(0, 2))


def _windows(x, k, stride, oh, ow):
    """(n, c, oh, ow, k*k): the pixels of every pooling window."""
    return np.stack(
        [
            x[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride]
            for i in range(k)
            for j in range(k)
        ],
        axis=-1,
    )


def maxpool_forward(x, k, stride, out, argmax):
    oh, ow = out.shape[2:]
    windows = _windows(x, k, stride, oh, ow)
    best = windows.argmax(axis=-1)  # the first maximum on ties, as the kernel
    out[...] = np.take_along_axis(windows, best[..., None], axis=-1)[..., 0]
    i, j = best // k, best % k
    rows = np.arange(oh)[:, None] * stride + i
    columns = np.arange(ow)[None, :] * stride + j
    argmax[...] = rows * x.shape[3] + columns


def maxpool_backward(dy, argmax, dx):
    n, c = dy.shape[:2]
    flat = np.zeros((n, c, dx.shape[2] * dx.shape[3]), dx.dtype)
    for a in range(n):
        for b in range(c):
            np.add.at(flat[a, b], argmax[a, b].ravel(), dy[a, b].ravel())
    dx[...] = flat.reshape(dx.shape)


def avgpool_forward(x, k, stride, out):
    oh, ow = out.shape[2:]
    out[...] = _windows(x, k, stride, oh, ow).mean(axis=-1)


def avgpool_backward(dy, k, stride, dx):
    oh, ow = dy.shape[2:]
    dx[...] = 0
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += dy / (k * k)
