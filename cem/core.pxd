# cem/core.pxd -- the C API of cem for Cython: a one-to-one mirror of
# cem/include/cem.h (documentation lives there; tests/test_header_sync.py
# keeps the two in step). Use with
#     from cem.core cimport cem_e_step, cem_model, ...
# and cem.get_include() on the include path; link libcem (see the README).
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t

cdef extern from "cem.h" nogil:
    enum:
        CEM_VERSION_MAJOR
        CEM_VERSION_MINOR
        CEM_VERSION_PATCH
        CEM_OK
        CEM_EINVAL
        CEM_ENOTPD
        CEM_ENONFINITE
        CEM_EWORK
        CEM_ENOWEIGHT
        CEM_KMEANSPP_MAX_TRIALS
        CEM_PARTITION_MIN_ROWS
        CEM_PARTITION_MAX

    const double CEM_NK_FLOOR

    ctypedef enum cem_covariance_type:
        CEM_FULL
        CEM_TIED
        CEM_DIAG
        CEM_SPHERICAL
        CEM_TIED_DIAG
        CEM_TIED_SPHERICAL

    ctypedef enum cem_dtype:
        CEM_FLOAT64
        CEM_FLOAT32

    ctypedef struct cem_data:
        const void *x
        int dtype
        ptrdiff_t n
        ptrdiff_t d
        ptrdiff_t row_stride
        ptrdiff_t col_stride
        const double *sample_weight

    ctypedef struct cem_model:
        ptrdiff_t k
        ptrdiff_t d
        int covariance_type
        const double *weights
        const double *means
        const double *prec_chol

    int cem_version()
    const char *cem_strerror(int status)
    ptrdiff_t cem_param_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    ptrdiff_t cem_stats_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    ptrdiff_t cem_e_step_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    int cem_e_step(const cem_model *model, const cem_data *data,
                   double *stats, double *resp, ptrdiff_t resp_stride,
                   double *log_density, double *work, ptrdiff_t work_len)
    int cem_accumulate(ptrdiff_t k, int covariance_type, const double *shift,
                       const cem_data *data, const double *resp, ptrdiff_t resp_stride,
                       double *stats, double *work, ptrdiff_t work_len)
    int cem_stats_zero(ptrdiff_t k, ptrdiff_t d, int covariance_type, double *stats)
    int cem_stats_add(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                      double *stats_into, const double *stats_from)
    int cem_m_step(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                   const double *stats, const double *shift, double reg_covar,
                   double *weights, double *means, double *covariances,
                   double *prec_chol)
    int cem_precision_cholesky(ptrdiff_t k, ptrdiff_t d, int covariance_type,
                               const double *covariances, double *prec_chol)
    ptrdiff_t cem_fit_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    int cem_fit(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
                ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
                double *lower_bound, double *work, ptrdiff_t work_len)
    ptrdiff_t cem_predict_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    int cem_predict(const cem_model *model, const cem_data *data, int64_t *labels,
                    double *work, ptrdiff_t work_len)
    ptrdiff_t cem_kmeans_work_size(ptrdiff_t k, ptrdiff_t d)
    int cem_kmeans_step(ptrdiff_t k, const double *centers, const cem_data *data,
                        double *sums, double *counts, double *inertia,
                        int32_t *labels, int64_t *n_changed, double *work, ptrdiff_t work_len)
    int cem_kmeanspp_pass(ptrdiff_t n_cand, const double *candidates, const cem_data *data,
                          double *closest, int update, double *pots, double *work,
                          ptrdiff_t work_len)
    ptrdiff_t cem_kmeanspp_work_size(ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_trials)
    int cem_kmeanspp(ptrdiff_t k, ptrdiff_t n_trials, const cem_data *data,
                     const double *uniforms, double *centers, int64_t *indices,
                     double *work, ptrdiff_t work_len)
    ptrdiff_t cem_kmeanspp_partitions(ptrdiff_t n)
    ptrdiff_t cem_partition_start(ptrdiff_t n, ptrdiff_t n_parts, ptrdiff_t p)
    int cem_kmeanspp_first(const cem_data *data, double u, int64_t *index)
    int cem_kmeanspp_pick(const cem_data *data, const double *closest, ptrdiff_t n_parts,
                          const double *part_pots, ptrdiff_t pots_stride, double target,
                          int64_t *index)
    ptrdiff_t cem_kmeanspp_pick_partition(ptrdiff_t n_parts, const double *part_pots,
                                          ptrdiff_t pots_stride, double target)
    int cem_kmeanspp_best(ptrdiff_t n_cand, ptrdiff_t n_parts, const double *part_pots,
                          ptrdiff_t pots_stride, ptrdiff_t *best, double *pot)

    ctypedef enum cem_init_method:
        CEM_INIT_KMEANS
        CEM_INIT_KMEANSPP
        CEM_INIT_RANDOM
        CEM_INIT_RANDOM_FROM_DATA

    ctypedef struct cem_init:
        int method
        ptrdiff_t n_trials
        const double *uniforms
        const double *resp
        const int64_t *rows

    ptrdiff_t cem_initialize_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type)
    int cem_initialize(ptrdiff_t k, int covariance_type, const cem_data *data,
                       const cem_init *init, double reg_covar, double *weights, double *means,
                       double *covariances, double *prec_chol, double *work, ptrdiff_t work_len)
    ptrdiff_t cem_fit_batch_work_size(ptrdiff_t n, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                                      ptrdiff_t bounds_len)
    int cem_fit_batch(ptrdiff_t n_problems, ptrdiff_t n_init, ptrdiff_t k, int covariance_type,
                      const cem_data *problems, const cem_init *inits, double tol,
                      ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                      double *covariances, double *prec_chol, ptrdiff_t *n_iter, int *converged,
                      double *lower_bound, double *lower_bounds, int *status, double *work,
                      ptrdiff_t work_len)

    int cem_e_step_about(const cem_model *model, const double *shift, const cem_data *data,
                         double *stats, double *resp, ptrdiff_t resp_stride,
                         double *log_density, double *work, ptrdiff_t work_len)
    int cem_moments_cancel(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats)
    ctypedef struct cem_prior:
        double shrinkage
        const double *mean
        double dof
        const double *scale

    int cem_m_step_map(ptrdiff_t k, ptrdiff_t d, int covariance_type, const double *stats,
                       const double *shift, const cem_prior *prior, double *weights,
                       double *means, double *covariances, double *prec_chol)
    ptrdiff_t cem_log_prior_work_size(ptrdiff_t d)
    int cem_log_prior(ptrdiff_t k, ptrdiff_t d, int covariance_type, const cem_prior *prior,
                      const double *means, const double *prec_chol, double *log_prior,
                      double *work, ptrdiff_t work_len)
    ptrdiff_t cem_e_step_missing_work_size(ptrdiff_t k, ptrdiff_t d, int covariance_type)
    int cem_e_step_missing(const cem_model *model, const double *shift, const cem_data *data,
                           double *stats, double *resp, ptrdiff_t resp_stride,
                           double *log_density, double *work, ptrdiff_t work_len)
