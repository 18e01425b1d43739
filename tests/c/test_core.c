/*
 * test_core.c -- tests of the C core without Python: known answers and
 * argument checking. Build against the installed package,
 *     cc test_core.c -I$(python -c 'import cem; print(cem.get_include())') \
 *        -L<cem.get_library_dirs()[0]> -lcem -lm
 * or against the sources in src_c (the sanitizer build). Prints one line per failure
 * and "N passed, M failed"; exits non-zero on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cem.h"

static int passed = 0, failed = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                    \
    } while (0)

#define CLOSE(a, b, rel) CHECK(fabs((a) - (b)) <= (rel) * (fabs(b) + 1e-300))

static const double LOG_2PI = 1.8378770664093454835606594728112;

static cem_data column(const double *x, ptrdiff_t n)
{
    cem_data data = {x, CEM_FLOAT64, n, 1, (ptrdiff_t)sizeof(double), (ptrdiff_t)sizeof(double),
                     NULL};
    return data;
}

static void test_version_and_messages(void)
{
    CHECK(cem_version() == CEM_VERSION_MAJOR * 10000 + CEM_VERSION_MINOR * 100 + CEM_VERSION_PATCH);
    const int codes[] = {CEM_OK, CEM_EINVAL, CEM_ENOTPD, CEM_ENONFINITE, CEM_EWORK, CEM_ENOWEIGHT};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CHECK(cem_strerror(codes[i]) != NULL && strlen(cem_strerror(codes[i])) > 5);
    }
    CHECK(strstr(cem_strerror(-999), "unknown") != NULL);
}

static void test_sizes(void)
{
    CHECK(cem_stats_size(2, 3, CEM_FULL) == 2 + 2 + 6 + 18);
    CHECK(cem_stats_size(2, 3, CEM_TIED) == 2 + 2 + 6 + 9);
    CHECK(cem_stats_size(2, 3, CEM_DIAG) == 2 + 2 + 6 + 6);
    CHECK(cem_stats_size(2, 3, CEM_SPHERICAL) == 2 + 2 + 6 + 2);
    CHECK(cem_param_size(2, 3, CEM_FULL) == 18 && cem_param_size(2, 3, CEM_SPHERICAL) == 2);
    CHECK(cem_stats_size(0, 3, CEM_FULL) == CEM_EINVAL);
    CHECK(cem_stats_size(2, -1, CEM_FULL) == CEM_EINVAL);
    CHECK(cem_param_size(2, 3, 7) == CEM_EINVAL);
    CHECK(cem_e_step_work_size(2, 3, 42) == CEM_EINVAL);
    CHECK(cem_fit_work_size(1, 1, CEM_DIAG) > 0);
}

/* Two unit-variance components at 0 and 2 with equal weights: at x = 1 the
 * responsibilities are 1/2 each, at x = 0 they are 1/(1+e^-2), e^-2/(1+e^-2). */
static void test_hand_computed_responsibilities(void)
{
    const double weights[2] = {0.5, 0.5}, means[2] = {0.0, 2.0}, prec[2] = {1.0, 1.0};
    const double x[2] = {1.0, 0.0};
    double resp[4], log_density[2], work[4096];
    cem_data data = column(x, 2);
    for (int t = 0; t < 4; t++) {
        const cem_model model = {2, 1, t, weights, means, t == CEM_TIED ? prec : prec};
        CHECK(cem_e_step(&model, &data, NULL, resp, 2, log_density, work, 4096) == CEM_OK);
        CLOSE(resp[0], 0.5, 1e-15);
        CLOSE(resp[1], 0.5, 1e-15);
        CLOSE(resp[2], 1.0 / (1.0 + exp(-2.0)), 1e-14);
        CLOSE(resp[3], exp(-2.0) / (1.0 + exp(-2.0)), 1e-14);
        CLOSE(log_density[0], -0.5 * LOG_2PI - 0.5, 1e-14);
    }
}

/* The same mixture scaled by 1e300 (means at +-1e300): every finite row
 * gets finite log-densities and exact responsibilities; a row the unit
 * model cannot represent gets a status, not a crash. */
static void test_extreme_rows(void)
{
    const double weights[2] = {0.5, 0.5}, means[2] = {-1e300, 1e300}, prec[2] = {1e-299, 1e-299};
    const double x[3] = {0.0, 1e300, -1e300};
    double resp[6], ld[3], work[4096];
    cem_data data = column(x, 3);
    const cem_model model = {2, 1, CEM_DIAG, weights, means, prec};
    CHECK(cem_e_step(&model, &data, NULL, resp, 2, ld, work, 4096) == CEM_OK);
    CLOSE(resp[0], 0.5, 1e-15);
    CLOSE(resp[3], 1.0, 1e-15);
    CHECK(resp[2] < 1e-80 && resp[5] < 1e-80);
    CHECK(isfinite(ld[0]) && isfinite(ld[1]) && isfinite(ld[2]));

    const double unit_means[2] = {0.0, 1.0}, unit_prec[2] = {1.0, 1.0};
    const cem_model unit = {2, 1, CEM_DIAG, weights, unit_means, unit_prec};
    CHECK(cem_e_step(&unit, &data, NULL, resp, 2, ld, work, 4096) == CEM_ENONFINITE);
}

/* Rows all at the component's mean: a zero covariance, which only
 * reg_covar makes positive definite. */
static void test_singular_covariance(void)
{
    const double x[4] = {3.0, 3.0, 3.0, 3.0};
    const double weights[1] = {1.0}, means[1] = {3.0}, prec[1] = {1.0};
    double stats[8] = {0}, w_out[1], m_out[1], cov[1], pc[1], work[4096];
    cem_data data = column(x, 4);
    for (int t = 0; t < 4; t++) {
        const cem_model model = {1, 1, t, weights, means, prec};
        memset(stats, 0, sizeof stats);
        CHECK(cem_e_step(&model, &data, stats, NULL, 1, NULL, work, 4096) == CEM_OK);
        CHECK(cem_m_step(1, 1, t, stats, means, 0.0, w_out, m_out, cov, pc) == CEM_ENOTPD);
        CHECK(cem_m_step(1, 1, t, stats, means, 1e-6, w_out, m_out, cov, pc) == CEM_OK);
        CLOSE(m_out[0], 3.0, 1e-14);
        CLOSE(cov[0], 1e-6, 1e-6);
    }
}

/* The same rows under a prior (mean 0, shrinkage 1, dof 3, scale 2): for
 * d = 1 all four models are one, with hand-computed posterior modes --
 * mean (4 * 3 + 1 * 0) / 5 = 2.4, variance (2 + 4/5 * 9) / 10 = 0.92 --
 * and one log prior density, that of inverse-gamma(3/2, 1) times
 * N(2.4 | 0, 0.92). */
static void test_map_m_step_on_a_collapsed_component(void)
{
    const double x[4] = {3.0, 3.0, 3.0, 3.0};
    const double weights[1] = {1.0}, means[1] = {3.0}, prec[1] = {1.0};
    const double prior_mean[1] = {0.0}, scale[1] = {2.0};
    const cem_prior prior = {1.0, prior_mean, 3.0, scale};
    cem_prior improper = prior;
    improper.dof = 0.0;
    double stats[8] = {0}, w_out[1], m_out[1], cov[1], pc[1], work[4096], lp = 0.0;
    cem_data data = column(x, 4);
    const double s = 0.92;
    const double want_lp = -lgamma(1.5) - 2.5 * log(s) - 1.0 / s
                           - 0.5 * (LOG_2PI + log(s) + 2.4 * 2.4 / s);
    CHECK(cem_log_prior_work_size(1) == 1 && cem_log_prior_work_size(0) == CEM_EINVAL);
    for (int t = 0; t < 4; t++) {
        const cem_model model = {1, 1, t, weights, means, prec};
        memset(stats, 0, sizeof stats);
        CHECK(cem_e_step(&model, &data, stats, NULL, 1, NULL, work, 4096) == CEM_OK);
        CHECK(cem_m_step_map(1, 1, t, stats, means, &prior, w_out, m_out, cov, pc) == CEM_OK);
        CLOSE(w_out[0], 1.0, 1e-15);
        CLOSE(m_out[0], 2.4, 1e-14);
        CLOSE(cov[0], s, 1e-14);
        CLOSE(pc[0], 1.0 / sqrt(s), 1e-14);
        CHECK(cem_log_prior(1, 1, t, &prior, m_out, pc, &lp, work, 1) == CEM_OK);
        CLOSE(lp, want_lp, 1e-13);
        CHECK(cem_log_prior(1, 1, t, &prior, m_out, pc, &lp, work, 0) == CEM_EWORK);
        CHECK(cem_m_step_map(1, 1, t, stats, means, NULL, w_out, m_out, cov, pc) == CEM_EINVAL);
        CHECK(cem_m_step_map(1, 1, t, stats, means, &improper, w_out, m_out, cov, pc)
              == CEM_EINVAL);
        CHECK(cem_log_prior(1, 1, t, &improper, m_out, pc, &lp, work, 1) == CEM_EINVAL);
    }
}

static void test_empty_data(void)
{
    const double weights[1] = {1.0}, means[1] = {0.0}, prec[1] = {1.0};
    double stats[5] = {0}, work[4096], w[1] = {1.0}, m[1] = {0.0}, cov[1], pc[1] = {1.0};
    cem_data data = column(NULL, 0);
    const cem_model model = {1, 1, CEM_FULL, weights, means, prec};
    CHECK(cem_e_step(&model, &data, stats, NULL, 1, NULL, work, 4096) == CEM_OK);
    CHECK(stats[0] == 0.0 && stats[1] == 0.0 && stats[2] == 0.0);
    ptrdiff_t n_iter;
    int converged;
    double bound;
    CHECK(cem_fit(1, CEM_FULL, &data, 1e-3, 10, 1e-6, w, m, cov, pc, &n_iter, &converged, &bound,
                  work, 4096) == CEM_ENOWEIGHT);
}

/* k = 1, d = 1: one EM step lands on the sample mean and variance. */
static void test_single_component_fit(void)
{
    const double x[5] = {1.0, 2.0, 4.0, 7.0, 11.0};
    double w[1] = {1.0}, m[1] = {100.0}, cov[1], pc[1] = {0.01}, work[4096];
    cem_data data = column(x, 5);
    ptrdiff_t n_iter;
    int converged;
    double bound;
    CHECK(cem_fit(1, CEM_FULL, &data, 1e-12, 50, 0.0, w, m, cov, pc, &n_iter, &converged, &bound,
                  work, 4096) == CEM_OK);
    CHECK(converged == 1 && n_iter == 3);
    CLOSE(w[0], 1.0, 1e-15);
    CLOSE(m[0], 5.0, 1e-14);
    CLOSE(cov[0], 13.2, 1e-13); /* population variance */
    CLOSE(pc[0], 1.0 / sqrt(13.2), 1e-13);
    CLOSE(bound, -0.5 * LOG_2PI - 0.5 * log(13.2) - 0.5, 1e-13);
}

static void test_precision_cholesky(void)
{
    const double cov[4] = {4.0, 2.0, 2.0, 3.0};
    double u[4];
    CHECK(cem_precision_cholesky(1, 2, CEM_FULL, cov, u) == CEM_OK);
    CHECK(u[2] == 0.0);                         /* upper triangular */
    /* U U^T must be the inverse of cov = [[3, -2], [-2, 4]] / 8 */
    CLOSE(u[0] * u[0] + u[1] * u[1], 3.0 / 8.0, 1e-15);
    CLOSE(u[1] * u[3], -2.0 / 8.0, 1e-15);
    CLOSE(u[3] * u[3], 4.0 / 8.0, 1e-15);
    const double not_pd[4] = {1.0, 2.0, 2.0, 1.0};
    CHECK(cem_precision_cholesky(1, 2, CEM_FULL, not_pd, u) == CEM_ENOTPD);
    const double nan_cov[1] = {NAN};
    CHECK(cem_precision_cholesky(1, 1, CEM_DIAG, nan_cov, u) == CEM_ENONFINITE);
}

static void test_stats_arithmetic(void)
{
    double a[5] = {1, 2, 3, 4, 5}, b[5] = {10, 20, 30, 40, 50};
    CHECK(cem_stats_add(1, 1, CEM_SPHERICAL, a, b) == CEM_OK);
    CHECK(a[0] == 11 && a[4] == 55);
    CHECK(cem_stats_zero(1, 1, CEM_SPHERICAL, a) == CEM_OK && a[0] == 0 && a[4] == 0);
    CHECK(cem_stats_add(1, 1, CEM_SPHERICAL, NULL, b) == CEM_EINVAL);
}

static void test_predict_and_kmeans(void)
{
    const double x[6] = {-5.0, -4.0, 0.1, 4.0, 5.0, 6.0};
    const double weights[2] = {0.5, 0.5}, means[2] = {-4.5, 5.0}, prec[2] = {1.0, 1.0};
    const cem_model model = {2, 1, CEM_SPHERICAL, weights, means, prec};
    cem_data data = column(x, 6);
    int64_t labels[6];
    double work[4096];
    CHECK(cem_predict(&model, &data, labels, work, 4096) == CEM_OK);
    CHECK(labels[0] == 0 && labels[1] == 0 && labels[2] == 0 && labels[3] == 1 && labels[5] == 1);
    CHECK(cem_predict(&model, &data, labels, work, 3) == CEM_EWORK);

    double sums[2] = {0}, counts[2] = {0}, inertia = 0.0;
    int32_t lab[6] = {-1, -1, -1, -1, -1, -1};
    int64_t changed = 0;
    CHECK(cem_kmeans_step(2, means, &data, sums, counts, &inertia, lab, &changed, work, 4096)
          == CEM_OK);
    CHECK(changed == 6 && counts[0] == 3.0 && counts[1] == 3.0);
    CLOSE(sums[0], -8.9, 1e-15);
    CLOSE(inertia, 0.25 + 0.25 + 4.6 * 4.6 + 1.0 + 0.0 + 1.0, 1e-14);

    /* first center: numpy's cumsum(1/6 * ones(6)) / last is 0.5000000000000001
     * at row 2, the first fraction above 0.5 (scikit-learn picks row 2 too) */
    const double uniforms[1 + 1 * 2] = {0.5, 0.0, 0.999};
    double centers[2];
    int64_t idx[2];
    CHECK(cem_kmeanspp(2, 2, &data, uniforms, centers, idx, work, 4096) == CEM_OK);
    CHECK(idx[0] == 2 && centers[0] == 0.1);
    /* trials: row 0 (target 0) and row 5; 6.0 leaves the smaller potential */
    CHECK(idx[1] == 5 && centers[1] == 6.0);
    CHECK(cem_kmeanspp(7, 2, &data, uniforms, centers, idx, work, 4096) == CEM_EINVAL);
    const double bad_uniforms[3] = {0.5, 1.0, 0.2};
    CHECK(cem_kmeanspp(2, 2, &data, bad_uniforms, centers, idx, work, 4096) == CEM_EINVAL);

    /* the pieces cem_kmeanspp is made of */
    CHECK(cem_kmeanspp_partitions(0) == 1 && cem_kmeanspp_partitions(4096) == 1);
    CHECK(cem_kmeanspp_partitions(4097) == 2 && cem_kmeanspp_partitions(1 << 30) == 64);
    CHECK(cem_partition_start(10, 3, 0) == 0 && cem_partition_start(10, 3, 1) == 3);
    CHECK(cem_partition_start(10, 3, 2) == 6 && cem_partition_start(10, 3, 3) == 10);
    CHECK(cem_partition_start(PTRDIFF_MAX, 64, 63) == PTRDIFF_MAX / 64 * 63 + 63 * (PTRDIFF_MAX % 64) / 64);
    CHECK(cem_partition_start(10, 3, 4) == CEM_EINVAL);
    int64_t row = -1;
    CHECK(cem_kmeanspp_first(&data, 0.0, &row) == CEM_OK && row == 0);
    CHECK(cem_kmeanspp_first(&data, 0.9999, &row) == CEM_OK && row == 5);
    CHECK(cem_kmeanspp_first(&data, 1.0, &row) == CEM_EINVAL);
    const double zero_w[6] = {0};
    cem_data weightless = data;
    weightless.sample_weight = zero_w;
    CHECK(cem_kmeanspp_first(&weightless, 0.5, &row) == CEM_ENOWEIGHT);
    const double closest[6] = {1, 1, 1, 1, 1, 1}, part_pots[2] = {3.0, 3.0};
    CHECK(cem_kmeanspp_pick(&data, closest, 2, part_pots, 1, 3.5, &row) == CEM_OK && row == 3);
    CHECK(cem_kmeanspp_pick(&data, closest, 2, part_pots, 1, 3.0, &row) == CEM_OK && row == 2);
    CHECK(cem_kmeanspp_pick(&data, closest, 2, part_pots, 1, 99.0, &row) == CEM_OK && row == 5);
    CHECK(cem_kmeanspp_pick(&data, closest, 7, part_pots, 1, 1.0, &row) == CEM_EINVAL);
    const double trial_pots[2][2] = {{1.0, 2.0}, {2.0, 1.0}};
    ptrdiff_t best = -1;
    double pot = 0.0;
    CHECK(cem_kmeanspp_best(2, 2, &trial_pots[0][0], 2, &best, &pot) == CEM_OK);
    CHECK(best == 0 && pot == 3.0); /* the first of equals */
    CHECK(cem_kmeanspp_best(2, 2, &trial_pots[0][0], 1, &best, &pot) == CEM_EINVAL);
}

static void test_argument_checking(void)
{
    const double weights[1] = {1.0}, means[1] = {0.0}, prec[1] = {1.0}, x[2] = {0.0, 1.0};
    double work[4096], stats[5] = {0}, cov[1];
    cem_data data = column(x, 2);
    const cem_model model = {1, 1, CEM_FULL, weights, means, prec};
    CHECK(cem_e_step(NULL, &data, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    CHECK(cem_e_step(&model, NULL, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    CHECK(cem_e_step(&model, &data, stats, NULL, 1, NULL, NULL, 4096) == CEM_EINVAL);
    CHECK(cem_e_step(&model, &data, stats, NULL, 1, NULL, work, 2) == CEM_EWORK);
    cem_data bad = data;
    bad.n = -1;
    CHECK(cem_e_step(&model, &bad, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    bad = data;
    bad.d = 2;
    CHECK(cem_e_step(&model, &bad, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    bad = data;
    bad.x = NULL;
    CHECK(cem_e_step(&model, &bad, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    bad = data;
    bad.dtype = 9;
    CHECK(cem_e_step(&model, &bad, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    cem_model m2 = model;
    m2.covariance_type = 4;
    CHECK(cem_e_step(&m2, &data, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    m2 = model;
    m2.k = -3;
    CHECK(cem_e_step(&m2, &data, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    const double negative[1] = {-1.0};
    m2 = model;
    m2.weights = negative;
    CHECK(cem_e_step(&m2, &data, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    const double sw[2] = {1.0, -2.0};
    bad = data;
    bad.sample_weight = sw;
    CHECK(cem_e_step(&model, &bad, stats, NULL, 1, NULL, work, 4096) == CEM_EINVAL);
    double w[1] = {1.0}, m[1] = {0.0}, pc[1] = {1.0}, bound;
    ptrdiff_t n_iter;
    int converged;
    CHECK(cem_fit(1, CEM_FULL, &data, -1.0, 5, 1e-6, w, m, cov, pc, &n_iter, &converged, &bound,
                  work, 4096) == CEM_EINVAL);
    CHECK(cem_fit(1, CEM_FULL, &data, 0.0, -5, 1e-6, w, m, cov, pc, &n_iter, &converged, &bound,
                  work, 4096) == CEM_EINVAL);
    CHECK(cem_fit(1, CEM_FULL, &data, 0.0, 5, -1.0, w, m, cov, pc, &n_iter, &converged, &bound,
                  work, 4096) == CEM_EINVAL);
    CHECK(cem_m_step(1, 1, CEM_FULL, stats, means, 1e-6, w, m, cov, pc) == CEM_ENOWEIGHT);
    CHECK(cem_m_step(1, 1, CEM_FULL, NULL, means, 1e-6, w, m, cov, pc) == CEM_EINVAL);
    CHECK(cem_accumulate(1, CEM_FULL, means, &data, NULL, 1, stats, work, 4096) == CEM_EINVAL);
}

/* cem_fit_batch: a problem fits as cem_initialize then cem_fit would fit
 * it; a bad problem is reported in its status, a skipped one left alone. */
static void test_fit_batch(void)
{
    static const double x[12] = {-5.1, -4.0, -4.6, 4.8, 4.0, 5.2, 6.1, 4.4, -4.2, 5.5, 5.0, -3.9};
    double *work = malloc(8192 * sizeof(double)); /* allocated: part holds int64 */
    CHECK(work != NULL);
    if (work == NULL) {
        return;
    }
    const int64_t rows[2] = {0, 5};
    const double uniforms[3] = {0.3, 0.5, 0.9};
    const cem_data problems[4] = {column(x, 12), column(x + 2, 8), column(x, 1), column(x, 12)};
    cem_init inits[4];
    for (int p = 0; p < 4; p++) {
        const cem_init from_rows = {CEM_INIT_RANDOM_FROM_DATA, 0, NULL, NULL, rows};
        inits[p] = from_rows;
    }
    inits[1].method = CEM_INIT_KMEANSPP;
    inits[1].n_trials = 2;
    inits[1].uniforms = uniforms;
    double weights[8], means[8], cov[8], pc[8], bound[4], bounds[4 * 50];
    ptrdiff_t n_iter[4];
    int converged[4], status[4] = {CEM_OK, CEM_OK, CEM_OK, 7};
    const ptrdiff_t len = cem_fit_batch_work_size(12, 2, 1, CEM_DIAG, 50);
    CHECK(len > cem_initialize_work_size(12, 2, 1, CEM_DIAG) && len <= 8192);
    CHECK(cem_fit_batch(4, 1, 2, CEM_DIAG, problems, inits, 1e-10, 50, 1e-6, weights, means, cov,
                        pc, n_iter, converged, bound, bounds, status, work, len) == CEM_OK);
    CHECK(status[0] == CEM_OK && status[1] == CEM_OK && status[2] == CEM_EINVAL && status[3] == 7);
    CHECK(converged[0] == 1 && converged[1] == 1);
    CLOSE(means[0], -4.36, 1e-9);
    CLOSE(means[1], 5.0, 1e-9);
    CLOSE(weights[0], 5.0 / 12.0, 1e-9);
    CLOSE(weights[2] + weights[3], 1.0, 1e-12);

    double w[2], m[2], c[2], u[2], lb;
    ptrdiff_t it;
    int conv;
    CHECK(cem_initialize(2, CEM_DIAG, &problems[0], &inits[0], 1e-6, w, m, c, u, work, len)
          == CEM_OK);
    CHECK(m[0] == -5.1 && m[1] == 5.2 && w[0] == (1.0 + 10.0 * 2.220446049250313e-16) / 12.0);
    CHECK(cem_fit(2, CEM_DIAG, &problems[0], 1e-10, 50, 1e-6, w, m, c, u, &it, &conv, &lb, work,
                  cem_fit_work_size(2, 1, CEM_DIAG)) == CEM_OK);
    CHECK(it == n_iter[0] && conv == converged[0] && lb == bound[0] && bounds[it - 1] == lb);
    CHECK(memcmp(w, weights, sizeof w) == 0 && memcmp(m, means, sizeof m) == 0
          && memcmp(c, cov, sizeof c) == 0 && memcmp(u, pc, sizeof u) == 0);

    int one[1] = {CEM_OK};
    const ptrdiff_t len_no_bounds = cem_fit_batch_work_size(12, 2, 1, CEM_DIAG, 0);
    CHECK(len_no_bounds == len - 50);
    CHECK(cem_fit_batch(1, 1, 2, CEM_DIAG, problems, inits, 1e-10, 50, 1e-6, weights, means, cov,
                        pc, n_iter, converged, bound, NULL, one, work, len_no_bounds - 1)
          == CEM_OK);
    CHECK(one[0] == CEM_EWORK);
    CHECK(cem_fit_batch(1, 1, 0, CEM_DIAG, problems, inits, 1e-10, 50, 1e-6, weights, means, cov,
                        pc, n_iter, converged, bound, NULL, one, work, len) == CEM_EINVAL);
    const int64_t outside[2] = {0, 12};
    cem_init bad = inits[0];
    bad.rows = outside;
    CHECK(cem_initialize(2, CEM_DIAG, &problems[0], &bad, 1e-6, w, m, c, u, work, len)
          == CEM_EINVAL);
    free(work);
}

int main(void)
{
    test_version_and_messages();
    test_sizes();
    test_hand_computed_responsibilities();
    test_extreme_rows();
    test_singular_covariance();
    test_map_m_step_on_a_collapsed_component();
    test_empty_data();
    test_single_component_fit();
    test_precision_cholesky();
    test_stats_arithmetic();
    test_predict_and_kmeans();
    test_argument_checking();
    test_fit_batch();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
