"""Moments about a shift far from the data (issue 9, defect 7): the pass can
take its moments about an explicit shift (cem_e_step_about, _core.e_step's
shift=), and cem._recentre.needs_recentre says when the default shift (the
means) cancels too much."""
import numpy as np
import pytest

from cem import _core, _reference
from cem._recentre import needs_recentre
from conftest import random_model, write_memmap

COVS = ["full", "tied", "diag", "spherical"]


def far_start(rng, cov, offset, n=2000, d=3):
    """Unit-spread data in two groups, and a model with means at +-offset
    (each row goes wholly to the nearer mean)."""
    X = rng.normal(size=(n, d)) * rng.uniform(1.0, 3.0, size=d) + np.where(
        rng.random(n) < 0.4, -3.0, 3.0)[:, None]
    means = np.array([[-offset] * d, [offset] * d])
    weights = np.array([0.5, 0.5])
    covs = {"full": np.array([np.eye(d)] * 2) * offset ** 2, "tied": np.eye(d) * offset ** 2,
            "diag": np.ones((2, d)) * offset ** 2, "spherical": np.ones(2) * offset ** 2}[cov]
    return X, weights, means, _reference.precision_cholesky(cov, covs)


def exact_covariance(cov, X, resp, k, d):
    """The M-step's covariance with moments taken about the exact new means."""
    stats = _reference.accumulate(cov, np.zeros((k, d)), X, resp)
    centers = stats[2 + k:2 + k + k * d].reshape(k, d) / (stats[2:2 + k, None] + _reference.NK_FLOOR)
    return _reference.m_step(cov, _reference.accumulate(cov, centers, X, resp), centers, 0.0)[2]


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("offset", [1e7, 1e8])
def test_recentred_pass_is_exact_far_from_the_data(rng, cov, offset):
    X, weights, means, prec_chol = far_start(rng, cov, offset)
    k, d = means.shape
    resp = np.empty((len(X), k))
    stats = _core.e_step(cov, weights, means, prec_chol, X, resp=resp)
    truth = exact_covariance(cov, X, resp, k, d)
    try:
        naive = _core.m_step(cov, stats, means, 0.0)[2]
        naive_error = np.abs(naive - truth).max() / np.abs(truth).max()
    except _core.CoreError:
        naive_error = np.inf  # the spurious "not positive definite"
    assert naive_error > 1e-6  # the defect this guards against is real
    assert needs_recentre(stats, means, cov)
    centers = means + stats[2 + k:2 + k + k * d].reshape(k, d) / (
        stats[2:2 + k, None] + _reference.NK_FLOOR)
    resp2 = np.empty_like(resp)
    again = _core.e_step(cov, weights, means, prec_chol, X, resp=resp2, shift=centers)
    np.testing.assert_array_equal(resp2, resp)          # the model decides, not the shift
    assert again[1] == stats[1] and again[0] == stats[0]
    np.testing.assert_array_equal(again[2:2 + k], stats[2:2 + k])
    assert not needs_recentre(again, centers, cov)
    w, m, c, _ = _core.m_step(cov, again, centers, 0.0)
    np.testing.assert_allclose(c, truth, rtol=1e-12, atol=1e-12 * np.abs(truth).max())


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [2, 9])
def test_shift_is_what_the_moments_are_about(rng, cov, d):
    n, k = 700, 3
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0, 2, n)
    np.testing.assert_array_equal(
        _core.e_step(cov, weights, means, prec_chol, X, sw, shift=means.copy()),
        _core.e_step(cov, weights, means, prec_chol, X, sw))
    shift = rng.normal(size=(k, d)) * 5
    resp = np.empty((n, k))
    got = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp, shift=shift)
    want = _reference.accumulate(cov, shift, X, resp, sw)
    np.testing.assert_allclose(got[2:], want[2:], rtol=1e-10, atol=1e-9)
    with pytest.raises(ValueError, match="shift"):
        _core.e_step(cov, weights, means, prec_chol, X, shift=shift[:, :-1].copy())


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 3, 7])
def test_ordinary_steps_never_recentre(rng, cov, d):
    """A step whose means move by a few standard deviations keeps the plain
    pass (and so the bits of every ordinary fit)."""
    n, k = 2000, 3
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = 4.0 * means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) + 1e6
    start = 4.0 * means + 1e6 + rng.normal(size=(k, d)) * 2.0
    stats = _core.e_step(cov, weights, start, prec_chol, X)
    assert not needs_recentre(stats, start, cov)


def test_threshold_is_the_documented_cancellation():
    # one component, one feature: q = (sx/nk)^2 / (sxx/nk)
    k, d = 1, 1
    shift = np.zeros((k, d))
    def stats(q):
        nk, mean_offset = 10.0, 1e4
        sxx = nk * mean_offset ** 2 / q
        return np.array([nk, 0.0, nk, nk * mean_offset, sxx])
    assert needs_recentre(stats(1 - 2.0 ** -11), shift, "diag")
    assert not needs_recentre(stats(1 - 2.0 ** -9), shift, "diag")
    assert not needs_recentre(np.zeros(5), shift, "diag")   # empty: nothing to cancel
    with pytest.raises(ValueError):
        needs_recentre(stats(0.5), shift, "banana")


# --------------------------------------------------------------------------
# The fit itself (issue 9 defect 7 as a user meets it): these failed before
# the EM driver redid a cancelling pass about the data.

def _far_precisions(cov, offset, k, d):
    """far_start's covariances (offset**2 times unit), as precisions_init."""
    p = offset ** -2.0
    return {"full": np.array([np.eye(d) * p] * k), "tied": np.eye(d) * p,
            "diag": np.full((k, d), p), "spherical": np.full(k, p)}[cov]


def _gaussian_mixture():
    sklearn_mixture = pytest.importorskip("sklearn.mixture")
    return sklearn_mixture.GaussianMixture


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("offset", [1e7, 1e8])
def test_one_step_from_far_means_init_is_exact(rng, cov, offset):
    """One EM step from means_init = +-offset on unit-spread data gives the
    covariance scikit-learn gives (at 1e7 cem 0.1 was wrong in the third
    digit, at 1e8 it raised 'ill-defined empirical covariance')."""
    import warnings
    from cem import GMM
    X, weights, means, _ = far_start(rng, cov, offset)
    k, d = means.shape
    kwargs = dict(n_components=k, covariance_type=cov, weights_init=weights, means_init=means,
                  precisions_init=_far_precisions(cov, offset, k, d), max_iter=1, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one iteration does not converge, by design
        ours = GMM(**kwargs).fit(X)
        theirs = _gaussian_mixture()(**kwargs).fit(X)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-9)
    np.testing.assert_allclose(ours.means_, theirs.means_, rtol=1e-12)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, rtol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_warm_start_on_shifted_data_is_exact(rng, cov):
    """A warm-started refit on X + 1e8 (cem 0.1 raised 'ill-defined empirical
    covariance'): the model of X is 1e8 away from every row, so the first
    E-step gives every row to one component; its covariance must then be
    the covariance of X, exactly, whatever the offset."""
    from cem import GMM
    X = np.r_[rng.normal(-3, 1, size=(600, 2)), rng.normal(3, 1.5, size=(400, 2))]
    gmm = GMM(2, covariance_type=cov, random_state=0, warm_start=True, max_iter=1000).fit(X)
    gmm.fit(X + 1e8)
    full = np.cov(X.T, bias=True) + 1e-6 * np.eye(2)
    expected = {"full": full, "tied": full, "diag": np.diag(full),
                "spherical": np.trace(full) / 2}[cov]
    taken = int(np.argmax(gmm.weights_))
    got = gmm.covariances_ if cov == "tied" else gmm.covariances_[taken]
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    np.testing.assert_allclose(gmm.means_[taken], X.mean(axis=0) + 1e8, rtol=1e-15)


@pytest.mark.parametrize("cov", COVS)
def test_statistics_api_and_chunked_fit_recentre_too(rng, cov, tmp_path):
    """sufficient_statistics (map-reduce EM) and a chunked memmap fit take the
    same exact step from far means as the in-memory fit."""
    import warnings
    from cem import GMM
    X, weights, means, _ = far_start(rng, cov, 1e8)
    k, d = means.shape
    kwargs = dict(n_components=k, covariance_type=cov, weights_init=weights, means_init=means,
                  precisions_init=_far_precisions(cov, 1e8, k, d), max_iter=1, tol=0.0)
    mm = write_memmap(tmp_path / "X.f64", X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        in_memory = GMM(**kwargs).fit(X)
        chunked = GMM(**kwargs).fit(mm)
    by_hand = GMM(**kwargs).initialize(X)
    stats = sum(by_hand.sufficient_statistics(part) for part in np.array_split(X, 3))
    by_hand.apply_m_step(stats)
    for other in (chunked, by_hand):
        np.testing.assert_allclose(other.covariances_, in_memory.covariances_, rtol=1e-9)
        np.testing.assert_allclose(other.means_, in_memory.means_, rtol=1e-12)
