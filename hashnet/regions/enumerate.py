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
cut that would leave a piece of area <= AREA_TOL * (domain area) on one side keeps the polygon
whole. A unit that is constant on a polygon (no vertex strictly on either side) gets the bit of
its value at the polygon's centroid. Everything is float64.

This is the plain NumPy version, written to be read; it handles networks of a few thousand
regions in seconds.
"""

from __future__ import annotations

import numpy as np

from hashnet.codes import Codes
from hashnet.regions.plane import Plane, box_plane
from hashnet.regions.regions import Regions

TOL = 1e-10
AREA_TOL = 1e-12


def enumerate_regions(net, box=None, plane=None, max_regions=100_000, verbose=0) -> Regions:
    """Every activation region of an MLP inside a 2D domain, exactly.

    net : a trained (or untrained) MLP/Sequential of Dense, ReLU/LeakyReLU, BatchNorm and
        Dropout layers, evaluated in evaluation mode
    box : (x0, x1, y0, y1) for a network with 2D inputs, or
    plane : a Plane (`hashnet.regions.plane_through(xa, xb, xc)`, `hashnet.regions.plane(...)`)
        for any input dimension
    max_regions : stop with a clear error when the count goes past this
    Returns a `Regions` (polygons, codes, affine maps to the logits, layer-by-layer history).
    """
    domain = _domain(net, box, plane)
    blocks, head = affine_blocks(net)
    n_in = domain.origin.size
    # A region: (polygon (k, 2), M (2, d), c (d,), code bits so far). Its current layer's input
    # is h(s, t) = [s, t] @ M + c.
    pieces = [(domain.corners(), np.stack([domain.u, domain.v]), domain.origin.copy(), [])]
    if blocks and blocks[0][0].shape[0] != n_in:
        raise ValueError(f"the plane is {n_in}D but the network takes {blocks[0][0].shape[0]}")
    history = []
    scale_s = max(abs(domain.extent[0]), abs(domain.extent[1]))
    scale_t = max(abs(domain.extent[2]), abs(domain.extent[3]))
    area_tol = AREA_TOL * domain.area
    for depth, (W, b, alpha) in enumerate(blocks):
        refined = []
        for polygon, M, c, bits in pieces:
            A, z0 = M @ W, c @ W + b  # pre-activations: [s, t] @ A + z0
            parts = [(polygon, np.zeros(W.shape[1], np.uint8))]
            for j in range(W.shape[1]):
                line = (A[0, j], A[1, j], z0[j])
                tol = TOL * (abs(line[0]) * scale_s + abs(line[1]) * scale_t + abs(line[2]))
                parts = [p for part in parts for p in _cut(part, j, line, tol, area_tol)]
            for part, layer_bits in parts:
                slope = np.where(layer_bits == 1, 1.0, alpha)
                refined.append((part, A * slope, z0 * slope, [*bits, layer_bits]))
            if len(refined) > max_regions:
                raise ValueError(
                    f"more than max_regions={max_regions} regions after layer {depth + 1} "
                    f"({len(refined)} and counting); pass a larger max_regions, a smaller box "
                    "or plane extent, or a smaller network"
                )
        pieces = refined
        history.append(pieces)
        if verbose:
            print(f"layer {depth + 1}: {len(pieces)} regions")
    return _collect(domain, history or [pieces], head, [W.shape[1] for W, _, _ in blocks])


def affine_blocks(net):
    """The network as ReLU blocks: [(W, b, alpha), ...] and the final affine map (W, b).

    Each block maps its input h to the pre-activations h @ W + b of one ReLU-like layer (all
    Dense and evaluation-mode BatchNorm layers since the previous activation, multiplied out),
    followed by the activation with negative slope alpha (0 for ReLU).
    """
    from hashnet.nn.layers import BatchNorm, Dense, Dropout, LeakyReLU

    size = int(np.prod(net.input_shape))
    W, b = np.eye(size), np.zeros(size)
    blocks = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            Wl, bl = (layer.params[k].astype(np.float64) for k in ("W", "b"))
            W, b = W @ Wl, b @ Wl + bl
        elif isinstance(layer, BatchNorm):
            scale = layer.params["gamma"] / np.sqrt(layer.state["running_var"] + layer.eps)
            shift = layer.params["beta"] - layer.state["running_mean"] * scale
            W, b = W * scale.astype(np.float64), b * scale + shift
        elif isinstance(layer, LeakyReLU):
            blocks.append((W, b, layer.alpha))
            W, b = np.eye(W.shape[1]), np.zeros(W.shape[1])
        elif not isinstance(layer, Dropout):
            raise ValueError(
                f"exact regions support Dense, ReLU/LeakyReLU, BatchNorm and Dropout layers, "
                f"not {type(layer).__name__}"
            )
    return blocks, (W, b)


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


def _cut(part, j, line, tol, area_tol):
    """Split (polygon, bits) by unit j's line a s + b t + c = 0; yield the non-empty sides."""
    polygon, bits = part
    a, b, c = line
    f = polygon[:, 0] * a + polygon[:, 1] * b + c
    side = np.where(f > tol, 1, np.where(f < -tol, -1, 0))
    if not (side > 0).any() or not (side < 0).any():
        # Not cut: the unit has one sign on the whole polygon.
        on = (side > 0).any() or (not (side < 0).any() and _centroid_value(polygon, line) > 0)
        yield polygon, _with_bit(bits, j, on)
        return
    positive, negative = [], []
    n = len(polygon)
    for i in range(n):
        k = (i + 1) % n
        if side[i] >= 0:
            positive.append(polygon[i])
        if side[i] <= 0:
            negative.append(polygon[i])
        if side[i] * side[k] < 0:  # the edge crosses the line strictly inside
            point = polygon[i] + (f[i] / (f[i] - f[k])) * (polygon[k] - polygon[i])
            positive.append(point)
            negative.append(point)
    positive, negative = np.array(positive), np.array(negative)
    if _area(positive) <= area_tol or _area(negative) <= area_tol:
        # A sliver: keep the polygon whole, on the side that holds (almost) all of it.
        on = _area(positive) > _area(negative)
        yield polygon, _with_bit(bits, j, on)
        return
    yield positive, _with_bit(bits, j, True)
    yield negative, bits


def _with_bit(bits, j, on):
    if not on:
        return bits
    bits = bits.copy()
    bits[j] = 1
    return bits


def _centroid_value(polygon, line):
    centre = polygon.mean(axis=0)
    return line[0] * centre[0] + line[1] * centre[1] + line[2]


def _area(polygon):
    """Signed area (shoelace formula); positive for counter-clockwise vertices."""
    if len(polygon) < 3:
        return 0.0
    s, t = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(s, np.roll(t, -1)) - np.dot(np.roll(s, -1), t))


def _collect(domain, history, head, layer_sizes) -> Regions:
    W_out, b_out = head
    layers = []
    for depth, pieces in enumerate(history):
        n_bits = sum(layer_sizes[: depth + 1])
        bits = np.array([np.concatenate([*p[3], np.zeros(0, np.uint8)]) for p in pieces])
        codes = Codes.from_bits(bits.reshape(len(pieces), n_bits), layer_sizes[: depth + 1])
        polygons = [p[0] for p in pieces]
        layers.append((polygons, codes, pieces))
    polygons, codes, pieces = layers[-1]
    logit_A = np.array([M @ W_out for _, M, _, _ in pieces])
    logit_c = np.array([c @ W_out + b_out for _, _, c, _ in pieces])
    return Regions(domain, polygons, codes, logit_A, logit_c, [(p, c) for p, c, _ in layers])
