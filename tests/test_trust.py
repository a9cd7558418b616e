"""Bad input in the library gets a clear error, and damaged files are refused or recovered.

Each test here goes with one way a user (or a damaged disk) could once make hashnet crash,
mislead or hang: silently rounded sizes, complex inputs, a schedule that climbs the loss,
codes with stray bits, model files that are not what they claim, a diverged model that saved
but would not load, an IDX "decompression bomb", and a damaged Numba cache.
"""

import gzip
import json
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np
import pytest

import hashnet as hn
from hashnet.codes import Codes, redundancy_ratio
from hashnet.datasets import read_idx
from hashnet.nn.layers import BatchNorm, Dense, ReLU
from hashnet.nn.model import Sequential


@pytest.fixture(scope="module")
def moons():
    return hn.datasets.load("moons", n_train=200, n_test=100)


# --- numbers that would be silently rounded or parsed ------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: hn.MLP(2, (4.9,), n_classes=2),
        lambda: hn.MLP(2, (4,), n_classes=2.5),
        lambda: hn.MLP("2", (4,), n_classes=10),
        lambda: hn.MLP(2, (4,), n_classes="10"),
        lambda: hn.MLP(2, n_classes=2, width=10.7),
        lambda: hn.MLP(2, n_classes=2, width=10, depth=1.5),
        lambda: hn.MLP(2.0, (4,), n_classes=2),
        lambda: Dense(4.9),
        lambda: Sequential([Dense(2)], input_shape=2.5),
        lambda: hn.CNN.lenet((1, 28, 28), n_classes=2.5),
        lambda: hn.CNN.vgg(widths=(4.5,), input_shape=(1, 8, 8), n_classes=2),
    ],
)
def test_sizes_must_be_integers(build):
    with pytest.raises(ValueError, match="must be an integer"):
        build()


def test_integer_sizes_still_accepted():
    net = hn.MLP(np.int64(2), (np.int32(4),), n_classes=np.int64(3))
    assert net.hidden == (4,) and net.n_classes == 3
    assert hn.MLP(2, n_classes=2, width=np.int64(10), depth=2).hidden == (5, 5)


def test_complex_inputs_are_refused():
    X = np.ones((4, 2), complex)
    net = hn.MLP(2, (4,), 2)
    with pytest.raises(TypeError, match="real numbers"):
        net.fit(X, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    with pytest.raises(TypeError, match="real numbers"):
        net.predict(X)


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "0.1", None])
def test_lr_schedule_must_give_a_usable_multiplier(moons, value):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (4,), 2, seed=0)
    before = net.get_weights()
    with pytest.raises(ValueError, match=r"lr_schedule\(0\) returned"):
        net.fit(Xtr, ytr, epochs=2, lr_schedule=lambda epoch: value, verbose=0)
    for a, b in zip(net.get_weights(), before):  # refused before the first step
        np.testing.assert_array_equal(a, b)


def test_lr_schedule_checked_every_epoch(moons):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (4,), 2, seed=0)
    with pytest.raises(ValueError, match=r"lr_schedule\(2\) returned -0.5"):
        net.fit(Xtr, ytr, epochs=4, lr_schedule=lambda e: 1.0 if e < 2 else -0.5, verbose=0)
    net.fit(Xtr, ytr, epochs=2, lr_schedule=lambda e: 0.5**e, verbose=0)  # a sane one runs
    assert net.history_["lr"] == [1e-3, 5e-4]


# --- codes ---------------------------------------------------------------------------


def test_codes_refuse_bits_beyond_n_bits():
    words = np.array([[0b011], [0b011 | (1 << 5)]], np.uint64)  # same 3-bit code, stray bit 5
    with pytest.raises(ValueError, match="beyond n_bits=3"):
        Codes(words, 3)
    with pytest.raises(ValueError, match="must be an integer"):
        Codes(words, 6.5)
    clean = Codes(words & np.uint64(0b111), 3)
    assert redundancy_ratio(clean) == 0.5
    # A full last word has no unused bits: every bit is allowed.
    assert len(Codes(np.array([[2**64 - 1]], np.uint64), 64)) == 1


# --- model files ----------------------------------------------------------------------


def _bn_model_file(tmp_path, moons):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (6,), 2, batchnorm=True, seed=1)
    net.fit(Xtr, ytr, epochs=1, verbose=0)
    return net, net.save(tmp_path / "bn.npz")


def _rewrite(path, target, **changes):
    with np.load(path) as f:
        arrays = {key: f[key] for key in f.files}
    arrays.update(changes)
    np.savez(target, **arrays)
    return target


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: np.full_like(s, np.nan), "state 0 .*not finite"),
        (lambda s: s[:-1], "state 0 .*shape"),
        (lambda s: s.astype(str), "state 0 .*real numbers"),
    ],
)
def test_load_checks_batchnorm_state(tmp_path, moons, change, message):
    _, path = _bn_model_file(tmp_path, moons)
    with np.load(path) as f:
        state = f["state_0"]
    bad = _rewrite(path, tmp_path / "bad.npz", state_0=change(state))
    with pytest.raises(ValueError, match=f"{bad.name}.*{message}"):
        hn.load(bad)


def test_load_refuses_negative_running_variance(tmp_path, moons):
    _, path = _bn_model_file(tmp_path, moons)
    with np.load(path) as f:
        variance = f["state_1"].copy()
    variance[0] = -1.0
    bad = _rewrite(path, tmp_path / "bad.npz", state_1=variance)
    with pytest.raises(ValueError, match="bad.npz.*variance is negative"):
        hn.load(bad)


def test_load_refuses_missing_state(tmp_path, moons):
    _, path = _bn_model_file(tmp_path, moons)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "state_1"}
    np.savez(tmp_path / "short.npz", **arrays)
    with pytest.raises(ValueError, match="short.npz.*state arrays"):
        hn.load(tmp_path / "short.npz")


def test_load_of_files_that_are_not_models(tmp_path):
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="array.npy is not a readable hashnet model.*single array"):
        hn.load(npy)
    listed = tmp_path / "list.npz"
    np.savez(listed, format_version=np.array(1), config=np.array(json.dumps([1, 2])))
    with pytest.raises(ValueError, match="list.npz.*JSON list, not an object"):
        hn.load(listed)
    versions = tmp_path / "versions.npz"
    np.savez(versions, format_version=np.array([1, 2]), config=np.array("{}"))
    with pytest.raises(ValueError, match="versions.npz.*format_version must be one integer"):
        hn.load(versions)
    no_config = tmp_path / "noconfig.npz"
    np.savez(no_config, format_version=np.array(1))
    with pytest.raises(ValueError, match="noconfig.npz.*no 'config' entry"):
        hn.load(no_config)


def test_load_of_a_file_with_string_weights(tmp_path):
    net = hn.MLP(2, (3,), 2)
    path = net.save(tmp_path / "net.npz")
    bad = _rewrite(path, tmp_path / "strings.npz", weight_0=np.full((2, 3), "x"))
    with pytest.raises(ValueError, match="strings.npz.*weight 0 .*real numbers"):
        hn.load(bad)


def test_set_weights_refuses_non_numbers_and_changes_nothing():
    net = hn.MLP(2, (3,), 2)
    before = net.get_weights()
    bad = [w.copy() for w in before]
    bad[2] = bad[2].astype(str)
    with pytest.raises(TypeError, match=r"weight 2 \(Dense.W\) must hold real numbers"):
        net.set_weights(bad)
    bad[2] = before[2] + 1j
    with pytest.raises(TypeError, match="real numbers"):
        net.set_weights(bad)
    bad[2] = before[2].copy()
    bad[3] = np.full_like(before[3], np.nan)
    bad[0] = before[0] + 1.0  # valid, but must not be applied when a later array fails
    with pytest.raises(ValueError, match="weight 3 .*not finite"):
        net.set_weights(bad)
    for a, b in zip(net.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_diverged_model_saves_and_loads_with_a_warning(tmp_path, moons):
    Xtr, ytr, _, _ = moons
    net = hn.MLP(2, (8,), 2, seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        net.fit(
            Xtr,
            ytr,
            epochs=3,
            lr=1e30,
            checkpoints=(0, 1),
            checkpoint_dir=tmp_path / "snapshots",
            verbose=0,
        )
    assert not net.is_finite()
    path = net.save(tmp_path / "diverged.npz")
    with pytest.warns(RuntimeWarning, match="diverged.npz holds a model whose training diverged"):
        back = hn.load(path)
    assert not back.is_finite()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the snapshot before training is fine: no warning
        assert net.checkpoint(0).is_finite()
    with pytest.warns(RuntimeWarning, match="epoch_0001.npz holds a model whose training"):
        assert not net.checkpoint(1).is_finite()
    # In memory too.
    net2 = hn.MLP(2, (8,), 2, seed=0)
    with pytest.warns(RuntimeWarning):
        net2.fit(Xtr, ytr, epochs=2, lr=1e30, checkpoints=(1,), verbose=0)
    with pytest.warns(RuntimeWarning, match="checkpoint of epoch 1"):
        assert not net2.checkpoint(1).is_finite()


def test_non_finite_weights_without_the_flag_are_damage(tmp_path):
    net = hn.MLP(2, (3,), 2)
    path = net.save(tmp_path / "net.npz")
    with np.load(path) as f:
        w = f["weight_0"].copy()
    w[0, 0] = np.nan
    bad = _rewrite(path, tmp_path / "edited.npz", weight_0=w, diverged=np.array(False))
    with pytest.raises(ValueError, match="edited.npz.*weight 0 .*not finite"):
        hn.load(bad)


def test_saved_models_without_the_diverged_entry_still_load(tmp_path, moons):
    net, path = _bn_model_file(tmp_path, moons)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files if k != "diverged"}
    np.savez(tmp_path / "older.npz", **arrays)
    back = hn.load(tmp_path / "older.npz")
    np.testing.assert_array_equal(back.predict_proba(moons[2]), net.predict_proba(moons[2]))


def test_sequential_with_batchnorm_round_trip(tmp_path):
    model = Sequential([Dense(4), BatchNorm(), ReLU(), Dense(2)], input_shape=3)
    model.layers[1].state["running_var"][...] = [0.5, 2.0, 1.0, 3.0]
    back = hn.load(model.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.layers[1].state["running_var"], [0.5, 2.0, 1.0, 3.0])


# --- IDX files that promise one size and hold another ---------------------------------


def _idx_header(shape):
    return bytes([0, 0, 0x08, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def test_idx_decompression_bomb_stops_at_the_promised_size(tmp_path):
    path = tmp_path / "bomb-idx3-ubyte.gz"
    shape = (100, 28, 28)
    extra_mib = 64
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(_idx_header(shape))
        f.write(bytes(int(np.prod(shape))))
        zeros = bytes(2**20)
        for _ in range(extra_mib):
            f.write(zeros)
    assert path.stat().st_size < 2**20  # a small file that inflates to 64 MiB
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match="trailing data"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20, f"peak {peak} bytes: the trailing data was read"
    assert time.perf_counter() - start < 5.0


def test_idx_header_promising_more_than_the_file_can_hold(tmp_path):
    path = tmp_path / "liar-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_header((60000, 28, 28)) + bytes(100)))
    with pytest.raises(ValueError, match="cannot hold that many"):
        read_idx(path)
    raw = tmp_path / "liar-idx3-ubyte"
    raw.write_bytes(_idx_header((60000, 28, 28)) + bytes(100))
    with pytest.raises(ValueError, match="cannot hold that many"):
        read_idx(raw)


def test_idx_round_trip_reads_exact_arrays(tmp_path):
    for dtype in (np.uint8, np.int16, np.float32, np.float64):
        array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
        for name in ("a.idx", "a.idx.gz"):
            path = hn.datasets.write_idx(tmp_path / name, array)
            back = read_idx(path)
            assert back.dtype == np.dtype(dtype) and back.dtype.isnative
            np.testing.assert_array_equal(back, array)
            back[0, 0, 0] = 1  # writable


# --- a damaged Numba cache ------------------------------------------------------------

_CACHE_SCRIPT = """
import warnings
import numpy as np
warnings.simplefilter("always")
from hashnet.kernels import cpu
z = np.zeros((2, 3))
cpu.add_bias(z, np.arange(3.0))
print(z.sum())
"""


def _run_with_cache(folder):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder))
    return subprocess.run(
        [sys.executable, "-c", _CACHE_SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_damaged_numba_cache_is_rebuilt(tmp_path, suffix):
    first = _run_with_cache(tmp_path)
    assert first.returncode == 0, first.stderr
    damaged = [p for p in tmp_path.rglob(f"*add_bias*{suffix}")]
    assert damaged, "Numba wrote no cache files"
    for p in damaged:
        p.write_bytes(p.read_bytes()[:20])  # a copy cut short
    second = _run_with_cache(tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == "6.0"
    assert "damaged files in the Numba cache folder" in second.stderr
    assert str(damaged[0].parent) in second.stderr
    third = _run_with_cache(tmp_path)  # rebuilt: no warning any more
    assert third.returncode == 0 and third.stdout.strip() == "6.0"
    assert "damaged" not in third.stderr
