"""The study's sweep figures: encoding properties against the swept quantity.

Each figure has one row of two panels per group of runs (e.g. one row per width in the
training-time sweep):

* left, *determinism*: the redundancy ratio of the training and of the test codes
  (0 = every example alone in its linear region);
* right, *categorization*: the accuracy of K-Means (train and test codes), K-NN and logistic
  regression on the codes, with the network's own train and test accuracy for reference.

Lines are means over the repeats; the shaded band is one standard deviation either side
(band="std") or the range from the minimum to the maximum (band="minmax").
Functions return a matplotlib Figure (Agg, never shown) and save it when given `path=`.
"""

from __future__ import annotations

import json

import numpy as np
from matplotlib.figure import Figure

from hashnet.experiments.grid import CHOICES, DEFAULTS
from hashnet.experiments.table import summarize
from hashnet.plot import save

DETERMINISM = (
    ("rr_train", "train codes"),
    ("rr_test", "test codes"),
    ("rr_train_subset", "train codes, as many as test"),
    ("rr_random_train", "random inputs (train-sized)"),
    ("rr_random_test", "random inputs (test-sized)"),
)
CATEGORIZATION = (
    ("kmeans_train", "K-Means (train)"),
    ("kmeans_test", "K-Means (test)"),
    ("knn_test", "K-NN (test)"),
    ("lr_test", "logistic (test)"),
    ("train_acc", "network (train)"),
    ("test_acc", "network (test)"),
    ("knn_test_untrained", "K-NN, untrained codes"),
)
_STYLE = {
    "rr_train": ("#0072B2", "-"),
    "rr_test": ("#D55E00", "-"),
    "rr_train_subset": ("#0072B2", "--"),
    "rr_random_train": ("#0072B2", ":"),
    "rr_random_test": ("#D55E00", ":"),
    "kmeans_train": ("#009E73", "--"),
    "kmeans_test": ("#009E73", "-"),
    "knn_test": ("#0072B2", "-"),
    "lr_test": ("#CC79A7", "-"),
    "train_acc": ("#999999", "--"),
    "test_acc": ("#000000", ":"),
    "knn_test_untrained": ("#999999", "-."),
}
_LABELS = {
    "width": "width (hidden units in total)",
    "depth": "depth (hidden layers)",
    "epoch": "training time (epochs)",
    "sample_size": "training sample size",
    "label_noise": "label noise (fraction of training labels changed)",
    "weight_decay": "weight decay (L2)",
    "dropout": "dropout rate",
    "batchnorm": "batch normalisation",
    "model": "network",
}
# kind -> (x key, x scale): what each sweep plots its points against.
SWEEP_AXES = {
    "width": ("width", "log"),
    "width-deep": ("width", "log"),
    "depth": ("depth", "linear"),
    "time": ("epoch", "symlog"),
    "samples": ("sample_size", "log"),
    "noise": ("label_noise", "linear"),
    "random": ("epoch", "symlog"),
    "random-training": ("epoch", "symlog"),
    "phase": ("epoch", "symlog"),
}
# Regularization: one row per regularizer, each with the others switched off.
REGULARIZERS = (("weight_decay", "symlog"), ("dropout", "linear"), ("batchnorm", "linear"))
_OFF = {"weight_decay": 0.0, "dropout": 0.0, "batchnorm": False}


def _groups(summary, x, by):
    """{group label: summary rows sorted by x} for the distinct values of the keys `by`."""
    groups = {}
    for row in sorted(summary, key=lambda r: [_rank(k, r.get(k)) for k in by]):
        label = ", ".join(f"{k}={_fmt(row.get(k))}" for k in by)
        groups.setdefault(label, []).append(row)
    for rows in groups.values():
        rows.sort(key=lambda r: float(r[x]))
    return groups


def _rank(key, value):
    """Order groups by value, categorical ones as listed in CHOICES (the plain setting first:
    real inputs before uniform noise, real labels before random ones)."""
    if key in CHOICES and value in CHOICES[key]:
        return (0, CHOICES[key].index(value), "")
    if isinstance(value, (bool, int, float)):
        return (1, float(value), "")
    return (2, 0, json.dumps(value))


def _fmt(value):
    if isinstance(value, list):
        return json.dumps(value)
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


def _draw_panel(ax, rows, x, metrics, band, scale, ylabel):
    xs = np.array([float(r[x]) for r in rows])
    for key, label in metrics:
        if all(r.get(f"{key}_mean") is None for r in rows):
            continue  # that probe was not run
        mean = np.array([_num(r.get(f"{key}_mean")) for r in rows])
        if band == "minmax":
            low = np.array([_num(r.get(f"{key}_min")) for r in rows])
            high = np.array([_num(r.get(f"{key}_max")) for r in rows])
        else:
            std = np.array([_num(r.get(f"{key}_std")) for r in rows])
            low, high = mean - std, mean + std
        color, dash = _STYLE[key]
        ax.plot(xs, mean, dash, color=color, marker="o", markersize=3, label=label)
        ax.fill_between(xs, low, high, color=color, alpha=0.18, linewidth=0)
    if scale == "symlog":  # a log axis that also shows 0 (epoch 0, no weight decay)
        positive = xs[xs > 0]
        ax.set_xscale("symlog", linthresh=float(positive.min()) if positive.size else 1.0)
    elif scale == "log":
        ax.set_xscale("log")
    if scale != "linear":
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    if scale == "linear" and x in ("width", "depth", "epoch", "sample_size"):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if x == "batchnorm":
        ax.set_xticks([0, 1], ["off", "on"])
        ax.set_xlim(-0.3, 1.3)
    ax.set_xlabel(_LABELS.get(x, x), fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)


def _num(value):
    return np.nan if value is None else float(value)


def _draw_rows(fig, grid_rows, band):
    """grid_rows: list of (title, summary rows, x, scale); one row of two panels each."""
    axes = fig.subplots(len(grid_rows), 2, squeeze=False)
    for (title, rows, x, scale), (left, right) in zip(grid_rows, axes):
        _draw_panel(left, rows, x, DETERMINISM, band, scale, "redundancy ratio")
        _draw_panel(right, rows, x, CATEGORIZATION, band, scale, "accuracy")
        classes = [r.get("n_classes_mean") for r in rows if r.get("n_classes_mean")]
        if classes:  # what guessing scores: the floor of every accuracy
            right.axhline(1 / max(classes), color="#999999", linewidth=1, linestyle=":")
            right.text(
                0.01,
                1 / max(classes),
                " chance",
                transform=right.get_yaxis_transform(),
                fontsize=8,
                color="#666666",
                va="bottom",
            )
        left.set_ylim(bottom=-0.02)
        right.set_ylim(-0.02, 1.02)
        if title:
            left.set_title(f"determinism: {title}", fontsize=9)
            right.set_title(f"categorization: {title}", fontsize=9)
    axes[0][0].legend(fontsize=8, loc="best")
    axes[0][1].legend(fontsize=8, loc="lower right", ncol=2)
    return axes


def plot_sweep(rows, x, by=None, band="std", scale="linear", path=None, title=None):
    """Plot rows (from `sweep` or `load_results`) against the config key `x`.

    x : the swept quantity, e.g. "width", "epoch", "sample_size", "label_noise"
    by : keys that split the runs into groups, one row of panels each (default: every other
        configuration key that varies between the rows, such as the width of a time sweep)
    band : "std" (mean +- one standard deviation over repeats) or "minmax"
    scale : x axis "linear", "log" or "symlog" (log with 0 allowed, for epochs)
    """
    if band not in ("std", "minmax"):
        raise ValueError(f"band must be 'std' or 'minmax', got {band!r}")
    if not rows:
        raise ValueError("no rows to plot: the sweep has no stored results yet")
    summary = summarize(rows)
    if by is None:
        by = _other_varying(summary, x)
    groups = _groups(summary, x, by)
    fig = Figure(figsize=(10, 3.2 * len(groups) + 0.6), layout="constrained")
    _draw_rows(fig, [(label, g, x, scale) for label, g in groups.items()], band)
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def _other_varying(summary, x):
    keys = [k for k in DEFAULTS if k not in ("repeat", "seed", "snapshots", "sweep")] + ["epoch"]
    return [
        k
        for k in keys
        if k != x and len({json.dumps(r.get(k), sort_keys=True) for r in summary}) > 1
    ]


def plot_regularization(rows, band="std", path=None, title=None):
    """The regularization sweep: one row per regularizer (weight decay, dropout, batch norm),
    each drawn from the runs where the other two are off."""
    summary = summarize(rows)
    grid_rows = []
    for key, scale in REGULARIZERS:
        others = {k: v for k, v in _OFF.items() if k != key}
        chosen = [r for r in summary if all(r.get(k) == v for k, v in others.items())]
        if len({json.dumps(r.get(key)) for r in chosen}) < 2:
            continue  # this regularizer was not swept
        for label, group in _groups(chosen, key, _other_varying(chosen, key)).items():
            grid_rows.append((f"{_LABELS[key]}{', ' + label if label else ''}", group, key, scale))
    if not grid_rows:
        raise ValueError("no regularizer takes two values in these rows")
    fig = Figure(figsize=(10, 3.2 * len(grid_rows) + 0.6), layout="constrained")
    _draw_rows(fig, grid_rows, band)
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def plot_models(rows, band="std", path=None, title=None):
    """The CNN records: one group of bars per model (the study's table of CNNs, drawn), the
    error bars one standard deviation (band="std") or the range over repeats ("minmax").

    Runs measured at several epochs or widths are drawn as curves against them instead, one
    row per model (a training-time or width sweep of CNNs)."""
    summary = summarize(rows)
    for x, scale in (("epoch", "symlog"), ("width", "log")):
        values = {}  # model -> the values of x it was measured at
        for r in summary:
            values.setdefault(r.get("model"), set()).add(r.get(x))
        if any(len(v) > 1 for v in values.values()):
            return plot_sweep(rows, x, band=band, scale=scale, path=path, title=title)
    summary.sort(key=lambda r: _rank("model", r.get("model")))
    names = [f"{r.get('model')} (width {r.get('width')})" for r in summary]
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metrics, ylabel in (
        (axes[0], DETERMINISM, "redundancy ratio"),
        (axes[1], CATEGORIZATION, "accuracy"),
    ):
        shown = [
            (k, label)
            for k, label in metrics
            if any(r.get(f"{k}_mean") is not None for r in summary)
        ]
        step = 0.8 / max(len(shown), 1)
        for i, (key, label) in enumerate(shown):
            xs = np.arange(len(summary)) + (i - (len(shown) - 1) / 2) * step
            mean = np.array([_num(r.get(f"{key}_mean")) for r in summary])
            if band == "minmax":
                low = mean - np.array([_num(r.get(f"{key}_min")) for r in summary])
                high = np.array([_num(r.get(f"{key}_max")) for r in summary]) - mean
                err = np.vstack([low, high])
            else:
                err = np.nan_to_num(np.array([_num(r.get(f"{key}_std")) for r in summary]))
            bars = ax.bar(
                xs,
                mean,
                step,
                yerr=err,
                label=label,
                color=_STYLE[key][0],
                alpha=0.5 if _STYLE[key][1] != "-" else 0.9,
            )
            if metrics is DETERMINISM:  # ratios near 0 draw no bar: write them
                ax.bar_label(bars, fmt="%.3f", fontsize=6, rotation=90, padding=2)
        ax.set_xticks(np.arange(len(summary)), names, fontsize=8)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3)
    axes[1].set_ylim(0, 1.02)
    if title:
        fig.suptitle(title)
    if path is not None:
        save(fig, path)
    return fig


def plot_kind(kind, rows, band="std", path=None, title=None):
    """The figure of one sweep kind, in the study's layout."""
    if kind == "regularization":
        return plot_regularization(rows, band=band, path=path, title=title)
    if kind == "cnn":
        return plot_models(rows, band=band, path=path, title=title)
    if kind not in SWEEP_AXES:
        raise ValueError(f"no figure layout for {kind!r}; known: {sorted(SWEEP_AXES)}")
    x, scale = SWEEP_AXES[kind]
    return plot_sweep(rows, x, band=band, scale=scale, path=path, title=title)
