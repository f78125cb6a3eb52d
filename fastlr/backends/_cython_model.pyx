# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
#
# The wrappers check the cheap things (dtypes, shapes agree), take typed `const`
# memoryviews of the caller's arrays and release the GIL for the whole pass. Bounds and
# wraparound checks are off: the indices are ranges over the checked shapes.
"""The estimator's kernels (:class:`fastlr.LogisticRegression`) in Cython.

scikit-learn's ``X`` of shape (n_samples, n_features) is the course's ``Xᵀ``: it is read
in place as the course's X (its strides swapped), through the fused pass's tiles and SIMD
primitives (``_tiles.pxd``, ``fastlr_simd.h``): C-ordered ``X`` is the course's F order,
each sample contiguous. float32 ``X`` is read as float32 and accumulated in float64.

:func:`loss_gradient`
    One pass: ``Σ s L``, ``Σ s dz x`` and ``Σ s dz`` (``dz = σ(z) - y``), and the Hessian's
    weights ``h = s σ(z)(1 - σ(z))`` per sample.
:func:`hessp`
    One pass: ``Xᵀ(h ⊙ (X v + vb))`` and ``Σ h (X v + vb)``, the Hessian–vector product
    of the data term (the solvers add the penalty's).

Both split the samples into ``n_threads`` chunks (OpenMP), each with its own accumulator.
"""

from cython.parallel cimport prange
from libc.string cimport memset

import threading

import numpy as np

from fastlr.backends._tiles cimport *  # the SIMD primitives (C) and the tile plan

__all__ = ["MIN_CHUNK_SAMPLES", "hessp", "loss_gradient"]

#: each thread gets at least this many samples
MIN_CHUNK_SAMPLES = 16

_parallel_lock = threading.Lock()  # one parallel call at a time; others run serially


cdef inline Plan tall_sweeps(Plan plan, bint single) noexcept nogil:
    """float32 X with short samples: ``z`` of 8 samples per sweep over ``w``. Widening
    float32 to float64 is the bottleneck there, not memory (a 1 000 000 × 100 pass took
    2.2× the floor with one sample per sweep, 1.9× with eight, on an AMD EPYC Zen 5);
    float64 stays memory-bound and keeps the course's plan."""
    if single and plan.layout == COLUMNS and plan.sweep == 1:
        plan.sweep = WIDE_SWEEP
    return plan


cdef void chunk(bint loss, const floating *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n,
                Py_ssize_t lo, Py_ssize_t hi, const double *w, double b, const double *y,
                const double *sw, double *h, bint keep_h, double *out, double *sums,
                double *z, double *dz) noexcept nogil:
    """Samples lo..hi of one pass, tile by tile: ``z`` of the tile, then its activations
    (``loss``: the loss pass's; else the Hessian-vector pass's ``h (z + vb)``, ``b`` being
    ``vb``), then ``out += X_tileᵀ dz`` while the tile is in cache. ``h`` is the whole
    per-sample array when ``keep_h`` (always in the Hessian pass), else a tile's scratch."""
    cdef Py_ssize_t start = lo, count
    cdef Plan plan = tall_sweeps(plan_tiles(s0, s1, n, sizeof(floating)), floating is float)
    cdef const floating *origin
    memset(out, 0, n * sizeof(double))
    sums[0] = 0.0
    sums[1] = 0.0
    while start < hi:
        count = min(plan.tile, hi - start)
        origin = X + start * s1
        z_tile(origin, s0, s1, n, count, plan, w, z)
        if loss:
            fastlr_activate_weighted(z, y + start, sw + start, count, b, dz,
                                     h + start if keep_h else h, sums)
        else:
            fastlr_hess_weight(z, h + start, count, b, dz, sums)
        dw_tile(origin, s0, s1, n, count, plan, dz, out)
        start += count


cdef void run_pass(bint loss, const floating[:, :] X, const double *w, double b,
                   const double *y, const double *sw, double *h, bint keep_h, double *out,
                   double *sums, int n_chunks, double *scratch) noexcept nogil:
    """One pass in ``n_chunks`` chunks of samples. ``scratch`` holds, per chunk, ``pad(n)``
    doubles of accumulator, 2 of sums and 3 ``tile_max(m)`` of tiles (z, dz, h)."""
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1], j, lo, hi, tile = tile_max(X.shape[0])
    cdef Py_ssize_t s1 = X.strides[0] // <Py_ssize_t>sizeof(floating)  # between samples
    cdef Py_ssize_t s0 = X.strides[1] // <Py_ssize_t>sizeof(floating)  # between features
    cdef Py_ssize_t pad = pad_lines(n), size = pad + 2 + 3 * tile
    cdef const floating *origin = &X[0, 0]
    cdef double *base
    cdef double total
    cdef int c, k
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        lo = c * m // n_chunks
        hi = (c + 1) * m // n_chunks
        base = scratch + c * size
        chunk(loss, origin, s0, s1, n, lo, hi, w, b, y, sw,
              h if keep_h else base + pad + 2 + 2 * tile, keep_h, base, base + pad,
              base + pad + 2, base + pad + 2 + tile)
    for j in range(n):
        total = 0.0
        for k in range(n_chunks):
            total = total + scratch[k * size + j]
        out[j] = total
    sums[0] = 0.0
    sums[1] = 0.0
    for k in range(n_chunks):
        sums[0] += scratch[k * size + pad]
        sums[1] += scratch[k * size + pad + 1]


cdef tuple dispatch(bint loss, w, double b, X, y, sw, h, bint keep_h, out, int n_threads):
    """Check shapes and dtypes, choose the chunks, release the GIL for the pass."""
    if X.ndim != 2 or w.ndim != 1 or out.ndim != 1:
        raise ValueError("expected X of shape (n_samples, n_features), w and out 1-D")
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1]
    if w.shape[0] != n or out.shape[0] != n or m < 1 or n < 1:
        raise ValueError(f"shapes do not agree: X {X.shape}, w {w.shape}, out {out.shape}")
    if (loss and (y.shape[0] != m or sw.shape[0] != m)) or (keep_h and h.shape[0] != m):
        raise ValueError(f"per-sample arrays must have {m} entries")
    cdef str kind = X.dtype.char
    if kind != 'f' and kind != 'd':
        raise TypeError(f"X must be float64 or float32; got {X.dtype}")
    cdef Py_ssize_t itemsize = X.dtype.itemsize
    if X.strides[0] % itemsize or X.strides[1] % itemsize:
        raise ValueError("X's strides must be whole elements")
    cdef const double[::1] w_view = w
    cdef const double[::1] y_view = y if loss else w
    cdef const double[::1] sw_view = sw if loss else w
    cdef double[::1] h_view = h if keep_h else out
    cdef double[::1] out_view = out
    cdef int n_chunks = <int>max(1, min(<Py_ssize_t>n_threads, m // MIN_CHUNK_SAMPLES))
    cdef bint locked = False
    if n_chunks > 1:
        locked = _parallel_lock.acquire(False)
        if not locked:
            n_chunks = 1  # another thread's team runs: no second team on the same cores
    cdef Py_ssize_t size = pad_lines(n) + 2 + 3 * tile_max(m)
    scratch = np.empty(n_chunks * size)
    cdef double[::1] scratch_view = scratch
    cdef double sums[2]
    cdef const double[:, :] X64
    cdef const float[:, :] X32
    try:
        if kind == 'f':
            X32 = X
            with nogil:
                run_pass(loss, X32, &w_view[0], b, &y_view[0], &sw_view[0], &h_view[0],
                         keep_h, &out_view[0], sums, n_chunks, &scratch_view[0])
        else:
            X64 = X
            with nogil:
                run_pass(loss, X64, &w_view[0], b, &y_view[0], &sw_view[0], &h_view[0],
                         keep_h, &out_view[0], sums, n_chunks, &scratch_view[0])
    finally:
        if locked:
            _parallel_lock.release()
    return sums[0], sums[1]


def loss_gradient(w, double b, X, y, sw, grad, h=None, int n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``z = X w + b``: ``(Σ s L, Σ s dz)``.

    ``grad`` (float64, n_features) receives ``Σ s dz x``; ``h`` (float64, n_samples), if
    given, ``s σ(z)(1 - σ(z))``. ``w``, ``y`` (0 or 1) and ``sw`` are contiguous float64.
    """
    cdef bint keep_h = h is not None
    return dispatch(True, w, b, X, y, sw, h, keep_h, grad, n_threads)


def hessp(v, double vb, X, h, out, int n_threads=1):
    """One pass over ``X``: ``out = Xᵀ(h ⊙ (X v + vb))``; returns ``(0.0, Σ h (X v + vb))``."""
    return dispatch(False, v, vb, X, None, None, h, True, out, n_threads)
