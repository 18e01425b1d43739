/*
 * internal.h -- helpers shared by the cem C sources; not installed.
 */
#ifndef CEM_INTERNAL_H
#define CEM_INTERNAL_H

#include "cem.h"

/* MSVC spells C99's restrict __restrict unless compiling as C11 or later. */
#if defined(_MSC_VER) && !defined(__clang__) && (!defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L)
#define restrict __restrict
#endif

/* Rows per block of the fused pass: a block's rows, log-densities and
 * responsibilities stay in L1/L2 between the E-step and the accumulation. */
#define CEM_BLOCK_ROWS 64
/* Register tile of the block kernels: rows x columns (columns = two AVX2
 * vectors of doubles). CEM_BLOCK_ROWS must be a multiple of CEM_TILE_ROWS. */
#define CEM_TILE_ROWS 4
#define CEM_TILE_COLS 8
/* Up to this many features a block is stored rows-in-lanes (transposed). */
#define CEM_NARROW_MAX_D 4

/* Row length of a padded block: d rounded up to whole column tiles. */
static inline ptrdiff_t cem_padded(ptrdiff_t d)
{
    return (d + CEM_TILE_COLS - 1) / CEM_TILE_COLS * CEM_TILE_COLS;
}

/* The vectorisable inner loops (src_c/kernels.inc documents each), one
 * table per instruction set; cem_select_kernels() picks the best one the
 * running CPU supports. */
typedef struct {
    void (*block_diff)(const double *xb, ptrdiff_t nb8, ptrdiff_t ld, const double *mu_pad,
                       double *dif);
    void (*quad_full)(const double *dif, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t ld,
                      const double *up, double *q);
    void (*tri_product)(const double *dif, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t ld,
                        const double *up, double *y);
    void (*quad_diag)(const double *xb, ptrdiff_t nb8, ptrdiff_t ld, const double *mu_pad,
                      const double *p, double *q);
    void (*diag_moments)(const double *xb, const double *a, ptrdiff_t nb, ptrdiff_t ld,
                         const double *mu_pad, double *sx, double *sq);
    void (*syrk_lower)(const double *dif, const double *wdif, ptrdiff_t nb, ptrdiff_t d,
                       ptrdiff_t ld, double *s);
    void (*weighted_moments)(const double *dif, const double *a, ptrdiff_t nb, ptrdiff_t ld,
                             double *wdif, double *sx, double *sq);
    void (*row_max_t)(const double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                      double *mx);
    void (*exp_shifted_t)(double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                          const double *mx, double *s);
    void (*log_sum_t)(const double *mx, double *s, ptrdiff_t nb8, double *lse);
    void (*log_density_row)(const double *q, double base, ptrdiff_t nb8, double *l);
    void (*scale_rows_t)(double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                         const double *inv);
    void (*narrow_quad_full)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                             const double *mu, const double *u, double *q, double *y);
    void (*narrow_quad_diag)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                             const double *mu, const double *p, double *q);
    void (*narrow_moments)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                           const double *shift, const double *a, int pairs, double *sx,
                           double *sxx, double *dift);
    void (*sq_distances_t)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                           const double *centers, ptrdiff_t k, double *d2t);
} cem_kernels;

const cem_kernels *cem_select_kernels(void);

/* Element (i, j) of a data matrix as a double, whatever its dtype and strides. */
static inline double cem_load(const cem_data *data, ptrdiff_t i, ptrdiff_t j)
{
    const char *p = (const char *)data->x + i * data->row_stride + j * data->col_stride;
    return data->dtype == CEM_FLOAT64 ? *(const double *)p : (double)*(const float *)p;
}

/* Rows [i0, i0 + nb) as a block of rows of ld doubles, zero-padded to ld
 * columns and to nb8 = nb rounded up to whole row tiles: a pointer into
 * the data itself when it is already laid out so, else into buf, filled. */
const double *cem_load_block(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t ld,
                             double *buf);

/* Copy rows [i0, i0 + nb) transposed: out[j][r] with row stride `stride`,
 * rows nb .. nb8 zero (the narrow layout). */
void cem_load_block_t(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t stride,
                      double *out);

/* nb rounded up to 8 rows: whole row tiles, and whole 8-lane groups. */
static inline ptrdiff_t cem_round_rows(ptrdiff_t nb)
{
    return (nb + 7) / 8 * 8;
}

static inline double cem_row_weight(const cem_data *data, ptrdiff_t i)
{
    return data->sample_weight ? data->sample_weight[i] : 1.0;
}

static inline int cem_valid_covariance_type(int t)
{
    return t == CEM_FULL || t == CEM_TIED || t == CEM_DIAG || t == CEM_SPHERICAL;
}

/* CEM_OK if `data` is a well-formed matrix with `d` columns, else CEM_EINVAL. */
static inline int cem_check_data(const cem_data *data, ptrdiff_t d)
{
    if (data == NULL || data->n < 0 || data->d < 1 || data->d != d) {
        return CEM_EINVAL;
    }
    if (data->dtype != CEM_FLOAT64 && data->dtype != CEM_FLOAT32) {
        return CEM_EINVAL;
    }
    if (data->n > 0 && data->x == NULL) {
        return CEM_EINVAL;
    }
    return CEM_OK;
}

#endif /* CEM_INTERNAL_H */
