"""Plotting helpers shared by the package.

Every function builds a matplotlib `Figure` directly (not through pyplot), returns it, and saves
it when given `path=`: that works on a headless machine, never opens a window, and in a
notebook the returned figure displays itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from hashnet._io import atomic_path

# Class colours that stay apart in grey-scale print and for colour-blind readers (Okabe-Ito).
CLASS_COLORS = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
    "#999999",
    "#882255",
]


def save(fig: Figure, path) -> Path:
    """Save `fig` to `path` atomically (the format follows the extension; PNG at 150 dpi)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format=path.suffix.lstrip(".") or "png")
    return path


def decision_regions(
    net, X, y, path=None, ax=None, resolution=300, margin=0.5, title=None, highlight=None
):
    """Colour the 2D plane by the class the network predicts, with the points on top.

    X (N, 2), y (N,): points drawn in their class colour. `highlight`: optional boolean mask of
    points to circle in red (the demo marks points that share their activation pattern).
    Returns the Figure; saves it when `path` is given.
    """
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_regions needs 2D inputs of shape (N, 2), got {X.shape}")
    fig, ax = _figure_and_axes(ax)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(
        np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    )
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    pred = net.predict(grid).reshape(gx.shape)
    n_classes = net.n_classes
    colors = [CLASS_COLORS[k % len(CLASS_COLORS)] for k in range(n_classes)]
    from matplotlib.colors import ListedColormap

    ax.imshow(
        pred,
        origin="lower",
        extent=(lo[0], hi[0], lo[1], hi[1]),
        aspect="auto",
        cmap=ListedColormap(colors),
        vmin=-0.5,
        vmax=n_classes - 0.5,
        alpha=0.3,
        interpolation="nearest",
    )
    y = np.asarray(y)
    for k in range(n_classes):
        pts = X[y == k]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=8,
            color=colors[k],
            edgecolor="white",
            linewidth=0.3,
            label=f"class {k}",
        )
    if highlight is not None:
        pts = X[np.asarray(highlight, bool)]
        ax.scatter(
            pts[:, 0],
            pts[:, 1],
            s=40,
            facecolor="none",
            edgecolor="red",
            linewidth=1,
            label="shares its activation pattern",
        )
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.legend(loc="upper right", fontsize=7, framealpha=0.8)
    if title:
        ax.set_title(title)
    if path is not None:
        save(fig, path)
    return fig


def training_history(history, path=None, ax=None, title=None):
    """Training loss (and validation loss when recorded) against the epoch."""
    fig, ax = _figure_and_axes(ax)
    ax.plot(history["epoch"], history["loss"], label="training loss")
    if "val_loss" in history:
        ax.plot(history["epoch"], history["val_loss"], label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.legend()
    if title:
        ax.set_title(title)
    if path is not None:
        save(fig, path)
    return fig


def _figure_and_axes(ax):
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=(5, 4.5))
    return fig, fig.add_subplot()
