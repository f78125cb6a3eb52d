"""The solvers of :class:`fastlr.LogisticRegression`, on an objective of :mod:`fastlr.objective`.

Each takes the objective, a start ``x0`` and its settings and returns a :class:`Result`.
Convergence is scikit-learn's criterion: the largest entry of the gradient of the scaled
objective ``f`` (``max |∇f| <= tol``; the problem has no bounds, so the projected gradient
is the gradient). Where ``f``'s rounding stops progress before that (a ``tol`` below what
the gradient's rounding allows: 1e-18, or 1e-8 on float32 X), the fit counts as converged,
as L-BFGS-B's ``ftol`` counts it: no ConvergenceWarning for an optimum as close as float64
gets. Between two kernel calls a solver does O(size) vector arithmetic in
NumPy: the kernels' passes over ``X`` are the cost.

``lbfgs``
    SciPy's L-BFGS-B with scikit-learn's settings (``maxls=50``, ``ftol=64 ε``): one
    loss-and-gradient pass per function evaluation. Where it stops on ``ftol`` (``f``'s
    relative decrease at rounding level) with the gradient still above ``tol`` — at tight
    tolerances: 1.7e-7 from the optimum at tol 1e-12 on 100 × 20 — newton-cg goes on from
    there to ``tol``.
``newton-cg``
    Truncated Newton: each outer step takes the gradient and the Hessian's weights in one
    pass, solves ``∇²f p = -∇f`` by conjugate gradients to a relative accuracy
    ``min(0.5, √‖∇f‖₁)`` (one Hessian–vector pass per CG step; superlinear near the
    optimum) — preconditioned by the Hessian's diagonal where the objective gives it (a
    sparse ``X``: one more pass per outer step; on the text-like 300 000 × 200 000
    problem 17 Hessian passes instead of 51 to tol 1e-6) —, then backtracks along ``p``
    (Armijo) from the full step. The trial point's pass gives the next step's gradient and
    Hessian weights (no pass of their own; one buffer, since only the accepted point's are
    used): a full step costs one pass plus the CG passes.
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
#: newton-cg stops after this many steps in a row at f's rounding, converged as far as f
#: can tell (a tol below the gradient's rounding: 1e-18, or 1e-8 on float32 X), as
#: L-BFGS-B's ftol stops
FLAT_STEPS = 10


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
    """SciPy's L-BFGS-B on ``objective.loss_gradient``; ``max_iter=0``: the start."""
    from scipy.optimize import minimize

    if max_iter == 0:  # SciPy would still take a step
        _, g = objective.loss_gradient(x0)
        return Result(np.array(x0, dtype=np.float64), 0, bool(np.max(np.abs(g)) <= tol),
                      "max_iter=0")

    state = {"k": 0}

    def callback(intermediate_result):
        state["k"] += 1
        print(f"fastlr lbfgs: iteration {state['k']:4d}  f = {intermediate_result.fun:.12g}",
              flush=True)

    result = minimize(objective.loss_gradient, x0, method="L-BFGS-B", jac=True,
                      callback=callback if verbose else None,
                      options={"maxiter": max_iter, "maxls": 50, "gtol": tol,
                               "ftol": 64 * np.finfo(float).eps})
    x, n_iter = np.asarray(result.x, dtype=np.float64), int(result.nit)
    if result.status == 0 and np.max(np.abs(result.jac)) > tol and n_iter < max_iter:
        # stopped by ftol (f's relative decrease at rounding level) with the gradient
        # above tol: Newton steps take it there (tol means the same for every solver)
        polished = newton_cg(objective, x, tol=tol, max_iter=max_iter - n_iter,
                             verbose=verbose)
        polished.n_iter += n_iter
        return polished
    converged = result.status == 0  # 1: max_iter reached, 2: the line search failed
    return Result(x, n_iter, converged, str(result.message))


def newton_cg(objective, x0, *, tol, max_iter, verbose=0):
    """Truncated Newton with a one-pass Hessian–vector product (see the module docstring)."""
    x = np.array(x0, dtype=np.float64)
    f, g = objective.loss_gradient(x, hessian=True)
    flat = 0  # consecutive steps whose f changed by less than its rounding
    for k in range(max_iter):
        _report(verbose, "newton-cg", k, f, g)
        if np.max(np.abs(g)) <= tol:
            return Result(x, k, True)
        if flat >= FLAT_STEPS:  # converged as far as f can tell, as SciPy's ftol says it
            return Result(x, k, True, f"{FLAT_STEPS} steps changed f by less than its "
                                      "rounding (the optimum is as close as it gets)")
        diagonal = getattr(objective, "hessian_diagonal", None)
        p = _conjugate_gradients(objective.hessp, g, diagonal() if diagonal else None)
        slope = float(g @ p)
        if not slope < 0.0:  # not a descent direction (only from rounding): steepest descent
            p, slope = -g, -float(g @ g)
        step = 1.0
        trial = np.empty_like(x)
        while True:
            np.multiply(p, step, out=trial)
            trial += x
            f_trial, g_trial = objective.loss_gradient(trial, hessian=True)
            if f_trial <= f + ARMIJO * step * slope or _flat(f_trial, f, g_trial, g):
                break
            step *= BACKTRACK
            if step < 1e-10:  # at f's rounding: converged as far as f can tell
                return Result(x, k, True, "the line search found no lower objective "
                                          "(rounding: the optimum is as close as it gets)")
        flat = flat + 1 if f_trial > f - 8 * np.finfo(float).eps * abs(f) else 0
        x, f, g = trial, f_trial, g_trial  # and the Hessian is the one at the trial point
    converged = np.max(np.abs(g)) <= tol
    return Result(x, max_iter, bool(converged), "" if converged else "max_iter reached")


def _flat(f_trial, f, g_trial, g):
    """Near the optimum f changes by less than its rounding (a few ulps), and Armijo's
    test sees noise: there a step is taken if it lowers the largest gradient entry."""
    return (f_trial <= f + 8 * np.finfo(float).eps * abs(f)
            and np.max(np.abs(g_trial)) < np.max(np.abs(g)))


def _conjugate_gradients(hessp, g, diagonal=None):
    """``p`` with ``∇²f p ≈ -g``, to ``‖r‖₁ <= min(0.5, √‖g‖₁) ‖g‖₁`` (scikit-learn's
    forcing term), at most :data:`MAX_CG` steps; stops at a direction of no curvature.
    ``diagonal`` (of ``∇²f``, positive), if given, preconditions: Jacobi's PCG."""
    g_norm = float(np.sum(np.abs(g)))
    target = min(0.5, np.sqrt(g_norm)) * g_norm
    # an empty column without a penalty has a zero diagonal (and a zero gradient): 1 there
    inverse = None if diagonal is None else 1.0 / np.where(diagonal > 0.0, diagonal, 1.0)
    p = np.zeros_like(g)
    r = -g
    z = r if inverse is None else r * inverse  # the preconditioned residual
    d = z.copy()
    work = np.empty_like(g)  # every update in place: no temporaries of n_features
    rz = float(r @ z)
    for _ in range(MAX_CG):
        if float(np.abs(r, out=work).sum()) <= target:
            break
        Hd = hessp(d)
        curvature = float(d @ Hd)
        if curvature <= 1e-16 * rz:
            if not p.any():
                p = -g
            break
        alpha = rz / curvature
        p += np.multiply(d, alpha, out=work)
        r -= np.multiply(Hd, alpha, out=work)
        if inverse is not None:
            np.multiply(r, inverse, out=z)
        rz_next = float(r @ z)
        d *= rz_next / rz
        d += z
        rz = rz_next
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


def newton_gram(objective, x0, *, tol, max_iter, verbose=0):
    """Newton's method in the span of the samples, on their Gram matrix ``K = X Xᵀ``.

    With an L2 penalty the optimum ``w`` is a combination of the samples, ``w = Xᵀα``, and
    so is every Newton step from ``w = 0``; then ``z = Kα + b``, ``‖w‖² = αᵀKα``, and the
    Newton step ``∇²f Δw = -∇f`` in the n_features-dimensional space is
    ``(D K / S + λ I) Δα + D 1 Δb / S = -(dz / S + λα)`` (plus the intercept's row), an
    (n_samples + 1)-dimensional system. One BLAS product makes K; each step then costs
    O(n_samples³) and nothing over X: the gradient ``∇f = Xᵀ r`` has ``‖∇f‖² = rᵀ K r``,
    and the steps stop once that bounds scikit-learn's criterion (``max |∇f| <= ‖∇f‖ <=
    tol``); one more BLAS product gives ``w``, and one pass of the kernels checks ``max
    |∇f|`` in float64 (K and w are computed in X's dtype: float32 X gives float32 sums),
    continuing with newton-cg from there if it is not met. For few samples with many
    features (the course's cat data: 209 × 12288): a dozen steps to the optimum instead
    of newton-cg's hundreds of passes. ``x0`` must be zero.
    """
    from scipy.linalg import solve

    from fastlr.backends._numpy_model import activations

    m = objective.X.shape[0]
    K = objective.gram()
    y, s, scale, lam = objective.y, objective.sw, objective.scale, objective.l2
    fit_intercept = objective.fit_intercept
    alpha, b = np.zeros(m), 0.0

    def evaluate(alpha, b):
        Ka = K @ alpha
        loss, dz, d = activations(Ka + b, y, s)
        return loss * scale + 0.5 * lam * float(alpha @ Ka), dz, d

    f, dz, d = evaluate(alpha, b)
    converged, message = False, "max_iter reached"
    for k in range(max_iter + 1):
        r = dz * scale + lam * alpha  # ∇f = Xᵀ r (w part), Σ dz / S (intercept)
        rb = float(dz.sum()) * scale if fit_intercept else 0.0
        norm = np.sqrt(max(float(r @ (K @ r)), 0.0))  # ‖Xᵀ r‖
        _report(verbose, "newton-gram", k, f, [norm, rb])
        if max(norm, abs(rb)) <= tol:
            converged, message = True, ""
            break
        if k == max_iter:
            break
        size = m + fit_intercept
        A = np.empty((size, size))
        np.multiply(K, (d * scale)[:, None], out=A[:m, :m])
        A[np.arange(m), np.arange(m)] += lam
        rhs = np.empty(size)
        rhs[:m] = -r
        if fit_intercept:
            A[:m, m] = d * scale
            A[m, :m] = d @ K * scale
            A[m, m] = float(d.sum()) * scale
            rhs[m] = -rb
        delta = solve(A, rhs, overwrite_a=True, overwrite_b=True, check_finite=False)
        d_alpha, d_b = delta[:m], (float(delta[m]) if fit_intercept else 0.0)
        slope = float(r @ (K @ d_alpha)) + rb * d_b  # ∇f · Δw, with Δw = Xᵀ Δα
        if not slope < 0.0:
            message = "no descent direction left (rounding)"
            break
        step = 1.0
        while True:
            f_trial, dz_trial, d_trial = evaluate(alpha + step * d_alpha, b + step * d_b)
            if f_trial <= f + ARMIJO * step * slope:
                break
            step *= BACKTRACK
            if step < 1e-10:
                break
        if step < 1e-10:
            message = "the line search found no lower objective"
            break
        alpha, b = alpha + step * d_alpha, b + step * d_b
        f, dz, d = f_trial, dz_trial, d_trial
    x = np.empty(objective.size)
    x[:objective.n_features] = objective.transposed_times(alpha[:, None])[:, 0]
    if fit_intercept:
        x[-1] = b
    if not converged:
        return Result(x, k, False, message)
    # K and w in X's dtype (float32 X: float32 sums): scikit-learn's criterion, in one
    # float64 pass of the kernels; newton-cg polishes where that is not met yet
    _, grad = objective.loss_gradient(x, hessian=True)
    if np.max(np.abs(grad)) <= tol or k >= max_iter:
        return Result(x, k, bool(np.max(np.abs(grad)) <= tol), message)
    polished = newton_cg(objective, x, tol=tol, max_iter=max_iter - k, verbose=verbose)
    polished.n_iter += k
    return polished


#: the solvers by name
SOLVERS = {"lbfgs": lbfgs, "newton-cg": newton_cg, "newton-gram": newton_gram, "gd": gd}
