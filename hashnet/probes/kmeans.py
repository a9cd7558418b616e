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
"""

from __future__ import annotations

import numbers

import numpy as np

from hashnet._validation import check_fitted, check_random_state
from hashnet.codes import Codes, hamming_distances
from hashnet.kernels import cpu as K
from hashnet.probes._inputs import as_float_matrix, check_input

METRICS = ("euclidean", "hamming")


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
        if self.metric == "hamming":
            codes = check_input(X, codes_only=True)
            self._check_n_samples(len(codes))
            run = _HammingRuns(codes)
        else:
            data = as_float_matrix(X)
            self._check_n_samples(len(data))
            run = _EuclideanRuns(data, self.tol, X if isinstance(X, Codes) else None)
            del data  # the runs keep a centred copy
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
        data = as_float_matrix(X, self.n_features_in_)
        centers = self.cluster_centers_
        labels = np.full(len(data), -1, dtype=np.int64)
        x_sq = np.einsum("nd,nd->n", data, data)
        scratch_sums, scratch_counts = np.empty_like(centers), np.empty(len(centers), np.int64)
        K.kmeans_lloyd_pass(
            data, x_sq, centers, labels, np.empty(len(data)), scratch_sums, scratch_counts
        )
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


def _fill_empty_clusters(X, dist, labels, sums, counts):
    """Give every empty cluster the sample farthest from its centre (scikit-learn's remedy).

    Moving the worst-served samples lowers the inertia the most; a sample is only taken from a
    cluster that keeps at least one member, so no new empty cluster appears. Updates `labels`,
    `sums` and `counts` in place.
    """
    empty = np.flatnonzero(counts == 0)
    if empty.size == 0:
        return
    filled = 0
    for i in np.argsort(-dist, kind="stable"):
        old = labels[i]
        if counts[old] > 1:
            k = empty[filled]
            sums[old] -= X[i]
            counts[old] -= 1
            sums[k] = X[i]
            counts[k] = 1
            labels[i] = k
            filled += 1
            if filled == empty.size:
                return


# --- the two flavours of Lloyd's algorithm -----------------------------------------------


class _EuclideanRuns:
    """Seeding and Lloyd iterations for squared Euclidean distance (BLAS inside the kernels).

    The data are centred once (x - mean): distances do not change, but the expansion
    ||x||^2 - 2 x.c + ||c||^2 then subtracts smaller numbers and loses fewer digits. For
    neural codes the seeding works on the packed bits instead: between two 0/1 vectors the
    squared Euclidean distance is the number of differing bits, a popcount of 64 bits at a
    time, several times faster than a matrix product over the unpacked bits (k-means++ only
    ever measures distances between samples).
    """

    def __init__(self, X, tol, codes=None):
        self.mean = X.mean(axis=0)
        self.X = X - self.mean
        self.x_sq = np.einsum("nd,nd->n", self.X, self.X)
        self.n_features = X.shape[1]
        self.codes = codes
        # mean over features of the variance: the centred data make it sum ||x||^2 / (N d)
        self.tol = tol * float(self.x_sq.sum()) / self.X.size

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

        return self.X[_greedy_plus_plus(try_rows, len(self.X), k, rng)]

    def lloyd(self, centers, max_iter):
        X = self.X
        n, k = len(X), len(centers)
        labels = np.full(n, -1, dtype=np.int64)  # -1: every label "changes" on the first pass
        best = np.empty(n)
        sums = np.empty_like(centers)
        counts = np.empty(k, dtype=np.int64)
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            if K.kmeans_lloyd_pass(X, self.x_sq, centers, labels, best, sums, counts) == 0:
                break  # same assignment as last time, whose means the centres already are
            _fill_empty_clusters(X, best, labels, sums, counts)
            new = sums / counts[:, None]
            shift = float(np.sum((new - centers) ** 2))
            centers = new
            if shift <= self.tol:
                # the centres moved after the last assignment: assign once more so that
                # labels_ and inertia_ belong to the centres we return
                K.kmeans_lloyd_pass(X, self.x_sq, centers, labels, best, sums, counts)
                break
        else:
            K.kmeans_lloyd_pass(X, self.x_sq, centers, labels, best, sums, counts)
        return centers, labels, K.squared_error(X, centers, labels), n_iter


class _HammingRuns:
    """Seeding and Lloyd iterations for the Hamming distance between codes.

    The centre of a cluster is the code that minimises the summed Hamming distance to its
    members: bit by bit, the value most members have (a majority vote; a tie gives 0).
    """

    def __init__(self, codes):
        self.codes = codes
        self.bits = codes.bits()
        self.n_features = codes.n_bits

    def public_centers(self, centers):
        return centers

    def seed_plus_plus(self, k, rng):
        def try_rows(rows, closest, out):
            np.minimum(hamming_distances(self.codes, self.codes[rows]), closest[:, None], out=out)
            return out.sum(axis=0)

        return self.codes[_greedy_plus_plus(try_rows, len(self.codes), k, rng)]

    def lloyd(self, centers, max_iter):
        codes, bits = self.codes, self.bits
        n, k = len(codes), len(centers)
        labels = np.full(n, -1, dtype=np.int64)
        best = np.empty(n, dtype=np.int64)
        ones = np.empty((k, bits.shape[1]), dtype=np.int64)
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
            K.cluster_sums(bits, labels, ones, counts)
            _fill_empty_clusters(bits, best, labels, ones, counts)
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
