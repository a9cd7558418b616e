"""The demo runs end to end in --quick mode, writes the figures it reports (PNG pictures and
an animated GIF of the regions during training), and explains them."""

import contextlib
import io
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import pytest
from PIL import Image

import hashnet.demo

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_demo(tmp_path_factory):
    """One --quick run (in this process) shared by the tests below: (out folder, stdout)."""
    out = tmp_path_factory.mktemp("demo") / "figures"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = hashnet.demo.main(["--out", str(out), "--quick", "--seed", "0"])
    assert status == 0
    return out, printed.getvalue()


def _reported_files(printed):
    """The paths listed after "Files written:" at the end of the output."""
    head, marker, tail = printed.partition("Files written:")
    assert marker, "the demo does not end with a summary of the files it wrote"
    return [Path(line.strip()) for line in tail.splitlines() if line.strip()]


def test_every_reported_figure_is_a_readable_image(quick_demo):
    out, printed = quick_demo
    files = _reported_files(printed)
    assert [p.suffix for p in files] == [".png", ".gif", ".png", ".png"]
    for path in files:
        assert path.is_absolute(), f"{path} is not an absolute path"
        assert path.parent == out.resolve()
        if path.suffix == ".gif":
            with Image.open(path) as movie:
                assert movie.format == "GIF" and movie.n_frames >= 3
                assert 200 <= movie.width <= 2000 and 200 <= movie.height <= 2000
            assert printed.count(str(path)) >= 2
            continue
        assert path.read_bytes()[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
        pixels = matplotlib.image.imread(path)
        height, width = pixels.shape[:2]
        assert 200 <= height <= 4000 and 200 <= width <= 4000, (path, pixels.shape)
        assert pixels.std() > 0.01, f"{path} is blank"
        assert printed.count(str(path)) >= 2  # said when written, and in the summary
    # Nothing else was left in the folder (no temporary files from the atomic writes).
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in files)


def test_output_tells_the_story(quick_demo):
    _, printed = quick_demo
    for step in range(1, 6):
        assert f"[{step}/5]" in printed
    assert "linear regions" in printed and "two or more" in printed
    assert printed.count("redundancy ratio") >= 3  # 2D net, width sweep, fashion-mnist-mini
    for probe in ("K-Means", "K-NN", "logistic regression"):
        assert printed.count(probe) >= 2, probe  # on the 2D net and on fashion-mnist-mini
    assert "fashion-mnist-mini" in printed and "784-100-10" in printed
    assert "during training" in printed and "untrained" in printed
    assert "plane through three test images" in printed


def test_run_returns_the_measurements(tmp_path, capsys):
    # The library call behind the command: the same steps, with the numbers as a dict.
    results = hashnet.demo.run(tmp_path, quick=True, seed=1)
    capsys.readouterr()
    toy = results["toy"]
    assert toy["n_regions"] > toy["n_train"]  # far more regions than training points
    assert 0 <= toy["mixed_regions"] <= toy["shared_regions"]
    assert 0 <= toy["alone"] <= toy["n_train"]
    frames = toy["frames"]  # counted on every frame of the animation
    assert frames["epochs"][0] == 0 and frames["epochs"] == sorted(frames["epochs"])
    assert len(frames["n_regions"]) == len(frames["alone"]) == len(frames["epochs"])
    assert frames["n_regions"][-1] == toy["n_regions"] and frames["alone"][-1] == toy["alone"]
    for record in (toy, results["fashion-mnist-mini"]):
        for key in ("rr_train", "rr_test", "kmeans_test", "knn_test", "lr_test"):
            assert 0.0 <= record[key] <= 1.0, key
    assert results["fashion-mnist-mini"]["test_acc"] > 0.6
    assert results["fashion-mnist-mini"]["plane_regions"] > 10
    sweep = results["sweep"]
    assert [r["width"] for r in sweep] == sorted(r["width"] for r in sweep)
    assert sweep[0]["rr_train"] > sweep[-1]["rr_train"]  # wider: fewer shared codes
    for row in sweep:  # the baselines drawn in the figure
        assert 0.0 <= row["knn_untrained"] <= 1.0
        assert 0.0 <= row["rr_train_same_size"] <= 1.0
    assert all(p.is_file() for p in results["files"])


def test_demo_command_line_help():
    for command in (["-m", "hashnet.demo"], ["-m", "hashnet", "demo"]):
        done = subprocess.run(
            [sys.executable, *command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        for option in ("--out", "--quick", "--seed"):
            assert option in done.stdout
