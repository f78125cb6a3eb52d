"""The ``numba`` backend: the lecture's code compiled by Numba.

Everything is compiled lazily: the first call with new argument types compiles (seconds:
see the README), later processes load the machine code from Numba's on-disk cache
(``cache=True``). Importing this module imports numba but compiles nothing. The
compilation rules every function here follows (:func:`~fastlr.backends._numba_primitives.jit`,
:data:`FASTMATH`) and the fused pass's activations are in
:mod:`fastlr.backends._numba_primitives`.

``loop``
    The lecture's explicit for-loop under ``@njit``: for each example ``i``,
    ``z = b + Σ_j w[j] X[j, i]``, ``a = sigmoid(z)``, ``J += …``, ``dz = a - y``,
    ``dw[j] += X[j, i] dz`` for each feature, ``db += dz``; divide by ``m`` at the end.
    The reference's arithmetic in the reference's order (no ``fastmath``, so no SIMD: each
    ``z`` is one chain of additions). On F-ordered ``X`` (the course's layout) it reads
    each example down its column, as the slide does. On C-ordered ``X`` consecutive reads
    would then be a whole row apart, so there the loop runs features outer —
    ``Z[i] += w[j] X[j, i]`` row by row, then ``dw[j] += X[j, i] dZ[i]`` — the same sums
    added in the same order.
``vectorized``
    The lecture's NumPy code under ``@njit``: ``Z = np.dot(w, X) + b``, ``A = σ(Z)``,
    ``dZ = A - Y``, ``dw = np.dot(X, dZ) / m``, ``db = np.sum(dZ) / m``. The two products
    are the BLAS ``gemv`` that SciPy ships (its own OpenBLAS threads, not
    :mod:`fastlr.threads`), which reads either memory order directly; ``X`` is read
    twice. ``np.dot`` needs one dtype: float32 ``X`` is multiplied by float32 copies of
    ``w`` and ``dZ`` (those products accumulate in float32). BLAS needs a contiguous
    operand: a strided view of ``X`` is copied once per call — the one case where a
    kernel here copies ``X``.
``fused`` (not in the lecture: the fast path)
    One pass over ``X``: for a few examples at a time it computes ``z``, ``a``, ``dz`` and
    adds ``x dz`` into ``dw`` while those examples are still in cache.

    * F-ordered ``X``: with ``n_x >= WIDE_FEATURES`` four examples are swept together
      (``z`` of the four in one pass over ``w``, then ``dw += Σ x dz`` in one pass over
      ``dw``); with fewer features, L1-sized tiles of examples (``z`` one example after the
      other: one sequential stream; then ``dw``, four examples per pass), ``X`` prefetched
      into L2 ahead so that memory keeps streaming while a tile is computed on.
    * C-ordered ``X``: blocks of at least ``ROWS_MIN_BLOCK`` examples walked row by row
      (``z[block] += w[j] X[j, block]``, the activations, ``dw[j] += X[j, block] ·
      dz[block]``), rows prefetched ahead: rows far apart in memory are not a stream the
      hardware prefetcher follows.
    * Other strides (views such as ``X[:, ::2]``): tiles of examples, loops along the
      smaller stride; correct, slower.

    F order is the faster one (long sequential reads; an example is complete after one
    short stretch of memory). float32 ``X`` is read as float32 and accumulated in
    float64. The activations are branch-free polynomial ``exp``/``log1p`` (a couple of
    ulps, NaN in → NaN out) that vectorize, where a libm call per example would cost more
    than reading the example from memory.

    **fastmath** ``{"reassoc", "contract", "nsz"}`` on the fused kernels: SIMD partial
    sums and fused multiply-adds; no ``nnan``/``ninf``, since NaN or inf in ``X`` must
    reach the result. Sums are added in another order than the reference: results agree
    to ~1e-15 relative, not bit for bit. The activations have no ``fastmath`` (their
    error-compensation steps must not be simplified away).

    **Threads**: :func:`propagate_fused` splits the examples into
    :func:`fastlr.threads.get_num_threads` chunks (read at every call), each with its own
    accumulators, summed at the end (``prange`` over the chunks, Numba's thread pool).
    ``X`` with fewer than ``PARALLEL_MIN_ELEMENTS`` elements runs the serial kernel on the
    calling thread (starting the thread team costs more than two threads win back there),
    and so does a call made while another Python thread is inside a parallel fused call
    (two teams on the same cores only slow each other down, and Numba's ``workqueue``
    threading layer does not allow concurrent parallel launches at all).
    :func:`propagate_fused_chunks` forces a number of chunks (for tests and measurements).

Compiled kernels for your own ``@njit`` code
--------------------------------------------
All take ``(w, b, X, Y) -> (dw, db, cost)`` and can be called from a user ``@njit``
function: ``propagate_loop_kernel``, ``propagate_vectorized_kernel`` and
``propagate_fused_serial_kernel`` (``nogil``: Python threads may run them at once), and
``propagate_fused_kernel``, one chunk per thread of Numba's pool (``NUMBA_NUM_THREADS``;
concurrent calls follow Numba's threading-layer rules). The training loops
``optimize_loop``, ``optimize_vectorized`` (``nogil``, callable from ``@njit`` code too) and
:func:`optimize_fused` run every gradient-descent iteration inside compiled code.
"""

from __future__ import annotations

import math
import threading
import time

import numba
import numpy as np
from numba import prange
from numba.extending import overload

from fastlr import threads
from fastlr.backends._numba_primitives import (
    FASTMATH,
    _activate,
    _as_float64,
    _blas_operand,
    _in_dtype_of,
    _parallel_options,
    _prefetch,
    jit,
)

__all__ = [
    "KERNELS",
    "OPTIMIZERS",
    "PARALLEL_MIN_ELEMENTS",
    "WIDE_FEATURES",
    "log1pexp",
    "optimize_fused",
    "optimize_loop",
    "optimize_vectorized",
    "propagate_fused",
    "propagate_fused_chunks",
    "propagate_fused_kernel",
    "propagate_fused_serial_kernel",
    "propagate_loop_kernel",
    "propagate_vectorized_kernel",
    "sigmoid",
]

# --------------------------------------------------------------------------------- loop variant


@jit(nogil=True)
def sigmoid(z):
    """Stable logistic function of a float: ``exp`` never sees a positive argument."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # stable form: exp(-z) would overflow for z < -709
    return e / (1.0 + e)


@jit(nogil=True)
def log1pexp(z):
    """``log(1 + e^z)`` without overflow: ``max(z, 0) + log1p(e^-|z|)``."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@jit(nogil=True)
def propagate_loop_kernel(w, b, X, Y):
    """The lecture's for-loop, compiled. Same arithmetic, same order as the reference.

    Examples outer when each example is contiguous (F order, the course's layout);
    otherwise features outer: the same sums in the same order, read along the rows of X
    instead of down its strided columns.
    """
    if X.strides[0] <= X.strides[1]:
        return _loop_by_example(w, b, X, Y)
    return _loop_by_feature(w, b, X, Y)


@jit(nogil=True)
def _loop_by_example(w, b, X, Y):
    """The slide: examples outer, features inner."""
    n_x, m = X.shape
    J = 0.0
    dw = np.zeros(n_x)
    db = 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j] * X[j, i]
        a = sigmoid(z)
        J += log1pexp(z) - Y[i] * z
        dz = a - Y[i]
        for j in range(n_x):
            dw[j] += X[j, i] * dz
        db += dz
    return dw / m, db / m, J / m


@jit(nogil=True)
def _loop_by_feature(w, b, X, Y):
    """The slide's sums with features outer: ``z`` of every example, then ``dw``."""
    n_x, m = X.shape
    Z = np.full(m, b)
    for j in range(n_x):  # one sweep of the rows: Z[i] += w[j] X[j, i]
        for i in range(m):
            Z[i] += w[j] * X[j, i]
    J = 0.0
    db = 0.0
    dZ = np.empty(m)
    for i in range(m):
        a = sigmoid(Z[i])
        J += log1pexp(Z[i]) - Y[i] * Z[i]
        dZ[i] = a - Y[i]
        db += dZ[i]
    dw = np.zeros(n_x)
    for j in range(n_x):  # a second sweep: dw[j] = Σ_i X[j, i] dZ[i]
        for i in range(m):
            dw[j] += X[j, i] * dZ[i]
    return dw / m, db / m, J / m


# --------------------------------------------------------------------------- vectorized variant


@jit(nogil=True)
def propagate_vectorized_kernel(w, b, X, Y):
    """The lecture's NumPy code, compiled: two BLAS ``gemv`` calls and whole-array steps."""
    m = X.shape[1]
    X = _blas_operand(X)
    Z = _as_float64(np.dot(_in_dtype_of(w, X), X)) + b  # Z = wᵀX + b
    e = np.exp(-np.abs(Z))  # in (0, 1]: never overflows
    A = np.where(Z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))  # A = σ(Z), stable
    cost = np.sum(np.maximum(Z, 0.0) + np.log1p(e) - Y * Z) / m  # stable log(1 + e^Z) - Y Z
    dZ = A - Y
    dw = _as_float64(np.dot(X, _in_dtype_of(dZ, X))) / m  # dw = X dZᵀ / m
    db = np.sum(dZ) / m
    return dw, db, cost


# ------------------------------------------------------------------------ fused variant: chunks

#: F-ordered X with at least this many features: four examples per sweep over w and dw
#: (each example is long: w/dw traffic matters); fewer: L1-sized tiles of examples
WIDE_FEATURES = 512
#: bytes of X in one tile (F order, few features; re-read from L1) and one block
#: (C order; re-read from L2); how far ahead of the tile X is prefetched into L2
TILE_BYTES = 8 * 1024
BLOCK_BYTES = 512 * 1024
PREFETCH_BYTES = 32 * 1024
#: C order: at least this many examples per block. Narrower blocks make each row segment a
#: cache line or two, and the per-row overhead dominates; wide X then re-reads its block
#: from L3 rather than L2.
ROWS_MIN_BLOCK = 256


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _columns_wide(w, b, XT, Y, lo, hi, dw):
    """Examples lo..hi of F-ordered X (rows of ``XT = X.T``), four per sweep over w and dw."""
    n_x = w.size
    z = np.empty(4)
    dz = np.empty(4)
    loss = np.empty(4)
    J = 0.0
    db = 0.0
    i = lo
    while i + 4 <= hi:
        x0 = XT[i]
        x1 = XT[i + 1]
        x2 = XT[i + 2]
        x3 = XT[i + 3]
        z0 = 0.0
        z1 = 0.0
        z2 = 0.0
        z3 = 0.0
        for j in range(n_x):
            wj = w[j]
            z0 += wj * x0[j]
            z1 += wj * x1[j]
            z2 += wj * x2[j]
            z3 += wj * x3[j]
        z[0] = z0
        z[1] = z1
        z[2] = z2
        z[3] = z3
        J_group, db_group = _activate(z, Y, i, 4, b, dz, loss)
        J += J_group
        db += db_group
        d0 = dz[0]
        d1 = dz[1]
        d2 = dz[2]
        d3 = dz[3]
        for j in range(n_x):
            dw[j] += x0[j] * d0 + x1[j] * d1 + x2[j] * d2 + x3[j] * d3
        i += 4
    while i < hi:  # the last 0-3 examples, one at a time
        x = XT[i]
        z0 = 0.0
        for j in range(n_x):
            z0 += w[j] * x[j]
        z[0] = z0
        J_one, db_one = _activate(z, Y, i, 1, b, dz, loss)
        J += J_one
        db += db_one
        d0 = dz[0]
        for j in range(n_x):
            dw[j] += x[j] * d0
        i += 1
    return J, db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _columns_tall(w, b, XT, Y, lo, hi, dw):
    """Examples lo..hi of F-ordered X with few features, in tiles that stay in L1."""
    n_x = w.size
    example_bytes = n_x * XT.itemsize
    tile = max(4, min(TILE_BYTES // example_bytes // 4 * 4, hi - lo))
    ahead = max(1, PREFETCH_BYTES // example_bytes)  # examples between reading and prefetching
    line = 64 // XT.itemsize
    z = np.empty(tile)
    dz = np.empty(tile)
    loss = np.empty(tile)
    J = 0.0
    db = 0.0
    for start in range(lo, hi, tile):
        count = min(tile, hi - start)
        examples = XT[start:start + count]
        for k in range(count):  # one sequential stream through memory
            upcoming = XT[min(start + k + ahead, hi - 1)]
            for j in range(0, n_x, line):
                _prefetch(upcoming, j)  # memory keeps streaming during the compute below
            x = examples[k]
            acc = 0.0
            for j in range(n_x):
                acc += w[j] * x[j]
            z[k] = acc
        J_tile, db_tile = _activate(z, Y, start, count, b, dz, loss)
        J += J_tile
        db += db_tile
        k = 0
        while k + 4 <= count:  # dw from L1, four examples per sweep
            x0 = examples[k]
            x1 = examples[k + 1]
            x2 = examples[k + 2]
            x3 = examples[k + 3]
            d0 = dz[k]
            d1 = dz[k + 1]
            d2 = dz[k + 2]
            d3 = dz[k + 3]
            for j in range(n_x):
                dw[j] += x0[j] * d0 + x1[j] * d1 + x2[j] * d2 + x3[j] * d3
            k += 4
        while k < count:
            x = examples[k]
            d0 = dz[k]
            for j in range(n_x):
                dw[j] += x[j] * d0
            k += 1
    return J, db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _columns(w, b, XT, Y, lo, hi, dw):
    if w.size >= WIDE_FEATURES:
        return _columns_wide(w, b, XT, Y, lo, hi, dw)
    return _columns_tall(w, b, XT, Y, lo, hi, dw)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _prefetch_rows(X, first, last, start, count):
    """Prefetch ``X[j, start:start + count]`` for rows ``first <= j < last``."""
    line = 64 // X.itemsize
    for j in range(first, min(last, X.shape[0])):
        row = X[j, start:start + count]
        for k in range(0, count, line):
            _prefetch(row, k)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _rows(w, b, X, Y, lo, hi, dw):
    """Examples lo..hi of C-ordered X: blocks of examples walked one feature row at a time."""
    n_x = X.shape[0]
    block = max(ROWS_MIN_BLOCK, min(8192, BLOCK_BYTES // (n_x * X.itemsize)))
    block = max(1, min(block, hi - lo))
    z = np.empty(block)
    dz = np.empty(block)
    loss = np.empty(block)
    J = 0.0
    db = 0.0
    for start in range(lo, hi, block):
        count = min(block, hi - start)
        # rows are far apart in memory: the prefetcher does not follow them, so we lead it
        ahead = max(1, PREFETCH_BYTES // (count * X.itemsize))
        zb = z[:count]
        for k in range(count):
            zb[k] = 0.0
        j = 0
        while j + 4 <= n_x:  # z[block] += w[j] X[j, block], four rows per pass over z
            _prefetch_rows(X, j + ahead, j + ahead + 4, start, count)
            r0 = X[j, start:start + count]
            r1 = X[j + 1, start:start + count]
            r2 = X[j + 2, start:start + count]
            r3 = X[j + 3, start:start + count]
            w0 = w[j]
            w1 = w[j + 1]
            w2 = w[j + 2]
            w3 = w[j + 3]
            for k in range(count):
                zb[k] += w0 * r0[k] + w1 * r1[k] + w2 * r2[k] + w3 * r3[k]
            j += 4
        while j < n_x:
            row = X[j, start:start + count]
            wj = w[j]
            for k in range(count):
                zb[k] += wj * row[k]
            j += 1
        J_block, db_block = _activate(z, Y, start, count, b, dz, loss)
        J += J_block
        db += db_block
        dzb = dz[:count]
        for j in range(n_x):  # dw[j] += X[j, block] · dz[block], from L2 when the block fits
            _prefetch_rows(X, j + ahead, j + ahead + 1, start, count)
            row = X[j, start:start + count]
            acc = 0.0
            for k in range(count):
                acc += row[k] * dzb[k]
            dw[j] += acc
    return J, db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _strided(w, b, X, Y, lo, hi, dw):
    """Examples lo..hi of X with any strides: tiles of examples.

    The loops run along the smaller stride: down the examples (as for F order) when the
    features of an example are closer together in memory, else along the rows (C order).
    They index 1-D slices from 0, so that LLVM can speculate a unit stride and vectorize.
    """
    n_x = X.shape[0]
    tile = max(1, min(256, hi - lo))
    z = np.empty(tile)
    dz = np.empty(tile)
    loss = np.empty(tile)
    J = 0.0
    db = 0.0
    down_columns = abs(X.strides[0]) <= abs(X.strides[1])
    for start in range(lo, hi, tile):
        count = min(tile, hi - start)
        if down_columns:
            for k in range(count):
                x = X[:, start + k]
                acc = 0.0
                for j in range(n_x):
                    acc += w[j] * x[j]
                z[k] = acc
        else:
            zb = z[:count]
            for k in range(count):
                zb[k] = 0.0
            for j in range(n_x):
                row = X[j, start:start + count]
                wj = w[j]
                for k in range(count):
                    zb[k] += wj * row[k]
        J_tile, db_tile = _activate(z, Y, start, count, b, dz, loss)
        J += J_tile
        db += db_tile
        if down_columns:
            for k in range(count):
                x = X[:, start + k]
                d = dz[k]
                for j in range(n_x):
                    dw[j] += x[j] * d
        else:
            dzb = dz[:count]
            for j in range(n_x):
                row = X[j, start:start + count]
                acc = 0.0
                for k in range(count):
                    acc += row[k] * dzb[k]
                dw[j] += acc
    return J, db


def _chunk(w, b, X, Y, lo, hi, dw):
    """Adds Σ x(i) dz(i) over examples lo..hi into ``dw``; returns (ΣL, Σdz) over them.

    Compiled for X's memory order (its Numba layout): F, C or any strides.
    """


@overload(_chunk)
def _chunk_for(w, b, X, Y, lo, hi, dw):
    if X.layout == "F":
        return lambda w, b, X, Y, lo, hi, dw: _columns(w, b, X.T, Y, lo, hi, dw)
    if X.layout == "C":
        return lambda w, b, X, Y, lo, hi, dw: _rows(w, b, X, Y, lo, hi, dw)
    return lambda w, b, X, Y, lo, hi, dw: _strided(w, b, X, Y, lo, hi, dw)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def propagate_fused_serial_kernel(w, b, X, Y):
    """One pass over X on the calling thread: ``(dw, db, cost)``."""
    m = X.shape[1]
    dw = np.zeros(w.size)
    J, db = _chunk(w, b, X, Y, 0, m, dw)
    for j in range(dw.size):
        dw[j] /= m
    return dw, db / m, J / m


# Every parallel entry point below has its own ``prange`` and calls only serial functions.
# A cached function that calls a cached parallel one crashes a later process that loads
# both from Numba's on-disk cache (a jump to address 0: numba#8578, numba#4807), so no
# function here calls a parallel one; the three parallel loops are written out for that.


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _fused_chunk(w, b, X, Y, c, n_chunks, dws, sums):
    """Chunk ``c`` of ``n_chunks``: its Σ x dz into ``dws[c]``, (ΣL, Σdz) into ``sums[c]``."""
    m = X.shape[1]
    dw = dws[c]
    for j in range(dw.size):
        dw[j] = 0.0
    J, db = _chunk(w, b, X, Y, c * m // n_chunks, (c + 1) * m // n_chunks, dw)
    sums[c, 0] = J
    sums[c, 1] = db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _combined(dws, sums, m):
    """``(dw, db, cost)`` from the chunks' sums."""
    n_chunks, n_x = dws.shape
    dw = np.empty(n_x)
    for j in range(n_x):
        total = 0.0
        for c in range(n_chunks):
            total += dws[c, j]
        dw[j] = total / m
    J = 0.0
    db = 0.0
    for c in range(n_chunks):
        J += sums[c, 0]
        db += sums[c, 1]
    return dw, db / m, J / m


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def _propagate_fused_parallel(w, b, X, Y, n_chunks):
    """One pass over X split into ``n_chunks`` chunks of examples, ``prange`` over them."""
    n_x, m = X.shape
    n_chunks = max(1, min(n_chunks, m))
    dws = np.empty((n_chunks, n_x))
    sums = np.empty((n_chunks, 2))
    for c in prange(n_chunks):
        _fused_chunk(w, b, X, Y, c, n_chunks, dws, sums)
    return _combined(dws, sums, m)


#: chunks of propagate_fused_kernel: the size of Numba's thread pool (NUMBA_NUM_THREADS).
#: A constant, not numba.get_num_threads(): calling that from compiled code would keep the
#: kernel (and any user function calling it) out of Numba's on-disk cache.
_POOL_SIZE = numba.config.NUMBA_NUM_THREADS


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def propagate_fused_kernel(w, b, X, Y):
    """One pass over X, ``prange`` over one chunk of examples per thread of Numba's pool.

    A parallel function: call it from your own ``parallel=True`` function, or from one
    without ``cache=True`` — a cached serial function calling a parallel one crashes when
    both are loaded from Numba's cache (numba#8578).
    """
    n_x, m = X.shape
    n_chunks = max(1, min(_POOL_SIZE, m))
    dws = np.empty((n_chunks, n_x))
    sums = np.empty((n_chunks, 2))
    for c in prange(n_chunks):
        _fused_chunk(w, b, X, Y, c, n_chunks, dws, sums)
    return _combined(dws, sums, m)


#: X with fewer elements than this runs the serial fused kernel: starting the thread team
#: would cost more than it saves (set by measurement: see the README).
PARALLEL_MIN_ELEMENTS = 60_000

_parallel_lock = threading.Lock()  # one parallel fused call at a time; others run serially


def _serial_or_parallel(serial, parallel, X, adaptive, *args):
    """``serial(*args)`` for small X or when another thread holds the team, else
    ``parallel(*args, n_threads)`` with one chunk of examples per thread. ``adaptive``: the
    path is the one :func:`fastlr.threads.use_threads` says is faster now, and is timed."""
    if X.size >= PARALLEL_MIN_ELEMENTS:  # checked first: small calls skip the thread lookup
        n_threads = threads.get_num_threads()
        if n_threads > 1 and not (adaptive and not threads.use_threads(X.size, "numba")):
            if _parallel_lock.acquire(blocking=False):
                try:
                    threads.started_threads()
                    start = time.perf_counter()
                    result = parallel(*args, n_threads)
                    if adaptive:
                        threads.took(X.size, time.perf_counter() - start, True, "numba")
                    return result
                finally:
                    _parallel_lock.release()
        elif n_threads > 1:
            start = time.perf_counter()
            result = serial(*args)
            threads.took(X.size, time.perf_counter() - start, False, "numba")
            return result
    return serial(*args)


def propagate_fused(w, b, X, Y):
    """The fused kernel: serial for small problems, else one chunk per thread."""
    return _serial_or_parallel(propagate_fused_serial_kernel, _propagate_fused_parallel, X,
                               True, w, b, X, Y)


def propagate_fused_chunks(w, b, X, Y, n_chunks):
    """The fused pass split into exactly ``n_chunks`` chunks of examples, whatever the size.

    For tests and measurements: ``n_chunks=1`` is the serial kernel on the calling thread,
    more is the ``prange`` kernel (at most one chunk per example), without the lock of
    :func:`propagate_fused`: do not call it from several Python threads at once under
    Numba's ``workqueue`` threading layer.
    """
    if n_chunks == 1:
        return propagate_fused_serial_kernel(w, b, X, Y)
    threads.started_threads()
    return _propagate_fused_parallel(w, b, X, Y, n_chunks)


# ------------------------------------------------------------------------------- training loops
# The descent loop is written out once per kernel on purpose. A generic loop that takes the
# kernel as an argument, or one made by a factory closing over it, recompiles in every new
# process: Numba's on-disk cache misses on dispatcher-typed arguments and closures.


@jit(nogil=True)
def optimize_loop(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with :func:`propagate_loop_kernel`, all iterations compiled."""
    w = w.copy()
    costs = np.empty((num_iterations + 99) // 100)
    dw = np.zeros(w.size)  # typed here; num_iterations >= 1 overwrites it
    db = 0.0
    for i in range(num_iterations):
        dw, db, cost = propagate_loop_kernel(w, b, X, Y)
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(w.size):
            w[j] = w[j] - learning_rate * dw[j]
        b = b - learning_rate * db
    return w, b, dw, db, costs


@jit(nogil=True)
def optimize_vectorized(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with :func:`propagate_vectorized_kernel`, all iterations compiled."""
    w = w.copy()
    costs = np.empty((num_iterations + 99) // 100)
    dw = np.zeros(w.size)  # typed here; num_iterations >= 1 overwrites it
    db = 0.0
    for i in range(num_iterations):
        dw, db, cost = propagate_vectorized_kernel(w, b, X, Y)
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(w.size):
            w[j] = w[j] - learning_rate * dw[j]
        b = b - learning_rate * db
    return w, b, dw, db, costs


@jit(nogil=True)
def _optimize_fused_serial(w, b, X, Y, num_iterations, learning_rate):
    w = w.copy()
    costs = np.empty((num_iterations + 99) // 100)
    dw = np.zeros(w.size)  # typed here; num_iterations >= 1 overwrites it
    db = 0.0
    for i in range(num_iterations):
        dw, db, cost = propagate_fused_serial_kernel(w, b, X, Y)
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(w.size):
            w[j] = w[j] - learning_rate * dw[j]
        b = b - learning_rate * db
    return w, b, dw, db, costs


@jit(nogil=True, parallel=_parallel_options())  # no fastmath: the update as in the others
def _optimize_fused_parallel(w, b, X, Y, num_iterations, learning_rate, n_chunks):
    n_x, m = X.shape
    n_chunks = max(1, min(n_chunks, m))
    dws = np.empty((n_chunks, n_x))
    sums = np.empty((n_chunks, 2))
    w = w.copy()
    costs = np.empty((num_iterations + 99) // 100)
    dw = np.zeros(w.size)  # typed here; num_iterations >= 1 overwrites it
    db = 0.0
    for i in range(num_iterations):
        for c in prange(n_chunks):  # the parallel pass: its own prange (see above)
            _fused_chunk(w, b, X, Y, c, n_chunks, dws, sums)
        dw, db, cost = _combined(dws, sums, m)
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(w.size):
            w[j] = w[j] - learning_rate * dw[j]
        b = b - learning_rate * db
    return w, b, dw, db, costs


def optimize_fused(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with the fused kernel; serial or parallel as :func:`propagate_fused`."""
    return _serial_or_parallel(_optimize_fused_serial, _optimize_fused_parallel, X,
                               False, w, b, X, Y, num_iterations, learning_rate)


KERNELS = {
    "loop": propagate_loop_kernel,
    "vectorized": propagate_vectorized_kernel,
    "fused": propagate_fused,
}

OPTIMIZERS = {
    "loop": optimize_loop,
    "vectorized": optimize_vectorized,
    "fused": optimize_fused,
}
