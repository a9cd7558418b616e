"""Data augmentation for image training: a random turn, shift and mirror of every image.

    aug = Augment(rotation=15, shift=0.1, flip=True)     # or Augment.study()
    batch = aug(x, rng)                 # x: (N, C, H, W) floats, rng: a numpy Generator
    net.fit(X, y, augment="study")      # each mini-batch augmented anew, seeded by net.seed

The study's CNNs were trained with Keras' ImageDataGenerator(rotation_range=15,
width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True); `Augment.study()` is
that setting. The work is done by the Numba kernel `hashnet.kernels.augment.affine_images`,
whose docstring says exactly what is computed and how it compares with Keras.
"""

from __future__ import annotations

import numbers

import numpy as np

from hashnet._validation import check_random_state
from hashnet.kernels.augment import affine_images

FILLS = ("nearest", "constant")


class Augment:
    """Random changes to training images that do not change what they show.

    A network trained on the same pictures epoch after epoch can learn them by heart, pixel
    for pixel. Augmentation shows it, in every epoch, a slightly different version of each
    picture: turned a little, moved a little, perhaps mirrored. A shirt is still a shirt when
    it is turned by 10 degrees, so the labels stay right, and the network has to learn what
    a shirt looks like rather than where its pixels sit. Each image of a batch gets its own
    random change; the same generator state gives the same changes.

    Parameters
    ----------
    rotation : float, degrees in [0, 180]. Each image is turned about its centre by an angle
        drawn uniformly from [-rotation, rotation] (0: no turning).
    shift : float in [0, 1), or a pair (vertical, horizontal). Each image is moved by up to
        this fraction of its height (and width): a shift drawn uniformly from
        [-shift * H, shift * H] pixels, not rounded, so the move can be part of a pixel.
    flip : bool. Mirror each image left to right with probability 1/2. Right for photographs
        and clothes; wrong for digits or letters, whose mirror images are other symbols.
    fill : what shows where the image was moved away from its frame: "nearest" (the nearest
        edge pixel, as Keras does by default) or "constant" (zeros).

    Pixels are read between grid points by bilinear interpolation, as Keras does. Calling the
    object (or `apply`) returns a new array and leaves its input unchanged.

    Examples
    --------
    >>> aug = Augment.study()               # rotation 15, shift 0.1, flip, fill "nearest"
    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros((8, 1, 28, 28), np.float32)
    >>> aug(x, rng).shape
    (8, 1, 28, 28)
    """

    def __init__(self, rotation=15.0, shift=0.1, flip=True, fill="nearest"):
        self.rotation = _check_rotation(rotation)
        self.shift = _check_shift(shift)
        if not isinstance(flip, (bool, np.bool_)):
            raise ValueError(f"flip must be True or False, got {flip!r}")
        self.flip = bool(flip)
        if fill not in FILLS:
            raise ValueError(
                f"fill must be 'nearest' (the nearest edge pixel) or 'constant' (zeros), "
                f"got {fill!r}"
            )
        self.fill = fill

    @classmethod
    def study(cls):
        """The setting of the study's CNNs (Keras' ImageDataGenerator(rotation_range=15,
        width_shift_range=0.1, height_shift_range=0.1, horizontal_flip=True), fill "nearest")."""
        return cls(rotation=15.0, shift=0.1, flip=True, fill="nearest")

    @classmethod
    def from_config(cls, config):
        """The Augment that `config()` described."""
        return cls(**config)

    def config(self) -> dict:
        """The settings as a JSON-friendly dict, for records; `Augment.from_config` reads it."""
        vertical, horizontal = self.shift
        shift = vertical if vertical == horizontal else [vertical, horizontal]
        return {"rotation": self.rotation, "shift": shift, "flip": self.flip, "fill": self.fill}

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"Augment({settings})"

    def __eq__(self, other):
        return isinstance(other, Augment) and self.config() == other.config()

    __hash__ = None  # settings can be compared, so the object is not hashable

    # --- drawing and applying ------------------------------------------------------------

    def draw(self, n, height, width, rng):
        """The random changes of n images of height x width pixels, drawn from `rng`:
        a dict of arrays of length n: angle (degrees), shift_y and shift_x (pixels: down,
        right) and flip (uint8 0/1). Always four draws in this order, whatever the settings."""
        rng = check_random_state(rng)
        r, (sv, sh) = self.rotation, self.shift
        angle = rng.uniform(-r, r, n)
        shift_y = rng.uniform(-sv, sv, n) * height
        shift_x = rng.uniform(-sh, sh, n) * width
        flip = (rng.random(n) < 0.5) & self.flip
        return {
            "angle": angle,
            "shift_y": shift_y,
            "shift_x": shift_x,
            "flip": flip.astype(np.uint8),
        }

    def apply(self, x, rng, out=None):
        """A randomly changed copy of the batch of images x (N, C, H, W), each image with its
        own change drawn from `rng` (a numpy Generator, or a seed). x is not modified.

        out: an optional (N, C, H, W) array of x's dtype to write into (it must not be x).
        """
        x = _check_images(x)
        n, _, height, width = x.shape
        params = self.draw(n, height, width, rng)
        return transform(x, fill=self.fill, out=out, **params)

    __call__ = apply


def transform(x, angle=0.0, shift_y=0.0, shift_x=0.0, flip=False, fill="nearest", out=None):
    """Images x (N, C, H, W) turned by `angle` degrees about their centre, moved by
    (shift_y, shift_x) pixels (down, right), then mirrored left to right where `flip`; each
    argument a number for every image or an array with one entry per image.

    A positive angle turns the picture clockwise as matplotlib's imshow shows it: on a square
    image angle=90 gives np.rot90(x, k=-1, axes=(2, 3)). Bilinear interpolation; `fill` as in
    `Augment`. Returns a new array (or `out`); x is not modified.
    """
    x = _check_images(x)
    if fill not in FILLS:
        raise ValueError(f"fill must be 'nearest' or 'constant', got {fill!r}")
    n = x.shape[0]

    def per_image(value, name, dtype):
        # A writable copy: Numba compiles a kernel again for read-only (broadcast) arrays.
        a = np.array(np.broadcast_to(np.asarray(value, dtype), (n,)))
        if dtype is np.float64 and not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite")
        return a

    angle = per_image(angle, "angle", np.float64)
    shift_y = per_image(shift_y, "shift_y", np.float64)
    shift_x = per_image(shift_x, "shift_x", np.float64)
    flip = per_image(np.asarray(flip).astype(bool), "flip", np.uint8)
    if out is None:
        out = np.empty_like(x)
    elif (
        not isinstance(out, np.ndarray)
        or out.shape != x.shape
        or out.dtype != x.dtype
        or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous {x.dtype} array of shape {x.shape}")
    elif np.may_share_memory(out, x):
        raise ValueError("out must not share memory with x (the images are read while written)")
    affine_images(x, angle, shift_y, shift_x, flip, fill == "constant", out)
    return out


def make_augment(augment):
    """fit's `augment` argument as an Augment, or None: None, "study", or an Augment."""
    if augment is None or isinstance(augment, Augment):
        return augment
    if isinstance(augment, str):
        if augment == "study":
            return Augment.study()
        raise ValueError(f"unknown augmentation {augment!r}: use None, 'study' or an Augment")
    raise TypeError(
        f"augment must be None, 'study' or a hashnet Augment, got {type(augment).__name__}"
    )


def _check_rotation(rotation):
    if isinstance(rotation, bool) or not isinstance(rotation, numbers.Real):
        raise ValueError(f"rotation must be a number of degrees, got {rotation!r}")
    rotation = float(rotation)
    if not 0.0 <= rotation <= 180.0:
        raise ValueError(f"rotation must be between 0 and 180 degrees, got {rotation}")
    return rotation


def _check_shift(shift):
    values = shift if isinstance(shift, (tuple, list)) else (shift, shift)
    if len(values) != 2:
        raise ValueError(f"shift must be a number or a pair (vertical, horizontal), got {shift!r}")
    checked = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"shift must be a fraction of the image size, got {value!r}")
        value = float(value)
        if not 0.0 <= value < 1.0:
            raise ValueError(
                f"shift is a fraction of the image's height and width, in [0, 1); got {value}"
            )
        checked.append(value)
    return tuple(checked)


def _check_images(x):
    if not isinstance(x, np.ndarray) or x.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"images must be a float32 or float64 numpy array, got {type(x).__name__}"
            + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else "")
        )
    if x.ndim != 4 or 0 in x.shape[1:]:
        raise ValueError(f"images must be a batch of shape (N, C, H, W), got shape {x.shape}")
    return np.ascontiguousarray(x)
