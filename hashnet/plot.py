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
# Occupancy colours: empty, one point (the hash-like case), two, three or more (collisions).
# Light tints of the Okabe-Ito sky blue and orange/vermillion: blue against orange stays apart
# for every common colour-vision deficiency, and grey reads as "nothing here".
_OCCUPANCY_COLORS = {0: "#ececec", 1: "#a9d8f5", 2: "#f7cf85", 3: "#eb9a73"}
_SHARED_EDGE = "#b34700"  # dark vermillion outline of a region holding two or more points
_SMALLEST_TEXT = 8  # points: still readable when a figure is shrunk to a README's width


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
               "occupancy"  how many points of X fall in the region: none (grey), one (blue),
               two or more (orange, vermillion): the paper's "hash" picture of a trained net.
    X, y : optional points (N, 2) in plane coordinates and their labels, drawn on top (markers
        shrink where the regions are small, so a point never hides its region); regions
        holding two or more of them are outlined. The panel's title counts the regions and
        the points alone in theirs.
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
        depth = R.n_layers
        for n in range(1, depth + 1):
            part = R.at_layer(n)
            mode = "occupancy" if color_by == "occupancy" else "code"
            panels.append((part, mode, False, _caption(part, X, f"after layer {n}: ")))
    panels.append((R, color_by, boundary, _caption(R, X)))

    n = len(panels)
    extra = 1 if pictures is not None else 0
    s0, s1, t0, t1 = R.plane.extent
    aspect = min(max((t1 - t0) / (s1 - s0), 0.4), 2.0)  # panel height / width
    fig = Figure(figsize=(3.8 * n + 1.3 * extra, 3.3 * aspect + 0.9), layout="constrained")
    grid = fig.add_gridspec(3, n + extra, width_ratios=[1.0] * n + [0.3] * extra)
    axes = [fig.add_subplot(grid[:, i]) for i in range(n)]
    for ax, (part, mode, draw_boundary, label) in zip(axes, panels):
        _draw_regions(ax, part, X, y, mode, draw_boundary)
        ax.set_title(label, fontsize=_SMALLEST_TEXT + 1)
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


def region_density(R, images=None, image_shape=(28, 28), width=1200, path=None, title=None):
    """Millions of linear regions at once: how much region boundary each pixel holds.

    Polygons stop being drawable long before an enumeration stops (a LeNet on a plane through
    three images has tens of millions of regions); this draws `R.boundary_density(width)` on a
    logarithmic scale instead: bright where regions are small and many, dark where they are
    large. `images`: the three inputs the plane goes through, shown beside it (their positions,
    `R.plane.anchors`, are starred A, B, C). Returns the Figure; saves it when `path` is given.
    """
    from matplotlib.colors import LogNorm

    pictures = _check_images(images, image_shape)
    density = R.boundary_density(width)
    s0, s1, t0, t1 = R.plane.extent
    pixel_area = (s1 - s0) * (t1 - t0) / density.size
    density = density / pixel_area  # boundary length per unit of area
    aspect = min(max((t1 - t0) / (s1 - s0), 0.4), 2.0)
    extra = 1 if pictures is not None else 0
    fig = Figure(figsize=(7.5 + 2.0 * extra, 6.8 * aspect + 0.6), layout="constrained")
    grid = fig.add_gridspec(3, 1 + extra, width_ratios=[1.0] + [0.25] * extra)
    ax = fig.add_subplot(grid[:, 0])
    positive = density[density > 0]
    low = np.percentile(positive, 1) if positive.size else 1.0
    shown = ax.imshow(
        np.where(density > 0, density, np.nan),
        extent=(s0, s1, t0, t1),
        cmap="magma",
        norm=LogNorm(vmin=low, vmax=max(density.max(), low * 10)),
        interpolation="nearest",
    )
    ax.set_facecolor("black")
    fig.colorbar(shown, ax=ax, shrink=0.8, label="region boundary per unit of area (plane units)")
    ax.set_xlabel("s", fontsize=_SMALLEST_TEXT)
    ax.set_ylabel("t", fontsize=_SMALLEST_TEXT)
    ax.set_title(f"{R.n_regions:,} linear regions", fontsize=_SMALLEST_TEXT + 1)
    if pictures is not None:
        _draw_anchors([ax], R.plane.anchors)
        ax.set_xlim(s0, s1)  # anchors outside a zoom must not widen the view
        ax.set_ylim(t0, t1)
        for i, (name, picture) in enumerate(zip("ABC", pictures)):
            side = fig.add_subplot(grid[i, 1])
            side.imshow(picture, cmap="gray_r", interpolation="nearest")
            side.set_xticks([])
            side.set_yticks([])
            side.set_ylabel(
                name, rotation=0, labelpad=8, fontsize=10, fontweight="bold", va="center"
            )
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
                edgecolors=_SHARED_EDGE,
                linewidths=0.8,
            )
        )
    if boundary and R.logit_A is not None:
        segments = R.decision_boundary()
        if len(segments):
            ax.add_collection(LineCollection(segments, colors="black", linewidths=1.3))
    handles = []
    if X is not None:
        size = _marker_size(ax, R, occupancy)
        if y is None:
            ax.scatter(X[:, 0], X[:, 1], s=size, color="black", edgecolor="white", linewidth=0.3)
        else:
            for k in np.unique(y):
                pts = X[y == k]
                handles.append(
                    ax.scatter(pts[:, 0], pts[:, 1], s=size, **_point_style(int(k), color_by))
                )
    s0, s1, t0, t1 = R.plane.extent
    ax.set_xlim(s0, s1)
    ax.set_ylim(t0, t1)
    ax.set_aspect("equal")
    two_d = R.plane.origin.size == 2 and R.plane.anchors is None
    ax.set_xlabel("$x_1$" if two_d else "s", fontsize=_SMALLEST_TEXT)
    ax.set_ylabel("$x_2$" if two_d else "t", fontsize=_SMALLEST_TEXT)
    ax.tick_params(labelsize=_SMALLEST_TEXT)
    from matplotlib.patches import Patch

    if color_by == "occupancy":
        names = ["no point", "one point", "two points", "three or more"]
        handles += [Patch(color=_OCCUPANCY_COLORS[i], label=names[i]) for i in range(4)]
    elif color_by == "class":
        handles += [
            Patch(color=_light(CLASS_COLORS[k % len(CLASS_COLORS)]), label=f"predicts {k}")
            for k in np.unique(R.predicted())
        ]
    if handles:  # below the panel, where it hides no region
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncol=min(len(handles), 3),
            fontsize=_SMALLEST_TEXT,
            frameon=False,
            handlelength=1.2,
            columnspacing=1.0,
            markerscale=max(1.0, 5.0 / np.sqrt(size)) if X is not None else 1.0,
        )


# On occupancy colours the classes are told apart by shape and shade, not hue: blue and orange
# already mean "one point" and "several points" there.
_CLASS_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "<", ">", "*")


def _point_style(k, color_by):
    if color_by == "occupancy":
        shade = "black" if k % 2 == 0 else "white"
        return dict(
            marker=_CLASS_MARKERS[(k // 2) % len(_CLASS_MARKERS)],
            color=shade,
            edgecolor="black",
            linewidth=0.4,
            label=f"class {k}",
            zorder=3,
        )
    color = CLASS_COLORS[k % len(CLASS_COLORS)]
    return dict(color=color, edgecolor="white", linewidth=0.3, label=f"class {k}", zorder=3)


def _caption(R, X, prefix=""):
    """The counts a reader should take away, as in "1234 regions; 180 of 200 points alone"."""
    text = f"{prefix}{R.n_regions} regions"
    if X is not None:
        alone = int(round(R.occupancy(X).alone_fraction * len(X)))
        text += f"; {alone} of {len(X)} points alone"
    return text


def _marker_size(ax, R, occupancy):
    """Marker area (points^2) small enough that the regions holding points stay visible.

    A marker about half as wide as the typical occupied region leaves a rim of the region's
    colour around it; between 2 and 6 points wide, so that it is still seen.
    """
    counts = occupancy.counts
    areas = R.areas()[counts > 0] if counts.any() else R.areas()
    s0, s1, t0, t1 = R.plane.extent
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    points_per_unit = 72 * width_in / max(s1 - s0, t1 - t0)
    diameter = float(np.sqrt(np.median(areas))) * points_per_unit
    return float(np.clip(0.5 * diameter, 2.5, 4.5) ** 2)


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


# --- regions during training ----------------------------------------------------------------

_COUNT_COLORS = ("#0072B2", "#D55E00")  # Okabe-Ito blue: regions; vermillion: points alone


def regions_over_training(
    net, X, y=None, epochs=None, box=None, path=None, fps=1.5, dpi=100, max_regions=100_000
):
    """The exact linear regions of a 2D network at several epochs of its training.

    Train first with snapshots, `net.fit(X, y, epochs=50, checkpoints=(0, 1, 5, 20, 50))`,
    then call this: every snapshot's regions are enumerated exactly (`hn.regions.enumerate`),
    and on every frame two numbers are counted, never assumed: how many regions the box holds,
    and how many training points are alone in their region. Training does not have to raise
    either: a network can fit its data while the number of its regions stays near where it
    started (Hanin and Rolnick, 2019), so watch rather than expect.

    net : a model with 2D inputs that was fitted with `checkpoints=`.
    X, y : the training points (N, 2) and, optionally, their labels (for the colours).
    epochs : which snapshots to show (default: all of them, in order).
    box : (x0, x1, y0, y1), the part of the plane enumerated; default: the points' bounding box
        with a margin of 0.5.
    path : where to write the animation, a GIF (matplotlib's Pillow writer), one frame per
        epoch at `fps` frames per second and `dpi` pixels per inch.
    Returns a `TrainingRegions` with the counts; `.figure()` draws a few frames side by side
    (a still picture for print), `.frame(epoch)` one frame, `.browse()` a slider in Jupyter
    when ipywidgets is installed.
    """
    import hashnet.regions

    X, y = _check_plane_points(X, y)
    if X is None:
        raise ValueError("regions_over_training needs the training points X (N, 2)")
    saved = sorted(getattr(net, "checkpoints_", {}) or {})
    if not saved:
        raise ValueError(
            "the network holds no snapshots: fit it with checkpoints=(0, 1, 5, ...) first"
        )
    epochs = saved if epochs is None else [int(e) for e in epochs]
    missing = sorted(set(epochs) - set(saved))
    if missing or not epochs:
        raise ValueError(f"no snapshot for epochs {missing or epochs}; the network has {saved}")
    if box is None:
        low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
        box = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    frames = []
    for epoch in epochs:
        R = hashnet.regions.enumerate(net.checkpoint(epoch), box=box, max_regions=max_regions)
        occupancy = R.occupancy(X)
        inside = occupancy.region >= 0
        alone = int(np.sum(inside & (occupancy.counts[np.maximum(occupancy.region, 0)] == 1)))
        frames.append((R, alone))
    movie = TrainingRegions(
        epochs=list(epochs),
        regions=[R for R, _ in frames],
        n_regions=[R.n_regions for R, _ in frames],
        alone=[alone for _, alone in frames],
        X=X,
        y=y,
    )
    if path is not None:
        movie.save(path, fps=fps, dpi=dpi)
    return movie


class TrainingRegions:
    """Regions of one network at several epochs, with the counts made on every frame.

    epochs, n_regions, alone: lists, one entry per frame (`alone`: training points alone in
    their region); n_points: how many training points there are; path: the GIF, once saved.
    """

    def __init__(self, epochs, regions, n_regions, alone, X, y):
        self.epochs, self.regions = epochs, regions
        self.n_regions, self.alone = n_regions, alone
        self.X, self.y = X, y
        self.n_points = len(X)
        self.path = None

    def __repr__(self):
        counts = ", ".join(
            f"{e}: {n} regions / {a} alone"
            for e, n, a in zip(self.epochs, self.n_regions, self.alone)
        )
        return f"TrainingRegions({self.n_points} points; epoch {counts})"

    def frame(self, epoch, path=None) -> Figure:
        """One frame: the regions at `epoch` (by occupancy) beside the counts so far."""
        fig = Figure(figsize=(8.0, 4.0), layout="constrained")
        self._draw(fig, self.epochs.index(int(epoch)))
        if path is not None:
            save(fig, path)
        return fig

    def figure(self, epochs=None, path=None) -> Figure:
        """A still picture: up to four frames side by side, and both counts against the epoch."""
        if epochs is None:  # the first, the last, and two evenly spaced in between
            picks = np.unique(np.linspace(0, len(self.epochs) - 1, 4).round().astype(int))
            epochs = [self.epochs[i] for i in picks]
        fig = Figure(figsize=(2.9 * len(epochs) + 3.3, 3.6), layout="constrained")
        grid = fig.add_gridspec(1, len(epochs) + 1)
        for i, epoch in enumerate(epochs):
            k = self.epochs.index(int(epoch))
            ax = fig.add_subplot(grid[0, i])
            _draw_regions(ax, self.regions[k], self.X, self.y, "occupancy", True)
            ax.set_title(self._caption(k), fontsize=_SMALLEST_TEXT + 1)
            if i:  # one legend is enough
                ax.get_legend().remove()
        self._draw_counts(fig.add_subplot(grid[0, -1]), len(self.epochs) - 1)
        if path is not None:
            save(fig, path)
        return fig

    def save(self, path, fps=1.5, dpi=100):
        """Write the animation (GIF) to `path`, atomically; returns the path."""
        from matplotlib.animation import PillowWriter

        path = Path(path)
        if path.suffix.lower() != ".gif":
            raise ValueError(f"the animation is written as a GIF: give a .gif path, got {path}")
        fig = Figure(figsize=(8.0, 4.0), layout="constrained")
        writer = PillowWriter(fps=fps)
        with atomic_path(path) as tmp:
            with writer.saving(fig, str(tmp), dpi):
                for k in range(len(self.epochs)):
                    fig.clear()
                    self._draw(fig, k)
                    writer.grab_frame()
        self.path = path
        return path

    def browse(self):
        """A slider over the epochs in Jupyter when ipywidgets is installed; else `figure()`."""
        return sliders(self.frame, fallback=self.figure, epoch=self.epochs)

    def _caption(self, k):
        return (
            f"epoch {self.epochs[k]}: {self.n_regions[k]} regions, "
            f"{self.alone[k]} of {self.n_points} alone"
        )

    def _draw(self, fig, k):
        grid = fig.add_gridspec(1, 2, width_ratios=[1.25, 1])
        ax = fig.add_subplot(grid[0, 0])
        _draw_regions(ax, self.regions[k], self.X, self.y, "occupancy", True)
        ax.set_title(self._caption(k), fontsize=_SMALLEST_TEXT + 2)
        self._draw_counts(fig.add_subplot(grid[0, 1]), k)

    def _draw_counts(self, ax, k):
        """Both counts against the epoch: all epochs faint, those up to frame k solid."""
        epochs = np.array(self.epochs)
        right = ax.twinx()
        for axis, values, color, label in (
            (ax, self.n_regions, _COUNT_COLORS[0], "linear regions"),
            (right, self.alone, _COUNT_COLORS[1], "training points alone"),
        ):
            values = np.array(values)
            axis.plot(epochs, values, "-", color=color, alpha=0.25, lw=1.5)
            axis.plot(epochs[: k + 1], values[: k + 1], "o-", color=color, lw=1.8, ms=4)
            axis.set_ylabel(label, color=color, fontsize=_SMALLEST_TEXT + 1)
            axis.tick_params(axis="y", colors=color, labelsize=_SMALLEST_TEXT)
            axis.set_ylim(0, 1.08 * max(values.max(), 1))
        right.axhline(self.n_points, color=_COUNT_COLORS[1], ls=":", lw=1)
        right.annotate(
            f"all {self.n_points} points",
            (epochs[-1], self.n_points),
            xytext=(0, 3),
            textcoords="offset points",
            ha="right",
            color=_COUNT_COLORS[1],
            fontsize=_SMALLEST_TEXT,
        )
        right.set_ylim(0, 1.12 * self.n_points)
        ax.axvline(epochs[k], color="0.6", lw=0.8)
        if epochs.min() == 0 and epochs.max() > 10:  # epochs grow by factors: a log axis
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(-0.2, 1.3 * epochs.max())
        ax.set_xlabel("epoch", fontsize=_SMALLEST_TEXT + 1)
        ax.tick_params(axis="x", labelsize=_SMALLEST_TEXT)
        ax.set_title("counted on every frame", fontsize=_SMALLEST_TEXT + 1)


def sliders(draw, fallback=None, **choices):
    """Sliders that redraw `draw(**values)` in Jupyter, where ipywidgets is installed.

    choices: one list of values per keyword of `draw`. Without ipywidgets this returns
    `fallback()` when given (a still picture that shows every choice at once, say), else
    `draw` with the first value of each choice, so a notebook shows a figure either way.
    """
    if not choices:
        raise ValueError("give at least one choice, for example epoch=[0, 1, 5]")
    try:
        import ipywidgets
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        ipywidgets = None
    if ipywidgets is None or get_ipython() is None:
        return fallback() if fallback is not None else draw(**{k: v[0] for k, v in choices.items()})
    widgets = {
        name: ipywidgets.SelectionSlider(options=list(values), description=name)
        for name, values in choices.items()
    }
    return ipywidgets.interact(lambda **values: display(draw(**values)), **widgets)


def _show_figures_in_notebooks():
    """Let Jupyter draw hashnet's figures as PNG even when pyplot was never loaded.

    hashnet builds figures without pyplot (so that nothing opens a window), and Jupyter only
    learns to draw a Figure once pyplot's inline backend starts; a notebook whose first figure
    comes from hashnet would show "<Figure size ...>" instead. Registering a PNG formatter
    for Figure fixes that and changes nothing outside IPython.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def png(fig):
        from io import BytesIO

        buffer = BytesIO()
        fig.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()

    shell.display_formatter.formatters["image/png"].for_type(Figure, png)


_show_figures_in_notebooks()
