"""Helpers shared by the benchmark scripts in bench/ (train_mlp.py, codes.py).

The scripts run as `python bench/<script>.py`, which puts bench/ on sys.path, so they import
this module as `import _common`. It imports only the standard library at load time: a script
has to call set_thread_environment before NumPy is imported, and it imports this module first.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

# Thread counts that OpenBLAS (NumPy's BLAS), OpenMP (torch, faiss, scikit-learn), MKL and Numba
# read when they load.
THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def default_threads() -> int:
    """The number of cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def make_parser(description: str, quick_help: str, threaded: str) -> argparse.ArgumentParser:
    """A command-line parser with the options every benchmark has: --quick (help `quick_help`)
    and --threads, the thread count for `threaded` (the libraries, for the help)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument(
        "--threads",
        type=int,
        default=default_threads(),
        help=f"threads for {threaded} (default: number of cores)",
    )
    return parser


def set_thread_environment(threads: int) -> None:
    """Put `threads` into every variable of THREAD_VARIABLES.

    These libraries read their thread count once, when they are loaded, so this has to run
    before NumPy (or torch, Numba, faiss, scikit-learn) is imported.
    """
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def threadpool_limit(threads: int, user_api: str | None, what: str):
    """Limit the thread pools of `user_api` ("blas", "openmp" or None for all) to `threads`
    at run time, with threadpoolctl.

    Returns (the threadpoolctl limiter, or None without threadpoolctl; keep it alive: the limit
    lasts as long as it does, notes for the report). `what` names the limited threads in the
    note written when threadpoolctl is missing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        note = (
            f"threadpoolctl is not installed: {what} were set only through "
            + "/".join(THREAD_VARIABLES[:3])
            + " before NumPy was imported"
        )
        return None, [note]
    return threadpool_limits(limits=threads, user_api=user_api), []


def import_hashnet():
    """Import and return the hashnet of this checkout, installed or not."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import hashnet

    return hashnet


def version(module) -> str:
    """The module's version, or "(not installed)" for None."""
    return "(not installed)" if module is None else module.__version__


def describe_blas(locations: bool = False) -> str:
    """NumPy's BLAS: library, version, CPU kernels and threads (from threadpoolctl when it is
    installed, else from NumPy's build configuration). With `locations`, each library is
    followed by the name of the package folder it was loaded from."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            return "; ".join(
                f"{p['internal_api']} {p.get('version')} core={p.get('architecture')} "
                f"threads={p['num_threads']}"
                + (f" ({Path(p['filepath']).parent.parent.name})" if locations else "")
                for p in pools
            )
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        return "unknown"


def cpu_model() -> str:
    """The CPU's model name."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_environment(title, settings, versions, blas, coretype_effect, notes):
    """Print the header of a benchmark report.

    title: its first line; settings: lines about this run, after the CPU line; versions:
    {library: version} of the libraries besides NumPy and Numba; blas: the BLAS line;
    coretype_effect: how a set OPENBLAS_CORETYPE hurts this benchmark, the end of the note
    that says so; notes: one "note:" line each, last.
    """
    import numba
    import numpy as np

    print(title)
    print(f"  python {platform.python_version()}  {platform.platform()}")
    print(f"  CPU: {cpu_model()}  cores: {os.cpu_count()}  usable: {default_threads()}")
    for line in settings:
        print(f"  {line}")
    if hasattr(os, "getloadavg"):
        load = os.getloadavg()
        print(
            f"  load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} (other processes on these"
            " cores make the timings noisy, multi-threaded ones most)"
        )
    versions = {"numpy": np.__version__, "numba": numba.__version__, **versions}
    print("  " + "  ".join(f"{name} {number}" for name, number in versions.items()))
    print(f"  {blas}")
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        print(
            f"  note: OPENBLAS_CORETYPE={coretype} is set. It forces OpenBLAS to use the kernels"
            " of that CPU type instead of the best ones for this CPU, which can make NumPy's"
            f" matrix products {coretype_effect}"
        )
    else:
        print("  OPENBLAS_CORETYPE is not set (OpenBLAS picks kernels for this CPU)")
    for note in notes:
        print(f"  note: {note}")
    print()


def format_ratio(numerator, denominator) -> str:
    """numerator / denominator to two decimals, or "n/a" when either is None."""
    if numerator is None or denominator is None:
        return "n/a"
    return f"{numerator / denominator:.2f}"


def print_table(header, rows):
    """Print rows under a header, each column right-aligned to its widest cell."""
    if not rows:
        print("  (nothing to show: the tools are missing, see the notes under the header)")
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(cell).rjust(w) for cell, w in zip(row, widths)))
