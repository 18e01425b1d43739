/*
 * status.c -- version, status messages, array sizes and statistics arithmetic.
 */
#include "internal.h"

int cem_version(void)
{
    return CEM_VERSION_MAJOR * 10000 + CEM_VERSION_MINOR * 100 + CEM_VERSION_PATCH;
}

const char *cem_strerror(int status)
{
    switch (status) {
    case CEM_OK:
        return "success";
    case CEM_EINVAL:
        return "invalid argument (NULL pointer, negative size, shape mismatch or bad enum)";
    case CEM_ENOTPD:
        return "a covariance matrix is not positive definite";
    case CEM_ENONFINITE:
        return "non-finite value in the data, the parameters or a result";
    case CEM_EWORK:
        return "work buffer smaller than the size the *_work_size() query returns";
    case CEM_ENOWEIGHT:
        return "the data or statistics carry no positive weight";
    default:
        return "unknown cem status code";
    }
}

ptrdiff_t cem_param_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (!cem_valid_shape(k, d)) {
        return CEM_EINVAL;
    }
    switch (covariance_type) {
    case CEM_FULL:
        return k * d * d;
    case CEM_TIED:
        return d * d;
    case CEM_DIAG:
        return k * d;
    case CEM_SPHERICAL:
        return k;
    case CEM_TIED_DIAG:
        return d;
    case CEM_TIED_SPHERICAL:
        return 1;
    default:
        return CEM_EINVAL;
    }
}

ptrdiff_t cem_stats_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (!cem_valid_shape(k, d) || !cem_valid_covariance_type(covariance_type)) {
        return CEM_EINVAL;
    }
    ptrdiff_t second;
    switch (covariance_type) {
    case CEM_FULL:
        second = k * d * d;
        break;
    case CEM_TIED:
        second = d * d;
        break;
    case CEM_DIAG:
        second = k * d;
        break;
    case CEM_SPHERICAL:
        second = k;
        break;
    case CEM_TIED_DIAG:
        second = d;
        break;
    default: /* CEM_TIED_SPHERICAL */
        second = 1;
        break;
    }
    return 2 + k + k * d + second;
}

int cem_stats_zero(ptrdiff_t k, ptrdiff_t d, int covariance_type, double *stats)
{
    ptrdiff_t size = cem_stats_size(k, d, covariance_type);
    if (size < 0 || stats == NULL) {
        return CEM_EINVAL;
    }
    for (ptrdiff_t i = 0; i < size; i++) {
        stats[i] = 0.0;
    }
    return CEM_OK;
}

int cem_stats_add(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                  double *stats_into, const double *stats_from)
{
    ptrdiff_t size = cem_stats_size(k, d, covariance_type);
    if (size < 0 || stats_into == NULL || stats_from == NULL) {
        return CEM_EINVAL;
    }
    for (ptrdiff_t i = 0; i < size; i++) {
        stats_into[i] += stats_from[i];
    }
    return CEM_OK;
}
