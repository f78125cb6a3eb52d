"""fastlr.LogisticRegression on scipy.sparse X (CSR and CSC): the same model as on the dense
matrix it stands for, scikit-learn's optimum, X read in place. The kernels themselves are
tested in test_sparse_kernels.py; scikit-learn's estimator checks with sparse input run in
test_estimator.py (the estimator's ``sparse`` tag is true)."""

import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression as SklearnLR

import fastlr
from fastlr.bench.fit import traced_peak
from helpers import MODEL_BACKENDS, load_model_or_skip

LR = fastlr.LogisticRegression


def text_like(m=3000, n=800, per_row=12, seed=0, dtype=np.float64):
    """A CSR matrix with rows of a few non-zeros, some columns common, labels learnable."""
    rng = np.random.default_rng(seed)
    columns = np.minimum(rng.zipf(1.3, size=(m, per_row)) - 1, n - 1)
    rows = np.repeat(np.arange(m), per_row)
    X = sparse.csr_matrix((rng.random(m * per_row) + 0.1, (rows, columns.ravel())),
                          shape=(m, n))  # duplicates summed by the constructor
    X = X.multiply(1.0 / np.sqrt(X.multiply(X).sum(axis=1))).tocsr().astype(dtype)
    y = (X @ rng.standard_normal(n) + 0.3 * rng.standard_normal(m) > 0).astype(int)
    return X, y


def awkward(X):
    """The same matrix with unsorted indices, duplicate entries that add up, explicit zeros,
    an empty row and an empty column (as scikit-learn users may hand it over)."""
    X = X.tolil()
    X[5, :] = 0.0  # an empty row
    X[:, 7] = 0.0  # an empty column
    X = X.tocsr()
    X.sort_indices()
    data, indices, indptr = [], [], [0]
    for i in range(X.shape[0]):
        lo, hi = X.indptr[i], X.indptr[i + 1]
        d, j = X.data[lo:hi][::-1], X.indices[lo:hi][::-1]  # unsorted
        if len(d) and i % 3 == 0:  # split the first entry in two halves: a duplicate
            d = np.concatenate([[d[0] / 2, d[0] / 2], d[1:]])
            j = np.concatenate([[j[0], j[0]], j[1:]])
        if i % 4 == 0:  # an explicit zero
            d, j = np.append(d, 0.0), np.append(j, 3)
        data.append(d)
        indices.append(j)
        indptr.append(indptr[-1] + len(d))
    odd = sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr),
                            shape=X.shape)
    assert not odd.has_sorted_indices and not odd.has_canonical_format
    return odd


def objective(model, X, y, sample_weight=None, C=1.0):
    """scikit-learn's objective of a fitted two-class model, by SciPy in float64."""
    s = np.ones(len(y)) if sample_weight is None else sample_weight
    w = model.coef_.ravel().astype(np.float64)
    z = X.astype(np.float64) @ w + float(model.intercept_[0])
    labels = (y == model.classes_[1]).astype(np.float64)
    return C * np.sum(s * (np.logaddexp(0.0, z) - labels * z)) + 0.5 * w @ w


@pytest.fixture(params=MODEL_BACKENDS)
def backend(request):
    load_model_or_skip(request.param)
    return request.param


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram"])
@pytest.mark.parametrize("form", ["csr", "csc", "awkward"])
def test_a_sparse_fit_is_the_dense_fit(backend, solver, form):
    X, y = text_like()
    if solver == "newton-gram":  # few samples, many features
        X, y = X[:300], y[:300]
    sparse_X = {"csr": X, "csc": X.tocsc(), "awkward": awkward(X)}[form]
    dense = LR(solver=solver, tol=1e-10, backend=backend).fit(sparse_X.toarray(), y)
    fitted = LR(solver=solver, tol=1e-10, backend=backend).fit(sparse_X, y)
    assert fitted.solver_ == solver and fitted.backend_ == backend
    np.testing.assert_allclose(objective(fitted, sparse_X, y), objective(dense, sparse_X, y),
                               rtol=1e-10)
    # the sparse newton-cg is preconditioned, the dense one not: another path to the optimum
    np.testing.assert_allclose(fitted.coef_, dense.coef_, rtol=1e-5, atol=1e-6)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        np.testing.assert_allclose(getattr(fitted, method)(sparse_X),
                                   getattr(fitted, method)(sparse_X.toarray()), rtol=1e-12,
                                   atol=1e-14)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scikit_learns_optimum_at_every_dtype(backend, dtype, index_dtype):
    X, y = text_like(dtype=dtype)
    X.indices, X.indptr = X.indices.astype(index_dtype), X.indptr.astype(index_dtype)
    weights = np.random.default_rng(1).uniform(0.2, 3.0, size=len(y))
    tol = 1e-9 if dtype == np.float64 else 1e-5  # float32 X: products in float32
    ours = LR(tol=tol, backend=backend).fit(X, y, sample_weight=weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's own ConvergenceWarning, if any
        reference = SklearnLR(tol=1e-12, max_iter=10_000).fit(X.astype(np.float64), y,
                                                               sample_weight=weights)
    assert ours.coef_.dtype == dtype
    rtol = 1e-9 if dtype == np.float64 else 1e-6
    assert objective(ours, X, y, weights) <= objective(reference, X, y, weights) * (1 + rtol)


def test_more_than_two_classes(backend):
    X, _ = text_like()
    scores = X @ np.random.default_rng(2).standard_normal((X.shape[1], 3))
    y = np.array(["a", "b", "c"])[scores.argmax(axis=1)]
    ours = LR(tol=1e-10, backend=backend).fit(X, y)
    dense = LR(tol=1e-10, backend=backend).fit(X.toarray(), y)
    np.testing.assert_allclose(ours.coef_, dense.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), dense.predict_proba(X.toarray()),
                               atol=1e-9)


def test_x_is_read_in_place_and_left_alone(backend):
    X, y = text_like(m=20_000, n=2000, per_row=30)
    X = X.tocsr()
    copies = X.data.copy(), X.indices.copy(), X.indptr.copy()
    fitted = LR(solver="newton-cg", backend=backend)
    fitted.fit(X, y)  # compiled, warmed up
    peak = traced_peak(lambda: fitted.fit(X, y))
    nnz_bytes = X.data.nbytes + X.indices.nbytes
    # beyond X: O(n_samples + n_features) vectors, far below a copy of the non-zeros
    vectors = 16 * 8 * (X.shape[0] + X.shape[1])
    assert peak <= 0.10 * nnz_bytes + vectors, (peak, nnz_bytes)
    for array, copy in zip((X.data, X.indices, X.indptr), copies):
        np.testing.assert_array_equal(array, copy)


def test_nan_in_sparse_x_is_named(backend):
    X, y = text_like(m=200, n=50, per_row=4)
    X.data[3] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LR(backend=backend).fit(X, y)
