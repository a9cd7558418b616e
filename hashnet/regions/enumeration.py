"""Exact linear regions of a ReLU network on a 2D domain, in memory bounded by the depth.

Inside one activation region every ReLU is either on or off, so the network is an affine map
there. The regions are found layer by layer: start with the domain (one convex polygon); for
each ReLU layer, write every unit's pre-activation on each current polygon as an affine
function a x + b y + c of the domain's coordinates, and cut the polygon along the line where it
is zero. The pieces are convex polygons again; on each the layer's output is again affine (on
units pass through, off units are multiplied by the leaky slope). BatchNorm in evaluation
mode, Dense, convolutions and average pooling are affine and fold into that map; Dropout is the
identity outside training. Max pooling is piecewise linear too: a window's output follows
whichever input is largest, so the pieces are cut where the largest changes hands.

How the work is organised, and why, is in `hashnet.regions.walk`: depth first in batches
(memory grows with the regions' polygons only), each piece's affine map built from its
neighbour's, the lines that change no later layer's input (a unit that is not its pooling
window's maximum) cut after the last layer, in the domain's own coordinates (exact at any
zoom), the codes and logits of the regions computed when asked for.

Tolerance policy (one rule, used everywhere): in the domain's coordinates, a polygon vertex
counts as *on* a cutting line a x + b y + c = 0 when |f| <= TOL * (|a| + |b| + |c|), which
bounds |f| over the domain by TOL times its size. A cut that would leave a piece of area <=
AREA_TOL * (the domain's area) on one side (on the order of TOL squared: a numerical sliver,
never a small real region) keeps the polygon whole. A unit that no cut separates has one sign
on the piece, read at the piece's vertex mean. Everything is float64.

The cutting, and the maps of the pieces it cuts, run in one Numba kernel,
`hashnet.kernels.regions.cut_pieces`; its NumPy twin is in
`hashnet.kernels.regions_reference`. `hashnet.regions.layerwise` is the plain algorithm (all
pieces of a layer at once), which the tests compare this one with.
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_int
from hashnet.regions.plane import Frame, Plane, box_plane
from hashnet.regions.regions import Regions
from hashnet.regions.steps import Program, prepare_kernels
from hashnet.regions.walk import AREA_TOL, TOL, run

__all__ = ["AREA_TOL", "TOL", "enumerate_regions"]


def enumerate_regions(net, box=None, plane=None, max_regions=100_000, verbose=0) -> Regions:
    """Every linear region of a ReLU network inside a 2D domain, exactly.

    net : a trained (or untrained) MLP or CNN made of Dense, Conv2D, ReLU/LeakyReLU,
        BatchNorm, MaxPool2D, AvgPool2D, GlobalAvgPool2D, Flatten and Dropout layers,
        evaluated in evaluation mode
    box : (x0, x1, y0, y1) for a network with 2D inputs, or
    plane : a Plane (`hashnet.regions.plane_through(xa, xb, xc)`, `hashnet.regions.plane(...)`)
        for any input dimension (for a CNN: a plane through three images)
    max_regions : stop with a clear error when the count goes past this
    verbose : 1 prints a progress line (regions, share of the domain done, time left)
    Returns a `Regions` (polygons; codes, logits and layer-by-layer refinements on demand).

    With max pooling two neighbouring regions can share an activation code: they differ in
    which input wins some pooling window, and so in the network's affine map.
    """
    domain = _domain(net, box, plane)
    max_regions = check_int(max_regions, "max_regions", 1)
    verbose = check_int(verbose, "verbose", 0)
    _check_finite_weights(net)
    frame = Frame.of(domain)
    prepare_kernels(net)
    program = Program.from_network(net)
    pieces = run(program, frame, max_regions, verbose)
    return Regions(domain, frame, program, pieces, max_regions)


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
