"""Regions along a segment against the network's own codes, dense sampling and 2D enumeration."""

import numpy as np
import pytest

import hashnet as hn
from hashnet.nn.layers import Dense, Layer
from hashnet.regions import Crossings, count_along
from hashnet.regions import enumerate as enumerate_regions
from hashnet.regions.along import _merge

BOX = (-3.0, 3.0, -2.0, 2.5)
N_SAMPLES = 20001


def random_net(d, hidden, seed=0, **kwargs):
    """A float64 MLP with random normal weights (non-zero biases) and random running stats."""
    rng = np.random.default_rng(seed)
    net = hn.MLP(d, hidden, 3, dtype="float64", seed=seed, **kwargs)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    for layer in net.layers:
        if "running_mean" in layer.state:
            layer.state["running_mean"][...] = rng.normal(size=layer.state["running_mean"].shape)
            layer.state["running_var"][...] = rng.random(layer.state["running_var"].shape) + 0.5
    return net


NETS = {
    "relu 2-8-8": lambda: random_net(2, (8, 8)),
    "leaky 2-6-5": lambda: random_net(2, (6, 5), activation="leaky_relu", alpha=0.2, seed=1),
    "batchnorm 2-7-7": lambda: random_net(2, (7, 7), batchnorm=True, seed=2),
    "relu 784-32-16": lambda: random_net(784, (32, 16), seed=3),
    "batchnorm leaky 784-24-12": lambda: random_net(
        784, (24, 12), activation="leaky_relu", alpha=0.1, batchnorm=True, dropout=0.3, seed=4
    ),
}


def endpoints(net, seed, scale=4.0):
    rng = np.random.default_rng(seed + 100)
    d = int(np.prod(net.input_shape))
    return rng.normal(size=d) * scale, rng.normal(size=d) * scale


def run_lengths(words):
    """Indices where a new run of equal rows starts."""
    change = np.concatenate([[True], (words[1:] != words[:-1]).reshape(len(words) - 1, -1).any(1)])
    return np.flatnonzero(change)


def check_structure(c: Crossings, xa, xb):
    assert c.n_regions == len(c.codes) == len(c.intervals) == len(c.t) + 1
    assert c.points.shape == (len(c.t), xa.size)
    assert c.intervals[0, 0] == 0.0 and c.intervals[-1, 1] == 1.0
    np.testing.assert_array_equal(c.intervals[1:, 0], c.intervals[:-1, 1])
    assert (np.diff(c.intervals, axis=1) > 0).all()
    assert ((c.t > 0) & (c.t < 1)).all()
    np.testing.assert_allclose(c.points, xa + c.t[:, None] * (xb - xa), rtol=0, atol=1e-12)
    # Merged: neighbours differ, otherwise the segment did not leave the region.
    assert (c.codes.words[1:] != c.codes.words[:-1]).any(axis=1).all()


@pytest.mark.parametrize("name", list(NETS))
def test_codes_match_network_and_dense_sampling(name):
    net = NETS[name]()
    xa, xb = endpoints(net, seed=len(name))
    c = count_along(net, xa, xb)
    check_structure(c, xa, xb)
    assert c.n_regions > 3, "the test segment should cross a few regions"

    def inputs(t):
        return (xa + np.asarray(t)[:, None] * (xb - xa)).reshape(len(t), *net.input_shape)

    # Each interval carries the network's code at its midpoint.
    mid = c.intervals.mean(axis=1)
    np.testing.assert_array_equal(c.codes.words, net.codes(inputs(mid)).words)

    # Dense sampling: every sample's code is its interval's code (away from the breakpoints),
    # and the runs of equal sampled codes are the intervals, in order.
    ts = np.linspace(0.0, 1.0, N_SAMPLES)
    sampled = net.codes(inputs(ts)).words
    where = np.searchsorted(c.t, ts, side="right")
    near = np.abs(ts[:, None] - c.t[None, :]).min(axis=1) < 1e-9 if c.t.size else ts < 0
    np.testing.assert_array_equal(sampled[~near], c.codes.words[where[~near]])
    runs = sampled[run_lengths(sampled)]
    step = ts[1] - ts[0]
    long = np.diff(c.intervals, axis=1)[:, 0] > 2 * step
    if long.all():
        np.testing.assert_array_equal(runs, c.codes.words)
    else:  # the sampling may miss short intervals, but never invents or reorders one
        k = 0
        for run in runs:
            while k < c.n_regions and not (c.codes.words[k] == run).all():
                assert not long[k], f"dense sampling skipped the long interval {k}"
                k += 1
            assert k < c.n_regions, "a sampled run matches no interval (in order)"
            k += 1


@pytest.mark.parametrize("seed", range(4))
def test_one_hidden_layer_counts_sign_changes(seed):
    net = random_net(784 if seed % 2 else 2, (40,), seed=seed)
    xa, xb = endpoints(net, seed)
    [(W, b, _)], _ = hn.regions.affine_blocks(net)
    za, zb = xa @ W + b, xb @ W + b
    changes = np.sign(za) != np.sign(zb)
    roots = za[changes] / (za[changes] - zb[changes])
    c = count_along(net, xa, xb)
    assert c.n_regions == 1 + np.unique(roots).size
    np.testing.assert_allclose(c.t, np.sort(roots), rtol=0, atol=1e-12)
    check_structure(c, xa, xb)


def test_units_with_the_same_root_cross_once():
    # Two units with the same zero line flip at the same t (up to rounding): one boundary, not
    # two, and no sliver of an interval in between.
    net = random_net(2, (5,), seed=7)
    W, b, *rest = net.get_weights()
    W[:, 1], b[1] = 0.3 * W[:, 0], 0.3 * b[0]
    net.set_weights([W, b, *rest])
    xa, xb = np.array([-3.0, -1.0]), np.array([2.0, 1.5])
    za, zb = xa @ W[:, :1] + b[0], xb @ W[:, :1] + b[0]
    assert np.sign(za) != np.sign(zb), "unit 0 should flip on this segment"
    c = count_along(net, xa, xb)
    check_structure(c, xa, xb)
    both = c.codes.bits()[:, :2]
    np.testing.assert_array_equal(both[:, 0], both[:, 1])
    assert np.count_nonzero(np.diff(both[:, 0])) == 1


@pytest.mark.parametrize("name", [n for n in NETS if n.split()[-1].startswith("2-")])
def test_count_matches_polygons_crossed_in_2d(name):
    net = NETS[name]()
    R = enumerate_regions(net, box=BOX)
    xa, xb = np.array([-2.7, -1.6]), np.array([2.8, 2.1])
    c = count_along(net, xa, xb)
    ts = np.linspace(0.0, 1.0, N_SAMPLES)
    st = R.plane.to_input(xa + ts[:, None] * (xb - xa))  # box plane: (s, t) are the inputs
    where = R.locate(st)
    assert (where >= 0).all()
    crossed = where[run_lengths(where)]
    assert (np.diff(c.intervals, axis=1) > 2 * (ts[1] - ts[0])).all(), "pick another segment"
    assert c.n_regions == crossed.size
    np.testing.assert_array_equal(R.codes.words[crossed], c.codes.words)


def test_neighbours_with_equal_codes_are_merged():
    # A breakpoint where the pattern does not change is not a crossing: runs of equal codes
    # become one interval spanning the run.
    T0, T1 = np.array([0.0, 0.2, 0.5, 0.6, 0.9]), np.array([0.2, 0.5, 0.6, 0.9, 1.0])
    bits = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]], np.uint8)
    M, C = np.arange(10.0).reshape(5, 2), np.zeros((5, 2))
    no_pooling = np.zeros((5, 0), np.int64)
    T0m, T1m, Mm, Cm, bits_m, _ = _merge(T0, T1, M, C, bits, no_pooling)
    np.testing.assert_array_equal(np.stack([T0m, T1m], 1), [[0.0, 0.5], [0.5, 0.9], [0.9, 1.0]])
    np.testing.assert_array_equal(bits_m, [[1, 0], [0, 1], [1, 0]])
    assert Mm.shape == Cm.shape == (3, 2)
    # With max pooling, equal codes but a different winner of a window is another region.
    winners = np.array([[3], [3], [3], [7], [7]])
    T0m, _, _, _, _, won = _merge(T0, T1, M, C, bits, winners)
    np.testing.assert_array_equal(T0m, [0.0, 0.5, 0.6, 0.9])
    np.testing.assert_array_equal(won.ravel(), [3, 3, 7, 7])


def test_accepts_unflattened_inputs_and_network_without_hidden_layers():
    net = random_net(6, (5,), seed=5)
    xa, xb = endpoints(net, 5)
    flat = count_along(net, xa, xb)
    shaped = count_along(net, xa.reshape(net.input_shape), xb.reshape(net.input_shape))
    np.testing.assert_array_equal(flat.t, shaped.t)
    # Crossing backwards meets the same boundaries at 1 - t.
    back = count_along(net, xb, xa)
    np.testing.assert_allclose(back.t, np.sort(1.0 - flat.t), atol=1e-12)


def test_bad_inputs_raise():
    net = random_net(2, (8, 8))
    xa, xb = np.array([-1.0, 0.5]), np.array([1.0, 2.0])
    with pytest.raises(ValueError, match="same input"):
        count_along(net, xa, xa.copy())
    with pytest.raises(ValueError, match="shape"):
        count_along(net, np.zeros(3), xb)
    with pytest.raises(ValueError, match="shape"):
        count_along(net, xa, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN or inf"):
        count_along(net, np.array([np.nan, 0.0]), xb)
    with pytest.raises(ValueError, match="NaN or inf"):
        count_along(net, xa, np.array([0.0, np.inf]))
    with pytest.raises(ValueError, match="max_regions=1 .*reached"):
        count_along(net, np.array([-3.0, -2.0]), np.array([3.0, 2.5]), max_regions=1)
    with pytest.raises(ValueError, match="max_regions"):
        count_along(net, xa, xb, max_regions=0)
    odd = hn.Sequential([Dense(4), Square(), Dense(2)], input_shape=2, dtype="float64")
    with pytest.raises(ValueError, match="not Square"):
        count_along(odd, xa, xb)


class Square(Layer):
    """Not piecewise linear: the exact region walk must refuse it."""

    def forward(self, x, training=False):
        return x * x
