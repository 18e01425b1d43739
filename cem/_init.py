"""Initial partitions for EM (scikit-learn's four init_params), returned as
sufficient statistics so that the first parameters come out of the same
M-step as every later one.

Random numbers are drawn from the numpy RandomState in the same order and
number as scikit-learn draws them, so a seed gives the same initial
partition as GaussianMixture(init_params=...) up to floating-point ties.
"""
import functools

import numpy as np

from cem import _core
from cem._validation import CHUNK_ROWS

# scikit-learn's KMeans defaults used for init_params='kmeans'.
KMEANS_MAX_ITER = 300
KMEANS_TOL = 1e-4
# scikit-learn adds 10 * eps to every count: the C core's CEM_NK_FLOOR.
NK_FLOOR = _core.NK_FLOOR


def _rows(X, sample_weight, start, stop):
    return X[start:stop], None if sample_weight is None else sample_weight[start:stop]


def weighted_mean(X, sample_weight, n_threads):
    """Weighted column means (d,) and total weight, in one parallel pass."""
    zero = np.zeros((1, X.shape[1]))
    sums, counts, _, _ = _core.kmeans_step(zero, X, sample_weight, None, n_threads)
    return sums[0] / counts[0], counts[0]


@functools.cache
def _draws_in_place_agree():
    """Whether _core.mt19937_uniform draws what numpy does and leaves the
    state as numpy would, on this numpy: from an odd position, across
    regenerations of the state and a double straddling one."""
    ours, numpys = np.random.RandomState(20261127), np.random.RandomState(20261127)
    for rng in (ours, numpys):
        rng.randint(0, 2**32, size=301, dtype=np.uint32)
    drawn = np.empty((700, 2))
    try:
        with ours._bit_generator.lock:
            _core.mt19937_uniform(ours._bit_generator, drawn)
    except ValueError:  # a position out of range: not the layout assumed
        return False
    return (drawn.tobytes() == numpys.random_sample((700, 2)).tobytes()
            and ours.randint(0, 2**32, size=700, dtype=np.uint32).tobytes()
            == numpys.randint(0, 2**32, size=700, dtype=np.uint32).tobytes())


def uniform_draws(rng, n, k):
    """rng.random_sample((n, k)), bit for bit, rng advanced as by that call.
    For a RandomState on MT19937 (which scikit-learn's check_random_state
    gives) the draws are made in C, on the generator's state in place: numpy
    makes one double at a time and takes as long as four EM passes of the
    classic example; get_state/set_state cost as much again. Reading the
    state in place assumes numpy's layout of it: checked once per process
    (at the first such draw) against numpy's own draws, numpy's otherwise."""
    bit_generator = getattr(rng, "_bit_generator", None)
    if type(rng) is not np.random.RandomState or type(bit_generator) is not np.random.MT19937:
        return rng.random_sample((n, k))
    if not _draws_in_place_agree():
        return rng.random_sample((n, k))
    out = np.empty((n, k))
    with bit_generator.lock:
        _core.mt19937_uniform(bit_generator, out)
    return out


def kmeans_n_trials(k):
    """Local trials per k-means++ center, scikit-learn's 2 + log(k)."""
    return 2 + int(np.log(k))


def kmeanspp(X, sample_weight, k, rng, n_threads):
    """k-means++ centers (k, d) and their row indices; draws as scikit-learn's
    kmeans_plusplus does: one uniform for the first center, then n_trials per
    further center."""
    n_trials = kmeans_n_trials(k)
    uniforms = rng.random_sample(1 + (k - 1) * n_trials)
    return _core.kmeanspp(X, k, n_trials, uniforms, sample_weight, n_threads)


def kmeans(X, sample_weight, k, rng, n_threads):
    """Lloyd's k-means from k-means++ seeds, on scikit-learn's KMeans(n_init=1)
    schedule: at most 300 passes, stopping when the squared center shift is
    at most 1e-4 times the mean feature variance. (scikit-learn also stops
    when no label changes; then the centers do not move either, so the shift
    test stops at the same pass without keeping n labels.) Empty clusters
    keep their previous center. The passes and the loop run in C
    (_core.kmeans_lloyd). Returns the centers."""
    centers, _ = kmeanspp(X, sample_weight, k, rng, n_threads)
    centers, _ = _core.kmeans_lloyd(centers, X, sample_weight, KMEANS_MAX_ITER, KMEANS_TOL,
                                    n_threads)
    return centers


def _raw_second_moment(X, sample_weight, n_threads):
    """sum_i w_i x_i x_i^T (d, d), accumulated about the mean for accuracy."""
    mean, total = weighted_mean(X, sample_weight, n_threads)
    d = X.shape[1]
    stats = None
    for start in range(0, X.shape[0], CHUNK_ROWS):
        Xb, wb = _rows(X, sample_weight, start, start + CHUNK_ROWS)
        stats = _core.accumulate("tied", mean[None, :], Xb, np.ones((Xb.shape[0], 1)), wb, stats)
    sx = stats[3:3 + d]
    about_mean = np.tril(stats[3 + d:].reshape(d, d))
    about_mean = about_mean + np.tril(about_mean, -1).T
    return about_mean + np.outer(sx, mean) + np.outer(mean, sx) + total * np.outer(mean, mean)


def _stats_of_rows(X, sample_weight, rows, covariance_type, n_threads):
    """Statistics of a one-row-per-component partition (rows[c] starts c)."""
    k = len(rows)
    shift = np.ascontiguousarray(X[rows], dtype=np.float64)
    w = None if sample_weight is None else np.ascontiguousarray(sample_weight[rows])
    stats = _core.accumulate(covariance_type, shift, shift, np.eye(k), w)
    if covariance_type in ("tied", "tied_diag", "tied_spherical"):
        # scikit-learn pools the tied covariance as (X^T X - sum_c nk_c mu_c
        # mu_c^T) / sum nk over ALL rows, whatever the responsibilities; with
        # one row per component that is a wide first covariance, not reg_covar.
        # Reproduce it so a seed gives scikit-learn's fit. The other shared
        # types (not in scikit-learn) take the analogue: the diagonal of the
        # same pooled matrix (tied_diag) and its trace (tied_spherical; the
        # M-step divides by d), so that all three start equally wide, rather
        # than at reg_covar (a one-row component has no scatter of its own).
        # cem_initialize (src_c/batch.c) does the same, bit for bit.
        d = X.shape[1]
        nk = stats[2:2 + k] + NK_FLOOR
        moment = _raw_second_moment(X, sample_weight, n_threads)
        moment -= (nk[:, None, None] * shift[:, :, None] * shift[:, None, :]).sum(axis=0)
        if covariance_type == "tied":
            stats[2 + k + k * d:] = moment.reshape(-1)
        elif covariance_type == "tied_diag":
            stats[2 + k + k * d:] = np.diagonal(moment)
        else:
            stats[2 + k + k * d:] = np.diagonal(moment).sum()
    return stats, shift


def random_rows(sample_weight, n, k, rng, check_only=False):
    """k distinct rows drawn uniformly from those of positive weight: a
    zero-weight row counts as dropped, so it must not start a component
    (its component would start with no weight). Without zero weights, the
    draws of scikit-learn's random_from_data. A ValueError when fewer than
    k rows have a positive weight; with check_only, only that check (no
    draw, rng unused)."""
    if sample_weight is None or (sample_weight > 0).all():
        return None if check_only else rng.choice(n, size=k, replace=False)
    weighted = np.flatnonzero(sample_weight > 0)
    if len(weighted) < k:
        raise ValueError(f"random_from_data needs n_components = {k} rows of positive "
                         f"sample_weight, but only {len(weighted)} have one")
    return None if check_only else weighted[rng.choice(len(weighted), size=k, replace=False)]


def initial_stats(X, sample_weight, k, covariance_type, init_params, rng, n_threads):
    """(stats, shift) of X under the initial responsibilities of init_params."""
    return initial_stats_by_type(X, sample_weight, k, (covariance_type,), init_params, rng,
                                 n_threads)[covariance_type]


def initial_stats_by_type(X, sample_weight, k, covariance_types, init_params, rng, n_threads):
    """{covariance_type: (stats, shift)} for each of covariance_types, each
    equal bit for bit to initial_stats(..., covariance_type, ...) from the
    same rng state: the initial partition depends only on k (and the draws),
    so it is made once (k-means, seeds, labels, random responsibilities) and
    only the statistics are accumulated per type. rng advances as in one
    initial_stats call."""
    n, d = X.shape
    if init_params in ("random_from_data", "k-means++"):
        if init_params == "random_from_data":
            rows = random_rows(sample_weight, n, k, rng)
        else:
            _, rows = kmeanspp(X, sample_weight, k, rng, n_threads)
        return {t: _stats_of_rows(X, sample_weight, rows, t, n_threads)
                for t in covariance_types}
    if init_params == "kmeans":  # each row to its nearest final center
        shift = kmeans(X, sample_weight, k, rng, n_threads)
        stats = _core.kmeans_label_stats(covariance_types, shift, X, sample_weight, n_threads)
        return {t: (stats[t], shift.copy()) for t in covariance_types}
    # random: uniform responsibilities, rows normalised, drawn chunk by
    # chunk (the same stream as one (n, k) draw)
    mean, _ = weighted_mean(X, sample_weight, n_threads)
    shift = np.empty((k, mean.shape[0]))
    shift[...] = mean
    stats = dict.fromkeys(covariance_types)
    for start in range(0, n, CHUNK_ROWS):
        Xb, wb = _rows(X, sample_weight, start, start + CHUNK_ROWS)
        # random_sample: scikit-learn's uniform(size=...) draws, 0 + 1 * u
        # exactly, without its per-number offset and scale (5 us per 20,000)
        resp = _core.normalise_rows(uniform_draws(rng, Xb.shape[0], k))
        for t in covariance_types:
            stats[t] = _core.accumulate(t, shift, Xb, resp, wb, stats[t])
    return {t: (stats[t], shift.copy()) for t in covariance_types}
