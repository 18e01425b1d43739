/*
 * fit.c -- the serial C-level workflow built on the pass and the M-step:
 * EM from given parameters to convergence, and hard assignment of rows.
 * For callers embedding cem (no Python, no threads, no allocation).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

ptrdiff_t cem_fit_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    const ptrdiff_t stats = cem_stats_size(k, d, covariance_type);
    const ptrdiff_t pass = cem_e_step_work_size(k, d, covariance_type);
    if (stats < 0 || pass < 0) {
        return CEM_EINVAL;
    }
    return stats + k * d + pass; /* statistics, recentred shift, the pass */
}

int cem_moments_cancel(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats)
{
    if (cem_stats_size(k, d, covariance_type) < 0 || stats == NULL) {
        return CEM_EINVAL;
    }
    const double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    const double limit = 1.0 / 1024.0;
    for (ptrdiff_t j = 0; j < d; j++) {
        double pooled_raw = 0.0, pooled_mean_square = 0.0;
        for (ptrdiff_t c = 0; c < k; c++) {
            const double mean_square = sx[c * d + j] * sx[c * d + j] / (nk[c] + CEM_NK_FLOOR);
            double raw;
            switch (covariance_type) {
            case CEM_FULL:
                raw = sxx[c * d * d + j * d + j];
                break;
            case CEM_DIAG:
                raw = sxx[c * d + j];
                break;
            default: /* pooled over components (TIED, TIED_DIAG) or features
                        (SPHERICAL), or both (TIED_SPHERICAL) */
                raw = 0.0;
                break;
            }
            pooled_mean_square += mean_square;
            if (raw > 0.0 && (raw - mean_square) < limit * raw) {
                return 1;
            }
        }
        if (covariance_type == CEM_TIED || covariance_type == CEM_TIED_DIAG) {
            pooled_raw = covariance_type == CEM_TIED ? sxx[j * d + j] : sxx[j];
            if (pooled_raw > 0.0 && (pooled_raw - pooled_mean_square) < limit * pooled_raw) {
                return 1;
            }
        }
    }
    if (covariance_type == CEM_TIED_SPHERICAL) {
        double mean_square = 0.0;
        for (ptrdiff_t c = 0; c < k; c++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                mean_square += sx[c * d + j] * sx[c * d + j] / (nk[c] + CEM_NK_FLOOR);
            }
        }
        if (sxx[0] > 0.0 && (sxx[0] - mean_square) < limit * sxx[0]) {
            return 1;
        }
    }
    if (covariance_type == CEM_SPHERICAL) {
        for (ptrdiff_t c = 0; c < k; c++) {
            double mean_square = 0.0;
            for (ptrdiff_t j = 0; j < d; j++) {
                mean_square += sx[c * d + j] * sx[c * d + j] / (nk[c] + CEM_NK_FLOOR);
            }
            if (sxx[c] > 0.0 && (sxx[c] - mean_square) < limit * sxx[c]) {
                return 1;
            }
        }
    }
    return 0;
}

int cem_fit(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
            ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
            double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
            double *lower_bound, double *work, ptrdiff_t work_len)
{
    if (data == NULL || weights == NULL || means == NULL || covariances == NULL
        || prec_chol == NULL || n_iter == NULL || converged == NULL || lower_bound == NULL
        || work == NULL || max_iter < 0 || !(tol >= 0.0) || !(reg_covar >= 0.0)
        || !isfinite(reg_covar)) {
        return CEM_EINVAL;
    }
    const ptrdiff_t size = cem_fit_work_size(k, data->d, covariance_type);
    if (size < 0 || cem_check_data(data, data->d) != CEM_OK) {
        return CEM_EINVAL;
    }
    if (work_len < size) {
        return CEM_EWORK;
    }
    const ptrdiff_t stats_len = cem_stats_size(k, data->d, covariance_type);
    double *stats = work;
    double *centers = work + stats_len; /* [k][d] a better shift, when the means cancel */
    double *pass_work = centers + k * data->d;
    return cem_em_iterations(k, covariance_type, data, tol, max_iter, reg_covar, weights, means,
                             covariances, prec_chol, n_iter, converged, lower_bound, NULL, stats,
                             centers, pass_work, work_len - stats_len - k * data->d);
}

int cem_em_iterations(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
                      ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                      double *covariances, double *prec_chol, ptrdiff_t *n_iter,
                      int *converged, double *lower_bound, double *bounds, double *stats,
                      double *centers, double *pass_work, ptrdiff_t pass_len)
{
    const ptrdiff_t d = data->d;
    const ptrdiff_t stats_len = cem_stats_size(k, d, covariance_type);
    const cem_model model = {k, d, covariance_type, weights, means, prec_chol};
    double bound = -INFINITY;
    *n_iter = 0;
    *converged = 0;
    *lower_bound = bound;
    for (ptrdiff_t it = 1; it <= max_iter; it++) {
        const double previous = bound;
        memset(stats, 0, (size_t)stats_len * sizeof(double));
        int status = cem_e_step(&model, data, stats, NULL, k, NULL, pass_work, pass_len);
        if (status != CEM_OK) {
            return status;
        }
        if (!(stats[0] > 0.0)) {
            return CEM_ENOWEIGHT;
        }
        /* the mean log-likelihood of the parameters the pass used, as
         * scikit-learn's lower_bound_ */
        bound = stats[1] / stats[0];
        if (bounds != NULL) {
            bounds[it - 1] = bound;
        }
        const double *shift = means;
        if (cem_moments_cancel(k, d, covariance_type, stats) == 1) {
            /* the means are far from their rows: the same pass again, moments
             * about the new means (the responsibilities do not change) */
            for (ptrdiff_t c = 0; c < k; c++) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    centers[c * d + j] =
                        means[c * d + j] + stats[2 + k + c * d + j] / (stats[2 + c] + CEM_NK_FLOOR);
                }
            }
            memset(stats, 0, (size_t)stats_len * sizeof(double));
            status = cem_e_step_about(&model, centers, data, stats, NULL, k, NULL, pass_work,
                                      pass_len);
            if (status != CEM_OK) {
                return status;
            }
            shift = centers;
        }
        /* shift may be means, both the statistics' shift and the output: allowed */
        status = cem_m_step(k, d, covariance_type, stats, shift, reg_covar, weights, means,
                            covariances, prec_chol);
        if (status != CEM_OK) {
            return status;
        }
        *n_iter = it;
        *lower_bound = bound;
        if (fabs(bound - previous) < tol) {
            *converged = 1;
            break;
        }
    }
    return CEM_OK;
}

ptrdiff_t cem_predict_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    const ptrdiff_t pass = cem_e_step_work_size(k, d, covariance_type);
    return pass < 0 ? CEM_EINVAL : pass + CEM_BLOCK_ROWS * k;
}

int cem_predict(const cem_model *model, const cem_data *data, int64_t *labels,
                double *work, ptrdiff_t work_len)
{
    if (model == NULL || data == NULL || work == NULL || (data->n > 0 && labels == NULL)
        || cem_check_data(data, data->d) != CEM_OK) {
        return CEM_EINVAL;
    }
    const ptrdiff_t k = model->k;
    const ptrdiff_t size = cem_predict_work_size(k, model->d, model->covariance_type);
    if (size < 0) {
        return CEM_EINVAL;
    }
    if (work_len < size) {
        return CEM_EWORK;
    }
    double *resp = work;
    double *pass_work = work + CEM_BLOCK_ROWS * k;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += CEM_BLOCK_ROWS) {
        const ptrdiff_t nb = data->n - i0 < CEM_BLOCK_ROWS ? data->n - i0 : CEM_BLOCK_ROWS;
        cem_data rows = *data;
        rows.x = (const char *)data->x + i0 * data->row_stride;
        rows.n = nb;
        if (data->sample_weight != NULL) {
            rows.sample_weight = data->sample_weight + i0;
        }
        const int status = cem_e_step(model, &rows, NULL, resp, k, NULL, pass_work,
                                      work_len - CEM_BLOCK_ROWS * k);
        if (status != CEM_OK) {
            return status;
        }
        for (ptrdiff_t r = 0; r < nb; r++) {
            ptrdiff_t best = 0;
            for (ptrdiff_t c = 1; c < k; c++) { /* ties go to the lowest index */
                best = resp[r * k + c] > resp[r * k + best] ? c : best;
            }
            labels[i0 + r] = best;
        }
    }
    return CEM_OK;
}
