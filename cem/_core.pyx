# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: freethreading_compatible=True
"""Thin Cython layer over the C core (cem/include/cem.h).

Turns numpy arrays into the core's structs, calls it with the GIL released,
splits rows into partitions run in parallel, and maps status codes to Python
exceptions in one place (`check`). Policy (validation, initialisation, the EM
loop) lives in Python, in cem/_gmm.py.

Parallelism: rows are cut into a number of partitions that depends only on
the data's shape (`n_partitions`, `e_step_partitions`), each partition
accumulates its own statistics, and the partitions are added in index order.
A pass therefore gives bit-identical results for any number of threads.
Threads: no more than the work is worth (`threads_for_work`). Interrupts: an
E-step runs its partitions in waves of a few milliseconds each, and checks
for signals (Ctrl-C) between waves with the GIL held; waves change only when
the GIL is taken, never which rows are summed together or in which order.
"""
import numpy as np

from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer
from cem._shapes import param_shape

from cython.parallel cimport parallel, prange, threadid
from libc.stddef cimport ptrdiff_t
from libc.stdint cimport int32_t, int64_t, uint32_t
from libc.string cimport memcpy, memset

from cem.core cimport *

cdef extern from "internal.h" nogil:
    ctypedef struct cem_kernels:
        const char *name
    const cem_kernels *cem_select_kernels()

COVARIANCE_TYPES = {
    "full": CEM_FULL,
    "tied": CEM_TIED,
    "diag": CEM_DIAG,
    "spherical": CEM_SPHERICAL,
    "tied_diag": CEM_TIED_DIAG,
    "tied_spherical": CEM_TIED_SPHERICAL,
}
STATUS_NOT_POSITIVE_DEFINITE = CEM_ENOTPD
STATUS_NON_FINITE = CEM_ENONFINITE
STATUS_NO_WEIGHT = CEM_ENOWEIGHT
STATUS_INVALID = CEM_EINVAL
NK_FLOOR = CEM_NK_FLOOR  # added to every count by the M-step (cem.h)

# The most memory all partitions' statistics may take together (the fewest
# rows per partition and the most partitions are the C core's, cem.h).
cdef Py_ssize_t MAX_PARTITION_STATS_BYTES = 16 * 1024 * 1024
# Per-partition and per-thread buffers are padded to whole 64-byte cache
# lines (plus one) so threads writing their own rows never share a line.
cdef Py_ssize_t LINE_DOUBLES = 8
# Work is counted in row-units: one row times (the statistics' length +
# ROW_OVERHEAD), a fair proxy for the cost of a row in every kernel (0.1 to
# 0.35 ns per unit on a 2020s x86 core, measured over shapes from d = 1,
# k = 2 to d = 24, k = 12).
cdef Py_ssize_t ROW_OVERHEAD = 16
# The fewest units worth a thread of their own (about 0.5 ms): below that,
# waking a thread (and, on a busy machine, waiting for it to be scheduled)
# costs more than it saves.
cdef Py_ssize_t MIN_THREAD_WORK = 1 << 21
# The most units in one E-step partition (about 10 ms), so that a pass over
# any n can be interrupted between partitions.
cdef Py_ssize_t MAX_PARTITION_WORK = 1 << 25
# An E-step's partitions, when there are more than this, come in whole
# groups of it: equal partitions in a count 2, 4 and 8 threads divide.
# Parallel partitions are a fixed cut of the rows (the bits must not depend
# on the thread count), so 25 of them on 2 threads ran as 13 + 12 (at most
# 1.92x); 32 run as 16 + 16.
cdef Py_ssize_t PARTITION_GROUP = 8
# Units per thread in one wave of E-step partitions: the interrupt latency
# (about 20 ms at the 0.07 ns per unit of the wide AVX-512 kernels, up to
# ~90 ms for the slowest shapes), and few waves per pass: each ends in a
# barrier, and on a busy machine a thread the OS runs late stalls the other
# at every one (with 1 << 26, a pass of workload 3 on 2 threads under a
# load average of 3 took a median 92-112 ms wall against 61-63 ms now).
cdef Py_ssize_t WAVE_WORK_PER_THREAD = 1 << 28


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


cdef extern from "internal.h" nogil:
    int cem_kernels_supported(const char *name)
    double cem_numpy_sum(const double *a, ptrdiff_t n, ptrdiff_t stride)
    int cem_mt19937_uniform(uint32_t *key, int *pos, double *out, ptrdiff_t n)
    int cem_rows_finite(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb)
    int cem_labels_accumulate(int covariance_type, ptrdiff_t d)
    int cem_accumulate_labels(ptrdiff_t k, int covariance_type, const double *shift,
                              const cem_data *data, const int32_t *labels, double *stats,
                              double *work, ptrdiff_t work_len)


KERNEL_VARIANTS = ("baseline", "avx2", "avx512")


def kernel_variants():
    """The kernel variants of KERNEL_VARIANTS this build has and the CPU runs."""
    return [v for v in KERNEL_VARIANTS if cem_kernels_supported(v.encode())]


def stats_size(covariance_type, Py_ssize_t k, Py_ssize_t d):
    """Length of a flat statistics array (layout in cem.h)."""
    cdef ptrdiff_t size = cem_stats_size(k, d, COVARIANCE_TYPES[covariance_type])
    check(<int>size if size < 0 else CEM_OK)
    return size


def n_partitions(Py_ssize_t n, Py_ssize_t stats_len):
    """Number of row partitions for n rows: a function of the shape only
    (cem_kmeanspp_partitions(n), fewer when the partitions' statistics of
    stats_len doubles each would take too much memory)."""
    cdef Py_ssize_t by_memory = MAX_PARTITION_STATS_BYTES // (8 * max(stats_len, 1))
    return max(1, min(cem_kmeanspp_partitions(n), by_memory))


def e_step_partitions(Py_ssize_t n, Py_ssize_t stats_len):
    """Row partitions of an E-step over n rows: n_partitions, raised so that
    no partition holds more than MAX_PARTITION_WORK units (an interrupt
    waits for at most a few partitions), then, past PARTITION_GROUP of
    them, up to a multiple of PARTITION_GROUP. A function of the shape
    only; it equals n_partitions up to that rounding unless n is large
    (n > 64 partitions' worth)."""
    cdef Py_ssize_t row_units = max(stats_len, 0) + ROW_OVERHEAD
    cdef Py_ssize_t max_rows = max(CEM_PARTITION_MIN_ROWS, MAX_PARTITION_WORK // row_units)
    cdef Py_ssize_t parts = max(n_partitions(n, stats_len), (n + max_rows - 1) // max_rows)
    if parts > PARTITION_GROUP:
        parts = (parts + PARTITION_GROUP - 1) // PARTITION_GROUP * PARTITION_GROUP
    return parts


def kernel_variant():
    """The instruction-set variant of the block kernels the passes use:
    'baseline', 'avx2' or 'avx512', the best the CPU runs unless the
    environment variable CEM_KERNELS names another one it runs (read at every
    pass; the tests run each variant this way)."""
    return cem_select_kernels().name.decode()


def threads_for_work(n_threads, Py_ssize_t n_parts, Py_ssize_t work):
    """Threads for a pass of `work` row-units over n_parts partitions: at most
    n_threads, one per partition, and one per MIN_THREAD_WORK units (as
    scikit-learn's k-means uses no more threads than chunks of rows). The
    result never changes a result, only the time. n_threads may be any
    Python integer (it is clipped before it meets a C int)."""
    return int(max(1, min(n_threads, n_parts, work // MIN_THREAD_WORK)))


cdef cem_data as_data(X, sample_weight, ptrdiff_t d=-1) except *:
    """A cem_data view of a 2-D float64/float32 array (any strides) and
    optional contiguous float64 weights; with d >= 0, X must have d columns.
    X must outlive the struct."""
    cdef cem_data data
    cdef const double[:, :] x64
    cdef const float[:, :] x32
    cdef const double[::1] w
    if np.ndim(X) != 2:
        raise ValueError(f"X must be a 2-D array, got {np.ndim(X)} dimensions")
    data.n = X.shape[0]
    data.d = X.shape[1]
    if data.d < 1:
        raise ValueError("X must have at least one column")
    if d >= 0 and data.d != d:
        raise ValueError(f"X has {data.d} features where the parameters have {d}")
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


# Values per task of all_finite: 4 MiB of float64 (a fraction of a
# millisecond), many tasks for large X, so two threads stay balanced.
cdef Py_ssize_t FINITE_CHUNK_VALUES = 1 << 19


def all_finite(X, n_threads=1):
    """Whether every value of X (2-D float64 or float32, any strides) is
    finite, scanned in parallel (cem_rows_finite): the input check of fit
    and predict, a pass over all of X that numpy's isfinite makes on one
    core, writing a mask."""
    cdef cem_data data = as_data(X, None)
    cdef Py_ssize_t chunk = max(1, FINITE_CHUNK_VALUES // data.d)
    cdef Py_ssize_t n_chunks = (data.n + chunk - 1) // chunk
    cdef int threads = threads_for_work(n_threads, n_chunks, data.n * data.d)
    cdef Py_ssize_t c
    cdef int bad = 0  # chunks with a value not finite (a reduction: += in prange)
    if threads == 1:  # no parallel region: its set-up costs ~1 us
        with nogil:
            for c in range(n_chunks):
                if not cem_rows_finite(&data, c * chunk, min(chunk, data.n - c * chunk)):
                    bad = 1
                    break
    else:
        with nogil, parallel(num_threads=threads):
            for c in prange(n_chunks, schedule="dynamic"):
                bad += cem_rows_finite(&data, c * chunk, min(chunk, data.n - c * chunk)) == 0
    return bad == 0


cdef cem_data data_for_centers(const double[:, ::1] centers, X, sample_weight,
                               str name="centers", str rows="n_clusters") except *:
    """as_data(X, sample_weight) for X with the columns of `centers` (k, d),
    once `centers` has k, d >= 1 (else a ValueError naming it and its rows)."""
    if centers.shape[0] < 1 or centers.shape[1] < 1:
        raise ValueError(f"{name} must have shape ({rows}, n_features), both >= 1")
    return as_data(X, sample_weight, centers.shape[1])


cdef cem_data partition(const cem_data *data, ptrdiff_t p, ptrdiff_t n_parts,
                        ptrdiff_t *start) noexcept nogil:
    """The rows of partition p of n_parts (cem_partition_start); *start is
    its first row."""
    start[0] = cem_partition_start(data.n, n_parts, p)
    cdef cem_data sub = data[0]
    sub.x = <const char *>data.x + start[0] * data.row_stride
    sub.n = cem_partition_start(data.n, n_parts, p + 1) - start[0]
    if data.sample_weight != NULL:
        sub.sample_weight = data.sample_weight + start[0]
    return sub


cdef int e_step_partition(const cem_model *model, const double *shift, const cem_data *data,
                          ptrdiff_t p, ptrdiff_t n_parts, double *stats, double *resp,
                          double *log_density, double *work,
                          ptrdiff_t work_len, bint missing) noexcept nogil:
    cdef ptrdiff_t start
    cdef cem_data sub = partition(data, p, n_parts, &start)
    if missing:
        return cem_e_step_missing(model, shift, &sub, stats,
                                  resp + start * model.k if resp != NULL else NULL, model.k,
                                  log_density + start if log_density != NULL else NULL,
                                  work, work_len)
    return cem_e_step_about(model, shift, &sub, stats,
                      resp + start * model.k if resp != NULL else NULL, model.k,
                      log_density + start if log_density != NULL else NULL,
                      work, work_len)


cdef class _Pass:
    """The E-step pass over in-memory rows as e_step runs it: the rows cut
    into e_step_partitions (a function of the shape only), the partitions
    run in parallel in waves of about WAVE_WORK_PER_THREAD units per thread,
    signals checked between waves, and the partitions' statistics added in
    index order -- so a pass gives the same bits for any number of threads.
    The buffers are made once and reused by every run (em_iterations runs
    one per EM iteration). `model` holds the mixture's pointers; its
    caller keeps the arrays they point into alive. With missing, NaN in X
    means "not observed" (cem_e_step_missing)."""
    cdef cem_model model
    cdef cem_data data
    cdef object X, sample_weight  # alive as long as data points into them
    cdef ptrdiff_t stats_len, work_len, n_parts, wave
    cdef int threads
    cdef bint want_stats, missing
    cdef double[:, ::1] part_stats, work
    cdef int[::1] status

    def __init__(self, ptrdiff_t k, ptrdiff_t d, int covariance_type, X, sample_weight,
                 n_threads, bint want_stats, bint missing=False):
        self.model.k, self.model.d, self.model.covariance_type = k, d, covariance_type
        self.X, self.sample_weight = X, sample_weight
        self.data = as_data(X, sample_weight, d)
        self.want_stats, self.missing = want_stats, missing
        self.stats_len = cem_stats_size(k, d, covariance_type)
        self.work_len = (cem_e_step_missing_work_size(k, d, covariance_type) if missing
                         else cem_e_step_work_size(k, d, covariance_type))
        self.n_parts = e_step_partitions(self.data.n, self.stats_len)
        cdef ptrdiff_t row_units = self.stats_len + ROW_OVERHEAD
        self.threads = threads_for_work(n_threads, self.n_parts, self.data.n * row_units)
        # Partitions per wave: about WAVE_WORK_PER_THREAD units per thread,
        # within the memory allowed for per-partition statistics.
        cdef ptrdiff_t part_work = max(1, (self.data.n // self.n_parts + 1) * row_units)
        cdef ptrdiff_t wave = self.threads * max(1, WAVE_WORK_PER_THREAD // part_work)
        self.wave = max(1, min(wave, self.n_parts,
                               MAX_PARTITION_STATS_BYTES // (8 * padded_row(self.stats_len))))
        self.part_stats = np.zeros((self.wave if want_stats else 1, padded_row(self.stats_len)))
        self.work = np.empty((self.threads, padded_row(self.work_len)))
        self.status = np.zeros(self.wave, dtype=np.intc)

    cdef int run_partition(self, ptrdiff_t p, ptrdiff_t first, const double *shift,
                           double *resp, double *log_density, int tid) noexcept nogil:
        """Partition p of the wave starting at `first`, on thread tid's work
        row: its status, its statistics into part_stats[p - first]."""
        return e_step_partition(&self.model, shift, &self.data, p, self.n_parts,
                                &self.part_stats[p - first, 0] if self.want_stats else NULL,
                                resp, log_density, &self.work[tid, 0], self.work_len,
                                self.missing)

    cdef int run(self, const double *shift, double *total, double *resp,
                 double *log_density) except -1:
        """One pass under self.model: the statistics (moments about shift,
        NULL for the means) into total (stats_len doubles, overwritten) when
        want_stats, the responsibilities (n, k) and log-densities (n,) into
        resp and log_density unless NULL. Raises CoreError for a failed
        partition, KeyboardInterrupt (and the like) between waves."""
        cdef ptrdiff_t p, first, last
        cdef cem_model *model = &self.model
        cdef ptrdiff_t n_parts = self.n_parts
        cdef double[:, ::1] part_stats = self.part_stats
        cdef int[::1] status = self.status
        cdef bint want_stats = self.want_stats
        for first in range(0, n_parts, self.wave):
            last = min(first + self.wave, n_parts)
            if self.threads == 1:  # no parallel region: its set-up costs ~1 us a pass
                with nogil:
                    for p in range(first, last):
                        status[p - first] = self.run_partition(p, first, shift, resp,
                                                               log_density, 0)
            else:
                with nogil, parallel(num_threads=self.threads):
                    for p in prange(first, last, schedule="dynamic"):
                        status[p - first] = self.run_partition(p, first, shift, resp,
                                                               log_density, threadid())
            for p in range(last - first):
                check(status[p])
            if want_stats:
                # Partition 0 is copied, each later one added in index order:
                # the same sums, bit for bit, whatever the waves.
                for p in range(last - first):
                    if first + p == 0:
                        memcpy(total, &part_stats[0, 0], self.stats_len * sizeof(double))
                    else:
                        cem_stats_add(model.k, model.d, model.covariance_type, total,
                                      &part_stats[p, 0])
                memset(&part_stats[0, 0], 0,
                       part_stats.shape[0] * part_stats.shape[1] * sizeof(double))
            PyErr_CheckSignals()  # Ctrl-C: KeyboardInterrupt between waves
        return 0


def e_step(covariance_type, weights, means, prec_chol, X, sample_weight=None, *,
           bint want_stats=True, resp=None, log_density=None, n_threads=1, shift=None,
           bint missing=False):
    """One fused pass over X under the given mixture (see cem_e_step).

    weights (k,), means (k, d), prec_chol (cem.h layout): C-contiguous float64.
    X: (n, d) float64 or float32, any strides. sample_weight: (n,) float64
    contiguous or None. resp: (n, k) C-contiguous float64 to fill, or None.
    log_density: (n,) float64 to fill, or None.
    shift: (k, d) C-contiguous float64 point the moments are taken about
    (see cem_e_step_about), or None for `means`.
    missing: NaN in X means "not observed" (cem_e_step_missing); else NaN
    is an error.
    Returns the statistics (flat float64 array, cem.h layout, moments about
    `shift`, default `means`) when want_stats, else None.
    """
    cdef const double[::1] w = weights
    cdef const double[:, ::1] mu = means
    cdef const double[::1] pc = np.ascontiguousarray(prec_chol).reshape(-1)
    cdef ptrdiff_t k = mu.shape[0], d = mu.shape[1]
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    if (w.shape[0] != k or pc.shape[0] != cem_param_size(k, d, ct)
            or np.shape(prec_chol) != param_shape(covariance_type, k, d)):
        raise ValueError("weights, means and prec_chol disagree in shape")
    cdef const double[:, ::1] about
    cdef const double *shift_ptr = NULL
    if shift is not None:
        about = shift
        if about.shape[0] != k or about.shape[1] != d:
            raise ValueError("shift must have the shape of means")
        shift_ptr = &about[0, 0]
    cdef _Pass one_pass = _Pass(k, d, ct, X, sample_weight, n_threads, want_stats, missing)
    one_pass.model.weights = &w[0]
    one_pass.model.means = &mu[0, 0]
    one_pass.model.prec_chol = &pc[0]
    cdef ptrdiff_t n = one_pass.data.n
    total = np.zeros(one_pass.stats_len) if want_stats else None
    cdef double[::1] total_view
    cdef double *total_ptr = NULL
    if want_stats:
        total_view = total
        total_ptr = &total_view[0]
    cdef double[:, ::1] resp_view
    cdef double[::1] ld_view
    cdef double *resp_ptr = NULL
    cdef double *ld_ptr = NULL
    if resp is not None:
        resp_view = resp
        if resp_view.shape[0] != n or resp_view.shape[1] != k:
            raise ValueError("resp must have shape (n_samples, n_components)")
        if n > 0:
            resp_ptr = &resp_view[0, 0]
    if log_density is not None:
        ld_view = log_density
        if ld_view.shape[0] != n:
            raise ValueError("log_density must have shape (n_samples,)")
        if n > 0:
            ld_ptr = &ld_view[0]
    one_pass.run(shift_ptr, total_ptr, resp_ptr, ld_ptr)
    return total


def accumulate(covariance_type, shift, X, resp, sample_weight=None, stats=None):
    """Add the statistics of rows X under given responsibilities `resp`
    ((n, k) float64 C-contiguous) to `stats` (a new zero array if None);
    moments about `shift` (k, d). Returns stats."""
    cdef const double[:, ::1] s = shift
    cdef const double[:, ::1] r = resp
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef cem_data data = data_for_centers(s, X, sample_weight, "shift", "n_components")
    cdef ptrdiff_t k = s.shape[0]
    cdef ptrdiff_t d = s.shape[1]
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


def new_parameters(covariance_type, Py_ssize_t k, Py_ssize_t d):
    """Empty float64 (weights (k,), means (k, d), covariances, prec_chol) of
    this shape, for an M-step to fill."""
    shape = param_shape(covariance_type, k, d)
    return np.empty(k), np.empty((k, d)), np.empty(shape), np.empty(shape)


def m_step(covariance_type, stats, shift, double reg_covar):
    """Parameters from statistics (see cem_m_step).
    Returns (weights, means, covariances, prec_chol) as new float64 arrays."""
    return parameters_from(covariance_type, stats, shift, reg_covar, None)


def precision_cholesky(covariance_type, covariances, Py_ssize_t k, Py_ssize_t d):
    """prec_chol (upper-triangular factor of the precision) from covariances."""
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef const double[::1] cov = np.ascontiguousarray(covariances, dtype=np.float64).reshape(-1)
    if (cov.shape[0] != cem_param_size(k, d, ct)
            or np.shape(covariances) != param_shape(covariance_type, k, d)):
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


cdef class _LloydPasses:
    """Lloyd passes (cem_kmeans_step) over in-memory rows for k centers: the
    rows cut into n_partitions (a function of the shape only), the
    partitions run in parallel, and their sums, counts and inertias added
    in index order from +0 -- so a pass gives the same bits for any number
    of threads. The buffers are made once and reused by every run
    (kmeans_lloyd runs one per Lloyd iteration)."""
    cdef cem_data data
    cdef object X, sample_weight  # alive as long as data points into them
    cdef ptrdiff_t k, d, n_parts, work_len
    cdef int threads
    cdef double[:, ::1] sums, counts, inertia, work
    cdef int64_t[:, ::1] changed
    cdef int[::1] status

    def __init__(self, ptrdiff_t k, ptrdiff_t d, X, sample_weight, n_threads):
        self.X, self.sample_weight = X, sample_weight
        self.data = as_data(X, sample_weight, d)
        self.k, self.d = k, d
        self.n_parts = n_partitions(self.data.n, k * d + k)
        self.threads = threads_for_work(n_threads, self.n_parts,
                                        self.data.n * (k * d + k + ROW_OVERHEAD))
        self.work_len = cem_kmeans_work_size(k, d)
        check(<int>self.work_len if self.work_len < 0 else CEM_OK)
        self.sums = np.zeros((self.n_parts, padded_row(k * d)))
        self.counts = np.zeros((self.n_parts, padded_row(k)))
        self.inertia = np.zeros((self.n_parts, LINE_DOUBLES))
        self.changed = np.zeros((self.n_parts, LINE_DOUBLES), dtype=np.int64)
        self.status = np.zeros(self.n_parts, dtype=np.intc)
        self.work = np.empty((self.threads, padded_row(self.work_len)))

    cdef int run_partition(self, const double *centers, ptrdiff_t p, int32_t *labels,
                           int tid) noexcept nogil:
        """Partition p into row p of the per-partition buffers."""
        return kmeans_partition(self.k, centers, &self.data, p, self.n_parts, &self.sums[p, 0],
                                &self.counts[p, 0], &self.inertia[p, 0], labels,
                                &self.changed[p, 0] if labels != NULL else NULL,
                                &self.work[tid, 0], self.work_len)

    cdef int run(self, const double *centers, double *sums, double *counts, double *inertia,
                 int32_t *labels, int64_t *n_changed) except -1:
        """One pass from centers [k][d]: the totals into sums [k][d], counts
        [k], *inertia and (with labels) *n_changed, all overwritten; labels
        [n] updated in place unless NULL. Raises CoreError for a failed
        partition."""
        cdef ptrdiff_t p, i
        cdef ptrdiff_t kd = self.k * self.d
        memset(&self.sums[0, 0], 0, self.sums.shape[0] * self.sums.shape[1] * sizeof(double))
        memset(&self.counts[0, 0], 0,
               self.counts.shape[0] * self.counts.shape[1] * sizeof(double))
        memset(&self.inertia[0, 0], 0, self.n_parts * LINE_DOUBLES * sizeof(double))
        memset(&self.changed[0, 0], 0, self.n_parts * LINE_DOUBLES * sizeof(int64_t))
        if self.threads == 1:  # no parallel region: its set-up costs ~1 us a pass
            with nogil:
                for p in range(self.n_parts):
                    self.status[p] = self.run_partition(centers, p, labels, 0)
        else:
            with nogil, parallel(num_threads=self.threads):
                for p in prange(self.n_parts, schedule="dynamic"):
                    self.status[p] = self.run_partition(centers, p, labels, threadid())
        for p in range(self.n_parts):
            check(self.status[p])
        # +0, then each partition in index order: independent of the threads
        for i in range(kd):
            sums[i] = 0.0
        for i in range(self.k):
            counts[i] = 0.0
        inertia[0] = 0.0
        if n_changed != NULL:
            n_changed[0] = 0
        for p in range(self.n_parts):
            for i in range(kd):
                sums[i] += self.sums[p, i]
            for i in range(self.k):
                counts[i] += self.counts[p, i]
            inertia[0] += self.inertia[p, 0]
            if n_changed != NULL:
                n_changed[0] += self.changed[p, 0]
        return 0


def kmeans_step(centers, X, sample_weight=None, labels=None, n_threads=1):
    """One Lloyd pass (see cem_kmeans_step). centers (k, d) float64
    C-contiguous; labels: (n,) int32 updated in place, or None.
    Returns (sums (k, d), counts (k,), inertia, n_changed); n_changed is -1
    without labels."""
    cdef const double[:, ::1] c = centers
    data_for_centers(c, X, sample_weight)  # the shapes, with their messages
    cdef ptrdiff_t k = c.shape[0]
    cdef ptrdiff_t d = c.shape[1]
    cdef _LloydPasses passes = _LloydPasses(k, d, X, sample_weight, n_threads)
    cdef int32_t[::1] lab
    cdef int32_t *lab_ptr = NULL
    if labels is not None:
        lab = labels
        if lab.shape[0] != passes.data.n:
            raise ValueError("labels must have shape (n_samples,)")
        if passes.data.n > 0:
            lab_ptr = &lab[0]
    sums = np.empty((k, d))
    counts = np.empty(k)
    cdef double[:, ::1] s = sums
    cdef double[::1] n_c = counts
    cdef double inertia
    cdef int64_t n_changed
    passes.run(&c[0, 0], &s[0, 0], &n_c[0], &inertia, lab_ptr,
               &n_changed if lab_ptr != NULL else NULL)
    return sums, counts, inertia, (n_changed if lab_ptr != NULL else
                                   0 if labels is not None else -1)


# numpy's bitgen_t (numpy/random/bitgen.h, its documented C interface to a
# bit generator) begins with the generator's state; MT19937's state is the
# reference generator's: 624 words of key, then the position in them.
cdef extern from *:
    """
    typedef struct { void *state; } cem_numpy_bitgen;
    """
    ctypedef struct cem_numpy_bitgen:
        void *state

cdef int MT19937_WORDS = 624


def mt19937_uniform(bit_generator, out):
    """Fill `out` ((n, k) float64, C-contiguous) with the uniform draws
    numpy's RandomState.random_sample would make from `bit_generator` (an
    np.random.MT19937) and advance its state as numpy would, in place
    through its capsule. The caller holds bit_generator.lock and has checked
    (cem._init) that this build of numpy lays the state out as assumed."""
    cdef double[:, ::1] draws = out
    cdef ptrdiff_t size = draws.shape[0] * draws.shape[1]
    cdef cem_numpy_bitgen *gen = <cem_numpy_bitgen *>PyCapsule_GetPointer(
        bit_generator.capsule, "BitGenerator")
    cdef uint32_t *key = <uint32_t *>gen.state
    cdef int status
    with nogil:
        status = cem_mt19937_uniform(key, <int *>(key + MT19937_WORDS),
                                     &draws[0, 0] if size else NULL, size)
    check(status)


def normalise_rows(a):
    """Divide each row of a ((n, k) float64 C-contiguous, in place) by its
    sum, bit for bit `a /= a.sum(axis=1)[:, None]`: numpy's pairwise order
    (cem_numpy_sum), from +0, and one IEEE division per entry, in a tenth
    of numpy's time for few columns (numpy reduces one row per loop call).
    Returns a."""
    cdef double[:, ::1] v = a
    cdef ptrdiff_t i, c, k = v.shape[1]
    cdef double total
    cdef double *row
    with nogil:
        if k == 2:  # the classic example's: inline, so the compiler can vectorise it
            for i in range(v.shape[0]):
                row = &v[i, 0]
                total = (0.0 + row[0]) + row[1]
                row[0] = row[0] / total
                row[1] = row[1] / total
        else:
            for i in range(v.shape[0]):
                total = cem_numpy_sum(&v[i, 0], k, 1) + 0.0  # a row of -0 sums to +0
                for c in range(k):
                    v[i, c] = v[i, c] / total
    return a


def kmeans_lloyd(centers, X, sample_weight=None, Py_ssize_t max_iter=300, double tol=1e-4,
                 n_threads=1):
    """Lloyd's k-means from `centers` (k, d) over rows X ((n, d) float64 or
    float32, any strides) with optional sample_weight ((n,) float64
    contiguous), on scikit-learn's KMeans(n_init=1) schedule (what
    cem._init.kmeans runs): the rows' weighted mean m and total weight W
    (one pass with a center at the origin), their spread S about m (one
    pass with m as the center), then at most max_iter passes, each center
    moved to its cluster's weighted mean (an empty cluster's stays), until
    the squared move summed over all centers (numpy's pairwise order) is at
    most tol * S / (W * d). The passes are kmeans_step's, bit for bit, and
    the loop runs here rather than in Python (a 10,000-row pass takes
    about as long as a Python iteration around it).
    Returns (centers (k, d), n_iter). Raises CoreError for a failed pass
    (a non-finite distance), KeyboardInterrupt (and the like) between
    passes."""
    cdef double[:, ::1] cur = np.array(centers, dtype=np.float64, order="C", ndmin=2)
    data_for_centers(cur, X, sample_weight)
    if max_iter < 0:
        raise ValueError("max_iter must be >= 0")
    cdef ptrdiff_t k = cur.shape[0], d = cur.shape[1], c, j, n_iter = 0
    cdef _LloydPasses one = _LloydPasses(1, d, X, sample_weight, n_threads)
    # each run zeroes its buffers: k = 1 reuses the mean's passes
    cdef _LloydPasses passes = (one if k == 1
                                else _LloydPasses(k, d, X, sample_weight, n_threads))
    cdef double[::1] mean = np.zeros(d)
    cdef double[::1] sums = np.empty(k * d), counts = np.empty(k), moves = np.empty(k * d)
    cdef double[:, ::1] nxt = np.empty((k, d))
    cdef double inertia, total, spread, threshold, move
    one.run(&mean[0], &sums[0], &counts[0], &inertia, NULL, NULL)  # about the origin
    total = counts[0]
    for j in range(d):
        mean[j] = sums[j] / total
    one.run(&mean[0], &sums[0], &counts[0], &spread, NULL, NULL)
    threshold = tol * spread / (total * <double>d)
    while n_iter < max_iter:
        n_iter += 1
        passes.run(&cur[0, 0], &sums[0], &counts[0], &inertia, NULL, NULL)
        for c in range(k):
            for j in range(d):
                nxt[c, j] = sums[c * d + j] / counts[c] if counts[c] > 0 else cur[c, j]
                move = nxt[c, j] - cur[c, j]
                moves[c * d + j] = move * move
        move = cem_numpy_sum(&moves[0], k * d, 1)
        cur[...] = nxt
        PyErr_CheckSignals()  # Ctrl-C: KeyboardInterrupt between passes
        if move <= threshold:
            break
    return np.asarray(cur), n_iter


# Rows labelled and accumulated at a time by kmeans_label_stats: a one-hot
# block of them per thread stays small; as many as the fewest rows of a
# partition, so that up to CEM_PARTITION_MIN_ROWS rows are one call each.
cdef Py_ssize_t LABEL_CHUNK_ROWS = CEM_PARTITION_MIN_ROWS


cdef int label_stats_partition(ptrdiff_t k, const double *centers, const cem_data *data,
                               ptrdiff_t p, ptrdiff_t n_parts, const int *types,
                               ptrdiff_t n_types, double *stats, ptrdiff_t stats_stride,
                               int32_t *labels, double *one_hot, double *sums, double *counts,
                               double *kwork, ptrdiff_t klen, double *awork,
                               ptrdiff_t alen) noexcept nogil:
    """Partition p's rows, LABEL_CHUNK_ROWS at a time: each to its nearest
    center (cem_kmeans_step), then the statistics of every type of that
    hard partition added to stats[t * stats_stride]: from the labels
    themselves where the C core takes them (cem_accumulate_labels), else
    from one-hot responsibilities (cem_accumulate); the same bits."""
    cdef ptrdiff_t start, i0, r, t
    cdef cem_data part = partition(data, p, n_parts, &start)
    cdef cem_data rows
    cdef double inertia
    cdef int status, one_hot_set
    i0 = 0
    while i0 < part.n:
        rows = part
        rows.x = <const char *>part.x + i0 * part.row_stride
        rows.n = min(LABEL_CHUNK_ROWS, part.n - i0)
        if part.sample_weight != NULL:
            rows.sample_weight = part.sample_weight + i0
        inertia = 0.0
        status = cem_kmeans_step(k, centers, &rows, sums, counts, &inertia, labels, NULL,
                                 kwork, klen)
        if status != CEM_OK:
            return status
        one_hot_set = 0
        for t in range(n_types):
            if cem_labels_accumulate(types[t], rows.d):
                status = cem_accumulate_labels(k, types[t], centers, &rows, labels,
                                               stats + t * stats_stride, awork, alen)
            else:
                if not one_hot_set:
                    memset(one_hot, 0, rows.n * k * sizeof(double))
                    for r in range(rows.n):
                        one_hot[r * k + labels[r]] = 1.0
                    one_hot_set = 1
                status = cem_accumulate(k, types[t], centers, &rows, one_hot, k,
                                        stats + t * stats_stride, awork, alen)
            if status != CEM_OK:
                return status
        i0 += LABEL_CHUNK_ROWS
    return CEM_OK


def kmeans_label_stats(covariance_types, centers, X, sample_weight=None, n_threads=1):
    """{covariance_type: statistics (cem.h layout)} of the hard partition of
    X by the nearest of centers (k, d) (ties to the lowest index), moments
    about the centers: the k-means initialisation's statistics. Row
    partitions (n_partitions) run in parallel, summed in order, so the
    result does not depend on n_threads; up to CEM_PARTITION_MIN_ROWS rows
    it is one cem_accumulate of the whole one-hot partition."""
    cdef const double[:, ::1] c = centers
    cdef cem_data data = data_for_centers(c, X, sample_weight)
    cdef ptrdiff_t k = c.shape[0]
    cdef ptrdiff_t d = c.shape[1]
    cdef ptrdiff_t n_types = len(covariance_types)
    cdef int[::1] types = np.array([COVARIANCE_TYPES[t] for t in covariance_types],
                                   dtype=np.intc)
    cdef ptrdiff_t stats_len = max(cem_stats_size(k, d, types[t]) for t in range(n_types))
    cdef ptrdiff_t stats_stride = padded_row(stats_len)
    cdef ptrdiff_t n_parts = n_partitions(data.n, n_types * stats_len)
    cdef int threads = threads_for_work(n_threads, n_parts,
                                        data.n * (n_types * stats_len + k * d + ROW_OVERHEAD))
    cdef ptrdiff_t klen = cem_kmeans_work_size(k, d)
    check(<int>klen if klen < 0 else CEM_OK)
    cdef ptrdiff_t alen = max(cem_e_step_work_size(k, d, types[t]) for t in range(n_types))
    check(<int>alen if alen < 0 else CEM_OK)
    cdef ptrdiff_t chunk = min(LABEL_CHUNK_ROWS, max(data.n, 1))
    cdef double[:, ::1] stats = np.zeros((n_parts, n_types * stats_stride))
    cdef int32_t[:, ::1] labels = np.empty((threads, chunk + 2 * LINE_DOUBLES), dtype=np.int32)
    cdef double[:, ::1] one_hot = np.empty((threads, padded_row(chunk * k)))
    cdef double[:, ::1] sums = np.zeros((threads, padded_row(k * d + k)))
    cdef double[:, ::1] kwork = np.empty((threads, padded_row(klen)))
    cdef double[:, ::1] awork = np.empty((threads, padded_row(alen)))
    cdef int[::1] status = np.zeros(n_parts, dtype=np.intc)
    cdef ptrdiff_t p, tid
    with nogil, parallel(num_threads=threads):
        for p in prange(n_parts, schedule="dynamic"):
            tid = threadid()
            status[p] = label_stats_partition(
                k, &c[0, 0], &data, p, n_parts, &types[0], n_types, &stats[p, 0],
                stats_stride, &labels[tid, 0], &one_hot[tid, 0], &sums[tid, 0],
                &sums[tid, k * d], &kwork[tid, 0], klen, &awork[tid, 0], alen)
    for p in range(n_parts):
        check(status[p])
    out = {}
    for t, name in enumerate(covariance_types):
        size = cem_stats_size(k, d, types[t])
        total = np.array(stats[0, t * stats_stride:t * stats_stride + size])
        for p in range(1, n_parts):  # fixed order: thread-count independent
            total += stats[p, t * stats_stride:t * stats_stride + size]
        out[name] = total
    return out


cdef int kmeanspp_partition(ptrdiff_t n_cand, const double *cand, const cem_data *data,
                            ptrdiff_t p, ptrdiff_t n_parts, double *closest, int update,
                            double *pots, double *work, ptrdiff_t work_len) noexcept nogil:
    cdef ptrdiff_t start
    cdef cem_data sub = partition(data, p, n_parts, &start)
    return cem_kmeanspp_pass(n_cand, cand, &sub, closest + start, update, pots, work, work_len)


cdef class _SeedingPasses:
    """The passes of cem_kmeanspp over its row partitions
    (cem_kmeanspp_partitions), run in parallel; rows are chosen by the C
    core's rules (cem_kmeanspp_first, _pick_partition, _pick, _best) from
    the per-partition potentials, so the seeds are cem_kmeanspp's bit for
    bit. pots[p, col] is partition p's potential of column col of the last
    pass."""
    cdef cem_data data
    cdef object X, sample_weight
    cdef double[::1] closest
    cdef double[:, ::1] pots, work
    cdef int[::1] status
    cdef ptrdiff_t n_parts, work_len, max_cand
    cdef int n_threads

    def __init__(self, X, sample_weight, ptrdiff_t max_cand, n_threads):
        self.X, self.sample_weight = X, sample_weight
        self.data = as_data(X, sample_weight)
        self.n_parts = cem_kmeanspp_partitions(self.data.n)
        self.n_threads = threads_for_work(n_threads, self.n_parts,
                                          self.data.n * (max_cand * self.data.d + ROW_OVERHEAD))
        self.max_cand = max_cand
        self.work_len = cem_kmeans_work_size(max_cand, self.data.d)
        check(<int>self.work_len if self.work_len < 0 else CEM_OK)
        self.closest = np.full(self.data.n, np.inf)
        self.pots = np.zeros((self.n_parts, padded_row(max_cand)))
        self.work = np.empty((self.n_threads, padded_row(self.work_len)))
        self.status = np.zeros(self.n_parts, dtype=np.intc)

    cdef int run_partition(self, ptrdiff_t n_cand, const double *cand, int update, ptrdiff_t p,
                           int tid) noexcept nogil:
        """Partition p of a pass, on thread tid's work row."""
        return kmeanspp_partition(n_cand, cand, &self.data, p, self.n_parts, &self.closest[0],
                                  update, &self.pots[p, 0], &self.work[tid, 0], self.work_len)

    def first(self, double u):
        """Row of the first center for the uniform u (cem_kmeanspp_first)."""
        cdef int64_t index
        check(cem_kmeanspp_first(&self.data, u, &index))
        return index

    def run(self, candidates, bint update):
        """One pass of every candidate (n_cand, d) over all partitions; with
        update, closest is first lowered to candidate 0 (cem_kmeanspp_pass)."""
        cdef const double[:, ::1] cand = candidates
        cdef ptrdiff_t n_cand = cand.shape[0]
        cdef ptrdiff_t p
        if not 1 <= n_cand <= self.max_cand or cand.shape[1] != self.data.d:
            raise ValueError("candidates must have shape (n_cand, n_features)")
        if self.n_threads == 1:  # no parallel region: its set-up costs ~1 us a pass
            with nogil:
                for p in range(self.n_parts):
                    self.status[p] = self.run_partition(n_cand, &cand[0, 0], update, p, 0)
        else:
            with nogil, parallel(num_threads=self.n_threads):
                for p in prange(self.n_parts, schedule="dynamic"):
                    self.status[p] = self.run_partition(n_cand, &cand[0, 0], update, p,
                                                        threadid())
        for p in range(self.n_parts):
            check(self.status[p])

    def best(self, ptrdiff_t first, ptrdiff_t n_cand):
        """The best of the candidates in columns first .. first + n_cand of
        the last pass and its potential, as (column - first, potential)
        (cem_kmeanspp_best)."""
        cdef ptrdiff_t best
        cdef double pot
        if first < 0 or n_cand < 1 or first + n_cand > self.max_cand:
            raise ValueError("columns out of range")
        check(cem_kmeanspp_best(n_cand, self.n_parts, &self.pots[0, first], self.pots.shape[1],
                                &best, &pot))
        return best, pot

    def pick(self, ptrdiff_t col, double target, pending=None):
        """Row where the running potential of column col of the last pass
        reaches target (cem_kmeanspp_pick); pending (1, d): a chosen center
        that column's closest is lowered to but closest is not yet, applied
        first to the partition the pick reads (cem_kmeanspp_pick_partition)."""
        cdef int64_t index
        cdef ptrdiff_t p
        cdef double pot
        cdef const double[:, ::1] center
        if not 0 <= col < self.max_cand:
            raise ValueError("column out of range")
        if pending is not None:
            center = pending
            if center.shape[0] != 1 or center.shape[1] != self.data.d:
                raise ValueError("pending must have shape (1, n_features)")
            p = cem_kmeanspp_pick_partition(self.n_parts, &self.pots[0, col],
                                            self.pots.shape[1], target)
            check(<int>p if p < 0 else CEM_OK)
            check(kmeanspp_partition(1, &center[0, 0], &self.data, p, self.n_parts,
                                     &self.closest[0], 1, &pot, &self.work[0, 0],
                                     self.work_len))
        check(cem_kmeanspp_pick(&self.data, &self.closest[0], self.n_parts, &self.pots[0, col],
                                self.pots.shape[1], target, &index))
        return index


def kmeanspp(X, Py_ssize_t k, Py_ssize_t n_trials, uniforms, sample_weight=None,
             n_threads=1):
    """k-means++ seeding: cem_kmeanspp, with its passes run over row
    partitions in parallel (same seeds for the same uniforms; like it, a
    chosen center is applied to the rows by the next center's trial pass).
    uniforms: 1 + (k - 1) * n_trials numbers in [0, 1). Returns (centers
    (k, d), indices (k,))."""
    if not 1 <= n_trials <= CEM_KMEANSPP_MAX_TRIALS:
        raise ValueError(f"n_trials must be in [1, {CEM_KMEANSPP_MAX_TRIALS}]")
    u = np.ascontiguousarray(uniforms, dtype=np.float64)
    if u.ndim != 1 or k < 1 or u.shape[0] != 1 + (k - 1) * n_trials:
        raise ValueError("uniforms must hold 1 + (k - 1) * n_trials numbers")
    if not ((u >= 0.0) & (u < 1.0)).all():
        raise ValueError("uniforms must lie in [0, 1)")
    passes = _SeedingPasses(X, sample_weight, n_trials + 1, n_threads)
    if not 1 <= k <= X.shape[0]:
        raise ValueError("k-means++ needs 1 <= k <= n_samples")
    indices = np.empty(k, dtype=np.int64)
    centers = np.empty((k, X.shape[1]))
    indices[0] = passes.first(u[0])
    centers[0] = X[indices[0]]
    passes.run(centers[:1], True)
    _, potential = passes.best(0, 1)
    col, pending = 0, None  # pots column of the chosen center; it, until applied
    cand = np.empty((n_trials + 1, X.shape[1]))  # [0] the pending center, then the trials
    for c in range(1, k):
        rows = [passes.pick(col, u[1 + (c - 1) * n_trials + t] * potential, pending)
                for t in range(n_trials)]
        cand[1:] = X[rows]
        first = 0 if pending is None else 1
        passes.run(cand[1 - first:], pending is not None)
        best, potential = passes.best(first, n_trials)
        indices[c] = rows[best]
        centers[c] = X[rows[best]]
        cand[0] = centers[c]
        col, pending = first + best, cand[:1].copy()
    return centers, indices


# ----------------------------------------------------------------------
# Many small fits (cem_fit_batch): whole problems -- initialisation and EM --
# run in parallel, a few problems per task, one work array per thread. Each
# problem is fitted by one thread from start to end, so results do not
# depend on the number of threads.
from cpython.mem cimport PyMem_Free, PyMem_Malloc

INIT_METHODS = {
    "kmeans": CEM_INIT_KMEANS,
    "k-means++": CEM_INIT_KMEANSPP,
    "random": CEM_INIT_RANDOM,
    "random_from_data": CEM_INIT_RANDOM_FROM_DATA,
}
# Problems per parallel task: amortises the scheduling, keeps threads balanced.
cdef Py_ssize_t BATCH_TASK_PROBLEMS = 8


def fit_batch(covariance_type, init_params, Py_ssize_t k, X, sample_weight, offsets,
              Py_ssize_t n_init,
              Py_ssize_t n_trials, draws, draw_start, status, double tol, Py_ssize_t max_iter,
              double reg_covar, bint want_bounds=False, int n_threads=1):
    """Fit every problem p whose status[p] is 0 (see cem_fit_batch): its
    rows are X[offsets[p]:offsets[p + 1]] (X: (N, d) float64 or float32, any
    strides; sample_weight: (N,) float64 contiguous or None; offsets:
    (P + 1,) int64). The random numbers of its i-th
    initialisation start at draws[draw_start[p * n_init + i]]: float64
    uniforms (k-means, k-means++) or a flattened (n, k) array of
    responsibilities (random), int64 rows (random_from_data). status: (P,) intc, updated in place with each
    problem's C status. Returns a dict of arrays: weights (P, k), means
    (P, k, d), covariances and prec_chol (P, cem.h layout), n_iter,
    converged, lower_bound (P,), lower_bounds (P, max_iter) or None."""
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef int method = INIT_METHODS[init_params]
    cdef cem_data data = as_data(X, sample_weight)
    cdef const int64_t[::1] off = offsets
    cdef const int64_t[::1] start = draw_start
    cdef int[::1] st = status
    cdef Py_ssize_t P = st.shape[0], d = data.d, p, t
    if off.shape[0] != P + 1 or start.shape[0] != P * n_init:
        raise ValueError("offsets must hold n_problems + 1 entries and draw_start "
                         "n_problems * n_init")
    cdef const double[::1] draws64
    cdef const int64_t[::1] draws_int
    cdef const double *uniforms = NULL
    cdef const int64_t *rows = NULL
    if method == CEM_INIT_RANDOM_FROM_DATA:
        draws_int = draws
        rows = &draws_int[0] if draws_int.shape[0] > 0 else NULL
    else:
        draws64 = draws
        uniforms = &draws64[0] if draws64.shape[0] > 0 else NULL
    cdef ptrdiff_t param_len = cem_param_size(k, d, ct)
    check(<int>param_len if param_len < 0 else CEM_OK)
    cdef ptrdiff_t max_n = 0
    for p in range(P):
        if st[p] == CEM_OK:
            max_n = max(max_n, off[p + 1] - off[p])
    cdef ptrdiff_t work_len = cem_fit_batch_work_size(
        max_n, k, d, ct, max_iter if want_bounds else 0)
    check(<int>work_len if work_len < 0 else CEM_OK)

    shape = param_shape(covariance_type, k, d)
    out = dict(weights=np.empty((P, k)), means=np.empty((P, k, d)),
               covariances=np.empty((P,) + shape), prec_chol=np.empty((P,) + shape),
               n_iter=np.zeros(P, dtype=np.intp), converged=np.zeros(P, dtype=np.intc),
               lower_bound=np.full(P, -np.inf),
               lower_bounds=np.empty((P, max_iter)) if want_bounds and max_iter > 0 else None)
    cdef double[:, ::1] weights = out["weights"]
    cdef double[::1] means = out["means"].reshape(-1)
    cdef double[::1] cov = out["covariances"].reshape(-1)
    cdef double[::1] pc = out["prec_chol"].reshape(-1)
    cdef ptrdiff_t[::1] n_iter = out["n_iter"]
    cdef int[::1] converged = out["converged"]
    cdef double[::1] lower_bound = out["lower_bound"]
    cdef double[::1] bounds
    cdef double *bounds_ptr = NULL
    if out["lower_bounds"] is not None:
        bounds = out["lower_bounds"].reshape(-1)
        bounds_ptr = &bounds[0]

    cdef Py_ssize_t n_tasks = (P + BATCH_TASK_PROBLEMS - 1) // BATCH_TASK_PROBLEMS
    n_threads = max(1, min(n_threads, n_tasks))
    cdef double[:, ::1] work = np.empty((n_threads, padded_row(work_len)))
    cdef int[::1] task_status = np.zeros(max(n_tasks, 1), dtype=np.intc)
    cdef cem_data *problems = <cem_data *>PyMem_Malloc(max(P, 1) * sizeof(cem_data))
    cdef cem_init *inits = <cem_init *>PyMem_Malloc(max(P * n_init, 1) * sizeof(cem_init))
    cdef ptrdiff_t p0, count, i, j
    try:
        if problems == NULL or inits == NULL:
            raise MemoryError()
        for p in range(P):
            problems[p] = data
            problems[p].x = <const char *>data.x + off[p] * data.row_stride
            problems[p].n = off[p + 1] - off[p]
            if data.sample_weight != NULL:
                problems[p].sample_weight = data.sample_weight + off[p]
            for i in range(n_init):
                j = p * n_init + i
                inits[j].method = method
                inits[j].n_trials = n_trials
                inits[j].uniforms = inits[j].resp = NULL
                inits[j].rows = NULL
                if st[p] == CEM_OK:
                    if rows != NULL:
                        inits[j].rows = rows + start[j]
                    elif uniforms != NULL:
                        inits[j].uniforms = inits[j].resp = uniforms + start[j]
        with nogil, parallel(num_threads=n_threads):
            for t in prange(n_tasks, schedule="dynamic"):
                p0 = t * BATCH_TASK_PROBLEMS
                count = min(BATCH_TASK_PROBLEMS, P - p0)
                task_status[t] = cem_fit_batch(
                    count, n_init, k, ct, problems + p0, inits + p0 * n_init, tol, max_iter,
                    reg_covar,
                    &weights[p0, 0], &means[p0 * k * d], &cov[p0 * param_len],
                    &pc[p0 * param_len], &n_iter[p0], &converged[p0], &lower_bound[p0],
                    bounds_ptr + p0 * max_iter if bounds_ptr != NULL else NULL, &st[p0],
                    &work[threadid(), 0], work_len)
    finally:
        PyMem_Free(problems)
        PyMem_Free(inits)
    for t in range(n_tasks):
        check(task_status[t])
    return out


def strerror(int status):
    """The C core's description of a status code."""
    return cem_strerror(status).decode("ascii")


def moments_cancel(covariance_type, stats, Py_ssize_t k, Py_ssize_t d):
    """Whether the moments of stats (flat, cem.h layout, k components of d
    features) cancel so much that the pass should be redone about better
    centers (cem_moments_cancel: more than 10 bits of a variance lost)."""
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    cdef const double[::1] st = np.ascontiguousarray(stats, dtype=np.float64)
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    if st.shape[0] != cem_stats_size(k, d, ct):
        raise ValueError("stats has the wrong length for this shape")
    cdef int answer = cem_moments_cancel(k, d, ct, &st[0])
    check(answer if answer < 0 else CEM_OK)
    return answer == 1


cdef class _PriorView:
    """A cem_prior (`prior`) over float64 copies of the hyperparameters, kept
    alive as long as the view: mean (d,), scale (d, d) for full/tied, one
    number for the variance types."""
    cdef cem_prior prior
    cdef const double[::1] mean, scale

    def __init__(self, int ct, ptrdiff_t d, double shrinkage, mean, double dof, scale):
        self.mean = np.ascontiguousarray(mean, dtype=np.float64).reshape(-1)
        self.scale = np.ascontiguousarray(scale, dtype=np.float64).reshape(-1)
        if self.mean.shape[0] != d:
            raise ValueError("the prior mean has the wrong length")
        if self.scale.shape[0] != (d * d if ct == CEM_FULL or ct == CEM_TIED else 1):
            raise ValueError("the prior scale has the wrong size")
        self.prior.shrinkage = shrinkage
        self.prior.mean = &self.mean[0]
        self.prior.dof = dof
        self.prior.scale = &self.scale[0]


def m_step_map(covariance_type, stats, shift, double shrinkage, mean, double dof, scale):
    """Posterior-mode parameters from statistics under the conjugate prior
    (shrinkage, mean (d,), dof, scale: (d, d) for full/tied, a scalar for
    the variance types; see cem_m_step_map). Returns (weights, means,
    covariances, prec_chol) as new float64 arrays."""
    return parameters_from(covariance_type, stats, shift, 0.0, (shrinkage, mean, dof, scale))


cdef tuple parameters_from(covariance_type, stats, shift, double reg_covar, prior):
    """m_step's new parameters; with prior = (shrinkage, mean, dof, scale)
    m_step_map's (reg_covar unused)."""
    cdef const double[::1] st = stats
    cdef const double[:, ::1] s = shift
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef ptrdiff_t k = s.shape[0]
    cdef ptrdiff_t d = s.shape[1]
    if st.shape[0] != cem_stats_size(k, d, ct):
        raise ValueError("stats has the wrong length for this shape")
    cdef _PriorView view = None if prior is None else _PriorView(ct, d, *prior)
    weights, means, covariances, prec_chol = new_parameters(covariance_type, k, d)
    cdef double[::1] w = weights
    cdef double[:, ::1] mu = means
    cdef double[::1] cov = covariances.reshape(-1)
    cdef double[::1] pc = prec_chol.reshape(-1)
    cdef int status
    if view is None:
        with nogil:
            status = cem_m_step(k, d, ct, &st[0], &s[0, 0], reg_covar, &w[0], &mu[0, 0],
                                &cov[0], &pc[0])
    else:
        with nogil:
            status = cem_m_step_map(k, d, ct, &st[0], &s[0, 0], &view.prior, &w[0],
                                    &mu[0, 0], &cov[0], &pc[0])
    check(status)
    return weights, means, covariances, prec_chol


def log_prior(covariance_type, means, prec_chol, double shrinkage, mean, double dof, scale):
    """The log prior density (a float) of means (k, d) and prec_chol under
    the conjugate prior (see cem_log_prior)."""
    cdef const double[:, ::1] m = np.ascontiguousarray(means, dtype=np.float64)
    cdef const double[::1] pc = np.ascontiguousarray(prec_chol, dtype=np.float64).reshape(-1)
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef ptrdiff_t k = m.shape[0]
    cdef ptrdiff_t d = m.shape[1]
    if pc.shape[0] != cem_param_size(k, d, ct):
        raise ValueError("prec_chol has the wrong size")
    cdef _PriorView view = _PriorView(ct, d, shrinkage, mean, dof, scale)
    cdef double[::1] work = np.empty(max(1, cem_log_prior_work_size(d)))
    cdef double out = 0.0
    cdef int status
    with nogil:
        status = cem_log_prior(k, d, ct, &view.prior, &m[0, 0], &pc[0], &out, &work[0],
                               work.shape[0])
    check(status)
    return out


# ----------------------------------------------------------------------
# The EM loop over in-memory rows (em_iterations): cem._em.EM._iterate's
# loop -- its passes, recentring, M-step, bound and tol test, operation for
# operation -- run without returning to Python between iterations, so a fit
# of small data pays for its passes only. The passes are _Pass's, as
# e_step's, so the statistics, and every result, are e_step's bit for bit.

class IterationError(CoreError):
    """A C-core call of em_iterations failed: `status` holds its CEM_E*
    code, `step` is "E" (a pass, or its recentring test) or "M" (the
    M-step), for the caller to word it as the Python loop does."""

    def __init__(self, status, message, step):
        super().__init__(status, message)
        self.step = step


cdef int check_step(int status, str step) except -1:
    """check(status), with the failing step (see IterationError)."""
    try:
        check(status)
    except CoreError as exc:
        raise IterationError(exc.status, str(exc), step) from None
    return 0


def em_iterations(covariance_type, weights, means, prec_chol, X, sample_weight, double tol,
                  Py_ssize_t max_iter, double reg_covar, n_threads, double lower_bound,
                  iteration_end=None):
    """EM iterations from (weights (k,), means (k, d), prec_chol (cem.h
    layout), C-contiguous float64) over rows X ((n, d) float64 or float32,
    any strides) with optional sample_weight ((n,) float64 contiguous),
    until the bound changes by less than tol or max_iter (>= 1) iterations:
    each iteration one pass (as e_step), redone about shift + sx / (nk +
    NK_FLOOR) when the moments cancel (cem_moments_cancel), its bound
    stats[1] / stats[0] and cem_m_step's parameters. lower_bound: the bound
    before the first iteration (-inf, or a warm start's). iteration_end:
    None, or a callable (n_iter, change) called after every iteration (the
    verbose report).
    Returns (params (weights, means, covariances, prec_chol: new float64
    arrays), n_iter, lower_bound, lower_bounds (a list of floats, one per
    iteration), converged). Raises IterationError for a failed step,
    KeyboardInterrupt (and the like) between the waves of a pass."""
    cdef int ct = COVARIANCE_TYPES[covariance_type]
    cdef const double[:, ::1] mu0 = means
    cdef ptrdiff_t k = mu0.shape[0], d = mu0.shape[1]
    shape = param_shape(covariance_type, k, d)
    cdef ptrdiff_t param_len = cem_param_size(k, d, ct)
    if (np.shape(weights) != (k,) or np.shape(prec_chol) != shape or max_iter < 1):
        raise ValueError("weights, means and prec_chol disagree in shape, or max_iter < 1")
    cdef _Pass one_pass = _Pass(k, d, ct, X, sample_weight, n_threads, True)
    # Two sets of parameters: the current model (read by the pass, its means
    # the shift) and the M-step's output; they swap every iteration. Their
    # pointers are taken once: a memoryview per array per iteration cost
    # more than the pass of a small fit's M-step.
    sets = ([np.array(weights, dtype=np.float64, order="C"),
             np.array(means, dtype=np.float64, order="C"), np.empty(shape),
             np.array(prec_chol, dtype=np.float64, order="C")],
            [np.empty(k), np.empty((k, d)), np.empty(shape), np.empty(shape)])
    cdef double *set_w[2]
    cdef double *set_mu[2]
    cdef double *set_cov[2]
    cdef double *set_pc[2]
    cdef double[::1] view
    cdef int s, cur = 0
    for s in range(2):
        view = sets[s][0]
        set_w[s] = &view[0]
        view = sets[s][1].reshape(-1)
        set_mu[s] = &view[0]
        view = sets[s][2].reshape(-1)
        set_cov[s] = &view[0]
        view = sets[s][3].reshape(-1)
        set_pc[s] = &view[0]
    stats = np.empty(one_pass.stats_len)
    centers = np.empty((k, d))
    cdef double[::1] st = stats
    cdef double[:, ::1] ce = centers
    cdef const double *shift
    cdef double *mu
    cdef ptrdiff_t n_iter = 0, c, j
    cdef double previous, change
    cdef bint converged = False
    cdef int cancel, status
    lower_bounds = []
    while n_iter < max_iter:
        n_iter += 1
        mu = set_mu[cur]
        one_pass.model.weights, one_pass.model.means = set_w[cur], mu
        one_pass.model.prec_chol = set_pc[cur]
        previous = lower_bound
        try:
            one_pass.run(NULL, &st[0], NULL, NULL)
        except CoreError as exc:
            raise IterationError(exc.status, str(exc), "E") from None
        shift = mu
        cancel = cem_moments_cancel(k, d, ct, &st[0])
        check_step(cancel if cancel < 0 else CEM_OK, "E")
        if cancel == 1:  # cem._em.statistics_about_the_data's redo
            for c in range(k):
                for j in range(d):
                    ce[c, j] = mu[c * d + j] + st[2 + k + c * d + j] / (st[2 + c] + CEM_NK_FLOOR)
            shift = &ce[0, 0]
            try:
                one_pass.run(shift, &st[0], NULL, NULL)
            except CoreError as exc:
                raise IterationError(exc.status, str(exc), "E") from None
        lower_bound = st[1] / st[0]  # of the current parameters, before the M-step
        with nogil:
            status = cem_m_step(k, d, ct, &st[0], shift, reg_covar, set_w[1 - cur],
                                set_mu[1 - cur], set_cov[1 - cur], set_pc[1 - cur])
        check_step(status, "M")
        cur = 1 - cur
        lower_bounds.append(lower_bound)
        change = lower_bound - previous
        if iteration_end is not None:
            iteration_end(n_iter, change)
        if abs(change) < tol:
            converged = True
            break
    return tuple(sets[cur]), n_iter, lower_bound, lower_bounds, converged
