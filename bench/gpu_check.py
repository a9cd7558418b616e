"""GPU check: hashnet's CUDA path tested on a real GPU and timed against its CPU path.

On a machine with a usable NVIDIA GPU this script

1. runs tests/test_cuda.py with pytest, for real (no simulator): every CUDA kernel against its
   NumPy twin, and GPU training, codes and K-NN against the CPU path;
2. times, on the CPU and on the GPU, in this one process:
     - one training epoch of the MLP 784-512-512-10 (batch 256, Adam, lr 1e-3),
     - one training epoch of LeNet-5 (hn.CNN.lenet, batch 128, Adam, lr 1e-3),
     - the codes of the training images under each trained network,
     - the Hamming K-NN (k = 9) of the test codes among the training codes (MLP codes);
3. prints a table of seconds with the ratio CPU / GPU (the speed-up) and what was checked:
   the first epoch's loss on both, identical codes, identical neighbours.

Each fit prepares its kernels before its first epoch (Numba compiles the CPU kernels, numba.cuda
the CUDA ones; hashnet announces it), so the epoch times are training only. The data is the
full Fashion-MNIST from hn.datasets.load("fashion-mnist"); when it is not installed, the
bundled fashion-mnist-mini tiled to the same size (the output says so), which times the same
work. The whole run is meant to take at most 8 minutes; a step that would not fit in what is
left of that is skipped, with a note.

Without a usable GPU the script prints why (the message device="cuda" raises), runs the tests
of tests/test_cuda.py that need no GPU (the error messages, device names, lazy imports), and
exits 0.

Run from the repository root:

    python bench/gpu_check.py                 # tests + timings (a few minutes)
    python bench/gpu_check.py --quick         # 10000 training images
    python bench/gpu_check.py --skip-tests    # timings only
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import _common  # bench/_common.py; imports no NumPy

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 8 * 60  # seconds for the whole run


def build_parser():
    parser = _common.make_parser(
        "Test hashnet's CUDA path on a real GPU and time it against the CPU path.",
        quick_help="10000 training images instead of 60000",
        threaded="BLAS and numba on the CPU side",
    )
    parser.add_argument("--n-train", type=int, default=None, help="training images (60000)")
    parser.add_argument("--skip-tests", action="store_true", help="timings only")
    parser.add_argument(
        "--allow-simulator",
        action="store_true",
        help="run the timings even under NUMBA_ENABLE_CUDASIM=1 (checks this script on tiny "
        "data; the simulator's times mean nothing)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser


if __name__ == "__main__":
    _common.set_thread_environment(build_parser().parse_args().threads)

import numpy as np  # noqa: E402

LEARNING_RATE = 1e-3


class Clock:
    """The time left of the run's budget."""

    def __init__(self, budget):
        self.start, self.budget = time.perf_counter(), budget

    def left(self):
        return self.budget - (time.perf_counter() - self.start)


def run_tests(gpu_present):
    """pytest on tests/test_cuda.py and tests/test_cuda_layers.py in a subprocess, without the
    simulator. Without a GPU only the tests that need none (the simulator run is left to the
    test suite). Returns True when pytest passed."""
    files = ["tests/test_cuda.py", "tests/test_cuda_layers.py"]
    command = [sys.executable, "-m", "pytest", *files, "-q", "-p", "no:cacheprovider"]
    if not gpu_present:
        command += ["-k", "not on_the_simulator"]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    print("$ " + " ".join(command[2:]), flush=True)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
    except subprocess.TimeoutExpired:
        print("  pytest did not finish in 300 s")
        return False
    lines = (done.stdout + done.stderr).strip().splitlines()
    for line in lines[-12:] if done.returncode else lines[-1:]:
        print(f"  {line}")
    print(f"  ({time.perf_counter() - start:.0f} s)\n", flush=True)
    return done.returncode == 0


def load_data(hn, n_train):
    """Fashion-MNIST images (N, 1, 28, 28) float32, or the bundled mini set tiled; and a note."""
    try:
        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist", flatten=False)
        note = None
    except (OSError, ValueError) as exc:
        Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", flatten=False)
        note = (
            f"the full Fashion-MNIST is not installed ({type(exc).__name__}); using the bundled "
            f"fashion-mnist-mini ({len(Xtr)} training images) tiled to {n_train}: the same "
            "amount of work, but the accuracies mean little"
        )
        Xtr, ytr = hn.datasets.first_n_tiled(Xtr, ytr, len(Xtr), max(n_train, len(Xtr)))
    return Xtr[:n_train], ytr[:n_train], Xte[:n_train], yte[:n_train], note


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def train_both(make, X, y, batch_size, seed):
    """One epoch on the CPU and one on the GPU from the same initial weights and batches."""
    nets = {}
    for device in ("cpu", "cuda"):
        net = make(seed)
        net.fit(X, y, epochs=1, batch_size=batch_size, lr=LEARNING_RATE, verbose=0, device=device)
        nets[device] = net
    return nets


def compare_codes(nets, X):
    """Seconds of net.codes(X) on each device (after a warm-up on a few rows), and how many
    bits differ between the two on the GPU-trained weights (only pre-activations within float32
    rounding of zero can: the GPU sums the matrix products in another order)."""
    net = nets["cuda"]
    seconds, codes = {}, {}
    for device in ("cpu", "cuda"):
        net.codes(X[:64], device=device)  # compile / warm up outside the measurement
        codes[device], seconds[device] = timed(lambda d=device: net.codes(X, device=d))
    differ = np.unpackbits((codes["cpu"].words ^ codes["cuda"].words).view(np.uint8)).sum()
    return seconds, codes["cpu"], int(differ)


def codes_agree(differ, codes):
    """A few bits at rounding distance from zero are expected; a bug flips far more."""
    return differ <= 1e-5 * len(codes) * codes.n_bits


def codes_check(differ, codes):
    if differ == 0:
        return "identical"
    note = "" if codes_agree(differ, codes) else " TOO MANY"
    return f"{differ} of {len(codes) * codes.n_bits} bits differ{note}"


def compare_knn(codes_tr, codes_te, k=9):
    from hashnet import gpu
    from hashnet.codes import hamming_knn

    hamming_knn(codes_te[:8], codes_tr, k)  # warm up both searches
    gpu.hamming_knn(codes_te[:8], codes_tr, k)
    (cpu_index, cpu_dist), cpu_s = timed(lambda: hamming_knn(codes_te, codes_tr, k))
    (gpu_index, gpu_dist), gpu_s = timed(lambda: gpu.hamming_knn(codes_te, codes_tr, k))
    same = np.array_equal(cpu_index, gpu_index) and np.array_equal(cpu_dist, gpu_dist)
    return {"cpu": cpu_s, "cuda": gpu_s}, same


def row(task, seconds, check):
    cpu_s, gpu_s = seconds.get("cpu"), seconds.get("cuda")
    return [
        task,
        "n/a" if cpu_s is None else f"{cpu_s:.3f}",
        "n/a" if gpu_s is None else f"{gpu_s:.3f}",
        _common.format_ratio(cpu_s, gpu_s),
        check,
    ]


def timings(hn, args, clock):
    """The timing table (and whether every check passed)."""
    n_train = args.n_train or (10000 if args.quick else 60000)
    Xtr, ytr, Xte, yte, data_note = load_data(hn, n_train)
    if data_note:
        print(f"note: {data_note}")
    print(f"data: train {Xtr.shape}, test {Xte.shape}\n", flush=True)
    flat_tr, flat_te = Xtr.reshape(len(Xtr), -1), Xte.reshape(len(Xte), -1)
    rows, ok = [], True

    def mlp(seed):
        return hn.MLP(784, (512, 512), 10, seed=seed)

    def lenet(seed):
        return hn.CNN.lenet(input_shape=(1, 28, 28), n_classes=10, seed=seed)

    nets = train_both(mlp, flat_tr, ytr, 256, args.seed)
    seconds = {d: nets[d].history_["time"][0] for d in nets}
    losses = [nets[d].history_["loss"][0] for d in ("cpu", "cuda")]
    close = abs(losses[0] - losses[1]) <= 1e-3 * abs(losses[0])
    ok &= close
    check = f"loss {losses[0]:.4f} / {losses[1]:.4f}" + ("" if close else " DIFFERENT")
    rows.append(row("MLP 784-512-512-10 epoch, batch 256", seconds, check))
    print(f"MLP epoch: cpu {seconds['cpu']:.2f} s, gpu {seconds['cuda']:.2f} s", flush=True)

    seconds, codes_tr, differ = compare_codes(nets, flat_tr)
    ok &= codes_agree(differ, codes_tr)
    rows.append(row(f"MLP codes of {len(flat_tr)} images", seconds, codes_check(differ, codes_tr)))
    knn_seconds, same = compare_knn(codes_tr, nets["cuda"].codes(flat_te, device="cuda"))
    ok &= same
    task = f"Hamming 9-NN, {len(flat_te)} x {len(flat_tr)} codes"
    rows.append(row(task, knn_seconds, "same neighbours" if same else "DIFFERENT neighbours"))

    # LeNet on the CPU takes far longer than anything else here: run it only if it fits.
    estimate = 4 * n_train / 1000  # seconds, generous for a CPU epoch plus the GPU one
    if clock.left() < estimate + 30:
        rows.append(["LeNet-5 epoch, batch 128", "skipped", "", "", "not enough time left"])
    else:
        nets = train_both(lenet, Xtr, ytr, 128, args.seed)
        seconds = {d: nets[d].history_["time"][0] for d in nets}
        losses = [nets[d].history_["loss"][0] for d in ("cpu", "cuda")]
        close = abs(losses[0] - losses[1]) <= 1e-3 * abs(losses[0])
        ok &= close
        check = f"loss {losses[0]:.4f} / {losses[1]:.4f}" + ("" if close else " DIFFERENT")
        rows.append(row("LeNet-5 epoch, batch 128", seconds, check))
        print(f"LeNet epoch: cpu {seconds['cpu']:.2f} s, gpu {seconds['cuda']:.2f} s", flush=True)
        seconds, codes, differ = compare_codes(nets, Xtr)
        ok &= codes_agree(differ, codes)
        rows.append(row(f"LeNet codes of {len(Xtr)} images", seconds, codes_check(differ, codes)))
    print("\nseconds (ratio = cpu / gpu: the GPU's speed-up)")
    _common.print_table(["task", "cpu s", "gpu s", "ratio", "check"], rows)
    return ok


def main(argv=None):
    args = build_parser().parse_args(argv)
    clock = Clock(BUDGET)
    hn = _common.import_hashnet()
    from hashnet import gpu

    usable, simulator, status = gpu.cuda_status()
    gpu_present = usable and (not simulator or args.allow_simulator)
    _limits, notes = _common.threadpool_limit(args.threads, "blas", "NumPy's BLAS threads")
    if simulator:
        notes.append(
            "NUMBA_ENABLE_CUDASIM is set: numba's CPU simulator is not a GPU"
            + ("; its times mean nothing" if args.allow_simulator else " (unset it)")
        )
    _common.print_environment(
        "hashnet GPU check: CUDA tests and CPU vs GPU timings",
        settings=[
            f"CPU threads: {args.threads}  dtype: float32",
            f"GPU: {status if usable else 'none usable (see below)'}",
        ],
        versions={},
        blas=f"NumPy BLAS: {_common.describe_blas()}",
        coretype_effect="(and so the cpu column) slower.",
        notes=notes,
    )
    if not gpu_present:
        print("No usable GPU here, so no GPU tests or timings:")
        print("  " + status.replace("\n", "\n  ") + "\n")
        if not args.skip_tests:
            print("The checks that need no GPU:")
            run_tests(gpu_present=False)
        return 0
    tests_ok = True if args.skip_tests else run_tests(gpu_present=True)
    checks_ok = timings(hn, args, clock)
    spent = BUDGET - clock.left()
    print(f"\ntotal {spent:.0f} s; tests {'passed' if tests_ok else 'FAILED'}; ", end="")
    print("checks " + ("passed" if checks_ok else "FAILED"))
    return 0 if tests_ok and checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
