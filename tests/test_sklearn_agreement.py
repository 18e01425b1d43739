"""cem.GMM against sklearn.mixture.GaussianMixture on identical work."""
import os
import warnings

import numpy as np
import pytest

from cem import GMM
from conftest import blobs

sklearn_mixture = pytest.importorskip("sklearn.mixture")
COVS = ["full", "tied", "diag", "spherical"]
ATTRS = ["weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"]


def initial_params(X, k, cov, rng):
    """Given initial parameters both libraries start from."""
    d = X.shape[1]
    means = X[rng.choice(len(X), k, replace=False)]
    weights = np.full(k, 1.0 / k)
    var = X.var(axis=0)
    precisions = {
        "full": np.array([np.diag(1 / var)] * k),
        "tied": np.diag(1 / var),
        "diag": np.tile(1 / var, (k, 1)),
        "spherical": np.full(k, 1 / var.mean()),
    }[cov]
    return dict(weights_init=weights, means_init=means, precisions_init=precisions)


def fit_both(X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = GMM(**params).fit(X)
        theirs = sklearn_mixture.GaussianMixture(**params).fit(X)
    return ours, theirs


@pytest.mark.parametrize("cov", COVS)
def test_float64_same_init_agrees(rng, cov):
    X = blobs(rng, n=800, d=3, k=3)
    params = dict(n_components=3, covariance_type=cov, tol=1e-10, max_iter=60,
                  **initial_params(X, 3, cov, np.random.default_rng(1)))
    ours, theirs = fit_both(X, **params)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.converged_ == theirs.converged_
    for name in ATTRS:
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-8,
                                   atol=1e-10, err_msg=name)
        assert getattr(ours, name).dtype == np.float64
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-9)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.score(X) == pytest.approx(theirs.score(X), rel=1e-10)
    assert ours.bic(X) == pytest.approx(theirs.bic(X), rel=1e-10)
    assert ours.aic(X) == pytest.approx(theirs.aic(X), rel=1e-10)


@pytest.mark.parametrize("cov", COVS)
def test_float32_same_init_agrees_to_float32_precision(rng, cov):
    X = blobs(rng, n=800, d=3, k=3, dtype=np.float32)
    params = dict(n_components=3, covariance_type=cov, tol=0.0, max_iter=20,
                  **initial_params(X.astype(np.float64), 3, cov, np.random.default_rng(2)))
    ours, theirs = fit_both(X, **params)
    for name in ATTRS:
        assert getattr(ours, name).dtype == np.float32, name
        np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=2e-3,
                                   atol=1e-4, err_msg=name)
    assert ours.score_samples(X).dtype == np.float32
    assert ours.predict_proba(X).dtype == np.float32
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-3)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("init", ["kmeans", "k-means++", "random", "random_from_data"])
def test_same_seed_same_fit(rng, cov, init):
    """The init_params methods draw the same random numbers as scikit-learn,
    so the same seed gives the same fit."""
    X = blobs(rng, n=500, d=2, k=3)
    ours, theirs = fit_both(X, n_components=3, covariance_type=cov, init_params=init,
                            random_state=7, tol=1e-8, max_iter=300)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-7, atol=1e-9)
    assert ours.lower_bound_ == pytest.approx(theirs.lower_bound_, rel=1e-9)


def test_n_init_and_warm_start_agree(rng):
    X = blobs(rng, n=400, d=2, k=4)
    ours, theirs = fit_both(X, n_components=4, n_init=3, random_state=0, tol=1e-6)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)
    ours, theirs = fit_both(X, n_components=4, warm_start=True, max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X)
        theirs.fit(X)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-8)
    np.testing.assert_allclose(ours.lower_bounds_, theirs.lower_bounds_, rtol=1e-10)


@pytest.mark.parametrize("cov", COVS)
def test_sample_draws_as_sklearn(rng, cov):
    X = blobs(rng, n=300, d=2, k=2)
    ours, theirs = fit_both(X, n_components=2, covariance_type=cov, random_state=3)
    Xo, yo = ours.sample(50)
    Xt, yt = theirs.sample(50)
    np.testing.assert_array_equal(yo, yt)
    np.testing.assert_allclose(Xo, Xt, rtol=1e-7)


def test_max_iter_zero_keeps_the_initialisation(rng):
    X = blobs(rng, n=200, d=2, k=2)
    ours, theirs = fit_both(X, n_components=2, max_iter=0, random_state=0)
    assert ours.n_iter_ == 0 and ours.lower_bounds_ == []
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-9)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-9)


def test_clone_and_params_round_trip():
    from sklearn.base import clone
    est = GMM(3, covariance_type="diag", random_state=4, n_threads=1)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert repr(copy) == "GMM(n_components=3, covariance_type='diag', random_state=4, n_threads=1)"


def _kmeans_problem(seed, n, d, k, weighted, dtype):
    """Rows from a random mixture of k clusters (varied spreads), optional
    positive weights."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * rng.normal(size=(k, d))
    X = centers[rng.integers(0, k, n)] + rng.uniform(0.3, 2.0, size=(n, 1)) * rng.normal(size=(n, d))
    w = rng.uniform(0.2, 3.0, size=n) if weighted else None
    return X.astype(dtype), w


def _check_kmeans_init_as_sklearn(seed, n, d, k, weighted, dtype):
    from sklearn.cluster import KMeans, kmeans_plusplus

    from cem import _core
    from cem._init import kmeans, kmeanspp
    X, w = _kmeans_problem(seed, n, d, k, weighted, dtype)
    # k-means++ seeding: the same rows as scikit-learn's from the same seed
    _, ours = kmeanspp(X, w, k, np.random.RandomState(seed), 2)
    _, theirs = kmeans_plusplus(X, k, sample_weight=w, random_state=seed)
    np.testing.assert_array_equal(ours, theirs)
    # Lloyd from there (what GaussianMixture(init_params='kmeans') runs):
    # the same labels, centers equal to rounding
    centers = kmeans(X, w, k, np.random.RandomState(seed), 2)
    labels = np.empty(n, dtype=np.int32)
    _core.kmeans_step(centers, X, w, labels, 2)
    tol = 1e-4
    if w is not None:
        # cem stops at 1e-4 times the mean weighted variance (so integer
        # weights fit as repeated rows), KMeans at tol times the unweighted
        # one (GaussianMixture takes no weights): give KMeans the tol that
        # makes the two thresholds equal
        Xd = X.astype(np.float64)
        spread = np.average((Xd - np.average(Xd, axis=0, weights=w)) ** 2, axis=0, weights=w)
        unweighted = X.var(axis=0).mean()
        tol *= spread.mean() / unweighted if unweighted > 0 else 1.0  # else both 0
    km = KMeans(n_clusters=k, n_init=1, random_state=seed, tol=tol).fit(X, sample_weight=w)
    np.testing.assert_array_equal(labels, km.labels_)
    scale = np.abs(X).max()
    np.testing.assert_allclose(centers, km.cluster_centers_, rtol=0,
                               atol=(1e-12 if dtype == np.float64 else 1e-5) * scale)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n, d, k", [(1, 1, 1), (7, 1, 2), (300, 1, 3), (500, 2, 16),
                                     (1000, 8, 8), (700, 16, 16), (257, 24, 5), (64, 3, 16)])
@pytest.mark.parametrize("weighted", [False, True])
def test_kmeans_init_as_sklearn(seed, n, d, k, weighted):
    """cem's k-means initialisation (seeding and Lloyd, the kernels of
    src_c/kmeans_kernels.inc) gives scikit-learn's KMeans(n_init=1) seeds
    and labels from the same seed, over shapes around the kernels' tiles."""
    _check_kmeans_init_as_sklearn(seed, n, d, k, weighted, np.float64)


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 60)), deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 600), d=st.integers(1, 24),
       k=st.integers(1, 16), weighted=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_kmeans_init_as_sklearn_property(seed, n, d, k, weighted, dtype):
    """As test_kmeans_init_as_sklearn over random shapes, float32 too. At
    least 20 rows per cluster: with about as many rows as clusters, two
    candidate seeds that are each other's nearest rows leave exactly equal
    potentials, a tie that each library's rounding breaks its own way."""
    _check_kmeans_init_as_sklearn(seed, max(n, 20 * k), d, k, weighted, dtype)
