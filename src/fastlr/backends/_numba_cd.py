"""Numba kernels of the proximal-Newton L1 solver (:func:`fastlr.solvers_l1.prox_newton`).

``weighted_gram`` builds the quadratic model's matrix on a working set ``S`` of columns
from a CSR ``X``, in one pass over its rows (no copy of ``X[:, S]``):

    Q[a, b] = Σ_i h_i x_{i,S_a} x_{i,S_b}      (and, with an intercept, the column of ones
                                                as the last index: Σ h_i x_{i,S_a}, Σ h_i)

Its cost is Σ_i k_i², k_i the number of the row's non-zeros in ``S``.
``multinomial_weighted_gram`` is the same pass for K classes (the multinomial Hessian on
``S``), its coordinates (class k, column a of ``S`` [+ the intercept]) class-major as the
flat coefficients are:

    Q[(k, a), (l, b)] = Σ_i s_i p_ik (δ_kl − p_il) x_{i,S_a} x_{i,S_b}

each pair of a row's entries adding the row's K (K + 1) / 2 class weights
(:func:`class_weights`; cost Σ_i K² k_i² / 4). ``cd_quadratic`` then minimizes
``gᵀd + ½ dᵀQd + Σ α_a |w_a + d_a|`` over ``d`` by cyclic coordinate descent on ``Q``
(O(Q's order) per coordinate — |S|, or K |S|: the product ``Qd`` is kept up to date),
skipping the coordinates that stayed at zero after a sweep (glmnet's active set).

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
    width = _widest_row(indptr)
    where = np.empty(width, dtype=np.int64)
    values = np.empty(width, dtype=np.float64)
    for i in range(indptr.size - 1):
        hi = h[i]
        if hi == 0.0:
            continue
        k = _gather(indptr, indices, data, position, i, where, values)
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
def _widest_row(indptr):  # pragma: no cover
    """The most entries of a row of a CSR matrix."""
    width = 0
    for i in range(indptr.size - 1):
        width = max(width, indptr[i + 1] - indptr[i])
    return width


@njit(cache=True, nogil=True)
def _gather(indptr, indices, data, position, i, where, values):  # pragma: no cover
    """Row ``i``'s entries in ``S`` (``position`` ≥ 0): their indices in ``S`` into
    ``where``, their values into ``values``, in the row's order; returns how many."""
    k = 0
    for p in range(indptr[i], indptr[i + 1]):
        a = position[indices[p]]
        if a >= 0:
            where[k] = a
            values[k] = data[p]
            k += 1
    return k


@njit(cache=True, nogil=True)
def _row_class_weights(P, sw, i, others, out):  # pragma: no cover
    """Row ``i``'s ``s p_k (δ_kl − p_l)`` for k <= l into ``out`` (k-major); ``1 − p_k`` as
    the sum of the other classes' (no cancellation where ``p_k`` is near 1)."""
    K = P.shape[1]
    s = sw[i]
    total = 0.0
    for k in range(K):  # the classes before k, then those after it added
        others[k] = total
        total += P[i, k]
    total = 0.0
    for k in range(K - 1, -1, -1):
        others[k] += total
        total += P[i, k]
    q = 0
    for k in range(K):
        sp = s * P[i, k]
        out[q] = sp * others[k]
        q += 1
        for j in range(k + 1, K):
            out[q] = -sp * P[i, j]
            q += 1


@njit(cache=True, nogil=True)
def class_weights(P, sw, lo, hi):  # pragma: no cover
    """Rows ``lo:hi``'s class weights (``hi − lo``, K (K + 1) / 2): see
    :func:`_row_class_weights`."""
    K = P.shape[1]
    out = np.empty((hi - lo, K * (K + 1) // 2))
    others = np.empty(K)
    for i in range(lo, hi):
        _row_class_weights(P, sw, i, others, out[i - lo])
    return out


@njit(cache=True, nogil=True)
def multinomial_weighted_gram(indptr, indices, data, P, sw, position, intercept,
                              out):  # pragma: no cover
    """``out`` (K m)², m = |S| + intercept ← Q of the module docstring (``P`` the class
    probabilities, ``sw`` the sample weights); ``position`` as :func:`weighted_gram`'s.
    Each pair of a row's entries adds its K (K + 1) / 2 class weights to a contiguous
    run of a scratch array of the upper triangle (one cache line or two, not K² of
    ``out``'s), spread over ``out``'s blocks at the end."""
    K = P.shape[1]
    m = out.shape[0] // K
    last = m - 1
    n_pairs = K * (K + 1) // 2
    start = np.empty(m, dtype=np.int64)  # the upper triangle's row a begins at start[a] + a
    for a in range(m):
        start[a] = a * m - a * (a - 1) // 2 - a
    acc = np.zeros((m * (m + 1) // 2, n_pairs))
    weights = np.empty(n_pairs)
    others = np.empty(K)
    width = _widest_row(indptr)
    where = np.empty(width, dtype=np.int64)
    values = np.empty(width, dtype=np.float64)
    for i in range(indptr.size - 1):
        if sw[i] == 0.0:
            continue
        _row_class_weights(P, sw, i, others, weights)
        k = _gather(indptr, indices, data, position, i, where, values)
        for s in range(k):
            a, va = where[s], values[s]
            square = va * va
            row = acc[start[a] + a]
            for q in range(n_pairs):
                row[q] += weights[q] * square
            for t in range(s + 1, k):
                b, vab = where[t], va * values[t]
                if a == b:  # the same column twice in a row: its square's cross term
                    vab *= 2.0
                row = acc[start[min(a, b)] + max(a, b)]
                for q in range(n_pairs):
                    row[q] += weights[q] * vab
            if intercept:
                row = acc[start[a] + last]
                for q in range(n_pairs):
                    row[q] += weights[q] * va
        if intercept:
            row = acc[start[last] + last]
            for q in range(n_pairs):
                row[q] += weights[q]
    q = 0
    for k in range(K):
        for j in range(k, K):
            ko, jo = k * m, j * m
            for a in range(m):
                for b in range(a, m):
                    v = acc[start[a] + b, q]
                    out[ko + a, jo + b] = v
                    out[ko + b, jo + a] = v
                    out[jo + a, ko + b] = v
                    out[jo + b, ko + a] = v
            q += 1


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
