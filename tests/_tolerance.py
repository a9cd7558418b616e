"""One rule for comparing floating-point results that may round differently.

A Numba kernel and its NumPy twin, BLAS on two processors, a GPU and a CPU: the same formula
evaluated in another order, with or without fused multiply-adds, or with another vector width,
gives results that differ in the last bits. A value that is exactly 0 on one machine is then
1e-16 on another, which no relative tolerance accepts, while a fixed absolute tolerance means
nothing without the size of the numbers around it. `assert_close` ties the tolerance to that
size instead. Test modules import it like their other helpers: ``from _tolerance import
assert_close``.
"""

from __future__ import annotations

import numpy as np

# The default tolerance, in units of the compared precision's machine epsilon: 256 eps is
# about 5.7e-14 in float64 and 3.1e-5 in float32. Room for the rounding of a few hundred
# operations, far below any real mistake (a wrong sign, a missing term, an off-by-one).
ULPS = 256


def default_rtol(dtype) -> float:
    """ULPS machine epsilons of `dtype`: the rtol `assert_close` uses when none is given."""
    return ULPS * float(np.finfo(dtype).eps)


def _precision(arrays, dtype):
    """The precision the compared values were computed in: the coarsest floating dtype."""
    if dtype is not None:
        return np.dtype(dtype)
    floats = [a.dtype for a in arrays if np.issubdtype(a.dtype, np.inexact)]
    if not floats:
        return np.dtype(np.float64)
    return max(floats, key=lambda t: np.finfo(t).eps)


def assert_close(actual, desired, *, scale=None, rtol=None, dtype=None, err_msg=""):
    """Assert |actual - desired| <= rtol * scale + tiny, element by element.

    scale is the magnitude of the quantities the result was computed from. By default it is
    one number for the whole comparison, max(|actual|, |desired|) over all elements, so an
    entry that is exactly 0 in one result and 1e-16 in the other passes when its neighbours
    are of order 1, while a wrong sign, a dropped term or a shifted array still fails. Give
    `scale` (a number, or an array that broadcasts to the shape) when the result is smaller
    than what it was computed from: a sum of products that cancels, for example, has rounding
    errors relative to the sum of the absolute values of its terms, so pass that sum. tiny is
    the smallest normal number of the precision, so all-zero results compare equal.

    rtol defaults to `default_rtol` of the coarsest floating dtype of the two inputs, or of
    `dtype` when given (say, when a float32 computation returns a Python float). NaN must
    appear at the same places in both, infinities must be equal, and the shapes must agree
    (a scalar `desired` is compared with every element).
    """
    __tracebackhide__ = True  # pytest: report the caller's line
    a, d = np.asarray(actual), np.asarray(desired)
    precision = _precision((a, d), dtype)
    if rtol is None:
        rtol = default_rtol(precision)
    tiny = float(np.finfo(precision).tiny)
    note = f"\n{err_msg}" if err_msg else ""
    if d.shape != a.shape:
        if d.ndim:
            raise AssertionError(f"shapes differ: actual {a.shape}, desired {d.shape}{note}")
        d = np.broadcast_to(d, a.shape)
    a = a.astype(np.complex128 if np.iscomplexobj(a) else np.float64)
    d = d.astype(np.complex128 if np.iscomplexobj(d) else np.float64)

    nan_a, nan_d = np.isnan(a), np.isnan(d)
    if (nan_a != nan_d).any():
        where = tuple(int(i) for i in np.argwhere(nan_a != nan_d)[0])
        raise AssertionError(
            f"NaN in one result only: {(nan_a != nan_d).sum()} elements, the first at "
            f"{where}: actual {a[where].item()!r}, desired {d[where].item()!r}{note}"
        )
    infinite = np.isinf(a) | np.isinf(d)
    if (a[infinite] != d[infinite]).any():
        where = tuple(int(i) for i in np.argwhere(infinite & (a != d))[0])
        raise AssertionError(
            f"infinities differ at {where}: actual {a[where].item()!r}, "
            f"desired {d[where].item()!r}{note}"
        )
    finite = ~(nan_a | infinite)

    if scale is None:
        values = np.concatenate([np.abs(a[finite]), np.abs(d[finite])])
        scale = values.max() if values.size else 0.0
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), a.shape)
    if not (np.isfinite(scale) & (scale >= 0)).all():
        raise ValueError("scale must be finite and non-negative")

    allowed = rtol * scale + tiny
    diff = np.abs(np.where(finite, a, 0.0) - np.where(finite, d, 0.0))
    bad = diff > allowed
    if bad.any():
        excess = np.where(bad, diff / allowed, 0.0)
        where = np.unravel_index(int(np.argmax(excess)), a.shape)
        eps = float(np.finfo(precision).eps)
        raise AssertionError(
            f"not close: {int(bad.sum())} of {a.size} elements differ by more than "
            f"rtol * scale + tiny (rtol = {rtol:.3g} = {rtol / eps:.3g} eps of {precision})\n"
            f"worst at {tuple(int(i) for i in where)}: actual {a[where].item()!r}, "
            f"desired {d[where].item()!r}, |difference| {diff[where]:.3e} > allowed "
            f"{allowed[where]:.3e} (scale {scale[where]:.3e}), {excess[where]:.3g} times over"
            f"{note}"
        )
