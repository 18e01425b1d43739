/*
 * mstep.c -- sufficient statistics to parameters, and covariances to
 * precision Cholesky factors.
 */
#include <float.h>
#include <math.h>

#include "internal.h"


/* In place: a symmetric d x d matrix a (lower triangle read) becomes the
 * upper-triangular U with U U^T = a^-1 (scikit-learn's precision Cholesky
 * factor), via a = L L^T, U = L^-T. */
static int factor_inverse_in_place(ptrdiff_t d, double *a)
{
    /* Cholesky a = L L^T, L in the lower triangle. */
    for (ptrdiff_t j = 0; j < d; j++) {
        double s = a[j * d + j];
        for (ptrdiff_t m = 0; m < j; m++) {
            s -= a[j * d + m] * a[j * d + m];
        }
        if (!(s > 0.0) || !isfinite(s)) {
            return CEM_ENOTPD;
        }
        const double ljj = sqrt(s);
        a[j * d + j] = ljj;
        for (ptrdiff_t i = j + 1; i < d; i++) {
            double t = a[i * d + j];
            for (ptrdiff_t m = 0; m < j; m++) {
                t -= a[i * d + m] * a[j * d + m];
            }
            a[i * d + j] = t / ljj;
        }
    }
    /* L^-1 in place, column by column from the left: column j of the
     * inverse needs only columns > j of L, which are still untouched. */
    for (ptrdiff_t j = 0; j < d; j++) {
        const double inv_jj = 1.0 / a[j * d + j];
        for (ptrdiff_t i = j + 1; i < d; i++) {
            /* M[i][j] = -(L[i][j] M[j][j] + sum_{j<m<i} L[i][m] M[m][j]) / L[i][i] */
            double t = a[i * d + j] * inv_jj;
            for (ptrdiff_t m = j + 1; m < i; m++) {
                t += a[i * d + m] * a[m * d + j];
            }
            a[i * d + j] = -t / a[i * d + i];
        }
        a[j * d + j] = inv_jj;
    }
    /* U = M^T: move the lower triangle up and clear it. */
    for (ptrdiff_t i = 0; i < d; i++) {
        for (ptrdiff_t j = 0; j < i; j++) {
            a[j * d + i] = a[i * d + j];
            a[i * d + j] = 0.0;
        }
    }
    return CEM_OK;
}

int cem_precision_cholesky(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                           const double *covariances, double *prec_chol)
{
    const ptrdiff_t size = cem_param_size(k, d, covariance_type);
    if (size < 0 || covariances == NULL || prec_chol == NULL) {
        return CEM_EINVAL;
    }
    for (ptrdiff_t i = 0; i < size; i++) {
        if (!isfinite(covariances[i])) {
            return CEM_ENONFINITE;
        }
    }
    if (!cem_matrix_type(covariance_type)) { /* variances */
        for (ptrdiff_t i = 0; i < size; i++) {
            if (!(covariances[i] > 0.0)) {
                return CEM_ENOTPD;
            }
            prec_chol[i] = 1.0 / sqrt(covariances[i]);
        }
        return CEM_OK;
    }
    const ptrdiff_t n_mat = covariance_type == CEM_FULL ? k : 1;
    for (ptrdiff_t c = 0; c < n_mat; c++) {
        double *u = prec_chol + c * d * d;
        if (u != covariances + c * d * d) {
            for (ptrdiff_t i = 0; i < d * d; i++) {
                u[i] = covariances[c * d * d + i];
            }
        }
        int status = factor_inverse_in_place(d, u);
        if (status != CEM_OK) {
            return status;
        }
    }
    return CEM_OK;
}

int cem_m_step(ptrdiff_t k, ptrdiff_t d, int covariance_type,
               const double *stats, const double *shift, double reg_covar,
               double *weights, double *means, double *covariances,
               double *prec_chol)
{
    const ptrdiff_t size = cem_stats_size(k, d, covariance_type);
    if (size < 0 || stats == NULL || shift == NULL || weights == NULL || means == NULL
        || covariances == NULL || prec_chol == NULL || !(reg_covar >= 0.0)
        || !isfinite(reg_covar)) {
        return CEM_EINVAL;
    }
    if (cem_check_stats_finite(stats, size) != CEM_OK) {
        return CEM_ENONFINITE;
    }
    const double *nk = stats + 2;
    const double *sx = nk + k;
    const double *sxx = sx + k * d;
    double nk_sum = 0.0, nk_floor_sum = 0.0;
    for (ptrdiff_t c = 0; c < k; c++) {
        if (nk[c] < 0.0) {
            return CEM_EINVAL;
        }
        nk_sum += nk[c];
        nk_floor_sum += nk[c] + CEM_NK_FLOOR;
    }
    if (!(nk_sum > 0.0)) {
        return CEM_ENOWEIGHT;
    }

    /* Covariances first: they need the shift, which `means` may alias. */
    switch (covariance_type) {
    case CEM_FULL:
        for (ptrdiff_t c = 0; c < k; c++) {
            const double n_c = nk[c] + CEM_NK_FLOOR;
            const double *sx_c = sx + c * d;
            const double *s2 = sxx + c * d * d;
            double *cov = covariances + c * d * d;
            /* about the shift s: sum r (x-mu)(x-mu)^T = S - sx sx^T / n_c */
            for (ptrdiff_t j = 0; j < d; j++) {
                for (ptrdiff_t l = 0; l <= j; l++) {
                    const double v = (s2[j * d + l] - sx_c[j] * sx_c[l] / n_c) / n_c;
                    cov[j * d + l] = v;
                    cov[l * d + j] = v;
                }
                cov[j * d + j] += reg_covar;
            }
        }
        break;
    case CEM_TIED:
        for (ptrdiff_t j = 0; j < d; j++) {
            for (ptrdiff_t l = 0; l <= j; l++) {
                double v = sxx[j * d + l];
                for (ptrdiff_t c = 0; c < k; c++) {
                    v -= sx[c * d + j] * sx[c * d + l] / (nk[c] + CEM_NK_FLOOR);
                }
                v /= nk_floor_sum;
                covariances[j * d + l] = v;
                covariances[l * d + j] = v;
            }
            covariances[j * d + j] += reg_covar;
        }
        break;
    case CEM_DIAG:
        for (ptrdiff_t c = 0; c < k; c++) {
            const double n_c = nk[c] + CEM_NK_FLOOR;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double t = sx[c * d + j];
                covariances[c * d + j] = (sxx[c * d + j] - t * t / n_c) / n_c + reg_covar;
            }
        }
        break;
    case CEM_SPHERICAL:
        for (ptrdiff_t c = 0; c < k; c++) {
            const double n_c = nk[c] + CEM_NK_FLOOR;
            double v = sxx[c];
            for (ptrdiff_t j = 0; j < d; j++) {
                v -= sx[c * d + j] * sx[c * d + j] / n_c;
            }
            covariances[c] = v / n_c / (double)d + reg_covar;
        }
        break;
    case CEM_TIED_DIAG: /* the DIAG numerators pooled over c, as TIED pools FULL's */
        for (ptrdiff_t j = 0; j < d; j++) {
            double v = sxx[j];
            for (ptrdiff_t c = 0; c < k; c++) {
                v -= sx[c * d + j] * sx[c * d + j] / (nk[c] + CEM_NK_FLOOR);
            }
            covariances[j] = v / nk_floor_sum + reg_covar;
        }
        break;
    default: { /* CEM_TIED_SPHERICAL: pooled over c and j */
        double v = sxx[0];
        for (ptrdiff_t c = 0; c < k; c++) {
            const double n_c = nk[c] + CEM_NK_FLOOR;
            for (ptrdiff_t j = 0; j < d; j++) {
                v -= sx[c * d + j] * sx[c * d + j] / n_c;
            }
        }
        covariances[0] = v / nk_floor_sum / (double)d + reg_covar;
        break;
    }
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double n_c = nk[c] + CEM_NK_FLOOR;
        weights[c] = n_c / nk_floor_sum;
        for (ptrdiff_t j = 0; j < d; j++) {
            means[c * d + j] = shift[c * d + j] + sx[c * d + j] / n_c;
        }
    }
    return cem_precision_cholesky(k, d, covariance_type, covariances, prec_chol);
}
