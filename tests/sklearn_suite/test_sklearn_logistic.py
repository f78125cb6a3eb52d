"""scikit-learn's own ``sklearn/linear_model/tests/test_logistic.py``, run against
``fastlr.LogisticRegression`` (and ``fastlr.cv.LogisticRegressionCV``): fastlr's
acceptance test.

The file is the one of the installed scikit-learn (never a copy): it is loaded under
another module name (with pytest's assertion rewriting), then the names its tests use are
pointed at fastlr's estimators — its globals, and the estimator classes inside its
``parametrize`` marks (evaluated at import) — and its tests are re-exported here for pytest
to collect, with their marks and the file's ``pytestmark``. Its ``SOLVERS`` (the solvers
that some tests loop over in their bodies) drops the solvers fastlr refuses; the
parametrized cases of those solvers are skipped by conftest.py, which holds the skip list
and the known failures, each with its reason.
"""

import importlib.util
import sys
from pathlib import Path

import pytest

import fastlr
from fastlr.sklearn_api import REFUSED

pytest.importorskip("sklearn")

MODULE = "fastlr_tests_sklearn_test_logistic"


def _source():
    locations = importlib.util.find_spec("sklearn").submodule_search_locations
    for location in locations:
        path = Path(location) / "linear_model" / "tests" / "test_logistic.py"
        if path.is_file():
            return path
    pytest.skip(f"scikit-learn's tests are not installed (no linear_model/tests/"
                f"test_logistic.py under {list(locations)})", allow_module_level=True)


def _load(path):
    """The module at ``path`` as ``MODULE``; its asserts rewritten as pytest's are when
    pytest's assertion rewriting is on (the failures then show the compared values)."""
    rewriter = next((finder for finder in sys.meta_path
                     if type(finder).__name__ == "AssertionRewritingHook"), None)
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=rewriter)
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # no rewritten .pyc into scikit-learn's folder
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[MODULE]
        raise
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module


def _cv_or_placeholder():
    """fastlr's LogisticRegressionCV, or a stand-in whose construction skips the test."""
    try:
        from fastlr.cv import LogisticRegressionCV
    except ImportError as error:
        reason = f"fastlr.cv.LogisticRegressionCV cannot be imported ({error})"

        class LogisticRegressionCV:  # the name: the parametrization ids stay the same
            def __init__(self, *args, **kwargs):
                pytest.skip(reason)

    return LogisticRegressionCV


def _swap(value, replacements):
    if isinstance(value, type(pytest.param())):
        return value._replace(values=tuple(_swap(v, replacements) for v in value.values))
    if isinstance(value, tuple):
        return tuple(_swap(v, replacements) for v in value)
    for old, new in replacements:
        if value is old:
            return new
    return value


def _swap_in_parametrize(function, replacements):
    """The estimator classes a ``parametrize`` mark holds (evaluated when scikit-learn's
    module was imported) replaced by fastlr's; a generator of values (deprecated by
    pytest 9.2, an error under this project's filterwarnings) made a list."""
    marks = getattr(function, "pytestmark", None)
    if not marks:
        return
    swapped = []
    for mark in marks:
        if mark.name == "parametrize" and len(mark.args) >= 2:
            argnames, argvalues, *rest = mark.args
            new = [_swap(value, replacements) for value in argvalues]
            if (not isinstance(argvalues, (list, tuple))
                    or any(a is not b for a, b in zip(new, argvalues))):
                mark = pytest.mark.parametrize(argnames, new, *rest, **mark.kwargs).mark
        swapped.append(mark)
    function.pytestmark = swapped


sk = _load(_source())
_replacements = [(sk.LogisticRegression, fastlr.LogisticRegression),
                 (sk.LogisticRegressionCV, _cv_or_placeholder())]
for _old, _new in _replacements:
    setattr(sk, _old.__name__, _new)
# the solvers of the in-body loops (``for solver in SOLVERS``): fastlr's
sk.SOLVERS = tuple(solver for solver in sk.SOLVERS if solver not in REFUSED)

# the module's own marks (its filterwarnings), then its tests and fixtures
pytestmark = getattr(sk, "pytestmark", [])
for _name, _object in vars(sk).items():
    _fixture = (hasattr(_object, "_fixture_function_marker")  # pytest >= 8.4
                or hasattr(_object, "_pytestfixturefunction"))
    if (_name.startswith("test_") and callable(_object)) or _fixture:
        if callable(_object) and not _fixture:
            _swap_in_parametrize(_object, _replacements)
        globals()[_name] = _object
