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
from hashnet._validation import check_y

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


# --- linear regions ------------------------------------------------------------------------

_COLOR_BY = ("code", "class", "occupancy")
# Occupancy colours: empty, one point (the hash-like case), two or more points (a collision).
_OCCUPANCY_COLORS = {0: "#ececec", 1: "#b5dcae", 2: "#f8c27f", 3: "#ef8a7c"}


def regions(
    R,
    X=None,
    y=None,
    color_by="code",
    boundary=True,
    layers=False,
    images=None,
    image_shape=(28, 28),
    path=None,
    title=None,
):
    """Draw the exact linear regions of a network (a `hashnet.regions.Regions`).

    color_by : "code"  a pastel colour per region (seeded, neighbours kept apart),
               "class" the class the network predicts in the region (light class colours),
               "occupancy"  how many points of X fall in the region: none (grey), one (green),
               two or more (orange, red): the paper's "hash" picture of a trained net.
    X, y : optional points (N, 2) in plane coordinates and their labels, drawn on top; regions
        holding two or more of them are outlined in red.
    boundary : draw the decision boundary (`R.decision_boundary()`) in black when R has logits.
    layers : one panel per layer, `R.at_layer(1)`, ..., `R.at_layer(depth)` (coloured by code,
        or by occupancy), then the final panel as asked: how each layer refines the last.
    images : three inputs (for instance the three images `plane_through` went through), shown
        in grey beside the slice; their positions `R.plane.anchors` are starred A, B, C.
    Returns the Figure; saves it when `path` is given.
    """
    if color_by not in _COLOR_BY:
        raise ValueError(f"color_by must be one of {_COLOR_BY}, got {color_by!r}")
    X, y = _check_plane_points(X, y)
    if color_by == "occupancy" and X is None:
        raise ValueError('color_by="occupancy" counts points per region: pass X (N, 2)')
    if color_by == "class" and R.logit_A is None:
        raise ValueError('color_by="class" needs the logits: pass the final Regions, not at_layer')
    pictures = _check_images(images, image_shape)

    panels = []  # (Regions, colour mode, draw boundary?, panel title)
    if layers:
        depth = len(R._layers)
        for n in range(1, depth + 1):
            part = R.at_layer(n)
            mode = "occupancy" if color_by == "occupancy" else "code"
            panels.append((part, mode, False, f"after layer {n}: {part.n_regions} regions"))
    panels.append((R, color_by, boundary, f"{R.n_regions} linear regions"))

    n = len(panels)
    extra = 1 if pictures is not None else 0
    s0, s1, t0, t1 = R.plane.extent
    aspect = min(max((t1 - t0) / (s1 - s0), 0.4), 2.0)  # panel height / width
    fig = Figure(figsize=(3.8 * n + 1.3 * extra, 3.3 * aspect + 0.9), layout="constrained")
    grid = fig.add_gridspec(3, n + extra, width_ratios=[1.0] * n + [0.3] * extra)
    axes = [fig.add_subplot(grid[:, i]) for i in range(n)]
    for ax, (part, mode, draw_boundary, label) in zip(axes, panels):
        _draw_regions(ax, part, X, y, mode, draw_boundary)
        ax.set_title(label, fontsize=9)
    if pictures is not None:
        _draw_anchors(axes, R.plane.anchors)
        for i, (name, picture) in enumerate(zip("ABC", pictures)):
            ax = fig.add_subplot(grid[i, n])
            ax.imshow(picture, cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_ylabel(name, rotation=0, labelpad=8, fontsize=10, fontweight="bold", va="center")
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def _draw_regions(ax, R, X, y, color_by, boundary):
    from matplotlib.collections import LineCollection, PolyCollection

    occupancy = R.occupancy(X, y) if X is not None else None
    if color_by == "code":
        faces = _code_colors(R.polygons)
    elif color_by == "class":
        faces = [_light(CLASS_COLORS[k % len(CLASS_COLORS)]) for k in R.predicted()]
    else:
        faces = [_OCCUPANCY_COLORS[min(int(n), 3)] for n in occupancy.counts]
    ax.add_collection(
        PolyCollection(R.polygons, facecolors=faces, edgecolors="white", linewidths=0.4)
    )
    if occupancy is not None and occupancy.shared.size:
        ax.add_collection(
            PolyCollection(
                [R.polygons[r] for r in occupancy.shared],
                facecolors="none",
                edgecolors="#d62728",
                linewidths=1.0,
            )
        )
    if boundary and R.logit_A is not None:
        segments = R.decision_boundary()
        if len(segments):
            ax.add_collection(LineCollection(segments, colors="black", linewidths=1.3))
    if X is not None:
        if y is None:
            ax.scatter(X[:, 0], X[:, 1], s=10, color="black", edgecolor="white", linewidth=0.3)
        else:
            for k in np.unique(y):
                pts = X[y == k]
                ax.scatter(
                    pts[:, 0],
                    pts[:, 1],
                    s=12,
                    color=CLASS_COLORS[int(k) % len(CLASS_COLORS)],
                    edgecolor="white",
                    linewidth=0.4,
                    label=f"class {k}",
                    zorder=3,
                )
    s0, s1, t0, t1 = R.plane.extent
    ax.set_xlim(s0, s1)
    ax.set_ylim(t0, t1)
    ax.set_aspect("equal")
    two_d = R.plane.origin.size == 2 and R.plane.anchors is None
    ax.set_xlabel("$x_1$" if two_d else "s", fontsize=8)
    ax.set_ylabel("$x_2$" if two_d else "t", fontsize=8)
    ax.tick_params(labelsize=7)
    from matplotlib.patches import Patch

    if color_by == "occupancy":
        names = ["no point", "one point", "two points", "three or more"]
        handles = [Patch(color=_OCCUPANCY_COLORS[i], label=names[i]) for i in range(4)]
        ax.legend(handles=handles, loc="upper right", fontsize=6, framealpha=0.85)
    elif color_by == "class":
        handles = [
            Patch(color=_light(CLASS_COLORS[k % len(CLASS_COLORS)]), label=f"predicts {k}")
            for k in np.unique(R.predicted())
        ]
        ax.legend(handles=handles, loc="upper right", fontsize=6, framealpha=0.85)


def _draw_anchors(axes, anchors):
    if anchors is None:
        return
    for ax in axes:
        ax.scatter(
            anchors[:, 0],
            anchors[:, 1],
            marker="*",
            s=160,
            color="gold",
            edgecolor="black",
            linewidth=0.8,
            zorder=4,
        )
        for name, (s, t) in zip("ABC", anchors):
            ax.annotate(
                name,
                (s, t),
                xytext=(5, 5),
                textcoords="offset points",
                fontsize=10,
                fontweight="bold",
                zorder=5,
            )


def _code_colors(polygons, seed=0):
    """A pastel colour per region, chosen so that touching regions look different.

    Regions that share a vertex count as neighbours; each region takes, among a few random
    pastel candidates, the one farthest from the colours its neighbours already have.
    """
    from colorsys import hls_to_rgb

    rng = np.random.default_rng(seed)
    scale = max((float(np.abs(p).max()) for p in polygons), default=1.0)
    at_vertex = {}
    for r, polygon in enumerate(polygons):
        for key in map(tuple, np.round(polygon / max(scale, 1e-300), 7)):
            at_vertex.setdefault(key, []).append(r)
    neighbours = [set() for _ in polygons]
    for members in at_vertex.values():
        for r in members:
            neighbours[r].update(members)
    colors = np.zeros((len(polygons), 3))
    done = np.zeros(len(polygons), bool)
    for r in range(len(polygons)):
        hls = zip(rng.random(8), rng.uniform(0.78, 0.88, 8), rng.uniform(0.45, 0.75, 8))
        candidates = np.array([hls_to_rgb(*c) for c in hls])
        near = [q for q in neighbours[r] if done[q]]
        if near:
            gaps = np.linalg.norm(candidates[:, None, :] - colors[near][None], axis=2).min(axis=1)
            colors[r] = candidates[gaps.argmax()]
        else:
            colors[r] = candidates[0]
        done[r] = True
    return colors


def _light(color, amount=0.35):
    """`color` mixed with white: `amount` of the colour is left."""
    from matplotlib.colors import to_rgb

    return tuple(amount * np.array(to_rgb(color)) + (1 - amount))


def _check_plane_points(X, y):
    if X is None:
        if y is not None:
            raise ValueError("y given without X: pass the points X (N, 2) too")
        return None, None
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2 or len(X) == 0:
        raise ValueError(
            f"X must be points in plane coordinates of shape (N, 2) with N >= 1, got {X.shape}; "
            "for a plane through inputs, project them first (the plane's (s, t) coordinates)"
        )
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise ValueError(f"y must have one label per point, shape ({len(X)},), got {y.shape}")
        y = check_y(y, len(X), name="y")
        if (y < 0).any():
            raise ValueError("y must hold non-negative class labels")
    return X, y


def _check_images(images, image_shape):
    if images is None:
        return None
    if len(images) != 3:
        raise ValueError(f"images must be three inputs (A, B, C), got {len(images)}")
    size = int(np.prod(image_shape))
    pictures = []
    for picture in images:
        picture = np.asarray(picture, dtype=np.float64)
        if picture.size != size:
            raise ValueError(
                f"each image must have {size} values to show as {tuple(image_shape)}, "
                f"got shape {picture.shape}; pass image_shape="
            )
        pictures.append(picture.reshape(image_shape))
    return pictures
