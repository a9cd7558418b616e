"""The experiment commands of `python -m hashnet`: reproduce, phase, merge (alias table).

python -m hashnet reproduce width --quick --out runs/width
python -m hashnet reproduce time --dataset fashion-mnist --jobs 2 --out runs/time
python -m hashnet reproduce samples --shard 3/16 --out runs/samples     # one array task
python -m hashnet phase --quick --acc-threshold 0.7 --out runs/phase
python -m hashnet merge runs/width-node* --csv width.csv --into runs/width

Only argument handling lives here; the work is in the other modules of this package. This
module imports nothing heavy, so `python -m hashnet --help` stays quick.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from hashnet.experiments.grid import DEFAULTS, KINDS

_PHASE = {"metric": "knn_test", "rr": 0.05, "acc": 0.75}  # kept equal to phase.py's defaults


def _value(text):
    """A --set value: int, float, true/false, none, or else the text itself."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_settings(items) -> dict:
    """['width=10,20', 'epochs=5'] -> {'width': [10, 20], 'epochs': 5}."""
    settings = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in DEFAULTS:
            raise SystemExit(
                f"--set expects KEY=VALUE with KEY one of: {', '.join(DEFAULTS)}; got {item!r}"
            )
        values = [_value(part) for part in text.split(",")]
        many = len(values) > 1 or key in ("snapshots", "probes")
        settings[key] = values if many else values[0]
    return settings


def _common(parser):
    parser.add_argument("--out", required=True, help="output folder (records, CSV, figures)")
    parser.add_argument("--dataset", help="data set name (default: the preset's)")
    parser.add_argument("--quick", action="store_true", help="the small laptop preset")
    parser.add_argument("--repeats", type=int, help="runs per point (default: the preset's)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--threads", type=int, help="BLAS/Numba threads per worker")
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="train and probe on the GPU"
    )
    parser.add_argument("--shard", help="K/N: run only configurations with index %% N == K-1")
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="override a config key; a comma list sweeps it (e.g. --set width=10,20)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def add_commands(sub) -> None:
    """Add the reproduce, phase and merge sub-commands to an argparse sub-parsers object."""
    reproduce = sub.add_parser(
        "reproduce", help="run one of the study's sweeps and draw its figure (resumable)"
    )
    reproduce.add_argument("kind", choices=[k for k in KINDS if k != "phase"])
    _common(reproduce)
    reproduce.add_argument("--band", choices=["std", "minmax"], default="std")
    reproduce.set_defaults(handler=_reproduce)

    phase = sub.add_parser(
        "phase", help="sweep width x time x sample size and draw the phase chart (resumable)"
    )
    _common(phase)
    phase.add_argument(
        "--metric",
        default=_PHASE["metric"],
        choices=["knn_test", "lr_test", "kmeans_test", "kmeans_train", "test_acc"],
        help="categorization accuracy used for the regimes (default knn_test)",
    )
    phase.add_argument(
        "--rr-threshold",
        type=float,
        default=_PHASE["rr"],
        help="rr_train above this: under-expressive (default 0.05)",
    )
    phase.add_argument(
        "--acc-threshold",
        type=float,
        default=_PHASE["acc"],
        help="metric below this (and rr_train low): critically-expressive (default 0.75)",
    )
    phase.set_defaults(handler=_phase)

    merge = sub.add_parser(
        "merge", aliases=["table"], help="collect the records of output folders into a CSV"
    )
    merge.add_argument("folders", nargs="+", help="output folders (each with records/)")
    merge.add_argument("--csv", required=True, help="write every point to this CSV file")
    merge.add_argument("--summary", help="also write mean/std/min/max over repeats here")
    merge.add_argument("--into", help="also copy the records into this output folder")
    merge.set_defaults(handler=_merge)


def _grid(args) -> dict:
    grid = parse_settings(args.set)
    if args.dataset is not None:
        grid["dataset"] = args.dataset
    return dict(
        out=args.out,
        quick=args.quick,
        repeats=args.repeats,
        jobs=args.jobs,
        shard=args.shard,
        threads=args.threads,
        verbose=0 if args.quiet else 1,
        device=args.device,
        **grid,
    )


def _reproduce(args) -> int:
    from hashnet.experiments.study import reproduce

    kwargs = _grid(args)
    reproduce(args.kind, kwargs.pop("out"), band=args.band, **kwargs)
    return 0


def _phase(args) -> int:
    from hashnet.experiments.study import phase_chart

    phase_chart(
        metric=args.metric,
        rr_threshold=args.rr_threshold,
        acc_threshold=args.acc_threshold,
        **_grid(args),
    )
    return 0


def _merge(args) -> int:
    from hashnet.experiments.table import merge

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = merge(*args.folders, csv_path=args.csv, into=args.into, summary_path=args.summary)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"{len(rows)} points from {len({r['config_hash'] for r in rows})} runs -> {args.csv}")
    return 1 if caught else 0


def run(args) -> int:
    """Call the handler argparse chose; bad values become a one-line error, not a traceback."""
    try:
        return args.handler(args)
    except (ValueError, FileNotFoundError) as exc:
        raise SystemExit(f"error: {exc}") from None


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="python -m hashnet.experiments.cli")
    add_commands(parser.add_subparsers(dest="command", required=True))
    sys.exit(run(parser.parse_args()))
