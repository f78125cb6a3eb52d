"""The quadratic model's matrix of :func:`fastlr.solvers_l1.prox_newton`: the Hessian of
``f`` on a working set ``S`` of features (and the intercept), two classes or K.

Two classes: ``scale · X_Sᵀ diag(h) X_S + λ I``, ``h`` the objective's Hessian weights.
K classes: (K m)², m = |S| + intercept, the coordinates class-major as the flat coefficients
are (:func:`fastlr.solvers_l1.coordinates`), the block of classes (k, l)

    scale · X_Sᵀ diag(s p_k (δ_kl − p_l)) X_S     (+ λ I on the diagonal blocks' features)

``p`` the class probabilities the objective kept (``_P``), ``s`` the sample weights. A CSR
``X``: one pass over its rows reading only ``S``'s entries (:mod:`fastlr.backends._numba_cd`);
CSC: ``S``'s columns sliced, then the same; dense: BLAS in blocks of rows.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from fastlr import threads

#: rows per block of a dense X's model matrix (K classes: ROWS / K)
ROWS = 4096


def model_matrix(objective, S):
    """``∇²f`` on the coordinates :func:`fastlr.solvers_l1.coordinates` gives ``S``, at
    the point the objective last took the Hessian's weights at (see the module docstring;
    the intercept's column of ones last in each class's block)."""

    from fastlr.backends import _numba_cd

    X, intercept = objective.X, objective.fit_intercept
    n_classes = getattr(objective, "n_classes", 1)
    m = S.size + intercept
    Q = np.empty((n_classes * m, n_classes * m))
    if sparse.issparse(X):
        if X.format == "csr":
            rows = X
            position = np.full(X.shape[1], -1, dtype=np.int64)
            position[S] = np.arange(S.size)
        else:  # CSC: the working set's columns are a cheap slice
            rows = X[:, S].tocsr()
            position = np.arange(S.size, dtype=np.int64)
        if n_classes == 1:
            _numba_cd.weighted_gram(rows.indptr, rows.indices, rows.data, objective._h,
                                    position, intercept, Q)
        else:
            _numba_cd.multinomial_weighted_gram(rows.indptr, rows.indices, rows.data,
                                                objective._P, objective.sw, position,
                                                intercept, Q)
    elif n_classes == 1:
        _dense_gram(objective, S, 1, lambda lo, hi: objective._h[lo:hi, None], Q)
    else:
        _dense_gram(objective, S, n_classes,
                    lambda lo, hi: _numba_cd.class_weights(objective._P, objective.sw, lo,
                                                           min(hi, X.shape[0])), Q)
    Q *= objective.scale
    features = (np.arange(n_classes)[:, None] * m + np.arange(S.size)).ravel()
    Q[features, features] += objective.l2
    return Q


def _dense_gram(objective, S, n_classes, weights, Q):
    """``Q`` from a dense ``X`` by BLAS in blocks of rows, ``weights(lo, hi)`` the rows'
    weights of the class pairs (k, l), k <= l, k-major (``h`` for two classes): per class
    k one product ``[X_S ⊙ u_kk, …, X_S ⊙ u_kK]ᵀ X_S`` (its blocks (l, k), the same as
    (k, l)), the intercept's row and column from the sums; the others mirrored. The blocks
    of rows are :data:`ROWS` / K long (the weighted copy: ROWS × |S| floats)."""
    X, intercept = objective.X, objective.fit_intercept
    n, m = S.size, S.size + objective.fit_intercept
    rows = max(1, ROWS // n_classes)
    Q[:] = 0.0
    # BLAS on the objective's threads (a two-class fit runs with BLAS limited to one)
    limiter = threads.limit_blas(threads.resolve(objective.n_threads))
    try:
        for lo in range(0, X.shape[0], rows):
            block = np.asarray(X[lo:lo + rows][:, S], dtype=np.float64)
            u = weights(lo, lo + rows)
            q = 0
            for k in range(n_classes):
                count = n_classes - k
                if count == 1:
                    weighted = block * u[:, q, None]
                else:
                    weighted = (block[:, None, :] * u[:, q:q + count, None]).reshape(
                        block.shape[0], count * n)
                product = weighted.T @ block
                if intercept:
                    sums = weighted.sum(axis=0)
                for c in range(count):
                    Qkl = Q[k * m:(k + 1) * m, (k + c) * m:(k + c + 1) * m]
                    Qkl[:n, :n] += product[c * n:(c + 1) * n]
                    if intercept:
                        Qkl[:n, -1] += sums[c * n:(c + 1) * n]
                        Qkl[-1, -1] += u[:, q + c].sum()
                q += count
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    for k in range(n_classes):
        for j in range(k, n_classes):
            Qkj = Q[k * m:(k + 1) * m, j * m:(j + 1) * m]
            if intercept:
                Qkj[-1, :n] = Qkj[:n, -1]
            if j > k:
                Q[j * m:(j + 1) * m, k * m:(k + 1) * m] = Qkj.T
