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

The package mirrors that list: `toys`, `formats` (IDX, CIFAR-10), `loading` (`load`,
`find_data_dir`), `fetching` (`fetch`) and `subsets`; every public name is also here.
"""

from __future__ import annotations

from hashnet.datasets.fetching import (
    DOWNLOAD_TIMEOUT,
    DOWNLOADS,
    Download,
    DownloadError,
    RemoteFile,
    fetch,
)
from hashnet.datasets.formats import (
    CIFAR_RECORD_BYTES,
    CIFAR_SHAPE,
    IDX_DTYPES,
    read_cifar10_batch,
    read_idx,
    write_idx,
)
from hashnet.datasets.loading import (
    CIFAR_FILES,
    CIFAR_SUBDIR,
    CLASS_NAMES,
    IDX_FILES,
    IDX_NAMES,
    IMAGE_NAMES,
    MINI_PATH,
    NAMES,
    SYSTEM_DATA_DIR,
    TOY_N_TEST,
    TOY_N_TRAIN,
    find_data_dir,
    load,
)
from hashnet.datasets.subsets import first_n_tiled, label_noise, stratified_subset
from hashnet.datasets.toys import (
    TOY_MAKERS,
    TOY_NAMES,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
)

__all__ = [
    "CIFAR_FILES",
    "CIFAR_RECORD_BYTES",
    "CIFAR_SHAPE",
    "CIFAR_SUBDIR",
    "CLASS_NAMES",
    "DOWNLOADS",
    "DOWNLOAD_TIMEOUT",
    "IDX_DTYPES",
    "IDX_FILES",
    "IDX_NAMES",
    "IMAGE_NAMES",
    "MINI_PATH",
    "NAMES",
    "SYSTEM_DATA_DIR",
    "TOY_MAKERS",
    "TOY_NAMES",
    "TOY_N_TEST",
    "TOY_N_TRAIN",
    "Download",
    "DownloadError",
    "RemoteFile",
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
