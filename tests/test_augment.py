"""Data augmentation: the kernel against its NumPy twin, exact cases, seeding, the argument
checks, and training with augment= on the CPU."""

from __future__ import annotations

import numpy as np
import pytest
from _tolerance import assert_close

import hashnet as hn
from hashnet.kernels import augment as K
from hashnet.kernels import reference as R
from hashnet.nn.augment import Augment, transform
from hashnet.nn.conv import Conv2D, Flatten, MaxPool2D
from hashnet.nn.fitting import fit_streams
from hashnet.nn.layers import Dense, Dropout, ReLU

DTYPES = [np.float32, np.float64]


def random_params(rng, n, height, width, turn=180.0):
    """Random angles and shifts, some of them moving the picture off its frame."""
    return (
        rng.uniform(-turn, turn, n),
        rng.uniform(-0.6, 0.6, n) * height,
        rng.uniform(-0.6, 0.6, n) * width,
        (rng.random(n) < 0.5).astype(np.uint8),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("constant", [False, True])
def test_kernel_matches_twin_on_random_shapes(dtype, constant):
    rng = np.random.default_rng(7)
    for _ in range(6):
        n, c = rng.integers(1, 5), rng.integers(1, 4)
        height, width = rng.integers(1, 12, size=2)
        x = rng.normal(size=(n, c, height, width)).astype(dtype)
        params = random_params(rng, n, height, width)
        out, expected = np.empty_like(x), np.empty_like(x)
        K.affine_images(x, *params, constant, out)
        R.affine_images(x, *params, constant, expected)
        assert out.dtype == x.dtype
        assert_close(out, expected, err_msg=f"shape {x.shape}, constant={constant}")


@pytest.mark.parametrize("dtype", DTYPES)
def test_identity_flip_and_quarter_turns_are_exact(dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2, 6, 6)).astype(dtype)
    for fill in ("nearest", "constant"):
        np.testing.assert_array_equal(transform(x, fill=fill), x)
        np.testing.assert_array_equal(transform(x, flip=True, fill=fill), x[..., ::-1])
        # A positive angle turns clockwise as imshow draws the image (row 0 on top).
        assert_close(transform(x, angle=90, fill=fill), np.rot90(x, k=-1, axes=(2, 3)))
        assert_close(transform(x, angle=-90, fill=fill), np.rot90(x, k=1, axes=(2, 3)))
        assert_close(transform(x, angle=180, fill=fill), x[:, :, ::-1, ::-1])
    # Non-square images turn about the centre of their grid too: 180 degrees is exact.
    y = rng.normal(size=(2, 1, 5, 8)).astype(dtype)
    assert_close(transform(y, angle=180), y[:, :, ::-1, ::-1])


def test_whole_pixel_shifts():
    x = np.arange(1, 2 * 3 * 5 * 7 + 1, dtype=np.float64).reshape(2, 3, 5, 7)
    moved = transform(x, shift_y=2, shift_x=-3, fill="constant")  # 2 down, 3 left
    expected = np.zeros_like(x)
    expected[:, :, 2:, :4] = x[:, :, :3, 3:]
    np.testing.assert_array_equal(moved, expected)
    # "nearest": the rows and columns moved in repeat the edge pixels.
    edge = transform(x, shift_y=2, shift_x=-3)
    rows = np.clip(np.arange(5) - 2, 0, 4)
    cols = np.clip(np.arange(7) + 3, 0, 6)
    np.testing.assert_array_equal(edge, x[:, :, rows][:, :, :, cols])
    # The flip mirrors the moved picture (as Keras: transform, then flip).
    flipped = transform(x, shift_y=2, shift_x=-3, flip=True, fill="constant")
    np.testing.assert_array_equal(flipped, expected[..., ::-1])


def test_half_pixel_shift_interpolates_and_per_image_parameters():
    x = np.zeros((2, 1, 3, 4), np.float32)
    x[:, 0, :, 1] = 1.0
    out = transform(x, shift_x=[0.5, 0.0], fill="constant")
    np.testing.assert_array_equal(out[0, 0, 0], [0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(out[1], x[1])


def test_agrees_with_scipy_affine_transform():
    """scipy.ndimage.affine_transform(order=1) is what Keras calls: same formula, same values
    (modes "nearest" and "grid-constant"; the centre of the pixel grid, see the kernel)."""
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2, 7, 9))
    angle, shift_y, shift_x, flip = random_params(rng, 4, 7, 9)
    centre = np.array([3.0, 4.0])
    for fill, mode in (("nearest", "nearest"), ("constant", "grid-constant")):
        out = transform(x, angle, shift_y, shift_x, flip, fill=fill)
        for n in range(4):
            t = np.deg2rad(angle[n])
            turn = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
            # Keras' offset with its shift (tx, ty) = -(shift_y, shift_x).
            offset = centre + turn @ (-np.array([shift_y[n], shift_x[n]]) - centre)
            for c in range(2):
                want = ndimage.affine_transform(x[n, c], turn, offset, order=1, mode=mode)
                assert_close(out[n, c], want[:, ::-1] if flip[n] else want)


def test_augment_draws_seeded_fresh_batches():
    rng = np.random.default_rng(0)
    x = rng.random((16, 3, 8, 8)).astype(np.float32)
    before = x.copy()
    aug = Augment.study()
    a = aug(x, np.random.default_rng(5))
    b = aug.apply(x, np.random.default_rng(5))
    c = aug(x, np.random.default_rng(6))
    np.testing.assert_array_equal(x, before)  # the input is never modified
    assert a is not x and a.dtype == x.dtype and a.shape == x.shape
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Each image its own change, within the settings.
    p = aug.draw(1000, 8, 8, np.random.default_rng(1))
    assert np.abs(p["angle"]).max() <= 15 and np.abs(p["angle"]).max() > 14
    assert np.abs(p["shift_y"]).max() <= 0.8 and np.abs(p["shift_x"]).max() <= 0.8
    assert 0.4 < p["flip"].mean() < 0.6
    off = Augment(rotation=0, shift=0.0, flip=False).draw(100, 8, 8, 1)
    assert not off["angle"].any() and not off["shift_y"].any() and not off["flip"].any()


def test_settings_checks_and_config():
    assert Augment.study() == Augment(rotation=15, shift=0.1, flip=True, fill="nearest")
    config = Augment.study().config()
    assert config == {"rotation": 15.0, "shift": 0.1, "flip": True, "fill": "nearest"}
    two = Augment(rotation=5, shift=(0.1, 0.2), fill="constant")
    assert Augment.from_config(two.config()) == two
    assert "shift=[0.1, 0.2]" in repr(two)
    for kwargs, words in [
        ({"rotation": -1}, "between 0 and 180"),
        ({"rotation": 270}, "between 0 and 180"),
        ({"rotation": "15"}, "number of degrees"),
        ({"shift": 1.0}, r"\[0, 1\)"),
        ({"shift": -0.1}, r"\[0, 1\)"),
        ({"shift": (0.1, 0.1, 0.1)}, "pair"),
        ({"flip": 1}, "True or False"),
        ({"fill": "reflect"}, "'nearest'"),
    ]:
        with pytest.raises(ValueError, match=words):
            Augment(**kwargs)
    aug = Augment.study()
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        aug(np.zeros((2, 64), np.float32), 0)
    with pytest.raises(ValueError, match="float32 or float64"):
        aug(np.zeros((2, 1, 4, 4), np.int64), 0)
    x = np.zeros((2, 1, 4, 4))
    with pytest.raises(ValueError, match="share memory"):
        transform(x, out=x)


def tiny_cnn(seed=0, dropout=False):
    layers = [Conv2D(4, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(8), ReLU()]
    if dropout:
        layers.append(Dropout(0.3))
    return hn.CNN([*layers, Dense(3)], input_shape=(2, 8, 8), seed=seed)


def image_data(n=96):
    rng = np.random.default_rng(0)
    X = rng.random((n, 2, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].mean(axis=(1, 2)) * 3 > 1.5).astype(np.int64) + (X[:, 1].mean((1, 2)) > 0.5)
    return X, y


def test_fit_with_the_study_augmentation_is_reproducible():
    X, y = image_data()
    before = X.copy()
    nets = [tiny_cnn(dropout=True) for _ in range(2)]
    for net in nets:
        net.fit(X, y, epochs=2, batch_size=16, lr=1e-2, augment="study", verbose=0)
    np.testing.assert_array_equal(X, before)
    for a, b in zip(nets[0].get_weights(), nets[1].get_weights()):
        np.testing.assert_array_equal(a, b)
    plain = tiny_cnn(dropout=True).fit(X, y, epochs=2, batch_size=16, lr=1e-2, verbose=0)
    assert plain.history_["loss"] != nets[0].history_["loss"]  # the batches were changed
    assert np.isfinite(nets[0].history_["loss"]).all()
    assert 0.0 <= nets[0].score(X, y) <= 1.0


@pytest.mark.parametrize("shuffle", [True, False])
def test_augmentation_leaves_the_shuffling_and_dropout_as_they_were(shuffle):
    """A do-nothing Augment goes the augmentation path (host gather, its own generator) but
    returns the images as they were: training must then be bit for bit the plain one."""
    X, y = image_data()
    identity = Augment(rotation=0, shift=0, flip=False)
    nets = [tiny_cnn(dropout=True) for _ in range(2)]
    nets[0].fit(X, y, epochs=2, batch_size=16, shuffle=shuffle, verbose=0)
    nets[1].fit(X, y, epochs=2, batch_size=16, shuffle=shuffle, augment=identity, verbose=0)
    assert nets[0].history_["loss"] == nets[1].history_["loss"]
    for a, b in zip(nets[0].get_weights(), nets[1].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_streams_keep_the_shuffling_stream():
    a, b = tiny_cnn(), tiny_cnn()
    shuffle_a, augment_a = fit_streams(a)
    shuffle_b, augment_b = fit_streams(b)
    np.testing.assert_array_equal(shuffle_a.permutation(50), shuffle_b.permutation(50))
    np.testing.assert_array_equal(augment_a.random(5), augment_b.random(5))
    # A second fit gets new streams (the fit counter is part of the seed).
    shuffle_a2, augment_a2 = fit_streams(a)
    assert not np.array_equal(augment_a2.random(5), augment_b.random(5))


def test_fit_checks_the_augment_argument_first():
    X, y = image_data(8)
    net = tiny_cnn()
    with pytest.raises(ValueError, match="unknown augmentation"):
        net.fit(X, y, epochs=1, augment="keras", verbose=0)
    with pytest.raises(TypeError, match="augment must be"):
        net.fit(X, y, epochs=1, augment={"rotation": 15}, verbose=0)
    assert net._n_fits == 0 and net.history_ == {}  # nothing was done
    mlp = hn.MLP(input_dim=4, hidden=(8,), n_classes=2)
    with pytest.raises(ValueError, match="not images"):
        mlp.fit(np.zeros((8, 4)), np.zeros(8, np.int64), epochs=1, augment="study", verbose=0)
    assert mlp._n_fits == 0


def test_lenet_trains_with_augmentation():
    rng = np.random.default_rng(2)
    X = rng.random((64, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 64)
    net = hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10)
    net.fit(X, y, epochs=1, batch_size=32, augment=Augment.study(), verbose=0)
    assert len(net.history_["loss"]) == 1 and np.isfinite(net.history_["loss"][0])


@pytest.mark.parametrize("shuffle", [True, False])
def test_fit_with_augmentation_on_cuda_matches_cpu(shuffle):
    """On a GPU the batches are augmented on the host and copied over: the same batches as on
    the CPU, so the same training to float32 rounding. Runs where numba.cuda works (a GPU, or
    NUMBA_ENABLE_CUDASIM=1 for this file)."""
    from hashnet import gpu

    if not gpu.cuda_available():
        pytest.skip("no usable CUDA device in this process")
    rng = np.random.default_rng(4)
    X = rng.random((7, 2, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 7)

    def build():
        layers = [Conv2D(2, 3, padding=1), ReLU(), MaxPool2D(2), Flatten(), Dense(3)]
        return hn.CNN(layers, input_shape=(2, 6, 6), seed=3)

    kwargs = dict(epochs=2, batch_size=3, lr=0.05, shuffle=shuffle, augment="study", verbose=0)
    on_gpu = build().fit(X, y, device="cuda", **kwargs)
    on_cpu = build().fit(X, y, **kwargs)
    np.testing.assert_allclose(on_gpu.history_["loss"], on_cpu.history_["loss"], rtol=1e-5)
    for a, b in zip(on_gpu.get_weights(), on_cpu.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
