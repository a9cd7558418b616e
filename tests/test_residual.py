"""Residual blocks and the study's CNN families (ResNets, standard VGGs).

The block's backward pass against finite differences (float64, per parameter tensor), its codes
(both ReLUs), saving, the builders' shapes, and exact regions of a ResNet on a plane through
images against dense sampling, the layer-by-layer reference and segments.
"""

import numpy as np
import pytest
from test_gradients import check_layer_gradients, network_loss, numeric_grad
from test_regions import check_against_sampling, grid

import hashnet as hn
from hashnet.nn import BatchNorm, Conv2D, Dense, GlobalAvgPool2D, MaxPool2D, ReLU, Residual
from hashnet.regions import count_along, plane_through
from hashnet.regions import enumerate as enumerate_regions
from hashnet.regions.layerwise import enumerate_layerwise

BLOCKS = {
    "identity": (3, 1, 3),  # (input channels, stride, filters)
    "projection": (2, 1, 3),
    "stride 2": (3, 2, 3),
}


def random_block(name, rng):
    channels, stride, filters = BLOCKS[name]
    block = Residual(filters, stride=stride)
    block.setup((channels, 5, 5), np.float64, rng)
    block.link(None)
    # Random biases and batch-norm parameters: zeros would put units exactly on their kinks.
    for p in block.params.values():
        p[...] = rng.normal(size=p.shape)
    for name_, s in block.state.items():
        s[...] = rng.random(s.shape) + (0.5 if "var" in name_ else -0.5)
    return block, channels


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(BLOCKS))
def test_residual_block_backward_matches_finite_differences(name, training):
    rng = np.random.default_rng(len(name))
    block, channels = random_block(name, rng)
    x = rng.normal(size=(3, channels, 5, 5))
    check_layer_gradients(block, x, training)
    assert (len(block.shortcut) == 2) == (name != "identity")


def sampled_numeric_grad(f, array, rng, n=12):
    """Central differences at `n` random entries of `array` (all of them when fewer)."""
    flat = array.reshape(-1)
    index = rng.choice(flat.size, min(n, flat.size), replace=False)
    out = np.empty(len(index))
    for j, i in enumerate(index):
        old = flat[i]
        flat[i] = old + 1e-6
        plus = f()
        flat[i] = old - 1e-6
        minus = f()
        flat[i] = old
        out[j] = (plus - minus) / 2e-6
    return index, out


def check_network_gradients(net, X, y, training, rng, per_tensor=None):
    """net.gradients against finite differences for every parameter tensor (at most
    `per_tensor` random entries of each)."""
    grads = net.gradients(X, y, training=training)
    assert len(grads) == len(net._named_params())
    for (layer, name), analytic in zip(net._named_params(), grads):

        def loss():
            return network_loss(net, X, y, training)

        if per_tensor is None:
            numeric = numeric_grad(loss, layer.params[name])
            np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8, err_msg=name)
        else:
            index, numeric = sampled_numeric_grad(loss, layer.params[name], rng, per_tensor)
            got = analytic.reshape(-1)[index]
            np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-8, err_msg=name)


def randomized(net, rng, scale=0.5):
    net.set_weights([rng.normal(size=w.shape) * scale for w in net.get_weights()])
    for s in net._state_arrays():
        s[...] = rng.random(s.shape) + 0.5
    return net


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_resnet_gradients_match_finite_differences(training):
    rng = np.random.default_rng(5)
    net = hn.CNN.resnet(8, input_shape=(2, 6, 6), n_classes=3, width=2, dtype="float64")
    randomized(net, rng)
    X, y = rng.normal(size=(4, 2, 6, 6)), rng.integers(0, 3, 4)
    check_network_gradients(net, X, y, training, rng)


def test_vgg16_gradients_match_finite_differences_per_tensor():
    rng = np.random.default_rng(6)
    net = hn.CNN.vgg(depth=16, width=2, input_shape=(1, 28, 28), n_classes=3, dtype="float64")
    randomized(net, rng, scale=0.4)
    X, y = rng.normal(size=(3, 1, 28, 28)), rng.integers(0, 3, 3)
    # Dropout draws new masks in training: the check runs in evaluation mode, where the head's
    # BatchNorm is affine; the block's BatchNorm in training mode is checked above.
    check_network_gradients(net, X, y, False, rng, per_tensor=6)


def test_block_codes_are_both_relus_in_order():
    rng = np.random.default_rng(1)
    net = hn.CNN.resnet(8, input_shape=(1, 6, 6), n_classes=2, width=2)
    randomized(net, rng)
    X = rng.normal(size=(5, 1, 6, 6)).astype(np.float32)
    codes = net.codes(X)
    net._forward(X, training=False)
    masks = []
    for layer in net.layers:
        if isinstance(layer, ReLU):
            masks.append(layer.mask)
        elif isinstance(layer, Residual):
            masks += [layer.relu1.mask, layer.relu2.mask]
    np.testing.assert_array_equal(codes.bits(), np.hstack(masks))
    blocks = [layer for layer in net.layers if isinstance(layer, Residual)]
    assert codes.layer_sizes[1:] == tuple(block.code_size for block in blocks)
    assert codes.n_layers == 1 + len(blocks)


@pytest.mark.parametrize("depth,blocks", [(20, 9), (32, 15), (56, 27)])
def test_resnet_builder_has_the_cifar_shapes(depth, blocks):
    net = hn.CNN.resnet(depth, input_shape=(3, 32, 32))
    residual = [layer for layer in net.layers if isinstance(layer, Residual)]
    assert len(residual) == blocks
    assert [b.output_shape for b in residual[:: blocks // 3]] == [
        (16, 32, 32),
        (32, 16, 16),
        (64, 8, 8),
    ]
    convs = sum(
        1 for b in residual for _, p in b.parts() if isinstance(p, Conv2D) and p.kernel_size == 3
    )
    assert convs + 2 == depth  # the stem convolution, 2 per block, and the logits
    assert sum(len(b.shortcut) > 0 for b in residual) == 2  # where the stages change
    with pytest.raises(ValueError, match="6n \\+ 2"):
        hn.CNN.resnet(21)


def test_resnet18_has_four_stages_of_two_blocks():
    net = hn.CNN.resnet18(input_shape=(3, 32, 32), width=8)
    residual = [layer for layer in net.layers if isinstance(layer, Residual)]
    assert [b.output_shape[0] for b in residual] == [8, 8, 16, 16, 32, 32, 64, 64]
    assert residual[-1].output_shape == (64, 4, 4)
    assert isinstance(net.layers[-2], GlobalAvgPool2D)


@pytest.mark.parametrize("depth,convs", [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_builds_the_standard_configurations(depth, convs):
    net = hn.CNN.vgg(depth=depth, input_shape=(3, 32, 32), width=8)
    layers = net.layers
    conv = [i for i, layer in enumerate(layers) if isinstance(layer, Conv2D)]
    assert len(conv) == convs
    assert all(isinstance(layers[i + 1], BatchNorm) for i in conv)  # BN after every conv
    assert [layers[i].filters for i in conv][-1] == 64  # 512 * 8 / 64
    assert sum(isinstance(layer, MaxPool2D) for layer in layers) == 5
    dense = [layer for layer in layers if isinstance(layer, Dense)]
    assert [d.units for d in dense] == [512, 10]
    # 28x28 images are padded to 32 in the first convolution and end at 1x1, as CIFAR's do
    small = hn.CNN.vgg(depth=depth, input_shape=(1, 28, 28), width=8)
    pools = [layer for layer in small.layers if isinstance(layer, MaxPool2D)]
    assert pools[0].input_shape[1:] == (32, 32) and pools[-1].output_shape[1:] == (1, 1)
    with pytest.raises(ValueError, match="depth must be one of"):
        hn.CNN.vgg(depth=15)


def test_resnet_saves_loads_and_trains(tmp_path):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].sum(axis=(1, 2)) > 0).astype(int)
    net = hn.CNN.resnet(8, input_shape=(1, 8, 8), n_classes=2, width=4, seed=3)
    net.fit(X, y, epochs=8, batch_size=10, lr=1e-2, verbose=0)
    assert net.history_["loss"][-1] < net.history_["loss"][0]
    again = hn.CNN.resnet(8, input_shape=(1, 8, 8), n_classes=2, width=4, seed=3)
    again.fit(X, y, epochs=8, batch_size=10, lr=1e-2, verbose=0)
    for a, b in zip(net.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)  # same seed, same run
    path = net.save(tmp_path / "resnet.npz")
    loaded = hn.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(loaded.codes(X).words, net.codes(X).words)


def small_resnet(seed=0):
    rng = np.random.default_rng(seed)
    net = hn.CNN.resnet(8, input_shape=(1, 6, 6), n_classes=3, width=2, dtype="float64")
    return randomized(net, rng, scale=0.7), rng


def test_resnet_slices_match_dense_sampling_and_the_reference():
    net, rng = small_resnet()
    P = plane_through(*rng.normal(size=(3, 1, 6, 6)))
    P = P.zoom(P.anchors.mean(axis=0), 1.5)
    R = enumerate_regions(net, plane=P)
    assert R.n_regions > 20
    assert R.areas().sum() == pytest.approx(P.area, rel=1e-9)
    check_against_sampling(R, net, grid(P.extent, 60))
    assert R.distinct_codes() == R.n_regions  # no pooling: one region per code
    centres = R.centroids()
    inputs = P.to_input(centres).reshape(len(centres), *net.input_shape)
    assert R.codes.layer_sizes == net.codes(inputs).layer_sizes
    pieces, bits, _ = enumerate_layerwise(net, plane=P)
    assert len(pieces.starts) == R.n_regions
    # the regions after the first n layers of the code: the stem, then whole blocks
    assert R.n_layers == net.codes(inputs[:1]).n_layers == 4
    for n in (1, 2):
        part = R.at_layer(n)
        centres = part.centroids()
        inputs = P.to_input(centres).reshape(len(centres), *net.input_shape)
        want = net.codes(inputs, layers=list(range(n)))
        assert part.codes.layer_sizes == want.layer_sizes
        np.testing.assert_array_equal(part.codes.words, want.words)


def test_resnet_segments_match_sampling():
    net, rng = small_resnet(1)
    xa, xb = rng.normal(size=(2, 1, 6, 6))
    c = count_along(net, xa, xb)
    assert c.n_regions > 10
    ts = np.linspace(0.0, 1.0, 4001)
    sampled = net.codes(xa + ts[:, None, None, None] * (xb - xa)).words
    where = np.searchsorted(c.t, ts, side="right")
    near = np.abs(ts[:, None] - c.t[None, :]).min(axis=1) < 1e-9
    np.testing.assert_array_equal(sampled[~near], c.codes.words[where[~near]])


def test_regions_refuse_a_block_whose_input_can_be_negative():
    layers = [Conv2D(2, 3, padding=1), Residual(2), GlobalAvgPool2D(), Dense(2)]
    net = hn.CNN(layers, input_shape=(1, 5, 5), dtype="float64")
    P = plane_through(*np.random.default_rng(0).normal(size=(3, 1, 5, 5)))
    with pytest.raises(ValueError, match="straight from a ReLU"):
        enumerate_regions(net, plane=P)
