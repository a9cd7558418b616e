"""`Regions`: the result of an exact enumeration, and what you can ask of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet.codes import Codes, code_groups
from hashnet.kernels import regions as KR
from hashnet.regions.pieces import Pieces
from hashnet.regions.walk import run

LOCATE_TOL = 1e-12  # a point this close to a region's edge (times its size) counts as in it


class Regions:
    """The linear regions of a network on a 2D domain (a `Plane`'s rectangle).

    What it stores: the regions' polygons (convex, counter-clockwise, tiling the domain), kept
    in the domain's own coordinates (`Frame`: (x, y) in [-1, 1]^2), and a snapshot of the
    network's weights. Everything else is computed from one interior point per region (the
    mean of its vertices) when it is first asked for, then kept: the codes, the affine maps to
    the logits, the predicted classes, the refinement after each layer. An enumeration of
    millions of regions therefore costs about 100 bytes per region until you ask for their
    codes (a LeNet code is 6508 bits).

    plane      the domain (`Plane`); polygons, centroids and logit maps use its coordinates
    polygons   list of (k, 2) float64 arrays in plane coordinates (made on first use; for
               millions of regions prefer `pieces`, three flat arrays)
    pieces     the same polygons as `Pieces` (verts, starts, counts)
    codes      `Codes` of the regions (row r: region r's activation code, all ReLU layers)
    logit_A, logit_c   the network on region r: logits = [s, t] @ logit_A[r] + logit_c[r]
    """

    def __init__(self, plane, frame, program, local, max_regions=None):
        self.plane = plane
        self.frame = frame
        self._program = program
        self._local = local  # Pieces in frame coordinates
        self._max_regions = max_regions
        self._cache = {}

    # --- what is stored, in plane coordinates -------------------------------------------------

    @property
    def n_regions(self) -> int:
        return len(self._local)

    def __len__(self):
        return self.n_regions

    def __repr__(self):
        return f"Regions({self.n_regions} regions, {sum(self._program.code_sizes)}-bit codes)"

    @property
    def n_layers(self) -> int:
        """The number of ReLU layers (the codes' layers; `at_layer` goes from 1 to this)."""
        return len(self._program.code_sizes)

    @property
    def pieces(self) -> Pieces:
        return self._cached("pieces", lambda: self._local.mapped(self.frame.to_plane))

    @property
    def polygons(self) -> list:
        return self._cached("polygons", lambda: self.pieces.polygons())

    def areas(self) -> np.ndarray:
        """Area of each region (plane units), computed in the domain's coordinates, so small or
        far-away regions keep their digits."""
        return self._local.areas() * self.frame.area

    def centroids(self) -> np.ndarray:
        """Mean of each region's vertices: a point strictly inside a convex polygon."""
        return self.frame.to_plane(self._interior())

    def _interior(self):
        return self._cached("interior", self._local.centroids)

    def _cached(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    # --- computed from one point per region -------------------------------------------------

    @property
    def codes(self) -> Codes:
        """The activation code of every region (evaluated in float64 at its interior point)."""

        def make():
            bits = self._program.codes_at(self.frame.inputs(self._interior()))
            return Codes.from_bits(bits, self._program.code_sizes or None)

        return self._cached("codes", make)

    def _local_logit_maps(self):
        """(n, 3, classes): logits = x * A[0] + y * A[1] + A[2] in the domain's coordinates."""
        if self._program.final_ops is None:
            return None
        return self._cached(
            "local maps",
            lambda: self._program.logit_maps_at(self._interior(), self.frame.maps()),
        )

    @property
    def logit_A(self):
        maps = self._local_logit_maps()
        if maps is None:
            return None
        half = np.asarray(self.frame.half)
        return maps[:, :2] / half[None, :, None]

    @property
    def logit_c(self):
        maps = self._local_logit_maps()
        if maps is None:
            return None
        (cs, ct), (hs, ht) = self.frame.center, self.frame.half
        return maps[:, 2] - (cs / hs) * maps[:, 0] - (ct / ht) * maps[:, 1]

    def predicted(self) -> np.ndarray:
        """The class the network predicts at each region's centroid (the decision boundary
        may cross a region; this is the class of its middle)."""
        if self._program.final_ops is None:
            raise ValueError("regions from at_layer() carry no logits; use the full Regions")

        def make():
            logits = self._program.logits_at(self.frame.inputs(self._interior()))
            return logits.argmax(axis=1)

        return self._cached("predicted", make)

    def distinct_codes(self) -> int:
        """Number of distinct codes among the regions (equal to n_regions when every
        activation pattern forms one connected region in the domain; with max pooling, two
        regions can share a code and differ in a pooling window's winner)."""
        return int(code_groups(self.codes).max()) + 1 if self.n_regions else 0

    def at_layer(self, n_layers) -> Regions:
        """The regions after the first `n_layers` ReLU layers (and the max pooling right after
        the last of them): how the layers refine the domain. Enumerated again, with the same
        weights, when asked for."""
        if isinstance(n_layers, bool) or not isinstance(n_layers, (int, np.integer)):
            raise TypeError(f"n_layers must be an integer, got {n_layers!r}")
        if not 1 <= n_layers <= self.n_layers:
            raise ValueError(f"n_layers must be in [1, {self.n_layers}], got {n_layers}")

        def make():
            program = self._program.truncated(int(n_layers))
            local = run(program, self.frame, self._max_regions or max(1, self.n_regions))
            return Regions(self.plane, self.frame, program, local, self._max_regions)

        return self._cached(("layer", int(n_layers)), make)

    # --- points -----------------------------------------------------------------------------

    def locate(self, points) -> np.ndarray:
        """Index of the region holding each point (plane coordinates (N, 2)); -1 outside.

        Found geometrically: a point is in a convex counter-clockwise polygon when it is on the
        left of (or on) every edge. Points on a shared edge go to the region of lowest index.
        """
        points = self.frame.to_local(_check_points(points))
        local = self._local
        return KR.locate_points(local.verts, local.starts, local.counts, points, LOCATE_TOL)

    def occupancy(self, points, y=None, border=False) -> Occupancy:
        """How the points fall into regions: counts, shared and mixed-label regions, the
        fraction of points alone in their region, and each point's distance to the boundary
        of its region.

        Distances are in input space (for `plane_through` and boxes, whose axes are orthonormal,
        plane distance is input distance; for a `plane` with other u, v they are converted with
        the plane's metric). The domain's border is not a region boundary unless border=True
        (a region that is the whole domain then has distance inf).
        """
        points = _check_points(points)
        where = self.locate(points)
        counts = np.bincount(where[where >= 0], minlength=self.n_regions)
        shared = np.flatnonzero(counts >= 2)
        mixed = None
        if y is not None:
            y = np.asarray(y)
            if y.shape != (len(points),):
                raise ValueError(f"y must have one label per point ({len(points)})")
            inside = where >= 0
            label = np.unique(y, return_inverse=True)[1].ravel()
            pairs = np.unique(np.stack([where[inside], label[inside]]), axis=1)
            labels_per_region = np.bincount(pairs[0], minlength=self.n_regions)
            mixed = np.flatnonzero(labels_per_region >= 2).astype(np.int64)
        distance = self._distances(points, where, bool(border))
        inside = where >= 0
        alone = inside & (counts[np.maximum(where, 0)] == 1)
        return Occupancy(
            where, counts, shared, mixed, float(alone.sum() / max(inside.sum(), 1)), distance
        )

    def _distances(self, points, where, border):
        """Each located point's distance (in input space) to the nearest edge of its region."""
        distance = np.full(len(points), np.nan)
        todo = np.flatnonzero(where >= 0)
        if todo.size == 0:
            return distance
        # Input space distance of frame displacements: |d @ R| with R R^T the Gram matrix of
        # the frame's axes (u, v as input vectors); map everything by R and measure plainly.
        u, v = self.frame.u, self.frame.v
        gram = np.array([[u @ u, u @ v], [u @ v, v @ v]])
        R = np.linalg.cholesky(gram)  # gram = R @ R.T
        local = self._local
        regions = where[todo]
        k = local.counts[regions]
        point_of_edge = np.repeat(np.arange(todo.size), k)
        position = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
        base, size = np.repeat(local.starts[regions], k), np.repeat(k, k)
        a = local.verts[base + position]
        b = local.verts[base + (position + 1) % size]
        p = self.frame.to_local(points[todo])[point_of_edge]
        on_border = np.zeros(len(a), bool)
        if not border:
            edge = 1.0 - 1e-9
            for axis in (0, 1):
                for side in (-1.0, 1.0):
                    on_border |= (side * a[:, axis] >= edge) & (side * b[:, axis] >= edge)
        A, B, P = a @ R, b @ R, p @ R
        ab = B - A
        t = np.clip(((P - A) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-300), 0, 1)
        gap = np.hypot(*(A + t[:, None] * ab - P).T)
        gap[on_border] = np.inf
        best = np.full(todo.size, np.inf)
        np.minimum.at(best, point_of_edge, gap)
        distance[todo] = best
        return distance

    def boundary_density(self, width=1200, height=None, chunk=2_000_000) -> np.ndarray:
        """(height, width) image of the domain: in each pixel, the length of region boundary
        it holds (plane units; the domain's own border left out), row 0 at the top.

        A picture for millions of regions, too many to draw as polygons: where regions are
        small the pixels hold much boundary. Each edge is sampled every half pixel and its
        length spread over the samples (an edge between two regions is counted for both).
        """
        s0, s1, t0, t1 = self.plane.extent
        width = int(width)
        if height is None:
            height = max(1, round(width * (t1 - t0) / (s1 - s0)))
        image = np.zeros(height * width)
        local = self._local
        pixel = np.array([2.0 / width, 2.0 / height])  # in the domain's coordinates
        n_edges = len(local.verts)
        following = np.arange(n_edges) + 1
        last = local.starts + local.counts - 1
        following[last] = local.starts  # the last vertex of a polygon wraps to its first
        for first in range(0, n_edges, chunk):
            rows = np.arange(first, min(first + chunk, n_edges))
            a, b = local.verts[rows], local.verts[following[rows]]
            border = np.zeros(len(rows), bool)
            for axis in (0, 1):
                for side in (-1.0, 1.0):
                    border |= (side * a[:, axis] >= 1 - 1e-9) & (side * b[:, axis] >= 1 - 1e-9)
            a, b = a[~border], b[~border]
            length = np.hypot(*((b - a) * np.asarray(self.frame.half)).T)
            samples = np.maximum(1, np.ceil(2 * np.abs((b - a) / pixel).max(axis=1))).astype(int)
            edge = np.repeat(np.arange(len(a)), samples)
            place = np.arange(samples.sum()) - np.repeat(np.cumsum(samples) - samples, samples)
            where = (place + 0.5) / samples[edge]
            points = a[edge] + where[:, None] * (b - a)[edge]
            col = np.clip(((points[:, 0] + 1) / 2 * width).astype(int), 0, width - 1)
            row = np.clip(((1 - points[:, 1]) / 2 * height).astype(int), 0, height - 1)
            image += np.bincount(
                row * width + col, weights=(length / samples)[edge], minlength=image.size
            )
        return image.reshape(height, width)

    # --- the decision boundary ----------------------------------------------------------------

    def decision_boundary(self, tol=1e-9) -> np.ndarray:
        """Segments (n, 2, 2), plane coordinates, where the predicted class changes.

        On region r the logits are affine, so the set where class k wins is the polygon cut by
        the half-planes l_k - l_j >= 0 (j != k): a convex *cell*. Edges of the cells that do
        not lie on the region's own boundary are the decision boundary inside the region. The
        class can also change exactly on a region's edge (the two classes tie along the edge
        and each wins on one side); those edges are found by matching, across regions, the
        edge pieces along which the region's class ties with another. Each segment is reported
        once; empty when the logits are unknown (`at_layer`).
        """
        maps = self._local_logit_maps()
        if maps is None:
            return np.zeros((0, 2, 2))
        segments, ties = [], []
        for r, polygon in enumerate(self._local.polygons()):
            inner, on_edges = _boundary_in_region(polygon, maps[r], tol)
            segments.extend(inner)
            ties.extend((r, k, p, q) for k, p, q in on_edges)
        segments.extend(_boundaries_on_edges(ties))
        out = np.array(segments, dtype=np.float64).reshape(-1, 2, 2)
        return self.frame.to_plane(out)


@dataclass
class Occupancy:
    """Where points fall (see `Regions.occupancy`)."""

    region: np.ndarray  # region index of each point (-1: outside the domain)
    counts: np.ndarray  # points per region
    shared: np.ndarray  # regions holding two or more points
    mixed: np.ndarray | None  # shared regions whose points have two or more labels
    alone_fraction: float  # fraction of the points inside that are alone in their region
    distance: np.ndarray  # each point's distance (input space) to its region's boundary


def _check_points(points):
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or not np.isfinite(points).all():
        raise ValueError(
            f"points must be finite plane coordinates of shape (N, 2), got {points.shape}"
        )
    return points


def _line(A, k, j):
    """l_k - l_j as (a, b, d): a x + b y + d."""
    return A[0, k] - A[0, j], A[1, k] - A[1, j], A[2, k] - A[2, j]


def _boundary_in_region(polygon, A, tol):
    """The decision boundary inside one convex polygon where logits = x A[0] + y A[1] + A[2]:
    (segments inside, [(class, p, q), ...] pieces of the polygon's edges along which the class
    that wins there ties with another)."""
    n_classes = A.shape[1]
    size = max(1e-300, float(np.ptp(polygon, axis=0).max()))
    area = abs(_signed_area(polygon))
    inner, ties = [], []
    for k in range(n_classes):
        # Tag each edge with where it came from: -1 for the region's own edges, j for the
        # line l_k = l_j, so every boundary edge is found once (in the cell of the smaller k).
        cell, tags = polygon, np.full(len(polygon), -1)
        for j in range(n_classes):
            if j == k or len(cell) < 3:
                continue
            a, b, d = _line(A, k, j)
            eps = tol * (abs(a) + abs(b) + abs(d))
            cell, tags = _clip_half_plane(cell, tags, (a, b, d), eps, j)
        if len(cell) < 3 or abs(_signed_area(cell)) <= 1e-9 * area:
            continue  # class k wins nowhere here (or only along a line)
        for i in range(len(cell)):
            p, q = cell[i], cell[(i + 1) % len(cell)]
            if np.hypot(*(q - p)) <= tol * size:
                continue
            if _on_polygon_edge(polygon, p, q, tol * size):
                # an edge piece of the region where k wins: does another class tie with it?
                for j in range(n_classes):
                    if j == k:
                        continue
                    a, b, d = _line(A, k, j)
                    eps = tol * (abs(a) + abs(b) + abs(d))
                    if abs(a * p[0] + b * p[1] + d) <= eps and abs(a * q[0] + b * q[1] + d) <= eps:
                        ties.append((k, p, q))
                        break
            elif tags[i] > k:
                inner.append((p, q))
    return inner, ties


def _boundaries_on_edges(ties, tol=1e-9):
    """Where two regions meet along an edge and their classes differ: the overlaps of tie
    pieces of different regions and classes that lie on one line. Ties are rare (a class
    change exactly along a unit's boundary), so all pairs are compared."""
    out = []
    for i in range(len(ties)):
        r1, k1, p1, q1 = ties[i]
        direction = q1 - p1
        length = float(np.hypot(*direction))
        unit = direction / length
        normal = np.array([-unit[1], unit[0]])
        for r2, k2, p2, q2 in ties[i + 1 :]:
            if r2 == r1 or k2 == k1:
                continue
            scale = tol * max(length, float(np.hypot(*(q2 - p2))))
            if abs((p2 - p1) @ normal) > scale or abs((q2 - p1) @ normal) > scale:
                continue
            lo = max(0.0, min((p2 - p1) @ unit, (q2 - p1) @ unit))
            hi = min(length, max((p2 - p1) @ unit, (q2 - p1) @ unit))
            if hi - lo > scale:
                out.append((p1 + lo * unit, p1 + hi * unit))
    return out


def _signed_area(polygon):
    if len(polygon) < 3:
        return 0.0
    v = polygon[1:] - polygon[0]
    return 0.5 * float(np.sum(v[:-1, 0] * v[1:, 1] - v[1:, 0] * v[:-1, 1]))


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
    return _drop_repeats(np.array(points), np.array(labels))


def _drop_repeats(polygon, tags):
    """Remove vertices equal to the next one (their zero-length edge goes with them)."""
    size = max(1e-300, float(np.ptp(polygon, axis=0).max()))
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
