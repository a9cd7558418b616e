"""`fetch(name)`: download an image set once, check every file's SHA-256, keep it where `load`
looks. The only code in hashnet that touches the network, and only when you call it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from hashnet._io import atomic_path
from hashnet._validation import check_int
from hashnet.datasets.loading import CIFAR_SUBDIR, _cifar_dir_in, _home_cache, _normalise
from hashnet.datasets.toys import TOY_MAKERS


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
