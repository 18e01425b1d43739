"""The C kernels against their NumPy twins (cem/_reference.py)."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cem import _core, _reference
from conftest import random_model

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]
SHAPES = [(1, 1, 1), (5, 1, 2), (7, 3, 1), (200, 4, 3), (5000, 2, 5), (9000, 6, 4),
          (301, 9, 3), (1000, 17, 5), (130, 33, 2)]  # the wide tiles: 1, 2, 3 and 5 column tiles
FMA_VARIANTS = ["avx2", "avx512"]


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("n,d,k", SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_e_step_matches_reference(rng, cov, n, d, k, weighted, kernel_variant):
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0, 3, n) if weighted else None
    resp = np.empty((n, k))
    log_density = np.empty(n)
    stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp,
                         log_density=log_density, n_threads=2)
    ref_stats, ref_resp, ref_ld = _reference.e_step(cov, weights, means, prec_chol, X, sw)
    np.testing.assert_allclose(resp, ref_resp, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(log_density, ref_ld, rtol=1e-12)
    np.testing.assert_allclose(stats, ref_stats, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cov", COVS)
def test_e_step_reads_any_layout_and_float32(rng, cov):
    n, d, k = 300, 4, 3
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = rng.normal(size=(n, d))
    expected = _core.e_step(cov, weights, means, prec_chol, X)
    for view in (np.asfortranarray(X), np.repeat(X, 2, axis=0)[::2], np.repeat(X, 3, axis=1)[:, ::3]):
        np.testing.assert_array_equal(_core.e_step(cov, weights, means, prec_chol, view), expected)
    X32 = X.astype(np.float32)
    got = _core.e_step(cov, weights, means, prec_chol, X32)
    np.testing.assert_array_equal(
        got, _core.e_step(cov, weights, means, prec_chol, X32.astype(np.float64)))


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("n,d,k", SHAPES)
def test_m_step_matches_reference(rng, cov, n, d, k):
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    stats = _core.e_step(cov, weights, means, prec_chol, X)
    got = _core.m_step(cov, stats, means, 1e-6)
    ref = _reference.m_step(cov, stats, means, 1e-6)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_empty_data_adds_nothing(rng, cov):
    weights, means, _, prec_chol = random_model(rng, 2, 3, cov)
    stats = _core.e_step(cov, weights, means, prec_chol, np.empty((0, 3)))
    assert stats.shape == (_core.stats_size(cov, 2, 3),)
    assert not stats.any()


@pytest.mark.parametrize("scale,offset", [(1e-150, 0.0), (1e150, 0.0), (1.0, 1e8), (1e-3, -1e6)])
@pytest.mark.parametrize("cov", COVS)
def test_extreme_scales(rng, cov, scale, offset):
    """Responsibilities and fitted moments are scale-invariant: the same data
    at any scale gives the same responsibilities and rescaled parameters."""
    n, d, k = 400, 3, 2
    weights, means, covs, _ = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    ratio = scale ** 2
    pc = _reference.precision_cholesky(cov, covs * ratio)
    resp = np.empty((n, k))
    resp_unit = np.empty((n, k))
    stats = _core.e_step(cov, weights, offset + scale * means, pc, offset + scale * X, resp=resp)
    _core.e_step(cov, weights, means, _reference.precision_cholesky(cov, covs), X, resp=resp_unit)
    tol = 1e-6 if offset else 1e-9
    np.testing.assert_allclose(resp, resp_unit, atol=tol)
    _, new_means, new_cov, _ = _core.m_step(cov, stats, offset + scale * means, 0.0)
    _, ref_means, ref_cov, _ = _reference.m_step(
        cov, _core.e_step(cov, weights, means, _reference.precision_cholesky(cov, covs), X),
        means, 0.0)
    np.testing.assert_allclose((new_means - offset) / scale, ref_means, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(new_cov / ratio, ref_cov, rtol=1e-5)


def test_log_sum_exp_shift_invariance(rng):
    """Rows far out in the tails (log-densities near -1e5) still get exact
    responsibilities and finite log-densities."""
    weights, means, _, prec_chol = random_model(rng, 3, 2, "full")
    X = np.array([[300.0, -250.0], [-400.0, 100.0]])
    resp = np.empty((2, 3))
    ld = np.empty(2)
    _core.e_step("full", weights, means, prec_chol, X, resp=resp, log_density=ld, want_stats=False)
    _, ref_resp, ref_ld = _reference.e_step("full", weights, means, prec_chol, X)
    assert np.isfinite(ld).all() and (ld < -1e3).all()
    np.testing.assert_allclose(resp, ref_resp, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(resp.sum(axis=1), 1.0)


@pytest.mark.parametrize("cov", COVS)
def test_accumulate_matches_reference(rng, cov, kernel_variant):
    n, d, k = 333, 3, 4
    X = rng.normal(size=(n, d))
    resp = rng.dirichlet(np.ones(k), size=n)
    shift = rng.normal(size=(k, d))
    sw = rng.uniform(0, 2, n)
    got = _core.accumulate(cov, shift, X, resp, sw)
    np.testing.assert_allclose(got, _reference.accumulate(cov, shift, X, resp, sw), rtol=1e-11)


def test_kmeans_step_matches_reference(rng):
    X = rng.normal(size=(7000, 3))
    centers = rng.normal(size=(5, 3))
    sw = rng.uniform(0, 2, len(X))
    labels = np.full(len(X), -1, dtype=np.int32)
    sums, counts, inertia, changed = _core.kmeans_step(centers, X, sw, labels, n_threads=2)
    r_sums, r_counts, r_inertia, r_labels = _reference.kmeans_step(centers, X, sw)
    np.testing.assert_array_equal(labels, r_labels)
    assert changed == len(X)
    np.testing.assert_allclose(sums, r_sums, rtol=1e-11)
    np.testing.assert_allclose(counts, r_counts, rtol=1e-12)
    assert inertia == pytest.approx(r_inertia, rel=1e-12)
    assert _core.kmeans_step(centers, X, sw, labels)[3] == 0


def test_kmeanspp_picks_distinct_data_rows(rng):
    X = np.vstack([rng.normal(c, 0.1, size=(50, 2)) for c in (0, 10, 20, 30)])
    k, trials = 4, 3
    centers, idx = _core.kmeanspp(X, k, trials, rng.random(1 + (k - 1) * trials))
    np.testing.assert_array_equal(centers, X[idx])
    assert sorted(idx // 50) == [0, 1, 2, 3]  # one seed per well-separated blob


def test_kmeanspp_zero_weight_rows_never_chosen(rng):
    X = rng.normal(size=(100, 2))
    sw = np.zeros(100)
    sw[::10] = 1.0
    _, idx = _core.kmeanspp(X, 5, 3, rng.random(1 + 4 * 3), sw)
    assert all(i % 10 == 0 for i in idx)


def test_precision_cholesky_not_positive_definite():
    with pytest.raises(_core.CoreError) as info:
        _core.precision_cholesky("full", np.array([[[1.0, 2.0], [2.0, 1.0]]]), 1, 2)
    assert info.value.status == _core.STATUS_NOT_POSITIVE_DEFINITE
    with pytest.raises(_core.CoreError):
        _core.precision_cholesky("diag", np.array([[1.0, 0.0]]), 1, 2)


def test_e_step_rejects_bad_model(rng):
    weights, means, _, prec_chol = random_model(rng, 2, 2, "full")
    X = rng.normal(size=(10, 2))
    bad = prec_chol.copy()
    bad[0, 0, 0] = -1.0
    with pytest.raises(_core.CoreError):
        _core.e_step("full", weights, means, bad, X)
    with pytest.raises(_core.CoreError):
        _core.e_step("full", np.array([0.0, 0.0]), means, prec_chol, X)
    with pytest.raises(_core.CoreError):
        _core.e_step("full", weights, means, prec_chol, X, np.full(10, -1.0))
    X[3, 1] = np.nan
    with pytest.raises(_core.CoreError) as info:
        _core.e_step("full", weights, means, prec_chol, X)
    assert info.value.status == _core.STATUS_NON_FINITE


@pytest.mark.parametrize("cov", COVS)
def test_partitions_are_thread_count_independent(rng, cov, kernel_variant):
    weights, means, _, prec_chol = random_model(rng, 4, 5, cov)
    X = rng.normal(size=(50000, 5))
    one = _core.e_step(cov, weights, means, prec_chol, X, n_threads=1)
    two = _core.e_step(cov, weights, means, prec_chol, X, n_threads=2)
    three = _core.e_step(cov, weights, means, prec_chol, X, n_threads=3)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(one, three)


@pytest.mark.parametrize("separation", [1e3, 1e5, 1e7])
@pytest.mark.parametrize("d", [3, 7, 16])
def test_tied_moments_exact_however_separated(rng, separation, d, kernel_variant):
    """Issue 9, defect 8: the wide tied path pooled the rank update about a
    common center and lost digits as separation^2 (relative covariance
    error 6e-3 at 1e7 sigma); it must match the NumPy twin as the narrow
    path does, through both the E-step and cem_accumulate."""
    n, k = 3000, 3
    centers = separation * rng.normal(size=(k, d))
    labels = rng.integers(0, k, n)
    X = centers[labels] + rng.normal(size=(n, d))
    _, _, _, prec_chol = random_model(rng, k, d, "tied")
    weights = np.full(k, 1.0 / k)
    means = centers + 0.1 * rng.normal(size=(k, d))   # shifts near, not at, the truth
    stats = _core.e_step("tied", weights, means, prec_chol, X)
    ref, ref_resp, _ = _reference.e_step("tied", weights, means, prec_chol, X)
    cov = _core.m_step("tied", stats, means, 0.0)[2]
    ref_cov = _reference.m_step("tied", ref, means, 0.0)[2]
    assert np.abs(cov - ref_cov).max() <= 1e-12 * np.abs(ref_cov).max()
    # soft responsibilities (every row shared by every component), given
    resp = rng.dirichlet(np.ones(k), size=n)
    got = _core.accumulate("tied", means, X, resp)
    want = _reference.accumulate("tied", means, X, resp)
    cov, ref_cov = _tied_covariance(got, k, d), _tied_covariance(want, k, d)
    assert np.abs(cov - ref_cov).max() <= 1e-12 * np.abs(ref_cov).max()


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [5, 8, 9, 16, 17, 33, 64])
@pytest.mark.parametrize("weighted", [False, True])
def test_fma_variants_agree_bit_for_bit(rng, monkeypatch, cov, d, weighted):
    """Every variant with fused multiply-adds (AVX2 4 x 8 tiles, AVX-512
    8 x 8 tiles) sums each element in the same order, so a fit is the same
    bits whichever of them the CPU picks (the pinned fits hold on both)."""
    present = [v for v in FMA_VARIANTS if v in _core.kernel_variants()]
    if len(present) < 2:
        pytest.skip("fewer than two FMA kernel variants on this CPU")
    n, k = 203, 5   # a partial block and a partial 8-row tile
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0, 3, n) if weighted else None
    resp_in = rng.dirichlet(np.ones(k), size=n)
    results = []
    for variant in present:
        monkeypatch.setenv("CEM_KERNELS", variant)
        assert _core.kernel_variant() == variant
        resp, log_density = np.empty((n, k)), np.empty(n)
        stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp,
                             log_density=log_density)
        about = _core.e_step(cov, weights, means, prec_chol, X, sw, shift=means + 0.5)
        acc = _core.accumulate(cov, means, X, resp_in, sw)
        results.append((stats, resp, log_density, about, acc))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("d", [1, 2, 3, 5, 8, 9, 16])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 9])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_fma_variants_agree_bit_for_bit(rng, monkeypatch, d, k, weighted):
    """k-means's distances are the same expression in every FMA variant
    (AVX2 two 4-row vectors, AVX-512 one 8-row vector), so its labels,
    sums, inertia, k-means++ potentials and picks, and Lloyd's centers are
    the same bits whichever the CPU picks: over k around the 4-center tiles
    and its k = 2 path, and a partial block and 8-row tile."""
    present = [v for v in FMA_VARIANTS if v in _core.kernel_variants()]
    if len(present) < 2:
        pytest.skip("fewer than two FMA kernel variants on this CPU")
    n = 203
    X = 3.0 * rng.normal(size=(n, d)) + 100.0
    centers = X[rng.choice(n, k, replace=False)] + 0.01
    sw = rng.uniform(0, 3, n) if weighted else None
    uniforms = rng.random(1 + (k - 1) * 3)
    results = []
    for variant in present:
        monkeypatch.setenv("CEM_KERNELS", variant)
        assert _core.kernel_variant() == variant
        labels = np.full(n, -1, dtype=np.int32)
        step = _core.kmeans_step(centers, X, sw, labels)
        seeds, rows = _core.kmeanspp(X, k, 3, uniforms, sw)
        lloyd, n_iter = _core.kmeans_lloyd(seeds, X, sw)
        results.append((*step[:3], labels, seeds, rows, lloyd, n_iter))
    for other in results[1:]:
        for got, want in zip(other, results[0]):
            np.testing.assert_array_equal(got, want)


def _tied_covariance(stats, k, d):
    """The pooled covariance of tied statistics (no factorisation, which a
    covariance stretched 1e14 times along k - 1 directions may not survive)."""
    nk = stats[2:2 + k] + _reference.NK_FLOOR
    sx = stats[2 + k:2 + k + k * d].reshape(k, d)
    s2 = np.tril(stats[2 + k + k * d:].reshape(d, d))
    s2 = s2 + np.tril(s2, -1).T
    return (s2 - (sx.T / nk) @ sx) / nk.sum()


def test_accumulate_rejects_a_shift_of_another_dimension(rng):
    """Issue 9, defect 11: a (k, d') shift against (n, d) data was read with
    the data's d (a misread layout, or writes past the statistics)."""
    X = rng.normal(size=(50, 3))
    resp = rng.dirichlet(np.ones(2), size=50)
    for d_shift in (2, 4):
        with pytest.raises(ValueError, match="features"):
            _core.accumulate("full", np.zeros((2, d_shift)), X, resp)


@pytest.mark.parametrize("shape", [(0, 3), (2, 0)])
def test_empty_centers_or_shift_are_refused_by_name(rng, shape):
    """kmeans_step, kmeans_label_stats and accumulate check their (k, d)
    centers / shift in one place: k or d of 0 is a ValueError naming it."""
    X = rng.normal(size=(50, 3))
    empty = np.zeros(shape)
    message = r"centers must have shape \(n_clusters, n_features\), both >= 1"
    with pytest.raises(ValueError, match=message):
        _core.kmeans_step(empty, X)
    with pytest.raises(ValueError, match=message):
        _core.kmeans_label_stats(["full"], empty, X)
    with pytest.raises(ValueError, match=r"shift must have shape \(n_components, n_features\)"):
        _core.accumulate("full", empty, X, np.ones((50, shape[0])))


def test_all_zero_weights_say_no_weight(rng):
    """cem.h and the code agree: a mixture whose weights are all 0 gives
    CEM_ENOWEIGHT (it was CEM_EINVAL, the header said CEM_ENONFINITE)."""
    _, means, _, prec_chol = random_model(rng, 2, 6, "diag")
    with pytest.raises(_core.CoreError) as info:
        _core.e_step("diag", np.zeros(2), means, prec_chol, rng.normal(size=(10, 6)))
    assert info.value.status == _core.STATUS_NO_WEIGHT


def test_one_nk_floor():
    """The count floor is one fact: cem.h's CEM_NK_FLOOR, as the core uses it,
    equal to the NumPy twin's (10 eps, scikit-learn's)."""
    assert _core.NK_FLOOR == _reference.NK_FLOOR == 10 * np.finfo(np.float64).eps
    stats = np.array([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0])  # k = 2, d = 1, second empty
    weights = _core.m_step("diag", stats, np.zeros((2, 1)), 0.1)[0]
    assert weights[1] == _core.NK_FLOOR / (1.0 + 2 * _core.NK_FLOOR)


@pytest.mark.parametrize("n", [1, 100, 4096, 4097, 30000])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_label_stats_are_the_one_hot_statistics(rng, n, weighted):
    """kmeans_label_stats (labels and one-hot statistics per row partition,
    in parallel) against the NumPy reference of the hard partition: equal
    to rounding, bit for bit for any n_threads, and up to one partition
    (4096 rows) bit for bit the single accumulate over all rows."""
    d, k = 5, 4
    X = rng.normal(size=(n, d)) + 3.0 * rng.integers(0, 3, size=(n, 1))
    centers = X[rng.choice(n, k)] if n >= k else rng.normal(size=(k, d))
    sw = rng.uniform(0, 2, n) if weighted else None
    types = ("full", "diag", "tied_spherical")
    stats = _core.kmeans_label_stats(types, centers, X, sw, n_threads=2)
    _, _, _, labels = _reference.kmeans_step(centers, X, sw)
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), labels] = 1.0
    for t in types:
        want = _reference.accumulate(t, centers, X, one_hot, sw)
        np.testing.assert_allclose(stats[t], want, rtol=1e-10, atol=1e-10 * np.abs(want).max())
        for threads in (1, 3):
            np.testing.assert_array_equal(
                _core.kmeans_label_stats((t,), centers, X, sw, n_threads=threads)[t], stats[t])
        if n <= 4096:
            np.testing.assert_array_equal(stats[t], _core.accumulate(t, centers, X, one_hot, sw))



LABEL_TYPES = ("full", "diag", "spherical", "tied_diag", "tied_spherical")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), d=st.sampled_from([5, 7, 8, 9, 15, 16, 17, 24, 33]),
       k=st.integers(1, 12), weights=st.sampled_from(["none", "uniform", "some zero"]),
       sorted_rows=st.booleans(), seed=st.integers(0, 2**16))
def test_label_statistics_are_the_one_hot_pass_bit_for_bit(kernel_variant, n, d, k, weights,
                                                            sorted_rows, seed):
    """The wide full and variance types accumulate k-means's partition from
    its labels (cem_accumulate_labels), each row once: bit for bit what the
    one-hot responsibilities give cem_accumulate, on every kernel variant
    (the kernel variant fixture holds across the examples), for odd and
    even block tails, empty and weight-0 components, rows of one cluster
    together (sorted data) or interleaved."""
    rng = np.random.default_rng(seed)
    centers = 5.0 * rng.normal(size=(k, d))
    truth = rng.integers(0, k, n)
    X = centers[np.sort(truth) if sorted_rows else truth] + rng.normal(size=(n, d))
    sw = {"none": None, "uniform": rng.uniform(0.1, 3.0, n),
          "some zero": rng.uniform(0.0, 3.0, n) * (rng.random(n) < 0.6)}[weights]
    got = _core.kmeans_label_stats(LABEL_TYPES, centers, X, sw, n_threads=1)
    labels = np.zeros(n, np.int32)  # kmeans_label_stats's partition: the nearest centers
    _core.kmeans_step(centers, X, sw, labels)
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), labels] = 1.0
    for t in LABEL_TYPES:
        np.testing.assert_array_equal(got[t], _core.accumulate(t, centers, X, one_hot, sw))
