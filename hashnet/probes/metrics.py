"""How well a clustering agrees with the true classes.

A clustering names its groups 0..K-1 in an arbitrary order, so "accuracy" needs a rule that
turns each cluster into a class first. Both rules below start from the contingency matrix
C[c, k] = number of samples of class c that fell in cluster k.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from hashnet._validation import check_y

MAPPINGS = ("majority", "hungarian")


def accuracy(y, predicted):
    """The fraction of examples whose predicted label equals the true label y."""
    y, predicted = check_y(y, name="y"), np.asarray(predicted)
    if predicted.shape != y.shape:
        raise ValueError(f"y has {len(y)} labels but there are {len(predicted)} predictions")
    return float(np.mean(predicted == y))


def contingency_matrix(y, labels):
    """C[c, k] = how many samples have true class c and cluster k, as an int64 matrix.

    Rows follow the sorted distinct values of `y`, columns the sorted distinct values of
    `labels` (any integers, e.g. -1 for "noise", are fine).
    """
    y, labels = _check_pair(y, labels)
    classes, y_idx = np.unique(y, return_inverse=True)
    clusters, k_idx = np.unique(labels, return_inverse=True)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (y_idx.ravel(), k_idx.ravel()), 1)
    return table


def cluster_accuracy(y, labels, mapping="majority"):
    """Fraction of samples whose cluster, mapped to a class, is their true class.

    mapping="majority" (the K-Means accuracy of He et al.): every cluster votes for the class
        most of its members have, and all its members get that class. Several clusters may
        vote for the same class, so this asks "is each cluster pure?". It equals
        sum_k max_c C[c, k] / N.
    mapping="hungarian": clusters and classes are paired one to one, choosing the pairing
        with the most matches (the Hungarian algorithm, `scipy.optimize.linear_sum_assignment`
        on C). Samples in a cluster left without a class (when there are more clusters than
        classes) count as wrong. This asks "is there one cluster per class?".

    The one-to-one pairing is one of the choices the majority rule may make, and the majority
    rule picks the best class for each cluster independently, so majority >= hungarian always.
    They are equal when the clusters already point to distinct classes; they differ when two
    clusters are dominated by the same class (e.g. K-Means splits one class in two and merges
    two others).
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"unknown mapping {mapping!r}; expected one of {MAPPINGS}")
    table = contingency_matrix(y, labels)
    n = table.sum()
    if mapping == "majority":
        return float(table.max(axis=0).sum() / n)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / n)


def _check_pair(y, labels):
    y_arr, l_arr = np.asarray(y), np.asarray(labels)
    if y_arr.ndim == 1 and l_arr.ndim == 1 and len(y_arr) != len(l_arr):
        raise ValueError(
            f"y has {len(y_arr)} labels but labels has {len(l_arr)}; they must match one to one"
        )
    return check_y(y_arr, name="y"), check_y(l_arr, name="labels")
