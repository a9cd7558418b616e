"""Atomic file writing: write to a temporary name in the same folder, then rename.

A rename within one folder is atomic on POSIX and Windows, so a crash or Ctrl-C leaves either
the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to `path`; rename it to `path` if the block succeeds.

    `suffix` sets the temporary file's extension (np.savez appends '.npz' to names without one,
    so callers writing .npz pass suffix='.npz').
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates private (0600) files; give the result the usual permissions instead.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as f:  # on disk before the rename, so a crash leaves no stub
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write `data` to `path` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
