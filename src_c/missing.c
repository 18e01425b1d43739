/*
 * missing.c -- rows with missing values in the fused pass (missing.h):
 * exact EM on the observed-data likelihood (Ghahramani & Jordan 1994).
 *
 * For a row with observed set o and missing set m, component c with mean
 * mu and precision P = U U^T (U the precision factor the pass holds), the
 * Schur complement gives everything from one m x m factorisation:
 *   S_oo^-1 = P_oo - P_om P_mm^-1 P_mo
 *   log|S_oo| = log|S| + log|P_mm|
 *   x_hat_m = mu_m - P_mm^-1 P_mo (x_o - mu_o)   (conditional mean)
 *   S_m|o = P_mm^-1                              (conditional covariance)
 * With L L^T = P_mm, e = x_o - mu_o, b = P_mo e and y = L^-1 b, the
 * quadratic form is e^T P_oo e - y^T y. The block kernels have already
 * given q = (x~ - mu)^T P (x~ - mu) for the row x~ filled with f on m; with
 * g = f_m - mu_m, e^T P_oo e = q - 2 g^T b - g^T P_mm g: O(m d) per row and
 * component instead of O(d^2). Likewise the statistics: the block adds
 * those of x~, and the difference to those of x_hat (D = x_hat_m - f_m,
 * nonzero on m only) touches only the rows and columns of m:
 *   (x~ - s + D)(x~ - s + D)^T - (x~ - s)(x~ - s)^T
 *     = (x~ - s) D^T + D (x~ - s)^T + D D^T,  plus P_mm^-1 on m x m.
 * For wide FULL blocks the first three terms cost more (O(m d) per row and
 * component, a rank update of d x d sums) than adding D to the m entries
 * of the accumulation's x~ - s: that block's accumulation is handed D
 * (cem_pass.patch_at) and takes the moments of x_hat itself.
 * Diagonal and spherical covariances need no factorisation: the missing
 * coordinates drop out of the density, and the statistics use mu_j and
 * sigma_j^2 for them.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "missing.h"

#define CEM_LOG_2PI 1.8378770664093454835606594728112

static int triangular(int covariance_type)
{
    return covariance_type == CEM_FULL || covariance_type == CEM_TIED;
}

static ptrdiff_t precision_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
{
    return covariance_type == CEM_FULL ? k * d * d : covariance_type == CEM_TIED ? d * d : 0;
}

ptrdiff_t cem_missing_layout(double *work, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                             cem_missing_work *mw)
{
    ptrdiff_t used = 0;
#define CEM_TAKE(field, len) (mw->field = work != NULL ? work + used : NULL, used += (len))
    const ptrdiff_t lanes = covariance_type == CEM_FULL ? k * d : 0; /* [d][k] */
    CEM_TAKE(precision, precision_size(k, d, covariance_type));
    CEM_TAKE(fill, d);
    CEM_TAKE(root, precision_size(k, d, covariance_type) / (d > 0 ? d : 1));
    CEM_TAKE(log_pivot, lanes);
    CEM_TAKE(mean_t, lanes);
    CEM_TAKE(gap_t, lanes);
    CEM_TAKE(shift_t, lanes);
    CEM_TAKE(quad, k * cem_block_rows(d));
    CEM_TAKE(row_kind, cem_block_rows(d));
    CEM_TAKE(x, d);
    CEM_TAKE(observed, d);
    CEM_TAKE(absent, d);
    CEM_TAKE(e, k * d);
    CEM_TAKE(filled, d);
    CEM_TAKE(keep, d);
    CEM_TAKE(cond, d * d);
    CEM_TAKE(filled_dif, k * d);
    CEM_TAKE(row_chol, k * d * d);
    CEM_TAKE(row_y, k * d);
    CEM_TAKE(row_lp, k);
    CEM_TAKE(lane, 4 * k);
    CEM_TAKE(cross, precision_size(k, d, covariance_type));
    const int patched = covariance_type == CEM_FULL && d > CEM_NARROW_MAX_D;
    CEM_TAKE(patch_at, patched ? CEM_BLOCK_ROWS * d : 0);
    CEM_TAKE(patch_delta, patched ? CEM_BLOCK_ROWS * d * k : 0);
#undef CEM_TAKE
    return used;
}

/* The variance factor (1 / sigma per feature) of component c: its own, or
 * the one all components share (TIED_DIAG, TIED_SPHERICAL). */
static const double *variance_factor(const cem_pass *p, ptrdiff_t c)
{
    return p->w.factor + (cem_shared_type(p->covariance_type) ? 0 : c) * p->ld;
}

/* Add a * v, the second moment of feature j of component c, to its slot of
 * sxx: per component (DIAG, SPHERICAL) or pooled (TIED_DIAG,
 * TIED_SPHERICAL), per feature or summed over features, as add_diagonal
 * lays out the complete rows' moments. */
static void add_variance_moment(const cem_pass *p, ptrdiff_t c, ptrdiff_t j, double av,
                                double *sxx)
{
    const ptrdiff_t slot = cem_shared_type(p->covariance_type) ? 0 : c;
    if (cem_per_feature_type(p->covariance_type)) {
        sxx[slot * p->d + j] += av;
    } else {
        sxx[slot] += av;
    }
}

void cem_missing_start(const cem_pass *p, cem_missing_work *mw)
{
    const ptrdiff_t d = p->d, ld = p->ld, k = p->k;
    for (ptrdiff_t j = 0; j < d; j++) { /* near every component: no large g */
        double s = 0.0;
        for (ptrdiff_t c = 0; c < k; c++) {
            s += p->w.mean_pad[c * ld + j];
        }
        mw->fill[j] = s / (double)k;
    }
    mw->direct = 0;
    mw->crossed = 0;
    if (!triangular(p->covariance_type)) {
        for (ptrdiff_t c = 0; c < k; c++) {
            double q = 0.0;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double z = (mw->fill[j] - p->w.mean_pad[c * ld + j]) * variance_factor(p, c)[j];
                q += z * z;
            }
            mw->direct |= !(q <= 1024.0);
        }
        return;
    }
    /* FULL: lanes, P_c[i][j] at (i d + j) k + c; TIED: one [d][d] */
    const int full = p->covariance_type == CEM_FULL;
    const ptrdiff_t n_factors = full ? k : 1, lk = full ? k : 1;
    memset(mw->cross, 0, (size_t)(n_factors * d * d) * sizeof(double));
    for (ptrdiff_t f = 0; f < n_factors; f++) {
        const double *u = p->w.factor + f * ld * ld; /* padded, zero below the diagonal */
        double *prec = mw->precision + f;
        for (ptrdiff_t i = 0; i < d; i++) {
            for (ptrdiff_t j = 0; j <= i; j++) { /* P_ij = sum_{l >= i} U_il U_jl */
                double s = 0.0;
                for (ptrdiff_t l = i; l < d; l++) {
                    s += u[i * ld + l] * u[j * ld + l];
                }
                prec[(i * d + j) * lk] = s;
                prec[(j * d + i) * lk] = s;
            }
            const double root = 1.0 / sqrt(prec[(i * d + i) * lk]); /* NaN or inf: no pivot */
            mw->root[i * lk + f] = root;
            if (full) { /* as schur() would compute it for m = {i} */
                mw->log_pivot[i * k + f] = -2.0 * log(root);
            }
        }
    }
    for (ptrdiff_t c = 0; c < k; c++) { /* (f - mu_c)^T P_c (f - mu_c) */
        const double *prec = mw->precision + (full ? c : 0);
        const double *mu = p->w.mean_pad + c * ld;
        double q = 0.0;
        for (ptrdiff_t i = 0; i < d; i++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                q += (mw->fill[i] - mu[i]) * prec[(i * d + j) * lk] * (mw->fill[j] - mu[j]);
            }
        }
        mw->direct |= !(q <= 1024.0);
        for (ptrdiff_t j = 0; j < d && full; j++) {
            mw->mean_t[j * k + c] = mu[j];
            mw->gap_t[j * k + c] = mw->fill[j] - mu[j];
            mw->shift_t[j * k + c] = p->shift[c * d + j];
        }
    }
}

ptrdiff_t cem_missing_mark(cem_pass *p, ptrdiff_t nb, cem_missing_work *mw)
{
    const ptrdiff_t d = p->d, ld = p->ld, B = cem_block_rows(d), nb8 = cem_round_rows(nb);
    const int narrow = d <= CEM_NARROW_MAX_D;
    const double *rows = p->w.rows;
    int any = 0;
    /* one branch-free sweep: a complete block costs only this */
    if (narrow) {
        for (ptrdiff_t j = 0; j < d; j++) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                any |= rows[j * B + r] != rows[j * B + r];
            }
        }
    } else {
        for (ptrdiff_t r = 0; r < nb; r++) {
            for (ptrdiff_t j = 0; j < d; j++) {
                any |= rows[r * ld + j] != rows[r * ld + j];
            }
        }
    }
    if (!any) {
        return 0;
    }
    if (rows != p->w.block) { /* read in place from the caller's data: copy */
        memcpy(p->w.block, rows, (size_t)(nb8 * ld) * sizeof(double));
        p->w.rows = p->w.block;
    }
    double *x = p->w.block;
    ptrdiff_t n_marked = 0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        ptrdiff_t n_absent = 0;
        for (ptrdiff_t j = 0; j < d; j++) {
            double *v = narrow ? x + j * B + r : x + r * ld + j;
            if (*v != *v) {
                *v = mw->fill[j];
                n_absent++;
            }
        }
        mw->row_kind[r] = n_absent == 0   ? CEM_ROW_COMPLETE
                          : n_absent == d ? CEM_ROW_EMPTY
                                          : CEM_ROW_PARTIAL;
        n_marked += n_absent > 0;
    }
    return n_marked;
}

/* Row i of data into mw->x, mw->filled, mw->keep and its index sets;
 * returns the number of observed values, or CEM_ENONFINITE for an
 * infinite one. */
static ptrdiff_t split_row(const cem_data *data, ptrdiff_t i, cem_missing_work *mw,
                           ptrdiff_t *n_absent)
{
    ptrdiff_t no = 0, nm = 0;
    for (ptrdiff_t j = 0; j < data->d; j++) {
        const double v = cem_load(data, i, j);
        mw->x[j] = v;
        if (v != v) {
            mw->absent[nm++] = (double)j;
            mw->filled[j] = mw->fill[j];
            mw->keep[j] = 0.0;
        } else if (!isfinite(v)) {
            return CEM_ENONFINITE;
        } else {
            mw->observed[no++] = (double)j;
            mw->filled[j] = v;
            mw->keep[j] = 1.0;
        }
    }
    *n_absent = nm;
    return no;
}

/* For a TIED component (FULL: full_log_densities, the same steps in lanes)
 * with precision `prec` and mean mu: the Cholesky factor L of P_mm in
 * l [m][m] (1 / L_tt on its diagonal, so that the solves multiply),
 * y = L^-1 b (b = P_mo e) in y [m].
 * Returns what the filled row's quadratic form q exceeds the observed
 * one's by, 2 g^T b + g^T P_mm g + y^T y (g = f_m - mu_m), and log|P_mm| in
 * *log_det_mm; NAN if P_mm does not factor. */
static double schur(const double *prec, const double *root, const double *mu, ptrdiff_t d,
                    ptrdiff_t nm, cem_missing_work *mw, double *l, double *y, double *log_det_mm)
{
    const double *abs_ = mw->absent;
    double *e = mw->e;
    for (ptrdiff_t j = 0; j < d; j++) { /* branch-free: 0 on m */
        e[j] = mw->keep[j] * (mw->filled[j] - mu[j]);
    }
    double excess = 0.0, det = 1.0; /* det L^-1 as a product: one log, not m */
    for (ptrdiff_t s = 0; s < nm; s++) { /* L L^T = P_mm row by row; g^T P_mm g */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        const double *prow = prec + js * d;
        const double gs = mw->fill[js] - mu[js];
        for (ptrdiff_t t = 0; t <= s; t++) {
            const ptrdiff_t jt = (ptrdiff_t)abs_[t];
            double v = prow[jt];
            excess += (t < s ? 2.0 : 1.0) * gs * v * (mw->fill[jt] - mu[jt]);
            for (ptrdiff_t u = 0; u < t; u++) {
                v -= l[s * nm + u] * l[t * nm + u];
            }
            if (t < s) {
                l[s * nm + t] = v * l[t * nm + t];
            } else {
                if (!(v > 0.0)) {
                    return NAN;
                }
                /* the one division: solves multiply; the first pivot is P_jj's */
                l[s * nm + s] = s == 0 ? root[js] : 1.0 / sqrt(v);
                det *= l[s * nm + s];
            }
        }
    }
    for (ptrdiff_t s = 0; s < nm; s++) { /* b = P_mo e; y = L^-1 b */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        const double *prow = prec + js * d;
        double v = 0.0;
        for (ptrdiff_t j = 0; j < d; j++) { /* e is 0 on m: the sum over o */
            v += prow[j] * e[j];
        }
        excess += 2.0 * (mw->fill[js] - mu[js]) * v;
        for (ptrdiff_t u = 0; u < s; u++) {
            v -= l[s * nm + u] * y[u];
        }
        y[s] = v * l[s * nm + s];
        excess += y[s] * y[s];
    }
    if (det > DBL_MIN && det < DBL_MAX) {
        *log_det_mm = -2.0 * log(det);
    } else { /* the product left the range of doubles: sum the logs */
        double log_det = 0.0;
        for (ptrdiff_t t = 0; t < nm; t++) {
            log_det -= log(l[t * nm + t]);
        }
        *log_det_mm = 2.0 * log_det;
    }
    return excess;
}

/* The lower triangle of mw->cond = P_mm^-1 = L^-T L^-1 from the factor l
 * (m x m, its diagonal holding 1 / L_tt): L^-1 by rows, then the product
 * in place (row s of it reads rows >= s of L^-1 and its own entries before
 * overwriting them, the diagonal last); m^3 / 3 multiplications. */
static void conditional_covariance(const double *l, ptrdiff_t nm, cem_missing_work *mw)
{
    double *inv = mw->cond;
    for (ptrdiff_t i = 0; i < nm; i++) {
        for (ptrdiff_t j = 0; j < i; j++) {
            double v = 0.0;
            for (ptrdiff_t u = j; u < i; u++) {
                v += l[i * nm + u] * inv[u * nm + j];
            }
            inv[i * nm + j] = -v * l[i * nm + i];
        }
        inv[i * nm + i] = l[i * nm + i];
    }
    for (ptrdiff_t s = 0; s < nm; s++) {
        for (ptrdiff_t t = 0; t <= s; t++) {
            double v = 0.0;
            for (ptrdiff_t u = s; u < nm; u++) {
                v += inv[u * nm + s] * inv[u * nm + t];
            }
            inv[s * nm + t] = v;
        }
    }
}

/* e^T P_oo e - y^T y computed directly, O(d^2): the quadratic form when
 * q - excess would cancel (components far from the fill value). P_ij at
 * prec[(i d + j) lk], e_j at e[j lk] (0 on m), y_s at y[s lk]: lk = 1 for
 * one matrix, k for one lane of FULL's. */
static double direct_quadratic(const double *prec, const double *e, const double *y,
                               ptrdiff_t d, ptrdiff_t nm, ptrdiff_t lk)
{
    double q = 0.0; /* e is 0 on m: the sums over o */
    for (ptrdiff_t i = 0; i < d; i++) {
        const double *prow = prec + i * d * lk;
        double cross = 0.0;
        for (ptrdiff_t j = 0; j < i; j++) {
            cross += prow[j * lk] * e[j * lk];
        }
        q += e[i * lk] * (prow[i * lk] * e[i * lk] + 2.0 * cross);
    }
    for (ptrdiff_t s = 0; s < nm; s++) {
        q -= y[s * lk] * y[s * lk];
    }
    return q;
}

/* Component c's observed-data log-density of row r, from its log|U_o|,
 * normalisation and quadratic form, into row_lp and log_resp. */
static inline int store_log_density(cem_pass *p, cem_missing_work *mw, ptrdiff_t r, ptrdiff_t c,
                                    double log_det, double norm, double q)
{
    const double lp = p->w.log_w[c] + log_det + norm - 0.5 * q;
    if (!(lp < INFINITY)) {
        return CEM_ENONFINITE;
    }
    mw->row_lp[c] = lp;
    p->w.log_resp[c * cem_block_rows(p->d) + r] = lp;
    return CEM_OK;
}

/* Row r's observed-data log-densities into row_lp (and log_resp), keeping
 * each component's L and y (TIED) in row_chol, row_y. */
static int row_log_densities(cem_pass *p, const cem_model *m, ptrdiff_t r, ptrdiff_t no,
                             ptrdiff_t nm, cem_missing_work *mw)
{
    const ptrdiff_t k = p->k, d = p->d, B = cem_block_rows(d);
    const double norm = -0.5 * (double)no * CEM_LOG_2PI;
    for (ptrdiff_t c = 0; c < k; c++) {
        const double *mu = m->means + c * d;
        double q = 0.0, log_det = p->w.log_det[c]; /* log|U| = -log|S| / 2 */
        if (triangular(p->covariance_type)) {
            const double *prec = mw->precision; /* TIED: FULL goes by full_log_densities */
            double log_det_mm = 0.0;
            const double excess = schur(prec, mw->root, mu, d, nm, mw, mw->row_chol + c * d * d,
                                        mw->row_y + c * d, &log_det_mm);
            if (excess != excess) {
                return CEM_ENOTPD;
            }
            q = mw->quad[c * B + r] - excess;
            if (mw->quad[c * B + r] > 1024.0 * (1.0 + fabs(q))) {
                /* more than 10 bits would cancel: the O(d^2) form instead */
                q = direct_quadratic(prec, mw->e, mw->row_y + c * d, d, nm, 1);
            }
            q = q > 0.0 ? q : 0.0; /* rounding of the difference: q_o >= 0 */
            log_det -= 0.5 * log_det_mm;
        } else {
            const double *f = variance_factor(p, c); /* 1 / sigma per feature */
            log_det = 0.0;
            for (ptrdiff_t t = 0; t < no; t++) {
                const ptrdiff_t j = (ptrdiff_t)mw->observed[t];
                const double z = (mw->x[j] - mu[j]) * f[j];
                q += z * z;
                log_det += log(f[j]);
            }
        }
        const int status = store_log_density(p, mw, r, c, log_det, norm, q);
        if (status != CEM_OK) {
            return status;
        }
    }
    return CEM_OK;
}

/* A row's log-densities lp[c] (k of them) become exp(lp[c] - max_c lp[c]);
 * returns their sum (>= 1): lp[c] / sum is the row's own responsibility. */
static inline double row_shifted_exp(ptrdiff_t k, double *lp)
{
    double top = -INFINITY, total = 0.0;
    for (ptrdiff_t c = 0; c < k; c++) {
        top = lp[c] > top ? lp[c] : top;
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        lp[c] = exp(lp[c] - top);
        total += lp[c];
    }
    return total;
}

/* Adds to stats what row r's statistics (weight w_r, its own
 * responsibilities from row_lp) exceed those of its filled row by. */
static void row_corrections(cem_pass *p, const cem_model *m, double w_r, ptrdiff_t nm,
                            cem_missing_work *mw, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d;
    const int type = p->covariance_type;
    double *sx = stats + 2 + k, *sxx = sx + k * d; /* the counts: in the block's (not direct) */
    const double *abs_ = mw->absent;
    const double total = row_shifted_exp(k, mw->row_lp);
    for (ptrdiff_t c = 0; c < k; c++) {
        const double a = w_r * (mw->row_lp[c] / total);
        if (a == 0.0) {
            continue;
        }
        const double *mu = m->means + c * d, *s = p->shift + c * d;
        double *ft = mw->filled_dif; /* the filled row minus the shift, x~ - s */
        for (ptrdiff_t j = 0; j < d; j++) {
            ft[j] = mw->filled[j] - s[j];
        }
        if (triangular(type)) {
            const double *l = mw->row_chol + c * d * d;
            double *delta = mw->row_y + c * d; /* y, then D_t = x_hat_m - f_m */
            for (ptrdiff_t t = nm - 1; t >= 0; t--) { /* P_mm^-1 b = L^-T y, in place */
                double v = delta[t];
                for (ptrdiff_t u = t + 1; u < nm; u++) {
                    v -= l[u * nm + t] * delta[u];
                }
                delta[t] = v * l[t * nm + t];
            }
            for (ptrdiff_t t = 0; t < nm; t++) {
                const ptrdiff_t jt = (ptrdiff_t)abs_[t];
                delta[t] = (mu[jt] - delta[t]) - mw->fill[jt];
            }
            conditional_covariance(l, nm, mw);
            double *second = sxx; /* TIED's one matrix: FULL goes by full_corrections */
            if (mw->direct) { /* the whole statistics of x_hat: ft becomes x_hat - s */
                stats[2 + c] += a;
                for (ptrdiff_t t = 0; t < nm; t++) {
                    ft[(ptrdiff_t)abs_[t]] += delta[t];
                }
                for (ptrdiff_t j = 0; j < d; j++) {
                    const double aj = a * ft[j];
                    sx[c * d + j] += aj;
                    for (ptrdiff_t l2 = 0; l2 <= j; l2++) {
                        second[j * d + l2] += aj * ft[l2];
                    }
                }
                for (ptrdiff_t t = 0; t < nm; t++) {
                    const ptrdiff_t jt = (ptrdiff_t)abs_[t];
                    for (ptrdiff_t u = 0; u <= t; u++) {
                        second[jt * d + (ptrdiff_t)abs_[u]] += a * mw->cond[t * nm + u];
                    }
                }
                continue;
            }
            double *cross = mw->cross;
            mw->crossed = 1;
            for (ptrdiff_t t = 0; t < nm; t++) {
                const ptrdiff_t jt = (ptrdiff_t)abs_[t];
                const double ad = a * delta[t];
                sx[c * d + jt] += ad;
                for (ptrdiff_t j = 0; j < d; j++) { /* row jt of D (x~ - s)^T, whole */
                    cross[jt * d + j] += ad * ft[j];
                }
                for (ptrdiff_t u = 0; u <= t; u++) { /* D D^T + P_mm^-1, lower */
                    second[jt * d + (ptrdiff_t)abs_[u]] +=
                        a * (delta[t] * delta[u] + mw->cond[t * nm + u]);
                }
            }
        } else {
            const double *f = variance_factor(p, c); /* 1 / sigma */
            if (mw->direct) { /* the whole statistics of x_hat = (x_o, mu_m) */
                stats[2 + c] += a;
                for (ptrdiff_t j = 0; j < d; j++) {
                    const int absent = mw->x[j] != mw->x[j];
                    const double h = absent ? mu[j] - s[j] : ft[j];
                    const double v = h * h + (absent ? 1.0 / (f[j] * f[j]) : 0.0);
                    sx[c * d + j] += a * h;
                    add_variance_moment(p, c, j, a * v, sxx);
                }
                continue;
            }
            for (ptrdiff_t t = 0; t < nm; t++) {
                const ptrdiff_t jt = (ptrdiff_t)abs_[t];
                const double dt = mu[jt] - mw->fill[jt];
                sx[c * d + jt] += a * dt;
                /* (x~ - s + D)^2 - (x~ - s)^2 + sigma^2 */
                const double v = dt * (2.0 * ft[jt] + dt) + 1.0 / (f[jt] * f[jt]);
                add_variance_moment(p, c, jt, a * v, sxx);
            }
        }
    }
}

/* The lane loops below (k components side by side) are compiled twice
 * where GCC can clone functions for the CPU (x86-64 Linux, ifunc): for the
 * baseline (SSE2, 2 lanes) and for AVX2 (4 lanes), picked once at load.
 * AVX2 without FMA on purpose: no a * b + c is contracted and GCC does not
 * reorder a sum without -ffast-math, so both clones compute each lane
 * with the same IEEE operations in the same order, the same bits (AVX-512F
 * would enable FMA contraction: other bits on the machines that have it). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(CEM_NO_DISPATCH)
#define CEM_LANE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CEM_LANE_CLONES
#endif

/*
 * FULL in lanes. schur(), conditional_covariance() and row_corrections()
 * per component cost a row k passes of short loops (m is 1 to 3 for most
 * rows) with their overhead each; here every step runs for all k
 * components at once, the component innermost ([.][k] arrays: P_c[i][j]
 * at (i d + j) k + c), so each loop over the components is contiguous and
 * branch-free, and vectorises. Per component the operations and their
 * order are those of the functions above (TIED's): the lanes only
 * interleave the components, the results are the same bit for bit; except
 * that a wide block's statistics take x_hat through the accumulation
 * (cem_pass.patch_at) instead of the correction terms.
 */

/* Row r's log-densities into row_lp (and log_resp), its L in row_chol
 * and y in row_y (lanes): schur() and row_log_densities() for all
 * components at once. */
CEM_LANE_CLONES
static int full_log_densities(cem_pass *p, ptrdiff_t r, ptrdiff_t no, ptrdiff_t nm,
                              cem_missing_work *mw)
{
    const ptrdiff_t k = p->k, d = p->d, B = cem_block_rows(d);
    const double *abs_ = mw->absent, *prec = mw->precision;
    double *e = mw->e, *l = mw->row_chol, *y = mw->row_y;
    double *excess = mw->lane, *det = mw->lane + k, *log_det_mm = mw->lane + 2 * k;
    for (ptrdiff_t j = 0; j < d; j++) { /* branch-free: 0 on m */
        const double keep = mw->keep[j], x = mw->filled[j];
        const double *mu = mw->mean_t + j * k;
        for (ptrdiff_t c = 0; c < k; c++) {
            e[j * k + c] = keep * (x - mu[c]);
        }
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        excess[c] = 0.0;
        det[c] = 1.0; /* det L^-1 as a product: one log, not m */
    }
    for (ptrdiff_t s = 0; s < nm; s++) { /* L L^T = P_mm row by row; g^T P_mm g */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        const double *gs = mw->gap_t + js * k;
        for (ptrdiff_t t = 0; t <= s; t++) {
            const ptrdiff_t jt = (ptrdiff_t)abs_[t];
            const double *pst = prec + (js * d + jt) * k, *gt = mw->gap_t + jt * k;
            const double two = t < s ? 2.0 : 1.0;
            double *lst = l + (s * nm + t) * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                excess[c] += two * gs[c] * pst[c] * gt[c];
                lst[c] = pst[c];
            }
            for (ptrdiff_t u = 0; u < t; u++) {
                const double *lsu = l + (s * nm + u) * k, *ltu = l + (t * nm + u) * k;
                for (ptrdiff_t c = 0; c < k; c++) {
                    lst[c] -= lsu[c] * ltu[c];
                }
            }
            if (t < s) {
                const double *ltt = l + (t * nm + t) * k;
                for (ptrdiff_t c = 0; c < k; c++) {
                    lst[c] *= ltt[c];
                }
                continue;
            }
            int pivots = 1;
            for (ptrdiff_t c = 0; c < k; c++) {
                pivots &= lst[c] > 0.0;
            }
            if (!pivots) {
                return CEM_ENOTPD;
            }
            const double *root = mw->root + js * k; /* the first pivot is P_jj's */
            for (ptrdiff_t c = 0; c < k; c++) {
                lst[c] = s == 0 ? root[c] : 1.0 / sqrt(lst[c]);
                det[c] *= lst[c];
            }
        }
    }
    for (ptrdiff_t s = 0; s < nm; s++) { /* b = P_mo e; y = L^-1 b */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        const double *gs = mw->gap_t + js * k;
        double *ys = y + s * k;
        ptrdiff_t c0 = 0;
        /* 8 components at a time in a local accumulator, j inside: the sums
         * stay in registers over j (ys itself would be stored and reloaded
         * for every j, as it may alias prec and e); each lane still adds
         * j = 0, 1, ... in order, the same bits as the loop after it */
        for (; c0 + 8 <= k; c0 += 8) {
            double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
            for (ptrdiff_t j = 0; j < d; j++) { /* e is 0 on m: the sum over o */
                const double *pj = prec + (js * d + j) * k + c0, *ej = e + j * k + c0;
                for (ptrdiff_t c = 0; c < 8; c++) {
                    acc[c] += pj[c] * ej[c];
                }
            }
            memcpy(ys + c0, acc, sizeof acc);
        }
        for (ptrdiff_t c = c0; c < k; c++) {
            ys[c] = 0.0;
        }
        for (ptrdiff_t j = 0; j < d && c0 < k; j++) {
            const double *pj = prec + (js * d + j) * k, *ej = e + j * k;
            for (ptrdiff_t c = c0; c < k; c++) {
                ys[c] += pj[c] * ej[c];
            }
        }
        for (ptrdiff_t c = 0; c < k; c++) {
            excess[c] += 2.0 * gs[c] * ys[c];
        }
        for (ptrdiff_t u = 0; u < s; u++) {
            const double *lsu = l + (s * nm + u) * k, *yu = y + u * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                ys[c] -= lsu[c] * yu[c];
            }
        }
        const double *lss = l + (s * nm + s) * k;
        for (ptrdiff_t c = 0; c < k; c++) {
            ys[c] *= lss[c];
            excess[c] += ys[c] * ys[c];
        }
    }
    if (nm == 1) { /* log P_jj, from the pass's start */
        memcpy(log_det_mm, mw->log_pivot + (ptrdiff_t)abs_[0] * k, (size_t)k * sizeof(double));
    } else {
        for (ptrdiff_t c = 0; c < k; c++) {
            if (det[c] > DBL_MIN && det[c] < DBL_MAX) {
                log_det_mm[c] = -2.0 * log(det[c]);
            } else { /* the product left the range of doubles: sum the logs */
                double log_det = 0.0;
                for (ptrdiff_t t = 0; t < nm; t++) {
                    log_det -= log(l[(t * nm + t) * k + c]);
                }
                log_det_mm[c] = 2.0 * log_det;
            }
        }
    }
    const double norm = -0.5 * (double)no * CEM_LOG_2PI;
    for (ptrdiff_t c = 0; c < k; c++) {
        double q = mw->quad[c * B + r] - excess[c];
        if (mw->quad[c * B + r] > 1024.0 * (1.0 + fabs(q))) {
            /* more than 10 bits would cancel: the O(d^2) form instead */
            q = direct_quadratic(prec + c, e + c, y + c, d, nm, k);
        }
        q = q > 0.0 ? q : 0.0; /* rounding of the difference: q_o >= 0 */
        const double log_det = p->w.log_det[c] - 0.5 * log_det_mm[c];
        const int status = store_log_density(p, mw, r, c, log_det, norm, q);
        if (status != CEM_OK) {
            return status;
        }
    }
    return CEM_OK;
}

/* P_mm^-1 = L^-T L^-1 in place of L in row_chol, in lanes: L^-1 by rows
 * (entry (i, j) reads row i of L only at columns >= j, so ascending j may
 * overwrite it), then the product as conditional_covariance() does. */
CEM_LANE_CLONES
static void full_conditional_covariance(ptrdiff_t k, ptrdiff_t nm, cem_missing_work *mw)
{
    double *l = mw->row_chol, *v = mw->lane;
    for (ptrdiff_t i = 0; i < nm; i++) {
        const double *lii = l + (i * nm + i) * k;
        for (ptrdiff_t j = 0; j < i; j++) {
            for (ptrdiff_t c = 0; c < k; c++) {
                v[c] = 0.0;
            }
            for (ptrdiff_t u = j; u < i; u++) {
                const double *liu = l + (i * nm + u) * k, *inv_uj = l + (u * nm + j) * k;
                for (ptrdiff_t c = 0; c < k; c++) {
                    v[c] += liu[c] * inv_uj[c];
                }
            }
            double *inv_ij = l + (i * nm + j) * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                inv_ij[c] = -v[c] * lii[c];
            }
        }
    }
    for (ptrdiff_t s = 0; s < nm; s++) {
        for (ptrdiff_t t = 0; t <= s; t++) {
            for (ptrdiff_t c = 0; c < k; c++) {
                v[c] = 0.0;
            }
            for (ptrdiff_t u = s; u < nm; u++) {
                const double *us = l + (u * nm + s) * k, *ut = l + (u * nm + t) * k;
                for (ptrdiff_t c = 0; c < k; c++) {
                    v[c] += us[c] * ut[c];
                }
            }
            memcpy(l + (s * nm + t) * k, v, (size_t)k * sizeof(double));
        }
    }
}

/* row_corrections() for FULL, in lanes (its direct mode per component);
 * in a wide block (not direct), only P_mm^-1 and the patch of row r. */
CEM_LANE_CLONES
static void full_corrections(cem_pass *p, ptrdiff_t r, double w_r, ptrdiff_t nm,
                             cem_missing_work *mw, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d;
    double *sx = stats + 2 + k, *sxx = sx + k * d; /* the counts: in the block's (not direct) */
    const double *abs_ = mw->absent, *l = mw->row_chol;
    double *a = mw->lane + 3 * k, *delta = mw->row_y, *ft = mw->filled_dif;
    const double total = row_shifted_exp(k, mw->row_lp);
    for (ptrdiff_t c = 0; c < k; c++) {
        a[c] = w_r * (mw->row_lp[c] / total);
    }
    for (ptrdiff_t t = nm - 1; t >= 0; t--) { /* P_mm^-1 b = L^-T y, in place */
        double *dt = delta + t * k;
        for (ptrdiff_t u = t + 1; u < nm; u++) {
            const double *lut = l + (u * nm + t) * k, *du = delta + u * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                dt[c] -= lut[c] * du[c];
            }
        }
        const double *ltt = l + (t * nm + t) * k;
        for (ptrdiff_t c = 0; c < k; c++) {
            dt[c] *= ltt[c];
        }
    }
    for (ptrdiff_t t = 0; t < nm; t++) { /* D_t = x_hat_m - f_m */
        const ptrdiff_t jt = (ptrdiff_t)abs_[t];
        const double *mu = mw->mean_t + jt * k, f = mw->fill[jt];
        for (ptrdiff_t c = 0; c < k; c++) {
            delta[t * k + c] = (mu[c] - delta[t * k + c]) - f;
        }
    }
    full_conditional_covariance(k, nm, mw);
    const double *cond = mw->row_chol;
    if (!mw->direct && p->d > CEM_NARROW_MAX_D) {
        /* the block accumulation takes the moments of x_hat (cem_pass.patch_at):
         * only P_mm^-1 is left to add here */
        for (ptrdiff_t t = 0; t < nm; t++) {
            const double *dt = delta + t * k;
            double *to = mw->patch_delta + mw->n_patch * k;
            mw->patch_at[mw->n_patch++] = (double)(r * p->ld + (ptrdiff_t)abs_[t]);
            for (ptrdiff_t c = 0; c < k; c++) { /* a = 0: nothing (D may overflow) */
                to[c] = a[c] != 0.0 ? dt[c] : 0.0;
            }
        }
        for (ptrdiff_t t = 0; t < nm; t++) {
            const ptrdiff_t jt = (ptrdiff_t)abs_[t];
            for (ptrdiff_t u = 0; u <= t; u++) {
                const ptrdiff_t ju = (ptrdiff_t)abs_[u];
                const double *ctu = cond + (t * nm + u) * k;
                for (ptrdiff_t c = 0; c < k; c++) {
                    if (a[c] != 0.0) {
                        sxx[c * d * d + jt * d + ju] += a[c] * ctu[c];
                    }
                }
            }
        }
        return;
    }
    for (ptrdiff_t j = 0; j < d; j++) { /* x~ - s */
        const double x = mw->filled[j], *s = mw->shift_t + j * k;
        for (ptrdiff_t c = 0; c < k; c++) {
            ft[j * k + c] = x - s[c];
        }
    }
    if (mw->direct) { /* the whole statistics of x_hat, per component */
        for (ptrdiff_t c = 0; c < k; c++) {
            if (a[c] == 0.0) {
                continue;
            }
            double *h = mw->x; /* x_hat - s: the row itself is not needed any more */
            for (ptrdiff_t j = 0; j < d; j++) {
                h[j] = ft[j * k + c];
            }
            for (ptrdiff_t t = 0; t < nm; t++) {
                h[(ptrdiff_t)abs_[t]] += delta[t * k + c];
            }
            stats[2 + c] += a[c];
            double *second = sxx + c * d * d;
            for (ptrdiff_t j = 0; j < d; j++) {
                const double aj = a[c] * h[j];
                sx[c * d + j] += aj;
                for (ptrdiff_t l2 = 0; l2 <= j; l2++) {
                    second[j * d + l2] += aj * h[l2];
                }
            }
            for (ptrdiff_t t = 0; t < nm; t++) {
                const ptrdiff_t jt = (ptrdiff_t)abs_[t];
                for (ptrdiff_t u = 0; u <= t; u++) {
                    second[jt * d + (ptrdiff_t)abs_[u]] += a[c] * cond[(t * nm + u) * k + c];
                }
            }
        }
        return;
    }
    double *ad = mw->lane + 2 * k;
    mw->crossed = 1;
    for (ptrdiff_t t = 0; t < nm; t++) {
        const ptrdiff_t jt = (ptrdiff_t)abs_[t];
        const double *dt = delta + t * k;
        for (ptrdiff_t c = 0; c < k; c++) { /* a = 0: nothing (P_mm^-1 may overflow) */
            ad[c] = a[c] != 0.0 ? a[c] * dt[c] : 0.0;
            sx[c * d + jt] += ad[c];
        }
        for (ptrdiff_t j = 0; j < d; j++) { /* row jt of D (x~ - s)^T, whole */
            double *cross = mw->cross + (jt * d + j) * k;
            const double *fj = ft + j * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                cross[c] += ad[c] * fj[c];
            }
        }
        for (ptrdiff_t u = 0; u <= t; u++) { /* D D^T + P_mm^-1, lower */
            const ptrdiff_t ju = (ptrdiff_t)abs_[u];
            const double *du = delta + u * k, *ctu = cond + (t * nm + u) * k;
            for (ptrdiff_t c = 0; c < k; c++) {
                if (a[c] != 0.0) {
                    sxx[c * d * d + jt * d + ju] += a[c] * (dt[c] * du[c] + ctu[c]);
                }
            }
        }
    }
}

/* Adds R + R^T, R = mw->cross, into the lower triangles of the second
 * moments and clears R: the (x~ - s) D^T + D (x~ - s)^T of row_corrections,
 * kept as whole rows of R so that its loops run contiguously. */
static void fold_cross(const cem_pass *p, cem_missing_work *mw, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d;
    const int full = p->covariance_type == CEM_FULL;
    const ptrdiff_t n_factors = full ? k : 1, lk = full ? k : 1; /* FULL's in lanes */
    double *sxx = stats + 2 + k + k * d;
    for (ptrdiff_t f = 0; f < n_factors; f++) {
        double *second = sxx + f * d * d;
        const double *cross = mw->cross + f;
        for (ptrdiff_t i = 0; i < d; i++) {
            for (ptrdiff_t j = 0; j <= i; j++) {
                second[i * d + j] += cross[(i * d + j) * lk] + cross[(j * d + i) * lk];
            }
        }
    }
    memset(mw->cross, 0, (size_t)(n_factors * d * d) * sizeof(double));
    mw->crossed = 0;
}

int cem_missing_rows(cem_pass *p, const cem_model *m, const cem_data *data, ptrdiff_t i0,
                     ptrdiff_t nb, cem_missing_work *mw, double *stats)
{
    const ptrdiff_t k = p->k, B = cem_block_rows(p->d);
    mw->n_patch = 0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        if (mw->row_kind[r] == CEM_ROW_COMPLETE) {
            continue;
        }
        ptrdiff_t nm = 0;
        const ptrdiff_t no = split_row(data, i0 + r, mw, &nm);
        if (no < 0) {
            return CEM_ENONFINITE;
        }
        if (no == 0) { /* nothing observed: the prior, log p = 0 */
            for (ptrdiff_t c = 0; c < k; c++) {
                p->w.log_resp[c * B + r] = p->w.log_w[c];
            }
            continue;
        }
        const int full = p->covariance_type == CEM_FULL;
        const int status = full ? full_log_densities(p, r, no, nm, mw)
                                : row_log_densities(p, m, r, no, nm, mw);
        if (status != CEM_OK) {
            return status;
        }
        if (stats != NULL && full) {
            full_corrections(p, r, cem_row_weight(data, i0 + r), nm, mw, stats);
        } else if (stats != NULL) {
            row_corrections(p, m, cem_row_weight(data, i0 + r), nm, mw, stats);
        }
    }
    if (mw->crossed) {
        fold_cross(p, mw, stats);
    }
    p->n_patch = mw->n_patch;
    p->patch_at = mw->patch_at;
    p->patch_delta = mw->patch_delta;
    return CEM_OK;
}

double cem_missing_empty_rows(cem_pass *p, const cem_data *data, ptrdiff_t i0, ptrdiff_t nb,
                              const cem_missing_work *mw)
{
    double empty_weight = 0.0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        if (mw->row_kind[r] == CEM_ROW_EMPTY) {
            empty_weight += cem_row_weight(data, i0 + r);
        }
        if (mw->row_kind[r] == CEM_ROW_EMPTY || (mw->direct && mw->row_kind[r] != CEM_ROW_COMPLETE)) {
            for (ptrdiff_t c = 0; c < p->k; c++) {
                p->w.log_resp[c * cem_block_rows(p->d) + r] = 0.0;
            }
        }
    }
    return empty_weight;
}
