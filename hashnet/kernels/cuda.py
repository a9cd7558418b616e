"""CUDA kernels (numba.cuda) for the GPU path: the same work as `cpu.py` and `images.py`.

Every public function here has the name and the arguments of its CPU twin (and of the plain
NumPy twin in `reference.py`, which the tests compare it with); it launches one or two
`@cuda.jit` kernels on arrays that already live on the GPU. The arithmetic follows the CPU
kernels line by line (the same float32 operations, the same order where a sum is taken over a
window or a list), so results agree to float32 rounding; the matrix products, bias sums and
the K-NN search are written for a GPU, where thousands of threads run at once:

- `matmul` works on tiles held in shared memory: a block of threads loads a slab of A and of
  B once and every thread computes a small square of outputs from it, so each number read
  from GPU memory is used many times. When the output has few tiles but the inner dimension
  is long (a convolution's weight gradient sums over every position of every image), the
  inner dimension is split over several blocks ("split-K") and the slices are added after.
- Sums over a batch (bias gradients) are taken in two steps without atomics: threads add
  strided parts into a scratch table, then one thread per column adds the table's column in
  order. The result does not depend on thread timing, so runs repeat bit for bit.
- Scatter-adds of the CPU kernels (col2im, pooling backward) are turned into gathers: one
  thread per input pixel adds up what its windows send back, in the order the CPU adds it.

Importing this module imports numba.cuda; `hashnet.kernels.backend` does that only when
device="cuda" is asked for. Under NUMBA_ENABLE_CUDASIM=1 (numba's CPU simulator, where every
GPU thread is a Python thread) the blocks and tiles are made tiny, so the tests on small shapes
stay quick and still cross every tile boundary.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import config, cuda

SIMULATOR = bool(config.ENABLE_CUDASIM)

if SIMULATOR:
    BLOCK = 8  # threads per block of the one-dimensional kernels
    BLOCK_2D = (4, 2)  # (x, y) threads per block of the two-dimensional kernels
    GRID_1D = 2  # at most this many blocks; each thread strides over the rest
    GRID_2D = (2, 2)
    MM_THREADS = 2  # a matmul block is MM_THREADS x MM_THREADS threads ...
    MM_REG = 4  # ... each computing MM_REG x MM_REG outputs
    MM_BK = 8  # inner-dimension slab held in shared memory per step
    TARGET_BLOCKS = 1  # split-K only when the caller asks (tests pass splits=...)
    SUM_GROUPS = 2  # rows per column handled by separate threads in the bias sums
    SUM_LANES = 4  # threads per filter in the convolution bias sum
    KNN_THREADS = 1  # query x segment threads the K-NN search aims for
else:
    BLOCK = 256
    BLOCK_2D = (32, 8)
    GRID_1D = 65535
    GRID_2D = (65535, 65535)
    MM_THREADS = 16
    MM_REG = 4
    MM_BK = 16
    TARGET_BLOCKS = 256  # about two blocks per multiprocessor of a large GPU
    SUM_GROUPS = 32
    SUM_LANES = 2048
    KNN_THREADS = 65536
MM_TILE = MM_THREADS * MM_REG  # output rows (and columns) per matmul block
MAX_SPLITS = 64
KNN_MAX_SEGMENTS = 32
KNN_MIN_SEGMENT = 256  # training codes per K-NN thread at least (fewer: not worth a merge)
TINY = 1e-30  # moving averages below this are set to zero, as in cpu.py


def _kernel(fn):
    """`cuda.jit` with the compiled code cached on disk where a cache folder is writable (a
    read-only install compiles in memory on each run instead)."""
    try:
        return cuda.jit(cache=True)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return cuda.jit(fn)


def _blocks(n, per_block):
    return max(1, (n + per_block - 1) // per_block)


# The element-wise kernels are written as grid-stride loops: thread (y, x) of the grid handles
# rows y, y + grid height, ... and columns x, x + grid width, ..., so any grid covers any array.
# A launch asks for one thread per entry, up to GRID_* blocks per axis.


def _launch_1d(kernel, n, *args):
    if n > 0:
        kernel[min(_blocks(n, BLOCK), GRID_1D), BLOCK](*args)


def _launch_2d(kernel, rows, cols, *args):
    """Threads over (rows, cols): x runs along the columns (contiguous in memory)."""
    if rows > 0 and cols > 0:
        bx, by = BLOCK_2D
        grid = (min(_blocks(cols, bx), GRID_2D[0]), min(_blocks(rows, by), GRID_2D[1]))
        kernel[grid, (bx, by)](*args)


# --- scratch memory -----------------------------------------------------------------------------
# Some kernels need a scratch table (split-K slices, partial sums). Allocating GPU memory costs
# far more than a small kernel, so each named table is kept and grown when a larger one is asked
# for. Kernels on the default stream run in order, so reusing a table between calls is safe.

_SCRATCH: dict = {}


def scratch(name, shape, dtype):
    """A device array of `shape` and `dtype` (contents undefined), reused between calls."""
    dtype = np.dtype(dtype)
    size = int(np.prod(shape))
    key = (name, dtype.str)
    buf = _SCRATCH.get(key)
    if buf is None or buf.shape[0] < size:
        buf = cuda.device_array(max(size, 1), dtype)
        _SCRATCH[key] = buf
    return buf[:size].reshape(shape)


def _scalar(array, value):
    """`value` as a scalar of the array's dtype, so float32 arithmetic stays float32 (a Python
    float would be typed float64 inside the kernel)."""
    return np.dtype(array.dtype).type(value)


# --- matrix products ----------------------------------------------------------------------------


@functools.cache
def _matmul_kernel(dtype, trans_a, trans_b):
    """The tiled product kernel for one dtype and one pair of transposition flags (compile-time
    constants, so the loads below are straight-line code)."""
    nb_type = numba.from_dtype(np.dtype(dtype))
    T, R, BK, TILE = MM_THREADS, MM_REG, MM_BK, MM_TILE
    n_threads = T * T
    loads = TILE * BK // n_threads  # shared-memory entries each thread loads per slab
    slab = (BK, TILE + 1)  # shapes must be compile-time constants: computed here, not inside
    square = (R, R)

    @cuda.jit
    def matmul(a, b, parts, k_chunk):
        # parts[s] = op(a)[:, K_s] @ op(b)[K_s, :] over the inner indices K_s of split s.
        # Tiles are stored inner-index first, sa[kk, m] and sb[kk, n]; the extra column keeps
        # threads that store along kk from hitting one shared-memory bank.
        sa = cuda.shared.array(slab, nb_type)
        sb = cuda.shared.array(slab, nb_type)
        acc = cuda.local.array(square, nb_type)
        tx = cuda.threadIdx.x
        ty = cuda.threadIdx.y
        tid = ty * T + tx
        row0 = cuda.blockIdx.y * TILE
        col0 = cuda.blockIdx.x * TILE
        split = cuda.blockIdx.z
        m = parts.shape[1]
        n = parts.shape[2]
        k = a.shape[0] if trans_a else a.shape[1]
        k_lo = split * k_chunk
        k_hi = k_lo + k_chunk
        if k_hi > k:
            k_hi = k
        for r in range(R):
            for c in range(R):
                acc[r, c] = 0
        for k0 in range(k_lo, k_hi, BK):
            # Load the slabs; consecutive threads read consecutive addresses (coalesced).
            for step in range(loads):
                e = tid + step * n_threads
                if trans_a:  # a is (K, M): walk along m
                    mm = e % TILE
                    kk = e // TILE
                    gk = k0 + kk
                    gm = row0 + mm
                    sa[kk, mm] = a[gk, gm] if gk < k_hi and gm < m else 0
                else:  # a is (M, K): walk along k
                    kk = e % BK
                    mm = e // BK
                    gk = k0 + kk
                    gm = row0 + mm
                    sa[kk, mm] = a[gm, gk] if gk < k_hi and gm < m else 0
                if trans_b:  # b is (N, K): walk along k
                    kk = e % BK
                    nn = e // BK
                    gk = k0 + kk
                    gn = col0 + nn
                    sb[kk, nn] = b[gn, gk] if gk < k_hi and gn < n else 0
                else:  # b is (K, N): walk along n
                    nn = e % TILE
                    kk = e // TILE
                    gk = k0 + kk
                    gn = col0 + nn
                    sb[kk, nn] = b[gk, gn] if gk < k_hi and gn < n else 0
            cuda.syncthreads()
            for kk in range(BK):
                for r in range(R):
                    av = sa[kk, ty + T * r]
                    for c in range(R):
                        acc[r, c] += av * sb[kk, tx + T * c]
            cuda.syncthreads()
        for r in range(R):
            gm = row0 + ty + T * r
            for c in range(R):
                gn = col0 + tx + T * c
                if gm < m and gn < n:
                    parts[split, gm, gn] = acc[r, c]

    return matmul


@_kernel
def _sum_splits(parts, out):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, out.shape[0], si):
        for j in range(j0, out.shape[1], sj):
            total = parts[0, i, j]
            for s in range(1, parts.shape[0]):
                total += parts[s, i, j]
            out[i, j] = total


def matmul(a, b, out, trans_a=False, trans_b=False, splits=None):
    """out = op(a) @ op(b), op transposing when asked: the three products of training
    (x @ W forward, x.T @ dz for the weight gradient, dz @ W.T for the input gradient).

    out must be C-contiguous. `splits` cuts the inner dimension into that many slices computed
    by separate blocks (default: enough to keep the GPU busy when the output is small).
    """
    m = a.shape[1] if trans_a else a.shape[0]
    k = a.shape[0] if trans_a else a.shape[1]
    k_b = b.shape[1] if trans_b else b.shape[0]
    n = b.shape[0] if trans_b else b.shape[1]
    if k != k_b or tuple(out.shape) != (m, n):
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not give {out.shape}")
    if m == 0 or n == 0:
        return
    tiles = _blocks(m, MM_TILE) * _blocks(n, MM_TILE)
    if splits is None:
        splits = min(TARGET_BLOCKS // tiles, _blocks(k, 4 * MM_BK), MAX_SPLITS)
    splits = max(1, min(int(splits), max(k, 1)))
    k_chunk = _blocks(k, splits * MM_BK) * MM_BK  # a multiple of the slab
    splits = max(1, _blocks(k, k_chunk))
    parts = out.reshape(1, m, n) if splits == 1 else scratch("matmul", (splits, m, n), out.dtype)
    kernel = _matmul_kernel(np.dtype(out.dtype).str, bool(trans_a), bool(trans_b))
    grid = (_blocks(n, MM_TILE), _blocks(m, MM_TILE), splits)
    kernel[grid, (MM_THREADS, MM_THREADS)](a, b, parts, k_chunk)
    if splits > 1:
        _launch_2d(_sum_splits, m, n, parts, out)


# --- dense layers and activations ---------------------------------------------------------------


@_kernel
def _add_bias(z, b):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, z.shape[0], si):
        for j in range(j0, z.shape[1], sj):
            z[i, j] += b[j]


def add_bias(z, b):
    """z += b, row by row."""
    _launch_2d(_add_bias, z.shape[0], z.shape[1], z, b)


@_kernel
def _add_into(dst, src):
    i0 = cuda.grid(1)
    for i in range(i0, dst.shape[0], cuda.gridsize(1)):
        dst[i] += src[i]


def add_into(dst, src):
    """dst += src, entry by entry (arrays of one shape, any rank)."""
    _launch_1d(_add_into, dst.size, dst.reshape(dst.size), src.reshape(src.size))


@_kernel
def _bias_act(z, b, use_bias, alpha, out, mask):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, z.shape[0], si):
        for j in range(j0, z.shape[1], sj):
            a = z[i, j] + b[j] if use_bias else z[i, j]
            positive = a > 0
            mask[i, j] = positive
            out[i, j] = a if positive else alpha * a


def bias_act_forward(z, b, alpha, out, mask):
    """a = z + b; mask = a > 0; out = a where mask else alpha * a."""
    _launch_2d(_bias_act, z.shape[0], z.shape[1], z, b, True, _scalar(z, alpha), out, mask)


def act_forward(z, alpha, out, mask):
    """mask = z > 0; out = z where mask else alpha * z (no bias)."""
    # z[0] stands in for the bias argument, which use_bias=False never reads.
    _launch_2d(_bias_act, z.shape[0], z.shape[1], z, z[0], False, _scalar(z, alpha), out, mask)


@_kernel
def _act_backward(dy, mask, alpha, dx):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, dy.shape[0], si):
        for j in range(j0, dy.shape[1], sj):
            dx[i, j] = dy[i, j] if mask[i, j] else alpha * dy[i, j]


def act_backward(dy, mask, alpha, dx):
    """dx = dy where the unit was active else alpha * dy."""
    _launch_2d(_act_backward, dy.shape[0], dy.shape[1], dy, mask, _scalar(dy, alpha), dx)


@_kernel
def _act_backward_partial(dy, mask, alpha, dx, partial):
    # Thread (g, j) handles rows g, g + G, g + 2G, ... of column j: it writes dx there and
    # their sum into partial[g, j]. Threads of a warp share g, so reads are coalesced.
    j0, g0 = cuda.grid(2)
    sj, sg = cuda.gridsize(2)
    groups = partial.shape[0]
    for g in range(g0, groups, sg):
        for j in range(j0, dy.shape[1], sj):
            total = dx.dtype.type(0)
            for i in range(g, dy.shape[0], groups):
                v = dy[i, j] if mask[i, j] else alpha * dy[i, j]
                dx[i, j] = v
                total += v
            partial[g, j] = total


@_kernel
def _column_partial(dz, partial):
    j0, g0 = cuda.grid(2)
    sj, sg = cuda.gridsize(2)
    groups = partial.shape[0]
    for g in range(g0, groups, sg):
        for j in range(j0, dz.shape[1], sj):
            total = dz.dtype.type(0)
            for i in range(g, dz.shape[0], groups):
                total += dz[i, j]
            partial[g, j] = total


@_kernel
def _sum_partials(partial, out):
    # out[j] = the sum of column j of the table, in order: deterministic.
    for j in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        total = partial[0, j]
        for g in range(1, partial.shape[0]):
            total += partial[g, j]
        out[j] = total


def _groups(n):
    return max(1, min(n, SUM_GROUPS))


def act_backward_bias(dy, mask, alpha, dx, db):
    """act_backward fused with the bias gradient of the Dense layer before it: db = dx.sum(0)."""
    n, m = dy.shape
    if n == 0:
        return
    partial = scratch("bias partial", (_groups(n), m), dy.dtype)
    _launch_2d(
        _act_backward_partial, partial.shape[0], m, dy, mask, _scalar(dy, alpha), dx, partial
    )
    _launch_1d(_sum_partials, m, partial, db)


def column_sum(dz, db):
    """db = dz.sum(axis=0): the bias gradient of a Dense layer."""
    n, m = dz.shape
    if n == 0:
        return
    partial = scratch("bias partial", (_groups(n), m), dz.dtype)
    _launch_2d(_column_partial, partial.shape[0], m, dz, partial)
    _launch_1d(_sum_partials, m, partial, db)


# --- softmax cross-entropy ----------------------------------------------------------------------


@_kernel
def _softmax_xent_rows(logits, y, dlogits, row_loss, row_correct):
    n = logits.shape[0]
    k = logits.shape[1]
    for i in range(cuda.grid(1), n, cuda.gridsize(1)):
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
        label = y[i]
        row_loss[i] = log_total + top - logits[i, label]
        row_correct[i] = 1 if best == label else 0
        for j in range(k):
            dlogits[i, j] = math.exp(logits[i, j] - top - log_total) / n
        dlogits[i, label] -= 1.0 / n


def softmax_xent_rows(logits, y, dlogits, row_loss, row_correct):
    """`cpu.softmax_xent` without the batch reduction: row_loss[i] is row i's cross-entropy
    (float64) and row_correct[i] is 1 when its argmax is y[i]. dlogits is the gradient of the
    *mean* loss, as on the CPU. The trainer keeps these per-row numbers on the GPU for a whole
    epoch and adds them up once, instead of waiting for the GPU after every batch."""
    _launch_1d(_softmax_xent_rows, logits.shape[0], logits, y, dlogits, row_loss, row_correct)


def softmax_xent(logits, y, dlogits):
    """The CPU signature: returns (mean loss, number correct). Copies two small vectors back
    from the GPU, so the trainer uses `softmax_xent_rows` instead."""
    n = logits.shape[0]
    row_loss = cuda.device_array(n, np.float64)
    row_correct = cuda.device_array(n, np.int32)
    softmax_xent_rows(logits, y, dlogits, row_loss, row_correct)
    return float(row_loss.copy_to_host().sum()) / n, int(row_correct.copy_to_host().sum())


# --- batch normalisation ------------------------------------------------------------------------
# x is (batch, channels, positions), as on the CPU. A channel's statistics are sums over
# batch x positions values: taken in two steps without atomics, as the bias sums are (threads
# add strided parts into a table, then one thread per channel adds its column in order).


def _lanes(count):
    """Threads per channel for a sum over `count` values (about sqrt(count), see
    images_to_rows)."""
    return max(1, min(math.isqrt(max(count, 1)), SUM_LANES))


@_kernel
def _channel_partials(x, center, squares, partial):
    # Thread (lane, c) adds the entries lane, lane + L, ... of channel c (flattened over
    # batch and positions), or their squared distances to center[c], into partial[lane, c].
    lane0, c0 = cuda.grid(2)
    sl, sc = cuda.gridsize(2)
    lanes = partial.shape[0]
    n_pos = x.shape[2]
    count = x.shape[0] * n_pos
    for c in range(c0, x.shape[1], sc):
        for lane in range(lane0, lanes, sl):
            total = partial.dtype.type(0)
            for q in range(lane, count, lanes):
                v = x[q // n_pos, c, q % n_pos]
                if squares:
                    d = v - center[c]
                    total += d * d
                else:
                    total += v
            partial[lane, c] = total


@_kernel
def _grad_partials(dy, xhat, partial_dy, partial_dyx):
    # The two sums of the batch-norm backward pass, sum dy and sum dy * xhat, per channel.
    lane0, c0 = cuda.grid(2)
    sl, sc = cuda.gridsize(2)
    lanes = partial_dy.shape[0]
    n_pos = dy.shape[2]
    count = dy.shape[0] * n_pos
    for c in range(c0, dy.shape[1], sc):
        for lane in range(lane0, lanes, sl):
            a = partial_dy.dtype.type(0)
            b = partial_dy.dtype.type(0)
            for q in range(lane, count, lanes):
                g = dy[q // n_pos, c, q % n_pos]
                a += g
                b += g * xhat[q // n_pos, c, q % n_pos]
            partial_dy[lane, c] = a
            partial_dyx[lane, c] = b


@_kernel
def _divide(v, divisor):
    for j in range(cuda.grid(1), v.shape[0], cuda.gridsize(1)):
        v[j] = v[j] / divisor


def _channel_mean(x, center, squares, out):
    """out[c] = the mean over batch and positions of x[:, c] (or of (x[:, c] - center[c])^2)."""
    n, c, p = x.shape
    partial = scratch("batchnorm partial", (_lanes(n * p), c), x.dtype)
    _launch_2d(_channel_partials, c, partial.shape[0], x, center, squares, partial)
    _launch_1d(_sum_partials, c, partial, out)
    _launch_1d(_divide, c, out, _scalar(out, n * p))


@_kernel
def _normalize(x, gamma, beta, mean, var, eps, one, out, xhat, keep_xhat):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = x.shape[1]
    for nc in range(nc0, x.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        inv_std = one / math.sqrt(var[c] + eps)
        for p in range(p0, x.shape[2], sp):
            h = (x[n, c, p] - mean[c]) * inv_std
            if keep_xhat:
                xhat[n, c, p] = h
            out[n, c, p] = gamma[c] * h + beta[c]


def batchnorm_forward_train(x, gamma, beta, eps, out, xhat, mean, var):
    """Normalise each channel with the batch's mean and (biased) variance (see
    cpu.batchnorm_forward_train); writes xhat, mean and var for the backward pass and the
    running statistics."""
    n, c, p = x.shape
    if n * p == 0:
        return
    _channel_mean(x, mean, False, mean)
    _channel_mean(x, mean, True, var)
    args = (x, gamma, beta, mean, var, _scalar(x, eps), _scalar(x, 1), out, xhat, True)
    _launch_2d(_normalize, n * c, p, *args)


def batchnorm_forward_eval(x, gamma, beta, mean, var, eps, out):
    """out = gamma * (x - mean) / sqrt(var + eps) + beta with the running statistics."""
    n, c, p = x.shape
    args = (x, gamma, beta, mean, var, _scalar(x, eps), _scalar(x, 1), out, out, False)
    _launch_2d(_normalize, n * c, p, *args)


@_kernel
def _batchnorm_dx(dy, xhat, gamma, var, eps, one, sum_dy, sum_dyx, count, dx):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dy.shape[1]
    for nc in range(nc0, dy.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        scale = gamma[c] * (one / math.sqrt(var[c] + eps))
        mean_dy = sum_dy[c] / count
        mean_dyx = sum_dyx[c] / count
        for p in range(p0, dy.shape[2], sp):
            dx[n, c, p] = scale * (dy[n, c, p] - mean_dy - xhat[n, c, p] * mean_dyx)


def _grad_sums(dy, xhat, dgamma, dbeta):
    """dbeta = sum dy and dgamma = sum dy * xhat over batch and positions, per channel."""
    n, c, p = dy.shape
    lanes = _lanes(n * p)
    partial_dy = scratch("batchnorm partial", (lanes, c), dy.dtype)
    partial_dyx = scratch("batchnorm partial 2", (lanes, c), dy.dtype)
    _launch_2d(_grad_partials, c, lanes, dy, xhat, partial_dy, partial_dyx)
    _launch_1d(_sum_partials, c, partial_dy, dbeta)
    _launch_1d(_sum_partials, c, partial_dyx, dgamma)


def batchnorm_backward(dy, xhat, gamma, var, eps, dx, dgamma, dbeta):
    """Gradients of the training-mode batch norm (see cpu.batchnorm_backward):
    dx = gamma / sqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat))."""
    n, c, p = dy.shape
    if n * p == 0:
        return
    _grad_sums(dy, xhat, dgamma, dbeta)
    count = _scalar(dy, n * p)
    args = (dy, xhat, gamma, var, _scalar(dy, eps), _scalar(dy, 1), dbeta, dgamma, count, dx)
    _launch_2d(_batchnorm_dx, n * c, p, *args)


@_kernel
def _eval_xhat_and_dx(dy, x, gamma, mean, var, eps, one, xhat, dx):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dy.shape[1]
    for nc in range(nc0, dy.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        inv_std = one / math.sqrt(var[c] + eps)
        for p in range(p0, dy.shape[2], sp):
            xhat[n, c, p] = (x[n, c, p] - mean[c]) * inv_std
            dx[n, c, p] = dy[n, c, p] * (gamma[c] * inv_std)


def batchnorm_backward_eval(dy, x, gamma, mean, var, eps, dx, dgamma, dbeta):
    """Gradients of the evaluation-mode batch norm, a fixed affine map per channel."""
    n, c, p = dy.shape
    if n * p == 0:
        return
    xhat = scratch("batchnorm xhat", dy.shape, dy.dtype)
    args = (dy, x, gamma, mean, var, _scalar(dy, eps), _scalar(dy, 1), xhat, dx)
    _launch_2d(_eval_xhat_and_dx, n * c, p, *args)
    _grad_sums(dy, xhat, dgamma, dbeta)


@_kernel
def _update_running(running_mean, running_var, mean, var, keep, new, unbias):
    for j in range(cuda.grid(1), running_mean.shape[0], cuda.gridsize(1)):
        running_mean[j] = running_mean[j] * keep + new * mean[j]
        running_var[j] = running_var[j] * keep + new * (var[j] * unbias)


def batchnorm_update_running(running_mean, running_var, mean, var, momentum, count):
    """r = (1 - momentum) * r + momentum * b, with the unbiased batch variance (see
    cpu.batchnorm_update_running)."""
    s = functools.partial(_scalar, running_mean)
    args = (s(1.0 - momentum), s(momentum), s(count / (count - 1.0)))
    _launch_1d(_update_running, running_mean.shape[0], running_mean, running_var, mean, var, *args)


# --- dropout ------------------------------------------------------------------------------------


@_kernel
def _dropout_forward(x, u, rate, scale, out, mask):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, x.shape[0], si):
        for j in range(j0, x.shape[1], sj):
            keep = u[i, j] >= rate
            mask[i, j] = keep
            out[i, j] = x[i, j] * scale if keep else 0.0


def dropout_forward(x, u, rate, out, mask):
    """Inverted dropout with the uniform draws u (made on the host by the layer's seeded
    generator, so the GPU drops exactly the units the CPU would)."""
    scale = _scalar(x, 1.0 / (1.0 - rate))
    _launch_2d(_dropout_forward, x.shape[0], x.shape[1], x, u, rate, scale, out, mask)


@_kernel
def _dropout_backward(dy, mask, scale, dx):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, dy.shape[0], si):
        for j in range(j0, dy.shape[1], sj):
            dx[i, j] = dy[i, j] * scale if mask[i, j] else 0.0


def dropout_backward(dy, mask, rate, dx):
    """dx = dy * mask / (1 - rate)."""
    scale = _scalar(dy, 1.0 / (1.0 - rate))
    _launch_2d(_dropout_backward, dy.shape[0], dy.shape[1], dy, mask, scale, dx)


# --- optimisers, on the flat parameter vector ---------------------------------------------------


@_kernel
def _sgd_step(p, g, velocity, lr, mu, wd, tiny, zero, nesterov, n_decay):
    for i in range(cuda.grid(1), p.shape[0], cuda.gridsize(1)):
        grad = g[i] + wd * p[i] if i < n_decay else g[i]
        v = mu * velocity[i] + grad
        if abs(v) < tiny:
            v = zero
        velocity[i] = v
        p[i] -= lr * (grad + mu * v if nesterov else v)


def sgd_step(p, g, velocity, lr, momentum, nesterov, weight_decay, n_decay):
    """SGD with momentum on the flat parameter vector (see cpu.sgd_step); L2 on p[:n_decay]."""
    s = functools.partial(_scalar, p)
    args = (s(lr), s(momentum), s(weight_decay), s(TINY), s(0.0), bool(nesterov), int(n_decay))
    _launch_1d(_sgd_step, p.shape[0], p, g, velocity, *args)


@_kernel
def _adam_step(
    p, g, m1, m2, step_size, inv_c2, b1, b2, one_b1, one_b2, eps, wd, tiny, zero, n_decay
):
    for i in range(cuda.grid(1), p.shape[0], cuda.gridsize(1)):
        grad = g[i] + wd * p[i] if i < n_decay else g[i]
        a = b1 * m1[i] + one_b1 * grad
        b = b2 * m2[i] + one_b2 * grad * grad
        if abs(a) < tiny:
            a = zero
        if b < tiny:
            b = zero
        m1[i] = a
        m2[i] = b
        p[i] -= step_size * a / (math.sqrt(b * inv_c2) + eps)


def adam_step(p, g, m1, m2, lr, beta1, beta2, eps, step, weight_decay, n_decay):
    """Adam on the flat parameter vector, with the constants of cpu.adam_step computed the same
    way on the host (in float64, then rounded to the parameters' dtype)."""
    s = functools.partial(_scalar, p)
    args = (
        s(lr / (1.0 - beta1**step)),
        s(1.0 / (1.0 - beta2**step)),
        s(beta1),
        s(beta2),
        s(1.0 - beta1),
        s(1.0 - beta2),
        s(eps),
        s(weight_decay),
        s(TINY),
        s(0.0),
        int(n_decay),
    )
    _launch_1d(_adam_step, p.shape[0], p, g, m1, m2, *args)


# --- data movement ------------------------------------------------------------------------------


@_kernel
def _take_rows(x, index, out):
    j0, i0 = cuda.grid(2)
    sj, si = cuda.gridsize(2)
    for i in range(i0, out.shape[0], si):
        row = index[i]
        for j in range(j0, out.shape[1], sj):
            out[i, j] = x[row, j]


def take_rows(x, index, out):
    """out = x[index] for a 2D x: gathers a mini-batch on the GPU from the permutation."""
    _launch_2d(_take_rows, out.shape[0], out.shape[1], x, index, out)


@_kernel
def _take(x, index, out):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        out[i] = x[index[i]]


def take(x, index, out):
    """out = x[index] for a 1D x (the labels of a mini-batch)."""
    _launch_1d(_take, out.shape[0], x, index, out)


@_kernel
def _fill(a, value):
    for i in range(cuda.grid(1), a.shape[0], cuda.gridsize(1)):
        a[i] = value


def fill(a, value):
    """a[...] = value for a contiguous array."""
    flat = a.reshape(a.size)
    _launch_1d(_fill, flat.shape[0], flat, np.dtype(a.dtype).type(value))


# --- neural codes: bit packing -------------------------------------------------------------------


@_kernel
def _bias_act_pack(z, b, use_bias, alpha, out, words, offset, first_word):
    # Thread (i, w) owns word first_word + w of row i: it applies the activation to the units
    # whose bits fall in that word, gathers the bits in a register and ORs the word once.
    w0, i0 = cuda.grid(2)
    sw, si = cuda.gridsize(2)
    m = z.shape[1]
    n_words = (offset + m - 1) // 64 + 1 - first_word
    for i in range(i0, z.shape[0], si):
        for w in range(w0, n_words, sw):
            word = first_word + w
            lo = word * 64 - offset
            if lo < 0:
                lo = 0
            hi = word * 64 + 64 - offset
            if hi > m:
                hi = m
            acc = np.uint64(0)
            for j in range(lo, hi):
                a = z[i, j] + b[j] if use_bias else z[i, j]
                positive = a > 0
                out[i, j] = a if positive else alpha * a
                acc |= np.uint64(1 if positive else 0) << np.uint64((offset + j) & 63)
            words[i, word] |= acc


def _pack(z, b, use_bias, alpha, out, words, offset):
    n, m = z.shape
    if m == 0:
        return
    first, last = offset // 64, (offset + m - 1) // 64
    args = (z, b, use_bias, _scalar(z, alpha), out, words, int(offset), first)
    _launch_2d(_bias_act_pack, n, last - first + 1, *args)


def bias_act_pack(z, b, alpha, out, words, offset):
    """`bias_act_forward` with the sign bits ORed into packed codes: bit offset + j of row i of
    `words` (bit j % 64 of word j // 64, as in hashnet.codes)."""
    _pack(z, b, True, alpha, out, words, offset)


def act_pack(z, alpha, out, words, offset):
    """`act_forward` writing packed sign bits."""
    _pack(z, z[0], False, alpha, out, words, offset)


# --- Hamming k-nearest neighbours ---------------------------------------------------------------


@_kernel
def _knn_segments(query, train, k, seg_len, best_d, best_i):
    # Thread (i, s) scans training codes [s * seg_len, (s + 1) * seg_len) for query i and keeps
    # the best k in best_d[s, i], best_i[s, i], sorted by (distance, index). Training codes are
    # visited in increasing index and only a strictly smaller distance gets in, so among equal
    # distances the smaller index stays: the CPU kernel's rule. Threads of a warp share s and
    # read the same training code at the same time (one broadcast read).
    i0, s0 = cuda.grid(2)
    si, ss = cuda.gridsize(2)
    n_words = train.shape[1]
    sentinel = n_words * 64 + 1
    for s in range(s0, best_d.shape[0], ss):
        lo = s * seg_len
        hi = lo + seg_len
        if hi > train.shape[0]:
            hi = train.shape[0]
        for i in range(i0, query.shape[0], si):
            for r in range(k):
                best_d[s, i, r] = sentinel
                best_i[s, i, r] = -1
            worst = sentinel
            for j in range(lo, hi):
                d = 0
                for w in range(n_words):
                    d += cuda.popc(query[i, w] ^ train[j, w])
                if d < worst:
                    pos = k - 1
                    while pos > 0 and best_d[s, i, pos - 1] > d:
                        best_d[s, i, pos] = best_d[s, i, pos - 1]
                        best_i[s, i, pos] = best_i[s, i, pos - 1]
                        pos -= 1
                    best_d[s, i, pos] = d
                    best_i[s, i, pos] = j
                    worst = best_d[s, i, k - 1]


@_kernel
def _knn_merge(best_d, best_i, out_index, out_dist):
    # Merge the sorted lists of the segments: repeatedly take the smallest (distance, index)
    # among their heads. Segment s holds smaller indices than segment s + 1, so comparing the
    # index too keeps the tie rule across segments.
    n_seg = best_d.shape[0]
    k = out_index.shape[1]
    heads = cuda.local.array(KNN_MAX_SEGMENTS, numba.int32)
    for i in range(cuda.grid(1), out_index.shape[0], cuda.gridsize(1)):
        for s in range(n_seg):
            heads[s] = 0
        for r in range(k):
            pick = -1
            pick_d = 0
            pick_i = 0
            for s in range(n_seg):
                h = heads[s]
                if h < k:
                    d = best_d[s, i, h]
                    j = best_i[s, i, h]
                    if j >= 0 and (pick < 0 or d < pick_d or (d == pick_d and j < pick_i)):
                        pick = s
                        pick_d = d
                        pick_i = j
            heads[pick] += 1
            out_index[i, r] = pick_i
            out_dist[i, r] = pick_d


def knn_segments(n_query, n_train, k):
    """How many slices of the training codes the search splits over (one thread per query and
    slice), so that a few thousand queries still fill the GPU."""
    wanted = _blocks(KNN_THREADS, max(n_query, 1))
    return max(1, min(wanted, KNN_MAX_SEGMENTS, n_train // max(KNN_MIN_SEGMENT, k)))


def hamming_knn(query, train, k, out_index, out_dist, segments=None):
    """The k training codes nearest to each query code in Hamming distance, ordered by
    (distance, training index): the same answer as cpu.hamming_knn. query and train are packed
    uint64 words; out_index and out_dist are (n_query, k) int64."""
    n_q, n_t = query.shape[0], train.shape[0]
    if n_q == 0:
        return
    if segments is None:
        segments = knn_segments(n_q, n_t, k)
    segments = max(1, min(int(segments), KNN_MAX_SEGMENTS, n_t))
    seg_len = _blocks(n_t, segments)
    segments = _blocks(n_t, seg_len)
    best_d = scratch("knn distances", (segments, n_q, k), np.int64)
    best_i = scratch("knn indices", (segments, n_q, k), np.int64)
    _launch_2d(_knn_segments, segments, n_q, query, train, int(k), seg_len, best_d, best_i)
    _launch_1d(_knn_merge, n_q, best_d, best_i, out_index, out_dist)


# --- image layers (twins of images.py) ----------------------------------------------------------


@_kernel
def _im2col(x, kh, kw, stride, pad, oh, ow, cols):
    # x of the grid: the (image, position) column q; y: the filter weight (c, i, j) row r.
    q0, r0 = cuda.grid(2)
    sq, sr = cuda.gridsize(2)
    for r in range(r0, cols.shape[0], sr):
        c = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        for q in range(q0, cols.shape[1], sq):
            n = q // (oh * ow)
            oy = (q // ow) % oh
            ox = q % ow
            y = oy * stride + i - pad
            xx = ox * stride + j - pad
            if 0 <= y < x.shape[2] and 0 <= xx < x.shape[3]:
                cols[r, q] = x[n, c, y, xx]
            else:
                cols[r, q] = 0


def im2col(x, kh, kw, stride, pad, cols):
    """cols[(c*kh + i)*kw + j, (n*OH + oy)*OW + ox] = x[n, c, oy*s + i - pad, ox*s + j - pad]
    (0 outside the image): one thread per entry of cols."""
    oh = (x.shape[2] + 2 * pad - kh) // stride + 1
    ow = (x.shape[3] + 2 * pad - kw) // stride + 1
    _launch_2d(_im2col, cols.shape[0], cols.shape[1], x, kh, kw, stride, pad, oh, ow, cols)


@cuda.jit(device=True)
def _windows_over(y, k, stride, out_size):
    """The output positions [lo, hi) whose window (start o * stride, size k) covers pixel y.
    (Builtin max/min are avoided in the kernels: the CUDA target types them through a varargs
    overload that it cannot compile.)"""
    lo = (y - k + stride) // stride
    if lo < 0:
        lo = 0
    hi = y // stride + 1
    if hi > out_size:
        hi = out_size
    return lo, hi


@_kernel
def _col2im(dcols, kh, kw, stride, pad, oh, ow, dx):
    # One thread per pixel (n, c, y, x) gathers every column entry copied from it, in the
    # (i, j) order in which the CPU kernel adds them: the same sum, bit for bit.
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dx.shape[1]
    width = dx.shape[3]
    for nc in range(nc0, dx.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        for p in range(p0, dx.shape[2] * width, sp):
            y = p // width
            xx = p % width
            total = dx.dtype.type(0)
            for i in range(kh):
                ty = y + pad - i
                if ty >= 0 and ty % stride == 0 and ty // stride < oh:
                    oy = ty // stride
                    for j in range(kw):
                        tx = xx + pad - j
                        if tx >= 0 and tx % stride == 0 and tx // stride < ow:
                            ox = tx // stride
                            total += dcols[(c * kh + i) * kw + j, (n * oh + oy) * ow + ox]
            dx[n, c, y, xx] = total


def col2im(dcols, kh, kw, stride, pad, dx):
    """The adjoint of im2col: every entry of dcols added to the pixel it was copied from."""
    n, c, height, width = dx.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    _launch_2d(_col2im, n * c, height * width, dcols, kh, kw, stride, pad, oh, ow, dx)


@_kernel
def _rows_to_images(rows, b, out):
    p0, nf0 = cuda.grid(2)
    sp, snf = cuda.gridsize(2)
    n_filters = out.shape[1]
    n_pos = out.shape[2]
    for nf in range(nf0, out.shape[0] * n_filters, snf):
        n = nf // n_filters
        f = nf % n_filters
        for p in range(p0, n_pos, sp):
            out[n, f, p] = rows[f, n * n_pos + p] + b[f]


def rows_to_images(rows, b, out):
    """out[n, f, p] = rows[f, n * P + p] + b[f]: the product W @ cols cut into NCHW images."""
    n, f, p = out.shape
    _launch_2d(_rows_to_images, n * f, p, rows, b, out)


@_kernel
def _images_to_rows(dy, rows, partial):
    # Thread (f, lane) copies entries lane, lane + L, ... of filter f's row and adds them up
    # into partial[lane, f]; _sum_partials then adds each filter's column in order.
    lane0, f0 = cuda.grid(2)
    sl, sf = cuda.gridsize(2)
    lanes = partial.shape[0]
    n_pos = dy.shape[2]
    for f in range(f0, dy.shape[1], sf):
        for lane in range(lane0, lanes, sl):
            total = dy.dtype.type(0)
            for q in range(lane, dy.shape[0] * n_pos, lanes):
                v = dy[q // n_pos, f, q % n_pos]
                rows[f, q] = v
                total += v
            partial[lane, f] = total


def images_to_rows(dy, rows, db):
    """rows[f, n * P + p] = dy[n, f, p], and db = the sum of dy over images and positions."""
    n, f, p = dy.shape
    if n * p == 0:
        return
    # About sqrt(N * P) lanes balances the two stages: each lane adds about as many entries
    # as each filter's final sum adds lanes.
    lanes = max(1, min(math.isqrt(n * p), SUM_LANES))
    partial = scratch("conv bias partial", (lanes, f), dy.dtype)
    _launch_2d(_images_to_rows, f, lanes, dy, rows, partial)
    _launch_1d(_sum_partials, f, partial, db)


@_kernel
def _maxpool_forward(x, k, stride, out, argmax):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = x.shape[1]
    ow = out.shape[3]
    width = x.shape[3]
    for nc in range(nc0, x.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        for p in range(p0, out.shape[2] * ow, sp):
            oy = p // ow
            ox = p % ow
            y0 = oy * stride
            x0 = ox * stride
            best = x[n, c, y0, x0]
            where = y0 * width + x0
            for i in range(k):
                for j in range(k):
                    v = x[n, c, y0 + i, x0 + j]
                    if v > best:
                        best = v
                        where = (y0 + i) * width + x0 + j
            out[n, c, oy, ox] = best
            argmax[n, c, oy, ox] = where


def maxpool_forward(x, k, stride, out, argmax):
    """The largest x of each k x k window, and its flat position y * W + x (first on ties)."""
    n, c, oh, ow = out.shape
    _launch_2d(_maxpool_forward, n * c, oh * ow, x, k, stride, out, argmax)


@_kernel
def _maxpool_backward(dy, argmax, k, stride, dx):
    # One thread per input pixel: the windows that contain it, in the CPU's (oy, ox) order.
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dx.shape[1]
    width = dx.shape[3]
    for nc in range(nc0, dx.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        for p in range(p0, dx.shape[2] * width, sp):
            y = p // width
            xx = p % width
            total = dx.dtype.type(0)
            oy_lo, oy_hi = _windows_over(y, k, stride, dy.shape[2])
            ox_lo, ox_hi = _windows_over(xx, k, stride, dy.shape[3])
            for oy in range(oy_lo, oy_hi):
                for ox in range(ox_lo, ox_hi):
                    if argmax[n, c, oy, ox] == p:
                        total += dy[n, c, oy, ox]
            dx[n, c, y, xx] = total


def maxpool_backward(dy, argmax, k, stride, dx):
    """dx: each window's gradient goes to the input that won it. Unlike the CPU kernel, which
    scatters, this one gathers (no atomics), so it needs the window size and stride to know
    which windows contain a pixel."""
    n, c, height, width = dx.shape
    _launch_2d(_maxpool_backward, n * c, height * width, dy, argmax, k, stride, dx)


@_kernel
def _avgpool_forward(x, k, stride, inv, out):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = x.shape[1]
    ow = out.shape[3]
    for nc in range(nc0, x.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        for p in range(p0, out.shape[2] * ow, sp):
            oy = p // ow
            ox = p % ow
            total = x.dtype.type(0)
            for i in range(k):
                for j in range(k):
                    total += x[n, c, oy * stride + i, ox * stride + j]
            out[n, c, oy, ox] = total * inv


def avgpool_forward(x, k, stride, out):
    """The mean of each k x k window."""
    n, c, oh, ow = out.shape
    inv = _scalar(x, 1.0 / (k * k))
    _launch_2d(_avgpool_forward, n * c, oh * ow, x, k, stride, inv, out)


@_kernel
def _avgpool_backward(dy, k, stride, inv, dx):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dx.shape[1]
    width = dx.shape[3]
    for nc in range(nc0, dx.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        for p in range(p0, dx.shape[2] * width, sp):
            y = p // width
            xx = p % width
            total = dx.dtype.type(0)
            oy_lo, oy_hi = _windows_over(y, k, stride, dy.shape[2])
            ox_lo, ox_hi = _windows_over(xx, k, stride, dy.shape[3])
            for oy in range(oy_lo, oy_hi):
                for ox in range(ox_lo, ox_hi):
                    total += dy[n, c, oy, ox] * inv
            dx[n, c, y, xx] = total


def avgpool_backward(dy, k, stride, dx):
    """Each window's gradient shared equally by its k * k inputs."""
    n, c, height, width = dx.shape
    inv = _scalar(dy, 1.0 / (k * k))
    _launch_2d(_avgpool_backward, n * c, height * width, dy, k, stride, inv, dx)


@_kernel
def _global_avgpool_forward(x, count, out):
    # One thread per (image, channel): its positions added in order, as on the CPU.
    n_ch = x.shape[1]
    width = x.shape[3]
    positions = x.shape[2] * width
    for nc in range(cuda.grid(1), x.shape[0] * n_ch, cuda.gridsize(1)):
        n = nc // n_ch
        c = nc % n_ch
        total = x.dtype.type(0)
        for q in range(positions):
            total += x[n, c, q // width, q % width]
        out[n, c] = total / count


def global_avgpool_forward(x, out):
    """out[n, c] = the mean of channel c of image n over all positions."""
    n, c, height, width = x.shape
    _launch_1d(_global_avgpool_forward, n * c, x, _scalar(x, height * width), out)


@_kernel
def _global_avgpool_backward(dy, count, dx):
    p0, nc0 = cuda.grid(2)
    sp, snc = cuda.gridsize(2)
    n_ch = dx.shape[1]
    width = dx.shape[3]
    for nc in range(nc0, dx.shape[0] * n_ch, snc):
        n = nc // n_ch
        c = nc % n_ch
        share = dy[n, c] / count
        for p in range(p0, dx.shape[2] * width, sp):
            dx[n, c, p // width, p % width] = share


def global_avgpool_backward(dy, dx):
    """Every position gets an equal share of its channel mean's gradient."""
    n, c, height, width = dx.shape
    args = (dy, _scalar(dx, height * width), dx)
    _launch_2d(_global_avgpool_backward, n * c, height * width, *args)
