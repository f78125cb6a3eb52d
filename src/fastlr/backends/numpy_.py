"""The ``numpy`` backend.

``loop``
    The lecture's explicit for-loop, indexing the ndarrays element by element
    (``X[j, i]``). Every access boxes a NumPy scalar, so this is *slower* than the same
    loop over Python lists: the slow lesson of vectorization.
``vectorized``
    The lecture's code: ``Z = np.dot(w, X) + b``, ``A = σ(Z)``, ``dZ = A - Y``,
    ``dw = np.dot(X, dZ) / m``, ``db = np.sum(dZ) / m`` — two matrix–vector products
    (BLAS ``gemv``), so ``X`` is read twice. float32 ``X`` is multiplied in float32 (a
    float64 ``w`` would make NumPy copy ``X`` to float64 first); everything after the
    products is float64.
"""

import numpy as np

from fastlr.backends.python_ import loss
from fastlr.backends.python_ import sigmoid as sigmoid_scalar


def sigmoid(z):
    """Stable logistic function, elementwise; no overflow warning for any finite ``z``."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# NaN/inf in X (or an overflowing z) only makes the result non-finite: the caller checks
# the result and raises a clear error, so NumPy's RuntimeWarnings would be noise
QUIET = np.errstate(over="ignore", invalid="ignore")


@QUIET
def propagate_loop(w, b, X, Y):
    n_x, m = X.shape
    J = 0.0
    dw = np.zeros(n_x)
    db = 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j] * X[j, i]
        a = sigmoid_scalar(z)
        J += loss(z, Y[i])  # (max(z, 0) - y z) + log1p(e^-|z|), the reference's
        dz = a - Y[i]
        for j in range(n_x):
            dw[j] += X[j, i] * dz
        db += dz
    return dw / m, db / m, J / m


@QUIET
def propagate_vectorized(w, b, X, Y):
    m = X.shape[1]
    Z = np.dot(w.astype(X.dtype, copy=False), X).astype(np.float64) + b
    A = sigmoid(Z)
    # stable log(1 + e^Z) - Y Z, the cancelling terms grouped first (exact for Y in {0, 1})
    cost = np.sum((np.maximum(Z, 0.0) - Y * Z) + np.log1p(np.exp(-np.abs(Z)))) / m
    dZ = A - Y
    dw = np.dot(X, dZ.astype(X.dtype, copy=False)).astype(np.float64) / m
    db = np.sum(dZ) / m
    return dw, db, cost


KERNELS = {"loop": propagate_loop, "vectorized": propagate_vectorized}
