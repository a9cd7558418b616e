"""Numba kernels for the image layers: convolution as a matrix product, and pooling.

A convolution slides a (C, kh, kw) filter over the image. `im2col` copies, for every output
position, the C * kh * kw input values under the filter into one row of a matrix `cols`;
then all filters at all positions of all images are ONE matrix product, cols @ W.T, which BLAS
does fast. The product's rows are (image, position) and its columns are filters, so
`rows_to_images` moves them into the NCHW layout and adds the bias on the way. The backward
pass runs the same steps in reverse: `images_to_rows` (with the bias gradient), two products,
and `col2im`, which adds each row of the gradient back onto the pixels it was copied from.

Images are NCHW and C-contiguous. Output sizes follow the usual rule:
out = (in + 2 * pad - kernel) // stride + 1. Padding is zeros. Each kernel has a NumPy twin
of the same name in `reference.py`.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from hashnet.kernels._jit import kernel, parallel_kernel


def output_size(size, k, stride, pad):
    """Positions a window of size k visits along an axis of `size` pixels."""
    return (size + 2 * pad - k) // stride + 1


# --- convolution ----------------------------------------------------------------------------


@parallel_kernel
def im2col(x, kh, kw, stride, pad, cols):
    """One row per output position, one column per filter weight:
    cols[(n*OH + oy)*OW + ox, (c*kh + i)*kw + j] = x[n, c, oy*s + i - pad, ox*s + j - pad],
    0 where that falls outside the image."""
    n_img, n_ch, height, width = x.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    for n in prange(n_img):  # images are independent: split them over the cores
        for oy in range(oh):
            for ox in range(ow):
                row = (n * oh + oy) * ow + ox
                col = 0
                for c in range(n_ch):
                    for i in range(kh):
                        y = oy * stride + i - pad
                        inside_y = 0 <= y < height
                        for j in range(kw):
                            xx = ox * stride + j - pad
                            if inside_y and 0 <= xx < width:
                                cols[row, col] = x[n, c, y, xx]
                            else:
                                cols[row, col] = 0
                            col += 1


@parallel_kernel
def col2im(dcols, kh, kw, stride, pad, dx):
    """The adjoint of im2col: dx = 0, then every entry of dcols is added to the pixel it was
    copied from (pixels under several windows collect several contributions)."""
    n_img, n_ch, height, width = dx.shape
    oh = (height + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    for n in prange(n_img):  # each image writes only its own pixels: no race between threads
        dx[n] = 0
        for oy in range(oh):
            for ox in range(ow):
                row = (n * oh + oy) * ow + ox
                col = 0
                for c in range(n_ch):
                    for i in range(kh):
                        y = oy * stride + i - pad
                        inside_y = 0 <= y < height
                        for j in range(kw):
                            xx = ox * stride + j - pad
                            if inside_y and 0 <= xx < width:
                                dx[n, c, y, xx] += dcols[row, col]
                            col += 1


@kernel
def rows_to_images(rows, b, out):
    """out[n, f, p] = rows[n * P + p, f] + b[f]: the product's (image, position) rows become
    NCHW images (out is (N, F, P), P = OH * OW), with the bias added."""
    n_img, n_filters, n_pos = out.shape
    for n in range(n_img):
        for f in range(n_filters):
            bias = b[f]
            for p in range(n_pos):
                out[n, f, p] = rows[n * n_pos + p, f] + bias


@kernel
def images_to_rows(dy, rows, db):
    """rows[n * P + p, f] = dy[n, f, p] (the layout of the product), and db = the sum of dy
    over images and positions: the bias gradient, in the same pass."""
    n_img, n_filters, n_pos = dy.shape
    for f in range(n_filters):
        db[f] = 0
    for n in range(n_img):
        for f in range(n_filters):
            total = 0.0
            for p in range(n_pos):
                g = dy[n, f, p]
                rows[n * n_pos + p, f] = g
                total += g
            db[f] += total


# --- pooling --------------------------------------------------------------------------------


@kernel
def maxpool_forward(x, k, stride, out, argmax):
    """out[n, c, oy, ox] = the largest x in the k x k window at (oy*s, ox*s); argmax stores
    its flat position y * W + x in the channel (the first one on ties), for the backward pass."""
    n_img, n_ch, height, width = x.shape
    _, _, oh, ow = out.shape
    for n in range(n_img):
        for c in range(n_ch):
            for oy in range(oh):
                for ox in range(ow):
                    y0, x0 = oy * stride, ox * stride
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


@kernel
def maxpool_backward(dy, argmax, dx):
    """dx = 0, then each window's gradient goes to the input that won it."""
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


def exercise(dtype) -> None:
    """Call every kernel once on tiny arrays (compiles them; used by `hashnet.warmup`)."""
    x = np.ones((1, 1, 2, 2), dtype)
    im2col(x, 2, 2, 1, 1, np.empty((9, 4), dtype))
    col2im(np.ones((9, 4), dtype), 2, 2, 1, 1, np.empty_like(x))
    vec = np.zeros(1, dtype)
    rows_to_images(np.ones((4, 1), dtype), vec, np.empty((1, 1, 4), dtype))
    images_to_rows(np.ones((1, 1, 4), dtype), np.empty((4, 1), dtype), vec)
    out, argmax = np.empty((1, 1, 1, 1), dtype), np.empty((1, 1, 1, 1), np.int32)
    maxpool_forward(x, 2, 2, out, argmax)
    maxpool_backward(out, argmax, np.empty_like(x))
    avgpool_forward(x, 2, 2, out)
    avgpool_backward(out, 2, 2, np.empty_like(x))
