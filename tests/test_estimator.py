"""fastlr.LogisticRegression against scikit-learn: its estimator checks, its solvers' optimum,
its meta-estimators and errors; and the course's cat model through ``solver="gd"``."""

import os
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SklearnLR
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import fastlr
from fastlr import threads
from fastlr.bench.fit import traced_peak
from helpers import MODEL_BACKENDS, PUBLISHED_COSTS, interrupt, load_model_or_skip
from helpers import sklearn_objective as objective

LR = fastlr.LogisticRegression


def _expected_failures(estimator):
    if estimator.fit_intercept:
        return {}
    # scikit-learn's own LogisticRegression(fit_intercept=False) fails it as well: without
    # an intercept the heavily weighted class cannot take 87 % of the predictions
    return {"check_class_weight_classifiers": "fails for scikit-learn's own estimator "
                                              "with fit_intercept=False too"}


@parametrize_with_checks([LR(), LR(solver="newton-cg"), LR(solver="lbfgs", max_iter=1000),
                          LR(backend="numba"), LR(backend="numpy", fit_intercept=False)],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram"])
@pytest.mark.parametrize("C", [0.01, 1.0, 100.0])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_same_optimum_as_scikit_learn(cancer, solver, C, fit_intercept):
    X, y = cancer
    ours = LR(C=C, fit_intercept=fit_intercept, solver=solver, tol=1e-10, max_iter=10000)
    ours.fit(X, y)
    theirs = SklearnLR(C=C, fit_intercept=fit_intercept, tol=1e-10, max_iter=100000)
    theirs.fit(X, y)
    assert ours.coef_.shape == (1, X.shape[1]) and ours.intercept_.shape == (1,)
    f_ours, f_theirs = objective(ours, X, y, C=C), objective(theirs, X, y, C=C)
    assert f_ours <= f_theirs * (1 + 1e-9)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-4, atol=1e-5 * C)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-4, atol=1e-5 * C)


@pytest.mark.parametrize("backend", MODEL_BACKENDS)
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_backend_layout_and_dtype_reaches_the_optimum(backend, order, dtype):
    load_model_or_skip(backend)
    X, y = make_classification(3000, 20, n_informative=8, random_state=0)
    Xd = np.asarray(X, dtype=dtype, order=order)
    sw = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    ours = LR(backend=backend, tol=1e-8, max_iter=1000).fit(Xd, y, sample_weight=sw)
    theirs = SklearnLR(tol=1e-10, max_iter=10000).fit(X, y, sample_weight=sw)
    assert ours.coef_.dtype == dtype and ours.backend_ == backend
    rtol = 1e-10 if dtype == np.float64 else 1e-6
    assert objective(ours, X, y, sw) <= objective(theirs, X, y, sw) * (1 + rtol)


@pytest.mark.parametrize("solver", ["newton-gram", "newton-cg", "lbfgs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wide_data_reach_the_optimum(solver, dtype):
    """Few samples, many features (the course's cat data's shape): ill-conditioned."""
    rng = np.random.default_rng(9)
    X = rng.uniform(0.0, 1.0, (150, 2000))
    y = (X[:, :50].sum(axis=1) + rng.standard_normal(150) > 25).astype(int)
    ours = LR(solver=solver, tol=1e-8, max_iter=10000).fit(X.astype(dtype), y)
    theirs = SklearnLR(solver="newton-cg", tol=1e-10, max_iter=10000).fit(X, y)
    rtol = 1e-10 if dtype == np.float64 else 1e-6
    assert objective(ours, X, y) <= objective(theirs, X, y) * (1 + rtol)


def test_unpenalized_model_is_scikit_learns_without_penalty():
    X, y = make_classification(500, 5, flip_y=0.2, random_state=1)
    ours = LR(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    theirs = SklearnLR(C=np.inf, tol=1e-10, max_iter=10000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-5)
    np.testing.assert_allclose(ours.intercept_, theirs.intercept_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram"])
def test_integer_weights_equal_repeated_rows(solver):
    X, y = make_classification(200, 6, random_state=2)
    counts = np.random.default_rng(3).integers(0, 4, len(y))
    weighted = LR(solver=solver, tol=1e-10, max_iter=1000).fit(X, y, sample_weight=counts)
    repeated = LR(solver=solver, tol=1e-10, max_iter=1000).fit(np.repeat(X, counts, axis=0),
                                                                np.repeat(y, counts))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=1e-7, atol=1e-9)


def test_multiclass_is_scikit_learns_multinomial_model():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ours = LR(tol=1e-10, max_iter=1000).fit(X, y)
    theirs = SklearnLR(tol=1e-10, max_iter=10000).fit(X, y)
    assert ours.coef_.shape == (3, 4) and ours.solver_ == "newton-cg"
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    assert ours.score(X, y) >= theirs.score(X, y)


def test_string_labels_and_probabilities():
    X, y = make_classification(300, 4, random_state=4)
    labels = np.where(y == 1, "cat", "non-cat")
    model = LR().fit(X, labels)
    assert list(model.classes_) == ["cat", "non-cat"]
    assert set(model.predict(X)) <= {"cat", "non-cat"}
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.predict_log_proba(X), np.log(proba), rtol=1e-12)
    # column 1 is classes_[1] = "non-cat": σ of the decision function
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-model.decision_function(X))))


def test_meta_estimators_pickling_and_clone(cancer):
    X, y = cancer
    pipeline = make_pipeline(StandardScaler(), LR())
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.95
    search = GridSearchCV(LR(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["C"] in (0.1, 1.0)
    model = LR(C=0.5).fit(X, y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")


def test_course_cat_model_through_gradient_descent(course_data):
    train_x, train_y, test_x, test_y, _ = course_data
    X, y = train_x.T, train_y.ravel()  # scikit-learn's layout: X is the course's Xᵀ
    model = LR(solver="gd", C=np.inf, max_iter=2000, learning_rate=0.005).fit(X, y)
    np.testing.assert_allclose(model.costs_, PUBLISHED_COSTS, atol=5e-7)
    assert 100 * model.score(X, y) == pytest.approx(99.04306220095694, abs=1e-9)
    assert 100 * model.score(test_x.T, test_y.ravel()) == pytest.approx(70.0)


def test_bad_input_gives_scikit_learns_errors():
    X, y = make_classification(50, 4, random_state=5)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LR().fit(bad, y)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        LR(solver="newton-cg").fit(bad, y)
    model = LR().fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is "
                                         "expecting 4 features"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="at least 2 classes"):
        LR().fit(X, np.zeros(50))
    with pytest.raises(ValueError, match="C"):
        LR(C=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        LR(solver="gd", learning_rate=1e300, C=np.inf, max_iter=50).fit(X * 1e10, y)


def test_max_iter_warns_and_warm_start_continues():
    X, y = make_classification(500, 10, random_state=6)
    for solver in ("lbfgs", "newton-cg"):
        with pytest.warns(ConvergenceWarning, match="failed to converge after 1 iteration"):
            LR(solver=solver, max_iter=1).fit(X, y)
    model = LR(tol=1e-8, warm_start=True).fit(X, y)
    first = model.n_iter_[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    assert first > 2 and model.n_iter_[0] <= 1


def test_auto_solver_by_shape():
    rng = np.random.default_rng(7)
    tall, wide = rng.standard_normal((400, 5)), rng.standard_normal((20, 1000))
    assert LR().fit(tall, rng.integers(0, 2, 400)).solver_ == "lbfgs"
    assert LR().fit(wide, rng.integers(0, 2, 20)).solver_ == "newton-gram"
    assert LR(C=np.inf).fit(wide, rng.integers(0, 2, 20)).solver_ == "newton-cg"
    assert LR().fit(tall, rng.integers(0, 3, 400)).solver_ == "newton-cg"
    with pytest.raises(ValueError, match="newton-gram"):
        LR(solver="newton-gram").fit(tall, rng.integers(0, 3, 400))


# the cython kernels: Numba's allocations are not traced; the NumPy kernels allocate
# O(n_samples) temporaries (z, σ(z), ...) per call
@pytest.mark.parametrize("solver", ["lbfgs", "newton-cg", "newton-gram"])
@pytest.mark.parametrize("dtype, order", [(np.float64, "C"), (np.float32, "F")])
def test_fit_allocates_no_copy_of_X(solver, dtype, order):
    backend = "cython"
    load_model_or_skip(backend)
    rng = np.random.default_rng(8)
    shape = (200, 20_000) if solver == "newton-gram" else (20_000, 100)  # its K is m²
    X = np.asarray(rng.standard_normal(shape), dtype=dtype, order=order)
    y = (X[:, 0] + rng.standard_normal(shape[0]) > 0).astype(np.int64)
    model = LR(solver=solver, backend=backend)
    model.fit(X[:50], y[:50])  # imports and first-call caches, outside the measurement
    peak = traced_peak(lambda: model.fit(X, y))
    assert peak < 0.1 * X.nbytes, f"fit allocated {peak / X.nbytes:.0%} of X"


# gd: 10^7 steps; newton-cg: separable data (more features than samples) without a
# penalty, tol=0: the coefficients grow for as long as the objective can still decrease
INTERRUPT = textwrap.dedent("""
    import sys
    import numpy as np
    import fastlr
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2_000, 5_000))
    y = rng.integers(0, 2, 2_000)
    model = fastlr.LogisticRegression(solver=sys.argv[1], max_iter=10**7, tol=0.0,
                                      C=np.inf, learning_rate=1e-9)
    model.set_params(max_iter=2).fit(X, y)
    print("fitting", flush=True)
    try:
        model.set_params(max_iter=10**7).fit(X, y)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(0)
    print("finished: not interrupted", flush=True)
""")


@pytest.mark.parametrize("solver", ["gd", "newton-cg"])
def test_ctrl_c_interrupts_a_long_fit_promptly(solver, tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(INTERRUPT)
    line, latency, errors, _ = interrupt(["-W", "ignore", str(script), solver], "fitting")
    assert line == "interrupted", errors
    assert latency < 3.0, f"KeyboardInterrupt {latency:.2f} s after SIGINT"


def run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)


def test_import_fastlr_imports_neither_scikit_learn_nor_numba():
    result = run("""
        import sys, fastlr
        assert "sklearn" not in sys.modules and "numba" not in sys.modules
        fastlr.LogisticRegression
        assert "sklearn" in sys.modules and "numba" not in sys.modules
    """)
    assert result.returncode == 0, result.stderr


def test_without_scikit_learn_the_error_names_the_extra():
    result = run("""
        import sys
        sys.modules["sklearn"] = None  # as if it were not installed
        import fastlr
        try:
            fastlr.LogisticRegression
        except ImportError as error:
            print(error)
    """)
    assert result.returncode == 0, result.stderr
    assert 'pip install "fastlr-vectorized[sklearn]"' in result.stdout


FORK = textwrap.dedent("""
    import os, sys
    import numpy as np
    import fastlr
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 50))  # 200 000 elements: the kernels start threads
    y = (X[:, 0] > 0).astype(int)
    backend = sys.argv[1]
    for solver in ("lbfgs", "newton-cg"):
        parent = fastlr.LogisticRegression(solver=solver, backend=backend).fit(X, y)
        assert parent.backend_ == backend and parent.fit_stats_["threads"] > 1, parent.fit_stats_
        child = os.fork()
        if child == 0:
            coef = fastlr.LogisticRegression(solver=solver, backend=backend).fit(X, y).coef_
            os._exit(0 if np.allclose(coef, parent.coef_, rtol=1e-9, atol=1e-12) else 3)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0, (solver, status)
    print("ok")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
@pytest.mark.parametrize("backend", ["cython", "numba"])
def test_a_child_forked_after_a_parallel_fit_fits(backend):
    load_model_or_skip(backend)
    if threads.default_threads() < 2:
        pytest.skip("one CPU: the kernels start no threads")
    result = subprocess.run([sys.executable, "-c", FORK, backend], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
