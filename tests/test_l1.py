"""L1 and elastic net (``l1_ratio > 0``, fastlr's proximal Newton and OWL-QN):
scikit-learn's objective and optimum (against its saga and liblinear at a tight
tolerance), the support, the KKT conditions at the returned point, the limits l1_ratio → 0
and 1, dense and sparse X, weights, two classes and three (multinomial); the proximal
Newton's kernels against dense references."""

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


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def three(data):
    """``data``'s X, three classes drawn from a softmax of three of its columns (overlapping
    classes: no separable direction)."""
    X, _ = data
    P = softmax(X[:, :3] @ np.array([[1.0, -1.0, 0.5], [0.2, 1.0, -1.0], [-1.0, 0.3, 1.0]]))
    u = np.random.default_rng(2).random(len(X))
    return X, (u[:, None] > np.cumsum(P, axis=1)).sum(axis=1)


def objective(model, X, y, C, rho, sample_weight=None):
    """scikit-learn's objective: C Σ s L + ρ‖w‖₁ + ½(1 − ρ)‖w‖², two classes."""
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    w = model.coef_.ravel().astype(np.float64)
    z = X @ w + float(np.ravel(model.intercept_)[0])
    labels = (y == model.classes_[1]).astype(np.float64)
    loss = float(np.sum(s * (np.logaddexp(0.0, z) - labels * z)))
    return C * loss + rho * float(np.abs(w).sum()) + 0.5 * (1 - rho) * float(w @ w)


def multinomial_objective(model, X, y, C, rho):
    """scikit-learn's multinomial objective: C Σ L + ρ‖W‖₁ + ½(1 − ρ)‖W‖²."""
    W = model.coef_.astype(np.float64)
    Z = X @ W.T + model.intercept_
    top = Z.max(axis=1)
    log_total = top + np.log(np.exp(Z - top[:, None]).sum(axis=1))
    loss = float(np.sum(log_total - Z[np.arange(len(y)), np.searchsorted(model.classes_, y)]))
    return C * loss + rho * float(np.abs(W).sum()) + 0.5 * (1 - rho) * float(np.sum(W * W))


def saga(X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return SklearnLR(solver="saga", tol=1e-12, max_iter=200_000, **params).fit(X, y)


_SAGA = {}


def saga_once(X, y, **params):
    """saga's fit of ``data`` (two classes) or ``three`` for ``params``, computed once per
    module."""
    key = (np.unique(y).size, *sorted(params.items()))
    if key not in _SAGA:
        _SAGA[key] = saga(X, y, **params)
    return _SAGA[key]


def as_form(X, form):
    return {"dense": X, "csr": sparse.csr_matrix(X), "csc": sparse.csc_matrix(X)}[form]


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("rho, C", [(1.0, 0.05), (0.5, 0.1)])
@pytest.mark.parametrize("form", ["dense", "csr", "csc"])
@pytest.mark.parametrize("solver", ["prox-newton", "owl-qn"])
def test_the_optimum_and_support_of_scikit_learn(data, rho, C, fit_intercept, form, solver):
    X, y = data
    ours = LR(l1_ratio=rho, C=C, tol=1e-8, fit_intercept=fit_intercept, solver=solver,
             max_iter=2000).fit(as_form(X, form), y)
    theirs = saga_once(X, y, l1_ratio=rho, C=C, fit_intercept=fit_intercept)
    assert ours.solver_ == solver
    ours_f, theirs_f = objective(ours, X, y, C, rho), objective(theirs, X, y, C, rho)
    assert ours_f <= theirs_f * (1 + 1e-9)
    assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]  # a sparse solution
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-5)


def sparse_problem(seed):
    """A CSR problem with a few informative columns among many rare ones (text-like)."""
    rng = np.random.default_rng(seed)
    X = sparse.random(2000, 300, density=0.03, format="csr", random_state=rng)
    X.data = rng.uniform(0.5, 2.0, X.nnz)
    z = X[:, :10] @ rng.standard_normal(10) * 2
    y = (rng.random(2000) < 1 / (1 + np.exp(-z))).astype(int)
    return X, y


@pytest.mark.parametrize("dataset", ["classification", "sparse-0", "sparse-1"])
@pytest.mark.parametrize("solver", ["prox-newton", "owl-qn"])
def test_the_optimum_and_support_of_liblinear_without_intercept(data, dataset, solver):
    """liblinear's L1 (newGLMNET) penalizes an intercept: compared without one."""
    X, y = data if dataset == "classification" else sparse_problem(int(dataset[-1]))
    C = 0.05 if dataset == "classification" else 0.5
    ours = LR(l1_ratio=1.0, C=C, tol=1e-9, fit_intercept=False, solver=solver,
             max_iter=2000).fit(X, y)
    theirs = SklearnLR(solver="liblinear", l1_ratio=1.0, C=C, tol=1e-8, max_iter=1000,
                       random_state=0, fit_intercept=False).fit(X, y)
    ours_f, theirs_f = objective(ours, X, y, C, 1.0), objective(theirs, X, y, C, 1.0)
    assert ours_f <= theirs_f * (1 + 1e-9)
    assert 0 < np.count_nonzero(ours.coef_) < X.shape[1]
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=1e-5)


def test_auto_takes_prox_newton_for_any_x_in_memory(data, three):
    X, y = data
    assert LR(l1_ratio=1.0, C=0.05).fit(sparse.csr_matrix(X), y).solver_ == "prox-newton"
    assert LR(l1_ratio=1.0, C=0.05).fit(X, y).solver_ == "prox-newton"
    X3, y3 = three
    assert LR(l1_ratio=1.0, C=0.05).fit(sparse.csr_matrix(X3), y3).solver_ == "prox-newton"
    assert LR(l1_ratio=0.5, C=0.05).fit(X3, y3).solver_ == "prox-newton"
    assert LR(l1_ratio=1.0, C=0.05, solver="prox-newton").fit(X3, y3).coef_.shape == (3, 30)


def test_a_dask_x_takes_owl_qn():
    da = pytest.importorskip("dask.array")
    X = da.zeros((10, 3), chunks=5)
    assert LR._choose_l1_solver(X, "auto", True) == "owl-qn"
    with pytest.raises(ValueError, match="solver='prox-newton' needs an X in memory"):
        LR._choose_l1_solver(X, "prox-newton", True)


def test_a_working_set_too_large_for_the_model_goes_on_with_owl_qn(data, monkeypatch):
    X, y = data
    expected = LR(l1_ratio=1.0, C=0.05, tol=1e-9, solver="prox-newton").fit(X, y)
    monkeypatch.setattr(solvers_l1, "MAX_WORKING_SET", 3)
    ours = LR(l1_ratio=1.0, C=0.05, tol=1e-7, solver="prox-newton", max_iter=2000).fit(X, y)
    assert ours.n_iter_[0] > 20  # OWL-QN's iterations: it did go on with OWL-QN
    np.testing.assert_allclose(ours.coef_, expected.coef_, atol=1e-5)


def test_the_working_set_cap_counts_every_class(three, monkeypatch):
    """K classes: the model has K coordinates per feature; 30 features of 3 classes are
    beyond a cap of 40 (their 30 alone are not)."""
    X, y = three
    expected = LR(l1_ratio=1.0, C=1.0, tol=1e-9).fit(X, y)
    assert np.count_nonzero(np.any(expected.coef_ != 0, axis=0)) > 20
    monkeypatch.setattr(solvers_l1, "MAX_WORKING_SET", 40)
    ours = LR(l1_ratio=1.0, C=1.0, tol=1e-7, solver="prox-newton", max_iter=2000).fit(X, y)
    assert ours.n_iter_[0] > 20  # OWL-QN's iterations: it did go on with OWL-QN
    np.testing.assert_allclose(ours.coef_, expected.coef_, atol=1e-5)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("form", ["dense", "csr", "csc"])
def test_the_model_matrix_is_the_hessian_on_the_working_set(form, fit_intercept):
    """``model_matrix`` against ``scale Xᵀ diag(h) X + λ I`` computed densely — on a CSR X
    with unsorted indices and a duplicated entry (which adds, as in X)."""
    rng = np.random.default_rng(3)
    X = sparse.random(60, 12, density=0.3, format="csr", random_state=rng)
    X.data = rng.standard_normal(X.nnz)
    row = int(np.argmax(np.diff(X.indptr)))
    lo, hi = X.indptr[row], X.indptr[row + 1]
    X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()  # unsorted
    X.indices[lo + 1] = X.indices[lo]  # a duplicate entry
    X.has_sorted_indices = False
    dense = X.toarray()
    y = (rng.random(60) < 0.5).astype(np.float64)
    from fastlr import objective as objectives
    from fastlr import registry

    Xf = dense if form == "dense" else (X if form == "csr" else X.tocsc())
    problem = objectives.Binary(Xf, y, np.ones(60), l2=0.3, fit_intercept=fit_intercept,
                                kernels=registry.load_model("numpy")[1], n_threads=1)
    x = np.r_[rng.standard_normal(12), 0.5] if fit_intercept else rng.standard_normal(12)
    problem.loss_gradient(x, hessian=True)
    S = np.array([0, 3, 4, 7, 11])
    Q = solvers_l1.model_matrix(problem, S)
    full = np.column_stack([dense, np.ones(60)]) if fit_intercept else dense
    columns = np.r_[S, 12] if fit_intercept else S
    expected = full[:, columns].T @ (problem._h[:, None] * full[:, columns]) / 60
    expected[np.arange(5), np.arange(5)] += 0.3
    np.testing.assert_allclose(Q, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("form", ["dense", "csr", "csc"])
def test_the_multinomial_model_matrix_is_the_hessian_on_the_working_set(form,
                                                                       fit_intercept):
    """``model_matrix`` for three classes against its blocks ``scale X_Sᵀ diag(s p_k (δ_kl −
    p_l)) X_S + λ I`` computed densely (the probabilities by a softmax here), in the flat
    coefficients' order — on a CSR X with unsorted indices and a duplicated entry."""
    rng = np.random.default_rng(6)
    X = sparse.random(80, 12, density=0.3, format="csr", random_state=rng)
    X.data = rng.standard_normal(X.nnz)
    row = int(np.argmax(np.diff(X.indptr)))
    lo, hi = X.indptr[row], X.indptr[row + 1]
    X.indices[lo:hi] = X.indices[lo:hi][::-1].copy()  # unsorted
    X.indices[lo + 1] = X.indices[lo]  # a duplicate entry
    X.has_sorted_indices = False
    dense = X.toarray()
    Y = np.eye(3)[rng.integers(0, 3, 80)]
    s = rng.uniform(0.5, 2.0, 80)
    from fastlr import objective as objectives
    from fastlr import registry

    Xf = dense if form == "dense" else (X if form == "csr" else X.tocsc())
    problem = objectives.Multinomial(Xf, Y, s, l2=0.3, fit_intercept=fit_intercept,
                                     kernels=registry.load_model("numpy")[1], n_threads=1)
    x = rng.standard_normal(problem.size)
    problem.loss_gradient(x, hessian=True)
    S = np.array([0, 3, 4, 7, 11])
    Q = solvers_l1.model_matrix(problem, S)
    coefficients = x.reshape(3, -1)
    P = softmax(dense @ coefficients[:, :12].T + (coefficients[:, -1] if fit_intercept else 0))
    full = np.column_stack([dense, np.ones(80)]) if fit_intercept else dense
    XS = full[:, np.r_[S, 12] if fit_intercept else S]
    m = XS.shape[1]
    expected = np.empty((3 * m, 3 * m))
    for k in range(3):
        for j in range(3):
            h = s * P[:, k] * ((k == j) - P[:, j]) / s.sum()
            expected[k * m:(k + 1) * m, j * m:(j + 1) * m] = XS.T @ (h[:, None] * XS)
        expected[k * m + np.arange(5), k * m + np.arange(5)] += 0.3
    np.testing.assert_allclose(Q, expected, rtol=1e-12, atol=1e-14)
    # the flat coefficients' order: Q is the Hessian's rows and columns at coordinates()
    index = solvers_l1.coordinates(problem, S)
    hessian = np.column_stack([problem.hessp(e) for e in np.eye(problem.size)[index]])
    np.testing.assert_allclose(Q, hessian[index], rtol=1e-10, atol=1e-14)


def test_coordinate_descent_solves_the_quadratic_model():
    """At CD's answer the model's optimality conditions hold: ``g + Q d`` is ``−α sign``
    where ``w + d ≠ 0`` and at most ``α`` in size where it is 0 (the last coordinate is an
    unpenalized intercept)."""
    from fastlr.backends import _numba_cd

    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 8))
    Q = A.T @ A / 40 + 0.01 * np.eye(8)
    g, w = rng.standard_normal(8), np.where(rng.random(8) < 0.5, rng.standard_normal(8), 0)
    alpha = np.r_[np.full(7, 0.4), 0.0]
    d = np.zeros(8)
    _numba_cd.cd_quadratic(Q, g, w, alpha, d, 10_000, 1e-13)
    new = w + d
    grad = g + Q @ d
    on = new != 0
    np.testing.assert_allclose(grad[on], -alpha[on] * np.sign(new[on]), atol=1e-10)
    assert np.all(np.abs(grad[~on]) <= alpha[~on] + 1e-10)
    assert 0 < on[:7].sum() < 7  # the test means something: some at zero, some not


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
    assert ours.solver_ == "prox-newton"
    assert ours.coef_.shape == (3, 30)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=5e-5)
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("rho, C", [(1.0, 0.05), (0.5, 0.1)])
@pytest.mark.parametrize("form", ["dense", "csr", "csc"])
def test_the_multinomial_optimum_and_support_of_scikit_learn(three, rho, C, fit_intercept,
                                                             form):
    X, y = three
    ours = LR(l1_ratio=rho, C=C, tol=1e-9, fit_intercept=fit_intercept, max_iter=100).fit(
        as_form(X, form), y)
    theirs = saga_once(X, y, l1_ratio=rho, C=C, fit_intercept=fit_intercept)
    assert ours.solver_ == "prox-newton"
    assert ours.n_iter_[0] < 30  # Newton's steps (OWL-QN: hundreds)
    ours_f = multinomial_objective(ours, X, y, C, rho)
    assert ours_f <= multinomial_objective(theirs, X, y, C, rho) * (1 + 1e-9)
    assert 0 < np.count_nonzero(ours.coef_) < ours.coef_.size  # a sparse solution
    np.testing.assert_array_equal(ours.coef_ != 0, np.abs(theirs.coef_) > 1e-8)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=2e-5)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, atol=2e-5)


def small_three():
    """test_cv's three-class problem: 240 × 6, standardized."""
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_redundant=0,
                               n_classes=3, flip_y=0.1, random_state=1)
    return (X - X.mean(axis=0)) / X.std(axis=0), y


@pytest.mark.parametrize("problem, C", [("small", 1.0), ("small", 1000.0), ("three", 0.05),
                                        ("three", 10.0)])
@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_multinomial_kkt_conditions_hold_at_the_returned_point(three, problem, C, rho):
    """At tol 1e-10, with sample weights: the gradient computed here (softmax, Xᵀ(P − Y)
    weighted) is −α sign(w) at the non-zeros, at most α at the zeros, 0 for the intercepts.
    At C = 1000, ρ = 1 (no L2 term) the multinomial Hessian is flat along "the same added
    to every class" of a feature: the face's solve must not crawl there."""
    X, y = small_three() if problem == "small" else three
    s = np.random.default_rng(5).uniform(0.5, 2.0, len(y))
    tol = 1e-10
    model = LR(l1_ratio=rho, C=C, tol=tol, max_iter=100).fit(X, y, sample_weight=s)
    assert model.solver_ == "prox-newton"
    W, b = model.coef_, model.intercept_
    Y = (y[:, None] == model.classes_).astype(np.float64)
    R = (softmax(X @ W.T + b) - Y) * (s / s.sum())[:, None]
    alpha, l2 = rho / (C * s.sum()), (1 - rho) / (C * s.sum())
    grad = R.T @ X + l2 * W
    on = W != 0
    np.testing.assert_allclose(grad[on], -alpha * np.sign(W[on]), rtol=0, atol=10 * tol)
    assert np.all(np.abs(grad[~on]) <= alpha + 10 * tol)
    np.testing.assert_allclose(R.sum(axis=0), 0.0, atol=10 * tol)
    assert 0 < on.sum()


def test_the_pseudo_gradient_is_the_minimum_norm_subgradient():
    x = np.array([1.0, -1.0, 0.0, 0.0, 0.0])
    g = np.array([0.5, 0.5, 2.0, -2.0, 0.3])
    pg = solvers_l1.pseudo_gradient(x, g, np.ones(5))
    np.testing.assert_array_equal(pg, [1.5, -0.5, 1.0, -1.0, 0.0])


@pytest.mark.parametrize("C, rho", [(251.0, 1.0), (1e4, 0.5), (1e4, 1.0)])
def test_prox_newton_converges_where_the_model_is_ill_conditioned(C, rho):
    """Redundant features (condition ~3e7): coordinate descent alone crawled (3000 steps
    without converging at C = 1e4, ρ = 0.5); the face's Cholesky solve gets there."""
    X, y = make_classification(600, 20, n_informative=4, random_state=0)
    model = LR(l1_ratio=rho, C=C, tol=1e-10, max_iter=100, solver="prox-newton").fit(X, y)
    w, b = model.coef_.ravel(), model.intercept_[0]
    z = X @ w + b
    n = len(y)
    grad = X.T @ (1.0 / (1.0 + np.exp(-z)) - y) / n + (1 - rho) / (C * n) * w
    alpha = rho / (C * n)
    on = w != 0
    np.testing.assert_allclose(grad[on], -alpha * np.sign(w[on]), atol=1e-8)
    assert np.all(np.abs(grad[~on]) <= alpha + 1e-8)
