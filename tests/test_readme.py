"""The README's Python examples run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_examples_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)  # the example saves net.npz
    namespace = {}
    for block in blocks:  # later blocks use the names of earlier ones
        exec(compile(block, str(README), "exec"), namespace)
    assert (tmp_path / "net.npz").is_file() and (tmp_path / "regions.png").is_file()
    printed = [line for line in capsys.readouterr().out.splitlines() if "epoch" not in line]
    first = dict(line.rsplit(" ", 1) for line in printed[:3])  # "test accuracy 0.833", ...
    assert float(first["test accuracy"]) > 0.8 and float(first["redundancy ratio"]) < 0.1
    assert float(first["K-NN on codes"]) > 0.6
    cnn_accuracy, cnn_layers, cnn_regions = printed[3:]
    assert float(cnn_accuracy) > 0.7 and cnn_layers == "(4704, 1600, 120, 84)"
    assert int(cnn_regions) > 10
    assert 0 <= namespace["record"]["rr_train"] < 0.1
