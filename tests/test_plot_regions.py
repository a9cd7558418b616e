"""The decision boundary inside exact regions, and the region pictures."""

import numpy as np
import pytest

import hashnet as hn
from hashnet.regions import enumerate as enumerate_regions
from hashnet.regions import plane_through

BOX = (-3.0, 3.0, -3.0, 3.0)
PNG = b"\x89PNG\r\n\x1a\n"


def random_net(seed, n_classes=3):
    rng = np.random.default_rng(seed)
    net = hn.MLP(2, (8, 8), n_classes, dtype="float64", seed=seed)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    return net


def boundary_net(seed):
    """A 3-class net whose boundary crosses the box (some random nets predict one class)."""
    for s in range(seed, seed + 50):
        net = random_net(s)
        R = enumerate_regions(net, box=BOX)
        if len(set(R.predicted())) >= 2:
            return net, R
    raise AssertionError("no random net with two predicted classes")


def test_two_class_boundary_is_a_known_line():
    # Hidden units relu(x1 + 5), relu(x2 + 5) are linear on the box (x > -5 there), and the
    # logit difference is 2 (x1 + 5) - 3 (x2 + 5) + 1 = 2 x1 - 3 x2 - 4: zero on 2 x1 - 3 x2 = 4.
    net = hn.MLP(2, (2,), 2, dtype="float64")
    W1, b1 = np.eye(2), np.array([5.0, 5.0])
    W2, b2 = np.array([[0.0, 2.0], [0.0, -3.0]]), np.array([0.0, 1.0])
    net.set_weights([W1, b1, W2, b2])
    R = enumerate_regions(net, box=BOX)
    segments = R.decision_boundary()
    assert segments.shape[1:] == (2, 2) and len(segments) >= 1
    ends = segments.reshape(-1, 2)
    np.testing.assert_allclose(2 * ends[:, 0] - 3 * ends[:, 1], 4.0, atol=1e-9)
    assert (ends >= -3 - 1e-9).all() and (ends <= 3 + 1e-9).all()
    # One region (no ReLU switches in the box), so one segment: the whole chord of the line
    # inside the box, from (-5/2, -3) to (3, 2/3).
    assert R.n_regions == 1 and len(segments) == 1
    np.testing.assert_allclose(sorted(map(tuple, ends)), [(-2.5, -3.0), (3.0, 2 / 3)], atol=1e-9)


@pytest.mark.parametrize("seed", [2, 3, 4, 6])
def test_three_class_boundary_is_where_classes_tie(seed):
    net, R = boundary_net(seed)
    segments = R.decision_boundary()
    assert len(segments) > 0
    mid = segments.mean(axis=1)
    top = np.sort(net._forward(mid), axis=1)[:, -2:]
    gap = np.abs(top[:, 1] - top[:, 0]) / np.maximum(1.0, np.abs(top[:, 1]))
    assert gap.max() <= 1e-6
    direction = segments[:, 1] - segments[:, 0]
    normal = np.column_stack([-direction[:, 1], direction[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    step = 1e-5 * max(1.0, np.abs(mid).max())
    left, right = net.predict(mid + step * normal), net.predict(mid - step * normal)
    assert (left != right).all()
    s0, s1, t0, t1 = BOX
    ends = segments.reshape(-1, 2)
    assert ((ends >= [s0 - 1e-9, t0 - 1e-9]) & (ends <= [s1 + 1e-9, t1 + 1e-9])).all()


def test_boundary_matches_a_grid_of_predictions():
    # Wherever neighbouring grid points get different classes, a segment passes between them.
    net, R = boundary_net(2)
    segments = R.decision_boundary()
    g = np.linspace(-2.9, 2.9, 60) + 1e-7
    pts = np.array([(s, t) for t in g for s in g])
    pred = net.predict(pts).reshape(60, 60)
    rows, cols = np.nonzero(pred[:, 1:] != pred[:, :-1])
    for i, j in zip(rows, cols):
        a, b = np.array([g[j], g[i]]), np.array([g[j + 1], g[i]])
        assert any(_crosses(a, b, p, q) for p, q in segments)


def _crosses(a, b, p, q):
    def side(o, x, z):
        return (x[0] - o[0]) * (z[1] - o[1]) - (x[1] - o[1]) * (z[0] - o[0])

    return side(a, b, p) * side(a, b, q) <= 0 and side(p, q, a) * side(p, q, b) <= 0


def test_no_boundary_without_logits_or_for_one_class():
    net, R = boundary_net(2)
    assert R.at_layer(1).decision_boundary().shape == (0, 2, 2)
    one = random_net(1)
    weights = one.get_weights()
    weights[-2][:] = 0.0  # logits do not depend on the input: class 0 wins everywhere
    weights[-1][:] = [1.0, 0.0, 0.0]
    one.set_weights(weights)
    R1 = enumerate_regions(one, box=BOX)
    assert set(R1.predicted()) == {0}
    assert R1.decision_boundary().shape == (0, 2, 2)


@pytest.fixture(scope="module")
def scene():
    net, R = boundary_net(2)
    X = np.random.default_rng(0).uniform(-3, 3, size=(60, 2))
    return net, R, X, net.predict(X)


def _check_png(path):
    assert path.read_bytes()[:8] == PNG


@pytest.mark.parametrize("color_by", ["code", "class", "occupancy"])
def test_regions_picture_for_each_colouring(scene, tmp_path, color_by):
    _, R, X, y = scene
    path = tmp_path / f"regions_{color_by}.png"
    fig = hn.plot.regions(R, X, y, color_by=color_by, path=path, title=color_by)
    _check_png(path)
    assert len(fig.axes) == 1
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind


def test_regions_picture_by_layer(scene, tmp_path):
    _, R, X, y = scene
    path = tmp_path / "layers.png"
    fig = hn.plot.regions(R, X, y, layers=True, path=path)
    _check_png(path)
    assert len(fig.axes) == 2 + 1  # after layer 1, after layer 2, the final picture


def test_regions_picture_through_three_images(tmp_path):
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini")
    picks = [int(np.flatnonzero(ytr == k)[0]) for k in (0, 1, 7)]
    rng = np.random.default_rng(0)
    net = hn.MLP(784, (8, 8), 10, dtype="float64", seed=0)
    net.set_weights([rng.normal(size=w.shape) * 0.2 for w in net.get_weights()])
    plane = plane_through(*Xtr[picks])
    R = enumerate_regions(net, plane=plane)
    path = tmp_path / "slice.png"
    fig = hn.plot.regions(
        R, plane.anchors, ytr[picks], color_by="class", images=Xtr[picks], path=path
    )
    _check_png(path)
    assert len(fig.axes) == 1 + 3
    fig = hn.plot.regions(R, images=Xtr[picks], layers=True)
    assert len(fig.axes) == 3 + 3


def test_bad_inputs_raise(scene):
    _, R, X, y = scene
    with pytest.raises(ValueError, match="color_by"):
        hn.plot.regions(R, X, y, color_by="colour")
    with pytest.raises(ValueError, match="occupancy"):
        hn.plot.regions(R, color_by="occupancy")
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        hn.plot.regions(R, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        hn.plot.regions(R, np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        hn.plot.regions(R, np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="one label per point"):
        hn.plot.regions(R, X, y[:-1])
    with pytest.raises(ValueError, match="three"):
        hn.plot.regions(R, images=[np.zeros(784)] * 2)
    with pytest.raises(ValueError, match="784"):
        hn.plot.regions(R, images=[np.zeros(10)] * 3)
    with pytest.raises(ValueError, match="logits"):
        hn.plot.regions(R.at_layer(1), color_by="class")


def test_two_class_boundary_across_regions():
    # relu(x1) - relu(-x1) = x1 switches at x1 = 0, yet the logit difference stays
    # 2 x1 - 3 (x2 + 5) + 11 = 2 x1 - 3 x2 - 4: the same line, now cut in two by x1 = 0.
    net = hn.MLP(2, (3,), 2, dtype="float64")
    W1 = np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 1.0]])
    b1 = np.array([0.0, 0.0, 5.0])
    W2 = np.array([[0.0, 2.0], [0.0, -2.0], [0.0, -3.0]])
    b2 = np.array([0.0, 11.0])
    net.set_weights([W1, b1, W2, b2])
    R = enumerate_regions(net, box=BOX)
    segments = R.decision_boundary()
    assert R.n_regions == 2 and len(segments) == 2
    ends = segments.reshape(-1, 2)
    np.testing.assert_allclose(2 * ends[:, 0] - 3 * ends[:, 1], 4.0, atol=1e-9)
    length = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum()
    assert length == pytest.approx(np.hypot(5.5, 11 / 3), rel=1e-9)
