"""``fastlr.LogisticRegression``: a scikit-learn classifier on fastlr's one-pass kernels.

Needs scikit-learn (``pip install "fastlr-vectorized[sklearn]"``); ``import fastlr`` does not
import this module: ``fastlr.LogisticRegression`` does, the first time it is used.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.extmath import softmax
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    assert_all_finite,
    check_is_fitted,
    validate_data,
)

from fastlr import objective, on_dask, registry, sklearn_api, solvers, solvers_l1, threads
from fastlr.backends.numpy_ import sigmoid

#: solver="auto" takes newton-gram when its two n_samples² matrices take at most this
#: fraction of X's bytes (few samples, many features)
GRAM_MEMORY = 0.08


def _nbytes(X) -> int:
    """The bytes ``X`` holds: a dense array's, or a sparse matrix's three arrays."""
    if sparse.issparse(X):
        return X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    return X.nbytes


class LogisticRegression(LinearClassifierMixin, SparseCoefMixin, ClassifierMixin,
                         BaseEstimator):
    """Logistic regression with scikit-learn's objective, trained by fastlr's kernels.

    Minimizes ``C Σ s_i L(y_i, x_i·w + b) + ½‖w‖²`` (the intercept is not penalized) —
    scikit-learn's objective, so ``coef_`` matches scikit-learn's ``LogisticRegression`` at
    the same ``C`` — or the unpenalized log-loss (``C=np.inf``). Takes scikit-learn's
    parameters with scikit-learn's meaning (see :mod:`fastlr.sklearn_api` for its solver
    names and what fastlr does not have yet: L1 and elastic net). Two classes: one pass
    over ``X`` per loss-and-gradient (and per Hessian–vector product) by the compiled
    kernels; more than two: the multinomial (softmax) model, as scikit-learn's, by the
    same backend's one-pass multinomial kernels.

    ``X`` is read in place: C- or F-ordered, float64 or float32 (float32 stays float32 and
    is accumulated in float64); other dtypes are converted to float64 once.

    Parameters
    ----------
    penalty : {"l2", None}, default="deprecated"
        Deprecated in scikit-learn 1.8 (a FutureWarning, as there): ``"l2"`` is
        ``l1_ratio=0``, None is ``C=np.inf``.
    C : float > 0 or np.inf, default=1.0
        Inverse regularization strength, as in scikit-learn; ``np.inf``: no penalty.
    l1_ratio : float in [0, 1], default=0.0
        scikit-learn's choice of penalty, ``l1_ratio ‖w‖₁ + ½(1 − l1_ratio)‖w‖²``: 0 is
        L2, 1 is L1, between is the elastic net (solved by :mod:`fastlr.solvers_l1`).
    dual : bool, default=False
        scikit-learn's liblinear option; only False.
    tol : float >= 0, default=1e-4
        Stop when the largest entry of the gradient of ``f = F / (C Σ s)`` is at most
        ``tol`` (scikit-learn's criterion); with an L1 part (``l1_ratio > 0``) the largest
        entry of its pseudo-gradient, the largest violation of the optimality (KKT)
        conditions.
    fit_intercept : bool, default=True
        Fit an intercept ``b`` (not penalized); False: ``intercept_`` is zero.
    intercept_scaling : float > 0, default=1
        scikit-learn's liblinear option; accepted and unused (the intercept is not
        penalized).
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into the sample weights as scikit-learn does
        (``"balanced"``: ``n_samples / (n_classes · count of the class)``).
    random_state : int, RandomState instance or None, default=None
        Accepted for scikit-learn's API; fastlr's solvers are deterministic.
    solver : {"auto", "lbfgs", "newton-cg", "newton-gram", "gd", "newton-cholesky", \
"prox-newton", "owl-qn"}, default="auto"
        ``"auto"`` (chosen by measurement: docs/estimator.md): two classes with an
        L2 penalty and few samples for many features (the Gram matrix ``X Xᵀ`` within 8 %
        of X's memory, e.g. the course's cat data): newton-gram, Newton's method on
        ``X Xᵀ`` (:func:`fastlr.solvers.newton_gram`); two classes with more than 4 samples
        per feature, dense X: lbfgs; otherwise (a sparse X, the multinomial model, or
        penalty=None on wide data) newton-cg, which needs a dozen Newton steps where
        L-BFGS needs hundreds of passes on ill-conditioned problems — on a sparse X
        preconditioned by the Hessian's diagonal (text-like 300 000 × 200 000: 0.38 s to
        the optimum, lbfgs 2.1 s; movielens: 0.37 s against 1.7 s). ``"gd"``: the lecture's
        fixed-step gradient descent (``learning_rate``, ``max_iter`` steps, no stopping
        test; with ``C=np.inf`` it is the course's model). ``"newton-cholesky"``:
        scikit-learn's name, fastlr's newton-cg; ``"saga"``: scikit-learn's name, fastlr's
        ``"auto"`` (the same objective, any penalty); ``"sag"`` and ``"liblinear"`` are
        refused with the equivalent named (:mod:`fastlr.sklearn_api`). With
        ``l1_ratio > 0`` (:mod:`fastlr.solvers_l1`): ``"prox-newton"``, proximal Newton
        with working sets, which ``"auto"`` takes for an X in memory, two classes or more
        (the one-hot flights table: 78 ms to the optimum, OWL-QN 1.0 s; dense 100 000 ×
        1000: as fast as OWL-QN; load_digits, 10 classes: 9 steps, OWL-QN 2 300; a few
        steps where OWL-QN crawls on ill-conditioned data); ``"owl-qn"``, which it takes
        for a dask X.
    max_iter : int >= 0, default=100
        Most iterations of the solver (``gd``: the number of steps; 0: the start, zeros).
    verbose : int >= 0, default=0
        Above 0: print the solver's progress (``gd``: the cost every 100 steps).
    warm_start : bool, default=False
        Start from the previous fit's coefficients.
    n_jobs : None, default=None
        No effect (scikit-learn's FutureWarning when set); the kernels' threads:
        ``n_threads``.
    learning_rate : float > 0, default=0.005
        The step of ``solver="gd"`` (the course's cat model: 0.005).
    n_threads : int >= 1 or None, default=None
        Threads of the kernels (None: :func:`fastlr.get_num_threads`, which follows
        ``OMP_NUM_THREADS``, threadpoolctl's limits, the CPU affinity and quota). X of
        fewer than ``fastlr.threads.PARALLEL_MIN_ELEMENTS`` elements is fitted on one.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        Whose kernels (``"auto"``: the fastest available, Cython first).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted (K = n_classes).
    coef_ : ndarray of shape (1, n_features) or (K, n_features)
        The weights ``w``, in ``X``'s dtype: one row (of ``classes_[1]``) for two classes,
        one row per class for more.
    intercept_ : ndarray of shape (1,) or (K,)
        The intercepts ``b`` (zeros with ``fit_intercept=False``).
    n_features_in_ : int
        Number of features seen by :meth:`fit`.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features seen by :meth:`fit`; defined only when ``X`` has feature
        names that are all strings.
    n_iter_ : ndarray of shape (1,)
        Iterations the solver ran.
    costs_ : list of float
        ``gd``: the cost every 100 steps (empty for the other solvers).
    solver_ : str
        The solver used (what ``solver="auto"`` chose).
    backend_ : str
        The kernels used (``"numpy"`` for more than two classes).
    fit_stats_ : dict
        Passes over X (``evaluations`` of the loss and gradient, Hessian–vector
        ``products``), seconds in the kernels (``kernel_seconds``), the kernels' planned
        ``threads``, seconds of the whole fit (``seconds``); for a dask ``X`` also
        ``wall_seconds``, ``workers`` and ``persisted``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastlr
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0, 0, 1, 1])
    >>> clf = fastlr.LogisticRegression().fit(X, y)
    >>> clf.predict([[0.5], [2.5]])
    array([0, 1])
    >>> clf.coef_.shape, clf.intercept_.shape
    ((1, 1), (1,))
    >>> clf.predict_proba([[0.5], [2.5]]).round(2)
    array([[0.72, 0.28],
           [0.28, 0.72]])
    """

    _parameter_constraints = {
        "penalty": [StrOptions({"l1", "l2", "elasticnet"}), None,
                    Hidden(StrOptions({"deprecated"}))],
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both"), None],
        "dual": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
        "solver": [StrOptions({"auto", *sklearn_api.L1_SOLVERS, *solvers.SOLVERS,
                               *sklearn_api.ALIASES, *sklearn_api.REFUSED})],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [None, Integral],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "backend": [StrOptions({"auto", *(b.name for b in registry.DESCRIPTORS
                                         if b.model_module)})],
    }

    def __init__(self, penalty="deprecated", *, C=1.0, l1_ratio=0.0, dual=False, tol=1e-4,
                 fit_intercept=True, intercept_scaling=1, class_weight=None,
                 random_state=None, solver="auto", max_iter=100, verbose=0, warm_start=False,
                 n_jobs=None, learning_rate=0.005, n_threads=None, backend="auto"):
        self.penalty = penalty
        self.C = C
        self.l1_ratio = l1_ratio
        self.dual = dual
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.class_weight = class_weight
        self.random_state = random_state
        self.solver = solver
        self.max_iter = max_iter
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs
        self.learning_rate = learning_rate
        self.n_threads = n_threads
        self.backend = backend

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit the model to ``X`` and labels ``y``.

        ``X`` (n_samples, n_features) and labels ``y`` (any two or more values),
        ``sample_weight`` optional (non-negative, not all zero). ``X`` may be a
        row-chunked dask array (two classes): see :mod:`fastlr.on_dask`.

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            The training samples, one per row; read in place when float64 or float32.
        y : array-like of shape (n_samples,)
            The labels: any two or more values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights, not all zero; None: every sample weighs 1.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator.
        """
        started = time.perf_counter()
        self._validate_params()
        penalty = sklearn_api.penalty(self)  # from C, l1_ratio, the deprecated penalty
        solver = sklearn_api.solver(self.solver, self.dual)
        sklearn_api.check_penalty(penalty, solver)
        sklearn_api.n_jobs(self.n_jobs)
        if on_dask.is_dask_array(X):
            problem, X, check_finite = self._dask_problem(X, y, sample_weight, penalty)
        else:
            problem, X, check_finite = self._problem(X, y, sample_weight, penalty)
        n_classes, n_features = self.classes_.size, X.shape[1]
        x0 = self._start(problem, n_classes, n_features)
        self.solver_ = self._choose_solver(X, x0, solver, penalty)
        limiter = threads.limit_blas(1) if isinstance(problem, objective.Binary) else None
        try:
            result = self._solve(problem, x0, penalty)
        except objective.NotFinite as error:
            check_finite()
            raise ValueError(f"the objective overflowed to {error.args[0]} although X is "
                             f"finite (solver {self.solver_!r}): {self._remedy()}") from None
        finally:
            if limiter is not None:
                limiter.restore_original_limits()
        if not np.isfinite(result.x).all():
            raise ValueError(f"the coefficients overflowed to NaN/inf (solver "
                             f"{self.solver_!r}): {self._remedy()}")
        if not result.converged:
            warnings.warn(sklearn_api.not_converged(self.solver_, result.n_iter,
                                                    result.message, self.solver),
                          ConvergenceWarning, stacklevel=2)
        rows = result.x.reshape(1 if n_classes == 2 else n_classes, -1)
        self.coef_ = rows[:, :n_features].astype(X.dtype)
        self.intercept_ = (rows[:, -1].astype(X.dtype) if self.fit_intercept
                           else np.zeros(rows.shape[0], dtype=X.dtype))
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.costs_ = result.costs
        self.fit_stats_ = {"evaluations": problem.evaluations, "products": problem.products,
                           "kernel_seconds": problem.kernel_seconds,
                           "threads": threads.planned_threads(X.size, X.shape[0], self.n_threads),
                           "seconds": time.perf_counter() - started}
        if isinstance(problem, on_dask.DaskBinary):
            self.fit_stats_.update(wall_seconds=problem.wall_seconds, workers=problem.workers,
                                   persisted=problem.persisted)
        return self

    def _problem(self, X, y, sample_weight, penalty):
        """The objective of NumPy-like input, validated as scikit-learn validates."""
        # NaN/inf in X: the first evaluation of the objective is not finite, and then
        # scikit-learn's check says where (a pass over X of its own would cost a pass)
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], accept_large_sparse=True,
                             dtype=[np.float64, np.float32], order=None, ensure_min_samples=1,
                             ensure_all_finite=False)
        check_classification_targets(y)
        self._set_classes(np.unique(y))  # without return_inverse: hashing, 10x faster
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                             ensure_non_negative=True)
        sample_weight = sklearn_api.sample_weights(self.class_weight, self.classes_, y,
                                                   sample_weight)
        l2 = self._l2(float(sample_weight.sum()), penalty)
        if self.classes_.size == 2:
            self.backend_, kernels = registry.load_model(self.backend)
            problem = objective.Binary(X, (y == self.classes_[1]).astype(np.float64),
                                       sample_weight, l2=l2, fit_intercept=self.fit_intercept,
                                       kernels=kernels, n_threads=self.n_threads)
        else:
            self.backend_, kernels = registry.load_model(self.backend)
            codes = np.searchsorted(self.classes_, y)
            problem = objective.Multinomial(X, np.eye(self.classes_.size)[codes],
                                            sample_weight, l2=l2,
                                            fit_intercept=self.fit_intercept,
                                            kernels=kernels, n_threads=self.n_threads)

        def check_finite():
            assert_all_finite(X.data if sparse.issparse(X) else X, input_name="X",
                              estimator_name=type(self).__name__)
        return problem, X, check_finite

    def _dask_problem(self, X, y, sample_weight, penalty):
        """The objective of a dask ``X``: its chunks stay where they are."""
        import dask
        import dask.array as da

        X, y, sample_weight = on_dask.check_input(X, y, sample_weight)
        self.n_features_in_ = X.shape[1]
        if hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        # one pass over y (and the weights) for what the fit needs to know first; the
        # classes from each chunk's own np.unique (dask's unique costs a larger graph)
        parts = [dask.delayed(np.unique)(block) for block in y.to_delayed().ravel()]
        if sample_weight is None:
            sample_weight = da.ones(X.shape[0], chunks=(X.chunks[0],))
            uniques, total, negative = dask.compute(parts)[0], X.shape[0], False
        else:
            sample_weight = sample_weight.astype(np.float64)
            uniques, total, negative = dask.compute(parts, sample_weight.sum(),
                                                    (sample_weight < 0).any())
        classes = np.unique(np.concatenate(uniques))
        check_classification_targets(classes)
        self._set_classes(classes)
        if self.classes_.size != 2:
            raise ValueError(f"a dask X needs two classes; got {self.classes_.size}: "
                             "compute X (X.compute()) to fit the multinomial model")
        if negative:
            raise ValueError("Negative values in data passed to sample_weight")
        if self.class_weight is not None:
            raise ValueError("class_weight with a dask X is not supported yet: pass the "
                             "weights as sample_weight (a dask array)")
        self.backend_ = registry.load_model(self.backend)[0]
        problem = on_dask.DaskBinary(
            X, (y == self.classes_[1]).astype(np.float64), sample_weight,
            total_weight=float(total), l2=self._l2(float(total), penalty),
            fit_intercept=self.fit_intercept, backend=self.backend_, verbose=self.verbose)

        return problem, X, lambda: on_dask.assert_finite(X)

    def _set_classes(self, classes):
        self.classes_ = classes
        if classes.size < 2:
            raise ValueError("This solver needs samples of at least 2 classes in the data, "
                             f"but the data contains only one class: {classes[0]!r}")

    def _l1_ratio(self, penalty):
        """ρ, the L1 share of the penalty: 0 (L2 or none), 1 (L1), ``l1_ratio``."""
        return {"l1": 1.0, "elasticnet": float(self.l1_ratio or 0.0)}.get(penalty, 0.0)

    def _l2(self, total_weight, penalty):
        """λ (1 − ρ) with λ = 1 / (C Σ s): the L2 part; 0 without a penalty."""
        if not total_weight > 0:
            raise ValueError("sample_weight must not be all zero")
        if penalty is None:
            return 0.0
        return (1.0 - self._l1_ratio(penalty)) / (self.C * total_weight)

    def _remedy(self):
        if self.solver_ == "gd":
            return f"lower learning_rate (got {self.learning_rate}) or scale X"
        return "scale X (e.g. StandardScaler)"

    def _start(self, problem, n_classes, n_features):
        """Zeros, or the previous coefficients with ``warm_start`` (same shapes)."""
        x0 = np.zeros(problem.size)
        if self.warm_start and hasattr(self, "coef_"):
            rows = 1 if n_classes == 2 else n_classes
            if self.coef_.shape == (rows, n_features):
                start = np.zeros((rows, problem.size // rows))
                start[:, :n_features] = self.coef_
                if self.fit_intercept:
                    start[:, -1] = self.intercept_
                x0 = start.ravel()
        return x0

    def _choose_solver(self, X, x0, solver, penalty):
        binary = self.classes_.size == 2
        if solver == "newton-gram" and on_dask.is_dask_array(X):
            raise ValueError("solver='newton-gram' does not take a dask X (its Gram matrix "
                             "would gather the samples): use 'lbfgs', 'newton-cg' or 'auto'")
        if solver == "newton-gram" and not (binary and penalty == "l2"):
            raise ValueError("solver='newton-gram' needs two classes and an L2 penalty; got "
                             f"{self.classes_.size} classes, C={self.C!r}: use "
                             "solver='newton-cg' or 'auto'")
        if penalty in ("l1", "elasticnet") and (self._l1_ratio(penalty) > 0
                                                or solver in sklearn_api.L1_SOLVERS):
            return self._choose_l1_solver(X, solver, binary)
        if penalty == "elasticnet":  # l1_ratio = 0: the L2 penalty, the smooth solvers
            penalty = "l2"
        if solver != "auto":
            return solver
        n_samples, n_features = X.shape
        gram_bytes = 2 * 8 * (n_samples + 1) ** 2  # K and the Newton system, float64
        if (binary and penalty == "l2" and not x0.any() and not on_dask.is_dask_array(X)
                and gram_bytes <= GRAM_MEMORY * _nbytes(X)):
            return "newton-gram"
        if binary and n_samples > 4 * n_features and not sparse.issparse(X):
            return "lbfgs"
        return "newton-cg"

    @staticmethod
    def _choose_l1_solver(X, solver, binary):
        """proximal Newton for an X in memory (two classes or more), OWL-QN for a dask X
        (``solver="auto"``; measured: :mod:`fastlr.solvers_l1`)."""
        takes = not on_dask.is_dask_array(X)
        if solver == "prox-newton" and not takes:
            raise ValueError("solver='prox-newton' needs an X in memory; got a dask X: use "
                             "solver='owl-qn' or 'auto'")
        if solver == "auto":
            return "prox-newton" if takes else "owl-qn"
        return solver

    def _solve(self, problem, x0, penalty):
        if self.solver_ in sklearn_api.L1_SOLVERS:  # λ ρ, with λ = 1 / (C Σ s) = scale / C
            l1 = self._l1_ratio(penalty) * problem.scale / self.C
            return solvers_l1.SOLVERS[self.solver_](problem, x0, l1=l1, tol=self.tol,
                                                    max_iter=self.max_iter,
                                                    verbose=self.verbose)
        if self.solver_ == "gd":
            return solvers.gd(problem, x0, learning_rate=self.learning_rate,
                              max_iter=self.max_iter, verbose=self.verbose)
        return solvers.SOLVERS[self.solver_](problem, x0, tol=self.tol,
                                             max_iter=self.max_iter, verbose=self.verbose)

    def decision_function(self, X):
        """Scores ``X coef_ᵀ + intercept_`` (a lazy dask array for a dask ``X``).

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            The samples, one per row (a dask ``X`` for a model of two classes).

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            Two classes: the score of ``classes_[1]`` (positive: predicted); more: one
            column per class.
        """
        if on_dask.is_dask_array(X):
            return on_dask.decision_function(self._dask_features(X), self.coef_,
                                             self.intercept_)
        return super().decision_function(X)

    def predict(self, X):
        """Class labels (a lazy dask array for a dask ``X``).

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            The samples, one per row (a dask ``X`` for a model of two classes).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The predicted class of each sample, one of ``classes_``.
        """
        if on_dask.is_dask_array(X):
            return on_dask.predict(self._dask_features(X), self.coef_, self.intercept_,
                                   self.classes_)
        return super().predict(X)

    def _dask_features(self, X):
        check_is_fitted(self)
        if self.classes_.size != 2:
            raise ValueError("a dask X takes a model of two classes")
        X = on_dask.check_input(X, None, None)[0]
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return X

    def predict_proba(self, X):
        """Probability of each class.

        Columns in the order of ``classes_``; lazy for a dask ``X``.

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            The samples, one per row (a dask ``X`` for a model of two classes).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The probability of each class for each sample; each row sums to 1.
        """
        check_is_fitted(self)
        if on_dask.is_dask_array(X):
            return on_dask.predict_proba(self._dask_features(X), self.coef_, self.intercept_)
        scores = self.decision_function(X)
        if scores.ndim == 1:
            p = np.empty((scores.shape[0], 2), dtype=np.float64)
            p[:, 1] = sigmoid(scores)
            p[:, 0] = sigmoid(-scores)
            return p
        return softmax(np.asarray(scores, dtype=np.float64), copy=False)

    def predict_log_proba(self, X):
        """Log of :meth:`predict_proba`, computed without rounding to 0 first.

        Parameters
        ----------
        X : {array-like, dask array} of shape (n_samples, n_features)
            The samples, one per row (a dask ``X`` for a model of two classes).

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The log-probability of each class (columns in the order of ``classes_``); lazy
            for a dask ``X``.
        """
        check_is_fitted(self)
        if on_dask.is_dask_array(X):
            return on_dask.predict_proba(self._dask_features(X), self.coef_, self.intercept_,
                                         log=True)
        scores = np.asarray(self.decision_function(X), dtype=np.float64)
        if scores.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, scores), -np.logaddexp(0.0, -scores)])
        shifted = scores - scores.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

