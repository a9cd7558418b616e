"""K-Means and the clustering accuracy: checked against SciPy, NumPy recomputations and hand
computed cases."""

import itertools
import warnings

import numpy as np
import pytest
from _tolerance import assert_close
from scipy.cluster.vq import kmeans2

from hashnet.codes import Codes
from hashnet.probes.kmeans import KMeans, _EuclideanRuns, _HammingRuns
from hashnet.probes.metrics import cluster_accuracy, contingency_matrix

# --- data -----------------------------------------------------------------------------------


def blobs(n=300, k=4, dim=5, spread=0.3, seed=0):
    """k Gaussian blobs whose centres are ~10 apart and whose points are within ~1 of them."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, dim)) * 10.0
    y = np.repeat(np.arange(k), n // k)
    return means[y] + spread * rng.normal(size=(len(y), dim)), y


def code_bits(n=400, n_bits=48, k=5, seed=0):
    """0/1 codes with some structure: signs of random projections of Gaussian blobs."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, 8)) * 2.0
    y = rng.integers(k, size=n)
    Z = means[y] + rng.normal(size=(n, 8))
    W, b = rng.normal(size=(8, n_bits)), rng.normal(size=n_bits)
    return (Z @ W + b > 0).astype(np.uint8), y


def best_scipy_inertia(X, k, seeds=range(10)):
    """The lowest inertia scipy's kmeans2 (k-means++ seeding) finds over several seeds."""
    best = np.inf
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "one of the clusters is empty"
            centers, labels = kmeans2(X, k, minit="++", seed=seed)
        best = min(best, float(np.sum((X - centers[labels]) ** 2)))
    return best


def majority_centres(bits, labels, k):
    """Bit-wise majority vote of each cluster's members (ties -> 0), in plain NumPy."""
    out = np.zeros((k, bits.shape[1]), np.uint8)
    for c in range(k):
        members = bits[labels == c]
        out[c] = members.sum(axis=0) * 2 > len(members)
    return out


def hamming_matrix(a, b):
    return (a[:, None, :] != b[None, :, :]).sum(axis=2)


# --- Euclidean K-Means ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["blobs", "codes"])
def test_inertia_at_least_as_good_as_scipy(kind):
    if kind == "blobs":
        X, _ = blobs(spread=3.0)  # overlapping blobs: local minima exist
        data, k = X, 4
    else:
        bits, _ = code_bits()
        X, data, k = bits.astype(np.float64), Codes.from_bits(bits), 5
    km = KMeans(n_clusters=k, seed=0).fit(data)
    assert km.inertia_ <= best_scipy_inertia(X, k) * 1.01
    # inertia_, labels_ and cluster_centers_ describe one and the same clustering
    recomputed = np.sum((X - km.cluster_centers_[km.labels_]) ** 2)
    assert km.inertia_ == pytest.approx(recomputed, rel=1e-10)
    d2 = ((X[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2)
    assert np.allclose(d2[np.arange(len(X)), km.labels_], d2.min(axis=1))
    np.testing.assert_array_equal(km.predict(data), km.labels_)


def test_recovers_separated_blobs():
    X, y = blobs()
    labels = KMeans(n_clusters=4, seed=3).fit_predict(X)
    assert cluster_accuracy(y, labels, mapping="hungarian") == 1.0


def test_centres_are_cluster_means():
    X, _ = blobs(spread=2.0)
    km = KMeans(n_clusters=4, tol=0.0, seed=1).fit(X)
    for c in range(4):
        members = X[km.labels_ == c]
        # a coordinate's mean can cancel to ~0: measure it against the mean of |x|
        scale = np.abs(members).mean(axis=0)
        assert_close(km.cluster_centers_[c], members.mean(axis=0), scale=scale)


@pytest.mark.parametrize("metric", ["euclidean", "hamming"])
def test_same_seed_same_result_bit_for_bit(metric):
    codes = Codes.from_bits(code_bits()[0])
    a = KMeans(n_clusters=6, n_init=3, metric=metric, seed=7).fit(codes)
    b = KMeans(n_clusters=6, n_init=3, metric=metric, seed=7).fit(codes)
    ca, cb = a.cluster_centers_, b.cluster_centers_
    if metric == "hamming":
        ca, cb = ca.words, cb.words
    np.testing.assert_array_equal(ca, cb)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


def test_more_restarts_never_hurt():
    X, _ = blobs(n=200, k=8, spread=4.0, seed=2)
    one = KMeans(n_clusters=8, n_init=1, seed=0).fit(X).inertia_
    ten = KMeans(n_clusters=8, n_init=10, seed=0).fit(X).inertia_
    assert ten <= one  # the first restart is the same run, the others can only improve on it


def test_empty_cluster_is_reseeded_with_the_farthest_point():
    X, _ = blobs(n=100, k=2, dim=2, seed=4)
    run = _EuclideanRuns(X, tol=1e-4)
    # a third centre that no sample is near: after the first assignment it is empty
    start = np.vstack([run.X[0], run.X[-1], [1e3, 1e3]])
    centers, labels, inertia, _ = run.lloyd(start, max_iter=50)
    assert np.isfinite(centers).all()
    assert np.bincount(labels, minlength=3).min() >= 1
    assert np.abs(centers).max() < 100  # the far-away centre moved into the data


def test_duplicate_points_fewer_than_clusters():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0]]), 4, axis=0)
    km = KMeans(n_clusters=5, n_init=2, seed=0).fit(X)
    assert np.isfinite(km.cluster_centers_).all()
    # 0 up to the rounding of ||x||^2 - 2 x.c + ||c||^2 with c = x: terms of 4 ||x||^2 in all
    assert_close(km.inertia_, 0.0, scale=4 * np.sum(X**2))
    assert set(np.unique(km.labels_)) <= set(range(5))


def test_tol_relative_to_data_scale():
    # scaling the data by 1000 scales everything; the stopping rule must not change
    X, _ = blobs(n=120, k=3, spread=3.0, seed=5)
    a = KMeans(n_clusters=3, n_init=2, seed=0).fit(X)
    b = KMeans(n_clusters=3, n_init=2, seed=0).fit(X * 1000.0)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert b.inertia_ == pytest.approx(a.inertia_ * 1e6, rel=1e-8)


def test_no_worse_than_scikit_learn_on_codes():
    sklearn_cluster = pytest.importorskip("sklearn.cluster")
    bits, _ = code_bits(n=600, n_bits=64, k=8, seed=1)
    X = bits.astype(np.float64)
    ours = KMeans(n_clusters=8, seed=0).fit(Codes.from_bits(bits)).inertia_
    theirs = sklearn_cluster.KMeans(n_clusters=8, n_init=10, random_state=0).fit(X).inertia_
    assert ours <= theirs * 1.01


def test_codes_are_seeded_on_their_packed_bits():
    # For codes, k-means++ measures distances between samples as popcounts of the packed bits;
    # between 0/1 vectors that is the squared Euclidean distance, so the clustering is the one
    # the float bits give (same seeds, same Lloyd iterations).
    bits, _ = code_bits(n=500, n_bits=70, k=6, seed=4)
    codes = Codes.from_bits(bits)
    run = _EuclideanRuns(bits.astype(np.float64), 1e-4, codes)
    dense = _EuclideanRuns(bits.astype(np.float64), 1e-4)
    for seed in range(3):
        a = run.seed_plus_plus(6, np.random.default_rng(seed))
        b = dense.seed_plus_plus(6, np.random.default_rng(seed))
        np.testing.assert_array_equal(a, b)
    on_codes = KMeans(n_clusters=6, seed=0).fit(codes)
    on_floats = KMeans(n_clusters=6, seed=0).fit(bits.astype(np.float64))
    np.testing.assert_array_equal(on_codes.labels_, on_floats.labels_)
    assert on_codes.inertia_ == pytest.approx(on_floats.inertia_, rel=1e-12)


# --- Hamming K-Means ------------------------------------------------------------------------


def test_hamming_centres_are_majority_votes_and_inertia_is_exact():
    bits, _ = code_bits(seed=3)
    codes = Codes.from_bits(bits)
    km = KMeans(n_clusters=5, metric="hamming", seed=0).fit(codes)
    assert isinstance(km.cluster_centers_, Codes) and len(km.cluster_centers_) == 5
    centres = km.cluster_centers_.bits()
    np.testing.assert_array_equal(centres, majority_centres(bits, km.labels_, 5))
    dist = hamming_matrix(bits, centres)
    assert km.inertia_ == dist[np.arange(len(bits)), km.labels_].sum()
    np.testing.assert_array_equal(km.labels_, dist.argmin(axis=1))  # nearest, ties -> lowest
    np.testing.assert_array_equal(km.predict(codes), km.labels_)
    # far better than a random assignment with its own best (majority) centres
    rng = np.random.default_rng(0)
    random_labels = rng.integers(5, size=len(bits))
    random_centres = majority_centres(bits, random_labels, 5)
    random_inertia = hamming_matrix(bits, random_centres)[np.arange(len(bits)), random_labels]
    assert km.inertia_ < 0.9 * random_inertia.sum()


def test_hamming_separates_distinct_code_families():
    rng = np.random.default_rng(1)
    prototypes = rng.integers(0, 2, size=(3, 70)).astype(np.uint8)
    y = np.repeat(np.arange(3), 40)
    flips = rng.random((len(y), 70)) < 0.05  # 5% bit noise around each prototype
    codes = Codes.from_bits(prototypes[y] ^ flips)
    km = KMeans(n_clusters=3, metric="hamming", seed=0).fit(codes)
    assert cluster_accuracy(y, km.labels_, mapping="hungarian") == 1.0
    np.testing.assert_array_equal(km.cluster_centers_.bits()[km.labels_[[0, 40, 80]]], prototypes)


def test_hamming_empty_cluster_is_reseeded():
    bits, _ = code_bits(n=60, n_bits=20, seed=2)
    run = _HammingRuns(Codes.from_bits(bits))
    start = Codes.from_bits(bits[[0, 0, 1]])  # centre 1 duplicates centre 0: it starts empty
    centers, labels, inertia, _ = run.lloyd(start, max_iter=50)
    assert np.bincount(labels, minlength=3).min() >= 1
    dist = hamming_matrix(bits, centers.bits())
    assert inertia == dist[np.arange(len(bits)), labels].sum()


# --- cluster accuracy -----------------------------------------------------------------------


@pytest.mark.parametrize("mapping", ["majority", "hungarian"])
def test_relabelled_perfect_clustering_scores_one(mapping):
    y = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    permutation = np.array([2, 0, 3, 1])
    assert cluster_accuracy(y, permutation[y], mapping=mapping) == 1.0
    assert cluster_accuracy(y, permutation[y] * 10 - 7, mapping=mapping) == 1.0  # any ids


def test_majority_beats_hungarian_when_a_class_is_split():
    # class 0 is split over clusters 0 and 1; cluster 1 also holds one sample of class 1.
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
    # majority: cluster 0 -> 0 (3 right), 1 -> 0 (3 right), 2 -> 1 (3 right): 9/10
    assert cluster_accuracy(y, labels, mapping="majority") == pytest.approx(0.9)
    # one to one: only one of clusters 0, 1 may be class 0 (3 right), cluster 2 -> 1: 6/10
    assert cluster_accuracy(y, labels, mapping="hungarian") == pytest.approx(0.6)
    np.testing.assert_array_equal(contingency_matrix(y, labels), [[3, 3, 0], [0, 1, 3]])


def test_fewer_clusters_than_classes():
    y = np.array([0, 1, 2, 2])
    labels = np.zeros(4, dtype=int)
    assert cluster_accuracy(y, labels, "majority") == 0.5
    assert cluster_accuracy(y, labels, "hungarian") == 0.5


def test_hungarian_is_the_best_one_to_one_map_and_never_beats_majority():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(4, size=30)
        labels = rng.integers(4, size=30)
        table = contingency_matrix(y, labels)
        brute = 0
        for perm in itertools.permutations(range(table.shape[0]), table.shape[1]):
            brute = max(brute, sum(table[r, c] for c, r in enumerate(perm)))
        hungarian = cluster_accuracy(y, labels, "hungarian")
        assert hungarian == pytest.approx(brute / 30)
        assert cluster_accuracy(y, labels, "majority") >= hungarian


# --- bad input ------------------------------------------------------------------------------


def test_bad_parameters():
    X, _ = blobs(n=20, k=2)
    with pytest.raises(ValueError, match="more than the 20 samples"):
        KMeans(n_clusters=21).fit(X)
    with pytest.raises(ValueError, match="n_clusters must be at least 1"):
        KMeans(n_clusters=0).fit(X)
    with pytest.raises(TypeError, match="n_clusters must be an int"):
        KMeans(n_clusters=2.5).fit(X)
    with pytest.raises(ValueError, match="n_init"):
        KMeans(n_init=0).fit(X)
    with pytest.raises(ValueError, match="tol"):
        KMeans(tol=-1.0).fit(X)
    with pytest.raises(ValueError, match="unknown metric 'cosine'"):
        KMeans(n_clusters=2, metric="cosine").fit(X)


def test_bad_data():
    with pytest.raises(TypeError, match="needs neural codes"):
        KMeans(n_clusters=2, metric="hamming").fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="empty"):
        KMeans(n_clusters=2).fit(np.empty((0, 3)))
    with pytest.raises(ValueError, match="empty"):
        KMeans(n_clusters=2, metric="hamming").fit(Codes.from_bits(np.zeros((0, 8), np.uint8)))
    X = np.ones((5, 3))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(n_clusters=2).fit(X)
    with pytest.raises(ValueError, match="2D"):
        KMeans(n_clusters=2).fit(np.ones(5))


def test_predict_errors():
    X, _ = blobs(n=20, k=2)
    with pytest.raises(ValueError, match="call fit"):
        KMeans(n_clusters=2).predict(X)
    km = KMeans(n_clusters=2).fit(X)
    with pytest.raises(ValueError, match="expects"):
        km.predict(X[:, :3])
    bits = np.random.default_rng(0).integers(0, 2, size=(20, 10)).astype(np.uint8)
    for metric in ("euclidean", "hamming"):
        km = KMeans(n_clusters=2, metric=metric).fit(Codes.from_bits(bits))
        with pytest.raises(ValueError, match="10"):
            km.predict(Codes.from_bits(bits[:, :9]))
    with pytest.raises(TypeError, match="needs neural codes"):
        km.predict(bits)


def test_cluster_accuracy_bad_input():
    with pytest.raises(ValueError, match="must match"):
        cluster_accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        cluster_accuracy([], [])
    with pytest.raises(ValueError, match="whole-number"):
        cluster_accuracy([0, 1], [0.5, 1])
    with pytest.raises(TypeError, match="integer"):
        cluster_accuracy(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="1D"):
        cluster_accuracy([[0, 1]], [[0, 1]])
    with pytest.raises(ValueError, match="unknown mapping"):
        cluster_accuracy([0, 1], [0, 1], mapping="greedy")
