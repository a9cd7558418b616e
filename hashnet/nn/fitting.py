"""The bookkeeping around a training loop, shared by `Sequential.fit` and its GPU twin.

Both loops do the arithmetic their own way; everything else is here, once: checking the
arguments, the seeded generators of a fit, and `FitLog`, which keeps `history_`, prints the
epoch lines, takes the checkpoints, and decides when to stop (a diverged loss, or no progress
for `patience` epochs).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from hashnet._validation import check_int, check_y


def check_checkpoints(checkpoints, epochs):
    if checkpoints is None:
        checkpoints = ()
    checkpoints = {check_int(e, "checkpoint epoch", 0) for e in np.atleast_1d(checkpoints).tolist()}
    late = sorted(e for e in checkpoints if e > epochs)
    if late:
        raise ValueError(f"checkpoint epochs {late} are beyond epochs={epochs}")
    return checkpoints


def check_fit_arguments(net, X, y, validation_data, epochs, batch_size, patience, checkpoints):
    """The arguments of fit, checked: (X, y, (X_val, y_val) or None, epochs, batch_size,
    patience, set of checkpoint epochs)."""
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
    return (
        X,
        y,
        validation_data,
        epochs,
        batch_size,
        patience,
        check_checkpoints(checkpoints, epochs),
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
    """The shuffling generator of the next fit, with every Dropout layer seeded: derived from
    the seed and the number of earlier fits, so the same seed gives the same run, bit for bit."""
    from hashnet.nn.layers import Dropout

    shuffle_rng, dropout_seeds = streams(net.seed, f"fit {net._n_fits}", len(net.layers))
    for layer, dropout_seed in zip(net.layers, dropout_seeds):
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(dropout_seed)
    net._n_fits += 1
    return shuffle_rng


class FitLog:
    """history_, epoch lines, checkpoints and stopping rules of one fit of `net`.

    Creating it resets net.history_, net.checkpoints_ and net.stopped_early_ and takes the
    epoch-0 checkpoint when asked. `end_epoch` records one epoch and says whether to stop.
    """

    def __init__(
        self,
        net,
        epochs,
        checkpoints,
        checkpoint_dir,
        patience,
        min_delta,
        verbose,
        validation=False,
        stacklevel=3,
    ):
        self.net, self.epochs, self.verbose = net, epochs, verbose
        self.stacklevel = stacklevel  # of the divergence warning: it points at fit's caller
        self.checkpoints, self.checkpoint_dir = checkpoints, checkpoint_dir
        self.patience, self.min_delta = patience, min_delta
        self.best_loss, self.stale = math.inf, 0
        history = {"epoch": [], "loss": [], "acc": [], "lr": [], "time": []}
        if validation:
            history.update(val_loss=[], val_acc=[])
        net.history_, net.checkpoints_, net.stopped_early_ = history, {}, False
        if 0 in checkpoints:
            net._take_checkpoint(0, checkpoint_dir)

    def end_epoch(self, epoch, loss, acc, lr, seconds, validate=None, sync=None) -> bool:
        """Record epoch `epoch` (1-based) and return True when training should stop.

        validate: a function giving (val_loss, val_acc); sync: a function that brings the
        weights home before a checkpoint (the GPU path).
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
