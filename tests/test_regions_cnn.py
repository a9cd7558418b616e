"""Exact regions of CNNs on planes through images, and along segments, against sampling.

With max pooling a linear piece is an activation pattern *and* a choice of winner in every
pooling window, so the checks here use the logits too: on each piece the network must be the
piece's affine map, at every sample.
"""

import numpy as np
import pytest
from test_regions import check_against_sampling, grid
from test_regions_along import N_SAMPLES, run_lengths

import hashnet as hn
from hashnet.nn import (
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    MaxPool2D,
    ReLU,
)
from hashnet.regions import count_along, plane_through
from hashnet.regions import enumerate as enumerate_regions

SHAPE = (2, 6, 6)

CNNS = {
    "conv-maxpool": lambda: [
        Conv2D(3, 3, padding=1),
        ReLU(),
        MaxPool2D(2),
        Conv2D(4, 2),
        LeakyReLU(0.1),
        Flatten(),
        Dense(5),
        ReLU(),
        Dense(3),
    ],
    "stride-bn-avgpool-gap": lambda: [
        Conv2D(4, 3, stride=2, padding=1),
        BatchNorm(),
        ReLU(),
        AvgPool2D(2, stride=1),
        Conv2D(3, 1),
        ReLU(),
        GlobalAvgPool2D(),
        Dense(3),
    ],
    "overlapping maxpool": lambda: [
        Conv2D(2, 3),
        ReLU(),
        MaxPool2D(3, stride=1),
        Flatten(),
        Dense(3),
    ],
}


def random_cnn(name, seed=0):
    rng = np.random.default_rng(seed)
    net = hn.CNN(CNNS[name](), input_shape=SHAPE, seed=seed, dtype="float64")
    net.set_weights([rng.normal(size=w.shape) * 0.7 for w in net.get_weights()])
    for s in net._state_arrays():
        s[...] = rng.random(s.shape) + 0.5
    return net


def images(seed, n=3):
    return np.random.default_rng(100 + seed).normal(size=(n, *SHAPE))


def check_logits(R, net, points):
    """At every sample the network equals the affine map of the piece holding it."""
    where = R.locate(points)
    inputs = R.plane.to_input(points).reshape(len(points), *net.input_shape)
    piecewise = np.einsum("ri,rik->rk", points, R.logit_A[where]) + R.logit_c[where]
    np.testing.assert_allclose(piecewise, net._forward(inputs), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", list(CNNS))
def test_cnn_slices_match_dense_sampling(name):
    net = random_cnn(name)
    P = plane_through(*images(len(name)))
    R = enumerate_regions(net, plane=P)
    assert R.n_regions > 5, "the test plane should cut a few regions"
    areas = R.areas()
    assert (areas > 0).all()
    assert areas.sum() == pytest.approx(P.area, rel=1e-9)  # the pieces tile the plane
    points = grid(P.extent, 70)
    check_against_sampling(R, net, points)
    check_logits(R, net, points)
    centres = R.centroids()
    inputs = P.to_input(centres).reshape(len(centres), *SHAPE)
    np.testing.assert_array_equal(R.codes.words, net.codes(inputs).words)
    if not any(isinstance(layer, MaxPool2D) for layer in net.layers):
        assert R.distinct_codes() == R.n_regions  # affine pooling adds no boundary


def test_max_pooling_adds_boundaries_inside_activation_regions():
    # Without ReLUs before it, a max pool alone still cuts the plane: where the winner of a
    # window changes, the affine map changes.
    net = hn.CNN([MaxPool2D(2), Flatten(), Dense(2)], input_shape=(1, 2, 2), dtype="float64")
    P = hn.regions.plane(np.zeros(4), [1.0, 0, 0, 0], [0, 1.0, 0, 0], extent=(-1, 1, -1, 1))
    R = enumerate_regions(net, plane=P)
    # inputs (s, t, 0, 0): the max is s, t or 0, so the lines s = t, s = 0, t = 0 (s, t < 0
    # meet in one piece where 0 wins twice over): pieces s > max(t, 0), t > max(s, 0), and
    # the quadrant s, t < 0
    assert R.n_regions == 3
    check_logits(R, net, grid(P.extent, 40))


@pytest.mark.parametrize("name", list(CNNS))
def test_cnn_segments_match_sampling(name):
    net = random_cnn(name, seed=1)
    xa, xb = images(7, n=2)
    c = count_along(net, xa, xb)
    assert c.n_regions > 3
    ts = np.linspace(0.0, 1.0, N_SAMPLES)
    inputs = xa + ts[:, None, None, None] * (xb - xa)
    sampled = net.codes(inputs).words
    where = np.searchsorted(c.t, ts, side="right")
    near = np.abs(ts[:, None] - c.t[None, :]).min(axis=1) < 1e-9
    np.testing.assert_array_equal(sampled[~near], c.codes.words[where[~near]])
    # The pieces along the segment are the pieces of the plane through xa, xb (and a third
    # image) crossed by the segment between the first two anchors.
    P = plane_through(xa, xb, images(8, n=1)[0])
    R = enumerate_regions(net, plane=P)
    st = P.anchors[0] + ts[:, None] * (P.anchors[1] - P.anchors[0])
    crossed = R.locate(st)
    crossed = crossed[run_lengths(crossed)]
    if (np.diff(c.intervals, axis=1) > 2 * (ts[1] - ts[0])).all():
        assert c.n_regions == crossed.size


def test_cnn_regions_refuse_unknown_layers():
    net = hn.CNN.lenet(input_shape=(1, 28, 28))
    net.layers.insert(1, Square())
    with pytest.raises(ValueError, match="not Square"):
        enumerate_regions(net, plane=plane_through(*np.random.default_rng(0).random((3, 784))))


class Square(hn.nn.Layer):
    def forward(self, x, training=False):
        return x * x


def test_lenet_slice_through_fashion_images():
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", flatten=False, n_train=300)
    net = hn.CNN.lenet(dtype="float64", seed=0).fit(Xtr, ytr, epochs=1, lr=3e-3, verbose=0)
    P = plane_through(Xtr[0], Xtr[1], Xtr[2])
    # LeNet's first layer alone has 4704 units: over the whole triangle that is millions of
    # regions, so look closely around the first image.
    Q = P.zoom(P.anchors[0], 0.03)
    s, t = P.anchors[0]
    assert Q.extent == (s - 0.03, s + 0.03, t - 0.03, t + 0.03)
    np.testing.assert_array_equal(Q.anchors, P.anchors)
    R = enumerate_regions(net, plane=Q)
    assert R.n_regions > 20
    assert R.areas().sum() == pytest.approx(Q.area, rel=1e-9)
    points = grid(Q.extent, 40)
    check_against_sampling(R, net, points)
    check_logits(R, net, points)
