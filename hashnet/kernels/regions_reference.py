"""Plain NumPy twins of the exact-region kernels in `regions.py`: what each computes, slowly.

Same names, same arguments, same outputs as the Numba kernels; the tests run both on random
inputs and compare. Read these first: recursion instead of explicit stacks, lists instead of
growing buffers. The conventions (coordinates, the Z layout, the tolerance rule) are in the
docstring of `regions.py`.
"""

from __future__ import annotations

import numpy as np

# --- small geometry ---------------------------------------------------------------------------


def _shoelace(polygon):
    """Signed area, around the first vertex (positive when counter-clockwise)."""
    if len(polygon) < 3:
        return 0.0
    v = polygon[1:] - polygon[0]
    return 0.5 * float(np.sum(v[:-1, 0] * v[1:, 1] - v[1:, 0] * v[:-1, 1]))


def _values(polygon, line):
    a, b, c = line
    return a * polygon[:, 0] + b * polygon[:, 1] + c


def _tolerance(line, tol_factor):
    a, b, c = line
    return tol_factor * (abs(a) + abs(b) + abs(c))


def _crosses(polygon, line, tol_factor):
    """A vertex strictly on each side of the line (beyond the tolerance)."""
    f, tol = _values(polygon, line), _tolerance(line, tol_factor)
    return bool((f > tol).any() and (f < -tol).any())


def _centroid(polygon):
    sx = sy = 0.0
    for x, y in polygon:  # summed in order, as the kernel does
        sx += x
        sy += y
    return sx / len(polygon), sy / len(polygon)


def _half(polygon, f, tol, positive):
    """One side of a polygon cut by a line with values f at its vertices: the vertices on that
    side, and the points where an edge crosses from one side to the other. Vertices on the
    line (|f| <= tol) follow `_on_line_keeps`."""
    rows, k = [], len(polygon)
    for q in range(k):
        p = (q + 1) % k
        if f[q] > tol:
            keep = positive
        elif f[q] < -tol:
            keep = not positive
        else:
            keep = _on_line_keeps(f, q, tol, positive)
        if keep:
            rows.append(polygon[q])
        if (f[q] > tol and f[p] < -tol) or (f[q] < -tol and f[p] > tol):
            w = f[q] / (f[q] - f[p])
            rows.append(polygon[q] + w * (polygon[p] - polygon[q]))
    return np.array(rows).reshape(-1, 2)


def _on_line_keeps(f, q, tol, positive):
    """Which half keeps vertex q that lies on the line: a run of such vertices between the two
    sides goes whole to the positive half and only its end next to the negative side to the
    negative one (the halves share one chord and never overlap); a run touching the line from
    one side stays on that side."""
    k = len(f)
    before = next(f[(q - d) % k] for d in range(1, k) if abs(f[(q - d) % k]) > tol)
    after = next(f[(q + d) % k] for d in range(1, k) if abs(f[(q + d) % k]) > tol)
    if positive:
        return before > 0 or after > 0
    if before < 0 and after < 0:
        return True
    if before > 0 and after < 0:
        return abs(f[(q + 1) % k]) > tol
    if after > 0 and before < 0:
        return abs(f[(q - 1) % k]) > tol
    return False


def convex_hull(points, tol_factor=1e-13):
    """Convex hull, counter-clockwise from the lowest-left point (Andrew's monotone chain),
    without the turns flatter than tol_factor * size^2."""
    pts = sorted(map(tuple, points))  # by x, then y
    pts = np.array(pts)
    size = max(pts[-1, 0] - pts[0, 0], 0.0, np.ptp(pts[:, 1]))
    tol = tol_factor * size * size

    def chain(sequence):
        out = []
        for p in sequence:
            while len(out) >= 2:
                (ax, ay), (bx, by) = out[-2], out[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > tol:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = chain(pts), chain(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


# --- max pooling on one piece -----------------------------------------------------------------


def _candidate_line(Z, u, slope):
    """Unit u's value after its activation, as (a, b, c) of a x + b y + c."""
    return slope[u] * Z[0, u], slope[u] * Z[1, u], slope[u] * Z[2, u]


def _difference(Z, i, j, slope):
    return tuple(x - y for x, y in zip(_candidate_line(Z, i, slope), _candidate_line(Z, j, slope)))


def _window_settled(polygon, Z, window, slope, tol_factor):
    """Whether one candidate of the window is the maximum at every vertex (then everywhere)."""
    values = np.array(
        [[slope[u] * (Z[0, u] * x + Z[1, u] * y + Z[2, u]) for u in window] for x, y in polygon]
    )
    best = int(np.argmax(values[0]))  # the first of equals
    for p, j in enumerate(window):
        if p == best:
            continue
        line = _difference(Z, window[best], j, slope)
        if (values[:, best] - values[:, p] < -_tolerance(line, tol_factor)).any():
            return False
    return True


def _tournament(polygon, Z, window, slope, tol_factor, area_tol):
    """[(cell, winner), ...]: where each candidate of the window is the maximum on the piece.

    The candidate ahead at the first vertex (i) knocks out every candidate it beats all over
    the piece; another one left (j) means a cut along candidate i = candidate j, and each side
    goes on without its loser. Leaves with the same winner are glued (the set where one
    candidate wins is convex: their union is the hull of their vertices).
    """
    leaves = []

    def visit(piece, alive):
        while True:
            if len(alive) == 1:
                leaves.append((piece, window[alive[0]]))
                return
            x0, y0 = piece[0]
            values = [
                slope[window[p]] * (Z[0, window[p]] * x0 + Z[1, window[p]] * y0 + Z[2, window[p]])
                for p in alive
            ]
            i_pos = alive[int(np.argmax(values))]
            i = window[i_pos]
            beaten_by = []
            for p in list(alive):
                if p == i_pos:
                    continue
                line = _difference(Z, i, window[p], slope)
                if (_values(piece, line) < -_tolerance(line, tol_factor)).any():
                    beaten_by.append(p)
                else:
                    alive.remove(p)  # i is at least as large all over the piece
            if not beaten_by:
                continue
            j_pos = beaten_by[0]
            line = _difference(Z, i, window[j_pos], slope)
            f, tol = _values(piece, line), _tolerance(line, tol_factor)
            if not (f > tol).any():  # j at least as large all over: i is out
                alive.remove(i_pos)
                continue
            plus, minus = _half(piece, f, tol, True), _half(piece, f, tol, False)
            a_plus, a_minus = _shoelace(plus), _shoelace(minus)
            if a_plus <= area_tol or a_minus <= area_tol:  # a sliver
                alive.remove(j_pos if a_plus > a_minus else i_pos)
                continue
            visit(minus, [p for p in alive if p != i_pos])
            visit(plus, [p for p in alive if p != j_pos])
            return

    visit(polygon, list(range(len(window))))
    cells, seen = [], []
    for _, winner in leaves:
        if winner in seen:
            continue
        seen.append(winner)
        members = [p for p, w in leaves if w == winner]
        cells.append((members[0] if len(members) == 1 else convex_hull(np.vstack(members)), winner))
    return cells


# --- the cutting kernel -----------------------------------------------------------------------


def new_cut_state(n_regions, n_units):
    """A fresh state: the kernel's tuple, of which this twin uses the cursor (its second entry
    counts the pieces returned so far), plus a slot where it keeps all the pieces, computed
    on the first call."""
    return (
        np.array([0, 0, n_regions, 0], np.int64),
        np.empty((64, 8), np.int64),
        np.empty((1024, 2)),
        np.empty(1024, np.int64),
        np.ones(max(n_units, 1)),
        np.zeros((1, 3, max(n_units, 1))),
        None,
    )


def cut_done(state) -> bool:
    return state[0][0] >= state[0][2]


def cut_pieces(
    verts,
    starts,
    counts,
    lines_ptr,
    lines,
    Zs,
    is_start,
    d_ptr,
    d_col,
    d_val,
    L_ptr,
    L_index,
    L_value,
    relu,
    alpha,
    windows,
    unit_windows_ptr,
    unit_windows,
    unit_order,
    window_order,
    tol_factor,
    area_tol,
    maps,
    defer,
    max_diff,
    chain_max,
    budget,
    state,
):
    """Every region's Z from the chain (`_chained`), all pieces recursively (`_all_pieces`),
    handed out `budget` at a time with their maps' chain (`_map_chain`) and the lines they
    hold."""
    cursor, everything = state[0], state[6]
    if everything is None:
        Z = _chained(Zs, is_start, d_ptr, d_col, d_val, L_ptr, L_index, L_value)
        pieces = _all_pieces(
            verts,
            starts,
            counts,
            lines_ptr,
            lines,
            Z,
            relu,
            alpha,
            windows,
            unit_windows_ptr,
            unit_windows,
            unit_order,
            window_order,
            tol_factor,
            area_tol,
            defer and relu and len(windows) > 0 and alpha >= 0,
        )
        everything = (*pieces, Z)
    v, st, k, owner, held, Z = everything
    done = cursor[1]
    rows = np.arange(done, min(done + budget, len(st)))
    cursor[1] = done + len(rows)
    cursor[0] = len(starts) if cursor[1] >= len(st) else owner[rows[-1]]
    counts_out = k[rows]
    starts_out = np.concatenate([[0], np.cumsum(counts_out)[:-1]]).astype(np.int64)
    pieces = [v[st[i] : st[i] + k[i]] for i in rows]
    chain = _map_chain(Z, owner[rows], pieces, relu, alpha, windows, maps, max_diff, chain_max)
    held_out = [held[i] for i in rows]
    held_ptr = np.concatenate([[0], np.cumsum([len(h) for h in held_out])]).astype(np.int64)
    return (
        np.concatenate(pieces) if pieces else np.empty((0, 2)),
        starts_out,
        counts_out,
        owner[rows],
        chain,
        (held_ptr, np.array([line for h in held_out for line in h]).reshape(-1, 3)),
        (*state[:6], everything),
    )


def _chained(Zs, is_start, d_ptr, d_col, d_val, L_ptr, L_index, L_value):
    """Every region's Z (3, units) from the chain: a start's own, or the previous region's
    plus the outer products of the changes with L's rows."""
    Z = np.empty((len(is_start), 3, Zs.shape[2]))
    used = 0
    for r in range(len(is_start)):
        if is_start[r]:
            Z[r] = Zs[used]
            used += 1
            continue
        Z[r] = Z[r - 1]
        for t in range(d_ptr[r], d_ptr[r + 1]):
            row = slice(L_ptr[d_col[t]], L_ptr[d_col[t] + 1])
            Z[r][:, L_index[row]] += d_val[t][:, None] * L_value[row][None, :]
    return Z


def _map_chain(Z, owner, pieces, relu, alpha, windows, maps, max_diff, chain_max):
    """Each piece's full map at its vertex mean; a chain start where the rule says so, the
    changed columns (ascending) otherwise."""
    n_columns = len(windows) if len(windows) else Z.shape[2]
    is_start = np.zeros(len(pieces) if maps else 0, bool)
    starts, d_ptr, d_col, d_val = [], [0], [], []
    previous, run = None, 0
    for c in range(len(is_start)):
        M = _full_map(Z[owner[c]], pieces[c].mean(axis=0), relu, alpha, windows)
        changed = [] if previous is None else np.flatnonzero((M != previous).any(axis=0))
        is_start[c] = c == 0 or run + 1 >= chain_max or len(changed) > max_diff
        if is_start[c]:
            starts.append(M)
            run = 0
        else:
            d_col.extend(changed)
            d_val.extend((M - previous)[:, changed].T)
            run += 1
        d_ptr.append(len(d_col))
        previous = M
    return (
        is_start,
        np.array(starts).reshape(-1, 3, n_columns),
        np.array(d_ptr if maps else [0], np.int64),
        np.array(d_col, np.int64),
        np.array(d_val).reshape(-1, 3),
    )


def _all_pieces(
    verts,
    starts,
    counts,
    lines_ptr,
    lines,
    Z,
    relu,
    alpha,
    windows,
    unit_windows_ptr,
    unit_windows,
    unit_order,
    window_order,
    tol_factor,
    area_tol,
    defer,
):
    """Every region's pieces in turn; returns (verts, starts, counts, owner, held): held[i],
    the lines piece i holds."""
    out, owner, held = [], [], []
    for r in range(len(starts)):
        region = verts[starts[r] : starts[r] + counts[r]]
        region_lines = lines[lines_ptr[r] : lines_ptr[r + 1]]
        cut = _RegionCut(Z[r], relu, alpha, windows, tol_factor, area_tol, defer, region_lines)
        pieces = cut.run(region, unit_windows_ptr, unit_windows, unit_order, window_order)
        out.extend(piece for piece, _ in pieces)
        held.extend(lines_held for _, lines_held in pieces)
        owner.extend([r] * len(pieces))
    return (*_flat(out, owner), held)


class _RegionCut:
    """The pieces of one region (pre-activations Zr), recursively: by units, then windows;
    with `defer`, a unit whose side does not change the layer's output on a piece is held
    (its line handed on with the piece) instead of cutting it. `lines`: those the region
    holds already."""

    def __init__(self, Zr, relu, alpha, windows, tol_factor, area_tol, defer, lines):
        self.Zr, self.relu, self.alpha, self.windows = Zr, relu, alpha, windows
        self.tol_factor, self.area_tol = tol_factor, area_tol
        self.defer, self.lines = defer, lines
        self.m = Zr.shape[1]
        self.pieces = []

    def run(self, region, unit_windows_ptr, unit_windows, unit_order, window_order):
        self.holders = (unit_windows_ptr, unit_windows)
        Zr, windows, tol_factor = self.Zr, self.windows, self.tol_factor
        units = [u for u in unit_order if _crosses(region, Zr[:, u], tol_factor)]
        units = units if self.relu else []
        window_list = []
        if len(windows):
            # windows that may change hands: a crossing candidate, or no single winner
            slope = self.slopes_at(_centroid(region))
            mark = np.zeros(len(windows), bool)
            for u in units:
                mark[unit_windows[unit_windows_ptr[u] : unit_windows_ptr[u + 1]]] = True
            for w in range(len(windows)):
                if not mark[w] and not _window_settled(region, Zr, windows[w], slope, tol_factor):
                    mark[w] = True
            window_list = [w for w in window_order if mark[w]]
        if self.relu:
            self.cut_by_units(region, units, window_list, [])
        else:
            self.cut_by_windows(region, window_list, np.ones(self.m), [])
        return self.pieces

    def slopes_at(self, point):
        x, y = point
        on = self.Zr[0] * x + self.Zr[1] * y + self.Zr[2] > 0
        return np.where(on, 1.0, self.alpha) if self.relu else np.ones(self.m)

    def emit(self, piece, held):
        """A final piece, with the lines it holds: the region's that cross it, then the held
        units'."""
        lines = [line for line in self.lines if _crosses(piece, line, self.tol_factor)]
        self.pieces.append((piece, lines + [self.Zr[:, u] for u in held]))

    def crossing(self, piece, held):
        return [u for u in held if _crosses(piece, self.Zr[:, u], self.tol_factor)]

    def never_wins(self, piece, u):
        """In every window holding u, the piece clipped to u >= 0 and u >= each other
        candidate (in that order) is empty or a sliver (the kernel's `_never_wins`)."""
        ptr, holders = self.holders
        Zr = self.Zr
        for w in holders[ptr[u] : ptr[u + 1]]:
            part = piece
            for line in [Zr[:, u]] + [Zr[:, u] - Zr[:, v] for v in self.windows[w] if v != u]:
                f, tol = _values(part, line), _tolerance(line, self.tol_factor)
                above, below = (f > tol).any(), (f < -tol).any()
                if below and not above:
                    part = None  # u is ahead nowhere
                    break
                if above and below:  # (all of it on the line: a tie all over, kept)
                    part = _half(part, f, tol, True)
            if part is not None and _shoelace(part) > self.area_tol:
                return False
        return True

    def cut_by_windows(self, piece, todo, slope, held):
        Zr, windows, tol_factor = self.Zr, self.windows, self.tol_factor
        if not todo:
            self.emit(piece, held)
            return
        cells = _tournament(piece, Zr, windows[todo[0]], slope, tol_factor, self.area_tol)
        if len(cells) == 1:
            self.cut_by_windows(piece, todo[1:], slope, held)
            return
        rests = [
            [w for w in todo[1:] if not _window_settled(cell, Zr, windows[w], slope, tol_factor)]
            for cell, _ in cells
        ]
        for (cell, _), rest in zip(cells, rests):
            self.cut_by_windows(cell, rest, slope, self.crossing(cell, held))

    def may_change(self, piece, w, crossing):
        """A candidate still crosses the piece, or no single winner with the slopes there."""
        if set(self.windows[w]) & set(crossing):
            return True
        slope = self.slopes_at(_centroid(piece))
        return not _window_settled(piece, self.Zr, self.windows[w], slope, self.tol_factor)

    def cut_by_units(self, piece, todo, window_todo, held):
        Zr, tol_factor, area_tol = self.Zr, self.tol_factor, self.area_tol
        if not todo:
            # no unit crosses the piece: fixed slopes here; on with its windows
            self.cut_by_windows(piece, window_todo, self.slopes_at(_centroid(piece)), held)
            return
        line = Zr[:, todo[0]]
        f, tol = _values(piece, line), _tolerance(line, tol_factor)
        if (f > tol).any() and (f < -tol).any():
            if self.defer and self.never_wins(piece, todo[0]):  # held, not cut
                self.cut_by_units(piece, todo[1:], window_todo, held + [todo[0]])
                return
            plus, minus = _half(piece, f, tol, True), _half(piece, f, tol, False)
            if _shoelace(plus) > area_tol and _shoelace(minus) > area_tol:
                parts = []
                for half in (minus, plus):
                    rest = [u for u in todo[1:] if _crosses(half, Zr[:, u], tol_factor)]
                    rest_windows = [w for w in window_todo if self.may_change(half, w, rest)]
                    parts.append((half, rest, rest_windows, self.crossing(half, held)))
                for half, rest, rest_windows, rest_held in parts:
                    self.cut_by_units(half, rest, rest_windows, rest_held)
                return
        self.cut_by_units(piece, todo[1:], window_todo, held)  # not cut (a sliver)


def cut_by_lines(verts, starts, counts, lines_ptr, lines, tol_factor, area_tol):
    """Every piece cut along the lines it holds, recursively: the first line that crosses
    it (and leaves no sliver) cuts it, each half goes on with the rest that cross it."""
    out, owner = [], []

    def visit(piece, todo, r):
        for n, t in enumerate(todo):
            f, tol = _values(piece, lines[t]), _tolerance(lines[t], tol_factor)
            if not ((f > tol).any() and (f < -tol).any()):
                continue
            plus, minus = _half(piece, f, tol, True), _half(piece, f, tol, False)
            if _shoelace(plus) > area_tol and _shoelace(minus) > area_tol:
                for half in (minus, plus):
                    rest = [s for s in todo[n + 1 :] if _crosses(half, lines[s], tol_factor)]
                    visit(half, rest, r)
                return
        out.append(piece)
        owner.append(r)

    for r in range(len(starts)):
        visit(
            verts[starts[r] : starts[r] + counts[r]], list(range(lines_ptr[r], lines_ptr[r + 1])), r
        )
    return _flat(out, owner)


def _flat(polygons, owner):
    """(verts, starts, counts, owner) of a list of polygons and the piece each came from."""
    counts = np.array([len(p) for p in polygons], np.int64)
    return (
        np.concatenate(polygons) if polygons else np.empty((0, 2)),
        np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        counts,
        np.array(owner, np.int64),
    )


# --- the affine maps of the pieces ------------------------------------------------------------


def _full_map(Zp_p, point, relu, alpha, windows):
    """The layer output map (3, columns) at a point: which unit each column takes (the first
    of equals in a window), times its slope."""
    x, y = point
    value = Zp_p[0] * x + Zp_p[1] * y + Zp_p[2]
    on = value > 0 if relu else np.ones(value.shape, bool)
    passed = np.where(on, value, alpha * value)
    units = (
        windows[np.arange(len(windows)), passed[windows].argmax(axis=1)]
        if len(windows)
        else np.arange(len(value))
    )
    return np.where(on[units], 1.0, alpha) * Zp_p[:, units]


# --- which piece holds a point ----------------------------------------------------------------


def locate_points(verts, starts, counts, points, tol):
    """For each point, the lowest index of the pieces holding it (on the left of every edge,
    or within tol * (the piece's size) of it), -1 for none: every piece is tried."""
    found = np.full(len(points), -1, np.int64)
    for i in range(len(starts) - 1, -1, -1):  # backwards: the lowest index is written last
        polygon = verts[starts[i] : starts[i] + counts[i]]
        size = np.abs(polygon[1:] - polygon[0]).max()
        edges = np.roll(polygon, -1, axis=0) - polygon
        rel = points[:, None, :] - polygon[None, :, :]
        cross = edges[None, :, 0] * rel[:, :, 1] - edges[None, :, 1] * rel[:, :, 0]
        limit = -tol * size * np.hypot(edges[:, 0], edges[:, 1])
        found[(cross >= limit[None, :]).all(axis=1)] = i
    return found
