"""The demo runs end to end in --quick mode and writes the figures it reports."""

import subprocess
import sys

import hashnet.demo

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_demo_quick_writes_valid_pngs(tmp_path, capsys):
    results = hashnet.demo.run(tmp_path / "out", quick=True)
    printed = capsys.readouterr().out
    assert results["files"], "the demo reported no figures"
    for path in results["files"]:
        assert path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE
        assert str(path) in printed
    for name in ("moons", "fashion-mnist-mini"):
        assert 0 <= results[name]["alone"] <= results[name]["n_train"]
        assert results[name]["test_acc"] > 0.5
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in results["files"]
    )


def test_demo_command_line_help():
    done = subprocess.run(
        [sys.executable, "-m", "hashnet.demo", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--quick" in done.stdout
