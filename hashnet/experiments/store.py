"""The result store: one JSON record per run, in `<out>/records/<config hash>.json`.

A *run* is one configuration (which includes its repeat index): one network trained once. Its
record holds the configuration and a list of *points*, one per measured epoch: a single point
for most sweeps, one per snapshot for a training-time sweep, all from the same run. The run is
the unit of work and of storage, so a record is either complete or absent:

* records are written atomically (a temporary file renamed into place), so a run killed
  half-way leaves nothing behind and is simply run again next time;
* the file name is the hash of the configuration, so rerunning a sweep finds what is done
  without any index file, and shards writing into one folder never touch the same file;
* every record is checked when read (a readable file of valid JSON, the expected keys, finite
  numbers, the hash of its configuration equal to its file name and to the hash stored
  inside, one point per snapshot). A record that fails is reported with its path and never
  used; the runner recomputes it.
"""

from __future__ import annotations

import json
import math
import numbers
import time
import warnings
from pathlib import Path

from hashnet import __version__
from hashnet._io import atomic_write_bytes
from hashnet.experiments.grid import config_hash, normalise_config
from hashnet.properties import MEASURES

FORMAT = "hashnet-sweep-record"
VERSION = 1
RECORDS = "records"
# Every point has these; each probe in the config's "probes" adds its own keys.
POINT_KEYS = ("epoch", "train_acc", "test_acc", "rr_train", "rr_test")
PROBE_KEYS = {"kmeans": ("kmeans_train", "kmeans_test"), "knn": ("knn_test",), "lr": ("lr_test",)}


class RecordError(ValueError):
    """A record file that cannot be used: unreadable, incomplete or not matching its name."""

    def __init__(self, path, reason):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def records_dir(out) -> Path:
    return Path(out) / RECORDS


def check_out(out) -> Path:
    """Raise ValueError when `out` cannot hold a result store: it, or its records/ entry, is
    there but is not a folder. Checked before any work, so that no run is lost at the end
    for want of a place to store its record."""
    out = Path(out)
    for path in (out, records_dir(out)):
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file, not a folder: it cannot hold sweep records")
    return out


def record_path(out, config) -> Path:
    """Where the record of `config` lives under the output folder `out`."""
    return records_dir(out) / f"{config_hash(config)}.json"


def _plain(value):
    """JSON-ready: NumPy scalars become Python numbers, NaN and infinity become None."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def write_record(out, config, result) -> Path:
    """Store the result of one run atomically and return the file's path.

    result : dict with "points" (a list of dicts, one per measured epoch, each with an
        "epoch" key and the encoding properties) and optionally "info" (anything else worth
        keeping, e.g. the training history or the measured label-noise fraction).
    """
    config = normalise_config(config)
    record = {
        "format": FORMAT,
        "version": VERSION,
        "config_hash": config_hash(config),
        "config": config,
        "points": _plain(result["points"]),
        "info": _plain(result.get("info", {})),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "hashnet_version": __version__,
    }
    check_record(record)
    text = json.dumps(record, indent=1, sort_keys=True, allow_nan=False) + "\n"
    path = record_path(out, config)
    if path.is_dir():
        _move_aside(path)
    return atomic_write_bytes(path, text.encode())


def _move_aside(path) -> Path:
    """Rename a folder found where a record belongs, so the record can be written there. It
    was reported as a damaged record when read; renaming it (instead of deleting it) keeps
    whatever it holds, and the new name does not end in .json, so it is no record."""
    n = 0
    target = path.with_name(f"{path.name}.damaged")
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(f"{path.name}.damaged{n}")
    path.rename(target)
    warnings.warn(
        f"moved the folder {path} out of the way of its record, to {target}", stacklevel=3
    )
    return target


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _finite(value) -> bool:
    """A number that is a finite float (an int too large for a float is not: the tables
    compute with floats)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _non_finite(record):
    """Where the first number of `record` that is not finite is (e.g. "points[2].rr_train"),
    or None. Python's json reads NaN and Infinity, which a record never holds (it stores
    None for them), so such a number comes from a hand edit. Walked with a stack, not by
    recursion, so a deeply nested value cannot exhaust the interpreter's stack."""
    stack = [("record", record)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}", v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in enumerate(value))
        elif _is_number(value) and not _finite(value):
            return where
    return None


def check_record(record, name=None) -> None:
    """Raise ValueError (a plain message) when `record` is not a complete, consistent record.

    name : the file name's stem, which must equal the configuration's hash.
    """
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, found {type(record).__name__}")
    where = _non_finite(record)
    if where is not None:
        raise ValueError(f"{where} is not a finite number")
    if record.get("format") != FORMAT or record.get("version") != VERSION:
        raise ValueError(
            f"not a {FORMAT} version {VERSION} (format {record.get('format')!r}, version "
            f"{record.get('version')!r})"
        )
    missing = [k for k in ("config", "config_hash", "points") if k not in record]
    if missing:
        raise ValueError(f"missing key(s) {missing}")
    try:
        config = normalise_config(record["config"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad configuration: {exc}") from None
    actual = config_hash(config)
    if record["config_hash"] != actual:
        raise ValueError(
            f"config hash mismatch: stored {record['config_hash']!r}, the configuration "
            f"hashes to {actual!r}"
        )
    if name is not None and name != actual:
        raise ValueError(f"config hash mismatch: file name {name!r}, configuration {actual!r}")
    points = record["points"]
    if not isinstance(points, list) or not points:
        raise ValueError("no measured points")
    needed = POINT_KEYS + tuple(k for p in config["probes"] for k in PROBE_KEYS[p])
    if config["random_inputs"]:
        needed += ("rr_random_train", "rr_random_test")
    for point in points:
        if not isinstance(point, dict):
            raise ValueError("a point is not a JSON object")
        lacking = [k for k in needed if k not in point]
        if lacking:
            raise ValueError(f"point at epoch {point.get('epoch')} lacks {lacking}")
        # The summaries and figures compute with these: numbers, or None for a value that
        # was not finite (a diverged loss).
        for key, value in point.items():
            if key in needed or key in MEASURES or key.startswith("time_"):
                if value is not None and not _is_number(value):
                    raise ValueError(f"point at epoch {point['epoch']}: {key} = {value!r}")
    info = record.get("info", {})
    if not isinstance(info, dict):
        raise ValueError("'info' is not a JSON object")
    epochs = [p["epoch"] for p in points]
    expected = config["snapshots"] or [config["epochs"]]
    skipped = info.get("missing_snapshots", [])  # written by earlier versions of the runner
    if not isinstance(skipped, list):
        raise ValueError(f"info.missing_snapshots = {skipped!r} is not a list")
    if epochs != [e for e in expected if e not in skipped]:
        raise ValueError(f"points at epochs {epochs}, expected {expected}")


def read_record(path) -> dict:
    """Read and check one record file; raise RecordError (with the path) when it is unusable.

    This is the one place a stored record is read: whatever is found where a record should
    be (a folder, an unreadable file, bytes that are not JSON, JSON nested too deeply to
    parse, a hand edit) ends as a RecordError, which the callers report and then recompute
    or leave out, never a traceback.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except IsADirectoryError:
        raise RecordError(path, "a folder, not a record file") from None
    except UnicodeDecodeError as exc:
        raise RecordError(path, f"not UTF-8 text ({exc})") from None
    except OSError as exc:
        raise RecordError(path, f"cannot be read ({exc.strerror or exc})") from None
    try:
        record = json.loads(text)
    except RecursionError:
        raise RecordError(path, "bad JSON, nested too deeply to be a record") from None
    except ValueError as exc:  # JSONDecodeError, or an integer too long to convert
        raise RecordError(path, f"bad JSON, perhaps a partial file ({exc})") from None
    try:
        check_record(record, name=path.stem)
        record["config"] = normalise_config(record["config"])
    except RecursionError:  # copying a deeply nested configuration value
        raise RecordError(path, "a value nested too deeply to be a record") from None
    except ValueError as exc:
        raise RecordError(path, str(exc)) from None
    return record


def lookup(out, config):
    """(record, None) if `config` has a valid record under `out`, (None, None) if it has none,
    and (None, RecordError) if its file is there but unusable."""
    path = record_path(out, config)
    if not path.exists():
        return None, None
    try:
        return read_record(path), None
    except RecordError as exc:
        return None, exc


def scan(*folders):
    """All records under the given output folders: (records, problems).

    records : valid records; a configuration found in several folders is kept once (the first)
    problems : a RecordError for each unusable file. Temporary files of writes in progress
        (names starting with '.') are not records and are skipped.
    """
    records, problems, seen = [], [], set()
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"no output folder {folder}")
        for path in sorted(records_dir(folder).glob("*.json")):
            if path.name.startswith("."):
                continue
            try:
                record = read_record(path)
            except RecordError as exc:
                problems.append(exc)
                continue
            if record["config_hash"] not in seen:
                seen.add(record["config_hash"])
                records.append(record)
    return records, problems


def report(problems, action="not used") -> None:
    """Warn once per unusable record file, naming its path and what is wrong."""
    for problem in problems:
        warnings.warn(f"damaged record {problem.path} ({action}): {problem.reason}", stacklevel=3)
