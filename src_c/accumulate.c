/*
 * accumulate.c -- the second half of the fused pass: a block's rows and
 * responsibilities folded into sufficient statistics (layout in cem.h),
 * moments about the pass's shift. One function per accumulation path,
 * chosen in one place (cem_accumulate_block):
 *
 *   narrow       d <= CEM_NARROW_MAX_D, any covariance type, rows in lanes
 *   wide_diag    d > CEM_NARROW_MAX_D, DIAG and SPHERICAL: per-feature moments
 *   wide_full    d > CEM_NARROW_MAX_D, FULL: one rank update per component,
 *                over only the rows it has weight on when they are few
 *   wide_tied    d > CEM_NARROW_MAX_D, TIED: one pooled rank update per block
 */
#include <string.h>

#include "internal.h"

/* a[r] = w_r * resp of component c for the block's rows, 0 on padding;
 * returns their sum. */
static double component_weights(const cem_block *b, ptrdiff_t c, double *a)
{
    const double *col = b->resp + c * b->comp_step;
    const double *sw = b->data->sample_weight != NULL ? b->data->sample_weight + b->i0 : NULL;
    for (ptrdiff_t r = 0; r < b->nb; r++) {
        a[r] = sw != NULL ? sw[r] * col[r * b->row_step] : col[r * b->row_step];
    }
    const ptrdiff_t nb8 = cem_round_rows(b->nb);
    for (ptrdiff_t r = b->nb; r < nb8; r++) {
        a[r] = 0.0;
    }
    return cem_lane_sum(a, nb8);
}

/* The diagonal second moment of one component (sq_row) into its DIAG or
 * SPHERICAL slot of sxx. */
static void add_diagonal(const cem_pass *p, ptrdiff_t c, double *sxx)
{
    const ptrdiff_t d = p->d;
    if (p->covariance_type == CEM_DIAG) {
        for (ptrdiff_t j = 0; j < d; j++) {
            sxx[c * d + j] += p->w.sq_row[j];
        }
    } else if (p->covariance_type == CEM_SPHERICAL) {
        double total = 0.0;
        for (ptrdiff_t j = 0; j < d; j++) {
            total += p->w.sq_row[j];
        }
        sxx[c] += total;
    }
}

static void accumulate_narrow(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, nb8 = cem_round_rows(b->nb);
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    const int pairs = p->covariance_type == CEM_FULL || p->covariance_type == CEM_TIED;
    cem_pass_work *w = &p->w;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = component_weights(b, c, w->row_weight);
        if (a_sum == 0.0) { /* every term would be an exact zero */
            continue;
        }
        nk[c] += a_sum;
        /* FULL and TIED accumulate straight into their sxx slot */
        double *second = p->covariance_type == CEM_FULL   ? sxx + c * d * d
                         : p->covariance_type == CEM_TIED ? sxx
                                                          : w->sq_row;
        memset(w->sq_row, 0, (size_t)p->ld * sizeof(double));
        p->kern->narrow_moments(w->rows, nb8, d, CEM_BLOCK_ROWS, p->shift + c * d, w->row_weight,
                                pairs, sx + c * d, second, w->dif);
        add_diagonal(p, c, sxx);
    }
}

static void accumulate_wide_diag(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, ld = p->ld;
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    cem_pass_work *w = &p->w;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = component_weights(b, c, w->row_weight);
        if (a_sum == 0.0) {
            continue;
        }
        nk[c] += a_sum;
        memset(w->sq_row, 0, (size_t)ld * sizeof(double));
        memset(w->sx_row, 0, (size_t)ld * sizeof(double));
        p->kern->diag_moments(w->rows, w->row_weight, b->nb, ld, w->shift_pad + c * ld, w->sx_row,
                              w->sq_row);
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
        }
        add_diagonal(p, c, sxx);
    }
}

/* Copy the rows with a nonzero weight to the front of w->gathered (their
 * weights to the front of w->row_weight, zeros after); returns how many. */
static ptrdiff_t gather_weighted_rows(cem_pass_work *w, ptrdiff_t nb, ptrdiff_t ld)
{
    ptrdiff_t m = 0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        if (w->row_weight[r] != 0.0) {
            memcpy(w->gathered + m * ld, w->rows + r * ld, (size_t)ld * sizeof(double));
            w->row_weight[m++] = w->row_weight[r];
        }
    }
    for (ptrdiff_t g = m; g < nb; g++) {
        w->row_weight[g] = 0.0;
    }
    memset(w->gathered + m * ld, 0, (size_t)((cem_round_rows(m) - m) * ld) * sizeof(double));
    return m;
}

static void accumulate_wide_full(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, ld = p->ld, nb = b->nb;
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    cem_pass_work *w = &p->w;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = component_weights(b, c, w->row_weight);
        if (a_sum == 0.0) {
            continue;
        }
        nk[c] += a_sum;
        memset(w->sx_row, 0, (size_t)ld * sizeof(double));
        /* Hard or sparse responsibilities (an initial partition): run the
         * rank update over the rows this component has, only. */
        const double *rows = w->rows;
        ptrdiff_t n_rows = nb, m = 0;
        for (ptrdiff_t r = 0; r < nb; r++) {
            m += w->row_weight[r] != 0.0;
        }
        if (2 * m <= nb) {
            n_rows = gather_weighted_rows(w, nb, ld);
            rows = w->gathered;
        }
        p->kern->block_diff(rows, cem_round_rows(n_rows), ld, w->shift_pad + c * ld, w->dif);
        p->kern->weighted_moments(w->dif, w->row_weight, n_rows, ld, w->wdif, w->sx_row, NULL);
        p->kern->syrk_lower(w->dif, w->wdif, n_rows, d, ld, sxx + c * d * d);
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
        }
    }
}

static void accumulate_wide_tied(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, ld = p->ld, nb = b->nb, nb8 = cem_round_rows(nb);
    double *nk = stats + 2, *sx = nk + k;
    cem_pass_work *w = &p->w;
    double *row_total = w->row_scratch; /* W_r = sum_c a_rc */
    memset(row_total, 0, (size_t)nb8 * sizeof(double));
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = component_weights(b, c, w->row_weight);
        for (ptrdiff_t r = 0; r < nb; r++) {
            row_total[r] += w->row_weight[r];
        }
        if (a_sum == 0.0) {
            continue;
        }
        nk[c] += a_sum;
        w->tied_nk[c] += a_sum;
        memset(w->sx_row, 0, (size_t)ld * sizeof(double));
        memset(w->sq_row, 0, (size_t)ld * sizeof(double));
        p->kern->diag_moments(w->rows, w->row_weight, nb, ld, w->shift_pad + c * ld, w->sx_row,
                              w->sq_row);
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
            w->tied_sx[c * d + j] += w->sx_row[j];
        }
    }
    p->kern->block_diff(w->rows, nb8, ld, w->tied_center, w->dif);
    p->kern->weighted_moments(w->dif, row_total, nb, ld, w->wdif, w->sq_row, NULL);
    p->kern->syrk_lower(w->dif, w->wdif, nb, d, ld, w->tied_s);
}

void cem_accumulate_block(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t nb8 = cem_round_rows(b->nb);
    for (ptrdiff_t r = b->nb; r < nb8; r++) {
        p->w.row_weight[r] = 0.0;
    }
    if (p->d <= CEM_NARROW_MAX_D) {
        accumulate_narrow(p, b, stats);
        return;
    }
    switch (p->covariance_type) {
    case CEM_FULL:
        accumulate_wide_full(p, b, stats);
        break;
    case CEM_TIED:
        accumulate_wide_tied(p, b, stats);
        break;
    default:
        accumulate_wide_diag(p, b, stats);
        break;
    }
}

void cem_accumulate_tied_start(cem_pass *p)
{
    cem_pass_work *w = &p->w;
    memset(w->tied_s, 0, (size_t)(p->d * p->d) * sizeof(double));
    memset(w->tied_nk, 0, (size_t)p->k * sizeof(double));
    memset(w->tied_sx, 0, (size_t)(p->k * p->d) * sizeof(double));
}

/* Add this pass's pooled moment, moved from the common center s to each
 * component's shift: with v = x - s, delta_c = shift_c - s and
 * t_c = sum_r a_rc v_r = sx_c + nk_c delta_c,
 *   sum_c sum_r a_rc (v - delta_c)(v - delta_c)^T
 *     = sum_r W_r v v^T - sum_c (delta_c t_c^T + t_c delta_c^T - nk_c delta_c delta_c^T). */
void cem_accumulate_tied_finish(const cem_pass *p, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d;
    const cem_pass_work *w = &p->w;
    double *sxx = stats + 2 + k + k * d;
    for (ptrdiff_t j = 0; j < d; j++) {
        for (ptrdiff_t l = 0; l <= j; l++) {
            double v = w->tied_s[j * d + l];
            for (ptrdiff_t c = 0; c < k; c++) {
                const double n_c = w->tied_nk[c];
                const double dj = p->shift[c * d + j] - w->tied_center[j];
                const double dl = p->shift[c * d + l] - w->tied_center[l];
                const double tj = w->tied_sx[c * d + j] + n_c * dj;
                const double tl = w->tied_sx[c * d + l] + n_c * dl;
                v -= dj * tl + tj * dl - n_c * dj * dl;
            }
            sxx[j * d + l] += v;
        }
    }
}
