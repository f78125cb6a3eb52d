/* fastlr_simd_typed.h: the fused pass's primitives that read X, written once for any
 * element type. Deliberately no include guard: fastlr_simd.h includes this file once
 * per type, with FASTLR_T the element type of X and FASTLR_S the name suffix
 * (double/d, float/f); FASTLR_NAME(fastlr_sum) is then fastlr_sum_d or fastlr_sum_f.
 * Both macros are undefined at the end, ready for the next type. Include fastlr_simd.h,
 * not this file.
 *
 * Every function takes X at the first example of a tile, `count` examples, and the
 * strides of X in elements. X is widened to double as it is read: float X costs half
 * the bytes and is still accumulated in double. */
#if !defined(FASTLR_SIMD_H) || !defined(FASTLR_T) || !defined(FASTLR_S)
#error "include fastlr_simd.h, which defines FASTLR_T and FASTLR_S for each type"
#endif

/* z[k] = Σ_j w[j] x_k[j], x_k = X + k*s1 contiguous (F order). `sweep` examples
 * per pass over w (8, 4 or 1): 8 or 4 streams of X at once, w read once per group.
 * Each sum is kept in FASTLR_LANES lane-wise partial sums (one SIMD register; the lanes
 * loop vectorizes without a reduction clause) and its lanes added as a tree at the end:
 * with `omp simd reduction` gcc adds the lanes one after the other through the stack,
 * ~60 cycles per example, which made z the bottleneck for short (tall-X) examples. */
FASTLR_CLONES static void FASTLR_NAME(fastlr_z_columns)(
    const FASTLR_T *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict w, double *restrict z, int sweep)
{
    Py_ssize_t k = 0;
    const Py_ssize_t body = n_x - n_x % FASTLR_LANES;
    for (; sweep >= 8 && k + 8 <= count; k += 8) {
        const FASTLR_T *x0 = X + k * s1, *x1 = x0 + s1, *x2 = x1 + s1, *x3 = x2 + s1;
        const FASTLR_T *x4 = x3 + s1, *x5 = x4 + s1, *x6 = x5 + s1, *x7 = x6 + s1;
        double a0[FASTLR_LANES] = {0}, a1[FASTLR_LANES] = {0}, a2[FASTLR_LANES] = {0};
        double a3[FASTLR_LANES] = {0}, a4[FASTLR_LANES] = {0}, a5[FASTLR_LANES] = {0};
        double a6[FASTLR_LANES] = {0}, a7[FASTLR_LANES] = {0};
        for (Py_ssize_t j = 0; j < body; j += FASTLR_LANES) {
            FASTLR_PRAGMA(omp simd)
            for (int l = 0; l < FASTLR_LANES; l++) {
                double wj = w[j + l];
                a0[l] += wj * (double)x0[j + l]; a1[l] += wj * (double)x1[j + l];
                a2[l] += wj * (double)x2[j + l]; a3[l] += wj * (double)x3[j + l];
                a4[l] += wj * (double)x4[j + l]; a5[l] += wj * (double)x5[j + l];
                a6[l] += wj * (double)x6[j + l]; a7[l] += wj * (double)x7[j + l];
            }
        }
        double z0 = fastlr_lanes_sum(a0), z1 = fastlr_lanes_sum(a1);
        double z2 = fastlr_lanes_sum(a2), z3 = fastlr_lanes_sum(a3);
        double z4 = fastlr_lanes_sum(a4), z5 = fastlr_lanes_sum(a5);
        double z6 = fastlr_lanes_sum(a6), z7 = fastlr_lanes_sum(a7);
        for (Py_ssize_t j = body; j < n_x; j++) {
            double wj = w[j];
            z0 += wj * (double)x0[j]; z1 += wj * (double)x1[j];
            z2 += wj * (double)x2[j]; z3 += wj * (double)x3[j];
            z4 += wj * (double)x4[j]; z5 += wj * (double)x5[j];
            z6 += wj * (double)x6[j]; z7 += wj * (double)x7[j];
        }
        z[k] = z0; z[k + 1] = z1; z[k + 2] = z2; z[k + 3] = z3;
        z[k + 4] = z4; z[k + 5] = z5; z[k + 6] = z6; z[k + 7] = z7;
    }
    for (; sweep >= 4 && k + 4 <= count; k += 4) {
        const FASTLR_T *x0 = X + k * s1, *x1 = x0 + s1, *x2 = x1 + s1, *x3 = x2 + s1;
        double a0[FASTLR_LANES] = {0}, a1[FASTLR_LANES] = {0}, a2[FASTLR_LANES] = {0};
        double a3[FASTLR_LANES] = {0};
        for (Py_ssize_t j = 0; j < body; j += FASTLR_LANES) {
            FASTLR_PRAGMA(omp simd)
            for (int l = 0; l < FASTLR_LANES; l++) {
                double wj = w[j + l];
                a0[l] += wj * (double)x0[j + l]; a1[l] += wj * (double)x1[j + l];
                a2[l] += wj * (double)x2[j + l]; a3[l] += wj * (double)x3[j + l];
            }
        }
        double z0 = fastlr_lanes_sum(a0), z1 = fastlr_lanes_sum(a1);
        double z2 = fastlr_lanes_sum(a2), z3 = fastlr_lanes_sum(a3);
        for (Py_ssize_t j = body; j < n_x; j++) {
            double wj = w[j];
            z0 += wj * (double)x0[j]; z1 += wj * (double)x1[j];
            z2 += wj * (double)x2[j]; z3 += wj * (double)x3[j];
        }
        z[k] = z0; z[k + 1] = z1; z[k + 2] = z2; z[k + 3] = z3;
    }
    for (; k < count; k++) {
        const FASTLR_T *x0 = X + k * s1;
        double a0[FASTLR_LANES] = {0}, a1[FASTLR_LANES] = {0};  /* two chains */
        Py_ssize_t j = 0;
        for (; j + 2 * FASTLR_LANES <= n_x; j += 2 * FASTLR_LANES) {
            FASTLR_PRAGMA(omp simd)
            for (int l = 0; l < FASTLR_LANES; l++) {
                a0[l] += w[j + l] * (double)x0[j + l];
                a1[l] += w[j + FASTLR_LANES + l] * (double)x0[j + FASTLR_LANES + l];
            }
        }
        double z0 = fastlr_lanes_sum(a0) + fastlr_lanes_sum(a1);
        for (; j < n_x; j++) z0 += w[j] * (double)x0[j];
        z[k] = z0;
    }
}

/* dw[j] += Σ_k x_k[j] dz[k] (F order): eight, then four examples per sweep over dw */
FASTLR_CLONES static void FASTLR_NAME(fastlr_dw_columns)(
    const FASTLR_T *X, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict dz, double *restrict dw)
{
    Py_ssize_t k = 0;
    for (; k + 8 <= count; k += 8) {
        const FASTLR_T *x0 = X + k * s1, *x1 = x0 + s1, *x2 = x1 + s1, *x3 = x2 + s1;
        const FASTLR_T *x4 = x3 + s1, *x5 = x4 + s1, *x6 = x5 + s1, *x7 = x6 + s1;
        double d0 = dz[k], d1 = dz[k + 1], d2 = dz[k + 2], d3 = dz[k + 3];
        double d4 = dz[k + 4], d5 = dz[k + 5], d6 = dz[k + 6], d7 = dz[k + 7];
        FASTLR_PRAGMA(omp simd)
        for (Py_ssize_t j = 0; j < n_x; j++)
            dw[j] += ((double)x0[j] * d0 + (double)x1[j] * d1
                      + (double)x2[j] * d2 + (double)x3[j] * d3)
                   + ((double)x4[j] * d4 + (double)x5[j] * d5
                      + (double)x6[j] * d6 + (double)x7[j] * d7);
    }
    for (; k + 4 <= count; k += 4) {
        const FASTLR_T *x0 = X + k * s1, *x1 = x0 + s1, *x2 = x1 + s1, *x3 = x2 + s1;
        double d0 = dz[k], d1 = dz[k + 1], d2 = dz[k + 2], d3 = dz[k + 3];
        FASTLR_PRAGMA(omp simd)
        for (Py_ssize_t j = 0; j < n_x; j++)
            dw[j] += (double)x0[j] * d0 + (double)x1[j] * d1
                   + (double)x2[j] * d2 + (double)x3[j] * d3;
    }
    for (; k < count; k++) {
        const FASTLR_T *x0 = X + k * s1;
        double d0 = dz[k];
        FASTLR_PRAGMA(omp simd)
        for (Py_ssize_t j = 0; j < n_x; j++) dw[j] += (double)x0[j] * d0;
    }
}

/* z[k] = Σ_j w[j] X[j*s0 + k], rows contiguous (C order): four rows per sweep */
FASTLR_CLONES static void FASTLR_NAME(fastlr_z_rows)(
    const FASTLR_T *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict w, double *restrict z)
{
    for (Py_ssize_t k = 0; k < count; k++) z[k] = 0.0;
    Py_ssize_t j = 0;
    for (; j + 4 <= n_x; j += 4) {
        const FASTLR_T *r0 = X + j * s0, *r1 = r0 + s0, *r2 = r1 + s0, *r3 = r2 + s0;
        double w0 = w[j], w1 = w[j + 1], w2 = w[j + 2], w3 = w[j + 3];
        FASTLR_PRAGMA(omp simd)
        for (Py_ssize_t k = 0; k < count; k++)
            z[k] += w0 * (double)r0[k] + w1 * (double)r1[k]
                  + w2 * (double)r2[k] + w3 * (double)r3[k];
    }
    for (; j < n_x; j++) {
        const FASTLR_T *r0 = X + j * s0;
        double w0 = w[j];
        FASTLR_PRAGMA(omp simd)
        for (Py_ssize_t k = 0; k < count; k++) z[k] += w0 * (double)r0[k];
    }
}

/* dw[j] += Σ_k X[j*s0 + k] dz[k] (C order): four rows per sweep over dz */
FASTLR_CLONES static void FASTLR_NAME(fastlr_dw_rows)(
    const FASTLR_T *X, Py_ssize_t s0, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict dz, double *restrict dw)
{
    Py_ssize_t j = 0;
    for (; j + 4 <= n_x; j += 4) {
        const FASTLR_T *r0 = X + j * s0, *r1 = r0 + s0, *r2 = r1 + s0, *r3 = r2 + s0;
        double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
        FASTLR_PRAGMA(omp simd reduction(+:a0, a1, a2, a3))
        for (Py_ssize_t k = 0; k < count; k++) {
            double d = dz[k];
            a0 += (double)r0[k] * d;
            a1 += (double)r1[k] * d;
            a2 += (double)r2[k] * d;
            a3 += (double)r3[k] * d;
        }
        dw[j] += a0; dw[j + 1] += a1; dw[j + 2] += a2; dw[j + 3] += a3;
    }
    for (; j < n_x; j++) {
        const FASTLR_T *r0 = X + j * s0;
        double a0 = 0.0;
        FASTLR_PRAGMA(omp simd reduction(+:a0))
        for (Py_ssize_t k = 0; k < count; k++) a0 += (double)r0[k] * dz[k];
        dw[j] += a0;
    }
}

/* any strides (views such as X[::2, ::2]): plain loops */
static void FASTLR_NAME(fastlr_z_strided)(
    const FASTLR_T *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict w, double *restrict z)
{
    for (Py_ssize_t k = 0; k < count; k++) {
        double acc = 0.0;
        for (Py_ssize_t j = 0; j < n_x; j++) acc += w[j] * (double)X[j * s0 + k * s1];
        z[k] = acc;
    }
}

static void FASTLR_NAME(fastlr_dw_strided)(
    const FASTLR_T *X, Py_ssize_t s0, Py_ssize_t s1, Py_ssize_t n_x, Py_ssize_t count,
    const double *restrict dz, double *restrict dw)
{
    for (Py_ssize_t k = 0; k < count; k++)
        for (Py_ssize_t j = 0; j < n_x; j++) dw[j] += (double)X[j * s0 + k * s1] * dz[k];
}

/* Σ x[i], i < n (contiguous): one read of X, the floor a propagate can approach */
FASTLR_CLONES static double FASTLR_NAME(fastlr_sum)(const FASTLR_T *x, Py_ssize_t n)
{
    /* 32 partial sums (four AVX-512 registers): with one SIMD accumulator every vector
     * addition waits for the previous one, and the sum runs slower than the read */
    double s[32] = {0.0};
    Py_ssize_t i = 0;
    for (; i + 32 <= n; i += 32) {
        FASTLR_PRAGMA(omp simd)
        for (int k = 0; k < 32; k++) s[k] += (double)x[i + k];
    }
    double total = 0.0;
    for (; i < n; i++) total += (double)x[i];
    for (int k = 0; k < 32; k++) total += s[k];
    return total;
}

#undef FASTLR_T
#undef FASTLR_S
