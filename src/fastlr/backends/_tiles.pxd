# cython: language_level=3
"""What the one pass of ``_cython.pyx`` is built on: the SIMD primitives of fastlr_simd.h,
the tile plan of a pass over X and the two steps of a tile (``z = Xᵀw``, ``dw += X dz``).

A pass over X (course layout: X of shape (n_x, m), example k in column k; strides s0
between features, s1 between examples, in elements) goes tile by tile: a tile's ``z``, then
its activations, then its ``X dz`` while the tile is still in cache: the estimator's pass
(weights, Hessian), which also serves the course's cost (unit weights, scikit-learn's Xᵀ).
"""

ctypedef fused floating:
    float
    double

cdef extern from "fastlr_simd.h":  # the fused pass's inner loops (why C: see the header)
    const int FASTLR_OPENMP
    void fastlr_z_columns_d(const double *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
                            const double *w, double *z, int sweep) noexcept nogil
    void fastlr_z_columns_f(const float *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
                            const double *w, double *z, int sweep) noexcept nogil
    void fastlr_dw_columns_d(const double *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
                             const double *dz, double *dw) noexcept nogil
    void fastlr_dw_columns_f(const float *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
                             const double *dz, double *dw) noexcept nogil
    void fastlr_z_rows_d(const double *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
                         const double *w, double *z) noexcept nogil
    void fastlr_z_rows_f(const float *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
                         const double *w, double *z) noexcept nogil
    void fastlr_dw_rows_d(const double *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
                          const double *dz, double *dw) noexcept nogil
    void fastlr_dw_rows_f(const float *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
                          const double *dz, double *dw) noexcept nogil
    void fastlr_z_strided_d(const double *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x,
                            Py_ssize_t count, const double *w, double *z) noexcept nogil
    void fastlr_z_strided_f(const float *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x,
                            Py_ssize_t count, const double *w, double *z) noexcept nogil
    void fastlr_dw_strided_d(const double *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x,
                             Py_ssize_t count, const double *dz, double *dw) noexcept nogil
    void fastlr_dw_strided_f(const float *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x,
                             Py_ssize_t count, const double *dz, double *dw) noexcept nogil
    void fastlr_activate(const double *z, const double *y, Py_ssize_t count, double b,
                         double *dz, double *sums) noexcept nogil
    double fastlr_exp_nonpositive(double x) noexcept nogil
    double fastlr_log1p_unit(double e) noexcept nogil
    double fastlr_sum_d(const double *x, Py_ssize_t n) noexcept nogil
    double fastlr_sum_f(const float *x, Py_ssize_t n) noexcept nogil
    void fastlr_activate_weighted(const double *z, const double *y, const double *sw,
                                  Py_ssize_t count, double b, double *dz, double *h,
                                  double *sums) noexcept nogil
    void fastlr_hess_weight(const double *z, const double *h, Py_ssize_t count, double vb,
                            double *dz, double *sums) noexcept nogil

cdef enum:
    # layouts of X
    COLUMNS = 0   # each example contiguous (s0 == 1): the course's F order, sklearn's C
    ROWS = 1      # each feature contiguous (s1 == 1)
    STRIDED = 2   # any other strides (views such as X[::2, ::2]): plain loops
    # The tiles, chosen by measurement (on a core with 1 MiB of L2).
    # COLUMNS: examples of at least WIDE_BYTES are read WIDE_SWEEP at a time, side by side
    # (w read and dw written once per WIDE_SWEEP examples); shorter examples one after the
    # other, TALL_TILE per tile, dw from L1 (several short streams side by side defeat the
    # hardware prefetcher).
    WIDE_BYTES = 8 * 1024
    WIDE_SWEEP = 8
    TALL_TILE = 16
    # ROWS: blocks of about ROW_BLOCK_BYTES, ROW_BLOCK_MIN..TILE_MAX examples (long
    # contiguous row segments matter more than the block staying in L2)
    ROW_BLOCK_BYTES = 2 * 1024 * 1024
    ROW_BLOCK_MIN = 256
    TILE_MAX = 4096  # z and dz of a tile live in scratch memory, not on a thread's stack
    STRIDED_TILE = 64
    # each chunk's dw starts on its own cache line (no false sharing between threads)
    LINE_DOUBLES = 8


cdef struct Plan:
    int layout
    int sweep         # COLUMNS: examples per pass over w
    Py_ssize_t tile   # examples per tile


cdef inline Py_ssize_t tile_max(Py_ssize_t m) noexcept nogil:
    """Doubles in one thread's z (and dz) buffer: no tile is longer than TILE_MAX or m."""
    return min(<Py_ssize_t>TILE_MAX, m)


cdef inline Py_ssize_t pad_lines(Py_ssize_t n) noexcept nogil:
    """``n`` rounded up to whole cache lines of doubles."""
    return (n + LINE_DOUBLES - 1) // LINE_DOUBLES * LINE_DOUBLES


cdef inline Plan plan_tiles(Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x,
                            Py_ssize_t itemsize) noexcept nogil:
    """How a pass reads X of these strides: its layout and tile."""
    cdef Plan plan
    cdef Py_ssize_t row_bytes = n_x * itemsize  # bytes of one example
    plan.sweep = 1
    if s0 == 1 and (s1 != 1 or n_x > 1):
        plan.layout = COLUMNS
        if row_bytes >= WIDE_BYTES:
            plan.sweep = WIDE_SWEEP
            plan.tile = WIDE_SWEEP
        else:
            plan.tile = TALL_TILE
    elif s1 == 1:
        plan.layout = ROWS
        plan.tile = max(<Py_ssize_t>ROW_BLOCK_MIN,
                        min(<Py_ssize_t>TILE_MAX, ROW_BLOCK_BYTES // row_bytes))
    else:
        plan.layout = STRIDED
        plan.tile = STRIDED_TILE
    return plan


cdef inline void z_tile(const floating *origin, Py_ssize_t s0, Py_ssize_t s1,
                        Py_ssize_t n_x, Py_ssize_t count, Plan plan, const double *w,
                        double *z) noexcept nogil:
    """``z[k] = Σ_j w[j] x_k[j]`` for the ``count`` examples from ``origin``."""
    if plan.layout == COLUMNS:
        if floating is double:
            fastlr_z_columns_d(origin, s1, n_x, count, w, z, plan.sweep)
        else:
            fastlr_z_columns_f(origin, s1, n_x, count, w, z, plan.sweep)
    elif plan.layout == ROWS:
        if floating is double:
            fastlr_z_rows_d(origin, s0, n_x, count, w, z)
        else:
            fastlr_z_rows_f(origin, s0, n_x, count, w, z)
    else:
        if floating is double:
            fastlr_z_strided_d(origin, s0, s1, n_x, count, w, z)
        else:
            fastlr_z_strided_f(origin, s0, s1, n_x, count, w, z)


cdef inline void dw_tile(const floating *origin, Py_ssize_t s0, Py_ssize_t s1,
                         Py_ssize_t n_x, Py_ssize_t count, Plan plan, const double *dz,
                         double *dw) noexcept nogil:
    """``dw[j] += Σ_k x_k[j] dz[k]`` for the ``count`` examples from ``origin``."""
    if plan.layout == COLUMNS:
        if floating is double:
            fastlr_dw_columns_d(origin, s1, n_x, count, dz, dw)
        else:
            fastlr_dw_columns_f(origin, s1, n_x, count, dz, dw)
    elif plan.layout == ROWS:
        if floating is double:
            fastlr_dw_rows_d(origin, s0, n_x, count, dz, dw)
        else:
            fastlr_dw_rows_f(origin, s0, n_x, count, dz, dw)
    else:
        if floating is double:
            fastlr_dw_strided_d(origin, s0, s1, n_x, count, dz, dw)
        else:
            fastlr_dw_strided_f(origin, s0, s1, n_x, count, dz, dw)
