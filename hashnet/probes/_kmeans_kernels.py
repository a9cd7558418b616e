"""The per-sample loops of K-Means, as Numba kernels with plain NumPy twins.

Squared Euclidean distances come from one matrix product: ||x - c||^2 = ||x||^2 - 2 x.c + ||c||^2,
and the x.c for all samples and centres is X @ C.T, which BLAS does at full speed. What is left
(pick the nearest centre, add each sample into its cluster's sum) is a cheap pass over the
samples, and the real cost of an iteration is *reading X from memory*. So the Euclidean kernels
walk X in blocks of CHUNK rows: BLAS multiplies a block by the centres, and the same block,
still in the CPU cache, is then assigned and summed. X is read from memory once per iteration
instead of two or three times.

Every kernel `name` has a twin `name_reference` in obvious NumPy; the tests check that the two
agree.
"""

from __future__ import annotations

import numpy as np

from hashnet.kernels._jit import kernel

CHUNK = 256  # rows per block: 256 x 100 float64 features = 200 KB, fits in the L2 cache


@kernel
def lloyd_pass(X, x_sq, centers, labels, best, sums, counts):
    """One assignment pass of Lloyd's algorithm, with the sums the centre update needs.

    For each row x_i of X (with x_sq[i] = ||x_i||^2): labels[i] = the nearest centre (ties go to
    the lowest index), best[i] = the squared distance to it. sums[k] / counts[k] become the sum
    and number of the rows labelled k, so the new centres are sums / counts. Returns how many
    labels changed, which tells Lloyd's loop when it has converged.
    """
    n, d = X.shape
    k = centers.shape[0]
    centers_t = np.ascontiguousarray(centers.T)
    c_sq = np.zeros(k)
    for j in range(k):
        for f in range(d):
            c_sq[j] += centers[j, f] * centers[j, f]
    xc = np.empty((CHUNK, k))
    sums[:] = 0
    counts[:] = 0
    changed = 0
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        block = xc[: stop - start]
        np.dot(X[start:stop], centers_t, block)  # BLAS: x.c for this block
        for i in range(start, stop):
            r = i - start
            # ||x||^2 is the same for every centre, so the nearest minimises ||c||^2 - 2 x.c
            arg = 0
            low = c_sq[0] - 2.0 * block[r, 0]
            for j in range(1, k):
                dist = c_sq[j] - 2.0 * block[r, j]
                if dist < low:
                    low = dist
                    arg = j
            if labels[i] != arg:
                changed += 1
                labels[i] = arg
            best[i] = max(x_sq[i] + low, 0.0)  # rounding can dip just below 0
            counts[arg] += 1
            for f in range(d):
                sums[arg, f] += X[i, f]
    return changed


def lloyd_pass_reference(X, x_sq, centers, labels, best, sums, counts):
    d = x_sq[:, None] - 2.0 * (X @ centers.T) + np.sum(centers**2, axis=1)[None, :]
    arg = np.argmin(d, axis=1)
    changed = int(np.count_nonzero(arg != labels))
    labels[:] = arg
    best[:] = np.maximum(d[np.arange(len(d)), arg], 0.0)
    cluster_sums_reference(X, labels, sums, counts)
    return changed


@kernel
def plus_plus_candidates(X, x_sq, rows, closest, out):
    """Try the samples `rows` as the next k-means++ centre.

    closest[i] is the squared distance of sample i to its nearest centre so far. Fills
    out[i, t] = min(closest[i], ||x_i - x_rows[t]||^2), sample i's distance once candidate t is
    added, and returns the totals out.sum(axis=0): the inertia each candidate would leave.
    """
    n, d = X.shape
    m = rows.shape[0]
    cand_t = np.ascontiguousarray(X[rows].T)
    xy = np.empty((CHUNK, m))
    totals = np.zeros(m)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        block = xy[: stop - start]
        np.dot(X[start:stop], cand_t, block)
        for i in range(start, stop):
            for t in range(m):
                dist = max(x_sq[i] - 2.0 * block[i - start, t] + x_sq[rows[t]], 0.0)
                dist = min(dist, closest[i])
                out[i, t] = dist
                totals[t] += dist
    return totals


def plus_plus_candidates_reference(X, x_sq, rows, closest, out):
    d = x_sq[:, None] - 2.0 * (X @ X[rows].T) + x_sq[rows][None, :]
    out[:] = np.minimum(np.maximum(d, 0.0), closest[:, None])
    return out.sum(axis=0)


@kernel
def nearest_from_distances(dist, labels, best):
    """Nearest centre from a full (N, K) distance matrix (used with Hamming distances).

    Same contract as lloyd_pass: labels[i] = argmin (ties to the lowest index), best[i] = the
    minimum; returns how many labels changed.
    """
    n, k = dist.shape
    changed = 0
    for i in range(n):
        arg = 0
        low = dist[i, 0]
        for j in range(1, k):
            if dist[i, j] < low:
                low = dist[i, j]
                arg = j
        if labels[i] != arg:
            changed += 1
            labels[i] = arg
        best[i] = low
    return changed


def nearest_from_distances_reference(dist, labels, best):
    arg = np.argmin(dist, axis=1)
    changed = int(np.count_nonzero(arg != labels))
    labels[:] = arg
    best[:] = dist[np.arange(len(dist)), arg]
    return changed


@kernel
def cluster_sums(X, labels, sums, counts):
    """sums[k] = sum of the rows of X labelled k, counts[k] = how many there are.

    For 0/1 code bits the sums count how many members have each bit set, which is all the
    majority vote of the Hamming centre update needs.
    """
    n, d = X.shape
    sums[:] = 0
    counts[:] = 0
    for i in range(n):
        k = labels[i]
        counts[k] += 1
        for f in range(d):
            sums[k, f] += X[i, f]


def cluster_sums_reference(X, labels, sums, counts):
    sums[:] = 0
    counts[:] = np.bincount(labels, minlength=len(counts))
    np.add.at(sums, labels, X)


@kernel
def squared_error(X, centers, labels):
    """sum_i ||x_i - c_{labels[i]}||^2, summed directly (no cancellation, unlike the expansion)."""
    n, d = X.shape
    # one running total per feature: the loop over features then has no chain of dependent
    # additions and vectorises (a single scalar total would wait on each add in turn)
    per_feature = np.zeros(d)
    for i in range(n):
        k = labels[i]
        for f in range(d):
            diff = X[i, f] - centers[k, f]
            per_feature[f] += diff * diff
    return per_feature.sum()


def squared_error_reference(X, centers, labels):
    return float(np.sum((X - centers[labels]) ** 2))
