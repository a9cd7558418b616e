"""Numba kernels for the image layers: convolution as a matrix product, and pooling.

A convolution slides a (C, kh, kw) filter over the image. `im2col` copies, for every output
position, the C * kh * kw input values under the filter into one column of a matrix `cols`;
then all filters at all positions of all images are ONE matrix product, W @ cols, which BLAS
does fast (W has one row per filter). The product has one row per filter and one column per
(image, position), so `rows_to_images` cuts it into the NCHW layout and adds the bias on the
way. The backward pass runs the same steps in reverse: `images_to_rows` (with the bias
gradient), two products, and `col2im`, which adds each column of the gradient back onto the
pixels it was copied from.

Images are NCHW and C-contiguous. Output sizes follow the usual rule:
out = (in + 2 * pad - kernel) // stride + 1. Padding is zeros. Each kernel has a NumPy twin
of the same name in `reference.py`.
"""

from __future__ import annotations

import numpy as np

from hashnet.kernels._jit import kernel


def output_size(size, k, stride, pad):
    """Positions a window of size k visits along an axis of `size` pixels."""
    return (size + 2 * pad - k) // stride + 1


# --- convolution ----------------------------------------------------------------------------


@kernel
def _inside(out_size, offset, stride, size):
    """The first and one-past-last output positions o whose pixel o * stride + offset lies in
    [0, size): outside that range the window sees zero padding."""
    lo = 0
    while lo < out_size and lo * stride + offset < 0:
        lo += 1
    hi = out_size
    while hi > lo and (hi - 1) * stride + offset >= size:
        hi -= 1
    return lo, hi


# In the two kernels below the flat indices are unsigned (uint64): Numba then knows they are
# never negative and skips its check for Python-style negative indexing, which lets the
# compiler vectorise the copies. That alone makes them two to three times faster.
U = np.uint64


@kernel
def im2col(x, kh, kw, stride, pad, cols):
    """One row per filter weight (c, i, j), one column per (image, output position):
    cols[(c*kh + i)*kw + j, (n*OH + oy)*OW + ox] = x[n, c, oy*s + i - pad, ox*s + j - pad],
    0 where that falls outside the image.

    This layout makes the inner loop walk along an image row (contiguous for stride 1), so it
    runs as a plain vectorised copy, and the product W @ cols gives each filter's outputs
    already in image order. The arrays are indexed as flat vectors: cheaper than 4D indexing
    in loops this short.
    """
    n_img, n_ch, height, width = x.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    n_pos = oh * ow
    xf, cf = x.ravel(), cols.ravel()
    zero = cols.dtype.type(0)
    for r in range(n_ch * kh * kw):
        c, i, j = r // (kh * kw), (r // kw) % kh, r % kw
        y_lo, y_hi = _inside(oh, i - pad, stride, height)
        x_lo, x_hi = _inside(ow, j - pad, stride, width)
        inside, step = U(x_hi - x_lo), U(stride)
        for n in range(n_img):
            image = (n * n_ch + c) * height * width
            for oy in range(oh):
                d = U((r * n_img + n) * n_pos + oy * ow)  # where this output row starts
                if oy < y_lo or oy >= y_hi:  # the window row is in the padding
                    for q in range(U(ow)):
                        cf[d + q] = zero
                    continue
                for q in range(U(x_lo)):  # left padding
                    cf[d + q] = zero
                src = U(image + (oy * stride + i - pad) * width + x_lo * stride + j - pad)
                dst = d + U(x_lo)
                if stride == 1:  # a contiguous copy, which the compiler vectorises
                    for q in range(inside):
                        cf[dst + q] = xf[src + q]
                else:
                    for q in range(inside):
                        cf[dst + q] = xf[src + q * step]
                for q in range(U(x_hi), U(ow)):  # right padding
                    cf[d + q] = zero


@kernel
def col2im(dcols, kh, kw, stride, pad, dx):
    """The adjoint of im2col: dx = 0, then every entry of dcols is added to the pixel it was
    copied from (pixels under several windows collect several contributions)."""
    n_img, n_ch, height, width = dx.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    n_pos = oh * ow
    xf, cf = dx.ravel(), dcols.ravel()
    xf[:] = 0
    for r in range(n_ch * kh * kw):
        c, i, j = r // (kh * kw), (r // kw) % kh, r % kw
        y_lo, y_hi = _inside(oh, i - pad, stride, height)
        x_lo, x_hi = _inside(ow, j - pad, stride, width)
        inside, step = U(x_hi - x_lo), U(stride)
        for n in range(n_img):
            image = (n * n_ch + c) * height * width
            for oy in range(y_lo, y_hi):
                src = U((r * n_img + n) * n_pos + oy * ow + x_lo)
                dst = U(image + (oy * stride + i - pad) * width + x_lo * stride + j - pad)
                if stride == 1:
                    for q in range(inside):
                        xf[dst + q] += cf[src + q]
                else:
                    for q in range(inside):
                        xf[dst + q * step] += cf[src + q]


@kernel
def rows_to_images(rows, b, out):
    """out[n, f, p] = rows[f, n * P + p] + b[f]: the product W @ cols holds one row per filter;
    this cuts it into NCHW images (out is (N, F, P), P = OH * OW) and adds the bias."""
    n_img, n_filters, n_pos = out.shape
    for n in range(n_img):
        for f in range(n_filters):
            bias = b[f]
            src = rows[f, n * n_pos : (n + 1) * n_pos]
            dst = out[n, f]
            for p in range(n_pos):
                dst[p] = src[p] + bias


@kernel
def images_to_rows(dy, rows, db):
    """rows[f, n * P + p] = dy[n, f, p] (the layout of the product), and db = the sum of dy
    over images and positions: the bias gradient, in the same pass."""
    n_img, n_filters, n_pos = dy.shape
    for f in range(n_filters):
        db[f] = 0
    for n in range(n_img):
        for f in range(n_filters):
            src = dy[n, f]
            dst = rows[f, n * n_pos : (n + 1) * n_pos]
            total = 0.0
            for p in range(n_pos):
                dst[p] = src[p]
                total += src[p]
            db[f] += total


# --- pooling --------------------------------------------------------------------------------


@kernel
def maxpool_forward(x, k, stride, out, argmax):
    """out[n, c, oy, ox] = the largest x in the k x k window at (oy*s, ox*s); argmax stores
    its flat position y * W + x in the channel (the first one on ties), for the backward pass."""
    n_img, n_ch, height, width = x.shape
    _, _, oh, ow = out.shape
    xf, of, af = x.ravel(), out.ravel(), argmax.ravel()
    for plane in range(U(n_img * n_ch)):  # one (image, channel) plane after the other
        src, dst = plane * U(height * width), plane * U(oh * ow)
        for oy in range(U(oh)):
            for ox in range(U(ow)):
                first = (oy * U(width) + ox) * U(stride)
                best, where = xf[src + first], first
                for i in range(U(k)):
                    for j in range(U(k)):
                        at = first + i * U(width) + j
                        v = xf[src + at]
                        if v > best:
                            best, where = v, at
                of[dst + oy * U(ow) + ox] = best
                af[dst + oy * U(ow) + ox] = where


@kernel
def maxpool_backward(dy, argmax, k, stride, dx):
    """dx = 0, then each window's gradient goes to the input that won it.

    The scatter needs only `argmax`; k and stride are there because the GPU kernel of the same
    name gathers instead (one thread per input pixel visits the windows that cover it), and
    both take the same arguments."""
    n_img, n_ch, oh, ow = dy.shape
    width = dx.shape[3]
    dx[:] = 0
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                for ox in range(ow):
                    where = argmax[n, c, oy, ox]
                    dx[n, c, where // width, where % width] += dy[n, c, oy, ox]


@kernel
def avgpool_forward(x, k, stride, out):
    """out[n, c, oy, ox] = the mean of the k x k window at (oy*s, ox*s)."""
    n_img, n_ch, _, _ = x.shape
    _, _, oh, ow = out.shape
    inv = x.dtype.type(1.0 / (k * k))
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                for ox in range(ow):
                    total = x.dtype.type(0.0)
                    for i in range(k):
                        for j in range(k):
                            total += x[n, c, oy * stride + i, ox * stride + j]
                    out[n, c, oy, ox] = total * inv


@kernel
def avgpool_backward(dy, k, stride, dx):
    """dx = 0, then each window's gradient is shared equally by its k * k inputs."""
    n_img, n_ch, oh, ow = dy.shape
    inv = dy.dtype.type(1.0 / (k * k))
    dx[:] = 0
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                for ox in range(ow):
                    g = dy[n, c, oy, ox] * inv
                    for i in range(k):
                        for j in range(k):
                            dx[n, c, oy * stride + i, ox * stride + j] += g


@kernel
def global_avgpool_forward(x, out):
    """out[n, c] = the mean of channel c of image n over all its H * W positions."""
    n_img, n_ch, height, width = x.shape
    positions = height * width
    count = x.dtype.type(positions)
    xf = x.ravel()
    for plane in range(n_img * n_ch):
        total = x.dtype.type(0.0)
        start = plane * positions
        for q in range(positions):
            total += xf[start + q]
        out[plane // n_ch, plane % n_ch] = total / count


@kernel
def global_avgpool_backward(dy, dx):
    """Every position of channel c gets an equal share of its mean's gradient:
    dx[n, c, y, x] = dy[n, c] / (H * W)."""
    n_img, n_ch, height, width = dx.shape
    positions = height * width
    count = dx.dtype.type(positions)
    xf = dx.ravel()
    for plane in range(n_img * n_ch):
        share = dy[plane // n_ch, plane % n_ch] / count
        start = plane * positions
        for q in range(positions):
            xf[start + q] = share
