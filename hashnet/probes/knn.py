"""K-nearest-neighbour classification of neural codes (the study's K-NN probe).

If a trained network behaves as a hash encoder, examples of the same class get codes that are
close in Hamming distance (the number of ReLU units on which two inputs disagree), so a
majority vote among the k training codes nearest to a test code should recover its class.

Two metrics:

- "hamming": X must be `Codes`; the search is `hashnet.codes.hamming_knn` (XOR + popcount on
  packed 64-bit words, blocked and parallel).
- "euclidean": X is a 2D float array, or `Codes` read as 0/1 vectors. For 0/1 vectors
  ||a - b||^2 = popcount(a XOR b), so on codes the Euclidean neighbours *are* the Hamming
  neighbours (distance sqrt(Hamming)); we use the fast Hamming search for them. Float arrays go
  through BLAS: ||q - t||^2 = ||q||^2 - 2 q.t + ||t||^2, one tile of the distance matrix at a
  time.

Neighbours are always ordered by (distance, training index): among equally distant training
examples the one that comes first in the training set counts as nearer. That makes results
deterministic and lets the tests compare with a brute-force sort.
"""

from __future__ import annotations

import numpy as np

from hashnet._validation import check_fitted, check_int, check_y
from hashnet.codes import Codes, hamming_knn
from hashnet.device import check_device
from hashnet.kernels import cpu
from hashnet.probes._inputs import check_input, n_columns
from hashnet.probes.metrics import accuracy

_METRICS = ("hamming", "euclidean")
# The (queries x training) products are computed one tile at a time: 512 x 8192 float64 is
# 32 MiB, big enough for an efficient BLAS product, small enough to stay in a large cache.
_QUERY_BLOCK = 512
_TRAIN_BLOCK = 8192


class KNN:
    """k-nearest-neighbour classifier with a majority vote.

    Parameters
    ----------
    k : int, the number of neighbours that vote (1 <= k <= number of training examples)
    metric : "hamming" (X must be Codes) or "euclidean" (Codes or a 2D float array)
    device : "cpu" or "cuda": where the search over Codes runs (the GPU gives the same
        neighbours); the Euclidean search over float arrays always runs on the CPU

    Voting: each of the k nearest training examples gives one vote to its class. When several
    classes share the largest number of votes, the winner is the tied class whose member is
    nearest to the query (nearest in the (distance, training index) order above).

    Attributes after `fit`: `classes_` (the sorted distinct labels), `n_train_`.
    """

    def __init__(self, k=9, metric="hamming", device="cpu"):
        self.k = k
        self.metric = metric
        self.device = device

    # --- fitting: a K-NN classifier just remembers the training set ---------------------------

    def fit(self, X, y):
        """Store the training examples and their labels; returns self."""
        check_int(self.k, "k", 1)
        if self.metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, got {self.metric!r}")
        check_device(self.device)
        X = check_input(X, codes_only=self.metric == "hamming")
        y = check_y(y, n_samples=len(X))
        if self.k > len(X):
            raise ValueError(f"k={self.k} is larger than the training set ({len(X)} examples)")
        # Labels may be any integers; internally they are positions 0..n_classes-1 in classes_.
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        self._X_train = X
        self.n_train_ = len(X)
        if not isinstance(X, Codes):
            self._sq_train = np.einsum("ij,ij->i", X, X)  # ||t||^2, reused by every tile
        return self

    def _check_fitted(self):
        check_fitted(self, "_X_train")

    # --- the neighbour search --------------------------------------------------------------

    def kneighbors(self, X):
        """The k nearest training examples of each row of X.

        Returns (distances, indices), both (n_queries, k), each row ordered by
        (distance, training index). Hamming distances are int32 counts of differing bits;
        Euclidean distances are float64.
        """
        self._check_fitted()
        train = self._X_train
        width = n_columns(train)
        X = check_input(X, width, codes_only=self.metric == "hamming")
        if isinstance(X, Codes) != isinstance(train, Codes):
            raise TypeError(
                "fit and kneighbors must both get Codes or both get float arrays, got "
                f"{type(train).__name__} and {type(X).__name__}"
            )
        if isinstance(X, Codes):
            indices, distances = hamming_knn(X, train, self.k, device=self.device)
            if self.metric == "euclidean":  # ||a - b|| = sqrt(Hamming(a, b)) for 0/1 vectors
                distances = np.sqrt(distances.astype(np.float64))
            return distances, indices
        return _euclidean_knn(X, train, self._sq_train, self.k)

    # --- voting ----------------------------------------------------------------------------

    def predict_proba(self, X):
        """Fraction of the k votes each class gets, (n_queries, n_classes) in classes_ order."""
        return self._votes(X)[0] / self.k

    def predict(self, X):
        """The majority class among the k nearest neighbours (ties: see the class docstring)."""
        votes, neighbour_class = self._votes(X)
        best = votes.max(axis=1, keepdims=True)
        tied = votes == best  # (n, n_classes): the classes that share the top vote count
        # Walk each row's neighbours from nearest to farthest and stop at the first one whose
        # class is among the tied: argmax returns the first True.
        rows = np.arange(len(votes))[:, None]
        first = np.argmax(tied[rows, neighbour_class], axis=1)
        return self.classes_[neighbour_class[np.arange(len(votes)), first]]

    def score(self, X, y):
        """Accuracy: the fraction of X whose predicted label equals y."""
        return accuracy(y, self.predict(X))

    def _votes(self, X):
        """Vote counts (n, n_classes) and the class index of each neighbour (n, k)."""
        _, indices = self.kneighbors(X)
        neighbour_class = self._y_index[indices]
        n, n_classes = len(indices), len(self.classes_)
        # One bincount over (row, class) pairs counts all votes at once.
        flat = (np.arange(n)[:, None] * n_classes + neighbour_class).ravel()
        votes = np.bincount(flat, minlength=n * n_classes).reshape(n, n_classes)
        return votes, neighbour_class


def _euclidean_knn(Q, T, sq_train, k):
    """Exact Euclidean k-NN of the rows of Q among the rows of T, one tile at a time.

    Squared distances come from one BLAS product per tile, d2 = ||q||^2 - 2 q.t + ||t||^2.
    Within a query's row ||q||^2 is a constant, so the search ranks by key = ||t||^2 - 2 q.t and
    adds ||q||^2 only to the k keys it returns. Tiles of training rows are visited in order,
    each query keeping its best k so far, so memory stays bounded for any data size.
    """
    n_q, n_t = len(Q), len(T)
    best_key = np.full((n_q, k), np.inf)
    best_index = np.full((n_q, k), -1, dtype=np.int64)
    q_block, t_block = min(n_q, _QUERY_BLOCK), min(n_t, _TRAIN_BLOCK)
    buffer = np.empty(q_block * t_block)
    for q0 in range(0, n_q, q_block):
        queries = Q[q0 : q0 + q_block]
        for t0 in range(0, n_t, t_block):
            train = T[t0 : t0 + t_block]
            qt = buffer[: len(queries) * len(train)].reshape(len(queries), len(train))
            np.dot(queries, train.T, out=qt)
            cpu.merge_k_smallest(
                qt,
                sq_train[t0 : t0 + t_block],
                t0,
                best_index[q0 : q0 + q_block],
                best_key[q0 : q0 + q_block],
            )
    best_key += np.einsum("ij,ij->i", Q, Q)[:, None]
    np.maximum(best_key, 0.0, out=best_key)  # rounding can dip just below 0
    return np.sqrt(best_key, out=best_key), best_index
