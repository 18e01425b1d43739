/*
 * kernels.c -- compiles the block kernels (kernels.inc) once for the
 * baseline instruction set and, on x86-64 with GCC or Clang, once more for
 * AVX2 + FMA and once for AVX-512, and picks at run time the best one the
 * CPU supports (or the one the environment variable CEM_KERNELS names).
 * Also the block loader they all start from.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#if CEM_TILE_COLS != 8 || CEM_TILE_ROWS != 4
#error "kernels.inc is written for 4 x 8 register tiles"
#endif

/* GCC and Clang vector extensions give the register tiles explicit 4-double
 * vectors (AVX2 ymm registers in the AVX2 variant, SSE2 pairs in the
 * baseline); other compilers get the plain loops. */
#if defined(__GNUC__) || defined(__clang__)
#define CEM_VECTOR_EXT 1
typedef double cem_v4 __attribute__((vector_size(32)));
typedef double cem_v4u __attribute__((vector_size(32), aligned(8))); /* unaligned loads */
/* 8-double vectors: the AVX-512 variant's register tiles (zmm registers) */
typedef double cem_v8 __attribute__((vector_size(64)));
typedef double cem_v8u __attribute__((vector_size(64), aligned(8)));
#else
#define CEM_VECTOR_EXT 0
#endif

/* CEM_WIDE8: the variant has 8-double vector registers (kernels.inc then
 * uses 8 x 8 register tiles, each element summed in the same order as in
 * the 4 x 8 tiles, so every variant with FMA gives the same bits). */
#define CEM_WIDE8 0
#define CEM_FMA 0 /* the variant has fused multiply-adds (the compiler contracts a * b + c) */
#define CEM_TARGET
#define CEM_KERNEL(name) name##_baseline
#define CEM_KERNELS_NAME "baseline"
#include "kernels.inc"
#undef CEM_KERNELS_NAME
#undef CEM_KERNEL
#undef CEM_TARGET

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(CEM_NO_DISPATCH)
#define CEM_HAVE_AVX2_VARIANT 1
#undef CEM_FMA
#define CEM_FMA 1
#define CEM_TARGET __attribute__((target("avx2,fma")))
#define CEM_KERNEL(name) name##_avx2
#define CEM_KERNELS_NAME "avx2"
#include "kernels.inc"
#undef CEM_KERNELS_NAME
#undef CEM_KERNEL
#undef CEM_TARGET
#undef CEM_WIDE8
#define CEM_WIDE8 1
#define CEM_TARGET __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define CEM_KERNEL(name) name##_avx512
#define CEM_KERNELS_NAME "avx512"
#include "kernels.inc"
#undef CEM_KERNELS_NAME
#undef CEM_KERNEL
#undef CEM_TARGET
#endif

/* The variants, best first, and whether the running CPU has each one's
 * instructions (from the CPU model libgcc / compiler-rt fill in at start-up). */
static int cem_supported(const cem_kernels *table)
{
#ifdef CEM_HAVE_AVX2_VARIANT
    if (table == &table_avx512) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")
               && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2")
               && __builtin_cpu_supports("fma");
    }
    if (table == &table_avx2) {
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    }
#endif
    return table == &table_baseline;
}

const cem_kernels *cem_select_kernels(void)
{
    static const cem_kernels *const variants[] = {
#ifdef CEM_HAVE_AVX2_VARIANT
        &table_avx512, &table_avx2,
#endif
        &table_baseline};
    const ptrdiff_t n_variants = (ptrdiff_t)(sizeof variants / sizeof variants[0]);
    /* CEM_KERNELS=<name> forces a variant (tests run each one the CPU
     * supports); a name unknown or unsupported here is ignored. */
    const char *forced = getenv("CEM_KERNELS");
    for (ptrdiff_t v = 0; forced != NULL && v < n_variants; v++) {
        if (strcmp(forced, variants[v]->name) == 0 && cem_supported(variants[v])) {
            return variants[v];
        }
    }
    for (ptrdiff_t v = 0; v < n_variants; v++) {
        if (cem_supported(variants[v])) {
            return variants[v];
        }
    }
    return &table_baseline;
}

const char *cem_kernels_name(void)
{
    return cem_select_kernels()->name;
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

void cem_load_block_t(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t stride,
                      double *out)
{
    const ptrdiff_t d = data->d, nb8 = cem_round_rows(nb);
    const char *base = (const char *)data->x + i0 * data->row_stride;
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
