/*
 * accumulate.c -- the second half of the fused pass: a block's rows and
 * responsibilities folded into sufficient statistics (layout in cem.h),
 * moments about the pass's shift. One function per accumulation path,
 * chosen in one place (cem_accumulate_block):
 *
 *   narrow       d <= CEM_NARROW_MAX_D, any covariance type, rows in lanes
 *   wide_diag    d > CEM_NARROW_MAX_D, DIAG, SPHERICAL, TIED_DIAG and
 *                TIED_SPHERICAL: per-feature moments (pooled by add_diagonal)
 *   wide_full    d > CEM_NARROW_MAX_D, FULL: one rank update per component,
 *                over only the rows it has weight on when they are few
 *   wide_tied    d > CEM_NARROW_MAX_D, TIED: one pooled rank update per block,
 *                each row about its own anchor component
 *
 * and, for a hard partition given as labels (k-means's), wide_diag's and
 * wide_full's sums over each component's own rows only
 * (cem_accumulate_labels_block).
 */
#include <string.h>

#include "internal.h"

/* a[r] = w_r * resp of component c for the block's rows, 0 on padding;
 * returns their sum. */
static double component_weights(const cem_block *b, ptrdiff_t c, double *a)
{
    const double *col = b->resp + c * b->comp_step;
    const ptrdiff_t step = b->row_step;
    /* two loops, not a test per row: each vectorises */
    if (b->data->sample_weight != NULL) {
        const double *sw = b->data->sample_weight + b->i0;
        for (ptrdiff_t r = 0; r < b->nb; r++) {
            a[r] = sw[r] * col[r * step];
        }
    } else if (step == 2) { /* k = 2 responsibilities: a constant stride vectorises */
        for (ptrdiff_t r = 0; r < b->nb; r++) {
            a[r] = col[r * 2];
        }
    } else {
        for (ptrdiff_t r = 0; r < b->nb; r++) {
            a[r] = col[r * step];
        }
    }
    const ptrdiff_t nb8 = cem_round_rows(b->nb);
    for (ptrdiff_t r = b->nb; r < nb8; r++) {
        a[r] = 0.0;
    }
    return cem_lane_sum(a, nb8);
}

/* The diagonal second moment of one component (sq_row) into its slot of
 * sxx: its own (DIAG, SPHERICAL) or the one all components pool into
 * (TIED_DIAG, TIED_SPHERICAL); the spherical types sum it over features.
 * FULL and TIED accumulate elsewhere. */
static void add_diagonal(const cem_pass *p, ptrdiff_t c, double *sxx)
{
    const ptrdiff_t d = p->d;
    const int t = p->covariance_type;
    if (cem_matrix_type(t)) {
        return;
    }
    const ptrdiff_t slot = cem_shared_type(t) ? 0 : c;
    if (cem_per_feature_type(t)) {
        for (ptrdiff_t j = 0; j < d; j++) {
            sxx[slot * d + j] += p->w.sq_row[j];
        }
    } else {
        double total = 0.0;
        for (ptrdiff_t j = 0; j < d; j++) {
            total += p->w.sq_row[j];
        }
        sxx[slot] += total;
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
        p->kern->narrow_moments(w->rows, nb8, d, CEM_NARROW_BLOCK_ROWS, p->shift + c * d,
                                w->row_weight, pairs, sx + c * d, second, w->dif);
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
        if (2 * m <= nb && p->n_patch == 0) {
            n_rows = gather_weighted_rows(w, nb, ld);
            rows = w->gathered;
        }
        p->kern->diff_weighted_moments(rows, w->shift_pad + c * ld, w->row_weight, n_rows,
                                       cem_round_rows(n_rows), ld, w->dif, w->wdif, w->sx_row);
        /* The differences x~ - s become x_hat - s (missing.c) after the fused
         * sweep, not before it: with most rows of an incomplete table holding
         * a missing value nearly every block has patches, and an unfused
         * diff + patch + moments costs those blocks the fused sweep. The few
         * patched entries are corrected in place; sx takes the change of
         * their weighted difference (another summation order, for data with
         * NaN only: unpatched blocks keep the bits of the complete pass). */
        for (ptrdiff_t i = 0; i < p->n_patch; i++) {
            const ptrdiff_t at = (ptrdiff_t)p->patch_at[i], r = at / ld;
            const double old = w->wdif[at];
            w->dif[at] += p->patch_delta[i * k + c];
            w->wdif[at] = w->row_weight[r] * w->dif[at];
            w->sx_row[at - r * ld] += w->wdif[at] - old;
        }
        p->kern->syrk_lower(w->dif, w->wdif, n_rows, d, ld, sxx + c * d * d);
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
        }
    }
}

/* A hard partition's rows, component by component: accumulate_wide_diag or
 * accumulate_wide_full of the one-hot responsibilities, the same bits, for
 * a fraction of the work (the rows sorted into their components once, not
 * one pass over the block per component). What makes the sums equal: the
 * terms of the other components' rows are exact zeros; a_sum is
 * cem_lane_sum's, lane by lane; wide_full's sums run over the rows in
 * order (its own gather of a component's rows keeps that order too), and
 * diag_moments sums even and odd rows apart, each in row order, so there a
 * component's i-th even row goes to slot 2 i of w->gathered and its i-th
 * odd row to slot 2 i + 1, the shorter parity padded with zero rows of
 * weight 0. Scratch the E-step's and not the accumulation's: w->log_resp
 * [k][B] holds the rows of each component (as doubles; by parity, even
 * ones from c B and odd ones from c B + B / 2), w->mean_pad [k][8] the
 * lanes of its weight and w->factor [k][2] its row counts. */
void cem_accumulate_labels_block(cem_pass *p, const cem_block *b, const int32_t *labels,
                                 double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, ld = p->ld, nb = b->nb, half = CEM_BLOCK_ROWS / 2;
    const int by_parity = p->covariance_type != CEM_FULL;
    const double *sw = b->data->sample_weight != NULL ? b->data->sample_weight + b->i0 : NULL;
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    cem_pass_work *w = &p->w;
    double *rows_of = w->log_resp, *lanes = w->mean_pad, *count = w->factor;
    memset(lanes, 0, (size_t)(8 * k) * sizeof(double));
    memset(count, 0, (size_t)(2 * k) * sizeof(double));
    for (ptrdiff_t r = 0; r < nb; r++) {
        const ptrdiff_t c = labels[r], parity = by_parity ? r & 1 : 0;
        double *n_c = count + 2 * c + parity;
        rows_of[c * CEM_BLOCK_ROWS + parity * half + (ptrdiff_t)*n_c] = (double)r;
        *n_c += 1.0;
        lanes[c * 8 + (r & 7)] += sw != NULL ? sw[r] : 1.0;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a_sum = cem_pairwise8(lanes + c * 8);
        if (a_sum == 0.0) {
            continue;
        }
        nk[c] += a_sum;
        const double *own = rows_of + c * CEM_BLOCK_ROWS;
        const ptrdiff_t n_even = (ptrdiff_t)count[2 * c], n_odd = (ptrdiff_t)count[2 * c + 1];
        /* by parity the i-th row of a parity fills slot 2 i (+ 1); in order
         * slot i, padded to whole row tiles (diff_weighted_moments reads them) */
        const ptrdiff_t step = by_parity ? 2 : 1;
        const ptrdiff_t slots = by_parity ? 2 * (n_even > n_odd ? n_even : n_odd) : n_even;
        const ptrdiff_t padded = by_parity ? slots : cem_round_rows(slots);
        for (ptrdiff_t parity = 0; parity < step; parity++) {
            const ptrdiff_t n_own = parity ? n_odd : n_even;
            for (ptrdiff_t slot = parity, i = 0; slot < padded; slot += step, i++) {
                double *to = w->gathered + slot * ld;
                if (i < n_own) {
                    const ptrdiff_t r = (ptrdiff_t)own[parity * half + i];
                    const double *from = w->rows + r * ld;
                    for (ptrdiff_t j = 0; j < ld; j++) {
                        to[j] = from[j];
                    }
                    w->row_weight[slot] = sw != NULL ? sw[r] : 1.0;
                } else {
                    memset(to, 0, (size_t)ld * sizeof(double));
                    w->row_weight[slot] = 0.0;
                }
            }
        }
        if (by_parity) {
            memset(w->sq_row, 0, (size_t)ld * sizeof(double));
            memset(w->sx_row, 0, (size_t)ld * sizeof(double));
            p->kern->diag_moments(w->gathered, w->row_weight, slots, ld, w->shift_pad + c * ld,
                                  w->sx_row, w->sq_row);
            add_diagonal(p, c, sxx);
        } else {
            memset(w->sx_row, 0, (size_t)ld * sizeof(double));
            p->kern->diff_weighted_moments(w->gathered, w->shift_pad + c * ld, w->row_weight,
                                           slots, padded, ld, w->dif, w->wdif, w->sx_row);
            p->kern->syrk_lower(w->dif, w->wdif, slots, d, ld, sxx + c * d * d);
        }
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
        }
    }
}

/* Wide TIED: sum_c sum_r a_rc (x_r - m_c)(x_r - m_c)^T with one pooled rank
 * update per block instead of one per component. Each row is expanded
 * about its own anchor g = g(r), the component of largest responsibility:
 * with u = x - m_g, D_c = m_c - m_g, W = sum_c a_rc and t = sum_c a_rc D_c,
 *   sum_c a_rc (u - D_c)(u - D_c)^T = W u u^T - u t^T - t u^T + sum_c a_rc D_c D_c^T.
 * u is small (the row is near its anchor), t and the last term are carried
 * only by the other components' weights, so no term is much larger than
 * the result: no cancellation however far apart the components are
 * (a common center for all rows lost digits as separation^2). The last
 * term is sum_{g,c} N_gc D_gc D_gc^T with N_gc = sum_{r: g(r)=g} a_rc,
 * added once per pass by cem_accumulate_tied_finish. */
static void accumulate_wide_tied(cem_pass *p, const cem_block *b, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, ld = p->ld, nb = b->nb, nb8 = cem_round_rows(nb);
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    cem_pass_work *w = &p->w;
    double *row_total = w->row_scratch; /* W_r */
    double *u = w->dif, *neg_t = w->gathered, *wu_t = w->wdif; /* u, -t, W u - t: [B][ld] */
    memset(row_total, 0, (size_t)nb8 * sizeof(double));
    memset(neg_t, 0, (size_t)(nb8 * ld) * sizeof(double));
    /* anchors (ties to the lowest index), components outside and rows
     * inside (a loop over contiguous rows when the responsibilities are the
     * pass's own, rows in lanes); row_weight holds the best so far */
    double *best = w->row_weight;
    for (ptrdiff_t r = 0; r < nb; r++) {
        best[r] = b->resp[r * b->row_step];
        w->tied_anchor[r] = 0.0;
    }
    for (ptrdiff_t c = 1; c < k; c++) {
        const double *col = b->resp + c * b->comp_step;
        for (ptrdiff_t r = 0; r < nb; r++) {
            const double v = col[r * b->row_step];
            w->tied_anchor[r] = v > best[r] ? (double)c : w->tied_anchor[r];
            best[r] = v > best[r] ? v : best[r];
        }
    }
    for (ptrdiff_t r = 0; r < nb; r++) { /* u */
        const ptrdiff_t g = (ptrdiff_t)w->tied_anchor[r];
        p->kern->block_diff(w->rows + r * ld, 1, ld, w->shift_pad + g * ld, u + r * ld);
    }
    memset(u + nb * ld, 0, (size_t)((nb8 - nb) * ld) * sizeof(double));
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *a = w->row_weight;
        const double a_sum = component_weights(b, c, w->row_weight);
        if (a_sum == 0.0) {
            continue;
        }
        nk[c] += a_sum;
        memset(w->sx_row, 0, (size_t)ld * sizeof(double));
        memset(w->sq_row, 0, (size_t)ld * sizeof(double));
        p->kern->diag_moments(w->rows, a, nb, ld, w->shift_pad + c * ld, w->sx_row, w->sq_row);
        for (ptrdiff_t j = 0; j < d; j++) {
            sx[c * d + j] += w->sx_row[j];
        }
    }
    /* W_r, t_r (as -t_r) and the pair weights, row by row */
    const int any_t = p->kern->tied_offsets(b->resp, b->row_step, b->comp_step,
                          b->data->sample_weight != NULL ? b->data->sample_weight + b->i0 : NULL,
                          nb, k, ld, w->shift_pad, w->tied_anchor, neg_t, row_total,
                          w->tied_pair_weight);
    for (ptrdiff_t r = 0; r < nb8; r++) {
        const double *restrict ur = u + r * ld, *restrict nt = neg_t + r * ld;
        double *restrict out = wu_t + r * ld;
        const double total = row_total[r];
        for (ptrdiff_t j = 0; j < ld; j++) {
            out[j] = total * ur[j] + nt[j];
        }
    }
    p->kern->syrk_lower(u, wu_t, nb, d, ld, sxx);          /* sum (W u - t) u^T */
    if (any_t) {
        p->kern->syrk_lower(neg_t, u, nb, d, ld, sxx);     /* - sum u t^T */
    }
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
    memset(p->w.tied_pair_weight, 0, (size_t)(p->k * p->k) * sizeof(double));
}

/* The pass's sum_{g,c} N_gc D_gc D_gc^T (see accumulate_wide_tied), lower
 * triangle, into sxx; pairs that shared no row cost nothing. */
void cem_accumulate_tied_finish(const cem_pass *p, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d;
    double *sxx = stats + 2 + k + k * d;
    for (ptrdiff_t g = 0; g < k; g++) {
        for (ptrdiff_t c = 0; c < k; c++) {
            const double n_gc = p->w.tied_pair_weight[g * k + c];
            if (n_gc == 0.0) {
                continue;
            }
            const double *m_g = p->shift + g * d, *m_c = p->shift + c * d;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double dj = n_gc * (m_c[j] - m_g[j]);
                for (ptrdiff_t l = 0; l <= j; l++) {
                    sxx[j * d + l] += dj * (m_c[l] - m_g[l]);
                }
            }
        }
    }
}
