"""L1 and elastic net (``l1_ratio > 0``, fastlr's OWL-QN): scikit-learn's objective and
optimum (against its saga at a tight tolerance), the support, the KKT conditions at the
returned point, the limits l1_ratio → 0 and 1, dense and sparse X, weights, classes."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLR

import fastlr
from fastlr import solvers_l1

LR = fastlr.LogisticRegression


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(1500, 30, n_informative=5, random_state=0)
    return X, y


def objective(model, X, y, C, rho, sample_weight=None):
    """scikit-learn's objective: C Σ s L + ρ‖w‖₁ + ½(1 − ρ)‖w‖², two classes."""
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    w = model.coef_.ravel().astype(np.float64)
    z = X @ w + float(model.intercept_[0])
    labels = (y == model.classes_[1]).astype(np.float64)
    loss = float(np.sum(s * (np.logaddexp(0.0, z) - labels * z)))
    return C * loss + rho * float(np.abs(w).sum()) + 0.5 * (1 - rho) * float(w @ w)


def saga(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SklearnLR(solver="saga", tol=1e-12, max_iter=200_000, **params).fit(X, y)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("rho, C", [(1.0, 0.05), (0.5, 0.1)])
@pytest.mark.parametrize("form", ["dense", "csr"])
def test_the_optimum_and_support_of_scikit_learn(data, rho, C, fit_intercept, form):
    X, y = data
    Xf = sparse.csr_matrix(X) if form == "csr" else X
    ours = LR(l1_ratio=rho, C=C, tol=1e-8, fit_intercept=fit_intercept,
             max_iter=2000).fit(Xf, y)
    theirs = saga(X, y, l1_ratio=rho, C=C, fit_intercept=fit_intercept)
    assert ours.solver_ == "owl-qn"
    ours_f, theirs_f = objective(ours, X, y, C, rho), objective(theirs, X, y, C, rho)
    assert ours_f <= theirs_f * (1 + 1e-9)
    assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]  # a sparse solution
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-5)


def test_kkt_conditions_hold_at_the_returned_point(data):
    X, y = data
    C, tol = 0.05, 1e-8
    model = LR(l1_ratio=1.0, C=C, tol=tol, max_iter=2000).fit(X, y)
    w, b = model.coef_.ravel(), model.intercept_[0]
    # the scaled objective's smooth gradient: Σ (σ(z) − y) x / n; the L1 weight α = 1/(C n)
    z = X @ w + b
    grad = X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / len(y)
    alpha = 1.0 / (C * len(y))
    nonzero = w != 0
    assert np.all(np.abs(grad[nonzero] + alpha * np.sign(w[nonzero])) <= 10 * tol)
    assert np.all(np.abs(grad[~nonzero]) <= alpha + 10 * tol)
    assert abs(float(np.sum(1.0 / (1.0 + np.exp(-z)) - y)) / len(y)) <= 10 * tol


def test_the_limits_of_the_elastic_net(data):
    X, y = data
    ridge = LR(l1_ratio=0.0, C=0.1, tol=1e-10).fit(X, y)
    almost_ridge = LR(l1_ratio=1e-9, C=0.1, tol=1e-8, max_iter=2000).fit(X, y)
    np.testing.assert_allclose(almost_ridge.coef_, ridge.coef_, atol=1e-5)
    lasso = LR(l1_ratio=1.0, C=0.05, tol=1e-8, max_iter=2000).fit(X, y)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        old = LR(penalty="l1", l1_ratio=1.0, C=0.05, tol=1e-8, max_iter=2000).fit(X, y)
    np.testing.assert_array_equal(old.coef_, lasso.coef_)


def test_weights_and_more_classes_as_scikit_learn(data):
    X, _ = data
    scores = X[:, :3] @ np.array([[1.0, -1.0, 0.5], [0.2, 1.0, -1.0], [-1.0, 0.3, 1.0]])
    y = scores.argmax(axis=1)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, size=len(y))
    ours = LR(l1_ratio=1.0, C=0.05, tol=1e-8, class_weight="balanced", max_iter=2000).fit(
        X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnLR(solver="saga", l1_ratio=1.0, C=0.05, tol=1e-12, max_iter=200_000,
                           class_weight="balanced").fit(X, y, sample_weight=weights)
    assert ours.coef_.shape == (3, 30)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=5e-5)
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)


def test_the_pseudo_gradient_is_the_minimum_norm_subgradient():
    x = np.array([1.0, -1.0, 0.0, 0.0, 0.0])
    g = np.array([0.5, 0.5, 2.0, -2.0, 0.3])
    pg = solvers_l1.pseudo_gradient(x, g, np.ones(5))
    np.testing.assert_array_equal(pg, [1.5, -0.5, 1.0, -1.0, 0.0])
