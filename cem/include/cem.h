/*
 * cem.h -- the public C API of cem: expectation-maximization for Gaussian
 * mixture models.
 *
 * Plain C99. No Python headers, no global state, no allocation: the caller
 * owns every buffer, and functions that need scratch space say how much
 * through a *_work_size() query. Every function returns an int status:
 * CEM_OK (0) or a negative CEM_E* code; cem_strerror() names it. All
 * functions are reentrant and may be called concurrently on distinct output
 * buffers.
 *
 * Letters, used the same way in C, Cython, Python and the docs:
 *   n  number of rows (samples),  d  number of features,
 *   k  number of mixture components.
 *
 * Data matrices are described by a cem_data: a pointer to element [0, 0],
 * the element type (float64 or float32) and byte strides, so C-ordered,
 * Fortran-ordered and sliced numpy arrays are all read in place. All
 * arithmetic is done in double precision whatever the input type.
 *
 * Parameter layouts (all row-major, double):
 *   weights      [k]
 *   means        [k][d]
 *   prec_chol    covariance-type dependent, "precision Cholesky factor" U
 *                with U U^T = inverse covariance, U upper triangular
 *                (scikit-learn's precisions_cholesky_):
 *                  CEM_FULL      [k][d][d]  (entries below the diagonal ignored)
 *                  CEM_TIED      [d][d]     (entries below the diagonal ignored)
 *                  CEM_DIAG      [k][d]     1 / standard deviation
 *                  CEM_SPHERICAL [k]        1 / standard deviation
 *   covariances  same shapes as prec_chol (full matrices for FULL and TIED).
 *
 * Sufficient statistics are one flat double array of cem_stats_size()
 * elements, so that merging partitions (or machines) is plain addition:
 *   [0]                  total weight            sum_i w_i
 *   [1]                  weighted log-likelihood sum_i w_i log p(x_i)
 *   [2 .. 2+k)           nk[c]      sum_i w_i r_ic
 *   [2+k .. 2+k+k*d)     sx[c][j]   sum_i w_i r_ic (x_ij - s_cj)
 *   [2+k+k*d .. end)     second moments about the same shift s:
 *       CEM_FULL      sxx[c][j][l] = sum_i w_i r_ic (x_ij - s_cj)(x_il - s_cl)
 *       CEM_TIED      sxx[j][l]    = sum_c of the FULL quantity
 *       CEM_DIAG      sxx[c][j]    = sum_i w_i r_ic (x_ij - s_cj)^2
 *       CEM_SPHERICAL sxx[c]       = sum_j of the DIAG quantity
 *   For FULL and TIED only the lower triangle (l <= j) is accumulated; the
 *   upper triangle stays as the caller zeroed it.
 * w_i is the sample weight (1 when none is given), r_ic the responsibility
 * and s the "shift": moments are taken about a per-component point close to
 * the component's mean (the current means during EM), so that the
 * covariance comes out of one pass without the cancellation of
 * E[xx^T] - E[x]E[x]^T on data far from the origin.
 *
 * ABI policy: within a major version (CEM_VERSION_MAJOR) functions are only
 * added, never removed or changed in signature or meaning; struct layouts
 * and enum values are frozen. Status codes may be added.
 */
#ifndef CEM_H
#define CEM_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CEM_VERSION_MAJOR 0
#define CEM_VERSION_MINOR 1
#define CEM_VERSION_PATCH 0

/* Status codes. */
#define CEM_OK 0             /* success */
#define CEM_EINVAL (-1)      /* invalid argument: NULL pointer, size < 0, bad enum */
#define CEM_ENOTPD (-2)      /* a covariance is not positive definite */
#define CEM_ENONFINITE (-3)  /* a non-finite value in the data or a result */
#define CEM_EWORK (-4)       /* the work buffer is smaller than *_work_size() */
#define CEM_ENOWEIGHT (-5)   /* statistics or data carry no positive weight */

/* What cem_m_step adds to every component's count nk_c before dividing
 * (10 * DBL_EPSILON, as scikit-learn does), so an empty component keeps
 * finite parameters. Callers that form parameters from statistics
 * themselves use the same floor. */
#define CEM_NK_FLOOR (10.0 * DBL_EPSILON)

/* Covariance types (scikit-learn's covariance_type). */
typedef enum {
    CEM_FULL = 0,      /* one full covariance matrix per component */
    CEM_TIED = 1,      /* one full covariance matrix shared by all components */
    CEM_DIAG = 2,      /* one diagonal covariance per component */
    CEM_SPHERICAL = 3  /* one variance per component */
} cem_covariance_type;

/* Element types of a data matrix. */
typedef enum {
    CEM_FLOAT64 = 0,
    CEM_FLOAT32 = 1
} cem_dtype;

/* A read-only n x d data matrix with optional per-row weights. */
typedef struct {
    const void *x;              /* element [0, 0] */
    int dtype;                  /* a cem_dtype */
    ptrdiff_t n;                /* rows, >= 0 */
    ptrdiff_t d;                /* columns, >= 1 */
    ptrdiff_t row_stride;       /* bytes between rows */
    ptrdiff_t col_stride;       /* bytes between columns */
    const double *sample_weight;/* [n] contiguous, >= 0, or NULL for all ones */
} cem_data;

/* A Gaussian mixture: pointers to caller-owned parameters (layouts above). */
typedef struct {
    ptrdiff_t k;                /* components, >= 1 */
    ptrdiff_t d;                /* features, >= 1 */
    int covariance_type;        /* a cem_covariance_type */
    const double *weights;      /* [k], >= 0, at least one > 0 */
    const double *means;        /* [k][d] */
    const double *prec_chol;    /* shape by covariance type, see above */
} cem_model;

/* Version of the library actually linked, as MAJOR * 10000 + MINOR * 100 + PATCH. */
int cem_version(void);

/* A static, human-readable description of a status code (never NULL). */
const char *cem_strerror(int status);

/* Number of doubles in a prec_chol or covariances array of this type, or
 * CEM_EINVAL (negative) for bad arguments. Every size query returns
 * CEM_EINVAL for k < 1, d < 1 or a shape so large that a buffer size would
 * not fit a ptrdiff_t (d > 2^20, or k * padded(d)^2 or k^2 above
 * PTRDIFF_MAX / 64), so sizes never overflow. */
ptrdiff_t cem_param_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/* Number of doubles in a statistics array (layout above), or CEM_EINVAL. */
ptrdiff_t cem_stats_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/* Number of doubles of scratch that cem_e_step() and cem_accumulate() need
 * for this model shape, or CEM_EINVAL. Independent of n. */
ptrdiff_t cem_e_step_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/*
 * cem_e_step -- one fused E-step pass over the rows of `data`.
 *
 * For each row x_i: the log-density of every component
 *   log w_c + log N(x_i | mean_c, cov_c),
 * their log-sum-exp log p(x_i) (shifted by the row maximum so exp never
 * overflows), the responsibilities r_ic = exp(log w_c N(..) - log p(x_i)),
 * and, if `stats` is not NULL, their accumulation into `stats` (layout
 * above, shift = model->means) -- all while the row block is in cache.
 *
 *   model          IN     the mixture; its means are the statistics' shift
 *   data           IN     n x model->d rows (sample weights optional)
 *   stats          INOUT  [cem_stats_size()] ADDED to, or NULL
 *   resp           OUT    [n][k] responsibilities, row stride `resp_stride`
 *                         doubles (>= k), or NULL
 *   resp_stride           see resp
 *   log_density    OUT    [n] log p(x_i) (unweighted), or NULL
 *   work           IN     scratch of work_len doubles
 *   work_len              >= cem_e_step_work_size()
 *
 * Returns CEM_OK; CEM_EINVAL for NULL/shape/enum errors, d mismatch, a
 * negative or non-finite mixture or sample weight, or a factor whose
 * diagonal is not > 0; CEM_EWORK if work_len is too small; CEM_ENOWEIGHT
 * if every component has weight 0 (no row has a density); CEM_ENONFINITE
 * if some row's log-density is not finite (non-finite data, or a row no
 * component can represent). On error the outputs are partially written.
 */
int cem_e_step(const cem_model *model, const cem_data *data,
               double *stats, double *resp, ptrdiff_t resp_stride,
               double *log_density, double *work, ptrdiff_t work_len);

/*
 * cem_accumulate -- sufficient statistics of rows under GIVEN
 * responsibilities (used to initialise EM from a hard or soft partition).
 *
 *   k, covariance_type    shape of the statistics
 *   shift          IN     [k][d] point about which moments are taken
 *   data           IN     n x d rows (sample weights optional)
 *   resp           IN     [n][k] responsibilities (any non-negative values),
 *                         row stride resp_stride doubles (>= k)
 *   stats          INOUT  [cem_stats_size()] ADDED to; its log-likelihood
 *                         entry is left unchanged
 *   work           IN     scratch, work_len >= cem_e_step_work_size()
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, or CEM_ENONFINITE for a
 * non-finite or negative responsibility.
 */
int cem_accumulate(ptrdiff_t k, int covariance_type, const double *shift,
                   const cem_data *data, const double *resp, ptrdiff_t resp_stride,
                   double *stats, double *work, ptrdiff_t work_len);

/* Set all cem_stats_size() entries of `stats` to zero. */
int cem_stats_zero(ptrdiff_t k, ptrdiff_t d, int covariance_type, double *stats);

/* stats_into[:] += stats_from[:], element by element (merge two partitions;
 * add partitions in a fixed order for reproducible results). */
int cem_stats_add(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                  double *stats_into, const double *stats_from);

/*
 * cem_m_step -- new parameters from statistics (scikit-learn's M-step).
 *
 *   nk'_c      = nk_c + CEM_NK_FLOOR      (keeps an empty component finite,
 *                                           as scikit-learn does)
 *   weights_c  = nk'_c / sum nk'
 *   means_c    = shift_c + sx_c / nk'_c
 *   cov_c      = (sxx_c - sx_c sx_c^T / nk'_c) / nk'_c + reg_covar I  (FULL;
 *                TIED pools over c and divides by sum nk'; DIAG keeps the
 *                diagonal; SPHERICAL averages it over d)
 *   prec_chol  = the upper-triangular U with U U^T = cov^-1.
 *
 *   k, d, covariance_type  shape
 *   stats          IN     [cem_stats_size()]
 *   shift          IN     [k][d] the shift the statistics were taken about
 *   reg_covar             >= 0, added to the diagonal of every covariance
 *   weights        OUT    [k]
 *   means          OUT    [k][d]      (may alias shift)
 *   covariances    OUT    [cem_param_size()]
 *   prec_chol      OUT    [cem_param_size()]
 *
 * Returns CEM_OK; CEM_EINVAL; CEM_ENOWEIGHT if sum nk <= 0; CEM_ENOTPD if
 * a covariance is not positive definite (outputs then partially written);
 * CEM_ENONFINITE for non-finite statistics.
 */
int cem_m_step(ptrdiff_t k, ptrdiff_t d, int covariance_type,
               const double *stats, const double *shift, double reg_covar,
               double *weights, double *means, double *covariances,
               double *prec_chol);

/*
 * cem_precision_cholesky -- prec_chol from covariances alone (the factor
 * part of cem_m_step, for callers that set covariances directly).
 *
 *   covariances    IN     [cem_param_size()]
 *   prec_chol      OUT    [cem_param_size()]
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_ENOTPD, CEM_ENONFINITE.
 */
int cem_precision_cholesky(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                           const double *covariances, double *prec_chol);

/* Doubles of scratch cem_fit() needs, or CEM_EINVAL. Independent of n. */
ptrdiff_t cem_fit_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/*
 * cem_fit -- EM from given initial parameters until the mean
 * log-likelihood changes by less than tol, or max_iter iterations
 * (scikit-learn's GaussianMixture loop, for one initialisation).
 *
 *   k, covariance_type    the mixture's shape
 *   data           IN     n x d rows (sample weights optional)
 *   tol                   >= 0, on the change of the mean log-likelihood
 *   max_iter              >= 0 (0: parameters unchanged, lower_bound -inf)
 *   reg_covar             >= 0, added to every covariance's diagonal
 *   weights        INOUT  [k]      initial in, fitted out
 *   means          INOUT  [k][d]   initial in, fitted out
 *   covariances    OUT    [cem_param_size()] fitted (untouched if max_iter is 0)
 *   prec_chol      INOUT  [cem_param_size()] initial in, fitted out
 *   n_iter         OUT    iterations run
 *   converged      OUT    1 if the tol test stopped the loop, else 0
 *   lower_bound    OUT    mean log-likelihood of the parameters of the last
 *                         iteration's E-step (scikit-learn's lower_bound_)
 *   work           IN     scratch, work_len >= cem_fit_work_size()
 *
 * When an iteration's moments about the means cancel (the means far from
 * the rows they take, see cem_e_step_about), the iteration redoes its pass
 * about the new means, so its covariances stay exact.
 *
 * Returns CEM_OK; CEM_EINVAL; CEM_EWORK; CEM_ENOWEIGHT (no row with positive
 * weight); CEM_ENOTPD (a covariance became singular: raise reg_covar);
 * CEM_ENONFINITE (non-finite data). On error the parameters hold the last
 * iteration's partial results.
 */
int cem_fit(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
            ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
            double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
            double *lower_bound, double *work, ptrdiff_t work_len);

/* Doubles of scratch cem_predict() needs, or CEM_EINVAL. Independent of n. */
ptrdiff_t cem_predict_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/*
 * cem_predict -- the most probable component of each row (ties to the
 * lowest index). For log-densities or responsibilities use cem_e_step with
 * stats NULL.
 *
 *   model          IN     the mixture
 *   data           IN     n x model->d rows
 *   labels         OUT    [n]
 *   work           IN     scratch, work_len >= cem_predict_work_size()
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, CEM_ENONFINITE.
 */
int cem_predict(const cem_model *model, const cem_data *data, int64_t *labels,
                double *work, ptrdiff_t work_len);

/* Doubles of scratch cem_kmeans_step() needs for k centers of d features,
 * or CEM_EINVAL. Independent of n. */
ptrdiff_t cem_kmeans_work_size(ptrdiff_t k, ptrdiff_t d);

/*
 * cem_kmeans_step -- one Lloyd pass: each row goes to its nearest center
 * (squared Euclidean distance, ties to the lowest index) and is added to
 * that center's weighted sum.
 *
 *   k              centers, 1 <= k <= INT32_MAX
 *   centers        IN     [k][d]
 *   data           IN     n x d rows (sample weights optional)
 *   sums           INOUT  [k][d]  ADDED to: sum of w_i x_i per center
 *   counts         INOUT  [k]     ADDED to: sum of w_i per center
 *   inertia        INOUT  [1]     ADDED to: sum of w_i * distance^2
 *   labels         OUT    [n] nearest center per row, or NULL
 *   n_changed      INOUT  [1] ADDED to: rows whose label differs from the
 *                         value labels held on entry; NULL to skip
 *                         (requires labels)
 *   work           IN     scratch, work_len >= cem_kmeans_work_size(k, d)
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, CEM_ENONFINITE (a non-finite
 * distance).
 */
int cem_kmeans_step(ptrdiff_t k, const double *centers, const cem_data *data,
                    double *sums, double *counts, double *inertia,
                    int32_t *labels, int64_t *n_changed, double *work, ptrdiff_t work_len);

/*
 * cem_kmeanspp_pass -- one pass of k-means++ seeding over rows, the step
 * cem_kmeanspp() repeats (exposed so callers can run partitions of rows in
 * parallel and choose candidates themselves).
 *
 *   n_cand         candidates, >= 1 (1 when update)
 *   candidates     IN     [n_cand][d]
 *   data           IN     n x d rows (sample weights optional)
 *   closest        INOUT  [n] squared distance of each row to its nearest
 *                         chosen center (+infinity before the first)
 *   update                0: only evaluate; 1: lower closest to candidate 0
 *   pots           OUT    [n_cand] sum_i w_i min(closest_i, D(x_i, cand_t)^2)
 *   work           IN     scratch, work_len >= cem_kmeans_work_size(n_cand, d)
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, CEM_ENONFINITE.
 */
int cem_kmeanspp_pass(ptrdiff_t n_cand, const double *candidates, const cem_data *data,
                      double *closest, int update, double *pots, double *work,
                      ptrdiff_t work_len);

/* Most candidates per center cem_kmeanspp() takes. */
#define CEM_KMEANSPP_MAX_TRIALS 64

/* Doubles of scratch cem_kmeanspp() needs for n rows of d features, or
 * CEM_EINVAL: O(n), one double per row. */
ptrdiff_t cem_kmeanspp_work_size(ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_trials);

/*
 * cem_kmeanspp -- k-means++ seeding with greedy local trials (Arthur &
 * Vassilvitskii 2007, as in scikit-learn's kmeans_plusplus). The caller
 * supplies the random numbers, so the core keeps no RNG state.
 *
 * The first center is the row i with the smallest weighted cumulative
 * fraction exceeding uniforms[0]; each next center takes n_trials
 * candidates drawn with probability proportional to w_i * D(x_i)^2
 * (uniforms[1 + (c-1) * n_trials + t] for center c, trial t) and keeps the
 * one that lowers the weighted potential most (the first of equals).
 *
 *   k              centers to pick, 1 <= k <= n
 *   n_trials       candidates per center, 1 <= n_trials <= CEM_KMEANSPP_MAX_TRIALS
 *   data           IN     n x d rows (sample weights optional)
 *   uniforms       IN     [1 + (k - 1) * n_trials] numbers in [0, 1)
 *   centers        OUT    [k][d]
 *   indices        OUT    [k] row index of each center
 *   work           IN     scratch, work_len >= cem_kmeanspp_work_size(n, d, n_trials)
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, CEM_ENOWEIGHT (all weights 0),
 * CEM_ENONFINITE.
 */
int cem_kmeanspp(ptrdiff_t k, ptrdiff_t n_trials, const cem_data *data,
                 const double *uniforms, double *centers, int64_t *indices,
                 double *work, ptrdiff_t work_len);

/*
 * cem_e_step_about -- cem_e_step with the statistics' moments taken about
 * an explicit `shift` instead of the model's means (declared last: the
 * ABI only grows at the end).
 *
 * The moments of cem_e_step are exact only while the data are close to
 * the shift: the M-step forms cov = (sxx - sx sx^T / nk) / nk, which
 * cancels when the shift is far from the rows a component takes
 * (|sx / nk|^2 near sxx / nk, e.g. the first step from means far from the
 * data). A caller that detects this redoes the pass about better centers
 * (typically shift + sx / nk from the first pass): the responsibilities
 * and the log-likelihood depend on the model only, and are unchanged.
 *
 *   shift          IN     [k][d] point about which moments are taken, or
 *                         NULL for model->means (then exactly cem_e_step)
 *   other arguments       as cem_e_step; pass the same shift to cem_m_step
 *
 * Returns as cem_e_step.
 */
int cem_e_step_about(const cem_model *model, const double *shift, const cem_data *data,
                     double *stats, double *resp, ptrdiff_t resp_stride,
                     double *log_density, double *work, ptrdiff_t work_len);

#ifdef __cplusplus
}
#endif

#endif /* CEM_H */
