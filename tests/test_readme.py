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
    printed = [float(line) for line in capsys.readouterr().out.splitlines() if "epoch" not in line]
    accuracy, alone, ratio, knn = printed
    assert accuracy > 0.8 and alone > 0.9 and ratio < 0.1 and knn > 0.6
    assert 0 <= namespace["record"]["rr_train"] < 0.1
