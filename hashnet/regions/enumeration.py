"""Exact linear regions of a ReLU network on a 2D domain (reference implementation).

Inside one activation region every ReLU is either on or off, so the network is an affine map
there. The regions are found layer by layer: start with the domain (one convex polygon); for
each ReLU layer, write every unit's pre-activation on each current polygon as an affine
function a.s + b.t + c of the plane coordinates, and cut the polygon along the line where it is
zero, unit after unit. The pieces are convex polygons again, each with one more layer of its
activation code, and on each piece the layer's output is again affine (on units pass through,
off units are multiplied by the leaky slope). BatchNorm in evaluation mode and Dense layers are
affine and fold into that map; Dropout is the identity outside training.

Tolerance policy (one rule, used everywhere): a polygon vertex counts as *on* a cutting line
when |f| <= TOL * scale, where f is the pre-activation at the vertex and scale = |a| * R_s +
|b| * R_t + |c| bounds |f| over the domain (R_s, R_t: the largest |s|, |t| of the domain). A
cut that would leave a piece of area <= AREA_TOL * (domain area) on one side (on the order of
TOL squared, so only a numerical sliver, never a small real region) keeps the polygon
whole. A unit that is constant on a polygon (no vertex strictly on either side) gets the bit of
its value at the polygon's centroid. Everything is float64.

Convolutions, average pooling and the other affine layers fold into the maps (see `steps.py`);
max pooling cuts too, along the lines where two inputs of a window are equal.

The cutting runs in the Numba kernel `hashnet.kernels.cpu.cut_regions` (one call per layer);
`hashnet.kernels.reference.cut_regions` is its plain NumPy twin.
"""

from __future__ import annotations

import numpy as np

from hashnet.codes import Codes
from hashnet.kernels import cpu as K
from hashnet.regions.plane import Plane, box_plane
from hashnet.regions.regions import Regions
from hashnet.regions.steps import (
    network_steps,
    pool_winners,
    prepare_kernels,
    push,
    window_pairs,
)

TOL = 1e-10
AREA_TOL = 1e-20  # about TOL squared: only true slivers, never a small real region


def enumerate_regions(net, box=None, plane=None, max_regions=100_000, verbose=0) -> Regions:
    """Every linear region of a ReLU network inside a 2D domain, exactly.

    net : a trained (or untrained) MLP or CNN made of Dense, Conv2D, ReLU/LeakyReLU,
        BatchNorm, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten and Dropout layers,
        evaluated in evaluation mode
    box : (x0, x1, y0, y1) for a network with 2D inputs, or
    plane : a Plane (`hashnet.regions.plane_through(xa, xb, xc)`, `hashnet.regions.plane(...)`)
        for any input dimension (for a CNN: a plane through three images)
    max_regions : stop with a clear error when the count goes past this
    verbose : 1 prints the number of regions after each layer
    Returns a `Regions` (polygons, codes, affine maps to the logits, layer-by-layer history).

    Max pooling is piecewise linear too: inside one activation region, the winner of a pooling
    window changes where two of its inputs are equal, and the network's affine map changes
    there. Those lines cut the regions as well, so with max pooling two neighbouring regions
    can share an activation code (they differ in which input wins some window).
    """
    domain = _domain(net, box, plane)
    _check_finite_weights(net)
    prepare_kernels(net)
    steps, final_ops = network_steps(net)
    # The regions so far: polygons as one vertex array with a start and a count per polygon,
    # and on region r the current layer's input is h(s, t) = [s, t] @ M[r] + c[r].
    verts, starts, counts = domain.corners(), np.array([0]), np.array([4])
    M, c = np.stack([domain.u, domain.v])[None], domain.origin[None].copy()
    bits = np.zeros((1, 0), np.uint8)
    cut = _Cutter(domain, max_regions)
    history, sizes = [], []
    for depth, step in enumerate(steps):
        # Region r's pre-activations: [s, t] @ A[r] + z0[r] (the ops run on all regions at
        # once: one matrix product instead of one small product per region).
        A, z0 = push(step.ops, M, c)
        if step.kind == "relu":
            verts, starts, counts, owner, layer_bits = cut(verts, starts, counts, A, z0, depth)
            bits = np.hstack([bits[owner], layer_bits])
            M, c = _next_maps(A, z0, owner, layer_bits, step.arg)
            sizes.append(A.shape[2])
            history.append((verts, starts, counts, bits))
        else:  # max pooling: cut where two inputs of a window are equal, then pick winners
            first, second = window_pairs(step.arg)
            differences = A[:, :, first] - A[:, :, second], z0[:, first] - z0[:, second]
            verts, starts, counts, owner, _ = cut(verts, starts, counts, *differences, depth)
            A, z0 = A[owner], z0[owner]
            values = np.einsum("ri,rid->rd", _centroids(verts, starts, counts), A) + z0
            winners = pool_winners(values, step.arg)
            # Pieces of one region with the same winners everywhere are one linear region:
            # glue them back together (their union is convex, so it is their convex hull).
            verts, starts, counts, keep = _glue(verts, starts, counts, owner, winners)
            bits, A, z0, winners = bits[owner[keep]], A[keep], z0[keep], winners[keep]
            M = np.take_along_axis(A, winners[:, None, :], axis=2)
            c = np.take_along_axis(z0, winners, axis=1)
            if history:  # the pieces of the last ReLU layer, refined by its pooling
                history[-1] = (verts, starts, counts, bits)
        if verbose:
            print(f"layer {depth + 1} ({step.kind}): {len(starts)} regions", flush=True)
    if not history:  # no ReLU layer: the pieces (the domain, or pooling pieces) as they are
        history.append((verts, starts, counts, bits))

    def logits():
        return push(final_ops, M, c)

    layers = [
        (_polygon_list(v, st, ct), Codes.from_bits(bt, sizes[: i + 1] or None))
        for i, (v, st, ct, bt) in enumerate(history)
    ]
    return Regions(domain, layers[-1][0], layers[-1][1], logits, layers)


class _Cutter:
    """Cut every polygon by the zero lines of the affine functions [s, t] @ A[r] + z0[r] (the
    Numba kernel `cut_regions`), with the tolerances of this module and a clear error past
    max_regions."""

    def __init__(self, domain, max_regions):
        self.reach_s = max(abs(domain.extent[0]), abs(domain.extent[1]))
        self.reach_t = max(abs(domain.extent[2]), abs(domain.extent[3]))
        self.area_tol = AREA_TOL * domain.area
        self.max_regions = max_regions

    def __call__(self, verts, starts, counts, A, z0, depth):
        before = len(starts)
        out = K.cut_regions(
            verts,
            starts,
            counts,
            np.ascontiguousarray(A),
            np.ascontiguousarray(z0),
            self.reach_s,
            self.reach_t,
            TOL,
            self.area_tol,
            self.max_regions,
        )
        if len(out[1]) > self.max_regions:
            raise ValueError(
                f"layer {depth + 1} cuts the domain into more than max_regions="
                f"{self.max_regions} regions (counting stopped there; before it there were "
                f"{before}); pass a larger max_regions, a smaller box or plane extent, or a "
                "smaller network"
            )
        return out


def _glue(verts, starts, counts, owner, winners):
    """Merge the pieces that came from one region (`owner`) and share the winner of every
    pooling window (`winners` rows).

    Cutting a region along every line where two inputs of a window are equal over-splits it:
    crossing such a line only matters when one of the two is the window's maximum. The set
    of points of a region where given inputs win is an intersection of half-planes, hence
    convex, and the pieces tile it, so the merged polygon is the convex hull of their
    vertices. Returns the new polygons and, for each, the index of one piece it was made of.
    """
    key = np.hstack([owner[:, None], winners])
    _, group, sizes = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    group = group.ravel()
    if sizes.max() == 1:
        return verts, starts, counts, np.arange(len(starts))
    order = np.argsort(group, kind="stable")
    keep = order[np.concatenate([[0], np.cumsum(sizes)[:-1]])]
    polygons = []
    for members in np.split(order, np.cumsum(sizes)[:-1]):
        if len(members) == 1:
            r = members[0]
            polygons.append(verts[starts[r] : starts[r] + counts[r]])
        else:
            points = np.vstack([verts[starts[r] : starts[r] + counts[r]] for r in members])
            polygons.append(convex_hull(points))
    new_counts = np.array([len(p) for p in polygons])
    new_starts = np.concatenate([[0], np.cumsum(new_counts)[:-1]])
    return np.vstack(polygons), new_starts, new_counts, keep


def convex_hull(points):
    """The convex hull of 2D points, counter-clockwise, without collinear vertices (Andrew's
    monotone chain: sort by x, then build the lower and the upper chain keeping left turns)."""
    pts = points[np.lexsort((points[:, 1], points[:, 0]))]
    scale = np.abs(pts).max() + 1.0
    tol = TOL * scale * scale  # turns this flat are rounding, not corners

    def chain(sequence):
        out = []
        for p in sequence:
            while len(out) >= 2:
                (ax, ay), (bx, by) = out[-2], out[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > tol:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = chain(pts), chain(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _centroids(verts, starts, counts):
    """The mean of each polygon's vertices: a point inside it (the polygons are convex)."""
    owner = np.repeat(np.arange(len(starts)), counts)
    index = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    sums = [np.bincount(owner, weights=verts[index, k], minlength=len(starts)) for k in (0, 1)]
    return np.stack(sums, axis=1) / counts[:, None]


def _next_maps(A, z0, owner, layer_bits, alpha):
    """The affine maps of the activations on each new region: units that are on pass their
    pre-activation, units that are off multiply it by alpha."""
    slope = np.where(layer_bits == 1, 1.0, alpha)
    return A[owner] * slope[:, None, :], z0[owner] * slope


def _polygon_list(verts, starts, counts):
    """A function that cuts the vertex array into the list of polygons (built when needed)."""
    return lambda: [verts[s : s + k] for s, k in zip(starts, counts)]


def _check_finite_weights(net):
    if not all(np.isfinite(w).all() for w in net.get_weights()):
        raise ValueError("the network has NaN or infinite weights: its regions are undefined")


def _domain(net, box, plane) -> Plane:
    if (box is None) == (plane is None):
        raise ValueError("give exactly one of box=(x0, x1, y0, y1) or plane=...")
    if plane is not None:
        if not isinstance(plane, Plane):
            raise TypeError("plane must be a hashnet.regions Plane (see plane_through)")
        if plane.origin.size != int(np.prod(net.input_shape)):
            raise ValueError(
                f"the plane lives in {plane.origin.size}D input space, but the network takes "
                f"inputs of shape {net.input_shape}"
            )
        return plane
    if tuple(net.input_shape) != (2,):
        raise ValueError(
            f"box= needs a network with 2D inputs; this one takes {net.input_shape}: pass "
            "plane=hashnet.regions.plane_through(xa, xb, xc) to slice through three inputs"
        )
    return box_plane(box)
