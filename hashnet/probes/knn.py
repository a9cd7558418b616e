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
  through BLAS: ||q - t||^2 = ||q||^2 - 2 q.t + ||t||^2, one block of queries at a time.

Neighbours are always ordered by (distance, training index): among equally distant training
examples the one that comes first in the training set counts as nearer. That makes results
deterministic and lets the tests compare with a brute-force sort.
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import prange

from hashnet._validation import check_X, check_y
from hashnet.codes import Codes, hamming_knn
from hashnet.kernels._jit import parallel_kernel

_METRICS = ("hamming", "euclidean")
_BLOCK_BYTES = 64 * 2**20  # memory for one block of the (queries x training) distance matrix


class KNN:
    """k-nearest-neighbour classifier with a majority vote.

    Parameters
    ----------
    k : int, the number of neighbours that vote (1 <= k <= number of training examples)
    metric : "hamming" (X must be Codes) or "euclidean" (Codes or a 2D float array)

    Voting: each of the k nearest training examples gives one vote to its class. When several
    classes share the largest number of votes, the winner is the tied class whose member is
    nearest to the query (nearest in the (distance, training index) order above).

    Attributes after `fit`: `classes_` (the sorted distinct labels), `n_train_`.
    """

    def __init__(self, k=9, metric="hamming"):
        self.k = k
        self.metric = metric

    # --- fitting: a K-NN classifier just remembers the training set ---------------------------

    def fit(self, X, y):
        """Store the training examples and their labels; returns self."""
        if not isinstance(self.k, numbers.Integral) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if self.metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, got {self.metric!r}")
        X = self._check_input(X, n_bits=None, name="X")
        y = check_y(y, n_samples=len(X))
        if self.k > len(X):
            raise ValueError(f"k={self.k} is larger than the training set ({len(X)} examples)")
        # Labels may be any integers; internally they are positions 0..n_classes-1 in classes_.
        self.classes_, self._y_index = np.unique(y, return_inverse=True)
        self._X_train = X
        self.n_train_ = len(X)
        if not isinstance(X, Codes):
            self._sq_train = np.einsum("ij,ij->i", X, X)  # ||t||^2, reused by every query block
        return self

    def _check_input(self, X, n_bits, name):
        """Codes pass through (with a width check); arrays become float64 (euclidean only)."""
        if isinstance(X, Codes):
            if len(X) == 0:
                raise ValueError(f"{name} holds no codes; at least one example is needed")
            if n_bits is not None and X.n_bits != n_bits:
                raise ValueError(
                    f"{name} has codes of {X.n_bits} bits, but the training codes have "
                    f"{n_bits} bits; both must come from the same network"
                )
            return X
        if self.metric == "hamming":
            raise TypeError(
                f"metric='hamming' needs {name} to be hashnet Codes (from net.codes(X)), got "
                f"{type(X).__name__}; use metric='euclidean' for float features"
            )
        return check_X(X, n_features=n_bits, dtype=np.float64, name=name)

    def _check_fitted(self):
        if not hasattr(self, "_X_train"):
            raise RuntimeError("this KNN is not fitted yet; call fit(X, y) first")

    # --- the neighbour search --------------------------------------------------------------

    def kneighbors(self, X):
        """The k nearest training examples of each row of X.

        Returns (distances, indices), both (n_queries, k), each row ordered by
        (distance, training index). Hamming distances are int32 counts of differing bits;
        Euclidean distances are float64.
        """
        self._check_fitted()
        train = self._X_train
        width = train.n_bits if isinstance(train, Codes) else train.shape[1]
        X = self._check_input(X, n_bits=width, name="X")
        if isinstance(X, Codes) != isinstance(train, Codes):
            raise TypeError(
                "fit and kneighbors must both get Codes or both get float arrays, got "
                f"{type(train).__name__} and {type(X).__name__}"
            )
        if isinstance(X, Codes):
            indices, distances = hamming_knn(X, train, self.k)
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
        y = check_y(y)
        pred = self.predict(X)
        if len(pred) != len(y):
            raise ValueError(f"y has {len(y)} labels but X has {len(pred)} examples")
        return float(np.mean(pred == y))

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
    """Exact Euclidean k-NN of the rows of Q among the rows of T, blocked over queries.

    The (queries x training) matrix of squared distances comes from one BLAS product,
    d2 = ||q||^2 - 2 Q T^T + ||t||^2, for a block of queries at a time so that memory stays
    bounded. The ranking within a row does not need ||q||^2 (the same for the whole row), so
    the selection ranks by key = ||t||^2 - 2 q.t and ||q||^2 is added to the k returned.
    """
    n_q, n_t = len(Q), len(T)
    block = max(1, min(n_q, _BLOCK_BYTES // (8 * n_t)))
    distances = np.empty((n_q, k), dtype=np.float64)
    indices = np.empty((n_q, k), dtype=np.int64)
    products = np.empty((block, n_t), dtype=np.float64)
    sq_query = np.einsum("ij,ij->i", Q, Q)
    for start in range(0, n_q, block):
        stop = min(start + block, n_q)
        qt = products[: stop - start]
        np.dot(Q[start:stop], T.T, out=qt)
        _select_k_smallest(qt, sq_train, k, indices[start:stop], distances[start:stop])
    distances += sq_query[:, None]
    np.maximum(distances, 0.0, out=distances)  # rounding can dip just below 0
    return np.sqrt(distances, out=distances), indices


@parallel_kernel
def _select_k_smallest(qt, sq_train, k, out_index, out_key):
    """Per row i: the k smallest key_j = sq_train[j] - 2 qt[i, j], ordered by (key, j).

    Each row keeps a sorted list of its best k; most j are rejected by one comparison with the
    current k-th. Scanning j upwards and admitting only *strictly* smaller keys means that among
    equal keys the smaller index wins, so the answer is unique. `_k_smallest_reference` is the
    plain NumPy twin.
    """
    for i in prange(qt.shape[0]):
        best_key = np.full(k, np.inf)
        best_idx = np.full(k, -1, np.int64)
        for j in range(qt.shape[1]):
            key = sq_train[j] - 2.0 * qt[i, j]
            if key < best_key[k - 1]:
                pos = k - 1
                while pos > 0 and best_key[pos - 1] > key:
                    best_key[pos] = best_key[pos - 1]
                    best_idx[pos] = best_idx[pos - 1]
                    pos -= 1
                best_key[pos] = key
                best_idx[pos] = j
        out_index[i] = best_idx
        out_key[i] = best_key


def _k_smallest_reference(qt, sq_train, k):
    """NumPy twin of `_select_k_smallest`: returns (indices, keys), each (n, k).

    argpartition finds k smallest keys in linear time but, when several entries tie with the
    k-th key, picks among them arbitrarily; such rows are redone by hand: every key below the
    k-th, then the tied entries with the smallest indices.
    """
    key = sq_train - 2.0 * qt
    idx = np.argpartition(key, k - 1, axis=1)[:, :k]
    kth = np.take_along_axis(key, idx, axis=1).max(axis=1)
    for r in range(len(key)):
        below = np.flatnonzero(key[r] < kth[r])
        at = np.flatnonzero(key[r] == kth[r])[: k - len(below)]  # the smallest indices win
        idx[r] = np.concatenate([below, at])
    # Order by (key, index): sort by index, then a stable sort by key.
    idx.sort(axis=1)
    order = np.argsort(np.take_along_axis(key, idx, axis=1), axis=1, kind="stable")
    idx = np.take_along_axis(idx, order, axis=1)
    return idx, np.take_along_axis(key, idx, axis=1)
