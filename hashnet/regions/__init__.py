"""Exact linear regions: enumerate, measure and draw how a ReLU network carves a 2D domain.

R = hashnet.regions.enumerate(net, box=(-3, 3, -3, 3))            # 2D inputs
R = hashnet.regions.enumerate(net, plane=plane_through(xa, xb, xc))  # any inputs
R.n_regions, R.polygons, R.codes, R.locate(points), R.occupancy(points, y)
"""

from hashnet.regions.along import Crossings, count_along
from hashnet.regions.enumeration import enumerate_regions
from hashnet.regions.pieces import Pieces
from hashnet.regions.plane import Frame, Plane, box_plane, plane, plane_through
from hashnet.regions.regions import Occupancy, Regions
from hashnet.regions.steps import Program, affine_blocks, network_steps

enumerate = enumerate_regions  # the public name; inside the package we avoid the builtin's

__all__ = [
    "Crossings",
    "Frame",
    "Occupancy",
    "Pieces",
    "Plane",
    "Program",
    "Regions",
    "affine_blocks",
    "box_plane",
    "count_along",
    "enumerate",
    "enumerate_regions",
    "network_steps",
    "plane",
    "plane_through",
]
