"""The L1 and elastic-net solvers of :class:`fastlr.LogisticRegression`.

scikit-learn's objective with ``l1_ratio = ρ > 0``, scaled as the smooth solvers scale it
(:mod:`fastlr.objective`):

    f(x) + α ‖w‖₁,   f = Σ s L / Σ s + ½ λ (1 − ρ) ‖w‖²,   α = λ ρ,   λ = 1 / (C Σ s)

(the intercepts not penalized). ``f``, ``∇f`` and the Hessian's weights come from the
objective's one-pass kernels — binary or multinomial, dense or sparse — exactly as for the
L2 solvers.

**Proximal Newton with working sets** (:func:`prox_newton`; glmnet, newGLMNET, skglm's
working sets): at each outer step one pass over ``X`` gives ``∇f`` and the Hessian's
weights ``h``; the working set ``S`` is the non-zero coefficients and the worst violators of
the optimality conditions among the zero ones (:func:`working_set`); one more pass over the
rows builds the quadratic model's matrix on ``S``, ``scale · X_Sᵀ diag(h) X_S + λ(1−ρ) I``
(:func:`model_matrix`, :mod:`fastlr._l1_model`: a Numba kernel over a CSR ``X``'s rows
reading only ``S``'s entries, cost Σ_i k_i² for k_i of the row's non-zeros in ``S``; BLAS
in blocks of rows for a dense ``X``); coordinate descent minimizes the model plus the L1
term on that small matrix (:mod:`fastlr.backends._numba_cd`, O(|S|) per coordinate, no pass
over ``X``) to a tolerance of :data:`INNER` × the outer violation — where it crawls (an
ill-conditioned model), a Cholesky solve on the face of the signs it found takes it there
(:func:`on_face`); a backtracking line search on the true objective (newGLMNET's sufficient
decrease) takes the step; the accepted trial's pass is the next step's. Near the optimum
it converges quadratically: 5–7 outer steps on the benchmark's problems. ``X`` in memory.

K > 2 classes: the same, on K · |S| coordinates — a feature is in ``S`` for every class
(ranked by its largest violation over the classes, :func:`by_feature`), the coordinates
class-major as the flat coefficients are (:func:`coordinates`), the model's matrix the
multinomial Hessian's blocks ``scale · X_Sᵀ diag(s p_k (δ_kl − p_l)) X_S`` (the kernel's
cost Σ_i K² k_i² / 4; BLAS: one product per class and block of rows). That Hessian is
singular along "the same added to every class": the intercepts' (``f`` does not change
there: the model holds the last class's intercept, and the step is centred, keeping Σ b —
scikit-learn's symmetric intercepts); a feature's without an L2 term (the L1 term makes it
a descent direction as far as a class's coefficient reaches zero: coordinate descent
crawls there, and a ridge of :data:`RIDGE` in the face's solve takes that step at once).

**OWL-QN** (:func:`owlqn`; Andrew and Gao, 2007): L-BFGS on the orthant the iterate is in.
The pseudo-gradient ``∂`` (the minimum-norm subgradient of ``f + α‖w‖₁``) replaces the
gradient; the L-BFGS direction is kept only where it agrees with ``−∂``; the line search
projects each trial point onto the orthant (a coordinate that would change sign stops at
zero — how coefficients become exactly zero); curvature pairs come from the smooth
gradient. Each iteration costs one pass over ``X`` per trial point (usually one). Any
objective: multinomial, dask.

**Which** (``solver="auto"``, measured on the AMD EPYC Zen 5 VM, 2 cores, time to the
optimum within 1e-6): proximal Newton for an ``X`` in memory, two classes or more — the one-hot
flights table, 327 346 × 11 575, C = 0.01: 78 ms in 6 passes and 5 models, OWL-QN 1.0 s in
150 passes; dense 100 000 × 1000, C = 0.001: 0.27–0.33 s in 7 passes, OWL-QN 0.25–0.33 s
in 11 (there a pass over ``X`` costs what a model's matrix costs); on scikit-learn's
make_classification with redundant features (ill-conditioned) at tol 1e-10 it converges in
2–41 steps where OWL-QN stops at max_iter for 11 of 12 C's; scikit-learn's load_digits (10
classes, C = 0.1): CSR 90 ms in 9 steps, OWL-QN 1.3–2.2 s in 2 300 iterations, dense
0.15 s (one thread; 0.2–0.4 s on two, BLAS's spinning workers and the kernels' sharing
the cores), OWL-QN 0.8–1.2 s; three classes, 240 × 6, tol 1e-10: at most 9 steps for C
from 0.01 to 1000, where OWL-QN stops at max_iter = 1000 for 3 of 4 C's. OWL-QN for the
rest: a dask ``X``, and K × (non-zeros plus violators) beyond :data:`MAX_WORKING_SET`.

**Stopping** (the same ``tol`` as the smooth solvers' ``max |∇f| <= tol``), both solvers:
the largest entry of the pseudo-gradient, ``max |∂| <= tol`` — the largest violation of the
optimality (KKT) conditions: ``|∂f/∂w_j| <= α`` where ``w_j = 0``, ``∂f/∂w_j = −α sign(w_j)``
elsewhere.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from fastlr._l1_model import model_matrix
from fastlr.solvers import Result, _report

#: L-BFGS memory (scikit-learn's lbfgs: 10) and Armijo's constant of the line search
MEMORY = 10
ARMIJO = 1e-4
#: proximal Newton: the inner tolerance (× the outer KKT violation), the most sweeps of
#: coordinate descent per model, the line search's sufficient decrease (newGLMNET's 0.01)
INNER = 0.1
MAX_SWEEPS = 50
#: the largest face :func:`on_face` solves (a Cholesky of this order: ~40 ms)
MAX_FACE = 1500
FACE_ROUNDS = 20
#: K > 2 classes: the ridge (× the face's mean diagonal) of the face's solve. Without an
#: L2 term the multinomial model is flat along "the same added to every class" of a
#: feature, where the face's L1 term makes it a descent direction as far as a class's
#: coefficient reaches zero: the ridge makes that solve a long finite step, which stops at
#: the first zero (without it the Cholesky fails, or by rounding not: 240 × 6, three
#: classes, C = 1000, no intercept: 68 steps instead of 7)
RIDGE = 1e-12
SUFFICIENT = 0.01
#: a model decrease below this × |F| is below the objective's rounding
ROUNDING = 1e-14
#: the working set: violators per non-zero, at least this many; where the non-zeros and the
#: violators are more than MAX_WORKING_SET (its model's matrix: 128 MiB), OWL-QN goes on
#: (text-like 300 000 × 200 000, C = 1: 21 272 violators at the start, 17 600 non-zeros at
#: the optimum; proximal Newton growing its working set there took 2.6 s, OWL-QN 1.8 s)
GROWTH = 1
MIN_VIOLATORS = 100
MAX_WORKING_SET = 4096


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


def prox_newton(objective, x0, *, l1, tol, max_iter, verbose=0):
    """Minimize ``objective.loss_gradient`` plus ``l1 · penalized(objective) · |x|`` by
    proximal Newton with working sets (see the module docstring), two classes or K; OWL-QN
    goes on where the working set would pass :data:`MAX_WORKING_SET`."""
    from fastlr.backends import _numba_cd

    alpha = l1 * penalized(objective)
    x = np.array(x0, dtype=np.float64)
    n_classes = getattr(objective, "n_classes", 1)
    ridge = RIDGE if n_classes > 1 else 0.0
    # K classes with intercepts: f is flat along "the same added to every intercept"; the
    # model holds the last class's intercept, the step is then centred (Σ b kept as in x0:
    # scikit-learn's symmetric intercepts from zeros, as the gradient methods keep them)
    gauge = n_classes > 1 and objective.fit_intercept
    f, g = objective.loss_gradient(x, hessian=True)
    F = f + float(alpha @ np.abs(x))
    for k in range(max_iter + 1):
        pg = pseudo_gradient(x, g, alpha)
        _report(verbose, "prox-newton", k, F, pg)
        violation = float(np.max(np.abs(pg)))
        if violation <= tol:
            return Result(x, k, True)
        if k == max_iter:
            break
        w, v = by_feature(objective, x), by_feature(objective, pg)
        S = working_set(w, v)
        candidates = np.count_nonzero((w != 0.0) | (v != 0.0))
        if n_classes * candidates > MAX_WORKING_SET:  # too many for the model: OWL-QN
            result = owlqn(objective, x, l1=l1, tol=tol, max_iter=max_iter - k,
                           verbose=verbose)
            result.n_iter += k
            return result
        index = coordinates(objective, S)
        Q = model_matrix(objective, S)
        if gauge:
            index, Q = index[:-1], np.ascontiguousarray(Q[:-1, :-1])
        d = np.zeros(index.size)
        inner = INNER * violation
        for _ in range(4):  # a looser inner tolerance than the model needs: tighten it
            for _ in range(FACE_ROUNDS):
                sweeps = _numba_cd.cd_quadratic(Q, g[index], x[index], alpha[index], d,
                                                MAX_SWEEPS, inner)
                if sweeps < MAX_SWEEPS or not on_face(Q, g[index], x[index], alpha[index], d,
                                                      ridge):
                    break  # converged, or CD crawls on an ill-conditioned model
            decrease = float(g[index] @ d + alpha[index] @ (np.abs(x[index] + d)
                                                            - np.abs(x[index])))
            if decrease < 0.0:
                break
            inner *= 0.01
        else:
            return Result(x, k, False, "the quadratic model found no descent direction "
                                       "(rounding: the optimum is as close as it gets)")
        if gauge:
            index, d = coordinates(objective, S), np.append(d, 0.0)
            intercepts = np.arange(1, n_classes + 1) * (S.size + 1) - 1
            d[intercepts] -= d[intercepts].mean()
        step = 1.0
        while True:
            trial = x.copy()
            trial[index] += step * d
            f_trial, g_trial = objective.loss_gradient(trial, hessian=True)
            F_trial = f_trial + float(alpha @ np.abs(trial))
            # below F's rounding the test says nothing: the model's full step is taken
            if (F_trial <= F + SUFFICIENT * step * decrease
                    or -decrease <= ROUNDING * abs(F)):
                break
            step *= 0.5
            if step < 1e-12:
                return Result(x, k, False, "the line search found no lower objective "
                                           "(rounding: the optimum is as close as it gets)")
        x, f, g, F = trial, f_trial, g_trial, F_trial
    return Result(x, max_iter, False, "max_iter reached")


def on_face(Q, g, w, alpha, d, ridge=0.0):
    """Move ``d`` in place towards the model's exact minimizer on its face (the signs of
    ``w + d``, its zeros kept), as far as the signs stay (a coordinate reaching zero stops
    there): the model decreases all the way. Returns whether ``d`` moved. Coordinate
    descent approaches that minimizer at a rate set by the model's conditioning (on
    scikit-learn's make_classification, redundant features: condition 3e7, 50 sweeps
    gaining ~1e-10 each); a Cholesky solve of the face's order gets there at once.
    ``ridge`` × the face's mean diagonal is added to its matrix (see :data:`RIDGE`)."""
    new = w + d
    on = np.flatnonzero(new)
    if on.size == 0 or on.size > MAX_FACE:
        return False
    off = np.flatnonzero(new == 0.0)
    signs = np.sign(new[on])
    rhs = -(g[on] + alpha[on] * signs) - Q[np.ix_(on, off)] @ d[off]
    face = Q[np.ix_(on, on)]
    if ridge:
        face[np.diag_indices(on.size)] += ridge * np.trace(face) / on.size
    try:
        target = linalg.cho_solve(linalg.cho_factor(face), rhs)
    except (linalg.LinAlgError, ValueError):
        return False
    move = target - d[on]
    if not np.all(np.isfinite(move)):
        return False
    # the largest t in [0, 1] keeping the sign of each w + d + t move
    crossing = (new[on] * (new[on] + move)) < 0.0
    t = min(1.0, float(np.min(-new[on][crossing] / move[crossing]))) if crossing.any() else 1.0
    d[on] += t * move
    if crossing.any():
        stop = on[crossing][np.argmin(-new[on][crossing] / move[crossing])]
        d[stop] = -w[stop]  # exactly zero
    return t > 0.0


def working_set(w, pg):
    """The features of the next quadratic model: the non-zero coefficients, and of the
    zero ones those violating the optimality conditions (``pg ≠ 0``), the largest
    violations first, at most as many as :data:`GROWTH` × the non-zeros (at least
    :data:`MIN_VIOLATORS`)."""
    support = np.flatnonzero(w)
    violators = np.flatnonzero((w == 0.0) & (pg != 0.0))
    keep = max(MIN_VIOLATORS, GROWTH * support.size)
    if violators.size > keep:
        violators = violators[np.argsort(-np.abs(pg[violators]), kind="stable")[:keep]]
    return np.sort(np.concatenate([support, violators]))


def by_feature(objective, v):
    """The per-feature values :func:`working_set` ranks by: ``v``'s features (two classes);
    for K classes each feature's largest ``|v|`` over the classes (a feature is in ``S``
    for every class)."""
    n_classes, n_features = getattr(objective, "n_classes", 1), objective.n_features
    if n_classes == 1:
        return v[:n_features]
    return np.max(np.abs(v.reshape(n_classes, -1)[:, :n_features]), axis=0)


def coordinates(objective, S):
    """The flat coefficients' indices of the features ``S`` (and the intercept, last), for
    each class in turn: the model matrix's order."""
    n_classes = getattr(objective, "n_classes", 1)
    columns = np.append(S, objective.n_features) if objective.fit_intercept else S
    return (np.arange(n_classes)[:, None] * (objective.size // n_classes) + columns).ravel()


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


#: the L1 and elastic-net solvers by name (scikit-learn's ``solver``), as
#: :data:`fastlr.solvers.SOLVERS` for the smooth ones
SOLVERS = {"owl-qn": owlqn, "prox-newton": prox_newton}
