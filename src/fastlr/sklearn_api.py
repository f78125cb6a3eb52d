"""scikit-learn's parameters, as :class:`fastlr.LogisticRegression` (and its CV) take them:
the penalty from ``C``, ``l1_ratio`` and the deprecated ``penalty``, scikit-learn's solver
names, class weights, and scikit-learn's wording of the warnings its tests check.

scikit-learn ≥ 1.8 writes "no penalty" as ``C=np.inf`` and chooses the penalty with
``l1_ratio`` (0: L2, 1: L1, between: elastic net); ``penalty`` is deprecated, still
accepted with a FutureWarning. fastlr follows the same rules with the same warnings.

Solver names (the choice): fastlr's own are ``"auto"``, ``"lbfgs"``, ``"newton-cg"``,
``"newton-gram"`` and ``"gd"``. scikit-learn's ``"newton-cholesky"`` minimizes the same
objective by Newton's method: it is accepted as a name for fastlr's Newton solver
(``"newton-cg"``; ``solver_`` says what ran). ``"saga"`` — scikit-learn's solver for every
penalty, L1 and elastic net included — is accepted as a name for ``"auto"``: the same
objective, minimized by fastlr's choice (for ``l1_ratio > 0`` proximal Newton,
:mod:`fastlr.solvers_l1`; ``solver_`` says which). ``"sag"`` and ``"liblinear"`` are
refused with the equivalent named: sag reaches the same L2 optimum as fastlr's solvers;
liblinear penalizes the intercept (``intercept_scaling``), another objective.
"""

from __future__ import annotations

import warnings

import numpy as np

from fastlr import solvers_l1

#: scikit-learn's solver names that fastlr takes as names for one of its own
ALIASES = {"newton-cholesky": "newton-cg", "saga": "auto"}
#: scikit-learn's solver names that fastlr refuses, with why and what to use instead
REFUSED = {
    "sag": "fastlr has no stochastic average gradient; solver='auto', 'lbfgs' or "
           "'newton-cg' reach the same L2 optimum",
    "liblinear": "liblinear penalizes the intercept (intercept_scaling), another objective; "
                 "fastlr's solver='auto', 'lbfgs' or 'newton-cg' minimize scikit-learn's "
                 "objective of its other solvers (with fit_intercept=False the two agree)",
}


def penalty(estimator) -> str | None:
    """``"l2"``, ``"l1"``, ``"elasticnet"`` or None from ``C``, ``l1_ratio`` and the
    deprecated ``penalty``, with scikit-learn's FutureWarnings and checks."""
    given, l1_ratio, C = estimator.penalty, estimator.l1_ratio, estimator.C
    if given == "deprecated":
        if l1_ratio is None or l1_ratio == 0:
            chosen = "l2"
            if l1_ratio is None:
                warnings.warn("'l1_ratio=None' was deprecated in version 1.8 and will "
                              "trigger an error in 1.10. Use 0<=l1_ratio<=1 instead.",
                              FutureWarning, stacklevel=3)
        elif l1_ratio == 1:
            chosen = "l1"
        else:
            chosen = "elasticnet"
        return None if C == np.inf else chosen
    warnings.warn("'penalty' was deprecated in version 1.8 and will be removed in 1.10. To "
                  "avoid this warning, leave 'penalty' set to its default value and use "
                  "'l1_ratio' or 'C' instead. Use l1_ratio=0 instead of penalty='l2', "
                  "l1_ratio=1 instead of penalty='l1', l1_ratio set to a float between 0 "
                  "and 1 instead of penalty='elasticnet', and C=np.inf instead of "
                  "penalty=None.", FutureWarning, stacklevel=3)
    if given != "elasticnet" and l1_ratio is not None and 0 < l1_ratio < 1:
        warnings.warn(f"l1_ratio parameter is only used when penalty is 'elasticnet'. Got "
                      f"(penalty={given})", stacklevel=3)
    if (given == "l2" and l1_ratio != 0) or (given == "l1" and l1_ratio != 1):
        warnings.warn(f"Inconsistent values: penalty={given} with l1_ratio={l1_ratio}. "
                      "penalty is deprecated. Please use l1_ratio only.", stacklevel=3)
    if given == "elasticnet" and l1_ratio is None:
        raise ValueError("l1_ratio must be specified when penalty is elasticnet.")
    if given is None:
        if C != 1.0:
            warnings.warn("Setting penalty=None will ignore the C and l1_ratio parameters",
                          stacklevel=3)
        return None
    return None if C == np.inf else given


#: fastlr's solvers for L1 and elastic net (l1_ratio > 0): :mod:`fastlr.solvers_l1`
L1_SOLVERS = tuple(solvers_l1.SOLVERS)


def check_penalty(chosen: str | None, solver_name: str) -> None:
    """L1 and elastic net take fastlr's :data:`L1_SOLVERS` (or ``"auto"``); the smooth
    solvers take L2 or none (scikit-learn's wording); the L1 solvers only L1 and elastic
    net."""
    if chosen in ("l1", "elasticnet") and solver_name not in ("auto", *L1_SOLVERS):
        raise ValueError(f"Solver {solver_name} supports only 'l2' or None penalties, got "
                         f"{chosen} penalty. fastlr's solvers for L1 and elastic net are "
                         "'prox-newton' and 'owl-qn' (solver='auto' picks one)")
    if solver_name in L1_SOLVERS and chosen not in ("l1", "elasticnet"):
        raise ValueError(f"solver={solver_name!r} is one of fastlr's L1 and elastic-net "
                         f"solvers (l1_ratio > 0); got penalty {chosen!r}: use solver='auto'")


def solver(name: str, dual: bool) -> str:
    """fastlr's solver for ``name`` (scikit-learn's or fastlr's), or ValueError."""
    if name in REFUSED:
        raise ValueError(f"solver={name!r} is not available in fastlr: {REFUSED[name]}")
    if dual:
        raise ValueError(f"Solver {name} supports only dual=False, got dual={dual}")
    return ALIASES.get(name, name)


def n_jobs(value) -> None:
    """scikit-learn's FutureWarning for ``n_jobs`` (no effect since 1.8; fastlr's threads:
    ``n_threads``)."""
    if value is not None:
        warnings.warn("'n_jobs' has no effect since 1.8 and will be removed in 1.10. You "
                      f"provided 'n_jobs={value}', please leave it unspecified.",
                      FutureWarning, stacklevel=3)


def sample_weights(class_weight, classes, y, sample_weight):
    """``sample_weight`` times each sample's class weight (``"balanced"``: the total weight
    over ``n_classes ·`` its class's weight, or a dict by class label), scikit-learn's rule
    (its ``compute_class_weight`` given the sample weights)."""
    if class_weight is None:
        return sample_weight
    from sklearn.utils.class_weight import compute_class_weight

    weights = compute_class_weight(class_weight, classes=classes, y=y,
                                   sample_weight=sample_weight)
    return sample_weight * weights[np.searchsorted(classes, y)]


def not_converged(solver_name: str, n_iter: int, reason: str, asked: str = "") -> str:
    """The ConvergenceWarning's text, in scikit-learn's words ("… failed to converge …
    Increase the number of iterations"; asked for as ``"newton-cholesky"``: that solver's
    "Newton solver did not converge after N iterations")."""
    if asked == "saga":  # scikit-learn's saga's words
        return (f"The max_iter was reached which means the coef_ did not converge ({solver_name} "
                f"after {n_iter} iterations: {reason or 'tol not met'})")
    if asked == "newton-cholesky":
        return (f"Newton solver did not converge after {n_iter} iterations ({solver_name}: "
                f"{reason or 'tol not met'}). Increase the number of iterations (max_iter) "
                "or scale the data.")
    return (f"{solver_name} failed to converge after {n_iter} iteration(s) "
            f"({reason or 'tol not met'}). Increase the number of iterations (max_iter) or "
            "scale the data as shown in: "
            "https://scikit-learn.org/stable/modules/preprocessing.html")
