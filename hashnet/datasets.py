"""Data for the experiments: 2D toy sets, image sets in IDX files, and the sample-size helpers.

Everything returns NumPy arrays ready for a network: features as float32, class labels as
int64 in [0, n_classes).

* Toy sets (`make_moons`, `make_spirals`, `make_blobs`, `make_xor`, `make_circles`) live in the
  plane, so you can *look* at the linear regions a network carves out of it. They are drawn from
  a seeded random generator: the same seed gives the same arrays, bit for bit.
* Image sets (Fashion-MNIST, MNIST) come as IDX files, the simple binary format Yann LeCun used
  for MNIST. `read_idx` reads them strictly: a corrupt or truncated file is an error, never a
  silently wrong array. A small real subset of Fashion-MNIST ships with the package
  ("fashion-mnist-mini"), so the tutorials run without any download.
* `load(name)` is the one entry point: it returns (X_train, y_train, X_test, y_test).

Nothing here unpickles data or touches the network.
"""

from __future__ import annotations

import gzip
import math
import numbers
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from hashnet._io import atomic_write_bytes
from hashnet._validation import check_random_state, check_y

__all__ = [
    "CLASS_NAMES",
    "IMAGE_NAMES",
    "NAMES",
    "TOY_NAMES",
    "find_data_dir",
    "first_n_tiled",
    "load",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "make_xor",
    "read_idx",
    "stratified_subset",
    "write_idx",
]

TOY_NAMES = ("moons", "spirals", "blobs", "xor", "circles")
IDX_NAMES = ("fashion-mnist", "mnist")  # read from IDX files found on disk
IMAGE_NAMES = ("fashion-mnist", "fashion-mnist-mini", "mnist")
PLANNED_NAMES = ("cifar10",)  # accepted names whose loader is not written yet
NAMES = TOY_NAMES + IMAGE_NAMES

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
}
CLASS_NAMES["fashion-mnist-mini"] = CLASS_NAMES["fashion-mnist"]

# The four files of an MNIST-style set, as (images, labels) per split.
IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
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


def _check_int(value, name, low, high=None) -> int:
    """Return `value` as an int in [low, high], or raise a ValueError that says so."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f">= {low}" if high is None else f"between {low} and {high}"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


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
    n = _check_int(n, "n", n_classes)
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
    n_arms = _check_int(n_arms, "n_arms", 2)
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
    n_classes = _check_int(n_classes, "n_classes", 2)
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
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's own magic; an IDX file starts with two zero bytes
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{path}: damaged or truncated gzip stream ({exc})") from None

    def fail(problem):
        raise ValueError(f"{path}: not a valid IDX file: {problem}")

    if len(raw) < 4:
        fail(f"only {len(raw)} byte(s), but the header alone needs at least 4")
    if raw[:2] != b"\x00\x00":
        fail(f"magic number starts with bytes {raw[:2].hex()}, expected 0000")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X} ({d.name})" for c, d in IDX_DTYPES.items())
        fail(f"unknown type code 0x{code:02X}; known codes: {known}")
    if ndim == 0:
        fail("the header says 0 dimensions, expected at least 1")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        fail(f"truncated header: {ndim} dimensions need {header_len} bytes, file has {len(raw)}")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on a bad header
    found = len(raw) - header_len
    if found < expected:
        fail(
            f"truncated data: shape {shape} of {dtype.name} needs {expected} bytes after the "
            f"header, found {found}"
        )
    if found > expected:
        fail(
            f"{found - expected} trailing byte(s): shape {shape} of {dtype.name} needs exactly "
            f"{expected} bytes after the header, found {found}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native byte order


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
# Finding and loading the image sets
# --------------------------------------------------------------------------------------------


def _search_dirs(name, data_home=None) -> list[tuple[str, Path | None]]:
    """(where the folder comes from, folder or None if unset) for `name`, in search order."""
    env = os.environ.get("HASHNET_DATA")
    return [
        ("data_home argument", None if data_home is None else Path(data_home).expanduser() / name),
        ("$HASHNET_DATA", Path(env).expanduser() / name if env else None),
        ("home folder", Path.home() / ".hashnet" / "data" / name),
        ("Debian/Ubuntu", Path(SYSTEM_DATA_DIR) / name),  # this root is already per data set
    ]


def _idx_files_in(folder):
    """Map each of the four IDX base names to an existing file (raw preferred), or None."""
    found = {}
    for base in (*IDX_FILES["train"], *IDX_FILES["test"]):
        candidates = [folder / base, folder / f"{base}.gz"]
        found[base] = next((p for p in candidates if p.is_file()), None)
    return found


def find_data_dir(name, data_home=None) -> Path:
    """Return the first folder that holds all four IDX files of `name` ("fashion-mnist", "mnist").

    Searched in this order: `data_home/<name>/`, `$HASHNET_DATA/<name>/`,
    `~/.hashnet/data/<name>/`, and Debian's `/usr/share/datasets/<name>/`. Each file may be raw
    or gzip-compressed (`.gz`). Raises FileNotFoundError listing every place looked at.
    """
    name = _normalise(name)
    if name not in IDX_NAMES:
        raise ValueError(f"no IDX files belong to {name!r}; IDX sets are {list(IDX_NAMES)}")
    report = []
    for origin, folder in _search_dirs(name, data_home):
        if folder is None:
            report.append(f"  ({origin} not set)")
            continue
        if not folder.is_dir():
            report.append(f"  {folder}  ({origin}: no such folder)")
            continue
        missing = [base for base, p in _idx_files_in(folder).items() if p is None]
        if not missing:
            return folder
        report.append(f"  {folder}  ({origin}: missing {', '.join(missing)})")
    how = (
        f"To get them: on Debian/Ubuntu run `apt-get install dataset-{name}` (if your release "
        f"packages it), or put the four IDX files (raw or .gz) into ~/.hashnet/data/{name}/ "
        f"(or a folder <root>/{name}/ given as data_home= or $HASHNET_DATA=<root>): "
        + ", ".join(f"{b}[.gz]" for b in (*IDX_FILES["train"], *IDX_FILES["test"]))
    )
    raise FileNotFoundError(
        f"could not find the {name} data files. Looked in:\n" + "\n".join(report) + "\n" + how
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
    return _check_int(n, what, 1, available)


def _prepare_images(images, labels, n, flatten):
    """Scale uint8 pixels to float32 in [0, 1]; flat (N, H*W) or NCHW (N, 1, H, W)."""
    images, labels = images[:n], labels[:n]
    X = images.astype(np.float32) / np.float32(255)
    shape = (len(X), -1) if flatten else (len(X), 1, *images.shape[1:])
    return np.ascontiguousarray(X.reshape(shape)), labels.astype(np.int64)


def _normalise(name):
    if not isinstance(name, str):
        raise ValueError(f"a data set name must be a string, got {name!r}")
    return name.strip().lower().replace("_", "-")


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

    Image sets give pixels as float32 in [0, 1] and labels as int64 0..9:
      * "fashion-mnist", "mnist": the official splits (60000 / 10000), read from IDX files;
        see `find_data_dir` for where they are looked for and how to get them.
      * "fashion-mnist-mini": a small class-balanced subset of real Fashion-MNIST bundled with
        hashnet; its examples cycle through the classes, so any prefix is balanced too.
    `flatten=True` gives rows of 784 features, `flatten=False` NCHW images (N, 1, 28, 28).
    n_train / n_test keep the *first* n examples of each split (no shuffling), so a smaller n
    is always a subset of a larger one. `noise` and `seed` only apply to the toy sets.
    """
    key = _normalise(name)
    if key in TOY_MAKERS:
        make = TOY_MAKERS[key]
        n_train = TOY_N_TRAIN if n_train is None else _check_int(n_train, "n_train", 1)
        n_test = TOY_N_TEST if n_test is None else _check_int(n_test, "n_test", 1)
        kwargs = {} if noise is None else {"noise": noise}
        if isinstance(seed, np.random.Generator) or seed is None:
            test_seed = seed  # a Generator simply moves on; None is fresh entropy anyway
        else:
            # [seed, 1] seeds a different stream than `seed` alone: independent test points.
            test_seed = np.random.default_rng([_check_int(seed, "seed", 0), 1])
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
# Subsets for sample-size studies
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
    n = _check_int(n, "n", 1, len(y))
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
    n = _check_int(n, "n", 1, len(y))
    epoch_length = _check_int(epoch_length, "epoch_length", n)
    index = np.arange(epoch_length) % n
    return X[index], y[index]
