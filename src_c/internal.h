/*
 * internal.h -- helpers shared by the cem C sources; not installed.
 */
#ifndef CEM_INTERNAL_H
#define CEM_INTERNAL_H

#include "cem.h"

/* Rows per block of the fused pass: a block's rows, log-densities and
 * responsibilities stay in L1/L2 between the E-step and the accumulation. */
#define CEM_BLOCK_ROWS 64

/* Element (i, j) of a data matrix as a double, whatever its dtype and strides. */
static inline double cem_load(const cem_data *data, ptrdiff_t i, ptrdiff_t j)
{
    const char *p = (const char *)data->x + i * data->row_stride + j * data->col_stride;
    return data->dtype == CEM_FLOAT64 ? *(const double *)p : (double)*(const float *)p;
}

/* Copy rows [i0, i0 + nb) into a contiguous nb x d double block. */
static inline void cem_load_rows(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, double *out)
{
    const ptrdiff_t d = data->d;
    for (ptrdiff_t r = 0; r < nb; r++) {
        for (ptrdiff_t j = 0; j < d; j++) {
            out[r * d + j] = cem_load(data, i0 + r, j);
        }
    }
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
