"""The exact-region kernels (hashnet/kernels/regions.py) against their NumPy twins, on random
shapes: convex pieces, ReLU units, max-pooling windows (overlapping too), leaky slopes, ties,
lines through vertices, cut a piece at a time and all at once."""

import numpy as np
import pytest
from _tolerance import assert_close

from hashnet.kernels import regions, regions_reference

# New vertices interpolate between a line's values at the two ends of an edge, which amplifies
# rounding where the line meets the edge at a shallow angle: a looser rtol than the default,
# relative to the size of the pieces.
VERTEX_RTOL = 1e-12


def pool_windows(channels, height, width, k, stride):
    oh, ow = (height - k) // stride + 1, (width - k) // stride + 1
    c = np.arange(channels)[:, None, None, None, None]
    y = (np.arange(oh) * stride)[None, :, None, None, None] + np.arange(k)[
        None, None, None, :, None
    ]
    x = (np.arange(ow) * stride)[None, None, :, None, None] + np.arange(k)[
        None, None, None, None, :
    ]
    return ((c * height + y) * width + x).reshape(channels * oh * ow, k * k).astype(np.int64)


def holders(windows, m):
    """CSR of the windows holding each unit."""
    ptr = np.zeros(m + 1, np.int64)
    if len(windows) == 0:
        return ptr, np.zeros(0, np.int64)
    units = windows.ravel()
    np.add.at(ptr, units + 1, 1)
    owners = np.repeat(np.arange(len(windows)), windows.shape[1])[np.argsort(units, kind="stable")]
    return np.cumsum(ptr), owners.astype(np.int64)


def random_case(seed):
    """A batch of convex pieces with pre-activations for one layer: ReLU only, ReLU then max
    pooling, or pooling alone; with ties (a duplicated unit) and lines through vertices."""
    rng = np.random.default_rng(seed)
    polygons = []
    for _ in range(rng.integers(1, 4)):
        k = rng.integers(3, 8)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        polygons.append(np.column_stack([np.cos(angles), np.sin(angles)]) * rng.uniform(0.2, 1))
    counts = np.array([len(p) for p in polygons], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    verts = np.concatenate(polygons)
    kind = seed % 3
    if kind == 0:
        m, windows, relu = int(rng.integers(1, 12)), np.zeros((0, 0), np.int64), True
    else:
        height, width = int(rng.integers(2, 5)), int(rng.integers(2, 5))
        k = min(3, height, width) if seed % 6 == 2 else 2
        windows = pool_windows(2, height, width, k, int(rng.integers(1, 3)))
        m, relu = 2 * height * width, kind == 1
    Z = rng.normal(size=(len(polygons), 3, m))
    if seed % 5 == 4 and m > 1:
        Z[:, :, 1] = Z[:, :, 0]  # a duplicated unit: exact ties
    if seed % 7 == 3:  # lines through the first vertex of each piece
        Z[:, 2] = -np.einsum("ru,r->ru", Z[:, 0], verts[starts, 0])
        Z[:, 2] -= np.einsum("ru,r->ru", Z[:, 1], verts[starts, 1])
    alpha = 0.1 if seed % 4 == 0 else 0.0
    ptr, held = holders(windows, m)
    # A residual block's first stage lists only its ReLU units: the values carried after
    # them never cut (here: the last third of the units). They come from a ReLU, so on every
    # piece they are either 0 or positive throughout (the pieces lie in the unit disk).
    n_cutting = m - m // 3 if kind == 0 and seed % 4 == 2 else m
    carried = Z[:, :, n_cutting:]
    carried[:, 2] = np.abs(carried[:, 0]) + np.abs(carried[:, 1]) + 0.5
    carried[:, :, ::2] = 0.0  # every other one is off: 0 everywhere
    orders = (
        rng.permutation(n_cutting).astype(np.int64),
        rng.permutation(len(windows)).astype(np.int64),
    )
    chain, Z = region_chain(Z, seed, special=seed % 5 == 4 or seed % 7 == 3 or n_cutting < m)
    # maps, defer (hold the lines that change no map: most seeds), max_diff, chain_max
    maps = (True, seed % 5 != 1, [-1, 1, 3, 100][seed % 4], [2, 5, 64][seed % 3])
    lines = region_lines(polygons, seed)
    args = (verts, starts, counts, *lines, *chain, relu, alpha, windows, ptr, held, *orders)
    return args + (1e-10, 4e-20, *maps), polygons, Z


def region_lines(polygons, seed):
    """(lines_ptr, lines): up to three lines held on each region by earlier layers, random
    ones through the region's interior and, for some seeds, one through a vertex."""
    rng = np.random.default_rng(seed + 2000)
    ptr, rows = [0], []
    for polygon in polygons:
        for _ in range(rng.integers(0, 4)):
            a, b = rng.normal(size=2)
            x, y = (
                polygon[rng.integers(len(polygon))]
                if seed % 7 == 3
                else rng.dirichlet(np.ones(len(polygon))) @ polygon
            )
            rows.append([a, b, -(a * x + b * y)])
        ptr.append(len(rows))
    return np.array(ptr, np.int64), np.array(rows).reshape(-1, 3)


def region_chain(Z, seed, special):
    """The regions' pre-activations as the kernel takes them (Zs, is_start, d_ptr, d_col,
    d_val, L_ptr, L_index, L_value), and Z as that chain gives it. Every region starts a chain
    for even seeds and for pre-activations with a special structure (ties, lines through
    vertices, carried values); otherwise some follow the region before through a random sparse
    map L with one dense row, and Z changes accordingly."""
    n, _, m = Z.shape
    rng = np.random.default_rng(seed + 1000)
    n_before = 5
    L = rng.normal(size=(n_before, m)) * (rng.random((n_before, m)) < 0.5)
    L[0] = rng.normal(size=m)  # a dense row: the kernel's shortcut for those
    rows = csr(L)
    is_start = np.ones(n, bool)
    if not special and seed % 2:
        is_start[1:] = rng.random(n - 1) < 0.3
    d_col, d_val, d_ptr = [], [], [0]
    for r in range(n):
        if not is_start[r]:
            changed = np.sort(rng.choice(n_before, size=rng.integers(1, 4), replace=False))
            d_col.extend(changed)
            d_val.extend(rng.normal(size=(len(changed), 3)))
        d_ptr.append(len(d_col))
    chain = (
        np.ascontiguousarray(Z[is_start]),
        is_start,
        np.array(d_ptr, np.int64),
        np.array(d_col, np.int64),
        np.array(d_val).reshape(-1, 3),
        *rows,
    )
    return chain, regions_reference._chained(*chain)


def csr(L):
    """(ptr, index, value) of the rows of a dense matrix."""
    nz = np.nonzero(L)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(nz[0], minlength=len(L)))])
    return ptr.astype(np.int64), nz[1].astype(np.int64), L[nz]


NO_CHAIN = (np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros((0, 3)))
NO_LINES = (np.zeros(2, np.int64), np.zeros((0, 3)))
NO_ROWS = (np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0))


def cut_all(module, args, budget):
    """Run a resumable cut to the end; returns the concatenated pieces, the number of calls,
    each call's chain of maps, and the lines each piece holds (ptr, lines)."""
    state = module.new_cut_state(len(args[1]), args[5].shape[2])
    parts = []
    while not module.cut_done(state):
        *pieces, state = module.cut_pieces(*args, budget, state)
        assert len(pieces[1]) <= budget
        assert len(pieces[5][0]) == len(pieces[1]) + 1 and pieces[5][0][0] == 0
        parts.append(pieces)
    verts = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[2] for p in parts])
    owner = np.concatenate([p[3] for p in parts])
    sizes = np.concatenate([np.diff(p[5][0]) for p in parts])
    held = (np.concatenate([[0], np.cumsum(sizes)]), np.concatenate([p[5][1] for p in parts]))
    return verts, counts, owner, [p[4] for p in parts], len(parts), held


def signed_area(polygon):
    return regions_reference._shoelace(polygon)


@pytest.mark.parametrize("seed", range(36))
def test_cut_pieces_kernel_matches_its_twin(seed):
    args, polygons, _ = random_case(seed)
    budget = [1, 4, 10**6][seed % 3]
    got, want = cut_all(regions, args, budget), cut_all(regions_reference, args, budget)
    scale = max(np.abs(args[0]).max(), 1.0)
    assert_close(got[0], want[0], scale=scale, rtol=VERTEX_RTOL)
    for a, b in zip(got[1:3], want[1:3]):
        np.testing.assert_array_equal(a, b)
    assert got[4] == want[4]  # the same number of calls
    for chain, twin in zip(got[3], want[3]):  # the same chains of maps
        is_start, M_start, d_ptr, d_col, d_val = chain
        np.testing.assert_array_equal(is_start, twin[0])
        np.testing.assert_array_equal(d_ptr, twin[2])
        np.testing.assert_array_equal(d_col, twin[3])
        assert_close(M_start, twin[1], scale=np.abs(twin[1]).max(initial=1.0))
        assert_close(d_val, twin[4], scale=np.abs(twin[1]).max(initial=1.0))
    np.testing.assert_array_equal(got[5][0], want[5][0])  # the same lines held
    assert_close(got[5][1], want[5][1], scale=np.abs(want[5][1]).max(initial=1.0))
    # The pieces of each region tile it: positive areas that add up to the region's.
    verts, counts, owner = got[:3]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    areas = np.array([signed_area(verts[s : s + k]) for s, k in zip(starts, counts)])
    assert (areas > 0).all()
    whole = np.array([signed_area(p) for p in polygons])
    np.testing.assert_allclose(np.bincount(owner, areas, minlength=len(whole)), whole, rtol=1e-9)


def pattern_at(Z, points, relu, alpha, windows):
    """On/off of every unit and the winner of every window (the first of equals) at points."""
    values = points @ Z[:2] + Z[2]
    on = values > 0 if relu else np.ones_like(values, bool)
    passed = np.where(on, values, alpha * values)
    if len(windows) == 0:
        return on
    winners = windows[np.arange(len(windows)), passed[:, windows].argmax(axis=2)]
    return np.hstack([on, winners])


def map_at(Z, points, relu, alpha, windows):
    """What the layer passes on at points: the unit each column takes (the first of equals in
    a window) and whether it is on."""
    values = points @ Z[:2] + Z[2]
    on = values > 0 if relu else np.ones_like(values, bool)
    if len(windows) == 0:
        return on
    passed = np.where(on, values, alpha * values)
    winners = windows[np.arange(len(windows)), passed[:, windows].argmax(axis=2)]
    return np.hstack([winners, np.take_along_axis(on, winners, axis=1)])


def inside_points(polygon, rng, n=30):
    return 0.98 * rng.dirichlet(np.ones(len(polygon)), n) @ polygon + 0.02 * polygon.mean(axis=0)


@pytest.mark.parametrize("seed", [1, 2, 4, 5, 7, 8, 10, 11, 13, 14, 16, 17])
def test_pieces_are_the_linear_pieces(seed):
    """Inside a piece one map for the next layer (the held lines do not change it); cut along
    the lines they hold (`cut_by_lines`), inside a part one pattern (activations, winners,
    and the side of each line its region held), and two parts of one region never share it
    (the pooling cuts only where a window's maximum changes hands)."""
    args, _, Z = random_case(seed)
    verts, counts, owner, _, _, held = cut_all(regions, args, 10**6)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    lines_ptr, lines, relu, alpha, windows = args[3], args[4], args[13], args[14], args[15]
    rng = np.random.default_rng(seed)
    for s, k, r in zip(starts, counts, owner):
        maps = map_at(Z[r], inside_points(verts[s : s + k], rng), relu, alpha, windows)
        assert (maps == maps[0]).all(), "a piece holds two maps"
    v, st, k, part_of = regions.cut_by_lines(verts, starts, counts, *held, 1e-10, 4e-20)
    seen = set()
    for s, size, piece in zip(st, k, part_of):
        r = owner[piece]
        inside = inside_points(v[s : s + size], rng)
        region_lines = lines[lines_ptr[r] : lines_ptr[r + 1]]
        sides = inside @ region_lines[:, :2].T + region_lines[:, 2] > 0
        patterns = np.hstack([pattern_at(Z[r], inside, relu, alpha, windows), sides])
        assert (patterns == patterns[0]).all(), "a part holds two linear pieces"
        key = (r, patterns[0].tobytes())
        assert key not in seen, "one linear piece was cut in two"
        seen.add(key)


def regions_of(args, defer):
    """The parts of a cut with or without held lines, after `cut_by_lines`: (region, area)
    of each, sorted."""
    args = args[:-3] + (defer,) + args[-2:]
    verts, counts, owner, _, _, held = cut_all(regions, args, 10**6)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    v, st, k, part_of = regions.cut_by_lines(verts, starts, counts, *held, 1e-10, 4e-20)
    areas = np.array([signed_area(v[s : s + size]) for s, size in zip(st, k)])
    order = np.lexsort((areas, owner[part_of]))
    return len(counts), owner[part_of][order], areas[order]


def test_held_lines_give_the_same_regions():
    """Holding lines changes the order of the cuts, not their result: the same parts (by
    region and area) as cutting along every line at once; and it does hold some, so that
    fewer pieces reach the next layer."""
    fewer = 0
    for seed in range(60):
        if seed % 3 != 1:  # ReLU then pooling
            continue
        args = random_case(seed)[0]
        n_held, owner_held, areas_held = regions_of(args, True)
        n_all, owner_all, areas_all = regions_of(args, False)
        assert n_held <= n_all
        fewer += n_all - n_held
        np.testing.assert_array_equal(owner_held, owner_all)
        assert_close(areas_held, areas_all, scale=1.0, rtol=1e-9)
    assert fewer > 0


@pytest.mark.parametrize("seed", range(8))
def test_cut_by_lines_matches_its_twin(seed):
    rng = np.random.default_rng(seed)
    args, polygons, _ = random_case(seed)
    verts, starts, counts = args[:3]
    drawn = [region_lines(polygons, seed + 10 * i) for i in range(3)]  # up to 9 per piece
    ptr, rows = [0], []
    for r in range(len(polygons)):
        for p, lines in drawn:
            rows.extend(lines[p[r] : p[r + 1]])
        if seed % 2 and len(rows) > ptr[-1]:  # a line twice
            rows.append(rows[-1])
        ptr.append(len(rows))
    lines_ptr, lines = np.array(ptr, np.int64), np.array(rows).reshape(-1, 3)
    got = regions.cut_by_lines(verts, starts, counts, lines_ptr, lines, 1e-10, 4e-20)
    want = regions_reference.cut_by_lines(verts, starts, counts, lines_ptr, lines, 1e-10, 4e-20)
    assert_close(got[0], want[0], scale=1.0, rtol=VERTEX_RTOL)
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(a, b)
    # the parts tile their pieces, each on one side of every line of its piece
    areas = np.array([signed_area(got[0][s : s + k]) for s, k in zip(got[1], got[2])])
    assert (areas > 0).all()
    whole = np.array([signed_area(p) for p in polygons])
    np.testing.assert_allclose(np.bincount(got[3], areas, minlength=len(whole)), whole, rtol=1e-9)
    for s, k, r in zip(got[1], got[2], got[3]):
        inside = inside_points(got[0][s : s + k], rng)
        held = lines[lines_ptr[r] : lines_ptr[r + 1]]
        sides = inside @ held[:, :2].T + held[:, 2] > 0
        assert (sides == sides[0]).all()
    assert len(got[1]) > len(polygons) or len(lines) == 0


def test_cut_halves_share_a_chord():
    # Two neighbouring vertices lie on the cutting line (within the tolerance): the halves must
    # share one chord, not overlap in a thin triangle.
    square = np.array([[0.0, 0.0], [1e-3, 0.0], [1.0, 5e-8], [1.0, 1.0], [0.0, 1.0]])
    Z = np.array([[[-1e-7], [1.0], [0.0]]])  # f = y - 1e-7 x
    none = np.zeros((0, 0), np.int64)
    args = (square, np.zeros(1, np.int64), np.array([5]), *NO_LINES, Z, np.ones(1, bool))
    args += (*NO_CHAIN, *NO_ROWS, True, 0.0, none, np.zeros(2, np.int64), np.zeros(0, np.int64))
    args += (np.zeros(1, np.int64), np.zeros(0, np.int64), 1e-10, 1e-20, False, False, -1, 1)
    for module in (regions, regions_reference):
        verts, counts, _, chains = cut_all(module, args, 10)[:4]
        assert all(len(chain[0]) == len(chain[1]) == len(chain[3]) == 0 for chain in chains)
        assert all(chain[2].tolist() == [0] for chain in chains)  # no maps asked for
        areas = [signed_area(p) for p in np.split(verts, np.cumsum(counts)[:-1])]
        assert len(areas) == 2 and min(areas) > 0
        assert sum(areas) == pytest.approx(signed_area(square), rel=1e-13, abs=0)


@pytest.mark.parametrize("seed", range(12))
def test_piece_maps_follow_their_chain(seed):
    """The maps that come out (in calls of a few pieces, so that they start both from scratch
    and from the piece before): each column is the slope times the column of the unit that
    wins at the piece's vertex mean; a chain starts where the rule says; and the next layer's
    pre-activations that the chain gives equal a full product."""
    args, _, Z = random_case(seed)
    relu, alpha, windows = args[13], args[14], args[15]
    max_diff, chain_max = args[-2], args[-1]
    n_columns = len(windows) if len(windows) else Z.shape[2]
    state = regions.new_cut_state(len(args[1]), Z.shape[2])
    while not regions.cut_done(state):
        verts, starts, counts, owner, chain, _, state = regions.cut_pieces(*args, 7, state)
        is_start, M_start, d_ptr, d_col, d_val = chain
        assert is_start[0] and len(M_start) == is_start.sum()
        # every piece's map, from the chain
        M = np.empty((len(owner), 3, n_columns))
        used, run = 0, 0
        for c in range(len(owner)):
            if is_start[c]:
                M[c] = M_start[used]
                used, run = used + 1, 0
                continue
            run += 1
            assert run < chain_max and d_ptr[c + 1] - d_ptr[c] <= max_diff
            M[c] = M[c - 1]
            changed = d_col[d_ptr[c] : d_ptr[c + 1]]
            assert (np.diff(changed) > 0).all()
            M[c][:, changed] += d_val[d_ptr[c] : d_ptr[c + 1]].T
        for c, p in enumerate(owner):
            point = verts[starts[c] : starts[c] + counts[c]].mean(axis=0)
            for o in range(n_columns):
                units = windows[o] if len(windows) else [o]
                value = {u: float(point @ Z[p, :2, u] + Z[p, 2, u]) for u in units}
                slope = {u: (1.0 if value[u] > 0 else alpha) if relu else 1.0 for u in units}
                winner = max(units, key=lambda u: (slope[u] * value[u], -list(units).index(u)))
                assert_close(M[c, :, o], slope[winner] * Z[p, :, winner], scale=np.abs(Z[p]).max())
        check_next_layer(M, chain, seed)


def check_next_layer(M, chain, seed):
    """The next layer: a random sparse linear map of the columns (one row dense), plus a bias.
    The chain's starts are pushed in full; the pieces that follow them must come out as if
    pushed in full too, in the kernel (a cut of the pieces by the next layer) and its twin."""
    is_start, M_start, d_ptr, d_col, d_val = chain
    n, _, n_columns = M.shape
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(n_columns, 5)) * (rng.random((n_columns, 5)) < 0.6)
    L[0] = rng.normal(size=5)
    full = np.einsum("nco,ok->nck", M, L)
    full[:, 2] += 0.5
    pushed = np.einsum("nco,ok->nck", M_start, L)
    pushed[:, 2] += 0.5
    next_chain = (pushed, is_start, d_ptr, d_col, d_val, *csr(L))
    scale = (np.einsum("nco,ok->nck", np.abs(M), np.abs(L)) + 0.5).max()
    assert_close(regions_reference._chained(*next_chain), full, scale=scale, rtol=1e-12)
    # The kernel's own chain: the pieces (here all the square, as in the first layer) are
    # cut by the units of the next layer as if each had its full map.
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    verts = np.tile(square, (n, 1))
    starts, counts = np.arange(n, dtype=np.int64) * 4, np.full(n, 4, np.int64)
    settings = (True, 0.0, np.zeros((0, 0), np.int64), np.zeros(6, np.int64))
    settings += (np.zeros(0, np.int64), np.arange(5, dtype=np.int64), np.zeros(0, np.int64))
    settings += (1e-10, 4e-20, True, True, -1, 1)
    direct = (full, np.ones(n, bool), np.zeros(n + 1, np.int64), *NO_CHAIN[1:], *NO_ROWS)
    no_lines = (np.zeros(n + 1, np.int64), np.zeros((0, 3)))
    results = []
    for source in (next_chain, direct):
        state = regions.new_cut_state(n, 5)
        v, _, k, _, out, _, state = regions.cut_pieces(
            verts, starts, counts, *no_lines, *source, *settings, 10**6, state
        )
        results.append((v, k, out[1]))
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert_close(results[0][0], results[1][0], scale=1.0, rtol=1e-9)
    assert_close(results[0][2], results[1][2], scale=scale, rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_locate_points_matches_its_twin(seed):
    args, _, Z = random_case(seed)
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    one = (square, np.zeros(1, np.int64), np.array([4], np.int64), *NO_LINES)
    args = one + (Z[:1], np.ones(1, bool)) + NO_CHAIN + NO_ROWS + args[13:]
    verts, counts = cut_all(regions, args, 10**6)[:2]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1.05, 1.05, size=(300, 2))
    points[:20] = verts[rng.integers(len(verts), size=20)]  # on vertices: the lowest index
    got = regions.locate_points(verts, starts, counts, points, 1e-12)
    want = regions_reference.locate_points(verts, starts, counts, points, 1e-12)
    np.testing.assert_array_equal(got, want)
    inside = (np.abs(points) < 1).all(axis=1)
    assert (got[inside] >= 0).all() and (
        got[~inside & (np.abs(points) > 1.001).any(axis=1)] < 0
    ).all()
