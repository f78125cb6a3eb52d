/* fastlr_simd.h: the inner loops of the fused pass (fastlr/backends/_cython.pyx), in C
 * because Cython cannot emit `#pragma omp simd`, and without it (or -ffast-math) gcc does
 * not vectorize a floating-point reduction.
 *
 * `#pragma omp simd reduction` lets the compiler keep several partial sums per reduction
 * in SIMD lanes (it is allowed to reorder those sums, and nothing else: no -ffast-math,
 * NaN/inf propagate). It needs -fopenmp or -fopenmp-simd; without them the loops are
 * correct and scalar.
 *
 * This header holds the common part (build switches, the activations); the primitives
 * that read X are written once in fastlr_simd_typed.h and included below twice, for
 * double X (names ending in _d) and float X (_f). The declarations Cython sees are in
 * the `cdef extern from "fastlr_simd.h"` block of _tiles.pxd: keep the two in step. */
#ifndef FASTLR_SIMD_H
#define FASTLR_SIMD_H

/* Py_ssize_t, the index type of the Cython declarations: the C signatures must match
 * them exactly. The Cython-generated C includes Python.h first anyway (then this is a
 * no-op); including it here makes the header compile on its own, e.g. in an editor. */
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* The SIMD functions are compiled three times (AVX-512, AVX2+FMA, baseline x86-64) and
 * the CPU's best is picked when the module loads (gcc `target_clones`), so a portable
 * build runs at full width without -march=native. Elsewhere: compiled once. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(FASTLR_NO_TARGET_CLONES)
#define FASTLR_CLONES \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FASTLR_CLONES
#endif
#define FASTLR_PRAGMA(text) _Pragma(#text)
#ifdef _OPENMP
#define FASTLR_OPENMP 1
#else
#define FASTLR_OPENMP 0
#endif

/* FASTLR_NAME(fastlr_sum) is fastlr_sum_d while FASTLR_S is d: two levels, so that
 * FASTLR_S is expanded before it is pasted. */
#define FASTLR_PASTE_(name, suffix) name##_##suffix
#define FASTLR_PASTE(name, suffix) FASTLR_PASTE_(name, suffix)
#define FASTLR_NAME(name) FASTLR_PASTE(name, FASTLR_S)


/* The lane-wise partial sums of a dot product (fastlr_z_columns), added as a tree */
#define FASTLR_LANES 8
static inline double fastlr_lanes_sum(const double *a)
{ return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7])); }


/* The activations of a tile, SIMD: exp and log1p as branch-free polynomials (libm
 * calls do not vectorize). Accurate to a couple of ulps; NaN in, NaN out. */
#define FASTLR_ROUNDER 6755399441055744.0  /* 1.5 * 2^52: t + it - it rounds t */
static inline double fastlr_bits_to_double(uint64_t bits)
{ double d; memcpy(&d, &bits, sizeof d); return d; }
static inline uint64_t fastlr_double_to_bits(double d)
{ uint64_t bits; memcpy(&bits, &d, sizeof bits); return bits; }
/* 2^k for an integral double k in [-1022, 1023], from its bits */
static inline double fastlr_pow2(double k)
{
    double biased = (k + 1023.0) + FASTLR_ROUNDER;  /* low bits hold k + 1023 */
    uint64_t e = fastlr_double_to_bits(biased) - fastlr_double_to_bits(FASTLR_ROUNDER);
    return fastlr_bits_to_double(e << 52);
}
/* e^x for x <= 0 (or NaN). x = k ln2 + r, |r| <= ln2/2 (Cody-Waite: k LN2_HI is
 * exact); e^r by its Taylor polynomial to r^13 (truncation < 1e-17); 2^k in two
 * factors so that results down to the subnormal range are right. */
static inline double fastlr_exp_nonpositive(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    x = x < -746.0 ? -746.0 : x;  /* e^-746 rounds to 0 already; NaN stays NaN */
    double k = (x * 1.44269504088896338700 + FASTLR_ROUNDER) - FASTLR_ROUNDER;
    k = k == k ? k : 0.0;  /* NaN: any k, the result is NaN through r */
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    double k1 = (k * 0.5 + FASTLR_ROUNDER) - FASTLR_ROUNDER;  /* k in [-1077, 0] */
    return (p * fastlr_pow2(k1)) * fastlr_pow2(k - k1);
}
/* log(1 + e) for 0 <= e <= 1 (or NaN). u = 1 + e rounded, c the first-order effect
 * of its rounding error; u = 2^k f, f in [1/sqrt2, sqrt2]; log f = 2 atanh(s),
 * s = (f - 1)/(f + 1), |s| < 0.172, by its series to s^23 (truncation < 1e-18). */
static inline double fastlr_log1p_unit(double e)
{
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    double u = 1.0 + e;
    double c = (e - (u - 1.0)) / u;  /* exact rounding error of u, over u */
    int big = u > 1.41421356237309504880;
    double f = big ? u * 0.5 : u;
    double k = big ? 1.0 : 0.0;
    double s = (f - 1.0) / (f + 1.0), s2 = s * s;
    double q = 1.0 / 23.0;
    q = q * s2 + 1.0 / 21.0;
    q = q * s2 + 1.0 / 19.0;
    q = q * s2 + 1.0 / 17.0;
    q = q * s2 + 1.0 / 15.0;
    q = q * s2 + 1.0 / 13.0;
    q = q * s2 + 1.0 / 11.0;
    q = q * s2 + 1.0 / 9.0;
    q = q * s2 + 1.0 / 7.0;
    q = q * s2 + 1.0 / 5.0;
    q = q * s2 + 1.0 / 3.0;
    double log_f = 2.0 * s + 2.0 * s * s2 * q;
    return k * ln2_hi + ((k * ln2_lo + c) + log_f);
}
/* Unit weights (the course's pass), for k < count: zk = z[k] + b, dz[k] = σ(zk) - y[k];
 * sums += (Σ L, Σ dz) with the stable L = (max(zk, 0) - y zk) + log1p(e^-|zk|), the
 * cancelling terms grouped first (exact for y in {0, 1}: y = 1, large zk keeps its digits) */
FASTLR_CLONES static void fastlr_activate(
    const double *restrict z, const double *restrict y, Py_ssize_t count, double b,
    double *restrict dz, double *restrict sums)
{
    double J = 0.0, db = 0.0;
    FASTLR_PRAGMA(omp simd reduction(+:J, db))
    for (Py_ssize_t k = 0; k < count; k++) {
        double zk = z[k] + b;
        double e = fastlr_exp_nonpositive(-fabs(zk));  /* in (0, 1]: never overflows */
        double a = (zk >= 0.0 ? 1.0 : e) / (1.0 + e);
        double d = a - y[k];
        dz[k] = d;
        J += ((zk > 0.0 ? zk : 0.0) - y[k] * zk) + fastlr_log1p_unit(e);
        db += d;
    }
    sums[0] += J;
    sums[1] += db;
}

/* The estimator's activations (its kernels in _cython.pyx), for k < count: zk = z[k] + b,
 * s = sw[k] (a sample weight), labels y[k] in {0, 1}: dz[k] = s (σ(zk) - y[k]) and
 * h[k] = s σ(zk)(1 - σ(zk)) = s e/(1 + e)^2, the Hessian's weight; sums += (Σ s L, Σ dz) */
FASTLR_CLONES static void fastlr_activate_weighted(
    const double *restrict z, const double *restrict y, const double *restrict sw,
    Py_ssize_t count, double b, double *restrict dz, double *restrict h,
    double *restrict sums)
{
    double J = 0.0, db = 0.0;
    FASTLR_PRAGMA(omp simd reduction(+:J, db))
    for (Py_ssize_t k = 0; k < count; k++) {
        double zk = z[k] + b, s = sw[k];
        double e = fastlr_exp_nonpositive(-fabs(zk));
        double u = 1.0 / (1.0 + e);
        double a = zk >= 0.0 ? u : e * u;
        double d = s * (a - y[k]);
        dz[k] = d;
        h[k] = s * (e * u) * u;
        J += s * (((zk > 0.0 ? zk : 0.0) - y[k] * zk) + fastlr_log1p_unit(e));
        db += d;
    }
    sums[0] += J;
    sums[1] += db;
}
/* The Hessian-vector product's middle step, for k < count: dz[k] = h[k] (z[k] + vb);
 * sums[1] += Σ dz */
FASTLR_CLONES static void fastlr_hess_weight(
    const double *restrict z, const double *restrict h, Py_ssize_t count, double vb,
    double *restrict dz, double *restrict sums)
{
    double db = 0.0;
    FASTLR_PRAGMA(omp simd reduction(+:db))
    for (Py_ssize_t k = 0; k < count; k++) {
        double d = h[k] * (z[k] + vb);
        dz[k] = d;
        db += d;
    }
    sums[1] += db;
}


/* The primitives that read X, once per element type: fastlr_z_columns_d, ..._f,
 * fastlr_dw_columns_*, fastlr_z_rows_*, fastlr_dw_rows_*, fastlr_z_strided_*,
 * fastlr_dw_strided_*, fastlr_sum_*. */
#define FASTLR_T double
#define FASTLR_S d
#include "fastlr_simd_typed.h"

#define FASTLR_T float
#define FASTLR_S f
#include "fastlr_simd_typed.h"

#endif /* FASTLR_SIMD_H */
