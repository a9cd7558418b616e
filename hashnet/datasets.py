"""Data for the experiments: 2D toy sets, image sets (MNIST, Fashion-MNIST, CIFAR-10), downloads,
and the helpers for the sample-size and label-noise studies.

Everything returns NumPy arrays ready for a network: features as float32, class labels as
int64 in [0, n_classes).

* Toy sets (`make_moons`, `make_spirals`, `make_blobs`, `make_xor`, `make_circles`) live in the
  plane, so you can *look* at the linear regions a network carves out of it. They are drawn from
  a seeded random generator: the same seed gives the same arrays, bit for bit.
* Image sets (Fashion-MNIST, MNIST) come as IDX files, the simple binary format Yann LeCun used
  for MNIST. `read_idx` reads them strictly: a corrupt or truncated file is an error, never a
  silently wrong array. A small real subset of Fashion-MNIST ships with the package
  ("fashion-mnist-mini"), so the tutorials run without any download.
* CIFAR-10 is read from its *binary* distribution (`read_cifar10_batch`): fixed-size records of
  one label byte and 3072 pixel bytes, as plain as IDX. The Python version of CIFAR-10 is a
  pickle, and unpickling a downloaded file can run arbitrary code, so hashnet never reads it.
* `fetch(name)` downloads MNIST, Fashion-MNIST or CIFAR-10 into a cache folder, checking every
  file against a known SHA-256. It is the only function here that touches the network, and
  only when you call it.
* `load(name)` is the one entry point for the data: it returns (X_train, y_train, X_test, y_test).
* `stratified_subset`, `first_n_tiled` and `label_noise` prepare the training sets of the
  sample-size and label-noise experiments.

Nothing here unpickles data.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import numbers
import os
import shutil
import struct
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import NamedTuple

import numpy as np

from hashnet._io import atomic_path, atomic_write_bytes
from hashnet._validation import check_int, check_random_state, check_y

__all__ = [
    "CLASS_NAMES",
    "IMAGE_NAMES",
    "NAMES",
    "TOY_NAMES",
    "DownloadError",
    "fetch",
    "find_data_dir",
    "first_n_tiled",
    "label_noise",
    "load",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_cifar10_batch",
    "read_idx",
    "stratified_subset",
    "write_idx",
]

TOY_NAMES = ("moons", "spirals", "blobs", "xor", "circles")
IDX_NAMES = ("fashion-mnist", "mnist")  # read from IDX files found on disk
IMAGE_NAMES = ("fashion-mnist", "fashion-mnist-mini", "mnist", "cifar10")
PLANNED_NAMES = ()  # accepted names whose loader is not written yet
NAMES = TOY_NAMES + IMAGE_NAMES
_ALIASES = {"cifar-10": "cifar10"}  # other spellings load() and fetch() accept

CLASS_NAMES = {
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "mnist": [str(d) for d in range(10)],
    "cifar10": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
}
CLASS_NAMES["fashion-mnist-mini"] = CLASS_NAMES["fashion-mnist"]

# The four files of an MNIST-style set, as (images, labels) per split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# CIFAR-10, binary version: five training batches and one test batch of 10000 records each.
CIFAR_FILES = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
CIFAR_SUBDIR = "cifar-10-batches-bin"  # the folder cifar-10-binary.tar.gz unpacks to
CIFAR_SHAPE = (3, 32, 32)  # channels (red, green, blue), rows, columns
CIFAR_RECORD_BYTES = 1 + math.prod(CIFAR_SHAPE)  # one label byte, then 3072 pixel bytes
# Debian and Ubuntu install datasets here, one folder per set (apt-get install
# dataset-fashion-mnist). A module constant so tests can point it elsewhere.
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
MINI_PATH = Path(__file__).resolve().parent / "data" / "fashion_mnist_mini.npz"

# Toy-set sizes used by load() when n_train / n_test are not given.
TOY_N_TRAIN = 1000
TOY_N_TEST = 1000


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_nonneg(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


# --------------------------------------------------------------------------------------------
# 2D toy sets
# --------------------------------------------------------------------------------------------


def _balanced_labels(n, n_classes, rng) -> np.ndarray:
    """Labels with (almost) equal class counts, in random order.

    The counts differ by at most one (the first `n % n_classes` classes get the extra point).
    Shuffling the labels first and then drawing each point for its label means every prefix of
    the data set is a fair sample too.
    """
    n = check_int(n, "n", n_classes)
    y = np.arange(n, dtype=np.int64) % n_classes
    return rng.permutation(y)


def _finish(X, scale) -> np.ndarray:
    return np.ascontiguousarray(X * scale, dtype=np.float32)


def make_moons(n, noise=0.1, seed=0):
    """Two interleaving half circles, one per class (the classic "moons").

    The half circles have radius 1; `noise` is the standard deviation of the Gaussian jitter
    added to each point, in those units. The picture is then centred and scaled by 1.5, so it
    fills about [-2.3, 2.3] x [-1.2, 1.2]. Returns X float32 (n, 2) and y int64 (n,).
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, np.pi, size=y.size)  # position along the half circle
    upper = np.column_stack([np.cos(t), np.sin(t)])
    lower = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = np.where(y[:, None] == 0, upper, lower)
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X - [0.5, 0.25], 1.5), y


def make_spirals(n, noise=0.05, seed=0, n_arms=2, turns=1.5):
    """Interleaved spiral arms around the origin, one class per arm.

    Arm k starts at the centre and winds `turns` times outwards to radius 1, rotated by
    2*pi*k/n_arms from arm 0. `noise` is the standard deviation of the Gaussian jitter, relative
    to that radius (neighbouring arms are 1/(turns*n_arms) apart). Scaled by 2.5, the spirals
    fill about [-2.5, 2.5]^2. A hard set for a small network: it needs many linear regions.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    n_arms = check_int(n_arms, "n_arms", 2)
    turns = _check_nonneg(turns, "turns")
    y = _balanced_labels(n, n_arms, rng)
    r = rng.uniform(0.0, 1.0, size=y.size)
    theta = 2 * np.pi * (turns * r + y / n_arms)
    X = r[:, None] * np.column_stack([np.cos(theta), np.sin(theta)])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


def make_blobs(n, n_classes=3, noise=0.4, seed=0):
    """Round Gaussian clusters, one per class, with centres evenly spaced on a circle of radius 2.

    `noise` is the standard deviation of each cluster (in the output units). With 3 classes the
    blobs are well apart; with many classes they start to overlap, which makes a good test of
    how a network handles ambiguous points.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    n_classes = check_int(n_classes, "n_classes", 2)
    y = _balanced_labels(n, n_classes, rng)
    angle = np.pi / 2 + 2 * np.pi * np.arange(n_classes) / n_classes
    centres = 2.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    X = centres[y] + noise * rng.standard_normal((y.size, 2))
    return _finish(X, 1.0), y


def make_xor(n, noise=0.1, seed=0):
    """The XOR problem: class 0 fills quadrants I and III, class 1 quadrants II and IV.

    Points are uniform in the square [-1, 1]^2 (before scaling) with the quadrant fixed by the
    class; `noise` is the standard deviation of Gaussian jitter in those units, which blurs the
    class boundary along the axes. Scaled by 2.5. No single line separates the classes, so a
    network needs at least two hidden units.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    y = _balanced_labels(n, 2, rng)
    sign_x = rng.choice([-1.0, 1.0], size=y.size)
    sign_y = np.where(y == 0, sign_x, -sign_x)  # same signs -> class 0, opposite -> class 1
    X = rng.uniform(0.0, 1.0, size=(y.size, 2)) * np.column_stack([sign_x, sign_y])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


def make_circles(n, noise=0.05, factor=0.5, seed=0):
    """Two concentric circles: class 0 on the outer circle (radius 1), class 1 on the inner one.

    `factor` is the inner radius relative to the outer one (between 0 and 1); `noise` the
    standard deviation of the Gaussian jitter, relative to the outer radius. Scaled by 2.5.
    """
    rng = check_random_state(seed)
    noise = _check_nonneg(noise, "noise")
    if not isinstance(factor, numbers.Real) or not 0.0 < float(factor) < 1.0:
        raise ValueError(f"factor must be a number strictly between 0 and 1, got {factor!r}")
    y = _balanced_labels(n, 2, rng)
    t = rng.uniform(0.0, 2 * np.pi, size=y.size)
    radius = np.where(y == 0, 1.0, float(factor))
    X = radius[:, None] * np.column_stack([np.cos(t), np.sin(t)])
    X = X + noise * rng.standard_normal(X.shape)
    return _finish(X, 2.5), y


TOY_MAKERS = {
    "moons": make_moons,
    "spirals": make_spirals,
    "blobs": make_blobs,
    "xor": make_xor,
    "circles": make_circles,
}


# --------------------------------------------------------------------------------------------
# IDX files
# --------------------------------------------------------------------------------------------

# IDX type code -> big-endian NumPy dtype. The header is: two zero bytes, the type code, the
# number of dimensions; then one big-endian uint32 per dimension; then the data, row-major.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a NumPy array in native byte order.

    The reader is strict on purpose: a download cut short or a file from another format should
    fail loudly here rather than give a network garbage. A ValueError names the file and the
    problem when the magic number or type code is wrong, the gzip stream is damaged, or the data
    is shorter or longer than the dimensions in the header promise.

    The header is read first and the data only up to the size it promises, so a file that
    decompresses to far more than that (a "decompression bomb") is refused after reading one
    byte too many, with memory bounded by the array itself.
    """
    path = Path(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"  # gzip's magic; an IDX file starts with 00 00
    # Deflate expands data at most about 1032-fold, so a header that promises more than that
    # can be refused before anything is decompressed.
    size = path.stat().st_size
    most = size * 1032 + 1024 if compressed else size

    def fail(problem):
        raise ValueError(f"{path}: not a valid IDX file: {problem}")

    try:
        with (gzip.open if compressed else open)(path, "rb") as f:
            head = f.read(4)
            if len(head) < 4:
                fail(f"only {len(head)} byte(s), but the header alone needs at least 4")
            if head[:2] != b"\x00\x00":
                fail(f"magic number starts with bytes {head[:2].hex()}, expected 0000")
            code, ndim = head[2], head[3]
            if code not in IDX_DTYPES:
                known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
                fail(f"unknown type code 0x{code:02X}; known codes: {known}")
            if ndim == 0:
                fail("the header says 0 dimensions, expected at least 1")
            dims = f.read(4 * ndim)
            if len(dims) < 4 * ndim:
                fail(
                    f"truncated header: {ndim} dimensions need {4 + 4 * ndim} bytes, file has "
                    f"{4 + len(dims)}"
                )
            shape = struct.unpack(f">{ndim}I", dims)
            dtype = IDX_DTYPES[code]
            expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            if expected > most:
                fail(
                    f"truncated data: shape {shape} of {dtype.name} needs {expected} bytes after "
                    f"the header, but a file of {size} bytes cannot hold that many"
                )
            data = np.empty(expected, np.uint8)
            found = f.readinto(memoryview(data)) if expected else 0
            while 0 < found < expected:  # gzip hands out its data in pieces
                more = f.readinto(memoryview(data)[found:])
                if not more:
                    break
                found += more
            if found < expected:
                fail(
                    f"truncated data: shape {shape} of {dtype.name} needs {expected} bytes after "
                    f"the header, found {found}"
                )
            # One more byte shows trailing data without reading it all; at the end of a gzip
            # stream this read also checks the stream's CRC and length.
            if f.read(1):
                if compressed:
                    fail(
                        f"trailing data: shape {shape} of {dtype.name} needs exactly {expected} "
                        "bytes after the header, and the stream holds more"
                    )
                fail(
                    f"{size - 4 - 4 * ndim - expected} trailing byte(s): shape {shape} of "
                    f"{dtype.name} needs exactly {expected} bytes after the header, found "
                    f"{size - 4 - 4 * ndim}"
                )
    except (OSError, EOFError, zlib.error) as exc:
        if not compressed:
            raise
        raise ValueError(f"{path}: damaged or truncated gzip stream ({exc})") from None
    array = data.view(dtype).reshape(shape)  # our own buffer: writable, no copy
    return array if array.dtype.isnative else array.astype(dtype.newbyteorder("="))


def write_idx(path, array) -> Path:
    """Write `array` as an IDX file, gzip-compressed if `path` ends in '.gz'.

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (the ones IDX defines). The
    file is written to a temporary name and renamed, so it is never left half-written.
    """
    path = Path(path)
    arr = np.asarray(array)
    code = _IDX_CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        names = ", ".join(d.name for d in _IDX_CODES)
        raise TypeError(f"IDX cannot store dtype {arr.dtype}; supported dtypes: {names}")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"IDX stores arrays with 1 to 255 dimensions, got shape {arr.shape}")
    if max(arr.shape) >= 2**32:
        raise ValueError(f"IDX dimensions must be below 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    data = header + arr.astype(IDX_DTYPES[code], copy=False).tobytes(order="C")
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime=0: the same array gives the same bytes
    return atomic_write_bytes(path, data)


# --------------------------------------------------------------------------------------------
# CIFAR-10 binary batches
# --------------------------------------------------------------------------------------------


def read_cifar10_batch(path):
    """Read one CIFAR-10 binary batch file (e.g. data_batch_1.bin) into NumPy arrays.

    The file is a plain run of fixed-size records, one per image, with no header:

        1 byte      the label, 0..9 (see CLASS_NAMES["cifar10"])
        1024 bytes  the red channel: 32 rows of 32 pixels, row by row (row-major)
        1024 bytes  the green channel, laid out the same way
        1024 bytes  the blue channel

    So a record is 3073 bytes, and its 3072 pixel bytes are already in the channel-first
    order (C, H, W) that the networks here expect. Returns (images, labels): images uint8 of
    shape (N, 3, 32, 32), labels uint8 of shape (N,).

    Strict, like `read_idx`: an empty file, a size that is not a whole number of records (a
    download cut short, or not a CIFAR-10 binary batch at all) or a label above 9 is a
    ValueError naming the file. Only the binary version is read; the "python version" of
    CIFAR-10 is a pickle, and loading a pickle can run code hidden in the file.
    """
    path = Path(path)
    raw = path.read_bytes()
    record = CIFAR_RECORD_BYTES
    if not raw:
        raise ValueError(
            f"{path}: empty file; a CIFAR-10 batch holds records of {record} bytes "
            "(1 label byte + 3072 pixel bytes)"
        )
    n, extra = divmod(len(raw), record)
    if extra:
        raise ValueError(
            f"{path}: {len(raw)} bytes is not a whole number of {record}-byte records "
            f"({n} full record(s) and {extra} byte(s) left over); expected a CIFAR-10 binary "
            "batch (1 label byte + 3072 pixel bytes per image). Truncated download?"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(n, record)
    labels = records[:, 0].copy()
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            f"{path}: record {i} has label {labels[i]}, but CIFAR-10 labels are 0..9 "
            f"({bad.size} bad label(s) in all); is this a CIFAR-10 binary batch?"
        )
    images = records[:, 1:].reshape(n, *CIFAR_SHAPE).copy()  # a copy: writable, contiguous
    return images, labels


# --------------------------------------------------------------------------------------------
# Finding and loading the image sets
# --------------------------------------------------------------------------------------------


def _search_dirs(name, data_home=None) -> list[tuple[str, Path | None]]:
    """(where the folder comes from, folder or None if unset) for `name`, in search order."""
    env = os.environ.get("HASHNET_DATA")
    return [
        ("data_home argument", None if data_home is None else Path(data_home).expanduser() / name),
        ("$HASHNET_DATA", Path(env).expanduser() / name if env else None),
        ("home folder", _home_cache(name)),
        ("Debian/Ubuntu", Path(SYSTEM_DATA_DIR) / name),  # this root is already per data set
    ]


def _home_cache(name) -> Path:
    return Path.home() / ".hashnet" / "data" / name


def _idx_files_in(folder):
    """Map each of the four IDX base names to an existing file (raw preferred), or None."""
    found = {}
    for base in (*IDX_FILES["train"], *IDX_FILES["test"]):
        candidates = [folder / base, folder / f"{base}.gz"]
        found[base] = next((p for p in candidates if p.is_file()), None)
    return found


def _cifar_dir_in(folder):
    """(folder holding all six CIFAR-10 .bin files, []) or (None, the files that are missing).

    The files may sit in `folder` itself or in the cifar-10-batches-bin/ subfolder that
    unpacking cifar-10-binary.tar.gz creates.
    """
    wanted = (*CIFAR_FILES["train"], *CIFAR_FILES["test"])
    sub = folder / CIFAR_SUBDIR
    candidates = [sub, folder] if sub.is_dir() else [folder]
    for candidate in candidates:
        if all((candidate / f).is_file() for f in wanted):
            return candidate, []
    nearest = candidates[0]  # report what the unpacked subfolder lacks, if there is one
    return None, [f for f in wanted if not (nearest / f).is_file()]


def _missing_report(name, folder):
    """(folder with the data, "") or (None, a short note on what is missing in `folder`)."""
    if name == "cifar10":
        found, missing = _cifar_dir_in(folder)
        if found is not None:
            return found, ""
        note = f"missing {', '.join(missing)}"
        if (folder / "cifar-10-batches-py").exists():
            note += (
                "; cifar-10-batches-py/ is the pickled Python version, which hashnet does not read"
            )
        return None, note
    missing = [base for base, p in _idx_files_in(folder).items() if p is None]
    return (folder, "") if not missing else (None, f"missing {', '.join(missing)}")


def _how_to_get(name):
    if name == "cifar10":
        files = ", ".join((*CIFAR_FILES["train"], *CIFAR_FILES["test"]))
        return (
            'To get them: run `hashnet.datasets.fetch("cifar10")` (downloads the 162 MiB '
            "cifar-10-binary.tar.gz from www.cs.toronto.edu, checks it and unpacks it into "
            "~/.hashnet/data/cifar10/), or download the *binary version* of CIFAR-10 yourself "
            "and unpack it into ~/.hashnet/data/cifar10/ (or a folder <root>/cifar10/ given as "
            "data_home= or $HASHNET_DATA=<root>); the files may sit in that folder or in its "
            f"{CIFAR_SUBDIR}/ subfolder: {files}"
        )
    return (
        f'To get them: run `hashnet.datasets.fetch("{name}")` (downloads them into '
        f"~/.hashnet/data/{name}/ and checks their SHA-256), on Debian/Ubuntu run "
        f"`apt-get install dataset-{name}` (if your release packages it), or put the four IDX "
        f"files (raw or .gz) into ~/.hashnet/data/{name}/ (or a folder <root>/{name}/ given as "
        "data_home= or $HASHNET_DATA=<root>): "
        + ", ".join(f"{b}[.gz]" for b in (*IDX_FILES["train"], *IDX_FILES["test"]))
    )


def find_data_dir(name, data_home=None) -> Path:
    """Return the first folder that holds all the files of the image set `name`.

    For "fashion-mnist" and "mnist" that is the four IDX files, each raw or gzip-compressed
    (`.gz`). For "cifar10" it is the six binary batches (data_batch_1.bin .. data_batch_5.bin,
    test_batch.bin), either directly in the folder or in its cifar-10-batches-bin/ subfolder;
    the folder returned is the one that holds them.

    Searched in this order: `data_home/<name>/`, `$HASHNET_DATA/<name>/`,
    `~/.hashnet/data/<name>/` (where `fetch` puts them), and Debian's
    `/usr/share/datasets/<name>/`. Raises FileNotFoundError listing every place looked at and
    how to get the files.
    """
    name = _normalise(name)
    if name not in (*IDX_NAMES, "cifar10"):
        raise ValueError(
            f"no data files belong to {name!r}; sets read from disk are "
            f"{list((*IDX_NAMES, 'cifar10'))}"
        )
    report = []
    for origin, folder in _search_dirs(name, data_home):
        if folder is None:
            report.append(f"  ({origin} not set)")
            continue
        if not folder.is_dir():
            report.append(f"  {folder}  ({origin}: no such folder)")
            continue
        found, note = _missing_report(name, folder)
        if found is not None:
            return found
        report.append(f"  {folder}  ({origin}: {note})")
    raise FileNotFoundError(
        f"could not find the {name} data files. Looked in:\n"
        + "\n".join(report)
        + "\n"
        + _how_to_get(name)
    )


def _read_split(folder, split, n_classes=10):
    """Read one split's images (N, H, W) uint8 and labels (N,) uint8, checking they fit."""
    files = _idx_files_in(folder)
    image_path, label_path = (files[base] for base in IDX_FILES[split])
    images, labels = read_idx(image_path), read_idx(label_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{image_path}: expected uint8 images of shape (N, H, W), got {images.dtype} "
            f"{images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{label_path}: expected uint8 labels of shape (N,), got {labels.dtype} {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{label_path} holds {labels.shape[0]} labels but {image_path} holds "
            f"{images.shape[0]} images"
        )
    if labels.size and labels.max() >= n_classes:
        raise ValueError(f"{label_path}: label {labels.max()} is not in [0, {n_classes})")
    return images, labels


def _read_cifar_split(folder, split):
    """Read one CIFAR-10 split: its batch files in order, joined into one pair of arrays."""
    parts = [read_cifar10_batch(folder / f) for f in CIFAR_FILES[split]]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    return images, labels


def _load_mini():
    """The bundled Fashion-MNIST subset as uint8 arrays (see scripts/make_fashion_mnist_mini.py)."""
    if not MINI_PATH.is_file():
        raise FileNotFoundError(
            f"the bundled data file {MINI_PATH} is missing; rebuild it with "
            "`python scripts/make_fashion_mnist_mini.py` or reinstall hashnet"
        )
    with np.load(MINI_PATH, allow_pickle=False) as z:
        arrays = z["X_train"], z["y_train"], z["X_test"], z["y_test"]
    for a in arrays:
        if a.dtype != np.uint8:
            raise ValueError(f"{MINI_PATH}: expected uint8 arrays, found {a.dtype}; rebuild it")
    return arrays


def _take_first(n, available, what):
    if n is None:
        return available
    return check_int(n, what, 1, available)


def _prepare_images(images, labels, n, flatten):
    """Scale uint8 pixels to float32 in [0, 1]; flat (N, C*H*W) or NCHW (N, C, H, W).

    `images` is (N, H, W) for a one-channel set (C = 1) or already (N, C, H, W). Flattening
    keeps the NCHW memory order, so a flat row is the whole first channel, then the second...
    """
    images, labels = images[:n], labels[:n]
    X = images.astype(np.float32) / np.float32(255)
    channels = (1,) if images.ndim == 3 else ()
    shape = (len(X), -1) if flatten else (len(X), *channels, *images.shape[1:])
    return np.ascontiguousarray(X.reshape(shape)), labels.astype(np.int64)


def _normalise(name):
    if not isinstance(name, str):
        raise ValueError(f"a data set name must be a string, got {name!r}")
    key = name.strip().lower().replace("_", "-")
    return _ALIASES.get(key, key)


def load(
    name,
    data_home=None,
    flatten=True,
    n_train=None,
    n_test=None,
    noise=None,
    seed=0,
):
    """Load a data set by name and return (X_train, y_train, X_test, y_test).

    Toy sets ("moons", "spirals", "blobs", "xor", "circles") are generated: n_train and n_test
    default to 1000 each, `noise` to the generator's default. The training set is exactly
    `make_<name>(n_train, noise=noise, seed=seed)`; the test set comes from an independent
    random stream derived from the same seed, so train and test never share points.

    Image sets give pixels as float32 in [0, 1] and labels as int64 0..9 (their meaning is in
    CLASS_NAMES[name]):
      * "fashion-mnist", "mnist": the official splits (60000 / 10000) of 28x28 grey images,
        read from IDX files.
      * "cifar10": the official splits (50000 / 10000) of 32x32 colour images, read from the
        binary batches (data_batch_1.bin .. data_batch_5.bin in that order, then
        test_batch.bin).
      * "fashion-mnist-mini": a small class-balanced subset of real Fashion-MNIST bundled with
        hashnet; its examples cycle through the classes, so any prefix is balanced too.
    The files of "fashion-mnist", "mnist" and "cifar10" are searched for in `data_home/<name>`
    and a few standard folders (see `find_data_dir`); nothing is ever downloaded here. If they
    are missing, `fetch(name)` downloads them once into the cache folder this function reads.

    `flatten=True` gives one row of features per image: 784 for the grey sets, 3072 for
    CIFAR-10 (the whole red channel row by row, then green, then blue: exactly the NCHW image
    reshaped). `flatten=False` gives NCHW images: (N, 1, 28, 28) or (N, 3, 32, 32).
    n_train / n_test keep the *first* n examples of each split (no shuffling), so a smaller n
    is always a subset of a larger one. `noise` and `seed` only apply to the toy sets.
    """
    key = _normalise(name)
    if key in TOY_MAKERS:
        make = TOY_MAKERS[key]
        n_train = TOY_N_TRAIN if n_train is None else check_int(n_train, "n_train", 1)
        n_test = TOY_N_TEST if n_test is None else check_int(n_test, "n_test", 1)
        kwargs = {} if noise is None else {"noise": noise}
        if isinstance(seed, np.random.Generator) or seed is None:
            test_seed = seed  # a Generator simply moves on; None is fresh entropy anyway
        else:
            # [seed, 1] seeds a different stream than `seed` alone: independent test points.
            test_seed = np.random.default_rng([check_int(seed, "seed", 0), 1])
        Xtr, ytr = make(n_train, seed=seed, **kwargs)
        Xte, yte = make(n_test, seed=test_seed, **kwargs)
        return Xtr, ytr, Xte, yte

    if key in PLANNED_NAMES:
        raise NotImplementedError(f"the {key!r} loader is not available yet in this hashnet")
    if key not in IMAGE_NAMES:
        raise ValueError(f"unknown data set {name!r}; known names: {', '.join(NAMES)}")
    if noise is not None:
        raise ValueError(f"noise applies to the toy sets only, not to {key!r}")
    if not isinstance(flatten, bool | np.bool_):
        raise ValueError(f"flatten must be True or False, got {flatten!r}")

    if key == "fashion-mnist-mini":
        im_tr, lab_tr, im_te, lab_te = _load_mini()
    elif key == "cifar10":
        folder = find_data_dir(key, data_home)
        im_tr, lab_tr = _read_cifar_split(folder, "train")
        im_te, lab_te = _read_cifar_split(folder, "test")
    else:
        folder = find_data_dir(key, data_home)
        im_tr, lab_tr = _read_split(folder, "train")
        im_te, lab_te = _read_split(folder, "test")
    n_train = _take_first(n_train, len(lab_tr), "n_train")
    n_test = _take_first(n_test, len(lab_te), "n_test")
    Xtr, ytr = _prepare_images(im_tr, lab_tr, n_train, flatten)
    Xte, yte = _prepare_images(im_te, lab_te, n_test, flatten)
    return Xtr, ytr, Xte, yte


# --------------------------------------------------------------------------------------------
# Downloads
# --------------------------------------------------------------------------------------------


class RemoteFile(NamedTuple):
    """One file `fetch` downloads: its name, its exact size in bytes and its SHA-256 (hex)."""

    filename: str
    size: int
    sha256: str


class Download(NamedTuple):
    """Where a data set's files come from: folder URLs tried in order, and the files in them."""

    mirrors: tuple[str, ...]
    files: tuple[RemoteFile, ...]


# What fetch() downloads. A file is kept only if its size and SHA-256 match these values.
# MNIST and Fashion-MNIST: the values TensorFlow Datasets pins for the same URLs (its
# url_checksums/mnist.txt and fashion_mnist.txt). The Fashion-MNIST ones were also checked
# against Debian's package of the files, whose gzip headers differ only by the stored file
# name and time. CIFAR-10: TensorFlow Datasets' url_checksums/cifar10.txt.
DOWNLOADS = {
    "mnist": Download(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        files=(
            RemoteFile(
                "train-images-idx3-ubyte.gz",
                9912422,
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            RemoteFile(
                "train-labels-idx1-ubyte.gz",
                28881,
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            RemoteFile(
                "t10k-images-idx3-ubyte.gz",
                1648877,
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            RemoteFile(
                "t10k-labels-idx1-ubyte.gz",
                4542,
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        ),
    ),
    "fashion-mnist": Download(
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        ),
        files=(
            RemoteFile(
                "train-images-idx3-ubyte.gz",
                26421880,
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            RemoteFile(
                "train-labels-idx1-ubyte.gz",
                29515,
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
            RemoteFile(
                "t10k-images-idx3-ubyte.gz",
                4422102,
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            RemoteFile(
                "t10k-labels-idx1-ubyte.gz",
                5148,
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        ),
    ),
    "cifar10": Download(  # one archive, unpacked to cifar-10-batches-bin/ after the check
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        files=(
            RemoteFile(
                "cifar-10-binary.tar.gz",
                170052171,
                "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            ),
        ),
    ),
}
DOWNLOAD_TIMEOUT = 60  # seconds a mirror may stay silent before it counts as failed
_URL_SCHEMES = ("https://", "http://", "file://")
_CHUNK = 1 << 20  # read and hash 1 MiB at a time: big files never sit in memory whole


class DownloadError(OSError):
    """No mirror delivered a file with the expected size and SHA-256."""


def _size_text(n) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _check_mirrors(mirrors) -> tuple[str, ...]:
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    if not isinstance(mirrors, list | tuple) or not mirrors:
        raise ValueError(
            f"mirrors must be a non-empty list of folder URLs (or one URL string), got {mirrors!r}"
        )
    for url in mirrors:
        if not isinstance(url, str) or not url.lower().startswith(_URL_SCHEMES):
            raise ValueError(
                f"each mirror must be a URL starting with {', '.join(_URL_SCHEMES)}; got {url!r}"
            )
    return tuple(mirrors)


def _open_url(url):
    """Open `url` for reading; the one place where a download touches the network."""
    import urllib.request  # here, not at the top: it pulls in http and ssl, which most runs skip

    request = urllib.request.Request(url, headers={"User-Agent": "hashnet (Python urllib)"})
    return urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT)


def _sha256_of(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _download_to(url, tmp, remote, say) -> None:
    """Stream `url` into the file `tmp`, hashing on the way; ValueError if it is not `remote`."""
    digest, got = hashlib.sha256(), 0
    step = remote.size // 10 if remote.size >= 10 * _CHUNK else 0  # progress every 10%
    next_report, start = step, time.monotonic()
    with _open_url(url) as response, open(tmp, "wb") as out:
        length = response.headers.get("Content-Length")
        if length is not None and length.strip().isdigit() and int(length) != remote.size:
            # Stop before a long download of what is clearly another file.
            raise ValueError(f"the server offers {int(length)} bytes, expected {remote.size}")
        while chunk := response.read(_CHUNK):
            got += len(chunk)
            if got > remote.size:
                raise ValueError(f"the server sent more than the expected {remote.size} bytes")
            digest.update(chunk)
            out.write(chunk)
            if step and got >= next_report:
                seconds = time.monotonic() - start
                rate = got / max(seconds, 1e-9)
                say(
                    f"  {100 * got // remote.size:3d}%  {_size_text(got)} of "
                    f"{_size_text(remote.size)}  {_size_text(rate)}/s  "
                    f"ETA {(remote.size - got) / rate:.0f} s"
                )
                next_report = (got // step + 1) * step  # one line per 10%, even after a jump
    if got != remote.size:
        raise ValueError(f"got {got} bytes, expected {remote.size}: the transfer was cut short")
    found = digest.hexdigest()
    if found != remote.sha256.lower():
        raise ValueError(
            f"SHA-256 {found} does not match the expected {remote.sha256}: the file was damaged "
            "on the way or is not the one hashnet knows"
        )
    say(f"  {_size_text(got)} in {time.monotonic() - start:.1f} s, SHA-256 ok")


def _failure_reason(exc) -> str:
    import urllib.error

    if isinstance(exc, urllib.error.HTTPError):
        return str(exc)  # "HTTP Error 404: Not Found"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)  # the cause, without urllib's "<urlopen error ...>" wrapping
    return str(exc) or type(exc).__name__


def _fetch_file(remote, folder, mirrors, say, what) -> Path:
    """Make sure folder/<remote.filename> exists with the right SHA-256, downloading it if not.

    The download goes to a temporary file in `folder`, which is renamed to its real name only
    after the size and SHA-256 match; on any failure it is deleted, so the cache never holds a
    partial or wrong file under the real name.
    """
    import http.client  # see _open_url for why this import is here

    dest = folder / remote.filename
    if dest.is_file():
        if dest.stat().st_size == remote.size and _sha256_of(dest) == remote.sha256.lower():
            say(f"{remote.filename}: already in {folder}, SHA-256 ok")
            return dest
        say(f"{remote.filename}: the copy in {folder} does not match; downloading it again")
    failures = []
    with atomic_path(dest, suffix="") as tmp:
        for mirror in mirrors:
            url = mirror + ("" if mirror.endswith("/") else "/") + remote.filename
            say(f"downloading {url} ({_size_text(remote.size)})")
            try:
                _download_to(url, tmp, remote, say)
                break
            except (OSError, ValueError, http.client.HTTPException) as exc:
                failures.append(f"  {url}: {_failure_reason(exc)}")
                say(f"  failed: {_failure_reason(exc)}")
        else:
            raise DownloadError(
                f"could not download {remote.filename} for {what}; tried {len(failures)} "
                "mirror(s):\n" + "\n".join(failures) + f"\nNo part of it was saved in {folder}. "
                "Check the internet connection and try again (mirrors=[...] takes other folder "
                f"URLs), or download {remote.filename} yourself into that folder: it must be "
                f"exactly {remote.size} bytes with SHA-256 {remote.sha256}."
            )
    return dest


def _check_member(member, archive) -> None:
    """Refuse any tar member that could write outside cifar-10-batches-bin/ or is not a file."""
    name = member.name

    def refuse(why):
        raise ValueError(
            f"{archive}: refusing to unpack the archive: member {name!r} {why}; expected only "
            f"plain files directly inside {CIFAR_SUBDIR}/. Nothing was unpacked."
        )

    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        refuse("is an absolute path")
    if "\\" in name:
        refuse("has a backslash in its name")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        refuse("has a '..' component, which climbs out of the folder")
    if member.issym() or member.islnk():
        refuse(f"is a link (to {member.linkname!r})")
    if not (member.isfile() or member.isdir()):
        refuse("is a device, a pipe or another special file")
    if member.isdir():
        if parts not in ((), (CIFAR_SUBDIR,)):  # () is "./", which some tar programs store
            refuse(f"is a folder other than {CIFAR_SUBDIR}/")
    elif not parts or parts[0] != CIFAR_SUBDIR:
        refuse(f"lies outside {CIFAR_SUBDIR}/")
    elif len(parts) != 2:
        refuse(f"is in a subfolder of {CIFAR_SUBDIR}/")


def _unpack_cifar10(archive, folder, say) -> Path:
    """Unpack cifar-10-binary.tar.gz into folder/cifar-10-batches-bin/, safely and atomically.

    Every member is checked before anything is written (see `_check_member`), the files are
    written into a temporary folder next to the target, and that folder is renamed into place
    only once all six batches are there. Any failure removes the temporary folder.
    """
    target = folder / CIFAR_SUBDIR
    say(f"unpacking {archive.name} into {target}")
    work = Path(tempfile.mkdtemp(prefix=f".{CIFAR_SUBDIR}.", suffix=".tmp", dir=folder))
    try:
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = tar.getmembers()
                for member in members:
                    _check_member(member, archive)
                (work / CIFAR_SUBDIR).mkdir()
                for member in members:
                    if member.isfile():
                        # Written by hand rather than with tar.extract: only bytes, no owners,
                        # modes or links from the archive.
                        dest = work.joinpath(*PurePosixPath(member.name).parts)
                        with tar.extractfile(member) as source, open(dest, "wb") as out:
                            shutil.copyfileobj(source, out, _CHUNK)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise ValueError(f"{archive}: damaged or not a tar.gz archive ({exc})") from None
        found, missing = _cifar_dir_in(work / CIFAR_SUBDIR)
        if found is None:
            raise ValueError(
                f"{archive}: {CIFAR_SUBDIR}/ in the archive lacks {', '.join(missing)}"
            )
        if target.exists() or target.is_symlink():
            os.replace(target, work / "incomplete")  # an earlier, incomplete copy: removed below
        os.replace(work / CIFAR_SUBDIR, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def fetch(name, data_home=None, mirrors=None, verbose=1) -> Path:
    """Download an image set once, check it, and keep it where `load` will find it.

    `name` is "mnist", "fashion-mnist" or "cifar10". The files go into the cache folder
    `data_home/<name>/`, or `~/.hashnet/data/<name>/` when data_home is None; `load(name)` (with
    the same data_home) then reads them from there. This is the only function in this module that
    uses the network, and only because you called it: `load` never downloads anything.

    Every file is checked against the size and SHA-256 listed in `DOWNLOADS` before it is kept.
    A checksum is a fingerprint of the exact bytes: if one byte differs (a cut-off transfer, a
    broken mirror, a file changed at the source), the fingerprint differs and the download is
    thrown away instead of quietly giving you different data. Each file is tried from the
    mirrors in order; only when all fail is a DownloadError raised, listing each URL and why it
    failed. Files already in the cache with the right checksum are not downloaded again, so
    calling fetch twice is cheap.

    CIFAR-10 comes as one archive, cifar-10-binary.tar.gz (162 MiB). After the check it is
    unpacked into `<cache>/cifar-10-batches-bin/`; members that are links, special files, or
    would land outside that folder (absolute paths, '..') make the whole archive rejected
    before anything is written. The archive itself stays in the cache; you may delete it, and
    fetch will not download it again as long as the unpacked folder is complete.

    `mirrors` replaces the list of folder URLs the files are fetched from (http://, https:// or
    file://; each file's name is appended), e.g. a mirror inside your institution.
    `verbose=0` prints nothing; otherwise a line per step and progress for big files.
    Returns the cache folder.
    """
    key = _normalise(name)
    if key not in DOWNLOADS:
        if key in TOY_MAKERS:
            why = f"{key!r} is generated by make_{key}, there is nothing to download"
        elif key == "fashion-mnist-mini":
            why = f"{key!r} ships with hashnet, there is nothing to download"
        else:
            why = f"unknown data set {name!r}"
        raise ValueError(f"{why}; fetch downloads {', '.join(map(repr, DOWNLOADS))}")
    if isinstance(verbose, bool):
        verbose = int(verbose)
    verbose = check_int(verbose, "verbose", 0)
    spec = DOWNLOADS[key]
    mirrors = spec.mirrors if mirrors is None else _check_mirrors(mirrors)
    folder = _home_cache(key) if data_home is None else Path(data_home).expanduser() / key

    def say(line):
        if verbose:
            print(line, flush=True)

    if key == "cifar10" and folder.is_dir():
        found, _ = _cifar_dir_in(folder)
        if found is not None:
            say(f"cifar10: already unpacked in {found}")
            return folder
    folder.mkdir(parents=True, exist_ok=True)
    paths = [_fetch_file(remote, folder, mirrors, say, key) for remote in spec.files]
    if key == "cifar10":
        _unpack_cifar10(paths[0], folder, say)
    say(f"{key}: ready in {folder}")
    return folder


# --------------------------------------------------------------------------------------------
# Subsets and label noise for the experiments
# --------------------------------------------------------------------------------------------


def _check_pair(X, y):
    X = np.asarray(X)
    if X.ndim == 0:
        raise ValueError("X must be an array of examples (at least 1D), got a scalar")
    y = check_y(y, n_samples=X.shape[0])
    return X, y


def stratified_subset(X, y, n, seed=0):
    """A random subset of n examples that keeps the class proportions of y.

    Each class gets n * (its share of y) examples, rounded so the counts add up to n (the
    classes with the largest remainders get the extra one). Within a class the examples are
    drawn without replacement from a seeded generator; the picked examples keep their original
    order. Returns (X_subset, y_subset) as copies.
    """
    X, y = _check_pair(X, y)
    n = check_int(n, "n", 1, len(y))
    rng = check_random_state(seed)
    classes, counts = np.unique(y, return_counts=True)
    # Integer arithmetic keeps the rounding exact: class c's quota is n * counts[c] / len(y).
    take, remainder = np.divmod(n * counts, len(y))
    # Largest remainder first; a stable sort breaks ties by class order, so it is deterministic.
    extra = np.argsort(-remainder, kind="stable")[: n - take.sum()]
    take[extra] += 1
    picked = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    index = np.sort(np.concatenate(picked))
    return X[index], y[index]


def first_n_tiled(X, y, n, epoch_length):
    """The first n examples, repeated until there are `epoch_length` rows.

    This is the sample-size protocol of the study: a network trained on 100 examples and one
    trained on 10000 should take the same number of gradient steps per epoch, so that only the
    amount of *distinct* data differs. Rows are the first n examples in order, again and again;
    the last copy is cut short if epoch_length is not a multiple of n.
    """
    X, y = _check_pair(X, y)
    n = check_int(n, "n", 1, len(y))
    epoch_length = check_int(epoch_length, "epoch_length", n)
    index = np.arange(epoch_length) % n
    return X[index], y[index]


def label_noise(y, fraction, n_classes=None, seed=0, model="flip") -> np.ndarray:
    """A copy of the labels `y` with a given fraction of them disturbed.

    Label noise is one of the knobs that shape the code: train the same network on labels with
    0%, 10%, 20%, ... noise and watch the encoding properties (redundancy ratio, and how well
    K-Means, K-NN and logistic regression do on the neural codes) change. A network can
    memorise noisy labels too, and it needs more linear regions to do so.

    Exactly round(fraction * N) labels are picked, at random without replacement (Python's
    round, so an exact half goes to the even number). What happens to them is the `model`:

    "flip" (hashnet's): each picked label gets a class drawn uniformly from the other
        n_classes - 1 classes, so it is always wrong and `fraction` is exactly the share of
        wrong labels. The class proportions change.
    "permute" (the study's): the picked labels are shuffled among themselves. The class
        proportions stay exactly as they were, but a picked label can land on its own class
        (about 1/n_classes of them with balanced classes), so fewer than `fraction` of the
        labels end up wrong.

    `n_classes` defaults to y.max() + 1 and must be at least 2; every label must lie in
    [0, n_classes). `seed` is an int, None or a numpy Generator: the same seed gives the same
    noisy labels. Returns int64 labels; `np.flatnonzero(noisy != y)` gives the changed ones.
    """
    if model not in ("flip", "permute"):
        raise ValueError(f"model must be 'flip' or 'permute', got {model!r}")
    y = check_y(y)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise ValueError(f"fraction must be a number between 0 and 1, got {fraction!r}")
    fraction = float(fraction)
    if not 0.0 <= fraction <= 1.0:  # also False for NaN
        raise ValueError(
            f"fraction must be between 0 and 1 (a share of the labels), got {fraction}"
        )
    if n_classes is None:
        n_classes = int(y.max()) + 1
        if n_classes < 2:
            raise ValueError(
                f"y only holds class {n_classes - 1}, so there is no other class to switch to; "
                "pass n_classes (at least 2) to say how many classes there are"
            )
    n_classes = check_int(n_classes, "n_classes", 2)
    y = check_y(y, n_classes=n_classes)
    rng = check_random_state(seed)
    n_changed = round(fraction * len(y))
    picked = rng.choice(len(y), size=n_changed, replace=False)
    noisy = y.copy()
    if model == "permute":
        noisy[picked] = y[rng.permutation(picked)]
        return noisy
    # Adding 1..n_classes-1 (mod n_classes) reaches each other class exactly once: uniform, and
    # never the original class.
    shift = rng.integers(1, n_classes, size=n_changed)
    noisy[picked] = (y[picked] + shift) % n_classes
    return noisy
