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
    s = np.linspace(s0, s1, n + 2)[1:-1] + 1e-7
    t = np.linspace(t0, t1, n + 2)[1:-1] + 2e-7
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
    occ = R.occupancy(points, y)
    assert occ.counts.sum() == 200
    np.testing.assert_array_equal(occ.region, R.locate(points))
    assert occ.alone_fraction == pytest.approx(alone_in_pattern(net.codes(points)).mean())
    for r in occ.shared:
        labels = np.unique(y[occ.region == r])
        assert (r in occ.mixed) == (labels.size > 1)
    # Distances: to the nearest polygon edge, checked against a brute-force sampling of edges.
    for i in range(0, 200, 37):
        polygon = R.polygons[occ.region[i]]
        edge_points = np.concatenate(
            [
                a + np.linspace(0, 1, 2001)[:, None] * (b - a)
                for a, b in zip(polygon, np.roll(polygon, -1, axis=0))
            ]  # noqa: E501
        )
        nearest = np.hypot(*(edge_points - points[i]).T).min()
        assert occ.distance[i] == pytest.approx(nearest, abs=5e-3)
    # A point's distance to its region's boundary is at most its distance to the box border.
    border = np.minimum.reduce(
        [points[:, 0] + 3, 3 - points[:, 0], points[:, 1] + 2, 2.5 - points[:, 1]]
    )
    assert (occ.distance <= border + 1e-12).all()


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
