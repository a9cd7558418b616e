"""`Pieces`: a set of convex polygons stored as three parallel arrays.

The enumeration makes millions of small polygons; a Python list of arrays would spend more
memory on the list than on the numbers, and every operation on it would be a Python loop. So
the polygons travel as one vertex array and, per polygon, where its vertices start and how many
there are:

    polygon i = verts[starts[i] : starts[i] + counts[i]]      (counter-clockwise, convex)

Every computation on all polygons at once (areas, centroids, bounding boxes) is then a few
NumPy calls on the flat arrays.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Pieces(NamedTuple):
    """Convex polygons: `verts` (V, 2) float64, `starts` and `counts` (n,) int64."""

    verts: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def one(cls, polygon) -> Pieces:
        """A single polygon ((k, 2) vertices)."""
        polygon = np.asarray(polygon, dtype=np.float64)
        return cls(polygon, np.zeros(1, np.int64), np.array([len(polygon)], np.int64))

    @classmethod
    def empty(cls) -> Pieces:
        return cls(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self):  # the number of polygons (a NamedTuple would say 3)
        return len(self.starts)

    def polygon(self, i) -> np.ndarray:
        return self.verts[self.starts[i] : self.starts[i] + self.counts[i]]

    def polygons(self) -> list:
        """The polygons as a list of (k, 2) arrays (views into `verts`)."""
        return [self.verts[s : s + k] for s, k in zip(self.starts, self.counts)]

    def owners(self) -> np.ndarray:
        """For every vertex, the index of its polygon."""
        return np.repeat(np.arange(len(self.starts)), self.counts)

    def _vertex_index(self):
        """The rows of `verts` polygon by polygon (the polygons may lie in any order)."""
        offsets = np.repeat(self.starts - np.cumsum(self.counts) + self.counts, self.counts)
        return offsets + np.arange(int(self.counts.sum()))

    def centroids(self) -> np.ndarray:
        """The mean of each polygon's vertices: a point strictly inside a convex polygon."""
        index, owner = self._vertex_index(), self.owners()
        n = len(self.starts)
        sums = [np.bincount(owner, weights=self.verts[index, k], minlength=n) for k in (0, 1)]
        return np.stack(sums, axis=1) / self.counts[:, None]

    def areas(self) -> np.ndarray:
        """Each polygon's area by the shoelace formula, computed around the polygon's own
        first vertex: subtracting it first keeps the products small, so a tiny polygon far
        from the origin keeps its digits."""
        index, owner = self._vertex_index(), self.owners()
        v = self.verts[index] - self.verts[self.starts][owner]
        following = np.arange(len(index)) + 1
        last = np.cumsum(self.counts) - 1
        following[last] = last - self.counts + 1  # the last vertex wraps to the first
        w = v[following]
        cross = v[:, 0] * w[:, 1] - w[:, 0] * v[:, 1]
        return 0.5 * np.bincount(owner, weights=cross, minlength=len(self.starts))

    def bounds(self) -> np.ndarray:
        """(n, 4) bounding boxes: min s, max s, min t, max t of each polygon."""
        if len(self.starts) == 0:
            return np.zeros((0, 4))
        index = self._vertex_index()
        first = np.concatenate([[0], np.cumsum(self.counts)[:-1]])
        v = self.verts[index]
        return np.stack(
            [
                np.minimum.reduceat(v[:, 0], first),
                np.maximum.reduceat(v[:, 0], first),
                np.minimum.reduceat(v[:, 1], first),
                np.maximum.reduceat(v[:, 1], first),
            ],
            axis=1,
        )

    def take(self, rows) -> Pieces:
        """The polygons `rows` (indices), packed into fresh arrays."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.counts[rows]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        index = np.repeat(self.starts[rows] - starts, counts) + np.arange(int(counts.sum()))
        return Pieces(self.verts[index], starts, counts)

    def mapped(self, function) -> Pieces:
        """The same polygons with `function` applied to the vertex array."""
        return Pieces(function(self.verts), self.starts, self.counts)

    @staticmethod
    def concatenate(parts) -> Pieces:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Pieces.empty()
        shift = np.cumsum([0] + [len(p.verts) for p in parts[:-1]])
        return Pieces(
            np.concatenate([p.verts for p in parts]),
            np.concatenate([p.starts + s for p, s in zip(parts, shift)]),
            np.concatenate([p.counts for p in parts]),
        )
