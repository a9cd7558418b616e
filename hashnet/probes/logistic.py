"""L2-regularised logistic regression on neural codes (the study's linear probe).

If a network's codes are a good hash of the classes, a *linear* classifier on the code bits
should already classify well. The model is softmax regression: for an example x (a row of
0/1 code bits, or any float features) with K classes,

    z = x W + b,    p(class c | x) = exp(z_c) / sum_j exp(z_j),

fitted by minimising the penalised cross-entropy (scikit-learn's convention for C, so results
are comparable with sklearn.linear_model.LogisticRegression(C=C))

    J(W, b) = sum_i CE_i + ||W||^2 / (2C),    CE_i = logsumexp(z_i) - z_i[y_i].

The intercept b is not penalised. We hand L-BFGS J / n (the same minimiser; the gradient
tolerance then does not depend on the number of examples) with its analytic gradient:

    dCE_i/dz_i = p_i - onehot(y_i)   =>   dJ/dW = X^T (P - Y) + W / C,   dJ/db = sum_i (p_i - y_i).

`multi_class="ovo"` is the study's one-vs-one setting: one binary logistic regression for every
pair of classes, trained on the examples of those two classes only, then a vote.

The data term needs two products, X W (the logits) and X^T dZ (the gradient); everything
between them (softmax, cross-entropy, dZ) is the same code for every input. For float features
the products are BLAS calls. For Codes they are lookup tables over the bytes of the packed
codes (`_codes_times`, `_codes_transposed_times`), which read 1 byte per 8 features instead of
64 bytes and never unpack the bits: memory grows with the number of examples times the number
of classes (the logits), never with examples times bits. A VGG-16 code of ~280 000 bits would
be 2.2 MB per image as float64; packed it is 35 kB.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from hashnet._validation import check_fitted, check_int, check_y
from hashnet.codes import Codes
from hashnet.kernels import cpu
from hashnet.probes._inputs import check_input, n_columns
from hashnet.probes.metrics import accuracy

_MULTI_CLASS = ("multinomial", "ovo")


class LogisticRegression:
    """Multinomial (softmax) or one-vs-one logistic regression with an L2 penalty.

    Parameters
    ----------
    C : float > 0, inverse penalty strength: J = sum_i CE_i + ||W||^2 / (2C)
    max_iter : int, the most L-BFGS iterations (per binary problem for "ovo")
    tol : float, stop when every gradient component of J / n is at most tol in size (1e-4,
        as scikit-learn; smaller for a more exact optimum at the cost of more iterations)
    multi_class : "multinomial" (one softmax over all classes) or "ovo" (one vs one)
    fit_intercept : bool, learn an unpenalised bias b

    Attributes after `fit`: `classes_` (the sorted labels), `coef_`, `intercept_`, `n_iter_`.
    "multinomial": coef_ is (K, n_features) (row c holds the weights of class c), intercept_
    (K,), n_iter_ an int. "ovo": one row per pair of classes in `pairs_` (positions (a, b) in
    classes_, a < b; a positive score votes for b), n_iter_ (n_pairs,).

    X may be `Codes` (their 0/1 bits are the features) or a 2D float array.
    """

    def __init__(
        self, C=1.0, max_iter=500, tol=1e-4, multi_class="multinomial", fit_intercept=True
    ):
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.multi_class = multi_class
        self.fit_intercept = fit_intercept

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the model to features X and integer labels y (any integers); returns self."""
        self._check_params()
        X = check_input(X)  # Codes stay packed: the objective reads their bytes
        y = check_y(y, n_samples=len(X))
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"logistic regression needs at least 2 classes in y, got only {self.classes_}"
            )
        self.n_features_in_ = n_columns(X)
        if self.multi_class == "multinomial":
            W, b, self.n_iter_ = self._solve(X, y_index, len(self.classes_))
            self.coef_, self.intercept_ = np.ascontiguousarray(W.T), b
        else:
            self._fit_ovo(X, y_index)
        return self

    def _check_params(self):
        C = self.C
        if not isinstance(C, numbers.Real) or isinstance(C, bool) or not np.isfinite(C) or C <= 0:
            raise ValueError(f"C must be a positive finite number, got {C!r}")
        if self.multi_class not in _MULTI_CLASS:
            raise ValueError(f"multi_class must be one of {_MULTI_CLASS}, got {self.multi_class!r}")
        check_int(self.max_iter, "max_iter", 1)
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a number >= 0, got {self.tol!r}")

    def _fit_ovo(self, X, y_index):
        """One binary problem per pair (a, b): class b is the positive class (target 1)."""
        n_classes = len(self.classes_)
        pairs = [(a, b) for a in range(n_classes) for b in range(a + 1, n_classes)]
        coef = np.empty((len(pairs), n_columns(X)))
        intercept = np.empty(len(pairs))
        n_iter = np.empty(len(pairs), dtype=np.int64)
        for p, (a, b) in enumerate(pairs):
            rows = np.flatnonzero((y_index == a) | (y_index == b))
            target = (y_index[rows] == b).astype(np.int64)
            W, c, n_iter[p] = self._solve(X[rows], target, None)
            coef[p], intercept[p] = W[:, 0], c[0]
        self.pairs_ = np.array(pairs, dtype=np.int64)
        self.coef_, self.intercept_, self.n_iter_ = coef, intercept, n_iter

    def _solve(self, X, target, n_classes):
        """Minimise J / n with L-BFGS; returns (W, b, iterations).

        n_classes=None means the binary problem (target in {0, 1}, W one column).

        With an intercept, the solver works with centred features, z = (x - mean) W + b': the
        problem is better conditioned (b' no longer has to make up for the mean of the inputs;
        on Fashion-MNIST codes L-BFGS needs ~500 steps instead of ~2600), and it is the same
        problem: b is not penalised, so b = b' - mean W is a mere change of variable, undone at
        the end.
        """
        d = n_columns(X)
        mean = _column_means(X) if self.fit_intercept else None
        binary = n_classes is None
        width = 1 if binary else n_classes
        w0 = np.zeros((d + self.fit_intercept) * width)
        result = minimize(
            _loss_and_grad,
            w0,
            args=(X, target, float(self.C), self.fit_intercept, mean, binary),
            method="L-BFGS-B",
            jac=True,
            options={"maxiter": self.max_iter, "gtol": self.tol, "ftol": 64 * np.finfo(float).eps},
        )
        if result.status == 1:  # the iteration limit, not convergence
            warnings.warn(
                f"L-BFGS stopped after max_iter={self.max_iter} iterations before reaching "
                f"tol={self.tol}; raise max_iter for a more exact fit",
                RuntimeWarning,
                stacklevel=3,
            )
        W, b = _unpack(result.x, d, width, self.fit_intercept)
        if self.fit_intercept:
            b = b - mean @ W
        return W, b, int(result.nit)

    # --- prediction ------------------------------------------------------------------------

    def decision_function(self, X):
        """Scores (n, K), larger means more likely; predict takes the argmax.

        "multinomial": the logits z = x W + b. "ovo": the number of pairwise votes of each
        class plus its summed pairwise confidence squashed into (-1/3, 1/3), so that it only
        breaks ties between classes with equal votes (scikit-learn's OneVsOneClassifier rule).
        """
        scores = self._scores(X)
        if self.multi_class == "multinomial":
            return scores
        votes, confidence = self._ovo_votes(scores)
        return votes + confidence / (3.0 * (np.abs(confidence) + 1.0))

    def _ovo_votes(self, scores):
        """Votes and summed confidences (n, K) from the pairwise scores (n, n_pairs)."""
        a, b = self.pairs_[:, 0], self.pairs_[:, 1]
        n_classes = len(self.classes_)
        wins_b = (scores > 0).astype(np.float64)
        # Each class appears in several pairs: summing over pairs is a product with a 0/+-1
        # incidence matrix (n_pairs, K).
        to_b = np.zeros((len(a), n_classes))
        to_a = np.zeros((len(a), n_classes))
        to_b[np.arange(len(a)), b] = 1.0
        to_a[np.arange(len(a)), a] = 1.0
        votes = wins_b @ to_b + (1.0 - wins_b) @ to_a
        confidence = scores @ (to_b - to_a)
        return votes, confidence

    def predict_proba(self, X):
        """Class probabilities (n, K) in classes_ order.

        "multinomial": the softmax of the logits. "ovo": each class's share of the pairwise
        votes (a vote fraction, not a calibrated probability).
        """
        if self.multi_class == "multinomial":
            scores = self.decision_function(X)
            proba = np.empty_like(scores)
            cpu.softmax(scores, proba)
            return proba
        votes, _ = self._ovo_votes(self._scores(X))
        return votes / len(self.pairs_)

    def predict(self, X):
        """The most likely class label for each row of X."""
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y):
        """Accuracy: the fraction of X whose predicted label equals y."""
        return accuracy(y, self.predict(X))

    def _scores(self, X):
        """x W + b for every row of X: the logits, or the pairwise scores of "ovo"."""
        check_fitted(self, "coef_")
        X = check_input(X, self.n_features_in_)
        scores = _times(X, self.coef_.T)
        scores += self.intercept_
        return scores


# --- the objective and its gradient --------------------------------------------------------


def _unpack(w, n_features, width, fit_intercept):
    """Split the flat parameter vector into W (d, width) and b (width,)."""
    W = w[: n_features * width].reshape(n_features, width)
    b = w[n_features * width :] if fit_intercept else np.zeros(width)
    return W, b


def _loss_and_grad(w, X, y, C, fit_intercept, center=None, binary=False):
    """The objective J / n and its gradient, for a flat parameter vector w = [W.ravel(), b].

    X: (n, d) float64 array or Codes with d bits. W is (d, K) (row-major in w), b (K,).
    multinomial (binary=False): y (n,) int64 class indices in [0, K), K = len(w) // (d + 1)
    (or // d without intercept), J = sum_i [logsumexp(z_i) - z_i[y_i]] + ||W||^2 / (2C).
    binary=True: K = 1, y (n,) holds 0/1 targets t, J = sum_i [log(1 + e^z_i) - t_i z_i] + ...
    In both, z = (x - center) W + b, with `center` (d,) or None (zero). The centring is done
    without forming X - center: (X - center) W = X W - center W, and
    (X - center)^T dZ = X^T dZ - center (sum_i dZ_i)^T.
    """
    n, d = len(X), n_columns(X)
    width = 1 if binary else len(w) // (d + fit_intercept)
    W, b = _unpack(w, d, width, fit_intercept)
    shift = b if center is None else b - center @ W  # the same for every row: one bias
    mean_ce, gW, gb = _data_term(X, W, shift, y, binary)
    if center is not None:
        gW -= np.outer(center, gb)
    scale = 1.0 / (C * n)
    gW += scale * W
    loss = mean_ce + 0.5 * scale * np.dot(W.ravel(), W.ravel())
    grad = np.concatenate([gW.ravel(), gb]) if fit_intercept else gW.ravel()
    return loss, grad


def _data_term(X, W, shift, y, binary):
    """Mean cross-entropy, X^T dZ and sum_i dZ_i, with dZ = d(mean CE)/dZ.

    Multinomial: the fused kernel `softmax_xent` computes the mean cross-entropy with the
    max-shifted log-sum-exp (no overflow) and dZ = (P - onehot(y)) / n in one pass.
    Binary: CE_i = log(1 + e^z_i) - t_i z_i = (1 - t_i) z_i - log sigma(z_i), with log sigma
    from scipy's overflow-free log_expit, and dCE_i/dz_i = sigma(z_i) - t_i.
    The two products with X go through `_times` and `_transposed_times`, which know how to
    read Codes without unpacking them.
    """
    n = len(X)
    Z = _times(X, W)
    Z += shift
    if binary:
        z, t = Z[:, 0], y.astype(np.float64)
        mean_ce = (np.dot(1.0 - t, z) - np.sum(log_expit(z))) / n
        dZ = expit(Z)
        dZ[:, 0] -= t
        dZ /= n
    else:
        dZ = np.empty_like(Z)
        mean_ce, _ = cpu.softmax_xent(Z, y, dZ)
    return mean_ce, _transposed_times(X, dZ), dZ.sum(axis=0)


def _times(X, W):
    """X W, (n, width): BLAS for a float array, byte tables for Codes."""
    return _codes_times(X, W) if isinstance(X, Codes) else X @ W


def _transposed_times(X, dZ):
    """X^T dZ, (n_features, width): BLAS for a float array, byte histograms for Codes."""
    return _codes_transposed_times(X, dZ) if isinstance(X, Codes) else X.T @ dZ


def _column_means(X):
    """The mean of each feature over the rows of X (for Codes, the fraction of codes with
    each bit set; X^T 1 counts them exactly, and no (n, n_bits) array is formed)."""
    if not isinstance(X, Codes):
        return X.mean(axis=0)
    counts = _codes_transposed_times(X, np.ones((len(X), 1)))
    return counts[:, 0] / len(X)


# --- products with Codes: lookup tables over bytes -------------------------------------------
#
# A code is a sequence of bytes; byte p of example i selects bits 8p .. 8p+7 of x_i, so
#
#     x_i W = sum_p T_p[byte_ip],   T_p[v] = sum of the rows of W at the bits set in v,
#
# 1 lookup and `width` additions per byte instead of 8 * width multiply-adds on the unpacked
# bits. The transposed product goes the same way backwards: the histogram
# H_p[v] = sum of dZ_i over the examples whose byte p equals v gives
# (X^T dZ)[8p + j] = sum of H_p[v] over the v whose bit j is set.
#
# The tables and histograms take 256 * width floats per byte position: for a VGG code
# (~35 000 bytes) and 10 classes that would be 700 MB each, so they are built for a block of
# byte positions at a time, small enough to stay in the CPU's L2 cache (which also makes the
# random lookups fast), and the logits are summed block by block. Memory: the logits (n, width)
# and one block of tables, whatever the number of bits.

# Bytes of lookup table (or histogram) per block of byte positions: 2 MiB, an L2 cache.
_TABLE_BYTES = 2 * 2**20

# _BYTE_BITS[v, j] = bit j of the byte value v (least significant first, as in Codes).
_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(np.float64)


def _code_bytes(codes):
    """(n, ceil(n_bits / 8)) uint8: byte p holds bits 8p .. 8p+7, least significant first.

    That is the byte order of little-endian 64-bit words, so this is a view of the words on
    a little-endian machine (a byte-swapped copy of the packed words elsewhere).
    """
    n_bytes = (codes.n_bits + 7) // 8
    return codes.words.astype("<u8", copy=False).view(np.uint8)[:, :n_bytes]


def _byte_blocks(n_bytes, width):
    """(start, stop) ranges of byte positions whose tables take about _TABLE_BYTES."""
    per_block = max(1, _TABLE_BYTES // (256 * width * 8))
    return [(p, min(p + per_block, n_bytes)) for p in range(0, n_bytes, per_block)]


def _weight_bytes(W, start, stop):
    """Rows 8 start .. 8 stop of W, as (stop - start, 8, width); rows past the last bit
    (the spare bits of the last byte) are zero."""
    rows = W[8 * start : 8 * stop]
    if len(rows) < 8 * (stop - start):
        rows = np.concatenate([rows, np.zeros((8 * (stop - start) - len(rows), W.shape[1]))])
    return rows.reshape(stop - start, 8, W.shape[1])


def _codes_times(codes, W):
    """X W for the 0/1 matrix X packed in `codes` and W (n_bits, width), by byte tables."""
    code_bytes = _code_bytes(codes)
    width = W.shape[1]
    out = np.zeros((len(codes), width))
    for start, stop in _byte_blocks(code_bytes.shape[1], width):
        rows = _weight_bytes(W, start, stop)
        # T[v] for all 256 byte values by doubling: the values below 2^j are done, and
        # setting bit j adds row j, so T[2^j + v] = T[v] + row_j for v < 2^j.
        tables = np.empty((stop - start, 256, width))
        tables[:, 0] = 0.0
        for j in range(8):
            tables[:, 2**j : 2 ** (j + 1)] = tables[:, : 2**j] + rows[:, j, None, :]
        cpu.table_lookup_sum(code_bytes[:, start:stop], tables, out)
    return out


def _codes_transposed_times(codes, dZ):
    """X^T dZ for the 0/1 matrix X packed in `codes` and dZ (n, width), by byte histograms."""
    code_bytes = _code_bytes(codes)
    width = dZ.shape[1]
    out = np.empty((8 * code_bytes.shape[1], width))
    for start, stop in _byte_blocks(code_bytes.shape[1], width):
        hist = np.zeros((stop - start, 256, width))
        cpu.table_histogram(code_bytes[:, start:stop], dZ, hist)
        out[8 * start : 8 * stop] = (_BYTE_BITS.T @ hist).reshape(-1, width)
    return out[: codes.n_bits]
