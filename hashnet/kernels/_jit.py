"""The one place where hashnet decides how a Numba kernel is compiled.

`kernel` is `numba.njit` with on-disk caching, so a kernel is compiled once per machine and
loaded in milliseconds afterwards. Numba refuses to decorate a cached function when it finds no
writable cache folder (a read-only install, a locked-down cluster node); then we fall back to
compiling in memory on each run instead of failing to import.
"""

from __future__ import annotations

import numba
import numba.extending

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of a Python check in
# the inner loop, which would stop the loop from vectorising.
_OPTIONS = dict(nogil=True, error_model="numpy")


def kernel(fn):
    """Compile `fn` with Numba (cached on disk where possible)."""
    try:
        return numba.njit(cache=True, **_OPTIONS)(fn)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(cache=False, **_OPTIONS)(fn)


def parallel_kernel(fn):
    """Like `kernel`, for loops written with `numba.prange` that split rows over the cores.

    Each row's result depends on that row alone, so the outcome does not depend on the number
    of threads.
    """
    try:
        return numba.njit(cache=True, parallel=True, **_OPTIONS)(fn)
    except RuntimeError:
        return numba.njit(cache=False, parallel=True, **_OPTIONS)(fn)


@numba.extending.intrinsic
def popcount(typingctx, x):
    """The number of 1 bits of a uint64, as one machine instruction (LLVM's ctpop)."""
    if x != numba.types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return numba.types.uint64(numba.types.uint64), codegen
