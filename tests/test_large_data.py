"""Data larger than memory or on a cluster: mergeable statistics, chunked
and memory-mapped fits, chunk sources, Dask, and streaming partial_fit."""
import os
import pickle
import sys
import warnings

import numpy as np
import pytest

import cem
from cem import GMM, SufficientStatistics
from conftest import SlicedArray, blobs, write_memmap

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]


def fixed_init(X, k, cov, seed=0):
    """Given initial parameters, so in-memory and chunked fits do identical work."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    var = np.asarray(X, dtype=np.float64).var(axis=0)
    precisions = {"full": np.array([np.diag(1 / var)] * k), "tied": np.diag(1 / var),
                  "diag": np.tile(1 / var, (k, 1)), "spherical": np.full(k, 1 / var.mean()),
                  "tied_diag": 1 / var, "tied_spherical": np.full(1, 1 / var.mean())}[cov]
    return dict(weights_init=np.full(k, 1.0 / k),
                means_init=np.asarray(X[np.sort(rng.choice(len(X), k, replace=False))], float),
                precisions_init=precisions)


def assert_same_fit(a, b, rtol=1e-10):
    assert a.n_iter_ == b.n_iter_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("cov", COVS)
def test_statistics_add_like_concatenated_rows(rng, cov):
    X = blobs(rng, n=3000, d=3, k=3)
    w = rng.uniform(0.5, 2, len(X))
    gmm = GMM(3, covariance_type=cov, random_state=0, max_iter=5).initialize(X)
    whole = gmm.sufficient_statistics(X, sample_weight=w)
    parts = [gmm.sufficient_statistics(X[i:i + 700], sample_weight=w[i:i + 700])
             for i in range(0, 3000, 700)]
    total = sum(parts)
    assert isinstance(total, SufficientStatistics)
    np.testing.assert_allclose(total.values, whole.values, rtol=1e-11, atol=1e-9)
    assert total.total_weight == pytest.approx(w.sum())
    again = pickle.loads(pickle.dumps(total))
    np.testing.assert_array_equal(again.values, total.values)
    np.testing.assert_array_equal(again.shift, total.shift)


@pytest.mark.parametrize("cov", COVS)
def test_statistics_moved_to_another_shift_are_the_same_moments(rng, cov):
    X = blobs(rng, n=500, d=3, k=2)
    gmm = GMM(2, covariance_type=cov, random_state=0).initialize(X)
    stats = gmm.sufficient_statistics(X)
    other = stats.shift + rng.normal(size=stats.shift.shape)
    moved = stats.moved_to(other)
    from cem import _core
    weights, means, prec_chol = gmm._c_params()
    resp = gmm.predict_proba(X)
    direct = _core.accumulate(cov, other, X, resp)
    np.testing.assert_allclose(moved.values[2:], direct[2:], rtol=1e-9, atol=1e-8)
    # the M-step does not depend on the shift
    for a, b in zip(gmm._m_step(stats.values, stats.shift, np.float64),
                    gmm._m_step(moved.values, moved.shift, np.float64)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_hand_written_map_reduce_equals_fit(rng):
    """The README's ten-line map-reduce EM gives fit's result."""
    X = blobs(rng, n=4000, d=2, k=3)
    init = fixed_init(X, 3, "full")
    reference = GMM(3, tol=1e-6, max_iter=200, **init).fit(X)
    chunks = [X[i:i + 1000] for i in range(0, len(X), 1000)]
    gmm = GMM(3, tol=1e-6, **init).initialize(X)
    previous = -np.inf
    for _ in range(200):
        stats = sum(gmm.sufficient_statistics(chunk) for chunk in chunks)
        gmm.apply_m_step(stats)
        if abs(stats.mean_log_likelihood - previous) < gmm.tol:
            break
        previous = stats.mean_log_likelihood
    assert gmm.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(gmm.means_, reference.means_, rtol=1e-10)
    np.testing.assert_allclose(gmm.covariances_, reference.covariances_, rtol=1e-10)


def test_apply_m_step_rejects_foreign_statistics(rng):
    X = blobs(rng, n=200, d=2, k=2)
    gmm = GMM(2, random_state=0).initialize(X)
    with pytest.raises(TypeError, match="SufficientStatistics"):
        gmm.apply_m_step(np.zeros(10))
    other = GMM(3, random_state=0).initialize(X).sufficient_statistics(X)
    with pytest.raises(ValueError, match="do not match"):
        gmm.apply_m_step(other)
    with pytest.raises(ValueError, match="different"):
        gmm.sufficient_statistics(X) + other


@pytest.mark.parametrize("cov", COVS)
def test_memmap_fit_equals_in_memory_fit(rng, tmp_path, cov, monkeypatch):
    import cem._sources
    monkeypatch.setattr(cem._sources, "CHUNK_ROWS", 1000)  # several chunks
    X = blobs(rng, n=5500, d=3, k=3)
    mm = write_memmap(tmp_path / "X.dat", X)
    init = fixed_init(X, 3, cov)
    a = GMM(3, covariance_type=cov, tol=1e-8, max_iter=50, **init).fit(X)
    b = GMM(3, covariance_type=cov, tol=1e-8, max_iter=50, **init).fit(mm)
    assert_same_fit(a, b)


def test_array_like_and_chunk_source_fits_equal_in_memory_fit(rng):
    X = blobs(rng, n=4000, d=2, k=2)
    w = rng.integers(1, 3, len(X)).astype(float)
    init = fixed_init(X, 2, "diag")
    params = dict(covariance_type="diag", tol=1e-8, max_iter=50, **init)
    a = GMM(2, **params).fit(X, sample_weight=w)
    b = GMM(2, **params).fit(SlicedArray(X), sample_weight=w)
    c = GMM(2, **params).fit(lambda: ((X[i:i + 900], w[i:i + 900]) for i in range(0, 4000, 900)))
    assert_same_fit(a, b)
    assert_same_fit(a, c)


def test_chunked_sources_initialise_from_a_sample(rng):
    X = blobs(rng, n=3000, d=2, k=3, spread=8.0)
    gmm = GMM(3, random_state=0, tol=1e-6).fit(lambda: (X[i:i + 500] for i in range(0, 3000, 500)))
    ref = GMM(3, random_state=0, tol=1e-6).fit(X)
    assert gmm.score(X) == pytest.approx(ref.score(X), rel=1e-3)
    with pytest.raises(ValueError, match="NaN"):
        bad = X.copy()
        bad[2500, 0] = np.nan
        GMM(3, **fixed_init(X, 3, "full")).fit(lambda: (bad[i:i + 500] for i in range(0, 3000, 500)))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memmap_fit_keeps_resident_memory_bounded(tmp_path):
    """A 320 MB file fitted with a bounded peak resident-set growth: less
    than 64 MB (a few chunks and the statistics), far below the file."""
    n, d = 2_500_000, 16
    path = tmp_path / "big.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(n, d))
    rng = np.random.default_rng(0)
    for i in range(0, n, 250_000):
        mm[i:i + 250_000] = rng.normal(size=(250_000, d)) + (i // 250_000 % 2) * 3
    mm.flush()
    del mm
    mm = np.memmap(path, dtype=np.float64, mode="r", shape=(n, d))
    k = 2
    init = dict(weights_init=[0.5, 0.5], means_init=np.array([np.zeros(d), np.full(d, 3.0)]),
                precisions_init=np.array([np.eye(d)] * k))

    def status_kib(field):
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith(field + ":"))

    gmm = GMM(k, max_iter=2, tol=0.0, **init)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status_kib("VmRSS")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        gmm.fit(mm)
    growth_mb = (status_kib("VmHWM") - before) / 1024
    assert growth_mb < 64, growth_mb
    assert np.abs(np.sort(gmm.means_[:, 0]) - [0, 3]).max() < 0.01


def test_partial_fit_approaches_the_batch_fit(rng):
    """Stepwise EM on a stationary stream: within 1% of the batch fit's
    log-likelihood after a few passes' worth of chunks."""
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])

    def draw(n):
        labels = rng.integers(0, 3, n)
        return centers[labels] + rng.normal(size=(n, 2)) * [1.0, 0.7]

    held_out = draw(20000)
    batch = GMM(3, random_state=0, tol=1e-8).fit(held_out)
    online = GMM(3, random_state=0, learning_decay=0.7)
    for _ in range(60):
        online.partial_fit(draw(2000))
    assert online.n_iter_ == 60
    gap = abs(online.score(held_out) - batch.score(held_out)) / abs(batch.score(held_out))
    assert gap < 0.01, gap


def test_fit_after_partial_fit_starts_the_stream_afresh(rng):
    gmm = GMM(2, random_state=0)
    gmm.partial_fit(rng.normal(size=(500, 2)))
    gmm.partial_fit(rng.normal(size=(500, 2)))
    gmm.fit(rng.normal(size=(500, 3)))
    n_iter = gmm.n_iter_
    # running statistics of the new shape, continuing the fitted model (issue 9, defect 5)
    gmm.partial_fit(rng.normal(size=(500, 3)))
    assert gmm.n_iter_ == n_iter + 1 and gmm.means_.shape == (2, 3)


def test_learning_parameters_are_validated(rng):
    X = blobs(rng, n=100, d=2, k=2)
    with pytest.raises(ValueError, match="learning_decay"):
        GMM(2, learning_decay=0.3).partial_fit(X)
    with pytest.raises(ValueError, match="learning_offset"):
        GMM(2, learning_offset=-1.0).fit(X)




@pytest.mark.parametrize("scheduler", ["threads", "distributed"])
def test_dask_fit_equals_in_memory_fit(rng, scheduler):
    da = pytest.importorskip("dask.array")
    import dask
    X = blobs(rng, n=6000, d=3, k=3)
    w = rng.uniform(0.5, 1.5, len(X))
    Xd = da.from_array(X, chunks=(1000, 3))
    init = fixed_init(X, 3, "full")
    ref = GMM(3, tol=1e-8, max_iter=60, **init).fit(X, sample_weight=w)
    if scheduler == "threads":
        with dask.config.set(scheduler="threads"):
            got = GMM(3, tol=1e-8, max_iter=60, **init).fit(Xd, sample_weight=w)
            proba = got.predict_proba(Xd)
            assert isinstance(proba, da.Array)
            np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), atol=1e-9)
            np.testing.assert_array_equal(got.predict(Xd).compute(), ref.predict(X))
            np.testing.assert_allclose(got.score_samples(Xd).compute(), ref.score_samples(X),
                                       rtol=1e-10)
    else:
        distributed = pytest.importorskip("distributed")
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            got = GMM(3, tol=1e-8, max_iter=60, **init).fit(Xd, sample_weight=w)
            np.testing.assert_array_equal(got.predict(Xd).compute(), ref.predict(X))
    assert_same_fit(ref, got)


def test_dask_fit_initialises_from_a_sample(rng):
    da = pytest.importorskip("dask.array")
    X = blobs(rng, n=4000, d=2, k=3, spread=8.0)
    Xd = da.from_array(X, chunks=(700, 2))
    got = GMM(3, random_state=0, tol=1e-6).fit(Xd)
    ref = GMM(3, random_state=0, tol=1e-6).fit(X)
    assert got.score(X) == pytest.approx(ref.score(X), rel=1e-3)
