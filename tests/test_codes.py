"""Neural codes: packing, codes of real networks, redundancy ratio, collisions, Hamming."""

import numpy as np
import pytest

import hashnet as hn
from hashnet.codes import (
    Codes,
    alone_in_pattern,
    code_groups,
    collisions,
    hamming_distances,
    hamming_knn,
    prefix_redundancy,
    redundancy_ratio,
)


def random_net(seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    net = hn.MLP(4, (70, 30), 3, dtype="float64", seed=seed, **kwargs)
    net.set_weights([rng.normal(size=w.shape) for w in net.get_weights()])
    for s in net._state_arrays():
        s[...] = rng.random(s.shape) + 0.5
    return net, rng.normal(size=(50, 4))


def preactivations(net, X):
    """Pre-activations of every ReLU layer, recomputed in plain NumPy from get_weights()."""
    from hashnet.nn import BatchNorm, Dense, Rectifier

    weights, states, found = iter(net.get_weights()), iter(net._state_arrays()), []
    for layer in net.layers:
        if isinstance(layer, Dense):
            X = X @ next(weights) + next(weights)
        elif isinstance(layer, BatchNorm):
            gamma, beta, mean, var = next(weights), next(weights), next(states), next(states)
            X = gamma * (X - mean) / np.sqrt(var + layer.eps) + beta
        elif isinstance(layer, Rectifier):  # ReLU and LeakyReLU
            found.append(X)
            X = np.where(X > 0, X, layer.alpha * X)
    return found


def test_packing_matches_numpy_packbits():
    bits = np.random.default_rng(0).integers(0, 2, (9, 130)).astype(np.uint8)
    codes = Codes.from_bits(bits)
    assert codes.words.shape == (9, 3) and codes.n_bits == 130
    padded = np.zeros((9, 192), np.uint8)
    padded[:, :130] = bits
    expected = np.packbits(padded, axis=1, bitorder="little")  # byte b holds bits 8b..8b+7
    np.testing.assert_array_equal(codes.words.astype("<u8").view(np.uint8), expected)
    np.testing.assert_array_equal(codes.bits(), bits)


@pytest.mark.parametrize(
    "kwargs", [dict(), dict(activation="leaky_relu", alpha=0.1), dict(batchnorm=True)]
)
def test_codes_are_signs_of_preactivations(kwargs):
    net, X = random_net(**kwargs)
    expected = np.concatenate([z > 0 for z in preactivations(net, X)], axis=1)
    codes = net.codes(X)
    assert codes.layer_sizes == (70, 30)
    np.testing.assert_array_equal(codes.bits(), expected)
    np.testing.assert_array_equal(net.codes(X, layers=[1]).bits(), expected[:, 70:])
    np.testing.assert_array_equal(codes.layer(0).bits(), expected[:, :70])
    np.testing.assert_array_equal(codes.prefix(1).bits(), expected[:, :70])
    from hashnet.codes import compute_codes

    small_chunks = compute_codes(net, X, chunk=7)  # chunking must not change anything
    np.testing.assert_array_equal(small_chunks.words, codes.words)


def test_redundancy_ratio_and_collisions_on_hand_made_codes():
    bits = np.array([[0, 1], [0, 1], [1, 1], [0, 0], [0, 1], [0, 0]])
    codes = Codes.from_bits(bits)
    np.testing.assert_array_equal(code_groups(codes), [0, 0, 1, 2, 0, 2])
    assert redundancy_ratio(codes) == (6 - 3) / 6
    c = collisions(codes, y=[1, 1, 0, 2, 1, 0])
    assert [g.tolist() for g in c.groups] == [[0, 1, 4], [3, 5]]
    assert c.sizes.tolist() == [3, 2] and c.n_distinct == 3
    assert (c.same_label, c.mixed_label) == (1, 1)
    assert c.alone_fraction == 1 / 6 and c.redundancy_ratio == 0.5
    assert alone_in_pattern(bits).tolist() == [False, False, True, False, False, False]
    assert redundancy_ratio(Codes.from_bits(np.eye(5))) == 0.0
    assert redundancy_ratio(Codes.from_bits(np.ones((4, 3)))) == 3 / 4


def test_prefix_redundancy_and_constant_bits():
    bits = np.array([[1, 0, 1, 0], [1, 0, 1, 1], [1, 1, 1, 0], [1, 1, 1, 0]])
    codes = Codes.from_bits(bits, layer_sizes=(2, 2))
    assert prefix_redundancy(codes) == [2 / 4, 1 / 4]
    assert codes.constant_bits().tolist() == [True, False, True, False]
    dropped = codes.drop_constant()
    assert dropped.layer_sizes == (1, 1)
    np.testing.assert_array_equal(dropped.bits(), bits[:, [1, 3]])
    test = Codes.from_bits(np.array([[0, 1, 0, 1]]), layer_sizes=(2, 2))
    np.testing.assert_array_equal(test.drop_constant(reference=codes).bits(), [[1, 1]])


def test_hamming_distances_and_knn_against_brute_force():
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 2, (13, 70)), rng.integers(0, 2, (40, 70))
    dist = (a[:, None, :] != b[None, :, :]).sum(axis=2)
    np.testing.assert_array_equal(hamming_distances(Codes.from_bits(a), Codes.from_bits(b)), dist)
    index, d = hamming_knn(Codes.from_bits(a), Codes.from_bits(b), 6)
    for i in range(13):
        order = sorted(range(40), key=lambda j: (dist[i, j], j))[:6]
        assert index[i].tolist() == order
        assert d[i].tolist() == dist[i, order].tolist()


def test_width_shapes_redundancy_on_real_images():
    # The study's first finding in miniature: a narrow net leaves many examples sharing a code;
    # a wide one separates nearly all of them.
    Xtr, ytr, _, _ = hn.datasets.load("fashion-mnist-mini", n_train=1000)
    ratios = {}
    for width in (5, 100):
        net = hn.MLP(784, (width,), 10, seed=0).fit(Xtr, ytr, epochs=5, verbose=0)
        ratios[width] = redundancy_ratio(net.codes(Xtr))
    assert ratios[5] > ratios[100] + 0.1
    assert ratios[100] < 0.05


def test_bad_codes_input():
    a = Codes.from_bits(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="different widths"):
        hamming_distances(a, Codes.from_bits(np.zeros((3, 6))))
    with pytest.raises(ValueError, match="k must be"):
        hamming_knn(a, a, 4)
    with pytest.raises(ValueError, match="only 0 and 1"):
        Codes.from_bits(np.array([[0, 2]]))
    with pytest.raises(TypeError, match="Codes"):
        redundancy_ratio(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="layer index"):
        random_net()[0].codes(np.zeros((2, 4)), layers=[2])
    with pytest.raises(ValueError, match="sum to n_bits"):
        Codes(np.zeros((2, 1), np.uint64), 5, layer_sizes=(2, 2))
