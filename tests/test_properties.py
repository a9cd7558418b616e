"""The study's record in one call, and the `codes` command that prints it."""

import subprocess
import sys

import numpy as np
import pytest

import hashnet as hn
from hashnet.properties import encoding_properties, format_record

KEYS = [
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "rr_train",
    "rr_test",
    "kmeans_train",
    "kmeans_test",
    "knn_test",
    "lr_test",
]


@pytest.fixture(scope="module")
def trained():
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini", n_train=1000, n_test=300)
    net = hn.MLP(784, (64,), 10, seed=0).fit(Xtr, ytr, epochs=5, verbose=0)
    return net, Xtr, ytr, Xte, yte


def test_encoding_properties_record(trained):
    net, Xtr, ytr, Xte, yte = trained
    record = encoding_properties(net, Xtr, ytr, Xte, yte, kmeans_n_init=2)
    for key in KEYS:
        assert 0.0 <= record[key] <= (10.0 if key.endswith("loss") else 1.0), key
    assert record["rr_train"] == hn.redundancy_ratio(net.codes(Xtr))
    assert record["test_acc"] == pytest.approx(net.score(Xte, yte))
    assert record["n_bits"] == 64
    # The codes categorize: every probe does far better than chance (0.1) on real images.
    assert min(record["knn_test"], record["lr_test"], record["kmeans_train"]) > 0.4
    assert all(record[f"time_{step}"] >= 0 for step in ("codes", "rr", "kmeans", "knn", "lr"))
    table = format_record(record)
    assert "rr_train" in table and "knn_test" in table


def test_probe_selection_and_constant_bits(trained):
    net, Xtr, ytr, Xte, yte = trained
    record = encoding_properties(net, Xtr, ytr, Xte, yte, probes=("knn",), drop_constant=True)
    assert "lr_test" not in record and "kmeans_train" not in record
    assert record["n_bits"] == net.codes(Xtr).drop_constant().n_bits
    with pytest.raises(ValueError, match="unknown probes"):
        encoding_properties(net, Xtr, ytr, Xte, yte, probes=("svm",))
    with pytest.raises(ValueError, match="labels"):
        encoding_properties(net, Xtr, ytr[:-1], Xte, yte)


def test_codes_command_prints_the_record():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hashnet",
            "codes",
            "--dataset",
            "moons",
            "--width",
            "32",
            "--depth",
            "2",
            "--epochs",
            "2",
            "--n-train",
            "300",
            "--n-test",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for key in ("rr_train", "rr_test", "kmeans_train", "knn_test", "lr_test"):
        assert key in done.stdout
    assert np.isfinite(float(done.stdout.split("rr_train")[1].split()[0]))
