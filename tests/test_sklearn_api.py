"""scikit-learn's parameters as fastlr.LogisticRegression takes them (fastlr.sklearn_api):
C=np.inf, l1_ratio and the deprecated penalty, class weights, solver names, n_jobs,
max_iter=0, sparsify/densify and scikit-learn's wording of the convergence warning. Each
against scikit-learn's own LogisticRegression."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLR

import fastlr

LR = fastlr.LogisticRegression


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_classification(2000, 8, weights=[0.9, 0.1], random_state=3)
    return X, y


def sklearn_fit(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SklearnLR(tol=1e-12, max_iter=10_000, **params).fit(X, y)


@pytest.mark.parametrize("class_weight", ["balanced", {0: 1.0, 1: 7.5}])
def test_class_weight_is_scikit_learns(imbalanced, class_weight):
    X, y = imbalanced
    ours = LR(class_weight=class_weight, tol=1e-10).fit(X, y)
    theirs = sklearn_fit(X, y, class_weight=class_weight)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-6, atol=1e-6)
    assert not np.allclose(ours.coef_, LR(tol=1e-10).fit(X, y).coef_)  # it changed the fit


def test_class_weight_with_more_classes_and_sample_weights():
    X, y = make_classification(1500, 6, n_informative=4, n_classes=3,
                               weights=[0.6, 0.3, 0.1], random_state=4)
    weights = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    ours = LR(class_weight="balanced", tol=1e-10).fit(X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SklearnLR(class_weight="balanced", tol=1e-12, max_iter=10_000).fit(
            X, y, sample_weight=weights)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-6)


def test_c_inf_is_no_penalty_and_penalty_is_deprecated(imbalanced):
    X, y = imbalanced
    unpenalized = LR(C=np.inf, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(unpenalized.coef_, sklearn_fit(X, y, C=np.inf).coef_,
                               rtol=1e-5, atol=1e-6)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated in version 1.8"):
        old = LR(penalty=None, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(old.coef_, unpenalized.coef_, rtol=1e-8, atol=1e-10)
    with pytest.warns(FutureWarning, match="'penalty' was deprecated"):
        l2 = LR(penalty="l2", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(l2.coef_, LR(tol=1e-10).fit(X, y).coef_, rtol=1e-12)
    with pytest.warns(FutureWarning, match="'l1_ratio=None' was deprecated"):
        LR(l1_ratio=None).fit(X, y)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram"])
def test_l1_takes_the_l1_solvers_and_the_smooth_solvers_say_so(imbalanced, solver):
    with pytest.raises(ValueError, match=f"Solver {solver} supports only 'l2' or None"):
        LR(l1_ratio=1.0, solver=solver).fit(*imbalanced)
    for l1_solver in ("owl-qn", "prox-newton"):
        with pytest.raises(ValueError, match=f"solver='{l1_solver}' is one of fastlr's L1"):
            LR(solver=l1_solver).fit(*imbalanced)
    assert LR(l1_ratio=0.5).fit(*imbalanced).solver_ == "prox-newton"


def test_scikit_learns_solver_names(imbalanced):
    X, y = imbalanced
    assert LR(solver="newton-cholesky").fit(X, y).solver_ == "newton-cg"
    assert LR(solver="saga").fit(X, y).solver_ == LR().fit(X, y).solver_
    assert LR(solver="saga", l1_ratio=1.0).fit(X, y).solver_ == "prox-newton"
    for name, equivalent in [("sag", "lbfgs"), ("liblinear", "penalizes the intercept")]:
        with pytest.raises(ValueError, match=f"solver='{name}' is not available.*{equivalent}"):
            LR(solver=name).fit(X, y)
    with pytest.raises(ValueError, match="supports only dual=False"):
        LR(dual=True).fit(X, y)


def test_n_jobs_warns_as_scikit_learn_does(imbalanced):
    with pytest.warns(FutureWarning, match="'n_jobs' has no effect since 1.8"):
        LR(n_jobs=2).fit(*imbalanced)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg"])
def test_the_convergence_warning_uses_scikit_learns_words(imbalanced, solver):
    with pytest.warns(ConvergenceWarning,
                      match=f"{solver} failed to converge.* Increase the number of iterations"):
        model = LR(solver=solver, max_iter=1, tol=1e-15).fit(*imbalanced)
    assert model.n_iter_[0] == 1


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram", "gd"])
def test_max_iter_zero_is_the_start(imbalanced, solver):
    X, y = imbalanced
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LR(solver=solver, max_iter=0).fit(X, y)
    assert model.n_iter_[0] == 0
    np.testing.assert_array_equal(model.coef_, 0.0)


def test_sparsify_and_densify(imbalanced):
    X, y = imbalanced
    model = LR().fit(X, y)
    dense_scores = model.decision_function(X)
    model.sparsify()
    assert sparse.issparse(model.coef_)
    np.testing.assert_allclose(model.decision_function(X), dense_scores, rtol=1e-12)
    model.densify()
    assert isinstance(model.coef_, np.ndarray)
