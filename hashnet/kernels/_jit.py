"""The one place where hashnet decides how a Numba kernel is compiled.

`kernel` is `numba.njit` with on-disk caching, so a kernel is compiled once per machine and
loaded in milliseconds afterwards. Numba refuses to decorate a cached function when it finds no
writable cache folder (a read-only install, a locked-down cluster node); then we fall back to
compiling in memory on each run instead of failing to import.

A cache folder can also be damaged (a disk that filled up, a copy cut short, two versions
writing at once): Numba then fails with an unpickling error on the first call. `_survive_damage`
makes such a kernel compile again and rewrite its cache entry, with one warning that names the
folder, instead of leaving the user with a traceback from inside Numba.
"""

from __future__ import annotations

import contextlib
import os
import warnings

import numba
import numba.extending

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python check in
# the inner loop, which would stop the loop from vectorising.
_OPTIONS = dict(nogil=True, error_model="numpy")


def kernel(fn):
    """Compile `fn` with Numba (cached on disk where possible)."""
    return _compile(fn)


def parallel_kernel(fn):
    """Like `kernel`, for loops written with `numba.prange` that split rows over the cores.

    Each row's result depends on that row alone, so the outcome does not depend on the number
    of threads.
    """
    return _compile(fn, parallel=True)


def _compile(fn, **options):
    try:
        return _survive_damage(numba.njit(cache=True, **options, **_OPTIONS)(fn))
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, **options, **_OPTIONS)(fn)


_WARNED_FOLDERS: set[str] = set()


def _survive_damage(dispatcher):
    """Let `dispatcher` recover from damaged files in its on-disk cache.

    Numba unpickles the cache's index (.nbi) and data (.nbc) files without guarding against
    damage. Here a failed load removes that kernel's index, so Numba compiles in memory and
    writes a fresh entry; a failed save only costs the cache entry. Uses Numba's cache object
    (`dispatcher._cache`); where a Numba version lacks it, the dispatcher is left as it is.
    """
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    if not (hasattr(cache, "load_overload") and hasattr(cache_file, "_index_path")):
        return dispatcher
    load, save = cache.load_overload, cache.save_overload

    def load_overload(sig, target_context):
        try:
            return load(sig, target_context)
        except Exception as exc:  # unpickling garbage can raise almost anything
            with contextlib.suppress(OSError):
                os.remove(cache_file._index_path)
            _warn_damaged(cache, exc)
            return None  # as for a cache miss: Numba compiles, then saves a new entry

    def save_overload(sig, data):
        try:
            save(sig, data)
        except Exception as exc:
            _warn_damaged(cache, exc)

    cache.load_overload, cache.save_overload = load_overload, save_overload
    return dispatcher


def _warn_damaged(cache, exc):
    folder = str(getattr(cache, "_cache_path", "the Numba cache folder"))
    if folder in _WARNED_FOLDERS:
        return
    _WARNED_FOLDERS.add(folder)
    warnings.warn(
        f"damaged files in the Numba cache folder {folder} ({type(exc).__name__}: {exc}); "
        "hashnet compiles the kernels concerned again and rewrites their cache entries. If "
        "this warning comes back, delete that folder.",
        RuntimeWarning,
        stacklevel=3,
    )


@numba.extending.intrinsic
def popcount(typingctx, x):
    """The number of 1 bits of a uint64, as one machine instruction (LLVM's ctpop)."""
    if x != numba.types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return numba.types.uint64(numba.types.uint64), codegen
