/*
 * estep.c -- the fused pass: for each block of rows, the log-densities of
 * every component, the log-sum-exp, the responsibilities and their
 * accumulation into sufficient statistics, all while the block is in cache.
 * The inner loops live in kernels.inc (vectorised per instruction set).
 */
#include <math.h>
#include <string.h>

#include "internal.h"

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

/* Sum of v[0 .. n8) (n8 a multiple of 8) in 8 interleaved partial sums:
 * a fixed order, and no chain of dependent additions one row long. */
static double lane_sum(const double *v, ptrdiff_t n8)
{
    double part[8] = {0};
    for (ptrdiff_t r = 0; r < n8; r += 8) {
        for (int t = 0; t < 8; t++) {
            part[t] += v[r + t];
        }
    }
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* a[r] = w_r * resp[r * rs + c * cs] for the block's rows, 0 on padding;
 * returns their sum. */
static double component_weights(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb,
                                const double *resp, ptrdiff_t rs, ptrdiff_t c, ptrdiff_t cs,
                                double *a)
{
    const double *col = resp + c * cs;
    const double *sw = data->sample_weight != NULL ? data->sample_weight + i0 : NULL;
    for (ptrdiff_t r = 0; r < nb; r++) {
        a[r] = sw != NULL ? sw[r] * col[r * rs] : col[r * rs];
    }
    const ptrdiff_t nb8 = cem_round_rows(nb);
    for (ptrdiff_t r = nb; r < nb8; r++) {
        a[r] = 0.0;
    }
    return lane_sum(a, nb8);
}

/* Doubles of the tied path's extra scratch (see pass_work). */
static ptrdiff_t tied_size(ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld)
{
    return 2 * ld + k * ld + d * d + k + k * d;
}

ptrdiff_t cem_e_step_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    if (k < 1 || d < 1 || !cem_valid_covariance_type(covariance_type)) {
        return CEM_EINVAL;
    }
    const ptrdiff_t ld = cem_padded(d);
    /* block, differences, weighted differences, gathered rows; log-densities; five
     * per-row vectors; log weights and log dets; two moment rows; factors */
    return 4 * CEM_BLOCK_ROWS * ld + CEM_BLOCK_ROWS * k + 5 * CEM_BLOCK_ROWS + 2 * k + 2 * ld
           + k * ld + factor_size(k, ld, covariance_type) + tied_size(k, d, ld);
}

/* Scratch of one pass, carved out of the caller's work buffer. */
typedef struct {
    double *xb;      /* buffer for the block's rows: [B][ld] (wide) or [d][B] (narrow) */
    const double *rows; /* the block's rows: xb, or the data itself when laid out so */
    double *dif;     /* rows minus the current component's shift, same layout */
    double *wdif;    /* [B][ld] dif scaled by weight x responsibility (wide) */
    double *gathered; /* [B][ld] the rows a component has any weight on (wide) */
    double *lpt;     /* [k][B] log-densities, then responsibilities (rows in lanes) */
    double *a;       /* [B] weight x responsibility of one component, 0 on padding */
    double *q;       /* [B] squared Mahalanobis distances */
    double *mx;      /* [B] row maxima of the log-densities */
    double *ssum;    /* [B] row sums of the shifted exponentials */
    double *y;       /* [B] scratch of the narrow kernels */
    double *log_w;   /* [k] log mixture weights */
    double *log_det; /* [k] log det of each precision factor */
    double *sx_row;  /* [ld] a block's first moment of one component */
    double *sq_row;  /* [ld] a block's diagonal second moment of one component */
    double *shift_pad; /* [k][ld] the shifts (means) padded with zeros */
    double *factor;  /* padded factors: FULL [k][ld][ld], TIED [ld][ld], else [k][ld] */
    /* Wide tied blocks apply the one shared factor once per block, about a
     * common center s (the mean of the shifts), instead of once per
     * component; the pooled second moment is then moved to the
     * per-component shifts when the pass ends (tied_finish). */
    double *tied_center; /* [ld] s, padded */
    double *tied_b;      /* [k][ld] (shift_c - s) U, padded */
    double *ones;        /* [ld] 1 on the d features, 0 in the padding */
    double *tied_s;      /* [d][d] this pass's sum_r W_r (x_r - s)(x_r - s)^T, lower */
    double *tied_nk;     /* [k] this pass's counts */
    double *tied_sx;     /* [k][d] this pass's first moments about the shifts */
} pass_work;

static pass_work carve(double *work, ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld, int covariance_type)
{
    pass_work w;
    w.xb = work;
    w.dif = w.xb + CEM_BLOCK_ROWS * ld;
    w.wdif = w.dif + CEM_BLOCK_ROWS * ld;
    w.gathered = w.wdif + CEM_BLOCK_ROWS * ld;
    w.lpt = w.gathered + CEM_BLOCK_ROWS * ld;
    w.a = w.lpt + CEM_BLOCK_ROWS * k;
    w.q = w.a + CEM_BLOCK_ROWS;
    w.mx = w.q + CEM_BLOCK_ROWS;
    w.ssum = w.mx + CEM_BLOCK_ROWS;
    w.y = w.ssum + CEM_BLOCK_ROWS;
    w.log_w = w.y + CEM_BLOCK_ROWS;
    w.log_det = w.log_w + k;
    w.sx_row = w.log_det + k;
    w.sq_row = w.sx_row + ld;
    w.shift_pad = w.sq_row + ld;
    w.factor = w.shift_pad + k * ld;
    w.tied_center = w.factor + factor_size(k, ld, covariance_type);
    w.tied_b = w.tied_center + ld;
    w.ones = w.tied_b + k * ld;
    w.tied_s = w.ones + ld;
    w.tied_nk = w.tied_s + d * d;
    w.tied_sx = w.tied_nk + k;
    return w;
}

static void pad_shift(const double *shift, ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld, double *out)
{
    for (ptrdiff_t c = 0; c < k; c++) {
        for (ptrdiff_t j = 0; j < ld; j++) {
            out[c * ld + j] = j < d ? shift[c * d + j] : 0.0;
        }
    }
}

/* Is this a wide tied pass (the shared-factor path)? */
static int tied_wide(int covariance_type, ptrdiff_t d)
{
    return covariance_type == CEM_TIED && d > CEM_NARROW_MAX_D;
}

/* s = mean of the shifts, the ones row, zeroed local sums; and, when the
 * padded factor U is given (E-step), b_c = (shift_c - s) U. */
static void tied_start(ptrdiff_t k, ptrdiff_t d, ptrdiff_t ld, const double *shift,
                       const double *up, pass_work *w)
{
    for (ptrdiff_t j = 0; j < ld; j++) {
        double s = 0.0;
        for (ptrdiff_t c = 0; c < k && j < d; c++) {
            s += shift[c * d + j];
        }
        w->tied_center[j] = j < d ? s / (double)k : 0.0;
        w->ones[j] = j < d ? 1.0 : 0.0;
    }
    memset(w->tied_s, 0, (size_t)(d * d) * sizeof(double));
    memset(w->tied_nk, 0, (size_t)k * sizeof(double));
    memset(w->tied_sx, 0, (size_t)(k * d) * sizeof(double));
    if (up == NULL) {
        return;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        double *b = w->tied_b + c * ld;
        for (ptrdiff_t j = 0; j < ld; j++) {
            double t = 0.0;
            for (ptrdiff_t i = 0; i <= j && j < d; i++) {
                t += (shift[c * d + i] - w->tied_center[i]) * up[i * ld + j];
            }
            b[j] = t;
        }
    }
}

/* Add this pass's pooled moment, moved from the common center s to each
 * component's shift: with v = x - s, delta_c = shift_c - s and
 * t_c = sum_r a_rc v_r = sx_c + nk_c delta_c,
 *   sum_c sum_r a_rc (v - delta_c)(v - delta_c)^T
 *     = sum_r W_r v v^T - sum_c (delta_c t_c^T + t_c delta_c^T - nk_c delta_c delta_c^T). */
static void tied_finish(ptrdiff_t k, ptrdiff_t d, const double *shift, const pass_work *w,
                        double *stats)
{
    double *sxx = stats + 2 + k + k * d;
    for (ptrdiff_t j = 0; j < d; j++) {
        for (ptrdiff_t l = 0; l <= j; l++) {
            double v = w->tied_s[j * d + l];
            for (ptrdiff_t c = 0; c < k; c++) {
                const double n_c = w->tied_nk[c];
                const double dj = shift[c * d + j] - w->tied_center[j];
                const double dl = shift[c * d + l] - w->tied_center[l];
                const double tj = w->tied_sx[c * d + j] + n_c * dj;
                const double tl = w->tied_sx[c * d + l] + n_c * dl;
                v -= dj * tl + tj * dl - n_c * dj * dl;
            }
            sxx[j * d + l] += v;
        }
    }
}

static void load(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t ld, pass_work *w)
{
    if (data->d <= CEM_NARROW_MAX_D) {
        cem_load_block_t(data, i0, nb, CEM_BLOCK_ROWS, w->xb);
        w->rows = w->xb;
    } else {
        w->rows = cem_load_block(data, i0, nb, ld, w->xb);
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

/* Log weights, log dets and padded factors of the model; CEM_EINVAL if a
 * weight is negative or not finite, all weights are 0, or a factor has a
 * diagonal entry that is not > 0. */
static int prepare_model(const cem_model *m, ptrdiff_t ld, pass_work *w)
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
    const int full = m->covariance_type == CEM_FULL, tied = m->covariance_type == CEM_TIED;
    const ptrdiff_t n_factors = full ? k : (tied ? 1 : k);
    for (ptrdiff_t c = 0; c < n_factors; c++) {
        double ld_sum = 0.0;
        if (full || tied) {
            const double *u = m->prec_chol + c * d * d;
            double *up = w->factor + c * ld * ld;
            for (ptrdiff_t i = 0; i < d; i++) {
                if (!(u[i * d + i] > 0.0) || !isfinite(u[i * d + i])) {
                    return CEM_EINVAL;
                }
                ld_sum += log(u[i * d + i]);
                for (ptrdiff_t j = i; j < d; j++) { /* entries below the diagonal stay 0 */
                    up[i * ld + j] = u[i * d + j];
                }
            }
        } else {
            double *p = w->factor + c * ld;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double v = m->covariance_type == CEM_DIAG ? m->prec_chol[c * d + j]
                                                                : m->prec_chol[c];
                if (!(v > 0.0) || !isfinite(v)) {
                    return CEM_EINVAL;
                }
                p[j] = v;
                ld_sum += log(v);
            }
        }
        w->log_det[c] = ld_sum;
    }
    if (tied) {
        for (ptrdiff_t c = 1; c < k; c++) {
            w->log_det[c] = w->log_det[0];
        }
    }
    return any_positive ? CEM_OK : CEM_EINVAL;
}

/* Log-densities lpt[c][r] of the block's rows under every component. */
static void log_densities(const cem_kernels *kern, const cem_model *m, ptrdiff_t nb,
                          ptrdiff_t ld, pass_work *w)
{
    const ptrdiff_t k = m->k, d = m->d, nb8 = cem_round_rows(nb), B = CEM_BLOCK_ROWS;
    const double norm = -0.5 * (double)d * CEM_LOG_2PI;
    const int triangular = m->covariance_type == CEM_FULL || m->covariance_type == CEM_TIED;
    if (tied_wide(m->covariance_type, d)) { /* Y = (X - s) U once; then ||Y - b_c||^2 */
        kern->block_diff(w->rows, nb8, ld, w->tied_center, w->dif);
        kern->tri_product(w->dif, nb8, d, ld, w->factor, w->wdif);
        for (ptrdiff_t c = 0; c < k; c++) {
            kern->quad_diag(w->wdif, nb8, ld, w->tied_b + c * ld, w->ones, w->q);
            const double base = w->log_w[c] + w->log_det[c] + norm;
            kern->log_density_row(w->q, base, nb8, w->lpt + c * B);
        }
        return;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *mu = m->means + c * d;
        const ptrdiff_t f = m->covariance_type == CEM_TIED ? 0 : c;
        if (d <= CEM_NARROW_MAX_D) {
            if (triangular) {
                kern->narrow_quad_full(w->rows, nb8, d, B, mu, m->prec_chol + f * d * d, w->q, w->y);
            } else {
                kern->narrow_quad_diag(w->rows, nb8, d, B, mu, w->factor + c * ld, w->q);
            }
        } else {
            if (triangular) {
                kern->block_diff(w->rows, nb8, ld, w->shift_pad + c * ld, w->dif);
                kern->quad_full(w->dif, nb8, d, ld, w->factor + f * ld * ld, w->q);
            } else {
                kern->quad_diag(w->rows, nb8, ld, w->shift_pad + c * ld, w->factor + c * ld, w->q);
            }
        }
        const double base = w->log_w[c] + w->log_det[c] + norm;
        kern->log_density_row(w->q, base, nb8, w->lpt + c * B);
    }
}

/* Fold the block's rows, with responsibilities resp[r * rs + c * cs], into
 * stats, moments about shift. */
static void accumulate_block(const cem_kernels *kern, ptrdiff_t k, ptrdiff_t d,
                             int covariance_type, const double *shift, const cem_data *data,
                             ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t ld, const double *resp,
                             ptrdiff_t rs, ptrdiff_t cs, pass_work *w, double *stats)
{
    double *nk = stats + 2;
    double *sx = nk + k;
    double *sxx = sx + k * d;
    const ptrdiff_t nb8 = cem_round_rows(nb);
    const int pairs = covariance_type == CEM_FULL || covariance_type == CEM_TIED;
    for (ptrdiff_t r = nb; r < nb8; r++) {
        w->a[r] = 0.0;
    }
    if (tied_wide(covariance_type, d)) {
        double *row_total = w->y; /* W_r = sum_c a_rc */
        memset(row_total, 0, (size_t)nb8 * sizeof(double));
        for (ptrdiff_t c = 0; c < k; c++) {
            const double a_sum = component_weights(data, i0, nb, resp, rs, c, cs, w->a);
            for (ptrdiff_t r = 0; r < nb; r++) {
                row_total[r] += w->a[r];
            }
            if (a_sum == 0.0) {
                continue;
            }
            nk[c] += a_sum;
            w->tied_nk[c] += a_sum;
            memset(w->sx_row, 0, (size_t)ld * sizeof(double));
            memset(w->sq_row, 0, (size_t)ld * sizeof(double));
            kern->diag_moments(w->rows, w->a, nb, ld, w->shift_pad + c * ld, w->sx_row, w->sq_row);
            for (ptrdiff_t j = 0; j < d; j++) {
                sx[c * d + j] += w->sx_row[j];
                w->tied_sx[c * d + j] += w->sx_row[j];
            }
        }
        kern->block_diff(w->rows, nb8, ld, w->tied_center, w->dif);
        kern->weighted_moments(w->dif, row_total, nb, ld, w->wdif, w->sq_row, NULL);
        kern->syrk_lower(w->dif, w->wdif, nb, d, ld, w->tied_s);
        return;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = component_weights(data, i0, nb, resp, rs, c, cs, w->a);
        if (a_sum == 0.0) { /* every term would be an exact zero */
            continue;
        }
        nk[c] += a_sum;
        double *second;
        switch (covariance_type) {
        case CEM_FULL:
            second = sxx + c * d * d;
            break;
        case CEM_TIED:
            second = sxx;
            break;
        default:
            second = w->sq_row;
            break;
        }
        memset(w->sq_row, 0, (size_t)ld * sizeof(double));
        if (d <= CEM_NARROW_MAX_D) {
            kern->narrow_moments(w->rows, nb8, d, CEM_BLOCK_ROWS, shift + c * d, w->a, pairs,
                                 sx + c * d, second, w->dif);
        } else {
            memset(w->sx_row, 0, (size_t)ld * sizeof(double));
            if (pairs) {
                /* Hard or sparse responsibilities (an initial partition): run
                 * the rank update over the rows this component has, only. */
                const double *rows = w->rows;
                ptrdiff_t m = 0;
                for (ptrdiff_t r = 0; r < nb; r++) {
                    m += w->a[r] != 0.0;
                }
                ptrdiff_t n_rows = nb;
                if (2 * m <= nb) {
                    for (ptrdiff_t r = 0, g = 0; r < nb; r++) {
                        if (w->a[r] != 0.0) {
                            memcpy(w->gathered + g * ld, w->rows + r * ld, (size_t)ld * sizeof(double));
                            w->a[g++] = w->a[r];
                        }
                    }
                    for (ptrdiff_t g = m; g < nb; g++) {
                        w->a[g] = 0.0;
                    }
                    memset(w->gathered + m * ld, 0,
                           (size_t)((cem_round_rows(m) - m) * ld) * sizeof(double));
                    rows = w->gathered;
                    n_rows = m;
                }
                kern->block_diff(rows, cem_round_rows(n_rows), ld, w->shift_pad + c * ld, w->dif);
                kern->weighted_moments(w->dif, w->a, n_rows, ld, w->wdif, w->sx_row, NULL);
                kern->syrk_lower(w->dif, w->wdif, n_rows, d, ld, second);
            } else {
                kern->diag_moments(w->rows, w->a, nb, ld, w->shift_pad + c * ld, w->sx_row,
                                   w->sq_row);
            }
            for (ptrdiff_t j = 0; j < d; j++) {
                sx[c * d + j] += w->sx_row[j];
            }
        }
        if (covariance_type == CEM_DIAG) {
            for (ptrdiff_t j = 0; j < d; j++) {
                sxx[c * d + j] += w->sq_row[j];
            }
        } else if (covariance_type == CEM_SPHERICAL) {
            double total = 0.0;
            for (ptrdiff_t j = 0; j < d; j++) {
                total += w->sq_row[j];
            }
            sxx[c] += total;
        }
    }
}

/* Adds the block's row weights to *sum (nb exactly without weights);
 * CEM_EINVAL for a negative or non-finite weight. */
static int block_weight(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, double *sum)
{
    if (data->sample_weight == NULL) {
        *sum += (double)nb;
        return CEM_OK;
    }
    const double *sw = data->sample_weight + i0;
    double part[8] = {0};
    int bad = 0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        bad |= !(sw[r] >= 0.0) || !isfinite(sw[r]);
        part[r % 8] += sw[r];
    }
    *sum += ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    return bad ? CEM_EINVAL : CEM_OK;
}

int cem_e_step(const cem_model *model, const cem_data *data,
               double *stats, double *resp, ptrdiff_t resp_stride,
               double *log_density, double *work, ptrdiff_t work_len)
{
    int status = check_model(model);
    if (status != CEM_OK) {
        return status;
    }
    const ptrdiff_t k = model->k, d = model->d, ld = cem_padded(d);
    if (cem_check_data(data, d) != CEM_OK || (resp != NULL && resp_stride < k) || work == NULL) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, d, model->covariance_type)) {
        return CEM_EWORK;
    }
    const cem_kernels *kern = cem_select_kernels();
    pass_work w = carve(work, k, d, ld, model->covariance_type);
    status = prepare_model(model, ld, &w);
    if (status != CEM_OK) {
        return status;
    }
    pad_shift(model->means, k, d, ld, w.shift_pad);
    const int tied = tied_wide(model->covariance_type, d);
    if (tied) {
        tied_start(k, d, ld, model->means, w.factor, &w);
    }
    double weight_sum = 0.0, ll_sum = 0.0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += CEM_BLOCK_ROWS) {
        const ptrdiff_t nb = data->n - i0 < CEM_BLOCK_ROWS ? data->n - i0 : CEM_BLOCK_ROWS;
        if (block_weight(data, i0, nb, &weight_sum) != CEM_OK) {
            return CEM_EINVAL;
        }
        load(data, i0, nb, ld, &w);
        log_densities(kern, model, nb, ld, &w);
        const ptrdiff_t nb8 = cem_round_rows(nb);
        /* shift each row by its max so exp never overflows and the largest term is 1 */
        kern->row_max_t(w.lpt, nb8, k, CEM_BLOCK_ROWS, w.mx);
        for (ptrdiff_t r = 0; r < nb; r++) {
            if (!isfinite(w.mx[r])) {
                return CEM_ENONFINITE;
            }
        }
        kern->exp_shifted_t(w.lpt, nb8, k, CEM_BLOCK_ROWS, w.mx, w.ssum);
        for (ptrdiff_t r = 0; r < nb; r++) {
            if (!(w.ssum[r] >= 1.0) || !isfinite(w.ssum[r])) { /* NaN in the row */
                return CEM_ENONFINITE;
            }
        }
        kern->log_sum_t(w.mx, w.ssum, nb8, w.q); /* q now holds each row's log p(x) */
        if (log_density != NULL) {
            memcpy(log_density + i0, w.q, (size_t)nb * sizeof(double));
        }
        for (ptrdiff_t r = 0; r < nb8; r++) { /* w_i log p(x_i), 0 on padding */
            w.y[r] = r < nb ? cem_row_weight(data, i0 + r) * w.q[r] : 0.0;
        }
        ll_sum += lane_sum(w.y, nb8);
        kern->scale_rows_t(w.lpt, nb8, k, CEM_BLOCK_ROWS, w.ssum);
        if (resp != NULL) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                double *out = resp + (i0 + r) * resp_stride;
                for (ptrdiff_t c = 0; c < k; c++) {
                    out[c] = w.lpt[c * CEM_BLOCK_ROWS + r];
                }
            }
        }
        if (stats != NULL) {
            accumulate_block(kern, k, d, model->covariance_type, model->means, data, i0, nb, ld,
                             w.lpt, 1, CEM_BLOCK_ROWS, &w, stats);
        }
    }
    if (stats != NULL) {
        stats[0] += weight_sum;
        stats[1] += ll_sum;
        if (tied) {
            tied_finish(k, d, model->means, &w, stats);
        }
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
    const ptrdiff_t d = data->d, ld = cem_padded(d);
    if (cem_check_data(data, d) != CEM_OK || (data->n > 0 && resp == NULL)) {
        return CEM_EINVAL;
    }
    if (work_len < cem_e_step_work_size(k, d, covariance_type)) {
        return CEM_EWORK;
    }
    const cem_kernels *kern = cem_select_kernels();
    pass_work w = carve(work, k, d, ld, covariance_type);
    pad_shift(shift, k, d, ld, w.shift_pad);
    const int tied = tied_wide(covariance_type, d);
    if (tied) {
        tied_start(k, d, ld, shift, NULL, &w);
    }
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
        }
        if (block_weight(data, i0, nb, &weight_sum) != CEM_OK) {
            return CEM_EINVAL;
        }
        load(data, i0, nb, ld, &w);
        accumulate_block(kern, k, d, covariance_type, shift, data, i0, nb, ld, rb, resp_stride, 1,
                         &w, stats);
    }
    stats[0] += weight_sum;
    if (tied) {
        tied_finish(k, d, shift, &w, stats);
    }
    return CEM_OK;
}
