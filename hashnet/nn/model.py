"""Models: `Sequential` (a stack of layers with fit/predict/save) and the `MLP` builder.

The training loop is the textbook one: shuffle, cut into mini-batches, forward, loss,
backward, optimiser step. What makes it fast enough for a laptop is elsewhere: matrix
products go to BLAS, element-wise work to fused Numba kernels, and all parameters live in one
flat vector so the optimiser is one kernel call per step.
"""

from __future__ import annotations

import json
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from hashnet import kernels
from hashnet._io import atomic_path
from hashnet._validation import check_dtype, check_int, check_seed, check_X, check_y
from hashnet.nn.fitting import FitLog, check_fit_arguments, fit_streams, streams
from hashnet.nn.layers import (
    BatchNorm,
    Dense,
    Dropout,
    Layer,
    LeakyReLU,
    activation_layer,
    layer_from_config,
)
from hashnet.nn.losses import softmax, softmax_cross_entropy
from hashnet.nn.optim import make_optimizer, make_schedule

FORMAT_VERSION = 1
_PREDICT_CHUNK = 8192  # rows per forward pass outside training: bounds memory on big inputs
_CHUNK_FLOATS = 2**24  # ... and so does this: about 64 MiB of float32 per layer array


class Sequential:
    """A classifier made of layers applied in order; the last layer's outputs are the logits.

    Parameters
    ----------
    layers : list of Layer, e.g. [Dense(32), ReLU(), Dense(2)]
    input_shape : int or tuple, the shape of one example (without the batch axis)
    seed : int or None, seeds the initial weights, the shuffling and dropout
    dtype : "float32" (default, fast) or "float64" (for gradient checks)
    """

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
        init_rng, dropout_seeds = streams(self.seed, "init", len(self.layers))
        shape = self.input_shape
        floats = int(np.prod(shape))  # the most floats one example needs in a layer
        for layer, dropout_seed in zip(self.layers, dropout_seeds):
            shape = layer.build(shape, self.dtype, init_rng)
            floats = max(floats, int(np.prod(shape)) + layer.scratch_per_example)
            layer._in_model = True
            if isinstance(layer, Dropout):  # seeded even before fit (gradients(training=True))
                layer.rng = np.random.default_rng(dropout_seed)
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

    def _link_layers(self):
        """Tell layers about their neighbours so the kernels can fuse work across them."""
        for i, layer in enumerate(self.layers):
            layer.needs_input_grad = i > 0
            if isinstance(layer, LeakyReLU):
                layer.bias_from = None
        for i, layer in enumerate(self.layers):
            nxt = self.layers[i + 1] if i + 1 < len(self.layers) else None
            if isinstance(layer, Dense):
                layer.bias_in_activation = isinstance(nxt, LeakyReLU)
                if layer.bias_in_activation:
                    nxt.bias_from = layer

    def _flatten_params(self):
        """Move every parameter into one flat vector (and every gradient into another), leaving
        the layers with views. Decayed weights come first, so the optimiser's kernel applies
        the L2 penalty to entries [0, n_decay) only."""
        entries = [(layer, name) for layer in self.layers for name in layer.params]
        entries.sort(key=lambda e: e[1] not in e[0].decay)  # stable: layer order kept
        sizes = [e[0].params[e[1]].size for e in entries]
        self._flat_params = np.empty(sum(sizes), self.dtype)
        self._flat_grads = np.zeros(sum(sizes), self.dtype)
        self._n_decay = sum(s for (layer, name), s in zip(entries, sizes) if name in layer.decay)
        start = 0
        for (layer, name), size in zip(entries, sizes):
            shape = layer.params[name].shape
            view = self._flat_params[start : start + size].reshape(shape)
            view[...] = layer.params[name]
            layer.params[name] = view
            layer.grads[name] = self._flat_grads[start : start + size].reshape(shape)
            start += size

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

    def _warmup(self, verbose=True):
        """Compile (or load) the kernels this model uses, announcing it the first time."""
        kernels.warmup((self.dtype,), verbose=verbose, images=len(self.input_shape) == 3)

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
            GPU "cuda" raises hashnet.gpu.CUDAUnavailableError saying what is missing

        Calling fit again continues from the current weights (like Keras, unlike
        scikit-learn) with a fresh optimiser state, new history_ and checkpoints_, and epochs
        counted from 1 again; build a new model to start over.

        Fills `history_` (lists per epoch: epoch, loss, acc, lr, time, and val_loss, val_acc
        with validation data; loss and acc are averages over the epoch's batches, measured
        while the weights were changing) and returns self.
        """
        _check_device(device)
        X, y, validation_data, epochs, batch_size, patience, checkpoints = check_fit_arguments(
            self, X, y, validation_data, epochs, batch_size, patience, checkpoints
        )
        schedule = make_schedule(lr_schedule)
        opt = make_optimizer(optimizer, lr, momentum, nesterov, weight_decay)

        def start_log(stacklevel=3):  # resets history_ and takes the epoch-0 checkpoint
            has_validation = validation_data is not None
            log_args = (checkpoints, checkpoint_dir, patience, min_delta, verbose, has_validation)
            return FitLog(self, epochs, *log_args, stacklevel=stacklevel)

        if device == "cuda":
            from hashnet.gpu.train import fit as fit_on_gpu

            return fit_on_gpu(
                self,
                X,
                y,
                validation_data,
                epochs,
                batch_size,
                opt,
                schedule,
                shuffle,
                start_log,
                verbose,
            )
        opt.bind(self.n_params, self.dtype)
        base_lr = opt.lr
        self._warmup(verbose=verbose > 0)
        shuffle_rng = fit_streams(self)
        log = start_log()
        validate = None if validation_data is None else lambda: self.evaluate(*validation_data)
        n = X.shape[0]
        for epoch in range(epochs):
            start_time = time.perf_counter()
            opt.lr = base_lr * schedule(epoch)
            order = shuffle_rng.permutation(n) if shuffle else None
            loss_sum, correct = 0.0, 0
            for start in range(0, n, batch_size):
                if order is None:
                    xb, yb = X[start : start + batch_size], y[start : start + batch_size]
                else:
                    idx = order[start : start + batch_size]
                    xb, yb = X[idx], y[idx]
                logits = self._forward(xb, training=True)
                loss, batch_correct, dlogits = softmax_cross_entropy(logits, yb)
                self._backward(dlogits)
                opt.step(self._flat_params, self._flat_grads, self._n_decay)
                loss_sum += loss * xb.shape[0]
                correct += batch_correct
            seconds = time.perf_counter() - start_time
            if log.end_epoch(epoch + 1, loss_sum / n, correct / n, opt.lr, seconds, validate):
                break
        return self

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
        loss_sum, correct = 0.0, 0
        for chunk, labels in zip(self._chunks(X), self._chunks(y)):
            loss, batch_correct, _ = softmax_cross_entropy(self._forward(chunk), labels)
            loss_sum += loss * chunk.shape[0]
            correct += batch_correct
        return loss_sum / X.shape[0], correct / X.shape[0]

    def codes(self, X, layers=None, device="cpu"):
        """The activation codes of X: a `hashnet.codes.Codes` with one bit per ReLU-like unit
        (1 where its pre-activation is > 0), layers concatenated in order, bit-packed.

        layers: None for all ReLU-like layers, or their indices (0 = the first ReLU layer).
        Computed in chunks, so memory stays bounded for any number of examples.
        device: "cpu" or "cuda" (the forward pass and the packing on the GPU).
        """
        from hashnet.codes import compute_codes

        return compute_codes(self, X, layers, device=device)

    # --- weights, gradients, checkpoints ---------------------------------------------------

    def _named_params(self):
        return [(layer, name) for layer in self.layers for name in layer.params]

    def _state_arrays(self):
        return [layer.state[name] for layer in self.layers for name in layer.state]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the parameters in layer order (Dense: W (in, out), b; BatchNorm: gamma,
        beta)."""
        return [layer.params[name].copy() for layer, name in self._named_params()]

    def set_weights(self, weights) -> None:
        """Load parameters given in the order and shapes of `get_weights()`; every entry must
        be a finite real number. Nothing changes unless every array passes."""
        self._assign(weights)

    def _assign(self, weights, states=None, allow_nonfinite=False):
        """Check, then copy in, the parameters and (when given) the state arrays (batch-norm
        statistics). A ValueError or TypeError names the first array that is wrong.

        allow_nonfinite lets NaN/inf through: only for restoring a diverged model on purpose.
        """
        named = self._named_params()
        weights = list(weights)
        if len(weights) != len(named):
            raise ValueError(
                f"expected {len(named)} arrays (see get_weights()), got {len(weights)}"
            )
        slots = [
            (layer, name, "weight", i, w)
            for i, ((layer, name), w) in enumerate(zip(named, weights))
        ]
        if states is not None:
            state_slots = [(layer, name) for layer in self.layers for name in layer.state]
            states = list(states)
            if len(states) != len(state_slots):
                raise ValueError(
                    f"expected {len(state_slots)} state arrays (batch-norm statistics), got "
                    f"{len(states)}"
                )
            slots += [
                (layer, name, "state", i, s)
                for i, ((layer, name), s) in enumerate(zip(state_slots, states))
            ]
        checked = []
        for layer, name, kind, i, value in slots:
            label = f"{kind} {i} ({type(layer).__name__}.{name})"
            target = (layer.params if kind == "weight" else layer.state)[name]
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
            return load(snapshot)
        model = _from_config(self._config())
        model._assign(snapshot[0], snapshot[1], allow_nonfinite=True)
        if not model.is_finite():
            warnings.warn(_diverged_warning(f"the checkpoint of epoch {epoch}"), RuntimeWarning, 2)
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

    def save(self, path) -> Path:
        """Save architecture, weights and batch-norm statistics to an .npz file (no pickle).

        The file is written under a temporary name and renamed, so an interrupted save never
        leaves half a file. A model whose training diverged (NaN or infinite weights) is saved
        too, marked as diverged, so that a run's last checkpoint can still be inspected;
        `hashnet.load` reads it back with a warning. Returns the path.
        """
        path = Path(path)
        arrays = {
            "format_version": np.array(FORMAT_VERSION),
            "config": np.array(json.dumps(self._config())),
            "diverged": np.array(not self.is_finite()),
        }
        for i, w in enumerate(self.get_weights()):
            arrays[f"weight_{i}"] = w
        for i, s in enumerate(self._state_arrays()):
            arrays[f"state_{i}"] = s
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **arrays)
        return path

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


def _from_config(config):
    if config.get("class") == "MLP":
        return MLP(**config["mlp"])
    layers = [layer_from_config(name, cfg) for name, cfg in config["layers"]]
    model_class = Sequential
    if config.get("class") == "CNN":
        from hashnet.nn.cnn import CNN as model_class
    return model_class(layers, config["input_shape"], seed=config["seed"], dtype=config["dtype"])


def load(path):
    """Load a model saved with `save` (architecture, weights and batch-norm statistics).

    Every array is checked before the model is used: a file that is not a hashnet model, or
    one whose weights or statistics are damaged (wrong shapes, NaN, a negative variance), is a
    ValueError naming the file. A model saved after its training diverged loads with a
    RuntimeWarning.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")

    def refuse(problem):
        return ValueError(f"{path} is not a readable hashnet model file: {problem}")

    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        # np.load reports a file that is not an .npz as "pickled data": say what it means here.
        raise refuse(exc) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise refuse("it holds a single array (.npy), not a model archive (.npz)")
    try:
        with archive as f:
            for key in ("format_version", "config"):
                if key not in f.files:
                    raise refuse(f"no {key!r} entry")
            version = f["format_version"]
            if version.shape != () or not np.issubdtype(version.dtype, np.integer):
                raise refuse(f"format_version must be one integer, got {version!r}")
            version = int(version)
            if version != FORMAT_VERSION:
                raise ValueError(
                    f"{path} has model format version {version}; this hashnet reads version "
                    f"{FORMAT_VERSION}"
                )
            config = json.loads(str(f["config"]))
            if not isinstance(config, dict):
                raise refuse(f"its config is a JSON {type(config).__name__}, not an object")
            weights = [f[f"weight_{i}"] for i in range(sum(k.startswith("weight_") for k in f))]
            states = [f[f"state_{i}"] for i in range(sum(k.startswith("state_") for k in f))]
            flag = f["diverged"] if "diverged" in f.files else np.array(False)
            diverged = flag.shape == () and bool(flag)
    except (OSError, KeyError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as exc:
        raise refuse(exc) from None
    try:
        model = _from_config(config)
        model._assign(weights, states, allow_nonfinite=diverged)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise refuse(exc) from None
    if diverged:
        warnings.warn(_diverged_warning(str(path)), RuntimeWarning, 2)
    return model


def _diverged_warning(what):
    return (
        f"{what} holds a model whose training diverged: some weights are NaN or infinite, so "
        "its predictions and codes mean nothing"
    )


def _check_device(device):
    """ValueError for an unknown device; for "cuda" without a usable GPU, a
    hashnet.gpu.CUDAUnavailableError (a RuntimeError) that says what is missing."""
    from hashnet.gpu import check_device

    check_device(device)
