"""fastlr.cv.LogisticRegressionCV against scikit-learn's LogisticRegressionCV: the same
folds give the same C_, scores_ and coefficients; scikit-learn's estimator checks; its
warnings and attribute layouts; X not copied per fold."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn import linear_model
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from fastlr import cv as fastlr_cv
from fastlr.bench.fit import traced_peak
from fastlr.cv import LogisticRegressionCV

#: scikit-learn's reference: its lbfgs to the optimum
REFERENCE = {"tol": 1e-10, "max_iter": 10000, "solver": "lbfgs"}
#: the optimum of two solvers, each to max|∇f| <= 1e-10 (or f's rounding)
CLOSE = {"rtol": 1e-5, "atol": 1e-6}
#: no warnings of scikit-learn's transition; one thread (the data is small)
QUIET = {"l1_ratios": (0,), "use_legacy_attributes": False, "scoring": "accuracy"}
ONE = {"n_threads": 1}


def quiet(**params):
    """fastlr's estimator without scikit-learn's transition warnings, on one thread."""
    return LogisticRegressionCV(**{**QUIET, **ONE, **params})


def _data(n_classes, n_samples=240, n_features=6, seed=0):
    X, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=4,
                               n_redundant=0, n_classes=n_classes, flip_y=0.1,
                               random_state=seed)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    return _data(2)


@pytest.fixture(scope="module")
def three():
    return _data(3, seed=1)


def _pair(X, y, sample_weight=None, solver="auto", **params):
    """Both estimators fitted with ``params`` (and the same cv)."""
    params.setdefault("cv", StratifiedKFold(4, shuffle=True, random_state=0))
    params = {**QUIET, **params}
    theirs = linear_model.LogisticRegressionCV(**REFERENCE, **params)
    ours = LogisticRegressionCV(tol=1e-10, max_iter=10000, solver=solver, **ONE, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # lbfgs: f's rounding
        theirs.fit(X, y, sample_weight=sample_weight)
    ours.fit(X, y, sample_weight=sample_weight)
    return ours, theirs


def _assert_same(ours, theirs):
    assert ours.C_ == theirs.C_
    assert_array_equal(ours.Cs_, theirs.Cs_)
    assert_array_equal(ours.classes_, theirs.classes_)
    assert_allclose(ours.scores_, theirs.scores_, rtol=1e-7, atol=1e-9)
    assert ours.coefs_paths_.shape == theirs.coefs_paths_.shape
    assert_allclose(ours.coefs_paths_, theirs.coefs_paths_, **CLOSE)
    assert ours.coef_.shape == theirs.coef_.shape
    assert_allclose(ours.coef_, theirs.coef_, **CLOSE)
    assert_allclose(ours.intercept_, theirs.intercept_, **CLOSE)
    assert ours.n_iter_.shape == theirs.n_iter_.shape
    assert ours.l1_ratio_ == theirs.l1_ratio_


@pytest.mark.parametrize("data", ["binary", "three"])
@pytest.mark.parametrize("Cs", [6, [0.003, 0.1, 1.0, 30.0]])
@pytest.mark.parametrize("refit", [True, False])
def test_same_as_scikit_learn(data, Cs, refit, request):
    X, y = request.getfixturevalue(data)
    _assert_same(*_pair(X, y, Cs=Cs, refit=refit))


@pytest.mark.parametrize("data", ["binary", "three"])
@pytest.mark.parametrize("class_weight", ["balanced", "dict"])
@pytest.mark.parametrize("weighted", [False, True])
def test_same_as_scikit_learn_with_weights(data, class_weight, weighted, request):
    X, y = request.getfixturevalue(data)
    if class_weight == "dict":
        class_weight = {0: 0.5, 1: 2.0}
    weights = np.random.default_rng(3).uniform(0.2, 3.0, size=y.size) if weighted else None
    _assert_same(*_pair(X, y, sample_weight=weights, Cs=5, class_weight=class_weight))


@pytest.mark.parametrize("scoring", ["neg_log_loss", "roc_auc", "f1", "neg_brier_score"])
def test_same_as_scikit_learn_scoring_binary(binary, scoring):
    X, y = binary
    weights = np.random.default_rng(4).uniform(0.5, 2.0, size=y.size)
    _assert_same(*_pair(X, y, Cs=5, scoring=scoring, cv=3))
    _assert_same(*_pair(X, y, sample_weight=weights, Cs=5, scoring=scoring, cv=3))


@pytest.mark.parametrize("scoring", ["neg_log_loss", "f1_macro", None])
def test_same_as_scikit_learn_scoring_multinomial(three, scoring):
    X, y = three
    _assert_same(*_pair(X, y, Cs=5, scoring=scoring, fit_intercept=False, cv=3))


@pytest.mark.parametrize("solver", ["newton-cg", "newton-gram", "newton-cholesky"])
def test_other_solvers(solver):
    X, y = _data(2, n_samples=60, n_features=80, seed=5)  # wide: newton-gram's case
    ours, theirs = _pair(X, y, solver=solver, Cs=[0.003, 0.03, 0.3], scoring="neg_log_loss")
    _assert_same(ours, theirs)
    assert ours.solver_ == {"newton-cholesky": "newton-cg"}.get(solver, solver)


def test_auto_chooses_as_the_estimator(binary, three):
    assert quiet(Cs=2).fit(*binary).solver_ == "lbfgs"
    assert quiet(Cs=2).fit(*three).solver_ == "newton-cg"


@pytest.mark.parametrize("fold_rows", ["weights", "copy"])
def test_fold_rows_agree(binary, monkeypatch, fold_rows):
    X, y = binary
    monkeypatch.setattr(fastlr_cv, "FOLD_ROWS", fold_rows)
    _assert_same(*_pair(X, y, Cs=4, scoring="neg_log_loss"))


def test_sparse_matches_dense(binary, three):
    for X, y in (binary, three):
        X = np.where(X > 0.3, X, 0.0)
        dense, _ = _pair(X, y, Cs=4, scoring="neg_log_loss")
        for container in (sparse.csr_matrix, sparse.csc_array):
            ours = quiet(tol=1e-10, max_iter=10000, Cs=4, scoring="neg_log_loss",
                         cv=dense.cv)
            ours.fit(container(X), y)
            assert ours.C_ == dense.C_
            assert_allclose(ours.coefs_paths_, dense.coefs_paths_, **CLOSE)
            assert_allclose(ours.coef_, dense.coef_, **CLOSE)


def test_float32_stays_float32(binary):
    X, y = binary
    ours = quiet(Cs=3).fit(X.astype(np.float32), y)
    assert ours.coef_.dtype == np.float32
    reference = quiet(Cs=3).fit(X, y)
    assert ours.C_ == reference.C_
    assert_allclose(ours.coef_, reference.coef_, rtol=1e-4, atol=1e-5)


def test_folds_missing_classes():
    """scikit-learn's test: a fold lacking a class is scored with every class's labels."""
    for n_classes in (2, 3):
        y = np.array(["a", "a", "b", "b", "c", "c"])[:2 * n_classes]
        X = np.arange(2.0 * n_classes)[:, None]
        cv = KFold(n_splits=n_classes)
        clf = quiet(cv=cv, scoring="neg_brier_score", Cs=np.logspace(-6, 6, 5)).fit(X, y)
        assert clf.C_ == 1e-6
        labels = ["a", "b", "c"][:n_classes]
        for i, (_, test) in enumerate(cv.split(X, y)):
            proba = quiet(Cs=[1.0], cv=2).fit(X, y)
            proba.coef_ = clf.coefs_paths_[i, 0, 0, :, :-1]
            proba.intercept_ = clf.coefs_paths_[i, 0, 0, :, -1]
            pos = {"pos_label": "b"} if n_classes == 2 else {}
            expected = brier_score_loss(y[test], proba.predict_proba(X[test]), labels=labels,
                                        **pos)
            assert_allclose(-clf.scores_[i, 0, 0], expected)


def test_plain_callable_scorer():
    """scikit-learn's test: a callable is called once per fold and C, and by score."""
    class Scorer:
        calls = 0

        def __call__(self, model, X, y, sample_weight=None):
            assert X.shape[0] == y.shape[0] and model.coef_.shape == (1, X.shape[1])
            self.calls += 1
            return [0.1, 0.4, 0.8, 0.5][(self.calls - 1) % 4]

    scorer = Scorer()
    X, y = make_classification(random_state=0)
    clf = quiet(Cs=[1, 2, 3, 4], scoring=scorer, cv=2).fit(X, y)
    assert clf.C_ == 3 and scorer.calls == 8
    scorer.calls = 0
    assert clf.score(X, clf.predict(X)) == 0.1 and scorer.calls == 1


def test_score_uses_scoring(binary):
    X, y = binary
    clf = quiet(Cs=3, scoring="neg_log_loss").fit(X, y)
    assert_allclose(clf.score(X, y), -log_loss(y, clf.predict_proba(X)))


@pytest.mark.parametrize("n_classes", [2, 3])
def test_legacy_layout_as_scikit_learn(binary, three, n_classes):
    X, y = binary if n_classes == 2 else three
    for l1_ratios in (None, (0,), (0, 0.0)):
        for refit in (True, False):
            params = dict(Cs=3, cv=3, l1_ratios=l1_ratios, refit=refit,
                          use_legacy_attributes=True, scoring="neg_log_loss")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                ours = LogisticRegressionCV(tol=1e-10, **params).fit(X, y)
                theirs = linear_model.LogisticRegressionCV(**REFERENCE, **params).fit(X, y)
            assert ours.coefs_paths_.keys() == theirs.coefs_paths_.keys()
            for key in theirs.coefs_paths_:
                assert_allclose(ours.coefs_paths_[key], theirs.coefs_paths_[key], **CLOSE)
                assert_allclose(ours.scores_[key], theirs.scores_[key], rtol=1e-7)
            for name in ("C_", "l1_ratio_", "l1_ratios_", "n_iter_"):
                mine, reference = getattr(ours, name), getattr(theirs, name)
                assert mine.shape == reference.shape and mine.dtype == reference.dtype, name
            assert_array_equal(ours.C_, theirs.C_)
            assert_array_equal(ours.l1_ratio_, theirs.l1_ratio_)
            assert_array_equal(ours.l1_ratios_, theirs.l1_ratios_)


def test_new_layout_shapes(three):
    X, y = three
    clf = quiet(Cs=4, cv=3).fit(X, y)
    assert clf.coefs_paths_.shape == (3, 1, 4, 3, X.shape[1] + 1)
    assert clf.scores_.shape == clf.n_iter_.shape == (3, 1, 4)
    assert isinstance(clf.C_, float) and clf.l1_ratio_ == 0.0


@pytest.mark.parametrize("params, category, message", [
    ({"scoring": "warn"}, FutureWarning,
     "The default value of the parameter 'scoring' will change from None"),
    ({"l1_ratios": "warn"}, FutureWarning, "The default value for l1_ratios will change"),
    ({"use_legacy_attributes": "warn"}, FutureWarning,
     "The default value of use_legacy_attributes will change from True"),
    ({"l1_ratios": None}, FutureWarning, "'l1_ratios=None' was deprecated"),
    ({"penalty": "l2"}, FutureWarning, "'penalty' was deprecated"),
    ({"penalty": "l2"}, UserWarning, "l1_ratios parameter is only used"),
])
def test_scikit_learn_warnings(binary, params, category, message):
    """scikit-learn's, and only where scikit-learn's LogisticRegressionCV gives them."""
    for estimator in (quiet(Cs=2, cv=2, **params),
                      linear_model.LogisticRegressionCV(Cs=2, cv=2, **{**QUIET, **params})):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator.fit(*binary)
        assert any(w.category is category and message in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet(Cs=2, cv=2).fit(*binary)


def _saga_pair(X, y, **params):
    """fastlr's and scikit-learn's saga's CV with ``params`` (saga to tol 1e-12)."""
    params = {**QUIET, "cv": StratifiedKFold(3, shuffle=True, random_state=0), **params}
    ours = LogisticRegressionCV(tol=1e-10, max_iter=1000, **ONE, **params).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = linear_model.LogisticRegressionCV(solver="saga", tol=1e-12,
                                                   max_iter=100_000, **params).fit(X, y)
    return ours, theirs


@pytest.mark.parametrize("data", ["binary", "three"])
@pytest.mark.parametrize("l1_ratios", [(1.0,), (0.0, 0.5, 1.0)])
def test_l1_and_elastic_net_paths_as_scikit_learns_saga(data, l1_ratios, request):
    """Each fold's path of (l1_ratio, C), its scores, the choice and the refit, against
    saga's at a tight tolerance (Cs where saga's first epoch is not its last: at C = 1e-4
    it stops after one with the intercept unconverged: at C = 0.02, every w 0)."""
    X, y = request.getfixturevalue(data)
    ours, theirs = _saga_pair(X, y, Cs=[0.1, 1.0, 10.0], l1_ratios=l1_ratios,
                              scoring="neg_log_loss")
    assert np.all(theirs.n_iter_ > 1)  # saga did not stop after its first epoch
    assert ours.solver_ == "prox-newton"  # two classes or three
    assert ours.coefs_paths_.shape == theirs.coefs_paths_.shape
    assert_allclose(ours.coefs_paths_, theirs.coefs_paths_, atol=5e-5)
    assert_array_equal(ours.coefs_paths_ != 0, np.abs(theirs.coefs_paths_) > 1e-8)
    assert_allclose(ours.scores_, theirs.scores_, rtol=1e-6)
    assert (ours.C_, ours.l1_ratio_) == (theirs.C_, theirs.l1_ratio_)
    assert_allclose(ours.coef_, theirs.coef_, atol=5e-5)
    assert_allclose(ours.intercept_, theirs.intercept_, atol=5e-5)


def test_without_refit_the_l1_ratio_is_the_folds_mean(binary):
    """refit=False: ``l1_ratio_`` is the mean of each fold's best l1_ratio (scikit-learn
    1.9.1's own code raises a TypeError there, indexing a list by an array)."""
    ours = quiet(Cs=[0.02, 0.2, 2.0], l1_ratios=(0.0, 0.5, 1.0), refit=False, cv=3,
                 scoring="neg_log_loss", tol=1e-10).fit(*binary)
    by_fold = np.swapaxes(ours.scores_, 1, 2).reshape(3, -1)  # (folds, l1 × C), l1 outer
    best_l1 = np.argmax(by_fold, axis=1) // 3
    assert ours.l1_ratio_ == pytest.approx(np.mean(np.array([0.0, 0.5, 1.0])[best_l1]))
    assert 0 < np.count_nonzero(ours.coef_)


@pytest.mark.parametrize("l1_ratios", [(1.0, 2.0), (-0.5,)])
def test_l1_ratios_out_of_range(binary, l1_ratios):
    with pytest.raises(ValueError, match="l1_ratios must be an array-like of numbers between"):
        quiet(l1_ratios=l1_ratios).fit(*binary)


@pytest.mark.parametrize("solver", ["sag", "liblinear"])
def test_refused_solvers(binary, solver):
    with pytest.raises(ValueError, match="not available in fastlr"):
        quiet(solver=solver).fit(*binary)


def test_class_weight_keys_checked(binary):
    with pytest.raises(ValueError, match="class_weight dict must have the class labels"):
        quiet(class_weight={5: 1.0}).fit(*binary)


def test_next_c_starts_without_a_pass(binary):
    """The first evaluation of each C, at the previous C's optimum, reuses its pass."""
    X, y = binary
    once = quiet(Cs=[1.0], tol=1e-8).fit(X, y)
    twice = quiet(Cs=[1.0, 1.0], tol=1e-8).fit(X, y)
    assert twice.fit_stats_["evaluations"] == once.fit_stats_["evaluations"]
    assert (twice.n_iter_[:, :, 1] == 0).all()
    assert_allclose(twice.coefs_paths_[:, :, 1], once.coefs_paths_[:, :, 0])


def test_metadata_routing_as_scikit_learn(binary):
    """Routed to the splitter (groups) and, when the scorer asks, sample_weight."""
    from sklearn import config_context
    from sklearn.metrics import get_scorer
    from sklearn.model_selection import GroupKFold

    X, y = binary
    weights = np.where(np.arange(y.size) % 3 == 0, 3.0, 1.0)
    groups = np.arange(y.size) % 5
    with config_context(enable_metadata_routing=True):
        for requested in (True, False):
            scorer = get_scorer("accuracy").set_score_request(sample_weight=requested)
            cv = GroupKFold(3)
            ours, theirs = (estimator.set_fit_request(sample_weight=True).fit(
                X, y, sample_weight=weights, groups=groups) for estimator in (
                quiet(Cs=4, cv=cv, scoring=scorer, tol=1e-10, max_iter=10000, **ONE),
                linear_model.LogisticRegressionCV(**{**QUIET, **REFERENCE, "Cs": 4, "cv": cv,
                                                     "scoring": scorer})))
            _assert_same(ours, theirs)


def test_x_not_copied_per_fold():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 200))
    y = (X[:, 0] + rng.normal(size=X.shape[0]) > 0).astype(int)
    clf = quiet(Cs=3, cv=5, n_threads=None)
    peak = traced_peak(lambda: clf.fit(X, y))
    # beyond X: the folds' indices and a few vectors of n_samples, 1 MB of held-out rows
    # at a time; a copy of the training rows per fold would be 0.8 X.nbytes at a time
    assert peak < 0.3 * X.nbytes, (peak, X.nbytes)
    assert clf.fit_stats_["fits"] == 5 * 3 + 1


@parametrize_with_checks([LogisticRegressionCV(Cs=3, cv=3)])
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scikit-learn's defaults' warnings
        # the checks' tiny data: fewer samples of a class than folds
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        check(estimator)


def test_an_l1_solver_by_name_fits_the_l1_points(binary):
    ours = quiet(Cs=[0.1, 1.0], l1_ratios=(0.0, 1.0), solver="owl-qn", cv=3,
                 tol=1e-8, max_iter=5000).fit(*binary)
    assert ours.solver_ == "owl-qn"
    with pytest.raises(ValueError, match="solver='owl-qn' is one of fastlr's L1"):
        quiet(Cs=[0.1], l1_ratios=(0.0,), solver="owl-qn", cv=3).fit(*binary)
