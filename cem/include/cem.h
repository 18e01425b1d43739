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
 *                  CEM_TIED_DIAG [d]        1 / standard deviation, shared
 *                  CEM_TIED_SPHERICAL [1]   1 / standard deviation, shared
 *   covariances  same shapes as prec_chol (full matrices for FULL and TIED,
 *                variances for the others).
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
 *       CEM_TIED_DIAG sxx[j]       = sum_c of the DIAG quantity
 *       CEM_TIED_SPHERICAL sxx[0]  = sum_c sum_j of the DIAG quantity
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
 * and existing enum values are frozen (new values are only appended, as
 * CEM_TIED_DIAG and CEM_TIED_SPHERICAL were). Status codes may be added.
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
#define CEM_VERSION_MINOR 2
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
    CEM_SPHERICAL = 3, /* one variance per component */
    CEM_TIED_DIAG = 4, /* one diagonal covariance shared by all components (mclust EEI) */
    CEM_TIED_SPHERICAL = 5 /* one variance shared by all components (mclust EII) */
} cem_covariance_type;

/* Element types of a data matrix. */
typedef enum {
    CEM_FLOAT64 = 0,
    CEM_FLOAT32 = 1
} cem_dtype;

/* A read-only n x d data matrix with optional per-row weights. Weights that
 * are all exactly 1 give cem_e_step the same bits as no weights (NULL). */
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
 *                diagonal; SPHERICAL averages it over d; TIED_DIAG pools
 *                the DIAG numerator over c and divides by sum nk';
 *                TIED_SPHERICAL pools over c and j and divides by
 *                d sum nk')
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
 * Each of the call's sums, counts and its inertia is summed in 8 lanes (the
 * call's row i in lane i % 8, in row order) added pairwise
 * (((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7))), then added to the
 * caller's value: no long chain of dependent additions, and the same bits
 * on every kernel variant.
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_EWORK, CEM_ENONFINITE (a non-finite
 * distance; sums, counts and inertia are then untouched).
 */
int cem_kmeans_step(ptrdiff_t k, const double *centers, const cem_data *data,
                    double *sums, double *counts, double *inertia,
                    int32_t *labels, int64_t *n_changed, double *work, ptrdiff_t work_len);

/*
 * cem_kmeanspp_pass -- one pass of k-means++ seeding over rows, the step
 * cem_kmeanspp() repeats (exposed so callers can run partitions of rows in
 * parallel and choose candidates themselves). With update, candidate 0 is
 * the center chosen last: closest is lowered to it first, then every
 * candidate is evaluated, so one pass both applies a chosen center and
 * tries the next center's candidates (candidate 0's potential is then the
 * lowered closest's).
 *
 *   n_cand         candidates, >= 1
 *   candidates     IN     [n_cand][d]
 *   data           IN     n x d rows (sample weights optional)
 *   closest        INOUT  [n] squared distance of each row to its nearest
 *                         chosen center (+infinity before the first)
 *   update                0: only evaluate; 1: first lower closest to
 *                         candidate 0 (closest_i = min(closest_i, D(x_i, cand_0)^2))
 *   pots           OUT    [n_cand] sum_i w_i min(closest_i, D(x_i, cand_t)^2),
 *                         over rows in order (after the update)
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
 * CEM_EINVAL: O(n), one double per row (plus O((n_trials + 1) * (d + 64))). */
ptrdiff_t cem_kmeanspp_work_size(ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_trials);

/*
 * cem_kmeanspp -- k-means++ seeding with greedy local trials (Arthur &
 * Vassilvitskii 2007, as in scikit-learn's kmeans_plusplus). The caller
 * supplies the random numbers, so the core keeps no RNG state.
 *
 * The first center is cem_kmeanspp_first(uniforms[0]); each next center c
 * takes n_trials candidates cem_kmeanspp_pick(u * potential), u =
 * uniforms[1 + (c-1) * n_trials + t] for trial t (drawn with probability
 * proportional to w_i * D(x_i)^2), and keeps cem_kmeanspp_best() of them:
 * the one that lowers the weighted potential most. Passes run over the
 * partitions of cem_kmeanspp_partitions(n) (see above), so the seeds are
 * those of cem's Python layer for the same uniforms. k passes over the
 * data in all: a chosen center is applied to the rows by the next
 * center's trial pass (cem_kmeanspp_pass() with update), and before that
 * only to the partition each pick reads (cem_kmeanspp_pick_partition()).
 *
 *   k              centers to pick, 1 <= k <= n
 *   n_trials       candidates per center, 1 <= n_trials <= CEM_KMEANSPP_MAX_TRIALS
 *   data           IN     n x d rows (sample weights optional)
 *   uniforms       IN     [1 + (k - 1) * n_trials] numbers in [0, 1)
 *   centers        OUT    [k][d]
 *   indices        OUT    [k] row index of each center
 *   work           IN     scratch, work_len >= cem_kmeanspp_work_size(n, d, n_trials)
 *
 * Returns CEM_OK, CEM_EINVAL (also for a uniform outside [0, 1)), CEM_EWORK,
 * CEM_ENOWEIGHT (all weights 0), CEM_ENONFINITE.
 */
int cem_kmeanspp(ptrdiff_t k, ptrdiff_t n_trials, const cem_data *data,
                 const double *uniforms, double *centers, int64_t *indices,
                 double *work, ptrdiff_t work_len);

/*
 * Row partitions. cem_kmeanspp() sums its potentials over a fixed cut of
 * the rows into partitions (a function of n only), partition totals added
 * in index order, so that a caller running the partitions in parallel with
 * cem_kmeanspp_pass() and choosing rows with cem_kmeanspp_first(),
 * cem_kmeanspp_pick() and cem_kmeanspp_best() gets the same seeds, bit for
 * bit, from the same uniforms. cem's Python layer cuts every pass the same
 * way (with fewer partitions when their statistics would take too much
 * memory).
 */
#define CEM_PARTITION_MIN_ROWS 4096 /* fewest rows worth a partition of their own */
#define CEM_PARTITION_MAX 64        /* most partitions */

/* Number of partitions cem_kmeanspp() cuts n rows into:
 * clamp(ceil(n / CEM_PARTITION_MIN_ROWS), 1, CEM_PARTITION_MAX), or
 * CEM_EINVAL for n < 0. */
ptrdiff_t cem_kmeanspp_partitions(ptrdiff_t n);

/* First row of partition p when n rows are cut into n_parts:
 * floor(p * n / n_parts); partition p holds rows [start(p), start(p + 1)).
 * 0 <= p <= n_parts (p = n_parts gives n); CEM_EINVAL for bad arguments. */
ptrdiff_t cem_partition_start(ptrdiff_t n, ptrdiff_t n_parts, ptrdiff_t p);

/*
 * cem_kmeanspp_first -- the row of the first k-means++ center for the
 * uniform u: scikit-learn's RandomState.choice(n, p=w / w.sum()), that is
 * the first row i whose cumulative fraction cumsum(w / sum(w))_i /
 * cumsum(w / sum(w))_{n-1} exceeds u, rounded as numpy rounds it (sum(w)
 * pairwise as numpy sums, the cumulative sum in row order). Without sample
 * weights every w_i is 1.
 *
 *   data           IN     n >= 1 rows (only n and the weights are read)
 *   u                     in [0, 1)
 *   index          OUT    the row
 *
 * Returns CEM_OK; CEM_EINVAL (u outside [0, 1), n < 1, a negative or
 * non-finite weight); CEM_ENOWEIGHT (all weights 0); CEM_ENONFINITE (the
 * weights' sum overflows).
 */
int cem_kmeanspp_first(const cem_data *data, double u, int64_t *index);

/*
 * cem_kmeanspp_pick -- the row of a k-means++ candidate: the first row i
 * where the running sum of w_i * closest_i reaches `target` (scikit-learn's
 * searchsorted(cumsum(w * closest), target), clipped to the last row),
 * summed as cem_kmeanspp() sums it: whole partitions' totals first, in
 * order, while they stay below target, then row by row inside the
 * partition where it is reached (its last row if rounding never gets there).
 *
 *   data           IN     n x d rows (the weights are read)
 *   closest        IN     [n] squared distance of each row to its nearest center
 *   n_parts               1 <= n_parts <= n, the cut of the last update pass
 *   part_pots      IN     part_pots[p * pots_stride]: partition p's potential
 *                         sum_i w_i closest_i, as cem_kmeanspp_pass()
 *                         returned it for the center closest is lowered to
 *                         (closest must be lowered in the partition
 *                         cem_kmeanspp_pick_partition() names; the others
 *                         are not read)
 *   pots_stride           >= 1
 *   target                u * (sum of the partition potentials, in order),
 *                         not NaN
 *   index          OUT    the row
 *
 * Returns CEM_OK or CEM_EINVAL.
 */
int cem_kmeanspp_pick(const cem_data *data, const double *closest, ptrdiff_t n_parts,
                      const double *part_pots, ptrdiff_t pots_stride, double target,
                      int64_t *index);

/*
 * cem_kmeanspp_pick_partition -- the partition in which cem_kmeanspp_pick()
 * with the same arguments finds its row (the only one whose closest it
 * reads): the first whose running total of part_pots reaches target, or
 * the last.
 *
 *   n_parts               >= 1
 *   part_pots      IN     part_pots[p * pots_stride], p < n_parts
 *   pots_stride           >= 1
 *   target                not NaN
 *
 * Returns the partition (0 <= p < n_parts) or CEM_EINVAL.
 */
ptrdiff_t cem_kmeanspp_pick_partition(ptrdiff_t n_parts, const double *part_pots,
                                      ptrdiff_t pots_stride, double target);

/*
 * cem_kmeanspp_best -- the candidate with the least potential (the first of
 * equals), each candidate's potential the sum of its partitions' potentials
 * in partition order.
 *
 *   n_cand                candidates, >= 1
 *   n_parts               partitions, >= 1
 *   part_pots      IN     part_pots[p * pots_stride + t]: candidate t on
 *                         partition p (cem_kmeanspp_pass()'s pots)
 *   pots_stride           >= n_cand
 *   best           OUT    the candidate
 *   pot            OUT    its potential, or NULL
 *
 * Returns CEM_OK, CEM_EINVAL, CEM_ENONFINITE (a total overflows).
 */
int cem_kmeanspp_best(ptrdiff_t n_cand, ptrdiff_t n_parts, const double *part_pots,
                      ptrdiff_t pots_stride, ptrdiff_t *best, double *pot);

/* ------------------------------------------------------------------------
 * Whole fits: initialisation, and many independent problems in one call.
 *
 * These follow cem.GMM.fit operation for operation, so a
 * problem fitted here equals GMM(...).fit on it given the same random
 * numbers: the caller draws them (the core keeps no RNG state) exactly as
 * GMM.fit would, from numpy's RandomState:
 *   CEM_INIT_KMEANS, CEM_INIT_KMEANSPP
 *       uniforms = rng.random_sample(1 + (k - 1) * n_trials),
 *       n_trials = 2 + floor(ln k)
 *   CEM_INIT_RANDOM
 *       u = rng.uniform(size=(n, k)); resp = u / u.sum(axis=1)[:, None]
 *   CEM_INIT_RANDOM_FROM_DATA
 *       rows = rng.choice(n, k, replace=False)
 * and, for n_init initialisations, one such draw after the other.
 * ------------------------------------------------------------------------ */

/* Initialisations of EM (scikit-learn's init_params). */
typedef enum {
    CEM_INIT_KMEANS = 0,           /* Lloyd's k-means from k-means++ seeds; hard labels */
    CEM_INIT_KMEANSPP = 1,         /* k-means++ seeds, one row per component */
    CEM_INIT_RANDOM = 2,           /* given random responsibilities */
    CEM_INIT_RANDOM_FROM_DATA = 3  /* given rows, one per component */
} cem_init_method;

/* How to initialise one problem: the method and its random numbers (the
 * fields the method does not use are ignored and may be NULL). */
typedef struct {
    int method;                 /* a cem_init_method */
    ptrdiff_t n_trials;         /* KMEANS, KMEANSPP: candidates per center,
                                   1 .. CEM_KMEANSPP_MAX_TRIALS */
    const double *uniforms;     /* KMEANS, KMEANSPP: [1 + (k - 1) * n_trials] in [0, 1) */
    const double *resp;         /* RANDOM: [n][k] non-negative, rows summing to 1 */
    const int64_t *rows;        /* RANDOM_FROM_DATA: [k] row indices in [0, n) */
} cem_init;

/* Doubles of scratch cem_initialize() needs for a problem of n rows, or
 * CEM_EINVAL: O(n * k + k * d + d * d + the passes' scratch). */
ptrdiff_t cem_initialize_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type);

/*
 * cem_initialize -- the initial parameters of EM by one of scikit-learn's
 * init_params (GaussianMixture._initialize): an initial partition of the
 * rows (k-means labels, random responsibilities, or one row per component),
 * its statistics, the M-step, and weights nk'_c / (total weight). With one
 * row per component and CEM_TIED, the covariance is pooled over all rows,
 * as scikit-learn does; CEM_TIED_DIAG and CEM_TIED_SPHERICAL take the
 * diagonal and the trace / d of that same pooled matrix.
 *
 *   k, covariance_type    the mixture's shape, 1 <= k <= data->n
 *   data           IN     n x d rows (sample weights optional)
 *   init           IN     the method and its random numbers
 *   reg_covar             >= 0, added to every covariance's diagonal
 *   weights        OUT    [k]
 *   means          OUT    [k][d]
 *   covariances    OUT    [cem_param_size()]
 *   prec_chol      OUT    [cem_param_size()]
 *   work           IN     scratch, work_len >= cem_initialize_work_size(n, k, d, type)
 *                         (its first k doubles' bytes hold int64 row indices:
 *                         allocate it, e.g. with malloc, rather than declare
 *                         it as a double array)
 *
 * Returns CEM_OK; CEM_EINVAL (NULL, shape or enum errors, k > n, a row
 * index out of range); CEM_EWORK; CEM_ENOWEIGHT; CEM_ENOTPD (an initial
 * covariance is singular: raise reg_covar); CEM_ENONFINITE (non-finite
 * data or responsibilities). On error the outputs are partially written.
 */
int cem_initialize(ptrdiff_t k, int covariance_type, const cem_data *data, const cem_init *init,
                   double reg_covar, double *weights, double *means, double *covariances,
                   double *prec_chol, double *work, ptrdiff_t work_len);

/* Doubles of scratch cem_fit_batch() needs for problems of at most n rows,
 * or CEM_EINVAL; bounds_len is max_iter when lower_bounds are recorded,
 * else 0. */
ptrdiff_t cem_fit_batch_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                                  ptrdiff_t bounds_len);

/*
 * cem_fit_batch -- many independent problems, each fitted as
 * GaussianMixture.fit does: n_init times initialised (cem_initialize) and
 * fitted by EM (cem_fit's loop and convergence test), keeping the fit with
 * the highest final bound (the first of equals; with max_iter 0, the last
 * initialisation). Problems share k, d and the covariance type; their
 * numbers of rows may differ. They are fitted one after the other, and a
 * failing problem does not stop the others: its outcome is its status.
 * Run disjoint ranges of problems on threads of your own for parallelism
 * (each thread its own work array).
 *
 *   n_problems            >= 0
 *   n_init                >= 1 initialisations per problem
 *   k, covariance_type    the mixtures' shape
 *   problems       IN     [n_problems] the rows of each problem, all with
 *                         problems[0].d columns
 *   inits          IN     [n_problems][n_init] each problem's initialisations
 *   tol, max_iter, reg_covar   as cem_fit
 *   weights        OUT    [n_problems][k]
 *   means          OUT    [n_problems][k][d]
 *   covariances    OUT    [n_problems][cem_param_size()]
 *   prec_chol      OUT    [n_problems][cem_param_size()]
 *   n_iter         OUT    [n_problems] EM iterations of the kept fit
 *   converged      OUT    [n_problems] 1 if the tol test stopped its EM, else 0
 *   lower_bound    OUT    [n_problems] its final bound, as cem_fit's
 *   lower_bounds   OUT    [n_problems][max_iter] its bound at each iteration
 *                         (the first n_iter[p] of row p are written), or NULL
 *   status         INOUT  [n_problems] in: CEM_OK to fit the problem, any
 *                         other value to skip it (left as is); out: the
 *                         problem's status, as cem_initialize or cem_fit
 *                         would return it (CEM_EWORK if work_len is too
 *                         small for its rows)
 *   work           IN     scratch, work_len >= cem_fit_batch_work_size(
 *                         largest n, k, d, covariance_type, lower_bounds ?
 *                         max_iter : 0)
 *                         (allocated, as cem_initialize's)
 *
 * Returns CEM_OK once every problem has been attempted, whatever their
 * statuses; CEM_EINVAL for NULL pointers or bad shared arguments. Outputs
 * of a failed problem are partially written.
 */
int cem_fit_batch(ptrdiff_t n_problems, ptrdiff_t n_init, ptrdiff_t k, int covariance_type,
                  const cem_data *problems, const cem_init *inits, double tol,
                  ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                  double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
                  double *lower_bound, double *lower_bounds, int *status, double *work,
                  ptrdiff_t work_len);

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

/*
 * cem_moments_cancel -- do the moments of `stats` cancel too much for the
 * M-step to be exact? For every variance the M-step forms,
 * sxx / nk - (sx / nk)^2, the fraction q = (sx / nk)^2 / (sxx / nk) of the
 * raw second moment that the mean offset takes loses -log2(1 - q) bits to
 * cancellation; more than 10 (1 - q < 2^-10, at most ~1e-13 relative error
 * after redoing) means the shift is far from the rows its component takes
 * (a first step from far initial means, a warm start on shifted data), and
 * the pass should be redone about shift + sx / (nk + CEM_NK_FLOOR) with
 * cem_e_step_about. cem_fit does so; ordinary EM steps never trigger it.
 * (TIED and TIED_DIAG pool over components, SPHERICAL over features,
 * TIED_SPHERICAL over both, as the M-step.)
 *
 *   k, d, covariance_type  shape
 *   stats          IN     [cem_stats_size()]
 *
 * Returns 1 (redo the pass), 0 (exact as they are), or CEM_EINVAL.
 */
int cem_moments_cancel(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats);

/*
 * The conjugate prior of Fraley & Raftery (2007), "Bayesian regularization
 * for normal mixture estimation and model-based clustering", as R's mclust
 * (priorControl(), defaultPrior()) defines it. Per component c, with cov_c
 * its covariance (the one shared covariance for CEM_TIED):
 *   mean_c | cov_c  ~ N(mean, cov_c / shrinkage)   (no mean prior, i.e. a
 *                                                   flat one, if shrinkage = 0)
 *   CEM_FULL        cov_c ~ inverse-Wishart(dof, scale), density
 *                   |scale|^(dof/2) |cov|^(-(dof+d+1)/2) exp(-tr(scale cov^-1)/2)
 *                   / (2^(dof d/2) Gamma_d(dof/2))                (mclust VVV)
 *   CEM_TIED        the one cov ~ inverse-Wishart(dof, scale)     (mclust EEE)
 *   CEM_DIAG        each diagonal entry ~ inverse-gamma(dof/2, xi/2), density
 *                   (xi/2)^(dof/2) s^(-dof/2-1) exp(-xi/(2 s)) / Gamma(dof/2)
 *                                                                 (mclust VVI)
 *   CEM_SPHERICAL   each variance ~ inverse-gamma(dof/2, xi/2)    (mclust VII)
 *   CEM_TIED_DIAG   each shared diagonal entry ~ inverse-gamma(dof/2, xi/2)
 *                                                                 (mclust EEI)
 *   CEM_TIED_SPHERICAL the one variance ~ inverse-gamma(dof/2, xi/2)
 *                                                                 (mclust EII)
 * The mixing weights have a flat prior.
 */
typedef struct {
    double shrinkage;           /* kappa >= 0: pseudo-observations at `mean`; 0 = flat */
    const double *mean;         /* [d] mu_P, the means' prior centre */
    double dof;                 /* nu: > d - 1 for FULL/TIED, > 0 for the others */
    const double *scale;        /* FULL/TIED: [d][d] Lambda_P, symmetric positive
                                   definite (lower triangle read); DIAG, SPHERICAL,
                                   TIED_DIAG, TIED_SPHERICAL: [1] xi > 0 */
} cem_prior;

/*
 * cem_m_step_map -- the posterior mode (MAP) M-step under `prior`: mclust's
 * mstepVVV / mstepEEE / mstepVVI / mstepVII / mstepEEI / mstepEII with a
 * prior. With
 * n_c = nk_c + 10 * DBL_EPSILON (the floor of cem_m_step), xbar_c the
 * component's data mean, W_c its scatter sum_i w_i r_ic (x_i - xbar_c)(...)^T,
 * e_c = xbar_c - mean, kappa = shrinkage and [kappa > 0] 1 or 0:
 *   weights_c  = n_c / sum n
 *   means_c    = (n_c xbar_c + kappa mean) / (n_c + kappa)
 *   B_c        = W_c + kappa n_c / (n_c + kappa) e_c e_c^T
 *   CEM_FULL      cov_c = (scale + B_c) / (dof + n_c + d + 1 + [kappa > 0])
 *   CEM_TIED      cov   = (scale + sum_c B_c) / (dof + sum n + d + 1 + k [kappa > 0])
 *   CEM_DIAG      cov_cj = (xi + B_c[j][j]) / (dof + n_c + 2 + [kappa > 0])
 *   CEM_SPHERICAL cov_c = (xi + tr B_c) / (dof + (n_c + [kappa > 0]) d + 2)
 *   CEM_TIED_DIAG cov_j = (xi + sum_c B_c[j][j]) / (dof + sum n + 2 + k [kappa > 0])
 *   CEM_TIED_SPHERICAL cov = (xi + sum_c tr B_c) / (dof + (sum n + k [kappa > 0]) d + 2)
 * (all six are the posterior modes of the prior above. R's mclust 6.0.0
 * departs from the modes for EEI and EII, and its mstep from its me: for
 * EEI both keep the unshrunk means xbar_c and me's meeeip divides by
 * dof + n + 1 + [kappa > 0]; for EII both leave xi out, and mstep's
 * mseiip takes the scatter about the shrunk means. tests/test_prior.py
 * transcribes both and checks them against mclust.)
 * Nothing else is added to the covariances (no reg_covar): the prior's
 * scale keeps them positive definite. Sample weights act as frequencies,
 * so sum n is the total weight (mclust's n).
 *
 *   k, d, covariance_type  shape
 *   stats          IN     [cem_stats_size()]
 *   shift          IN     [k][d] the shift the statistics were taken about
 *   prior          IN     the hyperparameters (see cem_prior)
 *   weights        OUT    [k]
 *   means          OUT    [k][d]      (may alias shift)
 *   covariances    OUT    [cem_param_size()]
 *   prec_chol      OUT    [cem_param_size()]
 *
 * Returns CEM_OK; CEM_EINVAL (also for a prior out of its domain:
 * negative or non-finite shrinkage, non-finite mean, dof or scale entries,
 * dof or xi out of range); CEM_ENOWEIGHT if sum nk <= 0; CEM_ENOTPD if a
 * covariance is not positive definite (scale not positive definite);
 * CEM_ENONFINITE for non-finite statistics.
 */
int cem_m_step_map(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats,
                   const double *shift, const cem_prior *prior, double *weights,
                   double *means, double *covariances, double *prec_chol);

/* Doubles of scratch cem_log_prior() needs (d * d), or CEM_EINVAL. */
ptrdiff_t cem_log_prior_work_size(ptrdiff_t d);

/*
 * cem_log_prior -- the log density of the prior (cem_prior above, all its
 * normalising constants included) at the mixture's means and covariances:
 * the term the MAP M-step adds to the log-likelihood, so that
 * sum_i w_i log p(x_i) + log_prior is the log-posterior (up to the
 * evidence) that MAP EM never decreases. Without a mean prior
 * (shrinkage 0) the means contribute nothing.
 *
 *   k, d, covariance_type  shape
 *   prior          IN     the hyperparameters
 *   means          IN     [k][d]
 *   prec_chol      IN     [cem_param_size()] the covariances' precision
 *                         Cholesky factors (cem_m_step_map's output)
 *   log_prior      OUT    [1]
 *   work           IN     scratch, work_len >= cem_log_prior_work_size(d)
 *
 * Returns CEM_OK; CEM_EINVAL (as cem_m_step_map for the prior); CEM_EWORK;
 * CEM_ENOTPD if scale (FULL/TIED) or a prec_chol entry of the other types
 * is not positive; CEM_ENONFINITE for non-finite means, prec_chol or result.
 */
int cem_log_prior(ptrdiff_t k, ptrdiff_t d, int covariance_type, const cem_prior *prior,
                  const double *means, const double *prec_chol, double *log_prior,
                  double *work, ptrdiff_t work_len);

/* Doubles of scratch cem_e_step_missing() needs, or CEM_EINVAL: that of
 * cem_e_step_work_size() plus O(k d^2 + d^2), independent of n. */
ptrdiff_t cem_e_step_missing_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type);

/*
 * cem_e_step_missing -- cem_e_step_about for data with missing values:
 * a NaN in `data` means "not observed" (missing at random), and the pass
 * is exact EM on the observed-data likelihood (Ghahramani & Jordan 1994).
 * For a row with observed set o and missing set m, under component c:
 *   log-density      log w_c + log N(x_o | mu_o, S_oo)
 *   statistics       those of the layout above with x replaced by
 *                    x_hat = (x_o, mu_m + S_mo S_oo^-1 (x_o - mu_o)), plus
 *                    the conditional covariance S_mm - S_mo S_oo^-1 S_om
 *                    added to the second moment on m x m (DIAG keeps its
 *                    diagonal, sigma_j^2 for a missing j; SPHERICAL its
 *                    trace), so cem_m_step is unchanged and statistics
 *                    of partitions still merge by addition.
 * A row with every value missing carries no information: log p = 0, its
 * responsibilities are w_c / sum w, and it adds nothing to the statistics
 * (nor its sample weight to stats[0]). +-inf is still an error.
 *
 * A block of rows (64, or 256 for d <= 4; internal) without NaN costs what it
 * costs in cem_e_step_about, plus one scan for NaN, and gives the same
 * results bit for bit: without NaN in the data the two functions agree
 * exactly. Rows with NaN (m values missing) go through the block kernels
 * with each NaN filled, then a per-row correction: an m x m Cholesky
 * factorisation of the precision's P_mm per row and component, O(m d + m^3)
 * (FULL: for all components at once, and for d > 4 the block's
 * accumulation then takes the conditional means themselves, so that only
 * the conditional covariance is added per row); when the fill value is far
 * from a component (where the correction would cancel digits) such rows
 * are accumulated directly instead, O(d^2). Work size grows by
 * O(k d^2 + k d) for this (the k d: a block's conditional means), never
 * with n.
 *
 *   arguments      as cem_e_step_about
 *   work_len       >= cem_e_step_missing_work_size()
 *
 * Returns as cem_e_step; CEM_ENONFINITE also for an infinite value in a
 * row with missing values, CEM_ENOTPD if P_mm does not factor numerically.
 */
int cem_e_step_missing(const cem_model *model, const double *shift, const cem_data *data,
                       double *stats, double *resp, ptrdiff_t resp_stride,
                       double *log_density, double *work, ptrdiff_t work_len);

#ifdef __cplusplus
}
#endif

#endif /* CEM_H */
