"""Neural codes and the Hamming K-NN search on the GPU.

`code_words` fills the packed words that `hashnet.codes.compute_codes` asks for, running the
network's forward pass on the GPU chunk by chunk, with the sign bits packed by the kernel that
applies the activation (the bit layout of hashnet.codes). Given the same weights the codes are
the CPU's: a bit can only differ for a pre-activation within float32 rounding of zero, where the
GPU's different order of summation in the matrix product can land on the other side.

`hamming_knn` is `hashnet.codes.hamming_knn` on the GPU: the same neighbours in the same order
(by distance, then by training index), so the K-NN probe gives identical answers.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from hashnet.gpu.runner import Runner
from hashnet.kernels import cuda as K


def code_words(net, X, offsets, last, chunk, words):
    """Fill `words` (N, n_words) uint64, zeros on entry, with the codes of X (N, *input_shape).

    offsets maps the index of each chosen activation layer to its first bit; the forward pass
    stops after layer `last`; `chunk` examples go through at a time.
    """
    runner = Runner(net, n_layers=last + 1)
    ws, dtype = runner.ws, runner.dtype
    features = int(np.prod(net.input_shape))
    n_words = words.shape[1]
    for start in range(0, X.shape[0], chunk):
        part = X[start : start + chunk]
        rows = part.shape[0]
        x = ws.array("codes x", (rows, features), dtype)
        x.copy_to_device(np.ascontiguousarray(part.reshape(rows, features)))
        device_words = ws.array("codes words", (rows, n_words), np.uint64)
        K.fill(device_words, 0)
        x = x.reshape(rows, *net.input_shape)
        for i, step in enumerate(runner.steps):
            if i in offsets:
                x = step.pack(x, device_words, offsets[i])
            else:
                x = step.forward(x, training=False)
        device_words.copy_to_host(words[start : start + rows])
    return words


def hamming_knn(query, train, k):
    """The k nearest training codes of each query code in Hamming distance, on the GPU.

    Same contract as hashnet.codes.hamming_knn: returns (indices (Nq, k) int64, distances
    (Nq, k) int32), rows by increasing distance, ties to the smaller training index.
    """
    from hashnet.codes import _check_pair

    _check_pair(query, train)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(train):
        raise ValueError(f"k must be an integer in [1, {len(train)}] (the training set), got {k}")
    k = int(k)
    n_q = len(query)
    index = np.empty((n_q, k), np.int64)
    dist = np.empty((n_q, k), np.int64)
    device_train = cuda.to_device(train.words)
    # The search keeps each thread's best k in a scratch table of (slices x queries x k);
    # queries go in chunks so that table stays within a few hundred MB for any k.
    chunk = max(1, 2**20 // k)
    for start in range(0, n_q, chunk):
        stop = min(start + chunk, n_q)
        device_query = cuda.to_device(query.words[start:stop])
        device_index = cuda.device_array((stop - start, k), np.int64)
        device_dist = cuda.device_array((stop - start, k), np.int64)
        K.hamming_knn(device_query, device_train, k, device_index, device_dist)
        device_index.copy_to_host(index[start:stop])
        device_dist.copy_to_host(dist[start:stop])
    return index, dist.astype(np.int32)
