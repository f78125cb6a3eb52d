"""Every bad input raises the documented error, naming the argument, for every implementation."""

import numpy as np
import pytest

import fastlr

W = np.array([[1.0], [2.0]])
X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
Y = np.array([[1.0, 0.0, 1.0]])


def with_value(array, index, value):
    changed = np.array(array, dtype=float)
    changed[index] = value
    return changed


# (case id, arguments that differ from the good ones, error type, words the message holds)
BAD_PROBLEMS = [
    ("X 1-D", dict(X=X[0]), ValueError, ["X must be 2-D", "(n_x, m)", "got 1-D"]),
    ("X 3-D", dict(X=X[None]), ValueError, ["X must be 2-D", "got 3-D"]),
    ("X rows do not fit w", dict(X=X[:1]),
     ValueError, ["X must have shape (n_x, m) = (2, m)", "(1, 3)"]),
    ("m = 0", dict(X=X[:, :0], Y=Y[:, :0]), ValueError, ["X must have at least one", "(2, 0)"]),
    ("n_x = 0", dict(w=W[:0], X=X[:0]), ValueError, ["w must have shape (n_x, 1)", "(0, 1)"]),
    ("X NaN", dict(X=with_value(X, (1, 2), np.nan)),
     ValueError, ["X must be finite", "X[1, 2] = nan"]),
    ("X inf", dict(X=with_value(X, (0, 0), np.inf)),
     ValueError, ["X must be finite", "X[0, 0] = inf"]),
    ("X -inf", dict(X=with_value(X, (0, 1), -np.inf)), ValueError, ["X must be finite", "-inf"]),
    ("X NaN where w = 0 and the example is saturated",
     dict(w=np.array([[0.0], [50.0]]), X=with_value(X, (0, 0), np.nan),
          Y=np.array([[1.0, 1.0, 0.0]])),
     ValueError, ["X must be finite"]),
    ("X complex", dict(X=X.astype(complex)),
     TypeError, ["X must be an array of real numbers", "complex128"]),
    ("X strings", dict(X=X.astype(str)), TypeError, ["X must be an array of real numbers", "<U"]),
    ("X objects", dict(X=X.astype(object)),
     TypeError, ["X must be an array of real numbers", "object"]),
    ("X ragged", dict(X=[[1.0, 2.0], [3.0]]), TypeError, ["X must be an array of real numbers"]),
    ("w 1-D", dict(w=W[:, 0]), ValueError, ["w must be 2-D with shape (n_x, 1)", "got 1-D"]),
    ("w a row", dict(w=W.T), ValueError, ["w must have shape (n_x, 1)", "(1, 2)"]),
    ("w NaN", dict(w=with_value(W, (0, 0), np.nan)), ValueError, ["w must be finite"]),
    ("w inf", dict(w=with_value(W, (1, 0), np.inf)), ValueError, ["w must be finite"]),
    ("w complex", dict(w=W + 1j), TypeError, ["w must be an array of real numbers"]),
    ("b NaN", dict(b=np.nan), ValueError, ["b must be finite", "nan"]),
    ("b inf", dict(b=-np.inf), ValueError, ["b must be finite", "-inf"]),
    ("b an array", dict(b=np.array([2.0])), TypeError, ["b must be a real scalar", "shape (1,)"]),
    ("b a list", dict(b=[2.0]), TypeError, ["b must be a real scalar", "list"]),
    ("b a string", dict(b="2"), TypeError, ["b must be a real scalar", "str"]),
    ("b complex", dict(b=2 + 0j), TypeError, ["b must be a real scalar", "complex"]),
    ("Y 1-D", dict(Y=Y[0]), ValueError, ["Y must be 2-D with shape (1, m)", "got 1-D"]),
    ("Y a column", dict(Y=Y.T), ValueError, ["Y must have shape (1, m) = (1, 3)", "(3, 1)"]),
    ("Y too short", dict(Y=Y[:, :2]), ValueError, ["Y must have shape (1, m) = (1, 3)", "(1, 2)"]),
    ("Y NaN", dict(Y=with_value(Y, (0, 1), np.nan)),
     ValueError, ["Y must hold labels 0 or 1", "nan"]),
    ("Y label 2", dict(Y=with_value(Y, (0, 1), 2)),
     ValueError, ["Y must hold labels 0 or 1", "2.0"]),
    ("Y label -1", dict(Y=with_value(Y, (0, 1), -1)), ValueError, ["Y must hold labels 0 or 1"]),
    ("Y label 0.5", dict(Y=with_value(Y, (0, 1), 0.5)), ValueError, ["Y must hold labels 0 or 1"]),
    ("Y strings", dict(Y=np.array([["1", "0", "1"]])),
     TypeError, ["Y must be an array of real numbers"]),
]

BAD_TRAINING = [
    ("learning_rate negative", dict(learning_rate=-0.1),
     ValueError, ["learning_rate must be finite and >= 0", "-0.1"]),
    ("learning_rate NaN", dict(learning_rate=np.nan),
     ValueError, ["learning_rate must be finite"]),
    ("learning_rate inf", dict(learning_rate=np.inf),
     ValueError, ["learning_rate must be finite"]),
    ("learning_rate a string", dict(learning_rate="0.1"),
     TypeError, ["learning_rate must be a real number", "str"]),
    ("learning_rate an array", dict(learning_rate=np.array([0.1])),
     TypeError, ["learning_rate must be a real number"]),
    ("num_iterations negative", dict(num_iterations=-1),
     ValueError, ["num_iterations must be >= 0", "-1"]),
    ("num_iterations a float", dict(num_iterations=10.0),
     TypeError, ["num_iterations must be an integer", "float"]),
    ("num_iterations a bool", dict(num_iterations=True),
     TypeError, ["num_iterations must be an integer"]),
    ("num_iterations a string", dict(num_iterations="10"),
     TypeError, ["num_iterations must be an integer"]),
]


def ids(cases):
    return [case[0] for case in cases]


@pytest.mark.parametrize("case, changes, error, words", BAD_PROBLEMS, ids=ids(BAD_PROBLEMS))
def test_bad_problem_raises_in_propagate_and_optimize(implementation, case, changes, error, words):
    arguments = dict(w=W, b=2.0, X=X, Y=Y) | changes
    for call in (implementation.propagate, implementation.optimize):
        with pytest.raises(error) as raised:
            call(**arguments)
        for word in words:
            assert word in str(raised.value), f"{word!r} not in {str(raised.value)!r}"


@pytest.mark.parametrize("case, changes, error, words", BAD_TRAINING, ids=ids(BAD_TRAINING))
def test_bad_training_settings_raise(implementation, case, changes, error, words):
    arguments = dict(w=W, b=2.0, X=X, Y=Y, num_iterations=5, learning_rate=0.01) | changes
    with pytest.raises(error) as raised:
        implementation.optimize(**arguments)
    for word in words:
        assert word in str(raised.value)


def test_good_scalars_of_every_kind_are_accepted(implementation):
    for b in (2, 2.0, np.float32(2.0), np.int8(2), np.array(2.0), True):
        implementation.propagate(W, b, X, Y)
    implementation.optimize(W, 2.0, X, Y, num_iterations=np.int64(2),
                            learning_rate=np.float32(0.1))
    implementation.optimize(W, 2.0, X, Y, num_iterations=1, learning_rate=0)


def test_predict_validates_too():
    with pytest.raises(ValueError, match="X must have shape"):
        fastlr.predict(W, 0.0, X[:1])
    with pytest.raises(ValueError, match="X must be finite"):
        fastlr.predict(W, 0.0, with_value(X, (0, 0), np.nan))
    with pytest.raises(TypeError, match="b must be a real scalar"):
        fastlr.predict(W, [0.0], X)


def test_overflow_is_an_error_not_a_silent_nan(implementation):
    huge = np.array([[1e308, -1e308, 1e308]])
    with pytest.raises(ValueError, match="overflowed"):
        implementation.propagate(np.array([[10.0]]), 0.0, huge, Y)
