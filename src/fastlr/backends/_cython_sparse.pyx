# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, embedsignature=True
#
# Every kernel is a `nogil` C function; the Python wrappers check the cheap things (format,
# dtypes, every length, indptr's ends), take typed `const` memoryviews of X's three arrays
# (strided: SciPy keeps a view it was given), allocate the scratch as one NumPy array and
# release the GIL for the whole computation. Bounds and wraparound checks are off: X's
# structure is trusted as SciPy checks it when it builds X (indices within the shape,
# indptr non-decreasing); cdivision is on: every divisor is a chunk count >= 1.
"""The estimator's kernels (:class:`fastlr.LogisticRegression`) on a scipy.sparse ``X``:
``loss_gradient`` and ``hessp`` of the contract (:mod:`fastlr.backends._numpy_model`),
compiled by Cython with the GIL released. ``_cython``'s kernels hand a sparse ``X`` here.

``X`` is a CSR or CSC matrix or array (``data`` float64 or float32, ``indices`` and
``indptr`` int32 or int64, each its own: one specialization per combination, Cython fused
types), read in place: never copied, converted or sorted. It means what ``X.toarray()``
means: indices in any order within a row or column, duplicates added, explicit zeros and
empty rows or columns allowed. float32 values are widened and every sum is float64.

CSR
    One pass over the non-zeros, row by row: ``z_i = x_i·w + b``, the activations
    (``exp``/``log1p`` of libm, ``_numpy_model.activations``' stable formulas), then
    ``grad[indices] += dz_i data`` (``hessp``: ``t_i = h_i (x_i·v + vb)``, ``out += t_i x_i``).
CSC
    Two passes: ``z`` scattered column by column, the activations per sample, then each
    ``grad_j`` gathered from its column (no two columns write the same entry).

Multinomial (``multinomial_loss_gradient``, ``multinomial_hessp``): the same passes with K
scores per sample (``W`` read transposed, a feature's K coefficients side by side), the
softmax per sample, and (n_features, K) accumulators, transposed at the end.

Threads (OpenMP ``prange``, if the extension has OpenMP: :data:`OPENMP`): a call on
``n_threads`` runs ``max(1, min(n_threads, n_samples // MIN_CHUNK_SAMPLES))`` chunks, one per
thread; one chunk runs on the calling thread, without a parallel region. CSR: chunks of rows
balanced by non-zeros plus rows, each with its own accumulator (whole cache lines) and
sums, added in chunk order. CSC: chunks of columns balanced likewise, each scattering into
its own ``z``, added per sample in chunk order; the gather writes disjoint columns. The
results are deterministic for a given chunk count and differ between counts in the last bits.
"""

from cython.parallel cimport prange
from libc.math cimport INFINITY, exp, fabs, log, log1p
from libc.stdint cimport int32_t, int64_t, uintptr_t
from libc.string cimport memset

import numpy as np

from fastlr import threads, validation

__all__ = ["MIN_CHUNK_SAMPLES", "OPENMP", "hessian_diagonal", "hessp", "loss_gradient",
           "multinomial_hessp", "multinomial_loss_gradient"]

cdef extern from *:
    """
    #ifdef _OPENMP
    #define FASTLR_SPARSE_OPENMP 1
    #else
    #define FASTLR_SPARSE_OPENMP 0
    #endif
    """
    const int FASTLR_SPARSE_OPENMP

#: whether the extension was compiled with OpenMP (else the chunks run one after the other)
OPENMP = bool(FASTLR_SPARSE_OPENMP)
#: each chunk gets at least this many samples: fastlr.threads' rule
MIN_CHUNK_SAMPLES = threads.MIN_CHUNK_SAMPLES

cdef enum:
    LINE_DOUBLES = 8  # each chunk's buffers start on their own cache line (64 bytes)

cdef enum:  # the kinds of pass
    HESSP = 0  # out = Xᵀ(h ⊙ (X v + vb))
    LOSS = 1  # the loss, Σ dz x (and h)
    DIAG = 2  # out_j = Σ_i h_i x_ij², the data term's Hessian diagonal

ctypedef fused data_t:
    float
    double

ctypedef fused index_t:
    int32_t
    int64_t

ctypedef fused pointer_t:
    int32_t
    int64_t


cdef inline Py_ssize_t pad_lines(Py_ssize_t n) noexcept nogil:
    """``n`` rounded up to whole cache lines of doubles."""
    return (n + LINE_DOUBLES - 1) // LINE_DOUBLES * LINE_DOUBLES


cdef inline double sample(bint loss, double z, Py_ssize_t i, const double *y, const double *sw,
                          double *h, bint keep_h, double *sums) noexcept nogil:
    """One sample at the score ``z``: ``dz`` (``loss``; adds ``s L`` and ``dz`` to ``sums``,
    writes ``h[i]`` if ``keep_h``; ``sw`` NULL: unit weights) or ``t = h[i] z`` (the Hessian's;
    adds it to ``sums[1]``). The stable forms of ``_numpy_model.activations``."""
    cdef double e, u, s, t
    if not loss:
        t = h[i] * z
        sums[1] += t
        return t
    s = 1.0 if sw == NULL else sw[i]
    e = exp(-fabs(z))  # in (0, 1]: never overflows
    u = 1.0 / (1.0 + e)
    sums[0] += s * (((z if z > 0.0 else 0.0) - y[i] * z) + log1p(e))  # grouped: y = 1 exact
    if keep_h:
        h[i] = s * e * u * u
    t = s * ((u if z >= 0.0 else e * u) - y[i])
    sums[1] += t
    return t


cdef Py_ssize_t split(const pointer_t[:] indptr, Py_ssize_t count, Py_ssize_t c,
                      int n_chunks) noexcept nogil:
    """First row (CSC: column) of chunk ``c`` of ``count``: the first where the non-zeros plus
    rows before it reach ``c / n_chunks`` of all (a binary search of ``indptr``)."""
    cdef Py_ssize_t lo = 0, hi = count, mid, first = indptr[0]
    cdef Py_ssize_t target = c * ((indptr[count] - first) + count) // n_chunks
    while lo < hi:
        mid = (lo + hi) // 2
        if (indptr[mid] - first) + mid < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef void add_chunks(const double *parts, Py_ssize_t stride, int n_chunks, Py_ssize_t n,
                     double *out) noexcept nogil:
    """``out[j] = Σ_c parts[c stride + j]``, in chunk order, on ``n_chunks`` threads."""
    cdef Py_ssize_t j
    cdef int c
    cdef double total
    for j in prange(n, num_threads=n_chunks, schedule="static"):
        total = 0.0
        for c in range(n_chunks):
            total = total + parts[c * stride + j]
        out[j] = total


# --------------------------------------------------------------------------- CSR: one pass

cdef void csr_rows(int kind, const data_t[:] data, const index_t[:] indices,
                   const pointer_t[:] indptr, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t n,
                   const double *w, double b, const double *y, const double *sw, double *h,
                   bint keep_h, double *acc, double *sums) noexcept nogil:
    """Rows lo..hi: ``acc`` (n) = Σ t_i x_i, ``sums`` = (Σ s L, Σ t); DIAG: Σ h_i x_i²."""
    cdef Py_ssize_t i, k, start, end
    cdef double z, t
    cdef double local[2]
    local[0] = local[1] = 0.0
    memset(acc, 0, n * sizeof(double))
    if kind == DIAG:
        for i in range(lo, hi):
            t = h[i]
            for k in range(indptr[i], indptr[i + 1]):
                acc[indices[k]] += t * data[k] * data[k]
        sums[0] = sums[1] = 0.0
        return
    for i in range(lo, hi):
        start = indptr[i]
        end = indptr[i + 1]
        z = 0.0
        for k in range(start, end):
            z = z + data[k] * w[indices[k]]
        t = sample(kind == LOSS, z + b, i, y, sw, h, keep_h, local)
        for k in range(start, end):
            acc[indices[k]] += t * data[k]
    sums[0] = local[0]
    sums[1] = local[1]


cdef void csr_pass(int kind, const data_t[:] data, const index_t[:] indices,
                   const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, const double *w,
                   double b, const double *y, const double *sw, double *h, bint keep_h,
                   double *out, double *sums, int n_chunks, double *scratch) noexcept nogil:
    """The CSR pass in ``n_chunks`` chunks of rows; ``scratch``: pad_lines(n + 2) each."""
    cdef Py_ssize_t size = pad_lines(n + 2)
    cdef double *acc
    cdef int c
    if n_chunks == 1:
        csr_rows(kind, data, indices, indptr, 0, m, n, w, b, y, sw, h, keep_h, out, sums)
        return
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        acc = scratch + c * size
        csr_rows(kind, data, indices, indptr, split(indptr, m, c, n_chunks),
                 split(indptr, m, c + 1, n_chunks), n, w, b, y, sw, h, keep_h, acc, acc + n)
    add_chunks(scratch, size, n_chunks, n, out)
    sums[0] = sums[1] = 0.0
    for c in range(n_chunks):
        sums[0] += scratch[c * size + n]
        sums[1] += scratch[c * size + n + 1]


# --------------------------------------------------------------------------- CSC: two passes

cdef void csc_scatter(const data_t[:] data, const index_t[:] indices, const pointer_t[:] indptr,
                      Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t m, const double *w,
                      double *z) noexcept nogil:
    """``z`` (m) = Σ_j w_j X[:, j] over the columns lo..hi."""
    cdef Py_ssize_t j, k
    cdef double w_j
    memset(z, 0, m * sizeof(double))
    for j in range(lo, hi):
        w_j = w[j]
        for k in range(indptr[j], indptr[j + 1]):
            z[indices[k]] += data[k] * w_j


cdef void csc_samples(bint loss, const double *parts, Py_ssize_t stride, int n_parts,
                      Py_ssize_t lo, Py_ssize_t hi, double b, const double *y, const double *sw,
                      double *h, bint keep_h, double *t, double *sums) noexcept nogil:
    """Samples lo..hi: ``z_i`` = Σ of the ``n_parts`` scattered parts (chunk order) + b,
    ``t_i`` its dz (the Hessian's t); ``sums`` = (Σ s L, Σ t). ``t`` may be ``parts``."""
    cdef Py_ssize_t i
    cdef double z
    cdef int c
    cdef double local[2]
    local[0] = local[1] = 0.0
    for i in range(lo, hi):
        z = parts[i]
        for c in range(1, n_parts):
            z = z + parts[c * stride + i]
        t[i] = sample(loss, z + b, i, y, sw, h, keep_h, local)
    sums[0] = local[0]
    sums[1] = local[1]


cdef void csc_gather(const data_t[:] data, const index_t[:] indices, const pointer_t[:] indptr,
                     Py_ssize_t lo, Py_ssize_t hi, const double *t, double *out,
                     bint squared) noexcept nogil:
    """``out_j = Σ_i X[i, j] t_i`` for the columns lo..hi (``squared``: Σ_i X[i, j]² t_i)."""
    cdef Py_ssize_t j, k
    cdef double total
    for j in range(lo, hi):
        total = 0.0
        if squared:
            for k in range(indptr[j], indptr[j + 1]):
                total = total + data[k] * data[k] * t[indices[k]]
        else:
            for k in range(indptr[j], indptr[j + 1]):
                total = total + data[k] * t[indices[k]]
        out[j] = total


cdef void csc_pass(int kind, const data_t[:] data, const index_t[:] indices,
                   const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, const double *w,
                   double b, const double *y, const double *sw, double *h, bint keep_h,
                   double *out, double *sums, int n_chunks, double *scratch) noexcept nogil:
    """The CSC passes in ``n_chunks`` chunks of columns (scatter, gather) and of samples;
    ``scratch``: t (pad_lines(m)), a line of sums per chunk, then a z per chunk if > 1."""
    cdef Py_ssize_t size = pad_lines(m)
    cdef double *t = scratch
    cdef double *part_sums = scratch + size
    cdef double *parts = part_sums + n_chunks * LINE_DOUBLES
    cdef int c
    if kind == DIAG:  # one gather: out_j = Σ_i X[i, j]² h_i
        sums[0] = sums[1] = 0.0
        if n_chunks == 1:
            csc_gather(data, indices, indptr, 0, n, h, out, True)
            return
        for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
            csc_gather(data, indices, indptr, split(indptr, n, c, n_chunks),
                       split(indptr, n, c + 1, n_chunks), h, out, True)
        return
    if n_chunks == 1:
        csc_scatter(data, indices, indptr, 0, n, m, w, t)
        csc_samples(kind == LOSS, t, size, 1, 0, m, b, y, sw, h, keep_h, t, sums)
        csc_gather(data, indices, indptr, 0, n, t, out, False)
        return
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        csc_scatter(data, indices, indptr, split(indptr, n, c, n_chunks),
                    split(indptr, n, c + 1, n_chunks), m, w, parts + c * size)
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        csc_samples(kind == LOSS, parts, size, n_chunks, c * m // n_chunks,
                    (c + 1) * m // n_chunks,
                    b, y, sw, h, keep_h, t, part_sums + c * LINE_DOUBLES)
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        csc_gather(data, indices, indptr, split(indptr, n, c, n_chunks),
                   split(indptr, n, c + 1, n_chunks), t, out, False)
    sums[0] = sums[1] = 0.0
    for c in range(n_chunks):
        sums[0] += part_sums[c * LINE_DOUBLES]
        sums[1] += part_sums[c * LINE_DOUBLES + 1]


# --------------------------------------------------------------------------- Python wrappers

def _run(int kind, bint csr, const data_t[:] data, const index_t[:] indices,
         const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, const double[::1] w, double b,
         const double[::1] y, const double[::1] sw, double[::1] h, double[::1] out,
         int n_chunks, double[::1] scratch):
    """One specialization per (data, indices, indptr) dtypes: the GIL released for the pass."""
    cdef const double *y_ptr = &y[0] if y is not None else NULL
    cdef const double *sw_ptr = &sw[0] if sw is not None else NULL
    cdef double *h_ptr = &h[0] if h is not None else NULL
    # each chunk's buffers on their own cache lines (scratch has a line to spare)
    cdef double *base = <double *>((<uintptr_t>&scratch[0] + 63) & ~(<uintptr_t>63))
    cdef double sums[2]
    with nogil:
        if csr:
            csr_pass(kind, data, indices, indptr, m, n, &w[0], b, y_ptr, sw_ptr, h_ptr,
                     h_ptr != NULL, &out[0], sums, n_chunks, base)
        else:
            csc_pass(kind, data, indices, indptr, m, n, &w[0], b, y_ptr, sw_ptr, h_ptr,
                     h_ptr != NULL, &out[0], sums, n_chunks, base)
    return sums[0], sums[1]


cdef tuple dispatch(int kind, w, double b, X, y, sw, h, out, int n_threads):
    """Check X and every length, choose the chunks, run the pass."""
    if kind != LOSS and h is None:
        raise ValueError("hessp and hessian_diagonal need h")
    cdef bint csr = validation.check_sparse_kernel(X, w, out, (y, sw, h))
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1]
    data, indices, indptr = X.data, X.indices, X.indptr
    cdef int n_chunks = <int>max(1, min(<Py_ssize_t>n_threads, m // MIN_CHUNK_SAMPLES))
    cdef Py_ssize_t size = 0  # CSR on one chunk: none
    if csr and n_chunks > 1:
        size = n_chunks * pad_lines(n + 2)
    elif not csr:
        size = (1 + (n_chunks if n_chunks > 1 else 0)) * pad_lines(m) + n_chunks * LINE_DOUBLES
    scratch = np.empty(size + LINE_DOUBLES)  # a line to spare: aligned in _run
    if n_chunks > 1:
        threads.started_threads()  # a fork from now on gets a serial child
    return _run(kind, csr, data, indices, indptr, m, n, w, b, y, sw, h, out, n_chunks,
                scratch)


def loss_gradient(w, double b, X, y, sw, grad, h=None, int n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two) at ``z = X w + b``: ``(Σ s L, Σ s dz)``.

    ``grad`` (float64, n_features) receives ``Σ s dz x``; ``h`` (float64, n_samples), if
    given, ``s σ(z)(1 - σ(z))``. ``w``, ``y`` (0 or 1) and ``sw`` are contiguous float64;
    ``sw=None``: unit weights (none read).
    """
    if y is None:
        raise ValueError("loss_gradient needs y")
    return dispatch(LOSS, w, b, X, y, sw, h, grad, n_threads)


def hessp(v, double vb, X, h, out, int n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two): ``out = Xᵀ(h ⊙ (X v + vb))``;
    returns ``(0.0, Σ h (X v + vb))``."""
    return dispatch(HESSP, v, vb, X, None, None, h, out, n_threads)


def hessian_diagonal(X, h, out, int n_threads=1):
    """One pass over the non-zeros of ``X``: ``out_j = Σ_i h_i X[i, j]²``, the diagonal of
    ``Xᵀ diag(h) X`` (newton-cg's preconditioner). Returns ``(0.0, 0.0)``."""
    return dispatch(DIAG, out, 0.0, X, None, None, h, out, n_threads)


# --------------------------------------------------------------------------- multinomial
#
# The K-class kernels of the contract (_numpy_model). W is read transposed, Wt (n, K), and
# the accumulators are (n, K) too: a stored entry x_ij touches K contiguous doubles.

cdef inline double mn_sample(bint loss, double *z, Py_ssize_t K, Py_ssize_t i,
                             const double *b, const double *Y, const double *sw,
                             double *P) noexcept nogil:
    """Sample ``i`` at the scores ``z`` (K, without ``b``), overwritten with its ``G_i =
    s (P_i − Y_i)`` (``P_i`` written if ``P`` is not NULL), returns ``s L_i``; the Hessian's
    (``loss`` false: ``b`` is ``vb``, ``P`` read): ``T_i = s P_i ⊙ (Zv_i − P_i·Zv_i)``, 0."""
    cdef Py_ssize_t k
    cdef double s = 1.0 if sw == NULL else sw[i]
    cdef double top = -INFINITY, total = 0.0, yz = 0.0, p, inv
    if not loss:
        for k in range(K):
            z[k] = z[k] + b[k]
            total = total + P[i * K + k] * z[k]
        for k in range(K):
            z[k] = s * P[i * K + k] * (z[k] - total)
        return 0.0
    for k in range(K):
        z[k] = z[k] + b[k]
        top = z[k] if z[k] > top else top  # a NaN score makes the row NaN below
        yz = yz + Y[i * K + k] * z[k]
    for k in range(K):
        z[k] = exp(z[k] - top)
        total = total + z[k]
    inv = 1.0 / total
    for k in range(K):
        p = z[k] * inv
        if P != NULL:
            P[i * K + k] = p
        z[k] = s * (p - Y[i * K + k])
    return s * ((top + log(total)) - yz)


cdef double mn_csr_rows(bint loss, const data_t[:] data, const index_t[:] indices,
                        const pointer_t[:] indptr, Py_ssize_t lo, Py_ssize_t hi,
                        Py_ssize_t n, Py_ssize_t K, const double *Wt, const double *b,
                        const double *Y, const double *sw, double *P, double *acc,
                        double *bsum, double *z) noexcept nogil:
    """Rows lo..hi: ``acc`` (n, K) = Σ G_i ⊗ x_i, ``bsum`` (K) = Σ G_i; returns Σ s L.
    ``z``: K doubles."""
    cdef Py_ssize_t i, k, p, start, end
    cdef double x, J = 0.0
    cdef const double *w
    cdef double *a
    memset(acc, 0, n * K * sizeof(double))
    memset(bsum, 0, K * sizeof(double))
    for i in range(lo, hi):
        start = indptr[i]
        end = indptr[i + 1]
        for k in range(K):
            z[k] = 0.0
        for p in range(start, end):
            x = data[p]
            w = Wt + <Py_ssize_t>indices[p] * K
            for k in range(K):
                z[k] = z[k] + x * w[k]
        J = J + mn_sample(loss, z, K, i, b, Y, sw, P)
        for k in range(K):
            bsum[k] += z[k]
        for p in range(start, end):
            x = data[p]
            a = acc + <Py_ssize_t>indices[p] * K
            for k in range(K):
                a[k] += z[k] * x
    return J


cdef double mn_csr_pass(bint loss, const data_t[:] data, const index_t[:] indices,
                        const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, Py_ssize_t K,
                        const double *Wt, const double *b, const double *Y,
                        const double *sw, double *P, double *out, int n_chunks,
                        double *scratch) noexcept nogil:
    """The CSR pass in ``n_chunks`` chunks of rows, each with its own accumulator in
    ``scratch`` (pad_lines((n + 2) K + 1) each: acc, bsum, loss, z), added in chunk order
    into ``out`` (K, n + 1). Returns Σ s L."""
    cdef Py_ssize_t size = pad_lines((n + 2) * K + 1), j, k, width = n + 1
    cdef double *base
    cdef double total
    cdef int c
    if n_chunks == 1:
        total = mn_csr_rows(loss, data, indices, indptr, 0, m, n, K, Wt, b, Y, sw, P,
                            scratch, scratch + n * K, scratch + n * K + K + 1)
        for j in range(n + 1):  # (n, K) → (K, n + 1)
            for k in range(K):
                out[k * width + j] = scratch[j * K + k]
        return total
    for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
        base = scratch + c * size
        base[n * K + K] = mn_csr_rows(
            loss, data, indices, indptr, split(indptr, m, c, n_chunks),
            split(indptr, m, c + 1, n_chunks), n, K, Wt, b, Y, sw, P, base, base + n * K,
            base + n * K + K + 1)
    for j in prange(n + 1, num_threads=n_chunks, schedule="static"):  # (n, K) → (K, n + 1)
        for k in range(K):
            total = 0.0
            for c in range(n_chunks):
                total = total + scratch[c * size + j * K + k]
            out[k * width + j] = total
    total = 0.0
    for c in range(n_chunks):
        total = total + scratch[c * size + n * K + K]
    return total


cdef void mn_csc_scatter(const data_t[:] data, const index_t[:] indices,
                         const pointer_t[:] indptr, Py_ssize_t lo, Py_ssize_t hi,
                         Py_ssize_t m, Py_ssize_t K, const double *Wt,
                         double *Z) noexcept nogil:
    """``Z`` (m, K) = Σ_j X[:, j] ⊗ W[:, j] over the columns lo..hi."""
    cdef Py_ssize_t j, k, p
    cdef double x
    cdef const double *w
    cdef double *zi
    memset(Z, 0, m * K * sizeof(double))
    for j in range(lo, hi):
        w = Wt + j * K
        for p in range(indptr[j], indptr[j + 1]):
            x = data[p]
            zi = Z + <Py_ssize_t>indices[p] * K
            for k in range(K):
                zi[k] += x * w[k]


cdef double mn_csc_samples(bint loss, double *G, const double *parts, Py_ssize_t stride,
                           int n_parts, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t K,
                           const double *b, const double *Y, const double *sw, double *P,
                           double *bsum) noexcept nogil:
    """Samples lo..hi: scores = Σ of the ``n_parts`` scattered parts (chunk order; none when
    0: ``G`` holds them) → ``G``'s rows; ``bsum`` (K) = Σ G_i; returns Σ s L."""
    cdef Py_ssize_t i, k
    cdef double J = 0.0
    cdef int c
    for k in range(K):
        bsum[k] = 0.0
    for i in range(lo, hi):
        if n_parts > 0:
            for k in range(K):
                G[i * K + k] = parts[i * K + k]
            for c in range(1, n_parts):
                for k in range(K):
                    G[i * K + k] = G[i * K + k] + parts[c * stride + i * K + k]
        J = J + mn_sample(loss, G + i * K, K, i, b, Y, sw, P)
        for k in range(K):
            bsum[k] += G[i * K + k]
    return J


cdef void mn_csc_gather(const data_t[:] data, const index_t[:] indices,
                        const pointer_t[:] indptr, Py_ssize_t lo, Py_ssize_t hi,
                        Py_ssize_t n, Py_ssize_t K, const double *G, double *out,
                        double *a) noexcept nogil:
    """``out[k, j] = Σ_i X[i, j] G[i, k]`` for the columns lo..hi; ``a``: K doubles."""
    cdef Py_ssize_t j, k, p
    cdef double x
    cdef const double *gi
    for j in range(lo, hi):
        for k in range(K):
            a[k] = 0.0
        for p in range(indptr[j], indptr[j + 1]):
            x = data[p]
            gi = G + <Py_ssize_t>indices[p] * K
            for k in range(K):
                a[k] = a[k] + x * gi[k]
        for k in range(K):
            out[k * (n + 1) + j] = a[k]


cdef double mn_csc_pass(bint loss, const data_t[:] data, const index_t[:] indices,
                        const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, Py_ssize_t K,
                        const double *Wt, const double *b, const double *Y,
                        const double *sw, double *P, double *out, int n_chunks,
                        double *scratch) noexcept nogil:
    """The CSC passes: scores scattered by chunks of columns (each into its own part), the
    softmax by chunks of samples, the gather by chunks of columns. ``scratch``: G
    (pad_lines(m K)), a block of pad_lines(2 K + 1) per chunk (bsum, loss, a), then the
    parts (pad_lines(m K) each) if n_chunks > 1. Returns Σ s L."""
    cdef Py_ssize_t size = pad_lines(m * K), line = pad_lines(2 * K + 1), k
    cdef double *G = scratch
    cdef double *blocks = scratch + size
    cdef double *parts = blocks + n_chunks * line
    cdef double *block
    cdef double total
    cdef int c
    if n_chunks == 1:
        mn_csc_scatter(data, indices, indptr, 0, n, m, K, Wt, G)
        blocks[K] = mn_csc_samples(loss, G, G, size, 0, 0, m, K, b, Y, sw, P, blocks)
        mn_csc_gather(data, indices, indptr, 0, n, n, K, G, out, blocks + K + 1)
    else:
        for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
            mn_csc_scatter(data, indices, indptr, split(indptr, n, c, n_chunks),
                           split(indptr, n, c + 1, n_chunks), m, K, Wt, parts + c * size)
        for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
            block = blocks + c * line
            block[K] = mn_csc_samples(loss, G, parts, size, n_chunks, c * m // n_chunks,
                                      (c + 1) * m // n_chunks, K, b, Y, sw, P, block)
        for c in prange(n_chunks, num_threads=n_chunks, schedule="static", chunksize=1):
            mn_csc_gather(data, indices, indptr, split(indptr, n, c, n_chunks),
                          split(indptr, n, c + 1, n_chunks), n, K, G, out,
                          blocks + c * line + K + 1)
    for k in range(K):  # the intercept's column, in chunk order
        total = 0.0
        for c in range(n_chunks):
            total = total + blocks[c * line + k]
        out[k * (n + 1) + n] = total
    total = 0.0
    for c in range(n_chunks):  # the loss
        total = total + blocks[c * line + K]
    return total


def _mn_run(bint loss, bint csr, const data_t[:] data, const index_t[:] indices,
            const pointer_t[:] indptr, Py_ssize_t m, Py_ssize_t n, const double[:, ::1] Wt,
            const double[::1] b, const double[:, ::1] Y, const double[::1] sw,
            const double[:, ::1] P, double[:, ::1] out, int n_chunks, double[::1] scratch):
    """One specialization per (data, indices, indptr) dtypes: the GIL released for the
    pass. ``P`` is written by the loss pass (checked writeable), read by the Hessian's."""
    cdef Py_ssize_t K = Wt.shape[1]
    cdef const double *Y_ptr = &Y[0, 0] if Y is not None else NULL
    cdef const double *sw_ptr = &sw[0] if sw is not None else NULL
    cdef double *P_ptr = <double *>&P[0, 0] if P is not None else NULL
    cdef double *base = <double *>((<uintptr_t>&scratch[0] + 63) & ~(<uintptr_t>63))
    cdef double result
    with nogil:
        if csr:
            result = mn_csr_pass(loss, data, indices, indptr, m, n, K, &Wt[0, 0], &b[0], Y_ptr,
                                 sw_ptr, P_ptr, &out[0, 0], n_chunks, base)
        else:
            result = mn_csc_pass(loss, data, indices, indptr, m, n, K, &Wt[0, 0], &b[0], Y_ptr,
                                 sw_ptr, P_ptr, &out[0, 0], n_chunks, base)
    return result


cdef object mn_dispatch(bint loss, W, b, X, Y, sw, P, out, int n_threads):
    """Check the arguments, choose the chunks, run the pass."""
    W, b, Y, sw, csr = validation.check_multinomial_kernel(W, b, X, Y, sw, out, P)
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1], K = W.shape[0]
    cdef int n_chunks = <int>max(1, min(<Py_ssize_t>n_threads, m // MIN_CHUNK_SAMPLES))
    cdef Py_ssize_t size
    if csr:
        size = n_chunks * pad_lines((n + 2) * K + 1)
    else:
        size = (1 + (n_chunks if n_chunks > 1 else 0)) * pad_lines(m * K) \
            + n_chunks * pad_lines(2 * K + 1)
    scratch = np.empty(size + LINE_DOUBLES)  # a line to spare: aligned in _mn_run
    if n_chunks > 1:
        threads.started_threads()  # a fork from now on gets a serial child
    Wt = np.ascontiguousarray(W.T)  # (n, K): a feature's K coefficients side by side
    return _mn_run(loss, csr, X.data, X.indices, X.indptr, m, n, Wt, b, Y, sw, P, out,
                   n_chunks, scratch)


def multinomial_loss_gradient(W, b, X, Y, sw, grad, P=None, int n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two) at ``Z = X Wᵀ + b``: returns
    ``Σ s L``, writes ``[Gᵀ X, Σ G]`` into ``grad`` (K, n_features + 1) and, if given, the
    softmax into ``P`` (n_samples, K); see :mod:`._numpy_model`."""
    if Y is None:
        raise ValueError("multinomial_loss_gradient needs Y")
    return mn_dispatch(True, W, b, X, Y, sw, P, grad, n_threads)


def multinomial_hessp(V, vb, X, P, sw, out, int n_threads=1):
    """One pass over the non-zeros of ``X`` (CSC: two): ``out = [Tᵀ X, Σ T]``,
    ``T = s P ⊙ (Zv − Σ_k P_k Zv_k)`` at ``Zv = X Vᵀ + vb`` (see :mod:`._numpy_model`)."""
    if P is None:
        raise ValueError("multinomial_hessp needs P")
    mn_dispatch(False, V, vb, X, None, sw, P, out, n_threads)
