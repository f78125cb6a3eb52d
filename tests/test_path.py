"""fastlr.l1_path: each point is scikit-learn's optimum at its C (liblinear's one by one,
without an intercept; saga's with one), the grid starts where scikit-learn's l1_min_c says
the first coefficient enters, dense and sparse agree, bad arguments are refused."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLR
from sklearn.svm import l1_min_c

import fastlr


@pytest.fixture(scope="module")
def data():
    return make_classification(800, 25, n_informative=5, random_state=2)


def test_the_grid_starts_at_scikit_learns_l1_min_c(data):
    X, y = data
    path = fastlr.l1_path(X, y, Cs=6, fit_intercept=False, tol=1e-9)
    assert path.Cs[0] == pytest.approx(l1_min_c(X, y, loss="log", fit_intercept=False),
                                       rel=1e-12)
    np.testing.assert_allclose(path.Cs[-1] / path.Cs[0], 1e3)
    assert np.count_nonzero(path.coef[0]) == 0  # at C_min: nothing has entered yet
    assert 0 < np.count_nonzero(path.coef[1]) < np.count_nonzero(path.coef[-1])


@pytest.mark.parametrize("form", ["dense", "csr", "csc"])
def test_each_point_is_liblinears_optimum_without_intercept(data, form):
    X, y = data
    Xf = {"dense": X, "csr": sparse.csr_matrix(X), "csc": sparse.csc_matrix(X)}[form]
    Cs = [0.005, 0.02, 0.1, 0.5]
    path = fastlr.l1_path(Xf, y, Cs=Cs[::-1], fit_intercept=False, tol=1e-10)
    np.testing.assert_array_equal(path.Cs, Cs)  # fitted in increasing order
    assert path.stats["solver"] == "prox-newton"
    for C, coef in zip(Cs, path.coef):
        theirs = SklearnLR(solver="liblinear", l1_ratio=1.0, C=C, tol=1e-10, max_iter=1000,
                           random_state=0, fit_intercept=False).fit(X, y)
        np.testing.assert_array_equal(coef != 0, np.abs(theirs.coef_) > 1e-8)
        np.testing.assert_allclose(coef, theirs.coef_, atol=1e-5)
    assert not path.intercept.any()


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_each_point_is_sagas_optimum_with_an_intercept(data, l1_ratio):
    X, y = data
    Cs = [0.02, 0.2]
    path = fastlr.l1_path(X, y, Cs=Cs, l1_ratio=l1_ratio, tol=1e-10)
    for C, coef, intercept in zip(Cs, path.coef, path.intercept):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = SklearnLR(solver="saga", l1_ratio=l1_ratio, C=C, tol=1e-12,
                               max_iter=100_000).fit(X, y)
        np.testing.assert_allclose(coef, theirs.coef_, atol=5e-5)
        np.testing.assert_allclose(intercept, theirs.intercept_, atol=5e-5)


def test_more_classes_each_point_is_the_estimators_optimum(data):
    X, _ = data
    y = np.arange(len(X)) % 3
    path = fastlr.l1_path(X, y, Cs=[0.05, 0.5], tol=1e-9, max_iter=5000)
    assert path.coef.shape == (2, 3, X.shape[1]) and path.intercept.shape == (2, 3)
    np.testing.assert_array_equal(path.classes, [0, 1, 2])
    for C, coef, intercept in zip(path.Cs, path.coef, path.intercept):
        single = fastlr.LogisticRegression(l1_ratio=1.0, C=C, tol=1e-9, max_iter=5000)
        single.fit(X, y)
        np.testing.assert_allclose(coef, single.coef_, atol=1e-6)
        # the intercepts are defined up to a constant added to every class's
        np.testing.assert_allclose(intercept - intercept.mean(),
                                   single.intercept_ - single.intercept_.mean(), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"l1_ratio": 0.0}, "l1_ratio must be in \\(0, 1\\] for an L1 path; got 0.0"),
    ({"Cs": [0.1, -1.0]}, "Cs must be a positive int or a 1-D array of positive finite"),
    ({"Cs": 0}, "Cs must be a positive int or an array of positive floats; got 0"),
    ({"solver": "lbfgs"}, "solver must be 'auto' or one of"),
])
def test_bad_arguments_are_refused(data, kwargs, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        fastlr.l1_path(X, y, **kwargs)
