"""Tests for hashnet.datasets: toy sets, the IDX reader, load() and the subset helpers."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hashnet import datasets as ds

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
IDX_BASES = (*ds.IDX_FILES["train"], *ds.IDX_FILES["test"])


# ------------------------------------------------------------------------------------ toy sets

TOY_CASES = [
    (ds.make_moons, {}, 2),
    (ds.make_spirals, {}, 2),
    (ds.make_spirals, {"n_arms": 4}, 4),
    (ds.make_blobs, {}, 3),
    (ds.make_blobs, {"n_classes": 7}, 7),
    (ds.make_xor, {}, 2),
    (ds.make_circles, {}, 2),
]


@pytest.mark.parametrize("make, kwargs, n_classes", TOY_CASES)
def test_toy_shapes_dtypes_balance_range(make, kwargs, n_classes):
    X, y = make(1001, **kwargs)
    assert X.shape == (1001, 2) and X.dtype == np.float32 and X.flags.c_contiguous
    assert y.shape == (1001,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=n_classes)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1
    assert np.isfinite(X).all()
    # "Roughly within [-3, 3]": Gaussian tails may poke out a little, but not far or often.
    assert np.abs(X).max() < 4 and np.mean(np.abs(X) > 3) < 0.01
    assert np.abs(X.mean(axis=0)).max() < 0.5  # centred


@pytest.mark.parametrize("make, kwargs, n_classes", TOY_CASES)
def test_toy_determinism(make, kwargs, n_classes):
    X1, y1 = make(200, seed=3, **kwargs)
    X2, y2 = make(200, seed=3, **kwargs)
    X3, _ = make(200, seed=4, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)


def test_toy_noise_zero_lies_on_the_shape():
    X, y = ds.make_circles(300, noise=0.0, factor=0.4)
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(radius[y == 0], 2.5, rtol=1e-5)
    np.testing.assert_allclose(radius[y == 1], 1.0, rtol=1e-5)
    X, y = ds.make_xor(300, noise=0.0)
    assert np.all((np.sign(X[:, 0]) == np.sign(X[:, 1])) == (y == 0))


@pytest.mark.parametrize(
    "call",
    [
        lambda: ds.make_moons(1),  # fewer points than classes
        lambda: ds.make_moons(10.5),
        lambda: ds.make_moons(10, noise=-0.1),
        lambda: ds.make_moons(10, noise=float("nan")),
        lambda: ds.make_spirals(10, n_arms=1),
        lambda: ds.make_blobs(10, n_classes=1),
        lambda: ds.make_circles(10, factor=1.0),
    ],
)
def test_toy_bad_arguments(call):
    with pytest.raises(ValueError):
        call()


# ------------------------------------------------------------------------------------ IDX files

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", IDX_DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("shape", [(7,), (3, 4, 5), (2, 1, 3, 2)])
def test_idx_round_trip(tmp_path, dtype, suffix, shape):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        arr = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        arr = rng.standard_normal(shape).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    ds.write_idx(path, arr)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    back = ds.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.flags.writeable
    np.testing.assert_array_equal(back, arr)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_idx_header_is_big_endian(tmp_path):
    path = ds.write_idx(tmp_path / "x.idx", np.array([[1, 2, 3]], dtype=np.int16))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert struct.unpack(">2I", raw[4:12]) == (1, 3)
    assert raw[12:] == b"\x00\x01\x00\x02\x00\x03"


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="supported dtypes"):
        ds.write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        ds.write_idx(tmp_path / "x.idx", np.uint8(3))


def _valid_idx_bytes():
    return bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 2, 3) + bytes(range(6))


CORRUPT = {
    "bad magic": (b"\x01\x00" + _valid_idx_bytes()[2:], "magic"),
    "unknown type": (bytes([0, 0, 0x0A, 2]) + _valid_idx_bytes()[4:], "type code"),
    "zero ndim": (bytes([0, 0, 0x08, 0]), "0 dimensions"),
    "short header": (bytes([0, 0, 0x08, 3]) + struct.pack(">2I", 2, 3), "truncated header"),
    "tiny file": (b"\x00\x00", "header"),
    "truncated data": (_valid_idx_bytes()[:-1], "truncated data"),
    "trailing bytes": (_valid_idx_bytes() + b"\x00\x00", "trailing"),
    "wrong dims": (bytes([0, 0, 0x08, 2]) + struct.pack(">2I", 3, 3) + bytes(6), "needs 9"),
}


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_idx_corrupt_files_raise(tmp_path, case, compress):
    data, message = CORRUPT[case]
    path = tmp_path / ("bad.idx.gz" if compress else "bad.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    with pytest.raises(ValueError, match=message) as info:
        ds.read_idx(path)
    assert str(path) in str(info.value)


def test_idx_truncated_gzip_raises(tmp_path):
    full = gzip.compress(_valid_idx_bytes() + bytes(1000))
    for cut in (len(full) // 2, len(full) - 4, 12):
        path = tmp_path / f"cut{cut}.gz"
        path.write_bytes(full[:cut])
        with pytest.raises(ValueError, match="gzip") as info:
            ds.read_idx(path)
        assert str(path) in str(info.value)


def test_idx_damaged_gzip_checksum_raises(tmp_path):
    full = bytearray(gzip.compress(_valid_idx_bytes()))
    full[-8] ^= 0xFF  # the CRC-32 of the data
    path = tmp_path / "crc.gz"
    path.write_bytes(bytes(full))
    with pytest.raises(ValueError, match="gzip"):
        ds.read_idx(path)


# ------------------------------------------------------------------------------------ load()


@pytest.mark.parametrize("name", ds.TOY_NAMES)
def test_load_toy(name):
    Xtr, ytr, Xte, yte = ds.load(name)
    assert Xtr.shape == (1000, 2) and Xte.shape == (1000, 2)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64 and yte.dtype == np.int64
    Xmake, ymake = ds.TOY_MAKERS[name](1000, seed=0)
    np.testing.assert_array_equal(Xtr, Xmake)  # train set is exactly make_<name>(n, seed=seed)
    np.testing.assert_array_equal(ytr, ymake)
    both = np.concatenate([Xtr, Xte])
    assert len(np.unique(both, axis=0)) == len(both)  # independent test points
    again = ds.load(name)
    for a, b in zip((Xtr, ytr, Xte, yte), again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_load_toy_options():
    Xtr, ytr, Xte, yte = ds.load("Blobs", n_train=30, n_test=12, noise=0.0, seed=5)
    assert Xtr.shape == (30, 2) and Xte.shape == (12, 2)
    assert len(np.unique(Xtr, axis=0)) == 3  # no noise: every point sits on its centre
    Xother = ds.load("blobs", n_train=30, seed=6, noise=0.1)[0]
    assert not np.array_equal(Xtr, Xother)
    with pytest.raises(ValueError, match="n_train"):
        ds.load("moons", n_train=0)


def test_load_unknown_name():
    with pytest.raises(ValueError, match="known names: .*moons.*fashion-mnist-mini.*cifar10"):
        ds.load("imagenet")


def _write_fake_set(folder, n_train=12, n_test=5, gz=True, seed=0):
    """Four small valid IDX files; pixel values encode the example index for checking order."""
    rng = np.random.default_rng(seed)
    suffix = ".gz" if gz else ""
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        image_base, label_base = ds.IDX_FILES[split]
        ds.write_idx(folder / f"{image_base}{suffix}", images)
        ds.write_idx(folder / f"{label_base}{suffix}", labels)
        arrays[split] = (images, labels)
    return arrays


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No HASHNET_DATA, an empty home folder and an empty system folder."""
    monkeypatch.delenv("HASHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ds.loading, "SYSTEM_DATA_DIR", tmp_path / "system")
    return tmp_path


def test_load_idx_set_shapes_and_scaling(isolated):
    arrays = _write_fake_set(isolated / "root" / "mnist", gz=False)
    Xtr, ytr, Xte, yte = ds.load("mnist", data_home=isolated / "root")
    assert Xtr.shape == (12, 784) and Xte.shape == (5, 784)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    np.testing.assert_allclose(Xtr * 255, arrays["train"][0].reshape(12, -1), atol=1e-4)
    np.testing.assert_array_equal(yte, arrays["test"][1])
    Xtr4, _, Xte4, _ = ds.load("mnist", data_home=isolated / "root", flatten=False)
    assert Xtr4.shape == (12, 1, 28, 28) and Xte4.shape == (5, 1, 28, 28)
    np.testing.assert_array_equal(Xtr4.reshape(12, -1), Xtr)
    # n_train / n_test keep the first n
    Xs, ys, Xts, yts = ds.load("mnist", data_home=isolated / "root", n_train=4, n_test=2)
    np.testing.assert_array_equal(Xs, Xtr[:4])
    np.testing.assert_array_equal(yts, yte[:2])
    with pytest.raises(ValueError, match="n_train"):
        ds.load("mnist", data_home=isolated / "root", n_train=13)
    with pytest.raises(ValueError, match="noise"):
        ds.load("mnist", data_home=isolated / "root", noise=0.1)


def test_load_search_order(isolated, monkeypatch):
    places = {
        "arg": isolated / "arg",
        "env": isolated / "env",
        "home": isolated / "home" / ".hashnet" / "data",
        "system": isolated / "system",
    }
    for i, root in enumerate(places.values()):
        _write_fake_set(root / "fashion-mnist", n_train=10 + i, gz=bool(i % 2))
    monkeypatch.setenv("HASHNET_DATA", str(places["env"]))

    def n_train(**kwargs):
        return len(ds.load("fashion-mnist", **kwargs)[1])

    assert n_train(data_home=places["arg"]) == 10
    assert n_train() == 11
    monkeypatch.delenv("HASHNET_DATA")
    assert n_train() == 12
    # An incomplete folder is passed over for the next one.
    (places["home"] / "fashion-mnist" / "t10k-labels-idx1-ubyte").unlink()
    assert n_train() == 13
    assert ds.find_data_dir("fashion-mnist") == places["system"] / "fashion-mnist"


def test_missing_data_lists_every_place(isolated, monkeypatch):
    monkeypatch.setenv("HASHNET_DATA", str(isolated / "env"))
    partial = isolated / "home" / ".hashnet" / "data" / "mnist"
    _write_fake_set(partial)
    (partial / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as info:
        ds.load("mnist", data_home=isolated / "arg")
    message = str(info.value)
    for place in (
        isolated / "arg" / "mnist",
        isolated / "env" / "mnist",
        partial,
        isolated / "system" / "mnist",
    ):
        assert str(place) in message
    assert "missing train-images-idx3-ubyte" in message
    assert "apt-get install dataset-mnist" in message and "~/.hashnet/data/mnist/" in message


def test_load_rejects_mismatched_files(isolated):
    folder = isolated / "root" / "mnist"
    _write_fake_set(folder)
    ds.write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="3 labels"):
        ds.load("mnist", data_home=isolated / "root")
    ds.write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(12, 10, dtype=np.uint8))
    with pytest.raises(ValueError, match="label 10"):
        ds.load("mnist", data_home=isolated / "root")


# ------------------------------------------------------------------------------------ mini set


def test_mini_set():
    assert ds.MINI_PATH.is_file()
    assert ds.MINI_PATH.stat().st_size <= 2_000_000
    Xtr, ytr, Xte, yte = ds.load("fashion-mnist-mini")
    assert Xtr.shape[1:] == (784,) and Xte.shape[1:] == (784,)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64
    assert len(Xtr) >= 3000 and len(Xte) >= 1000
    for X in (Xtr, Xte):
        assert X.min() >= 0.0 and X.max() <= 1.0 and X.max() == 1.0
    for y in (ytr, yte):
        counts = np.bincount(y, minlength=10)
        assert len(counts) == 10 and (counts == counts[0]).all()
        # stored interleaved by class: every prefix of 10 examples holds each class once
        np.testing.assert_array_equal(np.sort(y[:10]), np.arange(10))
    X4 = ds.load("fashion-mnist-mini", flatten=False, n_train=20, n_test=10)[0]
    assert X4.shape == (20, 1, 28, 28)
    np.testing.assert_array_equal(X4.reshape(20, -1), Xtr[:20])
    with np.load(ds.MINI_PATH, allow_pickle=False) as z:
        assert "Fashion-MNIST" in str(z["description"])
        assert z["index_train"].shape == ytr.shape
    assert len(ds.CLASS_NAMES["fashion-mnist-mini"]) == 10


needs_debian_fashion = pytest.mark.skipif(
    not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"full Fashion-MNIST not installed in {DEBIAN_FASHION} (apt-get install "
    "dataset-fashion-mnist)",
)


@needs_debian_fashion
def test_full_fashion_mnist(monkeypatch, tmp_path):
    monkeypatch.delenv("HASHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # make sure the Debian copy is the one read
    Xtr, ytr, Xte, yte = ds.load("fashion-mnist")
    assert Xtr.shape == (60000, 784) and Xte.shape == (10000, 784)
    np.testing.assert_array_equal(np.bincount(ytr), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(yte), np.full(10, 1000))
    assert Xtr.min() == 0.0 and Xtr.max() == 1.0
    # The bundled mini set really is a subset of the official splits.
    with np.load(ds.MINI_PATH, allow_pickle=False) as z:
        index_train, index_test = z["index_train"].astype(np.int64), z["index_test"]
        np.testing.assert_array_equal(z["y_train"], ytr[index_train])
        np.testing.assert_array_equal(z["y_test"], yte[index_test.astype(np.int64)])
        np.testing.assert_allclose(z["X_train"][:50].reshape(50, -1) / 255, Xtr[index_train[:50]])


@needs_debian_fashion
def test_mini_script_is_deterministic(tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "make_fashion_mnist_mini.py"
    out = tmp_path / "mini.npz"
    with np.load(ds.MINI_PATH, allow_pickle=False) as z:
        per_class = len(z["y_train"]) // 10
        bundled = {k: z[k] for k in z.files}
    subprocess.run(
        [
            sys.executable,
            str(script),
            "--source",
            str(DEBIAN_FASHION),
            "--out",
            str(out),
            "--train-per-class",
            str(per_class),
        ],
        check=True,
        capture_output=True,
    )
    with np.load(out, allow_pickle=False) as z:
        assert sorted(z.files) == sorted(bundled)
        for key in z.files:
            np.testing.assert_array_equal(z[key], bundled[key])


# ------------------------------------------------------------------------------------ subsets


def test_stratified_subset_keeps_proportions():
    y = np.repeat(np.arange(3), [600, 300, 100])
    X = np.arange(1000.0)[:, None] * np.ones((1, 3))
    Xs, ys = ds.stratified_subset(X, y, 100, seed=1)
    np.testing.assert_array_equal(np.bincount(ys), [60, 30, 10])
    assert Xs.shape == (100, 3)
    np.testing.assert_array_equal(y[Xs[:, 0].astype(int)], ys)  # rows stay paired with labels
    assert np.all(np.diff(Xs[:, 0]) > 0)  # original order, no duplicates
    Xs2, _ = ds.stratified_subset(X, y, 100, seed=1)
    Xs3, _ = ds.stratified_subset(X, y, 100, seed=2)
    np.testing.assert_array_equal(Xs, Xs2)
    assert not np.array_equal(Xs, Xs3)


def test_stratified_subset_rounding_and_edges():
    y = np.array([0] * 5 + [1] * 3 + [2] * 2)
    X = np.arange(10)
    _, ys = ds.stratified_subset(X, y, 5)  # quotas 2.5, 1.5, 1.0
    assert len(ys) == 5 and np.bincount(ys).tolist() == [3, 1, 1]
    Xall, yall = ds.stratified_subset(X, y, 10)
    np.testing.assert_array_equal(Xall, X)
    images = np.zeros((10, 1, 28, 28), dtype=np.float32)
    assert ds.stratified_subset(images, y, 4)[0].shape == (4, 1, 28, 28)
    for bad in (0, 11, 2.5):
        with pytest.raises(ValueError, match="n must"):
            ds.stratified_subset(X, y, bad)
    with pytest.raises(ValueError, match="labels"):
        ds.stratified_subset(X, y[:-1], 3)


def test_first_n_tiled():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10) % 3
    Xt, yt = ds.first_n_tiled(X, y, 3, 8)
    np.testing.assert_array_equal(yt, [0, 1, 2, 0, 1, 2, 0, 1])
    np.testing.assert_array_equal(Xt, X[[0, 1, 2, 0, 1, 2, 0, 1]])
    Xt, yt = ds.first_n_tiled(X, y, 10, 10)
    np.testing.assert_array_equal(Xt, X)
    with pytest.raises(ValueError, match="epoch_length"):
        ds.first_n_tiled(X, y, 5, 4)
    with pytest.raises(ValueError, match="n must"):
        ds.first_n_tiled(X, y, 11, 20)
    with pytest.raises(ValueError, match="n must"):
        ds.first_n_tiled(X, y, 0, 20)
    with pytest.raises(ValueError, match="labels"):
        ds.first_n_tiled(X, y[:5], 3, 9)
