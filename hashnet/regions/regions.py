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

    `polygons` and the logit maps are built on first use (`polygons`, `logits` may be given as
    functions returning them), so an enumeration only pays for what is looked at.
    """

    def __init__(self, plane, polygons, codes, logits, layers):
        self.plane = plane
        self.codes = codes
        self._polygons = polygons
        self._logits = logits  # (logit_A, logit_c), a function returning them, or None
        self._layers = layers  # [(polygons or a function returning them, codes)] per layer

    @property
    def polygons(self) -> list:
        if callable(self._polygons):
            self._polygons = self._polygons()
        return self._polygons

    @property
    def logit_A(self):
        return None if self._logit_maps() is None else self._logits[0]

    @property
    def logit_c(self):
        return None if self._logit_maps() is None else self._logits[1]

    def _logit_maps(self):
        if callable(self._logits):
            self._logits = self._logits()
        return self._logits

    @property
    def n_regions(self) -> int:
        return len(self.codes)

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
        if self.logit_A is None:
            raise ValueError("regions from at_layer() carry no logits; use the full Regions")
        centres = self.centroids()
        logits = np.einsum("ri,rik->rk", centres, self.logit_A) + self.logit_c
        return logits.argmax(axis=1)

    def at_layer(self, n_layers) -> Regions:
        """The regions after the first `n_layers` ReLU layers (the refinement so far)."""
        if not 1 <= n_layers <= len(self._layers):
            raise ValueError(f"n_layers must be in [1, {len(self._layers)}], got {n_layers}")
        polygons, codes = self._layers[n_layers - 1]
        return Regions(self.plane, polygons, codes, None, self._layers[:n_layers])

    def locate(self, points) -> np.ndarray:
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

    def decision_boundary(self, tol=1e-9) -> np.ndarray:
        """Segments (n, 2, 2) where the predicted class changes inside the regions.

        On region r the logits are affine, l(x) = x @ logit_A[r] + logit_c[r], so the set
        where class k wins is the polygon cut by the half-planes l_k(x) - l_j(x) >= 0 (j != k):
        a convex *cell*. Edges of the cells that do not lie on the region's own boundary are
        the decision boundary (for two classes: the line l_1 = l_0 clipped to the polygon).
        Each segment is reported once; empty when the logits are unknown (`at_layer`).
        """
        if self.logit_A is None or self.logit_c is None:
            return np.zeros((0, 2, 2))
        segments = []
        for polygon, A, c in zip(self.polygons, self.logit_A, self.logit_c):
            segments.extend(_boundary_in_region(polygon, A, c, tol))
        return np.array(segments, dtype=np.float64).reshape(-1, 2, 2)


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
    scale = tol * max(np.ptp(polygon, axis=0).max(), np.abs(polygon).max() * 1e-4)
    return (cross >= -scale * np.hypot(edges[:, 0], edges[:, 1])[None, :]).all(axis=1)


def _distance_to_boundary(polygon, point):
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    t = np.clip(((point - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-300), 0, 1)
    nearest = a + t[:, None] * ab
    return float(np.min(np.hypot(*(nearest - point).T)))


def _boundary_in_region(polygon, A, c, tol):
    """Decision-boundary segments inside one convex polygon where logits = x @ A + c."""
    polygon = np.asarray(polygon, dtype=np.float64)
    n_classes = A.shape[1]
    size = max(1.0, float(np.abs(polygon).max()))
    segments = []
    for k in range(n_classes):
        # Tag each edge with where it came from: -1 for the region's own edges, j for the
        # line l_k = l_j, so every boundary edge is found once (in the cell of the smaller k).
        cell, tags = polygon, np.full(len(polygon), -1)
        for j in range(n_classes):
            if j == k or len(cell) < 3:
                continue
            a, b, d = A[0, k] - A[0, j], A[1, k] - A[1, j], c[k] - c[j]
            eps = tol * (abs(a) * size + abs(b) * size + abs(d))
            cell, tags = _clip_half_plane(cell, tags, (a, b, d), eps, j)
        if len(cell) < 3:
            continue
        for i in range(len(cell)):
            p, q = cell[i], cell[(i + 1) % len(cell)]
            if tags[i] <= k or np.hypot(*(q - p)) <= tol * size:
                continue
            if not _on_polygon_edge(polygon, p, q, tol * size):
                segments.append((p, q))
    return segments


def _clip_half_plane(polygon, tags, line, eps, tag):
    """Sutherland-Hodgman: the part of a convex polygon where a s + b t + d >= -eps.

    tags[i] labels edge i (polygon[i] -> polygon[i + 1]); the new edge along the cut is `tag`.
    """
    a, b, d = line
    f = polygon[:, 0] * a + polygon[:, 1] * b + d
    inside = f >= -eps
    if inside.all():
        return polygon, tags
    points, labels = [], []
    n = len(polygon)
    for i in range(n):
        k = (i + 1) % n
        if inside[i]:
            points.append(polygon[i])
            labels.append(tags[i])
        if inside[i] != inside[k]:  # the edge crosses the line: keep the crossing point
            w = np.clip(f[i] / (f[i] - f[k]), 0.0, 1.0)
            points.append(polygon[i] + w * (polygon[k] - polygon[i]))
            # Leaving: the next edge runs along the cut. Entering: along the old edge i.
            labels.append(tag if inside[i] else tags[i])
    if len(points) < 3:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    return _drop_repeats(np.array(points), np.array(labels), eps)


def _drop_repeats(polygon, tags, eps):
    """Remove vertices equal to the next one (their zero-length edge goes with them)."""
    size = max(1.0, float(np.abs(polygon).max()))
    nxt = np.roll(polygon, -1, axis=0)
    keep = np.hypot(*(nxt - polygon).T) > 1e-12 * size  # a distance, whatever the logits
    if keep.sum() < 3:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    return polygon[keep], tags[keep]


def _on_polygon_edge(polygon, p, q, tol):
    """Whether segment pq lies along one of the polygon's edges (both ends on its line)."""
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    length = np.maximum(np.hypot(ab[:, 0], ab[:, 1]), 1e-300)

    def distance(x):
        return np.abs(ab[:, 0] * (x[1] - a[:, 1]) - ab[:, 1] * (x[0] - a[:, 0])) / length

    return bool(((distance(p) <= tol) & (distance(q) <= tol)).any())


__all__ = ["Occupancy", "Regions"]
