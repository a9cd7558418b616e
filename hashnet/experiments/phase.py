"""The activation hash phase chart: width x training time x sample size, in three regimes.

Every cell of the cube (a width, a snapshot epoch, a sample size) is classified from the mean
over its repeats of two numbers, by two thresholds you can change:

* **under-expressive**: rr_train > rr_threshold. The codes do not separate the training
  examples: many share their linear region (small networks, short training, many examples).
* **critically-expressive**: rr_train <= rr_threshold but the categorization accuracy (the
  `metric`, K-NN on the test codes by default) < acc_threshold. Almost every example has a
  code of its own, yet the codes do not yet group the classes well.
* **sufficiently-expressive**: rr_train <= rr_threshold and accuracy >= acc_threshold. The
  network behaves as a good hash encoder: unique codes that categorize.

The defaults (rr_threshold=0.05: at most 5 % of the training examples redundant;
acc_threshold=0.75 on knn_test) suit Fashion-MNIST; pick acc_threshold a few points below
the test accuracy well-trained networks reach on your data set. The chart is drawn from the
stored records, so trying other thresholds recomputes nothing.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.figure import Figure

from hashnet.experiments.table import summarize

REGIMES = ("under-expressive", "critically-expressive", "sufficiently-expressive")
REGIME_COLORS = ("#f4a582", "#fee08b", "#a6d96a")
RR_THRESHOLD = 0.05
ACC_THRESHOLD = 0.75
METRIC = "knn_test"
METRICS = ("knn_test", "lr_test", "kmeans_test", "kmeans_train", "test_acc")
CELL_COLUMNS = ("dataset", "depth", "sample_size", "width", "epoch", "n")


def classify_regime(rr_train, accuracy, rr_threshold=RR_THRESHOLD, acc_threshold=ACC_THRESHOLD):
    """The regime of one cell from its redundancy ratio and categorization accuracy.

    >>> classify_regime(0.30, 0.90)
    'under-expressive'
    >>> classify_regime(0.01, 0.50)
    'critically-expressive'
    >>> classify_regime(0.01, 0.90)
    'sufficiently-expressive'
    """
    if rr_train > rr_threshold:
        return REGIMES[0]
    if accuracy < acc_threshold:
        return REGIMES[1]
    return REGIMES[2]


def check_rule(metric=METRIC, rr_threshold=RR_THRESHOLD, acc_threshold=ACC_THRESHOLD) -> None:
    """Raise ValueError (TypeError for a non-number) unless `metric` is one of METRICS and
    both thresholds are fractions in [0, 1]; NaN is not one."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    for name, value in (("rr_threshold", rr_threshold), ("acc_threshold", acc_threshold)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not 0 <= value <= 1:  # also False for NaN
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def phase_cells(rows, metric=METRIC, rr_threshold=RR_THRESHOLD, acc_threshold=ACC_THRESHOLD):
    """Classify every (sample size, width, epoch) cell of the rows; returns one dict per cell.

    rows : measured points (from `sweep("phase", ...)` or `load_results`)
    metric : the categorization accuracy compared with acc_threshold: "knn_test" (default),
        "lr_test", "kmeans_test", "kmeans_train" or "test_acc"
    Each cell holds the keys of CELL_COLUMNS, the mean and std over repeats of rr_train and of
    the metric, and "regime".
    """
    check_rule(metric, rr_threshold, acc_threshold)
    cells = []
    for row in summarize(rows, metrics=["rr_train", metric]):
        rr, acc = row["rr_train_mean"], row[f"{metric}_mean"]
        if rr is None or acc is None:
            raise ValueError(f"a cell lacks rr_train or {metric}; was that probe run?")
        cell = {k: row.get(k) for k in CELL_COLUMNS}
        for name in ("rr_train", metric):
            cell[f"{name}_mean"], cell[f"{name}_std"] = row[f"{name}_mean"], row[f"{name}_std"]
        cell["regime"] = classify_regime(rr, acc, rr_threshold, acc_threshold)
        cells.append(cell)
    return cells


def cell_columns(metric=METRIC):
    """Column order of the cells' CSV."""
    stats = [f"{n}_{s}" for n in ("rr_train", metric) for s in ("mean", "std")]
    return [*CELL_COLUMNS, *stats, "regime"]


def plot_phase(cells, metric=METRIC, rr_threshold=None, acc_threshold=None, path=None, title=None):
    """Draw the phase chart: one panel per sample size, width on x, epochs on y, each cell
    coloured by its regime, with black lines on the boundaries between regimes. Each cell is
    annotated with its rr_train (top) and metric (bottom) means."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if not cells:
        raise ValueError("no cells to draw: the phase sweep has no stored results yet")
    sizes = sorted({c["sample_size"] for c in cells}, key=lambda s: -1 if s is None else s)
    widths = sorted({c["width"] for c in cells})
    epochs = sorted({c["epoch"] for c in cells})
    fig = Figure(figsize=(0.45 * len(widths) * len(sizes) + 2.0, 0.4 * len(epochs) + 1.8))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, len(sizes), squeeze=False, sharey=True)[0]
    cmap = ListedColormap(REGIME_COLORS)
    for ax, size in zip(axes, sizes):
        grid = np.full((len(epochs), len(widths)), np.nan)
        notes = {}
        for c in cells:
            if c["sample_size"] == size:
                i, j = epochs.index(c["epoch"]), widths.index(c["width"])
                grid[i, j] = REGIMES.index(c["regime"])
                notes[i, j] = (c["rr_train_mean"], c[f"{metric}_mean"])
        ax.imshow(grid, origin="lower", cmap=cmap, vmin=-0.5, vmax=2.5, aspect="auto")
        ax.add_collection(LineCollection(_boundaries(grid), colors="black", linewidths=2))
        for (i, j), (rr, acc) in notes.items():
            ax.text(j, i, f"{rr:.2f}\n{acc:.2f}", ha="center", va="center", fontsize=5)
        ax.set_xticks(range(len(widths)), [str(w) for w in widths], fontsize=7)
        ax.set_yticks(range(len(epochs)), [str(e) for e in epochs], fontsize=7)
        ax.set_xlabel("width", fontsize=8)
        ax.set_title(f"sample size {'all' if size is None else size}", fontsize=9)
    axes[0].set_ylabel("training time (epochs)", fontsize=8)
    handles = [Patch(color=color, label=name) for color, name in zip(REGIME_COLORS, REGIMES)]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
    rule = f"cells: rr_train (top), {metric} (bottom)"
    if rr_threshold is not None and acc_threshold is not None:
        rule = (
            f"under: rr_train > {rr_threshold:g}; critically: {metric} < {acc_threshold:g}; "
            f"sufficiently: otherwise. {rule}"
        )
    fig.suptitle(f"{title + chr(10) if title else ''}{rule}", fontsize=8)
    if path is not None:
        from hashnet.plot import save

        save(fig, path)
    return fig


def _boundaries(grid):
    """Segments between neighbouring cells of different regimes (image coordinates)."""
    segments = []
    rows, cols = grid.shape
    for i in range(rows):
        for j in range(cols):
            here = grid[i, j]
            if np.isnan(here):
                continue
            if j + 1 < cols and not np.isnan(grid[i, j + 1]) and grid[i, j + 1] != here:
                segments.append([(j + 0.5, i - 0.5), (j + 0.5, i + 0.5)])
            if i + 1 < rows and not np.isnan(grid[i + 1, j]) and grid[i + 1, j] != here:
                segments.append([(j - 0.5, i + 0.5), (j + 0.5, i + 0.5)])
    return segments
