"""Logistic-regression probe: the gradient, the optimum, one-vs-one, Codes input, errors."""

import warnings

import numpy as np
import pytest
from _tolerance import assert_close, default_rtol
from scipy.optimize import minimize

from hashnet.codes import Codes
from hashnet.probes.logistic import LogisticRegression, _loss_and_grad


def objective(model, X, y):
    """J = sum_i CE_i + ||W||^2 / (2C) of a fitted multinomial model, computed from scratch."""
    Z = X @ model.coef_.T + model.intercept_
    top = Z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(Z - top).sum(axis=1)) + top[:, 0]
    label_pos = np.searchsorted(model.classes_, y)
    ce = lse - Z[np.arange(len(y)), label_pos]
    return ce.sum() + (model.coef_**2).sum() / (2 * model.C)


def blobs(rng, n, n_features, n_classes, spread=1.0):
    centres = rng.normal(scale=3.0, size=(n_classes, n_features))
    y = rng.integers(0, n_classes, n)
    return centres[y] + spread * rng.normal(size=(n, n_features)), y


def central_differences(f, w, h=1e-6):
    grad = np.empty_like(w)
    for i in range(len(w)):
        e = np.zeros_like(w)
        e[i] = h
        grad[i] = (f(w + e) - f(w - e)) / (2 * h)
    return grad


# --- the objective and its gradient -----------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("centred", [False, True])
def test_gradient_matches_finite_differences(fit_intercept, centred):
    rng = np.random.default_rng(int(fit_intercept) + 2 * int(centred))
    X = rng.normal(size=(40, 6))
    y = rng.integers(0, 4, 40)
    centre = X.mean(axis=0) if centred else None
    w = rng.normal(size=(6 + fit_intercept) * 4)
    loss, grad = _loss_and_grad(w, X, y, 0.3, fit_intercept, centre)
    numeric = central_differences(
        lambda v: _loss_and_grad(v, X, y, 0.3, fit_intercept, centre)[0], w
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)
    # The value itself: J / n with J = sum CE + ||W||^2 / (2C), from a direct formula.
    W = w[:24].reshape(6, 4)
    Z = (X - (0 if centre is None else centre)) @ W + (w[24:] if fit_intercept else 0)
    lse, z_label = np.log(np.exp(Z).sum(axis=1)), Z[np.arange(40), y]
    penalty = (W**2).sum() / 0.6
    # CE_i = lse_i - z_label_i cancels where the label's logit dominates
    size = (np.abs(lse).sum() + np.abs(z_label).sum() + penalty) / 40
    assert_close(loss, ((lse - z_label).sum() + penalty) / 40, scale=size)

    t = y % 2
    wb = rng.normal(size=6 + fit_intercept)
    _, grad_b = _loss_and_grad(wb, X, t, 0.3, fit_intercept, centre, binary=True)
    numeric_b = central_differences(
        lambda v: _loss_and_grad(v, X, t, 0.3, fit_intercept, centre, binary=True)[0], wb
    )
    np.testing.assert_allclose(grad_b, numeric_b, rtol=1e-6, atol=1e-8)


def test_loss_is_stable_for_huge_logits():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    w = np.array([1000.0, -1000.0, -1000.0, 1000.0])  # W (2, 2), no intercept
    loss, grad = _loss_and_grad(w, X, np.array([1, 1]), 1.0, False)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    loss_b, grad_b = _loss_and_grad(
        np.array([800.0, -800.0]), X, np.array([0, 1]), 1.0, False, binary=True
    )
    assert np.isfinite(loss_b) and np.all(np.isfinite(grad_b))
    # CE = 800 for both rows; the penalty is ||w||^2 / (2C) = 800^2; J / n with n = 2.
    assert loss_b == pytest.approx((800 + 800 + 800**2) / 2, rel=1e-12)


@pytest.mark.parametrize("n_bits", [7, 64, 130])
@pytest.mark.parametrize("binary", [False, True])
def test_code_tables_match_dense_products(n_bits, binary):
    # Codes are evaluated through byte lookup tables, floats through BLAS: same numbers.
    # 5000 rows: several chunks of rows (and so several histograms) in the kernel.
    rng = np.random.default_rng(n_bits + binary)
    bits = (rng.random((5000, n_bits)) < 0.3).astype(np.uint8)
    codes, X = Codes.from_bits(bits), bits.astype(np.float64)
    n_classes = 1 if binary else 5
    y = rng.integers(0, 2 if binary else n_classes, 5000)
    for fit_intercept in (True, False):
        for centre in (None, X.mean(axis=0)):
            w = rng.normal(size=(n_bits + fit_intercept) * n_classes)
            args = (y, 0.5, fit_intercept, centre, binary)
            loss_t, grad_t = _loss_and_grad(w, codes, *args)
            loss_d, grad_d = _loss_and_grad(w, X, *args)
            loss_size, grad_size = objective_magnitudes(X, centre, w, 0.5, fit_intercept)
            # sums over 5000 rows, accumulated in different orders: rounding grows like sqrt(n)
            rtol = default_rtol(np.float64) * np.sqrt(len(X))
            assert_close(loss_t, loss_d, scale=loss_size, rtol=rtol)
            assert_close(grad_t, grad_d, scale=grad_size, rtol=rtol)
    # Huge logits stay finite in the table kernel too.
    loss, grad = _loss_and_grad(w * 1e4, codes, *args)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))


def objective_magnitudes(X, centre, w, C, fit_intercept):
    """Sizes of the numbers _loss_and_grad's value and gradient are computed from.

    z = X W + (b - centre W) sums terms of at most (|X| + |centre|) |W| + |b|; each CE_i is
    a difference of numbers up to about 2 max|z_i| (plus log K). Every entry of dZ is at most
    1 / n in size, so an entry of X^T dZ - centre (sum dZ) + W / (C n) sums terms of at most
    (sum_i |x_ij| + n |centre_j|) / n + |W_jk| / (C n), and the intercept's sum dZ at most 1.
    """
    n, d = X.shape
    k = len(w) // (d + fit_intercept)
    W, b = w[: d * k].reshape(d, k), np.abs(w[d * k :])
    c = np.zeros(d) if centre is None else np.abs(centre)
    penalty = (W**2).sum() / (2 * C * n)
    z_size = (np.abs(X) + c) @ np.abs(W) + (b if fit_intercept else 0)
    loss_size = np.mean(2 * z_size.max(axis=1)) + np.log(max(k, 2)) + penalty
    column = (np.abs(X).sum(axis=0) + n * c) / n
    grad_W = column[:, None] + np.abs(W) / (C * n)
    grad_size = np.concatenate([grad_W.ravel(), np.ones(k if fit_intercept else 0)])
    return loss_size, grad_size


# --- the fit reaches the optimum --------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_fit_matches_a_generic_minimiser(fit_intercept):
    rng = np.random.default_rng(7)
    X, y = blobs(rng, 80, 3, 3, spread=2.0)
    X += 4.0  # off-centre inputs: the intercept has work to do
    y = np.array([10, 20, 30])[y]
    model = LogisticRegression(C=0.5, fit_intercept=fit_intercept, tol=1e-8).fit(X, y)
    # The same objective minimised by BFGS with finite-difference gradients.
    y_index = np.searchsorted(model.classes_, y)

    def J(v):
        return _loss_and_grad(v, X, y_index, 0.5, fit_intercept)[0]

    ref = minimize(J, np.zeros((3 + fit_intercept) * 3), method="BFGS", options={"gtol": 1e-9})
    W = ref.x[:9].reshape(3, 3).T
    np.testing.assert_allclose(model.coef_, W, atol=2e-4)
    if fit_intercept:
        np.testing.assert_allclose(model.intercept_, ref.x[9:], atol=2e-4)
    else:
        np.testing.assert_array_equal(model.intercept_, 0.0)
    assert objective(model, X, y) <= ref.fun * len(X) * (1 + 1e-9)
    # At the optimum the analytic gradient (original variables, no centring) vanishes.
    w = np.concatenate([model.coef_.T.ravel(), model.intercept_ if fit_intercept else []])
    assert np.abs(_loss_and_grad(w, X, y_index, 0.5, fit_intercept)[1]).max() < 1e-5


def test_separable_data_is_separated():
    rng = np.random.default_rng(0)
    X, y = blobs(rng, 300, 5, 4, spread=0.3)
    model = LogisticRegression(C=10.0, tol=1e-8).fit(X, y)
    assert model.score(X, y) == 1.0
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(X))
    assert model.decision_function(X).shape == (300, 4)


def test_matches_sklearn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(2)
    X, y = blobs(rng, 600, 20, 4, spread=4.0)  # overlapping classes
    ours = LogisticRegression(C=0.8, tol=1e-8).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's FutureWarnings about its options
        ref = linear_model.LogisticRegression(C=0.8, tol=1e-10, max_iter=10000).fit(X, y)
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.98
    assert objective(ours, X, y) == pytest.approx(objective(ref, X, y), rel=1e-4)
    assert objective(ours, X, y) <= objective(ref, X, y) * (1 + 1e-7)


# --- one vs one -------------------------------------------------------------------------------


def test_ovo_fits_each_pair_on_its_two_classes():
    rng = np.random.default_rng(4)
    X, y = blobs(rng, 240, 4, 4, spread=2.5)
    y = np.array([-1, 3, 8, 9])[y]
    model = LogisticRegression(C=2.0, multi_class="ovo", tol=1e-8).fit(X, y)
    assert model.coef_.shape == (6, 4) and model.intercept_.shape == (6,)
    assert model.n_iter_.shape == (6,)
    for p, (a, b) in enumerate(model.pairs_):
        rows = np.isin(y, model.classes_[[a, b]])
        t = (y[rows] == model.classes_[b]).astype(np.int64)
        w = np.concatenate([model.coef_[p], [model.intercept_[p]]])
        # The pair's own optimum: zero gradient on its two classes (and not on all of X).
        grad = _loss_and_grad(w, X[rows], t, 2.0, True, binary=True)[1]
        assert np.abs(grad).max() < 1e-5
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    votes = proba * 6
    assert_close(votes, np.round(votes))  # whole votes, 0 included
    pred = model.predict(X)
    top = votes.max(axis=1, keepdims=True)
    assert np.all(votes[np.arange(len(X)), np.searchsorted(model.classes_, pred)] == top[:, 0])
    assert model.score(X, y) > 0.8


def test_ovo_matches_sklearn_one_vs_one():
    sklearn = pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression as SkLogistic
    from sklearn.multiclass import OneVsOneClassifier

    assert sklearn
    rng = np.random.default_rng(9)
    X, y = blobs(rng, 400, 6, 5, spread=3.0)
    ours = LogisticRegression(C=1.0, multi_class="ovo", tol=1e-8).fit(X, y)
    ref = OneVsOneClassifier(SkLogistic(C=1.0, tol=1e-10, max_iter=10000)).fit(X, y)
    assert np.mean(ours.predict(X) == ref.predict(X)) >= 0.98
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-3)


def test_ovo_vote_ties_go_to_the_larger_summed_confidence():
    model = LogisticRegression(multi_class="ovo")
    model.classes_ = np.array([0, 1, 2])
    model.pairs_ = np.array([[0, 1], [0, 2], [1, 2]])
    model.n_features_in_ = 1
    # Scores for the pairs (0,1), (0,2), (1,2): 1 beats 0, 0 beats 2, 2 beats 1, one vote each.
    # Summed confidences (a positive score counts for the second class of the pair):
    # class 0: -1 + 0.5 = -0.5, class 1: 1 - 2 = -1, class 2: -0.5 + 2 = 1.5 -> class 2.
    model.coef_ = np.array([[1.0], [-0.5], [2.0]])
    model.intercept_ = np.zeros(3)
    X = np.array([[1.0]])
    np.testing.assert_allclose(model.predict_proba(X), [[1 / 3, 1 / 3, 1 / 3]])
    assert model.predict(X)[0] == 2
    model.coef_ = np.array([[3.0], [-4.0], [0.5]])  # class 1: 3 - 0.5 = 2.5 wins
    assert model.predict(X)[0] == 1


# --- Codes, labels, options -------------------------------------------------------------------


@pytest.mark.parametrize("multi_class", ["multinomial", "ovo"])
def test_codes_are_read_as_their_bits(multi_class):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 150)
    p = np.array([0.2, 0.5, 0.8])[y][:, None] * np.linspace(0.3, 1.2, 70)[None, :]
    bits = (rng.random((150, 70)) < np.clip(p, 0, 1)).astype(np.uint8)
    codes = Codes.from_bits(bits)
    on_codes = LogisticRegression(multi_class=multi_class).fit(codes, y)
    on_floats = LogisticRegression(multi_class=multi_class).fit(bits.astype(float), y)
    # Two fits whose objectives round differently: L-BFGS carries those last-bit differences
    # through its iterations, hence a looser rtol, relative to the largest coefficient.
    assert_close(on_codes.coef_, on_floats.coef_, rtol=1e-7)
    np.testing.assert_array_equal(on_codes.predict(codes), on_floats.predict(bits))
    assert on_codes.score(codes, y) > 0.9


def test_max_iter_reached_warns():
    rng = np.random.default_rng(0)
    X, y = blobs(rng, 100, 5, 3, spread=3.0)
    with pytest.warns(RuntimeWarning, match="max_iter"):
        model = LogisticRegression(max_iter=2).fit(X, y)
    assert model.n_iter_ == 2


def test_errors():
    rng = np.random.default_rng(0)
    X, y = blobs(rng, 30, 4, 3)
    for bad_C in (0, -1.0, np.inf, "1"):
        with pytest.raises(ValueError, match="C must be"):
            LogisticRegression(C=bad_C).fit(X, y)
    with pytest.raises(ValueError, match="multi_class"):
        LogisticRegression(multi_class="ovr").fit(X, y)
    with pytest.raises(ValueError, match="max_iter"):
        LogisticRegression(max_iter=0).fit(X, y)
    with pytest.raises(ValueError, match="not fitted"):
        LogisticRegression().predict(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression().fit(X, np.zeros(30, int))
    with pytest.raises(ValueError, match="labels"):
        LogisticRegression().fit(X, y[:-1])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LogisticRegression().fit(X_nan, y)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(X_nan)
    with pytest.raises(ValueError, match="shape"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="bits"):
        model.predict(Codes.from_bits(np.zeros((2, 5), np.uint8)))
