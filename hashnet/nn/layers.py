"""Layers: the one abstraction of the trainer.

A layer turns a batch `x` into `forward(x)` and, given the gradient of the loss with respect to
its output, returns the gradient with respect to its input from `backward(dy)`, filling
`grads[name]` for each of its `params[name]` on the way (the chain rule, one layer at a time).

A layer type is known in one place: its class. Everything else asks the class or the layer:

* saving and loading: `config()` gives the constructor arguments, and every class joins
  `LAYER_TYPES` (by name) when it is defined, so `hashnet.load` rebuilds it from its name;
* the shapes it accepts: `input_rank` (1: flat rows, 3: images (C, H, W), None: any);
* the device: the arithmetic goes through `self.ops`, a backend
  (`hashnet.kernels.backend`) whose kernels have the same names on the CPU and on a GPU, so the
  same `forward`/`backward` run on both;
* neural codes: a layer with `has_code = True` contributes one bit per output unit
  (`forward_and_pack`);
* exact linear regions: `region_step()` says what the layer is to the region algorithms (an
  affine map, a ReLU-like step, a max-pooling step, or nothing at all).

Adding a layer type is writing one subclass (plus its kernels and their NumPy twins in
`hashnet.kernels`) and its tests. Batches are (examples, features) arrays, or NCHW images for
the image layers (`hashnet.nn.conv`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hashnet._validation import check_int, check_random_state
from hashnet.kernels.backend import CPU

# Every concrete layer class, by name: filled by Layer.__init_subclass__ as classes are defined.
LAYER_TYPES: dict[str, type] = {}


@dataclass
class RegionStep:
    """What a layer is to the exact-region algorithms (`hashnet.regions`).

    On every piece of input space the network is affine until a piecewise-linear layer splits
    the piece. `kind` says which a layer is:

    "affine"    x -> linear(x) + bias on flat float64 rows (Dense, Conv2D, AvgPool2D,
                GlobalAvgPool2D, BatchNorm with its running statistics); `linear` maps a
                (B, D_in) array to (B, D_out), `bias` is (D_out,)
    "relu"      a ReLU-like step, one boundary per unit where its input is 0; `arg` is the
                negative slope alpha
    "maxpool"   one boundary per pair of inputs of a window, where the two are equal; `arg`
                holds, for each output (NCHW order), the flat indices of its window's inputs
    "identity"  nothing happens to the values (Flatten, Dropout outside training)
    "residual"  a residual block (hashnet.nn.residual): `arg` holds its affine parts
    """

    kind: str
    linear: Callable | None = None
    bias: np.ndarray | None = None
    arg: object = None


def rows(x):
    """A batch viewed as rows, (N, ...) -> (N, prod(...)); works for device arrays too."""
    return x if x.ndim == 2 else x.reshape(x.shape[0], math.prod(x.shape[1:]))


class Layer:
    """Base class. Subclasses set `params`/`grads` in `build` and implement forward/backward.

    params  trainable arrays, by name (Sequential later swaps them for views into one flat
            vector, so one optimiser call updates the whole model)
    grads   arrays of the same shapes, filled by `backward`
    decay   names of the params that get the L2 penalty (weight matrices, not biases)
    state   non-trainable arrays saved with the model (batch-norm running statistics)
    ops     the backend the arithmetic runs on (the CPU's, or a GPU's during a GPU fit)
    cache   what the forward pass keeps for the backward pass

    A subclass joins LAYER_TYPES under its class name, so saved models can name it; pass
    `abstract=True` in the class statement for a base class that is not a layer type itself.
    """

    decay: tuple[str, ...] = ()
    # 1: flat inputs (features,); 3: images (channels, height, width); None: any shape.
    input_rank: int | None = None
    # True for layers whose on/off pattern is part of the network's neural code.
    has_code = False
    # Floats of working memory per example beyond the output (a convolution's im2col matrix);
    # the model uses it to choose how many examples to push through at once.
    scratch_per_example = 0
    # Set to False by Sequential for the first layer: nobody needs the gradient w.r.t. the data.
    needs_input_grad = True
    ops = CPU

    def __init_subclass__(cls, abstract=False, **kwargs):
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        known = LAYER_TYPES.get(cls.__name__)
        if (
            known is not None
            and known.__module__.startswith("hashnet.")
            and (known.__module__, known.__qualname__) != (cls.__module__, cls.__qualname__)
        ):
            raise TypeError(
                f"hashnet has a layer type named {cls.__name__!r} ({known.__module__}); saved "
                "models name their layers by class name, so give this one another name"
            )
        # Otherwise the latest class of a name is the one `load` rebuilds (a notebook cell run
        # again defines its class again).
        LAYER_TYPES[cls.__name__] = cls

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}
        self.cache: dict = {}
        self._buffers: dict = {}

    # --- building ------------------------------------------------------------------------

    def setup(self, input_shape: tuple, dtype, rng) -> tuple:
        """Check the input shape against `input_rank`, build, and remember both shapes and the
        dtype. Sequential calls this; subclasses write `build`."""
        input_shape = tuple(input_shape)
        if self.input_rank == 3 and len(input_shape) != 3:
            raise ValueError(
                f"{type(self).__name__} expects images (channels, height, width), got input "
                f"shape {input_shape}; put it before any Flatten or Dense layer"
            )
        if self.input_rank == 1 and len(input_shape) != 1:
            raise ValueError(
                f"{type(self).__name__} expects flat inputs (features,), got shape "
                f"{input_shape}; put a Flatten or GlobalAvgPool2D layer before it"
            )
        self.dtype = np.dtype(dtype)
        self.input_shape = input_shape
        self.output_shape = tuple(int(d) for d in self.build(input_shape, dtype, rng))
        return self.output_shape

    def build(self, input_shape: tuple, dtype, rng) -> tuple:
        """Create the parameters for inputs of `input_shape`; return the output shape."""
        return input_shape

    def link(self, previous) -> None:
        """Called by Sequential with the layer before this one (None for the first layer), so
        that neighbours can fuse work (an activation adding the Dense layer's bias)."""

    def lend_bias(self) -> bool:
        """Whether the next layer may add this layer's bias "b" itself (and does from now)."""
        return False

    def reseed(self, seed) -> None:
        """Seed the layer's own random draws (Dropout); layers without any ignore it."""

    # --- computing -----------------------------------------------------------------------

    def forward(self, x, training: bool = False):
        raise NotImplementedError

    def backward(self, dy):
        raise NotImplementedError

    def buffer(self, name, shape, dtype):
        """An output or scratch array from the backend (fresh on the CPU, reused on a GPU)."""
        return self.ops.scratch(self._buffers, name, shape, dtype)

    def place(self, ops, params, grads, state) -> None:
        """Compute on `ops` from now on, with these arrays (views into the model's flat vectors
        on that device). Forgets what earlier passes kept."""
        self.ops, self.params, self.grads, self.state = ops, params, grads, state
        self.cache, self._buffers = {}, {}

    @property
    def code_size(self) -> int:
        """Bits this layer adds to the neural code: one per output unit of a ReLU-like layer
        (`has_code`), none for the others."""
        return math.prod(self.output_shape) if self.has_code else 0

    def kernel_key(self) -> tuple:
        """What decides which kernels (and argument types) this layer's passes use: networks
        with the same keys are prepared once (see Sequential._warmup)."""
        return (type(self).__name__, self.needs_input_grad)

    def save_state(self):
        """Copies of what a pass may change besides scratch (state arrays; Dropout adds its
        generator), for `restore_state`: a warm-up pass leaves the layer as it found it."""
        return {name: self.ops.copy(value) for name, value in self.state.items()}

    def restore_state(self, saved) -> None:
        for name, value in saved.items():
            self.ops.copy_into(self.state[name], value)

    # --- what other parts of hashnet ask ---------------------------------------------------

    def config(self) -> dict:
        """The constructor arguments, so a saved model can be rebuilt."""
        return {}

    def check_state(self, name: str, value: np.ndarray) -> str | None:
        """What is wrong with `value` as this layer's state `name` beyond its shape and
        finiteness (which the model checks), or None. Loading a model asks its layers."""
        return None

    def region_step(self) -> RegionStep:
        """What this layer is to the exact-region algorithms (see RegionStep), from its current
        weights; float64 throughout."""
        raise ValueError(
            "exact regions support Dense, Conv2D, ReLU/LeakyReLU, BatchNorm, MaxPool2D, "
            "AvgPool2D, GlobalAvgPool2D, Flatten and Dropout layers (any layer whose "
            f"region_step says it is affine or piecewise linear), not {type(self).__name__}"
        )

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


def layer_from_config(name: str, config: dict) -> Layer:
    """Rebuild a layer from its class name and `config()` (used by `hashnet.load`)."""
    if name not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {name!r}; known: {sorted(LAYER_TYPES)}")
    return LAYER_TYPES[name](**config)


class Dense(Layer):
    """Fully connected layer: z = x @ W + b, with W of shape (inputs, units).

    Weights start He-uniform, W ~ U(-sqrt(6 / inputs), +sqrt(6 / inputs)), which keeps the
    variance of ReLU activations roughly constant from layer to layer; biases start at zero.

    Inside a Sequential, when an activation comes right after this layer, the activation adds
    b in its own kernel (one pass over memory instead of two); `forward` then returns x @ W
    alone. A Dense layer on its own, or followed by anything else, adds b itself.
    """

    decay = ("W",)
    input_rank = 1

    def __init__(self, units: int):
        super().__init__()
        self.units = check_int(units, "Dense units", 1)
        self.bias_in_activation = False  # set by lend_bias when an activation follows

    def build(self, input_shape, dtype, rng):
        fan_in = input_shape[0]
        limit = np.sqrt(6.0 / fan_in)
        # Draw in float64 and round, so float32 and float64 models start from the same weights.
        self.params = {
            "W": rng.uniform(-limit, limit, (fan_in, self.units)).astype(dtype),
            "b": np.zeros(self.units, dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return (self.units,)

    def link(self, previous):
        self.bias_in_activation = False  # until the next layer asks for the bias

    def lend_bias(self):
        self.bias_in_activation = True
        return True

    def forward(self, x, training=False):
        self.cache["x"] = x
        z = self.ops.scratch(self._buffers, "z", (x.shape[0], self.units), x.dtype)
        self.ops.matmul(x, self.params["W"], z)
        if not self.bias_in_activation:
            self.ops.add_bias(z, self.params["b"])
        return z

    def backward(self, dz):
        # dL/dW = x^T dz (summed over the batch by the product), dL/dx = dz W^T.
        x = self.cache["x"]
        self.ops.matmul(x, dz, self.grads["W"], trans_a=True)
        if not self.bias_in_activation:
            self.ops.column_sum(dz, self.grads["b"])
        if not self.needs_input_grad:
            return None
        dx = self.ops.scratch(self._buffers, "dx", x.shape, dz.dtype)
        self.ops.matmul(dz, self.params["W"], dx, trans_b=True)
        return dx

    def kernel_key(self):
        return (*super().kernel_key(), self.bias_in_activation)

    def config(self):
        return {"units": self.units}

    def region_step(self):
        W, b = (self.params[k].astype(np.float64) for k in ("W", "b"))
        return RegionStep("affine", lambda h: h @ W, b)


class Rectifier(Layer, abstract=True):
    """The ReLU-like activations: f(z) = z where z > 0, alpha * z elsewhere.

    The on/off pattern of the last forward pass, `mask` (z > 0), is what hashnet calls the
    layer's neural code: one bit per unit, 1 where the unit is on. The slope alpha of the off
    side is 0 for the ReLU and small (0.01) for the leaky ReLU. When the layer before is a
    Dense layer (linked by Sequential), its bias is added here first: z + b is the
    pre-activation. Any input shape works: images (N, C, H, W) are rows of C*H*W units.
    """

    has_code = True

    def __init__(self, alpha: float):
        super().__init__()
        alpha = float(alpha)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.bias_from: Dense | None = None  # the layer whose bias we add (set by link)
        self.mask = None

    def link(self, previous):
        self.bias_from = previous if previous is not None and previous.lend_bias() else None

    def place(self, ops, params, grads, state):
        super().place(ops, params, grads, state)
        self.mask = None

    def forward(self, z, training=False):
        flat = rows(z)
        out = self.ops.scratch(self._buffers, "out", flat.shape, z.dtype)
        self.mask = self.ops.scratch(self._buffers, "mask", flat.shape, np.uint8)
        if self.bias_from is None:
            self.ops.act_forward(flat, self.alpha, out, self.mask)
        else:
            b = self.bias_from.params["b"]
            self.ops.bias_act_forward(flat, b, self.alpha, out, self.mask)
        return out if z.ndim == 2 else out.reshape(z.shape)

    def forward_and_pack(self, z, words, offset):
        """The forward pass of evaluation, writing the sign bits into packed codes instead of a
        mask: bit offset + j of row i of `words` (see hashnet.codes for the layout)."""
        flat = rows(z)
        out = self.ops.scratch(self._buffers, "out", flat.shape, z.dtype)
        if self.bias_from is None:
            self.ops.act_pack(flat, self.alpha, out, words, offset)
        else:
            b = self.bias_from.params["b"]
            self.ops.bias_act_pack(flat, b, self.alpha, out, words, offset)
        return out if z.ndim == 2 else out.reshape(z.shape)

    def backward(self, dy):
        flat = rows(dy)
        dz = self.ops.scratch(self._buffers, "dz", flat.shape, dy.dtype)
        if self.bias_from is None:
            self.ops.act_backward(flat, self.mask, self.alpha, dz)
        else:
            db = self.bias_from.grads["b"]
            self.ops.act_backward_bias(flat, self.mask, self.alpha, dz, db)
        return dz if dy.ndim == 2 else dz.reshape(dy.shape)

    def kernel_key(self):
        return (*super().kernel_key(), self.bias_from is None)

    def region_step(self):
        return RegionStep("relu", arg=self.alpha)


class ReLU(Rectifier):
    """f(z) = max(z, 0): the rectifier whose on/off pattern carves input space into regions."""

    def __init__(self):
        super().__init__(alpha=0.0)


class LeakyReLU(Rectifier):
    """f(z) = z if z > 0 else alpha * z: off units still pass a little signal and gradient."""

    def __init__(self, alpha: float = 0.01):
        super().__init__(alpha)

    def config(self):
        return {"alpha": self.alpha}


def activation_layer(name: str, alpha: float = 0.01) -> Rectifier:
    """A new activation layer by name: "relu", or "leaky_relu" with negative slope alpha."""
    if name == "relu":
        return ReLU()
    if name == "leaky_relu":
        return LeakyReLU(alpha)
    raise ValueError(f"activation must be 'relu' or 'leaky_relu', got {name!r}")


class BatchNorm(Layer):
    """Batch normalisation of each feature, or of each channel of an image batch.

    Flat inputs (batch, features): every feature is normalised on its own. Images (N, C, H, W):
    every channel is, with statistics taken over the batch and all positions, so a channel
    keeps one gamma and one beta (as convolutions share their weights over positions).

    Training: normalise with the batch's mean and variance, then scale by gamma and shift by
    beta; keep exponential running averages of the statistics (`momentum` is the weight of the
    new batch, variance unbiased, as in PyTorch). Evaluation: use the running statistics, which
    makes the layer a fixed affine map (so it does not change the linear regions' shape).
    """

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.momentum, self.eps = float(momentum), float(eps)

    def build(self, input_shape, dtype, rng):
        if len(input_shape) not in (1, 3):
            raise ValueError(
                "BatchNorm expects flat inputs (features,) or images (channels, height, "
                f"width), got shape {input_shape}"
            )
        m = input_shape[0]
        self.params = {"gamma": np.ones(m, dtype), "beta": np.zeros(m, dtype)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.state = {"running_mean": np.zeros(m, dtype), "running_var": np.ones(m, dtype)}
        return input_shape

    def forward(self, x, training=False):
        shape = x.shape
        # (batch, channels, positions), a view: a Dense output (n, m) is (n, m, 1)
        x = x.reshape(shape[0], shape[1], math.prod(shape[2:]))
        ops, m = self.ops, shape[1]
        out = self.buffer("out", x.shape, x.dtype)
        gamma, beta = self.params["gamma"], self.params["beta"]
        running_mean, running_var = self.state["running_mean"], self.state["running_var"]
        self.cache["training"] = training
        if not training:
            ops.batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, self.eps, out)
            self.cache["x"] = x
            return out.reshape(shape)
        # Kept for the backward pass (stored at once: the previous batch's can go).
        self.cache["xhat"] = xhat = self.buffer("xhat", x.shape, x.dtype)
        self.cache["var"] = var = self.buffer("var", (m,), x.dtype)
        mean = self.buffer("mean", (m,), x.dtype)
        ops.batchnorm_forward_train(x, gamma, beta, self.eps, out, xhat, mean, var)
        count = x.shape[0] * x.shape[2]  # values behind each channel's statistics
        # One value has no spread: its variance 0 would drag running_var towards 0 (a last
        # batch of one happens whenever N % batch_size == 1). Skip the update then.
        if count > 1:
            ops.batchnorm_update_running(running_mean, running_var, mean, var, self.momentum, count)
        return out.reshape(shape)

    def backward(self, dy):
        shape = dy.shape
        dy = dy.reshape(shape[0], shape[1], math.prod(shape[2:]))
        dx = self.buffer("dx", dy.shape, dy.dtype)
        gamma, dgamma, dbeta = self.params["gamma"], self.grads["gamma"], self.grads["beta"]
        if self.cache["training"]:
            xhat, var = self.cache["xhat"], self.cache["var"]
            self.ops.batchnorm_backward(dy, xhat, gamma, var, self.eps, dx, dgamma, dbeta)
        else:
            # Evaluation mode is a fixed affine map per channel: x -> gamma * xhat + beta.
            mean, var = self.state["running_mean"], self.state["running_var"]
            self.ops.batchnorm_backward_eval(
                dy, self.cache["x"], gamma, mean, var, self.eps, dx, dgamma, dbeta
            )
        return dx.reshape(shape)

    def check_state(self, name, value):
        if name == "running_var" and value.min() < 0:
            return "a variance is negative"
        return None

    def config(self):
        return {"momentum": self.momentum, "eps": self.eps}

    def region_step(self):
        scale = self.params["gamma"] / np.sqrt(self.state["running_var"] + self.eps)
        shift = self.params["beta"] - self.state["running_mean"] * scale
        positions = math.prod(self.input_shape[1:])  # 1 for flat inputs: one value per feature
        scale = np.repeat(scale.astype(np.float64), positions)
        shift = np.repeat(shift.astype(np.float64), positions)
        return RegionStep("affine", lambda h: h * scale, shift)


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability `rate` and scale the rest
    by 1 / (1 - rate), so evaluation needs no rescaling and is the identity.

    The random draws come from `self.rng` (Sequential seeds it from the model's seed). They are
    made on the host even when the network runs on a GPU, so both drop the same units.
    """

    def __init__(self, rate: float = 0.5, seed=None):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = check_random_state(seed)

    def reseed(self, seed):
        self.rng = np.random.default_rng(seed)

    def place(self, ops, params, grads, state):
        super().place(ops, params, grads, state)
        self.mask = None

    def forward(self, x, training=False):
        self.cache["active"] = active = training and self.rate > 0
        if not active:
            return x
        flat = rows(x)  # images: every pixel of every channel is a unit
        u = self.ops.upload(self.rng.random(flat.shape, flat.dtype), self._buffers, "u")
        out = self.buffer("out", flat.shape, flat.dtype)
        self.mask = self.buffer("mask", flat.shape, np.uint8)
        self.ops.dropout_forward(flat, u, self.rate, out, self.mask)
        return out.reshape(x.shape)

    def backward(self, dy):
        if not self.cache["active"]:
            return dy
        flat = rows(dy)
        dx = self.buffer("dx", flat.shape, flat.dtype)
        self.ops.dropout_backward(flat, self.mask, self.rate, dx)
        return dx.reshape(dy.shape)

    def save_state(self):
        return self.rng.bit_generator.state

    def restore_state(self, saved):
        self.rng.bit_generator.state = saved

    def config(self):
        return {"rate": self.rate}

    def region_step(self):
        return RegionStep("identity")  # the identity outside training
