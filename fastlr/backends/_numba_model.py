"""The estimator's kernels (:class:`fastlr.LogisticRegression`) in Numba.

The same two passes, with the same signatures, as :mod:`fastlr.backends._cython`'s:
:func:`loss_gradient` (``Σ s L``, ``Σ s dz x``, ``Σ s dz`` and the Hessian's weights
``h = s σ(z)(1 - σ(z))``) and :func:`hessp` (``Xᵀ(h ⊙ (X v + vb))``). scikit-learn's ``X``
(n_samples, n_features) is read in place, float32 as float32 (accumulated in float64):

* each sample contiguous (C order, the fast layout): a few samples at a time, each one's
  ``z = x·w`` then, after the tile's activations, ``grad += dz x`` while it is in L1;
* otherwise (F order, any strides): blocks of samples, feature by feature
  (``z[block] += w_j X[block, j]``, the activations, ``grad_j += X[block, j]·dz[block]``).

Compiled on first use and cached on disk, like :mod:`fastlr.backends.numba_`; the samples
are split into ``n_threads`` chunks (``prange``), each with its own accumulator.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import prange

from fastlr.backends._numba_primitives import (
    FASTMATH,
    _exp_nonpositive,
    _log1p_unit,
    _parallel_options,
    jit,
)

__all__ = ["MIN_CHUNK_SAMPLES", "hessp", "loss_gradient"]

#: each thread gets at least this many samples
MIN_CHUNK_SAMPLES = 16
#: samples per tile when each sample is contiguous: their z, then their gradient, from L1
ROW_TILE = 16
#: samples per block otherwise: z and dz of a block stay in L1 while X's columns stream
COLUMN_BLOCK = 1024

_parallel_lock = threading.Lock()  # one parallel call at a time; others run serially


# No fastmath here: the exact helpers' compensation terms must not be reassociated away
# (see fastlr.backends._numba_primitives); an element-wise loop vectorizes without it.
@jit(nogil=True, error_model="numpy")
def _weighted_activations(z, y, sw, b, dz, h, loss):
    """For each k: ``dz = s (σ - y)``, ``h = s σ(1 - σ)``, ``loss = s L`` at ``z[k] + b``."""
    for k in range(z.size):
        zk = z[k] + b
        s = sw[k]
        e = _exp_nonpositive(-abs(zk))
        u = 1.0 / (1.0 + e)
        a = u if zk >= 0.0 else e * u
        dz[k] = s * (a - y[k])
        h[k] = s * (e * u) * u
        loss[k] = s * ((max(zk, 0.0) + _log1p_unit(e)) - y[k] * zk)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _z(X, lo, hi, w, z):
    """``z[k] = x_{lo+k}·w`` for the samples lo..hi (float64 sums)."""
    n = X.shape[1]
    if X.strides[1] == X.itemsize:
        for k in range(hi - lo):
            x = X[lo + k]
            acc = 0.0
            for j in range(n):
                acc += np.float64(x[j]) * w[j]
            z[k] = acc
    else:
        for k in range(hi - lo):
            z[k] = 0.0
        for j in range(n):
            column = X[lo:hi, j]
            wj = w[j]
            for k in range(hi - lo):
                z[k] += np.float64(column[k]) * wj


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _add_xdz(X, lo, hi, dz, out):
    """``out += Σ_k dz[k] x_{lo+k}`` over the samples lo..hi."""
    n = X.shape[1]
    if X.strides[1] == X.itemsize:
        for k in range(hi - lo):
            x = X[lo + k]
            d = dz[k]
            for j in range(n):
                out[j] += np.float64(x[j]) * d
    else:
        for j in range(n):
            column = X[lo:hi, j]
            acc = 0.0
            for k in range(hi - lo):
                acc += np.float64(column[k]) * dz[k]
            out[j] += acc


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _tile(X):
    return ROW_TILE if X.strides[1] == X.itemsize else COLUMN_BLOCK


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _loss_chunk(w, b, X, y, sw, lo, hi, out, h, keep_h):
    """Samples lo..hi of the loss pass into ``out`` (zeroed here); returns (Σ s L, Σ dz)."""
    tile = _tile(X)
    z = np.empty(tile)
    dz = np.empty(tile)
    loss = np.empty(tile)
    scratch = np.empty(tile)
    out[:] = 0.0
    J = 0.0
    db = 0.0
    for start in range(lo, hi, tile):
        stop = min(start + tile, hi)
        count = stop - start
        _z(X, start, stop, w, z)
        hk = h[start:stop] if keep_h else scratch[:count]
        _weighted_activations(z[:count], y[start:stop], sw[start:stop], b, dz, hk, loss)
        for k in range(count):
            J += loss[k]
            db += dz[k]
        _add_xdz(X, start, stop, dz, out)
    return J, db


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _hessp_chunk(v, vb, X, h, lo, hi, out):
    """Samples lo..hi of the Hessian-vector pass into ``out``; returns Σ h (x·v + vb)."""
    tile = _tile(X)
    z = np.empty(tile)
    dz = np.empty(tile)
    out[:] = 0.0
    total = 0.0
    for start in range(lo, hi, tile):
        stop = min(start + tile, hi)
        _z(X, start, stop, v, z)
        for k in range(stop - start):
            d = h[start + k] * (z[k] + vb)
            dz[k] = d
            total += d
        _add_xdz(X, start, stop, dz, out)
    return total


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def _loss_parallel(w, b, X, y, sw, out, h, keep_h, n_chunks):
    m, n = X.shape
    parts = np.empty((n_chunks, n + 8))  # a row per chunk; padding: no false sharing
    for c in prange(n_chunks):
        row = parts[c]
        J, db = _loss_chunk(w, b, X, y, sw, c * m // n_chunks, (c + 1) * m // n_chunks,
                            row[:n], h, keep_h)
        row[n] = J
        row[n + 1] = db
    return _sum_parts(parts, n, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def _hessp_parallel(v, vb, X, h, out, n_chunks):
    m, n = X.shape
    parts = np.empty((n_chunks, n + 8))
    for c in prange(n_chunks):
        row = parts[c]
        row[n] = 0.0
        row[n + 1] = _hessp_chunk(v, vb, X, h, c * m // n_chunks, (c + 1) * m // n_chunks,
                                  row[:n])
    return _sum_parts(parts, n, out)


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _sum_parts(parts, n, out):
    """``out`` = Σ of the chunks' accumulators; returns the sums of their two totals."""
    for j in range(n):
        out[j] = 0.0
    J = 0.0
    db = 0.0
    for c in range(parts.shape[0]):
        for j in range(n):
            out[j] += parts[c, j]
        J += parts[c, n]
        db += parts[c, n + 1]
    return J, db


def _check(w, X, out, per_sample):
    """The shapes agree (the compiled loops do not check their indices)."""
    m, n = X.shape
    if w.shape != (n,) or out.shape != (n,) or any(a.shape != (m,) for a in per_sample):
        raise ValueError(f"shapes do not agree: X {X.shape}, w {w.shape}, out {out.shape}, "
                         f"per-sample {[a.shape for a in per_sample]}")


def _chunks(m, n_threads):
    """Chunks for a pass: ``n_threads`` unless the samples are too few, 1 when another
    thread's parallel pass is running (the caller releases the lock it then holds)."""
    n_chunks = max(1, min(int(n_threads), m // MIN_CHUNK_SAMPLES))
    if n_chunks > 1 and not _parallel_lock.acquire(blocking=False):
        return 1
    return n_chunks


def loss_gradient(w, b, X, y, sw, grad, h=None, n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``z = X w + b``: ``(Σ s L, Σ s dz)``.

    ``grad`` (float64, n_features) receives ``Σ s dz x``; ``h`` (float64, n_samples), if
    given, ``s σ(z)(1 - σ(z))``. ``w``, ``y`` (0 or 1) and ``sw`` are contiguous float64.
    """
    keep_h = h is not None
    _check(w, X, grad, (y, sw, h) if keep_h else (y, sw))
    if not keep_h:
        h = np.empty(0)
    n_chunks = _chunks(X.shape[0], n_threads)
    if n_chunks == 1:
        return _loss_chunk(w, float(b), X, y, sw, 0, X.shape[0], grad, h, keep_h)
    try:
        return _loss_parallel(w, float(b), X, y, sw, grad, h, keep_h, n_chunks)
    finally:
        _parallel_lock.release()


def hessp(v, vb, X, h, out, n_threads=1):
    """One pass over ``X``: ``out = Xᵀ(h ⊙ (X v + vb))``; returns ``(0.0, Σ h (X v + vb))``."""
    _check(v, X, out, (h,))
    n_chunks = _chunks(X.shape[0], n_threads)
    if n_chunks == 1:
        return 0.0, _hessp_chunk(v, float(vb), X, h, 0, X.shape[0], out)
    try:
        return _hessp_parallel(v, float(vb), X, h, out, n_chunks)
    finally:
        _parallel_lock.release()
