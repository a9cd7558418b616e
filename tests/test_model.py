"""The trainer end to end: learning, reproducibility, saving, checkpoints and bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest
from _tolerance import assert_close

import hashnet as hn
from hashnet.nn import BatchNorm, Dense, Rectifier, ReLU, Sequential, split_width


@pytest.fixture(scope="module")
def moons():
    return hn.datasets.load("moons")


def numpy_forward(net, X, magnitudes=False):
    """An independent forward pass from get_weights(): Dense, ReLU/LeakyReLU, BatchNorm (eval).

    With magnitudes=True, the same pass on absolute values (|X| @ |W| + |b|, activations left
    out since they never enlarge a value): a bound on the size of the numbers each output is
    computed from, which is what its rounding error is proportional to.
    """
    size = np.abs if magnitudes else (lambda a: a)
    weights = iter(net.get_weights())
    states = iter(net._state_arrays())
    X = size(X)
    for layer in net.layers:
        if isinstance(layer, Dense):
            X = X @ size(next(weights)) + size(next(weights))
        elif isinstance(layer, Rectifier) and not magnitudes:  # ReLU and LeakyReLU
            X = np.where(X > 0, X, layer.alpha * X)
        elif isinstance(layer, BatchNorm):
            gamma, beta, mean, var = next(weights), next(weights), next(states), next(states)
            centred = X + np.abs(mean) if magnitudes else X - mean
            X = size(gamma) * centred / np.sqrt(var + layer.eps) + size(beta)
    return X


@pytest.mark.parametrize(
    "kwargs",
    [dict(), dict(activation="leaky_relu", alpha=0.2), dict(batchnorm=True, dropout=0.3)],
)
def test_forward_matches_plain_numpy(kwargs):
    rng = np.random.default_rng(0)
    net = hn.MLP(3, (5, 4), 3, dtype="float64", **kwargs)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    for s in net._state_arrays():
        s[...] = rng.random(s.shape) + 0.5
    X = rng.normal(size=(10, 3))
    assert_close(net._forward(X), numpy_forward(net, X), scale=numpy_forward(net, X, True))
    probs = net.predict_proba(X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.predict(X), probs.argmax(axis=1))


def test_moons_reaches_97_percent(moons):
    Xtr, ytr, Xte, yte = moons
    net = hn.MLP(2, (32, 32), 2, seed=0).fit(Xtr, ytr, epochs=30, lr=1e-2, verbose=0)
    assert net.score(Xte, yte) >= 0.97
    assert net.history_["loss"][-1] < net.history_["loss"][0]


def test_fashion_mnist_mini_reaches_80_percent():
    Xtr, ytr, Xte, yte = hn.datasets.load("fashion-mnist-mini")
    net = hn.MLP(784, (100,), 10, seed=0)
    net.fit(Xtr, ytr, epochs=20, batch_size=64, lr=1e-3, verbose=0)
    assert net.score(Xte, yte) >= 0.80


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "sgd-nesterov", "adam-float64"])
def test_other_optimizers_and_float64_learn(moons, optimizer):
    Xtr, ytr, Xte, yte = moons
    dtype = "float64" if optimizer.endswith("float64") else "float32"
    net = hn.MLP(2, (32, 32), 2, seed=0, dtype=dtype)
    if optimizer.startswith("sgd"):
        net.fit(
            Xtr,
            ytr,
            epochs=40,
            optimizer="sgd",
            lr=0.05,
            momentum=0.9,
            nesterov=optimizer.endswith("nesterov"),
            verbose=0,
        )
    else:
        net.fit(Xtr, ytr, epochs=30, lr=1e-2, verbose=0)
    assert net.get_weights()[0].dtype == np.dtype(dtype)
    assert net.score(Xte, yte) >= 0.95


def test_same_seed_same_weights_bit_for_bit(moons):
    Xtr, ytr, _, _ = moons

    def train(seed):
        net = hn.MLP(2, (16, 16), 2, seed=seed, batchnorm=True, dropout=0.2)
        return net.fit(Xtr, ytr, epochs=3, verbose=0).get_weights()

    first, again, other = train(5), train(5), train(6)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))


def test_save_load_round_trip(tmp_path, moons):
    Xtr, ytr, Xte, _ = moons
    net = hn.MLP(2, (8, 8), 2, batchnorm=True, activation="leaky_relu", seed=3)
    net.fit(Xtr, ytr, epochs=2, verbose=0)
    path = net.save(tmp_path / "net.npz")
    back = hn.load(path)
    assert isinstance(back, hn.MLP) and back.hidden == (8, 8)
    np.testing.assert_array_equal(back.predict_proba(Xte), net.predict_proba(Xte))
    custom = Sequential([Dense(4), BatchNorm(), ReLU(), Dense(3)], input_shape=2, dtype="float64")
    again = hn.load(custom.save(tmp_path / "custom.npz"))
    np.testing.assert_array_equal(again.predict_proba(Xte), custom.predict_proba(Xte))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["custom.npz", "net.npz"]


def test_interrupted_save_leaves_nothing(tmp_path, monkeypatch):
    net = hn.MLP(2, (4,), 2)

    def broken_savez(file, **arrays):
        with open(file, "wb") as f:
            f.write(b"PK half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        net.save(tmp_path / "net.npz")
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_bad_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable hashnet model"):
        hn.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a readable hashnet model"):
        hn.load(other)
    future = tmp_path / "future.npz"
    np.savez(future, format_version=np.array(99), config=np.array("{}"))
    with pytest.raises(ValueError, match="format version 99"):
        hn.load(future)
    with pytest.raises(FileNotFoundError):
        hn.load(tmp_path / "missing.npz")


def test_checkpoints_in_memory_and_on_disk(tmp_path, moons):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (8,), 2, seed=0)
    initial = net.get_weights()
    net.fit(Xtr, ytr, epochs=3, checkpoints=(0, 1, 3), verbose=0)
    assert sorted(net.checkpoints_) == [0, 1, 3]
    for a, b in zip(net.checkpoint(0).get_weights(), initial):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(net.checkpoint(3).get_weights(), net.get_weights()):
        np.testing.assert_array_equal(a, b)
    net2 = hn.MLP(2, (8,), 2, seed=0)
    net2.fit(Xtr, ytr, epochs=3, checkpoints=(1, 3), checkpoint_dir=tmp_path, verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0001.npz", "epoch_0003.npz"]
    for a, b in zip(net2.checkpoint(1).get_weights(), net.checkpoint(1).get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no checkpoint for epoch 2"):
        net.checkpoint(2)
    with pytest.raises(ValueError, match="beyond epochs"):
        net.fit(Xtr, ytr, epochs=2, checkpoints=(5,), verbose=0)


def test_early_stopping_schedule_and_history(moons, capsys):
    Xtr, ytr, Xte, yte = moons
    net = hn.MLP(2, (8,), 2, seed=0)
    net.fit(Xtr, ytr, epochs=50, lr=1e-9, patience=2, min_delta=1e-3, verbose=0)
    assert net.stopped_early_ and len(net.history_["loss"]) == 3
    net.fit(
        Xtr,
        ytr,
        epochs=3,
        optimizer="sgd",
        lr=0.1,
        lr_schedule=lambda e: 0.5**e,
        validation_data=(Xte, yte),
        verbose=1,
    )
    assert net.history_["lr"] == [0.1, 0.05, 0.025]
    assert len(net.history_["val_acc"]) == 3
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and out[0].startswith("epoch 1/3  loss ") and "val_acc" in out[0]
    from hashnet.nn.optim import make_schedule

    step = make_schedule("step")
    assert [step(e) for e in (0, 19, 20, 45)] == [1.0, 1.0, 0.1, 0.1**2]


def test_weight_decay_shrinks_weights_not_biases():
    from hashnet.nn.optim import SGD

    net = hn.MLP(2, (16,), 2, batchnorm=True, seed=0)
    rng = np.random.default_rng(0)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    before = net.get_weights()
    opt = SGD(lr=0.1, weight_decay=0.5)
    opt.bind(net.n_params, net.dtype)
    net._flat_grads[:] = 0  # a step driven by the L2 term alone
    opt.step(net._flat_params, net._flat_grads, net._n_decay)
    for (layer, name), old, new in zip(net._named_params(), before, net.get_weights()):
        factor = 1 - 0.1 * 0.5 if name in layer.decay else 1.0
        np.testing.assert_allclose(new, old * factor, rtol=1e-6)


def test_width_depth_convention():
    assert split_width(100, 2) == (50, 50)
    assert split_width(100, 3) == (34, 33, 33)
    assert hn.MLP(4, n_classes=3, width=12, depth=3).hidden == (4, 4, 4)
    with pytest.raises(ValueError, match="width >= depth"):
        split_width(2, 3)
    with pytest.raises(ValueError, match="not both"):
        hn.MLP(4, (3,), 3, width=12)


BAD_INPUTS = [
    ("nan", lambda X, y: (np.where(np.arange(len(X))[:, None] == 3, np.nan, X), y), "NaN"),
    ("inf", lambda X, y: (np.where(np.arange(len(X))[:, None] == 3, np.inf, X), y), "infinite"),
    ("features", lambda X, y: (X[:, :1], y), "expects"),
    ("length", lambda X, y: (X, y[:-1]), "labels but X has"),
    ("labels", lambda X, y: (X, y + 1), r"expected labels in \[0, 2\)"),
    ("negative", lambda X, y: (X, y - 1), r"expected labels in \[0, 2\)"),
    ("empty", lambda X, y: (X[:0], y[:0]), "empty"),
    ("ndim", lambda X, y: (X[:, :, None], y), "2D"),
]


@pytest.mark.parametrize("name,corrupt,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_raises_clear_error(moons, name, corrupt, message, tmp_path):
    Xtr, ytr, _, _ = moons
    X, y = corrupt(Xtr[:10].copy(), ytr[:10].copy())
    net = hn.MLP(2, (4,), 2)
    before = net.get_weights()
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, epochs=1, verbose=0, checkpoints=(0, 1), checkpoint_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # failed before writing anything
    for a, b in zip(before, net.get_weights()):
        np.testing.assert_array_equal(a, b)
    if name not in ("length", "labels", "negative"):
        with pytest.raises(ValueError, match=message):
            net.predict(X)


def test_bad_arguments():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    net = hn.MLP(2, (4,), 2)
    for kwargs, message in [
        (dict(epochs=-1), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(optimizer="rmsprop"), "unknown optimizer"),
        (dict(lr=-1.0), "learning rate"),
        (dict(lr_schedule="cosine"), "unknown lr_schedule"),
        (dict(device="tpu"), "unknown device"),
    ]:
        with pytest.raises(ValueError, match=message):
            net.fit(X, y, verbose=0, **kwargs)
    if not hn.gpu.cuda_available():  # on a GPU machine device="cuda" simply works
        with pytest.raises(hn.gpu.CUDAUnavailableError, match="NUMBA_ENABLE_CUDASIM"):
            net.fit(X, y, device="cuda", verbose=0)
    with pytest.raises(ValueError, match="float32"):
        hn.MLP(2, (4,), 2, dtype="int8")
    with pytest.raises(ValueError, match="n_classes"):
        hn.MLP(2, (4,))
    with pytest.raises(ValueError, match="shape"):
        net.set_weights([w[:1] for w in net.get_weights()])


def test_kernels_work_without_a_writable_cache():
    # With no usable cache locator, numba refuses cache=True; hashnet must fall back to
    # compiling in memory instead of failing at import.
    code = (
        "import numpy as np; from hashnet.kernels import cpu; "
        "z = np.zeros((2, 3)); cpu.add_bias(z, np.ones(3)); assert z.sum() == 6; "
        "print(type(cpu.add_bias._cache).__name__)"
    )
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "ZipCacheLocator"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "NullCache"


def test_layer_objects_cannot_be_shared():
    relu = ReLU()
    with pytest.raises(ValueError, match="appears twice"):
        Sequential([Dense(5), relu, Dense(5), relu, Dense(2)], input_shape=3)
    layers = [Dense(4), ReLU(), Dense(2)]
    Sequential(layers, input_shape=2)
    with pytest.raises(ValueError, match="another model"):
        Sequential(layers, input_shape=2)


def test_seed_types(tmp_path):
    net = hn.MLP(3, (4,), 2, seed=np.int64(3))
    assert net.seed == 3 and isinstance(net.seed, int)
    assert hn.load(net.save(tmp_path / "net.npz")).seed == 3
    with pytest.raises(TypeError, match="seed"):
        hn.MLP(3, (4,), 2, seed=np.random.default_rng(0))
    with pytest.raises(TypeError, match="seed"):
        hn.MLP(3, (4,), 2, seed=-1)


def test_optimizer_instance_is_not_changed(moons):
    from hashnet.nn.optim import Adam

    Xtr, ytr, _, _ = moons
    opt = Adam(lr=1e-2)
    net = hn.MLP(2, (4,), 2).fit(Xtr, ytr, epochs=3, optimizer=opt, lr_schedule=lambda e: 0.1)
    assert opt.lr == 1e-2 and not hasattr(opt, "m1")
    assert net.history_["lr"] == pytest.approx([1e-3] * 3)


def test_batchnorm_batch_of_one_keeps_running_variance():
    net = hn.MLP(3, (4,), 2, batchnorm=True, dtype="float64")
    X, y = np.random.default_rng(0).normal(size=(65, 3)), np.arange(65) % 2
    before = net._state_arrays()[1].copy()
    net.fit(X[:1], y[:1], epochs=3, verbose=0)
    np.testing.assert_array_equal(net._state_arrays()[1], before)
    net.fit(X, y, epochs=1, batch_size=64, verbose=0)  # the last batch holds one example
    assert net._state_arrays()[1].min() > 0.5


def test_dropout_is_seeded_before_fit():
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8) % 2
    grads = [hn.MLP(3, (16,), 2, dropout=0.5, seed=4).gradients(X, y, training=True)]
    grads.append(hn.MLP(3, (16,), 2, dropout=0.5, seed=4).gradients(X, y, training=True))
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)


def test_scalar_arguments_and_bad_model_files(tmp_path, moons):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (4, 3), 2).fit(Xtr, ytr, epochs=2, checkpoints=2, verbose=0)
    assert list(net.checkpoints_) == [2]
    assert net.codes(Xtr[:5], layers=1).n_bits == 3
    with pytest.raises(ValueError, match="dropout"):
        hn.MLP(2, (4,), 2, dropout=-0.3)
    bad = tmp_path / "bad.npz"
    np.savez(bad, format_version=np.array(1), config=np.array('{"class": "MLP"}'))
    with pytest.raises(ValueError, match="not a readable hashnet model"):
        hn.load(bad)


def test_demo_options_pass_through_the_main_command():
    from hashnet.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["demo", "--help"])
    assert stop.value.code == 0


def test_divergence_stops_with_a_warning_pointing_at_the_caller():
    X, y = hn.datasets.load("moons", n_train=64)[:2]
    net = hn.MLP(2, (8,), 2, seed=0)
    net.set_weights([w * 1e30 for w in net.get_weights()])  # logits overflow to inf/nan
    with pytest.warns(RuntimeWarning, match="diverged") as caught, np.errstate(all="ignore"):
        net.fit(X, y, epochs=5, verbose=0)
    assert len(net.history_["loss"]) == 1
    diverged = [w for w in caught if "diverged" in str(w.message)]
    assert len(diverged) == 1 and diverged[0].filename == __file__
