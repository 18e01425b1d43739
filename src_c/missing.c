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
 * With L L^T = P_mm, e = x_o - mu_o and y = L^-1 P_mo e, the quadratic
 * form is e^T P_oo e - y^T y. Diagonal and spherical covariances need no
 * factorisation: the missing coordinates drop out of the density, and the
 * statistics use mu_j and sigma_j^2 for them.
 */
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
    CEM_TAKE(precision, precision_size(k, d, covariance_type));
    CEM_TAKE(row_kind, CEM_BLOCK_ROWS);
    CEM_TAKE(x, d);
    CEM_TAKE(observed, d);
    CEM_TAKE(absent, d);
    CEM_TAKE(e, d);
    CEM_TAKE(b, d);
    CEM_TAKE(chol, d * d);
    CEM_TAKE(cond, d * d);
    CEM_TAKE(x_hat, d);
#undef CEM_TAKE
    return used;
}

void cem_missing_start(const cem_pass *p, cem_missing_work *mw)
{
    if (!triangular(p->covariance_type)) {
        return;
    }
    const ptrdiff_t d = p->d, ld = p->ld;
    const ptrdiff_t n_factors = p->covariance_type == CEM_FULL ? p->k : 1;
    for (ptrdiff_t f = 0; f < n_factors; f++) {
        const double *u = p->w.factor + f * ld * ld; /* padded, zero below the diagonal */
        double *prec = mw->precision + f * d * d;
        for (ptrdiff_t i = 0; i < d; i++) {
            for (ptrdiff_t j = 0; j <= i; j++) { /* P_ij = sum_{l >= i} U_il U_jl */
                double s = 0.0;
                for (ptrdiff_t l = i; l < d; l++) {
                    s += u[i * ld + l] * u[j * ld + l];
                }
                prec[i * d + j] = s;
                prec[j * d + i] = s;
            }
        }
    }
}

ptrdiff_t cem_missing_mark(cem_pass *p, ptrdiff_t nb, cem_missing_work *mw)
{
    const ptrdiff_t d = p->d, ld = p->ld, B = CEM_BLOCK_ROWS, nb8 = cem_round_rows(nb);
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
                *v = 0.0;
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

/* Row i of data into mw->x and its index sets; returns the number of
 * observed values, or CEM_ENONFINITE for an infinite one. */
static ptrdiff_t split_row(const cem_data *data, ptrdiff_t i, cem_missing_work *mw,
                           ptrdiff_t *n_absent)
{
    ptrdiff_t no = 0, nm = 0;
    for (ptrdiff_t j = 0; j < data->d; j++) {
        const double v = cem_load(data, i, j);
        mw->x[j] = v;
        if (v != v) {
            mw->absent[nm++] = (double)j;
        } else if (!isfinite(v)) {
            return CEM_ENONFINITE;
        } else {
            mw->observed[no++] = (double)j;
        }
    }
    *n_absent = nm;
    return no;
}

/* For a FULL or TIED component with precision `prec` and mean mu: e, the
 * Cholesky factor L of P_mm in mw->chol, and y = L^-1 P_mo e in mw->b.
 * Returns the quadratic form e^T S_oo^-1 e, and log|P_mm| in *log_det_mm;
 * NAN if P_mm does not factor. */
static double schur(const double *prec, const double *mu, ptrdiff_t d, ptrdiff_t no,
                    ptrdiff_t nm, cem_missing_work *mw, double *log_det_mm)
{
    const double *obs = mw->observed, *abs_ = mw->absent;
    double *e = mw->e, *l = mw->chol, *y = mw->b;
    double q = 0.0;
    for (ptrdiff_t t = 0; t < no; t++) {
        const ptrdiff_t jt = (ptrdiff_t)obs[t];
        e[t] = mw->x[jt] - mu[jt];
        double cross = 0.0;
        for (ptrdiff_t s = 0; s < t; s++) {
            cross += prec[jt * d + (ptrdiff_t)obs[s]] * e[s];
        }
        q += e[t] * (prec[jt * d + jt] * e[t] + 2.0 * cross);
    }
    double log_det = 0.0;
    for (ptrdiff_t s = 0; s < nm; s++) { /* L L^T = P_mm, row by row */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        for (ptrdiff_t t = 0; t <= s; t++) {
            double v = prec[js * d + (ptrdiff_t)abs_[t]];
            for (ptrdiff_t u = 0; u < t; u++) {
                v -= l[s * nm + u] * l[t * nm + u];
            }
            if (t < s) {
                l[s * nm + t] = v / l[t * nm + t];
            } else {
                if (!(v > 0.0)) {
                    return NAN;
                }
                l[s * nm + s] = sqrt(v);
                log_det += log(l[s * nm + s]);
            }
        }
    }
    for (ptrdiff_t s = 0; s < nm; s++) { /* y = L^-1 (P_mo e) */
        const ptrdiff_t js = (ptrdiff_t)abs_[s];
        double v = 0.0;
        for (ptrdiff_t t = 0; t < no; t++) {
            v += prec[js * d + (ptrdiff_t)obs[t]] * e[t];
        }
        for (ptrdiff_t u = 0; u < s; u++) {
            v -= l[s * nm + u] * y[u];
        }
        y[s] = v / l[s * nm + s];
        q -= y[s] * y[s];
    }
    *log_det_mm = 2.0 * log_det;
    return q;
}

int cem_missing_log_densities(cem_pass *p, const cem_model *m, const cem_data *data,
                              ptrdiff_t i0, ptrdiff_t nb, cem_missing_work *mw)
{
    const ptrdiff_t k = p->k, d = p->d, B = CEM_BLOCK_ROWS;
    double *log_resp = p->w.log_resp;
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
                log_resp[c * B + r] = p->w.log_w[c];
            }
            continue;
        }
        const double norm = -0.5 * (double)no * CEM_LOG_2PI;
        for (ptrdiff_t c = 0; c < k; c++) {
            const double *mu = m->means + c * d;
            double q = 0.0, log_det = p->w.log_det[c]; /* log|U| = -log|S| / 2 */
            if (triangular(p->covariance_type)) {
                const double *prec = mw->precision + (p->covariance_type == CEM_FULL ? c * d * d : 0);
                double log_det_mm = 0.0;
                q = schur(prec, mu, d, no, nm, mw, &log_det_mm);
                if (q != q) {
                    return CEM_ENOTPD;
                }
                log_det -= 0.5 * log_det_mm;
            } else {
                const double *f = p->w.factor + c * p->ld; /* 1 / sigma per feature */
                log_det = 0.0;
                for (ptrdiff_t t = 0; t < no; t++) {
                    const ptrdiff_t j = (ptrdiff_t)mw->observed[t];
                    const double z = (mw->x[j] - mu[j]) * f[j];
                    q += z * z;
                    log_det += log(f[j]);
                }
            }
            const double lp = p->w.log_w[c] + log_det + norm - 0.5 * q;
            if (!(lp < INFINITY)) {
                return CEM_ENONFINITE;
            }
            log_resp[c * B + r] = lp;
        }
    }
    return CEM_OK;
}

/* mw->cond = P_mm^-1 = L^-T L^-1 from the factor in mw->chol (m x m). */
static void conditional_covariance(ptrdiff_t nm, cem_missing_work *mw)
{
    const double *l = mw->chol;
    double *inv = mw->cond;
    /* column t of P_mm^-1: solve L z = unit_t, then L^T w = z */
    for (ptrdiff_t t = 0; t < nm; t++) {
        double *z = mw->e; /* e is free again here */
        for (ptrdiff_t s = 0; s < nm; s++) {
            double v = s == t ? 1.0 : 0.0;
            for (ptrdiff_t u = 0; u < s; u++) {
                v -= l[s * nm + u] * z[u];
            }
            z[s] = v / l[s * nm + s];
        }
        for (ptrdiff_t s = nm - 1; s >= 0; s--) {
            double v = z[s];
            for (ptrdiff_t u = s + 1; u < nm; u++) {
                v -= l[u * nm + s] * inv[u * nm + t];
            }
            inv[s * nm + t] = v / l[s * nm + s];
        }
    }
}

double cem_missing_accumulate(cem_pass *p, const cem_model *m, const cem_data *data,
                              ptrdiff_t i0, ptrdiff_t nb, cem_missing_work *mw, double *stats)
{
    const ptrdiff_t k = p->k, d = p->d, B = CEM_BLOCK_ROWS;
    const int type = p->covariance_type;
    double *nk = stats + 2, *sx = nk + k, *sxx = sx + k * d;
    double *resp = p->w.log_resp;
    double empty_weight = 0.0;
    for (ptrdiff_t r = 0; r < nb; r++) {
        if (mw->row_kind[r] == CEM_ROW_COMPLETE) {
            continue;
        }
        const double w_r = cem_row_weight(data, i0 + r);
        if (mw->row_kind[r] == CEM_ROW_EMPTY) {
            empty_weight += w_r;
            for (ptrdiff_t c = 0; c < k; c++) {
                resp[c * B + r] = 0.0;
            }
            continue;
        }
        ptrdiff_t nm = 0;
        const ptrdiff_t no = split_row(data, i0 + r, mw, &nm); /* finite: checked before */
        for (ptrdiff_t c = 0; c < k; c++) {
            const double a = w_r * resp[c * B + r];
            resp[c * B + r] = 0.0;
            if (a == 0.0) {
                continue;
            }
            const double *mu = m->means + c * d, *s = p->shift + c * d;
            double *x_hat = mw->x_hat;
            for (ptrdiff_t j = 0; j < d; j++) {
                x_hat[j] = mw->x[j] == mw->x[j] ? mw->x[j] : mu[j];
            }
            if (triangular(type)) {
                const double *prec = mw->precision + (type == CEM_FULL ? c * d * d : 0);
                double log_det_mm;
                schur(prec, mu, d, no, nm, mw, &log_det_mm); /* factored before: finite */
                const double *l = mw->chol;
                double *y = mw->b;
                for (ptrdiff_t t = nm - 1; t >= 0; t--) { /* P_mm^-1 P_mo e = L^-T y */
                    double v = y[t];
                    for (ptrdiff_t u = t + 1; u < nm; u++) {
                        v -= l[u * nm + t] * y[u];
                    }
                    y[t] = v / l[t * nm + t];
                }
                for (ptrdiff_t t = 0; t < nm; t++) {
                    x_hat[(ptrdiff_t)mw->absent[t]] -= y[t];
                }
                conditional_covariance(nm, mw);
            }
            nk[c] += a;
            double *dif = mw->e; /* x_hat - s */
            for (ptrdiff_t j = 0; j < d; j++) {
                dif[j] = x_hat[j] - s[j];
                sx[c * d + j] += a * dif[j];
            }
            if (triangular(type)) {
                double *second = type == CEM_FULL ? sxx + c * d * d : sxx;
                for (ptrdiff_t j = 0; j < d; j++) {
                    const double aj = a * dif[j];
                    for (ptrdiff_t l = 0; l <= j; l++) {
                        second[j * d + l] += aj * dif[l];
                    }
                }
                for (ptrdiff_t t = 0; t < nm; t++) { /* absent indices ascend: lower stays lower */
                    const ptrdiff_t jt = (ptrdiff_t)mw->absent[t];
                    for (ptrdiff_t u = 0; u <= t; u++) {
                        second[jt * d + (ptrdiff_t)mw->absent[u]] += a * mw->cond[t * nm + u];
                    }
                }
            } else {
                const double *f = p->w.factor + c * p->ld;
                double total = 0.0;
                for (ptrdiff_t j = 0; j < d; j++) {
                    double v = dif[j] * dif[j];
                    if (mw->x[j] != mw->x[j]) {
                        v += 1.0 / (f[j] * f[j]); /* the conditional variance: sigma_j^2 */
                    }
                    if (type == CEM_DIAG) {
                        sxx[c * d + j] += a * v;
                    } else {
                        total += v;
                    }
                }
                if (type == CEM_SPHERICAL) {
                    sxx[c] += a * total;
                }
            }
        }
    }
    return empty_weight;
}
