"""The numba backend's sparse kernels: the estimator's two passes on a scipy.sparse ``X``.

The same two functions, with the same signatures, as :mod:`fastlr.backends._numba_model`
(contract: :mod:`fastlr.backends._numpy_model`): :func:`loss_gradient` (``Σ s L``,
``Σ s dz x``, ``Σ s dz``, the Hessian's weights ``h = s σ(z)(1 - σ(z))``; ``sw=None``: unit
weights, none read) and :func:`hessp` (``Xᵀ(h ⊙ (X v + vb))``), for ``X`` a CSR or CSC matrix
or array. ``X.data`` (float64 or float32, accumulated in float64), ``X.indices`` and
``X.indptr`` (int32 or int64, each its own) are read in place, never copied or sorted: ``X``
is what ``X.toarray()`` is (indices in any order, duplicates added, explicit zeros).

* **CSR**: one pass over the non-zeros. Row by row: ``z = x·w + b``, the activations,
  then ``dz`` scattered into the gradient (``out[indices] += dz data``) while the row is in
  cache.
* **CSC**: two. ``z = X w`` scattered column by column into a buffer of scores, the
  activations sample by sample, then one gather per column: ``out_j = Σ data dz[indices]``.

No ``fastmath``: the sums are added in the order of the stored entries (reassociating them
let LLVM use AVX-512 gathers, measured slower than scalar loads on the text-like problem:
a gather per row of ~40 scattered ``w_j``), and indices are cast to unsigned before
indexing (no negative-index wraparound test per entry: 43 → 39 ms a serial loss pass there,
Zen 5). The activations are libm's ``exp``/``log1p``.
Whether ``sw`` and ``h`` are given, and which pass runs, is a run-time ``mode``: one
compilation per dtype of ``data``, ``indices``, ``indptr`` serves both passes.

**Multinomial** (:func:`multinomial_loss_gradient`, :func:`multinomial_hessp`): the same
passes with K scores per sample (``W`` read transposed), the softmax per sample
(``_numba_model``'s) and (n_features, K) accumulators.

**Threads**: ``n_threads`` chunks (fewer when the samples are few, see
:data:`MIN_CHUNK_SAMPLES`) balanced by non-zeros along ``indptr``, ``prange`` over them, each
with its own padded accumulator (CSR: gradient; CSC: scores), summed in a fixed order: a
result depends on the number of chunks only. CSC's activations run on chunks of samples, its
gathers on the column chunks (no two write to one ``out_j``). One chunk runs serial code on
the calling thread. Compiled on first use and cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from fastlr import threads, validation
from fastlr.backends._numba_model import (
    _NO_ROWS,
    MN_HESSP,
    MN_WEIGHTED,
    MN_WRITE_P,
    _softmax_row,
)
from fastlr.backends._numba_primitives import _parallel_options, jit

__all__ = ["hessian_diagonal", "hessp", "loss_gradient", "multinomial_hessp",
           "multinomial_loss_gradient"]

#: each thread gets at least this many samples: fastlr.threads' rule
MIN_CHUNK_SAMPLES = threads.MIN_CHUNK_SAMPLES
#: float64s between two chunks' accumulators: no two chunks write to one cache line
PAD = 8

# mode bits: sample weights given (else unit weights, sw not read); write h (loss pass);
# the Hessian pass (h read, y and sw not); the Hessian's diagonal (Σ h x², nothing else)
WEIGHTED, WRITE_H, HESSP, DIAG = 1, 2, 4, 8
_NONE = np.empty(0)  # stands for an absent sw, h or y: one type, never read


# The activations (libm): a function of their own, shared by the passes.
@jit(nogil=True, error_model="numpy")
def _activation(z, i, y, sw, h, mode):
    """``(s L, dz)`` of sample ``i`` at score ``z`` (the Hessian pass: ``(0, h_i z)``);
    writes ``h_i = s σ(z)(1 - σ(z))`` when ``mode`` says."""
    if mode & HESSP:
        return 0.0, h[i] * z
    s = sw[i] if mode & WEIGHTED else 1.0
    e = math.exp(-abs(z))  # in (0, 1]: never overflows
    u = 1.0 / (1.0 + e)
    a = u if z >= 0.0 else e * u
    if mode & WRITE_H:
        h[i] = s * (e * u) * u
    # the cancelling terms grouped first: exact for y = 1, large z
    return s * ((max(z, 0.0) - y[i] * z) + math.log1p(e)), s * (a - y[i])


@jit(nogil=True, error_model="numpy")
def _csr_rows(w, b, data, indices, indptr, y, sw, h, mode, lo, hi, out):
    """Rows lo..hi: adds ``Σ dz x`` into ``out``, returns ``(Σ s L, Σ dz)`` over them."""
    J = 0.0
    db = 0.0
    if mode & DIAG:
        for i in range(lo, hi):
            t = h[i]
            for k in range(indptr[i], indptr[i + 1]):
                out[np.uintp(indices[k])] += t * data[k] * data[k]
        return J, db
    for i in range(lo, hi):
        start, stop = indptr[i], indptr[i + 1]
        acc = 0.0
        for k in range(start, stop):
            acc += data[k] * w[np.uintp(indices[k])]
        loss, dz = _activation(acc + b, i, y, sw, h, mode)
        J += loss
        db += dz
        for k in range(start, stop):
            out[np.uintp(indices[k])] += dz * data[k]
    return J, db


@jit(nogil=True, error_model="numpy")
def _csr_serial(w, b, data, indices, indptr, y, sw, h, mode, out, m):
    out[:] = 0.0
    return _csr_rows(w, b, data, indices, indptr, y, sw, h, mode, 0, m, out)


@jit(nogil=True, error_model="numpy")
def _csr_chunk(w, b, data, indices, indptr, y, sw, h, mode, parts, starts, c):
    """Chunk ``c``'s ``Σ dz x``, ``Σ s L``, ``Σ dz`` into row ``c`` of ``parts``."""
    n = w.size
    row = parts[c]
    row[:n] = 0.0
    row[n], row[n + 1] = _csr_rows(w, b, data, indices, indptr, y, sw, h, mode,
                                   starts[c], starts[c + 1], row[:n])


# Each parallel function holds its own prange and is called from Python only: a cached
# function calling a cached parallel one crashes a later process loading both (numba#8578).
@jit(nogil=True, error_model="numpy", parallel=_parallel_options())
def _csr_parallel(w, b, data, indices, indptr, y, sw, h, mode, out, m, starts):
    n = w.size
    n_chunks = starts.size - 1
    parts = np.empty((n_chunks, n + 2 + PAD))
    for c in prange(n_chunks):
        _csr_chunk(w, b, data, indices, indptr, y, sw, h, mode, parts, starts, c)
    out[:] = 0.0
    J = 0.0
    db = 0.0
    for c in range(n_chunks):  # a fixed order
        for j in range(n):
            out[j] += parts[c, j]
        J += parts[c, n]
        db += parts[c, n + 1]
    return J, db


@jit(nogil=True, error_model="numpy")
def _csc_scores(w, data, indices, indptr, lo, hi, z):
    """``z = Σ_j w_j X[:, j]`` over the columns lo..hi (a scatter into ``z``)."""
    z[:] = 0.0
    for j in range(lo, hi):
        wj = w[j]
        for k in range(indptr[j], indptr[j + 1]):
            z[np.uintp(indices[k])] += data[k] * wj


@jit(nogil=True, error_model="numpy")
def _csc_activate(zparts, m, b, y, sw, h, mode, lo, hi, dz):
    """Samples lo..hi: their score (the chunks' parts summed in order) into ``dz``;
    returns ``(Σ s L, Σ dz)`` over them."""
    J = 0.0
    db = 0.0
    for i in range(lo, hi):
        acc = 0.0
        for c in range(zparts.shape[0]):
            acc += zparts[c, i]
        loss, dz[i] = _activation(acc + b, i, y, sw, h, mode)
        J += loss
        db += dz[i]
    return J, db


@jit(nogil=True, error_model="numpy")
def _csc_gather(data, indices, indptr, dz, lo, hi, out, squared=False):
    """``out_j = Σ_i X[i, j] dz_i`` for the columns lo..hi (``squared``: X[i, j]²)."""
    for j in range(lo, hi):
        acc = 0.0
        if squared:
            for k in range(indptr[j], indptr[j + 1]):
                acc += data[k] * data[k] * dz[np.uintp(indices[k])]
        else:
            for k in range(indptr[j], indptr[j + 1]):
                acc += data[k] * dz[np.uintp(indices[k])]
        out[j] = acc


@jit(nogil=True, error_model="numpy")
def _csc_serial(w, b, data, indices, indptr, y, sw, h, mode, out, m):
    n = w.size
    if mode & DIAG:
        _csc_gather(data, indices, indptr, h, 0, n, out, True)
        return 0.0, 0.0
    zparts = np.empty((1, m))
    _csc_scores(w, data, indices, indptr, 0, n, zparts[0])
    dz = np.empty(m)
    J, db = _csc_activate(zparts, m, b, y, sw, h, mode, 0, m, dz)
    _csc_gather(data, indices, indptr, dz, 0, n, out)
    return J, db


@jit(nogil=True, error_model="numpy", parallel=_parallel_options())
def _csc_parallel(w, b, data, indices, indptr, y, sw, h, mode, out, m, starts):
    n_chunks = starts.size - 1
    if mode & DIAG:
        for c in prange(n_chunks):  # column chunks: each writes its own out_j
            _csc_gather(data, indices, indptr, h, starts[c], starts[c + 1], out, True)
        return 0.0, 0.0
    zparts = np.empty((n_chunks, m + PAD))  # padded: chunks write to lines of their own
    for c in prange(n_chunks):  # column chunks, each scattering into its own scores
        _csc_scores(w, data, indices, indptr, starts[c], starts[c + 1], zparts[c, :m])
    dz = np.empty(m)
    sums = np.empty((n_chunks, PAD))
    for c in prange(n_chunks):  # sample chunks
        sums[c, 0], sums[c, 1] = _csc_activate(zparts, m, b, y, sw, h, mode,
                                               c * m // n_chunks, (c + 1) * m // n_chunks, dz)
    for c in prange(n_chunks):  # column chunks: each writes its own out_j
        _csc_gather(data, indices, indptr, dz, starts[c], starts[c + 1], out)
    J = 0.0
    db = 0.0
    for c in range(n_chunks):
        J += sums[c, 0]
        db += sums[c, 1]
    return J, db


def _starts(indptr, n_chunks):
    """The first row (CSR; CSC: column) of each of ``n_chunks`` chunks, and the end: chunk
    ``c`` starts where ``indptr`` reaches ``c nnz / n_chunks``."""
    nnz = int(indptr[-1])
    targets = np.array([c * nnz // n_chunks for c in range(n_chunks + 1)], dtype=indptr.dtype)
    starts = np.searchsorted(indptr, targets).astype(np.int64)  # indptr's dtype: no copy
    starts[0], starts[-1] = 0, indptr.size - 1
    return starts


def _run(w, b, X, y, sw, h, mode, out, n_threads):
    m = X.shape[0]
    n_chunks = max(1, min(int(n_threads), m // MIN_CHUNK_SAMPLES))
    args = (w, float(b), X.data, X.indices, X.indptr, y, sw, h, mode, out, m)
    if n_chunks == 1:
        J, db = (_csr_serial if X.format == "csr" else _csc_serial)(*args)
    else:
        threads.started_threads()  # a fork from now on gets a serial child
        parallel = _csr_parallel if X.format == "csr" else _csc_parallel
        J, db = parallel(*args, _starts(X.indptr, n_chunks))
    return float(J), float(db)


def loss_gradient(w, b, X, y, sw, grad, h=None, n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two) at ``z = X w + b``:
    ``(Σ s L, Σ s dz)``; ``grad`` receives ``Σ s dz x`` and ``h``, if given,
    ``s σ(z)(1 - σ(z))``. ``sw=None``: unit weights."""
    if y is None:
        raise ValueError("loss_gradient needs y")
    validation.check_sparse_kernel(X, w, grad, (y, sw, h))
    mode = (WEIGHTED if sw is not None else 0) | (WRITE_H if h is not None else 0)
    return _run(w, b, X, y, _NONE if sw is None else sw, _NONE if h is None else h, mode,
                grad, n_threads)


def hessp(v, vb, X, h, out, n_threads=1):
    """``out = Xᵀ(h ⊙ (X v + vb))``; returns ``(0.0, Σ h (X v + vb))``."""
    validation.check_sparse_kernel(X, v, out, (h,))
    return 0.0, _run(v, vb, X, _NONE, _NONE, h, HESSP, out, n_threads)[1]


def hessian_diagonal(X, h, out, n_threads=1):
    """``out_j = Σ_i h_i X[i, j]²``, the diagonal of ``Xᵀ diag(h) X`` (newton-cg's
    preconditioner), one pass over the non-zeros; returns ``(0.0, 0.0)``."""
    validation.check_sparse_kernel(X, out, out, (h,))
    return _run(out, 0.0, X, _NONE, _NONE, h, DIAG, out, n_threads)


# --------------------------------------------------------------------------- multinomial
#
# The K-class kernels of the contract (_numpy_model), on the same chunks. W is read
# transposed, Wt (n, K), and the CSR accumulators are (n, K): a stored entry touches K
# contiguous doubles. CSR: one pass, row by row (its K scores, the softmax, Σ G ⊗ x); CSC:
# the scores scattered (column chunks, each into its own part), the softmax (sample
# chunks), the gathers (column chunks). The softmax is _numba_model's, shared.


@jit(nogil=True, error_model="numpy")
def _mn_csr_rows(Wt, b, data, indices, indptr, Y, sw, P, mode, lo, hi, acc, bsum, z):
    """Rows lo..hi: ``acc`` (n, K) += Σ G_i ⊗ x_i, ``bsum`` (K) += Σ G_i; returns Σ s L."""
    K = Wt.shape[1]
    J = 0.0
    for i in range(lo, hi):
        start, stop = indptr[i], indptr[i + 1]
        z[:] = 0.0
        for p in range(start, stop):
            x = data[p]
            w = Wt[np.uintp(indices[p])]
            for k in range(K):
                z[k] += x * w[k]
        J += _softmax_row(z, i, b, Y, sw, P, mode)
        for k in range(K):
            bsum[k] += z[k]
        for p in range(start, stop):
            x = data[p]
            a = acc[np.uintp(indices[p])]
            for k in range(K):
                a[k] += z[k] * x
    return J


@jit(nogil=True, error_model="numpy")
def _mn_csr_serial(Wt, b, data, indices, indptr, Y, sw, P, mode, out, m):
    n, K = Wt.shape
    acc = np.zeros((n + 1, K))  # the last row: Σ G
    J = _mn_csr_rows(Wt, b, data, indices, indptr, Y, sw, P, mode, 0, m, acc[:n], acc[n],
                     np.empty(K))
    out[:] = acc.T
    return J


@jit(nogil=True, error_model="numpy", parallel=_parallel_options())
def _mn_csr_parallel(Wt, b, data, indices, indptr, Y, sw, P, mode, out, m, starts):
    n, K = Wt.shape
    n_chunks = starts.size - 1
    parts = np.zeros((n_chunks, n + 2 + PAD, K))  # rows: n of acc, Σ G, z, then padding
    losses = np.zeros((n_chunks, PAD))
    for c in prange(n_chunks):
        part = parts[c]
        losses[c, 0] = _mn_csr_rows(Wt, b, data, indices, indptr, Y, sw, P, mode,
                                    starts[c], starts[c + 1], part[:n], part[n],
                                    part[n + 1])
    out[:] = 0.0
    J = 0.0
    for c in range(n_chunks):  # a fixed order
        for j in range(n + 1):
            for k in range(K):
                out[k, j] += parts[c, j, k]
        J += losses[c, 0]
    return J


@jit(nogil=True, error_model="numpy")
def _mn_csc_scores(Wt, data, indices, indptr, lo, hi, Z):
    """``Z`` (m, K) = Σ_j X[:, j] ⊗ W[:, j] over the columns lo..hi."""
    K = Wt.shape[1]
    Z[:] = 0.0
    for j in range(lo, hi):
        w = Wt[j]
        for p in range(indptr[j], indptr[j + 1]):
            x = data[p]
            zi = Z[np.uintp(indices[p])]
            for k in range(K):
                zi[k] += x * w[k]


@jit(nogil=True, error_model="numpy")
def _mn_csc_samples(parts, b, Y, sw, P, mode, lo, hi, G, bsum):
    """Samples lo..hi: their scores (the parts summed in chunk order) → ``G``'s rows,
    ``bsum`` (K) = Σ G_i; returns Σ s L. ``G`` may be ``parts[0]``."""
    K = G.shape[1]
    J = 0.0
    bsum[:] = 0.0
    for i in range(lo, hi):
        g = G[i]
        for k in range(K):
            acc = parts[0, i, k]
            for c in range(1, parts.shape[0]):
                acc += parts[c, i, k]
            g[k] = acc
        J += _softmax_row(g, i, b, Y, sw, P, mode)
        for k in range(K):
            bsum[k] += g[k]
    return J


@jit(nogil=True, error_model="numpy")
def _mn_csc_gather(data, indices, indptr, G, lo, hi, out, a):
    """``out[k, j] = Σ_i X[i, j] G[i, k]`` for the columns lo..hi; ``a``: K doubles."""
    K = G.shape[1]
    for j in range(lo, hi):
        a[:] = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            x = data[p]
            g = G[np.uintp(indices[p])]
            for k in range(K):
                a[k] += x * g[k]
        for k in range(K):
            out[k, j] = a[k]


@jit(nogil=True, error_model="numpy")
def _mn_csc_serial(Wt, b, data, indices, indptr, Y, sw, P, mode, out, m):
    n, K = Wt.shape
    parts = np.empty((1, m, K))
    _mn_csc_scores(Wt, data, indices, indptr, 0, n, parts[0])
    bsum = np.empty(K)
    J = _mn_csc_samples(parts, b, Y, sw, P, mode, 0, m, parts[0], bsum)
    _mn_csc_gather(data, indices, indptr, parts[0], 0, n, out, np.empty(K))
    out[:, n] = bsum
    return J


@jit(nogil=True, error_model="numpy", parallel=_parallel_options())
def _mn_csc_parallel(Wt, b, data, indices, indptr, Y, sw, P, mode, out, m, starts):
    n, K = Wt.shape
    n_chunks = starts.size - 1
    parts = np.empty((n_chunks, m + PAD, K))  # padded: chunks write to lines of their own
    for c in prange(n_chunks):  # column chunks, each scattering into its own scores
        _mn_csc_scores(Wt, data, indices, indptr, starts[c], starts[c + 1], parts[c, :m])
    G = np.empty((m, K))
    blocks = np.empty((n_chunks, 2 * K + PAD))  # per chunk: Σ G, its loss, a
    for c in prange(n_chunks):  # sample chunks
        blocks[c, K] = _mn_csc_samples(parts[:, :m], b, Y, sw, P, mode, c * m // n_chunks,
                                       (c + 1) * m // n_chunks, G, blocks[c, :K])
    for c in prange(n_chunks):  # column chunks: each writes its own out[:, j]
        _mn_csc_gather(data, indices, indptr, G, starts[c], starts[c + 1], out,
                       blocks[c, K + 1:2 * K + 1])
    J = 0.0
    for k in range(K):
        out[k, n] = 0.0
    for c in range(n_chunks):  # a fixed order
        for k in range(K):
            out[k, n] += blocks[c, k]
        J += blocks[c, K]
    return J


def _mn_run(W, b, X, Y, sw, P, mode, out, n_threads):
    m = X.shape[0]
    n_chunks = max(1, min(int(n_threads), m // MIN_CHUNK_SAMPLES))
    Wt = np.ascontiguousarray(W.T)  # (n, K): a feature's K coefficients side by side
    args = (Wt, b, X.data, X.indices, X.indptr, _NO_ROWS if Y is None else Y,
            _NONE if sw is None else sw, _NO_ROWS if P is None else P, mode, out, m)
    if n_chunks == 1:
        return float((_mn_csr_serial if X.format == "csr" else _mn_csc_serial)(*args))
    threads.started_threads()  # a fork from now on gets a serial child
    parallel = _mn_csr_parallel if X.format == "csr" else _mn_csc_parallel
    return float(parallel(*args, _starts(X.indptr, n_chunks)))


def multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two) at ``Z = X Wᵀ + b``: returns
    ``Σ s L``, writes ``[Gᵀ X, Σ G]`` into ``grad`` (K, n_features + 1) and, if given, the
    softmax into ``P`` (n_samples, K); see :mod:`._numpy_model`."""
    if Y is None:
        raise ValueError("multinomial_loss_gradient needs Y")
    W, b, Y, sw, _ = validation.check_multinomial_kernel(W, b, X, Y, sw, grad, P)
    mode = (MN_WEIGHTED if sw is not None else 0) | (MN_WRITE_P if P is not None else 0)
    return _mn_run(W, b, X, Y, sw, P, mode, grad, n_threads)


def multinomial_hessp(V, vb, X, P, sw, out, n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two): ``out = [Tᵀ X, Σ T]``,
    ``T = s P ⊙ (Zv − Σ_k P_k Zv_k)`` at ``Zv = X Vᵀ + vb`` (see :mod:`._numpy_model`)."""
    if P is None:
        raise ValueError("multinomial_hessp needs P")
    V, vb, _, sw, _ = validation.check_multinomial_kernel(V, vb, X, None, sw, out, P)
    mode = MN_HESSP | (MN_WEIGHTED if sw is not None else 0)
    _mn_run(V, vb, X, None, sw, P, mode, out, n_threads)
