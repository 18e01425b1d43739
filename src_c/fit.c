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
    return stats + pass;
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
    const ptrdiff_t d = data->d;
    const ptrdiff_t stats_len = cem_stats_size(k, d, covariance_type);
    double *stats = work;
    double *pass_work = work + stats_len;
    const cem_model model = {k, d, covariance_type, weights, means, prec_chol};
    double bound = -INFINITY;
    *n_iter = 0;
    *converged = 0;
    for (ptrdiff_t it = 1; it <= max_iter; it++) {
        const double previous = bound;
        memset(stats, 0, (size_t)stats_len * sizeof(double));
        int status = cem_e_step(&model, data, stats, NULL, k, NULL, pass_work, work_len - stats_len);
        if (status != CEM_OK) {
            return status;
        }
        if (!(stats[0] > 0.0)) {
            return CEM_ENOWEIGHT;
        }
        /* the mean log-likelihood of the parameters the pass used, as
         * scikit-learn's lower_bound_ */
        bound = stats[1] / stats[0];
        /* means is both the shift of the statistics and the output: allowed */
        status = cem_m_step(k, d, covariance_type, stats, means, reg_covar, weights, means,
                            covariances, prec_chol);
        if (status != CEM_OK) {
            return status;
        }
        *n_iter = it;
        if (fabs(bound - previous) < tol) {
            *converged = 1;
            break;
        }
    }
    *lower_bound = bound;
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
