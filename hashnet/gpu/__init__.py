"""The GPU path's public names, where earlier versions of hashnet kept them.

There is no separate GPU trainer: `device="cuda"` runs the same layers, training loop and code
extraction as the CPU, with the CUDA kernels of `hashnet.kernels.cuda` (see
`hashnet.kernels.backend`). Choosing and checking the device is `hashnet.device`'s job; its
names are also here, as is the Hamming K-NN search on the GPU.
"""

from __future__ import annotations

from hashnet.device import (
    DEVICES,
    CUDAUnavailableError,
    check_device,
    cuda_available,
    cuda_status,
    is_simulator,
    require_cuda,
)

__all__ = [
    "DEVICES",
    "CUDAUnavailableError",
    "check_device",
    "cuda_available",
    "cuda_status",
    "hamming_knn",
    "is_simulator",
    "require_cuda",
]


def hamming_knn(query, train, k):
    """`hashnet.codes.hamming_knn(query, train, k, device="cuda")`: the same neighbours, found
    on the GPU."""
    from hashnet.codes import hamming_knn as search

    return search(query, train, k, device="cuda")
