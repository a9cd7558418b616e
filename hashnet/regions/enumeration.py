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

The cutting runs in the Numba kernel `hashnet.kernels.cpu.cut_regions` (one call per layer);
`hashnet.kernels.reference.cut_regions` is its plain NumPy twin.
"""

from __future__ import annotations

import numpy as np

from hashnet.codes import Codes
from hashnet.kernels import cpu as K
from hashnet.regions.plane import Plane, box_plane
from hashnet.regions.regions import Regions

TOL = 1e-10
AREA_TOL = 1e-20  # about TOL squared: only true slivers, never a small real region


def enumerate_regions(net, box=None, plane=None, max_regions=100_000, verbose=0) -> Regions:
    """Every activation region of an MLP inside a 2D domain, exactly.

    net : a trained (or untrained) MLP/Sequential of Dense, ReLU/LeakyReLU, BatchNorm and
        Dropout layers, evaluated in evaluation mode
    box : (x0, x1, y0, y1) for a network with 2D inputs, or
    plane : a Plane (`hashnet.regions.plane_through(xa, xb, xc)`, `hashnet.regions.plane(...)`)
        for any input dimension
    max_regions : stop with a clear error when the count goes past this
    verbose : 1 prints the number of regions after each layer
    Returns a `Regions` (polygons, codes, affine maps to the logits, layer-by-layer history).
    """
    domain = _domain(net, box, plane)
    blocks, (W_out, b_out) = affine_blocks(net)
    if not all(np.isfinite(a).all() for block in blocks for a in block[:2]):
        raise ValueError("the network has NaN or infinite weights: its regions are undefined")
    # The regions so far: polygons as one vertex array with a start and a count per polygon,
    # and on region r the current layer's input is h(s, t) = [s, t] @ M[r] + c[r].
    verts, starts, counts = domain.corners(), np.array([0]), np.array([4])
    M, c = np.stack([domain.u, domain.v])[None], domain.origin[None].copy()
    bits = np.zeros((1, 0), np.uint8)
    reach_s = max(abs(domain.extent[0]), abs(domain.extent[1]))
    reach_t = max(abs(domain.extent[2]), abs(domain.extent[3]))
    area_tol = AREA_TOL * domain.area
    history = []
    for depth, (W, b, alpha) in enumerate(blocks):
        # Region r's pre-activations: [s, t] @ A[r] + z0[r]. One matrix product for all
        # regions (stacking the rows of every M) instead of one small product per region.
        A = (M.reshape(-1, M.shape[2]) @ W).reshape(len(M), 2, W.shape[1])
        z0 = c @ W + b
        verts, starts, counts, owner, layer_bits = K.cut_regions(
            verts, starts, counts, A, z0, reach_s, reach_t, TOL, area_tol, max_regions
        )
        if len(starts) > max_regions:
            before = len(history[-1][1]) if history else 1
            raise ValueError(
                f"layer {depth + 1} cuts the domain into more than max_regions={max_regions} "
                f"regions (counting stopped there; before it there were {before}); pass a "
                "larger max_regions, a smaller box or plane extent, or a smaller network"
            )
        bits = np.hstack([bits[owner], layer_bits])
        history.append((verts, starts, counts, bits))
        if verbose:
            print(f"layer {depth + 1}: {len(starts)} regions", flush=True)
        if depth + 1 < len(blocks):  # the maps on the new regions, for the next layer
            M, c = _next_maps(A, z0, owner, layer_bits, alpha)
    if not history:  # no ReLU layer: one region, the whole domain
        history.append((verts, starts, counts, bits))

    def logits():
        # On the last layer's regions: logits = h @ W_out + b_out with h = [s, t] @ M + c.
        M_last, c_last = _next_maps(A, z0, owner, layer_bits, alpha) if blocks else (M, c)
        flat = M_last.reshape(-1, M_last.shape[2]) @ W_out
        return flat.reshape(len(M_last), 2, W_out.shape[1]), c_last @ W_out + b_out

    sizes = [W.shape[1] for W, _, _ in blocks]
    layers = [
        (_polygon_list(v, st, ct), Codes.from_bits(bt, sizes[: i + 1] or None))
        for i, (v, st, ct, bt) in enumerate(history)
    ]
    return Regions(domain, layers[-1][0], layers[-1][1], logits, layers)


def _next_maps(A, z0, owner, layer_bits, alpha):
    """The affine maps of the activations on each new region: units that are on pass their
    pre-activation, units that are off multiply it by alpha."""
    slope = np.where(layer_bits == 1, 1.0, alpha)
    return A[owner] * slope[:, None, :], z0[owner] * slope


def _polygon_list(verts, starts, counts):
    """A function that cuts the vertex array into the list of polygons (built when needed)."""
    return lambda: [verts[s : s + k] for s, k in zip(starts, counts)]


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
