"""The study's figures in one call: run a sweep (resuming), write its tables, draw it.

    hn.experiments.reproduce("width", out="runs/width", quick=True)
    hn.experiments.phase_chart(out="runs/phase", quick=True, acc_threshold=0.7)

Files written into `out` (next to the records/ folder):
  <kind>.csv          one row per measured point (every repeat)
  <kind>_summary.csv  mean, std, min and max over the repeats of each point
  <kind>.png          the figure (hashnet.experiments.figures)
and for the phase chart also phase_cells.csv (one row per cell with its regime).
With `shard=` only the shard's records are computed: merge the shards, or run the same call
without `shard` once they are all done, to get the tables and figures.
"""

from __future__ import annotations

import json
from pathlib import Path

from hashnet._io import check_output_folder
from hashnet.experiments import phase as _phase
from hashnet.experiments.figures import plot_kind
from hashnet.experiments.grid import DEFAULTS, protocol_changes
from hashnet.experiments.runner import sweep
from hashnet.experiments.table import summarize, write_csv


def _titled(kind, rows):
    """The figure's title: the sweep, the data, the repeats and the protocol, with every
    departure from the protocol named (so a quick or edited run never passes for the study)."""
    first = rows[0]
    repeats = len({(r["seed"], r["repeat"]) for r in rows})
    title = f"{kind} sweep on {first['dataset']} ({repeats} repeat(s)), {protocol_label(rows)}"
    return title


def protocol_label(rows) -> str:
    """'study protocol', or 'study protocol except epochs 20 (200), ...', for a set of rows."""
    names = {r.get("protocol", "hashnet") for r in rows}
    changes = {}
    for row in rows:
        config = {k: row[k] for k in DEFAULTS if k in row}
        for key, (rule, value) in protocol_changes(config).items():
            changes.setdefault(key, (rule, set()))[1].add(json.dumps(value))
    label = " + ".join(sorted(names)) + " protocol"
    if len(names) == 1 and changes:
        parts = [
            f"{key} {'/'.join(sorted(values))} ({json.dumps(rule)})"
            for key, (rule, values) in changes.items()
        ]
        label += " except " + ", ".join(parts)
    return label


def _shard_note(kind, out, shard, verbose):
    if verbose:
        print(
            f"shard {shard} of the {kind} sweep is stored in {Path(out) / 'records'}; when all "
            f"shards are done, run the same command without --shard (or `python -m hashnet "
            f"merge`) for the tables and figures"
        )


def _sweep_and_tables(kind, out, shard, verbose, sweep_args):
    """Run (or resume) the sweep and write its two CSV files. Returns (rows, files), with
    files None for a shard: its tables come once every shard is done."""
    rows = sweep(kind, out, shard=shard, verbose=verbose, **sweep_args)
    if shard is not None:
        _shard_note(kind, out, shard, verbose)
        return rows, None
    out = Path(out)
    files = [
        write_csv(rows, out / f"{kind}.csv"),
        write_csv(summarize(rows), out / f"{kind}_summary.csv"),
    ]
    return rows, files


def reproduce(kind, out, *, shard=None, verbose=1, band="std", **sweep_args) -> dict:
    """Run the sweep `kind` into `out` and write its CSV files and figure.

    The arguments are those of `hashnet.experiments.sweep` (quick, repeats, jobs, threads,
    device, grid overrides, ...), plus `band` ("std" or "minmax", the shaded spread of the
    figure). Returns {"rows": [...], "files": [paths written]}.
    """
    if kind == "phase":
        raise ValueError("the phase sweep has its own figure: use phase_chart()")
    if band not in ("std", "minmax"):  # the figure comes last: check now, not after the sweep
        raise ValueError(f"band must be 'std' or 'minmax', got {band!r}")
    check_output_folder(out, "out")
    rows, files = _sweep_and_tables(kind, out, shard, verbose, sweep_args)
    if files is None:
        return {"rows": rows, "files": []}
    fig = plot_kind(kind, rows, band=band, title=_titled(kind, rows))
    files.append(_save(fig, Path(out) / f"{kind}.png"))
    if verbose:
        print("wrote " + ", ".join(str(f) for f in files))
    return {"rows": rows, "files": files}


def phase_chart(
    out,
    *,
    shard=None,
    verbose=1,
    metric=_phase.METRIC,
    rr_threshold=_phase.RR_THRESHOLD,
    acc_threshold=_phase.ACC_THRESHOLD,
    rule="threshold",
    tolerance=_phase.TOLERANCE,
    **sweep_args,
) -> dict:
    """Sweep width x training time x sample size, classify every cell, draw the phase chart.

    metric, rr_threshold, acc_threshold, rule, tolerance : hashnet's classification rule (the
        study gives none; see hashnet.experiments.phase)
    Other arguments as in `hashnet.experiments.sweep` (e.g. quick=True, width=[...],
    sample_size=[...], snapshots=[...] to change the cube). Returns {"rows", "cells", "files"}.
    """
    # The rule is applied once the sweep is done: a bad one must not waste the sweep.
    _phase.check_rule(metric, rr_threshold, acc_threshold, rule, tolerance)
    check_output_folder(out, "out")
    rows, files = _sweep_and_tables("phase", out, shard, verbose, sweep_args)
    if files is None:
        return {"rows": rows, "cells": [], "files": []}
    out = Path(out)
    cells = _phase.phase_cells(rows, metric, rr_threshold, acc_threshold, rule, tolerance)
    fig = _phase.plot_phase(
        cells,
        metric,
        rr_threshold,
        acc_threshold,
        title=_titled("phase", rows),
        rule=rule,
        tolerance=tolerance,
    )
    files += [
        write_csv(cells, out / "phase_cells.csv", fieldnames=_phase.cell_columns(metric)),
        _save(fig, out / "phase.png"),
    ]
    if verbose:
        counts = {r: sum(c["regime"] == r for c in cells) for r in _phase.REGIMES}
        print(f"regimes ({rule} rule): " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        changed = sum(c["regime_threshold"] != c["regime_saturation"] for c in cells)
        near = sum(c["near_threshold"] for c in cells)
        print(
            f"{changed} of {len(cells)} cells change regime between the threshold and the "
            f"saturation rule; {near} lie within the noise of a threshold"
        )
        print("wrote " + ", ".join(str(f) for f in files))
    return {"rows": rows, "cells": cells, "files": files}


def _save(fig, path):
    from hashnet.plot import save

    return save(fig, path)
