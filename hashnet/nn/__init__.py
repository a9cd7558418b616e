"""The trainer: layers, losses, optimisers and models, in NumPy with Numba kernels."""

from hashnet.nn.augment import Augment
from hashnet.nn.cnn import CNN
from hashnet.nn.conv import AvgPool2D, Conv2D, Flatten, GlobalAvgPool2D, MaxPool2D
from hashnet.nn.layers import BatchNorm, Dense, Dropout, Layer, LeakyReLU, Rectifier, ReLU
from hashnet.nn.model import MLP, Sequential, split_width
from hashnet.nn.optim import SGD, Adam, step_schedule
from hashnet.nn.residual import Residual
from hashnet.nn.saving import load

__all__ = [
    "Adam",
    "Augment",
    "AvgPool2D",
    "CNN",
    "Conv2D",
    "Flatten",
    "GlobalAvgPool2D",
    "MaxPool2D",
    "BatchNorm",
    "Dense",
    "Dropout",
    "Layer",
    "LeakyReLU",
    "MLP",
    "ReLU",
    "Rectifier",
    "Residual",
    "SGD",
    "Sequential",
    "load",
    "split_width",
    "step_schedule",
]
