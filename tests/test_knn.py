"""K-NN probe: neighbours and votes against brute-force NumPy references."""

import numpy as np
import pytest
from _tolerance import assert_close

from hashnet.codes import Codes
from hashnet.probes import knn as knn_module
from hashnet.probes.knn import KNN


def random_bits(rng, n, n_bits, p=0.5):
    return (rng.random((n, n_bits)) < p).astype(np.uint8)


def brute_hamming(query_bits, train_bits):
    """Hamming distances by XOR of bytes and a popcount through np.unpackbits."""
    q = np.packbits(query_bits, axis=1)
    t = np.packbits(train_bits, axis=1)
    return np.unpackbits(q[:, None, :] ^ t[None, :, :], axis=2).sum(axis=2)


def brute_knn(D, k):
    """Stable argsort: by distance, ties by the smaller training index."""
    idx = np.argsort(D, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(D, idx, axis=1)


def brute_vote(neighbour_labels):
    """Majority vote; among tied classes, the class of the nearest neighbour."""
    out = []
    for row in neighbour_labels:
        labels, counts = np.unique(row, return_counts=True)
        tied = set(labels[counts == counts.max()])
        out.append(next(c for c in row if c in tied))
    return np.array(out)


# --- Hamming ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_bits, n_train, n_query, k",
    [
        (5, 37, 23, 1),  # few bits: many equal distances, tie-breaking by index matters
        (5, 37, 23, 37),  # k = the whole training set
        (7, 101, 13, 9),
        (1, 10, 5, 4),
        (64, 65, 3, 64),  # exactly one full word
        (130, 50, 17, 9),  # three words, the last one partly used
    ],
)
def test_hamming_matches_brute_force(n_bits, n_train, n_query, k):
    rng = np.random.default_rng(n_bits * 1000 + k)
    train, query = random_bits(rng, n_train, n_bits), random_bits(rng, n_query, n_bits)
    y = rng.choice([-3, 4, 11], size=n_train)  # any integers are labels
    model = KNN(k=k).fit(Codes.from_bits(train), y)
    dist, idx = model.kneighbors(Codes.from_bits(query))
    ref_idx, ref_dist = brute_knn(brute_hamming(query, train), k)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(dist, ref_dist)
    assert dist.dtype == np.int32 and idx.dtype == np.int64
    pred = model.predict(Codes.from_bits(query))
    np.testing.assert_array_equal(pred, brute_vote(y[ref_idx]))
    proba = model.predict_proba(Codes.from_bits(query))
    for c, label in enumerate(model.classes_):
        np.testing.assert_allclose(proba[:, c], (y[ref_idx] == label).mean(axis=1))


def test_score_is_accuracy():
    rng = np.random.default_rng(3)
    bits = random_bits(rng, 40, 20)
    y = rng.integers(0, 3, 40)
    codes = Codes.from_bits(bits)
    model = KNN(k=1).fit(codes, y)
    # With k = 1 every distinct training code is its own nearest neighbour (distance 0).
    _, first = np.unique(bits, axis=0, return_index=True)
    assert model.score(codes[np.sort(first)], y[np.sort(first)]) == 1.0
    pred = model.predict(codes)
    assert model.score(codes, y) == pytest.approx(np.mean(pred == y))


# --- Euclidean --------------------------------------------------------------------------------


@pytest.mark.parametrize("integer_valued", [True, False])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_euclidean_matches_brute_force(integer_valued, k, monkeypatch):
    # Tiny tiles: several blocks of queries and of training rows, k across tiles.
    monkeypatch.setattr(knn_module, "_QUERY_BLOCK", 7)
    monkeypatch.setattr(knn_module, "_TRAIN_BLOCK", 11)
    rng = np.random.default_rng(k)
    if integer_valued:  # small integers: exact arithmetic and many ties
        train = rng.integers(0, 3, (40, 3)).astype(float)
        query = rng.integers(0, 3, (31, 3)).astype(float)
    else:
        train, query = rng.normal(size=(40, 6)), rng.normal(size=(31, 6))
    y = rng.integers(0, 4, 40)
    model = KNN(k=k, metric="euclidean").fit(train, y)
    dist, idx = model.kneighbors(query)
    D = ((query[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    ref_idx, ref_d2 = brute_knn(D, k)
    np.testing.assert_array_equal(idx, ref_idx)
    # Squared distances come from ||q||^2 - 2 q.t + ||t||^2, which cancels to ~0 for close
    # points: compare them against the size of those terms (the square root would turn a
    # rounding error e of a zero distance into sqrt(e)).
    size = 2 * ((query**2).sum(axis=1)[:, None] + (train**2).sum(axis=1)[ref_idx])
    assert_close(dist**2, ref_d2, scale=size)
    np.testing.assert_array_equal(model.predict(query), brute_vote(y[ref_idx]))


def test_euclidean_on_codes_is_sqrt_hamming():
    rng = np.random.default_rng(5)
    train, query = random_bits(rng, 60, 13), random_bits(rng, 9, 13)
    y = rng.integers(0, 3, 60)
    on_codes = KNN(k=7, metric="euclidean").fit(Codes.from_bits(train), y)
    dist, idx = on_codes.kneighbors(Codes.from_bits(query))
    on_floats = KNN(k=7, metric="euclidean").fit(train.astype(float), y)
    dist_f, idx_f = on_floats.kneighbors(query.astype(float))
    ref_idx, ref_dist = brute_knn(brute_hamming(query, train), 7)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_array_equal(idx_f, ref_idx)
    np.testing.assert_allclose(dist, np.sqrt(ref_dist))
    np.testing.assert_allclose(dist_f, np.sqrt(ref_dist), atol=1e-7)


def test_matches_sklearn_neighbours():
    sklearn_neighbors = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(1)
    train, query = rng.normal(size=(300, 8)), rng.normal(size=(50, 8))
    y = rng.integers(0, 3, 300)
    dist, idx = KNN(k=9, metric="euclidean").fit(train, y).kneighbors(query)
    ref = sklearn_neighbors.KNeighborsClassifier(n_neighbors=9).fit(train, y)
    ref_dist, ref_idx = ref.kneighbors(query)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-10)


# --- class-vote tie-breaking ------------------------------------------------------------------


def test_vote_tie_goes_to_nearest_neighbours_class():
    train = np.array([[0.0], [1.0], [-2.0], [3.0]])  # distances 0, 1, 2, 3 from the query 0
    query = np.array([[0.0]])
    # Two votes each: the nearest neighbour (distance 0) decides, whatever the label values.
    assert KNN(k=4, metric="euclidean").fit(train, [5, 7, 7, 5]).predict(query)[0] == 5
    assert KNN(k=4, metric="euclidean").fit(train, [7, 5, 5, 7]).predict(query)[0] == 7
    # A class with more votes wins even if a nearer neighbour belongs to another class.
    assert KNN(k=4, metric="euclidean").fit(train, [7, 5, 5, 5]).predict(query)[0] == 5
    # Three classes, two of them tied: the tied class whose member is nearest, not class 1.
    train3 = np.array([[0.0], [1.0], [2.0], [3.0], [4.0]])
    y3 = [1, 2, 3, 3, 2]
    assert KNN(k=5, metric="euclidean").fit(train3, y3).predict(query)[0] == 2


def test_hamming_equal_distances_prefer_smaller_training_index():
    # Both training codes are 1 bit away from the query; the first one is "nearer".
    train = Codes.from_bits(np.array([[1, 0], [0, 1]], np.uint8))
    query = Codes.from_bits(np.array([[0, 0]], np.uint8))
    assert KNN(k=1).fit(train, [4, 9]).predict(query)[0] == 4
    assert KNN(k=1).fit(train, [9, 4]).predict(query)[0] == 9
    assert KNN(k=2).fit(train, [9, 4]).predict(query)[0] == 9


# --- errors -----------------------------------------------------------------------------------


def test_errors():
    rng = np.random.default_rng(0)
    codes = Codes.from_bits(random_bits(rng, 10, 12))
    y = rng.integers(0, 2, 10)
    for bad_k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be"):
            KNN(k=bad_k).fit(codes, y)
    with pytest.raises(ValueError, match="larger than the training set"):
        KNN(k=11).fit(codes, y)
    with pytest.raises(ValueError, match="metric"):
        KNN(metric="cosine").fit(codes, y)
    with pytest.raises(TypeError, match="Codes"):
        KNN().fit(codes.bits(), y)
    with pytest.raises(ValueError, match="not fitted"):
        KNN().predict(codes)
    model = KNN(k=3).fit(codes, y)
    with pytest.raises(ValueError, match="bits"):
        model.predict(Codes.from_bits(random_bits(rng, 4, 13)))
    with pytest.raises(TypeError, match="Codes"):
        model.predict(codes.bits())
    with pytest.raises(ValueError, match="labels"):
        KNN(k=3).fit(codes, y[:9])
    with pytest.raises(ValueError):
        KNN(k=3).fit(codes, np.full(10, np.nan))
    X = rng.normal(size=(10, 4))
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KNN(k=3, metric="euclidean").fit(X_nan, y)
    model = KNN(k=3, metric="euclidean").fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X_nan)
    with pytest.raises(ValueError, match="shape"):
        model.predict(X[:, :3])
    with pytest.raises(TypeError, match="both"):
        model.predict(Codes.from_bits(random_bits(rng, 3, 4)))
