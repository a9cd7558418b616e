"""The experiment commands of `python -m hashnet`: reproduce, phase, merge (alias table).

python -m hashnet reproduce width --quick --out runs/width
python -m hashnet reproduce time --dataset fashion-mnist --jobs 2 --out runs/time
python -m hashnet reproduce samples --shard 3/16 --out runs/samples     # one array task
python -m hashnet phase --quick --acc-threshold 0.7 --out runs/phase
python -m hashnet merge runs/width-node* --csv width.csv --into runs/width

Only argument handling lives here; the work is in the other modules of this package. This
module imports nothing heavy, so `python -m hashnet --help` stays quick. It also holds what
every command of hashnet shares: arguments are checked before any work starts, and a bad one
is reported as a single `error: ...` line on stderr with exit status 2 (`--debug` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

from hashnet._io import check_output_file, check_output_folder
from hashnet.experiments.grid import CNN_WIDTHS, DEFAULTS, KINDS, make_grid, select_shard

# Kept equal to phase.py's defaults (a test checks), so --help needs no heavy import.
_PHASE = {"metric": "knn_test", "rr": 0.05, "acc": 0.75, "rule": "threshold", "tolerance": 0.02}


# --- bad arguments: one line, exit status 2 ----------------------------------------------------


class UsageError(ValueError):
    """An argument that cannot work. The commands print it as one `error: ...` line and exit
    with status 2; from Python it is an ordinary ValueError."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse, except that a bad argument raises UsageError instead of printing the usage
    and exiting, so every command reports it the same way: one line, exit status 2."""

    def error(self, message):
        raise UsageError(f"{message} (see {self.prog} --help)")


# Errors that say the arguments (or the files they name) cannot work, rather than that hashnet
# has a bug: reported in one line. Anything else keeps its traceback.
_USER_ERRORS = (
    ValueError,
    TypeError,
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    NotADirectoryError,
    IsADirectoryError,
    ChildProcessError,  # a sweep's worker process died: resumable, not a bug
)


def is_user_error(exc) -> bool:
    """Whether `exc` is about the user's arguments or machine (one-line report) rather than a
    bug in hashnet (traceback)."""
    if isinstance(exc, _USER_ERRORS):
        return True
    device = sys.modules.get("hashnet.device")  # loaded already if it raised
    return device is not None and isinstance(exc, device.CUDAUnavailableError)


def one_line(exc) -> str:
    """The message of `exc` on one line: multi-line messages (a list of the places searched,
    say) are joined with "; ", and OS errors read "path: reason"."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        text = f"{exc.filename}: {exc.strerror}"
    else:
        text = str(exc)
    lines = [line.strip().removeprefix("- ") for line in text.splitlines()]
    text = ""
    for line in filter(None, lines):
        text += line if not text else (" " if text.endswith(":") else "; ") + line
    return text or type(exc).__name__


def run_main(parser, argv, act) -> int:
    """Parse `argv` with `parser` and return act(args), the exit status.

    A bad argument, or an error the arguments lead to (an unknown data set, a missing file, no
    GPU), is printed as one `error: ...` line on stderr and gives exit status 2; Ctrl-C gives
    130. With --debug (when `parser` has it) those raise instead, with their traceback, and
    errors that point at a bug in hashnet always do.
    """
    args = None
    try:
        args = parser.parse_args(argv)
        return act(args)
    except KeyboardInterrupt:
        if getattr(args, "debug", False):
            raise
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if getattr(args, "debug", False) or not is_user_error(exc):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2


def add_debug(parser, top=False) -> None:
    """--debug: show the traceback of an error instead of its one-line report. A sub-command's
    copy does not override the main parser's value unless given (SUPPRESS)."""
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="on an error, show the Python traceback instead of a one-line message",
    )


# --- argument types: checked while parsing, before any work -------------------------------------


def integer(minimum):
    """An argparse type: an integer >= minimum."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def real(low, high=None, *, low_open=False, high_open=False):
    """An argparse type: a finite number from `low` up to `high` (None: no upper end), each
    end included unless open."""
    if high is None:
        wanted = f"a finite number {'>' if low_open else '>='} {low:g}"
    else:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        wanted = f"a number in {left}{low:g}, {high:g}{right}"

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        inside = math.isfinite(value) and (value > low if low_open else value >= low)
        if high is not None:
            inside = inside and (value < high if high_open else value <= high)
        if not inside:
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {text}")
        return value

    parse.__name__ = wanted
    return parse


def check_dataset(name, images=False) -> None:
    """Check that the data set `name` can be loaded: a known name, and for the sets read from
    disk, files that are there (FileNotFoundError saying where to get them otherwise).
    images=True: a CNN will train on it, so it must hold images (the sets read from disk do)."""
    from hashnet import datasets

    try:
        datasets.find_data_dir(name)
    except ValueError:
        # Not a set read from files: generated or bundled (cheap to load two examples of; the
        # generators make at least two), or an unknown name, which load() reports.
        X = datasets.load(name, n_train=2, n_test=2, flatten=False)[0]
        if images and X.ndim != 4:
            raise ValueError(
                f"a CNN trains on images; data set {name!r} has none (use fashion-mnist, "
                "fashion-mnist-mini, mnist or cifar10)"
            ) from None


# --- the experiment commands ------------------------------------------------------------------


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


_SETTABLE = [key for key in DEFAULTS if key != "repeat"]  # repeats have their own option


def parse_settings(items) -> dict:
    """['width=10,20', 'epochs=5'] -> {'width': [10, 20], 'epochs': 5}."""
    settings = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip().replace("-", "_")
        if key == "repeat":
            raise UsageError("give the number of repeats as --repeats N, not --set repeat=...")
        if not sep or key not in DEFAULTS:
            raise UsageError(
                f"--set expects KEY=VALUE with KEY one of: {', '.join(_SETTABLE)}; got {item!r}"
            )
        values = [_value(part) for part in text.split(",")]
        many = len(values) > 1 or key in ("snapshots", "probes")
        settings[key] = values if many else values[0]
    return settings


def _common(parser):
    parser.add_argument("--out", required=True, help="output folder (records, CSV, figures)")
    parser.add_argument("--dataset", help="data set name (default: the preset's)")
    parser.add_argument("--quick", action="store_true", help="the small laptop preset")
    parser.add_argument("--repeats", type=integer(1), help="runs per point (default: the preset's)")
    parser.add_argument("--jobs", type=integer(1), default=1, help="worker processes (default 1)")
    parser.add_argument("--threads", type=integer(1), help="BLAS/Numba threads per worker")
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
    add_debug(parser)


def add_commands(sub) -> None:
    """Add the reproduce, phase and merge sub-commands to an argparse sub-parsers object."""
    reproduce = sub.add_parser(
        "reproduce", help="run a sweep (the study's protocol) and draw its figure (resumable)"
    )
    reproduce.add_argument("kind", choices=[k for k in KINDS if k != "phase"])
    _common(reproduce)
    reproduce.add_argument("--band", choices=["std", "minmax"], default="std")
    reproduce.add_argument(
        "--model",
        help="the network(s), comma-separated: mlp, or a CNN (" + ", ".join(CNN_WIDTHS) + "); "
        "the cnn sweep trains each CNN at its standard width",
    )
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
        type=real(0, 1),
        default=_PHASE["rr"],
        help="rr_train above this: under-expressive (default 0.05)",
    )
    phase.add_argument(
        "--acc-threshold",
        type=real(0, 1),
        default=_PHASE["acc"],
        help="rule=threshold: metric below this (and rr_train low): critically-expressive "
        "(default 0.75)",
    )
    phase.add_argument(
        "--rule",
        choices=["threshold", "saturation"],
        default=_PHASE["rule"],
        help="hashnet's rule for critically- vs sufficiently-expressive: an absolute accuracy "
        "threshold, or saturation (within --tolerance of the best of the sample size)",
    )
    phase.add_argument(
        "--tolerance",
        type=real(0, 1),
        default=_PHASE["tolerance"],
        help="rule=saturation: how far below the best accuracy still counts (default 0.02)",
    )
    phase.set_defaults(handler=_phase)

    merge = sub.add_parser(
        "merge", aliases=["table"], help="collect the records of output folders into a CSV"
    )
    merge.add_argument("folders", nargs="+", help="output folders (each with records/)")
    merge.add_argument("--csv", required=True, help="write every point to this CSV file")
    merge.add_argument("--summary", help="also write mean/std/min/max over repeats here")
    merge.add_argument("--into", help="also copy the records into this output folder")
    add_debug(merge)
    merge.set_defaults(handler=_merge)


def _grid(args) -> dict:
    grid = parse_settings(args.set)
    if args.dataset is not None:
        grid["dataset"] = args.dataset
    if getattr(args, "model", None) is not None:
        models = [m.strip() for m in args.model.split(",")]
        unknown = [m for m in models if m not in ("mlp", *CNN_WIDTHS)]
        if unknown or "model" in grid:
            raise UsageError(
                f"--model takes mlp or CNN names ({', '.join(CNN_WIDTHS)}), once; got "
                f"{args.model!r}"
            )
        grid["model"] = models if len(models) > 1 else models[0]
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


def _check_sweep(kind, kwargs) -> None:
    """Everything a sweep's arguments can get wrong, found before its first run: the output
    folder, the grid (--set values, --repeats), --shard, the data sets and the device."""
    check_output_folder(kwargs["out"])
    fixed = ("out", "quick", "repeats", "jobs", "shard", "threads", "verbose", "device")
    grid = {k: v for k, v in kwargs.items() if k not in fixed}
    configs = make_grid(kind, quick=kwargs["quick"], repeats=kwargs["repeats"], **grid)
    select_shard(configs, kwargs["shard"])
    for name in dict.fromkeys(c["dataset"] for c in configs):
        check_dataset(
            name, images=any(c["model"] != "mlp" for c in configs if c["dataset"] == name)
        )
    if kwargs["device"] != "cpu":
        from hashnet.device import check_device

        check_device(kwargs["device"])


def _reproduce(args) -> int:
    from hashnet.experiments.study import reproduce

    kwargs = _grid(args)
    _check_sweep(args.kind, kwargs)
    reproduce(args.kind, kwargs.pop("out"), band=args.band, **kwargs)
    return 0


def _phase(args) -> int:
    from hashnet.experiments.study import phase_chart

    kwargs = _grid(args)
    _check_sweep("phase", kwargs)
    phase_chart(
        metric=args.metric,
        rr_threshold=args.rr_threshold,
        acc_threshold=args.acc_threshold,
        rule=args.rule,
        tolerance=args.tolerance,
        **kwargs,
    )
    return 0


def _merge(args) -> int:
    from hashnet.experiments.table import merge

    # Checked before reading anything, so a bad --csv cannot fail after --into was filled.
    for folder in args.folders:
        if not Path(folder).is_dir():
            raise UsageError(f"no output folder {folder}")
    check_output_file(args.csv, "--csv")
    if args.summary is not None:
        check_output_file(args.summary, "--summary")
    if args.into is not None:
        check_output_folder(args.into, "--into")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = merge(*args.folders, csv_path=args.csv, into=args.into, summary_path=args.summary)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(f"{len(rows)} points from {len({r['config_hash'] for r in rows})} runs -> {args.csv}")
    return 1 if caught else 0


if __name__ == "__main__":  # pragma: no cover
    _parser = ArgumentParser(prog="python -m hashnet.experiments.cli")
    add_debug(_parser, top=True)
    add_commands(_parser.add_subparsers(dest="command", required=True))
    sys.exit(run_main(_parser, sys.argv[1:], lambda args: args.handler(args)))
