"""Every command answers a bad argument with one `error: ...` line on stderr and exit status 2,
before any work starts, and never with a traceback (unless --debug asks for it)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hashnet as hn
import hashnet.demo
from hashnet import __main__ as cli_main_module
from hashnet import kernels
from hashnet.__main__ import main
from hashnet.experiments import runner, study

SMALL_TRAIN = ["--dataset", "moons", "--n-train", "50", "--epochs", "1"]


def _no_work(*args, **kwargs):
    raise AssertionError("work started before the arguments were checked")


@pytest.fixture(autouse=True)
def tripwires(monkeypatch):
    """Training, sweeps and kernel compilation fail the test if a bad argument reaches them."""
    monkeypatch.setattr(hn.MLP, "fit", _no_work)
    monkeypatch.setattr(runner, "run_configs", _no_work)
    monkeypatch.setattr(kernels, "warmup", _no_work)


def _error_line(status, capsys):
    """Check the one-line report of a bad argument; returns (stdout, the error line)."""
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return out, lines[0]


def _a_file(tmp_path):
    path = tmp_path / "a-file.txt"
    path.write_text("not a folder\n")
    return path


# --- train and codes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, said",
    [
        (["--width", "-3"], "--width"),
        (["--width", "0"], "--width"),
        (["--width", "abc"], "--width"),
        (["--width", "4", "--depth", "0"], "--depth"),
        (["--width", "2", "--depth", "3"], "--depth"),
        (["--depth", "2"], "--depth needs --width"),
        (["--hidden", "4", "--width", "8"], "not both"),
        (["--hidden", "8", "0"], "--hidden"),
        (["--epochs", "-1"], "--epochs"),
        (["--lr", "nan"], "--lr"),
        (["--lr", "0"], "--lr"),
        (["--lr", "-0.001"], "--lr"),
        (["--weight-decay", "inf"], "--weight-decay"),
        (["--batch-size", "0"], "--batch-size"),
        (["--dropout", "1.5"], "--dropout"),
        (["--dropout", "-0.1"], "--dropout"),
        (["--seed", "-1"], "--seed"),
        (["--n-train", "0"], "--n-train"),
        (["--activation", "tanh"], "--activation"),
        (["--bogus"], "--bogus"),
    ],
)
def test_train_rejects_bad_values_before_training(bad, said, capsys):
    out, line = _error_line(main(["train", *SMALL_TRAIN, *bad]), capsys)
    assert said in line
    assert out == ""  # not even the network's description


@pytest.mark.parametrize(
    "bad, said",
    [
        (["--k", "0"], "--k"),
        (["--k", "51"], "--k 51 is more than the 50 training examples"),
        (["--width", "0"], "--width"),
        (["--width", "2", "--depth", "3"], "--depth"),
        (["--depth", "0"], "--depth"),
        (["--epochs", "-1"], "--epochs"),
        (["--lr", "nan"], "--lr"),
        (["--batch-size", "0"], "--batch-size"),
        (["--n-test", "0"], "--n-test"),
        (["--seed", "-2"], "--seed"),
    ],
)
def test_codes_rejects_bad_values_before_training(bad, said, capsys):
    out, line = _error_line(main(["codes", *SMALL_TRAIN, *bad]), capsys)
    assert said in line
    assert out == ""


@pytest.mark.parametrize("command", ["train", "codes"])
def test_unknown_data_set(command, capsys):
    _, line = _error_line(main([command, "--dataset", "nope", "--epochs", "1"]), capsys)
    assert "unknown data set 'nope'" in line


@pytest.fixture
def no_mnist(tmp_path, monkeypatch):
    """Hide any MNIST files this machine has."""
    from hashnet import datasets

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HASHNET_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIR", str(tmp_path / "system"), raising=False)
    try:
        datasets.find_data_dir("mnist")
    except FileNotFoundError:
        return
    pytest.skip("MNIST files are still found here")


def test_missing_data_files(no_mnist, tmp_path, capsys):
    out, line = _error_line(main(["train", "--dataset", "mnist", "--epochs", "1"]), capsys)
    assert "could not find the mnist data files" in line and out == ""
    runs = tmp_path / "runs"
    argv = ["reproduce", "width", "--quick", "--set", "dataset=mnist", "--out", str(runs)]
    _, line = _error_line(main(argv), capsys)
    assert "could not find the mnist data files" in line and not runs.exists()


def _unwritable(kind, tmp_path):
    """A file path no model can be saved to, and what the error says about it."""
    if kind == "folder":
        return tmp_path, "is a folder"
    if kind == "under a file":
        return _a_file(tmp_path) / "net.npz", "is a file, not a folder"
    if kind == "pseudo file system":
        if not Path("/proc/self").is_dir():
            pytest.skip("no /proc here")
        return Path("/proc/hashnet-test/net.npz"), "cannot write into /proc"
    if os.name != "posix" or os.geteuid() == 0:
        pytest.skip("permissions do not stop root")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return locked / "net.npz", "cannot write into"


@pytest.mark.parametrize("kind", ["folder", "under a file", "pseudo file system", "read-only"])
def test_train_checks_save_path_before_training(kind, tmp_path, capsys):
    path, said = _unwritable(kind, tmp_path)
    out, line = _error_line(main(["train", *SMALL_TRAIN, "--save", str(path)]), capsys)
    assert line.startswith("error: --save") and said in line
    assert out == ""  # no epoch line: nothing was trained


# --- the demo -----------------------------------------------------------------------------------


def _demo_via_package(argv):
    return main(["demo", *argv])


@pytest.mark.parametrize("entry", [hashnet.demo.main, _demo_via_package])
@pytest.mark.parametrize("kind", ["seed", "threads", "file", "under a file", "unwritable"])
def test_demo_checks_arguments_before_the_first_step(entry, kind, tmp_path, capsys):
    if kind == "seed":
        argv, said = ["--seed", "-1"], "--seed"
    elif kind == "threads":
        argv, said = ["--threads", "0"], "--threads"
    elif kind == "file":
        argv, said = ["--out", str(_a_file(tmp_path))], "is a file, not a folder"
    elif kind == "under a file":
        argv, said = ["--out", str(_a_file(tmp_path) / "figures")], "is a file, not a folder"
    else:
        path, said = _unwritable("pseudo file system", tmp_path)
        argv = ["--out", str(path.parent)]
    out, line = _error_line(entry(["--quick", *argv]), capsys)
    assert said in line
    assert out == ""  # not even the demo's first line


def test_demo_run_checks_before_printing(tmp_path, capsys):
    with pytest.raises(ValueError, match="is a file, not a folder"):
        hashnet.demo.run(_a_file(tmp_path), quick=True)
    with pytest.raises(ValueError, match="seed"):
        hashnet.demo.run(tmp_path / "figures", quick=True, seed=-1)
    assert capsys.readouterr().out == ""
    assert not (tmp_path / "figures").exists()


# --- reproduce, phase, merge --------------------------------------------------------------------


@pytest.mark.parametrize("command", [["reproduce", "width"], ["phase"]])
def test_sweep_output_folder_that_is_a_file(command, tmp_path, capsys):
    target = _a_file(tmp_path)
    _, line = _error_line(main([*command, "--quick", "--out", str(target)]), capsys)
    assert "is a file, not a folder" in line


def test_sweep_without_a_gpu(tmp_path, capsys):
    from hashnet.gpu import cuda_available

    if cuda_available():
        pytest.skip("a GPU (or the simulator) is usable here")
    runs = tmp_path / "runs"
    argv = ["reproduce", "width", "--quick", "--device", "cuda", "--out", str(runs)]
    _, line = _error_line(main(argv), capsys)
    assert "needs a usable NVIDIA GPU" in line and not runs.exists()


@pytest.mark.parametrize("command", [["reproduce", "width"], ["phase"]])
@pytest.mark.parametrize(
    "bad",
    [
        ["--jobs", "0"],
        ["--jobs", "-4"],
        ["--threads", "0"],
        ["--threads", "-2"],
    ],
)
def test_jobs_and_threads_are_positive(command, bad, tmp_path, capsys):
    runs = tmp_path / "runs"
    _, line = _error_line(main([*command, "--quick", "--out", str(runs), *bad]), capsys)
    assert bad[0] in line and ">= 1" in line
    assert not runs.exists()


@pytest.mark.parametrize(
    "bad, said",
    [
        (["--set", "widht=3"], "KEY=VALUE"),
        (["--set", "width"], "KEY=VALUE"),
        (["--set", "width=abc"], "'width'"),
        (["--set", "width=0"], "'width'"),
        (["--set", "width=10,"], "'width'"),
        (["--set", "label_noise=2"], "'label_noise'"),
        (["--set", "repeat=2"], "--repeats"),
        (["--set", "dataset=nope"], "unknown data set"),
        (["--dataset", "nope"], "unknown data set"),
        (["--shard", "3"], "K/N"),
        (["--shard", "a/b"], "K/N"),
        (["--shard", "0/4"], "1 <= K <= N"),
        (["--shard", "5/4"], "1 <= K <= N"),
        (["--repeats", "0"], "--repeats"),
        (["--repeats", "-1"], "--repeats"),
    ],
)
def test_sweep_settings_are_checked_before_the_sweep(bad, said, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["reproduce", "noise", "--quick", "--out", str(runs), *bad]
    _, line = _error_line(main(argv), capsys)
    assert said in line
    assert not runs.exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["--acc-threshold", "5"],
        ["--acc-threshold", "-0.1"],
        ["--acc-threshold", "nan"],
        ["--rr-threshold", "1.5"],
        ["--rr-threshold", "inf"],
        ["--rr-threshold", "abc"],
        ["--metric", "nope"],
    ],
)
def test_phase_checks_its_rule_before_the_sweep(bad, tmp_path, capsys):
    runs = tmp_path / "runs"
    _, line = _error_line(main(["phase", "--quick", "--out", str(runs), *bad]), capsys)
    assert bad[0] in line
    assert not runs.exists()


@pytest.mark.parametrize(
    "rule, error",
    [
        (dict(acc_threshold=5), ValueError),
        (dict(rr_threshold=float("nan")), ValueError),
        (dict(rr_threshold=-0.5), ValueError),
        (dict(acc_threshold="0.5"), TypeError),
        (dict(metric="nope"), ValueError),
    ],
)
def test_phase_chart_checks_its_rule_before_the_sweep(rule, error, tmp_path):
    with pytest.raises(error):
        study.phase_chart(tmp_path / "runs", quick=True, verbose=0, **rule)
    assert not (tmp_path / "runs").exists()


def test_study_functions_check_before_the_sweep(tmp_path):
    with pytest.raises(ValueError, match="band"):
        study.reproduce("width", tmp_path / "runs", quick=True, verbose=0, band="wide")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        study.reproduce("width", _a_file(tmp_path), quick=True, verbose=0)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        study.phase_chart(_a_file(tmp_path), quick=True, verbose=0)


@pytest.mark.parametrize("kind", ["csv folder", "summary folder", "into file", "missing folder"])
def test_merge_checks_paths_before_writing(kind, tmp_path, capsys):
    runs, into = tmp_path / "runs", tmp_path / "into"
    (runs / "records").mkdir(parents=True)
    argv = ["merge", str(runs), "--csv", str(tmp_path / "all.csv"), "--into", str(into)]
    if kind == "csv folder":
        argv[3], said = str(tmp_path), "--csv"
    elif kind == "summary folder":
        argv, said = [*argv, "--summary", str(runs)], "--summary"
    elif kind == "into file":
        into = _a_file(tmp_path)
        argv[-1], said = str(into), "--into"
    else:
        argv[1], said = str(tmp_path / "nowhere"), "no output folder"
    _, line = _error_line(main(argv), capsys)
    assert said in line
    assert not (tmp_path / "all.csv").exists() and (into.is_file() or not into.exists())


# --- the command line itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [[], ["nope"], ["reproduce", "widths", "--out", "x"], ["merge", "runs"], ["warmup", "-x"]],
)
def test_argparse_errors_are_one_line(argv, capsys):
    _, line = _error_line(main(argv), capsys)
    assert "--help" in line


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(where):
    argv = ["train", "--dataset", "nope", "--epochs", "1"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    with pytest.raises(ValueError, match="unknown data set"):
        main(argv)


def test_bugs_keep_their_traceback(monkeypatch):
    def broken(args):
        raise IndexError("a bug")

    monkeypatch.setattr(cli_main_module, "_train", broken)
    with pytest.raises(IndexError):
        main(["train"])


def test_interrupt_is_one_line(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main_module, "_train", interrupted)
    try:
        status = main(["train"])
    except KeyboardInterrupt:  # would otherwise stop the whole test session
        pytest.fail("Ctrl-C escaped as a traceback")
    assert status == 130
    assert capsys.readouterr().err.strip() == "interrupted"


@pytest.mark.parametrize(
    "argv",
    [["-m", "hashnet", "train", "--width", "-3"], ["-m", "hashnet.demo", "--out", "FILE"]],
)
def test_from_the_shell(argv, tmp_path):
    argv = [str(_a_file(tmp_path)) if a == "FILE" else a for a in argv]
    done = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith("error: ")
