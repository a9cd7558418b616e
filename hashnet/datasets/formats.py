"""File formats of the image sets: IDX (MNIST, Fashion-MNIST) and CIFAR-10's binary batches.

Both are plain: a small header (IDX) or none (CIFAR-10), then the numbers. The readers are
strict on purpose: a corrupt or truncated file is a ValueError naming the file and the
problem, never a silently wrong array. Nothing here unpickles anything: the Python version of
CIFAR-10 is a pickle, and unpickling a downloaded file can run arbitrary code.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from hashnet._io import atomic_write_bytes

CIFAR_SHAPE = (3, 32, 32)  # channels (red, green, blue), rows, columns
CIFAR_RECORD_BYTES = 1 + math.prod(CIFAR_SHAPE)  # one label byte, then 3072 pixel bytes

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
