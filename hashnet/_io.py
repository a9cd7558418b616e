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


# --- output paths, checked before any work, so that a long run cannot fail at its very end ---


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_can_create_in(folder: Path, what) -> None:
    """Create and remove a scratch folder in `folder`: the one test that holds for read-only
    mounts, permissions, root and pseudo file systems alike."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".hashnet-check-", dir=folder))
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ValueError(f"{what}: cannot write into {folder} ({reason})") from None


def check_output_folder(path, option="--out") -> Path:
    """Check that `path` is, or can be made, a folder hashnet can write into; nothing is
    created. Raises ValueError saying what is wrong. Returns the path."""
    path = Path(path).expanduser()
    what = f"{option} {path}"
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} is a file, not a folder")
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise ValueError(f"{what}: {existing} is a file, not a folder")
    _check_can_create_in(existing, what)
    return path


def check_output_file(path, option) -> Path:
    """Check that a file can be written at `path` (it is not a folder, and its folder exists or
    can be made and is writable); nothing is created. Returns the path."""
    path = Path(path).expanduser()
    what = f"{option} {path}"
    if path.is_dir():
        raise ValueError(f"{what} is a folder; give a file name")
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise ValueError(f"{what}: {existing} is a file, not a folder")
    _check_can_create_in(existing, what)
    return path
