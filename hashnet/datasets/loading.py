"""`load(name)`: the one entry point for the data, and where the image sets' files are found.

Toy sets are generated (`hashnet.datasets.toys`); image sets are read from files found on disk
(`find_data_dir` says where it looks) or, for "fashion-mnist-mini", from the small subset that
ships with hashnet. Nothing here downloads anything: that is `fetch`'s job, and only when asked.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hashnet._validation import check_int
from hashnet.datasets.formats import read_cifar10_batch, read_idx
from hashnet.datasets.toys import TOY_MAKERS, TOY_NAMES

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
# Debian and Ubuntu install datasets here, one folder per set (apt-get install
# dataset-fashion-mnist). A constant of this module, which tests point elsewhere (setting
# hashnet.datasets.SYSTEM_DATA_DIR, the package's copy of the name, would change nothing).
SYSTEM_DATA_DIR = Path("/usr/share/datasets")
MINI_PATH = Path(__file__).resolve().parents[1] / "data" / "fashion_mnist_mini.npz"

# Toy-set sizes used by load() when n_train / n_test are not given.
TOY_N_TRAIN = 1000
TOY_N_TEST = 1000


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
