"""Exact linear regions crossed by a straight segment, in any input dimension.

Walk from input xa to input xb along x(t) = xa + t (xb - xa), t in [0, 1]. On a piece of the
segment where every ReLU keeps its on/off state the network is affine, so each layer's input
is affine in t too: h(t) = t * m + c. A unit's pre-activation z_j(t) = t * (m @ W)_j +
(c @ W + b)_j is then a straight line in t, which changes sign at most once, at
t* = -c_j / a_j. So the regions along the segment are found layer by layer, exactly:

1. start with one interval [0, 1] and h(t) = x(t);
2. for each ReLU layer, split every interval at the roots of its units' pre-activations;
3. on each piece read the on/off pattern at the midpoint (bit = z > 0) and push the affine map
   through the activation (slope 1 for on units, alpha for off units);
4. glue neighbouring pieces whose codes are equal: where the pattern does not change, the
   segment has not left the region.

This is the 1D cousin of `hashnet.regions.enumerate` (which cuts polygons instead of
intervals). Because a segment is one-dimensional it works for any input size, e.g. between two
MNIST digits, where a 2D enumeration would need a plane.

Tolerance policy: a root closer than TOL (in t, the segment having length 1) to an end of its
interval is ignored, and so are roots closer than TOL to each other beyond the first; a unit
with |a_j| <= TOL * |c_j| is treated as constant on the interval. Everything is float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet.codes import Codes
from hashnet.regions.steps import (
    coded,
    merged_sizes,
    network_steps,
    pool_winners,
    prepare_kernels,
    push,
    window_pairs,
)

TOL = 1e-12


@dataclass
class Crossings:
    """The linear regions met on the way from xa to xb.

    n_regions  how many regions the segment passes through (the number of intervals)
    t          (n_regions - 1,) the sorted parameters in (0, 1) where it crosses a boundary
    points     (n_regions - 1, d) the (flattened) inputs at those crossings
    codes      Codes of each interval's activation pattern, in order along the segment
    intervals  (n_regions, 2) the pieces [t_start, t_end] of [0, 1], one per region
    """

    n_regions: int
    t: np.ndarray
    points: np.ndarray
    codes: Codes
    intervals: np.ndarray


def count_along(net, xa, xb, max_regions=1_000_000) -> Crossings:
    """Exactly how many linear regions the straight segment from xa to xb crosses.

    net : an MLP or CNN, used in evaluation mode (the same networks
        `hashnet.regions.enumerate` accepts; with max pooling, the segment also crosses a
        boundary where the winner of a pooling window changes)
    xa, xb : two different inputs, of the network's input_shape or flattened
    max_regions : stop with a clear error when the count goes past this
    Returns a `Crossings`; `n_regions` is the answer, `t` and `points` say where the boundaries
    are met, `codes[i]` is the region of the i-th interval (equal to `net.codes` there).
    """
    xa, xb = _check_endpoints(net, xa, xb)
    max_regions = _check_max_regions(max_regions)
    prepare_kernels(net)
    steps, _ = network_steps(net)
    # One row per interval: [t0, t1], h(t) = t * M[i] + C[i], the code bits found so far, and
    # (with max pooling) which input won each pooling window: the piece's affine map.
    T0, T1 = np.array([0.0]), np.array([1.0])
    M, C = (xb - xa)[None, None, :], xa[None, :]
    bits = np.zeros((1, 0), np.uint8)
    winners = np.zeros((1, 0), np.int64)
    sizes, relu_steps = [], []
    for depth, step in enumerate(steps):
        A, Z0 = push(step.ops, M, C)  # values on interval i: t * A[i, 0] + Z0[i]
        n = coded(step, A.shape[2]) if step.kind == "relu" else 0  # carried values after n
        if step.kind == "relu":
            T0, T1, parent = _split(T0, T1, A[:, 0, :n], Z0[:, :n])
        else:  # max pooling: split where two inputs of a window are equal
            first, second = window_pairs(step.arg)
            diff_a = A[:, 0, first] - A[:, 0, second]
            T0, T1, parent = _split(T0, T1, diff_a, Z0[:, first] - Z0[:, second])
        mid = 0.5 * (T0 + T1)
        A, Z0 = A[parent], Z0[parent]
        bits, winners = bits[parent], winners[parent]
        values = mid[:, None] * A[:, 0] + Z0
        if step.kind == "relu":
            on = values[:, :n] > 0
            slope = np.ones_like(values)
            slope[:, :n] = np.where(on, 1.0, step.arg)
            M, C = A * slope[:, None, :], Z0 * slope
            bits = np.concatenate([bits, on.astype(np.uint8)], axis=1)
            relu_steps.append(step)
            sizes.append(n)
        else:
            won = pool_winners(values, step.arg)
            M = np.take_along_axis(A, won[:, None, :], axis=2)
            C = np.take_along_axis(Z0, won, axis=1)
            winners = np.concatenate([winners, won], axis=1)
        T0, T1, M, C, bits, winners = _merge(T0, T1, M, C, bits, winners)
        if len(T0) > max_regions:
            raise ValueError(
                f"the segment crosses more than max_regions={max_regions} regions (reached "
                f"{len(T0)} after layer {depth + 1} of {len(steps)}, {step.kind}); pass a "
                "larger max_regions or split the segment into shorter pieces"
            )
    codes = Codes.from_bits(bits, merged_sizes(relu_steps, sizes) or None)
    t = T0[1:].copy()
    points = xa[None, :] + t[:, None] * (xb - xa)[None, :]
    return Crossings(len(T0), t, points, codes, np.stack([T0, T1], axis=1))


def _split(T0, T1, A, Z0):
    """Cut each interval at the roots of its units' pre-activations strictly inside it.

    Returns the new interval ends and, for each new piece, the index of the interval it came
    from (its affine map is that interval's).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        roots = -Z0 / A
    moving = np.abs(A) > TOL * np.abs(Z0)  # otherwise constant on the interval
    inside = moving & (roots > T0[:, None] + TOL) & (roots < T1[:, None] - TOL)
    starts, ends, parent = [], [], []
    for i in range(len(T0)):
        cuts = np.sort(roots[i, inside[i]])
        if cuts.size > 1:  # roots closer than TOL to the previous one make no new piece
            cuts = cuts[np.concatenate([[True], np.diff(cuts) > TOL])]
        edges = np.concatenate([[T0[i]], cuts, [T1[i]]])
        starts.append(edges[:-1])
        ends.append(edges[1:])
        parent.append(np.full(edges.size - 1, i))
    return np.concatenate(starts), np.concatenate(ends), np.concatenate(parent)


def _merge(T0, T1, M, C, bits, winners):
    """Glue neighbouring intervals with equal codes (and equal pooling winners): the same
    pattern is the same region (and the same affine map), so the segment has crossed nothing
    there."""
    if len(T0) < 2:
        return T0, T1, M, C, bits, winners
    changed = (bits[1:] != bits[:-1]).any(axis=1) | (winners[1:] != winners[:-1]).any(axis=1)
    first = np.flatnonzero(np.concatenate([[True], changed]))
    last = np.concatenate([first[1:] - 1, [len(T0) - 1]])
    return T0[first], T1[last], M[first], C[first], bits[first], winners[first]


def _check_endpoints(net, xa, xb):
    shape = tuple(net.input_shape)
    d = int(np.prod(shape))
    out = []
    for name, x in (("xa", xa), ("xb", xb)):
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be an array of numbers: {error}") from None
        if x.shape not in (shape, (d,)):
            raise ValueError(
                f"{name} must be one input of shape {shape} (or flattened, ({d},)), "
                f"got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError(f"{name} holds NaN or inf; the segment needs finite endpoints")
        out.append(x.ravel())
    if np.array_equal(out[0], out[1]):
        raise ValueError("xa and xb are the same input: a segment needs two different ends")
    return out


def _check_max_regions(max_regions):
    if isinstance(max_regions, bool) or not isinstance(max_regions, (int, np.integer)):
        raise TypeError(f"max_regions must be a positive integer, got {max_regions!r}")
    if max_regions < 1:
        raise ValueError(f"max_regions must be >= 1, got {max_regions}")
    return int(max_regions)
