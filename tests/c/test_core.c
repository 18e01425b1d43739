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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cem.h"
#include "check.h"

#define CLOSE(a, b, rel) CHECK(fabs((a) - (b)) <= (rel) * (fabs(b) + 1e-300))

/* every covariance type: CEM_FULL .. CEM_TIED_SPHERICAL */
enum { N_TYPES = CEM_TIED_SPHERICAL + 1 };

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
    CHECK(cem_stats_size(2, 3, CEM_TIED_DIAG) == 2 + 2 + 6 + 3);
    CHECK(cem_stats_size(2, 3, CEM_TIED_SPHERICAL) == 2 + 2 + 6 + 1);
    CHECK(cem_param_size(2, 3, CEM_TIED_DIAG) == 3 && cem_param_size(2, 3, CEM_TIED_SPHERICAL) == 1);
    CHECK(cem_param_size(2, 3, 6) == CEM_EINVAL && cem_stats_size(2, 3, 6) == CEM_EINVAL);
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
    for (int t = 0; t < N_TYPES; t++) {
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
    for (int t = 0; t < N_TYPES; t++) {
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
    for (int t = 0; t < N_TYPES; t++) {
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
    /* the partition each of those picks reads */
    CHECK(cem_kmeanspp_pick_partition(2, part_pots, 1, 3.5) == 1);
    CHECK(cem_kmeanspp_pick_partition(2, part_pots, 1, 3.0) == 0);
    CHECK(cem_kmeanspp_pick_partition(2, part_pots, 1, 99.0) == 1);
    CHECK(cem_kmeanspp_pick_partition(0, part_pots, 1, 1.0) == CEM_EINVAL);
    CHECK(cem_kmeanspp_pick_partition(2, part_pots, 1, NAN) == CEM_EINVAL);
    /* update with more candidates: closest is lowered to candidate 0 first,
     * and every candidate is evaluated against the lowered closest */
    double near[6] = {INFINITY, INFINITY, INFINITY, INFINITY, INFINITY, INFINITY};
    const double cands[3] = {-4.0, 5.0, 0.0};
    double cand_pots[3];
    CHECK(cem_kmeanspp_pass(3, cands, &data, near, 1, cand_pots, work, 4096) == CEM_OK);
    CHECK(near[0] == 1.0 && near[1] == 0.0 && near[5] == 100.0);
    CLOSE(cand_pots[0], 1.0 + 0.0 + 4.1 * 4.1 + 64.0 + 81.0 + 100.0, 1e-15);
    CLOSE(cand_pots[1], 1.0 + 0.0 + 4.1 * 4.1 + 1.0 + 0.0 + 1.0, 1e-15);
    CLOSE(cand_pots[2], 1.0 + 0.0 + 0.01 + 16.0 + 25.0 + 36.0, 1e-15);
    const double trial_pots[2][2] = {{1.0, 2.0}, {2.0, 1.0}};
    ptrdiff_t best = -1;
    double pot = 0.0;
    CHECK(cem_kmeanspp_best(2, 2, &trial_pots[0][0], 2, &best, &pot) == CEM_OK);
    CHECK(best == 0 && pot == 3.0); /* the first of equals */
    CHECK(cem_kmeanspp_best(2, 2, &trial_pots[0][0], 1, &best, &pot) == CEM_EINVAL);
}

/* A column view x[:, 3:8] of an n x 8 float64 array whose buffer ends with
 * the view's last row (issue 9, defect 1): the core reads only the view's
 * 5 columns, never the NaN beside it nor past the buffer's end (which
 * ASan and valgrind report). */
static void test_column_view_reads_only_its_columns(void)
{
    enum { N = 72, COLS = 8, FIRST = 3, D = COLS - FIRST, K = 2 };
    double *buf = malloc(sizeof(double) * N * COLS);
    double *copy = malloc(sizeof(double) * N * D);
    double *work = NULL;
    CHECK(buf != NULL && copy != NULL);
    if (buf == NULL || copy == NULL) {
        free(buf);
        free(copy);
        return;
    }
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < COLS; j++) {
            const double v = j < FIRST ? NAN : sin(1.0 + i * 0.37 + j * 1.3) + 3.0 * (i % 2);
            buf[i * COLS + j] = v;
            if (j >= FIRST) {
                copy[i * D + j - FIRST] = v;
            }
        }
    }
    /* the view starts 3 doubles in and ends exactly at the buffer's end */
    const cem_data view = {buf + FIRST, CEM_FLOAT64, N, D, COLS * (ptrdiff_t)sizeof(double),
                           (ptrdiff_t)sizeof(double), NULL};
    const cem_data dense = {copy, CEM_FLOAT64, N, D, D * (ptrdiff_t)sizeof(double),
                            (ptrdiff_t)sizeof(double), NULL};
    double weights[K] = {0.4, 0.6}, means[K * D], prec[K * D * D];
    for (int c = 0; c < K; c++) {
        for (int j = 0; j < D; j++) {
            means[c * D + j] = 3.0 * c + 0.1 * j;
        }
    }
    for (int t = 0; t < N_TYPES; t++) {
        memset(prec, 0, sizeof prec);
        const ptrdiff_t n_prec = cem_param_size(K, D, t);
        for (ptrdiff_t i = 0; i < n_prec; i++) {
            prec[i] = 1.0;
        }
        if (t == CEM_FULL || t == CEM_TIED) { /* identity factors */
            memset(prec, 0, sizeof prec);
            for (int c = 0; c < (t == CEM_FULL ? K : 1); c++) {
                for (int j = 0; j < D; j++) {
                    prec[c * D * D + j * D + j] = 1.0;
                }
            }
        }
        const cem_model model = {K, D, t, weights, means, prec};
        const ptrdiff_t len = cem_e_step_work_size(K, D, t), sl = cem_stats_size(K, D, t);
        work = malloc(sizeof(double) * (size_t)len);
        double *s_view = calloc((size_t)sl, sizeof(double));
        double *s_dense = calloc((size_t)sl, sizeof(double));
        double ld_view[N], ld_dense[N];
        int64_t lab_view[N], lab_dense[N];
        CHECK(cem_e_step(&model, &view, s_view, NULL, K, ld_view, work, len) == CEM_OK);
        CHECK(cem_e_step(&model, &dense, s_dense, NULL, K, ld_dense, work, len) == CEM_OK);
        CHECK(memcmp(s_view, s_dense, sizeof(double) * (size_t)sl) == 0);
        CHECK(memcmp(ld_view, ld_dense, sizeof ld_view) == 0);
        double *pw = malloc(sizeof(double) * (size_t)cem_predict_work_size(K, D, t));
        CHECK(cem_predict(&model, &view, lab_view, pw, cem_predict_work_size(K, D, t)) == CEM_OK);
        CHECK(cem_predict(&model, &dense, lab_dense, pw, cem_predict_work_size(K, D, t)) == CEM_OK);
        CHECK(memcmp(lab_view, lab_dense, sizeof lab_view) == 0);
        free(pw);
        free(s_view);
        free(s_dense);
        free(work);
    }
    free(buf);
    free(copy);
}

/* ---- the wide path (d > 4) and every layout against a naive reference ---- */

enum { WN = 150, WK_MAX = 3, WD_MAX = 24 };

/* Naive log-densities and statistics (moments about the means), straight
 * from the formulas of cem.h, with x[i][j] given densely. */
static void naive_pass(const cem_model *m, const double *x, ptrdiff_t n, const double *sw,
                       double *stats, double *resp, double *log_density)
{
    const ptrdiff_t k = m->k, d = m->d;
    double lp[WK_MAX];
    for (ptrdiff_t i = 0; i < n; i++) {
        double top = -INFINITY;
        for (ptrdiff_t c = 0; c < k; c++) {
            const double *mu = m->means + c * d;
            double q = 0.0, log_det = 0.0;
            for (ptrdiff_t j = 0; j < d; j++) {
                double y;
                if (m->covariance_type == CEM_FULL || m->covariance_type == CEM_TIED) {
                    const double *u = m->prec_chol + (m->covariance_type == CEM_FULL ? c * d * d : 0);
                    y = 0.0;
                    for (ptrdiff_t l = 0; l <= j; l++) {
                        y += (x[i * d + l] - mu[l]) * u[l * d + j];
                    }
                    log_det += log(u[j * d + j]);
                } else {
                    const int t = m->covariance_type;
                    const double p = t == CEM_DIAG        ? m->prec_chol[c * d + j]
                                     : t == CEM_SPHERICAL ? m->prec_chol[c]
                                     : t == CEM_TIED_DIAG ? m->prec_chol[j]
                                                          : m->prec_chol[0];
                    y = (x[i * d + j] - mu[j]) * p;
                    log_det += log(p);
                }
                q += y * y;
            }
            lp[c] = log(m->weights[c]) - 0.5 * (double)d * LOG_2PI + log_det - 0.5 * q;
            top = lp[c] > top ? lp[c] : top;
        }
        double sum = 0.0;
        for (ptrdiff_t c = 0; c < k; c++) {
            sum += exp(lp[c] - top);
        }
        log_density[i] = top + log(sum);
        const double w = sw != NULL ? sw[i] : 1.0;
        stats[0] += w;
        stats[1] += w * log_density[i];
        for (ptrdiff_t c = 0; c < k; c++) {
            const double r = exp(lp[c] - log_density[i]);
            resp[i * k + c] = r;
            const double a = w * r;
            const double *mu = m->means + c * d;
            stats[2 + c] += a;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double dj = x[i * d + j] - mu[j];
                stats[2 + k + c * d + j] += a * dj;
                double *sxx = stats + 2 + k + k * d;
                for (ptrdiff_t l = 0; l <= j; l++) {
                    const double dl = x[i * d + l] - mu[l];
                    switch (m->covariance_type) {
                    case CEM_FULL:
                        sxx[c * d * d + j * d + l] += a * dj * dl;
                        break;
                    case CEM_TIED:
                        sxx[j * d + l] += a * dj * dl;
                        break;
                    case CEM_DIAG:
                        sxx[c * d + j] += l == j ? a * dj * dj : 0.0;
                        break;
                    case CEM_SPHERICAL:
                        sxx[c] += l == j ? a * dj * dj : 0.0;
                        break;
                    case CEM_TIED_DIAG:
                        sxx[j] += l == j ? a * dj * dj : 0.0;
                        break;
                    default: /* CEM_TIED_SPHERICAL */
                        sxx[0] += l == j ? a * dj * dj : 0.0;
                        break;
                    }
                }
            }
        }
    }
}

/* |a - b| <= rel * scale elementwise, scale the largest |b|. */
static int all_close(const double *a, const double *b, ptrdiff_t n, double rel)
{
    double scale = 1e-300;
    for (ptrdiff_t i = 0; i < n; i++) {
        scale = fabs(b[i]) > scale ? fabs(b[i]) : scale;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        if (!(fabs(a[i] - b[i]) <= rel * scale)) {
            printf("  element %ld: %.17g vs %.17g\n", (long)i, a[i], b[i]);
            return 0;
        }
    }
    return 1;
}

enum { LAYOUT_C, LAYOUT_OFFSET, LAYOUT_FORTRAN, LAYOUT_NEGATIVE, LAYOUT_FLOAT32, N_LAYOUTS };

/* One layout of the dense WN x d matrix x: a fresh allocation of exactly
 * the stored elements (so ASan sees any read outside it); *dense gets the
 * values as the core will read them (float32 rounded). */
static cem_data make_layout(int layout, const double *x, ptrdiff_t d, void **storage,
                            double *dense)
{
    cem_data data = {NULL, CEM_FLOAT64, WN, d, 0, (ptrdiff_t)sizeof(double), NULL};
    const ptrdiff_t offset = 3, cols = d + offset + 2;
    memcpy(dense, x, sizeof(double) * (size_t)(WN * d));
    if (layout == LAYOUT_FLOAT32) {
        float *f = malloc(sizeof(float) * (size_t)(WN * d));
        for (ptrdiff_t i = 0; i < WN * d; i++) {
            f[i] = (float)x[i];
            dense[i] = (double)f[i];
        }
        *storage = f;
        data.x = f;
        data.dtype = CEM_FLOAT32;
        data.row_stride = d * (ptrdiff_t)sizeof(float);
        data.col_stride = sizeof(float);
        return data;
    }
    double *b;
    switch (layout) {
    case LAYOUT_OFFSET: /* columns [3, 3 + d) of WN x (d + 5), buffer ends with the view */
        b = malloc(sizeof(double) * (size_t)((WN - 1) * cols + offset + d));
        for (ptrdiff_t i = 0; i < WN; i++) {
            for (ptrdiff_t j = 0; j < cols && i * cols + j < (WN - 1) * cols + offset + d; j++) {
                b[i * cols + j] = j >= offset && j < offset + d ? x[i * d + j - offset] : NAN;
            }
        }
        data.x = b + offset;
        data.row_stride = cols * (ptrdiff_t)sizeof(double);
        break;
    case LAYOUT_FORTRAN:
        b = malloc(sizeof(double) * (size_t)(WN * d));
        for (ptrdiff_t i = 0; i < WN; i++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                b[j * WN + i] = x[i * d + j];
            }
        }
        data.x = b;
        data.row_stride = sizeof(double);
        data.col_stride = WN * (ptrdiff_t)sizeof(double);
        break;
    case LAYOUT_NEGATIVE: /* rows stored last to first */
        b = malloc(sizeof(double) * (size_t)(WN * d));
        for (ptrdiff_t i = 0; i < WN; i++) {
            memcpy(b + (WN - 1 - i) * d, x + i * d, sizeof(double) * (size_t)d);
        }
        data.x = b + (WN - 1) * d;
        data.row_stride = -d * (ptrdiff_t)sizeof(double);
        break;
    default:
        b = malloc(sizeof(double) * (size_t)(WN * d));
        memcpy(b, x, sizeof(double) * (size_t)(WN * d));
        data.x = b;
        data.row_stride = d * (ptrdiff_t)sizeof(double);
        break;
    }
    *storage = b;
    return data;
}

static void check_wide_case(ptrdiff_t k, ptrdiff_t d, int t, int layout)
{
    double x[WN * WD_MAX], dense[WN * WD_MAX], sw[WN];
    double weights[WK_MAX], means[WK_MAX * WD_MAX], prec[WK_MAX * WD_MAX * WD_MAX];
    for (ptrdiff_t i = 0; i < WN; i++) {
        sw[i] = (i % 7 == 3) ? 0.0 : 0.5 + (double)(i % 5) / 4.0;
        for (ptrdiff_t j = 0; j < d; j++) {
            /* pseudo-random in [-0.5, 0.5) (a full-rank cloud), around 100 + 2 c */
            const double h = sin(12.9898 * (double)i + 78.233 * (double)j) * 43758.5453;
            x[i * d + j] = 2.0 * (double)(i % k) + (h - floor(h) - 0.5) + 100.0;
        }
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        weights[c] = (1.0 + (double)c) / (double)(k * (k + 1) / 2); /* sum to 1 */
        for (ptrdiff_t j = 0; j < d; j++) {
            means[c * d + j] = 100.0 + 2.0 * (double)c + 0.1 * cos((double)(j + c));
        }
    }
    const ptrdiff_t n_prec = cem_param_size(k, d, t);
    for (ptrdiff_t i = 0; i < n_prec; i++) {
        prec[i] = 0.8 + 0.05 * (double)(i % 5);
    }
    if (t == CEM_FULL || t == CEM_TIED) {
        for (ptrdiff_t m = 0; m < (t == CEM_FULL ? k : 1); m++) {
            for (ptrdiff_t i = 0; i < d; i++) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    prec[m * d * d + i * d + j] = j < i ? 99.0 /* ignored */
                                                 : (j == i ? 1.0 + 0.1 * (double)m
                                                           : 0.05 * sin((double)(i + 2 * j)));
                }
            }
        }
    }
    const cem_model model = {k, d, t, weights, means, prec};
    void *storage = NULL;
    cem_data data = make_layout(layout, x, d, &storage, dense);
    data.sample_weight = sw;
    const ptrdiff_t sl = cem_stats_size(k, d, t), wl = cem_e_step_work_size(k, d, t);
    double *work = malloc(sizeof(double) * (size_t)wl);
    double *stats = calloc((size_t)sl, sizeof(double)), *want = calloc((size_t)sl, sizeof(double));
    double *halves = calloc((size_t)sl, sizeof(double)), *again = calloc((size_t)sl, sizeof(double));
    double resp[WN * WK_MAX], want_resp[WN * WK_MAX], ld[WN], want_ld[WN];

    naive_pass(&model, dense, WN, sw, want, want_resp, want_ld);
    const int ok = cem_e_step(&model, &data, stats, resp, k, ld, work, wl) == CEM_OK;
    CHECK(ok);
    const int close = ok && all_close(stats, want, sl, 1e-10) && all_close(resp, want_resp, WN * k, 1e-11)
                      && all_close(ld, want_ld, WN, 1e-12);
    CHECK(close);
    if (!close) {
        printf("  (wide case k=%ld d=%ld type=%d layout=%d)\n", (long)k, (long)d, t, layout);
    }
    for (ptrdiff_t i = 0; i < WN; i++) {
        double row = 0.0;
        for (ptrdiff_t c = 0; c < k; c++) {
            row += resp[i * k + c];
        }
        if (fabs(row - 1.0) > 1e-14) {
            CHECK(fabs(row - 1.0) <= 1e-14);
            break;
        }
    }
    /* two halves (cut inside a block) add up to the whole */
    cem_data lo = data, hi = data;
    lo.n = 71;
    hi.n = WN - 71;
    hi.x = (const char *)data.x + 71 * data.row_stride;
    hi.sample_weight = sw + 71;
    CHECK(cem_e_step(&model, &lo, halves, NULL, k, NULL, work, wl) == CEM_OK);
    CHECK(cem_e_step(&model, &hi, halves, NULL, k, NULL, work, wl) == CEM_OK);
    CHECK(all_close(halves, stats, sl, 1e-12));
    /* the responsibilities given back; the explicit shift equal to the means */
    CHECK(cem_accumulate(k, t, means, &data, resp, k, again, work, wl) == CEM_OK);
    again[1] = stats[1];
    CHECK(all_close(again, stats, sl, 1e-12));
    memset(again, 0, sizeof(double) * (size_t)sl);
    CHECK(cem_e_step_about(&model, means, &data, again, NULL, k, NULL, work, wl) == CEM_OK);
    CHECK(memcmp(again, stats, sizeof(double) * (size_t)sl) == 0);
    /* the M-step's means are shift + sx / nk */
    double w_out[WK_MAX], m_out[WK_MAX * WD_MAX], c_out[WK_MAX * WD_MAX * WD_MAX];
    double p_out[WK_MAX * WD_MAX * WD_MAX];
    CHECK(cem_m_step(k, d, t, stats, means, 1e-6, w_out, m_out, c_out, p_out) == CEM_OK);
    CLOSE(m_out[d - 1], means[d - 1] + stats[2 + k + d - 1] / (stats[2] + 10 * 2.220446049250313e-16),
          1e-12);
    /* predict: the largest responsibility */
    int64_t labels[WN];
    const ptrdiff_t pl = cem_predict_work_size(k, d, t);
    double *pw = malloc(sizeof(double) * (size_t)pl);
    CHECK(cem_predict(&model, &data, labels, pw, pl) == CEM_OK);
    int agree = 1;
    for (ptrdiff_t i = 0; i < WN; i++) {
        ptrdiff_t best = 0;
        for (ptrdiff_t c = 1; c < k; c++) {
            best = want_resp[i * k + c] > want_resp[i * k + best] ? c : best;
        }
        agree &= labels[i] == best;
    }
    CHECK(agree);
    /* a short fit: the bound of each iteration never decreases */
    const ptrdiff_t fl = cem_fit_work_size(k, d, t);
    double *fw = malloc(sizeof(double) * (size_t)fl);
    double wf[WK_MAX], mf[WK_MAX * WD_MAX], cf[WK_MAX * WD_MAX * WD_MAX], pf[WK_MAX * WD_MAX * WD_MAX];
    double previous = -INFINITY;
    memcpy(wf, weights, sizeof weights);
    memcpy(mf, means, sizeof means);
    memcpy(pf, prec, sizeof prec);
    for (int it = 0; it < 3; it++) {
        ptrdiff_t n_iter;
        int converged;
        double bound;
        CHECK(cem_fit(k, t, &data, 0.0, 1, 1e-6, wf, mf, cf, pf, &n_iter, &converged, &bound, fw,
                      fl) == CEM_OK);
        CHECK(bound >= previous - 1e-12 * fabs(bound));
        if (!(bound >= previous - 1e-12 * fabs(bound))) {
            printf("  bound %.17g after %.17g (k=%ld d=%ld type=%d layout=%d)\n", bound, previous, (long)k, (long)d, t, layout);
        }
        previous = bound;
    }
    free(fw);
    free(pw);
    free(storage);
    free(work);
    free(stats);
    free(want);
    free(halves);
    free(again);
}

static void test_wide_path_every_layout(void)
{
    const ptrdiff_t ds[] = {5, 7, 8, 9, 16, 17, 24};
    for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        for (ptrdiff_t k = 1; k <= WK_MAX; k += 2) {
            for (int t = 0; t < N_TYPES; t++) {
                /* C order, and one other layout in rotation (every layout
                 * meets every type and both k; the valgrind run stays short) */
                check_wide_case(k, ds[i], t, LAYOUT_C);
                check_wide_case(k, ds[i], t, 1 + (int)((i + (size_t)t + (size_t)k) % (N_LAYOUTS - 1)));
            }
        }
    }
    /* and the narrow path through the same checks */
    for (ptrdiff_t d = 1; d <= 4; d++) {
        for (int t = 0; t < N_TYPES; t++) {
            check_wide_case(3, d, t, (int)((d + t) % N_LAYOUTS));
        }
    }
}

/* One EM step from means far from unit-spread data (issue 9, defect 7):
 * the covariance is the data's exactly, although the moments about the
 * starting means cancel in the last 14 digits. */
static void test_fit_from_far_means_is_exact(void)
{
    enum { N = 400 };
    double x[N], work[8192];
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < N; i++) {
        const double h = sin(12.9898 * i) * 43758.5453;
        x[i] = 1e8 + (h - floor(h)) * 3.0;
        mean += x[i] / N;
    }
    for (int i = 0; i < N; i++) {
        var += (x[i] - mean) * (x[i] - mean) / N;
    }
    cem_data data = column(x, N);
    for (int t = 0; t < N_TYPES; t++) {
        double w[1] = {1.0}, m[1] = {-1e7}, cov[1], pc[1] = {1e-8}, bound;
        ptrdiff_t n_iter;
        int converged;
        CHECK(cem_fit(1, t, &data, 0.0, 1, 0.0, w, m, cov, pc, &n_iter, &converged, &bound, work,
                      8192) == CEM_OK);
        CLOSE(m[0], mean, 1e-15);
        CLOSE(cov[0], var, 1e-10);
    }
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
    m2.covariance_type = 6; /* the first value past CEM_TIED_SPHERICAL */
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

    /* all mixture weights 0: no row has a density (cem.h: CEM_ENOWEIGHT) */
    const double zero[2] = {0.0, 0.0};
    m2 = model;
    m2.weights = zero;
    CHECK(cem_e_step(&m2, &data, stats, NULL, 1, NULL, work, 4096) == CEM_ENOWEIGHT);
    int64_t labels[2];
    CHECK(cem_predict(&m2, &data, labels, work, 4096) == CEM_ENOWEIGHT);

    /* shapes whose buffer sizes would overflow are refused, not wrapped */
    const ptrdiff_t huge = PTRDIFF_MAX / 2;
    CHECK(cem_e_step_work_size(huge, 1, CEM_DIAG) == CEM_EINVAL);
    CHECK(cem_e_step_work_size(1 << 20, (ptrdiff_t)1 << 20, CEM_FULL) == CEM_EINVAL);
    CHECK(cem_stats_size(1, huge, CEM_TIED) == CEM_EINVAL);
    CHECK(cem_param_size((ptrdiff_t)1 << 40, 1 << 10, CEM_FULL) == CEM_EINVAL);
    CHECK(cem_fit_work_size(huge, 3, CEM_FULL) == CEM_EINVAL);
    CHECK(cem_predict_work_size(3, huge, CEM_DIAG) == CEM_EINVAL);
    CHECK(cem_accumulate(huge, CEM_DIAG, means, &data, x, huge, stats, work, 4096) == CEM_EINVAL);
    m2 = model;
    m2.k = huge;
    CHECK(cem_e_step(&m2, &data, stats, NULL, huge, NULL, work, 4096) == CEM_EINVAL);
    /* resp rows that would overlap (stride < k) */
    double resp[4];
    const double w2[2] = {0.5, 0.5}, mu2[2] = {0.0, 1.0}, p2[2] = {1.0, 1.0};
    const cem_model two = {2, 1, CEM_DIAG, w2, mu2, p2};
    CHECK(cem_e_step(&two, &data, NULL, resp, 1, NULL, work, 4096) == CEM_EINVAL);
    CHECK(cem_accumulate(2, CEM_DIAG, mu2, &data, resp, 1, stats, work, 4096) == CEM_EINVAL);
    CHECK(cem_stats_zero(1, 1, CEM_DIAG, NULL) == CEM_EINVAL);
    CHECK(cem_precision_cholesky(1, 1, CEM_DIAG, NULL, cov) == CEM_EINVAL);
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

/* The shared variance types pool the DIAG statistics: a pass with the one
 * shared factor gives the same responsibilities as DIAG (SPHERICAL) with
 * that factor copied to every component, and second moments that are the
 * DIAG ones summed over components (and features); the M-step divides the
 * pooled scatter by sum nk' (and d). Narrow and wide paths. */
static void test_shared_variances_pool_the_diag_statistics(void)
{
    enum { N = 90, K = 3, DMAX = 9 };
    const ptrdiff_t ds[2] = {3, DMAX};
    double x[N * DMAX], sw[N];
    for (int i = 0; i < N; i++) {
        sw[i] = 0.25 + (double)(i % 4);
        for (int j = 0; j < DMAX; j++) {
            const double h = sin(3.1 + 12.9898 * i + 78.233 * j) * 43758.5453;
            x[i * DMAX + j] = 3.0 * (i % K) + (h - floor(h)) * (1.0 + j % 3);
        }
    }
    for (int di = 0; di < 2; di++) {
        const ptrdiff_t d = ds[di];
        double xd[N * DMAX];
        for (int i = 0; i < N; i++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                xd[i * d + j] = x[i * DMAX + j];
            }
        }
        cem_data data = {xd, CEM_FLOAT64, N, d, d * (ptrdiff_t)sizeof(double),
                         (ptrdiff_t)sizeof(double), sw};
        const double weights[K] = {0.2, 0.3, 0.5};
        double means[K * DMAX], shared[DMAX], copied[K * DMAX], sph[1] = {0.7}, sph_k[K];
        for (int c = 0; c < K; c++) {
            sph_k[c] = sph[0];
            for (ptrdiff_t j = 0; j < d; j++) {
                means[c * d + j] = 3.0 * c + 0.5 + 0.1 * j;
                shared[j] = 0.6 + 0.1 * (double)j;
                copied[c * d + j] = shared[j];
            }
        }
        for (int spherical = 0; spherical < 2; spherical++) {
            const int own = spherical ? CEM_SPHERICAL : CEM_DIAG;
            const int pooled = spherical ? CEM_TIED_SPHERICAL : CEM_TIED_DIAG;
            const cem_model m_own = {K, d, own, weights, means, spherical ? sph_k : copied};
            const cem_model m_pool = {K, d, pooled, weights, means, spherical ? sph : shared};
            const ptrdiff_t wl = cem_e_step_work_size(K, d, own);
            double *work = malloc(sizeof(double) * (size_t)wl);
            double s_own[2 + K + K * DMAX + K * DMAX] = {0}, s_pool[2 + K + K * DMAX + DMAX] = {0};
            double r_own[N * K], r_pool[N * K], l_own[N], l_pool[N];
            CHECK(cem_e_step_work_size(K, d, pooled) == wl);
            CHECK(cem_e_step(&m_own, &data, s_own, r_own, K, l_own, work, wl) == CEM_OK);
            CHECK(cem_e_step(&m_pool, &data, s_pool, r_pool, K, l_pool, work, wl) == CEM_OK);
            CHECK(memcmp(r_own, r_pool, sizeof r_own) == 0 && memcmp(l_own, l_pool, sizeof l_own) == 0);
            const ptrdiff_t head = 2 + K + K * d; /* total, log-likelihood, nk, sx */
            CHECK(memcmp(s_own, s_pool, sizeof(double) * (size_t)head) == 0);
            const double *sxx = s_own + head;
            double want[DMAX] = {0};
            for (int c = 0; c < K; c++) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    want[spherical ? 0 : j] += spherical ? 0.0 : sxx[c * d + j];
                }
                want[0] += spherical ? sxx[c] : 0.0;
            }
            CHECK(all_close(s_pool + head, want, spherical ? 1 : d, 1e-13));
            /* the M-step: pooled scatter / sum nk' (/ d) + reg_covar */
            double w_out[K], m_out[K * DMAX], cov[DMAX], pc[DMAX], expect[DMAX];
            CHECK(cem_m_step(K, d, pooled, s_pool, means, 1e-3, w_out, m_out, cov, pc) == CEM_OK);
            double n_sum = 0.0;
            for (int c = 0; c < K; c++) {
                n_sum += s_pool[2 + c] + CEM_NK_FLOOR;
            }
            for (ptrdiff_t j = 0; j < (spherical ? 1 : d); j++) {
                double v = s_pool[head + j];
                for (int c = 0; c < K; c++) {
                    const double n_c = s_pool[2 + c] + CEM_NK_FLOOR;
                    for (ptrdiff_t l = 0; l < d; l++) {
                        if (spherical || l == j) {
                            v -= s_pool[2 + K + c * d + l] * s_pool[2 + K + c * d + l] / n_c;
                        }
                    }
                }
                expect[j] = v / n_sum / (spherical ? (double)d : 1.0) + 1e-3;
            }
            CHECK(all_close(cov, expect, spherical ? 1 : d, 1e-13));
            CLOSE(pc[0], 1.0 / sqrt(cov[0]), 1e-15);
            free(work);
        }
    }
}

/* cem_e_step_missing, hand-computed (k = 1, d = 2, full, mean 0,
 * S = [[2, .5], [.5, 1]]): a row with x1 missing has the marginal
 * N(x0 | 0, 2), x_hat1 = S10 / S00 x0 and conditional variance
 * S11 - S10^2 / S00; an empty row scores 0 and weighs nothing; inf and,
 * without the flag, NaN are errors. Scratch allocated to the exact size,
 * so the sanitizers see any overrun. Then wide rows (d = 9) without NaN:
 * the same bits as cem_e_step_about. */
static void test_missing_values(void)
{
    const double det = 1.75, p00 = 1.0 / det, p01 = -0.5 / det, p11 = 2.0 / det;
    const double c = sqrt(p11), b = p01 / c, a = sqrt(p00 - b * b);
    const double u[4] = {a, b, 0.0, c}, weights[1] = {1.0}, means[2] = {0.0, 0.0};
    const cem_model model = {1, 2, CEM_FULL, weights, means, u};
    double x[6] = {1.0, NAN, NAN, NAN, 1.0, 2.0};
    const cem_data data = {x, CEM_FLOAT64, 3, 2, 2 * (ptrdiff_t)sizeof(double),
                           (ptrdiff_t)sizeof(double), NULL};
    const ptrdiff_t wl = cem_e_step_missing_work_size(1, 2, CEM_FULL);
    CHECK(wl > cem_e_step_work_size(1, 2, CEM_FULL));
    double *work = malloc((size_t)wl * sizeof(double));
    double stats[2 + 1 + 2 + 4] = {0}, resp[3], ld[3];
    CHECK(cem_e_step_missing(&model, NULL, &data, stats, resp, 1, ld, work, wl) == CEM_OK);
    CLOSE(ld[0], -0.5 * LOG_2PI - 0.5 * log(2.0) - 0.25, 1e-14);
    CHECK(ld[1] == 0.0);
    CLOSE(ld[2], -LOG_2PI - 0.5 * log(det) - 2.0, 1e-14);
    CHECK(resp[0] == 1.0 && resp[1] == 1.0 && resp[2] == 1.0);
    CHECK(stats[0] == 2.0);
    CLOSE(stats[1], ld[0] + ld[2], 1e-15);
    CLOSE(stats[2], 2.0, 1e-15);
    CLOSE(stats[3], 2.0, 1e-15);
    CLOSE(stats[4], 2.25, 1e-15);
    CLOSE(stats[5], 2.0, 1e-15);
    CLOSE(stats[7], 2.25, 1e-15);
    CLOSE(stats[8], 0.0625 + 0.875 + 4.0, 1e-15);
    CHECK(stats[6] == 0.0); /* the upper triangle stays as zeroed */
    CHECK(cem_e_step_missing(&model, NULL, &data, NULL, resp, 1, ld, work, wl - 1) == CEM_EWORK);
    CHECK(cem_e_step_about(&model, NULL, &data, NULL, resp, 1, ld, work, wl)
          == CEM_ENONFINITE);
    x[0] = INFINITY;
    CHECK(cem_e_step_missing(&model, NULL, &data, NULL, resp, 1, ld, work, wl)
          == CEM_ENONFINITE);
    free(work);

    enum { N = 70, D = 9, K = 2 };
    double xw[N * D], uw[K * D * D] = {0}, mw[K * D], ww[K] = {0.4, 0.6};
    for (int i = 0; i < N * D; i++) {
        xw[i] = sin(1.7 * i) * 2.0;
    }
    for (int c2 = 0; c2 < K; c2++) {
        for (int j = 0; j < D; j++) {
            mw[c2 * D + j] = c2 - 0.5 + 0.1 * j;
            uw[c2 * D * D + j * D + j] = 1.0 + 0.1 * c2;
            if (j + 1 < D) {
                uw[c2 * D * D + j * D + j + 1] = 0.3;
            }
        }
    }
    const cem_model wide = {K, D, CEM_FULL, ww, mw, uw};
    const cem_data wdata = {xw, CEM_FLOAT64, N, D, D * (ptrdiff_t)sizeof(double),
                            (ptrdiff_t)sizeof(double), NULL};
    const ptrdiff_t wwl = cem_e_step_missing_work_size(K, D, CEM_FULL);
    const ptrdiff_t sl = cem_stats_size(K, D, CEM_FULL);
    double *wwork = malloc((size_t)wwl * sizeof(double));
    double *s1 = calloc((size_t)sl, sizeof(double)), *s2 = calloc((size_t)sl, sizeof(double));
    double r1[N * K], r2[N * K];
    CHECK(cem_e_step_about(&wide, NULL, &wdata, s1, r1, K, NULL, wwork, wwl) == CEM_OK);
    CHECK(cem_e_step_missing(&wide, NULL, &wdata, s2, r2, K, NULL, wwork, wwl) == CEM_OK);
    CHECK(memcmp(s1, s2, (size_t)sl * sizeof(double)) == 0);
    CHECK(memcmp(r1, r2, sizeof r1) == 0);
    xw[3 * D + 4] = NAN; /* one value of a full block, then a whole row */
    for (int j = 0; j < D; j++) {
        xw[65 * D + j] = NAN;
    }
    memset(s2, 0, (size_t)sl * sizeof(double));
    CHECK(cem_e_step_missing(&wide, NULL, &wdata, s2, r2, K, NULL, wwork, wwl) == CEM_OK);
    CHECK(s2[0] == (double)(N - 1) && isfinite(s2[1]));
    free(wwork);
    free(s1);
    free(s2);
}

/* cem_e_step_missing with k = 9 components (FULL: the per-row algebra in
 * lanes, one per component, 8 at a time and the rest; wide blocks take
 * x_hat through the accumulation, patched after its fused sweep) against
 * nine passes of one component each: component c
 * alone gives log N_c(x_o); the mixture's log-density and responsibilities
 * follow, and a one-component pass weighted by the responsibilities gives
 * component c's statistics (TIED: their sum is the pooled second moment).
 * Rows with exactly 1, 2 and d - 1 missing values, complete and empty
 * rows, two blocks; narrow (d = 3) and wide (d = 6); exact-size scratch. */
static void test_missing_mixture_from_single_components(void)
{
    enum { N = 90, K = 9, DMAX = 6 };
    const int types[2] = {CEM_FULL, CEM_TIED};
    const ptrdiff_t dims[2] = {3, DMAX};
    for (int ti = 0; ti < 2; ti++) {
        for (int di = 0; di < 2; di++) {
            const int type = types[ti];
            const ptrdiff_t d = dims[di], n_factors = type == CEM_FULL ? K : 1;
            double x[N * DMAX], u[K * DMAX * DMAX] = {0}, mu[K * DMAX];
            const double w[K] = {0.05, 0.15, 0.1, 0.2, 0.05, 0.1, 0.1, 0.15, 0.1};
            const double one[1] = {1.0};
            for (ptrdiff_t f = 0; f < n_factors; f++) {
                for (ptrdiff_t i = 0; i < d; i++) {
                    u[f * d * d + i * d + i] = 0.7 + 0.2 * (double)f + 0.1 * (double)i;
                    for (ptrdiff_t j = i + 1; j < d; j++) {
                        u[f * d * d + i * d + j] = 0.3 * sin((double)(f * 7 + i * 3 + j));
                    }
                }
            }
            for (ptrdiff_t c = 0; c < K; c++) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    mu[c * d + j] = 1.5 * cos((double)(c * 5 + j)) + (double)c;
                }
            }
            for (ptrdiff_t i = 0; i < N; i++) { /* 1, 1, 2, 0, d - 1, d missing, by turns */
                const ptrdiff_t n_missing = i % 6 == 5 ? d : i % 6 == 4 ? d - 1 : i % 6 == 3 ? 0
                                            : i % 6 == 2 ? 2 : 1;
                for (ptrdiff_t j = 0; j < d; j++) {
                    x[i * d + j] = 2.0 * sin(1.3 * (double)(i * d + j)) + (double)(i % K);
                }
                for (ptrdiff_t t = 0; t < n_missing; t++) {
                    x[i * d + (i + t) % d] = NAN;
                }
            }
            const cem_model mix = {K, d, type, w, mu, u};
            const cem_data data = {x, CEM_FLOAT64, N, d, d * (ptrdiff_t)sizeof(double),
                                   (ptrdiff_t)sizeof(double), NULL};
            const ptrdiff_t wl = cem_e_step_missing_work_size(K, d, type);
            const ptrdiff_t wl1 = cem_e_step_missing_work_size(1, d, type);
            const ptrdiff_t sl = cem_stats_size(K, d, type), sl1 = cem_stats_size(1, d, type);
            double *work = malloc((size_t)wl * sizeof(double));
            double *work1 = malloc((size_t)wl1 * sizeof(double));
            double *stats = calloc((size_t)sl, sizeof(double));
            double *want = calloc((size_t)sl, sizeof(double));
            double *s1 = malloc((size_t)sl1 * sizeof(double));
            double resp[N * K], ld[N], ld_c[K][N], r1[N], want_resp[N * K], want_ld[N];
            double sw[N];
            CHECK(cem_e_step_missing(&mix, NULL, &data, stats, resp, K, ld, work, wl) == CEM_OK);
            for (ptrdiff_t c = 0; c < K; c++) {
                const cem_model alone = {1, d, type, one, mu + c * d,
                                         u + (type == CEM_FULL ? c * d * d : 0)};
                CHECK(cem_e_step_missing(&alone, NULL, &data, NULL, r1, 1, ld_c[c], work1, wl1)
                      == CEM_OK);
            }
            for (ptrdiff_t i = 0; i < N; i++) {
                double top = -INFINITY, total = 0.0;
                for (ptrdiff_t c = 0; c < K; c++) {
                    top = fmax(top, log(w[c]) + ld_c[c][i]);
                }
                for (ptrdiff_t c = 0; c < K; c++) {
                    total += exp(log(w[c]) + ld_c[c][i] - top);
                }
                const int empty = i % 6 == 5;
                want_ld[i] = empty ? 0.0 : top + log(total);
                for (ptrdiff_t c = 0; c < K; c++) {
                    want_resp[i * K + c] = empty ? w[c] : exp(log(w[c]) + ld_c[c][i] - want_ld[i]);
                }
            }
            CHECK(all_close(ld, want_ld, N, 1e-13));
            CHECK(all_close(resp, want_resp, N * K, 1e-13));
            for (ptrdiff_t c = 0; c < K; c++) { /* component c's statistics, weighted alone */
                const cem_model alone = {1, d, type, one, mu + c * d,
                                         u + (type == CEM_FULL ? c * d * d : 0)};
                cem_data weighted = data;
                for (ptrdiff_t i = 0; i < N; i++) {
                    sw[i] = resp[i * K + c];
                }
                weighted.sample_weight = sw;
                memset(s1, 0, (size_t)sl1 * sizeof(double));
                CHECK(cem_e_step_missing(&alone, NULL, &weighted, s1, r1, 1, NULL, work1, wl1)
                      == CEM_OK);
                want[2 + c] = s1[2];
                for (ptrdiff_t j = 0; j < d; j++) {
                    want[2 + K + c * d + j] = s1[3 + j];
                }
                double *second = want + 2 + K + K * d + (type == CEM_FULL ? c * d * d : 0);
                for (ptrdiff_t j = 0; j < d * d; j++) {
                    second[j] += s1[3 + d + j];
                }
            }
            CHECK(all_close(stats + 2, want + 2, sl - 2, 1e-12));
            free(work);
            free(work1);
            free(stats);
            free(want);
            free(s1);
        }
    }
}

/* A deterministic uniform in [-4, 4) (a 64-bit LCG, high bits). */
static double lcg_uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*state >> 11) * (8.0 / 9007199254740992.0) - 4.0;
}

/* cem_kmeans_step and cem_kmeanspp_pass against plain loops, for every
 * shape the k-means kernels tile differently (d around the 4-column
 * transpose tiles, k around the 4-center register groups, n around the
 * 64-row blocks and 4-row tiles) and every way rows are read (contiguous
 * float64, float64 rows with a gap, float32, a column-strided view), with
 * and without weights; the scratch is exactly the queried size, so the
 * sanitizers catch any write beyond it. */
static void test_kmeans_kernels_every_shape(void)
{
    enum { MAX_N = 131, MAX_D = 9, MAX_K = 9, GAP = 3 };
    static double x64[MAX_N * (MAX_D + GAP)], xcol[MAX_N * MAX_D * 2];
    static float x32[MAX_N * MAX_D];
    double w[MAX_N], centers[MAX_K * MAX_D], ref_d2[MAX_K];
    const ptrdiff_t ns[] = {1, 3, 5, 63, 64, 65, 131};
    uint64_t state = 7;
    int bad_labels = 0, bad_sums = 0, bad_pots = 0, bad_status = 0;
    for (ptrdiff_t d = 1; d <= MAX_D; d++) {
        for (ptrdiff_t k = 1; k <= MAX_K; k++) {
            for (size_t in = 0; in < sizeof ns / sizeof ns[0]; in++) {
                const ptrdiff_t n = ns[in];
                for (ptrdiff_t i = 0; i < n * (MAX_D + GAP); i++) {
                    x64[i] = lcg_uniform(&state);
                }
                for (ptrdiff_t i = 0; i < n; i++) {
                    w[i] = 0.5 + 0.25 * (double)(i % 5);
                    for (ptrdiff_t j = 0; j < d; j++) {
                        /* float32 values, so every layout holds the same numbers */
                        const float v = (float)x64[i * (d + GAP) + j];
                        x64[i * (d + GAP) + j] = v;
                        x32[i * d + j] = v;
                        xcol[(i * d + j) * 2] = v;
                    }
                }
                for (ptrdiff_t c = 0; c < k * d; c++) {
                    centers[c] = lcg_uniform(&state);
                }
                const ptrdiff_t len = cem_kmeans_work_size(k, d);
                double *work = malloc((size_t)len * sizeof(double));
                cem_data layouts[4] = {
                    {x64, CEM_FLOAT64, n, d, (d + GAP) * (ptrdiff_t)sizeof(double),
                     (ptrdiff_t)sizeof(double), NULL},
                    {x64, CEM_FLOAT64, n, d, d * (ptrdiff_t)sizeof(double),
                     (ptrdiff_t)sizeof(double), NULL},
                    {x32, CEM_FLOAT32, n, d, d * (ptrdiff_t)sizeof(float),
                     (ptrdiff_t)sizeof(float), NULL},
                    {xcol, CEM_FLOAT64, n, d, 2 * d * (ptrdiff_t)sizeof(double),
                     2 * (ptrdiff_t)sizeof(double), NULL},
                };
                for (int lay = 0; lay < 4; lay++) {
                    cem_data data = layouts[lay];
                    if (lay == 1) { /* contiguous: the rows of layout 0, packed */
                        for (ptrdiff_t i = 0; i < n; i++) {
                            for (ptrdiff_t j = 0; j < d; j++) {
                                x64[i * d + j] = (double)x32[i * d + j];
                            }
                        }
                    }
                    for (int weighted = 0; weighted < 2; weighted++) {
                        data.sample_weight = weighted ? w : NULL;
                        double sums[MAX_K * MAX_D] = {0}, counts[MAX_K] = {0}, inertia = 0.0;
                        double r_sums[MAX_K * MAX_D] = {0}, r_counts[MAX_K] = {0}, r_in = 0.0;
                        int32_t labels[MAX_N];
                        int64_t changed = 0;
                        for (ptrdiff_t i = 0; i < n; i++) {
                            labels[i] = -1;
                        }
                        bad_status += cem_kmeans_step(k, centers, &data, sums, counts, &inertia,
                                                      labels, &changed, work, len) != CEM_OK;
                        double closest[MAX_N], pots[MAX_K], r_pots[MAX_K] = {0};
                        for (ptrdiff_t i = 0; i < n; i++) {
                            closest[i] = 4.0 * (double)(i % 7);
                        }
                        bad_status += changed != n;
                        bad_status += cem_kmeanspp_pass(k, centers, &data, closest, 0, pots,
                                                        work, len) != CEM_OK;
                        for (ptrdiff_t i = 0; i < n; i++) {
                            const double wi = weighted ? w[i] : 1.0;
                            ptrdiff_t best = 0;
                            for (ptrdiff_t c = 0; c < k; c++) {
                                ref_d2[c] = 0.0;
                                for (ptrdiff_t j = 0; j < d; j++) {
                                    const double t = (double)x32[i * d + j] - centers[c * d + j];
                                    ref_d2[c] += t * t;
                                }
                                best = ref_d2[c] < ref_d2[best] ? c : best;
                                r_pots[c] += wi * (ref_d2[c] < closest[i] ? ref_d2[c]
                                                                          : closest[i]);
                            }
                            bad_labels += labels[i] != (int32_t)best;
                            r_counts[best] += wi;
                            r_in += wi * ref_d2[best];
                            for (ptrdiff_t j = 0; j < d; j++) {
                                r_sums[best * d + j] += wi * (double)x32[i * d + j];
                            }
                        }
                        for (ptrdiff_t c = 0; c < k; c++) {
                            bad_sums += counts[c] != r_counts[c];
                            for (ptrdiff_t j = 0; j < d; j++) {
                                bad_sums += fabs(sums[c * d + j] - r_sums[c * d + j])
                                            > 1e-12 * (1.0 + fabs(r_sums[c * d + j]));
                            }
                            bad_pots += fabs(pots[c] - r_pots[c]) > 1e-12 * r_pots[c];
                        }
                        bad_sums += fabs(inertia - r_in) > 1e-12 * r_in;
                    }
                }
                free(work);
            }
        }
    }
    CHECK(bad_status == 0);
    CHECK(bad_labels == 0);
    CHECK(bad_sums == 0);
    CHECK(bad_pots == 0);
}

/* ---- the fused narrow pass (d <= 4, k <= 8, statistics only) ---- */

/* A pass that also fills resp runs the unfused narrow kernels: with and
 * without resp, the statistics must be the same bits, for every type, d,
 * k (9: beyond the fused pass), block tail, weights and shift; run once per
 * kernel variant (CEM_KERNELS, see tests/test_embedding.py). */
static void test_fused_narrow_pass_is_the_unfused_pass(void)
{
    enum { FN = 600, FK = 9, FD = 4 };
    /* wide blocks are 64 rows, narrow ones 256 */
    static const ptrdiff_t ns[] = {1, 7, 8, 9, 64, 65, 150, 255, 256, 257, 600};
    static const ptrdiff_t ks[] = {1, 2, 3, 8, 9};
    double x[FN * FD], sw[FN], means[FK * FD], shift[FK * FD], weights[FK];
    double prec[FK * FD * FD], resp[FN * FK];
    for (int i = 0; i < FN * FD; i++) {
        x[i] = 3.0 * sin(0.37 * i + 1.0) + (i % 5);
    }
    for (int i = 0; i < FN; i++) {
        sw[i] = i % 4 == 0 ? 0.0 : 0.5 + 0.01 * i;
    }
    int mismatches = 0, errors = 0;
    for (int t = 0; t < N_TYPES; t++) {
        for (ptrdiff_t d = 1; d <= FD; d++) {
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
                const ptrdiff_t k = ks[ki];
                for (ptrdiff_t c = 0; c < k; c++) {
                    weights[c] = c == 1 ? 0.0 : 1.0 + c; /* component 1 absent */
                    for (ptrdiff_t j = 0; j < d; j++) {
                        means[c * d + j] = 1.5 * c - 2.0 + 0.3 * j;
                        shift[c * d + j] = means[c * d + j] + 0.25;
                    }
                }
                const ptrdiff_t n_prec = cem_param_size(k, d, t);
                memset(prec, 0, sizeof prec);
                if (t == CEM_FULL || t == CEM_TIED) {
                    for (ptrdiff_t c = 0; c < (t == CEM_FULL ? k : 1); c++) {
                        for (ptrdiff_t j = 0; j < d; j++) {
                            prec[c * d * d + j * d + j] = 0.6 + 0.1 * c + 0.05 * j;
                            for (ptrdiff_t l = j + 1; l < d; l++) {
                                prec[c * d * d + j * d + l] = 0.1 * (l - j);
                            }
                        }
                    }
                } else {
                    for (ptrdiff_t i = 0; i < n_prec; i++) {
                        prec[i] = 0.5 + 0.07 * i;
                    }
                }
                const cem_model model = {k, d, t, weights, means, prec};
                const ptrdiff_t wl = cem_e_step_work_size(k, d, t);
                const ptrdiff_t sl = cem_stats_size(k, d, t);
                double *work = malloc((size_t)wl * sizeof(double));
                double *fused = malloc((size_t)sl * sizeof(double));
                double *unfused = malloc((size_t)sl * sizeof(double));
                for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                    for (int variant = 0; variant < 4; variant++) {
                        const int weighted = variant & 1, about = variant & 2;
                        cem_data data = {x, CEM_FLOAT64, ns[ni], d, d * (ptrdiff_t)sizeof(double),
                                         (ptrdiff_t)sizeof(double), weighted ? sw : NULL};
                        if (d == 1 && ni % 2 == 1) { /* a column of a wider matrix */
                            data.row_stride = 2 * (ptrdiff_t)sizeof(double);
                        }
                        const double *s = about ? shift : NULL;
                        memset(fused, 0, (size_t)sl * sizeof(double));
                        memset(unfused, 0, (size_t)sl * sizeof(double));
                        errors += cem_e_step_about(&model, s, &data, fused, NULL, k, NULL, work,
                                                   wl) != CEM_OK;
                        errors += cem_e_step_about(&model, s, &data, unfused, resp, k, NULL, work,
                                                   wl) != CEM_OK;
                        mismatches += memcmp(fused, unfused, (size_t)sl * sizeof(double)) != 0;
                    }
                }
                free(work);
                free(fused);
                free(unfused);
            }
        }
    }
    CHECK(errors == 0);
    CHECK(mismatches == 0);

    /* a non-finite row anywhere in a block: CEM_ENONFINITE, as unfused */
    const double w2[2] = {0.5, 0.5}, m2[2] = {-1.0, 1.0}, p2[2] = {1.0, 2.0};
    const cem_model two = {2, 1, CEM_DIAG, w2, m2, p2};
    const ptrdiff_t wl2 = cem_e_step_work_size(2, 1, CEM_DIAG);
    double *work2 = malloc((size_t)wl2 * sizeof(double));
    double col[300], st[2 + 2 + 2 + 2], r2[600];
    static const double bad[] = {NAN, INFINITY, -INFINITY, 1e300};
    static const int rows[] = {0, 7, 63, 64, 99, 255, 256, 299};
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            for (int i = 0; i < 300; i++) {
                col[i] = sin(i);
            }
            col[rows[r]] = bad[b];
            const cem_data data = column(col, 300);
            memset(st, 0, sizeof st);
            CHECK(cem_e_step(&two, &data, st, NULL, 2, NULL, work2, wl2) == CEM_ENONFINITE);
            CHECK(cem_e_step(&two, &data, st, r2, 2, NULL, work2, wl2) == CEM_ENONFINITE);
        }
    }
    free(work2);
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
    test_kmeans_kernels_every_shape();
    test_argument_checking();
    test_fit_batch();
    test_column_view_reads_only_its_columns();
    test_wide_path_every_layout();
    test_fit_from_far_means_is_exact();
    test_shared_variances_pool_the_diag_statistics();
    test_missing_values();
    test_missing_mixture_from_single_components();
    test_fused_narrow_pass_is_the_unfused_pass();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
