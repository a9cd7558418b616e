"""K-Means clustering, the study's first probe of how much the neural codes know about the labels.

K-Means looks for K centres c_1..c_K that minimise the *inertia*

    sum_i  min_k  d(x_i, c_k),

where d is the squared Euclidean distance ||x - c||^2 (metric="euclidean", the classic
algorithm and what the paper ran on the 0/1 code vectors) or the Hamming distance between two
codes (metric="hamming"; for 0/1 vectors the two distances are the same number, but here the
centres must be codes too). If the codes of a trained network behave like a hash of the class,
the clusters K-Means finds without seeing a label line up with the classes
(`hashnet.probes.metrics.cluster_accuracy` scores that).

The algorithm (Lloyd's):

1. *k-means++ seeding*: the first centre is a random sample; each next one is drawn with
   probability proportional to d(x, nearest centre chosen so far), so centres start spread out.
   We use the "greedy" variant: draw a few candidates and keep the one that lowers the inertia
   most.
2. *Assign*: each sample joins its nearest centre.
3. *Update*: each centre moves to the point that minimises its cluster's inertia: the mean of
   its members for squared Euclidean distance, the bit-wise majority vote for Hamming distance.
4. Repeat 2-3 until the assignments stop changing or the centres barely move. Neither step can
   raise the inertia, so this ends in a local minimum; `n_init` restarts keep the best one.

Memory. Codes stay packed (1 bit per feature); the passes over the samples unpack one block of
rows at a time (`_Rows`), about _CHUNK_BYTES of them, so K-Means on the ~280 000-bit codes of
a VGG-16 never holds the (N, n_bits) float64 matrix (2.2 MB per image). Codes small enough to
fit in one block are unpacked once and kept, which is what the passes over them did before.
"""

from __future__ import annotations

import numbers

import numpy as np

from hashnet._validation import check_fitted, check_random_state
from hashnet.codes import Codes, hamming_distances
from hashnet.kernels import cpu as K
from hashnet.probes._inputs import check_input

METRICS = ("euclidean", "hamming")

# The most memory the unpacked rows of Codes may take at once (a block of rows as float64 for
# the Euclidean passes, as uint8 0/1 for the Hamming update). 64 MiB holds all 60 000 codes of
# a 100-unit MLP, or 26 rows of a 280 000-bit VGG code.
_CHUNK_BYTES = 64 * 2**20


class KMeans:
    """K-Means on float features or on neural codes (scikit-learn-like API).

    Parameters
    ----------
    n_clusters : number of clusters K.
    n_init : how many k-means++ seedings to run; the run with the lowest inertia is kept.
    max_iter : the most Lloyd iterations (assign + update) per run.
    tol : stop when the centres moved, in total squared distance, by less than
        tol * (mean variance of the features) -- scikit-learn's convention, which makes `tol`
        independent of the scale of the data. Unused by "hamming", which stops when the centre
        codes no longer change.
    metric : "euclidean" (X is a float array or a `Codes`, whose bits are used as 0/1 vectors)
        or "hamming" (X must be a `Codes`; the centres are codes too).
    seed : int, None or numpy Generator; the same seed gives the same result bit for bit.

    Learned attributes
    ------------------
    cluster_centers_ : (K, n_features) float64 array, or a `Codes` of K codes for "hamming".
    labels_ : (N,) int64 cluster of each training sample.
    inertia_ : sum of squared Euclidean distances (or of Hamming distances) of the samples to
        their centres.
    n_iter_ : Lloyd iterations of the kept run.
    n_features_in_ : number of features (bits for codes) seen in fit.
    """

    def __init__(
        self, n_clusters=10, n_init=10, max_iter=300, tol=1e-4, metric="euclidean", seed=0
    ):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.metric = metric
        self.seed = seed

    # --- public API -------------------------------------------------------------------------

    def fit(self, X):
        """Cluster X (an (N, d) float array or a `Codes`); returns self."""
        self._check_params()
        rng = check_random_state(self.seed)
        X = check_input(X, codes_only=self.metric == "hamming")
        self._check_n_samples(len(X))
        run = _HammingRuns(X) if self.metric == "hamming" else _EuclideanRuns(X, self.tol)
        best = None
        for _ in range(self.n_init):
            result = run.lloyd(run.seed_plus_plus(self.n_clusters, rng), self.max_iter)
            if best is None or result[2] < best[2]:  # strict: the first of equal runs is kept
                best = result
        centers, self.labels_, self.inertia_, self.n_iter_ = best
        self.cluster_centers_ = run.public_centers(centers)
        self.n_features_in_ = run.n_features
        return self

    def predict(self, X):
        """The index of the nearest learned centre for each sample of X."""
        check_fitted(self, "cluster_centers_")
        if self.metric == "hamming":
            codes = check_input(X, self.n_features_in_, codes_only=True)
            dist = hamming_distances(codes, self.cluster_centers_)
            labels = np.full(len(codes), -1, dtype=np.int64)
            K.nearest_from_distances(dist, labels, np.empty(len(codes), dtype=np.int64))
            return labels
        rows = _Rows(check_input(X, self.n_features_in_), np.float64)
        centers = self.cluster_centers_
        labels = np.full(len(rows), -1, dtype=np.int64)
        scratch_sums, scratch_counts = np.empty_like(centers), np.empty(len(centers), np.int64)
        _lloyd_pass(rows, centers, labels, np.empty(len(rows)), scratch_sums, scratch_counts)
        return labels

    def fit_predict(self, X):
        """fit(X), then the training labels (`labels_`)."""
        return self.fit(X).labels_

    # --- checks -----------------------------------------------------------------------------

    def _check_params(self):
        for name, low in (("n_clusters", 1), ("n_init", 1), ("max_iter", 1)):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, got {value!r}")
            if value < low:
                raise ValueError(f"{name} must be at least {low}, got {value}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of {METRICS}")

    def _check_n_samples(self, n):
        if self.n_clusters > n:
            raise ValueError(
                f"n_clusters={self.n_clusters} is more than the {n} samples given; "
                "each cluster needs at least one sample"
            )


# --- input helpers ------------------------------------------------------------------------


def _pick_weighted(weights, n_draws, rng):
    """Draw indices with probability proportional to `weights` (the D^2 of k-means++).

    Inverse-CDF sampling: a uniform number in [0, total) falls into the slot of one sample, and
    a sample's slot is as wide as its weight; side="right" never lands on a zero-weight slot.
    When every weight is 0 (fewer distinct points than clusters) any sample will do.
    """
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    if not total > 0:
        return rng.integers(len(weights), size=n_draws)
    return np.searchsorted(cumulative, rng.random(n_draws) * total, side="right")


def _fill_empty_clusters(row, dist, labels, sums, counts):
    """Give every empty cluster the sample farthest from its centre (scikit-learn's remedy).

    Moving the worst-served samples lowers the inertia the most; a sample is only taken from a
    cluster that keeps at least one member, so no new empty cluster appears. `row(i)` is sample
    i as the sums count it. Updates `labels`, `sums` and `counts` in place.
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return
    filled = 0
    for i in np.argsort(-dist, kind="stable"):
        old = labels[i]
        if counts[old] > 1:
            k = empty[filled]
            x = row(i)
            sums[old] -= x
            counts[old] -= 1
            sums[k] = x
            counts[k] = 1
            labels[i] = k
            filled += 1
            if filled == empty.size:
                return


# --- the samples, a block of rows at a time ------------------------------------------------


class _Rows:
    """The samples as blocks of consecutive rows, for the passes of Lloyd's algorithm.

    A float array is one block (as given, or minus `mean`). Codes are unpacked: as float64
    0/1 minus `mean` (None: as they are) for the Euclidean passes, or as uint8 0/1 for the
    Hamming update, at most _CHUNK_BYTES at a time. When all rows fit in that, they are
    unpacked once and kept (`held`, as for a float array); otherwise every pass unpacks them
    again, block by block, into the same buffers: unpacking is a cheap pass over memory next
    to the product with the centres, and memory stays bounded for codes of any width.
    float64 rows also get x_sq[i] = ||row_i||^2, which the distance expansion needs.
    """

    def __init__(self, X, dtype, mean=None):
        self.source, self.dtype, self.mean = X, np.dtype(dtype), mean
        self.n = len(X)
        if isinstance(X, Codes):
            # a float block also needs the uint8 bits it is made from
            per_row = X.n_bits * (1 + (self.dtype.itemsize if self.dtype.kind == "f" else 0))
            self.block_rows = max(1, _CHUNK_BYTES // per_row)
        else:
            self.block_rows = self.n
        self.held = self._unpack(slice(None)) if self.block_rows >= self.n else None
        if self.dtype.kind == "f":
            self.x_sq = np.empty(self.n)
            for start, stop, block in self.blocks():
                self.x_sq[start:stop] = np.einsum("nd,nd->n", block, block)

    def __len__(self):
        return self.n

    def blocks(self):
        """(start, stop, rows start..stop) for consecutive blocks that cover all rows.

        A block lives until the next one is asked for (they share buffers).
        """
        if self.held is not None:
            yield 0, self.n, self.held
            return
        bits = np.empty((self.block_rows, self.source.n_bits), np.uint8)
        floats = np.empty(bits.shape, self.dtype) if self.dtype.kind == "f" else None
        for start in range(0, self.n, self.block_rows):
            stop = min(start + self.block_rows, self.n)
            m = stop - start
            out = None if floats is None else floats[:m]
            yield start, stop, self._unpack(slice(start, stop), bits[:m], out)

    def take(self, index):
        """The rows at `index` (an integer array), as a new array."""
        return self.held[index] if self.held is not None else self._unpack(index)

    def row(self, i):
        """Row i alone."""
        return self.take(np.array([i]))[0]

    def _unpack(self, part, bits=None, out=None):
        """The rows `part` (a slice or an index array), into the buffers when given."""
        X = self.source
        if not isinstance(X, Codes):
            return X[part] if self.mean is None else X[part] - self.mean
        words = X.words[part]
        if bits is None:
            bits = np.empty((len(words), X.n_bits), np.uint8)
        K.unpack_bits(words, bits)
        if self.dtype.kind != "f":
            return bits
        if out is None:
            out = np.empty(bits.shape, self.dtype)
        if self.mean is None:
            out[...] = bits
        else:
            np.subtract(bits, self.mean, out=out)
        return out


def _bit_means(codes):
    """The fraction of codes with each bit set: exact counts, divided once (as
    bits.mean(axis=0) gives them, without holding the bits)."""
    counts = np.zeros(codes.n_bits, np.int64)
    for _, _, bits in _Rows(codes, np.uint8).blocks():
        counts += bits.sum(axis=0, dtype=np.int64)
    return counts / len(codes)


def _lloyd_pass(rows, centers, labels, best, sums, counts):
    """`kmeans_lloyd_pass` over all blocks of `rows`: assigns every row to its nearest centre
    (labels, best), and leaves the cluster sums and sizes the update needs in sums, counts.
    Returns how many labels changed."""
    sums[:] = 0
    counts[:] = 0
    block_sums, block_counts = np.empty_like(sums), np.empty_like(counts)
    changed = 0
    for start, stop, block in rows.blocks():
        part = slice(start, stop)
        changed += K.kmeans_lloyd_pass(
            block, rows.x_sq[part], centers, labels[part], best[part], block_sums, block_counts
        )
        sums += block_sums
        counts += block_counts
    return changed


def _squared_error(rows, centers, labels):
    """sum_i ||row_i - c_{labels[i]}||^2, block by block."""
    total = 0.0
    for start, stop, block in rows.blocks():
        total += K.squared_error(block, centers, labels[start:stop])
    return total


def _cluster_sums(rows, labels, sums, counts):
    """`cluster_sums` over all blocks of `rows`: the bits set per cluster, and its size."""
    sums[:] = 0
    counts[:] = 0
    block_sums, block_counts = np.empty_like(sums), np.empty_like(counts)
    for start, stop, block in rows.blocks():
        K.cluster_sums(block, labels[start:stop], block_sums, block_counts)
        sums += block_sums
        counts += block_counts


# --- the two flavours of Lloyd's algorithm -----------------------------------------------


class _EuclideanRuns:
    """Seeding and Lloyd iterations for squared Euclidean distance (BLAS inside the kernels).

    The data are centred (x - mean): distances do not change, but the expansion
    ||x||^2 - 2 x.c + ||c||^2 then subtracts smaller numbers and loses fewer digits. For
    neural codes the seeding works on the packed bits instead: between two 0/1 vectors the
    squared Euclidean distance is the number of differing bits, a popcount of 64 bits at a
    time, several times faster than a matrix product over the unpacked bits (k-means++ only
    ever measures distances between samples). The Lloyd passes read the samples through
    `_Rows`, block by block.

    X is a float array or Codes; `codes` (default: X when it is Codes) are the same samples
    packed, for the seeding.
    """

    def __init__(self, X, tol, codes=None):
        if isinstance(X, Codes):
            codes = X if codes is None else codes
            self.mean = _bit_means(X)
        else:
            self.mean = X.mean(axis=0)
        self.rows = _Rows(X, np.float64, self.mean)
        self.X = self.rows.held  # the centred samples, when they are held in memory
        self.x_sq = self.rows.x_sq
        self.n_features = len(self.mean)
        self.codes = codes
        # mean over features of the variance: the centred data make it sum ||x||^2 / (N d)
        self.tol = tol * float(self.x_sq.sum()) / (len(self.rows) * self.n_features)

    def public_centers(self, centers):
        return centers + self.mean

    def seed_plus_plus(self, k, rng):
        if self.codes is not None:

            def try_rows(rows, closest, out):
                np.minimum(
                    hamming_distances(self.codes, self.codes[rows]), closest[:, None], out=out
                )
                return out.sum(axis=0)

        else:

            def try_rows(rows, closest, out):
                return K.kmeans_plus_plus_candidates(self.X, self.x_sq, rows, closest, out)

        return self.rows.take(_greedy_plus_plus(try_rows, len(self.rows), k, rng))

    def lloyd(self, centers, max_iter):
        rows = self.rows
        n, k = len(rows), len(centers)
        labels = np.full(n, -1, dtype=np.int64)  # -1: every label "changes" on the first pass
        best = np.empty(n)
        sums = np.empty_like(centers)
        counts = np.empty(k, dtype=np.int64)
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            if _lloyd_pass(rows, centers, labels, best, sums, counts) == 0:
                break  # same assignment as last time, whose means the centres already are
            _fill_empty_clusters(rows.row, best, labels, sums, counts)
            new = sums / counts[:, None]
            shift = float(np.sum((new - centers) ** 2))
            centers = new
            if shift <= self.tol:
                # the centres moved after the last assignment: assign once more so that
                # labels_ and inertia_ belong to the centres we return
                _lloyd_pass(rows, centers, labels, best, sums, counts)
                break
        else:
            _lloyd_pass(rows, centers, labels, best, sums, counts)
        return centers, labels, _squared_error(rows, centers, labels), n_iter


class _HammingRuns:
    """Seeding and Lloyd iterations for the Hamming distance between codes.

    The centre of a cluster is the code that minimises the summed Hamming distance to its
    members: bit by bit, the value most members have (a majority vote; a tie gives 0).
    Distances are popcounts of the packed words; only the vote unpacks the bits, a block of
    rows at a time (`_Rows`).
    """

    def __init__(self, codes):
        self.codes = codes
        self.rows = _Rows(codes, np.uint8)
        self.n_features = codes.n_bits

    def public_centers(self, centers):
        return centers

    def seed_plus_plus(self, k, rng):
        def try_rows(rows, closest, out):
            np.minimum(hamming_distances(self.codes, self.codes[rows]), closest[:, None], out=out)
            return out.sum(axis=0)

        return self.codes[_greedy_plus_plus(try_rows, len(self.codes), k, rng)]

    def lloyd(self, centers, max_iter):
        codes = self.codes
        n, k = len(codes), len(centers)
        labels = np.full(n, -1, dtype=np.int64)
        best = np.empty(n, dtype=np.int64)
        ones = np.empty((k, codes.n_bits), dtype=np.int64)
        counts = np.empty(k, dtype=np.int64)
        center_bits = centers.bits()

        def assign(centers):
            dist = hamming_distances(codes, centers)
            return K.nearest_from_distances(dist, labels, best)

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            if assign(centers) == 0:
                break
            _cluster_sums(self.rows, labels, ones, counts)
            _fill_empty_clusters(self.rows.row, best, labels, ones, counts)
            new_bits = (2 * ones > counts[:, None]).astype(np.uint8)  # strict majority
            if np.array_equal(new_bits, center_bits):
                break  # same centres: the last assignment still holds
            center_bits = new_bits
            centers = Codes.from_bits(new_bits)
        else:
            assign(centers)
        return centers, labels, int(best.sum()), n_iter


def _greedy_plus_plus(try_rows, n, k, rng):
    """Greedy k-means++: the indices of k samples to start Lloyd's algorithm from.

    `try_rows(rows, closest, out)` fills out[i, t] = min(closest[i], d(x_i, x_rows[t])) and
    returns out.sum(axis=0), the inertia left if sample rows[t] became a centre. At each step a
    few candidates (2 + log k, as in Arthur & Vassilvitskii's greedy variant and scikit-learn)
    are drawn with probability proportional to each sample's distance to its nearest chosen
    centre (the "D^2 sampling"), and the one leaving the smallest inertia is kept.
    """
    n_trials = 2 + int(np.log(k))
    chosen = [int(rng.integers(n))]
    out = np.empty((n, 1))
    try_rows(np.array(chosen), np.full(n, np.inf), out)
    closest = out[:, 0].copy()
    out = np.empty((n, n_trials))
    for _ in range(1, k):
        candidates = _pick_weighted(closest, n_trials, rng)
        best = int(np.argmin(try_rows(candidates, closest, out)))
        chosen.append(int(candidates[best]))
        closest = out[:, best].copy()  # contiguous, and safe from the next step's writes
    return np.array(chosen)
