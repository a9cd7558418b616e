"""The README's Python example runs as written and prints what the README says it prints, and
the Python examples of the pages it links to (docs/api.md, docs/cnns.md) run too."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _python_blocks(path):
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert blocks, f"{path.name} has no Python example"
    return blocks


def _run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the examples save files
    namespace = {}
    for block in _python_blocks(path):  # later blocks use the names of earlier ones
        exec(compile(block, str(path), "exec"), namespace)
    return namespace


def test_readme_example_prints_what_the_readme_says(tmp_path, monkeypatch, capsys):
    _run(README, tmp_path, monkeypatch)
    assert (tmp_path / "net.npz").is_file()
    printed = [line for line in capsys.readouterr().out.splitlines() if "epoch" not in line]
    shown = re.search(r"prints \(.*?\)\n\n```\n(.*?)```", README.read_text(), flags=re.S)
    assert shown, "the README shows the example's output after 'prints (...)'"
    expected = dict(line.rsplit(" ", 1) for line in shown.group(1).splitlines())
    measured = dict(line.rsplit(" ", 1) for line in printed[:3])
    assert measured.keys() == expected.keys()
    for key, value in expected.items():  # to the digits shown, give or take one in the last
        assert float(measured[key]) == pytest.approx(float(value), abs=2e-3), key


def test_api_tour_runs(tmp_path, monkeypatch, capsys):
    namespace = _run(ROOT / "docs" / "api.md", tmp_path, monkeypatch)
    capsys.readouterr()
    assert 0 <= namespace["record"]["rr_train"] < 0.1
    assert (tmp_path / "regions.png").is_file() and (tmp_path / "regions.gif").is_file()
    assert len(namespace["movie"].n_regions) == 6


def test_cnn_page_runs(tmp_path, monkeypatch, capsys):
    _run(ROOT / "docs" / "cnns.md", tmp_path, monkeypatch)
    cnn_accuracy, cnn_layers, cnn_regions = [
        line for line in capsys.readouterr().out.splitlines() if "epoch" not in line
    ]
    assert float(cnn_accuracy) > 0.7 and cnn_layers == "(4704, 1600, 120, 84)"
    assert int(cnn_regions) > 10
