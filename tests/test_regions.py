"""Exact linear regions against dense sampling, tiling, and an independent face count."""

import itertools

import numpy as np
import pytest

import hashnet as hn
from hashnet.codes import alone_in_pattern
from hashnet.regions import enumerate as enumerate_regions
from hashnet.regions import plane_through

BOX = (-3.0, 3.0, -2.0, 2.5)


def random_net(hidden, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    net = hn.MLP(2, hidden, 3, dtype="float64", seed=seed, **kwargs)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    for s in net._state_arrays():
        s[...] = rng.random(s.shape) + 0.5
    return net


def grid(extent, n=90):
    s0, s1, t0, t1 = extent
    # Stay off the border, and off round numbers where hand-made lines may pass.
    s = np.linspace(s0, s1, n + 2)[1:-1] + 1e-7 * (s1 - s0)
    t = np.linspace(t0, t1, n + 2)[1:-1] + 2e-7 * (t1 - t0)
    return np.array(list(itertools.product(s, t)))


def check_against_sampling(R, net, points):
    """Each sample's polygon (found geometrically) carries the network's code at the sample."""
    where = R.locate(points)
    assert (where >= 0).all(), "a sample fell in no polygon"
    codes = net.codes(R.plane.to_input(points).reshape(len(points), *net.input_shape))
    np.testing.assert_array_equal(R.codes.words[where], codes.words)
    return where


def check_tiling(R):
    areas = R.areas()
    assert (areas > 0).all(), "a polygon is clockwise or of zero area"
    assert areas.sum() == pytest.approx(R.plane.area, rel=1e-9)
    # Convex pieces of distinct patterns: one region per code.
    assert R.distinct_codes() == R.n_regions


NETS = {
    "relu 2-8-8": lambda: random_net((8, 8)),
    "leaky 2-6-5": lambda: random_net((6, 5), activation="leaky_relu", alpha=0.2, seed=1),
    "batchnorm 2-7-7": lambda: random_net((7, 7), batchnorm=True, seed=2),
    "dropout 2-10": lambda: random_net((10,), dropout=0.5, seed=3),
}


@pytest.mark.parametrize("name", list(NETS))
def test_random_nets_match_dense_sampling(name):
    net = NETS[name]()
    R = enumerate_regions(net, box=BOX)
    check_tiling(R)
    check_against_sampling(R, net, grid(BOX))
    centres = R.centroids()
    np.testing.assert_array_equal(R.codes.words, net.codes(centres).words)
    np.testing.assert_allclose(
        np.einsum("ri,rik->rk", centres, R.logit_A) + R.logit_c, net._forward(centres), atol=1e-9
    )
    np.testing.assert_array_equal(R.predicted(), net.predict(centres))


def test_trained_net_and_layer_by_layer():
    Xtr, ytr, _, _ = hn.datasets.load("moons", n_train=300)
    net = hn.MLP(2, (16, 16), 2, seed=0).fit(Xtr, ytr, epochs=20, lr=1e-2, verbose=0)
    R = enumerate_regions(net, box=(-3, 3, -2, 2))
    check_tiling(R)
    check_against_sampling(R, net, grid(R.plane.extent, 60))
    first = R.at_layer(1)
    check_tiling(first)
    assert first.n_regions <= R.n_regions
    np.testing.assert_array_equal(
        first.codes.bits(), net.codes(first.centroids(), layers=[0]).bits()
    )


def arrangement_faces(W, b, box):
    """Faces of the arrangement of lines w.x + b = 0 inside a box, by Euler's formula for lines
    in general position: 1 + (lines crossing the box) + (crossing points inside the box)."""
    x0, x1, y0, y1 = box
    corners = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    values = corners @ W + b
    crossing = (values.min(axis=0) < 0) & (values.max(axis=0) > 0)
    points = 0
    for i, j in itertools.combinations(np.flatnonzero(crossing), 2):
        p = np.linalg.solve(W[:, [i, j]].T, -b[[i, j]])
        points += x0 < p[0] < x1 and y0 < p[1] < y1
    return 1 + int(crossing.sum()) + points


@pytest.mark.parametrize("seed", range(4))
def test_one_hidden_layer_counts_the_faces_of_its_line_arrangement(seed):
    net = random_net((12,), seed=seed)
    W, b = net.get_weights()[:2]
    assert enumerate_regions(net, box=BOX).n_regions == arrangement_faces(W, b, BOX)


def test_degenerate_networks_stay_valid():
    # Duplicated units: the same lines twice change nothing.
    net = random_net((6,), seed=4)
    W, b, W2, b2 = net.get_weights()
    twin = hn.MLP(2, (12,), 3, dtype="float64")
    twin.set_weights([np.hstack([W, W]), np.concatenate([b, b]), np.vstack([W2, W2]) / 2, b2])
    assert enumerate_regions(twin, box=BOX).n_regions == enumerate_regions(net, box=BOX).n_regions
    # Four lines through one point (the origin), two of them through the box's corners, and a
    # fifth parallel to one of them, crossing three others: 8 sectors, 4 of them cut in two.
    W = np.array([[1.0, 0.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, -1.0, 1.0]])
    b = np.array([0.0, 0.0, 0.0, 0.0, -0.5])
    lines = hn.MLP(2, (5,), 2, dtype="float64")
    lines.set_weights([W, b, np.ones((5, 2)), np.zeros(2)])
    R = enumerate_regions(lines, box=(-1, 1, -1, 1))
    check_tiling(R)
    check_against_sampling(R, lines, grid((-1, 1, -1, 1), 50))
    assert R.n_regions == 8 + 4
    # A dead layer (every unit off everywhere) adds no region; a zero unit neither.
    dead = random_net((6, 4), seed=5)
    weights = dead.get_weights()
    weights[2][:, 1] = 0.0  # one unit with no weights
    weights[3][:] = -1e3  # the whole second layer off
    dead.set_weights(weights)
    R = enumerate_regions(dead, box=BOX)
    check_tiling(R)
    assert R.n_regions == R.at_layer(1).n_regions
    assert not R.codes.layer(1).bits().any()


def test_plane_through_three_images():
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", n_train=200)
    net = hn.MLP(784, (12, 12), 10, seed=0, dtype="float64").fit(Xtr, ytr, epochs=3, verbose=0)
    P = plane_through(Xtr[0], Xtr[1], Xtr[2])
    R = enumerate_regions(net, plane=P)
    check_tiling(R)
    check_against_sampling(R, net, grid(P.extent, 50))
    np.testing.assert_allclose(P.to_input(P.anchors), Xtr[:3], atol=1e-9)


def test_occupancy():
    net = random_net((8, 8), seed=6)
    R = enumerate_regions(net, box=BOX)
    points = np.random.default_rng(0).uniform([-2.9, -1.9], [2.9, 2.4], size=(200, 2))
    y = np.arange(200) % 3
    occ = R.occupancy(points, y, border=True)
    assert occ.counts.sum() == 200
    np.testing.assert_array_equal(occ.region, R.locate(points))
    assert occ.alone_fraction == pytest.approx(alone_in_pattern(net.codes(points)).mean())
    for r in occ.shared:
        labels = np.unique(y[occ.region == r])
        assert (r in occ.mixed) == (labels.size > 1)
    # Distances: to the nearest polygon edge, checked against a brute-force sampling of edges.
    inner = R.occupancy(points, y).distance  # the default: the box's border is no boundary
    for i in range(0, 200, 37):
        polygon = R.polygons[occ.region[i]]
        ends = list(zip(polygon, np.roll(polygon, -1, axis=0)))
        steps = np.linspace(0, 1, 2001)[:, None]
        nearest = np.hypot(*(np.concatenate([a + steps * (b - a) for a, b in ends]) - points[i]).T)
        assert occ.distance[i] == pytest.approx(nearest.min(), abs=5e-3)
        on_border = [on_box_border(a, b) for a, b in ends]
        inside = [a + steps * (b - a) for (a, b), out in zip(ends, on_border) if not out]
        gap = np.hypot(*(np.concatenate(inside) - points[i]).T).min() if inside else np.inf
        assert inner[i] == pytest.approx(gap, abs=5e-3)
    # A point's distance to its region's boundary is at most its distance to the box border.
    border = np.minimum.reduce(
        [points[:, 0] + 3, 3 - points[:, 0], points[:, 1] + 2, 2.5 - points[:, 1]]
    )
    assert (occ.distance <= border + 1e-12).all()
    assert (inner >= occ.distance - 1e-12).all() and (inner > occ.distance).any()


def on_box_border(a, b):
    """Whether the edge a-b lies along a side of BOX."""
    return any(np.isclose([a[i], b[i]], BOX[2 * i + j]).all() for i in (0, 1) for j in (0, 1))


def test_occupancy_distances_are_input_distances():
    # A plane with a skewed, stretched basis: distances in (s, t) are not input distances.
    net = hn.MLP(3, (4,), 2, dtype="float64", seed=0)
    u, v = np.array([2.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.5])
    P = hn.regions.plane(np.zeros(3), u, v, extent=(-1, 1, -1, 1))
    R = enumerate_regions(net, plane=P)
    points = np.random.default_rng(1).uniform(-0.9, 0.9, size=(25, 2))
    occ = R.occupancy(points, border=True)
    for i in range(25):
        polygon = R.polygons[occ.region[i]]
        steps = np.linspace(0, 1, 4001)[:, None]
        edges = np.concatenate(
            [a + steps * (b - a) for a, b in zip(polygon, np.roll(polygon, -1, axis=0))]
        )
        gaps = np.linalg.norm(P.to_input(edges) - P.to_input(points[i]), axis=1)
        assert occ.distance[i] == pytest.approx(gaps.min(), abs=2e-3)
    whole = enumerate_regions(hn.MLP(2, (1,), 2, seed=0), box=(5, 6, 5, 6))  # no boundary
    assert whole.n_regions == 1 and np.isinf(whole.occupancy([[5.5, 5.5]]).distance).all()


def test_decision_boundary_along_a_region_edge():
    # Two ReLUs switching on the line x = 0 and logits l1 - l0 = relu(x) - relu(-x) / 2: the
    # class changes exactly on the edge between the two regions (inside neither region).
    net = hn.MLP(2, (2,), 2, dtype="float64")
    net.set_weights(
        [
            np.array([[1.0, -1.0], [0.0, 0.0]]),
            np.zeros(2),
            np.array([[0.0, 1.0], [0.0, -0.5]]),
            np.zeros(2),
        ]
    )
    R = enumerate_regions(net, box=(-1, 1, -1, 1))
    assert R.n_regions == 2
    segments = R.decision_boundary()
    assert len(segments) == 1
    np.testing.assert_allclose(np.sort(segments[0], axis=0), [[0, -1], [0, 1]], atol=1e-12)
    # A tie on the edge without a change of class (l1 - l0 = -|x|) is no boundary.
    net.set_weights(
        [
            np.array([[1.0, -1.0], [0.0, 0.0]]),
            np.zeros(2),
            np.array([[0.0, -1.0], [0.0, -1.0]]),
            np.zeros(2),
        ]
    )
    assert len(enumerate_regions(net, box=(-1, 1, -1, 1)).decision_boundary()) == 0
    # And a boundary crossing a region's inside is still found once.
    net.set_weights(
        [
            np.array([[1.0, -1.0], [0.0, 0.0]]),
            np.zeros(2),
            np.array([[0.0, 1.0], [0.0, 1.0]]),
            np.array([0.0, -0.5]),
        ]
    )
    segments = enumerate_regions(net, box=(-1, 1, -1, 1)).decision_boundary()
    xs = np.sort(np.unique(np.round(segments[:, :, 0], 9)))
    np.testing.assert_allclose(xs, [-0.5, 0.5])


def test_bad_input():
    net = random_net((4,))
    with pytest.raises(ValueError, match="positive area"):
        enumerate_regions(net, box=(0, 0, -1, 1))
    with pytest.raises(ValueError, match="collinear"):
        plane_through(np.zeros(5), np.ones(5), 2 * np.ones(5))
    wide = hn.MLP(5, (4,), 2)
    with pytest.raises(ValueError, match="plane="):
        enumerate_regions(wide, box=BOX)
    with pytest.raises(ValueError, match="exactly one"):
        enumerate_regions(net)
    with pytest.raises(ValueError, match="max_regions=3"):
        enumerate_regions(random_net((8, 8)), box=BOX, max_regions=3)
    for bad in (None, "10", 2.5, 0, True):
        with pytest.raises(ValueError, match="max_regions must be"):
            enumerate_regions(net, box=BOX, max_regions=bad)


def test_plane_input_checks():
    rng = np.random.default_rng(0)
    xa, xb = rng.random(784, dtype=np.float32), rng.random(784, dtype=np.float32)
    xc = (xa + np.float32(2.7) * (xb - xa)).astype(np.float32)  # on the line, up to rounding
    with pytest.raises(ValueError, match="collinear .*precision"):
        plane_through(xa, xb, xc)
    plane_through(xa.astype(np.float64), xb.astype(np.float64), rng.random(784))  # fine
    image = rng.random((1, 28, 28))
    nan = image.copy()
    nan[0, 3, 4] = np.nan
    with pytest.raises(ValueError, match="xb holds NaN"):
        plane_through(image, nan, image + 1)
    with pytest.raises(ValueError, match="margin must be a number >= 0"):
        plane_through(xa, xb, rng.random(784), margin=-1)
    P = plane_through(xa, xb, rng.random(784))
    with pytest.raises(ValueError, match=r"center must be a point \(s, t\)"):
        P.zoom([0, 0, 0], 0.1)
    with pytest.raises(ValueError, match="half_width must be a positive number"):
        P.zoom([0, 0], -1)
    assert P.zoom(np.array([[1.0, 2.0]]).ravel(), 0.5).extent == (0.5, 1.5, 1.5, 2.5)


def one_relu(offset):
    """One ReLU switching on the line x = offset (float64)."""
    net = hn.MLP(2, (1,), 2, dtype="float64")
    net.set_weights(
        [np.array([[1.0], [0.0]]), np.array([-offset]), np.array([[1.0, -1.0]]), np.zeros(2)]
    )
    return net


@pytest.mark.parametrize(
    "box, offset",
    [((1e8, 1e8 + 1, 1e8, 1e8 + 1), 1e8 + 0.3), ((0.3, 0.3 + 1e-9, 0.3, 0.3 + 1e-9), 0.3 + 3e-10)],
)
def test_small_and_far_away_domains(box, offset):
    R = enumerate_regions(one_relu(offset), box=box)
    assert R.n_regions == 2
    width = box[1] - box[0]
    np.testing.assert_allclose(np.sort(R.areas()), np.array([0.3, 0.7]) * width**2, rtol=1e-6)
    assert R.areas().sum() == pytest.approx(R.plane.area, rel=1e-9)
    points = grid(box, 20)
    codes = one_relu(offset).codes(points).words
    np.testing.assert_array_equal(R.codes.words[R.locate(points)], codes)


def test_domains_float64_cannot_resolve_are_refused():
    with pytest.raises(ValueError, match="too small for float64"):
        enumerate_regions(one_relu(1.0), box=(1.0, 1.0 + 1e-12, 0.0, 1.0))
    net = hn.MLP(784, (4,), 2, dtype="float64")
    P = plane_through(*np.random.default_rng(0).random((3, 784)))
    with pytest.raises(ValueError, match="too small for float64"):
        enumerate_regions(net, plane=P.zoom(P.anchors[0], 1e-13))


def test_zoom_around_a_boundary_point_of_a_trained_net():
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", n_train=300)
    net = hn.MLP(784, (100,), 10, seed=0, dtype="float64").fit(Xtr, ytr, epochs=2, verbose=0)
    P = plane_through(Xtr[0], Xtr[1], Xtr[2])
    coarse = enumerate_regions(net, plane=P.zoom(P.anchors[0], 1.0))
    vertices = np.concatenate(coarse.polygons)
    inside = (np.abs(vertices - P.anchors[0]) < 0.9).all(axis=1)
    corner = vertices[inside][0]  # a vertex inside the square: where three regions meet
    for half in (1e-8, 1e-7):
        R = enumerate_regions(net, plane=P.zoom(corner, half))
        assert R.n_regions >= 3
        assert R.areas().sum() == pytest.approx(R.plane.area, rel=1e-9)
        assert (R.areas() > 0).all()
        points = grid(R.plane.extent, 40)
        inputs = R.plane.to_input(points)
        codes = net.codes(inputs).words
        where = R.locate(points)
        agree = (R.codes.words[where] == codes).all(axis=1)
        # inputs are rounded to float64 around values of order 1: within a few 1e-6 of the
        # domain's size of a boundary, the sampled code may fall on either side
        assert agree.mean() > 0.97
        near = coarse_distance(R, points) < 1e-5 * half
        assert agree[~near].all()


def coarse_distance(R, points):
    """Each point's distance to its region's nearest edge, plane units."""
    return R.occupancy(points, border=True).distance


def test_small_regions_are_not_lost():
    # Three lines bounding an equilateral triangle of side 5e-6 around the origin: 7 regions,
    # the tiny middle one included, and its code is the network's code at the origin.
    angles = np.deg2rad([90, 210, 330])
    W = np.stack([np.cos(angles), np.sin(angles)])  # unit normals pointing outwards
    inradius = 5e-6 / (2 * np.sqrt(3))
    net = hn.MLP(2, (3,), 2, dtype="float64")
    net.set_weights([-W, np.full(3, inradius), np.ones((3, 2)), np.zeros(2)])
    R = enumerate_regions(net, box=(-3, 3, -3, 3))
    assert R.n_regions == 7
    middle = R.locate(np.zeros((1, 2)))[0]
    np.testing.assert_array_equal(R.codes.bits()[middle], [1, 1, 1])
    check_tiling(R)
