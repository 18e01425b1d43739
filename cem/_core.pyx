# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible=True
"""Thin Cython layer over the C core (cem/include/cem.h).

Turns numpy arrays into the core's structs, calls it with the GIL released,
splits rows into partitions run in parallel, and maps status codes to Python
exceptions in one place (`check`). Policy (validation, initialisation, the EM
loop) lives in Python, in cem/_gmm.py.

Parallelism: rows are cut into a number of partitions that depends only on
the data's shape (`n_partitions`), each partition accumulates its own
statistics, and the partitions are added in index order. A pass therefore
gives bit-identical results for any number of threads.
"""
import numpy as np

from cython.parallel cimport parallel, prange, threadid
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t

from cem.core cimport *

COVARIANCE_TYPES = {
    "full": CEM_FULL,
    "tied": CEM_TIED,
    "diag": CEM_DIAG,
    "spherical": CEM_SPHERICAL,
}
STATUS_NOT_POSITIVE_DEFINITE = CEM_ENOTPD
STATUS_NON_FINITE = CEM_ENONFINITE
STATUS_NO_WEIGHT = CEM_ENOWEIGHT
STATUS_INVALID = CEM_EINVAL
NK_FLOOR = CEM_NK_FLOOR  # added to every count by the M-step (cem.h)

# Fewest rows worth a partition of their own, most partitions, and the most
# memory all partitions' statistics may take together.
cdef Py_ssize_t MIN_PARTITION_ROWS = 4096
cdef Py_ssize_t MAX_PARTITIONS = 64
cdef Py_ssize_t MAX_PARTITION_STATS_BYTES = 16 * 1024 * 1024
# Per-partition and per-thread buffers are padded to whole 64-byte cache
# lines (plus one) so threads writing their own rows never share a line.
cdef Py_ssize_t LINE_DOUBLES = 8


cdef Py_ssize_t padded_row(Py_ssize_t length):
    return (length + 2 * LINE_DOUBLES - 1) // LINE_DOUBLES * LINE_DOUBLES


class CoreError(ValueError):
    """A C-core call failed; `status` holds its CEM_E* code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


cdef int check(int status) except -1:
    """Raise the exception for a C status code, in one place."""
    if status == CEM_OK:
        return 0
    message = cem_strerror(status).decode("ascii")
    if status == CEM_EWORK:
        raise RuntimeError(f"cem internal error: {message}")
    raise CoreError(status, message)


def version():
    """Version of the linked C core as (major, minor, patch)."""
    cdef int v = cem_version()
    return (v // 10000, (v // 100) % 100, v % 100)


def param_shape(covariance_type, Py_ssize_t k, Py_ssize_t d):
    """Shape of a covariances / prec_chol array of this covariance type."""
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def stats_size(covariance_type, Py_ssize_t k, Py_ssize_t d):
    """Length of a flat statistics array (layout in cem.h)."""
    cdef ptrdiff_t size = cem_stats_size(k, d, COVARIANCE_TYPES[covariance_type])
    check(<int>size if size < 0 else CEM_OK)
    return size


def n_partitions(Py_ssize_t n, Py_ssize_t stats_len):
    """Number of row partitions for n rows: a function of the shape only."""
    cdef Py_ssize_t by_rows = (n + MIN_PARTITION_ROWS - 1) // MIN_PARTITION_ROWS
    cdef Py_ssize_t by_memory = MAX_PARTITION_STATS_BYTES // (8 * max(stats_len, 1))
    return max(1, min(by_rows, MAX_PARTITIONS, by_memory))


cdef cem_data as_data(X, sample_weight) except *:
    """A cem_data view of a 2-D float64/float32 array (any strides) and
    optional contiguous float64 weights. X must outlive the struct."""
    cdef cem_data data
    cdef const double[:, :] x64
    cdef const float[:, :] x32
    cdef const double[::1] w
    data.n = X.shape[0]
    data.d = X.shape[1]
    data.sample_weight = NULL
    if X.dtype == np.float64:
        x64 = X
        data.dtype = CEM_FLOAT64
        data.row_stride = x64.strides[0]
        data.col_stride = x64.strides[1]
        data.x = &x64[0, 0] if data.n > 0 and data.d > 0 else NULL
    elif X.dtype == np.float32:
        x32 = X
        data.dtype = CEM_FLOAT32
        data.row_stride = x32.strides[0]
        data.col_stride = x32.strides[1]
        data.x = &x32[0, 0] if data.n > 0 and data.d > 0 else NULL
    else:
        raise TypeError(f"the C core reads float64 or float32 data, not {X.dtype}")
    if sample_weight is not None:
        w = sample_weight
        if w.shape[0] != data.n:
            raise ValueError("sample_weight must have one entry per row of X")
        data.sample_weight = &w[0] if data.n > 0 else NULL
    return data


cdef inline ptrdiff_t partition_start(ptrdiff_t p, ptrdiff_t n_parts, ptrdiff_t n) noexcept nogil:
    return (p * n) // n_parts


cdef cem_data partition(const cem_data *data, ptrdiff_t p, ptrdiff_t n_parts,
                        ptrdiff_t *start) noexcept nogil:
    """The rows of partition p of n_parts; *start is its first row."""
    start[0] = partition_start(p, n_parts, data.n)
    cdef cem_data sub = data[0]
    sub.x = <const char *>data.x + start[0] * data.row_stride
    sub.n = partition_start(p + 1, n_parts, data.n) - start[0]
    if data.sample_weight != NULL:
        sub.sample_weight = data.sample_weight + start[0]
    return sub


cdef int e_step_partition(const cem_model *model, const double *shift, const cem_data *data,
                          ptrdiff_t p, ptrdiff_t n_parts, double *stats, double *resp,
                          double *log_density, double *work,
                          ptrdiff_t work_len) noexcept nogil:
    cdef ptrdiff_t start
    cdef cem_data sub = partition(data, p, n_parts, &start)
    return cem_e_step_about(model, shift, &sub, stats,
                      resp + start * model.k if resp != NULL else NULL, model.k,
                      log_density + start if log_density != NULL else NULL,
                      work, work_len)


def e_step(covariance_type, weights, means, prec_chol, X, sample_weight=None, *,
           bint want_stats=True, resp=None, log_density=None, int n_threads=1, shift=None):
    """One fused pass over X under the given mixture (see cem_e_step).

    weights (k,), means (k, d), prec_chol (cem.h layout): C-contiguous float64.
    X: (n, d) float64 or float32, any strides. sample_weight: (n,) float64
    contiguous or None. resp: (n, k) C-contiguous float64 to fill, or None.
    log_density: (n,) float64 to fill, or None.
    shift: (k, d) C-contiguous float64 point the moments are taken about
    (see cem_e_step_about), or None for `means`.
    Returns the statistics (flat float64 array, cem.h layout, moments about
    `shift`, default `means`) when want_stats, else None.
    """
    cdef const double[::1] w = weights
    cdef const double[:, ::1] mu = means
    cdef const double[::1] pc = np.ascontiguousarray(prec_chol).reshape(-1)
    cdef cem_model model
    model.k = mu.shape[0]
    model.d = mu.shape[1]
    model.covariance_type = COVARIANCE_TYPES[covariance_type]
    model.weights = &w[0]
    model.means = &mu[0, 0]
    model.prec_chol = &pc[0]
    if w.shape[0] != model.k or pc.shape[0] != cem_param_size(model.k, model.d, model.covariance_type):
        raise ValueError("weights, means and prec_chol disagree in shape")
    cdef const double[:, ::1] about
    cdef const double *shift_ptr = NULL
    if shift is not None:
        about = shift
        if about.shape[0] != model.k or about.shape[1] != model.d:
            raise ValueError("shift must have the shape of means")
        shift_ptr = &about[0, 0]
    cdef cem_data data = as_data(X, sample_weight)
    cdef ptrdiff_t stats_len = cem_stats_size(model.k, model.d, model.covariance_type)
    cdef ptrdiff_t work_len = cem_e_step_work_size(model.k, model.d, model.covariance_type)
    cdef ptrdiff_t n_parts = n_partitions(data.n, stats_len)
    n_threads = max(1, min(n_threads, n_parts))

    cdef double[:, ::1] part_stats = np.zeros((n_parts if want_stats else 1, padded_row(stats_len)))
    cdef double[:, ::1] work = np.empty((n_threads, padded_row(work_len)))
    cdef int[::1] status = np.zeros(n_parts, dtype=np.intc)
    cdef double[:, ::1] resp_view
    cdef double[::1] ld_view
    cdef double *resp_ptr = NULL
    cdef double *ld_ptr = NULL
    if resp is not None:
        resp_view = resp
        if resp_view.shape[0] != data.n or resp_view.shape[1] != model.k:
            raise ValueError("resp must have shape (n_samples, n_components)")
        if data.n > 0:
            resp_ptr = &resp_view[0, 0]
    if log_density is not None:
        ld_view = log_density
        if ld_view.shape[0] != data.n:
            raise ValueError("log_density must have shape (n_samples,)")
        if data.n > 0:
            ld_ptr = &ld_view[0]

    cdef ptrdiff_t p
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="dynamic"):
            status[p] = e_step_partition(
                &model, shift_ptr, &data, p, n_parts,
                &part_stats[p, 0] if want_stats else NULL,
                resp_ptr, ld_ptr, &work[threadid(), 0], work_len)
    for p in range(n_parts):
        check(status[p])
    if not want_stats:
        return None
    for p in range(1, n_parts):
        cem_stats_add(model.k, model.d, model.covariance_type, &part_stats[0, 0], &part_stats[p, 0])
    return np.asarray(part_stats[0, :stats_len]).copy()


def accumulate(covariance_type, shift, X, resp, sample_weight=None, stats=None):
    """Add the statistics of rows X under given responsibilities `resp`
    ((n, k) float64 C-contiguous) to `stats` (a new zero array if None);
    moments about `shift` (k, d). Returns stats."""
    cdef const double[:, ::1] s = shift
    cdef const double[:, ::1] r = resp
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef ptrdiff_t k = s.shape[0]
    cdef ptrdiff_t d = s.shape[1]
    cdef cem_data data = as_data(X, sample_weight)
    if d != data.d:
        raise ValueError(f"shift has {d} features but X has {data.d}")
    if r.shape[0] != data.n or r.shape[1] != k:
        raise ValueError("resp must have shape (n_samples, n_components)")
    if stats is None:
        stats = np.zeros(cem_stats_size(k, d, ct))
    cdef double[::1] st = stats
    if st.shape[0] != cem_stats_size(k, d, ct):
        raise ValueError("stats has the wrong length")
    cdef ptrdiff_t work_len = cem_e_step_work_size(k, d, ct)
    cdef double[::1] work = np.empty(work_len)
    cdef int status
    with nogil:
        status = cem_accumulate(k, ct, &s[0, 0], &data, &r[0, 0] if data.n > 0 else NULL, k,
                                &st[0], &work[0], work_len)
    check(status)
    return stats


def m_step(covariance_type, stats, shift, double reg_covar):
    """Parameters from statistics (see cem_m_step).
    Returns (weights, means, covariances, prec_chol) as new float64 arrays."""
    cdef const double[::1] st = stats
    cdef const double[:, ::1] s = shift
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef ptrdiff_t k = s.shape[0]
    cdef ptrdiff_t d = s.shape[1]
    if st.shape[0] != cem_stats_size(k, d, ct):
        raise ValueError("stats has the wrong length for this shape")
    shape = param_shape(covariance_type, k, d)
    weights = np.empty(k)
    means = np.empty((k, d))
    covariances = np.empty(shape)
    prec_chol = np.empty(shape)
    cdef double[::1] w = weights
    cdef double[:, ::1] mu = means
    cdef double[::1] cov = covariances.reshape(-1)
    cdef double[::1] pc = prec_chol.reshape(-1)
    cdef int status
    with nogil:
        status = cem_m_step(k, d, ct, &st[0], &s[0, 0], reg_covar, &w[0], &mu[0, 0],
                            &cov[0], &pc[0])
    check(status)
    return weights, means, covariances, prec_chol


def precision_cholesky(covariance_type, covariances, Py_ssize_t k, Py_ssize_t d):
    """prec_chol (upper-triangular factor of the precision) from covariances."""
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef const double[::1] cov = np.ascontiguousarray(covariances, dtype=np.float64).reshape(-1)
    if cov.shape[0] != cem_param_size(k, d, ct):
        raise ValueError("covariances have the wrong shape")
    prec_chol = np.empty(param_shape(covariance_type, k, d))
    cdef double[::1] pc = prec_chol.reshape(-1)
    cdef int status
    with nogil:
        status = cem_precision_cholesky(k, d, ct, &cov[0], &pc[0])
    check(status)
    return prec_chol


cdef int kmeans_partition(ptrdiff_t k, const double *centers, const cem_data *data,
                          ptrdiff_t p, ptrdiff_t n_parts, double *sums, double *counts,
                          double *inertia, int32_t *labels, int64_t *n_changed,
                          double *work, ptrdiff_t work_len) noexcept nogil:
    cdef ptrdiff_t start
    cdef cem_data sub = partition(data, p, n_parts, &start)
    return cem_kmeans_step(k, centers, &sub, sums, counts, inertia,
                           labels + start if labels != NULL else NULL, n_changed,
                           work, work_len)


def kmeans_step(centers, X, sample_weight=None, labels=None, int n_threads=1):
    """One Lloyd pass (see cem_kmeans_step). centers (k, d) float64
    C-contiguous; labels: (n,) int32 updated in place, or None.
    Returns (sums (k, d), counts (k,), inertia, n_changed); n_changed is -1
    without labels."""
    cdef const double[:, ::1] c = centers
    cdef ptrdiff_t k = c.shape[0]
    cdef ptrdiff_t d = c.shape[1]
    cdef cem_data data = as_data(X, sample_weight)
    if data.d != d:
        raise ValueError("centers and X disagree in the number of features")
    cdef ptrdiff_t n_parts = n_partitions(data.n, k * d + k)
    n_threads = max(1, min(n_threads, n_parts))
    cdef double[:, ::1] sums = np.zeros((n_parts, padded_row(k * d)))
    cdef double[:, ::1] counts = np.zeros((n_parts, padded_row(k)))
    cdef double[:, ::1] inertia = np.zeros((n_parts, LINE_DOUBLES))
    cdef int64_t[:, ::1] changed = np.zeros((n_parts, LINE_DOUBLES), dtype=np.int64)
    cdef int[::1] status = np.zeros(n_parts, dtype=np.intc)
    cdef ptrdiff_t work_len = cem_kmeans_work_size(k, d)
    check(<int>work_len if work_len < 0 else CEM_OK)
    cdef double[:, ::1] work = np.empty((n_threads, padded_row(work_len)))
    cdef int32_t[::1] lab
    cdef int32_t *lab_ptr = NULL
    if labels is not None:
        lab = labels
        if lab.shape[0] != data.n:
            raise ValueError("labels must have shape (n_samples,)")
        if data.n > 0:
            lab_ptr = &lab[0]
    cdef ptrdiff_t p
    with nogil, parallel(num_threads=n_threads):
        for p in prange(n_parts, schedule="dynamic"):
            status[p] = kmeans_partition(k, &c[0, 0], &data, p, n_parts, &sums[p, 0],
                                         &counts[p, 0], &inertia[p, 0], lab_ptr,
                                         &changed[p, 0] if lab_ptr != NULL else NULL,
                                         &work[threadid(), 0], work_len)
    for p in range(n_parts):
        check(status[p])
    total_sums = np.zeros(k * d)
    total_counts = np.zeros(k)
    total_inertia = 0.0
    n_changed = 0
    for p in range(n_parts):  # fixed order: thread-count independent
        total_sums += sums[p, :k * d]
        total_counts += counts[p, :k]
        total_inertia += inertia[p, 0]
        n_changed += changed[p, 0]
    return (total_sums.reshape(k, d), total_counts, total_inertia,
            n_changed if labels is not None else -1)


cdef int kmeanspp_partition(ptrdiff_t n_cand, const double *cand, const cem_data *data,
                            ptrdiff_t p, ptrdiff_t n_parts, double *closest, int update,
                            double *pots, double *work, ptrdiff_t work_len) noexcept nogil:
    cdef ptrdiff_t start
    cdef cem_data sub = partition(data, p, n_parts, &start)
    return cem_kmeanspp_pass(n_cand, cand, &sub, closest + start, update, pots, work, work_len)


cdef class _SeedingPasses:
    """k-means++ passes over fixed row partitions, run in parallel; the
    per-partition potentials are kept so candidate rows can be located by
    partition first (partition totals in order), then inside it."""
    cdef cem_data data
    cdef object X, sample_weight
    cdef double[::1] closest
    cdef double[:, ::1] pots, work
    cdef int[::1] status
    cdef ptrdiff_t n_parts, work_len, max_cand
    cdef int n_threads

    def __init__(self, X, sample_weight, ptrdiff_t max_cand, int n_threads):
        self.X, self.sample_weight = X, sample_weight
        self.data = as_data(X, sample_weight)
        self.n_parts = n_partitions(self.data.n, 1)
        self.n_threads = max(1, min(n_threads, self.n_parts))
        self.max_cand = max_cand
        self.work_len = cem_kmeans_work_size(max_cand, self.data.d)
        self.closest = np.full(self.data.n, np.inf)
        self.pots = np.zeros((self.n_parts, padded_row(max_cand)))
        self.work = np.empty((self.n_threads, padded_row(self.work_len)))
        self.status = np.zeros(self.n_parts, dtype=np.intc)

    def run(self, candidates, bint update):
        """Potential of each candidate (n_cand,); with update, closest is
        lowered to the single candidate."""
        cdef const double[:, ::1] cand = candidates
        cdef ptrdiff_t n_cand = cand.shape[0]
        cdef ptrdiff_t p
        with nogil, parallel(num_threads=self.n_threads):
            for p in prange(self.n_parts, schedule="dynamic"):
                self.status[p] = kmeanspp_partition(
                    n_cand, &cand[0, 0], &self.data, p, self.n_parts, &self.closest[0],
                    update, &self.pots[p, 0], &self.work[threadid(), 0], self.work_len)
        for p in range(self.n_parts):
            check(self.status[p])
        total = np.zeros(n_cand)
        for p in range(self.n_parts):  # fixed order
            total += self.pots[p, :n_cand]
        return total

    def find(self, double target):
        """First row where the running sum of w_i * closest_i reaches target,
        partition totals (of the last update pass) first."""
        cdef ptrdiff_t p = 0, i, start, stop
        cdef double cum = 0.0
        while p < self.n_parts - 1 and cum + self.pots[p, 0] < target:
            cum += self.pots[p, 0]
            p += 1
        start = partition_start(p, self.n_parts, self.data.n)
        stop = partition_start(p + 1, self.n_parts, self.data.n)
        for i in range(start, stop):
            cum += (self.data.sample_weight[i] if self.data.sample_weight != NULL else 1.0) \
                * self.closest[i]
            if cum >= target:
                return i
        return stop - 1


def kmeanspp(X, Py_ssize_t k, Py_ssize_t n_trials, uniforms, sample_weight=None,
             int n_threads=1):
    """k-means++ seeding (the algorithm of cem_kmeanspp, with its passes run
    over row partitions in parallel). uniforms: 1 + (k - 1) * n_trials
    numbers in [0, 1). Returns (centers (k, d), indices (k,))."""
    if not 1 <= n_trials <= CEM_KMEANSPP_MAX_TRIALS:
        raise ValueError(f"n_trials must be in [1, {CEM_KMEANSPP_MAX_TRIALS}]")
    u = np.ascontiguousarray(uniforms, dtype=np.float64)
    if u.shape[0] != 1 + (k - 1) * n_trials:
        raise ValueError("uniforms must hold 1 + (k - 1) * n_trials numbers")
    n = X.shape[0]
    if not 1 <= k <= n:
        raise ValueError("k-means++ needs 1 <= k <= n_samples")
    if sample_weight is None:
        first = min(int(u[0] * n), n - 1)
    else:  # numpy's choice(p=w / sum w): first cumulative fraction above u
        cdf = np.cumsum(sample_weight)
        if not cdf[-1] > 0:
            raise CoreError(CEM_ENOWEIGHT, cem_strerror(CEM_ENOWEIGHT).decode("ascii"))
        first = min(int(np.searchsorted(cdf / cdf[-1], u[0], side="right")), n - 1)
    passes = _SeedingPasses(X, sample_weight, n_trials, n_threads)
    indices = np.empty(k, dtype=np.int64)
    centers = np.empty((k, X.shape[1]))
    indices[0] = first
    centers[0] = X[first]
    potential = passes.run(centers[:1], True)[0]
    for c in range(1, k):
        rows = [passes.find(u[1 + (c - 1) * n_trials + t] * potential) for t in range(n_trials)]
        trial_pots = passes.run(np.ascontiguousarray(X[rows], dtype=np.float64), False)
        best = int(np.argmin(trial_pots))  # the first of equal potentials
        indices[c] = rows[best]
        centers[c] = X[rows[best]]
        potential = passes.run(centers[c:c + 1], True)[0]
    return centers, indices
