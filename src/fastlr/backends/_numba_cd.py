"""Numba kernels of the proximal-Newton L1 solver (:func:`fastlr.solvers_l1.prox_newton`).

``weighted_gram`` builds the quadratic model's matrix on a working set ``S`` of columns
from a CSR ``X``, in one pass over its rows (no copy of ``X[:, S]``):

    Q[a, b] = Σ_i h_i x_{i,S_a} x_{i,S_b}      (and, with an intercept, the column of ones
                                                as the last index: Σ h_i x_{i,S_a}, Σ h_i)

Its cost is Σ_i k_i², k_i the number of the row's non-zeros in ``S``. ``cd_quadratic`` then
minimizes ``gᵀd + ½ dᵀQd + Σ α_a |w_a + d_a|`` over ``d`` by cyclic coordinate descent on
``Q`` (O(|S|) per coordinate: the product ``Qd`` is kept up to date), skipping the
coordinates that stayed at zero after a sweep (glmnet's active set).

Importing this module imports Numba; the solver does it only when it runs.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def weighted_gram(indptr, indices, data, h, position, intercept, out):  # pragma: no cover
    """``out`` (|S| + intercept)² ← Q of the module docstring; ``position[j]`` is column
    ``j``'s index in ``S`` or -1. Duplicate entries of a row add as in ``X`` itself."""
    n = out.shape[0]
    for a in range(n):
        for b in range(n):
            out[a, b] = 0.0
    last = n - 1
    width = 0
    for i in range(indptr.size - 1):
        width = max(width, indptr[i + 1] - indptr[i])
    where = np.empty(width, dtype=np.int64)
    values = np.empty(width, dtype=np.float64)
    for i in range(indptr.size - 1):
        hi = h[i]
        if hi == 0.0:
            continue
        k = 0
        for p in range(indptr[i], indptr[i + 1]):
            a = position[indices[p]]
            if a >= 0:
                where[k] = a
                values[k] = data[p]
                k += 1
        for s in range(k):
            a, va = where[s], hi * values[s]
            out[a, a] += va * values[s]
            for t in range(s + 1, k):
                b = where[t]
                if a < b:
                    out[a, b] += va * values[t]
                elif b < a:
                    out[b, a] += va * values[t]
                else:  # the same column twice in a row: its square's cross term
                    out[a, a] += 2.0 * va * values[t]
            if intercept:
                out[a, last] += va
        if intercept:
            out[last, last] += hi
    for a in range(n):
        for b in range(a + 1, n):
            out[b, a] = out[a, b]


@njit(cache=True, nogil=True)
def cd_quadratic(Q, g, w, alpha, d, max_sweeps, tol):  # pragma: no cover
    """Cyclic coordinate descent on ``gᵀd + ½ dᵀQd + Σ α_a |w_a + d_a|`` from ``d``
    (updated in place) until a sweep's largest ``Q_aa |Δd_a|`` is at most ``tol`` or
    ``max_sweeps``; returns the sweeps made."""
    n = g.size
    Qd = Q @ d
    active = np.ones(n, dtype=np.bool_)
    everyone = True  # the sweep about to be made visits every coordinate
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        largest = 0.0
        for a in range(n):
            if not active[a]:
                continue
            H = Q[a, a]
            if H <= 0.0:
                continue
            u = w[a] + d[a]
            v = u - (g[a] + Qd[a]) / H
            threshold = alpha[a] / H
            if v > threshold:
                new = v - threshold
            elif v < -threshold:
                new = v + threshold
            else:
                new = 0.0
            step = new - u
            if step != 0.0:
                d[a] += step
                for b in range(n):
                    Qd[b] += step * Q[a, b]
                largest = max(largest, H * abs(step))
            elif new == 0.0:
                active[a] = False  # stays at zero: left out until the check sweep
        if largest <= tol:
            if everyone:
                break
            active[:] = True  # converged on the active ones: one sweep over all checks it
            everyone = True
        else:
            everyone = False
    return sweeps
