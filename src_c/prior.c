/*
 * prior.c -- the conjugate prior of Fraley & Raftery (2007), as R's mclust
 * uses it: the MAP M-step (posterior modes, mclust's mstepVVV / EEE / VVI /
 * VII / EEI / EII with a prior) and the log prior density for reporting the
 * log-posterior.
 *
 * A file of its own rather than a branch of mstep.c: the ML M-step is
 * scikit-learn's (reg_covar, its results pinned bit for bit), this one is
 * mclust's; they share only the statistics layout and the precision
 * Cholesky factor, which this file reaches through cem.h.
 */
#include <float.h>
#include <math.h>

#include "internal.h"

#define CEM_LOG_2PI 1.8378770664093454836
#define CEM_LOG_PI 1.1447298858494001741

/* The prior's own checks, shared by both entry points. */
static int check_prior(ptrdiff_t d, int covariance_type, const cem_prior *prior)
{
    if (prior == NULL || prior->mean == NULL || prior->scale == NULL
        || !(prior->shrinkage >= 0.0) || !isfinite(prior->shrinkage)
        || !isfinite(prior->dof)) {
        return CEM_EINVAL;
    }
    for (ptrdiff_t j = 0; j < d; j++) {
        if (!isfinite(prior->mean[j])) {
            return CEM_EINVAL;
        }
    }
    if (cem_matrix_type(covariance_type)) {
        /* an inverse-Wishart needs dof > d - 1 to be proper */
        if (!(prior->dof > (double)(d - 1))) {
            return CEM_EINVAL;
        }
        for (ptrdiff_t i = 0; i < d * d; i++) {
            if (!isfinite(prior->scale[i])) {
                return CEM_EINVAL;
            }
        }
    } else if (!(prior->dof > 0.0) || !(prior->scale[0] > 0.0) || !isfinite(prior->scale[0])) {
        return CEM_EINVAL;
    }
    return CEM_OK;
}

int cem_m_step_map(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats,
                   const double *shift, const cem_prior *prior, double *weights,
                   double *means, double *covariances, double *prec_chol)
{
    const ptrdiff_t size = cem_stats_size(k, d, covariance_type);
    if (size < 0 || stats == NULL || shift == NULL || weights == NULL || means == NULL
        || covariances == NULL || prec_chol == NULL) {
        return CEM_EINVAL;
    }
    int status = check_prior(d, covariance_type, prior);
    if (status != CEM_OK) {
        return status;
    }
    if (cem_check_stats_finite(stats, size) != CEM_OK) {
        return CEM_ENONFINITE;
    }
    const double *nk = stats + 2;
    const double *sx = nk + k;
    const double *sxx = sx + k * d;
    const double kappa = prior->shrinkage, nu = prior->dof;
    const double *mu_p = prior->mean, *scale = prior->scale;
    /* the mean prior N(mu_P, cov / kappa) adds one |cov|^-1/2 per mean */
    const double has_mean_prior = kappa > 0.0 ? 1.0 : 0.0;
    double nk_sum = 0.0, nk_floor_sum = 0.0;
    for (ptrdiff_t c = 0; c < k; c++) {
        if (nk[c] < 0.0) {
            return CEM_EINVAL;
        }
        nk_sum += nk[c];
        nk_floor_sum += nk[c] + CEM_NK_FLOOR; /* cem_m_step's floor: an empty
                                                 component stays finite */
    }
    if (!(nk_sum > 0.0)) {
        return CEM_ENOWEIGHT;
    }

    /* Covariances first: they need the shift, which `means` may alias.
     * For each component, with n_c = nk_c + floor, xbar_c = shift_c + sx_c / n_c,
     * e_c = xbar_c - mu_P and W_c the scatter about xbar_c:
     *   posterior scale = scale + W_c + kappa n_c / (n_c + kappa) e_c e_c^T. */
    if (covariance_type == CEM_TIED) {
        for (ptrdiff_t j = 0; j < d; j++) {
            for (ptrdiff_t l = 0; l <= j; l++) {
                covariances[j * d + l] = sxx[j * d + l] + scale[j * d + l];
            }
        }
    } else if (covariance_type == CEM_TIED_DIAG) {
        for (ptrdiff_t j = 0; j < d; j++) {
            covariances[j] = scale[0] + sxx[j];
        }
    } else if (covariance_type == CEM_TIED_SPHERICAL) {
        covariances[0] = scale[0] + sxx[0];
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double n_c = nk[c] + CEM_NK_FLOOR;
        const double *sx_c = sx + c * d;
        const double *sh_c = shift + c * d;
        const double pull = kappa * n_c / (n_c + kappa);
        switch (covariance_type) {
        case CEM_FULL: {
            const double *s2 = sxx + c * d * d;
            double *cov = covariances + c * d * d;
            const double denom = nu + n_c + (double)d + 1.0 + has_mean_prior;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                for (ptrdiff_t l = 0; l <= j; l++) {
                    const double el = sh_c[l] + sx_c[l] / n_c - mu_p[l];
                    const double v = (scale[j * d + l] + s2[j * d + l] - sx_c[j] * sx_c[l] / n_c
                                      + pull * ej * el) / denom;
                    cov[j * d + l] = v;
                    cov[l * d + j] = v;
                }
            }
            break;
        }
        case CEM_TIED:
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                for (ptrdiff_t l = 0; l <= j; l++) {
                    const double el = sh_c[l] + sx_c[l] / n_c - mu_p[l];
                    covariances[j * d + l] += pull * ej * el - sx_c[j] * sx_c[l] / n_c;
                }
            }
            break;
        case CEM_DIAG: {
            const double denom = nu + n_c + 2.0 + has_mean_prior;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                covariances[c * d + j] = (scale[0] + sxx[c * d + j] - sx_c[j] * sx_c[j] / n_c
                                          + pull * ej * ej) / denom;
            }
            break;
        }
        case CEM_TIED_DIAG: /* pooled: sum_c of the DIAG numerator */
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                covariances[j] += pull * ej * ej - sx_c[j] * sx_c[j] / n_c;
            }
            break;
        case CEM_TIED_SPHERICAL: /* pooled over c and j */
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                covariances[0] += pull * ej * ej - sx_c[j] * sx_c[j] / n_c;
            }
            break;
        default: {
            double v = scale[0] + sxx[c];
            for (ptrdiff_t j = 0; j < d; j++) {
                const double ej = sh_c[j] + sx_c[j] / n_c - mu_p[j];
                v += pull * ej * ej - sx_c[j] * sx_c[j] / n_c;
            }
            covariances[c] = v / (nu + (n_c + has_mean_prior) * (double)d + 2.0);
            break;
        }
        }
    }
    if (covariance_type == CEM_TIED) {
        const double denom = nu + nk_floor_sum + (double)d + 1.0 + has_mean_prior * (double)k;
        for (ptrdiff_t j = 0; j < d; j++) {
            for (ptrdiff_t l = 0; l <= j; l++) {
                const double v = covariances[j * d + l] / denom;
                covariances[j * d + l] = v;
                covariances[l * d + j] = v;
            }
        }
    } else if (covariance_type == CEM_TIED_DIAG) {
        const double denom = nu + nk_floor_sum + 2.0 + has_mean_prior * (double)k;
        for (ptrdiff_t j = 0; j < d; j++) {
            covariances[j] /= denom;
        }
    } else if (covariance_type == CEM_TIED_SPHERICAL) {
        covariances[0] /= nu + (nk_floor_sum + has_mean_prior * (double)k) * (double)d + 2.0;
    }
    /* means: the data's mean pulled towards mu_P by kappa pseudo-observations */
    for (ptrdiff_t c = 0; c < k; c++) {
        const double n_c = nk[c] + CEM_NK_FLOOR;
        weights[c] = n_c / nk_floor_sum;
        for (ptrdiff_t j = 0; j < d; j++) {
            const double xbar = shift[c * d + j] + sx[c * d + j] / n_c;
            means[c * d + j] = (n_c * xbar + kappa * mu_p[j]) / (n_c + kappa);
        }
    }
    return cem_precision_cholesky(k, d, covariance_type, covariances, prec_chol);
}

ptrdiff_t cem_log_prior_work_size(ptrdiff_t d)
{
    if (d < 1) {
        return CEM_EINVAL;
    }
    return d * d;
}

/* log det and tr(scale P) of P = U U^T, U upper triangular [d][d]. */
static double log_det_precision(ptrdiff_t d, const double *u)
{
    double s = 0.0;
    for (ptrdiff_t j = 0; j < d; j++) {
        s += log(u[j * d + j]);
    }
    return 2.0 * s;
}

static double trace_scale_precision(ptrdiff_t d, const double *scale, const double *u)
{
    /* tr(Lambda U U^T) = sum over columns u_m of U of u_m^T Lambda u_m,
     * Lambda read from its lower triangle */
    double t = 0.0;
    for (ptrdiff_t m = 0; m < d; m++) {
        for (ptrdiff_t j = 0; j <= m; j++) {
            const double uj = u[j * d + m];
            t += scale[j * d + j] * uj * uj;
            for (ptrdiff_t l = 0; l < j; l++) {
                t += 2.0 * scale[j * d + l] * uj * u[l * d + m];
            }
        }
    }
    return t;
}

/* ||U^T e||^2 = e^T P e for U upper triangular. */
static double quad_precision(ptrdiff_t d, const double *u, const double *mean,
                             const double *mu_p)
{
    double q = 0.0;
    for (ptrdiff_t m = 0; m < d; m++) {
        double y = 0.0;
        for (ptrdiff_t j = 0; j <= m; j++) {
            y += u[j * d + m] * (mean[j] - mu_p[j]);
        }
        q += y * y;
    }
    return q;
}

/* log of the multivariate gamma function Gamma_d(a). */
static double log_multigamma(ptrdiff_t d, double a)
{
    double s = 0.25 * (double)d * (double)(d - 1) * CEM_LOG_PI;
    for (ptrdiff_t j = 0; j < d; j++) {
        s += lgamma(a - 0.5 * (double)j);
    }
    return s;
}

int cem_log_prior(ptrdiff_t k, ptrdiff_t d, int covariance_type, const cem_prior *prior,
                  const double *means, const double *prec_chol, double *log_prior,
                  double *work, ptrdiff_t work_len)
{
    const ptrdiff_t size = cem_param_size(k, d, covariance_type);
    if (size < 0 || means == NULL || prec_chol == NULL || log_prior == NULL || work == NULL) {
        return CEM_EINVAL;
    }
    int status = check_prior(d, covariance_type, prior);
    if (status != CEM_OK) {
        return status;
    }
    if (work_len < d * d) {
        return CEM_EWORK;
    }
    for (ptrdiff_t i = 0; i < size; i++) {
        if (!isfinite(prec_chol[i])) {
            return CEM_ENONFINITE;
        }
    }
    for (ptrdiff_t i = 0; i < k * d; i++) {
        if (!isfinite(means[i])) {
            return CEM_ENONFINITE;
        }
    }
    const double kappa = prior->shrinkage, nu = prior->dof;
    const double *mu_p = prior->mean, *scale = prior->scale;
    /* log N(mean | mu_P, cov / kappa) without its -log|cov| / 2 and quadratic term */
    const double mean_const = 0.5 * (double)d * (log(kappa) - CEM_LOG_2PI);
    double total = 0.0;

    if (cem_matrix_type(covariance_type)) {
        /* log |Lambda| by a Cholesky factorisation in work */
        for (ptrdiff_t i = 0; i < d * d; i++) {
            work[i] = scale[i];
        }
        double log_det_scale = 0.0;
        for (ptrdiff_t j = 0; j < d; j++) {
            double s = work[j * d + j];
            for (ptrdiff_t m = 0; m < j; m++) {
                s -= work[j * d + m] * work[j * d + m];
            }
            if (!(s > 0.0)) {
                return CEM_ENOTPD;
            }
            const double ljj = sqrt(s);
            work[j * d + j] = ljj;
            log_det_scale += 2.0 * log(ljj);
            for (ptrdiff_t i = j + 1; i < d; i++) {
                double t = work[i * d + j];
                for (ptrdiff_t m = 0; m < j; m++) {
                    t -= work[i * d + m] * work[j * d + m];
                }
                work[i * d + j] = t / ljj;
            }
        }
        /* inverse-Wishart(nu, Lambda): the log normaliser, then per matrix
         * -(nu + d + 1)/2 log|cov| - tr(Lambda cov^-1)/2, log|cov| = -log|P| */
        const double iw_const = 0.5 * nu * log_det_scale - 0.5 * nu * (double)d * log(2.0)
                                - log_multigamma(d, 0.5 * nu);
        const ptrdiff_t n_mat = covariance_type == CEM_FULL ? k : 1;
        for (ptrdiff_t c = 0; c < n_mat; c++) {
            const double *u = prec_chol + c * d * d;
            total += iw_const + 0.5 * (nu + (double)d + 1.0) * log_det_precision(d, u)
                     - 0.5 * trace_scale_precision(d, scale, u);
        }
        if (kappa > 0.0) {
            for (ptrdiff_t c = 0; c < k; c++) {
                const double *u = prec_chol + (covariance_type == CEM_FULL ? c * d * d : 0);
                total += mean_const + 0.5 * log_det_precision(d, u)
                         - 0.5 * kappa * quad_precision(d, u, means + c * d, mu_p);
            }
        }
    } else {
        /* each variance s ~ inverse-gamma(nu/2, xi/2):
         * (nu/2) log(xi/2) - lgamma(nu/2) - (nu/2 + 1) log s - xi / (2 s) */
        const double a = 0.5 * nu, b = 0.5 * scale[0];
        const double ig_const = a * log(b) - lgamma(a);
        /* per_c variances per set, one set per component or (shared) one
         * for all; component c reads its set at pc */
        const ptrdiff_t per_c = cem_per_feature_type(covariance_type) ? d : 1;
        const int shared = cem_shared_type(covariance_type);
        for (ptrdiff_t c = 0; c < k; c++) {
            const double *pc = prec_chol + (shared ? 0 : c * per_c);
            double log_det_p = 0.0, q = 0.0;
            for (ptrdiff_t j = 0; j < per_c; j++) {
                const double p = pc[j];  /* 1 / standard deviation */
                if (!(p > 0.0)) {
                    return CEM_ENOTPD;
                }
                const double log_prec = 2.0 * log(p);
                if (!shared || c == 0) { /* each distinct variance once */
                    total += ig_const + (a + 1.0) * log_prec - b * p * p;
                }
                log_det_p += log_prec;
            }
            if (kappa > 0.0) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    const double p = pc[per_c == 1 ? 0 : j];
                    const double e = (means[c * d + j] - mu_p[j]) * p;
                    q += e * e;
                }
                if (per_c == 1) {
                    log_det_p *= (double)d;
                }
                total += mean_const + 0.5 * log_det_p - 0.5 * kappa * q;
            }
        }
    }
    if (!isfinite(total)) {
        return CEM_ENONFINITE;
    }
    *log_prior = total;
    return CEM_OK;
}
