"""Tables: records flattened into rows, summaries over repeats, and CSV files.

A *row* is one measured point: the run's configuration, the epoch, and the encoding
properties, in one flat dict. `summarize` groups rows that differ only in their seeds (the
repeats) and gives each property's mean, standard deviation, minimum and maximum. Rows are
sorted by their values, not by the order files were found, so a sweep run in shards and merged
gives the same table as the same sweep run in one go.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from hashnet._io import atomic_write_bytes
from hashnet.experiments.grid import DEFAULTS
from hashnet.experiments.store import check_out, lookup, report, scan, write_record
from hashnet.properties import MEASURES

_ROW_ONLY = ("snapshots",)  # per-run settings that the rows' "epoch" column already says
_EXTRA = ("label_noise_actual", "seconds", "config_hash")


def rows_from_records(records) -> list[dict]:
    """One row per point of every record, sorted by configuration, repeat and epoch."""
    rows = []
    for record in records:
        config = {k: v for k, v in record["config"].items() if k not in _ROW_ONLY}
        info = record.get("info", {})
        extra = {k: info[k] for k in ("label_noise_actual", "seconds") if k in info}
        for point in record["points"]:
            rows.append({**config, **point, **extra, "config_hash": record["config_hash"]})
    rows.sort(key=_row_key)
    return rows


def _sortable(value):
    """Order None < numbers < strings < lists, numbers by value."""
    if value is None:
        return (0, 0, "")
    if isinstance(value, (bool, int, float)):
        return (1, float(value), "")
    if isinstance(value, str):
        return (2, 0, value)
    return (3, 0, json.dumps(value, sort_keys=True))


def _row_key(row):
    keys = [k for k in DEFAULTS if k not in ("repeat", "seed")]
    return tuple(_sortable(row.get(k)) for k in (*keys, "seed", "repeat", "epoch"))


def load_results(*folders, strict=False) -> list[dict]:
    """All measured points stored under one or more output folders, as a list of rows.

    Damaged record files are reported (a warning naming each path and what is wrong) and
    left out; with strict=True the first one raises instead.
    """
    records, problems = scan(*folders)
    if problems and strict:
        raise problems[0]
    report(problems)
    return rows_from_records(records)


def columns(rows) -> list[str]:
    """The columns of `rows` in a reading order: configuration, epoch, metrics, timings."""
    present = {k for row in rows for k in row}
    config = [k for k in DEFAULTS if k in present and k not in _ROW_ONLY]
    metrics = [k for k in ("epoch", *MEASURES) if k in present]
    taken = set(config) | set(metrics) | set(_EXTRA)
    other = sorted(k for k in present - taken if not k.startswith("time_"))
    times = sorted(k for k in present - taken if k.startswith("time_"))
    return config + metrics + other + times + [k for k in _EXTRA if k in present]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def write_csv(rows, path, fieldnames=None) -> Path:
    """Write rows to a CSV file atomically (lists as JSON, None as an empty cell)."""
    _check_table_path(path)
    fieldnames = columns(rows) if fieldnames is None else list(fieldnames)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fieldnames)
    for row in rows:
        writer.writerow([_cell(row.get(k)) for k in fieldnames])
    return atomic_write_bytes(path, buffer.getvalue().encode())


def _check_table_path(path) -> None:
    """A folder where a table should go would only fail at the final rename, with an OS
    error; say what is wrong instead."""
    if path is not None and Path(path).is_dir():
        raise ValueError(f"cannot write the table {path}: it is a folder")


def summarize(rows, metrics=None) -> list[dict]:
    """Mean, std, min and max of every metric over the repeats of each point.

    Rows are grouped by all configuration keys except `repeat` and `seed`, plus the epoch.
    Each summary row holds those keys, `n` (the number of repeats) and, per metric m,
    `m_mean`, `m_std` (sample standard deviation, 0 for a single repeat), `m_min`, `m_max`.
    Missing values (None, e.g. a loss that diverged) are left out of the statistics.
    """
    if metrics is None:
        metrics = [k for k in columns(rows) if k in MEASURES or k.startswith("time_")]
    keys = [k for k in DEFAULTS if k not in ("repeat", "seed", *_ROW_ONLY)] + ["epoch"]
    groups = {}
    for row in rows:
        ident = json.dumps([row.get(k) for k in keys])
        groups.setdefault(ident, []).append(row)
    summary = []
    for members in groups.values():
        out = {k: members[0].get(k) for k in keys}
        out["n"] = len(members)
        for m in metrics:
            values = [float(r[m]) for r in members if r.get(m) is not None]
            out.update(_stats(m, values))
        summary.append(out)
    summary.sort(key=_row_key)
    return summary


def _stats(name, values):
    if not values:
        return {f"{name}_{s}": None for s in ("mean", "std", "min", "max")}
    mean = math.fsum(values) / len(values)
    var = math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0
    return {
        f"{name}_mean": mean,
        f"{name}_std": math.sqrt(var),
        f"{name}_min": min(values),
        f"{name}_max": max(values),
    }


def merge(*folders, csv_path=None, into=None, summary_path=None) -> list[dict]:
    """Collect the records of one or more output folders (e.g. one per shard or per machine).

    csv_path : write all points to this CSV (one row per point of each run)
    summary_path : write the mean/std/min/max over repeats to this CSV
    into : copy every valid record into this output folder (skipping those it already holds
        a valid copy of), so the figures can be drawn there by rerunning the sweep, which
        then has nothing to compute
    Damaged files are reported with their path and left out. Returns the rows. Raises
    ValueError, before writing anything, when the folders hold no valid record at all (a
    mistyped folder would otherwise give an empty table and look like success), or when a
    destination cannot be written (a table path that is a folder, an `into` that is a file).
    """
    _check_table_path(csv_path)
    _check_table_path(summary_path)
    if into is not None:
        check_out(into)
    records, problems = scan(*folders)
    report(problems)
    if not records:
        damaged = f" ({len(problems)} damaged, see the warnings)" if problems else ""
        raise ValueError(
            f"no records found in {', '.join(str(f) for f in folders)}{damaged}: each output "
            f"folder keeps its records in <folder>/records/*.json"
        )
    if into is not None:
        for record in records:
            stored, _ = lookup(into, record["config"])
            if stored is None:  # absent, or damaged there: the valid copy takes its place
                write_record(into, record["config"], record)
    rows = rows_from_records(records)
    if csv_path is not None:
        write_csv(rows, csv_path)
    if summary_path is not None:
        write_csv(summarize(rows), summary_path)
    return rows
