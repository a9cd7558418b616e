"""Layers: the one abstraction of the trainer.

A layer turns a batch `x` into `forward(x)` and, given the gradient of the loss with respect to
its output, returns the gradient with respect to its input from `backward(dy)`, filling
`grads[name]` for each of its `params[name]` on the way (the chain rule, one layer at a time).

Batches are 2D arrays (examples, features). The arithmetic around the matrix products runs in
the Numba kernels of `hashnet.kernels.cpu`; `hashnet.kernels.reference` shows the same
arithmetic in plain NumPy.
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_int, check_random_state
from hashnet.kernels import cpu as K


class Layer:
    """Base class. Subclasses set `params`/`grads` in `build` and implement forward/backward.

    params  trainable arrays, by name (Sequential later swaps them for views into one flat
            vector, so one optimiser call updates the whole model)
    grads   arrays of the same shapes, filled by `backward`
    decay   names of the params that get the L2 penalty (weight matrices, not biases)
    state   non-trainable arrays saved with the model (batch-norm running statistics)
    """

    decay: tuple[str, ...] = ()
    # Floats of working memory per example beyond the output (a convolution's im2col matrix);
    # the model uses it to choose how many examples to push through at once.
    scratch_per_example = 0
    # Set to False by Sequential for the first layer: nobody needs the gradient w.r.t. the data.
    needs_input_grad = True

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.state: dict[str, np.ndarray] = {}

    def build(self, input_shape: tuple, dtype, rng) -> tuple:
        """Create the parameters for inputs of `input_shape`; return the output shape."""
        return input_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        raise NotImplementedError

    def config(self) -> dict:
        """The constructor arguments, so a saved model can be rebuilt."""
        return {}

    def check_state(self, name: str, value: np.ndarray) -> str | None:
        """What is wrong with `value` as this layer's state `name` beyond its shape and
        finiteness (which the model checks), or None. Loading a model asks its layers."""
        return None

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: z = x @ W + b, with W of shape (inputs, units).

    Weights start He-uniform, W ~ U(-sqrt(6 / inputs), +sqrt(6 / inputs)), which keeps the
    variance of ReLU activations roughly constant from layer to layer; biases start at zero.

    Inside a Sequential, when an activation comes right after this layer, the activation adds
    b in its own kernel (one pass over memory instead of two); `forward` then returns x @ W
    alone. A Dense layer on its own, or followed by anything else, adds b itself.
    """

    decay = ("W",)

    def __init__(self, units: int):
        super().__init__()
        self.units = check_int(units, "Dense units", 1)
        # When Sequential puts an activation right after this layer, the activation adds our
        # bias inside its own kernel (one pass over memory instead of two).
        self.bias_in_activation = False

    def build(self, input_shape, dtype, rng):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects flat inputs (features,), got shape {input_shape}")
        fan_in = input_shape[0]
        limit = np.sqrt(6.0 / fan_in)
        # Draw in float64 and round, so float32 and float64 models start from the same weights.
        self.params = {
            "W": rng.uniform(-limit, limit, (fan_in, self.units)).astype(dtype),
            "b": np.zeros(self.units, dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        return (self.units,)

    def forward(self, x, training=False):
        self._x = x
        z = x @ self.params["W"]
        if not self.bias_in_activation:
            K.add_bias(z, self.params["b"])
        return z

    def backward(self, dz):
        # dL/dW = x^T dz (summed over the batch by the product), dL/dx = dz W^T.
        np.dot(self._x.T, dz, out=self.grads["W"])
        if not self.bias_in_activation:
            K.column_sum(dz, self.grads["b"])
        return dz @ self.params["W"].T if self.needs_input_grad else None

    def config(self):
        return {"units": self.units}


class LeakyReLU(Layer):
    """f(z) = z if z > 0 else alpha * z. Records the activation pattern `mask` (z > 0).

    The mask of the last forward pass is what hashnet calls the layer's neural code: one bit per
    unit, 1 where the unit is on. With alpha = 0 this is the ReLU. When the layer before is a
    Dense layer (linked by Sequential), its bias is added here first: z + b is the
    pre-activation.
    """

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        alpha = float(alpha)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.bias_from: Dense | None = None  # the Dense whose bias we add (set by Sequential)

    def forward(self, z, training=False):
        # Any shape works: images (N, C, H, W) are seen as rows of C*H*W units.
        shape = z.shape
        z = z.reshape(shape[0], -1)
        out = np.empty_like(z)
        self.mask = np.empty(z.shape, np.uint8)
        if self.bias_from is None:
            K.act_forward(z, self.alpha, out, self.mask)
        else:
            K.bias_act_forward(z, self.bias_from.params["b"], self.alpha, out, self.mask)
        return out.reshape(shape)

    def backward(self, dy):
        shape = dy.shape
        dy = dy.reshape(shape[0], -1)
        dz = np.empty_like(dy)
        if self.bias_from is None:
            K.act_backward(dy, self.mask, self.alpha, dz)
        else:
            K.act_backward_bias(dy, self.mask, self.alpha, dz, self.bias_from.grads["b"])
        return dz.reshape(shape)

    def config(self):
        return {"alpha": self.alpha}


class ReLU(LeakyReLU):
    """f(z) = max(z, 0): the rectifier whose on/off pattern carves input space into regions."""

    def __init__(self):
        super().__init__(alpha=0.0)

    def config(self):
        return {}


def activation_layer(name: str, alpha: float = 0.01) -> LeakyReLU:
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
        x = x.reshape(shape[0], shape[1], -1)  # (batch, channels, positions), a view
        out = np.empty_like(x)
        gamma, beta = self.params["gamma"], self.params["beta"]
        self._training = training
        if not training:
            running_mean, running_var = self.state["running_mean"], self.state["running_var"]
            K.batchnorm_forward_eval(x, gamma, beta, running_mean, running_var, self.eps, out)
            self._x = x
            return out.reshape(shape)
        m = x.shape[1]
        self._xhat = np.empty_like(x)
        mean, self._var = np.empty(m, x.dtype), np.empty(m, x.dtype)
        K.batchnorm_forward_train(x, gamma, beta, self.eps, out, self._xhat, mean, self._var)
        count = x.shape[0] * x.shape[2]  # values behind each channel's statistics
        if count == 1:
            # One value has no spread: its variance 0 would drag running_var towards 0
            # (a last batch of one happens whenever N % batch_size == 1). Skip the update.
            return out.reshape(shape)
        unbiased = self._var * (count / (count - 1))
        for name, batch_value in (("running_mean", mean), ("running_var", unbiased)):
            running = self.state[name]
            running *= 1.0 - self.momentum
            running += self.momentum * batch_value
        return out.reshape(shape)

    def backward(self, dy):
        shape = dy.shape
        dy = dy.reshape(shape[0], shape[1], -1)
        if not self._training:
            # Evaluation mode is a fixed affine map per channel: x -> gamma * xhat + beta.
            inv_std = 1.0 / np.sqrt(self.state["running_var"] + self.eps)
            xhat = (self._x - self.state["running_mean"][:, None]) * inv_std[:, None]
            self.grads["gamma"][...] = (dy * xhat).sum(axis=(0, 2))
            self.grads["beta"][...] = dy.sum(axis=(0, 2))
            return (dy * (self.params["gamma"] * inv_std)[:, None]).reshape(shape)
        dx = np.empty_like(dy)
        K.batchnorm_backward(
            dy,
            self._xhat,
            self.params["gamma"],
            self._var,
            self.eps,
            dx,
            self.grads["gamma"],
            self.grads["beta"],
        )
        return dx.reshape(shape)

    def check_state(self, name, value):
        if name == "running_var" and value.min() < 0:
            return "a variance is negative"
        return None

    def config(self):
        return {"momentum": self.momentum, "eps": self.eps}


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability `rate` and scale the rest
    by 1 / (1 - rate), so evaluation needs no rescaling and is the identity.

    The random draws come from `self.rng` (Sequential seeds it from the model's seed).
    """

    def __init__(self, rate: float = 0.5, seed=None):
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.rng = check_random_state(seed)

    def forward(self, x, training=False):
        self._training = training and self.rate > 0
        if not self._training:
            return x
        shape = x.shape
        x = x.reshape(shape[0], -1)  # images: every pixel of every channel is a unit
        out = np.empty_like(x)
        self.mask = np.empty(x.shape, np.uint8)
        K.dropout_forward(x, self.rng.random(x.shape, x.dtype), self.rate, out, self.mask)
        return out.reshape(shape)

    def backward(self, dy):
        if not self._training:
            return dy
        shape = dy.shape
        dy = dy.reshape(shape[0], -1)
        dx = np.empty_like(dy)
        K.dropout_backward(dy, self.mask, self.rate, dx)
        return dx.reshape(shape)

    def config(self):
        return {"rate": self.rate}


LAYERS = {cls.__name__: cls for cls in (Dense, ReLU, LeakyReLU, BatchNorm, Dropout)}


def layer_from_config(name: str, config: dict) -> Layer:
    """Rebuild a layer from its class name and `config()` (used by `hashnet.load`)."""
    from hashnet.nn.conv import IMAGE_LAYERS

    known = {**LAYERS, **IMAGE_LAYERS}
    if name not in known:
        raise ValueError(f"unknown layer type {name!r}; known: {sorted(known)}")
    return known[name](**config)
