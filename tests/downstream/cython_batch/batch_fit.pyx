# cython: language_level=3, boundscheck=False, wraparound=False
"""A downstream Cython extension embedding cem: fit many independent 1-D
two-component mixtures (one per row of X) in a prange, GIL released, one
cem_fit call per problem and one work buffer per thread."""
import numpy as np

from cython.parallel cimport prange, threadid
from libc.stddef cimport ptrdiff_t

from cem.core cimport (CEM_FLOAT64, CEM_FULL, cem_data, cem_fit, cem_fit_work_size,
                       cem_strerror)


cdef int fit_one(const double *x, ptrdiff_t m, double tol, ptrdiff_t max_iter,
                 double reg_covar, double *weights, double *means, double *variances,
                 double *prec_chol, ptrdiff_t *n_iter, int *converged, double *lower_bound,
                 double *work, ptrdiff_t work_len) noexcept nogil:
    cdef cem_data data
    data.x = x
    data.dtype = CEM_FLOAT64
    data.n = m
    data.d = 1
    data.row_stride = sizeof(double)
    data.col_stride = sizeof(double)
    data.sample_weight = NULL
    return cem_fit(2, CEM_FULL, &data, tol, max_iter, reg_covar, weights, means, variances,
                   prec_chol, n_iter, converged, lower_bound, work, work_len)


def fit_many(const double[:, ::1] X, means_init, precisions_chol_init, double tol=1e-6,
             Py_ssize_t max_iter=100, double reg_covar=1e-6, int n_threads=2):
    """Fit a two-component mixture to each row of X (problems x points).

    means_init, precisions_chol_init: (problems, 2) starting means and
    1 / standard deviations; weights start at 1/2. Returns a dict of arrays:
    weights, means, variances (problems, 2), n_iter, converged, lower_bound
    (problems,). Raises ValueError naming the first problem that failed."""
    cdef Py_ssize_t n_problems = X.shape[0], m = X.shape[1], p
    weights_arr = np.full((n_problems, 2), 0.5)
    means_arr = np.array(means_init, dtype=np.float64, order="C", copy=True)
    prec_arr = np.array(precisions_chol_init, dtype=np.float64, order="C", copy=True)
    var_arr = np.empty((n_problems, 2))
    n_iter_arr = np.empty(n_problems, dtype=np.intp)
    conv_arr = np.empty(n_problems, dtype=np.intc)
    bound_arr = np.empty(n_problems)
    status_arr = np.empty(n_problems, dtype=np.intc)
    cdef double[:, ::1] w = weights_arr, mu = means_arr, pc = prec_arr, var = var_arr
    cdef ptrdiff_t[::1] n_iter = n_iter_arr
    cdef int[::1] conv = conv_arr, status = status_arr
    cdef double[::1] bound = bound_arr
    cdef ptrdiff_t work_len = cem_fit_work_size(2, 1, CEM_FULL)
    cdef double[:, ::1] work = np.empty((max(n_threads, 1), work_len))
    with nogil:
        for p in prange(n_problems, num_threads=n_threads, schedule="static"):
            status[p] = fit_one(&X[p, 0], m, tol, max_iter, reg_covar, &w[p, 0], &mu[p, 0],
                                &var[p, 0], &pc[p, 0], &n_iter[p], &conv[p], &bound[p],
                                &work[threadid(), 0], work_len)
    for p in range(n_problems):
        if status[p] != 0:
            raise ValueError(f"problem {p}: {cem_strerror(status[p]).decode()}")
    return dict(weights=weights_arr, means=means_arr, variances=var_arr, n_iter=n_iter_arr,
                converged=conv_arr.astype(bool), lower_bound=bound_arr)
