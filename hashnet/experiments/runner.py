"""Running a grid: prepare the data of a run, train, measure, store; resume, jobs and shards.

`train_and_measure(config)` is one run: it builds the training set the configuration asks for
(`prepare_data`), trains an MLP once, and measures `hashnet.encoding_properties` at the end,
or at every snapshot epoch of that same run. `run_configs` runs many of them, skipping those
whose record is already stored, in this process (`jobs=1`) or in `jobs` worker processes, and
prints one progress line per finished run with an estimate of the time left. `sweep` builds a
preset grid (`hashnet.experiments.grid`) and runs it, or the part of it a shard owns.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import numbers
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import NamedTuple

import numpy as np

from hashnet.experiments.grid import (
    config_hash,
    make_grid,
    normalise_config,
    parse_shard,
    protocol_changes,
    select_shard,
    varying_keys,
)
from hashnet.experiments.store import (
    check_out,
    lookup,
    read_record,
    records_dir,
    report,
    write_record,
)
from hashnet.experiments.table import rows_from_records

# Independent random streams of one run, derived from (seed, repeat, stream number).
_STREAMS = {"net": 0, "inputs": 1, "labels": 2, "subset": 3, "noise": 4, "probes": 5}
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMBA_NUM_THREADS",
)


def run_seed(config, purpose) -> int:
    """The seed of one random stream of a run ("net", "inputs", "labels", "subset", "noise",
    "probes"): the same for every run with the same (seed, repeat), whatever else differs, so
    the runs of one repeat see the same noise, subset and initialisation stream."""
    sequence = np.random.SeedSequence([config["seed"], config["repeat"], _STREAMS[purpose]])
    return int(sequence.generate_state(1)[0])


# --- the data of one run ------------------------------------------------------------------


class Data(NamedTuple):
    """The arrays of one run.

    X_fit, y_fit : what the network is trained on (the n distinct examples tiled to the epoch
        length under the sample-size protocol; otherwise the training set itself)
    X_train, y_train : the distinct training examples, with the labels the network is trained
        on (noisy or random when asked); the training-side properties are measured on these
    X_test, y_test : the test set, always with its real labels
    n_classes : number of classes of the data set
    info : facts worth storing (label_noise_actual, n_distinct, epoch_length)
    """

    X_fit: np.ndarray
    y_fit: np.ndarray
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    info: dict


@functools.lru_cache(maxsize=4)
def _load(dataset, n_train, n_test, images=False):
    """Load a data set once per process; the arrays are read-only so no run can change them.
    images: NCHW images (for a CNN) instead of flat rows."""
    from hashnet.datasets import load

    arrays = load(dataset, n_train=n_train, n_test=n_test, flatten=not images)
    for a in arrays:
        a.setflags(write=False)
    return arrays


def prepare_data(config) -> Data:
    """Build the training and test arrays a configuration asks for, in this order:

    1. load the data set (the first n_train / n_test examples) and keep the first
       `train_fraction` of the training examples (the study trains on the first 80 % and
       keeps the rest for validation, which none of its measurements use);
    2. inputs="uniform": replace the training and the test inputs by independent uniform noise
       with the same shape and the same range [min, max] as the training inputs;
       labels="random": replace the training labels by uniformly random classes (the test
       labels stay real, so the test metrics show what survives);
    3. sample_size=n: keep n training examples, the first n (sample_protocol="first", the
       study's protocol) or a seeded class-stratified draw ("stratified");
    4. label_noise=f: disturb exactly round(f * n) of those training labels, by `noise_model`
       (hashnet.datasets.label_noise, seeded); test labels are never touched;
    5. with a sample size (or an epoch_length), tile the n examples: to `epoch_length` rows
       (default: the size of the training set before step 3) with tiling="exact", or to as
       many whole copies as fit in it with tiling="whole" (the study's: n x (N // n) rows), so
       every sample size gets about the same number of steps per epoch.
    """
    from hashnet import datasets

    config = normalise_config(config)
    images = config["model"] != "mlp"
    Xtr, ytr, Xte, yte = _load(config["dataset"], config["n_train"], config["n_test"], images)
    n_classes = int(max(ytr.max(), yte.max())) + 1
    if config["train_fraction"] < 1:
        keep = int(len(ytr) * config["train_fraction"])  # the study's int(N * 0.8)
        if keep < 1:
            raise ValueError(
                f"train_fraction {config['train_fraction']} of {len(ytr)} training examples "
                "keeps none"
            )
        Xtr, ytr = Xtr[:keep], ytr[:keep]
    if config["inputs"] == "uniform":
        rng = np.random.default_rng(run_seed(config, "inputs"))
        low, high = float(Xtr.min()), float(Xtr.max())
        Xtr = rng.uniform(low, high, Xtr.shape).astype(Xtr.dtype)
        Xte = rng.uniform(low, high, Xte.shape).astype(Xte.dtype)
    if config["labels"] == "random":
        rng = np.random.default_rng(run_seed(config, "labels"))
        ytr = rng.integers(0, n_classes, len(ytr)).astype(ytr.dtype)
    full_length = len(ytr)
    n = full_length if config["sample_size"] is None else config["sample_size"]
    if n > full_length:
        raise ValueError(
            f"sample_size {n} is larger than the training set ({full_length} examples of "
            f"{config['dataset']!r}, n_train={config['n_train']}, train_fraction="
            f"{config['train_fraction']})"
        )
    if config["sample_protocol"] == "stratified" and config["sample_size"] is not None:
        Xs, ys = datasets.stratified_subset(Xtr, ytr, n, seed=run_seed(config, "subset"))
    else:
        Xs, ys = Xtr[:n], ytr[:n]
    info = {"n_distinct": int(n), "label_noise_actual": 0.0}
    if config["label_noise"] > 0:
        clean = ys
        ys = datasets.label_noise(
            clean,
            config["label_noise"],
            n_classes=n_classes,
            seed=run_seed(config, "noise"),
            model=config["noise_model"],
        )
        info["label_noise_actual"] = float(np.mean(ys != clean))
    X_fit, y_fit = Xs, ys
    if config["sample_size"] is not None or config["epoch_length"] is not None:
        length = max(config["epoch_length"] or full_length, n)
        if config["tiling"] == "whole":
            length = n * (length // n)
        X_fit, y_fit = datasets.first_n_tiled(Xs, ys, n, length)
    info["epoch_length"] = int(len(y_fit))
    return Data(X_fit, y_fit, Xs, ys, Xte, yte, n_classes, info)


def negative_uniform(config, shape, purpose) -> np.ndarray:
    """The study's random inputs: -U(0, 1) noise of `shape`, outside the range of the
    (non-negative) pixels the network was trained on; seeded per run and per `purpose`."""
    sequence = np.random.SeedSequence([config["seed"], config["repeat"], 6, purpose])
    return -np.random.default_rng(sequence).random(shape, dtype=np.float32)


def build_network(config, input_shape, n_classes):
    """The network of a configuration (an MLP, or a CNN of `model`), with its initialisation
    and batch-norm settings. input_shape: one example's shape (features,) or (C, H, W)."""
    from hashnet.nn.cnn import CNN
    from hashnet.nn.layers import BatchNorm
    from hashnet.nn.model import MLP
    from hashnet.nn.residual import Residual

    seed = run_seed(config, "net")
    model, width = config["model"], config["width"]
    if model == "mlp":
        net = MLP(
            int(np.prod(input_shape)),
            width=width,
            depth=config["depth"],
            n_classes=n_classes,
            activation=config["activation"],
            batchnorm=config["batchnorm"],
            dropout=config["dropout"],
            seed=seed,
        )
    else:
        if len(input_shape) != 3:
            raise ValueError(
                f"model {model!r} is a CNN and needs images; data set {config['dataset']!r} "
                "has none (use fashion-mnist, mnist, cifar10 or fashion-mnist-mini)"
            )
        shape = dict(input_shape=input_shape, n_classes=n_classes, seed=seed)
        activation = config["activation"]
        if model == "lenet":
            net = CNN.lenet(
                width=width, batchnorm=config["batchnorm"], activation=activation, **shape
            )
        elif model.startswith("vgg"):
            net = CNN.vgg(depth=int(model[3:]), width=width, activation=activation, **shape)
        elif model == "resnet18":
            net = CNN.resnet18(width=width, **shape)
        else:
            net = CNN.resnet(int(model[6:]), width=width, **shape)
    parts = [
        p
        for layer in net.layers
        for p in ([q for _, q in layer.parts()] if isinstance(layer, Residual) else [layer])
    ]
    for layer in parts:
        if isinstance(layer, BatchNorm):
            layer.momentum, layer.eps = config["bn_momentum"], config["bn_eps"]
    if config["init"] == "glorot":
        # Glorot (Xavier) uniform, Keras' default: U(-a, a) with a = sqrt(6 / (fan_in +
        # fan_out)); biases stay 0. He-uniform (hashnet's) uses sqrt(6 / fan_in). A Dense
        # kernel W (in, out) has fans in and out; a convolution's (out, in, kh, kw) has
        # in * kh * kw and out * kh * kw, as Keras counts them.
        rng = np.random.default_rng([seed, 1])
        weights = net.get_weights()
        for i, (layer, name) in enumerate(net._named_params()):
            if name in layer.decay:  # the weight matrices and filters, not biases or BN
                w = weights[i]
                field = int(np.prod(w.shape[2:])) if w.ndim == 4 else 1
                fan_in, fan_out = (w.shape[1], w.shape[0]) if w.ndim == 4 else w.shape
                limit = np.sqrt(6.0 / ((fan_in + fan_out) * field))
                weights[i] = rng.uniform(-limit, limit, w.shape)
        net.set_weights(weights)
    return net


# --- one run --------------------------------------------------------------------------------


def train_and_measure(config, device="cpu") -> dict:
    """Train the network of `config` once and measure its encoding properties.

    device : "cpu" or "cuda" (training, codes and K-NN on the GPU). It is not part of the
        configuration: both give the same results to float32 rounding, so a store may hold
        records from either (each record's info says which).

    Returns {"points": [...], "info": {...}}: one point per snapshot epoch of this one run
    (epoch 0 is the untrained network), or a single point after the last epoch when the
    configuration has no snapshots. Each point is the `hashnet.encoding_properties` record
    plus its "epoch". When training diverges, the snapshots from the diverged epoch on are
    all measured on the network training ended with (losses None, like the single point of
    a run without snapshots), and info["diverged_epoch"] says when the loss stopped being
    finite: the run is stored like any other and a resumed sweep skips it.
    """
    from hashnet.codes import redundancy_ratio
    from hashnet.nn.optim import Adam, step_schedule
    from hashnet.properties import encoding_properties

    config = normalise_config(config)
    start = time.perf_counter()
    data = prepare_data(config)
    net = build_network(config, data.X_train.shape[1:], data.n_classes)
    untrained = _untrained_baseline(net, data, config, device)
    snapshots = config["snapshots"]
    optimizer = config["optimizer"]
    if optimizer == "adam":
        optimizer = Adam(
            lr=config["lr"], eps=config["adam_eps"], weight_decay=config["weight_decay"]
        )
    net.fit(
        data.X_fit,
        data.y_fit,
        epochs=config["epochs"],
        batch_size=config["batch_size"],
        optimizer=optimizer,
        lr=config["lr"],
        weight_decay=config["weight_decay"],
        lr_schedule=step_schedule(config["lr_step"]) if config["lr_schedule"] else None,
        augment="study" if config["augment"] else None,
        patience=config["patience"],
        checkpoints=snapshots or (),
        verbose=0,
        device=device,
    )
    train_seconds = time.perf_counter() - start
    if config["random_inputs"]:  # as many as the real training and test examples
        noise_train = negative_uniform(config, data.X_train.shape, 0)
        noise_test = negative_uniform(config, data.X_test.shape, 1)

    def measure(model):
        record = encoding_properties(
            model,
            data.X_train,
            data.y_train,
            data.X_test,
            data.y_test,
            k=config["k"],
            kmeans_n_init=config["kmeans_n_init"],
            C=config["C"],
            multi_class=config["multi_class"],
            probes=tuple(config["probes"]),
            seed=run_seed(config, "probes"),
            device=device,
            probe_bits=config["probe_bits"],
        )
        if config["random_inputs"]:
            record["rr_random_train"] = redundancy_ratio(model.codes(noise_train, device=device))
            record["rr_random_test"] = redundancy_ratio(model.codes(noise_test, device=device))
        # The redundancy ratio grows with the number of codes: the training codes cut to as
        # many as the test codes make the train and test ratios comparable.
        same_size = data.X_train[: len(data.X_test)]
        record["rr_train_subset"] = redundancy_ratio(model.codes(same_size, device=device))
        record["n_classes"] = data.n_classes  # the chance level of the accuracies is 1 / this
        return {**record, **untrained}

    points, at_end = [], None
    for epoch in snapshots or [config["epochs"]]:
        if snapshots and _finite_checkpoint(net, epoch):
            properties = measure(net.checkpoint(epoch))
        else:
            # No snapshots, or training diverged at or before this snapshot (its weights are
            # not finite, or training stopped before it): measure the network training ended
            # with, as a run without snapshots does. Its losses are not finite and are stored
            # as None, which marks the point as diverged in the tables.
            if at_end is None:
                at_end = measure(net)
            properties = at_end
        points.append({"epoch": epoch, **properties})
    info = {
        **data.info,
        "protocol_changes": protocol_changes(config),  # where it departs from its protocol
        "epochs_trained": len(net.history_["epoch"]),
        "history": {k: net.history_[k] for k in ("loss", "acc")},
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - start,
        "device": device,
    }
    diverged = [
        e for e, loss in zip(net.history_["epoch"], net.history_["loss"]) if not np.isfinite(loss)
    ]
    if diverged:
        info["diverged_epoch"] = diverged[0]
    return {"points": points, "info": info}


def _untrained_baseline(net, data, config, device) -> dict:
    """K-NN on the codes of the network before any training: random ReLU hyperplanes already
    make a locality-sensitive hash (similar inputs, similar sign patterns), so this is the
    accuracy training has to beat, not chance."""
    from hashnet.probes import KNN
    from hashnet.properties import sample_bits

    codes_tr = net.codes(data.X_train, device=device)
    codes_te = net.codes(data.X_test, device=device)
    if config["probe_bits"] is not None and codes_tr.n_bits > config["probe_bits"]:
        seed = run_seed(config, "probes")
        codes_tr, codes_te = sample_bits(codes_tr, codes_te, config["probe_bits"], seed)
    knn = KNN(k=config["k"], metric="hamming", device=device).fit(codes_tr, data.y_train)
    return {"knn_test_untrained": knn.score(codes_te, data.y_test)}


def _finite_checkpoint(net, epoch) -> bool:
    """Whether `net` kept a snapshot of `epoch` and every array in it is finite.

    The snapshot of the epoch whose loss diverged is taken before the loss is checked, so it
    can hold NaN or infinity; such weights cannot be loaded into a new model (nor would they
    say anything about encoding), so they are detected here, before any restoring.
    """
    if epoch not in net.checkpoints_:
        return False
    stack = [net.checkpoints_[epoch]]  # in memory: (weights, batch-norm statistics)
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, np.ndarray) and not np.isfinite(item).all():
            return False
    return True


def _execute(task):
    """Run one configuration and store its record; returns (record, seconds). Module-level so
    worker processes can receive it."""
    config, out, run = task
    start = time.perf_counter()
    result = run(config)
    path = write_record(out, config, result)
    return read_record(path), time.perf_counter() - start


# --- many runs ------------------------------------------------------------------------------


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _is_count(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def check_workers(jobs, threads) -> None:
    """Raise ValueError unless jobs is an integer >= 1 and threads None or an integer >= 1.
    Checked before any work: 0 or a negative count means nothing sensible, and passed on
    to the thread variables it would make Numba fail inside every worker."""
    if not _is_count(jobs):
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if threads is not None and not _is_count(threads):
        raise ValueError(f"threads must be None or an integer >= 1, got {threads!r}")


def _init_worker(threads):
    """Runs first in every worker process, including any the pool starts late.

    The thread variables are already set when a worker starts (`_thread_env`, which BLAS
    reads when it loads); setting them here as well, with Numba's count and, when
    threadpoolctl is installed, BLAS's count at run time, keeps a worker to `threads`
    whatever environment it was started from. Ctrl-C is left to the parent, which stops the
    workers: otherwise every worker would print its own KeyboardInterrupt traceback.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.update({k: str(threads) for k in _THREAD_VARS})
    import numba

    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: BLAS keeps the count it read from the environment
        return
    threadpool_limits(threads)


@contextlib.contextmanager
def _thread_env(threads):
    """Set the thread-count variables while the worker pool lives: a worker inherits the
    environment of the moment it is started, which for a pool may be after the first task,
    so N workers with T threads each use N x T cores. The parent's values are restored after
    (its own BLAS and Numba read theirs long before)."""
    saved = {k: os.environ.get(k) for k in _THREAD_VARS}
    os.environ.update({k: str(threads) for k in _THREAD_VARS})
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _worker_pool(jobs, threads):
    """`jobs` worker processes (started with "spawn"), `threads` threads each.

    A process pool from concurrent.futures, because it fails loudly: when a worker dies (killed,
    out of memory, or failing at start-up) every waiting result raises BrokenProcessPool,
    where a multiprocessing.Pool would quietly start another worker and wait forever for the
    lost task. When the block is left by an exception, the workers still running are stopped,
    so nothing goes on computing behind the caller's back.
    """
    with _thread_env(threads):
        pool = ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads,),
        )
        try:
            yield pool
        except BaseException:
            terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
            if terminate is not None:
                terminate()
            else:
                for process in list((getattr(pool, "_processes", None) or {}).values()):
                    process.terminate()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _duration(seconds) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """One line per finished run: `[12/48] width=30 repeat=1 rr_train 0.004 ... 3.1s  ETA 2m10s`.

    The estimate is (wall time so far / runs finished) x runs left, which already accounts for
    parallel workers. Silent when verbose=0.
    """

    def __init__(self, total, label_keys=(), verbose=1, stream=None):
        self.total, self.label_keys, self.verbose = total, list(label_keys), verbose
        self.stream = sys.stdout if stream is None else stream
        self.done, self.start = 0, time.perf_counter()

    def update(self, record, seconds):
        self.done += 1
        if not self.verbose:
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        config, points = record["config"], record["points"]
        label = " ".join(f"{k}={config[k]}" for k in self.label_keys)
        label = f"{label} repeat={config['repeat']}".strip()
        last = points[-1]
        at = ""
        if len(points) > 1:
            at = f"epochs {points[0]['epoch']}..{last['epoch']} ({len(points)} snapshots), at end: "
        shown = ("rr_train", "rr_test", "kmeans_test", "knn_test", "lr_test", "test_acc")
        values = " ".join(
            f"{k.replace('_test', '') if k.startswith(('kmeans', 'knn', 'lr')) else k} "
            f"{last[k]:.3f}"
            for k in shown
            if last.get(k) is not None
        )
        eta = f"ETA {_duration(left)}" if self.done < self.total else "done"
        width = len(str(self.total))
        print(
            f"[{self.done:>{width}}/{self.total}] {label}  {at}{values}  {seconds:.1f}s  {eta}",
            file=self.stream,
            flush=True,
        )


def run_configs(
    configs,
    out,
    jobs=1,
    threads=None,
    verbose=1,
    run=None,
    label_keys=None,
    title="sweep",
    device="cpu",
) -> list[dict]:
    """Run every configuration that has no valid record under `out` yet; return all records.

    configs : list of configuration dicts (see hashnet.experiments.grid.DEFAULTS)
    out : output folder; records go to out/records/<config hash>.json
    jobs : 1 runs here; N > 1 runs N worker processes (started with "spawn"), each limited to
        `threads` BLAS/Numba threads (default: the available cores divided by N); an integer
        >= 1, else ValueError before any work
    threads : threads per worker (None or an integer >= 1); giving it with jobs=1 runs one
        worker process, since BLAS fixes its thread count when it is loaded
    run : the function config -> {"points": [...], "info": {...}} (default train_and_measure;
        it must be a module-level function when jobs > 1)
    label_keys : config keys shown in the progress lines (default: those that vary)
    device : "cpu" or "cuda", passed to `run` as device= when it is not "cpu"
    Damaged records are reported and recomputed. A run that raises stops everything after the
    finished runs are stored, and so does a worker process that dies (ChildProcessError): running
    again resumes where it stopped.
    """
    from hashnet.device import check_device

    check_workers(jobs, threads)
    check_device(device)  # without a GPU, say so now rather than in every run
    out = check_out(out)
    configs = [normalise_config(c) for c in configs]
    run = train_and_measure if run is None else run
    if device != "cpu":
        run = functools.partial(run, device=device)
    if label_keys is None:
        label_keys = varying_keys(configs)
    records, todo, damaged, seen = {}, [], [], set()
    for config in configs:
        if config_hash(config) in seen:  # listed twice: run once
            continue
        seen.add(config_hash(config))
        record, problem = lookup(out, config)
        if record is not None:
            records[record["config_hash"]] = record
        else:
            todo.append(config)
            if problem is not None:
                damaged.append(problem)
    report(damaged, action="recomputing it")
    jobs = min(jobs, max(1, len(todo)))
    in_process = jobs == 1 and threads is None  # the thread counts the process already has
    if threads is None:
        threads = max(1, _cpu_count() // jobs)
    if verbose:
        how = "1 job" if in_process else f"{jobs} job(s) x {threads} thread(s)"
        print(
            f"{title}: {len(configs)} runs, {len(records)} already done, {len(todo)} to run "
            f"({how}) -> {records_dir(out)}",
            flush=True,
        )
    progress = Progress(len(todo), label_keys, verbose)
    tasks = [(config, out, run) for config in todo]
    try:
        if in_process:
            for task in tasks:
                record, seconds = _execute(task)
                records[record["config_hash"]] = record
                progress.update(record, seconds)
        else:
            with _worker_pool(jobs, threads) as pool:
                futures = [pool.submit(_execute, task) for task in tasks]
                for future in as_completed(futures):
                    try:
                        record, seconds = future.result()
                    except BrokenProcessPool:
                        raise ChildProcessError(
                            f"a worker process died (killed, out of memory, or failed to "
                            f"start) after {progress.done} of {len(todo)} runs; the finished "
                            f"ones are stored in {records_dir(out)}: run the same command "
                            f"again to resume"
                        ) from None
                    records[record["config_hash"]] = record
                    progress.update(record, seconds)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted after {progress.done} of {len(todo)} runs; the finished ones are "
            f"stored in {records_dir(out)}: run the same command again to resume",
            file=sys.stderr,
        )
        raise
    return [records[config_hash(c)] for c in configs]


def sweep(
    kind="width",
    out="hashnet-runs",
    *,
    quick=False,
    repeats=None,
    jobs=1,
    shard=None,
    threads=None,
    verbose=1,
    run=None,
    device="cpu",
    **grid,
) -> list[dict]:
    """Run one of the study's sweeps and return its measured points as rows (dicts).

    kind : "width", "depth", "time", "samples", "regularization", "noise", "random" or
        "phase" (see hashnet.experiments.grid.PRESETS for what each one varies)
    out : output folder of the result store; running again skips what is stored
    quick : the small laptop preset instead of the study's
    repeats : runs per point with different seeds (default: the preset's)
    jobs, threads : worker processes, and BLAS/Numba threads per worker
    device : "cpu" or "cuda" (training, codes and K-NN of every run on the GPU)
    shard : "K/N" runs only the configurations whose index in the grid is K-1 modulo N (for
        the array jobs of a batch scheduler); the rows returned are that shard's
    verbose : 1 prints a progress line per run, 0 is silent
    grid : overrides of the preset, e.g. dataset="mnist", width=[10, 20], epochs=5

        rows = hn.experiments.sweep("width", out="runs/width", quick=True)
        [(r["width"], r["rr_train"]) for r in rows]
    """
    check_workers(jobs, threads)
    configs = make_grid(kind, quick=quick, repeats=repeats, **grid)
    mine = select_shard(configs, shard)
    title = f"{kind} sweep"
    if shard is not None:
        k, n = parse_shard(shard)
        title += f" (shard {k}/{n} of {len(configs)} runs)"
    records = run_configs(
        mine,
        out,
        jobs=jobs,
        threads=threads,
        verbose=verbose,
        run=run,
        label_keys=varying_keys(configs),
        title=title,
        device=device,
    )
    return rows_from_records(records)
