"""`Regions`: the result of an exact enumeration, and what you can ask of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet.codes import code_groups


class Regions:
    """The activation regions of a network on a 2D domain.

    plane      the domain (`Plane`); polygons use its coordinates (s, t)
    polygons   list of (k, 2) float64 arrays, convex, counter-clockwise, tiling the domain
    codes      `Codes` of the regions (row r is region r's activation code, all layers)
    logit_A, logit_c   the network on region r: logits = [s, t] @ logit_A[r] + logit_c[r]
    """

    def __init__(self, plane, polygons, codes, logit_A, logit_c, layers):
        self.plane = plane
        self.polygons = polygons
        self.codes = codes
        self.logit_A = logit_A
        self.logit_c = logit_c
        self._layers = layers  # [(polygons, codes)] after each ReLU layer

    @property
    def n_regions(self) -> int:
        return len(self.polygons)

    def __len__(self):
        return self.n_regions

    def __repr__(self):
        return f"Regions({self.n_regions} regions, {self.codes.n_bits}-bit codes)"

    def areas(self) -> np.ndarray:
        """Area of each region (plane units)."""
        return np.array([_area(p) for p in self.polygons])

    def centroids(self) -> np.ndarray:
        """Mean of each region's vertices: a point strictly inside a convex polygon."""
        return np.array([p.mean(axis=0) for p in self.polygons])

    def predicted(self) -> np.ndarray:
        """The class the network predicts at each region's centroid (the decision boundary
        may cross a region; this is the class of its middle)."""
        centres = self.centroids()
        logits = np.einsum("ri,rik->rk", centres, self.logit_A) + self.logit_c
        return logits.argmax(axis=1)

    def at_layer(self, n_layers) -> Regions:
        """The regions after the first `n_layers` ReLU layers (the refinement so far)."""
        if not 1 <= n_layers <= len(self._layers):
            raise ValueError(f"n_layers must be in [1, {len(self._layers)}], got {n_layers}")
        polygons, codes = self._layers[n_layers - 1]
        return Regions(self.plane, polygons, codes, None, None, self._layers[:n_layers])

    def locate(self, points, net=None) -> np.ndarray:
        """Index of the region holding each point (plane coordinates (N, 2)); -1 outside.

        Found geometrically: a point is in a convex counter-clockwise polygon when it is on the
        left of (or on) every edge. Points on a shared edge go to the first region found.
        """
        points = _check_points(points)
        found = np.full(len(points), -1, np.int64)
        for r, polygon in enumerate(self.polygons):
            todo = np.flatnonzero(found < 0)
            if todo.size == 0:
                break
            inside = _inside(polygon, points[todo])
            found[todo[inside]] = r
        return found

    def occupancy(self, points, y=None) -> Occupancy:
        """How the points fall into regions: counts, shared and mixed-label regions, the
        fraction of points alone in their region, and each point's distance to the boundary
        of its region."""
        points = _check_points(points)
        where = self.locate(points)
        counts = np.bincount(where[where >= 0], minlength=self.n_regions)
        shared = np.flatnonzero(counts >= 2)
        mixed = None
        if y is not None:
            y = np.asarray(y)
            if y.shape != (len(points),):
                raise ValueError(f"y must have one label per point ({len(points)})")
            mixed = np.array([r for r in shared if np.unique(y[where == r]).size > 1], np.int64)
        distance = np.full(len(points), np.nan)
        for i in np.flatnonzero(where >= 0):
            distance[i] = _distance_to_boundary(self.polygons[where[i]], points[i])
        inside = where >= 0
        alone = inside & (counts[np.maximum(where, 0)] == 1)
        return Occupancy(
            where, counts, shared, mixed, float(alone.sum() / max(inside.sum(), 1)), distance
        )

    def distinct_codes(self) -> int:
        """Number of distinct codes among the regions (equal to n_regions when every
        activation pattern forms one connected region in the domain)."""
        return int(code_groups(self.codes).max()) + 1 if self.n_regions else 0


@dataclass
class Occupancy:
    """Where points fall (see `Regions.occupancy`)."""

    region: np.ndarray  # region index of each point (-1: outside the domain)
    counts: np.ndarray  # points per region
    shared: np.ndarray  # regions holding two or more points
    mixed: np.ndarray | None  # shared regions whose points have two or more labels
    alone_fraction: float  # fraction of the points inside that are alone in their region
    distance: np.ndarray  # each point's distance to the boundary of its region


def _check_points(points):
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise ValueError(
            f"points must be finite plane coordinates of shape (N, 2), got {points.shape}"
        )
    return points


def _area(polygon):
    s, t = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.dot(s, np.roll(t, -1)) - np.dot(np.roll(s, -1), t))


def _inside(polygon, points, tol=1e-12):
    edges = np.roll(polygon, -1, axis=0) - polygon
    rel = points[:, None, :] - polygon[None, :, :]
    cross = edges[None, :, 0] * rel[:, :, 1] - edges[None, :, 1] * rel[:, :, 0]
    scale = tol * max(1.0, np.abs(polygon).max())
    return (cross >= -scale * np.hypot(edges[:, 0], edges[:, 1])[None, :]).all(axis=1)


def _distance_to_boundary(polygon, point):
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    t = np.clip(((point - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-300), 0, 1)
    nearest = a + t[:, None] * ab
    return float(np.min(np.hypot(*(nearest - point).T)))


__all__ = ["Occupancy", "Regions"]
