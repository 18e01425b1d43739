"""Bad input gets a clear exception, never a crash, a hang or NaN parameters."""
import numpy as np
import pytest

import cem
from cem import GMM
from conftest import blobs


@pytest.fixture
def X(rng):
    return blobs(rng, n=200, d=2, k=2)


@pytest.fixture
def fitted(X):
    return GMM(2, random_state=0).fit(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_X(X, bad):
    X = X.copy()
    X[5, 1] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        GMM(2).fit(X)


def test_empty_one_row_and_1d_X(X):
    with pytest.raises(ValueError, match="0 sample"):
        GMM(1).fit(np.empty((0, 2)))
    with pytest.raises(ValueError, match="minimum of 2"):
        GMM(1).fit(X[:1])
    with pytest.raises(ValueError, match="0 feature"):
        GMM(1).fit(np.empty((5, 0)))
    with pytest.raises(ValueError, match="Reshape your data"):
        GMM(1).fit(X[:, 0])
    with pytest.raises(ValueError, match="2D"):
        GMM(1).fit(X[None])


def test_unsupported_dtypes():
    with pytest.raises(TypeError, match="complex"):
        GMM(1).fit(np.ones((5, 2), dtype=complex))
    with pytest.raises(TypeError, match="numbers"):
        GMM(1).fit(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="converted"):
        GMM(1).fit(np.array([[1, "x"], [2, None]], dtype=object))
    with pytest.raises(TypeError, match="array-like"):
        GMM(1).fit(object())


def test_fewer_samples_than_components(X):
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GMM(5).fit(X[:4])


def test_wrong_number_of_features_at_predict(fitted, X):
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(ValueError, match="expecting 2 features"):
            getattr(fitted, method)(np.ones((3, 3)))


def test_methods_before_fit(X):
    for method in ("predict", "predict_proba", "score_samples", "score", "bic", "aic"):
        with pytest.raises(cem.NotFittedError, match="^This GMM instance is not fitted yet. Call "
                           "'fit' with appropriate arguments before using this estimator.$"):
            getattr(GMM(2), method)(X)
    with pytest.raises(cem.NotFittedError):
        GMM(2).sample(3)


@pytest.mark.parametrize("params,exc", [
    (dict(n_components=0), ValueError), (dict(n_components=1.5), TypeError),
    (dict(n_components=True), TypeError), (dict(covariance_type="banana"), ValueError),
    (dict(tol=-1.0), ValueError), (dict(tol="x"), TypeError), (dict(tol=np.nan), ValueError),
    (dict(reg_covar=-1e-6), ValueError), (dict(max_iter=-1), ValueError),
    (dict(n_init=0), ValueError), (dict(init_params="kmeans++"), ValueError),
    (dict(verbose_interval=0), ValueError), (dict(n_threads=0), ValueError),
    (dict(n_threads=1.0), ValueError), (dict(random_state="seed"), ValueError),
    (dict(warm_start="yes"), TypeError), (dict(verbose=-1), ValueError),
])
def test_bad_parameters(X, params, exc):
    with pytest.raises(exc, match=f"^The '{list(params)[0]}' parameter of GMM must be .* Got .* "
                       "instead.$") as info:
        GMM(**params).fit(X)
    # scikit-learn's InvalidParameterError is both, so either except clause catches it
    assert isinstance(info.value, cem.InvalidParameterError)
    assert isinstance(info.value, ValueError) and isinstance(info.value, TypeError)


@pytest.mark.parametrize("method", ["fit", "fit_predict", "partial_fit", "initialize"])
def test_bad_parameters_raise_before_anything_changes(X, method):
    gmm = GMM(2, random_state=0).fit(X)
    before = dict(gmm.__dict__)
    gmm.set_params(means_init=3.0)  # scikit-learn: an array-like or None
    with pytest.raises(cem.InvalidParameterError, match="'means_init' parameter of GMM must be "
                       "an array-like or None. Got 3.0 instead."):
        getattr(gmm, method)(X)
    assert all(gmm.__dict__[k] is before[k] for k in before if k != "means_init")


def test_bad_initial_parameters(X):
    with pytest.raises(ValueError, match="shape"):
        GMM(2, weights_init=[1.0]).fit(X)
    with pytest.raises(ValueError, match="range"):
        GMM(2, weights_init=[1.5, -0.5]).fit(X)
    with pytest.raises(ValueError, match="normalized"):
        GMM(2, weights_init=[0.3, 0.3]).fit(X)
    with pytest.raises(ValueError, match="shape"):
        GMM(2, means_init=np.zeros((2, 3))).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        GMM(2, means_init=[[0, np.nan], [1, 1]]).fit(X)
    with pytest.raises(ValueError, match="shape"):
        GMM(2, precisions_init=np.ones((2, 2))).fit(X)
    with pytest.raises(ValueError, match="symmetric, positive-definite"):
        GMM(2, precisions_init=np.array([[[1, 2], [2, 1]], np.eye(2)])).fit(X)
    with pytest.raises(ValueError, match="symmetric, positive-definite"):
        GMM(2, covariance_type="tied", precisions_init=[[1, 0.5], [0, 1]]).fit(X)
    with pytest.raises(ValueError, match="positive"):
        GMM(2, covariance_type="diag", precisions_init=[[1, 0], [1, 1]]).fit(X)
    with pytest.raises(ValueError, match="positive"):
        GMM(2, covariance_type="spherical", precisions_init=[1, -1]).fit(X)


def test_bad_sample_weight(X):
    with pytest.raises(ValueError, match="shape"):
        GMM(2).fit(X, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="Negative"):
        GMM(2).fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match="NaN"):
        GMM(2).fit(X, sample_weight=np.full(len(X), np.nan))
    with pytest.raises(ValueError, match="sums to zero"):
        GMM(2).fit(X, sample_weight=np.zeros(len(X)))
    with pytest.raises(TypeError, match="numbers"):
        GMM(2).fit(X, sample_weight=np.array(["a"] * len(X)))


def test_collapsed_data_raises_scikit_learns_message():
    X = np.zeros((10, 2))
    X[5:] = 1.0
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GMM(2, reg_covar=0.0, random_state=0).fit(X)
    with pytest.raises(ValueError, match="passing float64"):
        GMM(2, reg_covar=0.0, random_state=0).fit(X.astype(np.float32))


def test_collapsed_data_with_reg_covar_fits_finite():
    X = np.repeat([[0.0, 0.0], [1.0, 1.0]], 5, axis=0)
    gmm = GMM(2, random_state=0).fit(X)
    assert np.isfinite(gmm.covariances_).all() and np.isfinite(gmm.means_).all()


def test_sample_bad_count(fitted):
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


def test_set_params_unknown_name():
    with pytest.raises(ValueError, match="Invalid parameter"):
        GMM().set_params(n_clusters=3)


@pytest.mark.parametrize("seed", range(10))
def test_random_from_data_never_starts_a_component_at_a_zero_weight_row(X, seed):
    # a zero weight drops a row; a component started there had no weight and
    # the first M-step failed ("no positive weight")
    w = np.zeros(len(X))
    w[::10] = 1.0
    gmm = GMM(3, init_params="random_from_data", random_state=seed).fit(X, sample_weight=w)
    assert np.isfinite(gmm.means_).all()
    with pytest.raises(ValueError, match="random_from_data needs n_components = 3 rows of "
                       "positive sample_weight, but only 2 have one"):
        GMM(3, init_params="random_from_data").fit(X, sample_weight=np.r_[1.0, 1.0,
                                                                           np.zeros(len(X) - 2)])
