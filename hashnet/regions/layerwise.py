"""The plain algorithm: all the regions of a layer at once, in NumPy. Slow; a yardstick.

This is exact region enumeration at its simplest, kept as an independent reference that the
tests compare `hashnet.regions.enumerate` with (same regions, same codes, same maps):

1. start with the domain, one polygon, on which the input is the affine map of the plane;
2. for each ReLU layer, compute every unit's pre-activation on every polygon as an affine
   function a s + b t + c of the plane coordinates, and cut each polygon along the zero line
   of each unit in turn (`cut_polygons`); each piece gets the bits of the units positive on it
   and the map through the layer (slope 1 on, alpha off);
3. for a max-pooling layer, cut along *every* line where two inputs of a window are equal
   (the winner can only change there), read the winners at each piece's centroid, and glue
   back the pieces of one region that have the same winners (their union is convex: it is
   their hull).

It keeps every piece's full affine map at once, so its memory grows with regions times units
(a LeNet map is 75 kB), and it cuts along far more lines than the fast path (six per 2x2
window instead of the few where the maximum changes); it works in plane coordinates, so very
small or far-away domains lose digits. The fast path differs in all of this, and not in what
it computes.
"""

from __future__ import annotations

import numpy as np

from hashnet.kernels.regions_reference import convex_hull
from hashnet.regions.enumeration import _domain
from hashnet.regions.pieces import Pieces
from hashnet.regions.steps import coded, network_steps, pool_winners, push, window_pairs
from hashnet.regions.walk import AREA_TOL, TOL


def enumerate_layerwise(net, box=None, plane=None):
    """The regions of `net` on a box or plane, by the plain algorithm.

    Returns (pieces, bits, (logit_A, logit_c)) in plane coordinates: Pieces of the regions,
    (n, n_bits) uint8 codes, and the logits on region r as [s, t] @ logit_A[r] + logit_c[r].
    """
    domain = _domain(net, box, plane)
    steps, final_ops = network_steps(net)
    s0, s1, t0, t1 = domain.extent
    reach = (max(abs(s0), abs(s1)), max(abs(t0), abs(t1)))
    area_tol = AREA_TOL * domain.area
    pieces = [domain.corners()]
    M, c = np.stack([domain.u, domain.v])[None], domain.origin[None].copy()
    bits = np.zeros((1, 0), np.uint8)
    for step in steps:
        A, z0 = push(step.ops, M, c)
        if step.kind == "relu":
            n = coded(step, A.shape[2])  # values after the n units are carried unchanged
            pieces, owner, layer_bits = cut_polygons(
                pieces, A[:, :, :n], z0[:, :n], reach, area_tol
            )
            bits = np.hstack([bits[owner], layer_bits])
            slope = np.ones((len(owner), A.shape[2]))
            slope[:, :n] = np.where(layer_bits == 1, 1.0, step.arg)
            M, c = A[owner] * slope[:, None, :], z0[owner] * slope
        else:
            first, second = window_pairs(step.arg)
            differences = A[:, :, first] - A[:, :, second], z0[:, first] - z0[:, second]
            pieces, owner, _ = cut_polygons(pieces, *differences, reach, area_tol)
            A, z0 = A[owner], z0[owner]
            centres = np.array([p.mean(axis=0) for p in pieces])
            winners = pool_winners(np.einsum("ri,rid->rd", centres, A) + z0, step.arg)
            pieces, keep = _glue(pieces, owner, winners)
            bits, A, z0, winners = bits[owner[keep]], A[keep], z0[keep], winners[keep]
            M = np.take_along_axis(A, winners[:, None, :], axis=2)
            c = np.take_along_axis(z0, winners, axis=1)
    logit_A, logit_c = push(final_ops, M, c)
    counts = np.array([len(p) for p in pieces], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return Pieces(np.concatenate(pieces), starts, counts), bits, (logit_A, logit_c)


def cut_polygons(polygons, A, z0, reach, area_tol):
    """Cut polygon r by the zero lines of [s, t] @ A[r] + z0[r], unit after unit.

    Returns (pieces, owner, bits): each piece, the polygon it came from, and its bits (1 for
    the units positive on it). A vertex with |f| <= TOL * (|a| reach_s + |b| reach_t + |c|) is
    on the line; a cut leaving a side of area <= area_tol is not made (the piece takes the
    larger side's bit); a unit with no vertex strictly on either side takes the sign at the
    vertex mean.
    """
    out, owner, out_bits = [], [], []
    m = z0.shape[1]

    def visit(r, piece, j, bits):
        while j < m:
            a, b, c = A[r, 0, j], A[r, 1, j], z0[r, j]
            tol = TOL * (abs(a) * reach[0] + abs(b) * reach[1] + abs(c))
            f = piece @ np.array([a, b]) + c
            side = np.where(f > tol, 1, np.where(f < -tol, -1, 0))
            if (side > 0).any() and (side < 0).any():
                halves = [_half(piece, f, side, positive) for positive in (True, False)]
                areas = [_signed_area(h) for h in halves]
                if min(areas) > area_tol:
                    visit(r, halves[1], j + 1, bits.copy())
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

    for r, polygon in enumerate(polygons):
        visit(r, polygon, 0, np.zeros(m, np.uint8))
    return out, np.array(owner, np.int64), np.array(out_bits, np.uint8).reshape(len(out), m)


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


def _signed_area(polygon):
    if len(polygon) < 3:
        return 0.0
    s, t = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(s, np.roll(t, -1)) - np.dot(np.roll(s, -1), t))


def _glue(pieces, owner, winners):
    """Merge the pieces that came from one region and share every window's winner: their union
    is convex, so it is the hull of their vertices. Returns the polygons and, for each, one
    piece it was made of."""
    key = np.hstack([owner[:, None], winners])
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    polygons, keep = [], []
    for g in range(group.max() + 1):
        members = np.flatnonzero(group == g)
        keep.append(members[0])
        if len(members) == 1:
            polygons.append(pieces[members[0]])
        else:
            polygons.append(convex_hull(np.vstack([pieces[r] for r in members])))
    order = np.argsort(keep, kind="stable")  # in the order of the pieces
    return [polygons[i] for i in order], np.array(keep)[order]
