"""Compute kernels: `cpu`, `images` and `augment` (Numba), `reference` (plain NumPy twins),
`cuda` (GPU), and `backend`, which puts each device's kernels and array operations under the
same names.

Numba compiles a kernel the first time it is called with a new combination of argument types,
which takes a few seconds for the whole set; the result is cached on disk, so later runs
load it quickly. `warmup()` does that work up front for every CPU kernel (`hn.warmup()`, `python
-m hashnet warmup`). A model prepares just the kernels it uses by running its own layers once
(`Sequential._warmup`), so this module knows kernels, not layers.
"""

from __future__ import annotations

import sys
import time

import numpy as np

_READY: set[str] = set()


def _exercise(dtype) -> None:
    """Call every CPU kernel once on tiny arrays with the argument types training uses."""
    from hashnet.kernels import cpu

    z = np.ones((2, 3), dtype)
    out, dx = np.empty_like(z), np.empty_like(z)
    mask = np.empty(z.shape, np.uint8)
    vec, vec2, vec3 = np.ones(3, dtype), np.empty(3, dtype), np.empty(3, dtype)
    cpu.add_bias(z, vec)
    cpu.bias_act_forward(z, vec, 0.0, out, mask)
    cpu.act_forward(z, 0.0, out, mask)
    cpu.act_backward(z, mask, 0.0, dx)
    cpu.act_backward_bias(z, mask, 0.0, dx, vec2)
    cpu.column_sum(z, vec2)
    cpu.softmax(z, out)
    cpu.softmax_xent(z, np.zeros(2, np.int64), dx)
    cpu.softmax_xent_rows(z, np.zeros(2, np.int64), dx, np.empty(2), np.empty(2, np.int32))
    z3, out3, dx3 = (a.reshape(2, 3, 1) for a in (z, out, dx))  # (batch, channels, positions)
    cpu.batchnorm_forward_train(z3, vec, vec, 1e-5, out3, dx3, vec2, vec3)
    cpu.batchnorm_forward_eval(z3, vec, vec, vec2, vec3, 1e-5, out3)
    cpu.batchnorm_backward(z3, z3, vec, vec3, 1e-5, dx3, vec2, vec3)
    cpu.batchnorm_backward_eval(z3, z3, vec, vec2, vec3, 1e-5, dx3, vec2, vec3)
    cpu.batchnorm_update_running(vec2, vec3, vec, vec, 0.1, 2)
    cpu.dropout_forward(z, z, 0.5, out, mask)
    cpu.dropout_backward(z, mask, 0.5, dx)
    p, g, m1, m2 = np.ones(3, dtype), np.ones(3, dtype), np.zeros(3, dtype), np.zeros(3, dtype)
    cpu.sgd_step(p, g, m1, 0.1, 0.9, False, 0.0, 0)
    cpu.adam_step(p, g, m1, m2, 0.1, 0.9, 0.999, 1e-8, 1, 0.0, 0)
    # Neural codes (the packing kernels take the network's dtype; the rest only uint64 words).
    words = np.zeros((2, 1), np.uint64)
    cpu.bias_act_pack(z, vec, 0.0, out, words, 0)
    cpu.act_pack(z, 0.0, out, words, 0)


def _exercise_shared() -> None:
    """The kernels whose argument types do not depend on the network's dtype: code words,
    Hamming search and the probes (float64 features, int64 labels and indices)."""
    from hashnet.kernels import cpu

    mask = np.zeros((2, 3), np.uint8)
    words = np.zeros((2, 1), np.uint64)
    cpu.pack_bits(mask, words)
    cpu.unpack_bits(words, mask)
    cpu.select_bits(words, np.zeros(1, np.int64), words.copy())
    cpu.hamming_distances(words, words, np.empty((2, 2), np.int32))
    cpu.hamming_knn(words, words, 1, np.empty((2, 1), np.int64), np.empty((2, 1), np.int64))
    hashes = cpu.row_hashes(words)
    cpu.code_groups(words, np.argsort(hashes), hashes)
    # Probes: float64 features, int64 labels and indices, whatever the network's dtype.
    X, x_sq, labels = np.ones((2, 3)), np.ones(2), np.zeros(2, np.int64)
    counts = np.empty(1, np.int64)
    cpu.kmeans_lloyd_pass(X, x_sq, X[:1], labels, np.empty(2), np.empty((1, 3)), counts)
    cpu.kmeans_plus_plus_candidates(X, x_sq, np.zeros(1, np.int64), x_sq, np.empty((2, 1)))
    cpu.squared_error(X, X[:1], labels)
    cpu.nearest_from_distances(np.zeros((2, 1), np.int32), labels, np.empty(2, np.int64))
    cpu.cluster_sums(mask, labels, np.empty((1, 3), np.int64), counts)
    best_index, best_key = np.full((2, 1), -1, np.int64), np.full((2, 1), np.inf)
    cpu.merge_k_smallest(X, np.ones(3), 0, best_index, best_key)
    # The code bytes are a view of the uint64 words: strided, unless every byte is used.
    all_bytes = words.view(np.uint8)
    for code_bytes in (all_bytes[:, :1], all_bytes):
        n_bytes = code_bytes.shape[1]
        tables, hist = np.zeros((n_bytes, 256, 1)), np.zeros((n_bytes, 256, 1))
        cpu.table_lookup_sum(code_bytes, tables, np.zeros((2, 1)))
        cpu.table_histogram(code_bytes, np.zeros((2, 1)), hist)


def _exercise_images(dtype) -> None:
    """The image kernels (convolution, pooling), for networks that take images."""
    from hashnet.kernels import images

    x = np.ones((1, 1, 2, 2), dtype)
    images.im2col(x, 2, 2, 1, 1, np.empty((4, 9), dtype))
    images.col2im(np.ones((4, 9), dtype), 2, 2, 1, 1, np.empty_like(x))
    vec = np.zeros(1, dtype)
    images.rows_to_images(np.ones((1, 4), dtype), vec, np.empty((1, 1, 4), dtype))
    images.images_to_rows(np.ones((1, 1, 4), dtype), np.empty((1, 4), dtype), vec)
    out, argmax = np.empty((1, 1, 1, 1), dtype), np.empty((1, 1, 1, 1), np.int32)
    images.maxpool_forward(x, 2, 2, out, argmax)
    images.maxpool_backward(out, argmax, 2, 2, np.empty_like(x))
    images.avgpool_forward(x, 2, 2, out)
    images.avgpool_backward(out, 2, 2, np.empty_like(x))
    channel_means = np.empty((1, 1), dtype)
    images.global_avgpool_forward(x, channel_means)
    images.global_avgpool_backward(channel_means, np.empty_like(x))
    # Data augmentation (hashnet.nn.augment): per-image angles, shifts (float64), flips (uint8).
    from hashnet.kernels import augment

    params = np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1, np.uint8)
    augment.affine_images(x, *params, False, np.empty_like(x))


def _exercise_regions() -> None:
    """The exact-region kernels (`regions.py`): a square cut by two units that share a
    pooling window, with its pieces' maps, and a point located among them."""
    from hashnet.kernels import regions

    square = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])
    Z = np.array([[[1.0, -1.0], [0.5, 0.5], [0.1, 0.0]]])  # (regions, 3, units)
    chain = (Z, np.ones(1, np.bool_), np.zeros(2, np.int64), np.zeros(0, np.int64))
    chain += (np.zeros((0, 3)), np.array([0, 1, 2]), np.zeros(2, np.int64), np.ones(2))
    windows, holders = np.array([[0, 1]]), np.zeros(2, np.int64)
    order, ptr = np.arange(2), np.array([0, 1, 2])
    state = regions.new_cut_state(1, 2)
    start, count = np.zeros(1, np.int64), np.full(1, 4)
    settings = (True, 0.0, windows, ptr, holders, order, order[:1], 1e-10, 0.0, True, True, 1, 8)
    lines = (np.zeros(2, np.int64), np.zeros((0, 3)))
    verts, starts, counts, _, _, held, state = regions.cut_pieces(
        square, start, count, *lines, *chain, *settings, 100, state
    )
    verts, starts, counts, _ = regions.cut_by_lines(verts, starts, counts, *held, 1e-10, 0.0)
    regions.locate_points(verts, starts, counts, np.zeros((1, 2)), 1e-12)


def warmup(dtypes=("float32", "float64"), verbose=True, images=True) -> float:
    """Compile (or load from the cache) every CPU kernel for the given dtypes.

    images=False leaves out the kernels of the image layers (convolution, pooling) and of
    image augmentation, which networks on flat inputs never call. Returns the seconds it took.
    Later calls for what is already prepared return at once.
    """
    todo = [np.dtype(d).name for d in dtypes if np.dtype(d).name not in _READY]
    if images:
        todo += [f"images {np.dtype(d).name}" for d in dtypes]
        todo = [t for t in todo if t not in _READY]
    if not todo and "shared" in _READY:
        return 0.0
    start = time.perf_counter()
    if verbose:
        print(
            "preparing the Numba kernels (compiled on first use, then loaded from the disk "
            "cache) ...",
            end="",
            file=sys.stderr,
            flush=True,
        )
    for name in todo:
        if name.startswith("images "):
            _exercise_images(np.dtype(name.split()[1]))
        else:
            _exercise(np.dtype(name))
        _READY.add(name)
    if "shared" not in _READY:
        _exercise_shared()
        _exercise_regions()
        _READY.add("shared")
    seconds = time.perf_counter() - start
    if verbose:
        print(f" done in {seconds:.1f}s", file=sys.stderr, flush=True)
    return seconds
