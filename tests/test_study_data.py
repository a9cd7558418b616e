"""MNIST and CIFAR-10 go through the study's sweeps with the same commands as Fashion-MNIST.

This machine has neither data set, so small synthetic files in the real formats (IDX for
MNIST, the binary batches for CIFAR-10) stand in for them: found through $HASHNET_DATA, read,
split by the study's protocol, trained on, measured, stored and drawn.
"""

import csv
import json

import numpy as np
import pytest

import hashnet as hn
from hashnet.__main__ import main as cli_main
from hashnet.experiments import runner

CIFAR_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]


def _labels(n, rng):
    return np.arange(n) % 10 if n >= 10 else rng.integers(0, 10, n)


def _write_mnist(folder, n_train, n_test, rng):
    folder.mkdir(parents=True)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = _labels(n, rng).astype(np.uint8)
        # Pixels that depend on the label, so the networks have something to learn.
        images = rng.integers(0, 120, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), labels * 2, :] = 255
        hn.datasets.write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        hn.datasets.write_idx(folder / f"{split}-labels-idx1-ubyte.gz", labels)


def _write_cifar(folder, n_per_batch, n_test, rng):
    folder.mkdir(parents=True)
    for name, n in [(b, n_per_batch) for b in CIFAR_TRAIN] + [("test_batch.bin", n_test)]:
        labels = _labels(n, rng).astype(np.uint8)
        images = rng.integers(0, 120, (n, 3, 32, 32)).astype(np.uint8)
        images[np.arange(n), 0, labels * 3, :] = 255
        records = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(records.astype(np.uint8).tobytes())


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    _write_mnist(root / "mnist", 250, 100, rng)
    _write_cifar(root / "cifar10", 50, 100, rng)
    monkeypatch.setenv("HASHNET_DATA", str(root))
    runner._load.cache_clear()  # the runner keeps loaded data sets per process
    yield root
    runner._load.cache_clear()


@pytest.mark.parametrize("name, features", [("mnist", 784), ("cifar10", 3072)])
def test_study_sweep_runs_on_mnist_and_cifar10_files(tmp_path, data_root, name, features):
    Xtr, ytr, Xte, _ = hn.datasets.load(name)
    assert Xtr.shape == (250, features) and Xte.shape[1] == features
    out = tmp_path / name
    argv = ["reproduce", "width", "--dataset", name, "--repeats", "1", "--quiet"]
    argv += ["--set", "width=4,8", "--set", "epochs=2", "--set", "kmeans_n_init=1"]
    argv += ["--out", str(out)]
    assert cli_main(argv) == 0
    with open(out / "width.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["width"]) for r in rows] == [4, 8]
    for row in rows:
        assert row["dataset"] == name and row["protocol"] == "study"
        assert 0 <= float(row["rr_train"]) <= 1 and 0 <= float(row["knn_test"]) <= 1
        # the study trains on the first 80 % of the training split
        assert int(row["train_size"]) == 200 and int(row["test_size"]) == 100
    record = json.loads(next((out / "records").glob("*.json")).read_text())
    assert record["config"]["train_fraction"] == 0.8 and record["config"]["init"] == "glorot"
    assert record["info"]["protocol_changes"] == {
        "epochs": [200, 2],
        "kmeans_n_init": [10, 1],
    }
    assert (out / "width.png").is_file()


def test_missing_files_are_reported_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HASHNET_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(hn.datasets, "SYSTEM_DATA_DIR", str(tmp_path / "nothing"), raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "out"
    status = cli_main(["reproduce", "width", "--dataset", "cifar10", "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "cifar10" in err and err.count("\n") == 1
    assert not (out / "records").exists()
