/*
 * missing.h -- the fused pass's path for rows with missing values (NaN),
 * used by cem_e_step_missing (estep.c); not installed.
 *
 * A block is scanned for NaN as it is loaded; a block without one goes the
 * complete-data way untouched. In a block with some, the rows holding a NaN
 * get their NaN set to 0 in the loaded copy (so the block kernels stay
 * finite), their log-densities replaced by the marginal ones of their
 * observed values, and their statistics added here, one row at a time,
 * with the responsibilities the block's log-sum-exp gave them; the block
 * accumulation then sees them with responsibility 0.
 */
#ifndef CEM_MISSING_H
#define CEM_MISSING_H

#include "internal.h"

/* What a row of the block is (cem_missing_work.row_kind). */
#define CEM_ROW_COMPLETE 0.0
#define CEM_ROW_PARTIAL 1.0 /* some values missing, some observed */
#define CEM_ROW_EMPTY 2.0   /* every value missing: log p = 0, no weight */

/* Scratch of the missing-data path, laid out after the pass's own. */
typedef struct {
    double *precision; /* P = U U^T: FULL [k][d][d], TIED [d][d], else none */
    double *row_kind;  /* [B] CEM_ROW_* of each row of the block */
    double *x;         /* [d] the row, NaN where missing */
    double *observed;  /* [d] indices of the observed features, as doubles */
    double *absent;    /* [d] indices of the missing features, as doubles */
    double *e;         /* [d] x_o - mu_o */
    double *b;         /* [d] P_mo e, then P_mm^-1 P_mo e */
    double *chol;      /* [d][d] lower Cholesky factor L of P_mm (m x m used) */
    double *cond;      /* [d][d] P_mm^-1, the conditional covariance (m x m used) */
    double *x_hat;     /* [d] the row completed by its conditional mean */
} cem_missing_work;

/* Lays the scratch out from `work` into *mw (pointers NULL when work is
 * NULL); returns its length in doubles. */
ptrdiff_t cem_missing_layout(double *work, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                             cem_missing_work *mw);

/* Once per pass, after the pass's factors are prepared: the precisions. */
void cem_missing_start(const cem_pass *p, cem_missing_work *mw);

/* Scans the loaded block (p->w.rows) for NaN; when there is one, makes the
 * rows a private copy, sets each NaN to 0 and marks row_kind. Returns the
 * number of rows with a NaN (0: the block is complete, row_kind unset). */
ptrdiff_t cem_missing_mark(cem_pass *p, ptrdiff_t nb, cem_missing_work *mw);

/* The marked rows' log-densities log w_c + log N(x_o | mu_o, S_oo) into
 * p->w.log_resp (an empty row gets log w_c); CEM_ENONFINITE for an
 * infinite observed value or a marginal that is not finite, CEM_ENOTPD if
 * some P_mm does not factor. */
int cem_missing_log_densities(cem_pass *p, const cem_model *m, const cem_data *data,
                              ptrdiff_t i0, ptrdiff_t nb, cem_missing_work *mw);

/* The marked rows' statistics under the responsibilities now in
 * p->w.log_resp (moments about p->shift, x_hat in place of x, plus the
 * conditional covariance), added to stats; then their responsibilities
 * there set to 0, so the block accumulation skips them. Returns the total
 * sample weight of the block's empty rows (to take out of stats[0]). */
double cem_missing_accumulate(cem_pass *p, const cem_model *m, const cem_data *data,
                              ptrdiff_t i0, ptrdiff_t nb, cem_missing_work *mw, double *stats);

#endif /* CEM_MISSING_H */
