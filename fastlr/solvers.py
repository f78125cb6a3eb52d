"""The solvers of :class:`fastlr.LogisticRegression`, on an objective of :mod:`fastlr.objective`.

Each takes the objective, a start ``x0`` and its settings and returns a :class:`Result`.
Convergence is scikit-learn's criterion: the largest entry of the gradient of the scaled
objective ``f`` (``max |∇f| <= tol``; the problem has no bounds, so the projected gradient
is the gradient). Between two kernel calls a solver does O(size) vector arithmetic in
NumPy: the kernels' passes over ``X`` are the cost.

``lbfgs``
    SciPy's L-BFGS-B with scikit-learn's settings (``maxls=50``, ``ftol=64 ε``): one
    loss-and-gradient pass per function evaluation.
``newton-cg``
    Truncated Newton: each outer step takes the gradient and the Hessian's weights in one
    pass, solves ``∇²f p = -∇f`` by conjugate gradients to a relative accuracy
    ``min(0.5, √‖∇f‖₁)`` (one Hessian–vector pass per CG step; superlinear near the
    optimum), then backtracks along ``p`` (Armijo) from the full step. The trial point's
    pass gives the next step's gradient and Hessian weights (no pass of their own; one
    buffer, since only the accepted point's are used): a full step costs one pass plus
    the CG passes.
``gd``
    The lecture's gradient descent: ``max_iter`` fixed steps of ``learning_rate``, the cost
    recorded every 100 iterations, no stopping test.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Armijo's sufficient-decrease constant and the backtracking factor of newton-cg
ARMIJO = 1e-4
BACKTRACK = 0.5
#: most CG steps per Newton step (scikit-learn's ``maxinner``)
MAX_CG = 200


@dataclass
class Result:
    x: np.ndarray
    n_iter: int
    converged: bool
    message: str = ""
    costs: list = field(default_factory=list)  # gd: the cost every 100 iterations


def _report(verbose, solver, k, f, g):
    if verbose:
        print(f"fastlr {solver}: iteration {k:4d}  f = {f:.12g}  max|grad| = "
              f"{np.max(np.abs(g)):.3g}", flush=True)


def lbfgs(objective, x0, *, tol, max_iter, verbose=0):
    """SciPy's L-BFGS-B on ``objective.loss_gradient``."""
    from scipy.optimize import minimize

    state = {"k": 0}

    def callback(intermediate_result):
        state["k"] += 1
        _report(verbose, "lbfgs", state["k"], intermediate_result.fun,
                objective.loss_gradient(intermediate_result.x)[1] if verbose > 1 else [0.0])

    result = minimize(objective.loss_gradient, x0, method="L-BFGS-B", jac=True,
                      callback=callback if verbose else None,
                      options={"maxiter": max_iter, "maxls": 50, "gtol": tol,
                               "ftol": 64 * np.finfo(float).eps})
    converged = result.status == 0  # 1: max_iter reached, 2: the line search failed
    return Result(np.asarray(result.x, dtype=np.float64), int(result.nit), converged,
                  str(result.message))


def newton_cg(objective, x0, *, tol, max_iter, verbose=0):
    """Truncated Newton with a one-pass Hessian–vector product (see the module docstring)."""
    x = np.array(x0, dtype=np.float64)
    f, g = objective.loss_gradient(x, hessian=True)
    for k in range(max_iter):
        _report(verbose, "newton-cg", k, f, g)
        if np.max(np.abs(g)) <= tol:
            return Result(x, k, True)
        p = _conjugate_gradients(objective.hessp, g)
        slope = float(g @ p)
        if not slope < 0.0:  # not a descent direction (only from rounding): steepest descent
            p, slope = -g, -float(g @ g)
        step = 1.0
        while True:
            trial = x + step * p
            f_trial, g_trial = objective.loss_gradient(trial, hessian=True)
            if f_trial <= f + ARMIJO * step * slope:
                break
            step *= BACKTRACK
            if step < 1e-10:
                return Result(x, k, False, "the line search found no lower objective "
                                           "(rounding: the optimum is as close as it gets)")
        x, f, g = trial, f_trial, g_trial  # and the Hessian is the one at the trial point
    converged = np.max(np.abs(g)) <= tol
    return Result(x, max_iter, bool(converged), "" if converged else "max_iter reached")


def _conjugate_gradients(hessp, g):
    """``p`` with ``∇²f p ≈ -g``, to ``‖r‖₁ <= min(0.5, √‖g‖₁) ‖g‖₁`` (scikit-learn's
    forcing term), at most :data:`MAX_CG` steps; stops at a direction of no curvature."""
    g_norm = float(np.sum(np.abs(g)))
    target = min(0.5, np.sqrt(g_norm)) * g_norm
    p = np.zeros_like(g)
    r = -g
    d = r.copy()
    rr = float(r @ r)
    for _ in range(MAX_CG):
        if float(np.sum(np.abs(r))) <= target:
            break
        Hd = hessp(d)
        curvature = float(d @ Hd)
        if curvature <= 1e-16 * rr:
            if not p.any():
                p = -g
            break
        alpha = rr / curvature
        p += alpha * d
        r -= alpha * Hd
        rr_next = float(r @ r)
        d *= rr_next / rr
        d += r
        rr = rr_next
    return p


def gd(objective, x0, *, learning_rate, max_iter, verbose=0):
    """The lecture's gradient descent (see the module docstring)."""
    x = np.array(x0, dtype=np.float64)
    costs = []
    for i in range(max_iter):
        f, g = objective.loss_gradient(x)
        if i % 100 == 0:
            costs.append(f)
            if verbose:
                print("Cost after iteration %i: %f" % (i, f), flush=True)
        with np.errstate(over="ignore", invalid="ignore"):  # the next f says NotFinite
            x -= learning_rate * g
    return Result(x, max_iter, True, costs=costs)


#: the solvers by name
SOLVERS = {"lbfgs": lbfgs, "newton-cg": newton_cg, "gd": gd}
