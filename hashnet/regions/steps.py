"""A network as the exact region code sees it: affine maps between piecewise-linear steps.

Dense, Conv2D, AvgPool2D, evaluation-mode BatchNorm, Flatten, GlobalAvgPool2D and Dropout
(off outside training) are all affine: x -> L(x) + b with a linear L. What is left are the
piecewise-linear steps, which create region boundaries:

* a ReLU-like layer, one boundary per unit where its pre-activation is 0;
* a max-pooling layer, one boundary per pair of inputs of a window where the two are equal
  (there the winner of the window can change).

`network_steps(net)` returns the network as [Step(ops, kind, arg), ...] plus the affine ops
that lead to the logits. The region algorithms (`enumerate`, `count_along`) carry, on each
piece of input space, an affine map x(s) = s @ M + c from the piece's coordinates to the
current layer's values, and push it through the ops with `push`: the linear part acts on M,
linear part plus bias on c. Everything is float64 and flat: an image (C, H, W) is the vector of
its C*H*W values in NCHW order.

`Program` is the form the enumeration uses: `Stage`s, each affine ops followed by a ReLU-like
activation, max pooling, or both (a ReLU directly followed by a max pool is one stage, so the
pooling cuts the ReLU's pieces without the map in between ever being built). A Program is a
snapshot: it copies the weights (in float64), so the regions it describes stay those of the
network as it was, whatever happens to the network later. It also evaluates the network at
points in float64 (`codes_at`, `logits_at`, `logit_maps_at`), which is how `Regions` gets the
codes of its regions when they are asked for.

What the stages need from a layer (the rest of hashnet describes layers by their classes;
`network_steps` is the one place that turns each class into one of these):
an affine layer gives `linear(h)` on a batch of flat float64 rows and a bias vector; a
ReLU-like layer gives its negative slope; a max-pooling layer gives, for each output, the flat
indices of the inputs of its window; Flatten and Dropout (outside training) are identities.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np


@dataclass
class AffineOp:
    """x -> linear(x) + bias on a batch of flat vectors (rows)."""

    linear: object  # function (B, D_in) -> (B, D_out)
    bias: np.ndarray  # (D_out,)


@dataclass
class Step:
    """Affine `ops`, then the piecewise-linear `kind`: "relu" (arg: the negative slope) or
    "maxpool" (arg: (n_outputs, k*k) flat indices of each window's inputs).

    A ReLU step inside a residual block also *carries* values: only its first `n_coded`
    outputs are ReLU units (with boundaries and code bits); the rest are the block's input,
    passed on unchanged beside them (None: every output is a unit). `joins`: the step's bits
    belong to the same layer of the code as the previous step's (a block's two ReLUs).
    """

    ops: list
    kind: str
    arg: object
    n_coded: int | None = None
    joins: bool = False


def coded(step_or_stage, n_outputs):
    """How many of the `n_outputs` values of a ReLU step or stage are ReLU units (the rest are
    carried)."""
    n = step_or_stage.n_coded
    return n_outputs if n is None else n


def merged_sizes(items, sizes):
    """Bits per layer of the code: the sizes of the ReLU steps (or stages) `items`, those that
    join the previous one added to it."""
    out = []
    for item, size in zip(items, sizes):
        if item.joins and out:
            out[-1] += size
        else:
            out.append(size)
    return out


def push(ops, M, c):
    """Apply affine ops to the maps x(s) = s @ M[r] + c[r] of every piece r.

    M has shape (pieces, coordinates, D), c (pieces, D); returns the same for the output.
    """
    n, k, d = M.shape
    flat = M.reshape(n * k, d)
    for op in ops:
        flat = op.linear(flat)
        c = op.linear(c) + op.bias
    return flat.reshape(n, k, -1), c


def push_maps(ops, X):
    """Apply affine ops to maps X (pieces, k, D) whose last row is the constant part: the linear
    part acts on every row, the bias is added to the last. Returns (pieces, k, D_out)."""
    n, k, d = X.shape
    flat = X.reshape(n * k, d)
    for op in ops:
        flat = op.linear(flat)
        flat.reshape(n, k, -1)[:, -1] += op.bias
    return flat.reshape(n, k, -1)


def prepare_kernels(net):
    """Compile (or load) the kernels the region code will call for this network: the
    network's own, plus the image kernels in float64 for a CNN (its affine ops run on them)."""
    from hashnet import kernels

    if len(net.input_shape) == 3:
        kernels.warmup((net.dtype, "float64"), images=True)
    else:
        kernels.warmup((net.dtype,), images=False)


def network_steps(net):
    """([Step, ...], final ops): the network from its flat input to its logits.

    Each layer says what it is to the region algorithms (`layer.region_step()`, a
    `hashnet.nn.layers.RegionStep`): an affine map, a ReLU-like or max-pooling step that cuts
    the pieces, or nothing at all. A new layer type takes part by answering it.
    """
    steps, ops = [], []
    for layer in net.layers:
        part = layer.region_step()
        if part.kind == "affine":
            ops.append(AffineOp(part.linear, part.bias))
        elif part.kind in ("relu", "maxpool"):  # arg: the slope, or the pooling windows
            steps.append(Step(ops, part.kind, part.arg))
            ops = []
        elif part.kind == "residual":
            _check_block_input(steps, ops)
            steps += _residual_steps(part.arg)
        elif part.kind != "identity":
            raise ValueError(
                f"{type(layer).__name__}.region_step() says {part.kind!r}; exact regions know "
                "'affine', 'relu', 'maxpool', 'residual' and 'identity'"
            )
    return steps, ops


def _check_block_input(steps, ops):
    """A residual block's input is carried beside its inner ReLU's outputs through a ReLU
    step, which leaves it unchanged only where it is never negative: the block must take its
    input straight from a ReLU (or from a max pool right after one), as ResNets do."""
    last = steps[-1] if steps else None
    if last is not None and last.kind == "maxpool" and not last.ops and len(steps) > 1:
        last = steps[-2]
    if ops or last is None or last.kind != "relu" or last.arg != 0.0 or last.n_coded is not None:
        raise ValueError(
            "exact regions of a residual block need the block's input to come straight from a "
            "ReLU (as in hashnet's ResNets): put a ReLU right before the block"
        )


def _residual_steps(arg):
    """A residual block ReLU(F(x) + S(x)), F(x) = L2(ReLU(L1 x)), as two ReLU steps.

    The first step's affine map sends x to [L1 x, x]: its first units are the inner ReLU's,
    and x rides along (x >= 0, coming from a ReLU, so a ReLU would not change it either; the
    step simply leaves those values alone). The second step's map sends [a, x] to
    L2 a + S x, the sum, which is affine in the pair; its ReLU is the block's last.
    """
    (first, b1), (second, b2), shortcut = arg["first"], arg["second"], arg["shortcut"]
    n_in, n_mid = arg["n_in"], len(b1)

    def carry(h):
        return np.concatenate([first(h), h], axis=1)

    def join(v):
        rest = v[:, n_mid:]
        return second(v[:, :n_mid]) + (rest if shortcut is None else shortcut[0](rest))

    bias = b2 if shortcut is None else b2 + shortcut[1]
    return [
        Step([AffineOp(carry, np.concatenate([b1, np.zeros(n_in)]))], "relu", 0.0, n_mid),
        Step([AffineOp(join, bias)], "relu", 0.0, None, joins=True),
    ]


def window_pairs(windows):
    """Index arrays (first, second) of every pair of inputs within each pooling window: the
    max can only change where one of these differences changes sign."""
    k2 = windows.shape[1]
    a, b = np.triu_indices(k2, 1)
    return windows[:, a].ravel(), windows[:, b].ravel()


def pool_winners(values, windows):
    """For values (pieces, D) at one point of each piece: which input of each window wins
    (the first on ties, as MaxPool2D), as (pieces, n_outputs) flat input indices."""
    best = values[:, windows].argmax(axis=2)  # (pieces, n_outputs): position in the window
    return windows[np.arange(len(windows))[None, :], best]


def affine_blocks(net):
    """An MLP as ReLU blocks: [(W, b, alpha), ...] and the final affine map (W, b).

    Each block maps its input h to the pre-activations h @ W + b of one ReLU-like layer (all
    Dense and evaluation-mode BatchNorm layers since the previous activation, multiplied out),
    followed by the activation with negative slope alpha (0 for ReLU). Networks with image
    layers have no such matrices; use `network_steps`.
    """
    steps, final = network_steps(net)
    if any(step.kind != "relu" for step in steps):
        raise ValueError("affine_blocks describes MLPs; this network has pooling layers")
    size = int(np.prod(net.input_shape))
    blocks = []
    for step in steps + [Step(final, "end", None)]:
        d = size if not blocks else blocks[-1][0].shape[1]
        M, c = push(step.ops, np.eye(d)[None], np.zeros((1, d)))
        if step.kind == "end":
            return blocks, (M[0], c[0])
        blocks.append((M[0], c[0], step.arg))
    raise AssertionError("unreachable")


# --- the enumeration's form of the network --------------------------------------------------

ROWS_LIMIT = 15_000_000  # nonzeros of a stage's linear map kept for incremental updates
_ROWS_CACHE: OrderedDict = OrderedDict()  # fingerprint -> rows, the last few networks


@dataclass
class Stage:
    """Affine `ops` (n_in -> n_units pre-activations), then a ReLU-like activation (`relu`,
    negative slope `alpha`) and/or max pooling (`windows`: (outputs, k*k) flat indices of the
    pre-activations each output takes the maximum of; shape (0, 0) for none)."""

    ops: list
    relu: bool
    alpha: float
    windows: np.ndarray
    n_in: int
    n_units: int
    n_coded: int | None = None  # ReLU units among the pre-activations (see Step); None: all
    joins: bool = False

    @property
    def n_relu(self) -> int:
        """The ReLU units (with boundaries and code bits); values after them are carried."""
        return coded(self, self.n_units)

    @property
    def pool(self) -> bool:
        return len(self.windows) > 0

    @property
    def n_columns(self) -> int:
        """The stage's outputs: one per unit, or one per pooling window."""
        return len(self.windows) if self.pool else self.n_units

    def unit_windows(self):
        """CSR (ptr, windows) of the pooling windows that hold each unit."""
        ptr = np.zeros(self.n_units + 1, np.int64)
        if not self.pool:
            return ptr, np.zeros(0, np.int64)
        units = self.windows.ravel()
        order = np.argsort(units, kind="stable")
        np.add.at(ptr, units + 1, 1)
        owners = np.repeat(np.arange(len(self.windows)), self.windows.shape[1])
        return np.cumsum(ptr), owners[order].astype(np.int64)

    def rows(self):
        """The linear part of `ops` as a sparse matrix (CSR: ptr, index, value), row i being the
        pre-activations' response to the i-th input alone; None when it has more than
        ROWS_LIMIT nonzeros (then every piece's map is pushed through the ops in full).

        Building them means pushing every input direction through the ops (a tenth of a second
        for LeNet's second convolution), so they are kept for the last few networks seen:
        zooming into one network enumerates it many times. A network is recognised by the
        ops' response to a fixed random probe, which any change of weight alters."""
        if not hasattr(self, "_rows"):
            key = self._fingerprint()
            if key not in _ROWS_CACHE:
                _ROWS_CACHE[key] = _linear_rows(self.ops, self.n_in, self.n_units)
                while len(_ROWS_CACHE) > 4:
                    _ROWS_CACHE.popitem(last=False)
            _ROWS_CACHE.move_to_end(key)
            self._rows = _ROWS_CACHE[key]
        return self._rows

    def _fingerprint(self):
        probe = np.random.default_rng(0).normal(size=(2, self.n_in))
        response = push_maps(self.ops, probe[None])
        return (self.n_in, self.n_units, hashlib.sha256(response.tobytes()).hexdigest())


def _linear_rows(ops, n_in, n_out):
    if n_in * n_out > 50 * ROWS_LIMIT:  # too big to even look at
        return None
    ptr, index, value = [np.zeros(1, np.int64)], [], []
    chunk = max(1, 4_000_000 // max(n_out, 1))
    total = 0
    for start in range(0, n_in, chunk):
        rows = np.zeros((min(chunk, n_in - start), n_in))
        rows[np.arange(len(rows)), start + np.arange(len(rows))] = 1.0
        for op in ops:
            rows = op.linear(rows)
        nz_row, nz_col = np.nonzero(rows)
        total += len(nz_row)
        if total > ROWS_LIMIT:
            return None
        index.append(nz_col.astype(np.int64))
        value.append(rows[nz_row, nz_col])
        ptr.append(ptr[-1][-1] + np.cumsum(np.bincount(nz_row, minlength=len(rows))))
    return (
        np.concatenate(ptr).astype(np.int64),
        np.concatenate(index) if index else np.zeros(0, np.int64),
        np.concatenate(value) if value else np.zeros(0),
    )


class Program:
    """The network as stages (see the module docstring), its final affine ops (None when the
    program stops early, as `truncated` does) and the sizes of its ReLU layers' codes."""

    def __init__(self, stages, final_ops, n_in):
        self.stages = stages
        self.final_ops = final_ops
        self.n_in = n_in
        relu_stages = [s for s in stages if s.relu]
        self.code_sizes = merged_sizes(relu_stages, [s.n_relu for s in relu_stages])

    @classmethod
    def from_network(cls, net) -> Program:
        steps, final_ops = network_steps(net)
        size = int(np.prod(net.input_shape))
        stages = []
        i = 0
        while i < len(steps):
            step = steps[i]
            n_units = _out_size(step.ops, size)
            if step.kind == "relu":
                windows = np.zeros((0, 0), np.int64)
                after = steps[i + 1] if i + 1 < len(steps) else None
                if after is not None and after.kind == "maxpool" and not after.ops:
                    windows = after.arg.astype(np.int64)  # ReLU then pool: one stage
                    i += 1
                stages.append(
                    Stage(
                        step.ops,
                        True,
                        float(step.arg),
                        windows,
                        size,
                        n_units,
                        step.n_coded,
                        step.joins,
                    )
                )
            else:
                windows = step.arg.astype(np.int64)
                stages.append(Stage(step.ops, False, 1.0, windows, size, n_units))
            size = stages[-1].n_columns
            i += 1
        return cls(stages, final_ops, int(np.prod(net.input_shape)))

    def truncated(self, n_layers) -> Program:
        """The program up to its `n_layers`-th layer of the code (a ReLU stage, or both ReLU
        stages of a residual block) and the pooling right after it."""
        seen, end = 0, 0
        for i, stage in enumerate(self.stages):
            if stage.relu and not stage.joins:
                if seen == n_layers:
                    break
                seen += 1
            end = i + 1
        return Program(self.stages[:end], None, self.n_in)

    # --- evaluation at points, in float64 ----------------------------------------------------

    def _run(self, h, bits):
        for stage in self.stages:
            for op in stage.ops:
                h = op.linear(h) + op.bias
            if stage.relu:
                n = stage.n_relu  # values after the units are carried unchanged
                on = h[:, :n] > 0
                bits.append(on)
                h[:, :n] = np.where(on, h[:, :n], stage.alpha * h[:, :n])
            if stage.pool:
                h = h[:, stage.windows].max(axis=2)
        return h

    def codes_at(self, X, chunk=2048) -> np.ndarray:
        """(N, n_bits) uint8: the ReLU units' on/off pattern at the inputs X (N, n_in)."""
        out = np.empty((len(X), sum(self.code_sizes)), np.uint8)
        for start in range(0, len(X), chunk):
            bits = []
            self._run(np.ascontiguousarray(X[start : start + chunk], dtype=np.float64), bits)
            if bits:
                out[start : start + chunk] = np.hstack(bits)
        return out

    def logits_at(self, X, chunk=2048) -> np.ndarray:
        """The logits at the inputs X (N, n_in)."""
        parts = []
        for start in range(0, len(X), chunk):
            h = self._run(np.ascontiguousarray(X[start : start + chunk], dtype=np.float64), [])
            for op in self.final_ops:
                h = op.linear(h) + op.bias
            parts.append(h)
        return np.concatenate(parts) if parts else np.zeros((0, 0))

    def logit_maps_at(self, points, maps, chunk=256) -> np.ndarray:
        """(N, 3, classes): on the linear piece holding each point (x, y) of a plane whose
        inputs are x * maps[0] + y * maps[1] + maps[2], the logits as x * A[0] + y * A[1] +
        A[2]: the pieces' affine maps, from the pattern at each point."""
        out = []
        for start in range(0, len(points), chunk):
            xy = points[start : start + chunk]
            M = np.broadcast_to(maps, (len(xy), *maps.shape)).copy()
            for stage in self.stages:
                M = push_maps(stage.ops, M)
                value = xy[:, :1] * M[:, 0] + xy[:, 1:] * M[:, 1] + M[:, 2]
                if stage.relu:
                    slope = np.where(value > 0, 1.0, stage.alpha)
                    slope[:, stage.n_relu :] = 1.0  # carried values pass unchanged
                    M *= slope[:, None, :]
                    value *= slope
                if stage.pool:
                    best = value[:, stage.windows].argmax(axis=2)
                    winners = stage.windows[np.arange(len(stage.windows)), best]
                    M = np.take_along_axis(M, winners[:, None, :], axis=2)
            out.append(push_maps(self.final_ops, M))
        return np.concatenate(out) if out else np.zeros((0, 3, 0))


def _out_size(ops, size):
    for op in ops:
        size = len(op.bias)
    return size
