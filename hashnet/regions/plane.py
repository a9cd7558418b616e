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
        try:
            point = np.asarray(center, dtype=np.float64)
        except (TypeError, ValueError):
            point = None
        if point is None or point.shape != (2,) or not np.isfinite(point).all():
            shape = "" if point is None else f" of shape {point.shape}"
            raise ValueError(
                f"center must be a point (s, t) of the plane: two finite numbers, got "
                f"{center!r}{shape}"
            )
        try:
            r = float(half_width)
        except (TypeError, ValueError):
            r = float("nan")
        if not (np.isfinite(r) and r > 0):
            raise ValueError(f"half_width must be a positive number, got {half_width!r}")
        s, t = point
        return replace(self, extent=_check_extent((s - r, s + r, t - r, t + r), "the zoom"))

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
    return Plane(origin, u, v, _check_extent(extent, "extent"))


def plane_through(xa, xb, xc, margin=0.2) -> Plane:
    """The plane through three inputs (for example three training images).

    Uses an orthonormal basis: xa sits at (0, 0), xb on the positive s axis, xc above it, so
    distances in the picture are true distances in input space. The extent covers the three
    points with `margin` (a number >= 0) times the larger side added around them.
    """
    points, precision = [], 0.0
    for name, x in (("xa", xa), ("xb", xb), ("xc", xc)):
        array = np.asarray(x)
        if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
            raise ValueError(f"{name} must be an array of real numbers, got dtype {array.dtype}")
        if np.issubdtype(array.dtype, np.floating):  # the precision the values were stored in
            precision = max(precision, float(np.finfo(array.dtype).eps))
        array = array.astype(np.float64).ravel()
        if not np.isfinite(array).all():
            raise ValueError(f"{name} holds NaN or inf: a plane needs three finite inputs")
        points.append(array)
    xa, xb, xc = points
    if not xa.shape == xb.shape == xc.shape:
        raise ValueError(
            f"the three points must have the same size, got {xa.size}, {xb.size}, {xc.size}"
        )
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        margin = float("nan")
    if not (np.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a number >= 0 (a fraction of the side), got {margin!r}")
    # Differences below the rounding of the inputs' own precision are not directions: three
    # float32 images on one line are collinear even if rounding bends them a little.
    noise = 16 * precision * max(np.linalg.norm(x) for x in points)
    u = xb - xa
    if np.linalg.norm(u) <= noise or not np.linalg.norm(u) > 0:
        raise ValueError("the first two points are equal: they do not span a plane")
    u = u / np.linalg.norm(u)
    w = xc - xa
    v = w - (w @ u) * u
    v -= (v @ u) * u  # a second pass: nearly collinear points lose precision in the first
    scale = max(np.linalg.norm(w), np.linalg.norm(xb - xa))
    if np.linalg.norm(v) <= max(1e-9 * scale, noise):
        kind = "" if precision == 0 or precision < 1e-15 else " (to the precision of the inputs)"
        raise ValueError(f"the three points are collinear{kind}: they do not span a plane")
    v = v / np.linalg.norm(v)
    anchors = np.array([[0.0, 0.0], [(xb - xa) @ u, 0.0], [w @ u, w @ v]])
    lo, hi = anchors.min(axis=0), anchors.max(axis=0)
    pad = margin * (hi - lo).max()
    extent = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad)
    return Plane(xa, u, v, _check_extent(extent, "the plane's extent"), anchors)


def box_plane(box) -> Plane:
    """The input plane of a network with 2D inputs, over box = (x0, x1, y0, y1)."""
    return Plane(np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]), _check_extent(box, "box"))


def _check_extent(extent, name):
    try:
        s0, s1, t0, t1 = (float(e) for e in extent)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be four numbers (s0, s1, t0, t1), got {extent!r}") from None
    if not all(np.isfinite([s0, s1, t0, t1])):
        raise ValueError(f"{name} must be finite, got {extent!r}")
    if not (s0 < s1 and t0 < t1):
        raise ValueError(f"{name} must have s0 < s1 and t0 < t1 (positive area), got {extent}")
    return (s0, s1, t0, t1)


# --- the domain's own coordinates -----------------------------------------------------------

MIN_STEPS = 2**20  # distinct float64 values a domain's half-width must hold, in every sense


@dataclass(frozen=True)
class Frame:
    """A domain's own coordinates: (x, y) in [-1, 1]^2 covers the rectangle, with
    s = center[0] + half[0] * x and t = center[1] + half[1] * y.

    The enumeration cuts in these coordinates, so that its tolerances mean the same on a box of
    side 1e-9 as on one of side 10, and far from the origin as near it (in plane coordinates,
    a small polygon at s = 1e8 would lose its digits to the large numbers). The inputs are
    origin + x * u + y * v with the origin at the domain's centre.
    """

    center: tuple
    half: tuple
    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray

    @classmethod
    def of(cls, plane) -> Frame:
        """The frame of a Plane's rectangle; a ValueError when float64 cannot resolve it (the
        domain is too small for the size of its plane coordinates or of its inputs)."""
        s0, s1, t0, t1 = plane.extent
        center = (0.5 * (s0 + s1), 0.5 * (t0 + t1))
        half = (0.5 * (s1 - s0), 0.5 * (t1 - t0))
        origin = plane.origin + center[0] * plane.u + center[1] * plane.v
        u, v = half[0] * plane.u, half[1] * plane.v
        for axis, (c, h) in enumerate(zip(center, half)):
            steps = h / np.spacing(abs(c) + h)
            if steps < MIN_STEPS:
                raise ValueError(
                    f"the domain is too small for float64 where it lies: its half-width "
                    f"{h:.3g} along {'st'[axis]} around {c:.6g} holds only {steps:.3g} distinct "
                    f"float64 values (at least {MIN_STEPS} are needed to cut it exactly); "
                    "zoom out, or use a plane whose coordinates are near 0 there"
                )
        size = np.abs(origin) + np.abs(u) + np.abs(v)
        for name, direction in (("s", u), ("t", v)):
            steps = float(np.max(np.abs(direction) / np.spacing(size)))
            if steps < MIN_STEPS:
                raise ValueError(
                    f"the domain is too small for float64 in input space: along {name} the "
                    f"inputs change by at most {steps:.3g} float64 steps across it (at least "
                    f"{MIN_STEPS} are needed); zoom out"
                )
        return cls(center, half, origin, u, v)

    def maps(self) -> np.ndarray:
        """(3, D): the inputs as x * maps[0] + y * maps[1] + maps[2]."""
        return np.stack([self.u, self.v, self.origin])

    @property
    def area(self) -> float:
        """Plane area of one unit of frame area."""
        return self.half[0] * self.half[1]

    def to_local(self, st) -> np.ndarray:
        st = np.asarray(st, dtype=np.float64)
        return (st - np.asarray(self.center)) / np.asarray(self.half)

    def to_plane(self, xy) -> np.ndarray:
        return np.asarray(self.center) + np.asarray(xy) * np.asarray(self.half)

    def inputs(self, xy) -> np.ndarray:
        """The inputs (N, D) at frame points xy (N, 2)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return self.origin + xy[:, :1] * self.u + xy[:, 1:] * self.v
