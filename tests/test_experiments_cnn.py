"""CNNs in the experiments: the study's CNN protocol, the cnn preset, CNN width and training-time
sweeps, and `python -m hashnet reproduce cnn` end to end."""

import csv
import json

import numpy as np
import pytest

import hashnet as hn
from hashnet.__main__ import main as cli_main
from hashnet.experiments import grid, runner
from hashnet.experiments.grid import config_hash, make_grid, normalise_config
from hashnet.nn import BatchNorm, Residual


def test_cnn_preset_follows_the_study_cnn_protocol():
    configs = make_grid("cnn")
    assert [(c["model"], c["width"]) for c in configs] == [
        ("lenet", 6),
        ("vgg16", 64),
        ("resnet20", 16),
    ]
    for c in configs:
        assert c["protocol"] == "study-cnn" and grid.protocol_changes(c) == {}
        assert (c["lr"], c["lr_schedule"], c["lr_step"]) == (1e-2, "step", 50)
        assert c["weight_decay"] == 1e-5  # Keras l2(5e-6): gradient 1e-5 W
        assert c["augment"] and c["epochs"] == 200 and c["patience"] == 10
    # --model picks networks, each at its standard width unless a width is given
    assert [(c["model"], c["width"]) for c in make_grid("cnn", model="resnet32")] == [
        ("resnet32", 16)
    ]
    pairs = [
        (c["model"], c["width"]) for c in make_grid("cnn", model=["lenet", "vgg11"], width=[4, 8])
    ]
    assert pairs == [("lenet", 4), ("lenet", 8), ("vgg11", 4), ("vgg11", 8)]
    # a CNN training-time sweep: snapshots of one run
    timed = make_grid("cnn", model="lenet", snapshots=[0, 1, 5])
    assert timed[0]["epochs"] == 5 and timed[0]["snapshots"] == [0, 1, 5]


def test_new_keys_leave_old_hashes_alone_and_are_checked():
    # MLP configurations keep the names their records were stored under
    assert config_hash({}) == "fcee630b051fa4ac"
    plain = {"width": 30}
    assert config_hash(plain) == config_hash({**plain, "model": "mlp", "augment": False})
    assert config_hash(plain) != config_hash({**plain, "model": "lenet"})
    with pytest.raises(ValueError, match="model"):
        normalise_config({"model": "alexnet"})
    with pytest.raises(ValueError, match="needs a CNN"):
        normalise_config({"augment": True})
    with pytest.raises(ValueError, match="depth"):
        normalise_config({"model": "resnet20", "depth": 3})
    with pytest.raises(ValueError, match="ReLUs"):
        normalise_config({"model": "resnet20", "activation": "leaky_relu"})
    with pytest.raises(ValueError, match="probe_bits"):
        normalise_config({"probe_bits": 0})


@pytest.mark.parametrize("model", list(grid.CNN_WIDTHS))
def test_build_network_builds_each_cnn_with_glorot_filters(model):
    config = normalise_config(
        {"model": model, "width": 2, "init": "glorot", "bn_momentum": 0.01, "bn_eps": 1e-3}
    )
    net = runner.build_network(config, (1, 28, 28), 10)
    assert isinstance(net, hn.CNN) and net.input_shape == (1, 28, 28)
    for (layer, name), w in zip(net._named_params(), net.get_weights()):
        if name in layer.decay and w.ndim == 4:  # a filter bank (out, in, kh, kw)
            field = w.shape[2] * w.shape[3]
            limit = np.sqrt(6.0 / ((w.shape[0] + w.shape[1]) * field))
            assert np.abs(w).max() <= limit
            assert w.size < 50 or np.abs(w).max() > 0.8 * limit  # Glorot's, not He's
    norms = [layer for layer in net.layers if isinstance(layer, BatchNorm)]
    norms += [p for layer in net.layers if isinstance(layer, Residual) for _, p in layer.parts()]
    norms = [n for n in norms if isinstance(n, BatchNorm)]
    assert norms or model == "lenet"
    assert all((n.momentum, n.eps) == (0.01, 1e-3) for n in norms)
    with pytest.raises(ValueError, match="needs images"):
        runner.build_network(config, (784,), 10)


def test_probe_bits_limit_what_the_probes_see():
    rng = np.random.default_rng(0)
    X = rng.random((120, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, 120)
    net = hn.CNN.resnet(8, input_shape=(1, 8, 8), n_classes=3, width=4)
    full = hn.encoding_properties(net, X[:80], y[:80], X[80:], y[80:], kmeans_n_init=1)
    cut = hn.encoding_properties(
        net, X[:80], y[:80], X[80:], y[80:], kmeans_n_init=1, probe_bits=100
    )
    assert full["n_bits"] == full["code_bits"] == cut["code_bits"] > 100
    assert cut["n_bits"] == 100
    assert cut["rr_train"] == full["rr_train"]  # the ratios use whole codes


def test_reproduce_cnn_quick_runs_end_to_end(tmp_path):
    out = tmp_path / "cnn"
    # the quick preset's three models, on fewer images
    args = ["reproduce", "cnn", "--quick", "--out", str(out), "--quiet"]
    args += ["--set", "n_train=250", "--set", "n_test=80"]
    assert cli_main(args) == 0
    with open(out / "cnn.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["model"] for r in rows) == ["lenet", "resnet20", "vgg11"]
    for row in rows:
        assert 0 <= float(row["rr_train"]) <= 1 and float(row["knn_test"]) > 0.2
        assert int(row["n_bits"]) == 1024 < int(row["code_bits"])
    record = json.loads(next((out / "records").glob("*.json")).read_text())
    assert record["config"]["augment"] is True
    assert (out / "cnn.png").stat().st_size > 1000
    # resumable: a second call runs nothing and writes the same table
    before = (out / "cnn.csv").read_text()
    assert cli_main(args) == 0
    assert (out / "cnn.csv").read_text() == before


def test_cli_model_option_is_checked(capsys, tmp_path):
    code = cli_main(["reproduce", "cnn", "--model", "alexnet", "--out", str(tmp_path / "x")])
    assert code == 2
    assert "--model" in capsys.readouterr().err


def test_width_sweep_of_a_cnn_scales_its_channels(tmp_path):
    out = tmp_path / "width"
    args = ["reproduce", "width", "--quick", "--model", "lenet", "--repeats", "1", "--quiet"]
    args += ["--set", "width=2,4", "--set", "n_train=200", "--set", "n_test=80"]
    args += ["--set", "epochs=1", "--out", str(out)]
    assert cli_main(args) == 0
    with open(out / "width.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["width"]) for r in rows] == [("lenet", "2"), ("lenet", "4")]
    # LeNet with 2 and 4 channels in its first convolution (and 5 and 11 in its second)
    bits = [int(r["code_bits"]) for r in rows]
    assert bits == [2 * 28 * 28 + 5 * 10 * 10 + 120 + 84, 4 * 28 * 28 + 11 * 10 * 10 + 120 + 84]


def test_a_cnn_on_a_set_without_images_is_refused_up_front(tmp_path, capsys):
    args = ["reproduce", "cnn", "--quick", "--model", "lenet", "--set", "dataset=moons"]
    assert cli_main([*args, "--out", str(tmp_path / "cnn")]) == 2
    assert "a CNN trains on images; data set 'moons' has none" in capsys.readouterr().err
    assert not (tmp_path / "cnn").exists()
    # the toy sets themselves still pass the up-front check (it loads two examples of them)
    args = ["reproduce", "width", "--quick", "--repeats", "1", "--set", "dataset=moons"]
    args += ["--set", "width=4", "--set", "epochs=1", "--quiet", "--out", str(tmp_path / "w")]
    assert cli_main(args) == 0
    assert (tmp_path / "w" / "width.csv").is_file()
