"""The one place where hashnet decides how a Numba kernel is compiled.

`kernel` is `numba.njit` with on-disk caching, so a kernel is compiled once per machine and
loaded in milliseconds afterwards. Numba refuses to decorate a cached function when it finds no
writable cache folder (a read-only install, a locked-down cluster node); then we fall back to
compiling in memory each session instead of failing to import.
"""

from __future__ import annotations

import numba

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python check in
# the inner loop, which would stop the loop from vectorising.
_OPTIONS = dict(nogil=True, error_model="numpy")


def kernel(fn):
    """Compile `fn` with Numba (cached on disk where possible)."""
    try:
        return numba.njit(cache=True, **_OPTIONS)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, **_OPTIONS)(fn)
