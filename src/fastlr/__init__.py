"""fastlr: logistic regression as a neural network — the lecture's loop and vectorized
gradient descent in pure Python, NumPy, Numba and Cython, behind one interface.

>>> import fastlr
>>> w, b = fastlr.initialize_with_zeros(2)
>>> grads, cost = fastlr.propagate(w, b, [[1., 2.], [3., 4.]], [[1, 0]])
>>> round(cost, 6)
0.693147

Importing fastlr imports no numba and compiles nothing: backends load when first used.
``fastlr.LogisticRegression`` (scikit-learn's estimator API; needs the ``sklearn`` extra:
``pip install "fastlr-vectorized[sklearn]"``) is imported the first time it is used.
"""

from fastlr.api import (
    accuracy,
    initialize_with_zeros,
    model,
    optimize,
    predict,
    propagate,
    sigmoid,
)
from fastlr.course import Implementation
from fastlr.registry import (
    BackendUnavailable,
    ImplementationInfo,
    fastest,
    get,
    implementations,
    tune,
)
from fastlr.threads import get_num_threads, set_num_threads

__version__ = "0.2.0"  # the one place: pyproject.toml reads it from here

__all__ = [
    "BackendUnavailable",
    "LogisticRegression",
    "LogisticRegressionCV",
    "Implementation",
    "ImplementationInfo",
    "accuracy",
    "fastest",
    "get",
    "get_num_threads",
    "implementations",
    "initialize_with_zeros",
    "l1_path",
    "model",
    "optimize",
    "predict",
    "propagate",
    "set_num_threads",
    "sigmoid",
    "tune",
]


#: the estimators (and the L1 path), each imported (with scikit-learn) the first time it is
#: asked for
_ESTIMATORS = {"LogisticRegression": "fastlr.estimator", "LogisticRegressionCV": "fastlr.cv",
               "l1_path": "fastlr.path"}


def __getattr__(name):
    if name in _ESTIMATORS:  # scikit-learn is imported only when asked for
        import importlib

        try:
            estimator = getattr(importlib.import_module(_ESTIMATORS[name]), name)
        except ImportError as error:
            from fastlr._install import pip_install

            raise ImportError(
                f"fastlr.{name} needs scikit-learn, an optional dependency: "
                f"{pip_install('sklearn')} ({error})") from error
        globals()[name] = estimator
        return estimator
    raise AttributeError(f"module 'fastlr' has no attribute {name!r}")
