"""The activation hash phase chart: width x training time x sample size, in three regimes.

The study draws three regimes (under-, critically- and sufficiently-expressive) but gives no
numeric rule for telling them apart. The rules here are **hashnet's** way of making them
precise, not the study's; the chart says so, and shows where the choice matters.

Every cell of the cube (a width, a snapshot epoch, a sample size) is classified from the mean
over its repeats of two numbers: the training redundancy ratio and a categorization accuracy
(the `metric`, K-NN on the test codes by default).

* **under-expressive**: rr_train > rr_threshold. The codes do not separate the training
  examples: many share their linear region (small networks, short training, many examples).
* **critically-expressive**: rr_train <= rr_threshold, but the codes do not yet categorize
  well, by one of two rules:
  - rule="threshold": the metric is below `acc_threshold` (an absolute accuracy, which has to
    suit the data set: a few points below what well-trained networks reach on it);
  - rule="saturation": the metric is more than `tolerance` below the best mean accuracy of
    any cell with the same sample size (it has not saturated along width and training time).
    No hand-tuned absolute accuracy, but it depends on how far the cube reaches.
* **sufficiently-expressive**: otherwise. Unique codes that categorize.

Every cell carries both rules' regimes (`regime`, by the chosen rule, and `regime_threshold`,
`regime_saturation`), and `near_threshold`: whether its rr_train or its metric lies within two
standard errors of a threshold it is compared with. The standard error is the larger of the
spread over repeats (std / sqrt(repeats)) and the binomial error of one measurement on that
many examples, sqrt(p (1 - p) / N): one repeat on 1000 test images cannot tell 0.748 from
0.751. The chart marks cells whose regime differs between the rules (*) and near-threshold
cells (~). It is drawn from the stored records, so trying other rules recomputes nothing.
"""

from __future__ import annotations

import numbers

import numpy as np
from matplotlib.figure import Figure

from hashnet.experiments.table import summarize

REGIMES = ("under-expressive", "critically-expressive", "sufficiently-expressive")
# Colour-blind-safe (Okabe-Ito): vermillion, yellow, bluish green.
REGIME_COLORS = ("#D55E00", "#F0E442", "#009E73")
RR_THRESHOLD = 0.05
ACC_THRESHOLD = 0.75
TOLERANCE = 0.02
RULES = ("threshold", "saturation")
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


def check_rule(
    metric=METRIC,
    rr_threshold=RR_THRESHOLD,
    acc_threshold=ACC_THRESHOLD,
    rule="threshold",
    tolerance=TOLERANCE,
) -> None:
    """Raise ValueError (TypeError for a non-number) unless `metric` is one of METRICS, `rule`
    one of RULES and the thresholds and tolerance fractions in [0, 1]; NaN is not one."""
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    values = (("rr_threshold", rr_threshold), ("acc_threshold", acc_threshold))
    for name, value in (*values, ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not 0 <= value <= 1:  # also False for NaN
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value!r}")


def _standard_error(mean, std, n, size):
    """The larger of the spread over repeats and the binomial error of one measurement of a
    proportion on `size` examples (0 where a number is missing)."""
    spread = (std or 0.0) / np.sqrt(n) if n and n > 1 else 0.0
    binomial = np.sqrt(mean * (1 - mean) / size) if size else 0.0
    return max(spread, binomial)


def phase_cells(
    rows,
    metric=METRIC,
    rr_threshold=RR_THRESHOLD,
    acc_threshold=ACC_THRESHOLD,
    rule="threshold",
    tolerance=TOLERANCE,
):
    """Classify every (sample size, width, epoch) cell of the rows; returns one dict per cell.

    rows : measured points (from `sweep("phase", ...)` or `load_results`)
    metric : the categorization accuracy the rules look at: "knn_test" (default), "lr_test",
        "kmeans_test", "kmeans_train" or "test_acc"
    rule : "threshold" (metric below acc_threshold: critically-expressive) or "saturation"
        (metric more than `tolerance` below the best of its sample size); see the module
    Each cell holds the keys of CELL_COLUMNS, the mean and std over repeats of rr_train and of
    the metric, "regime" (by `rule`), "regime_threshold", "regime_saturation", and
    "near_threshold".
    """
    check_rule(metric, rr_threshold, acc_threshold, rule, tolerance)
    summary = summarize(rows, metrics=["rr_train", metric, "train_size", "test_size"])
    best = {}
    for row in summary:
        acc = row[f"{metric}_mean"]
        if row["rr_train_mean"] is None or acc is None:
            raise ValueError(f"a cell lacks rr_train or {metric}; was that probe run?")
        size = row.get("sample_size")
        best[size] = max(best.get(size, 0.0), acc)
    cells = []
    train_side = metric in ("kmeans_train",)
    for row in summary:
        rr, acc = row["rr_train_mean"], row[f"{metric}_mean"]
        cell = {k: row.get(k) for k in CELL_COLUMNS}
        for name in ("rr_train", metric):
            cell[f"{name}_mean"], cell[f"{name}_std"] = row[f"{name}_mean"], row[f"{name}_std"]
        saturated_at = best[row.get("sample_size")] - tolerance
        cell["regime_threshold"] = classify_regime(rr, acc, rr_threshold, acc_threshold)
        cell["regime_saturation"] = classify_regime(rr, acc, rr_threshold, saturated_at)
        cell["regime"] = cell[f"regime_{rule}"]
        n = row.get("n")
        rr_se = _standard_error(rr, row["rr_train_std"], n, row.get("train_size_mean"))
        size = row.get("train_size_mean" if train_side else "test_size_mean")
        acc_se = _standard_error(acc, row[f"{metric}_std"], n, size)
        near_rr = abs(rr - rr_threshold) <= 2 * rr_se
        near_acc = rr <= rr_threshold and abs(acc - acc_threshold) <= 2 * acc_se
        cell["near_threshold"] = bool(near_rr or (rule == "threshold" and near_acc))
        cells.append(cell)
    return cells


def cell_columns(metric=METRIC):
    """Column order of the cells' CSV."""
    stats = [f"{n}_{s}" for n in ("rr_train", metric) for s in ("mean", "std")]
    regimes = ["regime", "regime_threshold", "regime_saturation", "near_threshold"]
    return [*CELL_COLUMNS, *stats, *regimes]


def plot_phase(
    cells,
    metric=METRIC,
    rr_threshold=None,
    acc_threshold=None,
    path=None,
    title=None,
    rule="threshold",
    tolerance=TOLERANCE,
):
    """Draw the phase chart: one panel per sample size, width on x, epochs on y, each cell
    coloured by its regime (by `rule`), with black lines on the boundaries between regimes.
    Each cell is annotated with its rr_train (top) and metric (bottom) means, * where the two
    rules disagree and ~ where a threshold is within the noise."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if not cells:
        raise ValueError("no cells to draw: the phase sweep has no stored results yet")
    sizes = sorted({c["sample_size"] for c in cells}, key=lambda s: -1 if s is None else s)
    widths = sorted({c["width"] for c in cells})
    epochs = sorted({c["epoch"] for c in cells})
    fig = Figure(figsize=(0.75 * len(widths) * len(sizes) + 2.0, 0.6 * len(epochs) + 2.2))
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
                changed = c["regime_threshold"] != c["regime_saturation"]
                mark = ("*" if changed else "") + ("~" if c["near_threshold"] else "")
                notes[i, j] = (c["rr_train_mean"], c[f"{metric}_mean"], mark)
        ax.imshow(grid, origin="lower", cmap=cmap, vmin=-0.5, vmax=2.5, aspect="auto")
        ax.add_collection(LineCollection(_boundaries(grid), colors="black", linewidths=2))
        for (i, j), (rr, acc, mark) in notes.items():
            text = f"{rr:.2f}\n{acc:.2f}{mark}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(widths)), [str(w) for w in widths], fontsize=8)
        ax.set_yticks(range(len(epochs)), [str(e) for e in epochs], fontsize=8)
        ax.set_xlabel("width", fontsize=8)
        ax.set_title(f"sample size {'all' if size is None else size}", fontsize=9)
    axes[0].set_ylabel("training time (epochs)", fontsize=8)
    handles = [Patch(color=color, label=name) for color, name in zip(REGIME_COLORS, REGIMES)]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
    text = (
        f"cells: rr_train (top), {metric} (bottom); * regime differs between the two rules, "
        "~ within 2 standard errors of a threshold"
    )
    if rr_threshold is not None and acc_threshold is not None:
        if rule == "saturation":
            critical = f"{metric} more than {tolerance:g} below the best of its sample size"
        else:
            critical = f"{metric} < {acc_threshold:g}"
        text = (
            f"hashnet's rule ({rule}; the study gives none): under: rr_train > "
            f"{rr_threshold:g}; critically: {critical}; sufficiently: otherwise\n{text}"
        )
    fig.suptitle(f"{title + chr(10) if title else ''}{text}", fontsize=8)
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
