/*
 * batch.c -- whole fits in C: scikit-learn's four initialisations of EM
 * (cem_initialize) and many independent problems, each initialised and
 * fitted to convergence, in one call (cem_fit_batch).
 *
 * Built only on the public passes (k-means++, Lloyd steps, accumulation,
 * the fused E-step, the M-step) and following cem.GMM.fit (cem/_init.py,
 * cem/_gmm.py) operation for operation, so a problem fitted here gives the
 * same bits as GMM.fit on it with the same random numbers. Where GMM.fit
 * reduces with numpy, the same summation order is reproduced (cem_numpy_sum).
 */
#include <math.h>
#include <float.h>
#include <string.h>

#include "internal.h"

/* scikit-learn's KMeans(n_init=1) schedule for init 'kmeans', and the
 * floor it adds to every component's count (as cem_m_step does). */
#define KMEANS_MAX_ITER 300
#define KMEANS_TOL 1e-4
#define NK_FLOOR (10.0 * DBL_EPSILON)

/* The scratch of one problem, carved from the caller's work array. */
typedef struct {
    double *stats;       /* [cem_stats_size(k, d, type)] */
    double *pass;        /* [pass_len] scratch of every pass */
    ptrdiff_t pass_len;
    double *seeding;     /* [seeding_len] cem_kmeanspp's scratch */
    ptrdiff_t seeding_len;
    double *resp;        /* [n][k] responsibilities of the initial partition */
    double *centers;     /* [k][d] Lloyd: the next centers */
    double *sums;        /* [k][d] Lloyd: per-center sums, then squared moves */
    double *counts;      /* [k] */
    double *pooled;      /* [cem_stats_size(1, d, CEM_TIED)] tied: all rows about the mean */
    double *mean;        /* [d] weighted mean of the rows */
    double *moment;      /* [d][d] tied: pooled second moment */
    double *row_weight;  /* [k] sample weights of the seed rows */
    int64_t *seed_rows;  /* [k] rows chosen by k-means++ */
} batch_work;

static ptrdiff_t max3(ptrdiff_t a, ptrdiff_t b, ptrdiff_t c)
{
    const ptrdiff_t ab = a > b ? a : b;
    return ab > c ? ab : c;
}

/* Carves `w` out of `work` (NULL: only sizes it); returns doubles used. */
static ptrdiff_t carve(double *work, ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                       batch_work *w)
{
    w->pass_len = max3(cem_e_step_work_size(k, d, covariance_type),
                       cem_e_step_work_size(1, d, CEM_TIED), cem_kmeans_work_size(k, d));
    w->seeding_len = cem_kmeanspp_work_size(n, d, CEM_KMEANSPP_MAX_TRIALS);
    /* first, at the same place for every problem, so that this memory is
     * only ever used as integers */
    w->seed_rows = work ? (int64_t *)work : NULL;
    ptrdiff_t used = k;
    double *p = work;
#define TAKE(field, len) do { w->field = p ? p + used : NULL; used += (len); } while (0)
    TAKE(stats, cem_stats_size(k, d, covariance_type));
    TAKE(pass, w->pass_len);
    TAKE(seeding, w->seeding_len);
    TAKE(resp, n * k);
    TAKE(centers, k * d);
    TAKE(sums, k * d);
    TAKE(counts, k);
    TAKE(pooled, cem_stats_size(1, d, CEM_TIED));
    TAKE(mean, d);
    TAKE(moment, d * d);
    TAKE(row_weight, k);
#undef TAKE
    return used;
}

ptrdiff_t cem_initialize_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (n < 0 || k < 1 || d < 1 || !cem_valid_covariance_type(covariance_type)) {
        return CEM_EINVAL;
    }
    batch_work w;
    return carve(NULL, n, k, d, covariance_type, &w);
}

/* Weighted column means of the rows and their total weight (GMM's
 * weighted_mean: one Lloyd pass with a single center at the origin). */
static int weighted_mean(const cem_data *data, batch_work *w, double *total)
{
    const ptrdiff_t d = data->d;
    double inertia = 0.0;
    memset(w->centers, 0, (size_t)d * sizeof(double));
    memset(w->mean, 0, (size_t)d * sizeof(double));
    w->counts[0] = 0.0;
    const int status = cem_kmeans_step(1, w->centers, data, w->mean, w->counts, &inertia, NULL,
                                       NULL, w->pass, w->pass_len);
    if (status != CEM_OK) {
        return status;
    }
    for (ptrdiff_t j = 0; j < d; j++) {
        w->mean[j] /= w->counts[0];
    }
    *total = w->counts[0];
    return CEM_OK;
}

/* Tied covariance from one row per component: scikit-learn pools
 * (sum_i w_i x_i x_i^T - sum_c nk_c mu_c mu_c^T) over ALL rows whatever the
 * responsibilities, so the first covariance is wide, not reg_covar. Writes
 * it as the statistics' second moment (about `shift`), in GMM's order of
 * operations (_init._raw_second_moment); for TIED_DIAG its diagonal, for
 * TIED_SPHERICAL its trace (the same analogue as _init._stats_of_rows). */
static int tied_pooled_moment(ptrdiff_t k, int covariance_type, const double *shift,
                              const cem_data *data, batch_work *w, double *stats)
{
    const ptrdiff_t n = data->n, d = data->d;
    double total;
    int status = weighted_mean(data, w, &total);
    if (status != CEM_OK) {
        return status;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        w->resp[i] = 1.0;
    }
    memset(w->pooled, 0, (size_t)cem_stats_size(1, d, CEM_TIED) * sizeof(double));
    status = cem_accumulate(1, CEM_TIED, w->mean, data, w->resp, 1, w->pooled, w->pass,
                            w->pass_len);
    if (status != CEM_OK) {
        return status;
    }
    const double *sx = w->pooled + 3, *about_mean = w->pooled + 3 + d, *mean = w->mean;
    for (ptrdiff_t j = 0; j < d; j++) {
        for (ptrdiff_t l = 0; l < d; l++) {
            const double a = l <= j ? about_mean[j * d + l] : about_mean[l * d + j];
            w->moment[j * d + l] = ((a + sx[j] * mean[l]) + mean[j] * sx[l])
                                   + total * (mean[j] * mean[l]);
        }
    }
    const double *nk = stats + 2;
    double *second = stats + 2 + k + k * d;
    for (ptrdiff_t j = 0; j < d; j++) {
        for (ptrdiff_t l = 0; l < d; l++) {
            double sum; /* sum_c (nk_c + floor) mu_cj mu_cl, reduced as numpy's sum(axis=0) */
            if (d == 1) {
                for (ptrdiff_t c = 0; c < k; c++) {
                    w->sums[c] = ((nk[c] + NK_FLOOR) * shift[c]) * shift[c];
                }
                sum = cem_numpy_sum(w->sums, k, 1);
            } else {
                sum = ((nk[0] + NK_FLOOR) * shift[j]) * shift[l];
                for (ptrdiff_t c = 1; c < k; c++) {
                    sum = sum + ((nk[c] + NK_FLOOR) * shift[c * d + j]) * shift[c * d + l];
                }
            }
            w->moment[j * d + l] -= sum;
        }
    }
    /* TIED_DIAG and TIED_SPHERICAL take the same pooled matrix's diagonal
     * and its trace (numpy's sum of the diagonal, as _init does). */
    if (covariance_type == CEM_TIED) {
        memcpy(second, w->moment, (size_t)(d * d) * sizeof(double));
    } else if (covariance_type == CEM_TIED_DIAG) {
        for (ptrdiff_t j = 0; j < d; j++) {
            second[j] = w->moment[j * d + j];
        }
    } else {
        second[0] = cem_numpy_sum(w->moment, d, d + 1);
    }
    return CEM_OK;
}

/* Statistics of the partition that puts row rows[c] (already copied to
 * means[c]) alone in component c. */
static int stats_of_rows(ptrdiff_t k, int covariance_type, const cem_data *data,
                         const int64_t *rows, double *means, batch_work *w)
{
    const ptrdiff_t d = data->d;
    memset(w->resp, 0, (size_t)(k * k) * sizeof(double));
    for (ptrdiff_t c = 0; c < k; c++) {
        w->resp[c * k + c] = 1.0;
        if (data->sample_weight != NULL) {
            w->row_weight[c] = data->sample_weight[rows[c]];
        }
    }
    const cem_data seeds = {means, CEM_FLOAT64, k, d, d * (ptrdiff_t)sizeof(double),
                            (ptrdiff_t)sizeof(double),
                            data->sample_weight != NULL ? w->row_weight : NULL};
    memset(w->stats, 0, (size_t)cem_stats_size(k, d, covariance_type) * sizeof(double));
    int status = cem_accumulate(k, covariance_type, means, &seeds, w->resp, k, w->stats, w->pass,
                                w->pass_len);
    if (status == CEM_OK && cem_shared_type(covariance_type)) {
        status = tied_pooled_moment(k, covariance_type, means, data, w, w->stats);
    }
    return status;
}

/* Lloyd's k-means from the k-means++ centers in `means`, on scikit-learn's
 * KMeans(n_init=1) schedule (GMM's _init.kmeans): stop when the squared
 * move of the centers is at most 1e-4 times the mean feature variance;
 * an empty cluster keeps its center. */
static int lloyd(ptrdiff_t k, const cem_data *data, double *means, batch_work *w)
{
    const ptrdiff_t d = data->d;
    double total, spread = 0.0;
    int status = weighted_mean(data, w, &total);
    if (status != CEM_OK) {
        return status;
    }
    w->counts[0] = 0.0;
    memset(w->sums, 0, (size_t)d * sizeof(double));
    status = cem_kmeans_step(1, w->mean, data, w->sums, w->counts, &spread, NULL, NULL, w->pass,
                             w->pass_len);
    if (status != CEM_OK) {
        return status;
    }
    const double tol = KMEANS_TOL * spread / (total * (double)d);
    for (int it = 0; it < KMEANS_MAX_ITER; it++) {
        double inertia = 0.0;
        memset(w->sums, 0, (size_t)(k * d) * sizeof(double));
        memset(w->counts, 0, (size_t)k * sizeof(double));
        status = cem_kmeans_step(k, means, data, w->sums, w->counts, &inertia, NULL, NULL,
                                 w->pass, w->pass_len);
        if (status != CEM_OK) {
            return status;
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                const double old = means[c * d + j];
                const double next = w->counts[c] > 0 ? w->sums[c * d + j] / w->counts[c] : old;
                w->centers[c * d + j] = next;
                w->sums[c * d + j] = (next - old) * (next - old);
            }
        }
        const double shift = cem_numpy_sum(w->sums, k * d, 1);
        memcpy(means, w->centers, (size_t)(k * d) * sizeof(double));
        if (shift <= tol) {
            break;
        }
    }
    return CEM_OK;
}

/* Statistics of the hard partition by the nearest of the centers `means`
 * (labels found block by block: a row's nearest center does not depend on
 * the rows around it). */
static int stats_of_labels(ptrdiff_t k, int covariance_type, const cem_data *data,
                           const double *means, batch_work *w)
{
    const ptrdiff_t n = data->n, d = data->d;
    memset(w->resp, 0, (size_t)(n * k) * sizeof(double));
    memset(w->sums, 0, (size_t)(k * d) * sizeof(double)); /* filled, not needed */
    memset(w->counts, 0, (size_t)k * sizeof(double));
    for (ptrdiff_t i0 = 0; i0 < n; i0 += CEM_BLOCK_ROWS) {
        int32_t labels[CEM_BLOCK_ROWS];
        cem_data rows = *data;
        rows.x = (const char *)data->x + i0 * data->row_stride;
        rows.n = n - i0 < CEM_BLOCK_ROWS ? n - i0 : CEM_BLOCK_ROWS;
        if (data->sample_weight != NULL) {
            rows.sample_weight = data->sample_weight + i0;
        }
        double inertia = 0.0;
        const int status = cem_kmeans_step(k, means, &rows, w->sums, w->counts, &inertia,
                                           labels, NULL, w->pass, w->pass_len);
        if (status != CEM_OK) {
            return status;
        }
        for (ptrdiff_t r = 0; r < rows.n; r++) {
            w->resp[(i0 + r) * k + labels[r]] = 1.0;
        }
    }
    memset(w->stats, 0, (size_t)cem_stats_size(k, d, covariance_type) * sizeof(double));
    return cem_accumulate(k, covariance_type, means, data, w->resp, k, w->stats, w->pass,
                          w->pass_len);
}

static int check_init(ptrdiff_t k, ptrdiff_t n, const cem_init *init)
{
    if (init == NULL) {
        return CEM_EINVAL;
    }
    switch (init->method) {
    case CEM_INIT_KMEANS:
    case CEM_INIT_KMEANSPP:
        return init->uniforms != NULL && init->n_trials >= 1
               && init->n_trials <= CEM_KMEANSPP_MAX_TRIALS ? CEM_OK : CEM_EINVAL;
    case CEM_INIT_RANDOM:
        return init->resp != NULL ? CEM_OK : CEM_EINVAL;
    case CEM_INIT_RANDOM_FROM_DATA:
        if (init->rows == NULL) {
            return CEM_EINVAL;
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            if (init->rows[c] < 0 || init->rows[c] >= n) {
                return CEM_EINVAL;
            }
        }
        return CEM_OK;
    default:
        return CEM_EINVAL;
    }
}

/* cem_initialize on carved scratch; leaves the initial partition's
 * statistics in w->stats. */
static int initialize(ptrdiff_t k, int covariance_type, const cem_data *data,
                      const cem_init *init, double reg_covar, double *weights, double *means,
                      double *covariances, double *prec_chol, batch_work *w)
{
    const ptrdiff_t n = data->n, d = data->d;
    int status = CEM_OK;
    switch (init->method) {
    case CEM_INIT_KMEANSPP:
    case CEM_INIT_KMEANS:
        status = cem_kmeanspp(k, init->n_trials, data, init->uniforms, means, w->seed_rows,
                              w->seeding, w->seeding_len);
        if (status == CEM_OK && init->method == CEM_INIT_KMEANS) {
            status = lloyd(k, data, means, w);
            if (status == CEM_OK) {
                status = stats_of_labels(k, covariance_type, data, means, w);
            }
        } else if (status == CEM_OK) {
            status = stats_of_rows(k, covariance_type, data, w->seed_rows, means, w);
        }
        break;
    case CEM_INIT_RANDOM_FROM_DATA:
        for (ptrdiff_t c = 0; c < k; c++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                means[c * d + j] = cem_load(data, init->rows[c], j);
            }
        }
        status = stats_of_rows(k, covariance_type, data, init->rows, means, w);
        break;
    case CEM_INIT_RANDOM: {
        double total;
        status = weighted_mean(data, w, &total);
        if (status != CEM_OK) {
            break;
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            memcpy(means + c * d, w->mean, (size_t)d * sizeof(double));
        }
        memset(w->stats, 0, (size_t)cem_stats_size(k, d, covariance_type) * sizeof(double));
        status = cem_accumulate(k, covariance_type, means, data, init->resp, k, w->stats, w->pass,
                                w->pass_len);
        break;
    }
    default:
        return CEM_EINVAL;
    }
    if (status != CEM_OK) {
        return status;
    }
    status = cem_m_step(k, d, covariance_type, w->stats, means, reg_covar, weights, means,
                        covariances, prec_chol);
    if (status != CEM_OK) {
        return status;
    }
    /* as scikit-learn: counts over the total weight, not renormalised */
    const double total = data->sample_weight == NULL
                         ? (double)n : cem_numpy_sum(data->sample_weight, n, 1);
    for (ptrdiff_t c = 0; c < k; c++) {
        weights[c] = (w->stats[2 + c] + NK_FLOOR) / total;
    }
    return CEM_OK;
}

static int check_problem(ptrdiff_t k, int covariance_type, const cem_data *data, ptrdiff_t d,
                         const cem_init *init, double reg_covar, ptrdiff_t work_len)
{
    if (k < 1 || !cem_valid_covariance_type(covariance_type) || !(reg_covar >= 0.0)
        || !isfinite(reg_covar) || cem_check_data(data, d) != CEM_OK || data->n < k
        || check_init(k, data->n, init) != CEM_OK) {
        return CEM_EINVAL;
    }
    if (work_len < cem_initialize_work_size(data->n, k, d, covariance_type)) {
        return CEM_EWORK;
    }
    return CEM_OK;
}

int cem_initialize(ptrdiff_t k, int covariance_type, const cem_data *data, const cem_init *init,
                   double reg_covar, double *weights, double *means, double *covariances,
                   double *prec_chol, double *work, ptrdiff_t work_len)
{
    if (data == NULL || weights == NULL || means == NULL || covariances == NULL
        || prec_chol == NULL || work == NULL) {
        return CEM_EINVAL;
    }
    const int status = check_problem(k, covariance_type, data, data->d, init, reg_covar, work_len);
    if (status != CEM_OK) {
        return status;
    }
    batch_work w;
    carve(work, data->n, k, data->d, covariance_type, &w);
    return initialize(k, covariance_type, data, init, reg_covar, weights, means, covariances,
                      prec_chol, &w);
}

/* EM from the initial parameters: cem_fit's loop (the one in fit.c), also
 * recording each iteration's bound when `bounds` is not NULL; Lloyd's
 * center buffer holds the recentred shift. */
static int em(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
              ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
              double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
              double *lower_bound, double *bounds, batch_work *w)
{
    return cem_em_iterations(k, covariance_type, data, tol, max_iter, reg_covar, weights, means,
                             covariances, prec_chol, n_iter, converged, lower_bound, bounds,
                             w->stats, w->centers, w->pass, w->pass_len);
}

ptrdiff_t cem_fit_batch_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                                  ptrdiff_t bounds_len)
{
    const ptrdiff_t init = cem_initialize_work_size(n, k, d, covariance_type);
    if (init < 0 || bounds_len < 0) {
        return CEM_EINVAL;
    }
    /* one initialisation's parameters and bounds, while the best so far
     * sits in the outputs */
    return init + k + k * d + 2 * cem_param_size(k, d, covariance_type) + bounds_len;
}

/* One initialisation's fit, kept apart from the best one so far. */
typedef struct {
    double *weights, *means, *covariances, *prec_chol, *bounds;
    ptrdiff_t n_iter;
    int converged;
    double lower_bound;
} trial;

/* One problem: n_init initialisations, each followed by EM, keeping the
 * best final bound (the first of equals), as GMM.fit does. With max_iter
 * 0 the last initialisation is kept and the bound is -infinity. */
static int fit_problem(ptrdiff_t n_init, ptrdiff_t k, int covariance_type, const cem_data *data,
                       const cem_init *inits, double tol, ptrdiff_t max_iter, double reg_covar,
                       double *weights, double *means, double *covariances, double *prec_chol,
                       ptrdiff_t *n_iter, int *converged, double *lower_bound,
                       double *lower_bounds, trial *t, batch_work *w)
{
    const ptrdiff_t d = data->d, param_len = cem_param_size(k, d, covariance_type);
    double best = -INFINITY;
    *n_iter = 0;
    *converged = 0;
    *lower_bound = -INFINITY;
    for (ptrdiff_t i = 0; i < n_init; i++) {
        int status = initialize(k, covariance_type, data, &inits[i], reg_covar, t->weights,
                                t->means, t->covariances, t->prec_chol, w);
        if (status == CEM_OK) {
            status = em(k, covariance_type, data, tol, max_iter, reg_covar, t->weights, t->means,
                        t->covariances, t->prec_chol, &t->n_iter, &t->converged,
                        &t->lower_bound, lower_bounds != NULL ? t->bounds : NULL, w);
        }
        if (status != CEM_OK) {
            return status; /* GMM.fit raises: the problem fails */
        }
        if (max_iter > 0 && !(t->lower_bound > best || best == -INFINITY)) {
            continue;
        }
        best = t->lower_bound;
        memcpy(weights, t->weights, (size_t)k * sizeof(double));
        memcpy(means, t->means, (size_t)(k * d) * sizeof(double));
        memcpy(covariances, t->covariances, (size_t)param_len * sizeof(double));
        memcpy(prec_chol, t->prec_chol, (size_t)param_len * sizeof(double));
        *n_iter = t->n_iter;
        *converged = t->converged;
        *lower_bound = t->lower_bound;
        if (lower_bounds != NULL) {
            memcpy(lower_bounds, t->bounds, (size_t)t->n_iter * sizeof(double));
        }
    }
    return CEM_OK;
}

int cem_fit_batch(ptrdiff_t n_problems, ptrdiff_t n_init, ptrdiff_t k, int covariance_type,
                  const cem_data *problems, const cem_init *inits, double tol,
                  ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                  double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
                  double *lower_bound, double *lower_bounds, int *status, double *work,
                  ptrdiff_t work_len)
{
    if (n_problems < 0 || n_init < 1 || k < 1 || !cem_valid_covariance_type(covariance_type)
        || !(tol >= 0.0) || max_iter < 0 || !(reg_covar >= 0.0) || !isfinite(reg_covar)
        || status == NULL) {
        return CEM_EINVAL;
    }
    if (n_problems == 0) {
        return CEM_OK;
    }
    if (problems == NULL || inits == NULL || weights == NULL || means == NULL
        || covariances == NULL || prec_chol == NULL || n_iter == NULL || converged == NULL
        || lower_bound == NULL || work == NULL || problems[0].d < 1) {
        return CEM_EINVAL;
    }
    const ptrdiff_t d = problems[0].d;
    const ptrdiff_t param_len = cem_param_size(k, d, covariance_type);
    for (ptrdiff_t p = 0; p < n_problems; p++) {
        if (status[p] != CEM_OK) {
            continue; /* the caller's verdict on this problem stands */
        }
        const cem_data *data = &problems[p];
        for (ptrdiff_t i = 0; i < n_init && status[p] == CEM_OK; i++) {
            status[p] = check_problem(k, covariance_type, data, d, &inits[p * n_init + i],
                                      reg_covar, work_len);
        }
        if (status[p] == CEM_OK
            && work_len < cem_fit_batch_work_size(data->n, k, d, covariance_type,
                                                  lower_bounds != NULL ? max_iter : 0)) {
            status[p] = CEM_EWORK;
        }
        if (status[p] != CEM_OK) {
            continue;
        }
        batch_work w;
        trial t;
        double *rest = work + carve(work, data->n, k, d, covariance_type, &w);
        t.weights = rest;
        t.means = t.weights + k;
        t.covariances = t.means + k * d;
        t.prec_chol = t.covariances + param_len;
        t.bounds = t.prec_chol + param_len;
        status[p] = fit_problem(n_init, k, covariance_type, data, &inits[p * n_init], tol,
                                max_iter, reg_covar, weights + p * k, means + p * k * d,
                                covariances + p * param_len, prec_chol + p * param_len,
                                &n_iter[p], &converged[p], &lower_bound[p],
                                lower_bounds != NULL ? lower_bounds + p * max_iter : NULL, &t,
                                &w);
    }
    return CEM_OK;
}
