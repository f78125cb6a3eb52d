"""The numba backend's one-pass kernel: the estimator's two passes, and the course's ``fused``.

The same two passes, with the same signatures, as :mod:`fastlr.backends._cython`'s
(contract: :mod:`fastlr.backends._numpy_model`): :func:`loss_gradient` (``Σ s L``,
``Σ s dz x``, ``Σ s dz``, the Hessian's weights ``h = s σ(z)(1 - σ(z))``; ``sw=None``: unit
weights, none read) and :func:`hessp` (``Xᵀ(h ⊙ (X v + vb))``). The ``fused`` variant of
:mod:`fastlr.backends.numba_` is the loss pass on the course's ``X.T`` with unit weights.
scikit-learn's ``X`` (n_samples, n_features) is read in place, float32 as float32
(accumulated in float64). For a few samples at a time the pass computes ``z = x·w``, the
activations, and adds ``dz x`` while those samples are in cache:

* each sample contiguous (C order; the course's F): from ``WIDE_FEATURES`` features on,
  four samples per sweep (their ``z`` in one pass over ``w``, then ``Σ dz x`` in one pass
  over the gradient); with fewer, L1-sized tiles of samples (``z`` one after the other: one
  sequential stream; then the gradient, four samples per pass), ``X`` prefetched into L2
  ahead so that memory keeps streaming during the compute.
* each feature contiguous (F order): blocks of at least ``MIN_BLOCK`` samples walked
  feature by feature (``z[block] += w_j X[block, j]``, four columns per pass over ``z``,
  the activations, ``grad_j += X[block, j]·dz[block]``). No software prefetch: the
  hardware follows each column's stretch, and prefetching the next columns ahead (as the
  course's kernel did) measured 10-25 % slower on the project's machine.
* other strides (views such as ``X[::2, ::3]``): the same sweeps along the smaller stride;
  correct, slower.

**fastmath** ``{"reassoc", "contract", "nsz"}`` on the sweeps (SIMD partial sums, fused
multiply-adds; no ``nnan``/``ninf``: NaN or inf in ``X`` reaches the result): sums agree
with the reference to ~1e-15 relative, not bit for bit. The activations are exact to a
couple of ulps, without fastmath (see :mod:`fastlr.backends._numba_primitives`).

**Multinomial** (:func:`multinomial_loss_gradient`, :func:`multinomial_hessp`): tiles of
samples, each row's K scores (K dot products with W's rows, the row from L1; F order: per
feature column of a block, K updates of the scores), its softmax (exact, libm), then its
K gradient updates, while the tile is in cache; the same chunks and threads.

**Threads**: ``n_threads`` chunks of samples, ``prange`` over them (Numba's pool), each with
its own padded accumulator, summed in a fixed order; one chunk runs serial code on the
calling thread. Compiled on first use and cached on disk.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange
from numba.extending import overload
from scipy.sparse import issparse

from fastlr import threads, validation
from fastlr.backends._numba_primitives import (
    FASTMATH,
    _activate,
    _parallel_options,
    _prefetch,
    jit,
)

__all__ = ["MIN_CHUNK_SAMPLES", "WIDE_FEATURES", "hessian_diagonal", "hessp", "loss_gradient",
           "multinomial_hessp", "multinomial_loss_gradient"]

#: C order with at least this many features: four samples per sweep over w and the gradient
#: (each sample is long: their traffic matters); fewer: L1-sized tiles of samples
WIDE_FEATURES = 512
#: bytes of X in one tile (C order, few features; re-read from L1) and one block (F order;
#: re-read from L2); how far ahead of a tile X is prefetched into L2 (C order)
TILE_BYTES = 8 * 1024
BLOCK_BYTES = 512 * 1024
PREFETCH_BYTES = 32 * 1024
#: F order: at least this many samples per block. Narrower blocks make each column segment
#: a cache line or two, and the per-column overhead dominates; many features then re-read
#: the block from L3 rather than L2.
MIN_BLOCK = 256
#: each thread gets at least this many samples: fastlr.threads' rule
MIN_CHUNK_SAMPLES = threads.MIN_CHUNK_SAMPLES


# Every sweep: samples lo..hi of X; w the coefficients (v in the Hessian pass), y the labels
# (None: the Hessian pass, see _activate), sw the weights or None, h the Hessian's weights
# (written by the loss pass when given, read by the Hessian pass); Σ dz x is added into out
# and (Σ loss, Σ dz) returned.


@jit(inline="always")  # inlined (IR): compiled with its caller's fastmath flags
def _add_four(out, x0, x1, x2, x3, dz, k):
    """``out += Σ dz x`` over four samples ``x0..x3`` (``dz[k:k + 4]``), in one sweep."""
    d0 = dz[k]
    d1 = dz[k + 1]
    d2 = dz[k + 2]
    d3 = dz[k + 3]
    for j in range(out.size):
        out[j] += x0[j] * d0 + x1[j] * d1 + x2[j] * d2 + x3[j] * d3


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _wide(w, b, X, y, sw, h, lo, hi, out):
    """C order, many features: four samples per sweep over ``w`` and ``out``."""
    n = w.size
    z, dz, loss = np.empty(4), np.empty(4), np.empty(4)
    J = 0.0
    db = 0.0
    i = lo
    while i + 4 <= hi:
        x0 = X[i]
        x1 = X[i + 1]
        x2 = X[i + 2]
        x3 = X[i + 3]
        z0 = 0.0
        z1 = 0.0
        z2 = 0.0
        z3 = 0.0
        for j in range(n):
            wj = w[j]
            z0 += wj * x0[j]
            z1 += wj * x1[j]
            z2 += wj * x2[j]
            z3 += wj * x3[j]
        z[0] = z0
        z[1] = z1
        z[2] = z2
        z[3] = z3
        J_group, db_group = _activate(z, y, sw, h, i, 4, b, dz, loss)
        J += J_group
        db += db_group
        _add_four(out, x0, x1, x2, x3, dz, 0)
        i += 4
    J_rest, db_rest = _tiled(w, b, X, y, sw, h, i, hi, out)  # the last 0-3 samples
    return J + J_rest, db + db_rest


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _tiled(w, b, X, y, sw, h, lo, hi, out):
    """C order, few features: tiles of samples that stay in L1, X prefetched ahead."""
    n = w.size
    sample_bytes = n * X.itemsize
    # a chunk of a parallel pass: tiles twice as long (two threads share the memory bus; measured
    # a few % faster there, and slower on one thread)
    tile_bytes = TILE_BYTES if hi - lo == X.shape[0] else 2 * TILE_BYTES
    tile = max(4, min(tile_bytes // sample_bytes // 4 * 4, hi - lo))
    ahead = max(1, PREFETCH_BYTES // sample_bytes)  # samples between reading and prefetching
    line = 64 // X.itemsize
    z, dz, loss = np.empty(tile), np.empty(tile), np.empty(tile)
    J = 0.0
    db = 0.0
    for start in range(lo, hi, tile):
        count = min(tile, hi - start)
        samples = X[start:start + count]
        for k in range(count):  # one sequential stream through memory
            upcoming = X[min(start + k + ahead, hi - 1)]
            for j in range(0, n, line):
                _prefetch(upcoming, j)  # memory keeps streaming during the compute below
            x = samples[k]
            acc = 0.0
            for j in range(n):
                acc += w[j] * x[j]
            z[k] = acc
        J_tile, db_tile = _activate(z, y, sw, h, start, count, b, dz, loss)
        J += J_tile
        db += db_tile
        k = 0
        while k + 4 <= count:  # the gradient from L1, four samples per sweep
            _add_four(out, samples[k], samples[k + 1], samples[k + 2], samples[k + 3], dz, k)
            k += 4
        while k < count:
            x = samples[k]
            d0 = dz[k]
            for j in range(n):
                out[j] += x[j] * d0
            k += 1
    return J, db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _columns(w, b, X, y, sw, h, lo, hi, out):
    """F order: blocks of samples walked one feature column at a time."""
    n = w.size
    block = max(MIN_BLOCK, min(8192, BLOCK_BYTES // (n * X.itemsize)))
    block = max(1, min(block, hi - lo))
    z, dz, loss = np.empty(block), np.empty(block), np.empty(block)
    J = 0.0
    db = 0.0
    for start in range(lo, hi, block):
        count = min(block, hi - start)
        zb = z[:count]
        zb[:] = 0.0
        j = 0
        while j + 4 <= n:  # z[block] += w_j X[block, j], four columns per pass over z
            c0 = X[start:start + count, j]
            c1 = X[start:start + count, j + 1]
            c2 = X[start:start + count, j + 2]
            c3 = X[start:start + count, j + 3]
            w0 = w[j]
            w1 = w[j + 1]
            w2 = w[j + 2]
            w3 = w[j + 3]
            for k in range(count):
                zb[k] += w0 * c0[k] + w1 * c1[k] + w2 * c2[k] + w3 * c3[k]
            j += 4
        while j < n:
            column = X[start:start + count, j]
            wj = w[j]
            for k in range(count):
                zb[k] += wj * column[k]
            j += 1
        J_block, db_block = _activate(z, y, sw, h, start, count, b, dz, loss)
        J += J_block
        db += db_block
        dzb = dz[:count]
        for j in range(n):  # out_j += X[block, j]·dz[block], from L2 when the block fits
            column = X[start:start + count, j]
            acc = 0.0
            for k in range(count):
                acc += column[k] * dzb[k]
            out[j] += acc
    return J, db


def _samples(w, b, X, y, sw, h, lo, hi, out):
    """Adds ``Σ dz x`` over samples lo..hi into ``out``; returns ``(Σ loss, Σ dz)`` over them.

    Compiled for X's memory order (its Numba layout): C, F or any strides.
    """


@overload(_samples)
def _samples_for(w, b, X, y, sw, h, lo, hi, out):
    sweep = _along_samples if X.layout == "C" else _columns if X.layout == "F" else _strided
    return lambda w, b, X, y, sw, h, lo, hi, out: sweep(w, b, X, y, sw, h, lo, hi, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _along_samples(w, b, X, y, sw, h, lo, hi, out):
    if w.size >= WIDE_FEATURES:
        return _wide(w, b, X, y, sw, h, lo, hi, out)
    return _tiled(w, b, X, y, sw, h, lo, hi, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _strided(w, b, X, y, sw, h, lo, hi, out):
    """Any strides: the sweeps above along the smaller stride (correct, slower). They index
    1-D slices from 0, so that LLVM can speculate a unit stride and vectorize."""
    if abs(X.strides[1]) <= abs(X.strides[0]):
        return _along_samples(w, b, X, y, sw, h, lo, hi, out)
    return _columns(w, b, X, y, sw, h, lo, hi, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _pass(w, b, X, y, sw, h, out):
    """The whole pass on the calling thread: ``out = Σ dz x``; returns ``(Σ loss, Σ dz)``."""
    out[:] = 0.0
    return _samples(w, b, X, y, sw, h, 0, X.shape[0], out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _chunk_into(w, b, X, y, sw, h, parts, c, n_chunks):
    """Chunk ``c`` of ``n_chunks``: its ``Σ dz x``, ``Σ loss``, ``Σ dz`` into row ``c`` of
    ``parts`` (one row per chunk, padded: no two chunks write to one cache line)."""
    m, n = X.shape
    row = parts[c]
    row[:n] = 0.0
    row[n], row[n + 1] = _samples(w, b, X, y, sw, h, c * m // n_chunks,
                                  (c + 1) * m // n_chunks, row[:n])


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _sum_parts(parts, out):
    """``out`` = Σ of the chunks' accumulators; returns the sums of their two totals."""
    n = out.size
    out[:] = 0.0
    J = 0.0
    db = 0.0
    for c in range(parts.shape[0]):  # loops: np.sum(axis=0) costs a second of compilation
        for j in range(n):
            out[j] += parts[c, j]
        J += parts[c, n]
        db += parts[c, n + 1]
    return J, db


# The only prange of the pass. A cached function calling a cached parallel one crashes a
# later process loading both from Numba's cache (numba#8578): a parallel pass must be its
# own function, so this loop is inlined (IR, before typing) into each parallel function.
@jit(inline="always")
def _chunked_pass(w, b, X, y, sw, h, out, n_chunks):
    parts = np.empty((n_chunks, X.shape[1] + 8))
    for c in prange(n_chunks):
        _chunk_into(w, b, X, y, sw, h, parts, c, n_chunks)
    return _sum_parts(parts, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def _pass_parallel(w, b, X, y, sw, h, out, n_chunks):
    """The pass in ``n_chunks`` chunks of samples, ``prange`` over them."""
    return _chunked_pass(w, b, X, y, sw, h, out, n_chunks)


def _check(w, X, out, per_sample):
    """The shapes agree (the compiled loops do not check their indices)."""
    m, n = X.shape
    if w.shape != (n,) or out.shape != (n,) or any(a is not None and a.shape != (m,)
                                                   for a in per_sample):
        raise ValueError(f"shapes do not agree: X {X.shape}, w {w.shape}, out {out.shape}, "
                         f"per-sample {[np.shape(a) for a in per_sample]}")


def _run(w, b, X, y, sw, h, out, n_threads):
    """The pass on ``n_threads`` chunks (fewer when the samples are few): a leaf, its
    thread count given (:func:`fastlr.threads.call` chooses it)."""
    n_chunks = max(1, min(int(n_threads), X.shape[0] // MIN_CHUNK_SAMPLES))
    if n_chunks == 1:
        return _pass(w, float(b), X, y, sw, h, out)
    threads.started_threads()  # a fork from now on gets a serial child
    return _pass_parallel(w, float(b), X, y, sw, h, out, n_chunks)


def loss_gradient(w, b, X, y, sw, grad, h=None, n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``z = X w + b``: ``(Σ s L, Σ s dz)``.

    ``grad`` (float64, n_features) receives ``Σ s dz x``; ``h`` (float64, n_samples), if
    given, ``s σ(z)(1 - σ(z))``. ``w``, ``y`` (0 or 1) and ``sw`` are contiguous float64;
    ``sw=None``: unit weights. A scipy.sparse ``X`` (CSR, CSC): :mod:`._numba_sparse`.
    """
    if issparse(X):
        from fastlr.backends import _numba_sparse
        return _numba_sparse.loss_gradient(w, b, X, y, sw, grad, h, n_threads)
    _check(w, X, grad, (y, sw, h))
    return _run(w, b, X, y, sw, h, grad, n_threads)


def hessp(v, vb, X, h, out, n_threads=1):
    """One pass over ``X``: ``out = Xᵀ(h ⊙ (X v + vb))``; returns ``(0.0, Σ h (X v + vb))``.
    A scipy.sparse ``X`` (CSR, CSC): :mod:`._numba_sparse`."""
    if issparse(X):
        from fastlr.backends import _numba_sparse
        return _numba_sparse.hessp(v, vb, X, h, out, n_threads)
    _check(v, X, out, (h,))
    return 0.0, _run(v, vb, X, None, None, h, out, n_threads)[1]


def hessian_diagonal(X, h, out, n_threads=1):
    """``out_j = Σ_i h_i X[i, j]²`` for a scipy.sparse ``X`` (:mod:`._numba_sparse`); dense
    ``X`` has none (newton-cg runs unpreconditioned there): TypeError."""
    if not issparse(X):
        raise TypeError("hessian_diagonal takes a scipy.sparse X")
    from fastlr.backends import _numba_sparse
    return _numba_sparse.hessian_diagonal(X, h, out, n_threads)


# --------------------------------------------------------------------------- multinomial
#
# The K-class kernels of the contract (_numpy_model), one pass over X: a tile of rows at a
# time, its scores Z (rows × K), each row's softmax, then Gᵀ x added into the accumulator
# (K, n + 1) (the last column: Σ G) while the tile is in cache. Rows contiguous (C order):
# per row, its K dot products with W's rows and its K gradient updates, the row from L1;
# features contiguous (F order): per feature column of a block, its K updates of the scores
# and K dot products with G's columns, the block from L2; other strides: along the smaller.
# ``mode`` (run time: one compilation serves both passes) says which pass runs and whether
# sw and P are given (else empty arrays stand for them, never read).

MN_WEIGHTED, MN_WRITE_P, MN_HESSP = 1, 2, 4
_NO_ROWS = np.empty((0, 0))  # stands for an absent Y or P
_NONE = np.empty(0)  # stands for absent sample weights
#: rows contiguous: bytes of X in one tile (from L1 while the tile is worked on)
MN_TILE_BYTES = 16 * 1024
MN_TILE_MAX = 64


@jit(nogil=True, error_model="numpy")
def _softmax_row(z, i, b, Y, sw, P, mode):
    """Sample ``i`` at its scores ``z`` (K, ``b`` not added yet), overwritten with ``G_i =
    s (P_i − Y_i)`` (``P_i`` written when ``mode`` says); returns ``s L_i``. The Hessian's
    (``mode & MN_HESSP``; ``b`` is ``vb``, ``P`` read): ``T_i = s P_i ⊙ (Zv_i − P_i·Zv_i)``,
    returns 0. Exact (no fastmath); shared with :mod:`._numba_sparse`."""
    K = z.size
    s = sw[i] if mode & MN_WEIGHTED else 1.0
    if mode & MN_HESSP:
        dot = 0.0
        for k in range(K):
            z[k] += b[k]
            dot += P[i, k] * z[k]
        for k in range(K):
            z[k] = s * P[i, k] * (z[k] - dot)
        return 0.0
    top = -np.inf
    yz = 0.0
    for k in range(K):
        z[k] += b[k]
        if z[k] > top:  # a NaN score is never the top: its e^NaN makes the row NaN
            top = z[k]
        yz += Y[i, k] * z[k]
    total = 0.0
    for k in range(K):
        z[k] = math.exp(z[k] - top)
        total += z[k]
    inv = 1.0 / total
    for k in range(K):
        p = z[k] * inv
        if mode & MN_WRITE_P:
            P[i, k] = p
        z[k] = s * (p - Y[i, k])
    return s * ((top + math.log(total)) - yz)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _mn_scores_rows(W, X, start, count, Z):
    """``Z[r] = W x_{start+r}`` (rows contiguous): K dot products per row."""
    K, n = W.shape
    for r in range(count):
        x = X[start + r]
        for k in range(K):
            w = W[k]
            acc = 0.0
            for j in range(n):
                acc += w[j] * x[j]
            Z[r, k] = acc


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _mn_gradient_rows(X, start, count, Z, acc):
    """``acc[k, :n] += Σ_r Z[r, k] x_{start+r}`` (rows contiguous)."""
    n = X.shape[1]
    K = Z.shape[1]
    for r in range(count):
        x = X[start + r]
        for k in range(K):
            g = Z[r, k]
            a = acc[k]
            for j in range(n):
                a[j] += g * x[j]


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _mn_scores_columns(W, X, start, count, Zc):
    """``Zc[k, r] = W[k]·x_{start+r}`` (features contiguous; ``Zc`` class-major): per
    feature column, K updates of a class's scores along the column."""
    K, n = W.shape
    Zc[:, :count] = 0.0
    for j in range(n):
        column = X[start:start + count, j]
        for k in range(K):
            w = W[k, j]
            z = Zc[k]
            for r in range(count):
                z[r] += w * column[r]


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _mn_gradient_columns(X, start, count, Zc, acc):
    """``acc[k, :n] += Σ_r Zc[k, r] x_{start+r}`` (features contiguous): per feature
    column, its K dot products with the classes' rows of ``Zc``."""
    n = X.shape[1]
    K = Zc.shape[0]
    for j in range(n):
        column = X[start:start + count, j]
        for k in range(K):
            g = Zc[k]
            total = 0.0
            for r in range(count):
                total += column[r] * g[r]
            acc[k, j] += total


@jit(nogil=True, error_model="numpy")
def _mn_samples(W, b, X, Y, sw, P, mode, lo, hi, acc):
    """Rows lo..hi of the pass: adds ``[Gᵀ X, Σ G]`` into ``acc`` (K, n + 1 or more);
    returns ``Σ s L`` over them."""
    K, n = W.shape
    along_rows = abs(X.strides[1]) <= abs(X.strides[0])
    if along_rows:
        tile = max(1, min(MN_TILE_MAX, MN_TILE_BYTES // max(1, n * X.itemsize)))
    else:
        tile = max(MIN_BLOCK, min(8192, BLOCK_BYTES // (n * X.itemsize)))
    tile = max(1, min(tile, hi - lo))
    Z = np.empty((tile, K))  # the softmax's rows
    Zc = np.empty((K, 0 if along_rows else tile))  # class-major, for the columns' sweeps
    J = 0.0
    for start in range(lo, hi, tile):
        count = min(tile, hi - start)
        if along_rows:
            _mn_scores_rows(W, X, start, count, Z)
        else:
            _mn_scores_columns(W, X, start, count, Zc)
            Z[:count] = Zc[:, :count].T
        for r in range(count):
            z = Z[r]
            J += _softmax_row(z, start + r, b, Y, sw, P, mode)
            for k in range(K):
                acc[k, n] += z[k]
        if along_rows:
            _mn_gradient_rows(X, start, count, Z, acc)
        else:
            Zc[:, :count] = Z[:count].T
            _mn_gradient_columns(X, start, count, Zc, acc)
    return J


@jit(nogil=True, error_model="numpy")
def _mn_serial(W, b, X, Y, sw, P, mode, out):
    """The whole pass on the calling thread, into ``out`` (K, n + 1); returns ``Σ s L``."""
    out[:] = 0.0
    return _mn_samples(W, b, X, Y, sw, P, mode, 0, X.shape[0], out)


# Its own prange, called from Python only (numba#8578: see _chunked_pass above).
@jit(nogil=True, error_model="numpy", parallel=_parallel_options())
def _mn_parallel(W, b, X, Y, sw, P, mode, out, n_chunks):
    """The pass in ``n_chunks`` chunks of rows, ``prange`` over them, each into its own
    accumulator (padded: no two chunks write to one cache line), added in chunk order."""
    K, n = W.shape
    m = X.shape[0]
    parts = np.zeros((n_chunks, K, n + 1 + 8))
    losses = np.zeros((n_chunks, 8))
    for c in prange(n_chunks):
        losses[c, 0] = _mn_samples(W, b, X, Y, sw, P, mode, c * m // n_chunks,
                                   (c + 1) * m // n_chunks, parts[c])
    out[:] = 0.0
    J = 0.0
    for c in range(n_chunks):  # a fixed order
        for k in range(K):
            for j in range(n + 1):
                out[k, j] += parts[c, k, j]
        J += losses[c, 0]
    return J


def _mn_run(W, b, X, Y, sw, P, mode, out, n_threads):
    """The pass on ``n_threads`` chunks (fewer when the samples are few)."""
    args = (W, b, X, _NO_ROWS if Y is None else Y, _NONE if sw is None else sw,
            _NO_ROWS if P is None else P, mode, out)
    n_chunks = max(1, min(int(n_threads), X.shape[0] // MIN_CHUNK_SAMPLES))
    if n_chunks == 1:
        return float(_mn_serial(*args))
    threads.started_threads()  # a fork from now on gets a serial child
    return float(_mn_parallel(*args, n_chunks))


def multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``Z = X Wᵀ + b``: returns ``Σ s L``,
    writes ``[Gᵀ X, Σ G]`` into ``grad`` (K, n_features + 1) and, if given, the softmax
    into ``P`` (n_samples, K); see :mod:`._numpy_model`. A scipy.sparse ``X``:
    :mod:`._numba_sparse`."""
    if issparse(X):
        from fastlr.backends import _numba_sparse
        return _numba_sparse.multinomial_loss_gradient(W, b, X, Y, sw, grad, P, n_threads)
    W, b, Y, sw, _ = validation.check_multinomial_kernel(W, b, X, Y, sw, grad, P)
    mode = (MN_WEIGHTED if sw is not None else 0) | (MN_WRITE_P if P is not None else 0)
    return _mn_run(W, b, X, Y, sw, P, mode, grad, n_threads)


def multinomial_hessp(V, vb, X, P, sw, out, n_threads=1):
    """One pass over ``X``: ``out = [Tᵀ X, Σ T]``, ``T = s P ⊙ (Zv − Σ_k P_k Zv_k)`` at
    ``Zv = X Vᵀ + vb`` (see :mod:`._numpy_model`). A scipy.sparse ``X``:
    :mod:`._numba_sparse`."""
    if issparse(X):
        from fastlr.backends import _numba_sparse
        return _numba_sparse.multinomial_hessp(V, vb, X, P, sw, out, n_threads)
    if P is None:
        raise ValueError("multinomial_hessp needs P")
    V, vb, _, sw, _ = validation.check_multinomial_kernel(V, vb, X, None, sw, out, P)
    mode = MN_HESSP | (MN_WEIGHTED if sw is not None else 0)
    _mn_run(V, vb, X, None, sw, P, mode, out, n_threads)
