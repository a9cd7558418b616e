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
    args = (verts, starts, counts, Z, relu, alpha, windows, ptr, held, *orders, 1e-10, 4e-20)
    return args, polygons


def cut_all(module, args, budget):
    """Run a resumable cut to the end; returns the concatenated pieces and the number of
    calls."""
    state = module.new_cut_state(len(args[1]), args[3].shape[2])
    parts = []
    while not module.cut_done(state):
        *pieces, state = module.cut_pieces(*args, budget, state)
        assert len(pieces[1]) <= budget
        parts.append(pieces)
    verts = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[2] for p in parts])
    owner = np.concatenate([p[3] for p in parts])
    touched = [p[5][p[4][i] : p[4][i + 1]] for p in parts for i in range(len(p[1]))]
    return verts, counts, owner, touched, len(parts)


def signed_area(polygon):
    return regions_reference._shoelace(polygon)


@pytest.mark.parametrize("seed", range(36))
def test_cut_pieces_kernel_matches_its_twin(seed):
    args, polygons = random_case(seed)
    budget = [1, 4, 10**6][seed % 3]
    got, want = cut_all(regions, args, budget), cut_all(regions_reference, args, budget)
    scale = max(np.abs(args[0]).max(), 1.0)
    assert_close(got[0], want[0], scale=scale, rtol=VERTEX_RTOL)
    for a, b in zip(got[1:3], want[1:3]):
        np.testing.assert_array_equal(a, b)
    assert got[4] == want[4]  # the same number of calls
    for a, b in zip(got[3], want[3]):  # the same touched lists
        np.testing.assert_array_equal(a, b)
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


@pytest.mark.parametrize("seed", [1, 2, 4, 5, 7, 8, 10, 11])
def test_pieces_are_the_linear_pieces(seed):
    """Inside a piece one pattern (activations and winners); two pieces of one region never
    share it (the pooling cuts only where a window's maximum changes hands)."""
    args, _ = random_case(seed)
    verts, counts, owner = cut_all(regions, args, 10**6)[:3]
    Z, relu, alpha, windows = args[3], args[4], args[5], args[6]
    rng = np.random.default_rng(seed)
    seen = set()
    start = 0
    for k, r in zip(counts, owner):
        polygon = verts[start : start + k]
        start += k
        inside = 0.98 * rng.dirichlet(np.ones(k), 30) @ polygon + 0.02 * polygon.mean(axis=0)
        patterns = pattern_at(Z[r], inside, relu, alpha, windows)
        assert (patterns == patterns[0]).all(), "a piece holds two linear pieces"
        key = (r, patterns[0].tobytes())
        assert key not in seen, "one linear piece was cut in two"
        seen.add(key)


def test_cut_halves_share_a_chord():
    # Two neighbouring vertices lie on the cutting line (within the tolerance): the halves must
    # share one chord, not overlap in a thin triangle.
    square = np.array([[0.0, 0.0], [1e-3, 0.0], [1.0, 5e-8], [1.0, 1.0], [0.0, 1.0]])
    Z = np.array([[[-1e-7], [1.0], [0.0]]])  # f = y - 1e-7 x
    none = np.zeros((0, 0), np.int64)
    args = (square, np.zeros(1, np.int64), np.array([5]), Z, True, 0.0, none)
    args += (np.zeros(2, np.int64), np.zeros(0, np.int64), np.zeros(1, np.int64))
    args += (np.zeros(0, np.int64), 1e-10, 1e-20)
    for module in (regions, regions_reference):
        verts, counts = cut_all(module, args, 10)[:2]
        areas = [signed_area(verts[:3]), signed_area(verts[3:])] if len(counts) == 2 else []
        areas = [signed_area(p) for p in np.split(verts, np.cumsum(counts)[:-1])]
        assert len(areas) == 2 and min(areas) > 0
        assert sum(areas) == pytest.approx(signed_area(square), rel=1e-13, abs=0)


@pytest.mark.parametrize("seed", range(12))
def test_map_kernels_match_their_twins(seed):
    """piece_maps, chain_plan and chain_maps, on the pieces of a random cut (in pieces of a
    few, so that maps start both from scratch and from the piece before)."""
    args, _ = random_case(seed)
    Zp, relu, alpha, windows, ptr, held = args[3], args[4], args[5], args[6], args[7], args[8]
    m = Zp.shape[2]
    n_columns = len(windows) if len(windows) else m
    state = regions.new_cut_state(len(args[1]), m)
    while not regions.cut_done(state):
        verts, starts, counts, owner, touch_ptr, touch, state = regions.cut_pieces(*args, 7, state)
        centroids = np.array([verts[s : s + k].mean(axis=0) for s, k in zip(starts, counts)])
        maps, diffs = [], []
        for module in (regions, regions_reference):
            out = np.zeros((len(owner), 3, n_columns))
            diff_ptr, diff = module.piece_maps(
                Zp, owner, centroids, relu, alpha, windows, ptr, held, touch_ptr, touch, out
            )
            maps.append(out)
            diffs.append([set(diff[diff_ptr[c] : diff_ptr[c + 1]]) for c in range(len(owner))])
        # equal maps: the touched lists leave out only columns that are the same anyway
        np.testing.assert_array_equal(maps[0], maps[1])
        assert diffs[0] == diffs[1]
        check_chains(maps[0], diff_ptr, diff, seed)
    # each column is the slope times the column of the unit that wins at the centroid
    M = maps[0]
    for c, p in enumerate(owner):
        for o in range(n_columns):
            units = windows[o] if len(windows) else [o]
            value = {u: float(centroids[c] @ Zp[p, :2, u] + Zp[p, 2, u]) for u in units}
            slope = {u: (1.0 if value[u] > 0 else alpha) if relu else 1.0 for u in units}
            winner = max(units, key=lambda u: (slope[u] * value[u], -list(units).index(u)))
            assert_close(M[c, :, o], slope[winner] * Zp[p, :, winner], scale=np.abs(Zp[p]).max())


def check_chains(M, diff_ptr, diff, seed):
    """The next layer: a random sparse linear map of the columns, plus a bias. Chain starts
    are pushed in full; the chained pieces must come out as if pushed in full too."""
    n_columns = M.shape[2]
    max_diff, chain = [1, 3, 100][seed % 3], [2, 5, 64][seed % 3]
    start = regions.chain_plan(diff_ptr, max_diff, chain)
    np.testing.assert_array_equal(start, regions_reference.chain_plan(diff_ptr, max_diff, chain))
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(n_columns, 5)) * (rng.random((n_columns, 5)) < 0.6)
    nz = np.nonzero(L)
    L_ptr = np.concatenate([[0], np.cumsum(np.bincount(nz[0], minlength=n_columns))])
    rows = (L_ptr.astype(np.int64), nz[1].astype(np.int64), L[nz])
    full = np.einsum("nco,ok->nck", M, L)
    full[:, 2] += 0.5
    results = []
    for module in (regions, regions_reference):
        Z = np.where(start[:, None, None], full, np.nan)
        module.chain_maps(M, start, diff_ptr, diff, *rows, Z)
        results.append(Z)
    assert not np.isnan(results[0]).any()
    assert_close(results[0], results[1])
    scale = np.einsum("nco,ok->nck", np.abs(M), np.abs(L)) + 0.5
    assert_close(results[0], full, scale=scale.max(), rtol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_locate_points_matches_its_twin(seed):
    args, _ = random_case(seed)
    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    args = (square, np.zeros(1, np.int64), np.array([4], np.int64)) + args[3:]
    args = args[:3] + (args[3][:1],) + args[4:]
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
