"""Models: `Sequential` (a stack of layers with fit/predict/save) and the `MLP` builder.

The training loop is the textbook one (`hashnet.nn.fitting.train`), the same on the CPU and on
a GPU. What makes it fast enough for a laptop is elsewhere: matrix products go to BLAS,
element-wise work to fused Numba kernels, and all parameters live in one flat vector so the
optimiser is one kernel call per step. On a GPU, the flat vector is copied to the device for
the fit and the layers compute on views into that copy (`_placed_on`).
"""

from __future__ import annotations

import contextlib
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from hashnet._validation import check_dtype, check_int, check_seed, check_X, check_y
from hashnet.kernels.backend import CPU, backend
from hashnet.nn import saving
from hashnet.nn.codes import compute_codes, packing_pass
from hashnet.nn.fitting import evaluate, plan_fit, streams, train
from hashnet.nn.layers import BatchNorm, Dense, Dropout, Layer, activation_layer
from hashnet.nn.losses import softmax, softmax_cross_entropy
from hashnet.nn.optim import make_optimizer, make_schedule
from hashnet.nn.saving import load  # noqa: F401 (hashnet.nn.model.load, its old home)

_PREDICT_CHUNK = 8192  # rows per forward pass outside training: bounds memory on big inputs
_CHUNK_FLOATS = 2**24  # ... and so does this: about 64 MiB of float32 per layer array


@saving.register_model
class Sequential:
    """A classifier made of layers applied in order; the last layer's outputs are the logits.

    Parameters
    ----------
    layers : list of Layer, e.g. [Dense(32), ReLU(), Dense(2)]
    input_shape : int or tuple, the shape of one example (without the batch axis)
    seed : int or None, seeds the initial weights, the shuffling and dropout
    dtype : "float32" (default, fast) or "float64" (for gradient checks)
    """

    _placement = None  # the model's arrays on a device, while a GPU fit or codes pass runs

    def __init__(self, layers, input_shape, seed=0, dtype="float32"):
        self.layers = list(layers)
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise TypeError("layers must be a non-empty list of hashnet Layer objects")
        if len({id(layer) for layer in self.layers}) < len(self.layers):
            raise ValueError(
                "a layer object appears twice; each position needs its own layer "
                "(write ReLU() again rather than reusing one ReLU object)"
            )
        if any(getattr(layer, "_in_model", False) for layer in self.layers):
            raise ValueError(
                "a layer already belongs to another model (it holds that model's weights); "
                "build new layer objects for each model"
            )
        sizes = np.atleast_1d(np.asarray(input_shape, dtype=object)).tolist()
        self.input_shape = tuple(check_int(d, "each size of input_shape", 1) for d in sizes)
        if not self.input_shape:
            raise ValueError(f"input_shape must be positive sizes, got {input_shape}")
        self.seed = check_seed(seed)
        self.dtype = check_dtype(dtype)
        init_rng, layer_seeds = streams(self.seed, "init", len(self.layers))
        shape = self.input_shape
        floats = int(np.prod(shape))  # the most floats one example needs in a layer
        for layer, layer_seed in zip(self.layers, layer_seeds):
            shape = layer.setup(shape, self.dtype, init_rng)
            floats = max(floats, int(np.prod(shape)) + layer.scratch_per_example)
            layer._in_model = True
            layer.reseed(layer_seed)  # dropout: seeded even before fit (gradients(training=True))
        if len(shape) != 1 or shape[0] < 2:
            raise ValueError(f"the last layer must output one logit per class (>= 2), got {shape}")
        self.n_classes = shape[0]
        # Examples per forward pass outside training: bounded so that a layer's arrays stay
        # near _CHUNK_FLOATS numbers (images need far more memory per example than flat rows).
        self._chunk_rows = int(np.clip(_CHUNK_FLOATS // floats, 1, _PREDICT_CHUNK))
        self._link_layers()
        self._flatten_params()
        self._n_fits = 0
        self.history_: dict = {}
        self.checkpoints_: dict = {}

    # --- construction --------------------------------------------------------------------

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        saving.register_model(cls)  # files name the model class; load finds it here

    def _link_layers(self):
        """Tell layers about their neighbours so the kernels can fuse work across them."""
        previous = None
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = i > 0
            layer.link(previous)
            previous = layer

    def _flatten_params(self):
        """Move every parameter into one flat vector (and every gradient into another), leaving
        the layers with views. Decayed weights come first, so the optimiser's kernel applies
        the L2 penalty to entries [0, n_decay) only.

        The model keeps where each array sits (`_slots`) and the host arrays themselves, which
        get_weights, save and the checkpoints read even while a GPU fit has the layers
        computing on device copies."""
        entries = [(layer, name) for layer in self.layers for name in layer.params]
        entries.sort(key=lambda e: e[1] not in e[0].decay)  # stable: layer order kept
        sizes = [e[0].params[e[1]].size for e in entries]
        self._flat_params = np.empty(sum(sizes), self.dtype)
        self._flat_grads = np.zeros(sum(sizes), self.dtype)
        self._n_decay = sum(s for (layer, name), s in zip(entries, sizes) if name in layer.decay)
        self._slots = {}
        start = 0
        for (layer, name), size in zip(entries, sizes):
            shape = layer.params[name].shape
            view = self._flat_params[start : start + size].reshape(shape)
            view[...] = layer.params[name]
            layer.params[name] = view
            layer.grads[name] = self._flat_grads[start : start + size].reshape(shape)
            self._slots[id(layer), name] = (start, size, shape)
            start += size
        for layer in self.layers:  # a block of layers hands the views on to its parts
            layer.place(CPU, layer.params, layer.grads, layer.state)
        # The host arrays, in layer order (the order of get_weights and of the saved states).
        self._host_params = [
            (layer, name, layer.params[name]) for layer, name in self._named_params()
        ]
        self._host_state = [
            (layer, name, layer.state[name]) for layer in self.layers for name in layer.state
        ]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        return self._flat_params.size

    # --- forward and backward ------------------------------------------------------------

    def _forward(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def _backward(self, dlogits):
        grad = dlogits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)

    def _check_X(self, X, name="X"):
        ndim = 1 + len(self.input_shape)
        if len(self.input_shape) == 3 and np.ndim(X) == 2:
            raise ValueError(
                f"{name} has shape {np.shape(X)}, but this network takes images of shape (N, "
                f"{', '.join(map(str, self.input_shape))}) (NCHW); load images with "
                "hn.datasets.load(name, flatten=False) or reshape the rows"
            )
        return check_X(X, self.input_shape, self.dtype, name=name, ndim=ndim)

    def _warmup(self, verbose=True, ops=CPU):
        """Compile (or load) the kernels this model uses on `ops`, announcing it the first time.

        Runs every pass the model can make (training forward and backward on two examples,
        evaluation, code packing, both optimisers) once on zeros: Numba compiles a kernel
        the first time it meets new argument types, so this prepares exactly this network's
        kernels and nothing else. The layers' state (batch-norm statistics, dropout's
        generators) is restored afterwards. Once per process for each kind of network.
        """
        key = (ops.name, np.dtype(self.dtype).name, *(layer.kernel_key() for layer in self.layers))
        if key in _WARMED:
            return
        start = time.perf_counter()
        if verbose:
            print(ops.warmup_message, end="", file=sys.stderr, flush=True)
        saved = [layer.save_state() for layer in self.layers]
        try:
            _exercise(self, ops)
        finally:
            for layer, state in zip(self.layers, saved):
                layer.restore_state(state)
        _WARMED.add(key)
        if verbose:
            print(f" done in {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def _placed_on(self, ops):
        """Inside the block the layers compute on the backend `ops`.

        On the CPU nothing moves. On a GPU the flat parameter vector and the state arrays are
        copied to the device, a device gradient vector is made, and every layer gets views
        into them (`Layer.place`); the block gets an object with `params`, `grads` and
        `sync()`, which copies the device's weights and statistics into the host arrays. On
        leaving (also by an exception) the weights come home and the layers return to the CPU.
        """
        if ops is CPU or self._placement is not None:
            yield self._placement or _HostPlacement(self)
            return
        placement = _DevicePlacement(self, ops)
        self._placement = placement
        try:
            yield placement
        finally:
            self._placement = None
            placement.release()

    def _chunks(self, X):
        for start in range(0, X.shape[0], self._chunk_rows):
            yield X[start : start + self._chunk_rows]

    # --- training ------------------------------------------------------------------------

    def fit(
        self,
        X,
        y,
        epochs=10,
        batch_size=64,
        optimizer="adam",
        lr=1e-3,
        momentum=0.9,
        nesterov=False,
        weight_decay=0.0,
        lr_schedule=None,
        patience=None,
        min_delta=0.0,
        shuffle=True,
        checkpoints=(),
        checkpoint_dir=None,
        validation_data=None,
        verbose=1,
        device="cpu",
        augment=None,
    ):
        """Train with mini-batch gradient descent on the mean softmax cross-entropy.

        Parameters
        ----------
        X, y : training examples (N, *input_shape) and labels in [0, n_classes)
        epochs, batch_size : passes over the data and examples per gradient step
        optimizer : "adam" (default), "sgd" (with `momentum`, `nesterov`) or an optimiser
        lr, weight_decay : learning rate; L2 penalty on weight matrices
        lr_schedule : None (constant), "step" (the study's lr * 0.1 ** (epoch // 20)) or a
            callable epoch -> multiplier
        patience, min_delta : stop early when the training loss has not dropped by more than
            min_delta for `patience` epochs in a row (None: never stop early)
        shuffle : new seeded order of the examples every epoch
        checkpoints : epochs after which to snapshot the weights, e.g. (0, 1, 3, 10); epoch 0
            is the initial network. Kept in memory, or saved as epoch_NNNN.npz files in
            `checkpoint_dir`; get one back with `net.checkpoint(epoch)`
        validation_data : optional (X_val, y_val) evaluated after every epoch
        verbose : 1 prints one line per epoch, 0 is silent
        device : "cpu", or "cuda" to train on an NVIDIA GPU (same batches, same history_, same
            checkpoints; results agree to float32 rounding; see docs/gpu.md). Without a usable
            GPU "cuda" raises hashnet.device.CUDAUnavailableError saying what is missing
        augment : None, "study" or a `hashnet.nn.augment.Augment`: for networks on images,
            a new random turn, shift and mirror of every training image in every mini-batch
            ("study": Augment.study(), the study's Keras setting: up to 15 degrees, 10 % of
            the size, mirrored half of the time). Drawn from a generator of its own, seeded
            from the model's seed like the shuffling, which it leaves unchanged

        Calling fit again continues from the current weights (like Keras, unlike
        scikit-learn) with a fresh optimiser state, new history_ and checkpoints_, and epochs
        counted from 1 again; build a new model to start over.

        Fills `history_` (lists per epoch: epoch, loss, acc, lr, time, and val_loss, val_acc
        with validation data; loss and acc are averages over the epoch's batches, measured
        while the weights were changing) and returns self.
        """
        ops = backend(device)  # a bad name or a missing GPU fails here, before any work
        plan = plan_fit(
            self,
            X,
            y,
            validation_data,
            epochs,
            batch_size,
            patience,
            checkpoints,
            optimizer=make_optimizer(optimizer, lr, momentum, nesterov, weight_decay),
            schedule=make_schedule(lr_schedule),
            shuffle=bool(shuffle),
            checkpoint_dir=checkpoint_dir,
            min_delta=min_delta,
            verbose=verbose,
            augment=augment,
        )
        return train(self, ops, plan)

    # --- prediction ----------------------------------------------------------------------

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (N, n_classes), in evaluation mode."""
        X = self._check_X(X)
        self._warmup()
        return np.concatenate([softmax(self._forward(c)) for c in self._chunks(X)])

    def predict(self, X) -> np.ndarray:
        """Predicted class of each example (argmax of the logits)."""
        X = self._check_X(X)
        self._warmup()
        return np.concatenate([self._forward(c).argmax(axis=1) for c in self._chunks(X)])

    def score(self, X, y) -> float:
        """Accuracy: the fraction of examples whose predicted class is y."""
        X = self._check_X(X)
        y = check_y(y, X.shape[0], self.n_classes)
        return float(np.mean(self.predict(X) == y))

    def evaluate(self, X, y):
        """(mean cross-entropy, accuracy) on (X, y), in evaluation mode."""
        X = self._check_X(X)
        y = check_y(y, X.shape[0], self.n_classes)
        self._warmup()
        return evaluate(self, CPU, X, y)

    def codes(self, X, layers=None, device="cpu"):
        """The activation codes of X: a `hashnet.codes.Codes` with one bit per ReLU-like unit
        (1 where its pre-activation is > 0), layers concatenated in order, bit-packed.

        layers: None for all ReLU-like layers, or their indices (0 = the first ReLU layer).
        Computed in chunks, so memory stays bounded for any number of examples.
        device: "cpu" or "cuda" (the forward pass and the packing on the GPU).
        """
        return compute_codes(self, X, layers, device=device)

    # --- weights, gradients, checkpoints ---------------------------------------------------

    def _named_params(self):
        return [(layer, name) for layer in self.layers for name in layer.params]

    def _state_arrays(self):
        """The state arrays on the host (batch-norm statistics), in layer order."""
        return [array for _, _, array in self._host_state]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in layer order (Dense: W (in, out), b; BatchNorm: gamma,
        beta)."""
        return [array.copy() for _, _, array in self._host_params]

    def set_weights(self, weights) -> None:
        """Load parameters given in the order and shapes of `get_weights()`; every entry must
        be a finite real number. Nothing changes unless every array passes."""
        self._assign(weights)

    def _assign(self, weights, states=None, allow_nonfinite=False):
        """Check, then copy in, the parameters and (when given) the state arrays (batch-norm
        statistics). A ValueError or TypeError names the first array that is wrong.

        allow_nonfinite lets NaN/inf through: only for restoring a diverged model on purpose.
        """
        named = [(layer, name) for layer, name, _ in self._host_params]
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(
                f"expected {len(named)} arrays (see get_weights()), got {len(weights)}"
            )
        slots = [
            (layer, name, "weight", i, w, target)
            for i, ((layer, name, target), w) in enumerate(zip(self._host_params, weights))
        ]
        if states is not None:
            state_slots = [(layer, name) for layer, name, _ in self._host_state]
            states = list(states)
            if len(states) != len(state_slots):
                raise ValueError(
                    f"expected {len(state_slots)} state arrays (batch-norm statistics), got "
                    f"{len(states)}"
                )
            slots += [
                (layer, name, "state", i, s, target)
                for i, ((layer, name, target), s) in enumerate(zip(self._host_state, states))
            ]
        checked = []
        for layer, name, kind, i, value, target in slots:
            label = f"{kind} {i} ({type(layer).__name__}.{name})"
            value = np.asarray(value)
            if not (np.issubdtype(value.dtype, np.number) and np.isrealobj(value)):
                raise TypeError(f"{label} must hold real numbers, got dtype {value.dtype}")
            if value.shape != target.shape:
                raise ValueError(f"{label} has shape {value.shape}, expected {target.shape}")
            if not (allow_nonfinite or np.isfinite(value).all()):
                raise ValueError(f"{label} is not finite")
            problem = layer.check_state(name, value) if kind == "state" else None
            if problem:
                raise ValueError(f"{label}: {problem}")
            checked.append((target, value))
        for target, value in checked:
            target[...] = value

    def is_finite(self) -> bool:
        """False when some weight or statistic is NaN or infinite (a diverged training)."""
        arrays = [self._flat_params, *self._state_arrays()]
        return all(np.isfinite(a).all() for a in arrays)

    def gradients(self, X, y, training=False) -> list[np.ndarray]:
        """d(mean cross-entropy)/d(parameters) on (X, y), in the layout of `get_weights()`.

        No weight-decay term. By default in evaluation mode (batch norm with running
        statistics, no dropout), which is deterministic; training=True uses batch statistics
        and dropout, as a training step would, without changing the running statistics.
        """
        X = self._check_X(X)
        y = check_y(y, X.shape[0], self.n_classes)
        self._warmup()
        saved_state = [s.copy() for s in self._state_arrays()]
        _, _, dlogits = softmax_cross_entropy(self._forward(X, training), y)
        self._backward(dlogits)
        for s, saved in zip(self._state_arrays(), saved_state):
            s[...] = saved
        return [layer.grads[name].copy() for layer, name in self._named_params()]

    def _take_checkpoint(self, epoch, folder):
        if folder is None:
            snapshot = self.get_weights(), [s.copy() for s in self._state_arrays()]
            self.checkpoints_[epoch] = snapshot
        else:
            self.checkpoints_[epoch] = self.save(Path(folder) / f"epoch_{epoch:04d}.npz")

    def checkpoint(self, epoch):
        """A new model holding the weights snapshotted after `epoch` epochs of the last fit.

        A snapshot taken after the training diverged comes back with a RuntimeWarning (its
        weights are NaN or infinite, so its predictions mean nothing)."""
        if epoch not in self.checkpoints_:
            raise ValueError(f"no checkpoint for epoch {epoch}; have {sorted(self.checkpoints_)}")
        snapshot = self.checkpoints_[epoch]
        if isinstance(snapshot, Path):
            return saving.load(snapshot)
        model = saving.model_from_config(self._config())
        model._assign(snapshot[0], snapshot[1], allow_nonfinite=True)
        if not model.is_finite():
            warning = saving.diverged_warning(f"the checkpoint of epoch {epoch}")
            warnings.warn(warning, RuntimeWarning, 2)
        return model

    # --- saving --------------------------------------------------------------------------

    def _config(self) -> dict:
        return {
            "class": "Sequential",
            "input_shape": list(self.input_shape),
            "seed": self.seed,
            "dtype": np.dtype(self.dtype).name,
            "layers": [[type(layer).__name__, layer.config()] for layer in self.layers],
        }

    @classmethod
    def from_config(cls, config):
        """A new model (fresh weights) from `_config()`: its layers rebuilt by class name."""
        layers = saving.layers_from_config(config)
        return cls(layers, config["input_shape"], seed=config["seed"], dtype=config["dtype"])

    def save(self, path) -> Path:
        """Save architecture, weights and batch-norm statistics to an .npz file (no pickle).

        The file is written under a temporary name and renamed, so an interrupted save never
        leaves half a file. A model whose training diverged (NaN or infinite weights) is saved
        too, marked as diverged, so that a run's last checkpoint can still be inspected;
        `hashnet.load` reads it back with a warning. Returns the path.
        """
        return saving.save(self, path)

    def __repr__(self):
        inner = ", ".join(repr(layer) for layer in self.layers)
        return f"Sequential([{inner}], input_shape={self.input_shape})"


class MLP(Sequential):
    """A multilayer perceptron: [Dense -> (BatchNorm) -> ReLU -> (Dropout)] per hidden layer,
    then a Dense layer giving the logits.

    Give the hidden sizes directly, `hidden=(32, 32)`, or use the study's convention of a total
    `width` split evenly over `depth` layers: `width=100, depth=2` is `hidden=(50, 50)`.

    activation : "relu" or "leaky_relu" (slope `alpha` for negative inputs, default 0.01)
    batchnorm : insert batch normalisation before each activation
    dropout : dropout rate after each activation (0 = none)
    """

    def __init__(
        self,
        input_dim,
        hidden=None,
        n_classes=None,
        activation="relu",
        batchnorm=False,
        dropout=0.0,
        seed=0,
        dtype="float32",
        width=None,
        depth=None,
        alpha=0.01,
    ):
        if n_classes is None:
            raise ValueError("n_classes is required (the number of classes, >= 2)")
        seed = check_seed(seed)
        if width is not None:
            if hidden is not None:
                raise ValueError("give either hidden=(...) or width/depth, not both")
            hidden = split_width(width, 1 if depth is None else depth)
        elif depth is not None:
            raise ValueError("depth needs width (the total number of hidden units)")
        hidden = (100,) if hidden is None else hidden
        hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        hidden = tuple(check_int(h, "each hidden layer size", 1) for h in hidden)
        input_dim = check_int(input_dim, "input_dim", 1)
        n_classes = check_int(n_classes, "n_classes", 2)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a rate in [0, 1), got {dropout}")
        activation_layer(activation, alpha)  # a bad name fails here, even with no hidden layer
        self._kwargs = dict(
            input_dim=input_dim,
            hidden=list(hidden),
            n_classes=n_classes,
            activation=activation,
            batchnorm=bool(batchnorm),
            dropout=float(dropout),
            seed=seed,
            dtype=np.dtype(check_dtype(dtype)).name,
            alpha=float(alpha),
        )
        layers = []
        for units in hidden:
            layers.append(Dense(units))
            if batchnorm:
                layers.append(BatchNorm())
            layers.append(activation_layer(activation, alpha))
            if dropout > 0:
                layers.append(Dropout(dropout))
        layers.append(Dense(n_classes))
        super().__init__(layers, (input_dim,), seed=seed, dtype=dtype)
        self.hidden = tuple(hidden)

    def _config(self):
        return {**super()._config(), "class": "MLP", "mlp": self._kwargs}

    @classmethod
    def from_config(cls, config):
        return cls(**config["mlp"])  # the same recipe, so the same layers

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"MLP({args})"


def split_width(width, depth):
    """Split a total of `width` hidden units evenly over `depth` layers, the study's convention
    (any remainder goes to the first layers): split_width(100, 3) == (34, 33, 33)."""
    depth = check_int(depth, "depth", 1)
    width = check_int(width, "width", 1)
    if width < depth:
        raise ValueError(
            f"need width >= depth (at least one unit per layer), got width={width}, depth={depth}"
        )
    return tuple(width // depth + (i < width % depth) for i in range(depth))


# --- placing a model on a device, and preparing its kernels ------------------------------------

_WARMED: set = set()  # the kinds of network (per backend and dtype) prepared in this process


class _HostPlacement:
    """The CPU: the layers already compute on the host arrays; nothing to copy."""

    def __init__(self, net):
        self.params, self.grads = net._flat_params, net._flat_grads

    def sync(self):
        pass


class _DevicePlacement:
    """The model's flat parameter and gradient vectors and its state arrays on a device, with
    every layer computing on views into them until `release`."""

    def __init__(self, net, ops):
        self.net, self.ops = net, ops
        self.params = ops.to_device(net._flat_params)
        self.grads = ops.zeros(net._flat_grads.shape, net.dtype)
        self.state = [(array, ops.to_device(array)) for _, _, array in net._host_state]
        device_state = {id(host): device for host, device in self.state}
        self.host = [(layer, layer.params, layer.grads, layer.state) for layer in net.layers]
        try:
            for layer in net.layers:
                layer.place(
                    ops,
                    {name: self._view(self.params, layer, name) for name in layer.params},
                    {name: self._view(self.grads, layer, name) for name in layer.grads},
                    {name: device_state[id(a)] for name, a in layer.state.items()},
                )
        except BaseException:
            self._back_to_host()
            raise

    def _view(self, flat, layer, name):
        start, size, shape = self.net._slots[id(layer), name]
        return flat[start : start + size].reshape(shape)

    def sync(self):
        """Copy the device's weights and statistics into the model's host arrays."""
        self.ops.to_host(self.params, out=self.net._flat_params)
        for host, device in self.state:
            self.ops.to_host(device, out=host)

    def release(self):
        try:
            self.sync()
        finally:
            self._back_to_host()

    def _back_to_host(self):
        for layer, params, grads, state in self.host:
            layer.place(CPU, params, grads, state)


def _exercise(net, ops):
    """Every pass `net` can make, once, on zeros (see Sequential._warmup)."""
    dtype = np.dtype(net.dtype)
    x = ops.zeros((2, *net.input_shape), dtype)
    y = ops.zeros((2,), np.int64)
    row_loss, row_correct = ops.empty(2, np.float64), ops.empty(2, np.int32)
    for training in (True, False):
        logits = net._forward(x, training=training)
        dlogits = ops.empty(logits.shape, dtype)
        ops.softmax_xent_rows(logits, y, dlogits, row_loss, row_correct)
        net._backward(dlogits)
    if ops is CPU:
        softmax(net._forward(x))  # predict_proba and the gradient checks run on the CPU
        softmax_cross_entropy(ops.to_host(logits), np.zeros(2, np.int64))
    coded = [i for i, layer in enumerate(net.layers) if layer.has_code]
    if coded:
        # Every layer packs from bit 0, into words wide enough for the widest of them.
        widest = max(net.layers[i].code_size for i in coded)
        words = ops.zeros((2, (widest + 63) // 64), np.uint64)
        packing_pass(net.layers[: coded[-1] + 1], x, dict.fromkeys(coded, 0), words)
    p = ops.zeros((1,), dtype)
    ops.sgd_step(p, p, p, 0.0, 0.9, False, 0.0, 0)
    ops.adam_step(p, p, p, p, 0.0, 0.9, 0.999, 1e-8, 1, 0.0, 0)
    ops.synchronize()
