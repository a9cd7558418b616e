"""Tests for the CIFAR-10 reader, fetch() and label_noise() in hashnet.datasets.

No test here touches the network: every download comes from a file:// URL of a small file made
in tmp_path, and the fixture `no_network` fails any test that tries another URL.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile

import numpy as np
import pytest

from hashnet import datasets as ds

RECORD = 3073
CIFAR_BINS = (*ds.CIFAR_FILES["train"], *ds.CIFAR_FILES["test"])
IDX_GZ = [f"{base}.gz" for base in (*ds.IDX_FILES["train"], *ds.IDX_FILES["test"])]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Let downloads open file:// URLs only."""
    real_open = ds.fetching._open_url

    def guarded(url):
        assert url.startswith("file://"), f"a test tried to open {url}"
        return real_open(url)

    monkeypatch.setattr(ds.fetching, "_open_url", guarded)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No HASHNET_DATA, an empty home folder and an empty system folder."""
    monkeypatch.delenv("HASHNET_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(ds.loading, "SYSTEM_DATA_DIR", tmp_path / "system")
    return tmp_path


# ------------------------------------------------------------------------------------ CIFAR files


def _cifar_bytes(images, labels):
    """Records of the binary layout: the label byte, then the image's 3072 bytes in CHW order."""
    flat = np.asarray(images, dtype=np.uint8).reshape(len(labels), -1)
    return np.column_stack([np.asarray(labels, dtype=np.uint8), flat]).tobytes()


def _cifar_set(n_per_batch=3, seed=0):
    """{file name: (images, labels)} for the six batch files, with random pixels and labels."""
    rng = np.random.default_rng(seed)
    return {
        name: (
            rng.integers(0, 256, size=(n_per_batch, 3, 32, 32), dtype=np.uint8),
            rng.integers(0, 10, size=n_per_batch, dtype=np.uint8),
        )
        for name in CIFAR_BINS
    }


def _write_cifar_set(folder, batches):
    folder.mkdir(parents=True, exist_ok=True)
    for name, (images, labels) in batches.items():
        (folder / name).write_bytes(_cifar_bytes(images, labels))


def test_read_cifar10_batch_pixel_order(tmp_path):
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, size=3 * RECORD, dtype=np.uint8)
    raw[::RECORD] = [7, 0, 9]  # the label bytes
    path = tmp_path / "data_batch_1.bin"
    path.write_bytes(raw.tobytes())
    images, labels = ds.read_cifar10_batch(path)
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.uint8 and labels.tolist() == [7, 0, 9]
    assert images.flags.c_contiguous and images.flags.writeable
    # Byte 1 + c*1024 + row*32 + col of record i is channel c (R, G, B), pixel (row, col).
    expected = np.empty((3, 3, 32, 32), dtype=np.uint8)
    for i in range(3):
        for c in range(3):
            for row in range(32):
                for col in range(32):
                    expected[i, c, row, col] = raw[i * RECORD + 1 + c * 1024 + row * 32 + col]
    np.testing.assert_array_equal(images, expected)
    assert images[1, 0, 0, 1] == raw[RECORD + 2]  # red, row 0, column 1
    assert images[1, 0, 1, 0] == raw[RECORD + 1 + 32]  # red, row 1, column 0
    assert images[1, 2, 0, 0] == raw[RECORD + 1 + 2048]  # blue, first pixel


def test_read_cifar10_batch_round_trip(tmp_path):
    images, labels = _cifar_set(n_per_batch=5)["test_batch.bin"]
    path = tmp_path / "test_batch.bin"
    path.write_bytes(_cifar_bytes(images, labels))
    back_images, back_labels = ds.read_cifar10_batch(str(path))
    np.testing.assert_array_equal(back_images, images)
    np.testing.assert_array_equal(back_labels, labels)


CIFAR_CORRUPT = {
    "empty": (b"", "empty file"),
    "truncated": (bytes(2 * RECORD - 1), "1 full record"),
    "trailing bytes": (bytes(RECORD + 5), "5 byte"),
    "too short": (bytes(100), "not a whole number of 3073-byte records"),
    "label 10": (bytes([10]) + bytes(RECORD - 1), "label 10"),
    "label 255 in record 1": (bytes(RECORD) + bytes([255]) + bytes(RECORD - 1), "record 1"),
}


@pytest.mark.parametrize("case", sorted(CIFAR_CORRUPT))
def test_read_cifar10_batch_rejects_bad_files(tmp_path, case):
    data, message = CIFAR_CORRUPT[case]
    path = tmp_path / "bad.bin"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        ds.read_cifar10_batch(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("layout", ["direct", "subfolder"])
def test_load_cifar10(isolated, layout):
    batches = _cifar_set(n_per_batch=3)
    folder = isolated / "root" / "cifar10"
    _write_cifar_set(folder / "cifar-10-batches-bin" if layout == "subfolder" else folder, batches)
    expected_dir = folder / "cifar-10-batches-bin" if layout == "subfolder" else folder
    assert ds.find_data_dir("cifar10", data_home=isolated / "root") == expected_dir

    Xtr, ytr, Xte, yte = ds.load("cifar10", data_home=isolated / "root")
    train_images = np.concatenate([batches[f][0] for f in ds.CIFAR_FILES["train"]])
    train_labels = np.concatenate([batches[f][1] for f in ds.CIFAR_FILES["train"]])
    assert Xtr.shape == (15, 3072) and Xte.shape == (3, 3072)
    assert Xtr.dtype == np.float32 and ytr.dtype == np.int64 and yte.dtype == np.int64
    assert Xtr.min() >= 0.0 and Xtr.max() <= 1.0
    np.testing.assert_array_equal(ytr, train_labels)  # batches 1..5 in order
    np.testing.assert_array_equal(yte, batches["test_batch.bin"][1])
    np.testing.assert_allclose(Xtr * 255, train_images.reshape(15, -1), atol=1e-4)
    # flattened rows are channel-major: the red plane row by row, then green, then blue
    np.testing.assert_allclose(Xtr[4, :1024] * 255, train_images[4, 0].ravel(), atol=1e-4)
    np.testing.assert_allclose(Xtr[4, 2048:] * 255, train_images[4, 2].ravel(), atol=1e-4)

    Xtr4, ytr4, Xte4, _ = ds.load("CIFAR-10", data_home=isolated / "root", flatten=False)
    assert Xtr4.shape == (15, 3, 32, 32) and Xte4.shape == (3, 3, 32, 32)
    assert Xtr4.dtype == np.float32 and Xtr4.flags.c_contiguous
    np.testing.assert_array_equal(Xtr4.reshape(15, -1), Xtr)
    np.testing.assert_array_equal(ytr4, ytr)

    Xs, ys, Xts, yts = ds.load("cifar10", data_home=isolated / "root", n_train=4, n_test=2)
    np.testing.assert_array_equal(Xs, Xtr[:4])
    np.testing.assert_array_equal(ys, ytr[:4])
    np.testing.assert_array_equal(yts, yte[:2])
    with pytest.raises(ValueError, match="n_train"):
        ds.load("cifar10", data_home=isolated / "root", n_train=16)
    assert ds.CLASS_NAMES["cifar10"][0] == "airplane" and len(ds.CLASS_NAMES["cifar10"]) == 10
    assert "cifar10" in ds.NAMES and "cifar10" in ds.IMAGE_NAMES


def test_load_cifar10_reports_a_bad_batch(isolated):
    folder = isolated / "root" / "cifar10"
    _write_cifar_set(folder, _cifar_set())
    (folder / "data_batch_4.bin").write_bytes(bytes(RECORD + 1))
    with pytest.raises(ValueError, match="data_batch_4.bin"):
        ds.load("cifar10", data_home=isolated / "root")


def test_cifar10_missing_lists_every_place(isolated, monkeypatch):
    monkeypatch.setenv("HASHNET_DATA", str(isolated / "env"))
    partial = isolated / "home" / ".hashnet" / "data" / "cifar10"
    _write_cifar_set(partial / "cifar-10-batches-bin", _cifar_set())
    (partial / "cifar-10-batches-bin" / "data_batch_3.bin").unlink()
    (isolated / "env" / "cifar10" / "cifar-10-batches-py").mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as info:
        ds.load("cifar10", data_home=isolated / "arg")
    message = str(info.value)
    for place in (
        isolated / "arg" / "cifar10",
        isolated / "env" / "cifar10",
        partial,
        isolated / "system" / "cifar10",
    ):
        assert str(place) in message
    assert "missing data_batch_3.bin" in message
    assert "pickled Python version" in message
    assert 'hashnet.datasets.fetch("cifar10")' in message
    assert "cifar-10-batches-bin/" in message and "~/.hashnet/data/cifar10/" in message


def test_idx_missing_message_mentions_fetch(isolated):
    with pytest.raises(FileNotFoundError, match=r'hashnet\.datasets\.fetch\("mnist"\)'):
        ds.find_data_dir("mnist")


# ------------------------------------------------------------------------------------ fetch()


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _remote(path):
    return ds.RemoteFile(path.name, path.stat().st_size, _sha256(path))


def _uri(folder):
    return folder.as_uri() + "/"


def _write_idx_mirror(folder):
    """The four gzipped IDX files of a tiny MNIST-like set; returns the test labels."""
    rng = np.random.default_rng(3)
    for split, n in (("train", 6), ("test", 4)):
        image_base, label_base = ds.IDX_FILES[split]
        ds.write_idx(folder / f"{image_base}.gz", rng.integers(0, 256, (n, 28, 28), np.uint8))
        ds.write_idx(folder / f"{label_base}.gz", (np.arange(n) % 10).astype(np.uint8))
    return np.arange(4) % 10


def _use_table(monkeypatch, name, mirrors, files):
    monkeypatch.setitem(ds.DOWNLOADS, name, ds.Download(tuple(mirrors), tuple(files)))


def test_fetch_downloads_checks_and_load_finds_it(isolated, monkeypatch, capsys):
    mirror = isolated / "mirror"
    yte = _write_idx_mirror(mirror)
    _use_table(monkeypatch, "mnist", [_uri(mirror)], [_remote(mirror / f) for f in IDX_GZ])
    folder = ds.fetch("mnist")
    assert folder == isolated / "home" / ".hashnet" / "data" / "mnist"
    assert sorted(os.listdir(folder)) == sorted(IDX_GZ)  # and no temporary files
    for f in IDX_GZ:
        assert (folder / f).read_bytes() == (mirror / f).read_bytes()
    out = capsys.readouterr().out
    assert f"downloading {_uri(mirror)}train-images-idx3-ubyte.gz" in out and "SHA-256 ok" in out
    _, _, _, y = ds.load("mnist")  # the cache folder is one of the places load looks in
    np.testing.assert_array_equal(y, yte)


def test_fetch_tries_the_next_mirror(isolated, monkeypatch, capsys):
    mirror = isolated / "mirror"
    _write_idx_mirror(mirror)
    files = [_remote(mirror / f) for f in IDX_GZ]
    _use_table(monkeypatch, "mnist", [_uri(isolated / "nowhere")], files)
    missing = (isolated / "missing").as_uri()  # no trailing slash: fetch adds it
    folder = ds.fetch("mnist", data_home=isolated / "root", mirrors=[missing, mirror.as_uri()])
    assert folder == isolated / "root" / "mnist"
    assert sorted(os.listdir(folder)) == sorted(IDX_GZ)
    out = capsys.readouterr().out
    assert f"downloading {missing}/train-images-idx3-ubyte.gz" in out and "failed" in out
    assert ds.load("mnist", data_home=isolated / "root")[0].shape == (6, 784)


def test_fetch_error_lists_every_mirror(isolated, monkeypatch):
    mirror = isolated / "mirror"
    _write_idx_mirror(mirror)
    _use_table(monkeypatch, "mnist", [_uri(mirror)], [_remote(mirror / IDX_GZ[0])])
    tried = [_uri(isolated / "a"), _uri(isolated / "b")]
    with pytest.raises(ds.DownloadError) as info:
        ds.fetch("mnist", data_home=isolated / "root", mirrors=tried, verbose=0)
    assert isinstance(info.value, OSError)
    message = str(info.value)
    for url in tried:
        assert f"{url}{IDX_GZ[0]}" in message
    assert "No part of it was saved" in message and _remote(mirror / IDX_GZ[0]).sha256 in message
    assert os.listdir(isolated / "root" / "mnist") == []


@pytest.mark.parametrize("wrong", ["sha256", "size smaller", "size larger"])
def test_fetch_rejects_a_wrong_file_and_keeps_nothing(isolated, monkeypatch, wrong):
    mirror = isolated / "mirror"
    _write_idx_mirror(mirror)
    good = _remote(mirror / IDX_GZ[0])
    bad = {
        "sha256": good._replace(sha256="0" * 64),
        "size smaller": good._replace(size=good.size - 1),
        "size larger": good._replace(size=good.size + 1),
    }[wrong]
    _use_table(monkeypatch, "mnist", [_uri(mirror)], [bad])
    with pytest.raises(ds.DownloadError, match="SHA-256" if wrong == "sha256" else "bytes"):
        ds.fetch("mnist", data_home=isolated / "root", verbose=0)
    assert os.listdir(isolated / "root" / "mnist") == []  # no file, no temporary file


def test_fetch_skips_files_already_there_and_replaces_bad_ones(isolated, monkeypatch, capsys):
    mirror = isolated / "mirror"
    _write_idx_mirror(mirror)
    _use_table(monkeypatch, "mnist", [_uri(mirror)], [_remote(mirror / f) for f in IDX_GZ])
    folder = ds.fetch("mnist", data_home=isolated / "root", verbose=0)
    before = {f: (folder / f).stat() for f in IDX_GZ}
    # A second call needs no mirror at all: every file is there with the right checksum.
    ds.fetch("mnist", data_home=isolated / "root", mirrors=[_uri(isolated / "gone")])
    assert capsys.readouterr().out.count("already in") == 4
    for f in IDX_GZ:
        after = (folder / f).stat()
        assert (after.st_ino, after.st_mtime_ns) == (before[f].st_ino, before[f].st_mtime_ns)
    # A damaged copy in the cache is downloaded again.
    (folder / IDX_GZ[1]).write_bytes(b"damaged")
    ds.fetch("mnist", data_home=isolated / "root")
    assert "does not match" in capsys.readouterr().out
    assert (folder / IDX_GZ[1]).read_bytes() == (mirror / IDX_GZ[1]).read_bytes()
    assert sorted(os.listdir(folder)) == sorted(IDX_GZ)


def test_fetch_prints_progress_for_big_files(isolated, monkeypatch, capsys):
    monkeypatch.setattr(ds.fetching, "_CHUNK", 64)  # "big" means at least 10 chunks
    mirror = isolated / "mirror"
    mirror.mkdir()
    (mirror / "big.gz").write_bytes(np.random.default_rng(0).bytes(2000))
    _use_table(monkeypatch, "mnist", [_uri(mirror)], [_remote(mirror / "big.gz")])
    ds.fetch("mnist", data_home=isolated / "root")
    progress = [line for line in capsys.readouterr().out.splitlines() if "% " in line]
    assert 5 <= len(progress) <= 10 and "100%" in progress[-1] and "ETA" in progress[-1]
    ds.fetch("mnist", data_home=isolated / "root", verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": "moons"}, "nothing to download"),
        ({"name": "fashion-mnist-mini"}, "ships with hashnet"),
        ({"name": "imagenet"}, "unknown data set"),
        ({"name": 3}, "must be a string"),
        ({"name": "mnist", "mirrors": []}, "non-empty"),
        ({"name": "mnist", "mirrors": ["ftp://example.org/"]}, "must be a URL"),
        ({"name": "mnist", "mirrors": [None]}, "must be a URL"),
        ({"name": "mnist", "verbose": -1}, "verbose"),
    ],
)
def test_fetch_bad_arguments(isolated, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ds.fetch(data_home=isolated / "root", **kwargs)
    assert not (isolated / "root").exists()


def _tar_member(tar, name, data=b"", kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _write_cifar_archive(path, batches, extra=None, skip=()):
    """A cifar-10-binary.tar.gz look-alike; `extra(tar)` adds members after the real ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        _tar_member(tar, "cifar-10-batches-bin", kind=tarfile.DIRTYPE)
        for name, (images, labels) in batches.items():
            if name not in skip:
                _tar_member(tar, f"cifar-10-batches-bin/{name}", _cifar_bytes(images, labels))
        names = "\n".join(ds.CLASS_NAMES["cifar10"]) + "\n"
        _tar_member(tar, "cifar-10-batches-bin/batches.meta.txt", names.encode())
        if extra is not None:
            extra(tar)
    return path


def test_fetch_cifar10_unpacks_and_load_reads_it(isolated, monkeypatch, capsys):
    batches = _cifar_set(n_per_batch=2)
    archive = _write_cifar_archive(isolated / "mirror" / "cifar-10-binary.tar.gz", batches)
    _use_table(monkeypatch, "cifar10", [_uri(archive.parent)], [_remote(archive)])
    root = isolated / "root"
    folder = ds.fetch("cifar10", data_home=root)
    assert folder == root / "cifar10"
    assert sorted(os.listdir(folder)) == ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]
    unpacked = folder / "cifar-10-batches-bin"
    assert sorted(os.listdir(unpacked)) == sorted([*CIFAR_BINS, "batches.meta.txt"])
    images, labels = batches["data_batch_2.bin"]
    assert (unpacked / "data_batch_2.bin").read_bytes() == _cifar_bytes(images, labels)
    assert "unpacking cifar-10-binary.tar.gz" in capsys.readouterr().out
    Xtr, ytr, Xte, yte = ds.load("cifar10", data_home=root, flatten=False)
    assert Xtr.shape == (10, 3, 32, 32) and Xte.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(yte, batches["test_batch.bin"][1])

    # Unpacked and complete: nothing to download, even without a working mirror.
    ds.fetch("cifar10", data_home=root, mirrors=[_uri(isolated / "gone")])
    assert "already unpacked" in capsys.readouterr().out
    # One batch lost: unpacked again from the archive in the cache, still no download.
    (unpacked / "test_batch.bin").unlink()
    ds.fetch("cifar10", data_home=root, mirrors=[_uri(isolated / "gone")])
    out = capsys.readouterr().out
    assert "already in" in out and "downloading" not in out
    assert sorted(os.listdir(unpacked)) == sorted([*CIFAR_BINS, "batches.meta.txt"])
    assert sorted(os.listdir(folder)) == ["cifar-10-batches-bin", "cifar-10-binary.tar.gz"]


UNSAFE_MEMBERS = {
    "dot-dot": (lambda tar, tmp: _tar_member(tar, "../evil", b"x"), "'..'"),
    "dot-dot inside": (
        lambda tar, tmp: _tar_member(tar, "cifar-10-batches-bin/../../evil", b"x"),
        "'..'",
    ),
    "absolute": (lambda tar, tmp: _tar_member(tar, str(tmp / "evil"), b"x"), "absolute"),
    "symlink": (
        lambda tar, tmp: _tar_member(
            tar, "cifar-10-batches-bin/link", kind=tarfile.SYMTYPE, linkname=str(tmp / "evil")
        ),
        "link",
    ),
    "hard link": (
        lambda tar, tmp: _tar_member(
            tar, "cifar-10-batches-bin/hard", kind=tarfile.LNKTYPE, linkname="/etc/passwd"
        ),
        "link",
    ),
    "device": (
        lambda tar, tmp: _tar_member(tar, "cifar-10-batches-bin/dev", kind=tarfile.CHRTYPE),
        "device",
    ),
    "outside the folder": (lambda tar, tmp: _tar_member(tar, "other/x.bin", b"x"), "outside"),
    "subfolder": (
        lambda tar, tmp: _tar_member(tar, "cifar-10-batches-bin/sub/x.bin", b"x"),
        "subfolder",
    ),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_MEMBERS))
def test_fetch_cifar10_rejects_unsafe_archives(isolated, monkeypatch, case):
    add_member, message = UNSAFE_MEMBERS[case]
    outside = isolated / "outside"
    outside.mkdir()
    archive = _write_cifar_archive(
        isolated / "mirror" / "cifar-10-binary.tar.gz",
        _cifar_set(n_per_batch=1),
        extra=lambda tar: add_member(tar, outside),  # after the good members: all checked first
    )
    _use_table(monkeypatch, "cifar10", [_uri(archive.parent)], [_remote(archive)])
    folder = isolated / "root" / "cifar10"
    with pytest.raises(ValueError, match=f"refusing.*{message}"):
        ds.fetch("cifar10", data_home=isolated / "root", verbose=0)
    # The checked download stays; nothing was unpacked, no temporary folder is left.
    assert os.listdir(folder) == ["cifar-10-binary.tar.gz"]
    assert os.listdir(outside) == []
    assert not (isolated / "root" / "evil").exists() and not (isolated / "evil").exists()


@pytest.mark.parametrize("case", ["not an archive", "missing batch"])
def test_fetch_cifar10_rejects_broken_archives(isolated, monkeypatch, case):
    archive = isolated / "mirror" / "cifar-10-binary.tar.gz"
    if case == "not an archive":
        archive.parent.mkdir()
        archive.write_bytes(np.random.default_rng(0).bytes(5000))
        message = "damaged or not a tar.gz"
    else:
        _write_cifar_archive(archive, _cifar_set(n_per_batch=1), skip={"data_batch_5.bin"})
        message = "lacks data_batch_5.bin"
    _use_table(monkeypatch, "cifar10", [_uri(archive.parent)], [_remote(archive)])
    with pytest.raises(ValueError, match=message):
        ds.fetch("cifar10", data_home=isolated / "root", verbose=0)
    assert os.listdir(isolated / "root" / "cifar10") == ["cifar-10-binary.tar.gz"]


def test_download_table_is_complete():
    assert set(ds.DOWNLOADS) == {"mnist", "fashion-mnist", "cifar10"}
    for spec in ds.DOWNLOADS.values():
        assert spec.mirrors and all(m.startswith(("https://", "http://")) for m in spec.mirrors)
        for remote in spec.files:
            assert remote.size > 0 and len(remote.sha256) == 64
            int(remote.sha256, 16)  # hexadecimal
    for name in ("mnist", "fashion-mnist"):
        assert [f.filename for f in ds.DOWNLOADS[name].files] == IDX_GZ


# ------------------------------------------------------------------------------------ label noise


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 1 / 3, 0.9, 1.0])
def test_label_noise_changes_exactly_the_fraction(fraction):
    y = np.arange(1000) % 10
    noisy = ds.label_noise(y, fraction, seed=3)
    assert noisy.dtype == np.int64 and noisy.shape == y.shape
    assert noisy is not y and np.array_equal(y, np.arange(1000) % 10)  # y is left alone
    changed = noisy != y
    assert changed.sum() == round(fraction * 1000)  # each picked label really changed
    assert noisy.min() >= 0 and noisy.max() <= 9


def test_label_noise_picks_other_classes_uniformly():
    y = np.zeros(20000, dtype=np.int64)
    noisy = ds.label_noise(y, 1.0, n_classes=5, seed=0)
    counts = np.bincount(noisy, minlength=5)
    assert counts[0] == 0 and counts.sum() == 20000
    # each of the 4 other classes: expected 5000, standard deviation about 61
    assert np.all(np.abs(counts[1:] - 5000) < 300)


def test_label_noise_seeding_and_rounding():
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    a = ds.label_noise(y, 0.5, seed=7)
    np.testing.assert_array_equal(a, ds.label_noise(y, 0.5, seed=7))
    np.testing.assert_array_equal(a, ds.label_noise(y, 0.5, seed=np.random.default_rng(7)))
    others = [ds.label_noise(y, 0.5, seed=s) for s in range(8, 14)]
    assert any(not np.array_equal(a, b) for b in others)
    assert (ds.label_noise(y, 0.25, seed=0) != y).sum() == 2  # round(2.5) == 2
    assert (ds.label_noise(y, 0.35, seed=0) != y).sum() == 4  # round(3.5) == 4
    np.testing.assert_array_equal(ds.label_noise(y, 0, seed=0), y)
    # n_classes larger than what y shows: the unseen class can appear
    two = np.array([0, 1] * 500)
    assert 2 in ds.label_noise(two, 1.0, n_classes=3)
    assert set(np.unique(ds.label_noise(two, 1.0))) == {0, 1}  # default: y.max() + 1 == 2


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (([0, 1, 2], -0.1), {}, "between 0 and 1"),
        (([0, 1, 2], 1.5), {}, "between 0 and 1"),
        (([0, 1, 2], float("nan")), {}, "between 0 and 1"),
        (([0, 1, 2], "0.1"), {}, "must be a number"),
        (([0, 1, 2], True), {}, "must be a number"),
        (([0, 0, 0], 0.5), {}, "n_classes"),
        (([0, 1, 2], 0.5), {"n_classes": 1}, "n_classes"),
        (([0, 1, 5], 0.5), {"n_classes": 3}, r"labels in \[0, 3\)"),
        (([0, -1, 2], 0.5), {}, "labels in"),
        (([[0, 1], [1, 0]], 0.5), {}, "1D"),
        (([], 0.5), {}, "empty"),
    ],
)
def test_label_noise_bad_arguments(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ds.label_noise(*args, **kwargs)
