# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
#
# Every kernel is a `nogil` C function; the Python wrappers check the cheap things (dtype,
# 2-D, shapes agree), take typed `const` memoryviews of the caller's arrays, allocate the
# outputs and scratch as NumPy arrays and release the GIL for the whole computation. Bounds
# and wraparound checks are off: the indices are ranges over the validated shapes;
# cdivision is on: every divisor is m >= 1, a chunk count >= 1 or a positive stride. The
# only C is the one pass's SIMD primitives, in fastlr_simd.h.
"""The ``cython`` backend: the lecture's code compiled by Cython, with the GIL released, and
the estimator's kernels (:class:`fastlr.LogisticRegression`) on the same one-pass kernel.

No variant copies ``X``: F-ordered (``images.reshape(m, -1).T``, the course's layout),
C-ordered, strided and read-only arrays are read in place through ``const`` memoryviews.

``loop``
    The lecture's for-loop over typed memoryviews: examples outer, as on the slide, when
    each example is contiguous (F order), else features outer in three sweeps. Each sum is
    added one term at a time in the slide's order (no ``-ffast-math``): the pure-Python
    reference's numbers, to the last bits (up to ``libm``).
``vectorized``
    The lecture's whole-array steps, each over all ``m`` examples, with no loop over
    examples *and* features together in our code: the two products are BLAS ``gemv`` calls
    (SciPy's ``cython_blas``; ``sgemv`` for float32 ``X`` accumulates in float32, as
    ``np.dot`` does), the rest single typed loops; ``X`` is read twice, as in NumPy. Strides
    BLAS cannot take in place fall back to typed passes in float64. OpenBLAS may start its
    own threads for large products (threadpoolctl limits them).
``fused`` (not in the lecture: the fast path)
    One pass over ``X``: for a tile of examples it computes ``z``, ``a``, ``dz`` and adds
    ``x dz`` into ``dw`` while the tile is still in cache, so ``X`` comes from memory once
    instead of twice. SIMD inner loops built for AVX-512, AVX2+FMA and baseline x86-64 (the
    CPU's best picked at load time), ``exp`` and ``log1p`` included (branch-free
    polynomials, a couple of ulps; NaN in, NaN out); float32 ``X`` is read as float32 and
    accumulated in float64. Tiles follow the layout (``_tiles.pxd``; other strides: plain
    loops, slower). Sums are added in another order than the reference (SIMD lanes, groups
    of examples, chunks): results agree to ~1e-15 relative, not bit for bit. From memory
    the pass comes close to the floor, one read of ``X`` (:func:`read_floor`); from an L3
    that streams about as fast as L2 it gains little over NumPy's two BLAS passes
    (measured values: docs/benchmarks.md).

The estimator's kernels (contract: :mod:`fastlr.backends._numpy_model`) are that pass too,
``fused`` being its loss pass with unit weights, ÷ m: scikit-learn's ``X`` (n_samples,
n_features) is the course's ``Xᵀ``, read in place (strides swapped; C order is the
course's F order). :func:`loss_gradient` gives ``Σ s L``, ``Σ s dz x``, ``Σ s dz`` and the
Hessian's weights ``h = s σ(z)(1 - σ(z))``; :func:`hessp` ``Xᵀ(h ⊙ (X v + vb))`` and
``Σ h (X v + vb)``, the data term's Hessian–vector product (the solvers add the penalty's).
The multinomial kernels (:func:`multinomial_loss_gradient`, :func:`multinomial_hessp`) are
that pass's tiles K times: a tile of rows is read from memory once, then each class's
scores, the tile's softmax (libm ``exp``) and each class's gradient sweep read it from
cache (F order: blocks of ``MN_BLOCK_BYTES``).

Threads: only that pass starts them (OpenMP ``prange``, if the extension has OpenMP:
:data:`OPENMP`), one chunk of at least :data:`MIN_CHUNK_SAMPLES` examples per thread, each
with its own accumulators, summed at the end (results depend on the number of chunks in
the last bits only). The kernels are leaves that take their thread count
(``propagate_fused_chunks``, ``optimize_fused_chunks``, ``loss_gradient``, ``hessp``);
``propagate_fused`` and ``optimize_fused`` get theirs from :func:`fastlr.threads.call`, the
one thread policy (how many, serial below a size, contention, one team at a time, fork
safety), and so do the estimator's calls. Every kernel releases the GIL; the training
loops run without it.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, fabs, log, log1p
from libc.stdlib cimport llabs
from libc.string cimport memset
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

from fastlr.backends._tiles cimport *  # the SIMD primitives (C) and the tile plan


import numpy as np
from scipy.sparse import issparse

from fastlr import threads, validation

__all__ = [
    "KERNELS", "OPENMP", "OPTIMIZERS", "MIN_CHUNK_SAMPLES",
    "hessian_diagonal", "hessp", "loss_gradient", "multinomial_hessp",
    "multinomial_loss_gradient", "optimize_fused", "optimize_fused_chunks",
    "optimize_loop", "optimize_vectorized", "propagate_fused", "propagate_fused_chunks",
    "propagate_loop", "propagate_vectorized", "read_floor",
]

# --------------------------------------------------------------------------- build, constants

cdef extern from *:
    const long CYTHON_HEX_VERSION

#: whether the extension was compiled with OpenMP (else ``fused`` runs on one thread)
OPENMP = bool(FASTLR_OPENMP)
#: the Cython that compiled this extension
CYTHON_VERSION = "%d.%d.%d" % (CYTHON_HEX_VERSION >> 24, (CYTHON_HEX_VERSION >> 16) & 0xFF,
                               (CYTHON_HEX_VERSION >> 8) & 0xFF)

#: each thread gets at least this many examples (samples): fastlr.threads' rule
MIN_CHUNK_SAMPLES = threads.MIN_CHUNK_SAMPLES

cdef enum:
    # variants
    LOOP = 0
    VECTORIZED = 1
    FUSED = 2  # (its tiles: _tiles.pxd)


# --------------------------------------------------------------------------- activations

cdef inline double sigmoid(double z) noexcept nogil:
    """Stable logistic function: ``exp`` never sees a positive argument."""
    cdef double e
    if z >= 0.0:
        return 1.0 / (1.0 + exp(-z))
    e = exp(z)  # stable form: exp(-z) would overflow for z < -709
    return e / (1.0 + e)


cdef inline double cross_entropy(double z, double y) noexcept nogil:
    """The loss of one example, ``log(1 + e^z) - y z`` without overflow, the reference's
    arithmetic: ``(max(z, 0) - y z) + log1p(e^-|z|)`` (NaN stays NaN), the cancelling terms
    grouped first — exact for y in {0, 1}, where ``max(z, 0) + log1p(e^-|z|) - y z`` gives
    0.0 for y = 1, z = 35 (not 6.3e-16)."""
    return ((z if z > 0.0 else 0.0) - y * z) + log1p(exp(-fabs(z)))


# --------------------------------------------------------------------------- loop variant

cdef void loop_by_example(const floating[:, :] X, const double *w, double b, const double *Y,
                          double *dw, double *db, double *cost) noexcept nogil:
    """The slide: examples outer, features inner (X[:, i] is the short stride)."""
    cdef Py_ssize_t n_x = X.shape[0], m = X.shape[1], i, j
    cdef double J = 0.0, db_sum = 0.0, z, a, dz
    for j in range(n_x):
        dw[j] = 0.0
    for i in range(m):
        z = b
        for j in range(n_x):
            z += w[j] * X[j, i]
        a = sigmoid(z)
        J += cross_entropy(z, Y[i])
        dz = a - Y[i]
        for j in range(n_x):
            dw[j] += X[j, i] * dz
        db_sum += dz
    for j in range(n_x):
        dw[j] = dw[j] / m
    db[0] = db_sum / m
    cost[0] = J / m


cdef void loop_by_feature(const floating[:, :] X, const double *w, double b, const double *Y,
                          double *dw, double *db, double *cost, double *Z,
                          double *dZ) noexcept nogil:
    """The slide's sums with features outer (X[j, :] is the short stride): three sweeps."""
    cdef Py_ssize_t n_x = X.shape[0], m = X.shape[1], i, j
    cdef double J = 0.0, db_sum = 0.0, a, dw_j
    for i in range(m):
        Z[i] = b
    for j in range(n_x):  # one sweep of the rows: Z[i] += w[j] X[j, i]
        for i in range(m):
            Z[i] += w[j] * X[j, i]
    for i in range(m):
        a = sigmoid(Z[i])
        J += cross_entropy(Z[i], Y[i])
        dZ[i] = a - Y[i]
        db_sum += dZ[i]
    for j in range(n_x):  # a second sweep: dw[j] = Σ_i X[j, i] dZ[i]
        dw_j = 0.0
        for i in range(m):
            dw_j += X[j, i] * dZ[i]
        dw[j] = dw_j / m
    db[0] = db_sum / m
    cost[0] = J / m


# --------------------------------------------------------------------------- vectorized variant

cdef bint blas_layout(Py_ssize_t n_x, Py_ssize_t m, Py_ssize_t s0, Py_ssize_t s1,
                      bint *columns, int *ld) noexcept nogil:
    """Whether BLAS can read X in place; if so ``columns``: X is column-major with leading
    dimension ``ld`` (F order, or a view of it with a column step), else Xᵀ is (C order, or
    a view of it with a row step)."""
    cdef Py_ssize_t int_max = 2147483647  # BLAS takes int dimensions
    if n_x > int_max or m > int_max:
        return False
    if s0 == 1 and (m == 1 or n_x <= s1 <= int_max):
        columns[0] = True
        ld[0] = <int>(s1 if m > 1 else n_x)
        return True
    if s1 == 1 and (n_x == 1 or m <= s0 <= int_max):
        columns[0] = False
        ld[0] = <int>(s0 if n_x > 1 else m)
        return True
    return False


ctypedef void (*dgemv_t)(char *, int *, int *, double *, double *, int *, double *, int *,
                         double *, double *, int *) noexcept nogil
ctypedef void (*sgemv_t)(char *, int *, int *, float *, float *, int *, float *, int *,
                         float *, float *, int *) noexcept nogil
cdef dgemv_t dgemv = NULL
cdef sgemv_t sgemv = NULL


cdef int load_blas() except -1:
    """SciPy's BLAS, looked up at the first vectorized call: importing scipy.linalg takes
    ~0.1-0.2 s, which every other kernel of this module (and the first auto call) skips."""
    global dgemv, sgemv
    if dgemv != NULL:
        return 0
    from scipy.linalg import cython_blas
    capsules = cython_blas.__pyx_capi__
    sgemv = <sgemv_t>PyCapsule_GetPointer(capsules["sgemv"],
                                          PyCapsule_GetName(capsules["sgemv"]))
    dgemv = <dgemv_t>PyCapsule_GetPointer(capsules["dgemv"],
                                          PyCapsule_GetName(capsules["dgemv"]))
    return 0


cdef void gemv(bint transpose, int rows, int cols, const floating *A, int ld,
               const double *x, double *y, floating *x_cast, floating *y_cast) noexcept nogil:
    """``y = op(A) x`` for the column-major ``rows × cols`` matrix ``A``. float32 ``A``: ``x``
    is rounded into ``x_cast``, ``sgemv`` makes the product in ``y_cast``, widened into ``y``."""
    cdef char trans = b'T' if transpose else b'N'
    cdef int one = 1, n_in = rows if transpose else cols, n_out = cols if transpose else rows
    cdef int k
    cdef double alpha = 1.0, beta = 0.0
    cdef float alpha_f = 1.0, beta_f = 0.0
    if floating is double:
        dgemv(&trans, &rows, &cols, &alpha, <double *>A, &ld, <double *>x, &one,
              &beta, y, &one)
    else:
        for k in range(n_in):
            x_cast[k] = <float>x[k]
        sgemv(&trans, &rows, &cols, &alpha_f, <float *>A, &ld, x_cast, &one,
              &beta_f, y_cast, &one)
        for k in range(n_out):
            y[k] = y_cast[k]


cdef void vectorized(const floating[:, :] X, const double *w, double b, const double *Y,
                     double *dw, double *db, double *cost, double *Z, double *dZ,
                     floating *scratch) noexcept nogil:
    """Whole-array steps; ``scratch`` holds n_x + m floats (float32 X with BLAS only)."""
    cdef Py_ssize_t n_x = X.shape[0], m = X.shape[1], i, j
    cdef Py_ssize_t s0 = X.strides[0] // sizeof(floating), s1 = X.strides[1] // sizeof(floating)
    cdef double J = 0.0, db_sum = 0.0, dw_j
    cdef bint columns = False
    cdef int ld = 1
    cdef bint blas = (X.strides[0] % sizeof(floating) == 0
                      and X.strides[1] % sizeof(floating) == 0
                      and blas_layout(n_x, m, s0, s1, &columns, &ld))
    # Z = wᵀX
    if blas and columns:  # X column-major (n_x × m): Z = Xᵀ w
        gemv(True, <int>n_x, <int>m, &X[0, 0], ld, w, Z, scratch, scratch + n_x)
    elif blas:  # Xᵀ column-major (m × n_x): Z = Xᵀ w
        gemv(False, <int>m, <int>n_x, &X[0, 0], ld, w, Z, scratch, scratch + n_x)
    else:  # typed pass, along the shorter stride
        for i in range(m):
            Z[i] = 0.0
        if llabs(s0) <= llabs(s1):
            for i in range(m):
                for j in range(n_x):
                    Z[i] += w[j] * X[j, i]
        else:
            for j in range(n_x):
                for i in range(m):
                    Z[i] += w[j] * X[j, i]
    for i in range(m):  # Z = wᵀX + b
        Z[i] += b
    for i in range(m):  # A = σ(Z)
        dZ[i] = sigmoid(Z[i])
    for i in range(m):  # cost = Σ L / m
        J += cross_entropy(Z[i], Y[i])
    for i in range(m):  # dZ = A - Y
        dZ[i] = dZ[i] - Y[i]
    # dw = X dZᵀ / m
    if blas and columns:
        gemv(False, <int>n_x, <int>m, &X[0, 0], ld, dZ, dw, scratch + n_x, scratch)
    elif blas:
        gemv(True, <int>m, <int>n_x, &X[0, 0], ld, dZ, dw, scratch + n_x, scratch)
    elif llabs(s0) <= llabs(s1):
        for j in range(n_x):
            dw[j] = 0.0
        for i in range(m):
            for j in range(n_x):
                dw[j] += X[j, i] * dZ[i]
    else:
        for j in range(n_x):
            dw_j = 0.0
            for i in range(m):
                dw_j += X[j, i] * dZ[i]
            dw[j] = dw_j
    for j in range(n_x):
        dw[j] = dw[j] / m
    for i in range(m):  # db = Σ dZ / m
        db_sum += dZ[i]
    db[0] = db_sum / m
    cost[0] = J / m


# --------------------------------------------------------------------------- the one pass

cdef void chunk(bint loss, const floating *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n,
                Py_ssize_t lo, Py_ssize_t hi, const double *w, double b, const double *y,
                const double *sw, double *h, bint keep_h, double *out, double *sums,
                double *tiles, Py_ssize_t tile) noexcept nogil:
    """Examples lo..hi of one pass, tile by tile: ``z`` of the tile, its activations (``loss``:
    the loss pass's, weighted by ``sw``, or unweighted and without ``h`` if ``sw`` is NULL;
    else the Hessian pass's ``h (z + vb)``, ``b`` being ``vb``), then ``out = Σ x dz`` while
    the tile is in cache; ``sums`` = (Σ L, Σ dz). ``h``: per example if ``keep_h`` (always in
    the Hessian pass), else in ``tiles``, 3 ``tile`` doubles: the tile's z, dz and h."""
    cdef Py_ssize_t start = lo, count
    cdef Plan plan = plan_tiles(s0, s1, n, sizeof(floating))
    cdef const floating *origin
    cdef double *dz = tiles + tile
    if floating is float and plan.layout == COLUMNS and plan.sweep == 1:
        # tall sweeps: for float32 X with short examples, widening float32 to float64 is
        # the bottleneck, not memory (a 1 000 000 × 100 pass took 2.2× the floor with one
        # example per sweep over w, 1.9× with eight, on an AMD EPYC Zen 5)
        plan.sweep = WIDE_SWEEP
    memset(out, 0, n * sizeof(double))
    sums[0] = sums[1] = 0.0
    while start < hi:
        count = min(plan.tile, hi - start)
        origin = X + start * s1
        z_tile(origin, s0, s1, n, count, plan, w, tiles)
        if not loss:
            fastlr_hess_weight(tiles, h + start, count, b, dz, sums)
        elif sw == NULL:  # unit weights: no array of ones read
            fastlr_activate(tiles, y + start, count, b, dz, sums)
        else:
            fastlr_activate_weighted(tiles, y + start, sw + start, count, b, dz,
                                     h + start if keep_h else dz + tile, sums)
        dw_tile(origin, s0, s1, n, count, plan, dz, out)
        start += count


cdef inline Py_ssize_t scratch_size(Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    """Doubles of one chunk's scratch: accumulator and 2 sums (whole cache lines), 3 tiles."""
    return pad_lines(pad_lines(n + 2) + 3 * tile_max(m))


cdef void run_pass(bint loss, const floating *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n,
                   Py_ssize_t m, const double *w, double b, const double *y,
                   const double *sw, double *h, bint keep_h, double *out, double *sums,
                   int n_chunks, double *scratch) noexcept nogil:
    """One pass over the ``m`` examples of ``n`` features of X (features ``s0`` apart,
    examples ``s1``: the course's layout) in ``n_chunks`` chunks, one per thread (1: on the
    calling thread, no parallel region, accumulated in ``out``). ``scratch`` holds
    ``scratch_size(n, m)`` doubles per chunk; see :func:`chunk` for the rest."""
    cdef Py_ssize_t j, pad = pad_lines(n + 2), tile = tile_max(m), size = scratch_size(n, m)
    cdef double total, *base
    cdef int c, k
    if n_chunks <= 1:
        chunk(loss, X, s0, s1, n, 0, m, w, b, y, sw, h, keep_h, out, sums, scratch + pad,
              tile)
        return
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        base = scratch + c * size
        chunk(loss, X, s0, s1, n, c * m // n_chunks, (c + 1) * m // n_chunks, w, b, y, sw,
              h, keep_h, base, base + n, base + pad, tile)
    for j in range(n + 2):  # each chunk's accumulator, then its sums
        total = 0.0
        for k in range(n_chunks):
            total = total + scratch[k * size + j]
        if j < n:
            out[j] = total
        else:
            sums[j - n] = total


cdef void fused(const floating[:, :] X, const double *w, double b, const double *Y,
                double *dw, double *db, double *cost, int n_chunks,
                double *scratch) noexcept nogil:
    """The course's fused pass: the loss pass over X (n_x, m) with unit weights, ÷ m."""
    cdef Py_ssize_t n_x = X.shape[0], m = X.shape[1], j, size = sizeof(floating)
    cdef double sums[2]
    run_pass(True, &X[0, 0], X.strides[0] // size, X.strides[1] // size, n_x, m, w, b, Y,
             NULL, NULL, False, dw, sums, n_chunks, scratch)
    for j in range(n_x):
        dw[j] = dw[j] / m
    db[0] = sums[1] / m
    cost[0] = sums[0] / m


# --------------------------------------------------------------------------- one call, many iterations

cdef struct Work:
    # scratch for one (variant, problem); pointers into one float64 NumPy array
    double *Z         # m (loop by feature, vectorized)
    double *dZ        # m (loop by feature, vectorized)
    void *scratch     # n_x + m float32 (vectorized, float32 X through BLAS)
    double *chunks    # n_chunks scratch_size(n_x, m) (fused)
    int n_chunks


cdef void propagate_once(int variant, const floating[:, :] X, const double *w, double b,
                         const double *Y, double *dw, double *db, double *cost,
                         Work *work) noexcept nogil:
    if variant == LOOP:
        if llabs(X.strides[0]) <= llabs(X.strides[1]):
            loop_by_example(X, w, b, Y, dw, db, cost)
        else:
            loop_by_feature(X, w, b, Y, dw, db, cost, work.Z, work.dZ)
    elif variant == VECTORIZED:
        vectorized(X, w, b, Y, dw, db, cost, work.Z, work.dZ, <floating *>work.scratch)
    else:
        fused(X, w, b, Y, dw, db, cost, work.n_chunks, work.chunks)


cdef void descend(int variant, const floating[:, :] X, double *w, double *b,
                  const double *Y, Py_ssize_t num_iterations, double learning_rate,
                  double *dw, double *db, double *costs, Work *work) noexcept nogil:
    """Gradient descent: ``num_iterations`` times propagate, record, update ``w`` and ``b``."""
    cdef Py_ssize_t i, j, n_x = X.shape[0]
    cdef double cost
    for i in range(num_iterations):
        propagate_once(variant, X, w, b[0], Y, dw, db, &cost, work)
        if i % 100 == 0:
            costs[i // 100] = cost
        for j in range(n_x):
            w[j] = w[j] - learning_rate * dw[j]
        b[0] = b[0] - learning_rate * db[0]


# --------------------------------------------------------------------------- Python wrappers

cdef object allocate(int variant, Py_ssize_t n_x, Py_ssize_t m, bint single, int n_chunks,
                     Work *work):
    """One float64 array for all the scratch of ``variant``; ``work`` points into it."""
    cdef Py_ssize_t size = 0, vectors = 0, floats = 0
    cdef double *base
    if variant == LOOP or variant == VECTORIZED:
        vectors = 2 * m
    if variant == VECTORIZED and single:
        floats = (n_x + m + 1) // 2 + 1
    if variant == FUSED:
        size = n_chunks * scratch_size(n_x, m)
    buffer = np.empty(max(1, vectors + floats + size))
    cdef double[::1] view = buffer
    base = &view[0]
    work.Z = base
    work.dZ = base + m
    work.scratch = <void *>(base + vectors)
    work.chunks = base + vectors + floats
    work.n_chunks = n_chunks
    return buffer


cdef tuple run(int variant, w, double b, X, Y, Py_ssize_t num_iterations,
               double learning_rate, bint training, Py_ssize_t n_chunks):
    """Dispatch on X's dtype, release the GIL, run one propagate or a training loop
    (``fused``: in ``n_chunks`` chunks of examples, at most one per example)."""
    if training and num_iterations < 1:
        raise ValueError(f"num_iterations must be >= 1; got {num_iterations}")
    if X.ndim != 2 or w.ndim != 1 or Y.ndim != 1:
        raise ValueError("expected w of shape (n_x,), X (n_x, m), Y (m,)")
    cdef Py_ssize_t n_x = X.shape[0], m = X.shape[1]
    if w.shape[0] != n_x or Y.shape[0] != m or n_x < 1 or m < 1:
        raise ValueError(f"shapes do not agree: w {w.shape}, X {X.shape}, Y {Y.shape}")
    cdef str kind = X.dtype.char
    cdef bint single = kind == 'f'
    if not single and kind != 'd':
        raise TypeError(f"X must be float64 or float32; got {X.dtype}")
    cdef const double[::1] w_in = np.ascontiguousarray(w, dtype=np.float64)
    cdef const double[::1] Y_view = np.ascontiguousarray(Y, dtype=np.float64)
    cdef const double[:, :] X64
    cdef const float[:, :] X32
    cdef Py_ssize_t itemsize = 4 if single else 8
    if variant == FUSED and (X.strides[0] % itemsize or X.strides[1] % itemsize):
        X = np.array(X)  # strides that are no whole number of elements (hand-made views)
    if single:
        X32 = X
    else:
        X64 = X
    n_chunks = max(1, min(n_chunks, m)) if variant == FUSED else 1
    if n_chunks > 1:
        threads.started_threads()  # a fork from now on gets a serial child
    if variant == VECTORIZED:
        load_blas()
    cdef Work work
    dw = np.empty(n_x)
    cdef double[::1] dw_view = dw
    cdef double db = 0.0, cost = 0.0
    cdef double[::1] w_view
    cdef double[::1] costs_view
    buffer = allocate(variant, n_x, m, single, <int>n_chunks, &work)
    if not training:
        with nogil:
            if single:
                propagate_once(variant, X32, &w_in[0], b, &Y_view[0], &dw_view[0], &db,
                               &cost, &work)
            else:
                propagate_once(variant, X64, &w_in[0], b, &Y_view[0], &dw_view[0], &db,
                               &cost, &work)
        return dw, db, cost
    w_out = np.array(w_in, dtype=np.float64)  # a copy: the caller's w is never modified
    w_view = w_out
    costs = np.empty((num_iterations + 99) // 100)
    costs_view = costs
    with nogil:
        if single:
            descend(variant, X32, &w_view[0], &b, &Y_view[0], num_iterations,
                    learning_rate, &dw_view[0], &db, &costs_view[0], &work)
        else:
            descend(variant, X64, &w_view[0], &b, &Y_view[0], num_iterations,
                    learning_rate, &dw_view[0], &db, &costs_view[0], &work)
    return w_out, b, dw, db, costs.tolist()


def propagate_loop(w, b, X, Y):
    """The lecture's for-loop (see the module docstring): ``(dw, db, cost)``."""
    return run(LOOP, w, b, X, Y, 1, 0.0, False, 1)


def propagate_vectorized(w, b, X, Y):
    """The lecture's whole-array steps, BLAS for the products: ``(dw, db, cost)``."""
    return run(VECTORIZED, w, b, X, Y, 1, 0.0, False, 1)


def propagate_fused(w, b, X, Y):
    """One pass over X on the threads :func:`fastlr.threads.call` gives it:
    ``(dw, db, cost)``."""
    return threads.call(propagate_fused_chunks, (w, b, X, Y), X.size, X.shape[1], "cython")


def propagate_fused_chunks(w, b, X, Y, n_chunks):
    """The fused pass on exactly ``n_chunks`` chunks (threads; 1: serial): the leaf."""
    return run(FUSED, w, b, X, Y, 1, 0.0, False, int(n_chunks))


def optimize_loop(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent over the loop variant, all iterations in C without the GIL.

    Returns ``(w, b, dw, db, costs)``: the final parameters, the gradients of the last
    iteration (before its update) and the cost of every iteration ``i % 100 == 0``.
    """
    return run(LOOP, w, b, X, Y, num_iterations, learning_rate, True, 1)


def optimize_vectorized(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent over the vectorized variant (see :func:`optimize_loop`)."""
    return run(VECTORIZED, w, b, X, Y, num_iterations, learning_rate, True, 1)


def optimize_fused(w, b, X, Y, num_iterations, learning_rate):
    """Gradient descent over the fused pass (:func:`optimize_loop`), threads chosen once
    (:func:`fastlr.threads.call`: a training outlasts contention, so it is not timed)."""
    return threads.call(optimize_fused_chunks, (w, b, X, Y, num_iterations, learning_rate),
                        X.size, X.shape[1], "cython", adaptive=False)


def optimize_fused_chunks(w, b, X, Y, num_iterations, learning_rate, n_chunks):
    """Gradient descent over the fused pass on exactly ``n_chunks`` chunks (1: serial)."""
    return run(FUSED, w, b, X, Y, num_iterations, learning_rate, True, int(n_chunks))


# --------------------------------------------------------------------------- the estimator's kernels

cdef tuple dispatch(bint loss, w, double b, X, y, sw, h, bint keep_h, out, int n_threads):
    """Check shapes and dtypes, choose the chunks, release the GIL for the pass over X
    (n_samples, n_features): the course's Xᵀ, its strides swapped."""
    if X.ndim != 2 or w.ndim != 1 or out.ndim != 1:
        raise ValueError("expected X of shape (n_samples, n_features), w and out 1-D")
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1]
    if w.shape[0] != n or out.shape[0] != n or m < 1 or n < 1:
        raise ValueError(f"shapes do not agree: X {X.shape}, w {w.shape}, out {out.shape}")
    sw = np.ones(m) if loss and sw is None and keep_h else sw  # for h; else NULL: no read
    if ((loss and (y.shape[0] != m or (sw is not None and sw.shape[0] != m)))
            or (keep_h and h.shape[0] != m)):
        raise ValueError(f"per-sample arrays must have {m} entries")
    cdef bint single = X.dtype.char == 'f'
    if not single and X.dtype.char != 'd':
        raise TypeError(f"X must be float64 or float32; got {X.dtype}")
    cdef Py_ssize_t itemsize = 4 if single else 8
    if X.strides[0] % itemsize or X.strides[1] % itemsize:
        raise ValueError("X's strides must be whole elements")
    cdef Py_ssize_t s1 = X.strides[0] // itemsize, s0 = X.strides[1] // itemsize
    cdef const double[::1] w_view = w
    cdef const double[::1] y_view = y if loss else w
    cdef const double[::1] sw_view = sw if sw is not None else w
    cdef const double *sw_ptr = &sw_view[0] if sw is not None else NULL
    cdef double[::1] h_view = h if keep_h else out
    cdef double[::1] out_view = out
    cdef int n_chunks = <int>max(1, min(<Py_ssize_t>n_threads, m // MIN_CHUNK_SAMPLES))
    if n_chunks > 1:
        threads.started_threads()  # a fork from now on gets a serial child
    cdef double[::1] scratch_view = np.empty(n_chunks * scratch_size(n, m))
    cdef double sums[2]
    cdef const float[:, :] X32 = X if single else None
    cdef const double[:, :] X64 = None if single else X
    with nogil:
        if single:
            run_pass(loss, &X32[0, 0], s0, s1, n, m, &w_view[0], b, &y_view[0], sw_ptr,
                     &h_view[0], keep_h, &out_view[0], sums, n_chunks, &scratch_view[0])
        else:
            run_pass(loss, &X64[0, 0], s0, s1, n, m, &w_view[0], b, &y_view[0], sw_ptr,
                     &h_view[0], keep_h, &out_view[0], sums, n_chunks, &scratch_view[0])
    return sums[0], sums[1]


def loss_gradient(w, double b, X, y, sw, grad, h=None, int n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``z = X w + b``: ``(Σ s L, Σ s dz)``.

    ``grad`` (float64, n_features) receives ``Σ s dz x``; ``h`` (float64, n_samples), if
    given, ``s σ(z)(1 - σ(z))``. ``w``, ``y`` (0 or 1) and ``sw`` are contiguous float64;
    ``sw=None``: unit weights. A scipy.sparse ``X`` (CSR, CSC): :mod:`._cython_sparse`.
    """
    if issparse(X):
        from fastlr.backends import _cython_sparse
        return _cython_sparse.loss_gradient(w, b, X, y, sw, grad, h, n_threads)
    return dispatch(True, w, b, X, y, sw, h, h is not None, grad, n_threads)


def hessp(v, double vb, X, h, out, int n_threads=1):
    """One pass over ``X``: ``out = Xᵀ(h ⊙ (X v + vb))``; returns ``(0.0, Σ h (X v + vb))``.
    A scipy.sparse ``X`` (CSR, CSC): :mod:`._cython_sparse`."""
    if issparse(X):
        from fastlr.backends import _cython_sparse
        return _cython_sparse.hessp(v, vb, X, h, out, n_threads)
    return dispatch(False, v, vb, X, None, None, h, True, out, n_threads)


def hessian_diagonal(X, h, out, int n_threads=1):
    """``out_j = Σ_i h_i X[i, j]²`` for a scipy.sparse ``X`` (:mod:`._cython_sparse`); dense
    ``X`` has none (newton-cg runs unpreconditioned there): TypeError."""
    if not issparse(X):
        raise TypeError("hessian_diagonal takes a scipy.sparse X")
    from fastlr.backends import _cython_sparse
    return _cython_sparse.hessian_diagonal(X, h, out, n_threads)


# --------------------------------------------------------------------------- multinomial
#
# The K-class kernels of the contract (_numpy_model): the binary pass's tiles, K times. A
# tile of rows comes from memory once; each class's scores (z_tile with W's row k), then
# the tile's softmax, then each class's Gᵀ x (dw_tile into the class's accumulator row) read
# it from cache. The scores of a tile are class-major: Z[k * T + r], row r of the tile.

cdef enum:
    # F order (ROWS): blocks this size, re-read 2K times (from L2 when they fit)
    MN_BLOCK_BYTES = 256 * 1024


cdef inline Plan mn_plan(Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n,
                         Py_ssize_t itemsize) noexcept nogil:
    """The binary pass's tiles, the F-order blocks smaller (each is read 2K times)."""
    cdef Plan plan = plan_tiles(s0, s1, n, itemsize)
    if plan.layout == ROWS:
        plan.tile = max(<Py_ssize_t>ROW_BLOCK_MIN,
                        min(<Py_ssize_t>TILE_MAX, MN_BLOCK_BYTES // (n * itemsize)))
    return plan


cdef double mn_softmax(double *Z, Py_ssize_t T, Py_ssize_t count, Py_ssize_t K,
                       Py_ssize_t start, const double *b, const double *Y, const double *sw,
                       double *P, double *top, double *total, double *yz) noexcept nogil:
    """The loss step of a tile: scores ``Z + b`` → ``G = s (P − Y)`` in place, ``P`` written
    (if not NULL); returns ``Σ s L``. ``top``, ``total``, ``yz``: a tile each."""
    cdef Py_ssize_t r, k
    cdef double *z
    cdef double J = 0.0, s, p
    for r in range(count):
        top[r] = -INFINITY  # a NaN score is never the top: its e^NaN makes the row NaN
        total[r] = 0.0
        yz[r] = 0.0
    for k in range(K):
        z = Z + k * T
        for r in range(count):
            z[r] = z[r] + b[k]
            top[r] = z[r] if z[r] > top[r] else top[r]
            yz[r] = yz[r] + Y[(start + r) * K + k] * z[r]
    for k in range(K):
        z = Z + k * T
        for r in range(count):
            z[r] = exp(z[r] - top[r])  # <= 1; NaN for a NaN score or an infinite top
            total[r] = total[r] + z[r]
    for r in range(count):
        s = 1.0 if sw == NULL else sw[start + r]
        J = J + s * ((top[r] + log(total[r])) - yz[r])
        total[r] = 1.0 / total[r]
    for k in range(K):
        z = Z + k * T
        for r in range(count):
            s = 1.0 if sw == NULL else sw[start + r]
            p = z[r] * total[r]
            if P != NULL:
                P[(start + r) * K + k] = p
            z[r] = s * (p - Y[(start + r) * K + k])
    return J


cdef void mn_hess_weights(double *Z, Py_ssize_t T, Py_ssize_t count, Py_ssize_t K,
                          Py_ssize_t start, const double *vb, const double *P,
                          const double *sw, double *dot) noexcept nogil:
    """The Hessian's step of a tile: ``Zv = Z + vb`` → ``T = s P ⊙ (Zv − Σ_k P_k Zv_k)`` in
    place. ``dot``: a tile."""
    cdef Py_ssize_t r, k
    cdef double *z
    cdef double s
    for r in range(count):
        dot[r] = 0.0
    for k in range(K):
        z = Z + k * T
        for r in range(count):
            z[r] = z[r] + vb[k]
            dot[r] = dot[r] + P[(start + r) * K + k] * z[r]
    for k in range(K):
        z = Z + k * T
        for r in range(count):
            s = 1.0 if sw == NULL else sw[start + r]
            z[r] = s * P[(start + r) * K + k] * (z[r] - dot[r])


cdef double mn_chunk(bint loss, const floating *X, Py_ssize_t s0, Py_ssize_t s1,
                     Py_ssize_t n, Py_ssize_t K, Py_ssize_t lo, Py_ssize_t hi, Plan plan,
                     Py_ssize_t T, const double *W, const double *b, const double *Y,
                     const double *sw, double *P, double *acc,
                     double *tiles) noexcept nogil:
    """Rows lo..hi, tile by tile (``T`` rows): ``acc`` (K, n + 1) = ``[Gᵀ X, Σ G]`` over
    them (the Hessian pass: ``T``'s, ``P`` read); returns ``Σ s L`` (0 for the Hessian).
    ``tiles``: (K + 3) T doubles, the scores and three rows of per-row values."""
    cdef Py_ssize_t start = lo, count, k, r, width = n + 1
    cdef const floating *origin
    cdef double J = 0.0, g
    cdef double *Z = tiles
    cdef double *extra = tiles + K * T
    memset(acc, 0, K * width * sizeof(double))
    while start < hi:
        count = min(T, hi - start)
        origin = X + start * s1
        for k in range(K):  # the tile from memory the first time, then from cache
            z_tile(origin, s0, s1, n, count, plan, W + k * n, Z + k * T)
        if loss:
            J += mn_softmax(Z, T, count, K, start, b, Y, sw, P, extra, extra + T,
                            extra + 2 * T)
        else:
            mn_hess_weights(Z, T, count, K, start, b, P, sw, extra)
        for k in range(K):
            dw_tile(origin, s0, s1, n, count, plan, Z + k * T, acc + k * width)
            g = 0.0
            for r in range(count):
                g = g + Z[k * T + r]
            acc[k * width + n] += g
        start += count
    return J


cdef double mn_run(bint loss, const floating *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n,
                   Py_ssize_t m, Py_ssize_t K, Plan plan, Py_ssize_t T, const double *W,
                   const double *b, const double *Y, const double *sw, double *P,
                   double *out, int n_chunks, double *scratch,
                   Py_ssize_t size) noexcept nogil:
    """The pass in ``n_chunks`` chunks of rows, one per thread (1: on the calling thread,
    into ``out``). ``scratch``: ``size`` doubles per chunk, its accumulator and loss
    (``pad_lines(K (n + 1) + 1)``) then its tiles. Returns ``Σ s L``."""
    cdef Py_ssize_t j, cells = K * (n + 1), pad = pad_lines(K * (n + 1) + 1)
    cdef double total
    cdef double *base
    cdef int c
    if n_chunks <= 1:
        return mn_chunk(loss, X, s0, s1, n, K, 0, m, plan, T, W, b, Y, sw, P, out,
                        scratch + pad)
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        base = scratch + c * size
        base[cells] = mn_chunk(loss, X, s0, s1, n, K, c * m // n_chunks,
                               (c + 1) * m // n_chunks, plan, T, W, b, Y, sw, P, base,
                               base + pad)
    for j in range(cells):  # each chunk's accumulator, in chunk order
        total = 0.0
        for c in range(n_chunks):
            total = total + scratch[c * size + j]
        out[j] = total
    total = 0.0
    for c in range(n_chunks):  # the loss
        total = total + scratch[c * size + cells]
    return total


cdef double mn_dispatch(bint loss, W, b, X, Y, sw, P, out, int n_threads) except? -1.0:
    """Arguments checked (``validation.check_multinomial_kernel``): choose the tiles and chunks, release the
    GIL for the pass over X (n_samples, n_features), strides swapped to the course's."""
    cdef bint single = X.dtype.char == 'f'
    cdef Py_ssize_t itemsize = 4 if single else 8
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1], K = W.shape[0]
    cdef Py_ssize_t s1 = X.strides[0] // itemsize, s0 = X.strides[1] // itemsize
    cdef Plan plan = mn_plan(s0, s1, n, itemsize)
    cdef Py_ssize_t T = min(plan.tile, m)
    cdef int n_chunks = <int>max(1, min(<Py_ssize_t>n_threads, m // MIN_CHUNK_SAMPLES))
    cdef Py_ssize_t size = pad_lines(K * (n + 1) + 1) + pad_lines((K + 3) * T)
    cdef double[::1] scratch = np.empty(n_chunks * size)
    cdef const double[:, ::1] W_view = W
    cdef const double[::1] b_view = b
    cdef const double[:, ::1] Y_view = Y if Y is not None else P
    cdef const double[::1] sw_view = sw if sw is not None else b
    cdef const double[:, ::1] P_view = P if P is not None else out  # the Hessian's: read
    cdef double[:, ::1] out_view = out
    cdef const double *Y_ptr = &Y_view[0, 0] if Y is not None else NULL
    cdef const double *sw_ptr = &sw_view[0] if sw is not None else NULL
    cdef double *P_ptr = <double *>&P_view[0, 0] if P is not None else NULL  # checked
    cdef const float[:, :] X32 = X if single else None
    cdef const double[:, :] X64 = None if single else X
    cdef double result
    if n_chunks > 1:
        threads.started_threads()  # a fork from now on gets a serial child
    with nogil:
        if single:
            result = mn_run(loss, &X32[0, 0], s0, s1, n, m, K, plan, T, &W_view[0, 0],
                            &b_view[0], Y_ptr, sw_ptr, P_ptr, &out_view[0, 0], n_chunks,
                            &scratch[0], size)
        else:
            result = mn_run(loss, &X64[0, 0], s0, s1, n, m, K, plan, T, &W_view[0, 0],
                            &b_view[0], Y_ptr, sw_ptr, P_ptr, &out_view[0, 0], n_chunks,
                            &scratch[0], size)
    return result


def multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, int n_threads=1):
    """One pass over ``X`` (n_samples, n_features) at ``Z = X Wᵀ + b``: returns ``Σ s L``,
    writes ``[Gᵀ X, Σ G]`` into ``grad`` (K, n_features + 1) and, if given, the softmax
    into ``P`` (n_samples, K); see :mod:`._numpy_model`. A scipy.sparse ``X``:
    :mod:`._cython_sparse`."""
    if issparse(X):
        from fastlr.backends import _cython_sparse
        return _cython_sparse.multinomial_loss_gradient(W, b, X, Y, sw, grad, P, n_threads)
    W, b, Y, sw, _ = validation.check_multinomial_kernel(W, b, X, Y, sw, grad, P)
    return mn_dispatch(True, W, b, X, Y, sw, P, grad, n_threads)


def multinomial_hessp(V, vb, X, P, sw, out, int n_threads=1):
    """One pass over ``X``: ``out = [Tᵀ X, Σ T]``, ``T = s P ⊙ (Zv − Σ_k P_k Zv_k)`` at
    ``Zv = X Vᵀ + vb`` (see :mod:`._numpy_model`). A scipy.sparse ``X``:
    :mod:`._cython_sparse`."""
    if issparse(X):
        from fastlr.backends import _cython_sparse
        return _cython_sparse.multinomial_hessp(V, vb, X, P, sw, out, n_threads)
    if P is None:
        raise ValueError("multinomial_hessp needs P")
    V, vb, _, sw, _ = validation.check_multinomial_kernel(V, vb, X, None, sw, out, P)
    mn_dispatch(False, V, vb, X, None, sw, P, out, n_threads)


# --------------------------------------------------------------------------- helpers, tests

def read_floor(X, n_threads):
    """Σ X over contiguous (C or F) ``X`` on ``n_threads`` threads: one read of X, the floor
    a fused ``propagate`` is measured against (``bench/roofline.py``). Not in the contract."""
    array = np.asarray(X)
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        raise ValueError("X must be C- or F-contiguous")
    flat = array.ravel(order="K")
    cdef const double[::1] x64
    cdef const float[::1] x32
    cdef Py_ssize_t n = flat.shape[0], lo, hi
    cdef int n_chunks = max(1, min(int(n_threads), n)), c
    cdef bint single = flat.dtype == np.float32
    partial = np.zeros(n_chunks * LINE_DOUBLES)
    cdef double[::1] p = partial
    if single:
        x32 = flat
    else:
        x64 = flat
    if n_chunks > 1:
        threads.started_threads()
    with nogil:
        if n_chunks == 1:
            p[0] = fastlr_sum_f(&x32[0], n) if single else fastlr_sum_d(&x64[0], n)
        else:
            for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
                lo = c * n // n_chunks
                hi = (c + 1) * n // n_chunks
                if single:
                    p[c * LINE_DOUBLES] = fastlr_sum_f(&x32[lo], hi - lo)
                else:
                    p[c * LINE_DOUBLES] = fastlr_sum_d(&x64[lo], hi - lo)
    return float(partial.sum())


def _activations(z, y, double b=0.0):
    """``(dz, loss)`` arrays of the fused pass's SIMD activations, for tests."""
    cdef const double[::1] z_view = np.ascontiguousarray(z, dtype=np.float64)
    cdef const double[::1] y_view = np.ascontiguousarray(y, dtype=np.float64)
    cdef Py_ssize_t n = z_view.shape[0], k
    dz = np.empty(n)
    loss = np.empty(n)
    cdef double[::1] dz_view = dz
    cdef double[::1] loss_view = loss
    cdef double sums[2]
    with nogil:
        for k in range(n):
            sums[0] = 0.0
            sums[1] = 0.0
            fastlr_activate(&z_view[k], &y_view[k], 1, b, &dz_view[k], sums)
            loss_view[k] = sums[0]
    return dz, loss


def _exp_log1p(x):
    """``(e^-|x|, log1p(e^-|x|))`` by the fused pass's polynomials, for tests."""
    cdef const double[::1] x_view = np.ascontiguousarray(x, dtype=np.float64)
    cdef Py_ssize_t n = x_view.shape[0], k
    e = np.empty(n)
    l = np.empty(n)
    cdef double[::1] e_view = e
    cdef double[::1] l_view = l
    with nogil:
        for k in range(n):
            e_view[k] = fastlr_exp_nonpositive(-fabs(x_view[k]))
            l_view[k] = fastlr_log1p_unit(e_view[k])
    return e, l


KERNELS = {"loop": propagate_loop, "vectorized": propagate_vectorized, "fused": propagate_fused}
OPTIMIZERS = {"loop": optimize_loop, "vectorized": optimize_vectorized, "fused": optimize_fused}
