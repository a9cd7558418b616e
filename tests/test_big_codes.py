"""The probes on codes too wide to unpack: bounded memory, and the same answers in blocks.

A VGG-16 gives ~280 000 code bits per CIFAR-10 image: 35 kB packed, 2.2 MB as a row of
float64. K-Means and logistic regression read Codes a block at a time (K-Means unpacks blocks
of rows, logistic regression sums byte tables over blocks of byte positions), K-NN and the
redundancy ratio never leave the packed words. These tests check both halves of that promise:
on small codes, any block size gives the answer of the plain float matrix; on 2 000 codes of
100 000 bits, every probe classifies well above chance while NumPy's peak memory stays far
below the 1.6 GB of the float64 matrix.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
from _tolerance import assert_close

import hashnet as hn
from hashnet.codes import Codes
from hashnet.kernels import cpu, reference
from hashnet.probes import kmeans, logistic
from hashnet.probes.kmeans import KMeans
from hashnet.probes.knn import KNN
from hashnet.probes.logistic import LogisticRegression
from hashnet.probes.metrics import cluster_accuracy

MB = 2**20


def prototype_codes(n, n_bits, n_classes=10, flip_words=2, seed=0):
    """Codes of `n` examples around `n_classes` random prototype codes, built packed.

    Each example is its class's prototype with every bit flipped with probability
    2**-flip_words (an AND of that many random words), so examples of one class are much
    closer in Hamming distance than examples of two classes, and accuracies mean something.
    No (n, n_bits) array is ever formed. Returns (Codes, labels).
    """
    rng = np.random.default_rng(seed)
    n_words = (n_bits + 63) // 64

    def random_words(rows):
        return rng.integers(0, 2**64, size=(rows, n_words), dtype=np.uint64, endpoint=False)

    prototypes = random_words(n_classes)
    y = rng.integers(n_classes, size=n)
    flips = random_words(n)
    for _ in range(flip_words - 1):
        flips &= random_words(n)
    words = prototypes[y] ^ flips
    if n_bits % 64:  # the unused high bits of the last word must stay 0
        words[:, -1] &= np.uint64((1 << (n_bits % 64)) - 1)
    return Codes(words, n_bits), y


def small_bits(n=300, n_bits=133, n_classes=4, seed=0):
    """A small 0/1 matrix with class structure (and a width that is no multiple of 8)."""
    codes, y = prototype_codes(n, n_bits, n_classes, flip_words=2, seed=seed)
    return codes.bits(), y


def traced_peak(fn):
    """(fn(), the peak of traced memory while it ran, in bytes).

    NumPy reports its buffers to tracemalloc; arrays that Numba allocates inside a kernel do
    not show, but every probe allocates its big arrays (blocks, tables, centres) in NumPy.
    """
    tracemalloc.start()
    try:
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


# --- the new kernels against their NumPy twins ------------------------------------------------


@pytest.mark.parametrize("n,n_bits,width", [(1, 8, 1), (5, 70, 3), (33, 200, 10), (64, 1000, 1)])
def test_table_kernels_match_their_twins(n, n_bits, width):
    rng = np.random.default_rng(n + n_bits)
    codes, _ = prototype_codes(n, n_bits, 3, seed=n)
    # as the probe passes them: a strided view of the bytes of the words
    n_bytes = (n_bits + 7) // 8
    code_bytes = codes.words.view(np.uint8)[:, :n_bytes]
    tables = rng.normal(size=(n_bytes, 256, width))
    out = rng.normal(size=(n, width))  # both add into out
    got, want = out.copy(), out.copy()
    cpu.table_lookup_sum(code_bytes, tables, got)
    reference.table_lookup_sum(code_bytes, tables, want)
    magnitude = np.abs(out) + np.abs(tables[np.arange(n_bytes), code_bytes]).sum(axis=1)
    assert_close(got, want, scale=magnitude)

    dz = rng.normal(size=(n, width))
    hist = rng.normal(size=(n_bytes, 256, width))
    got, want = hist.copy(), hist.copy()
    cpu.table_histogram(code_bytes, dz, got)
    reference.table_histogram(code_bytes, dz, want)
    magnitude = np.abs(hist).copy()
    reference.table_histogram(code_bytes, np.abs(dz), magnitude)
    assert_close(got, want, scale=magnitude)


# --- in blocks or not, the same answers -------------------------------------------------------


@pytest.mark.parametrize("n_bits", [5, 64, 133])
@pytest.mark.parametrize("table_bytes", [1, 256 * 8 * 3 * 2, logistic._TABLE_BYTES])
def test_code_products_in_blocks_match_blas(monkeypatch, n_bits, table_bytes):
    # X W and X^T dZ through byte tables, whatever the block of byte positions (1 byte, 2
    # bytes, all at once), against BLAS on the float bits.
    monkeypatch.setattr(logistic, "_TABLE_BYTES", table_bytes)
    rng = np.random.default_rng(n_bits)
    codes, _ = prototype_codes(50, n_bits, 3, seed=n_bits)
    X = codes.bits().astype(np.float64)
    W = rng.normal(size=(n_bits, 3))
    assert_close(logistic._codes_times(codes, W), X @ W, scale=X @ np.abs(W))
    dZ = rng.normal(size=(50, 3))
    assert_close(logistic._codes_transposed_times(codes, dZ), X.T @ dZ, scale=X.T @ np.abs(dZ))
    # the column means are exact: counts of set bits, divided once
    np.testing.assert_array_equal(logistic._column_means(codes), X.mean(axis=0))


@pytest.mark.parametrize("multi_class", ["multinomial", "ovo"])
@pytest.mark.parametrize("table_bytes", [1, 256 * 8 * 4 * 5, logistic._TABLE_BYTES])
def test_logistic_on_codes_in_blocks_matches_the_float_matrix(
    monkeypatch, multi_class, table_bytes
):
    monkeypatch.setattr(logistic, "_TABLE_BYTES", table_bytes)
    bits, y = small_bits(n=200, n_bits=45, n_classes=3, seed=1)
    # make the classes overlap, so that the optimum is finite and well defined
    flip = np.random.default_rng(2).random(bits.shape) < 0.3
    bits = bits ^ flip
    codes = Codes.from_bits(bits)
    on_codes = LogisticRegression(multi_class=multi_class, tol=1e-8).fit(codes, y)
    on_floats = LogisticRegression(multi_class=multi_class, tol=1e-8).fit(bits.astype(float), y)
    # two objectives that round differently, carried through the L-BFGS iterations
    assert_close(on_codes.coef_, on_floats.coef_, rtol=1e-7)
    assert_close(
        on_codes.intercept_, on_floats.intercept_, scale=np.abs(on_floats.coef_).max(), rtol=1e-7
    )
    np.testing.assert_array_equal(on_codes.predict(codes), on_floats.predict(bits))
    # predicting on Codes (tables) and on floats (BLAS) with the same fitted model
    assert_close(on_codes.decision_function(codes), on_codes.decision_function(bits.astype(float)))


@pytest.mark.parametrize(
    "chunk_bytes,block_rows",
    [(1, 1), (133 * 9 * 7, 7), (133 * 9 * 128, 128), (kmeans._CHUNK_BYTES, None)],
)
def test_euclidean_kmeans_in_blocks_matches_the_float_matrix(monkeypatch, chunk_bytes, block_rows):
    # 1 row, 7 rows, 128 rows per block (a float64 row of 133 bits takes 133 x 9 bytes with
    # the uint8 bits it comes from), and all 300 rows held at once (block_rows None)
    bits, y = small_bits()
    X = bits.astype(np.float64)
    dense = KMeans(n_clusters=4, n_init=3, max_iter=50, seed=0).fit(X)
    monkeypatch.setattr(kmeans, "_CHUNK_BYTES", chunk_bytes)
    codes = Codes.from_bits(bits)
    rows = kmeans._Rows(codes, np.float64)
    assert (rows.held is None) == (block_rows is not None)
    assert block_rows is None or rows.block_rows == block_rows
    km = KMeans(n_clusters=4, n_init=3, max_iter=50, seed=0).fit(codes)
    np.testing.assert_array_equal(km.labels_, dense.labels_)
    assert km.n_iter_ == dense.n_iter_
    # sums of the same numbers in another order (block by block)
    assert_close(km.cluster_centers_, dense.cluster_centers_, rtol=1e-12)
    assert_close(km.inertia_, dense.inertia_, rtol=1e-12)
    np.testing.assert_array_equal(km.predict(codes), dense.predict(X))
    assert cluster_accuracy(y, km.labels_) == 1.0


@pytest.mark.parametrize("chunk_bytes", [1, 133 * 10, kmeans._CHUNK_BYTES])
def test_hamming_kmeans_in_blocks_is_exactly_the_same(monkeypatch, chunk_bytes):
    bits, _ = small_bits(seed=3)
    codes = Codes.from_bits(bits)
    held = KMeans(n_clusters=4, n_init=2, metric="hamming", seed=0).fit(codes)
    monkeypatch.setattr(kmeans, "_CHUNK_BYTES", chunk_bytes)
    blocked = KMeans(n_clusters=4, n_init=2, metric="hamming", seed=0).fit(codes)
    np.testing.assert_array_equal(blocked.labels_, held.labels_)
    np.testing.assert_array_equal(blocked.cluster_centers_.words, held.cluster_centers_.words)
    assert blocked.inertia_ == held.inertia_ and blocked.n_iter_ == held.n_iter_


def test_empty_cluster_refill_reads_one_row_from_blocks(monkeypatch):
    # The refill of an empty cluster takes a single sample out of a block that is not held.
    monkeypatch.setattr(kmeans, "_CHUNK_BYTES", 1)
    bits, _ = small_bits(n=60, n_bits=20, seed=2)
    X = bits.astype(np.float64)
    run = kmeans._EuclideanRuns(Codes.from_bits(bits), 1e-4)
    dense = kmeans._EuclideanRuns(X, 1e-4)
    assert run.X is None and dense.X is not None  # blocks of rows, not a held matrix
    start = np.vstack([dense.X[0], dense.X[0], dense.X[1]])  # centre 1 starts empty
    centers, labels, inertia, _ = run.lloyd(start.copy(), max_iter=50)
    want = dense.lloyd(start.copy(), max_iter=50)
    np.testing.assert_array_equal(labels, want[1])
    assert_close(centers, want[0], rtol=1e-12)
    assert np.bincount(labels, minlength=3).min() >= 1


# --- wide codes, bounded memory ---------------------------------------------------------------

N_IMAGES, N_BITS = 2000, 100_000
FLOAT_MATRIX = N_IMAGES * N_BITS * 8  # 1.6 GB: what unpacking to float64 would need
BUDGET = 200 * MB  # an eighth of it


@pytest.fixture(scope="module")
def wide():
    codes, y = prototype_codes(N_IMAGES, N_BITS, n_classes=10, flip_words=2, seed=0)
    train, test = codes[:1500], codes[1500:]
    # compile the kernels on a few codes first, so that the measurements are of the probes
    # (compiling allocates Python objects, which tracemalloc would count)
    hn.redundancy_ratio(train[:40])
    KNN(k=5).fit(train[:40], y[:40]).score(test[:10], y[1500:1510])
    KMeans(3, n_init=1, max_iter=2).fit(train[:40])
    KMeans(3, n_init=1, max_iter=2, metric="hamming").fit(train[:40])
    for multi_class in ("multinomial", "ovo"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # max_iter reached
            LogisticRegression(max_iter=1, multi_class=multi_class).fit(train[:40], y[:40])
    return train, y[:1500], test, y[1500:]


def test_wide_codes_redundancy_and_knn(wide):
    train, y_train, test, y_test = wide
    rr, peak = traced_peak(lambda: hn.redundancy_ratio(train))
    assert rr == 0.0  # 25 000 flipped bits on average: no two codes are equal
    assert peak < 8 * MB  # a hash and a group id per code (measured: under 1 MB)
    accuracy, peak = traced_peak(lambda: KNN(k=5).fit(train, y_train).score(test, y_test))
    assert accuracy > 0.9  # chance: 0.1
    assert peak < 8 * MB  # popcounts on the packed words; (queries, k) results (under 1 MB)


@pytest.mark.parametrize("metric", ["euclidean", "hamming"])
def test_wide_codes_kmeans(wide, metric):
    train, y_train, _, _ = wide
    model, peak = traced_peak(
        lambda: KMeans(n_clusters=10, n_init=1, max_iter=5, metric=metric, seed=0).fit(train)
    )
    assert cluster_accuracy(y_train, model.labels_) > 0.9
    # one block of unpacked rows, plus a few arrays the size of the centres (10 x n_bits)
    centres = 10 * N_BITS * 8
    assert peak < min(BUDGET, kmeans._CHUNK_BYTES + 8 * centres)
    assert peak < FLOAT_MATRIX / 8


def test_wide_codes_logistic_one_vs_one(wide):
    train, y_train, test, y_test = wide

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # max_iter reached: fine here
            return LogisticRegression(multi_class="ovo", max_iter=3).fit(train, y_train)

    model, peak = traced_peak(fit)
    assert model.score(test, y_test) > 0.9
    assert peak < BUDGET  # 45 binary problems; coef_ alone is 45 x 100 000 floats (36 MB)


def test_wide_codes_logistic_multinomial(wide):
    train, y_train, test, y_test = wide

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return LogisticRegression(max_iter=3).fit(train, y_train)

    model, peak = traced_peak(fit)
    assert model.score(test, y_test) > 0.9
    # SciPy's L-BFGS-B keeps 2 x 10 correction vectors and a few more of the size of the
    # parameters (a workspace of (2 m + 5) n floats, m = 10): 1 000 010 parameters here, 200 MB
    # that grow with bits x classes, not with the number of codes. The rest is the probe's.
    n_params = (N_BITS + 1) * 10
    optimiser = (2 * 10 + 5) * n_params * 8
    assert peak < optimiser + BUDGET
    assert peak < FLOAT_MATRIX / 4
    # One evaluation of the objective alone: logits, one block of tables, the gradient.
    w = np.zeros(n_params)
    mean = logistic._column_means(train)
    (loss, grad), peak = traced_peak(
        lambda: logistic._loss_and_grad(w, train, y_train, 1.0, True, mean)
    )
    assert loss == pytest.approx(np.log(10))  # all logits 0: uniform probabilities
    assert peak < 6 * n_params * 8  # a handful of gradient-sized arrays, no (n, bits) matrix
