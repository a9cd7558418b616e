"""Numba kernel for data augmentation: turn, shift and mirror every image of a batch.

`affine_images` gives each image of an NCHW batch its own affine transform, the kind Keras'
ImageDataGenerator(rotation_range, width_shift_range, height_shift_range, horizontal_flip)
draws at random: a rotation by `angle` degrees about the image's centre, then a shift by
(shift_y, shift_x) pixels, then (where `flip` is 1) a mirror image left to right.

It is written backwards, as image warping always is: for every output pixel (i, j) it asks
where that pixel comes from in the input,

    j' = W - 1 - j if flip else j                          (the mirror)
    u, v = i - cy - shift_y, j' - cx - shift_x             (undo the shift, centre at 0)
    y = cy + cos(a) u - sin(a) v,  x = cx + sin(a) u + cos(a) v     (undo the rotation)

with (cy, cx) = ((H - 1) / 2, (W - 1) / 2) the centre of the pixel grid, and reads the input
there with *bilinear interpolation*: the four pixels around (y, x), weighted by how close they
are. Positions outside the image read, by the fill mode: the nearest edge pixel (constant=False;
Keras' default "nearest") or zeros (constant=True), which bilinear interpolation then blends
with the pixels inside along the border.

How this compares with Keras, which calls scipy.ndimage.affine_transform(order=1), also
bilinear, with the same matrix:
- The same transform up to the centre: Keras turns about ((H + 1) / 2, (W + 1) / 2), one pixel
  below and right of the grid's centre (transform_matrix_offset_center adds 0.5 to H / 2), we
  about the true centre, so that angle 90 on a square image is exactly a quarter turn
  (np.rot90(x, k=-1, axes=(2, 3)): a positive angle turns the picture clockwise as
  matplotlib's imshow shows it, as in Keras). Without rotation the two agree exactly.
- Keras' shift (tx, ty) moves the content by (-tx, -ty); ours by (+shift_y, +shift_x). Both
  are drawn symmetric about 0, so the random augmentations have the same distribution.
- constant=True is scipy's mode "grid-constant" (zeros outside, interpolated with the border
  pixels); Keras' "constant" is scipy's mode "constant", which differs from it only within one
  pixel of the image's edge. constant=False is scipy's and Keras' "nearest" exactly.

The twin of the same name in `reference.py` does the same in NumPy. Images are independent,
so the batch is split over the cores (`prange`) and the result does not depend on the number
of threads.
"""

from __future__ import annotations

import math

from numba import prange

from hashnet.kernels._jit import parallel_kernel


@parallel_kernel
def affine_images(x, angle, shift_y, shift_x, flip, constant, out):
    """out[n] = x[n] turned by angle[n] degrees about its centre, shifted by (shift_y[n],
    shift_x[n]) pixels (down, right), then mirrored left to right where flip[n] is 1; bilinear
    interpolation; outside the image: the nearest edge pixel, or 0 when `constant`.

    x and out are (N, C, H, W) of one float dtype and must not overlap; angle, shift_y and
    shift_x are float64 (N,); flip is uint8 (N,). Coordinates are computed in float64, the
    interpolation in the images' dtype.
    """
    n_img, n_ch, height, width = x.shape
    cy, cx = (height - 1) / 2.0, (width - 1) / 2.0
    one = x.dtype.type(1.0)
    zero = x.dtype.type(0.0)
    for n in prange(n_img):
        theta = angle[n] * (math.pi / 180.0)
        cos, sin = math.cos(theta), math.sin(theta)
        for i in range(height):
            u = i - cy - shift_y[n]
            for j in range(width):
                jj = width - 1 - j if flip[n] else j
                v = jj - cx - shift_x[n]
                y = cy + cos * u - sin * v
                xc = cx + sin * u + cos * v
                if constant:
                    # Zeros outside: a neighbour off the grid contributes 0 with its weight.
                    if y <= -1.0 or y >= height or xc <= -1.0 or xc >= width:
                        for c in range(n_ch):
                            out[n, c, i, j] = zero
                        continue
                    y0, x0 = math.floor(y), math.floor(xc)
                    fy, fx = x.dtype.type(y - y0), x.dtype.type(xc - x0)
                    y1, x1 = y0 + 1, x0 + 1
                    top, bottom = y0 >= 0, y1 < height
                    left, right = x0 >= 0, x1 < width
                    for c in range(n_ch):
                        v00 = x[n, c, y0, x0] if top and left else zero
                        v01 = x[n, c, y0, x1] if top and right else zero
                        v10 = x[n, c, y1, x0] if bottom and left else zero
                        v11 = x[n, c, y1, x1] if bottom and right else zero
                        upper = v00 * (one - fx) + v01 * fx
                        lower = v10 * (one - fx) + v11 * fx
                        out[n, c, i, j] = upper * (one - fy) + lower * fy
                else:
                    # The nearest edge pixel outside: clamping the position to the grid gives
                    # exactly that, since both neighbours beyond an edge are the edge pixel.
                    y = min(max(y, 0.0), height - 1.0)
                    xc = min(max(xc, 0.0), width - 1.0)
                    y0, x0 = math.floor(y), math.floor(xc)
                    fy, fx = x.dtype.type(y - y0), x.dtype.type(xc - x0)
                    y1, x1 = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
                    for c in range(n_ch):
                        upper = x[n, c, y0, x0] * (one - fx) + x[n, c, y0, x1] * fx
                        lower = x[n, c, y1, x0] * (one - fx) + x[n, c, y1, x1] * fx
                        out[n, c, i, j] = upper * (one - fy) + lower * fy
