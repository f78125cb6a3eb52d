"""The estimator's kernels (every backend with a ``model_module``) against references
written to be obviously right: a pure-Python loop over the samples for the passes, finite
differences for the objective's gradient and Hessian–vector product."""

import math

import numpy as np
import pytest

from fastlr import objective
from helpers import MODEL_BACKENDS, load_model_or_skip


def loop_reference(w, b, X, y, sw):
    """``(Σ s L, Σ s dz x, Σ s dz, h)`` one sample at a time, in plain Python floats."""
    m, n = X.shape
    loss, db, grad, h = 0.0, 0.0, [0.0] * n, []
    for i in range(m):
        z = b + sum(float(X[i, j]) * float(w[j]) for j in range(n))
        a = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        loss += sw[i] * ((max(z, 0.0) - y[i] * z) + math.log1p(math.exp(-abs(z))))
        dz = sw[i] * (a - y[i])
        db += dz
        for j in range(n):
            grad[j] += dz * float(X[i, j])
        h.append(sw[i] * a * (1.0 - a))
    return loss, np.array(grad), db, np.array(h)


def data(m, n, seed, order="C", dtype=np.float64, view=False):
    rng = np.random.default_rng(seed)
    X = np.asarray(rng.standard_normal((2 * m, 3 * n) if view else (m, n)), dtype=dtype,
                   order=order)
    if view:
        X = X[::2, ::3]  # neither C- nor F-contiguous
    y = (rng.random(m) < 0.4).astype(np.float64)
    sw = rng.uniform(0.1, 2.0, m)
    w = rng.standard_normal(n) * 0.5
    return X, y, sw, w


LAYOUTS = [("C", np.float64, False), ("F", np.float64, False), ("C", np.float64, True),
           ("C", np.float32, False), ("F", np.float32, False)]
LAYOUT_IDS = ["C", "F", "strided", "C-float32", "F-float32"]
#: samples × features: fewer than a tile, tall, wide (several 8-sample sweeps in C order)
SHAPES = [(5, 3), (157, 11), (37, 1100)]


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("n_threads", [1, 2])
def test_passes_equal_the_loop(backend, layout, shape, n_threads):
    kernels = load_model_or_skip(backend)
    order, dtype, view = layout
    X, y, sw, w = data(*shape, seed=shape[0], order=order, dtype=dtype, view=view)
    before = X.copy()
    grad, h = np.empty(shape[1]), np.empty(shape[0])
    loss, db = kernels.loss_gradient(w, 0.3, X, y, sw, grad, h, n_threads)
    loss_ref, grad_ref, db_ref, h_ref = loop_reference(w, 0.3, X, y, sw)
    tight = {"rtol": 1e-11, "atol": 1e-11}
    if dtype == np.float32 and backend == "numpy":  # NumPy's products accumulate in float32
        tight = {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(loss, loss_ref, **tight)
    np.testing.assert_allclose(grad, grad_ref, **tight)
    np.testing.assert_allclose(db, db_ref, **tight)
    np.testing.assert_allclose(h, h_ref, **tight)
    v = np.linspace(-1.0, 1.0, shape[1])
    out = np.empty(shape[1])
    _, vb_sum = kernels.hessp(v, -0.2, X, h_ref, out, n_threads)
    Xd = np.asarray(X, dtype=np.float64)
    t = h_ref * (Xd @ v - 0.2)
    np.testing.assert_allclose(out, Xd.T @ t, **tight)
    np.testing.assert_allclose(vb_sum, t.sum(), **tight)
    np.testing.assert_array_equal(X, before)  # the caller's X is not changed


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
def test_loss_gradient_without_hessian_and_saturated_samples(backend):
    kernels = load_model_or_skip(backend)
    X = np.array([[800.0], [-800.0], [40.0], [-40.0]])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    grad = np.empty(1)
    loss, db = kernels.loss_gradient(np.ones(1), 0.0, X, y, np.ones(4), grad, None, 1)
    # L(800, 0) = L(-800, 1) = 800 exactly (no overflow); L(±40, right label) = e^-40
    np.testing.assert_allclose(loss, 1600.0 + 2 * math.exp(-40.0), rtol=1e-15)
    np.testing.assert_allclose(db, 0.0, atol=1e-17)  # 1 - 1 - e^-40 + e^-40
    np.testing.assert_allclose(grad, [800.0 + 800.0], rtol=1e-15)


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_objective_gradient_and_hessian_are_the_derivatives(backend, fit_intercept):
    """Central differences of f and ∇f (independent of the kernels' own algebra)."""
    kernels = load_model_or_skip(backend)
    X, y, sw, _ = data(40, 6, seed=3)
    problem = objective.Binary(X, y, sw, l2=0.05, fit_intercept=fit_intercept,
                               kernels=kernels, n_threads=1)
    rng = np.random.default_rng(4)
    x = rng.standard_normal(problem.size) * 0.3
    f, g = problem.loss_gradient(x, hessian=True)
    eps = 1e-6
    basis = np.eye(problem.size)
    numeric = [(problem.loss_gradient(x + eps * e)[0] - problem.loss_gradient(x - eps * e)[0])
               / (2 * eps) for e in basis]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)
    v = rng.standard_normal(problem.size)
    numeric_hv = (problem.loss_gradient(x + eps * v)[1]
                  - problem.loss_gradient(x - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(problem.hessp(v), numeric_hv, rtol=1e-6, atol=1e-9)


def test_multinomial_gradient_and_hessian_are_the_derivatives():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 4))
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    problem = objective.Multinomial(X, Y, rng.uniform(0.5, 1.5, 30), l2=0.1,
                                    fit_intercept=True)
    x = rng.standard_normal(problem.size) * 0.3
    _, g = problem.loss_gradient(x, hessian=True)
    eps = 1e-6
    numeric = [(problem.loss_gradient(x + eps * e)[0] - problem.loss_gradient(x - eps * e)[0])
               / (2 * eps) for e in np.eye(problem.size)]
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)
    v = rng.standard_normal(problem.size)
    numeric_hv = (problem.loss_gradient(x + eps * v)[1]
                  - problem.loss_gradient(x - eps * v)[1]) / (2 * eps)
    np.testing.assert_allclose(problem.hessp(v), numeric_hv, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", [b for b in MODEL_BACKENDS if b != "numpy"])
def test_compiled_kernels_reject_mismatched_shapes(backend):
    kernels = load_model_or_skip(backend)
    X, y, sw, w = data(10, 3, seed=0)
    with pytest.raises((ValueError, IndexError, TypeError)):
        kernels.loss_gradient(w[:2], 0.0, X, y, sw, np.empty(2), None, 1)
