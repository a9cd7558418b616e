"""Optimisers (SGD with momentum or Nesterov momentum, Adam) and learning-rate schedules.

An optimiser updates the model's flat parameter vector in place from the flat gradient vector,
with a single kernel call, on whichever device the vectors live (`bind` says which backend).
L2 weight decay adds `weight_decay * w` to the gradient of each weight matrix (the classic
"coupled" L2 penalty 0.5 * weight_decay * ||W||^2; biases and batch-norm parameters are not
decayed). The penalty is not part of the reported loss.
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from hashnet._validation import check_int
from hashnet.kernels.backend import CPU


class SGD:
    """Stochastic gradient descent: v = momentum * v + g; w -= lr * v (or Nesterov's look-ahead
    w -= lr * (g + momentum * v)). momentum = 0 gives plain SGD."""

    def __init__(self, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0):
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.lr, self.momentum, self.nesterov = float(lr), float(momentum), bool(nesterov)
        self.weight_decay = float(weight_decay)
        _check_common(self.lr, self.weight_decay)

    def bind(self, n_params: int, dtype, ops=CPU) -> None:
        """Allocate the optimiser's state for a model with n_params parameters, on the device
        of the backend `ops` (where the model's flat vectors are)."""
        self.ops = ops
        self.velocity = ops.zeros(n_params, dtype)

    def step(self, params, grads, n_decay: int) -> None:
        self.ops.sgd_step(
            params,
            grads,
            self.velocity,
            self.lr,
            self.momentum,
            self.nesterov,
            self.weight_decay,
            n_decay,
        )


class Adam:
    """Adam: steps of size about lr along running averages of the gradient, each coordinate
    scaled by the running root-mean-square of its gradient (Kingma and Ba, 2015)."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta}")
        self.lr, self.beta1, self.beta2 = float(lr), float(beta1), float(beta2)
        self.eps, self.weight_decay = float(eps), float(weight_decay)
        _check_common(self.lr, self.weight_decay)

    def bind(self, n_params: int, dtype, ops=CPU) -> None:
        self.ops = ops
        self.m1 = ops.zeros(n_params, dtype)
        self.m2 = ops.zeros(n_params, dtype)
        self.t = 0

    def step(self, params, grads, n_decay):
        self.t += 1
        self.ops.adam_step(
            params,
            grads,
            self.m1,
            self.m2,
            self.lr,
            self.beta1,
            self.beta2,
            self.eps,
            self.t,
            self.weight_decay,
            n_decay,
        )


def _check_common(lr, weight_decay):
    if not (np.isfinite(lr) and lr > 0):
        raise ValueError(f"learning rate must be a positive number, got {lr}")
    if not (np.isfinite(weight_decay) and weight_decay >= 0):
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")


def make_optimizer(optimizer, lr, momentum=0.9, nesterov=False, weight_decay=0.0):
    """An optimiser from its name ("adam", "sgd") or an SGD/Adam instance.

    An instance brings its own settings (the other arguments are then not used) and is copied,
    so training never changes the caller's object (the schedule sets the copy's lr).
    """
    if isinstance(optimizer, (SGD, Adam)):
        return copy.copy(optimizer)
    name = str(optimizer).lower()
    if name == "adam":
        return Adam(lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return SGD(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {optimizer!r}; expected 'adam', 'sgd' or an instance")


def step_schedule(every: int = 20, factor: float = 0.1):
    """The study's schedule: multiply the learning rate by `factor` every `every` epochs,
    lr(epoch) = lr * factor ** (epoch // every), epochs counted from 0."""
    every = check_int(every, "the step schedule's every", 1)
    if not factor > 0:
        raise ValueError(f"the step schedule's factor must be > 0, got {factor}")

    def multiplier(epoch: int) -> float:
        return factor ** (epoch // every)

    return multiplier


def make_schedule(schedule):
    """None (constant), "step" (the study's lr x 0.1^(epoch // 20)) or a callable
    epoch -> multiplier of the base learning rate."""
    if schedule is None:
        return lambda epoch: 1.0
    if callable(schedule):
        return _checked(schedule)
    if schedule == "step":
        return step_schedule()
    raise ValueError(f"unknown lr_schedule {schedule!r}; expected None, 'step' or a callable")


def _checked(schedule):
    """Wrap a user's schedule so that a multiplier that would not train sensibly is an error:
    a negative one would climb the loss (gradient ascent), NaN or inf would wreck the weights."""

    def multiplier(epoch: int) -> float:
        value = schedule(epoch)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(
                f"lr_schedule({epoch}) returned {value!r}; expected a number (the multiplier "
                "of the base learning rate)"
            )
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(
                f"lr_schedule({epoch}) returned {value}; a learning-rate multiplier must be a "
                "finite number >= 0"
            )
        return float(value)

    return multiplier
