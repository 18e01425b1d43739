/*
 * kernels.c -- compiles the block kernels (kernels.inc, and k-means's
 * kmeans_kernels.inc, through kernels_variant.inc) once for the baseline
 * instruction set and, on x86-64 with GCC or Clang, once more for AVX2 +
 * FMA and once for AVX-512, and picks at run time the best one the CPU
 * supports (or the one the environment variable CEM_KERNELS names). Also
 * the block loaders they all start from, and the scan of the data for
 * values that are not finite.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "exp_log_tables.h"
#include "internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(CEM_NO_DISPATCH)
/* the AVX2 and AVX-512 variants' gathers and fused multiply-adds (each
 * used only inside functions compiled for those instruction sets) */
#include <immintrin.h>
#endif

#if CEM_TILE_COLS != 8 || CEM_TILE_ROWS != 4
#error "kernels.inc is written for 4 x 8 register tiles"
#endif

/* GCC and Clang vector extensions give the register tiles explicit 4-double
 * vectors (AVX2 ymm registers in the AVX2 variant, SSE2 or NEON pairs in
 * clang's baseline; GCC's baseline takes the plain loops, see
 * CEM_TILE_VECTORS); other compilers get the plain loops, and so does a
 * build with -DCEM_NO_VECTOR_EXT (with -DCEM_NO_DISPATCH: MSVC's kernels,
 * which .ci/run tests that way). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(CEM_NO_VECTOR_EXT)
#define CEM_VECTOR_EXT 1
typedef double cem_v4 __attribute__((vector_size(32)));
typedef double cem_v4u __attribute__((vector_size(32), aligned(8))); /* unaligned loads */
/* The fused narrow pass's vectors, CEM_LANES doubles, one native register
 * of each variant (CEM_VN, CEM_VNU unaligned, CEM_IN and CEM_UN the 64-bit
 * integers of the same shape): 2 (SSE2), 4 (AVX2), 8 (AVX-512); and the
 * rows it interleaves per step, CEM_STEP_ROWS (a multiple of 8 dividing
 * CEM_NARROW_BLOCK_ROWS; the fastest on a Xeon with AVX-512, 2026). */
typedef double cem_v2 __attribute__((vector_size(16)));
typedef double cem_v2u __attribute__((vector_size(16), aligned(8)));
typedef int64_t cem_i2 __attribute__((vector_size(16)));
typedef int64_t cem_i2u __attribute__((vector_size(16), aligned(8)));
typedef uint64_t cem_u2 __attribute__((vector_size(16)));
typedef int64_t cem_i4 __attribute__((vector_size(32)));
typedef int64_t cem_i4u __attribute__((vector_size(32), aligned(8)));
typedef uint64_t cem_u4 __attribute__((vector_size(32)));
typedef double cem_v8 __attribute__((vector_size(64)));
typedef double cem_v8u __attribute__((vector_size(64), aligned(8)));
typedef int64_t cem_i8 __attribute__((vector_size(64)));
typedef int64_t cem_i8u __attribute__((vector_size(64), aligned(8)));
typedef uint64_t cem_u8 __attribute__((vector_size(64)));
#else
#define CEM_VECTOR_EXT 0
#endif
#if defined(__GNUC__) && !defined(__clang__)
/* The 8-lane helpers of kernels.inc take and return 64-byte vectors; they
 * are always inlined, so no call ever uses the ABI GCC warns about. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* CEM_WIDE8: the variant has 8-double vector registers (kernels.inc then
 * uses 8 x 8 register tiles for the wide kernels, each element summed in
 * the same order as in the 4 x 8 tiles, so every variant with FMA gives the
 * same bits). CEM_FMA: the variant has fused multiply-adds (the compiler
 * contracts a * b + c). */
#define CEM_WIDE8 0
#define CEM_FMA 0
/* CEM_TILE_VECTORS: the register tiles' 4-double vectors (cem_v4) live in
 * registers. Clang splits them into the target's own vectors; GCC keeps a
 * vector wider than the target's registers in memory and builds every
 * broadcast through the stack, so its baseline variant (SSE2 on x86-64,
 * NEON on aarch64 alike) takes the plain loops there instead, which it
 * vectorises itself. Measured (Xeon, GCC 12, baseline variant, ns per row):
 * the full E-step at d = k = 16 9,215 -> 1,129 (AVX2: 428), a k = 8 Lloyd
 * step 137 -> 54, a k-means++ pass 82 -> 20 (README: Performance). */
#if CEM_VECTOR_EXT && (defined(__clang__) || defined(__AVX__))
#define CEM_TILE_VECTORS 1
#else
#define CEM_TILE_VECTORS 0
#endif
#define CEM_TARGET
#define CEM_KERNEL(name) name##_baseline
#define CEM_KERNEL_NAME "baseline"
#define CEM_LANES 2
#define CEM_STEP_ROWS 32
#define CEM_VN cem_v2
#define CEM_VNU cem_v2u
#define CEM_IN cem_i2
#define CEM_INU cem_i2u
#define CEM_UN cem_u2
#include "kernels_variant.inc"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(CEM_NO_DISPATCH)
#define CEM_HAVE_AVX2_VARIANT 1
#undef CEM_FMA
#define CEM_FMA 1
#undef CEM_TILE_VECTORS
#define CEM_TILE_VECTORS 1
#define CEM_TARGET __attribute__((target("avx2,fma")))
#define CEM_KERNEL(name) name##_avx2
#define CEM_KERNEL_NAME "avx2"
#define CEM_LANES 4
#define CEM_STEP_ROWS 32
#define CEM_VN cem_v4
#define CEM_VNU cem_v4u
#define CEM_IN cem_i4
#define CEM_INU cem_i4u
#define CEM_UN cem_u4
#include "kernels_variant.inc"
/* AVX-512 (F, DQ, VL): the same source, 8-lane vectors in one register.
 * FMA contracts the same expressions as in the AVX2 variant, so the two
 * give the same bits. */
#undef CEM_WIDE8
#define CEM_WIDE8 1
#define CEM_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define CEM_KERNEL(name) name##_avx512
#define CEM_KERNEL_NAME "avx512"
#define CEM_LANES 8
#define CEM_STEP_ROWS 64
#define CEM_VN cem_v8
#define CEM_VNU cem_v8u
#define CEM_IN cem_i8
#define CEM_INU cem_i8u
#define CEM_UN cem_u8
#include "kernels_variant.inc"
#endif

/* Whether the running CPU has a variant's instructions. */
static int cem_supported(const cem_kernels *t)
{
#ifdef CEM_HAVE_AVX2_VARIANT
    /* reads the CPU model libgcc / compiler-rt filled in at start-up */
    if (t == &table_avx512) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
    }
    if (t == &table_avx2) {
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
#endif
    return t == &table_baseline;
}

const cem_kernels *cem_select_kernels(void)
{
    static const cem_kernels *const tables[] = {
#ifdef CEM_HAVE_AVX2_VARIANT
        &table_avx512, &table_avx2,
#endif
        &table_baseline};
    const ptrdiff_t n_tables = (ptrdiff_t)(sizeof tables / sizeof tables[0]);
    /* CEM_KERNELS=baseline|avx2|avx512 forces a variant the CPU supports
     * (tests run each one; results of avx2 and avx512 are the same bits) */
    const char *forced = getenv("CEM_KERNELS");
    for (ptrdiff_t i = 0; forced != NULL && i < n_tables; i++) {
        if (strcmp(forced, tables[i]->name) == 0 && cem_supported(tables[i])) {
            return tables[i];
        }
    }
    for (ptrdiff_t i = 0; i < n_tables; i++) {
        if (cem_supported(tables[i])) {
            return tables[i];
        }
    }
    return &table_baseline;
}

int cem_kernels_supported(const char *name)
{
#ifdef CEM_HAVE_AVX2_VARIANT
    if (strcmp(name, "avx512") == 0) {
        return cem_supported(&table_avx512);
    }
    if (strcmp(name, "avx2") == 0) {
        return cem_supported(&table_avx2);
    }
#endif
    return strcmp(name, "baseline") == 0;
}

void cem_load_block_t(const cem_kernels *kern, const cem_data *data, ptrdiff_t i0,
                      ptrdiff_t nb, ptrdiff_t stride, double *out)
{
    const ptrdiff_t d = data->d, nb8 = cem_round_rows(nb);
    const char *base = (const char *)data->x + i0 * data->row_stride;
    cem_prefetch_rows(data, i0 + nb, nb); /* the next block's rows */
    if (cem_rows_direct(data)) { /* the padding rows are zeroed there too */
        kern->load_rows_t((const double *)base, data->row_stride / (ptrdiff_t)sizeof(double), nb,
                          d, stride, out);
        return;
    }
    /* rows outside, columns inside: reads stay sequential in row-major data */
    if (data->dtype == CEM_FLOAT64 && data->col_stride == (ptrdiff_t)sizeof(double)) {
        for (ptrdiff_t r = 0; r < nb; r++) {
            const double *row = (const double *)(base + r * data->row_stride);
            for (ptrdiff_t j = 0; j < d; j++) {
                out[j * stride + r] = row[j];
            }
        }
    } else if (data->dtype == CEM_FLOAT32 && data->col_stride == (ptrdiff_t)sizeof(float)) {
        for (ptrdiff_t r = 0; r < nb; r++) {
            const float *row = (const float *)(base + r * data->row_stride);
            for (ptrdiff_t j = 0; j < d; j++) {
                out[j * stride + r] = (double)row[j];
            }
        }
    } else {
        for (ptrdiff_t j = 0; j < d; j++) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                out[j * stride + r] = cem_load(data, i0 + r, j);
            }
        }
    }
    for (ptrdiff_t j = 0; j < d; j++) {
        for (ptrdiff_t r = nb; r < nb8; r++) {
            out[j * stride + r] = 0.0;
        }
    }
}

const double *cem_load_block(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t ld,
                             double *buf)
{
    const ptrdiff_t d = data->d;
    const ptrdiff_t nb8 = cem_round_rows(nb);
    const char *base = (const char *)data->x + i0 * data->row_stride;
    /* C-contiguous float64 rows already in the padded layout: read in place.
     * Only when d == ld: with d < ld the padding columns would be read from
     * whatever lies beside the matrix (a column view's neighbours, or past
     * the end of the buffer on the last row). */
    if (data->dtype == CEM_FLOAT64 && d == ld && data->col_stride == (ptrdiff_t)sizeof(double)
        && data->row_stride == ld * (ptrdiff_t)sizeof(double) && nb == nb8) {
        return (const double *)base;
    }
    for (ptrdiff_t r = 0; r < nb; r++) {
        const char *row = base + r * data->row_stride;
        double *o = buf + r * ld;
        if (data->dtype == CEM_FLOAT64 && data->col_stride == (ptrdiff_t)sizeof(double)) {
            const double *f = (const double *)row;
            for (ptrdiff_t j = 0; j < d; j++) {
                o[j] = f[j];
            }
        } else if (data->dtype == CEM_FLOAT32 && data->col_stride == (ptrdiff_t)sizeof(float)) {
            const float *f = (const float *)row;
            for (ptrdiff_t j = 0; j < d; j++) {
                o[j] = (double)f[j];
            }
        } else {
            for (ptrdiff_t j = 0; j < d; j++) {
                o[j] = cem_load(data, i0 + r, j);
            }
        }
        for (ptrdiff_t j = d; j < ld; j++) {
            o[j] = 0.0;
        }
    }
    for (ptrdiff_t r = nb; r < nb8; r++) {
        memset(buf + r * ld, 0, (size_t)ld * sizeof(double));
    }
    return buf;
}

/* x * 0 is 0 for finite x and NaN for an infinity or a NaN, so a sum of
 * them is 0 exactly when all are finite: a loop without branches, in 8
 * independent sums so that it vectorises and is bounded by memory. */
#define CEM_FINITE_LANES 8

static int contiguous_finite(const char *base, ptrdiff_t count, int dtype)
{
    double acc[CEM_FINITE_LANES] = {0.0};
    ptrdiff_t i = 0;
    if (dtype == CEM_FLOAT64) {
        const double *x = (const double *)base;
        for (; i + CEM_FINITE_LANES <= count; i += CEM_FINITE_LANES) {
            for (int t = 0; t < CEM_FINITE_LANES; t++) {
                acc[t] += x[i + t] * 0.0;
            }
        }
        for (; i < count; i++) {
            acc[0] += x[i] * 0.0;
        }
    } else {
        const float *x = (const float *)base;
        float accf[CEM_FINITE_LANES] = {0.0f};
        for (; i + CEM_FINITE_LANES <= count; i += CEM_FINITE_LANES) {
            for (int t = 0; t < CEM_FINITE_LANES; t++) {
                accf[t] += x[i + t] * 0.0f;
            }
        }
        for (; i < count; i++) {
            accf[0] += x[i] * 0.0f;
        }
        for (int t = 0; t < CEM_FINITE_LANES; t++) {
            acc[t] = (double)accf[t];
        }
    }
    double total = 0.0;
    for (int t = 0; t < CEM_FINITE_LANES; t++) {
        total += acc[t];
    }
    return total == 0.0;
}

int cem_rows_finite(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb)
{
    const ptrdiff_t d = data->d;
    const ptrdiff_t size = data->dtype == CEM_FLOAT64 ? (ptrdiff_t)sizeof(double)
                                                      : (ptrdiff_t)sizeof(float);
    const char *base = (const char *)data->x + i0 * data->row_stride;
    if (nb <= 0) {
        return 1;
    }
    if (data->col_stride == size && data->row_stride == d * size) { /* one run of values */
        return contiguous_finite(base, nb * d, data->dtype);
    }
    if (data->col_stride == size) { /* rows of contiguous values */
        int ok = 1;
        for (ptrdiff_t r = 0; r < nb; r++) {
            ok &= contiguous_finite(base + r * data->row_stride, d, data->dtype);
        }
        return ok;
    }
    double acc = 0.0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        for (ptrdiff_t j = 0; j < d; j++) {
            acc += cem_load(data, i0 + r, j) * 0.0;
        }
    }
    return acc == 0.0;
}
