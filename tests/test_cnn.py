"""CNN models: builders, training on real images, codes, saving, and clear errors."""

import numpy as np
import pytest
from test_cnn_layers import direct_convolution

import hashnet as hn
from hashnet.codes import compute_codes
from hashnet.nn import Conv2D, Dense, Flatten, MaxPool2D, ReLU


@pytest.fixture(scope="module")
def mini():
    return hn.datasets.load("fashion-mnist-mini", flatten=False)


def test_lenet_learns_fashion_mnist_mini(mini):
    Xtr, ytr, Xte, yte = mini
    net = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=0)
    net.fit(Xtr, ytr, epochs=5, batch_size=64, lr=3e-3, verbose=0)
    assert net.history_["loss"][-1] < net.history_["loss"][0]
    assert net.score(Xte, yte) >= 0.80


@pytest.mark.parametrize("size", [28, 32])
def test_builders_give_the_expected_feature_maps(size):
    lenet = hn.CNN.lenet(input_shape=(3, size, size), n_classes=10)
    convs = [layer for layer in lenet.layers if isinstance(layer, Conv2D)]
    assert [c._out_hw for c in convs] == [(28, 28), (10, 10)]  # LeNet-5's sizes either way
    assert lenet.layers[-1].units == 10
    vgg = hn.CNN.vgg(widths=(8, 16), input_shape=(1, size, size), n_classes=4, dense=(32,))
    X = np.random.default_rng(0).random((2, 1, size, size), np.float32)
    assert vgg.predict_proba(X).shape == (2, 4)
    codes = vgg.codes(X)
    # two convs per block, every position of every channel, then the dense layer
    half, quarter = size // 1, size // 2
    assert codes.layer_sizes == (8 * half**2, 8 * half**2, 16 * quarter**2, 16 * quarter**2, 32)
    gap = hn.CNN.vgg(widths=(4,), input_shape=(1, 8, 8), n_classes=3, head="gap", batchnorm=True)
    assert gap.predict(X[:, :, :8, :8]).shape == (2,)


def numpy_codes(net, X):
    """Signs of every ReLU pre-activation, recomputed from the weights with plain NumPy."""
    bits, h = [], X.astype(np.float64)
    for layer in net.layers:
        if isinstance(layer, Conv2D):
            h = direct_convolution(h, layer.params["W"], layer.params["b"], layer.stride, 0)
        elif isinstance(layer, Dense):
            h = h @ layer.params["W"] + layer.params["b"]
        elif isinstance(layer, ReLU):
            bits.append((h > 0).reshape(len(X), -1))
            h = np.maximum(h, 0)
        elif isinstance(layer, MaxPool2D):
            n, c, height, width = h.shape
            h = h[:, :, : height // 2 * 2, : width // 2 * 2]
            h = h.reshape(n, c, height // 2, 2, width // 2, 2).max(axis=(3, 5))
        elif isinstance(layer, Flatten):
            h = h.reshape(len(X), -1)
    return np.hstack(bits).astype(np.uint8)


def test_cnn_codes_are_the_signs_of_the_preactivations(mini):
    Xtr, ytr, _, _ = mini
    net = hn.CNN(
        [Conv2D(4, 5), ReLU(), MaxPool2D(2), Conv2D(6, 3), ReLU(), Flatten(), Dense(16), ReLU()]
        + [Dense(10)],
        input_shape=(1, 28, 28),
        dtype="float64",
    )
    net.fit(Xtr[:300], ytr[:300], epochs=1, verbose=0)
    X = Xtr[300:340]
    codes = net.codes(X)
    assert codes.layer_sizes == (4 * 24 * 24, 6 * 10 * 10, 16)
    np.testing.assert_array_equal(codes.bits(), numpy_codes(net, X))
    # Streaming in chunks changes nothing; the code tools work on CNN codes unchanged.
    np.testing.assert_array_equal(compute_codes(net, X, chunk=7).words, codes.words)
    assert 0.0 <= hn.redundancy_ratio(codes) < 1.0
    np.testing.assert_array_equal(net.codes(X, layers=[1]).bits(), codes.layer(1).bits())


def test_cnn_chunks_bound_memory():
    net = hn.CNN.lenet()
    # The im2col matrix of the first convolution is 784 * 25 floats per image.
    assert net._chunk_rows * 784 * 25 <= 2**24
    assert hn.MLP(784, (100,), 10)._chunk_rows == 8192


def test_cnn_save_load_and_checkpoints(tmp_path, mini):
    Xtr, ytr, Xte, _ = mini
    net = hn.CNN.vgg(widths=(4,), input_shape=(1, 28, 28), n_classes=10, batchnorm=True, seed=3)
    net.fit(Xtr[:200], ytr[:200], epochs=2, checkpoints=(0, 2), verbose=0)
    again = hn.load(net.save(tmp_path / "cnn.npz"))
    assert isinstance(again, hn.CNN)
    np.testing.assert_array_equal(again.predict_proba(Xte[:50]), net.predict_proba(Xte[:50]))
    assert [w.shape for w in again.get_weights()] == [w.shape for w in net.get_weights()]
    assert net.get_weights()[0].shape == (4, 1, 3, 3)  # Conv W is (out, in, kh, kw)
    np.testing.assert_array_equal(net.checkpoint(2).predict(Xte[:50]), net.predict(Xte[:50]))
    grads = net.gradients(Xtr[:8], ytr[:8])
    assert [g.shape for g in grads] == [w.shape for w in net.get_weights()]


def test_cnn_bad_input_is_explained():
    net = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10)
    X = np.zeros((2, 3, 28, 28), np.float32)
    with pytest.raises(ValueError, match=r"shape \(3, 28, 28\).*expects \(1, 28, 28\)"):
        net.predict(X)
    with pytest.raises(ValueError, match="flatten=False"):
        net.predict(np.zeros((2, 784), np.float32))
    with pytest.raises(ValueError, match="at least 5x5 pixels, got 4x4"):
        hn.CNN([Conv2D(2, 5), ReLU(), Flatten(), Dense(2)], input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="MaxPool2D with a 2x2 window needs"):
        hn.CNN([MaxPool2D(2), Flatten(), Dense(2)], input_shape=(1, 1, 5))
    with pytest.raises(ValueError, match="need at least 8x8 pixels"):
        hn.CNN.vgg(widths=(4, 4, 4), input_shape=(1, 6, 6))
    with pytest.raises(ValueError, match="before any Flatten or Dense"):
        hn.CNN([Flatten(), Conv2D(2, 1), Dense(2)], input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="channels, height, width"):
        hn.CNN.lenet(input_shape=(28, 28))
    with pytest.raises(ValueError, match="filters must be an integer >= 1"):
        Conv2D(0)
