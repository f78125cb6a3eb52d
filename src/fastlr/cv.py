"""``fastlr.LogisticRegressionCV``: scikit-learn's ``LogisticRegressionCV`` on fastlr's solvers.

The same parameters, folds, grid of ``Cs``, scores, choice of ``C_`` and attributes as
scikit-learn 1.9.1's ``LogisticRegressionCV`` (its legacy and new attribute layouts, its
FutureWarnings), fitted by fastlr's objective and solvers (:mod:`fastlr.objective`,
:mod:`fastlr.solvers`, :mod:`fastlr.solvers_l1`): for each fold and ``l1_ratio`` the path
of ``Cs`` in scikit-learn's order, each
``C`` warm-started from the previous one's coefficients, then (``refit=True``) the fit on
all the data at the best ``C`` from the average of the folds' coefficients there.

How a fold is fitted (:data:`FOLD_ROWS`): its training objective is the objective on the
whole ``X`` with the held-out rows weighted zero (``λ = 1 / (C Σ s)`` with the fold's
weight total), so ``X`` is never copied per fold. The penalty is added outside the
objective (:class:`_Path`), so the first evaluation of each ``C`` — at the previous
``C``'s optimum — reuses the previous pass (at 100 000 × 100, 10 Cs × 5 folds: 73 passes
over X instead of 118).

Scores come from the decision values of the held-out rows for every ``C`` at once,
gathered a few MB of rows at a time (:data:`CHUNK_BYTES`): accuracy (the default) is
computed from them as ``accuracy_score`` does; scikit-learn's other scorers read them
from a fitted-looking estimator (:class:`_PathPoint`); only a scorer that is a plain
callable (not one of scikit-learn's string / ``make_scorer`` scorers) is handed the
held-out rows themselves, a copy as scikit-learn's CV makes.

Needs scikit-learn, as :class:`fastlr.LogisticRegression` does.
"""

from __future__ import annotations

import inspect
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, get_scorer, get_scorer_names, make_scorer
from sklearn.model_selection import check_cv
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    _manual_routing,
    _raise_for_params,
    _routing_enabled,
    process_routing,
)
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_method_params,
    _check_sample_weight,
    _deprecate_positional_args,
    assert_all_finite,
    validate_data,
)

from fastlr import objective, registry, sklearn_api, solvers, solvers_l1, threads
from fastlr.estimator import LogisticRegression

try:  # the scorers whose only use of the estimator is its response methods
    from sklearn.metrics._scorer import _Scorer
except ImportError:  # pragma: no cover - another scikit-learn: every scorer gets the rows
    _Scorer = None

#: ``"weights"``: a fold's training objective is the whole X with its held-out rows
#: weighted zero (no copy of X); ``"copy"``: the objective of ``X[train]`` (a copy of the
#: training rows per fold). Measured at 100 000 × 100 float64, ``Cs=10, cv=5``, one fit
#: per process, 4 runs each: a pass over all rows costs 3.8 ms, over the copy 2.5–3.0 ms,
#: but each copy (64 MB of fresh memory) 40–90 ms. Default tol (73 passes): weights
#: 0.34–0.38 s, copy 0.35–0.64 s; tol=1e-6 (138 passes): 0.57–0.62 s against 0.56–0.85 s.
#: The copies would also hold 0.8 X more memory: the default is no copy.
FOLD_ROWS = "weights"
#: the held-out rows are gathered for their decision values this many bytes at a time
CHUNK_BYTES = 1 << 20


class LogisticRegressionCV(LogisticRegression):
    """Logistic regression with ``C`` chosen by cross-validation, on fastlr's solvers.

    scikit-learn 1.9.1's ``LogisticRegressionCV``: the same parameters (plus fastlr's
    ``n_threads`` and ``backend``), the same folds (``check_cv(cv, y, classifier=True)``),
    grid (``Cs``), scores, ``C_`` and attributes, with fastlr's objective and solvers
    (:class:`fastlr.LogisticRegression`'s; predictions, ``predict_proba`` and sparse
    input come from it), for L2, L1 and the elastic net (``l1_ratios``).

    Each fold's training objective is the objective on the whole ``X`` with the held-out
    rows weighted zero: ``X`` is not copied per fold (the kernels take sample weights).
    Along the path each ``C`` (in the order of ``Cs_``) starts from the previous ``C``'s
    coefficients; with ``refit=True`` the final fit on all the data starts from the mean
    of the folds' coefficients at the best ``C``, as scikit-learn's does. Each
    ``l1_ratio`` has its own path, from zeros at the first ``C``; a point with
    ``l1_ratio > 0`` is fitted by the L1 solver (``solver_``: proximal Newton, whose
    working sets keep each fit to the features its KKT conditions call for, warm-started
    from the previous ``C``'s), one with ``l1_ratio = 0`` by the smooth solver
    ``solver="auto"`` would choose.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        The grid of ``C``: an int ``n`` is ``np.logspace(-4, 4, n)``.
    l1_ratios : array-like of float or None, default="warn"
        scikit-learn's choice of penalty per grid point ("warn": None with its
        FutureWarning): 0 is L2, 1 is L1, between is the elastic net.
    fit_intercept : bool, default=True
        Fit an intercept (not penalized).
    cv : int, cross-validation generator or iterable, default=None
        The folds, as scikit-learn's (None: 5-fold stratified).
    dual : bool, default=False
        scikit-learn's liblinear option; only False.
    penalty : {"l2", "l1", "elasticnet"}, default="deprecated"
        Deprecated in scikit-learn 1.8 (its FutureWarning); use ``l1_ratios``.
    scoring : str, callable or None, default="warn"
        How a held-out fold is scored ("warn": accuracy with scikit-learn's FutureWarning;
        None: accuracy).
    solver : {"auto", "lbfgs", "newton-cg", "newton-gram", "newton-cholesky", \
"prox-newton", "owl-qn"}, default="auto"
        As :class:`fastlr.LogisticRegression`'s (``"auto"`` chosen once for the whole
        fit, by its rules); ``"gd"`` has no place in a path (no stopping test). An L1
        solver fits the points with ``l1_ratio > 0``; the others take ``"auto"``'s.
    tol : float >= 0, default=1e-4
        Stop each fit when the largest entry of the scaled objective's gradient (with an
        L1 part: its pseudo-gradient) is at most ``tol`` (scikit-learn's criterion).
    max_iter : int >= 0, default=100
        Most iterations of each fit (each fold and ``C``, and the refit).
    class_weight : dict, "balanced" or None, default=None
        Class weights; "balanced" from the whole ``y`` (and ``sample_weight``), as
        scikit-learn computes them.
    n_jobs : int or None, default=None
        Accepted; the folds are fitted one after the other, each pass over ``X`` on the
        kernels' ``n_threads``.
    verbose : int >= 0, default=0
        Above 0: the solvers' progress.
    refit : bool, default=True
        Refit on all the data at the best ``C`` (else: the mean of the folds' best
        coefficients, and of their ``C``).
    intercept_scaling : float, default=1.0
        scikit-learn's liblinear option; accepted and unused.
    random_state : int, RandomState instance or None, default=None
        Accepted; fastlr's solvers are deterministic (the folds come from ``cv``).
    use_legacy_attributes : bool, default="warn"
        scikit-learn's layout of the fitted attributes: True (the default, "warn" with
        its FutureWarning) the legacy one, False the new one (see the attributes).
    n_threads : int >= 1 or None, default=None
        Threads of the kernels (see :class:`fastlr.LogisticRegression`).
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Whose kernels.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        In ``X``'s dtype (float32 stays float32), as :class:`fastlr.LogisticRegression`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
    Cs_ : ndarray of shape (n_cs,)
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        ``[None]`` when ``l1_ratios`` is None.
    C_, l1_ratio_ : ndarray of shape (1,) or (n_classes,), or float
        The best ``C`` (refit=False: the mean of each fold's best); a float with
        ``use_legacy_attributes=False``.
    coefs_paths_ : dict or ndarray
        Legacy: by class (binary: ``classes_[1]`` only), arrays (n_folds, n_cs[,
        n_l1_ratios], n_dof); new: an array (n_folds, n_l1_ratios, n_cs, 1 or n_classes,
        n_dof). ``n_dof`` is n_features + 1 with an intercept (last).
    scores_ : dict or ndarray
        Legacy: the same (n_folds, n_cs[, n_l1_ratios]) array for every key of
        ``coefs_paths_``; new: (n_folds, n_l1_ratios, n_cs).
    n_iter_ : ndarray
        Legacy (1, n_folds, n_cs[, n_l1_ratios]); new (n_folds, n_l1_ratios, n_cs).
    solver_, backend_ : str
        The solver and kernels used.
    fit_stats_ : dict
        Passes over X (``evaluations``, ``products``), ``kernel_seconds``, ``threads``,
        ``seconds``, ``fits`` (solver runs) of the whole fit.

    Examples
    --------
    >>> import numpy as np
    >>> from fastlr.cv import LogisticRegressionCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> clf = LogisticRegressionCV(Cs=4, cv=3, l1_ratios=(0,), scoring="accuracy",
    ...                            use_legacy_attributes=False).fit(X, y)
    >>> clf.scores_.shape, clf.coef_.shape
    ((3, 1, 4), (1, 3))
    """

    # scikit-learn's: score's sample_weight is routed to the scorer
    __metadata_request__score = {"sample_weight": metadata_routing.UNUSED}

    _parameter_constraints = {
        key: value for key, value in LogisticRegression._parameter_constraints.items()
        if key not in ("C", "l1_ratio", "warm_start", "learning_rate")}
    _parameter_constraints.update({
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None, Hidden(StrOptions({"warn"}))],
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None,
                    Hidden(StrOptions({"warn"}))],
        "refit": ["boolean"],
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}),
                    Hidden(StrOptions({"deprecated"}))],
        "solver": [StrOptions({"auto", *(set(solvers.SOLVERS) - {"gd"}),
                               *sklearn_api.L1_SOLVERS, *sklearn_api.ALIASES,
                               *sklearn_api.REFUSED})],
        "use_legacy_attributes": ["boolean", Hidden(StrOptions({"warn"}))],
    })

    def __init__(self, *, Cs=10, l1_ratios="warn", fit_intercept=True, cv=None, dual=False,
                 penalty="deprecated", scoring="warn", solver="auto", tol=1e-4, max_iter=100,
                 class_weight=None, n_jobs=None, verbose=0, refit=True,
                 intercept_scaling=1.0, random_state=None, use_legacy_attributes="warn",
                 n_threads=None, backend="auto"):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.dual = dual
        self.penalty = penalty
        self.scoring = scoring
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.refit = refit
        self.intercept_scaling = intercept_scaling
        self.random_state = random_state
        self.use_legacy_attributes = use_legacy_attributes
        self.n_threads = n_threads
        self.backend = backend

    # ------------------------------------------------------------------ parameters

    def _penalty(self):
        """``(l1_ratios, l1_ratios_, penalty)`` with scikit-learn's warnings."""
        if isinstance(self.l1_ratios, str) and self.l1_ratios == "warn":
            l1_ratios = None
            warnings.warn("The default value for l1_ratios will change from None to (0.0,) "
                          "in version 1.10. From version 1.10 onwards, only array-like "
                          "with values in [0, 1] will be allowed, None will be forbidden. "
                          "To avoid this warning, explicitly set a value, "
                          "e.g. l1_ratios=(0,).", FutureWarning, stacklevel=3)
        else:
            l1_ratios = self.l1_ratios
        if self.penalty == "deprecated":
            if self.l1_ratios is None:
                warnings.warn("'l1_ratios=None' was deprecated in version 1.8 and will "
                              "trigger an error in 1.10. Use an array-like with values"
                              "in [0, 1] instead.", FutureWarning, stacklevel=3)
            if l1_ratios is None or np.all(np.asarray(l1_ratios) == 0):
                penalty = "l2"
            elif np.all(np.asarray(l1_ratios) == 1):
                penalty = "l1"
            else:
                penalty = "elasticnet"
        else:
            penalty = self.penalty
            warnings.warn("'penalty' was deprecated in version 1.8 and will be removed in "
                          "1.10. To avoid this warning, leave 'penalty' set to its default "
                          "value and use 'l1_ratios' and 'Cs' instead. Use l1_ratios=(0,) "
                          "instead of penalty='l2', l1_ratios=(1,) instead of penalty='l1', "
                          "l1_ratios set to floats between 0 and 1 instead of "
                          "penalty='elasticnet', and Cs=(np.inf,) instead of penalty=None.",
                          FutureWarning, stacklevel=3)
        if l1_ratios is not None and self.penalty != "deprecated":
            warnings.warn("l1_ratios parameter is only used when penalty is 'elasticnet'. "
                          f"Got (penalty={penalty})", stacklevel=3)
        l1_ratios_ = [None] if l1_ratios is None else list(l1_ratios)
        if not l1_ratios_:
            raise ValueError(f"l1_ratios must not be empty; got (l1_ratios={l1_ratios!r})")
        if penalty == "elasticnet" and (l1_ratios is None or any(
                not isinstance(r, Real) or not 0 <= r <= 1 for r in l1_ratios_)):
            raise ValueError("l1_ratios must be an array-like of numbers between 0 and 1; "
                             f"got (l1_ratios={l1_ratios!r})")
        return l1_ratios, l1_ratios_, penalty

    def _rhos(self, l1_ratios_, penalty):
        """ρ of each point of the l1_ratios axis (the deprecated penalty's for None)."""
        if l1_ratios_ == [None]:
            return [1.0 if penalty == "l1" else 0.0]
        return [float(r) for r in l1_ratios_]

    def _scoring(self):
        """The scoring parameter for fit, with scikit-learn's FutureWarning for "warn"."""
        if isinstance(self.scoring, str) and self.scoring == "warn":
            warnings.warn("The default value of the parameter 'scoring' will change from "
                          "None, i.e. accuracy, to 'neg_log_loss' in version 1.11. To "
                          "silence this warning, explicitly set the scoring parameter: "
                          "scoring='neg_log_loss' for the new, scoring='accuracy' or "
                          "scoring=None for the old default.", FutureWarning, stacklevel=3)
            return None
        return self.scoring

    def _legacy(self):
        if isinstance(self.use_legacy_attributes, str):  # "warn"
            name = type(self).__name__
            warnings.warn(f"The fitted attributes of {name} will be simplified in "
                          "scikit-learn 1.10 to remove redundancy. Set"
                          "`use_legacy_attributes=False` to enable the new behavior now, or "
                          "set it to `True` to silence this warning during the transition "
                          "period while keeping the deprecated behavior for the time being. "
                          "The default value of use_legacy_attributes will change from True "
                          f"to False in scikit-learn 1.10. See the docstring of {name} for "
                          "more details.", FutureWarning, stacklevel=3)
            return True
        return bool(self.use_legacy_attributes)

    def _get_scorer(self):
        """The scorer of ``scoring`` (accuracy for None and "warn"), as scikit-learn's."""
        if isinstance(self.scoring, str) and self.scoring == "warn":
            return get_scorer("accuracy")
        return get_scorer(self.scoring or "accuracy")

    # ------------------------------------------------------------------ fit

    def fit(self, X, y, sample_weight=None, **params):
        """Fit the path of ``Cs`` on each fold, choose ``C_``, and refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The training samples; read in place when float64 or float32.
        y : array-like of shape (n_samples,)
            The labels: any two or more values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; also passed to the scorer, as scikit-learn does.
        **params : dict
            Parameters of the splitter and the scorer (metadata routing).

        Returns
        -------
        self : LogisticRegressionCV
            The fitted estimator.
        """
        started = time.perf_counter()
        _raise_for_params(params, self, "fit")
        self._validate_params()
        l1_ratios, l1_ratios_, penalty = self._penalty()
        scoring = self._scoring()
        legacy = self._legacy()
        solver = sklearn_api.solver(self.solver, self.dual)
        sklearn_api.check_penalty(penalty, solver)
        # NaN/inf in X: the first evaluation of the objective is not finite (then
        # scikit-learn's check says where), as fastlr.LogisticRegression does
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], accept_large_sparse=True,
                             dtype=[np.float64, np.float32], order=None,
                             ensure_all_finite=False)
        check_classification_targets(y)
        self.classes_ = classes = np.unique(y)
        if classes.size < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]}.")
        n_samples = X.shape[0]
        binary = classes.size == 2

        if _routing_enabled():
            routed = process_routing(self, "fit", sample_weight=sample_weight, **params)
        else:
            score_kwargs = dict(params)
            if sample_weight is not None:
                score_kwargs["sample_weight"] = sample_weight
            routed = _manual_routing({"splitter": {}, "scorer": {"score": score_kwargs}})
        cv = check_cv(self.cv, y, classifier=True)
        folds = [(_indices(train, n_samples), _indices(test, n_samples))
                 for train, test in cv.split(X, y, **routed.splitter.split)]

        class_weight = self.class_weight
        if isinstance(class_weight, dict):
            if not set(class_weight) <= set(classes):
                raise ValueError("The given class_weight dict must have the class labels as "
                                 f"keys; classes={classes} but key={class_weight.keys()}")
        elif class_weight == "balanced":  # from the whole y, as scikit-learn's CV does
            class_weight = dict(zip(classes, compute_class_weight(
                "balanced", classes=classes, y=y, sample_weight=sample_weight)))
        weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                      ensure_non_negative=True)
        raw_weight = None if sample_weight is None else weight  # what the scorer gets
        weight = sklearn_api.sample_weights(class_weight, classes, y, weight)

        Cs = np.logspace(-4, 4, self.Cs) if isinstance(self.Cs, Integral) else self.Cs
        self.Cs_ = np.asarray(Cs)
        if self.Cs_.ndim != 1 or self.Cs_.size == 0:
            raise ValueError(f"Cs must be a positive int or a non-empty 1-D list of floats; "
                             f"got {self.Cs!r}")

        if binary:
            self.backend_, kernels = registry.load_model(self.backend)
            target = (y == classes[1]).astype(np.float64)
        else:
            self.backend_, kernels = "numpy", None
            target = np.eye(classes.size)[np.searchsorted(classes, y)]
        rhos = self._rhos(l1_ratios_, penalty)
        # the ρ = 0 points' solver, and (any ρ > 0) the L1 one: solver_ says the latter
        smooth = "auto" if solver in sklearn_api.L1_SOLVERS else solver
        self._smooth = self._path_solver(X, smooth, bool(np.all(np.isfinite(self.Cs_))))
        self._l1_solver = (self._choose_l1_solver(X, solver, binary)
                           if any(rho > 0 for rho in rhos) else None)
        self.solver_ = self._l1_solver or self._smooth
        scorer, kind = self._fold_scorer(scoring, classes)
        # what the fits share: their counts, and newton-gram's X Xᵀ (one for every fold and
        # C while the folds are weights on the whole X)
        self._stats = {"evaluations": 0, "products": 0, "kernel_seconds": 0.0, "fits": 0}
        self._gram = None
        try:
            self._fit_folds(X, y, target, weight, raw_weight, kernels, folds, scorer, kind,
                            scoring, routed, l1_ratios, l1_ratios_, legacy, rhos)
            self.fit_stats_ = dict(self._stats, threads=threads.planned_threads(
                X.size, X.shape[0], self.n_threads), seconds=time.perf_counter() - started)
        finally:
            del self._stats, self._gram, self._smooth, self._l1_solver
        return self

    def _fit_folds(self, X, y, target, weight, raw_weight, kernels, folds, scorer, kind,
                   scoring, routed, l1_ratios, l1_ratios_, legacy, rhos):
        """The path of every fold (for each ρ of ``rhos``), its scores, then the attributes
        (and the refit)."""
        n_classes = self.classes_.size
        rows = 1 if n_classes == 2 else n_classes
        width = X.shape[1] + bool(self.fit_intercept)
        n_folds, n_cs, n_l1 = len(folds), self.Cs_.size, len(rhos)
        paths = np.empty((n_folds, n_cs, n_l1, rows, width))
        scores = np.empty((n_folds, n_cs, n_l1))
        n_iter = np.empty((n_folds, n_cs, n_l1), dtype=np.int32)
        for f, (train, test) in enumerate(folds):
            problem = self._fold_problem(X, target, weight, train, kernels)
            for j, rho in enumerate(rhos):
                x = np.zeros(rows * width)
                for i, C in enumerate(self.Cs_):  # each C from the previous one's optimum
                    result = self._run(problem, x, C, rho)
                    x = result.x
                    paths[f, i, j] = x.reshape(rows, width)
                    n_iter[f, i, j] = result.n_iter
            self._count(problem)
            del problem  # with FOLD_ROWS = "copy": one fold's rows at a time
            if scoring is None:  # scikit-learn: the estimator's score, weighted by sw_test
                score_params = ({} if raw_weight is None else
                                {"sample_weight": raw_weight[test]})
            else:
                score_params = _check_method_params(X, params=routed.scorer.score,
                                                    indices=test)
            for j in range(n_l1):
                scores[f, :, j] = self._score_path(X, y, test, paths[f, :, j], scorer, kind,
                                                   score_params)

        self._set_attributes(X, target, weight, kernels, folds, paths, scores, n_iter,
                             l1_ratios, l1_ratios_, legacy, rhos)

    def _path_solver(self, X, solver, penalized):
        """The solver of every fit: fastlr.LogisticRegression's choice, once."""
        if solver == "newton-gram" and not (self.classes_.size == 2 and penalized):
            raise ValueError("solver='newton-gram' needs two classes and an L2 penalty (every "
                             f"C finite); got {self.classes_.size} classes, Cs={self.Cs!r}: "
                             "use solver='newton-cg' or 'auto'")
        return self._choose_solver(X, np.zeros(1), solver, "l2" if penalized else None)

    def _fold_problem(self, X, target, weight, train, kernels):
        """The objective of one fold's training rows (see :data:`FOLD_ROWS`)."""
        if FOLD_ROWS == "copy":
            X, target, weight = X[train], target[train], weight[train]
        else:  # the held-out rows weighted zero; a training row listed twice counts twice
            weight = weight * np.bincount(train, minlength=X.shape[0])
        return self._problem(X, target, weight, kernels)

    def _problem(self, X, target, weight, kernels):
        """A :class:`_Path` on the unpenalized objective of ``X`` and ``weight``."""
        total = float(weight.sum())
        if not total > 0:
            raise ValueError("sample_weight must not be all zero in a training fold")
        if kernels is None:
            problem = objective.Multinomial(X, target, weight, l2=0.0,
                                            fit_intercept=self.fit_intercept)
            rows = target.shape[1]
        else:
            problem = objective.Binary(X, target, weight, l2=0.0,
                                       fit_intercept=self.fit_intercept, kernels=kernels,
                                       n_threads=self.n_threads)
            rows = 1
        return _Path(problem, total, rows, self.fit_intercept, self._shared_gram)

    def _shared_gram(self, problem):
        """newton-gram's ``K = X Xᵀ``: computed once for every fit on the same X."""
        if self._gram is None or self._gram[0] is not problem.X:
            self._gram = (problem.X, problem.gram())
        return self._gram[1]

    def _run(self, problem, x0, C, rho):
        """The fit at ``C`` and ``l1_ratio = rho`` from ``x0``, with
        fastlr.LogisticRegression's errors and warnings: the smooth path solver for ρ = 0 (or
        C = inf), the L1 one otherwise."""
        binary = isinstance(problem.problem, objective.Binary)
        problem.l2 = (1.0 - rho) / (C * problem.total_weight)  # C = inf: no penalty
        l1 = rho / (C * problem.total_weight)
        solver = self._l1_solver if l1 > 0 else self._smooth
        limiter = threads.limit_blas(1) if binary else None
        try:
            if l1 > 0:
                result = solvers_l1.SOLVERS[solver](problem, x0, l1=l1, tol=self.tol,
                                                    max_iter=self.max_iter,
                                                    verbose=self.verbose)
            else:
                result = solvers.SOLVERS[solver](problem, x0, tol=self.tol,
                                                 max_iter=self.max_iter,
                                                 verbose=self.verbose)
        except objective.NotFinite as error:
            X = problem.X
            assert_all_finite(X.data if sparse.issparse(X) else X, input_name="X",
                              estimator_name=type(self).__name__)
            raise ValueError(f"the objective overflowed to {error.args[0]} although X is "
                             f"finite (solver {self.solver_!r}): scale X (e.g. "
                             "StandardScaler)") from None
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
        if not np.isfinite(result.x).all():
            raise ValueError(f"the coefficients overflowed to NaN/inf (solver "
                             f"{self.solver_!r}): scale X (e.g. StandardScaler)")
        if not result.converged:
            warnings.warn(sklearn_api.not_converged(solver, result.n_iter, result.message),
                          ConvergenceWarning, stacklevel=3)
        self._stats["fits"] += 1
        return result

    def _count(self, path):
        for key in ("evaluations", "products", "kernel_seconds"):
            self._stats[key] += getattr(path.problem, key)

    # ------------------------------------------------------------------ scores

    def _fold_scorer(self, scoring, classes):
        """``(scorer, kind)``: scikit-learn's scorer for the folds (with ``labels`` set to
        every class where its metric takes them, as scikit-learn's CV does), and how it is
        computed: ``"accuracy"`` here from the decision values, ``"response"`` by the scorer
        from a :class:`_PathPoint` (scikit-learn's scorers only call its response
        methods), ``"callable"`` by a plain callable, on the held-out rows themselves."""
        if scoring is None:
            return None, "accuracy"
        scorer = get_scorer(scoring)
        signature = (inspect.signature(scorer._score_func).parameters
                     if hasattr(scorer, "_score_func") else {})
        if "labels" in signature:  # a fold may lack a class
            pos_label = ({"pos_label": classes[-1]}
                         if classes.size <= 2 and "pos_label" in signature else {})
            scorer = make_scorer(scorer._score_func, greater_is_better=scorer._sign == 1,
                                 response_method=scorer._response_method, labels=classes,
                                 **pos_label, **getattr(scorer, "_kwargs", {}))
        if _Scorer is None or type(scorer) is not _Scorer:
            return scorer, "callable"
        if (scorer._score_func is accuracy_score and scorer._sign == 1 and not scorer._kwargs
                and scorer._response_method == "predict"):
            return scorer, "accuracy"
        return scorer, "response"

    def _score_path(self, X, y, test, path, scorer, kind, score_params):
        """The scores of one fold's coefficients ``path`` (n_cs, rows, width) on its
        held-out rows ``test``."""
        n_cs, rows, _ = path.shape
        n_features = X.shape[1]
        y_test = y[test]
        if kind == "callable":  # a plain callable may read X: it gets the rows, a copy
            X_test = X[test]
        else:  # the decision values of every C in one pass over the held-out rows
            W = path[:, :, :n_features].reshape(n_cs * rows, n_features).T
            values = _gather_product(X, test, W).reshape(test.size, n_cs, rows)
            if self.fit_intercept:
                values += path[:, :, -1]
            if kind == "accuracy" and set(score_params) <= {"sample_weight"}:
                # accuracy_score's own computation: the (weighted) mean of correct labels
                if rows == 1:
                    correct = (values[:, :, 0] > 0) == (y_test == self.classes_[1])[:, None]
                else:
                    codes = np.searchsorted(self.classes_, y_test)
                    correct = values.argmax(axis=2) == codes[:, None]
                weights = score_params.get("sample_weight")
                return np.array([np.average(correct[:, i], weights=weights)
                                 for i in range(n_cs)])
            X_test = test
        point = _PathPoint()
        point.classes_, point.n_features_in_, point._rows = self.classes_, n_features, X_test
        scorer = scorer or get_scorer("accuracy")
        scores = np.empty(n_cs)
        for i in range(n_cs):
            point.C = self.Cs_[i]
            point.coef_ = path[i, :, :n_features]
            point.intercept_ = (path[i, :, -1] if self.fit_intercept else np.zeros(rows))
            if kind != "callable":
                point._values = values[:, i, 0] if rows == 1 else values[:, i, :]
            scores[i] = scorer(point, X_test, y_test, **score_params)
        return scores

    # ------------------------------------------------------------------ attributes

    def _set_attributes(self, X, target, weight, kernels, folds, paths, scores, n_iter,
                        l1_ratios, l1_ratios_, legacy, rhos):
        """scikit-learn's choice of C_, its refit and its attribute layouts."""
        classes = self.classes_
        binary = classes.size == 2
        n_classes = 1 if binary else classes.size
        keys = classes[1:] if binary else classes
        n_folds, n_cs, n_l1 = scores.shape
        n_features = X.shape[1]
        coefs_paths = np.moveaxis(paths, 3, 0)  # (rows, n_folds, n_cs, n_l1, width)
        n_iter = n_iter[None]  # (1, n_folds, n_cs, n_l1)

        # the argmax over (l1_ratio, C) in scikit-learn's order (l1_ratios outer): its ties
        by_l1 = np.swapaxes(scores, 1, 2)  # (n_folds, n_l1, n_cs)
        if self.refit:
            best = np.unravel_index(np.argmax(by_l1.sum(axis=0)), (n_l1, n_cs))[::-1]
            C_ = self.Cs_[best[0]]
            C_list, l1_list = [C_], [l1_ratios_[best[1]]]
            start = coefs_paths[:, :, best[0], best[1], :].mean(axis=1)  # (rows, width)
            problem = self._problem(X, target, weight, kernels)
            w = self._run(problem, start.ravel(), C_, rhos[best[1]]).x.reshape(start.shape)
            self._count(problem)
        else:  # the mean of each fold's best coefficients and C
            flat = by_l1.reshape(n_folds, -1)
            best_l1, best_c = np.unravel_index(np.argmax(flat, axis=1), (n_l1, n_cs))
            w = np.mean([coefs_paths[:, f, best_c[f], best_l1[f], :]
                         for f in range(n_folds)], axis=0)
            C_list = [np.mean(self.Cs_[best_c])]
            l1_list = [np.mean(np.asarray(rhos)[best_l1]) if l1_ratios is not None else 0.0]

        self.coef_ = w[:, :n_features].astype(X.dtype)
        self.intercept_ = (w[:, -1].astype(X.dtype) if self.fit_intercept
                           else np.zeros(n_classes, dtype=X.dtype))
        self.C_ = np.asarray(np.tile(C_list, n_classes) if not binary else C_list)
        self.l1_ratio_ = np.asarray(np.tile(l1_list, n_classes) if not binary else l1_list)
        self.l1_ratios_ = np.asarray(l1_ratios_)
        if l1_ratios is None:  # no l1_ratios axis
            coefs_paths, scores, n_iter = (coefs_paths[:, :, :, 0, :], scores[:, :, 0],
                                           n_iter[:, :, :, 0])
        if legacy:
            self.coefs_paths_ = dict(zip(keys, coefs_paths))
            self.scores_ = {key: scores.copy() for key in keys}
            self.n_iter_ = n_iter
            return
        self.C_ = float(self.C_[0])
        if l1_ratios is None:
            self.l1_ratio_ = 1.0 if self.penalty == "l1" else 0.0
            coefs_paths, scores, n_iter = (coefs_paths[:, :, :, None, :],
                                           scores[:, :, None], n_iter[:, :, :, None])
        else:
            self.l1_ratio_ = float(self.l1_ratio_[0])
        # (classes, folds, cs, l1, dof) -> (folds, l1, cs, classes, dof)
        self.coefs_paths_ = np.moveaxis(coefs_paths, (0, 1, 3), (3, 0, 1))
        self.scores_ = np.swapaxes(scores, 1, 2)
        self.n_iter_ = np.swapaxes(n_iter[0], 1, 2)

    # ------------------------------------------------------------------ scikit-learn's API

    @_deprecate_positional_args(version="1.11")
    def score(self, X, y, *, sample_weight=None, **score_params):
        """Score ``X`` and ``y`` with ``scoring`` (accuracy by default), as scikit-learn's.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,)
            True labels for X.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.
        **score_params : dict
            Parameters of the scorer (metadata routing).

        Returns
        -------
        score : float
            The scorer's value.
        """
        _raise_for_params(score_params, self, "score")
        if sample_weight is not None:
            score_params["sample_weight"] = sample_weight
        scoring = self._get_scorer()
        if _routing_enabled():
            routed = process_routing(self, "score", **score_params)
        else:
            weights = score_params.get("sample_weight")
            routed = _manual_routing({"scorer": {"score": (
                {} if weights is None else {"sample_weight": weights})}})
        return scoring(self, X, y, **routed.scorer.score)

    def get_metadata_routing(self):
        """Metadata routing of this object: to the splitter (fit) and the scorer (fit,
        score), as scikit-learn's.

        Returns
        -------
        routing : MetadataRouter
            The routing information.
        """
        return (MetadataRouter(owner=self)
                .add_self_request(self)
                .add(splitter=self.cv,
                     method_mapping=MethodMapping().add(caller="fit", callee="split"))
                .add(scorer=self._get_scorer(),
                     method_mapping=MethodMapping().add(caller="score", callee="score")
                     .add(caller="fit", callee="score")))


class _Path:
    """One training set's objective along the path of ``C``: the unpenalized objective of
    :mod:`fastlr.objective` (``problem``), the penalty ``½ λ ‖w‖²`` added here (``l2``, set
    for each C; the intercepts are not penalized). It remembers its last pass: the next C
    starts where the previous one stopped, and its first evaluation there costs no pass
    over X, only the penalty changes. Anything else is the objective's."""

    def __init__(self, problem, total_weight, rows, fit_intercept, gram):
        self.problem = problem
        self.total_weight = total_weight
        self.l2 = 0.0
        mask = np.ones((rows, problem.size // rows))
        if fit_intercept:
            mask[:, -1] = 0.0
        self._mask = mask.ravel()
        self._shared_gram = gram
        self._last = None  # (x, f, ∇f, with the Hessian) of the objective's last pass

    def __getattr__(self, name):  # X, y, sw, scale, size, evaluations, ... of the objective
        if name == "problem":
            raise AttributeError(name)
        return getattr(self.problem, name)

    def loss_gradient(self, x, hessian=False):
        """``(f, ∇f)`` at ``x`` (``hessian``: :meth:`hessp` is then the Hessian at ``x``)."""
        last = self._last
        if last is not None and (last[3] or not hessian) and np.array_equal(last[0], x):
            f, g = last[1], last[2]
        else:
            f, g = self.problem.loss_gradient(x, hessian=hessian)
            self._last = (np.array(x, dtype=np.float64), f, g, hessian)
        w = x * self._mask
        return f + 0.5 * self.l2 * float(w @ w), g + self.l2 * w

    def hessp(self, v):
        return self.problem.hessp(v) + self.l2 * (v * self._mask)

    def hessian_diagonal(self):
        diagonal = getattr(self.problem, "hessian_diagonal", lambda: None)()
        return None if diagonal is None else diagonal + self.l2 * self._mask

    def gram(self):
        return self._shared_gram(self.problem)


class _PathPoint(LogisticRegression):
    """One point of a fold's path as the scorer sees it: a fitted estimator whose response
    on the held-out rows (passed as their index array ``_rows``) is their decision values,
    computed beforehand for every ``C`` at once."""

    _rows = None

    def decision_function(self, X):
        if X is self._rows:
            return self._values
        return super().decision_function(X)


def _indices(index, n_samples):
    """A fold's rows as an int index array (from indices or a boolean mask)."""
    index = np.asarray(index)
    if index.dtype == bool:
        return np.flatnonzero(index)
    return index.astype(np.intp, copy=False).reshape(-1) % max(n_samples, 1)


def _gather_product(X, rows, W):
    """``X[rows] @ W`` in float64, gathering :data:`CHUNK_BYTES` of rows at a time (into one
    buffer for a dense ``X``)."""
    out = np.empty((rows.size, W.shape[1]))
    step = max(1, CHUNK_BYTES // (X.dtype.itemsize * max(1, X.shape[1])))
    buffer = None
    for lo in range(0, rows.size, step):
        index = rows[lo:lo + step]
        if sparse.issparse(X):
            out[lo:lo + step] = np.asarray(X[index].astype(np.float64) @ W)
            continue
        if buffer is None:
            buffer = np.empty((min(step, rows.size), X.shape[1]), dtype=X.dtype)
        # mode="clip": not buffered (the rows are valid indices)
        block = np.take(X, index, axis=0, out=buffer[:index.size], mode="clip")
        out[lo:lo + step] = block @ W  # float32 rows: upcast, as the products are float64
    return out
