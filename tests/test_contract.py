"""Every implementation against the reference: shapes, orders, dtypes, edges, no mutation."""

import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import random_problem

TIGHT = dict(rtol=1e-9, atol=1e-12)


def expected(reference, w, b, X, Y):
    dw, db, cost = reference(w[:, 0].astype(float), float(b), np.asarray(X, dtype=float),
                             np.asarray(Y, dtype=float)[0])
    return np.reshape(dw, (-1, 1)), db, cost


def assert_matches(implementation, reference, w, b, X, Y, **tolerance):
    grads, cost = implementation.propagate(w, b, X, Y)
    dw, db, expected_cost = expected(reference, w, b, X, Y)
    tolerance = tolerance or TIGHT
    np.testing.assert_allclose(grads["dw"], dw, **tolerance)
    np.testing.assert_allclose(grads["db"], db, **tolerance)
    np.testing.assert_allclose(cost, expected_cost, **tolerance)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_x=st.integers(1, 24), m=st.integers(1, 40), seed=st.integers(0, 2**32 - 1),
       order=st.sampled_from("CF"))
def test_matches_reference_on_random_problems(implementation, reference, n_x, m, seed, order):
    assert_matches(implementation, reference, *random_problem(n_x, m, seed, order=order))


@pytest.mark.parametrize("n_x, m", [(1, 1), (1, 9), (9, 1), (300, 17), (17, 300)])
@pytest.mark.parametrize("order", "CF")
def test_matches_reference_at_edges_and_larger_shapes(implementation, reference, n_x, m, order):
    assert_matches(implementation, reference, *random_problem(n_x, m, seed=n_x * m, order=order))


@pytest.mark.parametrize("view", ["columns", "rows", "transposed", "reversed"])
def test_strided_and_read_only_views(implementation, reference, view):
    w, b, X, Y = random_problem(12, 30, seed=5, order="C")
    if view == "columns":
        X, Y = X[:, ::2], Y[:, ::2]
    elif view == "rows":
        X, w = X[::3, :], w[::3]
    elif view == "transposed":
        X = np.ascontiguousarray(X.T).T  # F-ordered
    else:
        X, Y = X[:, ::-1], Y[:, ::-1]
    X.setflags(write=False)
    assert_matches(implementation, reference, w, b, X, Y)


def test_float32_within_float32_tolerance(implementation, reference):
    for order in "CF":
        w, b, X, Y = random_problem(40, 60, seed=11, order=order, dtype=np.float32)
        assert X.dtype == np.float32
        assert_matches(implementation, reference, w, b, X, Y, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, bool])
def test_integer_and_bool_inputs(implementation, reference, dtype):
    rng = np.random.default_rng(4)
    X = rng.integers(0, 2, size=(5, 8)).astype(dtype)
    w = rng.integers(-2, 3, size=(5, 1)).astype(dtype if dtype is not np.uint8 else np.int64)
    Y = rng.integers(0, 2, size=(1, 8)).astype(dtype)
    assert_matches(implementation, reference, w, 1, X, Y)
    assert_matches(implementation, reference, w, np.int64(-1), X.tolist(), Y.tolist())


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_saturated_z_gives_finite_exact_cost(implementation, reference, sign):
    # |z| >= 40: the lecture's log(a) / log(1 - a) give inf/nan here; the stable form does not
    X = np.array([[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]])
    w = sign * np.array([[20.0], [40.0]])
    Y = np.array([[0.0, 1.0, 0.0, 1.0]])
    grads, cost = implementation.propagate(w, 0.0, X, Y)
    z = sign * np.array([40.0, 60.0, 80.0, 100.0])
    exact = np.mean((np.maximum(z, 0) - Y[0] * z) + np.log1p(np.exp(-np.abs(z))))
    assert np.isfinite(cost) and np.isfinite(grads["dw"]).all()
    np.testing.assert_allclose(cost, exact, rtol=1e-14)
    assert_matches(implementation, reference, w, 0.0, X, Y)


def test_no_input_is_mutated(implementation):
    w, b, X, Y = random_problem(6, 10, seed=2, order="F")
    copies = [w.copy(), X.copy(), Y.copy()]
    implementation.propagate(w, b, X, Y)
    params, grads, _ = implementation.optimize(w, b, X, Y, num_iterations=3, learning_rate=0.1)
    for original, copy in zip((w, X, Y), copies):
        np.testing.assert_array_equal(original, copy)
    assert X.flags.f_contiguous
    assert not np.shares_memory(params["w"], w) and not np.shares_memory(grads["dw"], w)


def test_optimize_matches_a_python_loop_over_the_reference(implementation, reference):
    w, b, X, Y = random_problem(7, 25, seed=8, order="F")
    num_iterations, learning_rate = 230, 0.05
    params, grads, costs = implementation.optimize(w, b, X, Y, num_iterations, learning_rate)
    w_ref, b_ref, costs_ref = w[:, 0].copy(), b, []
    for i in range(num_iterations):
        dw, db, cost = reference(w_ref, b_ref, X, Y[0])
        w_ref = w_ref - learning_rate * np.asarray(dw)
        b_ref = b_ref - learning_rate * db
        if i % 100 == 0:
            costs_ref.append(cost)
    np.testing.assert_allclose(params["w"][:, 0], w_ref, rtol=1e-9)
    np.testing.assert_allclose(params["b"], b_ref, rtol=1e-9)
    np.testing.assert_allclose(grads["dw"][:, 0], dw, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(grads["db"], db, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(costs, costs_ref, rtol=1e-10)
    assert len(costs) == 3 and all(isinstance(c, float) for c in costs)


def test_optimize_with_zero_iterations_returns_the_gradient_at_the_start(implementation,
                                                                          reference):
    w, b, X, Y = random_problem(3, 4, seed=9)
    params, grads, costs = implementation.optimize(w, b, X, Y, num_iterations=0)
    assert costs == []
    np.testing.assert_array_equal(params["w"], w)
    assert params["b"] == b
    np.testing.assert_allclose(grads["dw"], expected(reference, w, b, X, Y)[0], **TIGHT)


def test_two_threads_get_correct_results(implementation, reference):
    problems = [random_problem(50, 80, seed=s, order="CF"[s % 2]) for s in range(2)]
    results = [[], []]

    def work(k):
        for _ in range(5):
            results[k].append(implementation.propagate(*problems[k]))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread hangs"
    for k in range(2):
        assert len(results[k]) == 5
        dw, db, cost = expected(reference, *problems[k])
        for grads, c in results[k]:
            np.testing.assert_allclose(grads["dw"], dw, **TIGHT)
            np.testing.assert_allclose(c, cost, **TIGHT)
