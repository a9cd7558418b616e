"""Backends: one table of array operations and kernels per device, under the same names.

The layers, the training loop and the code extraction are written once. What they call for
arithmetic is `ops`, a backend: `ops.matmul(x, W, z)`, `ops.bias_act_forward(...)`,
`ops.batchnorm_backward(...)`, ... On the CPU these are the Numba kernels of `cpu.py` and
`images.py` (with matrix products through NumPy's BLAS); on an NVIDIA GPU the `@cuda.jit`
kernels of `cuda.py`, which take the same arguments. A few array operations complete the
table: moving arrays between host and device, allocating, and gathering a mini-batch.

    ops = backend("cpu")            # or backend("cuda"): checks the device first
    z = ops.empty((n, units), np.float32)
    ops.matmul(x, W, z)             # z = x @ W, on whichever device x, W and z live

Scratch buffers: a layer asks `ops.scratch(store, name, shape, dtype)` for its outputs and
saved values. On the CPU that is a fresh `np.empty`, exactly what NumPy code would allocate; on
the GPU, where allocating memory costs more than most kernels, the buffer named `name` in the
caller's `store` (a dict) is reused from batch to batch and grown when a bigger one is needed,
so training allocates nothing after its first batch. A buffer is therefore valid until its
owner's next call that asks for the same name, which is all a forward/backward pass needs.
"""

from __future__ import annotations

import functools

import numpy as np

from hashnet.device import check_device


def _add_kernels(ops, *modules):
    """Give `ops` the public functions and kernels defined in `modules` as attributes (instance
    attributes: as quick to look up as a module's functions). Names the backend class defines
    itself keep the class's version."""
    for module in modules:
        for name, value in vars(module).items():
            if name.startswith("_") or isinstance(value, type) or not callable(value):
                continue
            defined_here = getattr(value, "__module__", None) == module.__name__
            if (defined_here or hasattr(value, "py_func")) and not hasattr(type(ops), name):
                setattr(ops, name, value)


class CPUBackend:
    """Arrays are NumPy arrays in host memory; kernels are Numba's, products are BLAS's."""

    name = "cpu"
    warmup_message = (
        "preparing the Numba kernels (compiled on first use, then loaded from the disk cache) ..."
    )

    def __init__(self):
        from hashnet.kernels import cpu, images

        _add_kernels(self, cpu, images)

    # --- memory --------------------------------------------------------------------------

    @staticmethod
    def to_device(a):
        """A host array as this device's array: here, the array itself."""
        return a

    @staticmethod
    def to_host(a, out=None):
        """A device array back on the host (into `out` when given)."""
        if out is None or out is a:
            return a
        out[...] = a
        return out

    @staticmethod
    def upload(host, store, name):
        """`host` on the device, in the reusable buffer `name` of `store` (for data that comes
        in chunks: dropout's draws, a chunk of examples). On the CPU it *is* the host array,
        so results written into it land where the caller wants them."""
        return host

    @staticmethod
    def empty(shape, dtype):
        return np.empty(shape, dtype)

    @staticmethod
    def zeros(shape, dtype):
        return np.zeros(shape, dtype)

    @staticmethod
    def scratch(store, name, shape, dtype):
        return np.empty(shape, dtype)

    @staticmethod
    def copy(a):
        return a.copy()

    @staticmethod
    def copy_into(dst, src):
        dst[...] = src

    @staticmethod
    def contiguous(a):
        """`a` in one contiguous block, as the image kernels need (a copy only if it is not)."""
        return np.ascontiguousarray(a)

    @staticmethod
    def fill(a, value):
        a[...] = value

    @staticmethod
    def synchronize():
        """Wait until the device has finished its queued work (nothing to wait for here)."""

    # --- arithmetic that is not a kernel of its own ----------------------------------------

    @staticmethod
    def matmul(a, b, out, trans_a=False, trans_b=False):
        """out = op(a) @ op(b), op transposing when asked: BLAS, writing into `out` (a transposed
        operand is a strided view, which BLAS reads as it is, without a copy)."""
        np.matmul(a.T if trans_a else a, b.T if trans_b else b, out=out)

    @staticmethod
    def take_rows(x, index, store, name):
        """x[index]: the examples of a mini-batch, gathered from the data set."""
        return x[index]

    @staticmethod
    def add_into(dst, src):
        """dst += src for arrays of one shape (a residual block's sum): NumPy's own loop."""
        np.add(dst, src, out=dst)


class CUDABackend:
    """Arrays are numba.cuda device arrays in GPU memory; kernels are those of `cuda.py`."""

    name = "cuda"
    warmup_message = "preparing the CUDA kernels (compiled on first use) ..."

    def __init__(self):
        from numba import cuda as numba_cuda

        from hashnet.kernels import cuda

        self._cuda = numba_cuda
        self._kernels = cuda
        _add_kernels(self, cuda)

    # --- memory --------------------------------------------------------------------------

    def to_device(self, a):
        return self._cuda.to_device(np.ascontiguousarray(a))

    @staticmethod
    def to_host(a, out=None):
        if out is None:
            return a.copy_to_host()
        a.copy_to_host(out)
        return out

    def upload(self, host, store, name):
        host = np.ascontiguousarray(host)
        buffer = self.scratch(store, name, host.shape, host.dtype)
        buffer.copy_to_device(host)
        return buffer

    def empty(self, shape, dtype):
        return self._cuda.device_array(shape, dtype)

    def zeros(self, shape, dtype):
        a = self._cuda.device_array(shape, dtype)
        self.fill(a, 0)
        return a

    def scratch(self, store, name, shape, dtype):
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        size = int(np.prod(shape))
        buf = store.get(name)
        if buf is None or buf.dtype != dtype or buf.shape[0] < size:
            buf = self._cuda.device_array(max(size, 1), dtype)
            store[name] = buf
        return buf[:size].reshape(shape)

    def copy(self, a):
        out = self._cuda.device_array(a.shape, a.dtype)
        out.copy_to_device(a)
        return out

    @staticmethod
    def copy_into(dst, src):
        dst.copy_to_device(src)

    @staticmethod
    def contiguous(a):
        return a  # device arrays made here (buffers and their reshapes) are contiguous

    def synchronize(self):
        self._cuda.synchronize()

    def take_rows(self, x, index, store, name):
        """x[index] gathered on the GPU into a reused buffer (x: examples of any shape)."""
        n = index.shape[0]
        if x.ndim == 1:
            out = self.scratch(store, name, (n,), x.dtype)
            self._kernels.take(x, index, out)
            return out
        features = int(np.prod(x.shape[1:]))
        out = self.scratch(store, name, (n, features), x.dtype)
        self._kernels.take_rows(x.reshape(x.shape[0], features), index, out)
        return out.reshape(n, *x.shape[1:])


@functools.cache
def _make(name):
    return CPUBackend() if name == "cpu" else CUDABackend()


def backend(device="cpu"):
    """The backend of `device` ("cpu" or "cuda"), made once per process.

    Raises ValueError for an unknown device, and hashnet.device.CUDAUnavailableError saying
    what is missing when "cuda" cannot work here.
    """
    return _make(check_device(device))


CPU = _make("cpu")  # the backend layers start on
