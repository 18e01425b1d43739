"""The two shared-variance covariance types, 'tied_diag' (mclust EEI: one
diagonal covariance for all components) and 'tied_spherical' (EII: one
variance): what scikit-learn has no twin for. (The C pass and M-step are
checked against cem._reference with the other types in test_kernels.py and
test_properties.py, the batch API against GMM.fit in test_batch.py, chunked
and Dask fits in test_large_data.py and test_sources.py, the prior in
test_prior.py.)"""
import warnings

import numpy as np
import pytest

import cem
from cem import GMM, GMMSelection
from cem._shapes import n_parameters

SHARED = ("tied_diag", "tied_spherical")
MEANS = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 2.0], [0.0, 7.0, -3.0]])


def shared_data(rng, covariance_type, n=6000, weights=(0.2, 0.3, 0.5)):
    """Rows of a 3-component mixture with one shared diagonal covariance
    (variances 0.5, 2, 1) or one shared variance (1.5); (X, variances)."""
    variances = np.array([0.5, 2.0, 1.0]) if covariance_type == "tied_diag" else np.array([1.5])
    labels = rng.choice(3, size=n, p=weights)
    X = MEANS[labels] + rng.normal(size=(n, 3)) * np.sqrt(variances)
    return X, variances


@pytest.mark.parametrize("covariance_type", SHARED)
def test_fit_recovers_the_generating_model(covariance_type):
    rng = np.random.default_rng(0)
    X, variances = shared_data(rng, covariance_type)
    gmm = GMM(3, covariance_type=covariance_type, random_state=0, tol=1e-8).fit(X)
    order = np.argsort(gmm.means_[:, 0] + 10 * gmm.means_[:, 1])
    assert gmm.covariances_.shape == variances.shape
    np.testing.assert_allclose(gmm.means_[order], MEANS, atol=0.1)
    np.testing.assert_allclose(gmm.weights_[order], [0.2, 0.3, 0.5], atol=0.02)
    np.testing.assert_allclose(gmm.covariances_, variances, rtol=0.06)
    np.testing.assert_allclose(gmm.precisions_, 1 / gmm.covariances_, rtol=1e-12)
    np.testing.assert_allclose(gmm.precisions_cholesky_ ** 2, gmm.precisions_, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", SHARED)
def test_shared_fit_equals_the_unshared_fit_with_equal_variances(covariance_type):
    """An EM step of tied_diag from given parameters is a diag E-step (the
    shared factor copied to every component) and the diag statistics pooled:
    its means and weights after one iteration equal diag's, and its
    variances are the count-weighted mean of diag's (reg_covar 0)."""
    rng = np.random.default_rng(1)
    X, _ = shared_data(rng, covariance_type, n=500)
    shared = np.array([0.8, 1.1, 0.9]) if covariance_type == "tied_diag" else np.array([1.2])
    own_type = "diag" if covariance_type == "tied_diag" else "spherical"
    own = np.tile(shared, (3, 1)) if own_type == "diag" else np.repeat(shared, 3)
    init = dict(weights_init=[0.3, 0.3, 0.4], means_init=MEANS + 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        a = GMM(3, covariance_type=covariance_type, precisions_init=1 / shared, max_iter=1,
                reg_covar=0.0, **init).fit(X)
        b = GMM(3, covariance_type=own_type, precisions_init=1 / own, max_iter=1, reg_covar=0.0,
                **init).fit(X)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-13)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-13)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-14)
    pooled = (b.weights_[:, None] * np.atleast_2d(b.covariances_.T).T).sum(axis=0)
    np.testing.assert_allclose(a.covariances_, pooled, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", SHARED)
def test_sample_draws_with_the_shared_covariance(covariance_type):
    rng = np.random.default_rng(2)
    X, variances = shared_data(rng, covariance_type, n=3000)
    gmm = GMM(3, covariance_type=covariance_type, random_state=3).fit(X)
    S, y = gmm.sample(60000)
    assert S.shape == (60000, 3) and y.shape == (60000,)
    for c in range(3):
        rows = S[y == c]
        assert len(rows) == pytest.approx(60000 * gmm.weights_[c], rel=0.05)
        np.testing.assert_allclose(rows.mean(axis=0), gmm.means_[c], atol=0.05)
        want = np.broadcast_to(gmm.covariances_, (3,))
        np.testing.assert_allclose(np.cov(rows.T), np.diag(want), atol=0.08)


@pytest.mark.parametrize("covariance_type, n_cov", [("tied_diag", 3), ("tied_spherical", 1)])
def test_bic_counts_mclusts_parameters(covariance_type, n_cov):
    """mclust's EEI has d covariance parameters, EII one; plus k d means and
    k - 1 weights."""
    rng = np.random.default_rng(4)
    X, _ = shared_data(rng, covariance_type, n=400)
    gmm = GMM(3, covariance_type=covariance_type, random_state=0).fit(X)
    p = n_cov + 3 * 3 + 2
    assert n_parameters(covariance_type, 3, 3) == p
    log_likelihood = gmm.score(X) * len(X)
    assert gmm.bic(X) == pytest.approx(-2 * log_likelihood + p * np.log(len(X)), rel=1e-12)
    assert gmm.aic(X) == pytest.approx(-2 * log_likelihood + 2 * p, rel=1e-12)


@pytest.mark.parametrize("covariance_type, seed, n_components",
                         [("tied_spherical", 5, range(1, 6)), ("tied_diag", 6, range(2, 5))],
                         ids=["tied_spherical", "tied_diag"])
def test_selection_picks_the_shared_type_of_data_made_that_way(covariance_type, seed,
                                                               n_components):
    rng = np.random.default_rng(seed)
    X, _ = shared_data(rng, covariance_type, n=1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        selection = GMMSelection(n_components=n_components, random_state=0).fit(X)
    assert set(selection.results_["covariance_type"]) == set(cem._validation.COVARIANCE_TYPES)
    best = selection.best_estimator_
    assert (best.n_components, best.covariance_type) == (3, covariance_type)


@pytest.mark.parametrize("covariance_type", SHARED)
def test_partial_fit_continues_and_approaches_the_batch_fit(covariance_type):
    rng = np.random.default_rng(7)
    X, variances = shared_data(rng, covariance_type, n=20000)
    gmm = GMM(3, covariance_type=covariance_type, random_state=0)
    for chunk in np.array_split(X, 20):
        gmm.partial_fit(chunk)
    assert gmm.covariances_.shape == variances.shape
    order = np.argsort(gmm.means_[:, 0] + 10 * gmm.means_[:, 1])
    np.testing.assert_allclose(gmm.means_[order], MEANS, atol=0.15)
    np.testing.assert_allclose(gmm.covariances_, variances, rtol=0.1)


@pytest.mark.parametrize("covariance_type", SHARED)
def test_model_statistics_give_the_parameters_back(covariance_type):
    """partial_fit's summary of a fitted model: its M-step is the model."""
    from cem._online import model_statistics
    from cem._params import Parameters, m_step
    rng = np.random.default_rng(8)
    X, _ = shared_data(rng, covariance_type, n=600)
    gmm = GMM(3, covariance_type=covariance_type, random_state=0).fit(X)
    params = Parameters(gmm.weights_, gmm.means_, gmm.covariances_, gmm.precisions_cholesky_)
    stats = model_statistics(params, covariance_type, gmm.reg_covar)
    again = m_step(covariance_type, stats.values, stats.shift, gmm.reg_covar, np.float64)
    for got, want in zip(again, params):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("init_params", ["random_from_data", "k-means++"])
def test_one_row_per_component_init_pools_as_tied(init_params):
    """The documented analogue of scikit-learn's tied pooling for
    one-row-per-component initialisations: tied_diag starts from the
    diagonal of tied's first covariance, tied_spherical from its trace / d
    (both minus reg_covar once, plus it once)."""
    rng = np.random.default_rng(9)
    X, _ = shared_data(rng, "tied_diag", n=300)
    w = rng.uniform(0.5, 2.0, size=len(X))
    first = {t: GMM(3, covariance_type=t, init_params=init_params, random_state=4,
                    reg_covar=1e-6).initialize(X, sample_weight=w).covariances_
             for t in ("tied", "tied_diag", "tied_spherical")}
    np.testing.assert_allclose(first["tied_diag"], np.diag(first["tied"]), rtol=1e-13)
    want = (np.trace(first["tied"]) - 3e-6) / 3 + 1e-6
    np.testing.assert_allclose(first["tied_spherical"], [want], rtol=1e-13)
    assert first["tied_spherical"][0] > 10  # wide (pooled over all rows), not reg_covar


@pytest.mark.parametrize("covariance_type", SHARED)
def test_precisions_init_of_the_wrong_shape_is_named(covariance_type):
    X = np.random.default_rng(10).normal(size=(50, 3))
    bad = np.ones((3, 3)) if covariance_type == "tied_diag" else np.ones(3)
    with pytest.raises(ValueError, match=f"{covariance_type} precision"):
        GMM(3, covariance_type=covariance_type, precisions_init=bad).fit(X)
    with pytest.raises(ValueError, match="positive"):
        GMM(3, covariance_type=covariance_type,
            precisions_init=-np.ones(3 if covariance_type == "tied_diag" else 1)).fit(X)
