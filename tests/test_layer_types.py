"""A layer type is one class: a new one works everywhere without touching any other file.

`Shift` below is a layer hashnet does not have (a learned shift of every feature, z = x + b),
written here the way a new layer is written in hashnet/nn: one subclass of Layer. Saving and
loading, the fused kernels' warm-up, the codes of the network around it, the exact-region
description and a GPU (through the backend's kernels, which it calls by name) all work with
no list to extend. The second half checks the table those kernels come from: every operation
the layers, the training loop and the code extraction call exists on the CPU and on the GPU,
with the same arguments.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pytest
from test_gradients import check_layer_gradients

import hashnet as hn
from hashnet.kernels.backend import CPU, CUDABackend
from hashnet.nn import Dense, Layer, ReLU, Sequential
from hashnet.nn.layers import LAYER_TYPES, RegionStep

PACKAGE = Path(__file__).resolve().parents[1] / "hashnet"


class Shift(Layer):
    """z = x + b: a learned shift of every feature (a Dense layer without its matrix)."""

    input_rank = 1

    def build(self, input_shape, dtype, rng):
        self.params = {"b": np.zeros(input_shape, dtype)}
        self.grads = {"b": np.zeros(input_shape, dtype)}
        return input_shape

    def forward(self, x, training=False):
        z = self.buffer("z", x.shape, x.dtype)
        self.ops.copy_into(z, x)
        self.ops.add_bias(z, self.params["b"])
        return z

    def backward(self, dz):
        self.ops.column_sum(dz, self.grads["b"])  # b was added to every row
        return dz

    def region_step(self):
        return RegionStep("affine", lambda h: h, self.params["b"].astype(np.float64))


def shifted_net(dtype="float32"):
    layers = [Dense(5), Shift(), ReLU(), Shift(), Dense(3)]
    return Sequential(layers, input_shape=4, seed=0, dtype=dtype)


def test_a_new_layer_needs_no_other_file(tmp_path):
    assert LAYER_TYPES["Shift"] is Shift  # joined when the class statement ran
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)).astype(np.float32), rng.integers(0, 3, 30)
    net = shifted_net().fit(X, y, epochs=3, lr=1e-2, verbose=0)
    assert not np.array_equal(net.layers[1].params["b"], 0)  # it trained
    loaded = hn.load(net.save(tmp_path / "shift.npz"))  # saved and rebuilt by its name
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    codes = net.codes(X)  # the ReLU after it still gives the codes
    assert codes.n_bits == 5
    # Its region step composes with the others into the network's own logits (float64).
    h = X.astype(np.float64)
    for layer in net.layers:
        step = layer.region_step()
        if step.kind == "affine":
            h = step.linear(h) + step.bias
        elif step.kind == "relu":
            h = np.where(h > 0, h, step.arg * h)
    np.testing.assert_allclose(h, net._forward(X), rtol=1e-4, atol=1e-5)


def test_the_new_layer_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    layer = Shift()
    layer.build((5,), np.float64, rng)
    layer.params["b"][...] = rng.normal(size=5)
    check_layer_gradients(layer, rng.normal(size=(4, 5)))


def test_a_name_hashnet_uses_cannot_be_taken():
    with pytest.raises(TypeError, match="layer type named 'Dense'"):

        class Dense(Layer):  # noqa: F811 (on purpose: the name of a hashnet layer)
            pass


# --- the backend table ------------------------------------------------------------------------


def called_ops():
    """Names called as `ops.<name>(...)` or `self.ops.<name>(...)` in nn/ and codes.py."""
    names = set()
    for path in [*sorted((PACKAGE / "nn").glob("*.py")), PACKAGE / "codes.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if (isinstance(owner, ast.Name) and owner.id == "ops") or (
                    isinstance(owner, ast.Attribute) and owner.attr == "ops"
                ):
                    names.add(node.func.attr)
    return names


def cuda_functions():
    """{name: parameter names} of the public functions of kernels/cuda.py and of the methods
    of CUDABackend, read from the source (importing cuda.py would load numba.cuda)."""
    tree = ast.parse((PACKAGE / "kernels" / "cuda.py").read_text())
    found = {
        node.name: [a.arg for a in node.args.args]
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }
    for name in vars(CUDABackend):
        if not name.startswith("_") and callable(getattr(CUDABackend, name)):
            params = list(inspect.signature(getattr(CUDABackend, name)).parameters)
            found[name] = [p for p in params if p != "self"]
    return found


def parameters(function):
    function = getattr(function, "py_func", function)  # a Numba kernel: its Python function
    return list(inspect.signature(function).parameters)


def test_every_operation_exists_on_both_devices_with_the_same_arguments():
    used = called_ops()
    assert {"matmul", "bias_act_forward", "batchnorm_backward", "softmax_xent_rows"} <= used
    gpu = cuda_functions()
    missing = sorted(name for name in used if name not in gpu or not hasattr(CPU, name))
    assert not missing, f"operations missing on a device: {missing}"
    for name in sorted(used):
        cpu_params = parameters(getattr(CPU, name))
        gpu_params = gpu[name]
        # The GPU may take extra tuning arguments at the end (matmul's splits=...).
        assert gpu_params[: len(cpu_params)] == cpu_params, (name, cpu_params, gpu_params)


# --- preparing kernels ----------------------------------------------------------------------


def test_warming_a_model_up_leaves_it_as_it_was():
    from hashnet.nn import model

    net = hn.MLP(3, (4, 4), 2, batchnorm=True, dropout=0.5, seed=1)
    states = [s.copy() for s in net._state_arrays()]
    generators = [layer.rng.bit_generator.state for layer in net.layers if hasattr(layer, "rng")]
    model._WARMED.clear()  # make it run its passes again
    net._warmup(verbose=False)
    for s, before in zip(net._state_arrays(), states):
        np.testing.assert_array_equal(s, before)
    after = [layer.rng.bit_generator.state for layer in net.layers if hasattr(layer, "rng")]
    assert after == generators


def test_hn_warmup_compiles_every_cpu_kernel():
    from hashnet import kernels
    from hashnet.kernels import cpu, images

    kernels.warmup(("float32", "float64"), verbose=False)
    cold = [
        f"{module.__name__}.{name}"
        for module in (cpu, images)
        for name, value in vars(module).items()
        if hasattr(value, "signatures") and not name.startswith("_") and not value.signatures
    ]
    assert not cold, f"kernels that hn.warmup() does not prepare: {cold}"
