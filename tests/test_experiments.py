"""Sweeps, the result store, resuming, shards, jobs, figures and the phase chart.

Most tests run the machinery with `fake_run`, a stand-in for training that returns made-up
properties in no time; the ones about data, determinism and the quick presets train real
(tiny) networks on 200 examples of fashion-mnist-mini for an epoch or two.
"""

import copy
import csv
import json
import re

import numpy as np
import pytest

import hashnet as hn
from hashnet.__main__ import main as cli_main
from hashnet.experiments import cli, grid, phase, runner, store, table
from hashnet.experiments.grid import config_hash, make_grid, normalise_config

TINY = dict(dataset="fashion-mnist-mini", n_train=200, n_test=100, batch_size=50, kmeans_n_init=1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def fake_run(config):
    """Made-up but deterministic properties: one point per snapshot (or one at the end)."""
    base = int(config_hash(config)[:6], 16) / 16**6
    points = []
    for epoch in config["snapshots"] or [config["epochs"]]:
        value = round((base + epoch / 100) % 1, 6)
        points.append(
            {
                "epoch": epoch,
                **{k: value for k in ("train_acc", "test_acc", "rr_train", "rr_test")},
                **{k: value for k in ("kmeans_train", "kmeans_test", "knn_test", "lr_test")},
            }
        )
        if config["random_inputs"]:
            points[-1].update(rr_random_train=value, rr_random_test=value)
    return {"points": points, "info": {"note": "fake"}}


class Crashing:
    """fake_run that dies (like a killed process) on its (k+1)-th call."""

    def __init__(self, k=None):
        self.k, self.calls = k, []

    def __call__(self, config):
        if self.k is not None and len(self.calls) == self.k:
            raise RuntimeError("simulated kill")
        self.calls.append(config_hash(config))
        return fake_run(config)


def record_files(out):
    return sorted(p for p in (out / "records").glob("*.json") if not p.name.startswith("."))


def comparable(rows):
    """Rows without the wall-clock timings, which differ from run to run."""
    return [
        {k: v for k, v in r.items() if not k.startswith("time_") and k != "seconds"} for r in rows
    ]


# --- configurations and grids ----------------------------------------------------------------


def test_config_hash_is_stable_and_canonical():
    a = {"width": 30, "dropout": 0, "lr": 0.001}
    b = {"lr": 1e-3, "dropout": 0.0, "width": 30.0}
    assert config_hash(a) == config_hash(b)
    assert re.fullmatch("[0-9a-f]{16}", config_hash(a))
    assert config_hash(a) != config_hash({**a, "repeat": 1})
    assert config_hash({}) == config_hash(grid.DEFAULTS)
    # The hash names files on disk: it must not change between versions by accident.
    assert config_hash({}) == "fcee630b051fa4ac"
    snap = normalise_config({"snapshots": (10, 0, 3, 3)})
    assert snap["snapshots"] == [0, 3, 10] and snap["epochs"] == 10
    with pytest.raises(ValueError, match="unknown config key"):
        normalise_config({"widht": 3})
    with pytest.raises(ValueError, match="label_noise"):
        normalise_config({"label_noise": 1.5})
    with pytest.raises(ValueError, match="inputs"):
        normalise_config({"inputs": "gaussian"})


def test_presets_follow_the_study():
    study = {
        "protocol": "study",
        "dataset": "fashion-mnist",
        "train_fraction": 0.8,
        "init": "glorot",
        "batchnorm": True,
        "weight_decay": 2e-6,  # Keras l2(1e-6): gradient 2e-6 W
        "optimizer": "adam",
        "lr": 1e-2,
        "lr_schedule": "step",
        "batch_size": 64,
        "epochs": 200,
        "patience": 10,
        "multi_class": "ovo",
        "C": 1.0,
        "k": 9,
        "kmeans_n_init": 10,
        "noise_model": "permute",
        "tiling": "whole",
    }
    width = make_grid("width")
    assert sorted({c["width"] for c in width}) == [
        3, 7, 10, 15, 20, 23, 27, 30, 33, 37, 40, 43, 47, 50, 53, 57, 60, 65, 70, 75, 80, 90, 100
    ]  # fmt: skip
    assert {c["depth"] for c in width} == {1} and {c["repeat"] for c in width} == set(range(10))
    for c in width:
        assert {k: c[k] for k in study} == study and grid.protocol_changes(c) == {}
    deep = make_grid("width-deep", repeats=1)
    assert [c["width"] for c in deep] == list(range(50, 1001, 50))
    assert {c["depth"] for c in deep} == {5}
    time_grid = make_grid("time", repeats=1)
    assert [c["width"] for c in time_grid] == [40, 50, 60]
    assert time_grid[0]["snapshots"] == [0, 1, 3, 6, 10, 20, 30, 40, 60, 80] + list(
        range(100, 201, 20)
    )
    assert time_grid[0]["epochs"] == 200 and time_grid[0]["patience"] is None
    assert grid.protocol_changes(time_grid[0]) == {"patience": (10, None)}
    # The random-input experiment measures the training-time runs themselves.
    assert [config_hash(c) for c in make_grid("random", repeats=1)] == [
        config_hash(c) for c in time_grid
    ]
    assert all(c["random_inputs"] for c in time_grid)
    samples = make_grid("samples", repeats=1)
    assert sorted({c["sample_size"] for c in samples}) == [
        10, 30, 60, 100, 300, 600, 1000, 2000, 3000, 6000, 10000, 20000, 30000, 40000
    ]  # fmt: skip
    assert sorted({c["width"] for c in samples}) == [40, 50, 60]
    for kind in grid.KINDS:  # every preset builds, quick ones on the bundled data
        assert make_grid(kind) and make_grid(kind, quick=True)
        label = "time" if kind == "random" else kind
        assert {c["sweep"] for c in make_grid(kind, quick=True)} == {label}
        # the quick presets are the study's protocol scaled down, and say so
        changes = grid.protocol_changes(make_grid(kind, quick=True)[0])
        assert changes["kmeans_n_init"] == (10, 3) and changes["epochs"][0] == 200
    reg = make_grid("regularization", repeats=1)
    hashes = [config_hash(c) for c in reg]
    assert len(hashes) == len(set(hashes)) == 6 + 5 + 2 - 2  # the plain net appears once
    # overrides: a swept key gets new values, a new list becomes an axis, scalars are fixed
    g = make_grid("width", quick=True, repeats=1, width=[4, 8], lr=[1e-3, 1e-2], epochs=3)
    assert [(c["width"], c["lr"], c["epochs"]) for c in g] == [
        (4, 1e-3, 3),
        (4, 1e-2, 3),
        (8, 1e-3, 3),
        (8, 1e-2, 3),
    ]
    with pytest.raises(ValueError, match="unknown sweep kind"):
        make_grid("widths")
    with pytest.raises(ValueError, match="repeats"):
        make_grid("width", repeat=2)


# --- the store: resuming, damaged records, shards, jobs --------------------------------------


def test_resume_after_a_kill_loses_and_repeats_nothing(tmp_path):
    configs = make_grid("width", quick=True, **TINY)  # 7 widths x 2 repeats
    n, k = len(configs), 5
    first = Crashing(k)
    with pytest.raises(RuntimeError, match="simulated kill"):
        runner.run_configs(configs, tmp_path, run=first, verbose=0)
    assert len(record_files(tmp_path)) == k
    done_before = {p.name: p.read_bytes() for p in record_files(tmp_path)}
    # a write cut short by the kill leaves a hidden temporary file: it is not a record
    (tmp_path / "records" / ".0123456789abcdef.json.tmp.json").write_text('{"format": "hash')

    second = Crashing()
    records = runner.run_configs(configs, tmp_path, run=second, verbose=0)
    assert len(second.calls) == n - k  # nothing finished is run again
    assert set(second.calls).isdisjoint(first.calls)
    assert sorted(first.calls + second.calls) == sorted(config_hash(c) for c in configs)
    files = record_files(tmp_path)
    assert sorted(p.stem for p in files) == sorted(config_hash(c) for c in configs)
    for name, before in done_before.items():  # the first k records were not rewritten
        assert (tmp_path / "records" / name).read_bytes() == before
    assert [r["config_hash"] for r in records] == [config_hash(c) for c in configs]
    third = Crashing()
    runner.run_configs(configs, tmp_path, run=third, verbose=0)
    assert third.calls == []


def test_training_time_run_is_one_record_with_every_snapshot(tmp_path):
    configs = make_grid("time", quick=True, repeats=1, width=[4, 6], snapshots=[0, 1, 3])
    runner.run_configs(configs, tmp_path, run=Crashing(), verbose=0)
    files = record_files(tmp_path)
    assert len(files) == 2  # the run is the unit: one file per run, not per snapshot
    record = store.read_record(files[0])
    assert [p["epoch"] for p in record["points"]] == [0, 1, 3]
    rows = table.load_results(tmp_path)
    assert len(rows) == 6 and sorted({r["epoch"] for r in rows}) == [0, 1, 3]
    # a record that lost a snapshot is incomplete, hence damaged, hence recomputed
    data = json.loads(files[0].read_text())
    data["points"] = data["points"][:2]
    files[0].write_text(json.dumps(data))
    again = Crashing()
    with pytest.warns(UserWarning, match="points at epochs"):
        runner.run_configs(configs, tmp_path, run=again, verbose=0)
    assert again.calls == [files[0].stem]


def test_damaged_records_are_reported_never_used_and_recomputed(tmp_path):
    configs = make_grid("width", quick=True, repeats=1, **TINY)
    runner.run_configs(configs, tmp_path, run=fake_run, verbose=0)
    files = record_files(tmp_path)
    truncated, missing, mismatch, renamed = files[:4]
    truncated.write_text(truncated.read_text()[:50])  # a partial file
    data = json.loads(missing.read_text())
    del data["points"]
    missing.write_text(json.dumps(data))
    data = json.loads(mismatch.read_text())
    data["config"]["width"] += 1  # the configuration no longer matches its hash
    mismatch.write_text(json.dumps(data))
    renamed.rename(renamed.with_name("0000000000000000.json"))  # file name != config hash

    with pytest.warns(UserWarning) as caught:
        rows = table.load_results(tmp_path)
    messages = "\n".join(str(w.message) for w in caught)
    for path, reason in [
        (truncated, "bad JSON"),
        (missing, "missing key"),
        (mismatch, "config hash mismatch"),
        (renamed.with_name("0000000000000000.json"), "config hash mismatch"),
    ]:
        assert str(path) in messages and reason in messages
    assert len(rows) == len(configs) - 4
    assert {r["config_hash"] for r in rows}.isdisjoint(
        p.stem for p in (truncated, missing, mismatch)
    )
    with pytest.raises(store.RecordError, match="records"):
        table.load_results(tmp_path, strict=True)

    redo = Crashing()
    with pytest.warns(UserWarning, match="recomputing"):
        runner.run_configs(configs, tmp_path, run=redo, verbose=0)
    assert sorted(redo.calls) == sorted(p.stem for p in (truncated, missing, mismatch, renamed))
    assert all(store.read_record(p) for p in (truncated, missing, mismatch, renamed))


def test_shards_cover_every_configuration_once_and_merge_like_one_run(tmp_path):
    kw = dict(quick=True, repeats=2, verbose=0, run=fake_run, width=[3, 5, 10, 20, 40])
    whole = runner.sweep("width", tmp_path / "whole", **kw)
    grid_hashes = [
        config_hash(c) for c in make_grid("width", quick=True, repeats=2, width=[3, 5, 10, 20, 40])
    ]
    seen = []
    for k in (1, 2, 3):
        rows = runner.sweep("width", tmp_path / f"shard{k}", shard=f"{k}/3", **kw)
        mine = {r["config_hash"] for r in rows}
        expected = {h for i, h in enumerate(grid_hashes) if i % 3 == k - 1}
        assert mine == expected
        seen += [p.stem for p in record_files(tmp_path / f"shard{k}")]
    assert sorted(seen) == sorted(grid_hashes)  # each configuration exactly once
    merged = table.merge(
        *(tmp_path / f"shard{k}" for k in (1, 2, 3)),
        csv_path=tmp_path / "merged.csv",
        into=tmp_path / "into",
    )
    table.write_csv(whole, tmp_path / "whole.csv")
    assert merged == whole
    assert (tmp_path / "merged.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert len(record_files(tmp_path / "into")) == len(grid_hashes)
    with pytest.raises(ValueError, match="K/N"):
        runner.sweep("width", tmp_path / "bad", shard="4/3", **kw)


def test_two_jobs_give_the_same_records_as_one(tmp_path):
    kw = dict(quick=True, repeats=1, verbose=0, width=[5, 12], epochs=1, **TINY)
    # Bit for bit with the same thread count: one worker vs two workers, one thread each.
    one = runner.sweep("width", tmp_path / "one", jobs=1, threads=1, **kw)
    two = runner.sweep("width", tmp_path / "two", jobs=2, threads=1, **kw)
    assert comparable(one) == comparable(two) and len(one) == 2
    # In this process BLAS may use more threads: the same up to float rounding.
    here = runner.sweep("width", tmp_path / "here", jobs=1, **kw)
    for a, b in zip(comparable(here), comparable(one)):
        assert a.keys() == b.keys()
        assert all(a[k] == pytest.approx(b[k], rel=1e-6) for k in a if isinstance(a[k], float))


def test_progress_lines_with_eta_and_quiet(tmp_path, capsys):
    runner.sweep("width", tmp_path, quick=True, repeats=1, run=fake_run, width=[3, 30])
    lines = capsys.readouterr().out.splitlines()
    assert "2 to run" in lines[0]
    assert re.match(r"\[1/2\] width=3 repeat=0  rr_train 0\.\d{3} .* \d+\.\ds  ETA \d+s$", lines[1])
    assert re.match(r"\[2/2\] width=30 repeat=0 .*  done$", lines[2])
    runner.sweep("width", tmp_path / "q", quick=True, repeats=1, run=fake_run, verbose=0)
    assert capsys.readouterr().out == ""
    assert runner._duration(130) == "2m10s" and runner._duration(3725) == "1h02m"


# --- the data of a run -----------------------------------------------------------------------


def test_label_noise_is_exact_and_touches_training_labels_only():
    clean = runner.prepare_data(normalise_config(TINY))
    for fraction, sample_size in [(0.3, None), (0.25, 40), (1.0, None)]:
        config = normalise_config({**TINY, "label_noise": fraction, "sample_size": sample_size})
        data = runner.prepare_data(config)
        n = sample_size or 200
        changed = int(np.sum(data.y_train != clean.y_train[:n]))
        assert changed == round(fraction * n)
        assert data.info["label_noise_actual"] == changed / n
        assert np.array_equal(data.y_test, clean.y_test)
        # what the network is fit on is those same noisy labels (tiled)
        assert np.array_equal(data.y_fit[:n], data.y_train)
    noisy = normalise_config({**TINY, "label_noise": 0.3})
    same = [runner.prepare_data(noisy).y_train for _ in range(2)]
    assert np.array_equal(*same)  # seeded
    other_repeat = runner.prepare_data({**noisy, "repeat": 1})
    assert not np.array_equal(same[0], other_repeat.y_train)


def test_sample_size_protocol_tiles_to_a_fixed_epoch_length():
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", n_train=200)
    data = runner.prepare_data(normalise_config({**TINY, "sample_size": 30}))
    assert data.X_fit.shape == (200, 784)  # epoch length = the training set's size
    assert np.array_equal(data.X_train, Xtr[:30]) and np.array_equal(data.y_train, ytr[:30])
    assert np.array_equal(data.X_fit, np.concatenate([Xtr[:30]] * 7)[:200])
    assert np.array_equal(data.y_fit, np.tile(ytr[:30], 7)[:200])
    assert data.info == {"n_distinct": 30, "label_noise_actual": 0.0, "epoch_length": 200}
    longer = runner.prepare_data(normalise_config({**TINY, "sample_size": 30, "epoch_length": 90}))
    assert len(longer.y_fit) == 90
    strat = runner.prepare_data(
        normalise_config({**TINY, "sample_size": 50, "sample_protocol": "stratified"})
    )
    assert len(strat.y_train) == 50 and len(strat.y_fit) == 200
    assert np.bincount(strat.y_train, minlength=10).max() - np.bincount(strat.y_train).min() <= 1
    with pytest.raises(ValueError, match="larger than the training set"):
        runner.prepare_data(normalise_config({**TINY, "sample_size": 500}))


def test_random_inputs_and_labels():
    clean = runner.prepare_data(normalise_config(TINY))
    noise = runner.prepare_data(normalise_config({**TINY, "inputs": "uniform"}))
    assert noise.X_train.shape == clean.X_train.shape and noise.X_test.shape == clean.X_test.shape
    assert noise.X_train.min() >= clean.X_train.min() and noise.X_train.max() <= clean.X_train.max()
    assert noise.X_train.max() - noise.X_train.min() > 0.95 * (
        clean.X_train.max() - clean.X_train.min()
    )
    assert np.array_equal(noise.y_train, clean.y_train)  # labels="real" keeps each position's label
    shuffled = runner.prepare_data(normalise_config({**TINY, "labels": "random"}))
    assert np.array_equal(shuffled.X_train, clean.X_train)
    assert np.mean(shuffled.y_train == clean.y_train) < 0.3
    assert np.array_equal(shuffled.y_test, clean.y_test)


def test_snapshots_come_from_one_run():
    config = normalise_config({**TINY, "width": 16, "snapshots": [0, 1, 2]})
    result = runner.train_and_measure(config)
    assert [p["epoch"] for p in result["points"]] == [0, 1, 2]
    plain = runner.train_and_measure(normalise_config({**TINY, "width": 16, "epochs": 2}))
    last, only = comparable([result["points"][-1], plain["points"][0]])
    assert last == only  # the same training, bit for bit, snapshots or not
    untrained = hn.MLP(784, width=16, n_classes=10, seed=runner.run_seed(config, "net"))
    assert result["points"][0]["test_acc"] == untrained.score(*runner.prepare_data(config)[4:6])
    assert len(result["info"]["history"]["loss"]) == 2


# --- figures, the CLI, the phase chart -------------------------------------------------------


def _is_png(path):
    data = path.read_bytes()
    if data[:8] != PNG_MAGIC or b"IEND" not in data[-12:]:
        return False
    import matplotlib.image

    return matplotlib.image.imread(path).ndim == 3


def test_quick_presets_run_end_to_end(tmp_path, monkeypatch):
    presets = copy.deepcopy(grid.PRESETS)
    for kind, both in presets.items():  # shrink every quick preset to two values per axis
        quick = both["quick"]
        quick["fixed"].update(TINY, epochs=1)
        if "snapshots" in quick["fixed"]:
            quick["fixed"]["snapshots"] = [0, 1]
        if kind == "samples":
            quick["axes"] = [{"width": [8], "sample_size": [20, 150]}]
        elif kind == "phase":
            quick["axes"] = [{"sample_size": [50, 150], "width": [4, 16]}]
        else:
            quick["axes"] = [{k: v[:2] for k, v in sub.items()} for sub in quick["axes"]]
        quick["repeats"] = 2 if kind in ("width", "time") else 1
    monkeypatch.setattr(grid, "PRESETS", presets)
    for kind in [k for k in grid.KINDS if k != "phase"]:
        out = tmp_path / kind
        assert cli_main(["reproduce", kind, "--quick", "--out", str(out), "--quiet"]) == 0
        with open(out / f"{kind}.csv") as f:
            rows = list(csv.DictReader(f))
        n_runs = len(make_grid(kind, quick=True))
        assert len(record_files(out)) == n_runs
        assert len(rows) == n_runs * (2 if kind in ("time", "random", "random-training") else 1)
        assert {"rr_train", "rr_test", "knn_test", "lr_test", "kmeans_test"} <= set(rows[0])
        if kind in ("time", "random"):  # the random-input experiment rides on the time runs
            assert rows[0]["rr_random_train"] and rows[0]["rr_random_test"]
        assert (out / f"{kind}_summary.csv").is_file() and _is_png(out / f"{kind}.png")
    out = tmp_path / "phase"
    assert (
        cli_main(["phase", "--quick", "--out", str(out), "--quiet", "--acc-threshold", "0.3"]) == 0
    )
    with open(out / "phase_cells.csv") as f:
        cells = list(csv.DictReader(f))
    assert len(cells) == 2 * 2 * 2 and {c["regime"] for c in cells} <= set(phase.REGIMES)
    assert _is_png(out / "phase.png") and (out / "phase.csv").is_file()


def test_cli_settings_merge_and_defaults(tmp_path, capsys):
    assert cli.parse_settings(
        ["width=10,20", "lr_schedule=none", "batchnorm=true", "snapshots=5"]
    ) == {
        "width": [10, 20],
        "lr_schedule": None,
        "batchnorm": True,
        "snapshots": [5],
    }
    with pytest.raises(ValueError, match="KEY=VALUE"):
        cli.parse_settings(["widht=3"])
    assert cli._PHASE == {
        "metric": phase.METRIC,
        "rr": phase.RR_THRESHOLD,
        "acc": phase.ACC_THRESHOLD,
        "rule": "threshold",
        "tolerance": phase.TOLERANCE,
    }
    runner.sweep("width", tmp_path / "a", quick=True, repeats=1, run=fake_run, verbose=0)
    bad = record_files(tmp_path / "a")[0]
    bad.write_bytes(bad.read_bytes()[:-40])
    status = cli_main(["table", str(tmp_path / "a"), "--csv", str(tmp_path / "t.csv")])
    captured = capsys.readouterr()
    assert status == 1 and str(bad) in captured.err and "bad JSON" in captured.err
    assert (
        len(list(csv.DictReader(open(tmp_path / "t.csv"))))
        == len(make_grid("width", quick=True, repeats=1)) - 1
    )
    assert cli_main(["reproduce", "widths", "--out", str(tmp_path / "x")]) == 2
    assert "invalid choice: 'widths'" in capsys.readouterr().err
    argv = ["reproduce", "noise", "--quick", "--set", "label_noise=2", "--out", str(tmp_path / "x")]
    assert cli_main(argv) == 2
    assert capsys.readouterr().err.startswith("error: config 'label_noise' must be in")


def test_summary_statistics_over_repeats():
    rows = [
        {
            **normalise_config({"width": 10, "repeat": r}),
            "epoch": 20,
            "rr_train": v,
            "knn_test": 0.5,
        }
        for r, v in enumerate([0.1, 0.3, 0.2])
    ]
    (s,) = table.summarize(rows)
    assert s["n"] == 3 and s["rr_train_mean"] == pytest.approx(0.2)
    assert s["rr_train_std"] == pytest.approx(0.1) and (s["rr_train_min"], s["rr_train_max"]) == (
        0.1,
        0.3,
    )
    assert s["knn_test_std"] == 0


def test_phase_regimes_from_hand_made_records():
    assert phase.classify_regime(0.2, 0.9) == "under-expressive"
    assert phase.classify_regime(0.05, 0.5) == "critically-expressive"  # at the threshold: low
    assert phase.classify_regime(0.0, 0.75) == "sufficiently-expressive"
    assert phase.classify_regime(0.2, 0.9, rr_threshold=0.3) == "sufficiently-expressive"
    assert phase.classify_regime(0.0, 0.8, acc_threshold=0.85) == "critically-expressive"

    def row(width, epoch, rr, knn, repeat=0):
        config = normalise_config(
            {"sweep": "phase", "width": width, "sample_size": 100, "repeat": repeat}
        )
        return {**config, "epoch": epoch, "rr_train": rr, "knn_test": knn, "lr_test": 0.1}

    rows = [
        row(5, 0, 0.9, 0.3),
        row(5, 10, 0.6, 0.5),
        row(50, 0, 0.0, 0.6),
        row(50, 10, 0.01, 0.9),
        row(50, 10, 0.03, 0.7, repeat=1),  # mean over repeats: rr 0.02, knn 0.8
    ]
    cells = {(c["width"], c["epoch"]): c for c in phase.phase_cells(rows)}
    assert {k: c["regime"] for k, c in cells.items()} == {
        (5, 0): "under-expressive",
        (5, 10): "under-expressive",
        (50, 0): "critically-expressive",
        (50, 10): "sufficiently-expressive",
    }
    assert cells[50, 10]["n"] == 2 and cells[50, 10]["knn_test_mean"] == pytest.approx(0.8)
    stricter = phase.phase_cells(rows, acc_threshold=0.85)
    assert sum(c["regime"] == "sufficiently-expressive" for c in stricter) == 0
    by_lr = phase.phase_cells(rows, metric="lr_test", rr_threshold=1.0)
    assert {c["regime"] for c in by_lr} == {"critically-expressive"}
    with pytest.raises(ValueError, match="metric"):
        phase.phase_cells(rows, metric="svm")
    fig = phase.plot_phase(phase.phase_cells(rows), rr_threshold=0.05, acc_threshold=0.75)
    assert len(fig.axes) == 1 and "knn_test < 0.75" in fig._suptitle.get_text()
    assert "hashnet's rule" in fig._suptitle.get_text()  # never passed off as the study's
    assert len(phase._boundaries(np.array([[0, 1], [2, 2]]))) == 3


def test_phase_saturation_rule_and_cells_near_a_threshold():
    def row(width, epoch, rr, knn, size=100, repeat=0, test_size=1000):
        config = normalise_config(
            {"sweep": "phase", "width": width, "sample_size": size, "repeat": repeat}
        )
        point = {"epoch": epoch, "rr_train": rr, "knn_test": knn, "test_size": test_size}
        return {**config, **point, "train_size": size}

    rows = [
        row(10, 5, 0.0, 0.70),  # unique codes, and the best this sample size reaches
        row(20, 5, 0.0, 0.69),  # within 0.02 of the best: saturated
        row(40, 5, 0.0, 0.60),  # well below the best: not saturated
        row(40, 5, 0.0, 0.95, size=1000),  # another sample size has its own best
        row(40, 9, 0.0, 0.92, size=1000),
    ]
    cells = {(c["width"], c["sample_size"], c["epoch"]): c for c in phase.phase_cells(rows)}
    by_threshold = {k: c["regime_threshold"] for k, c in cells.items()}
    by_saturation = {k: c["regime_saturation"] for k, c in cells.items()}
    assert by_threshold == {
        (10, 100, 5): "critically-expressive",  # 0.70 < 0.75
        (20, 100, 5): "critically-expressive",
        (40, 100, 5): "critically-expressive",
        (40, 1000, 5): "sufficiently-expressive",
        (40, 1000, 9): "sufficiently-expressive",
    }
    assert by_saturation == {
        (10, 100, 5): "sufficiently-expressive",
        (20, 100, 5): "sufficiently-expressive",
        (40, 100, 5): "critically-expressive",
        (40, 1000, 5): "sufficiently-expressive",
        (40, 1000, 9): "critically-expressive",  # 0.92 < 0.95 - 0.02
    }
    assert all(c["regime"] == c["regime_threshold"] for c in cells.values())
    saturation = phase.phase_cells(rows, rule="saturation")
    assert [c["regime"] for c in saturation] == [c["regime_saturation"] for c in saturation]
    # One repeat on 1000 test images: the binomial error of 0.75 is 0.0137, so 0.74 and 0.76
    # are within the noise of the 0.75 threshold and 0.70 is not; rr near 0.05 on 100 codes.
    near = [row(5, 1, 0.0, 0.74), row(6, 1, 0.0, 0.76), row(7, 1, 0.0, 0.70)]
    near += [row(8, 1, 0.06, 0.9), row(9, 1, 0.5, 0.9)]
    flags = {c["width"]: c["near_threshold"] for c in phase.phase_cells(near)}
    assert flags == {5: True, 6: True, 7: False, 8: True, 9: False}
    with pytest.raises(ValueError, match="rule"):
        phase.phase_cells(rows, rule="vibes")
    fig = phase.plot_phase(
        saturation, rr_threshold=0.05, acc_threshold=0.75, rule="saturation", tolerance=0.02
    )
    assert "more than 0.02 below the best" in fig._suptitle.get_text()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.endswith("*") for t in texts)  # the cells where the rules disagree


def test_device_reaches_every_run_and_a_missing_gpu_stops_before_any(tmp_path, monkeypatch):
    seen = []

    def run_on(config, device="cpu"):
        seen.append(device)
        return fake_run(config)

    kw = dict(quick=True, repeats=1, run=run_on, verbose=0, width=[3, 5])
    with pytest.raises(ValueError, match="unknown device"):
        runner.sweep("width", tmp_path, device="tpu", **kw)
    if not hn.gpu.cuda_available():
        with pytest.raises(hn.gpu.CUDAUnavailableError):
            runner.sweep("width", tmp_path, device="cuda", **kw)
        assert seen == [] and not record_files(tmp_path)
        import hashnet.device

        # pretend there is one
        monkeypatch.setattr(hashnet.device, "check_device", lambda device: None)
    runner.sweep("width", tmp_path, device="cuda", **kw)
    assert seen == ["cuda", "cuda"]
