"""Plain NumPy twins of the kernels: what each one computes, and why, written to be read.

Every fast kernel of `cpu.py`, `images.py` (Numba) and `cuda.py` (the GPU) has a twin here with
the same name and the same arguments. Outputs are passed in and filled (`out[...] = ...`), as
the kernels do; a twin that returns something returns what its kernel returns. The tests run
each kernel and its twin on random inputs and compare, so if you want to know what a kernel
does, read its twin: it is the formula, in NumPy, with the reasoning in its docstring. The
kernels only add speed (one pass over memory instead of several, no temporary arrays).

Shapes: a batch is (N, features) with one example per row; images are NCHW, (N, channels,
height, width); batch norm sees (N, channels, positions). Masks are uint8 0/1.
"""

from __future__ import annotations

import numpy as np

# --- dense layers and activations ----------------------------------------------------------


def add_bias(z, b):
    """z += b: the bias of a Dense layer, one number per output unit, added to every row.

    (In a network the bias is usually added by the activation's kernel instead, in the same
    pass; this one serves a Dense layer that no activation follows, such as the logits.)
    """
    z += b


def add_into(dst, src):
    """dst += src, entry by entry: the sum of a residual block's two paths, and of the
    gradients that come back along them."""
    dst += src


def bias_act_forward(z, b, alpha, out, mask):
    """A ReLU-like activation of z + b, recording which units are on.

    a = z + b is the pre-activation. The unit is *on* where a > 0: mask = (a > 0) is the
    layer's activation pattern, one bit of the neural code per unit. The output is
    out = a where on, alpha * a where off: alpha = 0 is the ReLU, a small alpha (0.01) the
    leaky ReLU, whose off units still pass a little signal and gradient.
    """
    a = z + b
    mask[...] = a > 0
    out[...] = np.where(a > 0, a, alpha * a)


def act_forward(z, alpha, out, mask):
    """`bias_act_forward` without a bias: for an activation whose input already includes one
    (after BatchNorm, or after a convolution, which adds its bias itself)."""
    bias_act_forward(z, np.zeros(z.shape[1], z.dtype), alpha, out, mask)


def act_backward(dy, mask, alpha, dx):
    """The chain rule through the activation: out = a (slope 1) where the unit was on and
    alpha * a (slope alpha) where it was off, so dL/da = dy * slope: dx = dy where mask, else
    alpha * dy. Only the mask of the forward pass is needed, not the inputs."""
    dx[...] = np.where(mask.astype(bool), dy, alpha * dy)


def act_backward_bias(dy, mask, alpha, dx, db):
    """`act_backward`, and the bias gradient of the Dense layer before the activation.

    That bias entered as a = z + b, with the same b in every row, so dL/db = the sum over the
    batch of dL/da: the column sums of dx.
    """
    act_backward(dy, mask, alpha, dx)
    db[...] = dx.sum(axis=0)


def column_sum(dz, db):
    """db = the column sums of dz: the bias gradient of a Dense layer (z = x @ W + b adds the
    same b to every row, so each row's gradient contributes to it)."""
    db[...] = dz.sum(axis=0)


# --- softmax cross-entropy ------------------------------------------------------------------


def softmax(logits, out):
    """p = exp(z) / sum(exp(z)) per row: the class probabilities.

    Subtracting the row's largest logit first changes nothing (the factor exp(-max) cancels)
    but keeps every exp() at most 1, so it cannot overflow.
    """
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    out[...] = e / e.sum(axis=1, keepdims=True)


def softmax_xent(logits, y, dlogits):
    """The loss of a batch: mean cross-entropy of softmax(logits) against the labels y.

    For one row, loss = -log p[y] = logsumexp(z) - z[y], computed from log-probabilities
    (z - max - log sum exp(z - max)) so that a tiny p never becomes log(0). Its gradient is
    the famous p - onehot(y): the softmax and the log cancel each other's derivatives. The
    batch loss is the mean, so dlogits = (p - onehot(y)) / n. Returns (mean loss, how many
    rows have their largest logit at y).
    """
    n = logits.shape[0]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    onehot = np.zeros_like(log_probs)
    onehot[np.arange(n), y] = 1.0
    dlogits[...] = (np.exp(log_probs) - onehot) / n
    correct = int((logits.argmax(axis=1) == y).sum())
    return loss, correct


def softmax_xent_rows(logits, y, dlogits, row_loss, row_correct):
    """`softmax_xent` keeping each row's loss and correctness instead of the batch totals.

    The training loop adds these up once per epoch. (On a GPU, reading a number back makes the
    host wait for the device; one read per epoch instead of one per batch keeps it busy.)
    """
    n = logits.shape[0]
    shifted = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    row_loss[...] = -log_probs[np.arange(n), y]
    row_correct[...] = logits.argmax(axis=1) == y
    softmax_xent(logits, y, dlogits)


# --- batch normalisation --------------------------------------------------------------------
# x is (batch, channels, positions): a Dense layer's (N, units) is seen as (N, units, 1), an
# image batch (N, C, H, W) as (N, C, H*W). Every statistic is per channel, over the batch and
# the positions, so a convolutional channel is normalised as one feature (it shares its weights
# over the positions, so it shares its scale and shift too).


def batchnorm_forward_train(x, gamma, beta, eps, out, xhat, mean, var):
    """Normalise each channel with this batch's mean and (biased) variance, then scale and
    shift: xhat = (x - mean) / sqrt(var + eps), out = gamma * xhat + beta.

    Every channel leaves with mean beta and standard deviation about gamma, whatever the
    earlier layers did to its scale, which is what makes deep networks easier to train. eps
    keeps the division safe for a channel that is constant in the batch. `xhat`, `mean` and
    `var` are outputs too: the backward pass needs xhat and var, the running statistics need
    mean and var.
    """
    mean[...] = x.mean(axis=(0, 2))
    var[...] = x.var(axis=(0, 2))
    xhat[...] = (x - mean[:, None]) / np.sqrt(var[:, None] + eps)
    out[...] = gamma[:, None] * xhat + beta[:, None]


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps, out):
    """Evaluation: the same formula with fixed statistics (the running averages kept during
    training). Every example is then treated on its own, and the layer is an affine map."""
    out[...] = gamma[:, None] * (x - mean[:, None]) / np.sqrt(var[:, None] + eps) + beta[:, None]


def batchnorm_backward(dy, xhat, gamma, var, eps, dx, dgamma, dbeta):
    """Gradients of the training-mode batch norm.

    beta and gamma act like a bias and a per-channel weight on xhat: dbeta = sum dy and
    dgamma = sum dy * xhat, summed over batch and positions. dx is subtler, because every
    input moves its channel's mean and variance too. With m values per channel and
    s = 1 / sqrt(var + eps), differentiating xhat_i = (x_i - mean) * s through mean and var
    gives dx = gamma * s * (dy - mean(dy) - xhat * mean(dy * xhat)): the gradient with its
    mean removed (shifting every input alike changes nothing after normalising) and its
    component along xhat removed (neither does scaling them alike).
    """
    dbeta[...] = dy.sum(axis=(0, 2))
    dgamma[...] = (dy * xhat).sum(axis=(0, 2))
    mean_dy = dy.mean(axis=(0, 2))[:, None]
    mean_dy_xhat = (dy * xhat).mean(axis=(0, 2))[:, None]
    scale = (gamma / np.sqrt(var + eps))[:, None]
    dx[...] = scale * (dy - mean_dy - xhat * mean_dy_xhat)


def batchnorm_backward_eval(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta):
    """Gradients of the evaluation-mode batch norm, whose mean and var are constants: an
    affine map per channel, so dx = dy * gamma / sqrt(var + eps), and dgamma, dbeta as in
    training mode (with xhat computed from the fixed statistics)."""
    inv_std = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean[:, None]) * inv_std[:, None]
    dbeta[...] = dy.sum(axis=(0, 2))
    dgamma[...] = (dy * xhat).sum(axis=(0, 2))
    dx[...] = dy * (gamma * inv_std)[:, None]


def batchnorm_update_running(running_mean, running_var, mean, var, momentum, count):
    """Exponential moving averages of the batch statistics, for evaluation mode:
    running = (1 - momentum) * running + momentum * batch value.

    The batch variance `var` divides by the count of values behind it (`count` per channel);
    the running variance averages the unbiased estimate var * count / (count - 1) instead,
    since it stands for the variance of the whole data set (PyTorch's convention).
    """
    dtype = running_mean.dtype.type
    keep, new = dtype(1.0 - momentum), dtype(momentum)
    unbiased = var * dtype(count / (count - 1.0))
    running_mean[...] = running_mean * keep + new * mean
    running_var[...] = running_var * keep + new * unbiased


# --- dropout --------------------------------------------------------------------------------


def dropout_forward(x, u, rate, out, mask):
    """Inverted dropout: keep each unit with probability 1 - rate (where its uniform draw u is
    >= rate), zero the others, and scale the kept ones by 1 / (1 - rate).

    The scaling keeps every unit's expected value what it was, so evaluation simply skips
    dropout. The draws u come from the caller (a seeded generator), which makes a run
    repeatable and lets a twin, or a GPU, drop exactly the same units.
    """
    mask[...] = u >= rate
    out[...] = x * mask / (1.0 - rate)


def dropout_backward(dy, mask, rate, dx):
    """A dropped unit passed nothing on, so it gets no gradient; a kept one was scaled by
    1 / (1 - rate), and so is its gradient."""
    dx[...] = dy * mask / (1.0 - rate)


# --- optimisers, on the model's flat parameter vector --------------------------------------
# All parameters of a model live in one flat vector p, gradients in g. Its first n_decay
# entries are the weight matrices, which get the L2 penalty weight_decay / 2 * ||W||^2 (its
# gradient, weight_decay * W, is added to g); biases and batch-norm parameters come after them
# and are not decayed.

TINY = 1e-30  # moving averages below this are set to zero (see _flush)


def _with_decay(p, g, weight_decay, n_decay):
    grad = g.copy()
    grad[:n_decay] += weight_decay * p[:n_decay]
    return grad


def _flush(a):
    """Set entries below TINY to zero. A moving average of a gradient that stays zero (a
    pixel that is always black, a dead unit) shrinks geometrically until it becomes a
    subnormal float, which x86 processors handle tens of times slower than normal ones;
    flushing it changes no weight by a representable amount."""
    a[np.abs(a) < TINY] = 0


def sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay, n_decay):
    """Stochastic gradient descent with momentum.

    The velocity is a running sum of gradients, v = momentum * v + g, so steps along a
    direction that keeps coming back grow (up to 1 / (1 - momentum) times), while directions
    that flip sign cancel. Plain momentum steps p -= lr * v; Nesterov's variant looks ahead,
    p -= lr * (g + momentum * v). momentum = 0 is plain SGD, p -= lr * g.
    """
    grad = _with_decay(p, g, weight_decay, n_decay)
    velocity[...] = momentum * velocity + grad
    _flush(velocity)
    p -= lr * (grad + momentum * velocity if nesterov else velocity)


def adam_step(p, g, m1, m2, lr, beta1, beta2, eps, step, weight_decay, n_decay):
    """Adam (Kingma and Ba, 2015): momentum, with every coordinate scaled by the size of its
    own gradients.

    m1 averages the gradient and m2 its square (moving averages with weights 1 - beta1 and
    1 - beta2). Both start at zero, which biases them towards zero in the first steps; dividing
    by 1 - beta**step (`step` counts from 1) removes that bias. The step is
    lr * m1_hat / (sqrt(m2_hat) + eps): about lr in size for a steady gradient, whatever its
    scale, so one learning rate suits weights whose gradients differ by orders of magnitude.
    """
    grad = _with_decay(p, g, weight_decay, n_decay)
    m1[...] = beta1 * m1 + (1 - beta1) * grad
    m2[...] = beta2 * m2 + (1 - beta2) * grad**2
    _flush(m1)
    _flush(m2)
    m1_hat = m1 / (1 - beta1**step)
    m2_hat = m2 / (1 - beta2**step)
    p -= lr * m1_hat / (np.sqrt(m2_hat) + eps)


# --- neural codes -----------------------------------------------------------------------------
# A code is a row of uint64 words: bit j of the activation pattern is bit j % 64 (least
# significant first) of word j // 64, and the unused high bits of the last word are zero. Packed,
# 64 units fit in one machine word, two codes are equal when their words are, and the Hamming
# distance is a popcount of XORed words.


def _set_bits(words, bits, offset=0):
    """OR the 0/1 columns of `bits` into `words` at bit positions offset, offset + 1, ..."""
    for j in range(bits.shape[1]):
        position = offset + j
        column = bits[:, j].astype(np.uint64) << np.uint64(position % 64)
        words[:, position // 64] |= column


def bias_act_pack(z, b, alpha, out, words, offset):
    """`bias_act_forward` that writes its sign bits into packed codes instead of a mask: bit
    offset + j of row i becomes z[i, j] + b[j] > 0. A network's code is its activation layers'
    bits, one layer after the other, so each layer packs at its own offset (ORed in, which
    leaves the bits of the other layers alone)."""
    mask = np.zeros(z.shape, np.uint8)
    bias_act_forward(z, b, alpha, out, mask)
    _set_bits(words, mask, offset)


def act_pack(z, alpha, out, words, offset):
    """`bias_act_pack` without a bias (see `act_forward`)."""
    bias_act_pack(z, np.zeros(z.shape[1], z.dtype), alpha, out, words, offset)


def pack_bits(bits, words):
    """Pack a 0/1 matrix (N, n_bits) into words (N, ceil(n_bits / 64))."""
    words[...] = 0
    _set_bits(words, bits)


def unpack_bits(words, bits):
    """The inverse of `pack_bits`: bits[i, j] = bit j % 64 of words[i, j // 64]."""
    for j in range(bits.shape[1]):
        bits[:, j] = (words[:, j // 64] >> np.uint64(j % 64)) & np.uint64(1)


def select_bits(words, index, out):
    """New codes whose bit j is bit index[j] of the old ones (a subset of the units, in any
    order), packed again."""
    n_bits = int(index.max()) + 1 if len(index) else 0
    bits = np.zeros((words.shape[0], n_bits), np.uint8)
    unpack_bits(words, bits)
    pack_bits(bits[:, index], out)


def hamming_distances(a, b, out):
    """out[i, j] = the number of units on in one code and off in the other: the Hamming
    distance between codes a[i] and b[j]. (The kernel counts the 1 bits of a[i] XOR b[j],
    64 units per instruction.)"""
    bytes_a = np.unpackbits(a.view(np.uint8), axis=1)
    bytes_b = np.unpackbits(b.view(np.uint8), axis=1)
    out[...] = (bytes_a[:, None, :] != bytes_b[None, :, :]).sum(axis=2)


def hamming_knn(query, train, k, out_index, out_dist):
    """The k training codes nearest to each query code in Hamming distance, nearest first.

    Many codes are at the same distance (distances are small integers), so the order among
    them must be fixed for the answer to be unique: ties go to the smaller training index.
    """
    dist = np.zeros((query.shape[0], train.shape[0]), np.int64)
    hamming_distances(query, train, dist)
    for i in range(query.shape[0]):
        order = np.lexsort((np.arange(train.shape[0]), dist[i]))[:k]  # by distance, then index
        out_index[i] = order
        out_dist[i] = dist[i, order]


def code_groups(words, order=None, hashes=None):
    """A group id for every code: equal ids exactly for equal codes, numbered 0, 1, ... in the
    order in which each code first appears. (The kernel sorts by a hash of the words to bring
    equal codes together; `order` and `hashes` are that sort, which np.unique does not need.)"""
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
    """One tile of the Euclidean K-NN search: merge its candidates into the best k so far.

    The squared distance ||q - t||^2 = ||q||^2 - 2 q.t + ||t||^2; the first term is the same
    for every candidate of a query, so ranking needs only key = ||t||^2 - 2 q.t, where the
    products q.t for a whole tile of training points are one matrix product (`qt`, columns
    offset, offset + 1, ... of the training set). Pool the current best k with the tile, sort
    by (key, index), keep the first k: ties go to the smaller training index.
    """
    k = best_key.shape[1]
    key = sq_train[None, :] - 2.0 * qt
    index = np.broadcast_to(offset + np.arange(qt.shape[1]), key.shape)
    all_key = np.concatenate([best_key, key], axis=1)
    all_index = np.concatenate([best_index, index], axis=1)
    order = np.lexsort((all_index, all_key), axis=1)[:, :k]  # by key, then by index
    best_key[...] = np.take_along_axis(all_key, order, axis=1)
    best_index[...] = np.take_along_axis(all_index, order, axis=1)


# --- image layers (twins of images.py) --------------------------------------------------------
# A convolution slides each (C, kh, kw) filter over the image: out[n, f, y, x] = b[f] + the sum
# of W[f] times the window at (y * stride - pad, x * stride - pad). Written as one matrix
# product: im2col copies every window into a column, W (one row per filter) @ cols applies every
# filter to every window, rows_to_images puts the result into NCHW order. Backward, the same
# steps in reverse: images_to_rows, two products, col2im.


def im2col(x, kh, kw, stride, pad, cols):
    """Every kh x kw window of the zero-padded images as one column of `cols`:

        cols[(c*kh + i)*kw + j, (n*OH + oy)*OW + ox] = x[n, c, oy*s + i - pad, ox*s + j - pad]

    One row per filter weight (c, i, j), one column per (image, output position), so that
    W.reshape(F, C*kh*kw) @ cols is the convolution of every image with every filter.
    s is the stride; OH = (H + 2 pad - kh) // s + 1, and likewise OW.
    """
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
    """The adjoint of im2col, for the backward pass: each entry of dcols is the gradient of
    one copy of a pixel, and a pixel's gradient is the sum over its copies (a pixel under
    several windows was copied several times). Padding pixels are dropped."""
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
    """out[n, f, p] = rows[f, n * P + p] + b[f]: the product W @ cols has one row per filter
    and one column per (image, position); cut it into images and add each filter's bias."""
    n, f, p = out.shape
    out[...] = rows.reshape(f, n, p).transpose(1, 0, 2) + b[:, None]


def images_to_rows(dy, rows, db):
    """The reverse layout change, rows[f, n * P + p] = dy[n, f, p], and the bias gradient:
    a filter's bias was added at every position of every image, so db[f] sums dy over both."""
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
    """The largest pixel of each k x k window (windows start every `stride` pixels), and
    where it was: argmax holds its flat position y * W + x within the channel, the first
    maximum on ties, so that the backward pass knows who won."""
    oh, ow = out.shape[2:]
    windows = _windows(x, k, stride, oh, ow)
    best = windows.argmax(axis=-1)  # the first maximum on ties, as the kernel
    out[...] = np.take_along_axis(windows, best[..., None], axis=-1)[..., 0]
    i, j = best // k, best % k
    rows = np.arange(oh)[:, None] * stride + i
    columns = np.arange(ow)[None, :] * stride + j
    argmax[...] = rows * x.shape[3] + columns


def maxpool_backward(dy, argmax, k, stride, dx):
    """Only the winner of a window influenced its output, with slope 1: each window's
    gradient goes to its winning pixel, and a pixel that won several (overlapping) windows
    collects all of theirs. (k and stride are not needed here; the GPU kernel uses them.)"""
    n, c = dy.shape[:2]
    flat = np.zeros((n, c, dx.shape[2] * dx.shape[3]), dx.dtype)
    for a in range(n):
        for b in range(c):
            np.add.at(flat[a, b], argmax[a, b].ravel(), dy[a, b].ravel())
    dx[...] = flat.reshape(dx.shape)


def avgpool_forward(x, k, stride, out):
    """The mean of each k x k window: the same affine map for every input."""
    oh, ow = out.shape[2:]
    out[...] = _windows(x, k, stride, oh, ow).mean(axis=-1)


def avgpool_backward(dy, k, stride, dx):
    """Each pixel of a window counted 1 / (k * k) in its mean, so it gets that share of the
    window's gradient (summed over the windows it belongs to)."""
    oh, ow = dy.shape[2:]
    dx[...] = 0
    for i in range(k):
        for j in range(k):
            dx[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += dy / (k * k)


def global_avgpool_forward(x, out):
    """(N, C, H, W) -> (N, C): the mean of each channel over all positions, so a classifier
    sees one number per feature map, wherever in the image the feature appeared."""
    out[...] = x.mean(axis=(2, 3))


def global_avgpool_backward(dy, dx):
    """Each of the H * W positions counted 1 / (H * W) in its channel's mean: every one gets
    that share of the mean's gradient."""
    positions = dx.shape[2] * dx.shape[3]
    dx[...] = (dy / dx.dtype.type(positions))[:, :, None, None]


# --- data augmentation (twin of augment.py) ---------------------------------------------------
# A random turn, shift and mirror of every training image, as Keras' ImageDataGenerator does:
# the network sees a slightly different picture of each example in every epoch.


def affine_images(x, angle, shift_y, shift_x, flip, constant, out):
    """out[n] = x[n] turned by angle[n] degrees about the centre of its pixel grid, shifted by
    (shift_y[n], shift_x[n]) pixels (down, right), then mirrored left to right where flip[n].

    Warping goes backwards: for each output pixel (i, j) we find the input position it comes
    from, by undoing the mirror, the shift and the turn,

        j' = W - 1 - j if flip else j,   u = i - cy - shift_y,   v = j' - cx - shift_x,
        y = cy + cos(a) u - sin(a) v,    x = cx + sin(a) u + cos(a) v,

    (cy, cx) = ((H - 1) / 2, (W - 1) / 2), and read the input there by bilinear
    interpolation: with y0 = floor(y), fy = y - y0 (and likewise x0, fx), the value is

        (1 - fy) * ((1 - fx) x[y0, x0] + fx x[y0, x0 + 1])
        +    fy  * ((1 - fx) x[y0 + 1, x0] + fx x[y0 + 1, x0 + 1]).

    Outside the image the picture is continued by its nearest edge pixel (`constant` False:
    the same as clamping (y, x) into the grid) or by zeros (`constant` True). A positive angle
    turns the picture clockwise as imshow draws it: angle 90 is np.rot90(x, k=-1, axes=(2, 3))
    for square images.
    """
    n, _, height, width = x.shape
    dtype = x.dtype.type
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    theta = np.asarray(angle, np.float64) * (np.pi / 180.0)
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    i = np.arange(height, dtype=np.float64)[None, :, None]
    j = np.arange(width, dtype=np.float64)[None, None, :]
    j = np.where(np.asarray(flip, bool)[:, None, None], width - 1 - j, j)  # (N, 1, W)
    u = i - cy - np.asarray(shift_y, np.float64)[:, None, None]  # (N, H, 1)
    v = j - cx - np.asarray(shift_x, np.float64)[:, None, None]  # (N, 1, W)
    y = cy + cos * u - sin * v  # (N, H, W): where each output pixel comes from
    xc = cx + sin * u + cos * v
    if not constant:
        y, xc = np.clip(y, 0.0, height - 1.0), np.clip(xc, 0.0, width - 1.0)
    y0, x0 = np.floor(y), np.floor(xc)
    fy, fx = (y - y0).astype(dtype)[:, None], (xc - x0).astype(dtype)[:, None]  # (N, 1, H, W)
    y0, x0 = y0.astype(np.int64), x0.astype(np.int64)
    images = np.arange(n)[:, None, None]

    def pixels(rows, cols):
        """x[n, :, rows, cols] as (N, C, H, W); 0, or the edge pixel, off the grid."""
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        rows, cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
        values = np.moveaxis(x[images, :, rows, cols], -1, 1)
        return np.where(inside[:, None], values, dtype(0)) if constant else values

    one = dtype(1)
    upper = pixels(y0, x0) * (one - fx) + pixels(y0, x0 + 1) * fx
    lower = pixels(y0 + 1, x0) * (one - fx) + pixels(y0 + 1, x0 + 1) * fx
    out[...] = upper * (one - fy) + lower * fy


# --- probes on codes too big to unpack: byte-table products (twins of cpu.py) ------------------


def table_lookup_sum(code_bytes, tables, out):
    """out += X W for one block of byte positions of packed 0/1 codes, by table lookup.

    Byte p of a code holds bits 8p .. 8p+7 (least significant first), and tables[p, v] is the
    sum of the rows of W at the bits set in the byte value v, so x_i W is the sum over p of
    tables[p, code_bytes[i, p]]: one lookup per byte instead of 8 multiply-adds per bit.
    """
    positions = np.arange(code_bytes.shape[1])
    out += tables[positions[None, :], code_bytes].sum(axis=1)


def table_histogram(code_bytes, dz, hist):
    """hist[p, v] += the sum of dz[i] over the rows i whose byte p has the value v.

    The transposed product X^T dZ of the same codes: bit j of byte p is set in the byte values
    v with (v >> j) & 1, so (X^T dZ)[8p + j] = sum over those v of hist[p, v].
    """
    for p in range(code_bytes.shape[1]):
        np.add.at(hist[p], code_bytes[:, p], dz)
