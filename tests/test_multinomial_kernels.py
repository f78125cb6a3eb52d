"""The multinomial (softmax) kernels of every model module — ``multinomial_loss_gradient``
and ``multinomial_hessp`` (contract: ``fastlr.backends._numpy_model``) — against a
pure-Python loop over samples and classes, and central finite differences, on dense
C/F/strided float64/float32 and sparse CSR/CSC ``X``, with and without sample weights, on
1, 2 and 7 threads; then ``fastlr.LogisticRegression`` with more than two classes against
scikit-learn."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SklearnLR
from sklearn.preprocessing import StandardScaler

import fastlr
from helpers import MODEL_BACKENDS, load_model_or_skip

M, N = 150, 7  # 150 samples: up to 9 chunks of MIN_CHUNK_SAMPLES (16), so 7 threads run 7
LAYOUTS = ["C", "F", "strided", "csr", "csc"]
TIGHT = {"rtol": 1e-9, "atol": 1e-10}


# ------------------------------------------------------------------------------- references


def loop_loss_gradient(W, b, X, Y, sw):
    """The contract, one sample and one class at a time: ``(Σ s L, grad (K, n + 1), P)``."""
    m, n = X.shape
    K = W.shape[0]
    loss, grad, P = 0.0, np.zeros((K, n + 1)), np.zeros((m, K))
    for i in range(m):
        s = 1.0 if sw is None else float(sw[i])
        z = [float(b[k]) + sum(float(X[i, j]) * float(W[k, j]) for j in range(n))
             for k in range(K)]
        top = max(z)
        e = [math.exp(zk - top) for zk in z]
        total = sum(e)
        loss += s * (top + math.log(total) - sum(float(Y[i, k]) * z[k] for k in range(K)))
        for k in range(K):
            P[i, k] = e[k] / total
            g = s * (P[i, k] - float(Y[i, k]))
            for j in range(n):
                grad[k, j] += g * float(X[i, j])
            grad[k, n] += g
    return loss, grad, P


def loop_hessp(V, vb, X, P, sw):
    """``[Tᵀ X, Σ T]``, ``T_i = s P_i ⊙ (Zv_i − P_i·Zv_i)``, one sample and class at a time."""
    m, n = X.shape
    K = V.shape[0]
    out = np.zeros((K, n + 1))
    for i in range(m):
        s = 1.0 if sw is None else float(sw[i])
        zv = [float(vb[k]) + sum(float(X[i, j]) * float(V[k, j]) for j in range(n))
              for k in range(K)]
        mean = sum(float(P[i, k]) * zv[k] for k in range(K))
        for k in range(K):
            t = s * float(P[i, k]) * (zv[k] - mean)
            for j in range(n):
                out[k, j] += t * float(X[i, j])
            out[k, n] += t
    return out


_references = {}


def reference(K, weighted, dtype):
    """The problem's arguments and the loop's results, computed once per combination."""
    key = (K, weighted, np.dtype(dtype).char)
    if key not in _references:
        rng = np.random.default_rng(K * 10 + weighted)
        dense = rng.standard_normal((M, N)) * (rng.random((M, N)) < 0.6)  # zeros: sparse too
        dense[5] = 0.0  # an empty row
        dense[:, 2] = 0.0  # an empty column
        dense = dense.astype(dtype)
        W = rng.standard_normal((K, N)) * 0.7
        b = rng.standard_normal(K) * 0.5
        Y = np.eye(K)[rng.integers(0, K, M)]
        sw = rng.uniform(0.2, 2.0, M) if weighted else None
        V = rng.standard_normal((K, N))
        vb = rng.standard_normal(K)
        loss, grad, P = loop_loss_gradient(W, b, dense, Y, sw)
        _references[key] = (dense, W, b, Y, sw, V, vb, loss, grad, P,
                            loop_hessp(V, vb, dense, P, sw))
    return _references[key]


def layout(dense, kind):
    """``dense`` as ``kind``: C, F, a strided view, or a CSR/CSC matrix (read in place)."""
    if kind == "C":
        return np.ascontiguousarray(dense)
    if kind == "F":
        return np.asfortranarray(dense)
    if kind == "strided":
        big = np.zeros((2 * dense.shape[0], 3 * dense.shape[1]), dtype=dense.dtype)
        big[::2, ::3] = dense
        return big[::2, ::3]
    return sp.csr_matrix(dense) if kind == "csr" else sp.csc_matrix(dense)


def tolerance(module, dtype):
    """NumPy's reference makes float32 X's products in float32 (as NumPy's own do); the
    compiled kernels read float32 and accumulate in float64."""
    if dtype == np.float32 and module.__name__.endswith("_numpy_model"):
        return {"rtol": 2e-5, "atol": 2e-5}
    return TIGHT


@pytest.fixture(params=MODEL_BACKENDS)
def kernels(request):
    return load_model_or_skip(request.param)


# ------------------------------------------------------------------------------- the kernels


@pytest.mark.parametrize("K", [3, 10])
@pytest.mark.parametrize("weighted", [False, True], ids=["unit", "weighted"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("n_threads", [1, 2, 7])
def test_kernels_match_the_loop(kernels, kind, dtype, weighted, K, n_threads):
    dense, W, b, Y, sw, V, vb, loss, grad, P, hv = reference(K, weighted, dtype)
    X = layout(dense, kind)
    close = tolerance(kernels, dtype)
    got_grad = np.full((K, N + 1), np.nan)
    got_P = np.full((M, K), np.nan)
    got = kernels.multinomial_loss_gradient(W, b, X, Y, sw, got_grad, got_P, n_threads)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, loss, **close)
    np.testing.assert_allclose(got_grad, grad, **close)
    np.testing.assert_allclose(got_P, P, **close)
    # without P: the same loss and gradient
    again = np.full((K, N + 1), np.nan)
    assert kernels.multinomial_loss_gradient(W, b, X, Y, sw, again, None, n_threads) == \
        pytest.approx(loss, rel=close["rtol"])
    np.testing.assert_allclose(again, grad, **close)
    out = np.full((K, N + 1), np.nan)
    assert kernels.multinomial_hessp(V, vb, X, got_P, sw, out, n_threads) is None
    np.testing.assert_allclose(out, hv, **close)


def assert_derivatives(kernels, X, K, sw, n_threads, seed):
    """The gradient is the loss's derivative and the Hessian product the gradient's, by
    central differences in every coefficient (W and b) and along a random direction."""
    m, n = X.shape
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((K, n)) * 0.5
    b = rng.standard_normal(K) * 0.5
    Y = np.eye(K)[rng.integers(0, K, m)]

    def loss_grad(theta, P=None):
        grad = np.empty((K, n + 1))
        value = kernels.multinomial_loss_gradient(
            theta[:, :n], theta[:, n], X, Y, sw, grad, P, n_threads)
        return value, grad

    theta = np.column_stack([W, b])
    P = np.empty((m, K))
    _, grad = loss_grad(theta, P)
    eps = 1e-6
    numeric = np.empty_like(theta)
    for index in np.ndindex(theta.shape):
        step = np.zeros_like(theta)
        step[index] = eps
        numeric[index] = (loss_grad(theta + step)[0] - loss_grad(theta - step)[0]) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)
    direction = rng.standard_normal(theta.shape)
    out = np.empty((K, n + 1))
    kernels.multinomial_hessp(direction[:, :n], direction[:, n], X, P, sw, out, n_threads)
    numeric_hv = (loss_grad(theta + eps * direction)[1]
                  - loss_grad(theta - eps * direction)[1]) / (2 * eps)
    np.testing.assert_allclose(out, numeric_hv, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("K", [3, 10])
@pytest.mark.parametrize("kind", LAYOUTS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unit", "weighted"])
@pytest.mark.parametrize("n_threads", [1, 7])
def test_gradient_and_hessian_product_are_the_derivatives(kernels, kind, weighted, K,
                                                          n_threads):
    dense = reference(K, weighted, np.float64)[0]
    sw = np.random.default_rng(1).uniform(0.2, 2.0, M) if weighted else None
    assert_derivatives(kernels, layout(dense, kind), K, sw, n_threads, seed=K)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sparse_structure_read_as_toarray(kernels, fmt, n_threads):
    """Unsorted indices, duplicates (added), explicit zeros, int64 indices, float32 data."""
    rng = np.random.default_rng(3)
    major, minor = (140, 6) if fmt == "csr" else (6, 140)
    indptr, indices = [0], []
    for i in range(major):
        count = 0 if i % 9 == 4 else int(rng.integers(1, 5))
        indices += rng.integers(0, minor, count).tolist()  # unsorted, with duplicates
        indptr.append(len(indices))
    data = rng.standard_normal(len(indices)).astype(np.float32)
    data[::7] = 0.0  # explicit zeros
    cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
    X = cls((data, np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
            shape=(140, 6))
    assert not X.has_canonical_format
    K = 4
    W = rng.standard_normal((K, 6))
    b = rng.standard_normal(K)
    Y = np.eye(K)[rng.integers(0, K, 140)]
    sw = rng.uniform(0.5, 1.5, 140)
    dense = X.astype(np.float64).toarray()  # duplicates added in float64, as the kernels do
    loss, grad, P = loop_loss_gradient(W, b, dense, Y, sw)
    got_grad, got_P = np.empty((K, 7)), np.empty((140, K))
    close = tolerance(kernels, np.float32)
    np.testing.assert_allclose(
        kernels.multinomial_loss_gradient(W, b, X, Y, sw, got_grad, got_P, n_threads),
        loss, **close)
    np.testing.assert_allclose(got_grad, grad, **close)
    np.testing.assert_allclose(got_P, P, **close)
    V, vb = rng.standard_normal((K, 6)), rng.standard_normal(K)
    out = np.empty((K, 7))
    kernels.multinomial_hessp(V, vb, X, got_P, sw, out, n_threads)
    np.testing.assert_allclose(out, loop_hessp(V, vb, dense, P, sw), **close)


@pytest.mark.parametrize("kind", ["C", "F", "csr"])
def test_large_scores_are_stable_and_nan_propagates(kernels, kind):
    rng = np.random.default_rng(4)
    dense = rng.standard_normal((64, 5))
    W = rng.standard_normal((3, 5)) * 400.0  # scores of thousands: e^z overflows
    b = np.array([0.0, 500.0, -500.0])
    Y = np.eye(3)[rng.integers(0, 3, 64)]
    loss, grad, P = loop_loss_gradient(W, b, dense, Y, None)
    got_grad, got_P = np.empty((3, 6)), np.empty((64, 3))
    got = kernels.multinomial_loss_gradient(W, b, layout(dense, kind), Y, None, got_grad,
                                            got_P, 2)
    assert np.isfinite(got) and np.isfinite(got_grad).all()
    np.testing.assert_allclose(got, loss, rtol=1e-9)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got_P, P, rtol=1e-9, atol=1e-300)
    dense[10, 3] = np.nan
    assert np.isnan(kernels.multinomial_loss_gradient(W, b, layout(dense, kind), Y, None,
                                                      got_grad, None, 2))


def test_arguments_are_checked_before_any_compiled_loop(kernels):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 5))
    W, b, Y = rng.standard_normal((3, 5)), np.zeros(3), np.eye(3)[rng.integers(0, 3, 40)]
    grad, P = np.empty((3, 6)), np.empty((40, 3))
    run = kernels.multinomial_loss_gradient
    for bad in [dict(W=W[:, :4]), dict(b=np.zeros(2)), dict(Y=Y[:30]), dict(Y=Y[:, :2]),
                dict(sw=np.ones(39)), dict(grad=np.empty((3, 5))), dict(grad=np.empty(18)),
                dict(grad=np.empty((6, 3)).T), dict(grad=np.empty((3, 6), np.float32)),
                dict(P=np.empty((40, 2))), dict(P=np.empty((3, 40)).T)]:
        args = dict(W=W, b=b, X=X, Y=Y, sw=None, grad=grad, P=P) | bad
        with pytest.raises(ValueError):
            run(args["W"], args["b"], args["X"], args["Y"], args["sw"], args["grad"],
                args["P"], 2)
    with pytest.raises(TypeError):
        run(W, b, X.astype(np.int64), Y, None, grad, None, 1)
    with pytest.raises(ValueError):
        kernels.multinomial_hessp(W, b, X, None, None, grad, 1)
    with pytest.raises(ValueError):
        kernels.multinomial_hessp(W, b, X, P[:20], None, grad, 1)
    with pytest.raises(ValueError):
        kernels.multinomial_hessp(W, b, sp.csr_matrix(X), P, None, np.empty((3, 5)), 1)


# ------------------------------------------------------------------------------ the estimator


def _problem(n_classes):
    X, y = make_classification(900, 12, n_informative=9, n_redundant=0, n_classes=n_classes,
                               n_clusters_per_class=1, random_state=n_classes)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
@pytest.mark.parametrize("n_classes", [3, 10])
@pytest.mark.parametrize("kind", ["dense", "csr", "csc"])
def test_estimator_is_scikit_learns_multinomial_model(backend, n_classes, kind, monkeypatch):
    kernels = load_model_or_skip(backend)
    X, y = _problem(n_classes)
    if kind != "dense":
        X = np.where(np.abs(X) < 0.5, 0.0, X)  # about 40 % zeros
        data = sp.csr_matrix(X) if kind == "csr" else sp.csc_matrix(X)
    else:
        data = X
    calls = {"loss": 0, "hessp": 0}

    def counted(name, kernel):
        def wrapper(*args):
            calls[name] += 1
            return kernel(*args)
        return wrapper

    monkeypatch.setattr(kernels, "multinomial_loss_gradient",
                        counted("loss", kernels.multinomial_loss_gradient))
    monkeypatch.setattr(kernels, "multinomial_hessp",
                        counted("hessp", kernels.multinomial_hessp))
    ours = fastlr.LogisticRegression(tol=1e-10, backend=backend).fit(data, y)
    theirs = SklearnLR(tol=1e-12, max_iter=10000).fit(X, y)
    assert ours.backend_ == backend and ours.coef_.shape == (n_classes, 12)
    stats = ours.fit_stats_
    assert stats["evaluations"] == calls["loss"] > 0, (stats, calls)
    assert stats["products"] == calls["hessp"], (stats, calls)
    assert stats["kernel_seconds"] > 0.0
    scale = np.abs(theirs.coef_).max()
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5, atol=1e-6 * scale)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-5,
                               atol=1e-6 * scale)


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
def test_estimator_multinomial_with_weights_and_threads(backend):
    load_model_or_skip(backend)
    X, y = _problem(4)
    sw = np.random.default_rng(6).uniform(0.2, 3.0, len(y))
    theirs = SklearnLR(tol=1e-12, max_iter=10000).fit(X, y, sample_weight=sw)
    for n_threads in (1, 2):
        for solver in ("lbfgs", "newton-cg"):
            ours = fastlr.LogisticRegression(tol=1e-10, backend=backend, solver=solver,
                                             n_threads=n_threads, max_iter=1000)
            ours.fit(np.asfortranarray(X), y, sample_weight=sw)
            scale = np.abs(theirs.coef_).max()
            np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5,
                                       atol=1e-6 * scale)
