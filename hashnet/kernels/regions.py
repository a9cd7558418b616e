"""Numba kernels of the exact linear regions (`hashnet.regions`).

Three jobs: cut convex pieces of the domain along the boundaries one layer adds, and give every
piece that comes out its map for the next layer (`cut_pieces`, one kernel, so that each
region's pre-activations are built, used and dropped while they are in the cache); cut the
pieces along the lines that were held for later (`cut_by_lines`: lines that change no later
layer's input); and find the piece that holds a point (`locate_points`). Their plain NumPy
twins, with the same names and arguments, are in `regions_reference.py`; the tests compare
the two.

Conventions. A piece lives in the domain's own coordinates (x, y) in [-1, 1]^2 (the
enumeration centres and scales the domain, so the tolerances below mean the same at every zoom).
Pieces are convex, counter-clockwise, stored flat: piece i is verts[starts[i]:starts[i]+counts[i]].
On region r a layer's pre-activation of unit u is the affine function

    f(x, y) = Z[r, 0, u] * x + Z[r, 1, u] * y + Z[r, 2, u].

Tolerance policy (one rule): a vertex lies *on* the line f = 0 when |f| <= tol * (|a| + |b| +
|c|), which bounds |f| over the domain by tol; a cut that would leave a piece of area <=
area_tol on one side (a numerical sliver, never a small real region) is not made.
"""

from __future__ import annotations

import numpy as np

from hashnet.kernels._jit import kernel

RELU_ENTRY = 0  # a piece still to cut by the units in its list
POOL_ENTRY = 1  # a piece still to cut by the pooling windows in its list


# --- small geometry ---------------------------------------------------------------------------


@kernel
def _grown(array, size):
    """`array`, or a copy with room for at least `size` rows (capacity doubles)."""
    if size <= array.shape[0]:
        return array
    bigger = np.empty((max(size, 2 * array.shape[0]),) + array.shape[1:], array.dtype)
    bigger[: array.shape[0]] = array
    return bigger


@kernel
def _shoelace(verts, start, k):
    """Signed area of verts[start : start + k] (positive when counter-clockwise), around the
    first vertex, so that small pieces keep their digits."""
    x0, y0 = verts[start, 0], verts[start, 1]
    total = 0.0
    for q in range(1, k - 1):
        ax, ay = verts[start + q, 0] - x0, verts[start + q, 1] - y0
        bx, by = verts[start + q + 1, 0] - x0, verts[start + q + 1, 1] - y0
        total += ax * by - bx * ay
    return 0.5 * total


@kernel
def _sides(f, k, tol):
    n_pos = n_neg = 0
    for q in range(k):
        if f[q] > tol:
            n_pos += 1
        elif f[q] < -tol:
            n_neg += 1
    return n_pos, n_neg


@kernel
def _crosses(verts, start, k, a, b, c, tol_factor):
    """Whether the line a x + b y + c = 0 passes strictly through the piece: a vertex strictly
    on each side."""
    tol = tol_factor * (abs(a) + abs(b) + abs(c))
    pos = neg = False
    for q in range(k):
        v = a * verts[start + q, 0] + b * verts[start + q, 1] + c
        if v > tol:
            pos = True
        elif v < -tol:
            neg = True
        if pos and neg:
            return True
    return False


@kernel
def _half_keeps(f, k, q, tol, positive_half):
    """Whether vertex q, on the line (|f[q]| <= tol), belongs to the positive or negative half.

    A run of vertices on the line between the two sides goes whole to the positive half, and
    only its end next to the negative side to the negative half, so the two halves share one
    chord and never overlap; a run touching the line from one side stays on that side.
    """
    before = (q - 1 + k) % k
    while abs(f[before]) <= tol:
        before = (before - 1 + k) % k
    after = (q + 1) % k
    while abs(f[after]) <= tol:
        after = (after + 1) % k
    pos_before, pos_after = f[before] > 0, f[after] > 0
    if positive_half:
        return pos_before or pos_after
    if not pos_before and not pos_after:
        return True
    if pos_before and not pos_after:  # the run's last vertex, next to the negative side
        return abs(f[(q + 1) % k]) > tol
    if pos_after and not pos_before:  # the run's first vertex
        return abs(f[(q - 1 + k) % k]) > tol
    return False


@kernel
def _half(src, s0, k, f, tol, positive, dst, d0):
    """Write one half of the piece src[s0 : s0 + k] cut by the line with values f into
    dst[d0 :]: its vertices on that side, and the points where edges cross the line.
    Returns the half's vertex count (at most k + 1)."""
    count = 0
    for q in range(k):
        p = (q + 1) % k
        fq, fp = f[q], f[p]
        if fq > tol:
            keep = positive
        elif fq < -tol:
            keep = not positive
        else:
            keep = _half_keeps(f, k, q, tol, positive)
        if keep:
            dst[d0 + count, 0] = src[s0 + q, 0]
            dst[d0 + count, 1] = src[s0 + q, 1]
            count += 1
        if (fq > tol and fp < -tol) or (fq < -tol and fp > tol):
            w = fq / (fq - fp)
            dst[d0 + count, 0] = src[s0 + q, 0] + w * (src[s0 + p, 0] - src[s0 + q, 0])
            dst[d0 + count, 1] = src[s0 + q, 1] + w * (src[s0 + p, 1] - src[s0 + q, 1])
            count += 1
    return count


@kernel
def _hull(points, n, out, o0, tol_factor):
    """The convex hull of points[:n], counter-clockwise from the lowest-left point, into
    out[o0:] (Andrew's monotone chain); turns flatter than tol_factor * size^2 are dropped
    (they are rounding, not corners). Sorts `points[:n]` in place. Returns the vertex count."""
    # insertion sort by (x, y): a glued cell has a few dozen vertices at most
    for i in range(1, n):
        x, y = points[i, 0], points[i, 1]
        j = i - 1
        while j >= 0 and (points[j, 0] > x or (points[j, 0] == x and points[j, 1] > y)):
            points[j + 1, 0] = points[j, 0]
            points[j + 1, 1] = points[j, 1]
            j -= 1
        points[j + 1, 0] = x
        points[j + 1, 1] = y
    size = max(points[n - 1, 0] - points[0, 0], 0.0)
    low_y, high_y = points[0, 1], points[0, 1]
    for i in range(n):
        low_y = min(low_y, points[i, 1])
        high_y = max(high_y, points[i, 1])
    size = max(size, high_y - low_y)
    tol = tol_factor * size * size
    count = 0
    for sweep in range(2):  # lower chain left to right, then upper chain right to left
        first = count
        for step in range(n):
            i = step if sweep == 0 else n - 1 - step
            px, py = points[i, 0], points[i, 1]
            while count - first >= 2:
                ax, ay = out[o0 + count - 2, 0], out[o0 + count - 2, 1]
                bx, by = out[o0 + count - 1, 0], out[o0 + count - 1, 1]
                if (bx - ax) * (py - ay) - (by - ay) * (px - ax) > tol:
                    break
                count -= 1
            out[o0 + count, 0] = px
            out[o0 + count, 1] = py
            count += 1
        count -= 1  # each chain's last point is the other chain's first
    return count


@kernel
def _centroid(verts, start, k):
    sx = sy = 0.0
    for q in range(k):
        sx += verts[start + q, 0]
        sy += verts[start + q, 1]
    return sx / k, sy / k


# --- max pooling on one piece ---------------------------------------------------------------


@kernel
def _candidate(Z, r, u, slope, x, y):
    """The value a pooling candidate (unit u, after its activation) passes on at (x, y)."""
    return slope[u] * (Z[r, 0, u] * x + Z[r, 1, u] * y + Z[r, 2, u])


@kernel
def _difference(Z, r, i, j, slope):
    """The line candidate i - candidate j = 0, as (a, b, c)."""
    return (
        slope[i] * Z[r, 0, i] - slope[j] * Z[r, 0, j],
        slope[i] * Z[r, 1, i] - slope[j] * Z[r, 1, j],
        slope[i] * Z[r, 2, i] - slope[j] * Z[r, 2, j],
    )


@kernel
def _window_settled(verts, start, k, Z, r, windows, w, slope, tol_factor):
    """Whether one candidate of pooling window w is the maximum (within the tolerance) at every
    vertex of the piece, hence on all of it: the set where a candidate wins is convex."""
    k2 = windows.shape[1]
    x0, y0 = verts[start, 0], verts[start, 1]
    best = windows[w, 0]
    best_value = _candidate(Z, r, best, slope, x0, y0)
    for p in range(1, k2):
        u = windows[w, p]
        value = _candidate(Z, r, u, slope, x0, y0)
        if value > best_value:
            best, best_value = u, value
    for p in range(k2):
        j = windows[w, p]
        if j == best:
            continue
        a, b, c = _difference(Z, r, best, j, slope)
        tol = tol_factor * (abs(a) + abs(b) + abs(c))
        for q in range(k):
            x, y = verts[start + q, 0], verts[start + q, 1]
            if _candidate(Z, r, best, slope, x, y) - _candidate(Z, r, j, slope, x, y) < -tol:
                return False
    return True


@kernel
def _tournament(piece, k, Z, r, windows, w, slope, tol_factor, area_tol, work, cells):
    """The cells of one pooling window on one piece: where each candidate is the maximum.

    Candidates knock each other out: take the one ahead at the first vertex (i), drop every
    candidate that i beats on the whole piece; if another (j) is left, cut the piece along
    candidate i = candidate j, and continue on each side without the loser there. The cuts
    along i = j where a third candidate is above both are not boundaries of the pooling
    window, so the leaves with the same winner are glued back together: where one candidate
    wins is convex, so their union is the convex hull of their vertices.

    `work` is scratch for the pending pieces; the cells go to `cells` (vertex rows). Returns
    (n_cells, cell_starts, cell_counts, cell_winners, work, cells).
    """
    k2 = windows.shape[1]
    cap = k + k2 + 2
    work = _grown(work, (k2 + 2) * cap)
    f = np.empty(cap)
    depth = 0
    node_count = np.empty(k2 + 2, np.int64)
    node_mask = np.empty(k2 + 2, np.int64)
    node_count[0] = k
    node_mask[0] = (1 << k2) - 1
    work[:k] = piece[:k]
    leaf_start = np.empty(0, np.int64)
    leaf_count = np.empty(0, np.int64)
    leaf_winner = np.empty(0, np.int64)
    n_leaves = 0
    used = 0
    depth = 1
    while depth > 0:
        depth -= 1
        base = depth * cap
        n = node_count[depth]
        mask = node_mask[depth]
        while True:
            left = 0
            for p in range(k2):
                if mask >> p & 1:
                    left += 1
            if left > 1:
                # i: the candidate ahead at the first vertex (the first of equals, as MaxPool2D)
                x0, y0 = work[base, 0], work[base, 1]
                i_pos = -1
                i_value = 0.0
                for p in range(k2):
                    if mask >> p & 1:
                        value = _candidate(Z, r, windows[w, p], slope, x0, y0)
                        if i_pos < 0 or value > i_value:
                            i_pos, i_value = p, value
                i = windows[w, i_pos]
                j_pos = -1
                for p in range(k2):
                    if p == i_pos or not mask >> p & 1:
                        continue
                    a, b, c = _difference(Z, r, i, windows[w, p], slope)
                    tol = tol_factor * (abs(a) + abs(b) + abs(c))
                    beaten = False
                    for q in range(n):
                        if a * work[base + q, 0] + b * work[base + q, 1] + c < -tol:
                            beaten = True
                            break
                    if not beaten:
                        mask &= ~(1 << p)  # i is at least as large all over the piece
                    elif j_pos < 0:
                        j_pos = p
                if j_pos >= 0:
                    a, b, c = _difference(Z, r, i, windows[w, j_pos], slope)
                    tol = tol_factor * (abs(a) + abs(b) + abs(c))
                    for q in range(n):
                        f[q] = a * work[base + q, 0] + b * work[base + q, 1] + c
                    n_pos, n_neg = _sides(f, n, tol)
                    if n_pos == 0:  # j is at least as large all over: i is out
                        mask &= ~(1 << i_pos)
                        continue
                    # i - j takes both signs: cut, i stays ahead on the positive half
                    top = (depth + 1) * cap
                    n_plus = _half(work, base, n, f, tol, True, work, top)
                    n_minus = _half(work, base, n, f, tol, False, work, top + cap)
                    plus = _shoelace(work, top, n_plus)
                    minus = _shoelace(work, top + cap, n_minus)
                    if plus <= area_tol or minus <= area_tol:  # a sliver: drop the smaller side's
                        if plus > minus:
                            mask &= ~(1 << j_pos)
                        else:
                            mask &= ~(1 << i_pos)
                        continue
                    work[base : base + n_plus] = work[top : top + n_plus]
                    node_count[depth] = n_plus
                    node_mask[depth] = mask & ~(1 << j_pos)
                    work[top : top + n_minus] = work[top + cap : top + cap + n_minus]
                    node_count[depth + 1] = n_minus
                    node_mask[depth + 1] = mask & ~(1 << i_pos)
                    # the positive half is processed after the negative one (stack order)
                    depth += 2
                    break
                continue  # the eliminations may have left a single candidate
            # one candidate left: a leaf
            p = 0
            while not mask >> p & 1:
                p += 1
            leaf_start = _grown(leaf_start, n_leaves + 1)
            leaf_count = _grown(leaf_count, n_leaves + 1)
            leaf_winner = _grown(leaf_winner, n_leaves + 1)
            cells = _grown(cells, used + n)
            cells[used : used + n] = work[base : base + n]
            leaf_start[n_leaves], leaf_count[n_leaves] = used, n
            leaf_winner[n_leaves] = windows[w, p]
            used += n
            n_leaves += 1
            break
    # Glue the leaves of each winner (in order of first appearance) into one cell.
    out_start = np.empty(n_leaves, np.int64)
    out_count = np.empty(n_leaves, np.int64)
    out_winner = np.empty(n_leaves, np.int64)
    done = np.zeros(n_leaves, np.bool_)
    n_cells = 0
    for first in range(n_leaves):
        if done[first]:
            continue
        members = 0
        total = 0
        for other in range(first, n_leaves):
            if leaf_winner[other] == leaf_winner[first]:
                members += 1
                total += leaf_count[other]
        if members == 1:
            out_start[n_cells], out_count[n_cells] = leaf_start[first], leaf_count[first]
        else:
            points = np.empty((total, 2))
            filled = 0
            for other in range(first, n_leaves):
                if leaf_winner[other] == leaf_winner[first]:
                    done[other] = True
                    size = leaf_count[other]
                    points[filled : filled + size] = cells[
                        leaf_start[other] : leaf_start[other] + size
                    ]
                    filled += size
            cells = _grown(cells, used + 2 * total + 2)  # the chains hold up to 2 total
            size = _hull(points, total, cells, used, 1e-13)
            out_start[n_cells], out_count[n_cells] = used, size
            used += size
        out_winner[n_cells] = leaf_winner[first]
        done[first] = True
        n_cells += 1
    return n_cells, out_start, out_count, out_winner, work, cells


# --- the cutting kernel ----------------------------------------------------------------------


@kernel
def _never_wins(
    piece, k, Z, u, unit_windows_ptr, unit_windows, windows, tol_factor, area_tol, clip, f
):
    """Whether unit u's side makes no difference to what the layer passes on, on the piece: in
    every pooling window that holds it, the part of the piece where u >= 0 and u >= each other
    candidate (the piece clipped by those half-planes, with the cutting's tolerance and sliver
    rules) is empty. That part is all that counts: where u is negative and yet the window's
    maximum (every candidate negative), it is still the maximum just across its line, inside
    the part. A unit that no window holds passes nothing on. `clip` (2 * cap rows) and `f`
    are scratch."""
    half = clip.shape[0] // 2
    for p in range(unit_windows_ptr[u], unit_windows_ptr[u + 1]):
        w = unit_windows[p]
        n, src = k, 0
        clip[:k] = piece[:k]
        empty = False
        for q in range(-1, windows.shape[1]):  # u >= 0 first, then u >= each other candidate
            a, b, c = Z[0, 0, u], Z[0, 1, u], Z[0, 2, u]
            if q >= 0:
                v = windows[w, q]
                if v == u:
                    continue
                a, b, c = a - Z[0, 0, v], b - Z[0, 1, v], c - Z[0, 2, v]
            tol = tol_factor * (abs(a) + abs(b) + abs(c))
            for i in range(n):
                f[i] = a * clip[src + i, 0] + b * clip[src + i, 1] + c
            n_pos, n_neg = _sides(f, n, tol)
            if n_pos == 0 and n_neg > 0:  # nothing of what is left is on u's side
                empty = True
                break
            if n_pos > 0 and n_neg > 0:  # (all of it on the line: a tie all over, kept)
                n = _half(clip, src, n, f, tol, True, clip, half - src)
                src = half - src
        if not empty and _shoelace(clip, src, n) > area_tol:
            return False
    return True


@kernel
def _keep_crossing(held, nh, verts, start, k, Z, out, o0, tol_factor):
    """Copy to out[o0:] the held units whose lines cross the piece; returns how many."""
    kept = 0
    for i in range(nh):
        u = held[i]
        if _crosses(verts, start, k, Z[0, 0, u], Z[0, 1, u], Z[0, 2, u], tol_factor):
            out[o0 + kept] = u
            kept += 1
    return kept


@kernel
def _window_clear(Z, r, windows, w, slope, cx, cy, rx, ry):
    """Whether a bound settles window w on a piece (centroid (cx, cy), vertices within rx, ry
    of it): one candidate ahead of each other at the centroid by more than their difference
    can change over the piece. Never says yes where `_window_settled` would say no (the bound
    carries a margin of a few roundings); a no only means "test exactly"."""
    k2 = windows.shape[1]
    best = windows[w, 0]
    best_value = _candidate(Z, r, best, slope, cx, cy)
    for p in range(1, k2):
        u = windows[w, p]
        value = _candidate(Z, r, u, slope, cx, cy)
        if value > best_value:
            best, best_value = u, value
    sb = slope[best]
    for p in range(k2):
        u = windows[w, p]
        if u == best:
            continue
        su = slope[u]
        da = sb * Z[r, 0, best] - su * Z[r, 0, u]
        db = sb * Z[r, 1, best] - su * Z[r, 1, u]
        dc = sb * Z[r, 2, best] - su * Z[r, 2, u]
        if da == 0.0 and db == 0.0 and dc == 0.0:
            continue  # the same function (two units off under a ReLU): a tie, no change
        gap = best_value - _candidate(Z, r, u, slope, cx, cy)
        size = sb * (abs(Z[r, 0, best]) + abs(Z[r, 1, best]) + abs(Z[r, 2, best]))
        size += su * (abs(Z[r, 0, u]) + abs(Z[r, 1, u]) + abs(Z[r, 2, u]))
        if gap <= abs(da) * rx + abs(db) * ry + 1e-14 * size:
            return False
    return True


@kernel
def _reach(verts, start, k, cx, cy):
    """How far the piece's vertices reach from (cx, cy) along x and along y."""
    rx = ry = 0.0
    for q in range(k):
        rx = max(rx, abs(verts[start + q, 0] - cx))
        ry = max(ry, abs(verts[start + q, 1] - cy))
    return rx, ry


@kernel
def _set_slopes(Z, r, windows, w, slope, cx, cy, alpha):
    """The slopes of window w's candidates, read at (cx, cy) (where none of them switches)."""
    for p in range(windows.shape[1]):
        u = windows[w, p]
        value = Z[r, 0, u] * cx + Z[r, 1, u] * cy + Z[r, 2, u]
        slope[u] = 1.0 if value > 0 else alpha


@kernel
def _may_change(
    verts, start, k, Z, r, windows, w, slope, in_list, relu, alpha, cx, cy, rx, ry, tol
):
    """Whether window w may still change hands on the piece: a candidate still crosses it
    (in_list), or its winner is not the same all over it with the candidates' slopes there."""
    if relu:
        for p in range(windows.shape[1]):
            if in_list[windows[w, p]]:
                return True
        _set_slopes(Z, r, windows, w, slope, cx, cy, alpha)
    if _window_clear(Z, r, windows, w, slope, cx, cy, rx, ry):
        return False
    return not _window_settled(verts, start, k, Z, r, windows, w, slope, tol)


@kernel
def _region_pass(Z, cx, cy, rx, ry, tol_factor, relu, alpha, maybe, slope, g, e):
    """One pass over a region's units Z (3, units), which the compiler vectorises: `maybe`,
    whether a unit may cross the region (its value at the centroid (cx, cy) is not farther from
    0 than it can move within rx, ry of it); its slope there; and the range g +- e of what it
    passes on over the region (with a margin of a few roundings)."""
    for u in range(Z.shape[1]):
        a, b, c = Z[0, u], Z[1, u], Z[2, u]
        value = a * cx + b * cy + c
        size = abs(a) + abs(b) + abs(c)
        spread = abs(a) * rx + abs(b) * ry
        maybe[u] = abs(value) <= spread + (tol_factor + 1e-14) * size
        s = alpha if relu and value <= 0 else 1.0
        slope[u] = s
        g[u] = s * value
        e[u] = abs(s) * (spread + 1e-14 * size)


def new_cut_state(n_regions, n_units):
    """The state of a fresh `cut_pieces` over n_regions regions (plain Python: call it once,
    then pass what `cut_pieces` returns back into it until `cut_done(state)`)."""
    return (
        np.array([0, 0, n_regions, 0], np.int64),  # region, stack depth, regions, Zs used
        np.empty((64, 8), np.int64),  # entries: kind, v0, vk, l0, units, windows, touched, held
        np.empty((1024, 2)),  # their vertices
        np.empty(1024, np.int64),  # their lists: units, then windows
        np.ones(max(n_units, 1)),  # the candidates' slopes on the current pooling piece
        np.zeros((1, 3, max(n_units, 1))),  # the current region's pre-activations
    )


def cut_done(state) -> bool:
    """Whether `cut_pieces` has gone through every region."""
    return state[0][0] >= state[0][2]


@kernel
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
    """Cut every region of a batch along the boundaries of one layer, `budget` pieces at a
    time, and give the pieces' maps for the next layer.

    *The regions' pre-activations come as a chain* (see "the affine maps" below): region r's
    Z[r] (3, units; see the module docstring) is Zs[i] for the i-th region with is_start[r],
    and otherwise Z[r - 1] plus, for each entry t of d_ptr[r] : d_ptr[r + 1], the outer
    product of d_val[t] (3,) with row d_col[t] of the layer's linear map L (CSR: L_index /
    L_value[L_ptr[o] : L_ptr[o + 1]]). The kernel keeps one region's Z at a time.

    *Cutting.* With `relu`, unit u switches where f_u = 0. With pooling windows (rows of
    `windows`: the units whose maximum each max-pooling output takes; no rows for none), an
    output switches where its window's maximum changes hands; the candidates pass through the
    activation first (slope 1 where f_u > 0, `alpha` where not; slope 1 without `relu`).
    `unit_windows[unit_windows_ptr[u] : unit_windows_ptr[u + 1]]` are the windows holding u.
    Only the units listed in `unit_order` cut (a residual block's carried values are not
    listed: they are never negative, so the activation leaves them as they are).

    The cutting is depth first with *conflict lists*: a piece carries the list of the units
    that cross it and of the windows that may change hands on it; it is cut by the first unit
    (once no unit is left, by the first window: the cells where each candidate wins), and each
    part keeps only those of the rest that still concern it. Small pieces are crossed by few
    lines, so the lists shrink fast and the work stays close to one test per piece and line.
    `unit_order` and `window_order` (permutations) set the order of the lists: a random order
    keeps the expected work low whatever the geometry (parallel lines in sorted order would
    make every list long).

    *The pieces' maps* (with `maps`): the layer's output on each piece, as a chain of the same
    form for the next layer: a piece starts a chain (its whole map (3, columns) goes to M_start)
    when it is the first of the call, when `chain_max` pieces have followed the last start, or
    when its map differs from the previous piece's in more than `max_diff` columns (-1: every
    piece starts one); otherwise only those columns are given, as (column, new - old) in
    ascending order. A piece's map is read at its vertex mean; a piece after the first of its
    region only re-reads the columns that the conflict list of its last common ancestor with
    the piece before it can change (every other unit keeps its side, every other window its
    winner).

    *Lines held for later* (`defer`; with pooling after a ReLU whose alpha >= 0). A unit whose
    side makes no difference to the layer's output on a piece (`_never_wins`: it takes its
    window's maximum nowhere on the piece) changes the activation pattern there, but not what
    the later layers see. The piece is not cut along it: the unit's line is held and handed
    on with the piece, and the later layers cut one piece instead of the two on either side
    (most of LeNet's first-layer lines are of this kind where they cross). Region r comes
    with the lines that earlier layers held on it, lines[lines_ptr[r] : lines_ptr[r + 1]]
    (rows (a, b, c) of a x + b y + c = 0); every piece goes out with those of them and of this
    layer's held units that cross it. After the last layer, `cut_by_lines` cuts the pieces
    along their held lines: the regions.

    Resumable: a call returns after `budget` pieces (or at the end), and `state` (from
    `new_cut_state`, then from the previous call) says where to go on, so one region cut into
    millions of pieces never needs them all in memory at once. Returns (verts, starts,
    counts, owner, chain, held, state): this call's pieces, region by region (the negative
    half of a cut before the positive one), the region of each, their maps' chain (is_start,
    M_start, d_ptr, d_col, d_val), empty without `maps`, and the lines each holds (held_ptr,
    held_lines, as lines_ptr and lines).
    """
    cursor, stack, vpool, lpool, slope, Zc = state
    n = starts.shape[0]
    m = Zc.shape[2]
    n_win, k2 = windows.shape
    pool = n_win > 0
    out_verts = np.empty((max(16, 8 * min(budget, 4 * n + 64)), 2))
    out_starts = np.empty(max(16, min(budget, 4 * n + 64)), np.int64)
    out_counts = np.empty(max(16, min(budget, 4 * n + 64)), np.int64)
    owner = np.empty(max(16, min(budget, 4 * n + 64)), np.int64)
    pending = np.empty(64, np.int64)  # the touched list for the next piece out
    n_pending = 0
    defer = defer and relu and pool and alpha >= 0.0
    held = np.empty(m + 1, np.int64)  # the units held (not cut along) on the current piece
    held_ptr = np.zeros(max(16, min(budget, 4 * n + 64)) + 1, np.int64)
    held_lines = np.empty((64, 3))
    # the pieces' maps: the chain out, the last piece's map, scratch for the next one's
    n_columns = n_win if pool else m
    out_is_start = np.zeros(max(16, min(budget, 4 * n + 64)), np.bool_)
    c_ptr = np.zeros(max(16, min(budget, 4 * n + 64)) + 1, np.int64)
    c_col = np.empty(64, np.int64)
    c_val = np.empty((64, 3))
    M_start = np.empty((16 if maps else 0, 3, n_columns))
    n_starts = run = 0
    M_last = np.empty((3, n_columns if maps else 0))
    cols = np.empty(n_columns, np.int64)
    d_cols = np.empty(n_columns, np.int64)
    d_vals = np.empty((n_columns, 3))
    stamp = np.full(n_columns, -1, np.int64)
    passed = np.empty(m)
    on = np.empty(m, np.bool_)
    n_out = v_out = 0
    cap = 16 + k2
    for r in range(n):
        cap = max(cap, counts[r] + k2 + 8)
    piece = np.empty((cap, 2))
    halves = np.empty((2 * cap, 2))
    f = np.empty(cap)
    f_clip = np.empty(cap)
    units = np.empty(m + 1, np.int64)
    wins = np.empty(n_win + 1, np.int64)
    in_list = np.zeros(m, np.bool_)
    window_mark = np.zeros(max(n_win, 1), np.bool_)
    lead = np.zeros(max(n_win, 1), np.int64)  # each window's winner at the region's centroid
    whole = False  # the current region is not cut: its one piece is itself
    maybe = np.empty(m, np.bool_)
    g, e = np.empty(m), np.empty(m)
    work = np.empty((64, 2))
    cells = np.empty((64, 2))
    r = cursor[0]
    depth = cursor[1]
    while r < n and n_out < budget:
        if depth == 0:
            # A new region. Region-level work, which is most of the work on small regions,
            # in passes over the units that the compiler vectorises: a unit whose value at
            # the centroid is farther from 0 than it can move over the region cannot cross
            # it; only the others get the exact test at the vertices (the bound carries a
            # margin of a few roundings, so it never decides differently).
            if is_start[r]:  # the region's pre-activations, from the chain
                Zc[0] = Zs[cursor[3]]
                cursor[3] += 1
            else:
                _chain_step(Zc, d_ptr[r], d_ptr[r + 1], d_col, d_val, L_ptr, L_index, L_value)
            s0, k0 = starts[r], counts[r]
            cx, cy = _centroid(verts, s0, k0)
            rx, ry = _reach(verts, s0, k0, cx, cy)
            _region_pass(Zc[0], cx, cy, rx, ry, tol_factor, relu, alpha, maybe, slope, g, e)
            n_units = 0
            if relu:  # the units crossing the region, in the given order
                for i in range(unit_order.shape[0]):
                    u = unit_order[i]
                    if maybe[u] and _crosses(
                        verts, s0, k0, Zc[0, 0, u], Zc[0, 1, u], Zc[0, 2, u], tol_factor
                    ):
                        units[n_units] = u
                        n_units += 1
            n_windows = 0
            if pool:
                # The windows that may change hands in the region: those with a crossing unit
                # among their candidates, and those whose winner is not the same all over it
                # (the other units keep their side: the slopes read at the centroid above).
                window_mark[:] = False
                for i in range(n_units):
                    u = units[i]
                    for p in range(unit_windows_ptr[u], unit_windows_ptr[u + 1]):
                        window_mark[unit_windows[p]] = True
                for w in range(n_win):
                    if window_mark[w]:
                        continue
                    # First the ranges g +- e: the leader's lowest value above every other
                    # candidate's highest (off units under a ReLU all pass the same 0). No
                    # branches: which candidate leads is a coin toss to the processor.
                    best = windows[w, 0]
                    top, low, high = g[best], g[best] - e[best], g[best] + e[best]
                    second = -np.inf  # the second highest of the highest values
                    lit = slope[best] != 0.0
                    for p in range(1, k2):
                        u = windows[w, p]
                        best = u if g[u] > top else best  # the first of equals, as MaxPool2D
                        top = max(top, g[u])
                        low = max(low, g[u] - e[u])
                        second = max(second, min(high, g[u] + e[u]))
                        high = max(high, g[u] + e[u])
                        lit |= slope[u] != 0.0
                    lead[w] = best
                    # then the bound on the differences (`_window_clear`), then the vertices
                    if (
                        low <= second
                        and lit
                        and not _window_clear(Zc, 0, windows, w, slope, cx, cy, rx, ry)
                    ):
                        window_mark[w] = not _window_settled(
                            verts, s0, k0, Zc, 0, windows, w, slope, tol_factor
                        )
                for i in range(n_win):
                    wins[n_windows] = window_order[i]
                    n_windows += window_mark[window_order[i]]
            whole = n_units == 0 and n_windows == 0
            # The root entry: the region with its crossing units and changing windows.
            vpool = _grown(vpool, k0)
            vpool[:k0] = verts[s0 : s0 + k0]
            lpool = _grown(lpool, n_units + n_windows)
            lpool[:n_units] = units[:n_units]
            lpool[n_units : n_units + n_windows] = wins[:n_windows]
            stack[0, 0] = RELU_ENTRY if relu else POOL_ENTRY
            stack[0, 1], stack[0, 2], stack[0, 3] = 0, k0, 0
            stack[0, 4], stack[0, 5], stack[0, 6], stack[0, 7] = n_units, n_windows, 0, 0
            n_pending = 0
            depth = 1
        # The depth-first walk through the region's pieces; the stack (entries, their
        # vertices in vpool, their lists in lpool: units then windows) is last in first out,
        # so an entry's storage is at the top when it is popped.
        while depth > 0 and n_out < budget:
            depth -= 1
            kind, v_top, k = stack[depth, 0], stack[depth, 1], stack[depth, 2]
            l_top, nu, nw, nt = stack[depth, 3], stack[depth, 4], stack[depth, 5], stack[depth, 6]
            nh = stack[depth, 7]
            if k + k2 + 4 > cap:
                cap = 2 * (k + k2 + 4)
                piece = np.empty((cap, 2))
                halves = np.empty((2 * cap, 2))
                f = np.empty(cap)
                f_clip = np.empty(cap)
            piece[:k] = vpool[v_top : v_top + k]  # the entry's storage is free once copied
            units[:nu] = lpool[l_top : l_top + nu]
            wins[:nw] = lpool[l_top + nu : l_top + nu + nw]
            if nt > 0:  # the first piece out of this entry follows its sibling's last
                pending = _grown(pending, nt)
                pending[:nt] = lpool[l_top + nu + nw : l_top + nu + nw + nt]
                n_pending = nt
            held[:nh] = lpool[l_top + nu + nw + nt : l_top + nu + nw + nt + nh]
            if kind == RELU_ENTRY and nu == 0:
                # No unit crosses the piece: its candidates' slopes are fixed here; go on with
                # its windows.
                kind = POOL_ENTRY
                if nw > 0:
                    cx, cy = _centroid(piece, 0, k)
                    for i in range(nw):
                        _set_slopes(Zc, 0, windows, wins[i], slope, cx, cy, alpha)
            if kind == POOL_ENTRY and nw == 0:  # nothing concerns the piece: a final piece
                # (room checked here, so that the arrays are not handed around per piece)
                if v_out + k > out_verts.shape[0]:
                    out_verts = _grown(out_verts, v_out + k)
                if n_out + 1 >= out_starts.shape[0]:  # (c_ptr is never the shorter)
                    size = 2 * (n_out + 2)
                    out_starts = _grown(out_starts, size)
                    out_counts = _grown(out_counts, size)
                    owner = _grown(owner, size)
                    out_is_start = _grown(out_is_start, size)
                    c_ptr = _grown(c_ptr, size)
                    held_ptr = _grown(held_ptr, size)
                out_verts[v_out : v_out + k] = piece[:k]
                out_starts[n_out], out_counts[n_out], owner[n_out] = v_out, k, r
                # the lines the piece holds: its region's that cross it, then this layer's
                t0 = held_ptr[n_out]
                first, last = lines_ptr[r], lines_ptr[r + 1]
                if t0 + last - first + nh > held_lines.shape[0]:
                    held_lines = _grown(held_lines, t0 + last - first + nh)
                for i in range(first, last):
                    a, b, c = lines[i, 0], lines[i, 1], lines[i, 2]
                    if _crosses(piece, 0, k, a, b, c, tol_factor):
                        held_lines[t0, 0], held_lines[t0, 1], held_lines[t0, 2] = a, b, c
                        t0 += 1
                for i in range(nh):
                    u = held[i]
                    held_lines[t0, 0], held_lines[t0, 1] = Zc[0, 0, u], Zc[0, 1, u]
                    held_lines[t0, 2] = Zc[0, 2, u]
                    t0 += 1
                held_ptr[n_out + 1] = t0
                if maps:
                    full = n_out == 0 or owner[n_out - 1] != r  # first of the call or region
                    n_d = _piece_columns(
                        Zc,
                        piece,
                        k,
                        relu,
                        alpha,
                        windows,
                        unit_windows_ptr,
                        unit_windows,
                        full,
                        whole,
                        lead,
                        slope,
                        pending,
                        n_pending,
                        M_last,
                        stamp,
                        n_out,
                        passed,
                        on,
                        cols,
                        d_cols,
                        d_vals,
                    )
                    if n_out == 0 or run + 1 >= chain_max or n_d > max_diff:
                        if n_starts >= M_start.shape[0]:
                            M_start = _grown(M_start, n_starts + 1)
                        M_start[n_starts] = M_last
                        n_starts += 1
                        out_is_start[n_out] = True
                        run = 0
                        n_d = 0
                    else:
                        out_is_start[n_out] = False
                        run += 1
                    t0 = c_ptr[n_out]
                    if t0 + n_d > c_col.shape[0]:
                        c_col = _grown(c_col, t0 + n_d)
                        c_val = _grown(c_val, t0 + n_d)
                    c_col[t0 : t0 + n_d] = d_cols[:n_d]
                    c_val[t0 : t0 + n_d] = d_vals[:n_d]
                    c_ptr[n_out + 1] = t0 + n_d
                n_pending = 0
                v_out += k
                n_out += 1
                continue
            stack = _grown(stack, depth + 2 + k2)
            if kind == RELU_ENTRY:
                u = units[0]
                a, b, c = Zc[0, 0, u], Zc[0, 1, u], Zc[0, 2, u]
                tol = tol_factor * (abs(a) + abs(b) + abs(c))
                for q in range(k):
                    f[q] = a * piece[q, 0] + b * piece[q, 1] + c
                n_pos, n_neg = _sides(f, k, tol)
                n_halves = 0
                n_plus = n_minus = 0
                if (
                    defer
                    and n_pos > 0
                    and n_neg > 0
                    and _never_wins(
                        piece,
                        k,
                        Zc,
                        u,
                        unit_windows_ptr,
                        unit_windows,
                        windows,
                        tol_factor,
                        area_tol,
                        halves,
                        f_clip,
                    )
                ):
                    held[nh] = u  # not cut here: its line is held for later
                    nh += 1
                    n_pos = 0
                if n_pos > 0 and n_neg > 0:
                    n_plus = _half(piece, 0, k, f, tol, True, halves, 0)
                    n_minus = _half(piece, 0, k, f, tol, False, halves, cap)
                    if (
                        _shoelace(halves, 0, n_plus) > area_tol
                        and _shoelace(halves, cap, n_minus) > area_tol
                    ):
                        n_halves = 2
                lpool = _grown(lpool, l_top + 3 * (nu + nw) + 2 * nh)
                if n_halves == 0:  # not cut (a sliver, or held): on with the rest
                    vpool = _grown(vpool, v_top + k)
                    vpool[v_top : v_top + k] = piece[:k]
                    lpool[l_top : l_top + nu - 1] = units[1:nu]
                    lpool[l_top + nu - 1 : l_top + nu - 1 + nw] = wins[:nw]
                    lpool[l_top + nu - 1 + nw : l_top + nu - 1 + nw + nh] = held[:nh]
                    stack[depth, 0], stack[depth, 1], stack[depth, 2] = RELU_ENTRY, v_top, k
                    stack[depth, 3], stack[depth, 4], stack[depth, 5] = l_top, nu - 1, nw
                    stack[depth, 6], stack[depth, 7] = 0, nh
                    depth += 1
                    continue
                # the positive half first, so that the negative half is cut first
                for h in range(2):
                    h0 = 0 if h == 0 else cap
                    kh = n_plus if h == 0 else n_minus
                    vpool = _grown(vpool, v_top + kh)
                    vpool[v_top : v_top + kh] = halves[h0 : h0 + kh]
                    kept = 0
                    for i in range(1, nu):
                        v = units[i]
                        if _crosses(
                            halves, h0, kh, Zc[0, 0, v], Zc[0, 1, v], Zc[0, 2, v], tol_factor
                        ):
                            lpool[l_top + kept] = v
                            in_list[v] = True
                            kept += 1
                    kept_w = 0
                    if nw > 0:
                        hx, hy = _centroid(halves, h0, kh)
                        hrx, hry = _reach(halves, h0, kh, hx, hy)
                        for i in range(nw):
                            w = wins[i]
                            if _may_change(
                                halves,
                                h0,
                                kh,
                                Zc,
                                0,
                                windows,
                                w,
                                slope,
                                in_list,
                                relu,
                                alpha,
                                hx,
                                hy,
                                hrx,
                                hry,
                                tol_factor,
                            ):
                                lpool[l_top + kept + kept_w] = w
                                kept_w += 1
                    for i in range(kept):
                        in_list[lpool[l_top + i]] = False
                    # the positive half's first piece follows the negative half's last: they
                    # may differ in anything of this piece's lists
                    kept_t = 0
                    if h == 0:
                        base = l_top + kept + kept_w
                        lpool[base : base + nu] = units[:nu]
                        for i in range(nw):
                            lpool[base + nu + i] = m + wins[i]
                        kept_t = nu + nw
                    kept_h = _keep_crossing(
                        held,
                        nh,
                        halves,
                        h0,
                        kh,
                        Zc,
                        lpool,
                        l_top + kept + kept_w + kept_t,
                        tol_factor,
                    )
                    stack[depth, 0], stack[depth, 1], stack[depth, 2] = RELU_ENTRY, v_top, kh
                    stack[depth, 3], stack[depth, 4], stack[depth, 5] = l_top, kept, kept_w
                    stack[depth, 6], stack[depth, 7] = kept_t, kept_h
                    depth += 1
                    v_top += kh
                    l_top += kept + kept_w + kept_t + kept_h
                continue
            # A pooling entry: the cells of its first window, each with the windows of the
            # rest that may still change hands on it.
            w = wins[0]
            n_cells, c_start, c_count, c_winner, work, cells = _tournament(
                piece, k, Zc, 0, windows, w, slope, tol_factor, area_tol, work, cells
            )
            stack = _grown(stack, depth + n_cells + 1)
            lpool = _grown(lpool, l_top + n_cells * (2 * nw + nh))
            if n_cells == 1:  # the window does not cut the piece after all
                vpool = _grown(vpool, v_top + k)
                vpool[v_top : v_top + k] = piece[:k]
                lpool[l_top : l_top + nw - 1] = wins[1:nw]
                lpool[l_top + nw - 1 : l_top + nw - 1 + nh] = held[:nh]
                stack[depth, 0], stack[depth, 1], stack[depth, 2] = POOL_ENTRY, v_top, k
                stack[depth, 3], stack[depth, 4], stack[depth, 5] = l_top, 0, nw - 1
                stack[depth, 6], stack[depth, 7] = 0, nh
                depth += 1
                continue
            for h in range(n_cells - 1, -1, -1):  # the first cell on top: cut first
                cs, kh = c_start[h], c_count[h]
                vpool = _grown(vpool, v_top + kh)
                vpool[v_top : v_top + kh] = cells[cs : cs + kh]
                kept = 0
                if nw > 1:
                    hx, hy = _centroid(cells, cs, kh)
                    hrx, hry = _reach(cells, cs, kh, hx, hy)
                    for i in range(1, nw):
                        v = wins[i]
                        if not _window_clear(
                            Zc, 0, windows, v, slope, hx, hy, hrx, hry
                        ) and not _window_settled(
                            cells, cs, kh, Zc, 0, windows, v, slope, tol_factor
                        ):
                            lpool[l_top + kept] = v
                            kept += 1
                kept_t = 0
                if h > 0:  # after the first cell: anything of this piece's windows may differ
                    for i in range(nw):
                        lpool[l_top + kept + i] = m + wins[i]
                    kept_t = nw
                kept_h = _keep_crossing(
                    held, nh, cells, cs, kh, Zc, lpool, l_top + kept + kept_t, tol_factor
                )
                stack[depth, 0], stack[depth, 1], stack[depth, 2] = POOL_ENTRY, v_top, kh
                stack[depth, 3], stack[depth, 4], stack[depth, 5] = l_top, 0, kept
                stack[depth, 6], stack[depth, 7] = kept_t, kept_h
                depth += 1
                v_top += kh
                l_top += kept + kept_t + kept_h
        if depth == 0:
            r += 1
    cursor[0], cursor[1] = r, depth
    n_maps = n_out if maps else 0
    n_held = held_ptr[n_out]
    return (
        out_verts[:v_out],
        out_starts[:n_out],
        out_counts[:n_out],
        owner[:n_out],
        (
            out_is_start[:n_maps],
            M_start[:n_starts],
            c_ptr[: n_maps + 1],
            c_col[: c_ptr[n_maps]],
            c_val[: c_ptr[n_maps]],
        ),
        (held_ptr[: n_out + 1], held_lines[:n_held]),
        (cursor, stack, vpool, lpool, slope, Zc),
    )


@kernel
def cut_by_lines(verts, starts, counts, lines_ptr, lines, tol_factor, area_tol):
    """Cut every piece along the lines it holds (`cut_pieces` with `defer`): piece r along
    lines[lines_ptr[r] : lines_ptr[r + 1]] in turn, each part going on with those of the rest
    that cross it, with the same tolerance and sliver rule as `cut_pieces`. Returns (verts,
    starts, counts, owner): the parts, piece by piece (the negative half of a cut before the
    positive one), and the piece of each."""
    n = starts.shape[0]
    out_verts = np.empty((max(16, 2 * verts.shape[0]), 2))
    out_starts = np.empty(max(16, 2 * n), np.int64)
    out_counts = np.empty(max(16, 2 * n), np.int64)
    owner = np.empty(max(16, 2 * n), np.int64)
    n_out = v_out = 0
    stack = np.empty((64, 4), np.int64)  # entries: v0, vk, l0, n_lines (in vpool, lpool)
    vpool = np.empty((256, 2))
    lpool = np.empty(256, np.int64)
    cap = 16
    piece = np.empty((cap, 2))
    halves = np.empty((2 * cap, 2))
    f = np.empty(cap)
    todo = np.empty(max(1, lines.shape[0]), np.int64)
    for r in range(n):
        s0, k0 = starts[r], counts[r]
        first, n_lines = lines_ptr[r], lines_ptr[r + 1] - lines_ptr[r]
        vpool = _grown(vpool, k0)
        vpool[:k0] = verts[s0 : s0 + k0]
        lpool = _grown(lpool, n_lines)
        for i in range(n_lines):
            lpool[i] = first + i
        stack[0, 0], stack[0, 1], stack[0, 2], stack[0, 3] = 0, k0, 0, n_lines
        depth = 1
        while depth > 0:
            depth -= 1
            v_top, k, l_top, nl = stack[depth, 0], stack[depth, 1], stack[depth, 2], stack[depth, 3]
            if k + 4 > cap:
                cap = 2 * (k + 4)
                piece = np.empty((cap, 2))
                halves = np.empty((2 * cap, 2))
                f = np.empty(cap)
            piece[:k] = vpool[v_top : v_top + k]
            todo[:nl] = lpool[l_top : l_top + nl]
            if nl == 0:  # a final part
                out_verts = _grown(out_verts, v_out + k)
                if n_out >= out_starts.shape[0]:
                    out_starts = _grown(out_starts, n_out + 1)
                    out_counts = _grown(out_counts, n_out + 1)
                    owner = _grown(owner, n_out + 1)
                out_verts[v_out : v_out + k] = piece[:k]
                out_starts[n_out], out_counts[n_out], owner[n_out] = v_out, k, r
                v_out += k
                n_out += 1
                continue
            t = todo[0]
            a, b, c = lines[t, 0], lines[t, 1], lines[t, 2]
            tol = tol_factor * (abs(a) + abs(b) + abs(c))
            for q in range(k):
                f[q] = a * piece[q, 0] + b * piece[q, 1] + c
            n_pos, n_neg = _sides(f, k, tol)
            n_plus = n_minus = 0
            cut = False
            if n_pos > 0 and n_neg > 0:
                n_plus = _half(piece, 0, k, f, tol, True, halves, 0)
                n_minus = _half(piece, 0, k, f, tol, False, halves, cap)
                cut = (
                    _shoelace(halves, 0, n_plus) > area_tol
                    and _shoelace(halves, cap, n_minus) > area_tol
                )
            stack = _grown(stack, depth + 2)
            if not cut:  # the line misses the piece (or leaves a sliver): on with the rest
                vpool[v_top : v_top + k] = piece[:k]
                lpool[l_top : l_top + nl - 1] = todo[1:nl]
                stack[depth, 0], stack[depth, 1], stack[depth, 2] = v_top, k, l_top
                stack[depth, 3] = nl - 1
                depth += 1
                continue
            lpool = _grown(lpool, l_top + 2 * nl)
            for h in range(2):  # the positive half first, so that the negative one comes out first
                h0 = 0 if h == 0 else cap
                kh = n_plus if h == 0 else n_minus
                vpool = _grown(vpool, v_top + kh)
                vpool[v_top : v_top + kh] = halves[h0 : h0 + kh]
                kept = 0
                for i in range(1, nl):
                    t = todo[i]
                    if _crosses(halves, h0, kh, lines[t, 0], lines[t, 1], lines[t, 2], tol_factor):
                        lpool[l_top + kept] = t
                        kept += 1
                stack[depth, 0], stack[depth, 1], stack[depth, 2] = v_top, kh, l_top
                stack[depth, 3] = kept
                depth += 1
                v_top += kh
                l_top += kept
    return out_verts[:v_out], out_starts[:n_out], out_counts[:n_out], owner[:n_out]


# --- the affine maps of the pieces -----------------------------------------------------------
# A piece that comes out of `cut_pieces` lies in one region, and the layer's output there is
# that region's pre-activations Z passed through the piece's own pattern: column o of its map
# M (3, columns) is slope * Z[:, u] for the unit u it takes (u = o after a ReLU, the winner of
# window o with max pooling) and that unit's slope (1 when it is on, alpha when not). The next
# layer's pre-activations are a linear map L of those columns plus a bias. Pushing every
# piece's map through the next layer's weights costs a full matrix product per piece; but a
# piece and the one before it (its neighbour, usually) have equal columns almost everywhere,
# bit for bit, and where they differ the difference is a few columns. So the maps travel as a
# *chain*: a piece that starts one comes with its whole map (pushed through the next layer's
# ops in full, by the caller), every other piece with its columns that differ from the piece
# before it, and the next layer's pre-activations follow by adding L's rows of those columns.
# Only one map per layer is ever held in full, and chains restart every few dozen pieces, so
# rounding never adds up.


@kernel
def _chain_step(Z, first, last, d_col, d_val, L_ptr, L_index, L_value):
    """Z[0] += the outer product of d_val[t] with L's row d_col[t], for t in first:last: the
    pre-activations of a piece from those of the piece before it."""
    n = Z.shape[2]
    for t in range(first, last):
        o = d_col[t]
        d0, d1, d2 = d_val[t, 0], d_val[t, 1], d_val[t, 2]
        row = L_ptr[o]
        if L_ptr[o + 1] - row == n:  # a dense row (its columns are 0..n-1): vectorised
            for i in range(n):
                v = L_value[row + i]
                Z[0, 0, i] += d0 * v
                Z[0, 1, i] += d1 * v
                Z[0, 2, i] += d2 * v
            continue
        for q in range(row, L_ptr[o + 1]):
            v = L_value[q]
            i = L_index[q]
            Z[0, 0, i] += d0 * v
            Z[0, 1, i] += d1 * v
            Z[0, 2, i] += d2 * v


@kernel
def _winner(Z, o, x, y, relu, alpha, windows):
    """(unit, slope): what column o takes at (x, y), the first of equals in a pooling window
    (as MaxPool2D)."""
    if windows.shape[0] == 0:
        value = Z[0, 0, o] * x + Z[0, 1, o] * y + Z[0, 2, o]
        return o, 1.0 if value > 0 or not relu else alpha
    u = windows[o, 0]
    value = Z[0, 0, u] * x + Z[0, 1, u] * y + Z[0, 2, u]
    on = value > 0 or not relu
    best = value if on else alpha * value
    for q in range(1, windows.shape[1]):
        v = windows[o, q]
        value = Z[0, 0, v] * x + Z[0, 1, v] * y + Z[0, 2, v]
        v_on = value > 0 or not relu
        passed = value if v_on else alpha * value
        if passed > best:
            u, best, on = v, passed, v_on
    return u, 1.0 if on else alpha


@kernel
def _piece_columns(
    Z,
    piece,
    k,
    relu,
    alpha,
    windows,
    unit_windows_ptr,
    unit_windows,
    full,
    whole,
    lead,
    slope,
    touched,
    n_touched,
    M,
    stamp,
    tag,
    passed,
    on,
    cols,
    d_cols,
    d_vals,
):
    """Turn M, the previous piece's map, into this piece's (pre-activations Z of its region,
    read at its vertex mean): every column (`full`), or only those that the touched items
    (units u, windows m + w) can change: a unit's own column, or the windows that hold it.
    A region that is not cut (`whole`) is its own piece: its units' slopes at the centroid
    and its windows' winners there (`lead`) are known already. Returns how many columns
    changed; d_cols lists them in ascending order, d_vals their changes (new - old)."""
    m = Z.shape[2]
    n_win = windows.shape[0]
    x, y = _centroid(piece, 0, k)
    if full:
        n_cols = M.shape[1]
        if not whole:  # every unit once, in a pass the compiler vectorises
            for u in range(m):
                value = Z[0, 0, u] * x + Z[0, 1, u] * y + Z[0, 2, u]
                on[u] = value > 0 or not relu
                passed[u] = value if on[u] else alpha * value
    else:
        n_cols = 0
        for t in range(n_touched):
            item = touched[t]
            if item >= m:  # a window
                first, last, single = item - m, item - m + 1, True
            elif n_win == 0:  # a unit, which is its own column
                first, last, single = item, item + 1, True
            else:  # a unit: the windows that hold it
                first, last, single = unit_windows_ptr[item], unit_windows_ptr[item + 1], False
            for e in range(first, last):
                o = e if single else unit_windows[e]
                if stamp[o] != tag:
                    stamp[o] = tag
                    cols[n_cols] = o
                    n_cols += 1
        # ascending (insertion sort: a few columns), so that the chain adds the changes up
        # in the same order however the piece was reached
        for i in range(1, n_cols):
            o = cols[i]
            j = i - 1
            while j >= 0 and cols[j] > o:
                cols[j + 1] = cols[j]
                j -= 1
            cols[j + 1] = o
    n_d = 0
    for i in range(n_cols):
        o = i if full else cols[i]
        if full and whole:
            u = lead[o] if n_win > 0 else o
            s = slope[u]
        elif full:
            u = o
            if n_win > 0:
                u = windows[o, 0]
                for q in range(1, windows.shape[1]):  # the first of equals, as MaxPool2D
                    if passed[windows[o, q]] > passed[u]:
                        u = windows[o, q]
            s = 1.0 if on[u] else alpha
        else:
            u, s = _winner(Z, o, x, y, relu, alpha, windows)
        # (written out here, not called: this loop runs for every column of every piece)
        v0, v1, v2 = s * Z[0, 0, u], s * Z[0, 1, u], s * Z[0, 2, u]
        if v0 != M[0, o] or v1 != M[1, o] or v2 != M[2, o]:
            d_cols[n_d] = o
            d_vals[n_d, 0] = v0 - M[0, o]
            d_vals[n_d, 1] = v1 - M[1, o]
            d_vals[n_d, 2] = v2 - M[2, o]
            M[0, o], M[1, o], M[2, o] = v0, v1, v2
            n_d += 1
    return n_d


# --- which piece holds a point ---------------------------------------------------------------


@kernel
def _inside(verts, start, k, x, y, tol):
    """Whether (x, y) is in the convex counter-clockwise piece: on the left of (or within tol
    times the edge's length of) every edge."""
    for q in range(k):
        ax, ay = verts[start + q, 0], verts[start + q, 1]
        r = start + (q + 1) % k
        ex, ey = verts[r, 0] - ax, verts[r, 1] - ay
        if ex * (y - ay) - ey * (x - ax) < -tol * np.sqrt(ex * ex + ey * ey):
            return False
    return True


@kernel
def _band_range(verts, start, k, low, high):
    """The x-range of the piece's part within the band low <= y <= high (empty: lo > hi)."""
    lo, hi = np.inf, -np.inf
    for q in range(k):
        ax, ay = verts[start + q, 0], verts[start + q, 1]
        r = start + (q + 1) % k
        bx, by = verts[r, 0], verts[r, 1]
        # the edge's part inside the band, as a parameter interval [t0, t1] of a + t (b - a)
        t0, t1 = 0.0, 1.0
        dy = by - ay
        if dy == 0.0:
            if ay < low or ay > high:
                continue
        else:
            ta, tb = (low - ay) / dy, (high - ay) / dy
            t0, t1 = max(t0, min(ta, tb)), min(t1, max(ta, tb))
            if t0 > t1:
                continue
        for t in (t0, t1):
            x = ax + t * (bx - ax)
            lo, hi = min(lo, x), max(hi, x)
    return lo, hi


@kernel
def locate_points(verts, starts, counts, points, tol):
    """For each point (x, y) of the square [-1, 1]^2, the lowest index of the pieces holding it
    (within `tol` of its edges, relative to the piece's size), -1 for none.

    A grid of about one cell per piece keeps the search short: each piece is registered in
    the cells its rows actually cover (a long thin piece across the square is in a line of
    cells, not in its whole bounding box), and a point only tests the pieces of its cell.
    """
    n = starts.shape[0]
    side = max(1, min(2048, int(np.sqrt(n))))
    width = 2.0 / side
    pad = 1e-9
    # Pass 1 counts the (cell, piece) pairs, pass 2 writes them (cell by cell, then piece).
    per_cell = np.zeros(side * side + 1, np.int64)
    for sweep in range(2):
        if sweep == 1:
            total = 0
            for cell in range(side * side + 1):
                count = per_cell[cell]
                per_cell[cell] = total
                total += count
            members = np.empty(total, np.int64)
            fill = per_cell.copy()
        for i in range(n):
            s, k = starts[i], counts[i]
            y_lo, y_hi = np.inf, -np.inf
            for q in range(k):
                y_lo = min(y_lo, verts[s + q, 1])
                y_hi = max(y_hi, verts[s + q, 1])
            row0 = max(0, min(side - 1, int((y_lo - pad + 1.0) / width)))
            row1 = max(0, min(side - 1, int((y_hi + pad + 1.0) / width)))
            for row in range(row0, row1 + 1):
                low, high = -1.0 + row * width - pad, -1.0 + (row + 1) * width + pad
                lo, hi = _band_range(verts, s, k, low, high)
                if lo > hi:
                    continue
                col0 = max(0, min(side - 1, int((lo - pad + 1.0) / width)))
                col1 = max(0, min(side - 1, int((hi + pad + 1.0) / width)))
                for col in range(col0, col1 + 1):
                    cell = row * side + col
                    if sweep == 0:
                        per_cell[cell] += 1
                    else:
                        members[fill[cell]] = i
                        fill[cell] += 1
    found = np.full(points.shape[0], -1, np.int64)
    for p in range(points.shape[0]):
        x, y = points[p, 0], points[p, 1]
        if not (abs(x) <= 1.0 + pad and abs(y) <= 1.0 + pad):
            continue
        col = max(0, min(side - 1, int((x + 1.0) / width)))
        row = max(0, min(side - 1, int((y + 1.0) / width)))
        cell = row * side + col
        for m in range(per_cell[cell], per_cell[cell + 1]):
            i = members[m]
            s, k = starts[i], counts[i]
            size = 0.0
            for q in range(1, k):
                size = max(size, abs(verts[s + q, 0] - verts[s, 0]))
                size = max(size, abs(verts[s + q, 1] - verts[s, 1]))
            if _inside(verts, s, k, x, y, tol * size):
                found[p] = i
                break  # the members of a cell come in increasing order
    return found
