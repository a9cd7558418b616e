"""Where arrays live: the CPU, or an NVIDIA GPU through numba.cuda; and why a GPU is unusable.

Every entry point with a `device=` argument (`fit`, `codes`, `KNN`, `encoding_properties`,
sweeps) checks it here with `check_device`: "cpu" always works; "cuda" works when this process
can run hashnet's CUDA kernels (`hashnet.kernels.cuda`) on a GPU, or on numba's simulator.
Whether it can is decided once per process, and when it cannot, `CUDAUnavailableError` says
what is missing (the NVIDIA driver, numba's CUDA support, the CUDA toolkit) and how to get it.
Nothing here imports numba.cuda until "cuda" is asked for, so `import hashnet` stays quick and
never touches the driver. This module imports nothing from hashnet: every floor may use it.

Without a GPU, setting NUMBA_ENABLE_CUDASIM=1 *before Python starts* makes numba run the same
CUDA code on its CPU simulator: correct, and very slow (every GPU thread is a Python thread),
which is how the tests check the kernels on tiny inputs. See docs/gpu.md.
"""

from __future__ import annotations

import ctypes.util
import os
import shutil
import warnings

DEVICES = ("cpu", "cuda")

_INSTALL_HINT = (
    "To use an NVIDIA GPU: install the NVIDIA driver, then the CUDA toolkit for numba "
    "(pip install nvidia-cuda-nvcc-cu12 nvidia-cuda-runtime-cu12 and point CUDA_HOME at the "
    "nvidia/cuda_nvcc folder, or conda install -c conda-forge cuda-nvcc cuda-nvrtc "
    '"cuda-version>=12"; docs/gpu.md has the steps) and check with: '
    'python -c "from numba import cuda; cuda.detect()".'
)
_SIMULATOR_HINT = (
    "Without a GPU, NUMBA_ENABLE_CUDASIM=1 (set before Python starts) runs hashnet's CUDA code "
    "on numba's CPU simulator, for testing: correct but very slow. Or use device='cpu'."
)


class CUDAUnavailableError(NotImplementedError):
    """device='cuda' was asked for, but no usable GPU (or simulator) is there.

    A RuntimeError; also a NotImplementedError, which is what device='cuda' raised before
    hashnet had a GPU path, so code written to catch that keeps working.
    """


_STATUS: tuple | None = None  # (usable, simulator, message), decided once per process


def check_device(device) -> str:
    """Validate a `device` argument: "cpu", or "cuda" when a GPU (or the simulator) is usable.

    Raises ValueError for any other name and CUDAUnavailableError (a RuntimeError) when "cuda"
    cannot work here, saying what is missing.
    """
    if not isinstance(device, str) or device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    if device == "cuda":
        require_cuda()
    return device


def require_cuda() -> None:
    """Raise CUDAUnavailableError unless hashnet's CUDA kernels can run in this process."""
    usable, _, message = cuda_status()
    if not usable:
        raise CUDAUnavailableError(message)


def cuda_available() -> bool:
    """Whether device='cuda' works here (a GPU, or numba's CUDA simulator)."""
    return cuda_status()[0]


def is_simulator() -> bool:
    """Whether device='cuda' runs on numba's CPU simulator (NUMBA_ENABLE_CUDASIM=1)."""
    return cuda_status()[1]


def cuda_status() -> tuple:
    """(usable, simulator, message): what `require_cuda` decides, without raising. The message
    says which GPU (or the simulator) will be used, or what is missing."""
    global _STATUS
    if _STATUS is None:
        _STATUS = _probe()
    return _STATUS


def _one_line(reason) -> str:
    """An exception or a message on one line (numba's own messages span several)."""
    text = " ".join(str(reason).split())
    if isinstance(reason, str):
        return text
    return f"{type(reason).__name__}: {text}" if text else type(reason).__name__


def _driver_found() -> str | None:
    """Where the NVIDIA driver shows itself, or None (looked up without loading it)."""
    custom = os.environ.get("NUMBA_CUDA_DRIVER")
    if custom:
        return f"NUMBA_CUDA_DRIVER={custom}"
    if os.path.exists("/proc/driver/nvidia/version"):
        return "/proc/driver/nvidia/version"
    library = ctypes.util.find_library("cuda")
    if library:
        return library
    if shutil.which("nvidia-smi"):
        return "nvidia-smi on PATH"
    return None


def _unavailable(*lines) -> tuple:
    body = "\n".join(f"  - {line}" for line in lines)
    message = (
        "device='cuda' needs a usable NVIDIA GPU, and this process has none:\n"
        f"{body}\n{_INSTALL_HINT}\n{_SIMULATOR_HINT}"
    )
    return False, False, message


def _probe() -> tuple:
    requested_sim = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")
    driver = _driver_found()
    driver_line = (
        f"NVIDIA driver: found ({driver})"
        if driver
        else "NVIDIA driver: not found (no /proc/driver/nvidia, no libcuda.so, no nvidia-smi)"
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numba may warn about its CUDA target's future
            from numba import config, cuda
    except Exception as exc:  # numba without CUDA support, or a broken install
        return _unavailable(driver_line, f"numba.cuda: cannot be imported ({_one_line(exc)})")
    if config.ENABLE_CUDASIM:
        return True, True, "numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1): correct, slow"
    late_sim = []
    if requested_sim:
        late_sim = [
            "NUMBA_ENABLE_CUDASIM is set, but numba was imported before it was: set it "
            "before Python starts (e.g. NUMBA_ENABLE_CUDASIM=1 python ...)"
        ]
    try:
        available = cuda.is_available()
        reason = None if available else cuda.cuda_error()
    except Exception as exc:
        available, reason = False, exc
    if not available:
        reason = _one_line(reason) if reason else "no CUDA-capable GPU was detected"
        return _unavailable(driver_line, f"numba.cuda: not usable ({reason})", *late_sim)
    # The driver works; compiling needs the toolkit's NVVM, running needs a supported GPU.
    # A one-thread kernel checks both (and warms up the CUDA context).
    try:
        import numpy as np

        @cuda.jit
        def _probe_kernel(out):
            out[0] = 1

        out = cuda.to_device(np.zeros(1, np.int32))
        _probe_kernel[1, 1](out)
        if int(out.copy_to_host()[0]) != 1:
            raise RuntimeError("a test kernel ran but wrote nothing")
        name = cuda.get_current_device().name
        name = name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:
        missing = "CUDA toolkit (libNVVM) or a supported GPU"
        if "nvvm" in str(exc).lower() or "libdevice" in str(exc).lower():
            missing = "CUDA toolkit: libNVVM/libdevice not found"
        return _unavailable(
            driver_line,
            "numba.cuda: finds a GPU but cannot compile or run a kernel",
            f"{missing} ({_one_line(exc)})",
            *late_sim,
        )
    return True, False, f"NVIDIA GPU: {name}"
