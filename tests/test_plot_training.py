"""hn.plot.regions_over_training: exact regions at chosen epochs, counted on every frame and
written as a GIF; and the readability rules of the region figures (no text under 8 points,
a class legend, counts in the titles)."""

import numpy as np
import pytest
from PIL import Image

import hashnet as hn

EPOCHS = (0, 1, 5, 20)


@pytest.fixture(scope="module")
def trained():
    X, y, _, _ = hn.datasets.load("moons", n_train=80, n_test=10, seed=0)
    net = hn.MLP(2, (8, 8), 2, seed=0)
    net.fit(X, y, epochs=20, batch_size=16, lr=1e-2, checkpoints=EPOCHS, verbose=0)
    return net, X, y


def _texts(fig):
    fig.canvas.draw()  # legends and tick labels exist once drawn
    return [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize")) if t.get_text()]


def test_counts_are_made_on_every_frame(trained, tmp_path):
    net, X, y = trained
    low, high = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5  # every point inside
    box = (low[0], high[0], low[1], high[1])
    movie = hn.plot.regions_over_training(net, X, y, box=box, path=tmp_path / "m.gif", dpi=40)
    assert movie.epochs == list(EPOCHS) and movie.n_points == len(X)
    for epoch, n, alone in zip(movie.epochs, movie.n_regions, movie.alone):
        R = hn.regions.enumerate(net.checkpoint(epoch), box=box)  # counted independently
        counts = np.bincount(R.locate(X), minlength=R.n_regions)
        assert n == R.n_regions and alone == int((counts[R.locate(X)] == 1).sum())
    with Image.open(tmp_path / "m.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == len(EPOCHS)
    assert movie.path == tmp_path / "m.gif"
    assert [p.name for p in tmp_path.iterdir()] == ["m.gif"]  # no temporary file left


def test_still_pictures_and_chosen_epochs(trained):
    net, X, y = trained
    movie = hn.plot.regions_over_training(net, X, y, epochs=[0, 20])
    assert movie.epochs == [0, 20] and movie.path is None
    fig = movie.figure()
    assert len([ax for ax in fig.axes if ax.get_title().startswith("epoch")]) == 2
    assert "epoch 20" in movie.frame(20).axes[0].get_title()
    assert movie.browse() is not None  # without ipywidgets: the still picture


def test_bad_requests_are_explained(trained, tmp_path):
    net, X, y = trained
    with pytest.raises(ValueError, match="checkpoints"):
        hn.plot.regions_over_training(hn.MLP(2, (4,), 2, seed=0), X, y)
    with pytest.raises(ValueError, match="no snapshot for epochs \\[7\\]"):
        hn.plot.regions_over_training(net, X, y, epochs=[0, 7])
    with pytest.raises(ValueError, match="GIF"):
        hn.plot.regions_over_training(net, X, y, path=tmp_path / "m.mp4")
    with pytest.raises(ValueError, match="at least one choice"):
        hn.plot.sliders(lambda: None)


def test_sliders_fall_back_to_a_still_picture():
    drawn = []
    result = hn.plot.sliders(lambda a, b: drawn.append((a, b)) or "figure", a=[1, 2], b=[3])
    assert result == "figure" and drawn == [(1, 3)]
    assert hn.plot.sliders(lambda a: 1 / 0, fallback=lambda: "still", a=[1]) == "still"


def test_region_figures_are_readable(trained):
    net, X, y = trained
    R = hn.regions.enumerate(net, box=(-2.0, 3.0, -1.5, 2.0))
    movie = hn.plot.regions_over_training(net, X, y, epochs=[0, 20])
    for fig in (
        hn.plot.regions(R, X, y, color_by="occupancy", layers=True),
        movie.frame(20),
        movie.figure(),
    ):
        small = [(t.get_text(), t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < 8]
        assert not small, f"text under 8 points: {small}"
    fig = hn.plot.regions(R, X, y, color_by="occupancy")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert {"class 0", "class 1", "one point", "no point"} <= set(labels)
    alone = int(round(R.occupancy(X).alone_fraction * len(X)))
    assert fig.axes[0].get_title() == f"{R.n_regions} regions; {alone} of {len(X)} points alone"
