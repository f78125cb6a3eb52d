"""The estimator's sparse kernels (scipy.sparse CSR/CSC ``X``, read in place) against
references written to be obviously right: a pure-Python loop over the stored entries, the
dense NumPy kernel on ``X.toarray()``, and finite differences."""

import importlib
import itertools
import math
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from fastlr.backends import _numpy_model
from helpers import unavailable

MODULES = ["fastlr.backends._numba_sparse", "fastlr.backends._cython_sparse",
           "fastlr.backends._numpy_model"]
COMPILED = MODULES[:2]
CLASSES = {("csr", "matrix"): sp.csr_matrix, ("csr", "array"): sp.csr_array,
           ("csc", "matrix"): sp.csc_matrix, ("csc", "array"): sp.csc_array}


def load(name):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        unavailable(f"{name} cannot be imported: {error}")


@pytest.fixture(params=MODULES, ids=lambda name: name.rsplit(".", 1)[1])
def kernels(request):
    return load(request.param)


@pytest.fixture(params=COMPILED, ids=lambda name: name.rsplit(".", 1)[1])
def compiled(request):
    return load(request.param)


# ------------------------------------------------------------------------------------ problems


def random_sparse(m, n, fmt="csr", kind="matrix", dtype=np.float64, index=(np.int32, np.int32),
                  seed=0, awkward=False, density=0.3):
    """``(m, n)`` in ``fmt``, ``kind`` its class, ``index`` the dtypes of indices and indptr.

    ``awkward``: built by hand from (data, indices, indptr) with indices unsorted within a
    row (CSC: column), duplicate entries, explicit zeros, empty rows and empty columns
    (the first and last ones among them).
    """
    rng = np.random.default_rng(seed)
    major, minor = (m, n) if fmt == "csr" else (n, m)
    if awkward:
        absent = {0, minor // 2, minor - 1}  # never stored: empty columns (CSC: rows)
        allowed = [j for j in range(minor) if j not in absent]
        empty = {0, 1, max(3, major // 3), major - 1}  # empty rows (CSC: columns)
        rows = [[] if i in empty else rng.choice(allowed, rng.integers(1, 8)).tolist()
                for i in range(major)]  # drawn with replacement: duplicates
        rows[2] = [allowed[3], allowed[1], allowed[3], allowed[0]]  # unsorted, a duplicate
        indices = np.array([j for row in rows for j in row])
        indptr = np.cumsum([0] + [len(row) for row in rows])
        data = rng.standard_normal(indices.size)
        data[rng.random(indices.size) < 0.1] = 0.0  # explicit zeros
        data[indptr[2] + 3] = 0.0
    else:
        S = sp.random(major, minor, density=density, format="csr", random_state=seed)
        data, indices, indptr = S.data, S.indices, S.indptr
    X = CLASSES[fmt, kind]((data.astype(dtype), indices, indptr), shape=(m, n))
    X.indices = X.indices.astype(index[0])  # set after construction: SciPy may unify them
    X.indptr = X.indptr.astype(index[1])
    if awkward:
        assert not X.has_sorted_indices and not X.has_canonical_format
        dense = X.toarray() if fmt == "csr" else X.toarray().T  # (major, minor)
        assert not dense[sorted(empty)].any() and not dense[:, sorted(absent)].any()
    assert (X.indices.dtype, X.indptr.dtype, X.dtype) == (index[0], index[1], dtype)
    return X


def problem(m, n, seed=0):
    rng = np.random.default_rng(seed + 1)
    y = (rng.random(m) < 0.4).astype(np.float64)
    sw = rng.uniform(0.1, 2.0, m)
    w = rng.standard_normal(n)
    v = rng.standard_normal(n)
    return y, sw, w, v


def loop_reference(w, b, X, y, sw, v, vb):
    """``(Σ s L, grad, Σ dz, h, out, Σ t)``: the loss pass, then the Hessian pass at ``h``,
    one stored entry at a time in Python floats (duplicates add, zeros count as stored)."""
    m, n = X.shape
    data, indices, indptr = X.data.tolist(), X.indices.tolist(), X.indptr.tolist()
    entries = [(major, indices[k], data[k]) if X.format == "csr" else (indices[k], major,
                                                                     data[k])
               for major in range(len(indptr) - 1) for k in range(indptr[major],
                                                                 indptr[major + 1])]
    s = [1.0] * m if sw is None else sw.tolist()
    z, zv = [0.0] * m, [0.0] * m
    for i, j, x in entries:
        z[i] += x * float(w[j])
        zv[i] += x * float(v[j])
    loss, dz, h, t = 0.0, [], [], []
    for i in range(m):
        zi = z[i] + b
        a = 1.0 / (1.0 + math.exp(-zi)) if zi >= 0 else math.exp(zi) / (1.0 + math.exp(zi))
        loss += s[i] * (max(zi, 0.0) + math.log1p(math.exp(-abs(zi))) - y[i] * zi)
        dz.append(s[i] * (a - y[i]))
        h.append(s[i] * a * (1.0 - a))
        t.append(h[i] * (zv[i] + vb))
    grad, out = [0.0] * n, [0.0] * n
    for i, j, x in entries:
        grad[j] += dz[i] * x
        out[j] += t[i] * x
    return loss, np.array(grad), sum(dz), np.array(h), np.array(out), sum(t)


def close(actual, expected, rtol):
    """Within ``rtol`` of ``expected``, relative to its largest entry (sums cancel)."""
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def run(kernels, w, b, X, y, sw, n_threads, with_h=True):
    """The loss pass: ``(Σ s L, grad, Σ dz, h, out)``, ``h`` NaN unless written, ``out``
    NaN, for the Hessian pass."""
    m, n = X.shape
    grad, out, h = np.full(n, np.nan), np.full(n, np.nan), np.full(m, np.nan)
    loss, db = kernels.loss_gradient(w, b, X, y, sw, grad, h if with_h else None, n_threads)
    return loss, grad, db, h, out


FORMATS = list(itertools.product(["csr", "csc"], ["matrix", "array"], [np.float64, np.float32],
                                 [(np.int32, np.int32), (np.int64, np.int64),
                                  (np.int32, np.int64), (np.int64, np.int32)]))


def format_id(case):
    fmt, kind, dtype, (indices, indptr) = case
    return (f"{fmt}_{kind}-{np.dtype(dtype).name}-"
            f"{np.dtype(indices).name[3:]}.{np.dtype(indptr).name[3:]}")


# --------------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("case", FORMATS, ids=format_id)
@pytest.mark.parametrize("awkward", [False, True], ids=["random", "awkward"])
def test_passes_equal_the_loop(kernels, case, awkward):
    fmt, kind, dtype, index = case
    m, n = 57, 13
    X = random_sparse(m, n, fmt, kind, dtype, index, seed=3, awkward=awkward)
    y, sw, w, v = problem(m, n)
    ref = loop_reference(w, 0.3, X, y, sw, v, -0.2)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for n_threads in (1, 2):
        loss, grad, db, h, out = run(kernels, w, 0.3, X, y, sw, n_threads)
        close(loss, ref[0], rtol)
        close(grad, ref[1], rtol)
        close(db, ref[2], rtol)
        close(h, ref[3], rtol)
        zero, t_sum = kernels.hessp(v, -0.2, X, ref[3], out, n_threads)
        assert zero == 0.0
        close(out, ref[4], rtol)
        close(t_sum, ref[5], rtol)
        assert all(type(r) is float for r in (loss, db, zero, t_sum))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("weighted", [False, True], ids=["sw_none", "sw"])
@pytest.mark.parametrize("with_h", [False, True], ids=["h_none", "h"])
@pytest.mark.parametrize("m", [20, 130])
def test_options_and_threads(kernels, fmt, weighted, with_h, m):
    """sw None (unit weights), h None (not written), and 1, 2, 7 threads (20 samples: one
    chunk whatever is asked; 130: several, some of them ending on empty rows)."""
    n = 11
    X = random_sparse(m, n, fmt, "array", seed=m, awkward=True)
    y, sw, w, v = problem(m, n, seed=m)
    sw = sw if weighted else None
    ref = loop_reference(w, -0.4, X, y, sw, v, 0.7)
    results = []
    for n_threads in (1, 2, 7):
        loss, grad, db, h, out = run(kernels, w, -0.4, X, y, sw, n_threads, with_h)
        if with_h:
            close(h, ref[3], 1e-12)
        else:
            assert np.isnan(h).all()  # not written
        _, t_sum = kernels.hessp(v, 0.7, X, ref[3], out, n_threads)
        for got, want in zip((loss, grad, db, out, t_sum), ref[:3] + ref[4:]):
            close(got, want, 1e-12)
        results.append((loss, grad, db, out, t_sum))
    for other in results[1:]:  # chunked sums agree with the serial ones
        for got, want in zip(other, results[0]):
            close(got, want, 1e-13)
    if not weighted:  # unit weights: the same as weights of one
        loss, grad, db, _, _ = run(kernels, w, -0.4, X, y, np.ones(m), 1)
        close(results[0][0], loss, 1e-14)
        close(results[0][1], grad, 1e-14)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_kernel_on_toarray(kernels, fmt, dtype):
    m, n = 90, 17
    X = random_sparse(m, n, fmt, "matrix", dtype, (np.int64, np.int32), seed=5, awkward=True)
    y, sw, w, v = problem(m, n, seed=5)
    D = X.toarray().astype(np.float64)  # the float32 values, exactly
    want = run(_numpy_model, w, 0.1, D, y, sw, 1)
    got = run(kernels, w, 0.1, X, y, sw, 2)
    rtol = 1e-13 if dtype == np.float64 else 1e-5
    for a, b in zip(got[:4], want[:4]):
        close(a, b, rtol)
    out_want = np.empty(n)
    sums_want = _numpy_model.hessp(v, 0.5, D, want[3], out_want)
    sums = kernels.hessp(v, 0.5, X, want[3], got[4], 2)
    close(got[4], out_want, rtol)
    close(sums[1], sums_want[1], rtol)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_finite_differences(kernels, fmt):
    """grad and Σ dz are the derivatives of Σ s L in w and b; hessp of the gradient."""
    m, n = 64, 7
    X = random_sparse(m, n, fmt, "array", seed=11, awkward=True)
    y, sw, w, v = problem(m, n, seed=11)
    b, vb, eps = 0.2, -0.6, 1e-6

    def gradient(w, b):
        grad = np.empty(n)
        loss, db = kernels.loss_gradient(w, b, X, y, sw, grad, None, 1)
        return loss, grad, db

    loss, grad, db = gradient(w, b)
    for j in range(n):
        step = np.zeros(n)
        step[j] = eps
        fd = (gradient(w + step, b)[0] - gradient(w - step, b)[0]) / (2 * eps)
        assert fd == pytest.approx(grad[j], rel=1e-6, abs=1e-6)
    fd = (gradient(w, b + eps)[0] - gradient(w, b - eps)[0]) / (2 * eps)
    assert fd == pytest.approx(db, rel=1e-6, abs=1e-6)
    h, out = np.empty(m), np.empty(n)
    kernels.loss_gradient(w, b, X, y, sw, np.empty(n), h, 1)
    _, t_sum = kernels.hessp(v, vb, X, h, out, 1)
    plus, minus = gradient(w + eps * v, b + eps * vb), gradient(w - eps * v, b - eps * vb)
    np.testing.assert_allclose(out, (plus[1] - minus[1]) / (2 * eps), rtol=1e-6, atol=1e-6)
    assert t_sum == pytest.approx((plus[2] - minus[2]) / (2 * eps), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_float32_accumulates_in_float64(compiled, fmt):
    """The compiled kernels read float32 as float32 and sum in float64 (the contract): long
    rows whose float32 sums would be off by ~1e-6."""
    m, n = 40, 3000
    X = random_sparse(m, n, fmt, "matrix", np.float32, seed=2, density=0.9)
    y, sw, w, v = problem(m, n, seed=2)
    w *= 0.05
    ref = loop_reference(w, 0.0, X, y, sw, v, 0.0)
    loss, grad, db, h, out = run(compiled, w, 0.0, X, y, sw, 2)
    close(loss, ref[0], 1e-12)
    close(grad, ref[1], 1e-12)
    close(h, ref[3], 1e-12)


def test_X_read_in_place(kernels):
    """X's arrays are neither changed (not even unsorted or duplicate ones) nor copied."""
    for fmt in ("csr", "csc"):
        X = random_sparse(130, 9, fmt, "matrix", np.float32, (np.int64, np.int32), seed=4,
                          awkward=True)
        arrays = (X.data, X.indices, X.indptr)
        copies = [a.copy() for a in arrays]
        y, sw, w, v = problem(130, 9)
        for n_threads in (1, 2):
            run(kernels, w, 0.0, X, y, sw, n_threads)
            kernels.hessp(v, 0.0, X, sw, np.empty(9), n_threads)
        assert all(a is b for a, b in zip((X.data, X.indices, X.indptr), arrays))
        for a, b in zip(arrays, copies):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    # ~1e6 non-zeros: what the call allocates (in Python) is far below one copy of them
    rng = np.random.default_rng(0)
    m, n, per_row = 20_000, 1000, 50
    indptr = np.arange(0, m * per_row + 1, per_row, dtype=np.int32)
    X = sp.csr_matrix((rng.standard_normal(m * per_row), rng.integers(0, n, m * per_row,
                                                                       dtype=np.int32),
                       indptr), shape=(m, n))
    y, sw, w, v = problem(m, n)
    grad, h = np.empty(n), np.empty(m)
    kernels.loss_gradient(w, 0.0, X, y, sw, grad, h, 2)  # compiled, if it compiles
    tracemalloc.start()
    try:
        kernels.loss_gradient(w, 0.0, X, y, sw, grad, h, 2)
        kernels.hessp(v, 0.0, X, h, grad, 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < X.data.nbytes / 4, peak


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_wrong_shapes_raise(kernels, fmt):
    m, n = 40, 6
    X = random_sparse(m, n, fmt, seed=1)
    y, sw, w, v = problem(m, n)
    good = {"w": w, "y": y, "sw": sw, "grad": np.empty(n), "h": np.empty(m)}
    wrong = {"w": np.ones(n + 1), "y": np.ones(m - 1), "sw": np.ones(m + 1),
             "grad": np.empty(n - 1), "h": np.empty(m + 3)}
    for name in wrong:
        args = dict(good, **{name: wrong[name]})
        with pytest.raises(ValueError):
            kernels.loss_gradient(args["w"], 0.0, X, args["y"], args["sw"], args["grad"],
                                  args["h"], 1)
    for args in ((np.ones(n + 1), np.ones(m), np.empty(n)),
                 (v, np.ones(m + 1), np.empty(n)),
                 (v, np.ones(m), np.empty(n + 2))):
        with pytest.raises(ValueError):
            kernels.hessp(args[0], 0.0, X, args[1], args[2], 1)


def test_numba_sparse_rejects_what_it_cannot_read():
    kernels = load(MODULES[0])
    X = random_sparse(20, 4, seed=0)
    y, sw, w, _ = problem(20, 4)
    with pytest.raises(TypeError):
        kernels.loss_gradient(w, 0.0, X.tocoo(), y, sw, np.empty(4))
    with pytest.raises(TypeError):
        kernels.loss_gradient(w, 0.0, X.astype(np.int64), y, sw, np.empty(4))
    with pytest.raises(ValueError):  # y is needed
        kernels.loss_gradient(w, 0.0, X, None, sw, np.empty(4))
    X.indptr = X.indptr[:-1]  # inconsistent with the shape: never read past the arrays
    with pytest.raises(ValueError):
        kernels.loss_gradient(w, 0.0, X, y, sw, np.empty(4))


@pytest.mark.parametrize("case", FORMATS, ids=format_id)
@pytest.mark.parametrize("awkward", [False, True], ids=["random", "awkward"])
@pytest.mark.parametrize("n_threads", [1, 2, 7])
def test_hessian_diagonal_is_the_loops(kernels, case, awkward, n_threads):
    # Σ over the stored entries of h_i x², which is diag(Xᵀ diag(h) X) when no entry is
    # stored twice; with duplicates each counts on its own (a preconditioner, not a result)
    fmt, kind, dtype, index = case
    X = random_sparse(130, 11, fmt, kind, dtype, index, seed=5, awkward=awkward)
    h = np.random.default_rng(6).uniform(0.0, 0.25, size=130)
    expected = np.zeros(11)
    for major in range(X.indptr.size - 1):  # the stored entries, as they are stored
        for k in range(X.indptr[major], X.indptr[major + 1]):
            i, j = (major, X.indices[k]) if fmt == "csr" else (X.indices[k], major)
            expected[j] += h[i] * float(X.data[k]) ** 2
    if X.has_canonical_format:
        dense = X.toarray().astype(np.float64)
        close(expected, np.diag(dense.T @ (h[:, None] * dense)), 1e-12)
    out = np.full(11, np.nan)
    kernels.hessian_diagonal(X, h, out, n_threads)
    close(out, expected, 1e-12 if dtype == np.float64 else 1e-6)
