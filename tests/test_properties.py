"""Property tests: every C entry point of cem._core against its NumPy twin
in cem._reference, over shapes (d 1..24, k 1..12), dtypes, memory layouts
(C/Fortran order, negative and sliced strides, 0-stride rows, column-offset
views, views of views), sample weights with zeros, the four covariance
types and data far from the origin. The twins read a float64 copy of the
same values, so any disagreement is the C core misreading its input or
losing digits."""
import ctypes
import os
import shutil
import subprocess
import sysconfig

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

import cem  # noqa: E402
from cem import _core, _reference  # noqa: E402
from conftest import random_model  # noqa: E402

COVS = ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical")
LAYOUTS = ("c", "fortran", "reversed_rows", "reversed_cols", "every_other_row",
           "every_third_col", "column_offset", "zero_stride_rows", "view_of_view")
# Examples per property; raise CEM_HYPOTHESIS_EXAMPLES for a long hunt.
FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)


def _view(values, layout, dtype, rng):
    """An array equal to `values` (n, d) held in the given memory layout."""
    n, d = values.shape
    if layout == "c":
        return np.ascontiguousarray(values, dtype=dtype)
    if layout == "fortran":
        return np.asfortranarray(values, dtype=dtype)
    if layout == "reversed_rows":
        return np.ascontiguousarray(values[::-1], dtype=dtype)[::-1]
    if layout == "reversed_cols":
        return np.ascontiguousarray(values[:, ::-1], dtype=dtype)[:, ::-1]
    if layout == "every_other_row":
        big = np.full((2 * n, d), np.nan, dtype=dtype)
        big[::2] = values
        return big[::2]
    if layout == "every_third_col":
        big = np.full((n, 3 * d), np.nan, dtype=dtype)
        big[:, ::3] = values
        return big[:, ::3]
    if layout == "column_offset":  # finite junk beside the view
        off = int(rng.integers(1, 4))
        big = rng.normal(size=(n, d + off + int(rng.integers(0, 3)))).astype(dtype)
        big[:, off:off + d] = values
        return big[:, off:off + d]
    if layout == "zero_stride_rows":
        return np.broadcast_to(values[:1].astype(dtype), (n, d)) if n else values.astype(dtype)
    # view_of_view: rows sliced, reversed, then a column window of a wider base
    big = rng.normal(size=(2 * n + 3, d + 2)).astype(dtype)
    outer = big[1:, 1:]
    inner = outer[::-2][:n]  # n rows, stride -2 rows
    inner[:, :d] = values
    return inner[:, :d]


@st.composite
def data(draw, max_n=150, min_n=0, max_d=24):
    """(X view, float64 values it holds, sample_weight or None, rng)."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, max_d))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    layout = draw(st.sampled_from(LAYOUTS))
    far = draw(st.booleans())
    values = rng.normal(size=(n, d)) + (1e6 if far else 0.0)
    if layout == "zero_stride_rows" and n:
        values = np.broadcast_to(values[:1], (n, d)).copy()
    X = _view(values, layout, dtype, rng)
    values = np.array(X, dtype=np.float64)  # what the C core must read
    weighting = draw(st.sampled_from(["none", "with_zeros", "uniform"]))
    if weighting == "none":
        w = None
    elif weighting == "uniform":
        w = rng.uniform(0.1, 3.0, size=n)
    else:
        w = rng.uniform(0.0, 3.0, size=n) * (rng.random(n) < 0.7)
    return X, values, w, rng, far


def _close(actual, expected, rtol, err_msg=""):
    """Equal to rtol relative to the largest magnitude of `expected`."""
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.abs(expected).max() if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale + 1e-300,
                               err_msg=err_msg)


def _model_near(values, rng, k, d, cov, far):
    weights, means, covariances, prec_chol = random_model(rng, k, d, cov)
    if len(values):  # means beside the data, as in EM
        means = values[rng.integers(0, len(values), size=k)] + 0.5 * means
    elif far:
        means = means + 1e6
    return weights, means, covariances, prec_chol


@FEW
@given(data(), st.integers(1, 12), st.sampled_from(COVS))
def test_e_step_matches_reference(sample, k, cov):
    X, values, w, rng, far = sample
    n, d = values.shape
    weights, means, _, prec_chol = _model_near(values, rng, k, d, cov, far)
    resp = np.empty((n, k))
    log_density = np.empty(n)
    stats = _core.e_step(cov, weights, means, prec_chol, X, w, resp=resp,
                         log_density=log_density)
    ref_stats, ref_resp, ref_ld = _reference.e_step(cov, weights, means, prec_chol, values, w)
    _close(log_density, ref_ld, 1e-9, "log_density")
    np.testing.assert_allclose(resp, ref_resp, atol=1e-9, err_msg="resp")
    _close(stats[:2 + k], ref_stats[:2 + k], 1e-9, "weight, log-likelihood, nk")
    _close(stats[2 + k:], ref_stats[2 + k:], 1e-8, "moments")


@pytest.mark.parametrize("cov, d, sep", [(cov, d, sep) for cov in COVS
                                         for d in (3, 4, 5, 6, 9, 17) for sep in (1e3, 1e5)])
def test_e_step_moments_of_well_separated_components(cov, d, sep):
    """Components sep standard deviations apart: the fused pass's moments
    about the means as exact as the twin's."""
    rng = np.random.default_rng(d)
    k, n = 3, 400
    weights, _, _, prec_chol = random_model(rng, k, d, cov)
    means = sep * rng.normal(size=(k, d))
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    stats = _core.e_step(cov, weights, means, prec_chol, X)
    ref, _, _ = _reference.e_step(cov, weights, means, prec_chol, X)
    _close(stats[2 + k:], ref[2 + k:], 1e-12, "moments")


@FEW
@given(data(), st.integers(1, 12), st.sampled_from(COVS))
def test_accumulate_matches_reference(sample, k, cov):
    X, values, w, rng, far = sample
    n, d = values.shape
    shift = (values[rng.integers(0, n, size=k)] if n else np.full((k, d), 1e6 if far else 0.0))
    shift = np.ascontiguousarray(shift + rng.normal(size=(k, d)))
    resp = rng.dirichlet(np.ones(k), size=n) if n else np.zeros((0, k))
    stats = _core.accumulate(cov, shift, X, resp, w)
    ref = _reference.accumulate(cov, shift, values, resp, w)
    _close(stats[:2 + k], ref[:2 + k], 1e-9, "weight, nk")
    _close(stats[2 + k:], ref[2 + k:], 1e-8, "moments")


@FEW
@given(data(min_n=30), st.integers(1, 12), st.sampled_from(COVS))
def test_m_step_matches_reference(sample, k, cov):
    _, values, w, rng, _ = sample
    n, d = values.shape
    w = rng.uniform(0.5, 2.0, size=n)  # every component gets weight
    shift = np.ascontiguousarray(values[rng.integers(0, n, size=k)])
    resp = rng.dirichlet(np.ones(k), size=n)
    stats = _reference.accumulate(cov, shift, values, resp, w)
    reg = 1e-3  # keeps rows < d components positive definite
    ours = _core.m_step(cov, stats, shift, reg)
    theirs = _reference.m_step(cov, stats, shift, reg)
    for name, a, b in zip(("weights", "means", "covariances", "prec_chol"), ours, theirs):
        _close(a, b if name != "prec_chol" else _upper(cov, b), 1e-7, name)


def _upper(cov, prec_chol):
    return np.triu(prec_chol) if cov in ("full", "tied") else prec_chol


@FEW
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 12), st.integers(1, 24),
       st.sampled_from(COVS))
def test_precision_cholesky_matches_reference(seed, k, d, cov):
    rng = np.random.default_rng(seed)
    _, _, covariances, _ = random_model(rng, k, d, cov)
    ours = _core.precision_cholesky(cov, covariances, k, d)
    _close(_upper(cov, ours), _reference.precision_cholesky(cov, covariances), 1e-9)


@FEW
@given(data(), st.integers(1, 12))
def test_kmeans_step_matches_reference(sample, k):
    X, values, w, rng, far = sample
    n, d = values.shape
    centers = rng.normal(size=(k, d)) * 3 + (1e6 if far else 0.0)
    labels = np.full(n, -1, dtype=np.int32)
    sums, counts, inertia, changed = _core.kmeans_step(centers, X, w, labels)
    ref_sums, ref_counts, ref_inertia, ref_labels = _reference.kmeans_step(centers, values, w)
    np.testing.assert_array_equal(labels, ref_labels)
    assert changed == n
    _close(sums, ref_sums, 1e-12, "sums")
    _close(counts, ref_counts, 1e-12, "counts")
    _close(inertia, ref_inertia, 1e-12, "inertia")


def _lane_sum(terms):
    """cem_lane_sum's order: term i into lane i % 8, each lane summed in order
    from +0, the eight lanes added pairwise."""
    lanes = [0.0] * 8
    for i, term in enumerate(terms):
        lanes[i % 8] += float(term)
    return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + \
        ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))


@FEW
@given(data(max_n=300, max_d=6), st.integers(1, 6), st.booleans())
def test_kmeans_step_sums_each_cluster_in_eight_lanes(sample, k, sort_rows):
    """Bit for bit, in every kernel variant: a cluster's sums and count add
    its rows' w_i x_i and w_i in lanes (row i in lane i % 8), as
    cem_lane_sum; with the rows sorted by cluster (no two consecutive rows
    of different clusters) as well as mixed."""
    X, values, w, rng, far = sample
    n, d = values.shape
    if sort_rows and n:
        order = np.argsort(values[:, 0], kind="stable")
        values = values[order]
        X = np.array(X)[order]
        w = None if w is None else w[order]
    centers = np.sort(rng.normal(size=(k, d)) * 2 + (1e6 if far else 0.0), axis=0)
    weights = np.ones(n) if w is None else w
    saved = os.environ.get("CEM_KERNELS")
    try:
        for variant in _core.kernel_variants():
            os.environ["CEM_KERNELS"] = variant
            labels = np.zeros(n, dtype=np.int32)
            sums, counts, _, _ = _core.kmeans_step(centers, X, w, labels)
            for c in range(k):
                mine = labels == c
                assert counts[c] == _lane_sum(np.where(mine, weights, 0.0)), variant
                for j in range(d):
                    expected = _lane_sum(np.where(mine, weights * values[:, j], 0.0))
                    assert sums[c, j] == expected, (variant, c, j)
    finally:
        if saved is None:
            os.environ.pop("CEM_KERNELS", None)
        else:
            os.environ["CEM_KERNELS"] = saved


def _lloyd_in_python(centers, X, w, max_iter, tol, n_threads):
    """cem._init.kmeans's loop as it ran in Python before _core.kmeans_lloyd:
    the weighted mean and spread, then Lloyd passes until the squared center
    shift (ndarray.sum) is at most tol * spread / (total * d)."""
    d = X.shape[1]
    sums, counts, _, _ = _core.kmeans_step(np.zeros((1, d)), X, w, None, n_threads)
    mean, total = sums[0] / counts[0], counts[0]
    _, _, spread, _ = _core.kmeans_step(mean[None, :], X, w, None, n_threads)
    threshold = tol * spread / (total * d)
    for n_iter in range(1, max_iter + 1):
        sums, counts, _, _ = _core.kmeans_step(centers, X, w, None, n_threads)
        filled = counts > 0
        new_centers = centers.copy()
        new_centers[filled] = sums[filled] / counts[filled, None]
        shift = ((new_centers - centers) ** 2).sum()
        centers = new_centers
        if shift <= threshold:
            return centers, n_iter
    return centers, max_iter


@settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)
@given(st.one_of(data(max_n=200, max_d=5), data(min_n=4000, max_n=9000, max_d=3)),
       st.integers(1, 20), st.integers(0, 12), st.sampled_from([1e-4, 0.0, 1e-2]),
       st.sampled_from([1, 2]))
def test_kmeans_lloyd_is_the_python_loop(sample, k, max_iter, tol, n_threads):
    """The Lloyd loop in Cython gives the Python loop's centers bit for bit
    and stops at the same pass, over shapes, layouts, weights (some zero),
    empty clusters (more centers than clusters of rows) and several
    partitions."""
    X, values, w, rng, far = sample
    n, d = values.shape
    if n == 0 or (w is not None and not (w > 0).any()):
        return
    centers = values[rng.integers(0, n, size=k)] + rng.normal(size=(k, d)) * 0.1
    with np.errstate(all="ignore"):
        expected, expected_iter = _lloyd_in_python(centers, X, w, max_iter, tol, n_threads)
    got, n_iter = _core.kmeans_lloyd(centers, X, w, max_iter, tol, n_threads)
    assert n_iter == expected_iter
    assert got.tobytes() == expected.tobytes()


def test_kmeans_lloyd_rejects_bad_arguments_and_non_finite_rows():
    X = np.arange(20.0).reshape(10, 2)
    with pytest.raises(ValueError, match="max_iter"):
        _core.kmeans_lloyd(X[:2], X, None, -1)
    with pytest.raises(ValueError, match="features"):
        _core.kmeans_lloyd(X[:2, :1].copy(), X)
    centers, n_iter = _core.kmeans_lloyd(X[:2], X, None, 0)
    assert n_iter == 0 and np.array_equal(centers, X[:2])
    X[7, 1] = np.inf
    with pytest.raises(_core.CoreError, match="non-finite"):
        _core.kmeans_lloyd(X[:2], X)


@settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)) // 5 + 1,
          deadline=None)
@given(data(min_n=4000, max_n=9000, max_d=6), st.integers(1, 5), st.sampled_from(COVS))
def test_partitioned_passes_match_reference_for_any_thread_count(sample, k, cov):
    """Enough rows for several partitions: every partitioned entry point
    agrees with its twin and is bit-identical for 1 and 3 threads."""
    X, values, w, rng, far = sample
    n, d = values.shape
    weights, means, _, prec_chol = _model_near(values, rng, k, d, cov, far)
    stats = [_core.e_step(cov, weights, means, prec_chol, X, w, n_threads=t) for t in (1, 3)]
    np.testing.assert_array_equal(stats[0], stats[1])
    ref, _, _ = _reference.e_step(cov, weights, means, prec_chol, values, w)
    _close(stats[0][:2 + k], ref[:2 + k], 1e-9, "weight, log-likelihood, nk")
    _close(stats[0][2 + k:], ref[2 + k:], 1e-8, "moments")
    centers = np.ascontiguousarray(means)
    steps = [_core.kmeans_step(centers, X, w, None, t) for t in (1, 3)]
    for a, b in zip(steps[0], steps[1]):
        np.testing.assert_array_equal(a, b)
    ref_sums, ref_counts, ref_inertia, _ = _reference.kmeans_step(centers, values, w)
    _close(steps[0][0], ref_sums, 1e-11, "sums")
    _close(steps[0][2], ref_inertia, 1e-11, "inertia")
    if w is not None and not (w > 0).any():
        return
    n_trials = 3
    uniforms = rng.random(1 + (k - 1) * n_trials)
    seeds = [_core.kmeanspp(X, k, n_trials, uniforms, w, t)[1] for t in (1, 3)]
    np.testing.assert_array_equal(seeds[0], seeds[1])
    _assert_same_seeds_up_to_ties(values, w, n_trials, uniforms, seeds[0],
                                  _reference.kmeanspp(values, k, n_trials, uniforms, w)[1])


@FEW
@given(data(min_n=1), st.integers(1, 12), st.integers(1, 4))
def test_kmeanspp_matches_reference(sample, k, n_trials):
    X, values, w, rng, _ = sample
    n = len(values)
    if w is not None and not (w > 0).any():
        w[rng.integers(0, n)] = 1.0
    k = min(k, n)
    uniforms = rng.random(1 + (k - 1) * n_trials)
    centers, indices = _core.kmeanspp(X, k, n_trials, uniforms, w)
    _, ref_indices = _reference.kmeanspp(values, k, n_trials, uniforms, w)
    np.testing.assert_array_equal(centers, values[indices])
    _assert_same_seeds_up_to_ties(values, w, n_trials, uniforms, indices, ref_indices)


def _assert_same_seeds_up_to_ties(values, w, n_trials, uniforms, indices, ref_indices):
    """indices equal ref_indices, or first differ at a floating-point tie:
    a draw whose target lies within rounding of a cumulative-potential step,
    or candidates whose potentials are equal to rounding (e.g. two rows that
    are each other's only neighbours). Later seeds then legitimately differ."""
    import math
    w = np.ones(len(values)) if w is None else w
    differ = np.flatnonzero(indices != ref_indices)
    if not differ.size:
        return
    c = differ[0]
    assert c > 0, f"first centers differ: {indices[0]} vs {ref_indices[0]}"
    chosen = values[indices[:c]]
    closest = ((values[:, None, :] - chosen[None]) ** 2).sum(axis=2).min(axis=1)
    cum = np.cumsum(w * closest)
    potential = cum[-1]
    eps = 1e-12 * potential
    reachable = set()
    for u in uniforms[1 + (c - 1) * n_trials:1 + c * n_trials]:
        lo, hi = np.searchsorted(cum, [u * potential - eps, u * potential + eps])
        reachable.update(range(lo, min(hi, len(values) - 1) + 1))
    pots = {r: math.fsum(w * np.minimum(closest, ((values - values[r]) ** 2).sum(axis=1)))
            for r in reachable}
    best = min(pots.values())
    acceptable = {r for r, p in pots.items() if p <= best + 1e-12 * potential}
    assert indices[c] in acceptable and ref_indices[c] in acceptable, \
        (c, indices, ref_indices, pots)


@FEW
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 300), st.booleans(), st.integers(-3, 3))
def test_first_center_is_numpys_choice(seed, n, weighted, ulps):
    """The first center is RandomState.choice(n, p=w / w.sum()) to the last
    bit, also for uniforms on (and a few ulps around) a cdf step."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0, 2, size=n) * (rng.random(n) < 0.8) if weighted else None
    if w is not None and not (w > 0).any():
        w[-1] = 0.5
    p = (np.ones(n) if w is None else w) / (n if w is None else w.sum())
    cdf = p.cumsum()
    cdf /= cdf[-1]
    u = cdf[rng.integers(0, n)]
    for _ in range(abs(ulps)):
        u = np.nextafter(u, np.inf if ulps > 0 else -np.inf)
    u = min(max(u, 0.0), np.nextafter(1.0, 0.0))
    X = np.zeros((n, 1))
    _, indices = _core.kmeanspp(X, 1, 1, [u], w)
    assert indices[0] == cdf.searchsorted(u, side="right")


def test_first_center_agrees_with_sklearn_where_int_u_n_did_not():
    """u = 0.5 over six unit-weight rows: numpy's cdf at row 2 is
    0.5000000000000001 > 0.5, so scikit-learn picks row 2 (not 3)."""
    kmeans = pytest.importorskip("sklearn.cluster")

    class Fixed(np.random.RandomState):
        def random_sample(self, size=None):
            return np.float64(0.5) if size in (None, ()) else super().random_sample(size)

    X = np.arange(6.0).reshape(-1, 1)
    _, theirs = kmeans.kmeans_plusplus(X, 1, random_state=Fixed(0))
    _, ours = _core.kmeanspp(X, 1, 1, [0.5])
    assert ours[0] == theirs[0] == 2


@pytest.mark.parametrize("n_threads", [1, 2, 2 ** 31, 2 ** 70])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeanspp_seeds_are_the_c_apis_across_partitions(c_library, n_threads, weighted):
    """_core.kmeanspp (partitions in parallel) and the C API's cem_kmeanspp
    (serial) give the same seeds, bit for bit, from the same uniforms, on
    enough rows for several partitions."""
    rng = np.random.default_rng(5)
    n, d, k, n_trials = 3 * 4096 + 17, 3, 9, 4
    X = np.asfortranarray(rng.normal(size=(n, d)).astype(np.float32))
    w = rng.uniform(0, 2, size=n) * (rng.random(n) < 0.9) if weighted else None
    uniforms = rng.random(1 + (k - 1) * n_trials)
    centers, indices = _core.kmeanspp(X, k, n_trials, uniforms, w, n_threads)
    c_centers, c_indices = c_library.kmeanspp(X, k, n_trials, uniforms, w)
    np.testing.assert_array_equal(indices, c_indices)
    np.testing.assert_array_equal(centers, c_centers)


@pytest.mark.parametrize("weighted", [False, True])
def test_first_center_of_the_c_api_is_numpys_choice(c_library, weighted):
    """cem_kmeanspp called directly picks the first center as
    RandomState.choice(n, p=w / w.sum()) does, also on a cdf step (six unit
    weights and u = 0.5: row 2, where an exact cumulative fraction gives 3)."""
    rng = np.random.default_rng(3)
    for n in (6, 7, 100, 4097):
        X = rng.normal(size=(n, 2))
        w = rng.uniform(0, 1, size=n) if weighted else None
        p = (np.ones(n) if w is None else w) / (n if w is None else w.sum())
        cdf = p.cumsum()
        cdf /= cdf[-1]
        for u in (0.5, *cdf[rng.integers(0, n - 1, size=5)]):
            expected = cdf.searchsorted(u, side="right")
            assert c_library.kmeanspp(X, 1, 1, [u], w)[1][0] == expected, (n, u)
            assert _core.kmeanspp(X, 1, 1, [u], w)[1][0] == expected, (n, u)


class _CData(ctypes.Structure):
    _fields_ = [("x", ctypes.c_void_p), ("dtype", ctypes.c_int), ("n", ctypes.c_ssize_t),
                ("d", ctypes.c_ssize_t), ("row_stride", ctypes.c_ssize_t),
                ("col_stride", ctypes.c_ssize_t), ("sample_weight", ctypes.c_void_p)]


class _CLibrary:
    """The C API of the built libcem, called directly through ctypes."""

    def __init__(self, path):
        self.lib = ctypes.CDLL(str(path))
        self.lib.cem_kmeanspp_work_size.restype = ctypes.c_ssize_t

    def kmeanspp(self, X, k, n_trials, uniforms, w):
        n, d = X.shape
        data = _CData(X.ctypes.data, 0 if X.dtype == np.float64 else 1, n, d, X.strides[0],
                      X.strides[1], None if w is None else w.ctypes.data)
        work_len = self.lib.cem_kmeanspp_work_size(ctypes.c_ssize_t(n), ctypes.c_ssize_t(d),
                                                   ctypes.c_ssize_t(n_trials))
        work = np.empty(work_len)
        u = np.ascontiguousarray(uniforms, dtype=np.float64)
        centers = np.empty((k, d))
        indices = np.empty(k, dtype=np.int64)
        status = self.lib.cem_kmeanspp(
            ctypes.c_ssize_t(k), ctypes.c_ssize_t(n_trials), ctypes.byref(data),
            ctypes.c_void_p(u.ctypes.data), ctypes.c_void_p(centers.ctypes.data),
            ctypes.c_void_p(indices.ctypes.data), ctypes.c_void_p(work.ctypes.data),
            ctypes.c_ssize_t(work_len))
        assert status == 0, status
        return centers, indices


@pytest.fixture(scope="module")
def c_library(tmp_path_factory):
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    archive = os.path.join(cem.get_library_dirs()[0], "libcem.a")
    if shutil.which(cc) is None or not os.path.exists(archive) or os.name == "nt":
        pytest.skip("needs a C compiler and libcem.a")
    out = tmp_path_factory.mktemp("clib") / "libcem_test.so"
    subprocess.run([cc, "-shared", "-o", str(out), "-Wl,--whole-archive", archive,
                    "-Wl,--no-whole-archive", "-lm"], check=True, capture_output=True)
    return _CLibrary(out)


@pytest.mark.parametrize("n_threads", [2 ** 31, 2 ** 63, 2 ** 70])
def test_huge_n_threads_is_clipped_not_an_overflow(rng, n_threads):
    X = rng.normal(size=(50, 3))
    weights, means, _, prec_chol = random_model(rng, 2, 3, "full")
    expected = _core.e_step("full", weights, means, prec_chol, X)
    np.testing.assert_array_equal(
        _core.e_step("full", weights, means, prec_chol, X, n_threads=n_threads), expected)
    centers = X[:2].copy()
    assert _core.kmeans_step(centers, X, n_threads=n_threads)[2] == \
        _core.kmeans_step(centers, X)[2]
    _core.kmeanspp(X, 2, 2, rng.random(3), None, n_threads)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d_shift", [2, 5])
def test_shift_of_other_dimension_is_a_clear_error(rng, cov, d_shift):
    """A shift (k, d') with data of d != d' columns: ValueError naming the
    features (was an internal error one way, a silent misread the other)."""
    X = rng.normal(size=(20, 3))
    shift = np.zeros((2, d_shift))
    with pytest.raises(ValueError, match="features"):
        _core.accumulate(cov, shift, X, np.full((20, 2), 0.5))


@pytest.mark.parametrize("cov", COVS)
def test_e_step_data_of_other_dimension_is_a_clear_error(rng, cov):
    weights, means, _, prec_chol = random_model(rng, 2, 3, cov)
    with pytest.raises(ValueError, match="features"):
        _core.e_step(cov, weights, means, prec_chol, rng.normal(size=(10, 4)))


@pytest.mark.parametrize("call", ["e_step", "accumulate", "kmeans_step", "kmeanspp"])
@pytest.mark.parametrize("X", [np.zeros(5), np.zeros((5, 0)), np.zeros((2, 2, 2))])
def test_entry_points_reject_non_matrix_data(rng, call, X):
    weights, means, _, prec_chol = random_model(rng, 1, 1, "diag")
    with pytest.raises(ValueError):
        if call == "e_step":
            _core.e_step("diag", weights, means, prec_chol, X)
        elif call == "accumulate":
            _core.accumulate("diag", means, X, np.ones((X.shape[0], 1)))
        elif call == "kmeans_step":
            _core.kmeans_step(means, X)
        else:
            _core.kmeanspp(X, 1, 1, [0.5])


def test_kmeans_step_without_centers_is_a_clear_error(rng):
    with pytest.raises(ValueError, match="centers"):
        _core.kmeans_step(np.zeros((0, 3)), rng.normal(size=(10, 3)))


@pytest.mark.parametrize("uniforms", [[0.5, 1.0, 0.2], [0.5, -0.1, 0.2], [np.nan, 0.1, 0.2]])
def test_kmeanspp_rejects_uniforms_outside_unit_interval(rng, uniforms):
    with pytest.raises(ValueError, match="uniforms"):
        _core.kmeanspp(rng.normal(size=(10, 2)), 2, 2, uniforms)


@pytest.mark.parametrize("cov", ["full", "diag"])
def test_parameters_of_the_right_size_but_wrong_shape_are_rejected(rng, cov):
    """A transposed (d, k, d) prec_chol / covariances of the right size was
    read silently as (k, d, d)."""
    k, d = 2, 3
    weights, means, covariances, prec_chol = random_model(rng, k, d, cov)
    swapped = np.ascontiguousarray(np.swapaxes(prec_chol, 0, 1))
    with pytest.raises(ValueError, match="shape"):
        _core.e_step(cov, weights, means, swapped, rng.normal(size=(10, d)))
    with pytest.raises(ValueError, match="shape"):
        _core.precision_cholesky(cov, np.ascontiguousarray(np.swapaxes(covariances, 0, 1)),
                                 k, d)


@FEW
@given(st.integers(0, 2 ** 32 - 1), st.integers(0, 300), st.booleans(),
       st.sampled_from(["float64", "float32"]), st.sampled_from(["c", "reversed_rows"]))
def test_kmeans_step_one_column_gives_the_same_bits_with_or_without_labels(seed, n, weighted,
                                                                           dtype, layout):
    # asking for labels only adds their loop: the sums are the same bits
    rng = np.random.default_rng(seed)
    X = (rng.normal(size=(n, 1)) * 10 ** rng.uniform(-3, 6) + rng.normal() * 1e4).astype(dtype)
    if layout == "reversed_rows":
        X = X[::-1]
    w = rng.uniform(0, 2, n) * (rng.uniform(size=n) > 0.2) if weighted else None
    if weighted and n > 0:
        w[0] = 1.0  # some weight
    center = rng.normal(size=(1, 1))
    fast = _core.kmeans_step(center, X, w)
    general = _core.kmeans_step(center, X, w, np.zeros(n, dtype=np.int32))
    for a, b in zip(fast[:3], general[:3]):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_kmeans_step_one_column_rejects_a_non_finite_row(bad):
    X = np.arange(200.0).reshape(-1, 1)
    X[150] = bad
    for labels in (None, np.zeros(200, dtype=np.int32)):
        with pytest.raises(_core.CoreError):
            _core.kmeans_step(np.zeros((1, 1)), X, None, labels)
