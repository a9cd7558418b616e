"""The fast, memory-bounded enumeration against the plain layer-by-layer algorithm
(`hashnet.regions.layerwise`), on MLPs and CNNs (max pooling, overlapping pooling, batch norm,
average pooling), with the default batches and with batches of a single piece, and against
dense sampling of the network."""

import functools

import numpy as np
import pytest
from test_regions import check_against_sampling, grid, random_net
from test_regions_cnn import check_logits, images, random_cnn

import hashnet as hn
from hashnet.kernels import regions as KR
from hashnet.regions import enumerate as enumerate_regions
from hashnet.regions import plane_through, walk
from hashnet.regions.layerwise import enumerate_layerwise

BOX = (-3.0, 3.0, -2.0, 2.5)


def check_same_regions(R, reference):
    """The same tiling (each region of R is one region of the reference, with the same area),
    the same codes and the same affine maps to the logits."""
    pieces, bits, (logit_A, logit_c) = reference
    assert R.n_regions == len(pieces)
    local = pieces.mapped(R.frame.to_local)
    match = KR.locate_points(local.verts, local.starts, local.counts, R._interior(), 1e-12)
    assert (match >= 0).all()
    assert len(np.unique(match)) == R.n_regions, "two regions fell in one reference region"
    np.testing.assert_allclose(R.areas(), pieces.areas()[match], rtol=1e-7, atol=1e-12)
    np.testing.assert_array_equal(R.codes.bits(), bits[match])
    scale = np.abs(logit_A).max() + np.abs(logit_c).max()
    np.testing.assert_allclose(R.logit_A, logit_A[match], atol=1e-9 * scale)
    np.testing.assert_allclose(R.logit_c, logit_c[match], atol=1e-9 * scale)


@pytest.fixture(params=["default batches", "one piece per batch"])
def batches(request, monkeypatch):
    if request.param == "one piece per batch":
        # every layer's pieces one at a time: the pending pieces, the resumed cuts and the
        # chains of maps all restart at every piece
        monkeypatch.setattr(walk, "MAX_BATCH", 1)
    return request.param


MLPS = {
    "relu 2-8-8": lambda: random_net((8, 8)),
    "leaky 2-6-5": lambda: random_net((6, 5), activation="leaky_relu", alpha=0.2, seed=1),
    "batchnorm 2-7-7-7": lambda: random_net((7, 7, 7), batchnorm=True, seed=2),
}


@pytest.mark.parametrize("name", list(MLPS))
def test_mlps_match_the_layerwise_algorithm(name, batches):
    net = MLPS[name]()
    R = enumerate_regions(net, box=BOX)
    check_same_regions(R, enumerate_layerwise(net, box=BOX))
    check_against_sampling(R, net, grid(BOX, 50))


@functools.cache
def cnn_case(name):
    """A random CNN, a plane through three random images zoomed to a few hundred regions, and
    the layerwise algorithm's regions there (slow: computed once for both batch settings)."""
    net = random_cnn(name)
    P = plane_through(*images(len(name)))
    half = {"conv-maxpool": 1.5, "overlapping maxpool": 5.0}.get(name)
    P = P if half is None else P.zoom(P.anchors[0], half)
    return net, P, enumerate_layerwise(net, plane=P)


@pytest.mark.parametrize("name", ["conv-maxpool", "stride-bn-avgpool-gap", "overlapping maxpool"])
def test_cnns_match_the_layerwise_algorithm(name, batches):
    net, P, reference = cnn_case(name)
    R = enumerate_regions(net, plane=P)
    assert R.n_regions > 20
    check_same_regions(R, reference)
    points = grid(P.extent, 50)
    check_against_sampling(R, net, points)
    check_logits(R, net, points)


def test_batches_change_nothing(monkeypatch):
    net = random_cnn("conv-maxpool", seed=3)
    P = plane_through(*images(5))
    R = enumerate_regions(net, plane=P)
    monkeypatch.setattr(walk, "MAX_BATCH", 3)
    small = enumerate_regions(net, plane=P)
    assert R.n_regions == small.n_regions
    np.testing.assert_array_equal(R._local.counts, small._local.counts)  # the same order
    np.testing.assert_allclose(R._local.verts, small._local.verts, atol=1e-12)


def test_lenet_zoom_matches_the_layerwise_algorithm():
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", flatten=False, n_train=300)
    net = hn.CNN.lenet(dtype="float64", seed=0).fit(Xtr, ytr, epochs=1, lr=3e-3, verbose=0)
    P = plane_through(Xtr[0], Xtr[1], Xtr[2])
    Q = P.zoom(P.anchors[0], 0.005)
    R = enumerate_regions(net, plane=Q)
    assert R.n_regions > 20
    check_same_regions(R, enumerate_layerwise(net, plane=Q))


def test_changed_weights_are_seen():
    # The linear maps of the stages are kept between enumerations of one network; a network
    # whose weights changed must not get the old ones.
    net = random_cnn("conv-maxpool", seed=4)
    P = plane_through(*images(6))
    P = P.zoom(P.anchors[0], 1.5)
    enumerate_regions(net, plane=P)
    weights = net.get_weights()
    weights[2] = weights[2] * 1.3 + 0.1  # the second convolution
    net.set_weights(weights)
    R = enumerate_regions(net, plane=P)
    points = grid(P.extent, 40)
    check_against_sampling(R, net, points)
    check_logits(R, net, points)
