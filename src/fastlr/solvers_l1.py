"""The L1 and elastic-net solver of :class:`fastlr.LogisticRegression`: OWL-QN.

scikit-learn's objective with ``l1_ratio = ρ > 0``, scaled as the smooth solvers scale it
(:mod:`fastlr.objective`):

    f(x) + α ‖w‖₁,   f = Σ s L / Σ s + ½ λ (1 − ρ) ‖w‖²,   α = λ ρ,   λ = 1 / (C Σ s)

(the intercepts not penalized). ``f`` and ``∇f`` come from the objective's one-pass
kernels — binary or multinomial, dense or sparse — exactly as for the L2 solvers.

**OWL-QN** (Andrew and Gao, 2007): L-BFGS on the orthant the iterate is in. The
pseudo-gradient ``∂`` (the minimum-norm subgradient of ``f + α‖w‖₁``) replaces the
gradient; the L-BFGS direction is kept only where it agrees with ``−∂``; the line search
projects each trial point onto the orthant (a coordinate that would change sign stops at
zero — how coefficients become exactly zero); curvature pairs come from the smooth
gradient. Each iteration costs one pass over ``X`` per trial point (usually one).

**Stopping** (the same ``tol`` as the smooth solvers' ``max |∇f| <= tol``): the largest
entry of the pseudo-gradient, ``max |∂| <= tol`` — the largest violation of the optimality
(KKT) conditions: ``|∂f/∂w_j| <= α`` where ``w_j = 0``, ``∂f/∂w_j = −α sign(w_j)``
elsewhere.
"""

from __future__ import annotations

import numpy as np

from fastlr.solvers import Result, _report

#: L-BFGS memory (scikit-learn's lbfgs: 10) and Armijo's constant of the line search
MEMORY = 10
ARMIJO = 1e-4


def penalized(objective) -> np.ndarray:
    """1.0 at each coefficient the L1 term applies to, 0.0 at the intercepts."""
    mask = np.ones(objective.size)
    if objective.fit_intercept:
        width = objective.size // getattr(objective, "n_classes", 1)
        mask[width - 1::width] = 0.0
    return mask


def pseudo_gradient(x, g, alpha):
    """The minimum-norm subgradient of ``f + Σ alpha_i |x_i|`` at ``x`` (``g = ∇f``)."""
    right, left = g + alpha, g - alpha
    at_zero = np.where(right < 0.0, right, np.where(left > 0.0, left, 0.0))
    return np.where(x > 0.0, right, np.where(x < 0.0, left, at_zero))


def owlqn(objective, x0, *, l1, tol, max_iter, verbose=0):
    """Minimize ``objective.loss_gradient`` plus ``l1 · penalized(objective) · |x|`` (see the
    module docstring)."""
    alpha = l1 * penalized(objective)
    x = np.array(x0, dtype=np.float64)
    f, g = objective.loss_gradient(x)
    F = f + float(alpha @ np.abs(x))
    pairs: list[tuple[np.ndarray, np.ndarray, float]] = []
    for k in range(max_iter):
        pg = pseudo_gradient(x, g, alpha)
        _report(verbose, "owl-qn", k, F, pg)
        if np.max(np.abs(pg)) <= tol:
            return Result(x, k, True)
        d = -_two_loop(pg, pairs)
        d[d * pg >= 0.0] = 0.0  # keep only what descends along -∂
        if not d.any():
            d = -pg
        orthant = np.where(x != 0.0, np.sign(x), -np.sign(pg))
        step = 1.0 if pairs else 1.0 / max(1.0, float(np.linalg.norm(pg)))
        while True:
            trial = x + step * d
            trial[np.sign(trial) != orthant] = 0.0  # the orthant's projection
            f_trial, g_trial = objective.loss_gradient(trial)
            F_trial = f_trial + float(alpha @ np.abs(trial))
            if F_trial <= F + ARMIJO * float(pg @ (trial - x)):
                break
            step *= 0.5
            if step < 1e-12:
                return Result(x, k, False, "the line search found no lower objective "
                                           "(rounding: the optimum is as close as it gets)")
        s, y = trial - x, g_trial - g
        sy = float(s @ y)
        if sy > 1e-12 * float(y @ y):
            pairs.append((s, y, sy))
            del pairs[:-MEMORY]
        x, f, g, F = trial, f_trial, g_trial, F_trial
    pg = pseudo_gradient(x, g, alpha)
    converged = bool(np.max(np.abs(pg)) <= tol)
    return Result(x, max_iter, converged, "" if converged else "max_iter reached")


def _two_loop(v, pairs):
    """L-BFGS's product of its inverse Hessian estimate with ``v``."""
    q = v.copy()
    coefficients = []
    for s, y, sy in reversed(pairs):
        a = float(s @ q) / sy
        q -= a * y
        coefficients.append(a)
    if pairs:
        s, y, sy = pairs[-1]
        q *= sy / float(y @ y)
    for (s, y, sy), a in zip(pairs, reversed(coefficients)):
        q += (a - float(y @ q) / sy) * s
    return q
