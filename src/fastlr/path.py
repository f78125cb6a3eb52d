"""``fastlr.l1_path``: L1 / elastic-net logistic regression along a path of ``C``.

The path runs from the most regularized ``C`` to the least (sparse to dense), each fit
starting from the previous one's coefficients. X is validated, and the objective (its
kernels, weights, labels) built, once for the whole path; only the penalty changes between
fits. The proximal-Newton solver's working sets are the screening (:mod:`fastlr.solvers_l1`):
a warm-started fit's first model holds the previous ``C``'s non-zeros and the worst
violators of the optimality conditions at the new ``C`` — what strong rules would keep —
and its KKT check over every feature makes it safe (a feature screened out wrongly is a
violator at the next step).

Needs scikit-learn, as :class:`fastlr.LogisticRegression` does.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastlr import objective, sklearn_api, solvers_l1, threads
from fastlr.estimator import LogisticRegression

#: a path of ``Cs=n`` points spans this many decades above its smallest C
DECADES = 3.0


@dataclass
class Path:
    """What :func:`l1_path` returns, one entry per ``C`` (in the order of ``Cs``).

    Parameters
    ----------
    Cs : ndarray of shape (n_Cs,)
        The values of ``C``, increasing.
    coef : ndarray of shape (n_Cs, 1 or n_classes, n_features)
        The coefficients at each ``C``, in X's dtype.
    intercept : ndarray of shape (n_Cs, 1 or n_classes)
        The intercepts (zeros without one).
    n_iter : ndarray of shape (n_Cs,)
        Iterations of each fit.
    classes : ndarray
        The classes, sorted (for two, ``coef[:, 0]`` is ``classes[1]``'s).
    stats : dict
        The solver, passes over X (``evaluations``), ``kernel_seconds``, ``seconds``.
    """

    Cs: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    n_iter: np.ndarray
    classes: np.ndarray
    stats: dict = field(default_factory=dict)


def l1_path(X, y, Cs=20, *, l1_ratio=1.0, fit_intercept=True, tol=1e-4, max_iter=100,
            sample_weight=None, class_weight=None, solver="auto", n_threads=None,
            backend="auto"):
    """Fit L1 (``l1_ratio=1``) or elastic-net logistic regression for every ``C`` of ``Cs``.

    The objective of :class:`fastlr.LogisticRegression` with ``l1_ratio``: scikit-learn's
    ``C Σ s L + l1_ratio ‖w‖₁ + ½(1 − l1_ratio)‖w‖²``. Each fit equals that estimator's
    fit at that ``C`` (to ``tol``); together they cost less: one validation, warm starts.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        The samples (CSR/CSC read in place; float32 stays float32).
    y : array-like of shape (n_samples,)
        The labels: two or more values.
    Cs : int or array-like of float, default=20
        The values of ``C``, fitted in increasing order; an int ``n``: ``n`` values
        log-spaced from the smallest C at which a coefficient is non-zero (every
        coefficient is zero below it) over :data:`DECADES` decades.
    l1_ratio : float in (0, 1], default=1.0
        The L1 share of the penalty.
    fit_intercept : bool, default=True
        Fit an intercept (not penalized).
    tol : float >= 0, default=1e-4
        Each fit stops when its largest KKT violation is at most ``tol``.
    max_iter : int >= 1, default=100
        Most iterations of each fit.
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative weights.
    class_weight : dict, "balanced" or None, default=None
        As :class:`fastlr.LogisticRegression`'s.
    solver : {"auto", "prox-newton", "owl-qn"}, default="auto"
        As :class:`fastlr.LogisticRegression`'s for ``l1_ratio > 0``.
    n_threads : int >= 1 or None, default=None
        Threads of the kernels.
    backend : {"auto", "cython", "numba", "numpy"}, default="auto"
        The kernels.

    Returns
    -------
    path : Path
        ``Cs``, ``coef``, ``intercept``, ``n_iter``, ``classes`` and ``stats``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(500, 30, n_informative=4, random_state=0)
    >>> path = fastlr.l1_path(X, y, Cs=5)
    >>> [int(np.count_nonzero(c)) for c in path.coef]  # more features as C grows
    [0, 5, 17, 26, 29]
    """
    started = time.perf_counter()
    if not 0.0 < float(l1_ratio) <= 1.0:
        raise ValueError(f"l1_ratio must be in (0, 1] for an L1 path; got {l1_ratio!r}")
    if solver not in ("auto", *sklearn_api.L1_SOLVERS):
        raise ValueError(f"solver must be 'auto' or one of {list(sklearn_api.L1_SOLVERS)}; "
                         f"got {solver!r}")
    estimator = LogisticRegression(C=1.0, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                                   tol=tol, max_iter=max_iter, class_weight=class_weight,
                                   solver=solver, n_threads=n_threads, backend=backend)
    estimator._validate_params()
    problem, X, _ = estimator._problem(X, y, sample_weight, "elasticnet")
    total = 1.0 / problem.scale
    rows = 1 if estimator.classes_.size == 2 else estimator.classes_.size
    x = _intercepts_only(problem, rows)
    Cs = _grid(problem, x, Cs, float(l1_ratio), total)
    estimator.solver_ = estimator._choose_l1_solver(X, solver, rows == 1)
    solve = solvers_l1.SOLVERS[estimator.solver_]
    width = problem.size // rows
    n_features = X.shape[1]
    coef = np.empty((Cs.size, rows, n_features), dtype=X.dtype)
    intercept = np.zeros((Cs.size, rows), dtype=X.dtype)
    n_iter = np.empty(Cs.size, dtype=np.int32)
    limiter = threads.limit_blas(1) if isinstance(problem, objective.Binary) else None
    try:
        for i, C in enumerate(Cs):
            problem.l2 = (1.0 - l1_ratio) / (C * total)
            result = solve(problem, x, l1=l1_ratio / (C * total), tol=tol, max_iter=max_iter)
            if not result.converged:
                warnings.warn(f"at C={C:.6g}: " + sklearn_api.not_converged(
                    estimator.solver_, result.n_iter, result.message, solver),
                    ConvergenceWarning, stacklevel=2)
            x = result.x
            fitted = x.reshape(rows, width)
            coef[i] = fitted[:, :n_features]
            if fit_intercept:
                intercept[i] = fitted[:, -1]
            n_iter[i] = result.n_iter
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    stats = {"solver": estimator.solver_, "evaluations": problem.evaluations,
             "kernel_seconds": problem.kernel_seconds,
             "seconds": time.perf_counter() - started}
    return Path(Cs, coef, intercept, n_iter, estimator.classes_, stats)


def _intercepts_only(problem, rows):
    """The optimum with every coefficient zero: the intercepts of the (weighted) class
    frequencies (binary: their log-odds; multinomial: log frequencies, centred)."""
    x = np.zeros(problem.size)
    if not problem.fit_intercept:
        return x
    width = problem.size // rows
    if rows == 1:
        p = float(problem.sw @ problem.y) * problem.scale
        x[-1] = np.log(p / (1.0 - p)) if 0.0 < p < 1.0 else 0.0
    else:
        frequency = (problem.sw @ problem.Y) * problem.scale
        logs = np.log(np.maximum(frequency, np.finfo(float).tiny))
        x[width - 1::width] = logs - logs.mean()
    return x


def _grid(problem, x, Cs, l1_ratio, total):
    """``Cs`` as an increasing float array; an int: :func:`l1_path`'s grid from the C at
    which the first coefficient enters (``max |∂f/∂w_j|`` at the intercepts-only optimum
    equals the L1 weight ``l1_ratio / (C Σ s)``)."""
    if isinstance(Cs, Integral) and not isinstance(Cs, bool):
        if Cs < 1:
            raise ValueError(f"Cs must be a positive int or an array of positive floats; "
                             f"got {Cs!r}")
        problem.l2 = 0.0
        _, g = problem.loss_gradient(x)
        mask = solvers_l1.penalized(problem) > 0
        largest = float(np.max(np.abs(g[mask]))) if mask.any() else 0.0
        if largest == 0.0:
            raise ValueError("every feature's gradient is zero at the intercepts-only "
                             "optimum (constant features?): no C makes a coefficient "
                             "non-zero; pass Cs explicitly")
        return l1_ratio / (largest * total) * np.logspace(0.0, DECADES, Cs)
    Cs = np.asarray(Cs, dtype=np.float64)
    if Cs.ndim != 1 or Cs.size == 0 or not np.all(np.isfinite(Cs)) or np.any(Cs <= 0):
        raise ValueError(f"Cs must be a positive int or a 1-D array of positive finite "
                         f"floats; got {Cs!r}")
    return np.sort(Cs)


__all__ = ["Path", "l1_path"]
