"""What the sweeps do when things go wrong: a diverging run, bad worker settings, a dying
worker, and record files that are damaged in every way a file system allows.

Most tests use `fake_run`, a stand-in for training that returns made-up properties at once;
the divergence tests train real (tiny) networks on 200 examples for two epochs.
"""

import json
import math
import os
import threading
import warnings

import pytest

from hashnet.experiments import runner, store, table
from hashnet.experiments.grid import config_hash, make_grid

TINY = dict(dataset="fashion-mnist-mini", n_train=200, n_test=100, batch_size=50, kmeans_n_init=1)
MEASURED = ("train_acc", "test_acc", "rr_train", "rr_test", "kmeans_train", "kmeans_test")


def fake_run(config):
    """Made-up but deterministic properties: one point per snapshot (or one at the end)."""
    base = int(config_hash(config)[:6], 16) / 16**6
    points = [
        {"epoch": e, **{k: base for k in (*MEASURED, "knn_test", "lr_test")}}
        for e in config["snapshots"] or [config["epochs"]]
    ]
    return {"points": points, "info": {"note": "fake"}}


class Counting:
    """fake_run that remembers which configurations it ran."""

    def __init__(self):
        self.calls = []

    def __call__(self, config):
        self.calls.append(config_hash(config))
        return fake_run(config)


def thread_report(config):
    """fake_run that also stores the thread settings of the process it ran in."""
    import numba

    result = fake_run(config)
    result["info"]["threads"] = {
        "env": {k: os.environ.get(k) for k in runner._THREAD_VARS},
        "numba": numba.get_num_threads(),
        "pid": os.getpid(),
    }
    return result


def die_on_width_5(config):
    """fake_run whose worker process dies (as if killed) on the width-5 configuration."""
    if config["width"] == 5:
        os._exit(3)
    return fake_run(config)


def configs(n=3, **kw):
    return make_grid("width", quick=True, repeats=1, width=[3, 5, 10][:n], **{**TINY, **kw})


def record_files(out):
    return sorted(p for p in (out / "records").glob("*.json") if not p.name.startswith("."))


# --- a diverging run in a snapshot sweep -----------------------------------------------------


@pytest.mark.parametrize("kind", ["time", "random-training"])
def test_a_diverged_snapshot_run_is_recorded_and_the_sweep_goes_on(tmp_path, kind):
    kw = dict(quick=True, repeats=1, verbose=0, lr=1e30, snapshots=[0, 1, 2], **TINY)
    kw.update(width=[8, 12] if kind == "time" else 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow, and "training diverged"
        rows = runner.sweep(kind, tmp_path, **kw)
    n_runs = 2 if kind == "time" else 4
    assert len(record_files(tmp_path)) == n_runs  # every configuration, none lost
    assert len(rows) == 3 * n_runs
    for record in map(store.read_record, record_files(tmp_path)):
        points = record["points"]
        assert [p["epoch"] for p in points] == [0, 1, 2]
        assert isinstance(points[0]["train_loss"], float)  # before divergence: measured
        diverged = record["info"]["diverged_epoch"]
        assert diverged == 1
        for point in points[diverged:]:  # from divergence on: losses None, as in a width run
            assert point["train_loss"] is None and point["test_loss"] is None
            assert all(isinstance(point[k], float) for k in MEASURED)
    for summary in table.summarize(rows):  # diverged losses are left out of the statistics
        assert (summary["train_loss_mean"] is None) == (summary["epoch"] >= 1)
    # a resumed sweep finds every run stored and computes nothing
    again = Counting()
    runner.sweep(kind, tmp_path, run=again, **kw)
    assert again.calls == []


def test_a_diverged_run_without_snapshots_is_marked_the_same_way():
    config = {**TINY, "width": 8, "epochs": 2, "lr": 1e30}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = runner.train_and_measure(config)
    (point,) = result["points"]
    assert point["epoch"] == 2 and result["info"]["diverged_epoch"] == 1
    loss = point["train_loss"]
    assert loss is None or not math.isfinite(loss)  # NaN here; None once stored


# --- jobs, threads and worker processes ------------------------------------------------------


@pytest.mark.parametrize("jobs", [0, -4, 1.5, True, "2"])
def test_bad_jobs_are_refused_before_any_work(tmp_path, jobs):
    run = Counting()
    with pytest.raises(ValueError, match=r"jobs must be an integer >= 1, got"):
        runner.sweep("width", tmp_path, quick=True, repeats=1, run=run, jobs=jobs, verbose=0)
    with pytest.raises(ValueError, match=r"jobs must be an integer >= 1, got"):
        runner.run_configs(configs(), tmp_path, run=run, jobs=jobs, verbose=0)
    assert run.calls == [] and not (tmp_path / "records").exists()


@pytest.mark.parametrize("threads", [0, -2, 2.5, False])
def test_bad_threads_are_refused_before_any_work(tmp_path, threads):
    run = Counting()
    with pytest.raises(ValueError, match=r"threads must be None or an integer >= 1, got"):
        runner.sweep("width", tmp_path, quick=True, run=run, jobs=2, threads=threads, verbose=0)
    with pytest.raises(ValueError, match=r"threads must be None or an integer >= 1, got"):
        runner.run_configs(configs(), tmp_path, run=run, threads=threads, verbose=0)
    assert run.calls == [] and not (tmp_path / "records").exists()


def test_every_worker_keeps_the_thread_settings(tmp_path):
    before = {k: os.environ.get(k) for k in runner._THREAD_VARS}
    records = runner.run_configs(configs(3), tmp_path, jobs=2, threads=1, run=thread_report)
    assert len(records) == 3
    for record in records:
        threads = record["info"]["threads"]
        assert threads["numba"] == 1
        assert threads["env"] == {k: "1" for k in runner._THREAD_VARS}
        assert threads["pid"] != os.getpid()
    assert {k: os.environ.get(k) for k in runner._THREAD_VARS} == before  # restored


def test_a_dying_worker_is_an_error_not_a_success(tmp_path):
    # In a thread with a deadline: a pool that waits forever for the lost task fails here.
    outcome = {}

    def sweep():
        try:
            outcome["records"] = runner.run_configs(
                configs(3), tmp_path, jobs=2, threads=1, run=die_on_width_5, verbose=0
            )
        except Exception as exc:  # noqa: BLE001 - the test looks at what it was
            outcome["error"] = exc

    worker = threading.Thread(target=sweep, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the sweep hung after its worker died"
    assert "records" not in outcome
    assert isinstance(outcome["error"], ChildProcessError)
    assert "worker process died" in str(outcome["error"])
    assert "run the same command again" in str(outcome["error"])
    stored = {p.stem for p in record_files(tmp_path)}
    assert config_hash(configs(3)[1]) not in stored  # the width-5 run has no record
    again = Counting()
    runner.run_configs(configs(3), tmp_path, run=again, verbose=0)
    assert sorted(again.calls + list(stored)) == sorted(config_hash(c) for c in configs(3))


# --- merge and damaged records ---------------------------------------------------------------


def test_merge_of_folders_without_records_is_an_error(tmp_path):
    empty, other = tmp_path / "empty", tmp_path / "other"
    empty.mkdir()
    (other / "records").mkdir(parents=True)
    csv_path = tmp_path / "all.csv"
    with pytest.raises(ValueError, match="no records found in .*empty.*other"):
        table.merge(empty, other, csv_path=csv_path, summary_path=tmp_path / "s.csv")
    assert not csv_path.exists() and not (tmp_path / "s.csv").exists()
    # only damaged ones: each reported, then the same error
    (other / "records" / "0123456789abcdef.json").write_text("{")
    with pytest.warns(UserWarning, match="damaged record"):
        with pytest.raises(ValueError, match=r"no records found .*1 damaged"):
            table.merge(other, csv_path=csv_path)
    assert not csv_path.exists()


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))  # json writes NaN and Infinity, as a hand edit may


def _damage(files, monkeypatch):
    """Damage each file of `files` in its own way; return {path: expected reason}."""
    nan, inf, huge, text, folder, unreadable, deep, snaps = files[:8]
    _edit(nan, lambda d: d["points"][0].update(rr_train=float("nan")))
    _edit(inf, lambda d: d["info"].update(seconds=float("inf")))
    # an integer too large for a float
    huge.write_text(
        huge.read_text().replace('"test_acc": ', '"test_acc": 1' + "0" * 400 + ', "x": ', 1)
    )
    _edit(text, lambda d: d["points"][0].update(time_knn="slow"))
    folder.unlink()
    (folder / "inside").mkdir(parents=True)  # a folder named like a record
    if os.geteuid() == 0:  # root reads anything: make reading this one file fail instead
        real, inode = type(unreadable).read_text, unreadable.stat().st_ino

        def read_text(self, *args, **kwargs):  # until the file is replaced, as chmod 0 does
            if self == unreadable and self.stat().st_ino == inode:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(type(unreadable), "read_text", read_text)
    else:
        unreadable.chmod(0)
    deep.write_text("[" * 100000)
    _edit(snaps, lambda d: d["info"].update(missing_snapshots=3))
    return {
        nan: "record.points[0].rr_train is not a finite number",
        inf: "record.info.seconds is not a finite number",
        huge: "record.points[0].test_acc is not a finite number",
        text: "time_knn = 'slow'",
        folder: "a folder, not a record file",
        unreadable: "cannot be read (Permission denied)",
        deep: "nested too deeply",
        snaps: "missing_snapshots = 3 is not a list",
    }


def test_damaged_records_of_every_kind_are_reported_skipped_and_recomputed(tmp_path, monkeypatch):
    grid = make_grid("width", quick=True, repeats=1, width=[3, 5, 10, 20, 40], seed=[0, 1], **TINY)
    runner.run_configs(grid, tmp_path, run=fake_run, verbose=0)
    damaged = _damage(record_files(tmp_path), monkeypatch)
    assert len(damaged) == 8

    with pytest.warns(UserWarning) as caught:
        rows = table.merge(tmp_path, csv_path=tmp_path / "all.csv", summary_path=tmp_path / "s")
    messages = [str(w.message) for w in caught]
    for path, reason in damaged.items():
        assert any(str(path) in m and reason in m for m in messages), (path, reason, messages)
    assert {r["config_hash"] for r in rows} == set(map(config_hash, grid)) - {
        p.stem for p in damaged
    }
    assert (tmp_path / "all.csv").exists() and (tmp_path / "s").exists()

    redo = Counting()
    with pytest.warns(UserWarning) as caught:
        records = runner.run_configs(grid, tmp_path, run=redo, verbose=0)
    messages = "\n".join(str(w.message) for w in caught)
    assert messages.count("(recomputing it)") == len(damaged)
    assert "moved the folder" in messages
    assert sorted(redo.calls) == sorted(p.stem for p in damaged)
    assert [r["config_hash"] for r in records] == [config_hash(c) for c in grid]
    for path in damaged:
        assert store.read_record(path)["config_hash"] == path.stem
    # the folder that stood in the way was moved aside, with what it held
    folder = next(p for p, reason in damaged.items() if "folder" in reason)
    assert (folder.with_name(folder.name + ".damaged") / "inside").is_dir()
    again = Counting()
    runner.run_configs(grid, tmp_path, run=again, verbose=0)
    assert again.calls == []


def test_a_store_that_is_a_file_is_refused_before_any_work(tmp_path):
    run = Counting()
    (tmp_path / "out").write_text("")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        runner.run_configs(configs(), tmp_path / "out", run=run, verbose=0)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "records").write_text("")
    with pytest.raises(ValueError, match="records is a file, not a folder"):
        runner.run_configs(configs(), tmp_path / "two", run=run, verbose=0)
    assert run.calls == []
    runner.run_configs(configs(), tmp_path / "good", run=run, verbose=0)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        table.merge(tmp_path / "good", csv_path=tmp_path / "all.csv", into=tmp_path / "out")
    assert not (tmp_path / "all.csv").exists()
    # a folder where a table should go: refused before anything is written
    (tmp_path / "all.csv").mkdir()
    with pytest.raises(ValueError, match="all.csv: it is a folder"):
        table.merge(tmp_path / "good", csv_path=tmp_path / "all.csv", into=tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_merge_into_replaces_a_damaged_copy(tmp_path):
    runner.run_configs(configs(2), tmp_path / "a", run=fake_run, verbose=0)
    into = tmp_path / "into"
    runner.run_configs(configs(2), into, run=fake_run, verbose=0)
    broken = record_files(into)[0]
    broken.write_text("{")
    table.merge(tmp_path / "a", csv_path=tmp_path / "all.csv", into=into)
    assert store.read_record(broken)["config_hash"] == broken.stem
