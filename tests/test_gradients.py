"""Backward passes against central finite differences, in float64.

For a layer f and a fixed random R, the scalar L = sum(f(x) * R) has dL/d(output) = R, so
`backward(R)` must return dL/dx and fill dL/d(params); we compare both with
(L(w + h) - L(w - h)) / 2h, one coordinate at a time.
"""

import numpy as np
import pytest

import hashnet as hn
from hashnet.nn import BatchNorm, Dense, Dropout, LeakyReLU, ReLU, Sequential

H = 1e-6


def numeric_grad(f, array):
    """Central differences of the scalar f() with respect to every entry of `array` (in place)."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + H
        plus = f()
        array[idx] = old - H
        minus = f()
        array[idx] = old
        grad[idx] = (plus - minus) / (2 * H)
    return grad


def randomize(layer, rng):
    for p in layer.params.values():
        p[...] = rng.normal(size=p.shape)


LAYERS = [
    ("dense", lambda: Dense(4)),
    ("relu", ReLU),
    ("leaky", lambda: LeakyReLU(0.2)),
    ("batchnorm-train", BatchNorm),
    ("batchnorm-eval", BatchNorm),
    ("dropout", lambda: Dropout(0.4)),
]


@pytest.mark.parametrize("name,make", LAYERS, ids=[n for n, _ in LAYERS])
@pytest.mark.parametrize("batch", [1, 3, 8])
def test_layer_backward_matches_finite_differences(name, make, batch):
    rng = np.random.default_rng(batch)
    layer = make()
    layer.build((5,), np.float64, rng)
    randomize(layer, rng)
    if name == "batchnorm-eval":
        layer.state["running_mean"][...] = rng.normal(size=5)
        layer.state["running_var"][...] = rng.random(5) + 0.5
    training = name != "batchnorm-eval"
    x = rng.normal(size=(batch, 5))
    check_layer_gradients(layer, x, training)
    if isinstance(layer, Dropout):
        assert 0 < layer.mask.sum() < layer.mask.size or batch == 1


def check_layer_gradients(layer, x, training=True, seed=0):
    """backward() of L = sum(layer(x) * R) against finite differences, for x and every param."""
    R = np.random.default_rng(seed).normal(size=layer.forward(x.copy(), training).shape)

    def loss():
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng(7)  # the same mask on every call
        return float(np.sum(layer.forward(x, training) * R))

    loss()
    dx = layer.backward(R.copy())
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    np.testing.assert_allclose(dx, numeric_grad(loss, x), rtol=1e-6, atol=1e-8)
    for key, param in layer.params.items():
        np.testing.assert_allclose(analytic[key], numeric_grad(loss, param), rtol=1e-6, atol=1e-8)


def network_loss(net, X, y, training):
    """Mean cross-entropy as gradients() sees it (running statistics left untouched)."""
    saved = [s.copy() for s in net._state_arrays()]
    logits = net._forward(X, training)
    for s, v in zip(net._state_arrays(), saved):
        s[...] = v
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(y)), y].mean()


NETWORKS = {
    "relu": lambda: [Dense(6), ReLU(), Dense(5), ReLU(), Dense(3)],
    "leaky+bn": lambda: [Dense(6), BatchNorm(), LeakyReLU(0.1), Dense(5), LeakyReLU(), Dense(3)],
    "dropout-eval": lambda: [Dense(6), ReLU(), Dropout(0.5), Dense(3)],
}


# Dropout draws new masks on every training forward pass, so it is checked in evaluation mode.
CASES = [("relu", False), ("relu", True), ("leaky+bn", False), ("leaky+bn", True)]
CASES += [("dropout-eval", False)]


@pytest.mark.parametrize("kind,training", CASES)
def test_network_gradients_match_finite_differences(kind, training):
    rng = np.random.default_rng(3)
    net = Sequential(NETWORKS[kind](), input_shape=4, seed=1, dtype="float64")
    # Random biases and batch-norm parameters too: zero biases would hide a missing bias term.
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    X, y = rng.normal(size=(9, 4)), rng.integers(0, 3, 9)
    grads = net.gradients(X, y, training=training)
    assert len(grads) == len(net._named_params())
    for (layer, name), analytic in zip(net._named_params(), grads):
        numeric = numeric_grad(lambda: network_loss(net, X, y, training), layer.params[name])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_gradients_layout_matches_get_weights():
    net = hn.MLP(3, (4, 5), 2, batchnorm=True, dtype="float64")
    rng = np.random.default_rng(0)
    grads = net.gradients(rng.normal(size=(6, 3)), rng.integers(0, 2, 6))
    assert [g.shape for g in grads] == [w.shape for w in net.get_weights()]
