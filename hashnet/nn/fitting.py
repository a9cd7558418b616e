"""The training loop, the one both devices run, and its bookkeeping.

`train(net, ops, plan)` is the textbook loop: shuffle, cut into mini-batches, forward, loss,
backward, optimiser step. It is written once; `ops` (a backend, `hashnet.kernels.backend`)
decides where the numbers live. On the CPU the data, the weights and every array are NumPy
arrays. On a GPU, X and y are copied to the device once per fit, the weights are the model's
flat vector copied there (the layers compute on views into it), every batch is gathered there
from the epoch's permutation, and each example's loss and correctness stay there until the
epoch ends, so the host waits for the device once per epoch. The weights come back to the
host at every checkpoint and when training ends (also when it is interrupted), so predict and
save work as after a CPU fit.

Around the loop: `plan_fit` checks fit's arguments into a `FitPlan`, `fit_streams` gives the
seeded generators of a fit, and `FitLog` keeps `history_`, prints the epoch lines, takes the
checkpoints and decides when to stop (a diverged loss, or no progress for `patience` epochs).

Data augmentation (`augment`, a `hashnet.nn.augment.Augment`) changes every mini-batch of
images on the host, after it is gathered and before the forward pass, with its own generator:
turning it on leaves the order of the examples and the dropout masks as they were. On a GPU the
data set then stays on the host; each augmented batch is copied to the device.

Results on a GPU agree with the CPU to float32 rounding, not bit for bit: the GPU adds up the
matrix products in a different order than BLAS does, and those tiny differences grow slowly as
training goes on.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from hashnet._validation import check_int, check_y
from hashnet.nn.augment import make_augment


def check_checkpoints(checkpoints, epochs):
    if checkpoints is None:
        checkpoints = ()
    checkpoints = {check_int(e, "checkpoint epoch", 0) for e in np.atleast_1d(checkpoints).tolist()}
    late = sorted(e for e in checkpoints if e > epochs)
    if late:
        raise ValueError(f"checkpoint epochs {late} are beyond epochs={epochs}")
    return checkpoints


@dataclass
class FitPlan:
    """The checked arguments of one fit (see Sequential.fit for their meaning)."""

    X: np.ndarray
    y: np.ndarray
    validation: tuple | None
    epochs: int
    batch_size: int
    optimizer: object
    schedule: object
    shuffle: bool
    checkpoints: set
    checkpoint_dir: object
    patience: int | None
    min_delta: float
    verbose: int
    augment: object = None  # an Augment, or None


def plan_fit(
    net, X, y, validation_data, epochs, batch_size, patience, checkpoints, augment=None, **rest
):
    """Check the arguments of fit; returns a FitPlan (`rest`: the other fields, as given)."""
    augment = make_augment(augment)
    if augment is not None and len(net.input_shape) != 3:
        raise ValueError(
            f"augment turns and shifts images, but this network takes inputs of shape "
            f"{net.input_shape}, not images (channels, height, width); use augment=None"
        )
    X = net._check_X(X)
    y = check_y(y, X.shape[0], net.n_classes)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (X_val, y_val)")
        Xv = net._check_X(validation_data[0], "X_val")
        validation_data = Xv, check_y(validation_data[1], Xv.shape[0], net.n_classes, "y_val")
    epochs = check_int(epochs, "epochs", 0)
    batch_size = check_int(batch_size, "batch_size", 1)
    if patience is not None:
        patience = check_int(patience, "patience", 1)
    return FitPlan(
        X=X,
        y=y,
        validation=validation_data,
        epochs=epochs,
        batch_size=batch_size,
        patience=patience,
        checkpoints=check_checkpoints(checkpoints, epochs),
        augment=augment,
        **rest,
    )


def streams(seed, purpose, n):
    """A generator and n child seeds for one `purpose`, all derived from the model's seed
    (fresh entropy when the seed is None)."""
    if seed is None:
        seq = np.random.SeedSequence()
    else:
        seq = np.random.SeedSequence([seed, *purpose.encode()])
    first, *rest = seq.spawn(n + 1)
    return np.random.default_rng(first), rest


def fit_streams(net):
    """The shuffling and the augmentation generators of the next fit, with every Dropout
    layer seeded: derived from the seed and the number of earlier fits, so the same seed gives
    the same run, bit for bit. Augmentation has a stream of its own, so turning it on or off
    leaves the shuffling and the dropout masks as they were."""
    shuffle_rng, layer_seeds = streams(net.seed, f"fit {net._n_fits}", len(net.layers))
    for layer, seed in zip(net.layers, layer_seeds):
        layer.reseed(seed)
    augment_rng, _ = streams(net.seed, f"augment {net._n_fits}", 0)
    net._n_fits += 1
    return shuffle_rng, augment_rng


class FitLog:
    """history_, epoch lines, checkpoints and stopping rules of one fit of `net`.

    Creating it resets net.history_, net.checkpoints_ and net.stopped_early_ and takes the
    epoch-0 checkpoint when asked. `end_epoch` records one epoch and says whether to stop.
    """

    def __init__(self, net, plan, stacklevel=3):
        self.net, self.epochs, self.verbose = net, plan.epochs, plan.verbose
        self.stacklevel = stacklevel  # of the divergence warning: it points at fit's caller
        self.checkpoints, self.checkpoint_dir = plan.checkpoints, plan.checkpoint_dir
        self.patience, self.min_delta = plan.patience, plan.min_delta
        self.best_loss, self.stale = math.inf, 0
        history = {"epoch": [], "loss": [], "acc": [], "lr": [], "time": []}
        if plan.validation is not None:
            history.update(val_loss=[], val_acc=[])
        net.history_, net.checkpoints_, net.stopped_early_ = history, {}, False
        if 0 in self.checkpoints:
            net._take_checkpoint(0, self.checkpoint_dir)

    def end_epoch(self, epoch, loss, acc, lr, seconds, validate=None, sync=None) -> bool:
        """Record epoch `epoch` (1-based) and return True when training should stop.

        validate: a function giving (val_loss, val_acc); sync: a function that brings the
        weights to the host before a checkpoint (a no-op on the CPU).
        """
        history = self.net.history_
        for key, value in (("epoch", epoch), ("loss", loss), ("acc", acc), ("lr", lr)):
            history[key].append(value)
        history["time"].append(seconds)
        if validate is not None:
            val_loss, val_acc = validate()
            history["val_loss"].append(val_loss)
            history["val_acc"].append(val_acc)
        if self.verbose:
            print(epoch_line(history, self.epochs), flush=True)
        if epoch in self.checkpoints:
            if sync is not None:
                sync()
            self.net._take_checkpoint(epoch, self.checkpoint_dir)
        if not math.isfinite(loss):
            warnings.warn(
                f"training diverged (loss {loss}) in epoch {epoch}; stopping. "
                "Try a smaller learning rate.",
                RuntimeWarning,
                stacklevel=self.stacklevel,
            )
            return True
        if self.patience is None:
            return False
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.stale = loss, 0
            return False
        self.stale += 1
        if self.stale < self.patience:
            return False
        self.net.stopped_early_ = True
        if self.verbose:
            print(f"stopping early: no progress for {self.patience} epochs")
        return True


def epoch_line(history, epochs):
    line = (
        f"epoch {history['epoch'][-1]}/{epochs}  loss {history['loss'][-1]:.3f}  "
        f"acc {100 * history['acc'][-1]:.1f}%"
    )
    if "val_loss" in history:
        val_acc = 100 * history["val_acc"][-1]
        line += f"  val_loss {history['val_loss'][-1]:.3f}  val_acc {val_acc:.1f}%"
    return line + f"  {history['time'][-1]:.1f}s"


# --- the loop --------------------------------------------------------------------------------


def train(net, ops, plan):
    """Train `net` as `plan` says, computing with the backend `ops`; returns net."""
    opt, n, batch_size = plan.optimizer, plan.X.shape[0], plan.batch_size
    base_lr = opt.lr
    with net._placed_on(ops) as placed:
        net._warmup(verbose=plan.verbose > 0, ops=ops)
        opt.bind(net.n_params, net.dtype, ops)
        # Generators derived from the seed and the number of earlier fits: the same seed gives
        # the same batches (and dropout masks) on either device.
        shuffle_rng, augment_rng = fit_streams(net)
        log = FitLog(net, plan, stacklevel=4)  # warnings point at the caller of fit
        augment = plan.augment
        if augment is not None:
            augment.apply(plan.X[:1], np.random.default_rng(0))  # compiles (or loads) its kernel
        # Augmented batches are made on the host from host data, then copied to the device.
        X = plan.X if augment is not None else ops.to_device(plan.X)
        y = ops.to_device(plan.y)
        validate = None
        if plan.validation is not None:
            X_val, y_val = (ops.to_device(a) for a in plan.validation)

            def validate():
                return evaluate(net, ops, X_val, y_val)

        row_loss, row_correct = ops.empty(n, np.float64), ops.empty(n, np.int32)
        store: dict = {}  # the loop's reusable device buffers (nothing on the CPU)
        for epoch in range(plan.epochs):
            start_time = time.perf_counter()
            opt.lr = base_lr * plan.schedule(epoch)
            order = None
            if plan.shuffle:
                permutation = shuffle_rng.permutation(n)
                order = ops.upload(permutation, store, "order")
            for start in range(0, n, batch_size):
                stop = min(start + batch_size, n)
                if order is None:
                    xb, yb = X[start:stop], y[start:stop]
                else:
                    index = order[start:stop]
                    if augment is None:
                        xb = ops.take_rows(X, index, store, "x")
                    else:  # X is on the host, and so is the permutation
                        xb = X[permutation[start:stop]]
                    yb = ops.take_rows(y, index, store, "y")
                if augment is not None:
                    xb = ops.upload(augment.apply(xb, augment_rng), store, "x")
                logits = net._forward(xb, training=True)
                dlogits = ops.scratch(store, "dlogits", logits.shape, logits.dtype)
                rows = slice(start, stop)
                ops.softmax_xent_rows(logits, yb, dlogits, row_loss[rows], row_correct[rows])
                net._backward(dlogits)
                opt.step(placed.params, placed.grads, net._n_decay)
            # Reading the per-example numbers back waits for the epoch's last kernel.
            loss = float(ops.to_host(row_loss).sum()) / n
            accuracy = int(ops.to_host(row_correct).sum()) / n
            seconds = time.perf_counter() - start_time
            if log.end_epoch(epoch + 1, loss, accuracy, opt.lr, seconds, validate, placed.sync):
                break
    return net


def evaluate(net, ops, X, y):
    """(mean cross-entropy, accuracy) of X and y (arrays on the backend's device), in
    evaluation mode, `net._chunk_rows` examples at a time."""
    n = X.shape[0]
    store: dict = {}
    row_loss = ops.scratch(store, "loss", (n,), np.float64)
    row_correct = ops.scratch(store, "correct", (n,), np.int32)
    for start in range(0, n, net._chunk_rows):
        stop = min(start + net._chunk_rows, n)
        logits = net._forward(X[start:stop])
        dlogits = ops.scratch(store, "dlogits", logits.shape, logits.dtype)
        ops.softmax_xent_rows(
            logits, y[start:stop], dlogits, row_loss[start:stop], row_correct[start:stop]
        )
    return float(ops.to_host(row_loss).sum()) / n, int(ops.to_host(row_correct).sum()) / n
