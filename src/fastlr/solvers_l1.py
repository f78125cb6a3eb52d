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
(:func:`model_matrix`: a Numba kernel over a CSR ``X``'s rows reading only ``S``'s entries,
cost Σ_i k_i² for k_i of the row's non-zeros in ``S``; BLAS in blocks of rows for a dense
``X``); coordinate descent minimizes the model plus the L1 term on that small matrix
(:mod:`fastlr.backends._numba_cd`, O(|S|) per coordinate, no pass over ``X``) to a tolerance
of :data:`INNER` × the outer violation — where it crawls (an ill-conditioned model), a
Cholesky solve on the face of the signs it found takes it there (:func:`on_face`); a
backtracking line search on the true objective (newGLMNET's sufficient decrease) takes the
step; the accepted trial's pass is the next
step's. Near the optimum it converges quadratically: 5–7 outer steps on the benchmark's
problems. Two classes, ``X`` in memory.

**OWL-QN** (:func:`owlqn`; Andrew and Gao, 2007): L-BFGS on the orthant the iterate is in.
The pseudo-gradient ``∂`` (the minimum-norm subgradient of ``f + α‖w‖₁``) replaces the
gradient; the L-BFGS direction is kept only where it agrees with ``−∂``; the line search
projects each trial point onto the orthant (a coordinate that would change sign stops at
zero — how coefficients become exactly zero); curvature pairs come from the smooth
gradient. Each iteration costs one pass over ``X`` per trial point (usually one). Any
objective: multinomial, dask.

**Which** (``solver="auto"``, measured on the AMD EPYC Zen 5 VM, 2 cores, time to the
optimum within 1e-6): proximal Newton for two classes and an ``X`` in memory — the one-hot
flights table, 327 346 × 11 575, C = 0.01: 78 ms in 6 passes and 5 models, OWL-QN 1.0 s in
150 passes; dense 100 000 × 1000, C = 0.001: 0.27–0.33 s in 7 passes, OWL-QN 0.25–0.33 s
in 11 (there a pass over ``X`` costs what a model's matrix costs); on scikit-learn's
make_classification with redundant features (ill-conditioned) at tol 1e-10 it converges in
2–41 steps where OWL-QN stops at max_iter for 11 of 12 C's. OWL-QN for the rest: more than
two classes, a dask ``X``, and non-zeros plus violators beyond :data:`MAX_WORKING_SET`.

**Stopping** (the same ``tol`` as the smooth solvers' ``max |∇f| <= tol``), both solvers:
the largest entry of the pseudo-gradient, ``max |∂| <= tol`` — the largest violation of the
optimality (KKT) conditions: ``|∂f/∂w_j| <= α`` where ``w_j = 0``, ``∂f/∂w_j = −α sign(w_j)``
elsewhere.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, sparse

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
#: rows per block of a dense X's model matrix
ROWS = 4096


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
    proximal Newton with working sets (see the module docstring); OWL-QN where it does not
    apply (:func:`takes_prox_newton`)."""
    from fastlr.backends import _numba_cd

    alpha = l1 * penalized(objective)
    x = np.array(x0, dtype=np.float64)
    n_features = objective.n_features
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
        S = working_set(x[:n_features], pg[:n_features])
        candidates = np.count_nonzero((x[:n_features] != 0.0) | (pg[:n_features] != 0.0))
        if candidates > MAX_WORKING_SET:  # the model's matrix would not hold them: OWL-QN
            result = owlqn(objective, x, l1=l1, tol=tol, max_iter=max_iter - k,
                           verbose=verbose)
            result.n_iter += k
            return result
        index = np.append(S, objective.size - 1) if objective.fit_intercept else S
        Q = model_matrix(objective, S)
        d = np.zeros(index.size)
        inner = INNER * violation
        for _ in range(4):  # a looser inner tolerance than the model needs: tighten it
            for _ in range(FACE_ROUNDS):
                sweeps = _numba_cd.cd_quadratic(Q, g[index], x[index], alpha[index], d,
                                                MAX_SWEEPS, inner)
                if sweeps < MAX_SWEEPS or not on_face(Q, g[index], x[index], alpha[index], d):
                    break  # converged, or CD crawls on an ill-conditioned model
            decrease = float(g[index] @ d + alpha[index] @ (np.abs(x[index] + d)
                                                            - np.abs(x[index])))
            if decrease < 0.0:
                break
            inner *= 0.01
        else:
            return Result(x, k, False, "the quadratic model found no descent direction "
                                       "(rounding: the optimum is as close as it gets)")
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


def on_face(Q, g, w, alpha, d):
    """Move ``d`` in place towards the model's exact minimizer on its face (the signs of
    ``w + d``, its zeros kept), as far as the signs stay (a coordinate reaching zero stops
    there): the model decreases all the way. Returns whether ``d`` moved. Coordinate
    descent approaches that minimizer at a rate set by the model's conditioning (on
    scikit-learn's make_classification, redundant features: condition 3e7, 50 sweeps
    gaining ~1e-10 each); a Cholesky solve of the face's order gets there at once."""
    new = w + d
    on = np.flatnonzero(new)
    if on.size == 0 or on.size > MAX_FACE:
        return False
    off = np.flatnonzero(new == 0.0)
    signs = np.sign(new[on])
    rhs = -(g[on] + alpha[on] * signs) - Q[np.ix_(on, off)] @ d[off]
    try:
        target = linalg.cho_solve(linalg.cho_factor(Q[np.ix_(on, on)]), rhs)
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


def model_matrix(objective, S):
    """``∇²f`` on the features ``S`` (and the intercept, last), at the point the objective
    last took the Hessian's weights at: ``scale · X_Sᵀ diag(h) X_S + λ I``."""
    from fastlr.backends import _numba_cd

    X, h = objective.X, objective._h
    n = S.size + objective.fit_intercept
    Q = np.empty((n, n))
    if sparse.issparse(X):
        if X.format == "csr":
            position = np.full(X.shape[1], -1, dtype=np.int64)
            position[S] = np.arange(S.size)
            _numba_cd.weighted_gram(X.indptr, X.indices, X.data, h, position,
                                    objective.fit_intercept, Q)
        else:  # CSC: the working set's columns are a cheap slice
            XS = X[:, S].tocsr()
            _numba_cd.weighted_gram(XS.indptr, XS.indices, XS.data, h,
                                    np.arange(S.size, dtype=np.int64),
                                    objective.fit_intercept, Q)
    else:
        Q[:] = 0.0
        with objective._blas_threads():
            for lo in range(0, X.shape[0], ROWS):
                block = np.asarray(X[lo:lo + ROWS][:, S], dtype=np.float64)
                weights = h[lo:lo + ROWS]
                weighted = block * weights[:, None]
                Q[:S.size, :S.size] += weighted.T @ block
                if objective.fit_intercept:
                    Q[:S.size, -1] += weighted.sum(axis=0)
                    Q[-1, -1] += weights.sum()
        if objective.fit_intercept:
            Q[-1, :S.size] = Q[:S.size, -1]
    Q *= objective.scale
    Q[np.arange(S.size), np.arange(S.size)] += objective.l2
    return Q


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
