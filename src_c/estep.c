/*
 * estep.c -- the fused pass: for each block of rows, the log-densities of
 * every component, the log-sum-exp, the responsibilities and their
 * accumulation into sufficient statistics (accumulate.c), all while the
 * block is in cache. Also the pass's scratch layout, described once
 * (cem_pass_layout). The inner loops live in kernels.inc.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "missing.h"

#define CEM_LOG_2PI 1.8378770664093454835606594728112

/* Doubles of padded precision factors the pass prepares once per call. */
static ptrdiff_t factor_size(ptrdiff_t k, ptrdiff_t ld, int covariance_type)
{
    switch (covariance_type) {
    case CEM_FULL:
        return k * ld * ld;
    case CEM_TIED:
        return ld * ld;
    default:
        return k * ld;
    }
}

ptrdiff_t cem_pass_layout(double *work, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                          cem_pass_work *w)
{
    const ptrdiff_t B = cem_block_rows(d), ld = cem_padded(d);
    /* narrow blocks are [d][B]; wdif and gathered serve wide passes only */
    const int narrow = d <= CEM_NARROW_MAX_D;
    const ptrdiff_t rows_len = narrow ? d * B : B * ld, wide_len = narrow ? 0 : B * ld;
    ptrdiff_t used = 0;
    /* each field in turn: its place in work (NULL when only sizing), its length */
#define CEM_TAKE(field, len) (w->field = work != NULL ? work + used : NULL, used += (len))
    CEM_TAKE(block, rows_len);
    CEM_TAKE(dif, rows_len);
    CEM_TAKE(wdif, wide_len);
    CEM_TAKE(gathered, wide_len);
    CEM_TAKE(log_resp, B * k);
    CEM_TAKE(row_weight, B);
    CEM_TAKE(quad, B);
    CEM_TAKE(row_max, B);
    CEM_TAKE(row_sum, B);
    CEM_TAKE(row_scratch, B);
    CEM_TAKE(log_w, k);
    CEM_TAKE(log_det, k);
    CEM_TAKE(sx_row, ld);
    CEM_TAKE(sq_row, ld);
    CEM_TAKE(shift_pad, k * ld);
    CEM_TAKE(mean_pad, k * ld);
    CEM_TAKE(factor, factor_size(k, ld, covariance_type));
    CEM_TAKE(tied_center, ld);
    CEM_TAKE(tied_offset, k * ld);
    CEM_TAKE(ones, ld);
    CEM_TAKE(tied_anchor, B);
    CEM_TAKE(tied_pair_weight, k * k);
    CEM_TAKE(narrow_base, k);
#undef CEM_TAKE
    w->rows = w->block;
    return used;
}

ptrdiff_t cem_e_step_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (!cem_valid_shape(k, d) || !cem_valid_covariance_type(covariance_type)) {
        return CEM_EINVAL;
    }
    cem_pass_work w;
    return cem_pass_layout(NULL, k, d, covariance_type, &w);
}

static void pad_shift(const double *shift, ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld, double *out)
{
    for (ptrdiff_t c = 0; c < k; c++) {
        for (ptrdiff_t j = 0; j < ld; j++) {
            out[c * ld + j] = j < d ? shift[c * d + j] : 0.0;
        }
    }
}

/* The wide tied log-densities' common center s (the mean of the shifts),
 * the ones row, and the offsets b_c = (shift_c - s) U for the padded
 * factor U. */
static void tied_center_start(ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld, const double *shift,
                              const double *up, cem_pass_work *w)
{
    for (ptrdiff_t j = 0; j < ld; j++) {
        double s = 0.0;
        for (ptrdiff_t c = 0; c < k && j < d; c++) {
            s += shift[c * d + j];
        }
        w->tied_center[j] = j < d ? s / (double)k : 0.0;
        w->ones[j] = j < d ? 1.0 : 0.0;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        double *b = w->tied_offset + c * ld;
        for (ptrdiff_t j = 0; j < ld; j++) {
            double t = 0.0;
            for (ptrdiff_t i = 0; i <= j && j < d; i++) {
                t += (shift[c * d + i] - w->tied_center[i]) * up[i * ld + j];
            }
            b[j] = t;
        }
    }
}

/* Rows [i0, i0 + nb) into w->rows, in the layout of the pass's width. */
static void load(const cem_kernels *kern, const cem_data *data, ptrdiff_t i0, ptrdiff_t nb,
                 ptrdiff_t ld, cem_pass_work *w)
{
    if (data->d <= CEM_NARROW_MAX_D) {
        cem_load_block_t(kern, data, i0, nb, CEM_NARROW_BLOCK_ROWS, w->block);
        w->rows = w->block;
    } else {
        w->rows = cem_load_block(data, i0, nb, ld, w->block);
    }
}

static int check_model(const cem_model *m)
{
    if (m == NULL || !cem_valid_shape(m->k, m->d) || !cem_valid_covariance_type(m->covariance_type)) {
        return CEM_EINVAL;
    }
    if (m->weights == NULL || m->means == NULL || m->prec_chol == NULL) {
        return CEM_EINVAL;
    }
    return CEM_OK;
}

/* Log weights, log dets and padded factors of the model; CEM_EINVAL if a
 * weight is negative or not finite or a factor has a diagonal entry that
 * is not > 0; CEM_ENOWEIGHT if all weights are 0 (no row has a density). */
static int prepare_model(const cem_model *m, ptrdiff_t ld, cem_pass_work *w)
{
    const ptrdiff_t k = m->k, d = m->d;
    int any_positive = 0;
    memset(w->factor, 0, (size_t)factor_size(k, ld, m->covariance_type) * sizeof(double));
    for (ptrdiff_t c = 0; c < k; c++) {
        const double weight = m->weights[c];
        if (!(weight >= 0.0) || !isfinite(weight)) {
            return CEM_EINVAL;
        }
        any_positive |= weight > 0.0;
        w->log_w[c] = log(weight); /* -inf for an absent component: its density is 0 */
    }
    const int matrix = cem_matrix_type(m->covariance_type);
    const int shared = cem_shared_type(m->covariance_type); /* one factor, all components */
    const ptrdiff_t n_factors = shared ? 1 : k;
    for (ptrdiff_t c = 0; c < n_factors; c++) {
        double log_det = 0.0;
        if (matrix) {
            const double *u = m->prec_chol + c * d * d;
            double *up = w->factor + c * ld * ld;
            for (ptrdiff_t i = 0; i < d; i++) {
                if (!(u[i * d + i] > 0.0) || !isfinite(u[i * d + i])) {
                    return CEM_EINVAL;
                }
                log_det += log(u[i * d + i]);
                for (ptrdiff_t j = i; j < d; j++) { /* entries below the diagonal stay 0 */
                    up[i * ld + j] = u[i * d + j];
                }
            }
        } else {
            double *p = w->factor + c * ld;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double v = cem_per_feature_type(m->covariance_type)
                                     ? m->prec_chol[c * d + j] : m->prec_chol[c];
                if (!(v > 0.0) || !isfinite(v)) {
                    return CEM_EINVAL;
                }
                p[j] = v;
                log_det += log(v);
            }
        }
        w->log_det[c] = log_det;
    }
    if (shared) {
        for (ptrdiff_t c = 1; c < k; c++) {
            w->log_det[c] = w->log_det[0];
        }
    }
    return any_positive ? CEM_OK : CEM_ENOWEIGHT;
}

/* Log-densities log_resp[c][r] of the block's nb rows under every
 * component; and, when quad_keep is not NULL, each component's squared
 * Mahalanobis distances in quad_keep[c][r] (the missing-data path starts
 * from them). */
static void log_densities(const cem_kernels *kern, const cem_model *m, ptrdiff_t nb,
                          ptrdiff_t ld, cem_pass_work *w, double *quad_keep)
{
    const ptrdiff_t k = m->k, d = m->d, nb8 = cem_round_rows(nb), B = cem_block_rows(d);
    const double norm = -0.5 * (double)d * CEM_LOG_2PI;
    const int triangular = cem_matrix_type(m->covariance_type);
    if (cem_tied_wide(m->covariance_type, d)) { /* Y = (X - s) U once; then ||Y - b_c||^2 */
        kern->block_diff(w->rows, nb8, ld, w->tied_center, w->dif);
        kern->tri_product(w->dif, nb8, d, ld, w->factor, w->wdif);
        for (ptrdiff_t c = 0; c < k; c++) {
            kern->quad_diag(w->wdif, nb8, ld, w->tied_offset + c * ld, w->ones, w->quad);
            if (quad_keep != NULL) {
                memcpy(quad_keep + c * B, w->quad, (size_t)nb8 * sizeof(double));
            }
            const double base = w->log_w[c] + w->log_det[c] + norm;
            kern->log_density_row(w->quad, base, nb8, w->log_resp + c * B);
        }
        return;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *mu = m->means + c * d;
        const ptrdiff_t f = cem_shared_type(m->covariance_type) ? 0 : c; /* its factor */
        if (d <= CEM_NARROW_MAX_D) {
            if (triangular) {
                kern->narrow_quad_full(w->rows, nb8, d, B, mu, m->prec_chol + f * d * d, w->quad,
                                       w->row_scratch);
            } else {
                kern->narrow_quad_diag(w->rows, nb8, d, B, mu, w->factor + f * ld, w->quad);
            }
        } else {
            if (triangular) {
                kern->block_diff(w->rows, nb8, ld, w->mean_pad + c * ld, w->dif);
                kern->quad_full(w->dif, nb8, d, ld, w->factor + f * ld * ld, w->quad);
            } else {
                kern->quad_diag(w->rows, nb8, ld, w->mean_pad + c * ld, w->factor + f * ld,
                                w->quad);
            }
        }
        if (quad_keep != NULL) {
            memcpy(quad_keep + c * B, w->quad, (size_t)nb8 * sizeof(double));
        }
        const double base = w->log_w[c] + w->log_det[c] + norm;
        kern->log_density_row(w->quad, base, nb8, w->log_resp + c * B);
    }
}

/* Adds the block's row weights to *sum (nb exactly without weights);
 * CEM_EINVAL for a negative or non-finite weight. *unit (unless NULL): no
 * weights, or every weight exactly 1. */
static int block_weight(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, double *sum,
                        int *unit)
{
    if (data->sample_weight == NULL) {
        *sum += (double)nb;
        if (unit != NULL) {
            *unit = 1;
        }
        return CEM_OK;
    }
    const double *sw = data->sample_weight + i0;
    int bad = 0, ones = 1;
    for (ptrdiff_t r = 0; r < nb; r++) {
        bad |= !(sw[r] >= 0.0) || !isfinite(sw[r]);
        ones &= sw[r] == 1.0;
    }
    *sum += cem_lane_sum(sw, nb);
    if (unit != NULL) {
        *unit = ones;
    }
    return bad ? CEM_EINVAL : CEM_OK;
}

/* sum_r log p(x_r) over a block's nb unweighted rows from their maxima
 * row_max and sums of exponentials row_sum (log p(x_r) = row_max[r] +
 * log row_sum[r]), in the fused kernel's order (narrow_block): row r in
 * lane r % 8, each lane the sum of its rows' maxima plus the log of the
 * product of their sums (one log per lane, not per row: each sum is in
 * [1, k], a lane's B / 8 rows, at most 32, multiply to at most k^32,
 * finite for every k cem_valid_shape allows, < 2^29), the lanes added
 * pairwise. */
static double block_log_likelihood(const cem_kernels *kern, const double *row_max,
                                   const double *row_sum, ptrdiff_t nb)
{
    double max_sum[8] = {0}, product[8], zero[8] = {0}, log_product[8];
    for (int t = 0; t < 8; t++) {
        product[t] = 1.0;
    }
    for (ptrdiff_t r = 0; r < nb; r++) {
        max_sum[r & 7] += row_max[r];
        product[r & 7] *= row_sum[r];
    }
    kern->log_sum_t(zero, product, 8, log_product); /* 0 + log P: log P exactly */
    for (int t = 0; t < 8; t++) {
        max_sum[t] += log_product[t];
    }
    return cem_pairwise8(max_sum);
}

/* The pass's fixed state: kernels, shape, shift, scratch laid out in work. */
static cem_pass start_pass(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *shift,
                           double *work)
{
    cem_pass p;
    p.kern = cem_select_kernels();
    p.k = k;
    p.d = d;
    p.ld = cem_padded(d);
    p.covariance_type = covariance_type;
    p.shift = shift;
    cem_pass_layout(work, k, d, covariance_type, &p.w);
    pad_shift(shift, k, d, p.ld, p.w.shift_pad);
    p.n_patch = 0;
    p.patch_at = NULL;
    p.patch_delta = NULL;
    return p;
}

int cem_e_step(const cem_model *model, const cem_data *data,
               double *stats, double *resp, ptrdiff_t resp_stride,
               double *log_density, double *work, ptrdiff_t work_len)
{
    return cem_e_step_about(model, NULL, data, stats, resp, resp_stride, log_density, work,
                            work_len);
}

ptrdiff_t cem_e_step_missing_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    const ptrdiff_t pass_len = cem_e_step_work_size(k, d, covariance_type);
    if (pass_len < 0) {
        return pass_len;
    }
    cem_missing_work mw;
    return pass_len + cem_missing_layout(NULL, k, d, covariance_type, &mw);
}

/* The pass of cem_e_step_about and, with `missing`, of cem_e_step_missing:
 * the same loop; the missing-data path (missing.c) only ever runs on a
 * block that holds a NaN. */
static int e_step_pass(const cem_model *model, const double *shift, const cem_data *data,
                       double *stats, double *resp, ptrdiff_t resp_stride,
                       double *log_density, double *work, ptrdiff_t work_len, int missing)
{
    int status = check_model(model);
    if (status != CEM_OK) {
        return status;
    }
    const ptrdiff_t k = model->k, d = model->d, B = cem_block_rows(d);
    if (cem_check_data(data, d) != CEM_OK || (resp != NULL && resp_stride < k) || work == NULL) {
        return CEM_EINVAL;
    }
    const ptrdiff_t pass_len = cem_e_step_work_size(k, d, model->covariance_type);
    if (work_len < (missing ? cem_e_step_missing_work_size(k, d, model->covariance_type)
                            : pass_len)) {
        return CEM_EWORK;
    }
    cem_pass p = start_pass(k, d, model->covariance_type,
                            shift != NULL ? shift : model->means, work);
    cem_pass_work *w = &p.w;
    pad_shift(model->means, k, d, p.ld, w->mean_pad);
    const cem_kernels *kern = p.kern;
    status = prepare_model(model, p.ld, w);
    if (status != CEM_OK) {
        return status;
    }
    const int tied = cem_tied_wide(model->covariance_type, d);
    if (tied) {
        tied_center_start(k, d, p.ld, model->means, w->factor, w);
        cem_accumulate_tied_start(&p);
    }
    cem_missing_work mw;
    if (missing) {
        cem_missing_layout(work + pass_len, k, d, model->covariance_type, &mw);
        cem_missing_start(&p, &mw);
    }
    /* The fit's pass (statistics only, d and k small): one fused kernel per
     * block, the same bits as the unfused kernels below. */
    const int fused = kern->narrow_block != NULL && d <= CEM_NARROW_MAX_D
                      && k <= CEM_FUSED_MAX_K && stats != NULL && resp == NULL
                      && log_density == NULL;
    cem_narrow_model narrow;
    if (fused) {
        const double norm = -0.5 * (double)d * CEM_LOG_2PI;
        for (ptrdiff_t c = 0; c < k; c++) {
            w->narrow_base[c] = w->log_w[c] + w->log_det[c] + norm;
        }
        const int shared = cem_shared_type(model->covariance_type);
        narrow.k = k;
        narrow.d = d;
        narrow.covariance_type = model->covariance_type;
        narrow.means = model->means;
        narrow.shift = p.shift;
        if (cem_matrix_type(model->covariance_type)) {
            narrow.factor = model->prec_chol;
            narrow.factor_step = shared ? 0 : d * d;
        } else {
            narrow.factor = w->factor;
            narrow.factor_step = shared ? 0 : p.ld;
        }
        narrow.base = w->narrow_base;
    }
    double weight_sum = 0.0, ll_sum = 0.0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B, nb8 = cem_round_rows(nb);
        /* unit weights (every one exactly 1) are summed as no weights, so
         * that their bits are the unweighted pass's: the log-likelihood is
         * summed differently with and without weights (block_log_likelihood) */
        int unit;
        if (block_weight(data, i0, nb, &weight_sum, &unit) != CEM_OK) {
            return CEM_EINVAL;
        }
        /* one contiguous float64 column, whole lanes: the rows are already
         * the narrow layout, read in place */
        const int in_place = fused && !missing && d == 1 && data->dtype == CEM_FLOAT64
                             && data->row_stride == (ptrdiff_t)sizeof(double) && nb == nb8;
        if (in_place) {
            w->rows = (const double *)data->x + i0;
            cem_prefetch_rows(data, i0 + nb, nb);
        } else {
            load(p.kern, data, i0, nb, p.ld, w);
        }
        const ptrdiff_t n_marked = missing ? cem_missing_mark(&p, nb, &mw) : 0;
        if (fused && n_marked == 0) {
            status = kern->narrow_block(&narrow, w->rows, B, nb,
                                        unit ? NULL : data->sample_weight + i0, stats,
                                        &ll_sum);
            if (status != CEM_OK) {
                return status;
            }
            continue;
        }
        log_densities(kern, model, nb, p.ld, w, n_marked > 0 ? mw.quad : NULL);
        if (n_marked > 0) {
            status = cem_missing_rows(&p, model, data, i0, nb, &mw, stats);
            if (status != CEM_OK) {
                return status;
            }
        }
        /* shift each row by its max so exp never overflows and the largest term is 1 */
        kern->row_max_t(w->log_resp, nb8, k, B, w->row_max);
        for (ptrdiff_t r = 0; r < nb; r++) {
            if (!isfinite(w->row_max[r])) {
                return CEM_ENONFINITE;
            }
        }
        kern->exp_shifted_t(w->log_resp, nb8, k, B, w->row_max, w->row_sum);
        for (ptrdiff_t r = 0; r < nb; r++) {
            if (!(w->row_sum[r] >= 1.0) || !isfinite(w->row_sum[r])) { /* NaN in the row */
                return CEM_ENONFINITE;
            }
        }
        /* unweighted, no missing values: the fused kernel's order */
        const int by_product = unit && n_marked == 0;
        const double block_ll =
            by_product ? block_log_likelihood(kern, w->row_max, w->row_sum, nb) : 0.0;
        kern->log_sum_t(w->row_max, w->row_sum, nb8, w->quad); /* quad := log p(x_r) */
        for (ptrdiff_t r = 0; r < nb && n_marked > 0; r++) {
            if (mw.row_kind[r] == CEM_ROW_EMPTY) { /* p(nothing) = 1 exactly */
                w->quad[r] = 0.0;
            }
        }
        if (log_density != NULL) {
            memcpy(log_density + i0, w->quad, (size_t)nb * sizeof(double));
        }
        if (by_product) {
            ll_sum += block_ll;
        } else {
            for (ptrdiff_t r = 0; r < nb8; r++) { /* w_r log p(x_r), 0 on padding */
                w->row_scratch[r] = r < nb ? cem_row_weight(data, i0 + r) * w->quad[r] : 0.0;
            }
            ll_sum += cem_lane_sum(w->row_scratch, nb8);
        }
        kern->scale_rows_t(w->log_resp, nb8, k, B, w->row_sum); /* now responsibilities */
        if (resp != NULL) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                double *out = resp + (i0 + r) * resp_stride;
                for (ptrdiff_t c = 0; c < k; c++) {
                    out[c] = w->log_resp[c * B + r];
                }
            }
        }
        if (stats != NULL) {
            if (n_marked > 0) {
                weight_sum -= cem_missing_empty_rows(&p, data, i0, nb, &mw);
            }
            const cem_block block = {data, i0, nb, w->log_resp, 1, B};
            cem_accumulate_block(&p, &block, stats);
            p.n_patch = 0; /* the block's, if any */
        }
    }
    if (stats != NULL) {
        stats[0] += weight_sum;
        stats[1] += ll_sum;
        if (tied) {
            cem_accumulate_tied_finish(&p, stats);
        }
    }
    return CEM_OK;
}

int cem_e_step_about(const cem_model *model, const double *shift, const cem_data *data,
                     double *stats, double *resp, ptrdiff_t resp_stride,
                     double *log_density, double *work, ptrdiff_t work_len)
{
    return e_step_pass(model, shift, data, stats, resp, resp_stride, log_density, work,
                       work_len, 0);
}

int cem_e_step_missing(const cem_model *model, const double *shift, const cem_data *data,
                       double *stats, double *resp, ptrdiff_t resp_stride,
                       double *log_density, double *work, ptrdiff_t work_len)
{
    return e_step_pass(model, shift, data, stats, resp, resp_stride, log_density, work,
                       work_len, 1);
}

/* Whether every resp[r * stride + c] (r < nb, c < k) is finite and >= 0.
 * The valid entries are counted without a branch, so the loop vectorises:
 * an initial partition's check costs a fraction of its pass. */
static int responsibilities_valid(const double *resp, ptrdiff_t nb, ptrdiff_t k,
                                  ptrdiff_t stride)
{
    /* rows back to back: one loop over them all */
    const ptrdiff_t runs = stride == k ? 1 : nb, run_len = stride == k ? nb * k : k;
    for (ptrdiff_t r = 0; r < runs; r++) {
        const double *run = resp + r * stride;
        /* Counts in doubles (exact below 2^53), 8 apart: GCC vectorises
         * neither a flag nor an integer count, and one double count is a
         * chain of dependent additions. */
        double valid[8] = {0};
        ptrdiff_t i = 0;
        for (; i + 8 <= run_len; i += 8) {
            for (int t = 0; t < 8; t++) {
                valid[t] += run[i + t] >= 0.0 && run[i + t] <= DBL_MAX ? 1.0 : 0.0;
            }
        }
        for (; i < run_len; i++) {
            valid[0] += run[i] >= 0.0 && run[i] <= DBL_MAX ? 1.0 : 0.0; /* not NaN, < 0, +inf */
        }
        if (cem_pairwise8(valid) != (double)run_len) {
            return 0;
        }
    }
    return 1;
}

/* The pass of cem_accumulate and cem_accumulate_labels, their arguments
 * checked by them: the rows' statistics under responsibilities resp (row
 * stride resp_stride), or, with resp NULL, under the hard partition labels
 * (each checked in [0, k) as its block is reached). */
static int accumulate_given(ptrdiff_t k, int covariance_type, const double *shift,
                            const cem_data *data, const double *resp, ptrdiff_t resp_stride,
                            const int32_t *labels, double *stats, double *work)
{
    const ptrdiff_t d = data->d, B = cem_block_rows(d);
    cem_pass p = start_pass(k, d, covariance_type, shift, work);
    const int tied = cem_tied_wide(covariance_type, d); /* never with labels */
    if (tied) {
        cem_accumulate_tied_start(&p);
    }
    double weight_sum = 0.0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B;
        const double *rb = resp != NULL ? resp + i0 * resp_stride : NULL;
        if (rb != NULL && !responsibilities_valid(rb, nb, k, resp_stride)) {
            return CEM_ENONFINITE;
        }
        for (ptrdiff_t r = 0; rb == NULL && r < nb; r++) {
            if (labels[i0 + r] < 0 || labels[i0 + r] >= k) {
                return CEM_EINVAL;
            }
        }
        if (block_weight(data, i0, nb, &weight_sum, NULL) != CEM_OK) {
            return CEM_EINVAL;
        }
        load(p.kern, data, i0, nb, p.ld, &p.w);
        const cem_block block = {data, i0, nb, rb, resp_stride, 1};
        if (rb != NULL) {
            cem_accumulate_block(&p, &block, stats);
        } else {
            cem_accumulate_labels_block(&p, &block, labels + i0, stats);
        }
    }
    stats[0] += weight_sum;
    if (tied) {
        cem_accumulate_tied_finish(&p, stats);
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
    if (cem_check_data(data, d) != CEM_OK || (data->n > 0 && resp == NULL)
        || !cem_valid_shape(k, d)) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, d, covariance_type)) {
        return CEM_EWORK;
    }
    return accumulate_given(k, covariance_type, shift, data, resp, resp_stride, NULL, stats, work);
}

int cem_accumulate_labels(ptrdiff_t k, int covariance_type, const double *shift,
                          const cem_data *data, const int32_t *labels, double *stats,
                          double *work, ptrdiff_t work_len)
{
    if (k < 1 || shift == NULL || data == NULL || stats == NULL || work == NULL
        || cem_check_data(data, data->d) != CEM_OK || !cem_valid_shape(k, data->d)
        || !cem_labels_accumulate(covariance_type, data->d) || (data->n > 0 && labels == NULL)) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, data->d, covariance_type)) {
        return CEM_EWORK;
    }
    return accumulate_given(k, covariance_type, shift, data, NULL, 0, labels, stats, work);
}
