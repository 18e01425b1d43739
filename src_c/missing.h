/*
 * missing.h -- the fused pass's path for rows with missing values (NaN),
 * used by cem_e_step_missing (estep.c); not installed.
 *
 * A block is scanned for NaN as it is loaded; a block without one goes the
 * complete-data way untouched. In a block with some, each NaN is set in the
 * loaded copy to a fill value f_j (the mean of the components' means), so
 * the block kernels run on every row as usual; then, one row with a NaN at
 * a time, the log-densities are corrected to the marginal ones of the
 * observed values (from the kernels' quadratic forms), and the statistics
 * the block accumulation adds for the filled row are corrected to those of
 * the conditional mean plus the conditional covariance: per row and
 * component O(m d + m^3) for m missing values, instead of O(d^2). Wide
 * FULL blocks instead hand the accumulation each missing value's
 * x_hat_j - f_j per component (cem_pass.patch_at), so that it takes the
 * moments of x_hat itself, and only the conditional covariance is added
 * here: O(m^3) per row and component.
 * Rows with nothing observed get responsibility 0 before the accumulation.
 */
#ifndef CEM_MISSING_H
#define CEM_MISSING_H

#include "internal.h"

/* What a row of the block is (cem_missing_work.row_kind). */
#define CEM_ROW_COMPLETE 0.0
#define CEM_ROW_PARTIAL 1.0 /* some values missing, some observed */
#define CEM_ROW_EMPTY 2.0   /* every value missing: log p = 0, no weight */

/* Scratch of the missing-data path, laid out after the pass's own.
 * FULL works in lanes, one per component: "[j][k]" arrays hold feature j
 * of every component contiguously (see "FULL in lanes" in missing.c). */
typedef struct {
    double *precision; /* P = U U^T: FULL [d][d][k] (lanes), TIED [d][d], else none */
    double *fill;      /* [d] f, the value a NaN takes in the loaded block */
    double *root;      /* 1 / sqrt(P_jj), a factor's first pivot: FULL [d][k], TIED [d] */
    double *log_pivot; /* FULL [d][k] log P_jj = log|P_mm| for m = {j} */
    double *mean_t;    /* FULL [d][k] mu_c */
    double *gap_t;     /* FULL [d][k] f - mu_c */
    double *shift_t;   /* FULL [d][k] s_c */
    double *quad;      /* [k][B] the kernels' squared distances of the block's rows */
    double *row_kind;  /* [B] CEM_ROW_* of each row of the block */
    double *x;         /* [d] the row, NaN where missing */
    double *observed;  /* [d] indices of the observed features, as doubles */
    double *absent;    /* [d] indices of the missing features, as doubles */
    double *e;         /* [d] x - mu on o, 0 on m (all d: contiguous loops); FULL [d][k] */
    double *filled;    /* [d] the row with each NaN replaced by fill, x~ */
    double *keep;      /* [d] 1 where the row is observed, 0 where missing */
    double *cond;      /* [d][d] P_mm^-1, the conditional covariance (m x m, lower used) */
    double *filled_dif; /* [d] the filled row minus the shift, x~ - s; FULL [d][k] */
    double *row_chol;  /* [k][d][d] per component, L of the row's P_mm (m x m used);
                        * FULL [m][m][k], then P_mm^-1 */
    double *row_y;     /* [k][d] per component, L^-1 P_mo e, then x_hat_m - f_m; FULL [m][k] */
    double *row_lp;    /* [k] the row's log-densities, then unnormalised responsibilities */
    double *lane;      /* FULL [4][k]: per-component scalars of a row */
    double *cross;     /* as precision: sums of a D (x~ - s)^T, folded per block */
    double *patch_at;  /* wide FULL [B d]: cem_pass.patch_at of the block */
    double *patch_delta; /* wide FULL [B d][k]: cem_pass.patch_delta of the block */
    ptrdiff_t n_patch; /* entries in patch_at so far */
    /* 1 when the fill value is so far from some component (squared
     * Mahalanobis distance > 2^10) that correcting the filled row's moments
     * would cancel more than 10 bits: rows with NaN then leave the block
     * accumulation and add their whole statistics here, O(d^2) each. */
    int direct;
    int crossed;       /* cross holds sums to fold into the statistics */
} cem_missing_work;

/* Lays the scratch out from `work` into *mw (pointers NULL when work is
 * NULL); returns its length in doubles. */
ptrdiff_t cem_missing_layout(double *work, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                             cem_missing_work *mw);

/* Once per pass, after the pass's factors are prepared: the precisions. */
void cem_missing_start(const cem_pass *p, cem_missing_work *mw);

/* Scans the loaded block (p->w.rows) for NaN; when there is one, makes the
 * rows a private copy, sets each NaN to 0 and marks row_kind. Returns the
 * number of rows with a NaN (0: the block is complete, row_kind unset);
 * each NaN is set to fill[j]. */
ptrdiff_t cem_missing_mark(cem_pass *p, ptrdiff_t nb, cem_missing_work *mw);

/* The marked rows: their log-densities log w_c + log N(x_o | mu_o, S_oo)
 * into p->w.log_resp (an empty row gets log w_c), from the distances in
 * quad of the filled rows; and, when stats is not NULL, what their
 * statistics (moments about p->shift of x_hat, plus the conditional
 * covariance, under each row's responsibilities from those log-densities)
 * exceed those of the filled rows by, which the block accumulation then
 * adds; for a wide FULL block, the conditional covariance, with
 * p->patch_at set for the accumulation (the caller resets p->n_patch
 * after it). CEM_ENONFINITE for an infinite observed value or a marginal
 * that is not finite, CEM_ENOTPD if some P_mm does not factor. */
int cem_missing_rows(cem_pass *p, const cem_model *m, const cem_data *data, ptrdiff_t i0,
                     ptrdiff_t nb, cem_missing_work *mw, double *stats);

/* Sets the responsibilities of the block's empty rows (with mw->direct,
 * of all its rows with NaN) in p->w.log_resp to 0 (before the block
 * accumulation) and returns their total sample weight
 * (to take out of stats[0]). */
double cem_missing_empty_rows(cem_pass *p, const cem_data *data, ptrdiff_t i0, ptrdiff_t nb,
                              const cem_missing_work *mw);

#endif /* CEM_MISSING_H */
