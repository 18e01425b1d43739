/*
 * fuzz_core.c -- a fuzz target over the public C API (cem.h): the input
 * bytes decode to a model shape (k, d, covariance type), a data layout
 * (dtype, C or Fortran order, negative or zero row stride, a column-offset
 * view), sample weights, data values (including NaN, infinities and huge
 * values) and parameters; then cem_e_step, cem_e_step_about,
 * cem_e_step_missing, cem_accumulate, cem_m_step, cem_predict and cem_fit
 * run on them.
 *
 * Every buffer is allocated to its exact size, so a read or write outside
 * what the call was told about is caught by AddressSanitizer. Every call
 * must return a known status, and successful calls must keep invariants:
 * responsibilities in [0, 1] summing to 1, sum_c nk_c = total weight, the
 * statistics of all rows = those of two halves added, M-step weights
 * summing to 1, labels in [0, k).
 *
 * Build with libFuzzer (clang -fsanitize=fuzzer,address,undefined) or with
 * tests/fuzz/driver.c under any compiler (see tests/test_fuzz.py).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cem.h"

/* a value no cem_covariance_type has */
enum { INVALID_TYPE = CEM_TIED_SPHERICAL + 1 };

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

typedef struct {
    const uint8_t *p;
    size_t left;
} reader;

static unsigned byte(reader *r)
{
    if (r->left == 0) {
        return 0;
    }
    r->left--;
    return *r->p++;
}

/* A double from two bytes: mostly moderate values, sometimes extremes. */
static double value(reader *r)
{
    const unsigned a = byte(r), b = byte(r);
    switch (a >> 5) {
    case 0:
        return NAN + 0.0 * b; /* rare specials share one case */
    case 1:
        return b < 128 ? (b < 64 ? INFINITY : -INFINITY) : (b - 192) * 1e300;
    case 2:
        return ((int)b - 128) * 1e7 + (a & 31);
    default:
        return ((int)b - 128) / 16.0 + (a & 31) / 64.0;
    }
}

static double positive(reader *r)
{
    const unsigned a = byte(r);
    return a == 0 ? 0.0 : (a == 255 ? 1e-300 : a / 32.0);
}

static int known_status(int s)
{
    return s == CEM_OK || s == CEM_EINVAL || s == CEM_ENOTPD || s == CEM_ENONFINITE
           || s == CEM_EWORK || s == CEM_ENOWEIGHT;
}

#define REQUIRE(cond)                                                                  \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "fuzz_core: invariant failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

static double *alloc_doubles(ptrdiff_t n)
{
    return malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
}

/* The missing-value pass on the same input (NaN now means "not observed";
 * its scratch allocated to the exact size, so the sanitizers see any
 * overrun): never a crash; responsibilities that sum to 1, finite
 * log-densities, no more weight than the rows carry; and without NaN in
 * the rows the complete pass's statistics bit for bit (`complete`, or NULL
 * when that pass failed). */
static void fuzz_missing_values(const cem_model *model, const cem_data *data,
                                const double *complete, ptrdiff_t stats_len)
{
    const ptrdiff_t k = model->k, n = data->n;
    const ptrdiff_t len = cem_e_step_missing_work_size(k, model->d, model->covariance_type);
    if (len < 0 || data->d != model->d || n < 0) {
        return;
    }
    int any_nan = 0;
    for (ptrdiff_t i = 0; i < n; i++) {
        for (ptrdiff_t j = 0; j < data->d; j++) {
            const char *e = (const char *)data->x + i * data->row_stride + j * data->col_stride;
            const double v = data->dtype == CEM_FLOAT64 ? *(const double *)e
                                                        : (double)*(const float *)e;
            any_nan |= v != v;
        }
    }
    double *work = alloc_doubles(len), *stats = calloc((size_t)stats_len, sizeof(double));
    double *resp = alloc_doubles(n * k), *log_density = alloc_doubles(n);
    const int s = cem_e_step_missing(model, NULL, data, stats, resp, k, log_density, work, len);
    REQUIRE(known_status(s) && s != CEM_EWORK);
    if (s == CEM_OK) {
        double total = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double row = 0.0;
            for (ptrdiff_t c = 0; c < k; c++) {
                REQUIRE(resp[i * k + c] >= 0.0 && resp[i * k + c] <= 1.0);
                row += resp[i * k + c];
            }
            REQUIRE(fabs(row - 1.0) <= 1e-12);
            REQUIRE(isfinite(log_density[i]));
            total += data->sample_weight != NULL ? data->sample_weight[i] : 1.0;
        }
        REQUIRE(stats[0] <= total * (1.0 + 1e-12) + 1e-300);
        if (!any_nan && complete != NULL) {
            for (ptrdiff_t i = 0; i < stats_len; i++) {
                REQUIRE(stats[i] == complete[i]
                        || (stats[i] != stats[i] && complete[i] != complete[i]));
            }
        }
    }
    free(work);
    free(stats);
    free(resp);
    free(log_density);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    reader r = {bytes, size};
    const ptrdiff_t k = 1 + byte(&r) % 6, d = 1 + byte(&r) % 24;
    /* byte % 5: FULL, TIED, DIAG, SPHERICAL or an invalid type; a quarter of
     * the DIAG / SPHERICAL bytes (chosen so the seed corpus keeps its
     * types) mean TIED_DIAG / TIED_SPHERICAL */
    const unsigned type_byte = byte(&r);
    int cov = (int)(type_byte % 5) == 4 ? INVALID_TYPE : (int)(type_byte % 5);
    if ((cov == CEM_DIAG || cov == CEM_SPHERICAL) && (type_byte / 5) % 4 == 1) {
        cov += CEM_TIED_DIAG - CEM_DIAG;
    }
    const unsigned layout = byte(&r);
    const ptrdiff_t n = byte(&r) % 150;
    const int f32 = layout & 1, fortran = (layout >> 1) & 1, negative = (layout >> 2) & 1;
    const int zero_stride = (layout >> 3) & 1, weighted = (layout >> 4) & 1;
    const ptrdiff_t offset = (layout >> 5) & 7; /* columns before the view */
    const ptrdiff_t cols = d + offset, item = f32 ? 4 : 8;
    const ptrdiff_t stored_rows = zero_stride ? (n > 0 ? 1 : 0) : n;

    /* the array the view lives in: exactly stored_rows x cols elements */
    char *buf = malloc((size_t)(stored_rows * cols * item) + 1);
    for (ptrdiff_t i = 0; i < stored_rows * cols; i++) {
        const double v = value(&r);
        if (f32) {
            const float f = (float)v;
            memcpy(buf + i * item, &f, sizeof f);
        } else {
            memcpy(buf + i * item, &v, sizeof v);
        }
    }
    cem_data data;
    data.dtype = f32 ? CEM_FLOAT32 : CEM_FLOAT64;
    data.n = n;
    data.d = d;
    data.sample_weight = NULL;
    if (fortran) { /* element (i, j) at (j * stored_rows + i) */
        data.row_stride = zero_stride ? 0 : item;
        data.col_stride = stored_rows * item;
    } else {
        data.row_stride = zero_stride ? 0 : cols * item;
        data.col_stride = item;
    }
    const char *first = buf + offset * (fortran ? stored_rows * item : item);
    if (negative && !zero_stride && n > 0) { /* rows in reverse: start at the last */
        first += (n - 1) * data.row_stride;
        data.row_stride = -data.row_stride;
    }
    data.x = n > 0 ? first : NULL;
    double *sw = NULL;
    if (weighted) {
        sw = alloc_doubles(n);
        for (ptrdiff_t i = 0; i < n; i++) {
            sw[i] = positive(&r);
        }
        data.sample_weight = sw;
    }

    /* the model */
    const int ct = cov != INVALID_TYPE ? cov : CEM_FULL;
    double *weights = alloc_doubles(k), *means = alloc_doubles(k * d), *shift = alloc_doubles(k * d);
    const ptrdiff_t n_param = cem_param_size(k, d, ct);
    double *prec = alloc_doubles(n_param);
    for (ptrdiff_t c = 0; c < k; c++) {
        weights[c] = positive(&r);
    }
    for (ptrdiff_t i = 0; i < k * d; i++) {
        means[i] = value(&r);
        shift[i] = means[i] + ((int)byte(&r) - 128) / 8.0;
    }
    if (ct == CEM_FULL || ct == CEM_TIED) {
        const ptrdiff_t mats = ct == CEM_FULL ? k : 1;
        for (ptrdiff_t m = 0; m < mats; m++) {
            for (ptrdiff_t i = 0; i < d; i++) {
                for (ptrdiff_t j = 0; j < d; j++) {
                    double *e = prec + m * d * d + i * d + j;
                    *e = j < i ? NAN /* ignored below the diagonal */
                               : (j == i ? positive(&r) : ((int)byte(&r) - 128) / 256.0);
                }
            }
        }
    } else {
        for (ptrdiff_t i = 0; i < n_param; i++) {
            prec[i] = positive(&r);
        }
    }
    const cem_model model = {k, d, cov, weights, means, prec};

    const ptrdiff_t work_len = cem_e_step_work_size(k, d, ct);
    const ptrdiff_t stats_len = cem_stats_size(k, d, ct);
    REQUIRE(work_len > 0 && stats_len > 0);
    const ptrdiff_t pred_len = cem_predict_work_size(k, d, ct);
    const ptrdiff_t fit_len = cem_fit_work_size(k, d, ct);
    double *work = alloc_doubles(work_len), *pred_work = alloc_doubles(pred_len);
    double *fit_work = alloc_doubles(fit_len);
    double *stats = calloc((size_t)stats_len, sizeof(double));
    double *half = calloc((size_t)stats_len, sizeof(double));
    double *resp = alloc_doubles(n * k), *log_density = alloc_doubles(n);
    int64_t *labels = malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));

    int s = cem_e_step(&model, &data, stats, resp, k, log_density, work, work_len);
    REQUIRE(known_status(s));
    if (cov == INVALID_TYPE) {
        REQUIRE(s == CEM_EINVAL);
    }
    fuzz_missing_values(&model, &data, s == CEM_OK ? stats : NULL, stats_len);
    if (s == CEM_OK) {
        double total = 0.0, nk_sum = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            double row = 0.0;
            for (ptrdiff_t c = 0; c < k; c++) {
                const double v = resp[i * k + c];
                REQUIRE(v >= 0.0 && v <= 1.0);
                row += v;
            }
            REQUIRE(fabs(row - 1.0) <= 1e-12);
            REQUIRE(isfinite(log_density[i]));
            total += sw != NULL ? sw[i] : 1.0;
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            nk_sum += stats[2 + c];
        }
        REQUIRE(fabs(stats[0] - total) <= 1e-12 * (total + 1.0));
        REQUIRE(fabs(nk_sum - total) <= 1e-9 * (total + 1.0));

        /* two halves add up to the whole (exactly in count and weight,
         * closely in the moments; compared only where finite) */
        cem_data lo = data, hi = data;
        lo.n = n / 2;
        hi.n = n - n / 2;
        hi.x = n - n / 2 > 0 ? (const char *)data.x + (n / 2) * data.row_stride : NULL;
        lo.x = n / 2 > 0 ? data.x : NULL;
        if (sw != NULL) {
            hi.sample_weight = sw + n / 2;
        }
        REQUIRE(cem_e_step(&model, &lo, half, NULL, k, NULL, work, work_len) == CEM_OK);
        REQUIRE(cem_e_step(&model, &hi, half, NULL, k, NULL, work, work_len) == CEM_OK);
        for (ptrdiff_t c = 0; c < k; c++) {
            REQUIRE(fabs(half[2 + c] - stats[2 + c]) <= 1e-9 * (total + 1.0));
        }

        /* the same responsibilities given back: the same counts */
        double *again = calloc((size_t)stats_len, sizeof(double));
        s = cem_accumulate(k, ct, means, &data, n > 0 ? resp : NULL, k, again, work, work_len);
        REQUIRE(s == CEM_OK);
        for (ptrdiff_t c = 0; c < k; c++) {
            REQUIRE(fabs(again[2 + c] - stats[2 + c]) <= 1e-12 * (total + 1.0));
        }
        free(again);

        /* moments about another shift: same counts, same likelihood */
        memset(half, 0, sizeof(double) * (size_t)stats_len);
        s = cem_e_step_about(&model, shift, &data, half, NULL, k, NULL, work, work_len);
        REQUIRE(s == CEM_OK);
        REQUIRE(half[1] == stats[1]);
        for (ptrdiff_t c = 0; c < k; c++) {
            REQUIRE(half[2 + c] == stats[2 + c]);
        }

        double *w_out = alloc_doubles(k), *m_out = alloc_doubles(k * d);
        double *c_out = alloc_doubles(n_param), *p_out = alloc_doubles(n_param);
        s = cem_m_step(k, d, ct, stats, means, 1e-6, w_out, m_out, c_out, p_out);
        REQUIRE(known_status(s) && s != CEM_EWORK);
        if (s == CEM_OK) {
            double wsum = 0.0;
            for (ptrdiff_t c = 0; c < k; c++) {
                REQUIRE(w_out[c] >= 0.0);
                wsum += w_out[c];
            }
            REQUIRE(fabs(wsum - 1.0) <= 1e-12);
            for (ptrdiff_t i = 0; i < n_param; i++) {
                REQUIRE(isfinite(c_out[i]) && isfinite(p_out[i]));
            }
        }
        free(w_out);
        free(m_out);
        free(c_out);
        free(p_out);

        s = cem_predict(&model, &data, labels, pred_work, pred_len);
        REQUIRE(s == CEM_OK);
        for (ptrdiff_t i = 0; i < n; i++) {
            REQUIRE(labels[i] >= 0 && labels[i] < k);
        }
    } else {
        REQUIRE(known_status(cem_predict(&model, &data, labels, pred_work, pred_len)));
    }
    /* too little work is always refused */
    REQUIRE(cem_e_step(&model, &data, NULL, NULL, k, NULL, work, work_len - 1) == CEM_EWORK
            || cov == INVALID_TYPE);

    /* a short fit from these parameters (copies: cem_fit writes them) */
    if (cov != INVALID_TYPE) {
        double *w_fit = alloc_doubles(k), *m_fit = alloc_doubles(k * d);
        double *c_fit = alloc_doubles(n_param), *p_fit = alloc_doubles(n_param);
        memcpy(w_fit, weights, sizeof(double) * (size_t)k);
        memcpy(m_fit, means, sizeof(double) * (size_t)(k * d));
        memcpy(p_fit, prec, sizeof(double) * (size_t)n_param);
        ptrdiff_t n_iter = -1;
        int converged = -1;
        double bound = 0.0;
        s = cem_fit(k, ct, &data, 1e-3, 3, 1e-6, w_fit, m_fit, c_fit, p_fit, &n_iter, &converged,
                    &bound, fit_work, fit_len);
        REQUIRE(known_status(s) && s != CEM_EWORK);
        if (s == CEM_OK) {
            REQUIRE(n_iter >= 1 && n_iter <= 3 && (converged == 0 || converged == 1));
        }
        free(w_fit);
        free(m_fit);
        free(c_fit);
        free(p_fit);
    }

    free(buf);
    free(sw);
    free(weights);
    free(means);
    free(shift);
    free(prec);
    free(work);
    free(pred_work);
    free(fit_work);
    free(stats);
    free(half);
    free(resp);
    free(log_density);
    free(labels);
    return 0;
}
