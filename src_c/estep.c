/*
 * estep.c -- the fused pass: log-densities, log-sum-exp, responsibilities
 * and sufficient statistics for a block of rows while it is in cache.
 */
#include <math.h>

#include "internal.h"

#define CEM_LOG_2PI 1.8378770664093454835606594728112

ptrdiff_t cem_e_step_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (k < 1 || d < 1 || !cem_valid_covariance_type(covariance_type)) {
        return CEM_EINVAL;
    }
    /* row block, log-densities of the block, log weights, log dets, diff, y */
    return CEM_BLOCK_ROWS * (d + k) + 2 * k + 2 * d;
}

/* Upper-triangular factor of component c (FULL and TIED). */
static const double *factor_of(const cem_model *m, ptrdiff_t c)
{
    return m->covariance_type == CEM_FULL ? m->prec_chol + c * m->d * m->d : m->prec_chol;
}

/* log w_c and log det U_c for every component; CEM_EINVAL if a weight is
 * negative or NaN, or a factor has a diagonal entry that is not > 0. */
static int log_weights_and_dets(const cem_model *m, double *log_w, double *log_det)
{
    const ptrdiff_t k = m->k, d = m->d;
    int any_positive = 0;
    for (ptrdiff_t c = 0; c < k; c++) {
        double w = m->weights[c];
        if (!(w >= 0.0) || !isfinite(w)) {
            return CEM_EINVAL;
        }
        any_positive |= w > 0.0;
        log_w[c] = log(w); /* -inf for an absent component: its density is 0 */
        double ld = 0.0;
        switch (m->covariance_type) {
        case CEM_FULL:
        case CEM_TIED: {
            const double *u = factor_of(m, c);
            for (ptrdiff_t j = 0; j < d; j++) {
                if (!(u[j * d + j] > 0.0)) {
                    return CEM_EINVAL;
                }
                ld += log(u[j * d + j]);
            }
            break;
        }
        case CEM_DIAG:
            for (ptrdiff_t j = 0; j < d; j++) {
                if (!(m->prec_chol[c * d + j] > 0.0)) {
                    return CEM_EINVAL;
                }
                ld += log(m->prec_chol[c * d + j]);
            }
            break;
        default:
            if (!(m->prec_chol[c] > 0.0)) {
                return CEM_EINVAL;
            }
            ld = (double)d * log(m->prec_chol[c]);
            break;
        }
        log_det[c] = ld;
    }
    return any_positive ? CEM_OK : CEM_EINVAL;
}

/* Squared Mahalanobis distance of `diff` (= x - mean_c) under component c. */
static double mahalanobis_sq(const cem_model *m, ptrdiff_t c, const double *diff, double *y)
{
    const ptrdiff_t d = m->d;
    double q = 0.0;
    switch (m->covariance_type) {
    case CEM_FULL:
    case CEM_TIED: {
        /* y = diff^T U with U upper triangular: row i of U touches y[i..d). */
        const double *u = factor_of(m, c);
        for (ptrdiff_t j = 0; j < d; j++) {
            y[j] = 0.0;
        }
        for (ptrdiff_t i = 0; i < d; i++) {
            const double di = diff[i];
            const double *ui = u + i * d;
            for (ptrdiff_t j = i; j < d; j++) {
                y[j] += di * ui[j];
            }
        }
        for (ptrdiff_t j = 0; j < d; j++) {
            q += y[j] * y[j];
        }
        break;
    }
    case CEM_DIAG: {
        const double *p = m->prec_chol + c * d;
        for (ptrdiff_t j = 0; j < d; j++) {
            const double t = diff[j] * p[j];
            q += t * t;
        }
        break;
    }
    default: {
        for (ptrdiff_t j = 0; j < d; j++) {
            q += diff[j] * diff[j];
        }
        q *= m->prec_chol[c] * m->prec_chol[c];
        break;
    }
    }
    return q;
}

/* Fold a block of nb rows with responsibilities resp (row stride rs) into
 * stats, moments about shift. Rows of zero weight or responsibility are
 * skipped: they would add exact zeros. */
static void accumulate_block(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                             const double *shift, const double *xb, ptrdiff_t nb,
                             const double *resp, ptrdiff_t rs, const cem_data *data,
                             ptrdiff_t i0, double *stats, double *diff)
{
    double *nk = stats + 2;
    double *sx = nk + k;
    double *sxx = sx + k * d;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *s = shift + c * d;
        double *sx_c = sx + c * d;
        double *sxx_c;
        switch (covariance_type) {
        case CEM_FULL:
            sxx_c = sxx + c * d * d;
            break;
        case CEM_TIED:
            sxx_c = sxx;
            break;
        case CEM_DIAG:
            sxx_c = sxx + c * d;
            break;
        default:
            sxx_c = sxx + c;
            break;
        }
        for (ptrdiff_t r = 0; r < nb; r++) {
            const double a = cem_row_weight(data, i0 + r) * resp[r * rs + c];
            if (a == 0.0) {
                continue;
            }
            const double *x = xb + r * d;
            for (ptrdiff_t j = 0; j < d; j++) {
                diff[j] = x[j] - s[j];
            }
            nk[c] += a;
            for (ptrdiff_t j = 0; j < d; j++) {
                sx_c[j] += a * diff[j];
            }
            switch (covariance_type) {
            case CEM_FULL:
            case CEM_TIED:
                for (ptrdiff_t j = 0; j < d; j++) {
                    const double adj = a * diff[j];
                    double *row = sxx_c + j * d;
                    for (ptrdiff_t l = 0; l <= j; l++) {
                        row[l] += adj * diff[l];
                    }
                }
                break;
            case CEM_DIAG:
                for (ptrdiff_t j = 0; j < d; j++) {
                    sxx_c[j] += a * diff[j] * diff[j];
                }
                break;
            default: {
                double ss = 0.0;
                for (ptrdiff_t j = 0; j < d; j++) {
                    ss += diff[j] * diff[j];
                }
                sxx_c[0] += a * ss;
                break;
            }
            }
        }
    }
}

static int check_model(const cem_model *m)
{
    if (m == NULL || m->k < 1 || m->d < 1 || !cem_valid_covariance_type(m->covariance_type)) {
        return CEM_EINVAL;
    }
    if (m->weights == NULL || m->means == NULL || m->prec_chol == NULL) {
        return CEM_EINVAL;
    }
    return CEM_OK;
}

int cem_e_step(const cem_model *model, const cem_data *data,
               double *stats, double *resp, ptrdiff_t resp_stride,
               double *log_density, double *work, ptrdiff_t work_len)
{
    int status = check_model(model);
    if (status != CEM_OK) {
        return status;
    }
    const ptrdiff_t k = model->k, d = model->d;
    if (cem_check_data(data, d) != CEM_OK || (resp != NULL && resp_stride < k) || work == NULL) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, d, model->covariance_type)) {
        return CEM_EWORK;
    }
    double *xb = work;
    double *logp = xb + CEM_BLOCK_ROWS * d;
    double *log_w = logp + CEM_BLOCK_ROWS * k;
    double *log_det = log_w + k;
    double *diff = log_det + k;
    double *y = diff + d;
    status = log_weights_and_dets(model, log_w, log_det);
    if (status != CEM_OK) {
        return status;
    }
    const double norm = -0.5 * (double)d * CEM_LOG_2PI;
    double weight_sum = 0.0, ll_sum = 0.0;

    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += CEM_BLOCK_ROWS) {
        const ptrdiff_t nb = data->n - i0 < CEM_BLOCK_ROWS ? data->n - i0 : CEM_BLOCK_ROWS;
        cem_load_rows(data, i0, nb, xb);
        for (ptrdiff_t c = 0; c < k; c++) {
            const double *mu = model->means + c * d;
            const double base = log_w[c] + log_det[c] + norm;
            for (ptrdiff_t r = 0; r < nb; r++) {
                const double *x = xb + r * d;
                for (ptrdiff_t j = 0; j < d; j++) {
                    diff[j] = x[j] - mu[j];
                }
                logp[r * k + c] = base - 0.5 * mahalanobis_sq(model, c, diff, y);
            }
        }
        for (ptrdiff_t r = 0; r < nb; r++) {
            double *lp = logp + r * k;
            /* shift by the row max so exp never overflows and the largest term is 1 */
            double mx = lp[0];
            for (ptrdiff_t c = 1; c < k; c++) {
                mx = lp[c] > mx ? lp[c] : mx;
            }
            double s = 0.0;
            for (ptrdiff_t c = 0; c < k; c++) {
                s += exp(lp[c] - mx);
            }
            const double lse = mx + log(s);
            if (!isfinite(lse)) {
                return CEM_ENONFINITE;
            }
            for (ptrdiff_t c = 0; c < k; c++) {
                lp[c] = exp(lp[c] - lse);
            }
            const double w = cem_row_weight(data, i0 + r);
            if (!(w >= 0.0) || !isfinite(w)) {
                return CEM_EINVAL;
            }
            weight_sum += w;
            ll_sum += w * lse;
            if (log_density != NULL) {
                log_density[i0 + r] = lse;
            }
            if (resp != NULL) {
                double *out = resp + (i0 + r) * resp_stride;
                for (ptrdiff_t c = 0; c < k; c++) {
                    out[c] = lp[c];
                }
            }
        }
        if (stats != NULL) {
            accumulate_block(k, d, model->covariance_type, model->means, xb, nb, logp, k,
                             data, i0, stats, diff);
        }
    }
    if (stats != NULL) {
        stats[0] += weight_sum;
        stats[1] += ll_sum;
    }
    return CEM_OK;
}

int cem_accumulate(ptrdiff_t k, int covariance_type, const double *shift,
                   const cem_data *data, const double *resp, ptrdiff_t resp_stride,
                   double *stats, double *work, ptrdiff_t work_len)
{
    if (k < 1 || !cem_valid_covariance_type(covariance_type) || shift == NULL || data == NULL
        || stats == NULL || work == NULL || resp_stride < k) {
        return CEM_EINVAL;
    }
    const ptrdiff_t d = data->d;
    if (cem_check_data(data, d) != CEM_OK || (data->n > 0 && resp == NULL)) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, d, covariance_type)) {
        return CEM_EWORK;
    }
    double *xb = work;
    double *diff = xb + CEM_BLOCK_ROWS * d;
    double weight_sum = 0.0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += CEM_BLOCK_ROWS) {
        const ptrdiff_t nb = data->n - i0 < CEM_BLOCK_ROWS ? data->n - i0 : CEM_BLOCK_ROWS;
        const double *rb = resp + i0 * resp_stride;
        for (ptrdiff_t r = 0; r < nb; r++) {
            for (ptrdiff_t c = 0; c < k; c++) {
                const double v = rb[r * resp_stride + c];
                if (!(v >= 0.0) || !isfinite(v)) {
                    return CEM_ENONFINITE;
                }
            }
            const double w = cem_row_weight(data, i0 + r);
            if (!(w >= 0.0) || !isfinite(w)) {
                return CEM_EINVAL;
            }
            weight_sum += w;
        }
        cem_load_rows(data, i0, nb, xb);
        accumulate_block(k, d, covariance_type, shift, xb, nb, rb, resp_stride, data, i0,
                         stats, diff);
    }
    stats[0] += weight_sum;
    return CEM_OK;
}
