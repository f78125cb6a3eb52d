"""The estimator's kernels (:class:`fastlr.LogisticRegression`) in NumPy: their contract.

Every backend with a ``model_module`` (see :mod:`fastlr.backends`) exposes these two
functions with these signatures; the compiled ones (``_cython``, ``_numba_model``)
do each in one pass over ``X``, this one in two BLAS products.

``X`` is scikit-learn's (n_samples, n_features), float64 or float32, any memory order,
read in place; ``w``/``v`` (n_features,), ``y`` (labels 0. or 1.), ``sw`` (sample
weights) and ``h`` (n_samples,) are contiguous float64; sums are float64. ``z = X w + b``,
``σ`` the logistic function, ``L = log(1 + e^z) - y z`` the log-loss, ``dz = s (σ(z) - y)``.

``loss_gradient(w, b, X, y, sw, grad, h=None, n_threads=1) -> (Σ s L, Σ dz)``
    writes ``Σ dz x`` into ``grad`` and, when ``h`` is given, ``s σ(z)(1 - σ(z))`` into it.
``hessp(v, vb, X, h, out, n_threads=1) -> (0.0, Σ h (X v + vb))``
    writes ``Xᵀ(h ⊙ (X v + vb))`` into ``out``.

``hessian_diagonal(X, h, out, n_threads=1) -> (0.0, 0.0)``
    writes ``Σ_i h_i x_ij²`` into ``out`` (n_features): the diagonal of ``Xᵀ diag(h) X``,
    newton-cg's preconditioner. Only for a sparse ``X`` (see below), whose stored entries
    it sums one by one: an entry stored twice counts twice, not as its square of sums (a
    preconditioner only changes how many CG steps are taken, not where they lead). On
    dense ``X`` newton-cg runs unpreconditioned, and the compiled modules raise TypeError.

``n_threads`` is how many threads a kernel may use (this one leaves it to NumPy's BLAS).

**Sparse** ``X``: a scipy.sparse CSR or CSC matrix or array (``data`` float64 or float32,
``indices``/``indptr`` int32 or int64, each possibly its own) takes the same two calls with
the same meaning — ``X`` as the dense matrix it stands for (``X.toarray()``): indices in
any order within a row, duplicate entries added, explicit zeros and empty rows or columns
allowed. It is read in place (no copy of its non-zeros). Here SciPy's products do it; the
compiled backends' sparse kernels are in ``_cython_sparse`` and ``_numba_sparse``, one
pass over the non-zeros (CSR; CSC: two), and their ``loss_gradient``/``hessp`` hand a
sparse ``X`` to them.

**Multinomial** (``K`` classes, the softmax cross-entropy): two more functions, on the same
``X`` (dense or sparse, as above), ``s`` the sample weights:

``multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, n_threads=1) -> Σ s L``
    ``W`` (K, n_features) and ``b`` (K,) float64, ``Y`` (n_samples, K) one-hot float64,
    ``sw`` (n_samples,) float64 or None (unit weights). ``Z = X Wᵀ + b``, the stable softmax
    ``P = softmax(Z)`` (the row's largest score subtracted first), ``L_i = log Σ_k e^{Z_ik}
    − Σ_k Y_ik Z_ik``. Writes into ``grad`` (K, n_features + 1) ``grad[:, :n] = Gᵀ X`` with
    ``G = s (P − Y)`` and ``grad[:, n] = Σ_i G_i`` (the intercept's column; the caller
    ignores it without an intercept) and, when ``P`` (n_samples, K) is given, the
    probabilities into it (the Hessian needs them).
``multinomial_hessp(V, vb, X, P, sw, out, n_threads=1) -> None``
    ``V`` (K, n_features), ``vb`` (K,): ``Zv = X Vᵀ + vb``, ``T = s P ⊙ (Zv − Σ_k P_ik Zv_ik)``
    (per sample); writes ``out[:, :n] = Tᵀ X`` and ``out[:, n] = Σ_i T_i`` into ``out``
    (K, n_features + 1).

The outputs (``grad``, ``out``, ``P``) are C-contiguous float64 arrays of exactly those
shapes, ``Y`` and ``sw`` too (else ValueError); ``W``, ``b``, ``V`` and ``vb`` are read as
contiguous float64 (a copy of K × n_features when they are not). The compiled modules do
each in one pass over ``X`` (sparse CSC: two), several rows at a time: the K scores of each
row, the softmax (K exps), then ``G_ik x_i`` added into each class's accumulator while the
rows are in cache. :func:`fastlr.validation.check_multinomial_kernel` checks the arguments
for all of them.
"""

from __future__ import annotations

import numpy as np

from fastlr import validation

__all__ = ["activations", "hessian_diagonal", "hessp", "loss_gradient",
           "multinomial_hessp", "multinomial_loss_gradient"]


# NaN/inf in X make the sums NaN (the estimator then says where they are): no warnings
@np.errstate(invalid="ignore", over="ignore")
def loss_gradient(w, b, X, y, sw, grad, h=None, n_threads=1):
    """See the module docstring."""
    z = X @ w.astype(X.dtype, copy=False) + b  # z in X's dtype, like NumPy's own products
    loss, dz, weights = activations(z.astype(np.float64, copy=False), y,
                                    1.0 if sw is None else sw)  # None: unit weights
    grad[:] = X.T @ dz.astype(X.dtype, copy=False)
    if h is not None:
        h[:] = weights
    return loss, float(dz.sum())


def activations(z, y, sw):
    """``(Σ s L, dz, h)`` at the scores ``z``: the stable loss, ``dz = s (σ(z) - y)`` and the
    Hessian's weights ``h = s σ(z)(1 - σ(z))`` (also newton-gram's, on ``K α + b``)."""
    e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    u = 1.0 / (1.0 + e)
    a = np.where(z >= 0.0, u, e * u)
    loss = sw * ((np.maximum(z, 0.0) - y * z) + np.log1p(e))  # grouped: exact for y = 1
    return float(loss.sum()), sw * (a - y), sw * e * u * u


@np.errstate(invalid="ignore", over="ignore")
def hessp(v, vb, X, h, out, n_threads=1):
    """See the module docstring."""
    t = h * ((X @ v.astype(X.dtype, copy=False)) + vb)
    out[:] = X.T @ t.astype(X.dtype, copy=False)
    return 0.0, float(t.sum())


#: :func:`hessian_diagonal` squares X in this many blocks: a few % of its bytes at a time
BLOCKS = 32


def hessian_diagonal(X, h, out, n_threads=1):
    """See the module docstring: by SciPy, on squared copies of blocks of ``X`` (of rows of
    a CSR ``X``, of columns of a CSC one: slices SciPy takes without scanning the rest)."""
    csc = X.format == "csc"
    count = X.shape[1] if csc else X.shape[0]
    step = max(1, -(-count // BLOCKS))
    if not csc:
        out[:] = 0.0
    for lo in range(0, count, step):
        block = X[:, lo:lo + step] if csc else X[lo:lo + step]
        # each stored entry squared on its own (X.multiply(X) would add duplicates first)
        index = np.result_type(block.indices, block.indptr)  # SciPy's products want one
        squared = type(block)((np.square(block.data, dtype=np.float64),
                               block.indices.astype(index, copy=False),
                               block.indptr.astype(index, copy=False)), shape=block.shape)
        if csc:
            out[lo:lo + step] = squared.T @ h
        else:
            out += squared.T @ h[lo:lo + step]
    return 0.0, 0.0


# --------------------------------------------------------------------------- multinomial


def _scores(X, W, b):
    """``X Wᵀ + b`` (n_samples, K) in float64, the product in X's dtype (a new array)."""
    Z = X @ W.T.astype(X.dtype, copy=False)
    return np.asarray(Z, dtype=np.float64) + b


def _add_rows_times_X(X, G, out):
    """``out[:, :n] = Gᵀ X``, ``out[:, n] = Σ_i G_i``."""
    n = X.shape[1]
    out[:, :n] = np.asarray(X.T @ G.astype(X.dtype, copy=False)).T
    out[:, n] = G.sum(axis=0)


@np.errstate(invalid="ignore", over="ignore")
def multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, n_threads=1):
    """See the module docstring."""
    W, b, Y, sw, _ = validation.check_multinomial_kernel(W, b, X, Y, sw, grad, P)
    Z = _scores(X, W, b)
    top = Z.max(axis=1, keepdims=True)
    E = np.exp(Z - top)
    total = E.sum(axis=1, keepdims=True)
    E /= total
    loss = (top[:, 0] + np.log(total[:, 0])) - np.einsum("ik,ik->i", Y, Z)
    G = E - Y
    if sw is not None:
        G *= sw[:, None]
        loss *= sw
    _add_rows_times_X(X, G, grad)
    if P is not None:
        P[:] = E
    return float(loss.sum())


@np.errstate(invalid="ignore", over="ignore")
def multinomial_hessp(V, vb, X, P, sw, out, n_threads=1):
    """See the module docstring."""
    if P is None:
        raise ValueError("multinomial_hessp needs P")
    V, vb, _, sw, _ = validation.check_multinomial_kernel(V, vb, X, None, sw, out, P)
    Zv = _scores(X, V, vb)
    T = P * (Zv - np.einsum("ik,ik->i", P, Zv)[:, None])
    if sw is not None:
        T *= sw[:, None]
    _add_rows_times_X(X, T, out)
