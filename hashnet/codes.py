"""Measuring neural codes: who shares a code, and how far apart codes are.

A network's code for an input is the on/off pattern of its ReLU-like units (`net.codes(X)`
gives them, packed into bits; see `hashnet.nn.codes` for the container and the layout). Two
inputs with the same code lie in the same linear region of the network, where it computes one
affine map. The study's *determinism* property says that a trained classifier gives almost
every training example a code of its own; `redundancy_ratio` measures how far from that a
network is, `collisions` shows who shares. Hamming distances between codes (the number of
units that differ) are what the K-NN probe searches with.

Bit order (the one documented layout): bit j of a code is bit j % 64 (least significant first)
of 64-bit word j // 64; the unused high bits of the last word are zero. Layers are concatenated
in network order, so bits [0, n_1) are the first ReLU layer, [n_1, n_1 + n_2) the second, ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet._validation import check_int, check_y
from hashnet.kernels import cpu
from hashnet.kernels.backend import backend
from hashnet.nn.codes import Codes, check_codes, compute_codes

__all__ = [
    "Codes",
    "Collisions",
    "alone_in_pattern",
    "check_codes",
    "code_groups",
    "collisions",
    "compute_codes",
    "hamming_distances",
    "hamming_knn",
    "prefix_redundancy",
    "redundancy_ratio",
]


# --- determinism: who shares a code ---------------------------------------------------------------


def code_groups(codes) -> np.ndarray:
    """Group id of each example: equal ids exactly for equal codes, numbered 0, 1, ... in order
    of first appearance. Exact (hashing only puts candidates next to each other)."""
    codes = check_codes(codes)
    hashes = cpu.row_hashes(codes.words)
    order = np.argsort(hashes)  # any order works: ids are renumbered by first appearance
    return cpu.code_groups(codes.words, order, hashes)


def redundancy_ratio(codes) -> float:
    """(N - number of distinct codes) / N, as the study defines it.

    0 means every example has a code (a linear region) of its own; (N - 1) / N means all share
    one. Exact, not estimated.
    """
    ids = code_groups(codes)
    return (len(ids) - (int(ids.max()) + 1)) / len(ids)


def prefix_redundancy(codes) -> list[float]:
    """The redundancy ratio of the code of the first l layers, for l = 1 .. n_layers: how the
    examples get separated layer by layer."""
    codes = check_codes(codes)
    return [redundancy_ratio(codes.prefix(n)) for n in range(1, codes.n_layers + 1)]


@dataclass
class Collisions:
    """Who shares a code with whom (see `collisions`)."""

    groups: list  # arrays of example indices, one per code shared by two or more examples
    sizes: np.ndarray  # size of each of those groups
    n_examples: int
    n_distinct: int  # distinct codes among all examples
    same_label: int  # shared groups whose members all have one label (None without y)
    mixed_label: int  # shared groups with two or more labels (None without y)
    alone_fraction: float  # fraction of examples whose code nobody else has

    @property
    def redundancy_ratio(self) -> float:
        return (self.n_examples - self.n_distinct) / self.n_examples


def collisions(codes, y=None) -> Collisions:
    """The groups of examples that share a code, their sizes, and (given labels y) how many
    groups are same-label and how many mix labels: a mixed group is a linear region that the
    network must give one affine map to examples of different classes."""
    ids = code_groups(codes)
    counts = np.bincount(ids)
    shared = np.flatnonzero(counts >= 2)
    order = np.argsort(ids, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    groups = [order[starts[g] : starts[g + 1]] for g in shared]
    same = mixed = None
    if y is not None:
        y = check_y(y, len(ids))
        mixed = sum(int(np.unique(y[g]).size > 1) for g in groups)
        same = len(groups) - mixed
    return Collisions(
        groups=groups,
        sizes=counts[shared],
        n_examples=len(ids),
        n_distinct=len(counts),
        same_label=same,
        mixed_label=mixed,
        alone_fraction=float(np.mean(counts[ids] == 1)),
    )


def alone_in_pattern(codes) -> np.ndarray:
    """For each example, True if no other example has the same code.

    Accepts Codes (from `net.codes(X)`) or a 0/1 pattern matrix (N, n_bits).
    `alone_in_pattern(...).sum()` counts the examples with a linear region to themselves.
    """
    if not isinstance(codes, Codes):
        codes = Codes.from_bits(codes)
    ids = code_groups(codes)
    return np.bincount(ids)[ids] == 1


# --- Hamming distances ---------------------------------------------------------------------


def _check_pair(a, b):
    check_codes(a, "first codes")
    check_codes(b, "second codes")
    if a.n_bits != b.n_bits:
        raise ValueError(f"codes of different widths: {a.n_bits} and {b.n_bits} bits")


def hamming_distances(a, b) -> np.ndarray:
    """(len(a), len(b)) int32 matrix of Hamming distances (differing bits) between codes."""
    _check_pair(a, b)
    out = np.empty((len(a), len(b)), np.int32)
    cpu.hamming_distances(a.words, b.words, out)
    return out


def hamming_knn(query, train, k, device="cpu"):
    """The k nearest training codes of each query code in Hamming distance.

    Returns (indices (Nq, k) int64, distances (Nq, k) int32), each row by increasing distance,
    ties broken by the smaller training index. A parallel popcount scan: no (Nq, Nt) matrix is
    ever held in memory. device="cuda" searches on the GPU, with the same answer.
    """
    ops = backend(device)
    _check_pair(query, train)
    k = check_int(k, "k", 1, len(train))
    n_q = len(query)
    index = np.empty((n_q, k), np.int64)
    dist = np.empty((n_q, k), np.int64)
    train_words = ops.to_device(train.words)
    # On a GPU each thread keeps its best k in a scratch table of (slices x queries x k), so
    # queries go in chunks that keep the table within a few hundred MB for any k.
    chunk = n_q if ops.name == "cpu" else max(1, 2**20 // k)
    store: dict = {}
    for start in range(0, n_q, chunk):
        stop = min(start + chunk, n_q)
        out_index = ops.upload(index[start:stop], store, "index")
        out_dist = ops.upload(dist[start:stop], store, "dist")
        query_words = ops.upload(query.words[start:stop], store, "query")
        ops.hamming_knn(query_words, train_words, k, out_index, out_dist)
        ops.to_host(out_index, out=index[start:stop])
        ops.to_host(out_dist, out=dist[start:stop])
    return index, dist.astype(np.int32)
