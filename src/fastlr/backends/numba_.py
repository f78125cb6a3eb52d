"""The ``numba`` backend: the lecture's code compiled by Numba.

Everything is compiled lazily: the first call with new argument types compiles (seconds:
see docs/teaching.md, "Why is my first call slow?"), later processes load the machine
code from Numba's on-disk cache (``cache=True``). Importing this module imports numba but
compiles nothing. The compilation rules every function here follows
(:func:`~fastlr.backends._numba_primitives.jit`, :data:`FASTMATH`) and the fused pass's
activations are in :mod:`fastlr.backends._numba_primitives`.

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
    One pass over ``X``: for a few examples at a time ``z``, ``a``, ``dz``, and ``x dz``
    added into ``dw`` while those examples are still in cache. It is the estimator's loss
    pass on ``X.T`` (a view) with unit weights, its sums divided by ``m`` here; the sweeps
    (per memory order: the course's F order is scikit-learn's C, each example contiguous,
    the faster one), ``fastmath`` (results agree with the reference to ~1e-15 relative,
    not bit for bit) and vectorizable activations (a couple of ulps, no ``fastmath``) are
    described in :mod:`fastlr.backends._numba_model`. float32 ``X`` is read as float32
    and accumulated in float64.

    **Threads**: :func:`propagate_fused` and :func:`optimize_fused` split the examples into
    the chunks :func:`fastlr.threads.call` gives them (fastlr's one thread policy: the
    user's limits, serial below a size, contention, one team at a time — Numba's
    ``workqueue`` threading layer does not allow concurrent parallel launches at all —
    and fork safety), each with its own accumulators, summed at the end (``prange`` over
    the chunks, Numba's thread pool). :func:`propagate_fused_chunks` and
    :func:`optimize_fused_chunks` are the leaves: they take the number of chunks.

Compiled kernels for your own ``@njit`` code
--------------------------------------------
All take ``(w, b, X, Y) -> (dw, db, cost)`` and can be called from a user ``@njit``
function: ``propagate_loop_kernel``, ``propagate_vectorized_kernel`` and
``propagate_fused_serial_kernel`` (``nogil``: Python threads may run them at once), and
``propagate_fused_kernel``, one chunk per thread of Numba's pool (``NUMBA_NUM_THREADS``;
concurrent calls follow Numba's threading-layer rules). The training loops
``optimize_loop``, ``optimize_vectorized`` (``nogil``, callable from ``@njit`` code too) and
:func:`optimize_fused` run every gradient-descent iteration inside compiled code (one
descent loop for all three).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from fastlr import threads
from fastlr.backends._numba_model import WIDE_FEATURES, _chunked_pass, _pass_parallel, _samples
from fastlr.backends._numba_primitives import (
    FASTMATH,
    _as_float64,
    _blas_operand,
    _in_dtype_of,
    _parallel_options,
    jit,
)

__all__ = [
    "KERNELS", "OPTIMIZERS", "WIDE_FEATURES", "log1pexp", "loss",
    "optimize_fused", "optimize_fused_chunks", "optimize_loop", "optimize_vectorized",
    "propagate_fused", "propagate_fused_chunks", "propagate_fused_kernel",
    "propagate_fused_serial_kernel", "propagate_loop_kernel", "propagate_vectorized_kernel",
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
def loss(z, y):
    """Cross-entropy of one example, the reference's arithmetic:
    ``(max(z, 0) - y z) + log1p(e^-|z|)``, the cancelling terms grouped first (exact for
    y in {0, 1}: ``log1pexp(z) - y z`` would give 0.0 for y = 1, z = 35)."""
    return (max(z, 0.0) - y * z) + math.log1p(math.exp(-abs(z)))


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
        J += loss(z, Y[i])
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
        J += loss(Z[i], Y[i])
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
    # stable log(1 + e^Z) - Y Z, the cancelling terms grouped first (exact for Y in {0, 1})
    cost = np.sum((np.maximum(Z, 0.0) - Y * Z) + np.log1p(e)) / m
    dZ = A - Y
    dw = _as_float64(np.dot(X, _in_dtype_of(dZ, X))) / m  # dw = X dZᵀ / m
    db = np.sum(dZ) / m
    return dw, db, cost


# -------------------------------------------------------------------------------- fused variant


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def _per_example(dw, J, db, m):
    """The course's ``(dw, db, cost)`` from the pass's sums: each divided by ``m``."""
    dw /= m
    return dw, db / m, J / m


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy")
def propagate_fused_serial_kernel(w, b, X, Y):
    """One pass over X on the calling thread: ``(dw, db, cost)``."""
    dw = np.zeros(w.size)
    J, db = _samples(w, b, X.T, Y, None, None, 0, X.shape[1], dw)
    return _per_example(dw, J, db, X.shape[1])


#: chunks of propagate_fused_kernel: the size of Numba's thread pool (NUMBA_NUM_THREADS).
#: A constant, not numba.get_num_threads(): calling that from compiled code would keep the
#: kernel (and any user function calling it) out of Numba's on-disk cache.
_POOL_SIZE = numba.config.NUMBA_NUM_THREADS


@jit(fastmath=FASTMATH, nogil=True, error_model="numpy", parallel=_parallel_options())
def propagate_fused_kernel(w, b, X, Y):
    """One pass over X, ``prange`` over one chunk of examples per thread of Numba's pool.

    A parallel function: call it from your own ``parallel=True`` function, or from one
    without ``cache=True`` (a cached one calling a parallel one crashes: numba#8578)."""
    dw = np.empty(w.size)
    J, db = _chunked_pass(w, b, X.T, Y, None, None, dw, max(1, min(_POOL_SIZE, X.shape[1])))
    return _per_example(dw, J, db, X.shape[1])


def _propagate_fused_parallel(w, b, X, Y, n_chunks):
    """The estimator's parallel pass on ``X.T`` with unit weights, in the course's terms."""
    m = X.shape[1]
    dw = np.empty(X.shape[0])
    J, db = _pass_parallel(w, float(b), X.T, Y, None, None, dw, max(1, min(n_chunks, m)))
    return _per_example(dw, J, db, m)


def propagate_fused(w, b, X, Y):
    """The fused pass on the threads :func:`fastlr.threads.call` gives it."""
    return threads.call(propagate_fused_chunks, (w, b, X, Y), X.size, X.shape[1], "numba")


def propagate_fused_chunks(w, b, X, Y, n_chunks):
    """The fused pass split into exactly ``n_chunks`` chunks of examples, whatever the size.

    The leaf :func:`propagate_fused` calls: ``n_chunks=1`` is the serial kernel on the
    calling thread, more is the ``prange`` kernel (at most one chunk per example). Called
    directly it has no lock (:func:`fastlr.threads.call` holds one): do not call it from
    several Python threads at once under Numba's ``workqueue`` threading layer.
    """
    if n_chunks == 1:
        return propagate_fused_serial_kernel(w, b, X, Y)
    threads.started_threads()
    return _propagate_fused_parallel(w, b, X, Y, n_chunks)


# ------------------------------------------------------------------------------- training loops
# One descent loop for every variant, inlined (IR, before typing) into each entry point with
# its variant a constant: each compiles only its own branch, and the fused branch's prange is
# the parallel entry point's own (no cached function calls a parallel one: numba#8578). Not
# a loop taking the kernel as an argument, nor a closure: those miss Numba's disk cache
# (dispatcher-typed arguments, closures) and recompile in every process.
LOOP, VECTORIZED, FUSED, FUSED_CHUNKS = 0, 1, 2, 3  # FUSED_CHUNKS: the prange pass


@jit(inline="always")
def _descend(variant, w, b, X, Y, num_iterations, learning_rate, n_chunks):
    """``num_iterations`` steps with ``variant``'s pass (``FUSED_CHUNKS``: in ``n_chunks``
    chunks): ``(w, b, dw, db, costs)``, the cost recorded every 100 iterations."""
    w = w.copy()
    costs = np.empty((num_iterations + 99) // 100)
    dw = np.zeros(w.size)  # typed here; num_iterations >= 1 overwrites it
    db = 0.0
    for i in range(num_iterations):
        if variant == LOOP:
            dw, db, cost = propagate_loop_kernel(w, b, X, Y)
        elif variant == VECTORIZED:
            dw, db, cost = propagate_vectorized_kernel(w, b, X, Y)
        elif variant == FUSED:
            dw, db, cost = propagate_fused_serial_kernel(w, b, X, Y)
        else:
            J, db = _chunked_pass(w, b, X.T, Y, None, None, dw, n_chunks)
            dw, db, cost = _per_example(dw, J, db, X.shape[1])
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(w.size):
            w[j] = w[j] - learning_rate * dw[j]
        b = b - learning_rate * db
    return w, b, dw, db, costs


@jit(nogil=True)
def optimize_loop(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with :func:`propagate_loop_kernel`, all iterations compiled."""
    return _descend(LOOP, w, b, X, Y, num_iterations, learning_rate, 1)


@jit(nogil=True)
def optimize_vectorized(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with :func:`propagate_vectorized_kernel`, all iterations compiled."""
    return _descend(VECTORIZED, w, b, X, Y, num_iterations, learning_rate, 1)


@jit(nogil=True)
def _optimize_fused_serial(w, b, X, Y, num_iterations, learning_rate):
    return _descend(FUSED, w, b, X, Y, num_iterations, learning_rate, 1)


@jit(nogil=True, parallel=_parallel_options())  # no fastmath: the update as in the others
def _optimize_fused_parallel(w, b, X, Y, num_iterations, learning_rate, n_chunks):
    return _descend(FUSED_CHUNKS, w, b, X, Y, num_iterations, learning_rate, n_chunks)


def optimize_fused_chunks(w, b, X, Y, num_iterations, learning_rate, n_chunks):
    """Gradient descent with the fused pass in exactly ``n_chunks`` chunks (1: serial, on
    the calling thread), all iterations compiled; as :func:`propagate_fused_chunks`."""
    if n_chunks == 1:
        return _optimize_fused_serial(w, b, X, Y, num_iterations, learning_rate)
    threads.started_threads()
    n_chunks = max(1, min(n_chunks, X.shape[1]))
    return _optimize_fused_parallel(w, b, X, Y, num_iterations, learning_rate, n_chunks)


def optimize_fused(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent with the fused kernel, on the threads :func:`fastlr.threads.call`
    gives it (not timed: a training outlasts another pool's contention)."""
    return threads.call(optimize_fused_chunks, (w, b, X, Y, num_iterations, learning_rate),
                        X.size, X.shape[1], "numba", adaptive=False)


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
