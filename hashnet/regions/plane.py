"""The 2D domain whose linear regions hashnet draws: a rectangle in a plane of input space.

For a network with 2D inputs the plane is the input space itself and the rectangle a box
(x0, x1, y0, y1). For images the plane goes through three training examples: every point of it
is an input, origin + s * u + t * v, and the regions are drawn in plane coordinates (s, t).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


@dataclass(frozen=True)
class Plane:
    """A rectangle {origin + s u + t v : s0 <= s <= s1, t0 <= t <= t1} in input space.

    origin, u, v : float64 arrays of the input's shape (flattened); u and v independent
    extent : (s0, s1, t0, t1) in plane coordinates
    anchors : optional (3, 2) plane coordinates of the examples the plane was built through
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    extent: tuple
    anchors: np.ndarray | None = None

    @property
    def area(self) -> float:
        s0, s1, t0, t1 = self.extent
        return (s1 - s0) * (t1 - t0)

    def corners(self) -> np.ndarray:
        """The rectangle's corners in plane coordinates, counter-clockwise."""
        s0, s1, t0, t1 = self.extent
        return np.array([[s0, t0], [s1, t0], [s1, t1], [s0, t1]], dtype=np.float64)

    def zoom(self, center, half_width) -> Plane:
        """The same plane over the square of side 2 * half_width around `center` (plane
        coordinates), keeping the anchors: `P.zoom(P.anchors[0], 0.05)` looks closely at the
        first image, where a big network has too many regions to enumerate them all."""
        s, t = np.asarray(center, dtype=np.float64).ravel()
        r = float(half_width)
        if not r > 0:
            raise ValueError(f"half_width must be positive, got {half_width!r}")
        return replace(self, extent=_check_extent((s - r, s + r, t - r, t + r)))

    def to_input(self, st) -> np.ndarray:
        """Inputs (N, d) at plane coordinates st (N, 2): origin + s u + t v."""
        st = np.asarray(st, dtype=np.float64).reshape(-1, 2)
        return self.origin + st[:, :1] * self.u + st[:, 1:] * self.v


def plane(origin, u, v, extent) -> Plane:
    """The plane origin + s u + t v over extent = (s0, s1, t0, t1)."""
    origin, u, v = (np.asarray(a, dtype=np.float64).ravel() for a in (origin, u, v))
    if not origin.shape == u.shape == v.shape:
        raise ValueError(f"origin, u, v must have one shape, got {origin.shape, u.shape, v.shape}")
    if not all(np.isfinite(a).all() for a in (origin, u, v)):
        raise ValueError("origin, u and v must be finite")
    gram = np.array([[u @ u, u @ v], [u @ v, v @ v]])
    if np.linalg.det(gram) <= 1e-12 * max(u @ u, v @ v, 1e-300) ** 2:
        raise ValueError("u and v are parallel (or zero): they do not span a plane")
    return Plane(origin, u, v, _check_extent(extent))


def plane_through(xa, xb, xc, margin=0.2) -> Plane:
    """The plane through three inputs (for example three training images).

    Uses an orthonormal basis: xa sits at (0, 0), xb on the positive s axis, xc above it, so
    distances in the picture are true distances in input space. The extent covers the three
    points with `margin` times the larger side added around them.
    """
    xa, xb, xc = (np.asarray(x, dtype=np.float64).ravel() for x in (xa, xb, xc))
    if not xa.shape == xb.shape == xc.shape:
        raise ValueError("the three points must have the same shape")
    u = xb - xa
    if np.linalg.norm(u) == 0:
        raise ValueError("the first two points are equal: they do not span a plane")
    u = u / np.linalg.norm(u)
    w = xc - xa
    v = w - (w @ u) * u
    v -= (v @ u) * u  # a second pass: nearly collinear points lose precision in the first
    if np.linalg.norm(v) <= 1e-9 * max(np.linalg.norm(w), np.linalg.norm(xb - xa)):
        raise ValueError("the three points are collinear: they do not span a plane")
    v = v / np.linalg.norm(v)
    anchors = np.array([[0.0, 0.0], [(xb - xa) @ u, 0.0], [w @ u, w @ v]])
    lo, hi = anchors.min(axis=0), anchors.max(axis=0)
    pad = margin * (hi - lo).max()
    extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    return Plane(xa, u, v, _check_extent(extent), anchors)


def box_plane(box) -> Plane:
    """The input plane of a network with 2D inputs, over box = (x0, x1, y0, y1)."""
    return Plane(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), _check_extent(box))


def _check_extent(extent):
    try:
        s0, s1, t0, t1 = (float(e) for e in extent)
    except (TypeError, ValueError):
        raise ValueError(
            f"extent/box must be four numbers (x0, x1, y0, y1), got {extent!r}"
        ) from None
    if not all(np.isfinite([s0, s1, t0, t1])):
        raise ValueError(f"extent/box must be finite, got {extent!r}")
    if not (s0 < s1 and t0 < t1):
        raise ValueError(f"extent/box must have x0 < x1 and y0 < y1 (positive area), got {extent}")
    return (s0, s1, t0, t1)
