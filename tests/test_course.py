"""The course's published values, through every implementation."""

import numpy as np
import pytest

import fastlr
from helpers import PUBLISHED_COSTS

W = np.array([[1.0], [2.0]])
B = 2.0
X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
Y = np.array([[1, 0, 1]])



def test_propagate_course_values(implementation):
    grads, cost = implementation.propagate(W, B, X, Y)
    assert grads["dw"].shape == (2, 1)
    assert isinstance(grads["db"], float) and isinstance(cost, float)
    np.testing.assert_allclose(grads["dw"], [[0.99845601], [2.39507239]], rtol=1e-7)
    np.testing.assert_allclose(grads["db"], 0.00145557813678, rtol=1e-9)
    np.testing.assert_allclose(cost, 5.801545319394553, rtol=1e-12)


def test_module_level_propagate_course_values(implementation):
    grads, cost = fastlr.propagate(W, B, X, Y, backend=implementation.backend,
                                   variant=implementation.variant)
    np.testing.assert_allclose(grads["dw"], [[0.99845601], [2.39507239]], rtol=1e-7)
    np.testing.assert_allclose(grads["db"], 0.00145557813678, rtol=1e-9)
    np.testing.assert_allclose(cost, 5.801545319394553, rtol=1e-12)


def test_optimize_course_values(implementation):
    params, grads, costs = implementation.optimize(W, B, X, Y, num_iterations=100,
                                                   learning_rate=0.009)
    assert params["w"].shape == (2, 1) and grads["dw"].shape == (2, 1)
    np.testing.assert_allclose(params["w"], [[0.19033591], [0.12259159]], rtol=1e-7)
    np.testing.assert_allclose(params["b"], 1.92535983008, rtol=1e-10)
    np.testing.assert_allclose(grads["dw"], [[0.67752042], [1.41625495]], rtol=1e-7)
    np.testing.assert_allclose(grads["db"], 0.219194504541, rtol=1e-10)
    assert len(costs) == 1
    np.testing.assert_allclose(costs[0], 5.801545319394553, rtol=1e-12)


def test_module_level_optimize(implementation):
    params, grads, costs = fastlr.optimize(W, B, X, Y, 100, 0.009, backend=implementation.backend,
                                           variant=implementation.variant)
    np.testing.assert_allclose(params["w"], [[0.19033591], [0.12259159]], rtol=1e-7)


def test_predict_course_values():
    w = np.array([[0.1124579], [0.23106775]])
    X_predict = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    prediction = fastlr.predict(w, -0.3, X_predict)
    assert prediction.shape == (1, 3) and prediction.dtype == np.float64
    np.testing.assert_array_equal(prediction, [[1.0, 1.0, 0.0]])


def test_initialize_with_zeros():
    w, b = fastlr.initialize_with_zeros(3)
    assert w.shape == (3, 1) and not w.any()
    assert b == 0.0 and isinstance(b, float)


@pytest.mark.parametrize("dim, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError)])
def test_initialize_with_zeros_rejects(dim, error):
    with pytest.raises(error, match="dim"):
        fastlr.initialize_with_zeros(dim)


def test_print_cost_prints_the_course_lines(implementation, capsys):
    fastlr.optimize(W, B, X, Y, 201, 0.009, print_cost=True, backend=implementation.backend,
                    variant=implementation.variant)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "Cost after iteration 0", "Cost after iteration 100", "Cost after iteration 200"
    ]
    assert lines[0] == "Cost after iteration 0: 5.801545"


def test_cat_model_reproduces_the_course(fast_implementation, course_data):
    X_train, Y_train, X_test, Y_test, classes = course_data
    assert classes == ["non-cat", "cat"]
    result = fastlr.model(X_train, Y_train, X_test, Y_test, num_iterations=2000,
                          learning_rate=0.005, backend=fast_implementation.backend,
                          variant=fast_implementation.variant)
    np.testing.assert_allclose(result["costs"], PUBLISHED_COSTS, atol=5e-7)
    assert result["train_accuracy"] == pytest.approx(99.04306220095694, abs=1e-9)
    assert result["test_accuracy"] == pytest.approx(70.0, abs=1e-9)
    assert set(result) >= {"costs", "Y_prediction_test", "Y_prediction_train", "w", "b",
                           "learning_rate", "num_iterations"}
    assert result["w"].shape == (12288, 1)
    assert result["Y_prediction_test"].shape == (1, 50)
    assert result["learning_rate"] == 0.005 and result["num_iterations"] == 2000
