"""The depth-first walk of the exact enumeration: cut, build maps, go down, emit.

`run(program, frame, max_regions)` returns the regions of a `Program` on the square [-1, 1]^2
of a `Frame` as `Pieces` (see `hashnet.regions.enumeration` for the algorithm and the
tolerance policy). How the work is organised, and why:

* *Depth first, in batches.* The pieces of one layer are not all kept: a batch of them is cut
  by the next layer, the pieces of that batch by the layer after, and so on to the last layer,
  whose pieces are the regions; then the next batch. The cutting kernel itself hands its
  pieces out a batch at a time (it can stop and go on), so even a first layer that cuts the
  domain into millions of pieces never holds them at once. At any time the memory holds the
  regions found so far (their polygons) and, per layer, one batch of pieces with their maps
  as chains (below), freed once their pieces are cut. So memory grows with the number of
  regions only through the output polygons, not through the maps (a LeNet map is 3 x 4704
  numbers, two hundred times a polygon). The output grows in anonymous memory maps that the
  operating system enlarges in place, never needing an old and a new copy at once.
* *Each piece's map from its neighbour's.* A piece and the one cut just before it (usually its
  neighbour) pass on the same values in all but a few columns, those of the units whose
  boundary runs between them. So the maps of a batch travel as a chain: a few pieces with
  their map in full (pushed through the next layer's ops here, as one matrix product), the
  others with only the columns that changed since the piece before. The cutting kernel adds
  the next layer's weights of those columns to the previous piece's pre-activations, cuts
  the piece, and writes its pieces' chain for the layer after, holding one map at a time,
  so it stays in the processor's cache (see `hashnet.kernels.regions`). Chains restart with
  a full product every few dozen pieces, so rounding never adds up.
* *Lines that change nothing downstream are cut last.* Where a ReLU is followed by max
  pooling, most units whose line crosses a small piece take their window's maximum nowhere
  on it: crossing the line flips the unit's own bit of the code but not what the later
  layers see. The kernel does not cut along such a line; it hands it on with the piece
  (three numbers), the later layers cut the one larger piece instead of the two on either
  side, and after the last layer `cut_by_lines` cuts the pieces along the lines they hold.
  The regions are the same; far fewer pieces reach the later layers (around a LeNet image,
  less than half as many).
* *Coordinates of the domain.* The cutting works in coordinates (x, y) in [-1, 1]^2 of the
  domain itself (`Frame`), so a domain of side 1e-9, or one far from the origin, is cut as
  exactly as the unit square; where float64 cannot resolve a domain the enumeration refuses
  with an error instead of a wrong answer.
* *What is stored.* `Regions` keeps the polygons and the network's weights (a snapshot); the
  codes, the logit maps and the predicted classes are computed from one interior point per
  region (the vertex mean) when first asked for, so millions of regions cost no more than
  their polygons until then.

"""

from __future__ import annotations

import mmap
import sys
import time

import numpy as np

from hashnet.kernels import regions as KR
from hashnet.regions.pieces import Pieces
from hashnet.regions.steps import push_maps

TOL = 1e-10
AREA_TOL = 1e-20  # about TOL squared: only true slivers, never a small real region
SQUARE = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
BATCH_BYTES = 24 * 2**20  # the maps of one batch of pieces, per layer
MAX_BATCH = 4096
CHAIN = 128  # pieces whose maps are built one from the other before a fresh start
DIFF_SHARE = 8  # a map that differs from the previous one in more than 1/8 of it starts a chain


def run(program, frame, max_regions, verbose=0) -> Pieces:
    """The regions of `program` on the frame's square, as Pieces in frame coordinates."""
    walk = _Walk(program, frame, max_regions, verbose)
    if not program.stages:
        return Pieces.one(SQUARE)
    first = program.stages[0]
    Z = push_maps(first.ops, frame.maps()[None])
    walk.descend(0, Pieces.one(SQUARE), (Z, np.ones(1, np.bool_), *_NO_CHANGES), _NO_LINES)
    walk.progress(final=True)
    return walk.output()


_NO_CHANGES = (np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)))
_NO_ROWS = (np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))
_NO_LINES = (np.zeros(2, np.int64), np.zeros((0, 3)))


class _Walk:
    """The depth-first walk over batches (see the module docstring), and the growing output."""

    def __init__(self, program, frame, max_regions, verbose):
        self.stages = program.stages
        self.max_regions = max_regions
        self.verbose = verbose
        rng = np.random.default_rng(0)  # fixed orders: the same pieces on every run
        # Only ReLU units cut (values a residual block carries beside them do not).
        self.orders = [
            (rng.permutation(s.n_relu).astype(np.int64), rng.permutation(len(s.windows)))
            for s in self.stages
        ]
        self.unit_windows = [s.unit_windows() for s in self.stages]
        # Each stage's linear map as sparse rows, to follow a chain of maps from piece to
        # piece; a stage without them (too many nonzeros) gets every piece's map in full.
        self.rows = [_NO_ROWS] + [s.rows() for s in self.stages[1:]]
        # pieces per batch: the next layer's maps of a batch take about BATCH_BYTES (when
        # every piece starts a chain, the most they can take)
        self.batch = [
            max(1, min(MAX_BATCH, BATCH_BYTES // (24 * s.n_units))) for s in self.stages
        ] + [MAX_BATCH * 8]
        self.verts = _Growing(np.float64, 2)
        self.counts = _Growing(np.int64, 0)
        self.n_out = 0
        self.area_done = 0.0
        self.start = self.last_report = time.perf_counter()

    def descend(self, level, pieces, chain, lines):
        """Cut `pieces` by stage `level` (their pre-activations there given as a chain, and
        the lines they hold: see `hashnet.kernels.regions`), and everything below them to the
        last stage."""
        stage = self.stages[level]
        units, windows = self.orders[level]
        ptr, holders = self.unit_windows[level]
        last = level == len(self.stages) - 1
        following = None if last else self.stages[level + 1]
        chained = not last and self.rows[level + 1] is not None
        max_diff = max(1, stage.n_columns // DIFF_SHARE) if chained else -1
        state = KR.new_cut_state(len(pieces), stage.n_units)
        while not KR.cut_done(state):
            verts, starts, counts, _, out_chain, held, state = KR.cut_pieces(
                pieces.verts,
                pieces.starts,
                pieces.counts,
                *lines,
                *chain,
                *(self.rows[level] or _NO_ROWS),
                stage.relu,
                stage.alpha,
                stage.windows,
                ptr,
                holders,
                units,
                windows,
                TOL,
                AREA_TOL * 4.0,  # the square's area is 4
                not last,
                not last,  # hold lines that change no later layer (none follows the last)
                max_diff,
                CHAIN,
                self.batch[level + 1],
                state,
            )
            if last and len(held[1]):  # the regions: the pieces cut along their held lines
                verts, starts, counts, _ = KR.cut_by_lines(
                    verts, starts, counts, *held, TOL, AREA_TOL * 4.0
                )
            if self.n_out + len(starts) > self.max_regions:
                raise ValueError(
                    f"the domain holds more than max_regions={self.max_regions} regions "
                    f"(counting stopped at layer {level + 1} of {len(self.stages)}, with "
                    f"{self.n_out} regions finished); pass a larger max_regions, a smaller box "
                    "or plane extent (Plane.zoom), or a smaller network"
                )
            children = Pieces(verts, starts, counts)
            if last:
                self.add(children)
            else:
                is_start, M_start, d_ptr, d_col, d_val = out_chain
                Z = push_maps(following.ops, M_start)  # the chains' starts in full
                self.descend(level + 1, children, (Z, is_start, d_ptr, d_col, d_val), held)
            self.progress()

    def add(self, pieces):
        """Append final pieces to the output."""
        self.verts.append(pieces.verts)
        self.counts.append(pieces.counts)
        self.n_out += len(pieces.starts)
        if self.verbose:
            self.area_done += float(pieces.areas().sum()) / 4.0

    def output(self) -> Pieces:
        counts = self.counts.array()
        starts = np.zeros(len(counts), np.int64)
        np.cumsum(counts[:-1], out=starts[1:])
        return Pieces(self.verts.array(), starts, counts)

    def progress(self, final=False):
        now = time.perf_counter()
        if not self.verbose or (not final and now - self.last_report < 2.0):
            return
        self.last_report = now
        spent = now - self.start
        done = min(max(self.area_done, 1e-12), 1.0)
        left = "" if final else f", {spent * (1 - done) / done:.0f} s left if the rest is as dense"
        print(
            f"{self.n_out} regions, {100 * done:.1f}% of the domain's area, {spent:.1f} s{left}",
            file=sys.stderr,
            flush=True,
        )


class _Growing:
    """An array that grows at its end without being copied: an anonymous memory map, which the
    operating system enlarges in place. (A NumPy array that doubles needs the old and the new
    copy at once, and the output of an enumeration can be most of the memory it uses.)"""

    def __init__(self, dtype, width):
        self.dtype = np.dtype(dtype)
        self.width = width  # 0: a vector
        self.row = self.dtype.itemsize * max(width, 1)
        self.n = 0
        self.capacity = 4096
        self.map = _anonymous_map(self.capacity * self.row)

    def append(self, rows):
        need = self.n + len(rows)
        if need > self.capacity:
            capacity = self.capacity
            while capacity < need:
                capacity *= 2
            try:
                self.map.resize(capacity * self.row)
            except (OSError, SystemError, ValueError):  # no in-place growth here: copy
                bigger = _anonymous_map(capacity * self.row)
                bigger[: self.n * self.row] = self.map[: self.n * self.row]
                self.map = bigger
            self.capacity = capacity
        view = self._view(self.n, need)
        view[...] = rows
        del view  # a live view would keep the map from growing
        self.n = need

    def _view(self, start, stop):
        count = (stop - start) * max(self.width, 1)
        flat = np.frombuffer(self.map, self.dtype, count, start * self.row)
        return flat.reshape(-1, self.width) if self.width else flat

    def array(self) -> np.ndarray:
        """The rows so far (a view of the map: the map cannot grow any more afterwards)."""
        return self._view(0, self.n)


def _anonymous_map(size):
    """Private anonymous memory of `size` bytes (private: a shared one could not grow)."""
    private = getattr(mmap, "MAP_PRIVATE", None)
    return mmap.mmap(-1, size) if private is None else mmap.mmap(-1, size, flags=private)
