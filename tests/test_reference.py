"""The reference (pure-Python loop) against mathematics it does not share code with."""

import math
import warnings

import numpy as np
import pytest

import fastlr
from helpers import random_problem


def course_cost(w, b, X, Y):
    """The lecture's cost formula, written independently of fastlr (finite for moderate z)."""
    A = 1 / (1 + np.exp(-(w.T @ X + b)))
    return float(-np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A)))


@pytest.mark.parametrize("seed", range(5))
def test_reference_against_central_differences(reference, seed):
    w, b, X, Y = random_problem(n_x=4, m=7, seed=seed)
    dw, db, cost = reference(w[:, 0], b, X, Y[0])
    h = 1e-6

    def J(w_vector, b_value):
        return reference(w_vector, b_value, X, Y[0])[2]

    numeric_dw = [
        (J(w[:, 0] + h * e, b) - J(w[:, 0] - h * e, b)) / (2 * h) for e in np.eye(len(w))
    ]
    numeric_db = (J(w[:, 0], b + h) - J(w[:, 0], b - h)) / (2 * h)
    np.testing.assert_allclose(dw, numeric_dw, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(db, numeric_db, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(cost, course_cost(w, b, X, Y), rtol=1e-12)


def test_reference_closed_form_at_zero(reference):
    # w = 0, b = 0: every a = 1/2, so J = log 2, dz = 1/2 - y, dw = X (1/2 - Y)ᵀ / m
    _, _, X, Y = random_problem(n_x=3, m=5, seed=1)
    dw, db, cost = reference(np.zeros(3), 0.0, X, Y[0])
    np.testing.assert_allclose(cost, math.log(2), rtol=1e-15)
    np.testing.assert_allclose(dw, X @ (0.5 - Y[0]) / 5, rtol=1e-13)
    np.testing.assert_allclose(db, np.mean(0.5 - Y), rtol=1e-13)


@pytest.mark.parametrize("z", [40.0, 100.0, 745.0, 1e5])
def test_reference_saturated_closed_form(reference, z):
    # one example with w·x + b = ±z: L = log(1 + e^z) - y z, exactly z or e^-z-ish
    X = np.array([[1.0, -1.0, 1.0, -1.0]])
    Y = np.array([1.0, 1.0, 0.0, 0.0])
    dw, db, cost = reference(np.array([z]), 0.0, X, Y)
    # losses: y=1,z -> log1p(e^-z); y=1,-z -> z + log1p(e^-z); y=0,z -> z + ...; y=0,-z -> ...
    tail = math.log1p(math.exp(-z))
    np.testing.assert_allclose(cost, (2 * z + 4 * tail) / 4, rtol=1e-15)
    assert math.isfinite(cost)
    a_neg = math.exp(-z) / (1 + math.exp(-z))  # σ(-z) without overflow
    dz = [1 / (1 + math.exp(-z)) - 1, a_neg - 1, 1 / (1 + math.exp(-z)), a_neg]
    np.testing.assert_allclose(db, sum(dz) / 4, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dw, [np.dot(X[0], dz) / 4], rtol=1e-12, atol=1e-300)


def test_stable_cost_equals_the_lectures_formula_where_that_is_finite(reference):
    # |z| up to ~15 here: log(1 - a) loses digits as a -> 1, so the lecture's form is the
    # less accurate of the two; they agree to its accuracy
    w, b, X, Y = random_problem(n_x=6, m=20, seed=3, scale=3.0)
    np.testing.assert_allclose(reference(w[:, 0], b, X, Y[0])[2], course_cost(w, b, X, Y),
                               rtol=1e-8)


def test_sigmoid_values_and_no_warning():
    z = np.array([-1e308, -1000.0, -40.0, -1.0, 0.0, 1.0, 40.0, 1000.0, 1e308])
    with np.errstate(over="raise", invalid="raise", divide="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (underflow to 0 is exact enough)
        s = fastlr.sigmoid(z)
    expected = [0.0, 0.0, math.exp(-40) / (1 + math.exp(-40)), 1 / (1 + math.e), 0.5,
                1 / (1 + math.exp(-1)), 1 / (1 + math.exp(-40)), 1.0, 1.0]
    np.testing.assert_allclose(s, expected, rtol=1e-15, atol=0)
    assert fastlr.sigmoid(0) == 0.5 and isinstance(fastlr.sigmoid(0.0), float)
    assert fastlr.sigmoid([[0.0, 0.0]]).shape == (1, 2)
