"""Model files saved by earlier versions of hashnet still load, and give the same answers.

tests/data holds four small models saved by hashnet 0.1.0 before its layers, saving and GPU
path were reorganised (tests/data/make_saved_models.py made them), with inputs and the
probabilities and codes each model gave then.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hashnet as hn
from hashnet.nn import saving

DATA = Path(__file__).resolve().parent / "data"

# file, input key, the model class and its layers as the file names them
MODELS = {
    "mlp": ("X", "MLP", ["Dense", "BatchNorm", "LeakyReLU", "Dropout"] * 2 + ["Dense"]),
    "sequential": ("X", "Sequential", ["Dense", "ReLU", "Dense", "LeakyReLU", "Dense"]),
    "cnn": (
        "Xi",
        "CNN",
        "Conv2D BatchNorm ReLU MaxPool2D Conv2D LeakyReLU AvgPool2D GlobalAvgPool2D Dense ReLU "
        "Dense".split(),
    ),
    "vgg": (
        "Xv",
        "CNN",
        "Conv2D BatchNorm ReLU Conv2D BatchNorm ReLU MaxPool2D Flatten Dense ReLU Dense".split(),
    ),
}


@pytest.fixture(scope="module")
def outputs():
    with np.load(DATA / "saved_outputs.npz") as f:
        return dict(f)


@pytest.mark.parametrize("name", list(MODELS))
def test_old_files_load_and_answer_as_before(name, outputs):
    key, model_class, layer_names = MODELS[name]
    net = hn.load(DATA / f"saved_{name}.npz")
    assert type(net).__name__ == model_class
    assert [type(layer).__name__ for layer in net.layers] == layer_names
    X, prefix = outputs[key], "seq" if name == "sequential" else name
    want = outputs[f"{prefix}_proba"]
    np.testing.assert_allclose(net.predict_proba(X), want, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(net.codes(X).words, outputs[f"{prefix}_codes"])


def test_saving_again_writes_the_same_file_format(tmp_path, outputs):
    net = hn.load(DATA / "saved_cnn.npz")
    again = hn.load(net.save(tmp_path / "again.npz"))
    with np.load(DATA / "saved_cnn.npz") as old, np.load(tmp_path / "again.npz") as new:
        assert sorted(old.files) == sorted(new.files)
        assert json.loads(str(old["config"])) == json.loads(str(new["config"]))
        for key in old.files:
            if key != "config":
                np.testing.assert_array_equal(old[key], new[key])
    np.testing.assert_array_equal(
        again.predict_proba(outputs["Xi"]), net.predict_proba(outputs["Xi"])
    )


def test_files_name_classes_that_register_themselves():
    # The loader knows no layer or model by heart: they joined these tables when defined.
    assert {"Sequential", "MLP", "CNN"} <= set(saving.MODEL_TYPES)
    from hashnet.nn.layers import LAYER_TYPES

    assert {"Dense", "ReLU", "LeakyReLU", "Conv2D", "GlobalAvgPool2D"} <= set(LAYER_TYPES)
    assert "Rectifier" not in LAYER_TYPES  # a shared base, not a layer type
    config = {"class": "Transformer", "layers": []}
    with pytest.raises(ValueError, match="unknown model type 'Transformer'"):
        saving.model_from_config(config)
