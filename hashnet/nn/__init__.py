"""The trainer: layers, losses, optimisers and models, in NumPy with Numba kernels."""

from hashnet.nn.layers import BatchNorm, Dense, Dropout, Layer, LeakyReLU, ReLU
from hashnet.nn.model import MLP, Sequential, load, split_width
from hashnet.nn.optim import SGD, Adam, step_schedule

__all__ = [
    "Adam",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "MLP",
    "ReLU",
    "SGD",
    "Sequential",
    "load",
    "split_width",
    "step_schedule",
]
