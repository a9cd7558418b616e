"""Neural codes: the on/off pattern of a network's ReLU units, packed into bits.

Each ReLU-like unit contributes one bit per example: 1 when its pre-activation is > 0 (the same
rule for LeakyReLU). Two inputs with the same code lie in the same linear region of the network,
where it computes one affine map. The study's *determinism* property says that a trained
classifier gives almost every training example a code of its own; `redundancy_ratio` measures
how far from that a network is, `collisions` shows who shares.

Bit order (the one documented layout): bit j of a code is bit j % 64 (least significant first)
of 64-bit word j // 64; the unused high bits of the last word are zero. Layers are concatenated
in network order, so bits [0, n_1) are the first ReLU layer, [n_1, n_1 + n_2) the second, ...
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashnet._validation import check_int
from hashnet.kernels import cpu as K


class Codes:
    """Packed activation codes of N examples.

    words        (N, n_words) uint64, the packed bits (see the module docstring for the order)
    n_bits       bits per code
    layer_sizes  bits contributed by each ReLU layer, in order (they sum to n_bits)
    """

    def __init__(self, words, n_bits, layer_sizes=None):
        words = np.asarray(words)
        if words.dtype != np.uint64 or words.ndim != 2:
            raise TypeError(f"words must be a 2D uint64 array, got {words.dtype} {words.shape}")
        n_bits = check_int(n_bits, "n_bits", 0)
        if words.shape[1] != _n_words(n_bits):
            raise ValueError(
                f"{n_bits} bits need {_n_words(n_bits)} words per code, got {words.shape[1]}"
            )
        # The unused high bits of the last word must be 0: equal codes must be equal words,
        # or the redundancy ratio would count one pattern as two.
        spare = n_bits % 64
        if spare and words.size and (words[:, -1] >> np.uint64(spare)).any():
            raise ValueError(
                f"words have bits set beyond n_bits={n_bits} (in the last word, above bit "
                f"{spare - 1}); the unused high bits must be 0"
            )
        if layer_sizes is None:
            layer_sizes = (n_bits,)
        layer_sizes = tuple(check_int(s, "each layer size", 0) for s in layer_sizes)
        if sum(layer_sizes) != n_bits or min(layer_sizes, default=0) < 0:
            raise ValueError(f"layer_sizes {layer_sizes} must be >= 0 and sum to n_bits={n_bits}")
        self.words = np.ascontiguousarray(words)
        self.n_bits = n_bits
        self.layer_sizes = layer_sizes

    @classmethod
    def from_bits(cls, bits, layer_sizes=None) -> Codes:
        """Pack a 0/1 matrix (N, n_bits) into Codes."""
        bits = np.asarray(bits)
        if bits.ndim != 2:
            raise ValueError(f"bits must be a 2D (N, n_bits) array, got shape {bits.shape}")
        if bits.size and bits.dtype != bool:
            if np.issubdtype(bits.dtype, np.integer):
                valid = bits.min() >= 0 and bits.max() <= 1  # two fast passes, no mask
            else:
                valid = ((bits == 0) | (bits == 1)).all()
            if not valid:
                raise ValueError("bits must hold only 0 and 1")
        bits = np.ascontiguousarray(bits, dtype=np.uint8)
        words = np.empty((bits.shape[0], _n_words(bits.shape[1])), np.uint64)
        K.pack_bits(bits, words)
        return cls(words, bits.shape[1], layer_sizes)

    # --- shape and access ----------------------------------------------------------------

    def __len__(self):
        return self.words.shape[0]

    @property
    def n_words(self) -> int:
        return self.words.shape[1]

    @property
    def n_layers(self) -> int:
        return len(self.layer_sizes)

    def __getitem__(self, rows) -> Codes:
        """The codes of a subset of the examples (an index, slice, array or boolean mask)."""
        words = self.words[rows]
        return Codes(words.reshape(-1, self.n_words), self.n_bits, self.layer_sizes)

    def __repr__(self):
        return f"Codes({len(self)} examples, {self.n_bits} bits, layers {list(self.layer_sizes)})"

    def bits(self) -> np.ndarray:
        """The unpacked codes: an (N, n_bits) uint8 array of 0/1."""
        out = np.empty((len(self), self.n_bits), np.uint8)
        K.unpack_bits(self.words, out)
        return out

    def layer_slices(self) -> list[slice]:
        """The bit positions of each layer."""
        edges = np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(int)
        return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]

    def select(self, bit_index, layer_sizes=None) -> Codes:
        """New codes made of the bits at positions `bit_index` (in that order)."""
        index = np.asarray(bit_index, dtype=np.int64).ravel()
        if index.size and (index.min() < 0 or index.max() >= self.n_bits):
            raise ValueError(f"bit positions must be in [0, {self.n_bits})")
        out = np.empty((len(self), _n_words(index.size)), np.uint64)
        K.select_bits(self.words, index, out)
        return Codes(out, index.size, layer_sizes)

    def layer(self, i) -> Codes:
        """The bits of ReLU layer i (0-based) alone."""
        if not -self.n_layers <= i < self.n_layers:
            raise IndexError(f"layer {i} out of range: these codes have {self.n_layers} layer(s)")
        part = self.layer_slices()[i]
        return self.select(np.arange(part.start, part.stop))

    def prefix(self, n_layers) -> Codes:
        """The code made by the first `n_layers` ReLU layers (how far the early layers get)."""
        if not 0 <= n_layers <= self.n_layers:
            raise ValueError(f"n_layers must be in [0, {self.n_layers}], got {n_layers}")
        n = int(sum(self.layer_sizes[:n_layers]))
        return self.select(np.arange(n), self.layer_sizes[:n_layers])

    # --- constant bits -------------------------------------------------------------------

    def constant_bits(self) -> np.ndarray:
        """Boolean mask (n_bits,): True for bits with the same value in every code."""
        if len(self) == 0:
            return np.ones(self.n_bits, bool)
        ever_on = np.bitwise_or.reduce(self.words, axis=0)
        always_on = np.bitwise_and.reduce(self.words, axis=0)
        varying = Codes((ever_on ^ always_on)[None, :], self.n_bits).bits()[0]
        return varying == 0

    def drop_constant(self, reference=None) -> Codes:
        """These codes without the bits that are constant on `reference` (default: self).

        Bits that never change (dead units, units always on) carry no information. Pass the
        *training* codes as reference and apply the same selection to the test codes:
        `test.drop_constant(reference=train)`. (The original study filtered on train and test
        together; hashnet decides from the training codes only, so the test set stays unseen.)
        """
        reference = self if reference is None else reference
        if not isinstance(reference, Codes) or reference.n_bits != self.n_bits:
            raise ValueError("reference must be Codes with the same number of bits")
        keep = ~reference.constant_bits()
        sizes = [int(keep[part].sum()) for part in self.layer_slices()]
        return self.select(np.flatnonzero(keep), sizes)


def _n_words(n_bits):
    return (int(n_bits) + 63) // 64


def check_codes(codes, name="codes") -> Codes:
    """Raise a clear error unless `codes` is a non-empty Codes object."""
    if not isinstance(codes, Codes):
        raise TypeError(
            f"{name} must be hashnet Codes (from net.codes(X) or Codes.from_bits), "
            f"got {type(codes).__name__}"
        )
    if len(codes) == 0:
        raise ValueError(f"{name} is empty")
    return codes


# --- computing codes ----------------------------------------------------------------------------


def compute_codes(net, X, layers=None, chunk=None, device="cpu") -> Codes:
    """The activation codes of `net` for the examples X (evaluation mode), in chunks.

    layers: None for every ReLU-like layer, or indices among the ReLU-like layers (0 = the first).
    The forward pass stops after the last requested layer, and the sign bits are packed by the
    same kernel that applies the activation, so this costs about one forward pass. `chunk`
    examples go through at a time (default: the model's own chunk size, which keeps each
    layer's float arrays near 64 MiB), so only the packed bits of all examples are held.
    device="cuda" runs the forward pass and the packing on the GPU (hashnet.gpu.codes).
    """
    from hashnet.gpu import check_device
    from hashnet.nn.layers import LeakyReLU

    check_device(device)
    X = net._check_X(X)
    acts = [i for i, layer in enumerate(net.layers) if isinstance(layer, LeakyReLU)]
    if not acts:
        raise ValueError("this network has no ReLU-like layer, so it has no activation codes")
    if isinstance(layers, (int, np.integer)):
        layers = [layers]
    wanted = range(len(acts)) if layers is None else layers
    wanted = sorted({_check_layer(i, len(acts)) for i in wanted})
    if not wanted:
        raise ValueError("layers selects no ReLU layer")
    chosen = [acts[i] for i in wanted]
    net._warmup()
    sizes = _unit_counts(net, chosen)
    offsets = dict(zip(chosen, np.cumsum([0, *sizes[:-1]]).tolist()))
    words = np.zeros((X.shape[0], _n_words(sum(sizes))), np.uint64)
    last = max(chosen)
    chunk = net._chunk_rows if chunk is None else int(chunk)
    if device == "cuda":
        from hashnet.gpu.codes import code_words

        code_words(net, X, offsets, last, chunk, words)
        return Codes(words, sum(sizes), sizes)
    for start in range(0, X.shape[0], chunk):
        x = X[start : start + chunk]
        rows = words[start : start + chunk]
        for i, layer in enumerate(net.layers[: last + 1]):
            if i in offsets:
                x = _activate_and_pack(layer, x, rows, offsets[i])
            else:
                x = layer.forward(x, training=False)
    return Codes(words, sum(sizes), sizes)


def _activate_and_pack(layer, z, words, offset):
    flat = z.reshape(z.shape[0], -1)
    out = np.empty_like(flat)
    if layer.bias_from is None:
        K.act_pack(flat, layer.alpha, out, words, offset)
    else:
        K.bias_act_pack(flat, layer.bias_from.params["b"], layer.alpha, out, words, offset)
    return out.reshape(z.shape)


def _unit_counts(net, layer_indices):
    """Units in the output of each of the given layers: one forward pass of a single input."""
    probe, counts = np.zeros((1, *net.input_shape), net.dtype), []
    for i, layer in enumerate(net.layers[: max(layer_indices) + 1]):
        probe = layer.forward(probe, training=False)
        if i in layer_indices:
            counts.append(probe[0].size)
    return counts


def _check_layer(i, n):
    if not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise ValueError(f"layer index {i!r} out of range: the network has {n} ReLU layer(s)")
    return int(i) % n


# --- determinism: who shares a code ---------------------------------------------------------------


def code_groups(codes) -> np.ndarray:
    """Group id of each example: equal ids exactly for equal codes, numbered 0, 1, ... in order
    of first appearance. Exact (hashing only puts candidates next to each other)."""
    codes = check_codes(codes)
    hashes = K.row_hashes(codes.words)
    order = np.argsort(hashes)  # any order works: ids are renumbered by first appearance
    return K.code_groups(codes.words, order, hashes)


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
        from hashnet._validation import check_y

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
    K.hamming_distances(a.words, b.words, out)
    return out


def hamming_knn(query, train, k):
    """The k nearest training codes of each query code in Hamming distance.

    Returns (indices (Nq, k) int64, distances (Nq, k) int32), each row by increasing distance,
    ties broken by the smaller training index. A parallel popcount scan: no (Nq, Nt) matrix is
    ever held in memory.
    """
    _check_pair(query, train)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= len(train):
        raise ValueError(f"k must be an integer in [1, {len(train)}] (the training set), got {k}")
    index = np.empty((len(query), int(k)), np.int64)
    dist = np.empty((len(query), int(k)), np.int64)
    K.hamming_knn(query.words, train.words, int(k), index, dist)
    return index, dist.astype(np.int32)
