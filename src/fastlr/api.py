"""The course's functions, in the course's notation and with its return shapes.

``X`` is an array of shape (n_x, m) — one example per column —, ``Y`` of shape (1, m)
with labels 0/1, ``w`` of shape (n_x, 1) and ``b`` a scalar. ``backend`` is one of
``"auto"`` (the fastest available; see :func:`fastlr.fastest`), ``"python"``, ``"numpy"``,
``"numba"``, ``"cython"``; ``variant`` is ``"loop"`` (the lecture's explicit for-loop),
``"vectorized"`` (the lecture's whole-array form), ``"fused"`` (the compiled backends'
one pass over X) or ``"auto"`` (the default: the fastest; see :func:`fastlr.get`).
"""

from __future__ import annotations

import numpy as np

from fastlr import validation
from fastlr.backends import numpy_
from fastlr.registry import select

# Every function here validates its arguments once, then chooses the implementation for the
# validated X (registry.select) and runs it on the checked arguments (course.Implementation's
# *_checked methods): no argument is checked twice.


def sigmoid(z):
    """Logistic function ``1 / (1 + e^-z)``, computed without overflow for any finite ``z``.

    Parameters
    ----------
    z : scalar or array_like
        The argument, a real number or an array of them.

    Returns
    -------
    s : float or ndarray of the shape of ``z``
        ``σ(z)``, in [0, 1]: a float for a scalar ``z``, else an array of ``z``'s shape.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> fastlr.sigmoid(0)
    0.5
    >>> fastlr.sigmoid(np.array([-1.0, 0.0, 1.0])).round(6).tolist()
    [0.268941, 0.5, 0.731059]
    >>> fastlr.sigmoid(-1000.0), fastlr.sigmoid(1000.0)
    (0.0, 1.0)
    """
    s = numpy_.sigmoid(z)
    return float(s) if s.ndim == 0 else s


def initialize_with_zeros(dim):
    """``w`` of shape (dim, 1) filled with zeros and ``b = 0.0``.

    Parameters
    ----------
    dim : int
        Number of features ``n_x``, at least 1.

    Returns
    -------
    w : ndarray of shape (dim, 1)
        Zeros, float64.
    b : float
        ``0.0``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> w, b = fastlr.initialize_with_zeros(2)
    >>> w
    array([[0.],
           [0.]])
    >>> b
    0.0
    """
    return np.zeros((validation.check_integer("dim", dim, minimum=1), 1)), 0.0


def propagate(w, b, X, Y, *, backend="auto", variant="auto"):
    """Cost and gradient of the cross-entropy cost, one forward and backward pass.

    Parameters
    ----------
    w : array_like of shape (n_x, 1)
        The weights.
    b : float
        The bias.
    X : array_like of shape (n_x, m)
        The examples, one per column. float64 and float32 arrays are read in place (C- or
        F-ordered, strided, read-only).
    Y : array_like of shape (1, m)
        The labels, 0 or 1.
    backend, variant : str
        Which implementation computes it (see the module docstring).

    Returns
    -------
    grads : dict
        ``{"dw": array of shape (n_x, 1), "db": float}``, the gradients of the cost.
    cost : float
        ``-(1/m) Σ [y log a + (1 - y) log(1 - a)]``, computed in the stable form
        ``(1/m) Σ [log(1 + e^z) - y z]``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    >>> Y = np.array([[1, 0, 1]])
    >>> grads, cost = fastlr.propagate(w, b, X, Y)
    >>> grads["dw"].ravel().round(6).tolist()
    [0.998456, 2.395072]
    >>> round(grads["db"], 6), round(cost, 6)
    (0.001456, 5.801545)
    """
    checked = validation.check_problem(w, b, X, Y)
    return select(backend, variant, checked[2])._propagate_checked(*checked)


def optimize(w, b, X, Y, num_iterations=100, learning_rate=0.009, print_cost=False, *,
             backend="auto", variant="auto"):
    """Gradient descent: ``w := w - learning_rate * dw``, ``b := b - learning_rate * db``.

    The caller's ``w`` and ``X`` are never modified.

    Parameters
    ----------
    w : array_like of shape (n_x, 1)
        The initial weights.
    b : float
        The initial bias.
    X : array_like of shape (n_x, m)
        The examples, one per column; must be finite. float64 and float32 arrays are read in
        place (C- or F-ordered, strided, read-only).
    Y : array_like of shape (1, m)
        The labels, 0 or 1.
    num_iterations : int, default=100
        Number of updates, at least 0 (0: no update; ``grads`` are those at ``w`` and
        ``b``).
    learning_rate : float, default=0.009
        The step, finite and at least 0.
    print_cost : bool, default=False
        Print ``Cost after iteration i: ...`` for every recorded cost (with a compiled
        training loop, when it returns).
    backend, variant : str
        Which implementation computes it (see the module docstring).

    Returns
    -------
    params : dict
        ``{"w": array of shape (n_x, 1), "b": float}`` after ``num_iterations`` updates.
    grads : dict
        ``{"dw", "db"}`` of the last iteration, computed before its update.
    costs : list of float
        The cost at every iteration ``i`` with ``i % 100 == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> w, b = np.array([[1.0], [2.0]]), 2.0
    >>> X = np.array([[1.0, 2.0, -1.0], [3.0, 4.0, -3.2]])
    >>> Y = np.array([[1, 0, 1]])
    >>> params, grads, costs = fastlr.optimize(w, b, X, Y, num_iterations=100,
    ...                                        learning_rate=0.009)
    >>> params["w"].ravel().round(6).tolist(), round(params["b"], 6)
    ([0.190336, 0.122592], 1.92536)
    >>> grads["dw"].shape, [round(cost, 6) for cost in costs]
    ((2, 1), [5.801545])
    """
    checked = validation.check_training(w, b, X, Y, num_iterations, learning_rate)
    return select(backend, variant, checked[2])._optimize_checked(*checked, print_cost)


def predict(w, b, X):
    """Labels predicted by ``(w, b)``: array of shape (1, m), 1.0 where ``σ(wᵀx + b) > 0.5``,
    else 0.0.

    Parameters
    ----------
    w : array_like of shape (n_x, 1)
        The weights.
    b : float
        The bias.
    X : array_like of shape (n_x, m)
        The examples, one per column.

    Returns
    -------
    Y_prediction : ndarray of shape (1, m)
        float64 labels: 1.0 where ``σ(wᵀx + b) > 0.5``, else 0.0.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> w, b = np.array([[0.1124579], [0.23106775]]), -0.3
    >>> X = np.array([[1.0, -1.1, -3.2], [1.2, 2.0, 0.1]])
    >>> fastlr.predict(w, b, X)
    array([[1., 1., 0.]])
    """
    w = validation.check_w(w)
    return _predict_checked(w, validation.check_b(b), validation.check_X(X, n_x=w.shape[0]))


def _predict_checked(w, b, X, name="X"):
    A = numpy_.sigmoid(np.dot(w, X) + b)
    if np.isnan(A).any():
        validation.check_result(A, 0.0, 0.0, X, name)  # names the NaN/inf in X
    return (A > 0.5).astype(np.float64).reshape(1, -1)


def accuracy(Y_prediction, Y) -> float:
    """Percentage of labels predicted right, as the course computes it.

    Parameters
    ----------
    Y_prediction : array_like of shape (1, m)
        Predicted labels, 0 or 1 (what :func:`predict` returns).
    Y : array_like of shape (1, m)
        True labels, 0 or 1.

    Returns
    -------
    accuracy : float
        ``100 - mean(|Y_prediction - Y|) * 100``, in percent.
    """
    return float(100 - np.mean(np.abs(np.asarray(Y_prediction) - np.asarray(Y))) * 100)


def model(X_train, Y_train, X_test, Y_test, num_iterations=2000, learning_rate=0.5,
          print_cost=False, *, backend="auto", variant="auto"):
    """The course's model: zeros init, ``optimize``, then ``predict`` on both sets.

    Parameters
    ----------
    X_train : array_like of shape (n_x, m_train)
        Training examples, one per column.
    Y_train : array_like of shape (1, m_train)
        Training labels, 0 or 1.
    X_test : array_like of shape (n_x, m_test)
        Test examples, one per column.
    Y_test : array_like of shape (1, m_test)
        Test labels, 0 or 1.
    num_iterations : int, default=2000
        Number of gradient-descent updates (see :func:`optimize`).
    learning_rate : float, default=0.5
        The step of gradient descent.
    print_cost : bool, default=False
        Print the cost every 100 iterations, then the train and test accuracies.
    backend, variant : str
        Which implementation trains it (see the module docstring).

    Returns
    -------
    d : dict
        The course's keys ``costs``, ``Y_prediction_test``, ``Y_prediction_train``, ``w``,
        ``b``, ``learning_rate``, ``num_iterations``, plus ``train_accuracy`` and
        ``test_accuracy`` in percent.
    """
    X_train = validation.check_X(X_train)
    w, b = initialize_with_zeros(X_train.shape[0])
    checked = validation.check_training(w, b, X_train, Y_train, num_iterations, learning_rate)
    w, b, X_train = checked[:3]
    params, grads, costs = select(backend, variant, X_train)._optimize_checked(*checked,
                                                                             print_cost)
    w, b = params["w"], params["b"]
    X_test = validation.check_X(X_test, n_x=X_train.shape[0], name="X_test")
    Y_prediction_test = _predict_checked(w[:, 0], b, X_test, "X_test")
    Y_prediction_train = _predict_checked(w[:, 0], b, X_train)
    validation.check_Y(Y_test, m=Y_prediction_test.shape[1])
    train_accuracy = accuracy(Y_prediction_train, Y_train)
    test_accuracy = accuracy(Y_prediction_test, Y_test)
    if print_cost:
        print(f"train accuracy: {train_accuracy} %")
        print(f"test accuracy: {test_accuracy} %")
    return {
        "costs": costs,
        "Y_prediction_test": Y_prediction_test,
        "Y_prediction_train": Y_prediction_train,
        "w": w,
        "b": b,
        "learning_rate": learning_rate,
        "num_iterations": num_iterations,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
    }
