"""A network's neural codes: the on/off pattern of its ReLU-like units, packed into bits.

Each ReLU-like unit contributes one bit per example: 1 when its pre-activation is > 0 (the same
rule for LeakyReLU). Two inputs with the same code lie in the same linear region of the network,
where it computes one affine map. This module holds the container, `Codes`, and the one pass
that computes them, `compute_codes` (behind `net.codes(X)`), on the CPU or a GPU alike: the
layers' forward pass in evaluation mode, where every layer with a code writes its sign bits
straight into the packed words. What the study measures on codes (the redundancy ratio,
collisions, Hamming distances) is in `hashnet.codes`.

Bit order (the one documented layout): bit j of a code is bit j % 64 (least significant first)
of 64-bit word j // 64; the unused high bits of the last word are zero. Layers are concatenated
in network order, so bits [0, n_1) are the first ReLU layer, [n_1, n_1 + n_2) the second, ...
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_int
from hashnet.kernels import cpu
from hashnet.kernels.backend import backend


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
        cpu.pack_bits(bits, words)
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
        cpu.unpack_bits(self.words, out)
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
        cpu.select_bits(self.words, index, out)
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

    layers: None for every layer with a code (the ReLU-like layers), or indices among them
    (0 = the first). The forward pass stops after the last requested layer, and the sign bits
    are packed by the same kernel that applies the activation, so this costs about one forward
    pass. `chunk` examples go through at a time (default: the model's own chunk size, which
    keeps each layer's float arrays near 64 MiB), so only the packed bits of all examples are
    held. device="cuda" runs the forward pass and the packing on the GPU, with the same layers.
    """
    ops = backend(device)
    X = net._check_X(X)
    acts = [i for i, layer in enumerate(net.layers) if layer.has_code]
    if not acts:
        raise ValueError("this network has no ReLU-like layer, so it has no activation codes")
    if isinstance(layers, (int, np.integer)):
        layers = [layers]
    wanted = range(len(acts)) if layers is None else layers
    wanted = sorted({_check_layer(i, len(acts)) for i in wanted})
    if not wanted:
        raise ValueError("layers selects no ReLU layer")
    chosen = [acts[i] for i in wanted]
    sizes = [net.layers[i].code_size for i in chosen]
    offsets = dict(zip(chosen, np.cumsum([0, *sizes[:-1]]).tolist()))
    words = np.zeros((X.shape[0], _n_words(sum(sizes))), np.uint64)
    chunk = net._chunk_rows if chunk is None else check_int(chunk, "chunk", 1)
    layers_used = net.layers[: max(chosen) + 1]
    with net._placed_on(ops):
        net._warmup(ops=ops)
        store: dict = {}  # the chunk's reusable device buffers (nothing on the CPU)
        for start in range(0, X.shape[0], chunk):
            host_words = words[start : start + chunk]  # zeros; on the CPU the kernels write here
            x = ops.upload(X[start : start + chunk], store, "x")
            device_words = ops.upload(host_words, store, "words")
            packing_pass(layers_used, x, offsets, device_words)
            ops.to_host(device_words, out=host_words)
    return Codes(words, sum(sizes), sizes)


def packing_pass(layers, x, offsets, words):
    """The evaluation forward pass through `layers`, where the layer at index i of `offsets`
    ORs its sign bits into `words` from bit offsets[i] on. Returns the last output."""
    for i, layer in enumerate(layers):
        if i in offsets:
            x = layer.forward_and_pack(x, words, offsets[i])
        else:
            x = layer.forward(x, training=False)
    return x


def _check_layer(i, n):
    if not isinstance(i, (int, np.integer)) or not -n <= i < n:
        raise ValueError(f"layer index {i!r} out of range: the network has {n} ReLU layer(s)")
    return int(i) % n
