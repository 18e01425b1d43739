"""Moments about a shift far from the data (issue 9, defect 7): the pass can
take its moments about an explicit shift (cem_e_step_about, _core.e_step's
shift=), and cem._recentre.needs_recentre says when the default shift (the
means) cancels too much."""
import numpy as np
import pytest

from cem import _core, _reference
from cem._recentre import needs_recentre
from conftest import random_model

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
