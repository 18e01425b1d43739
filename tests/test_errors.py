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
    with pytest.raises(ValueError, match="dim 3, while dim <= 2 is required by GMM"):
        GMM(1).fit(X[None])
    with pytest.raises(ValueError, match="got scalar array"):
        GMM(1).fit(3.0)


def test_unsupported_dtypes():
    # scikit-learn's check_array: its complex message, numpy's own conversion errors
    with pytest.raises(ValueError, match="^Complex data not supported\n"):
        GMM(1).fit(np.ones((5, 2), dtype=complex))
    with pytest.raises(ValueError, match="could not convert string to float: np.str_\\('a'\\)"):
        GMM(1).fit(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(ValueError, match="^could not convert string to float: 'x'$"):
        GMM(1).fit(np.array([[1, "x"], [2, None]], dtype=object))
    with pytest.raises(TypeError, match="^float\\(\\) argument must be a string or a real number, "
                       "not 'dict'$"):
        GMM(1).fit(np.array([[1.0, {"a": 1}], [2.0, 3.0]], dtype=object))
    with pytest.raises(TypeError, match="not 'object'"):
        GMM(1).fit(object())


def test_strings_and_objects_that_are_numbers_convert_as_in_scikit_learn():
    X = np.array([["1", "2"], ["3", "4"], ["5", "7"]])
    expected = GMM(1).fit(X.astype(float))
    for Xs in (X, X.astype(object), X.astype(bytes)):
        np.testing.assert_array_equal(GMM(1).fit(Xs).means_, expected.means_)


def test_infinity_message_names_the_dtype(X):
    X = X.astype(np.float32)
    X[3, 0] = np.inf
    with pytest.raises(ValueError, match=r"^Input X contains infinity or a value too large for "
                       r"dtype\('float32'\)\.$"):
        GMM(2).fit(X)


@pytest.mark.parametrize("fmt", ["csr_matrix", "csr_array", "csc_matrix", "coo_matrix",
                                 "coo_array", "dok_matrix", "lil_matrix", "bsr_array"])
def test_sparse_X_is_refused_with_a_clear_type_error(X, fitted, fmt):
    sparse = pytest.importorskip("scipy.sparse")
    Xs = getattr(sparse, fmt)(X)
    message = ("^Sparse data was passed for X, but dense data is required. Use '.toarray\\(\\)' "
               "to convert to a dense numpy array.$")
    before = dict(fitted.__dict__)
    for call in (GMM(2).fit, GMM(2).fit_predict, GMM(2).initialize, GMM(2).partial_fit,
                 fitted.predict, fitted.predict_proba, fitted.score_samples, fitted.score,
                 fitted.bic, fitted.aic, fitted.sufficient_statistics, fitted.fit):
        with pytest.raises(TypeError, match=message):
            call(Xs)
    assert fitted.__dict__.keys() == before.keys()
    assert all(fitted.__dict__[k] is before[k] for k in before)


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
    names = sorted(GMM().get_params())
    with pytest.raises(ValueError) as info:
        GMM(3).set_params(n_clusters=3)
    assert str(info.value) == ("Invalid parameter 'n_clusters' for estimator GMM(n_components=3). "
                               f"Valid parameters are: {names!r}.")


def test_float32_weights_init_summing_to_one_in_float32_is_accepted(X):
    weights = np.array([0.1, 0.9], dtype=np.float32)  # sums to 1 - 2.2e-8 in float64
    assert abs(weights.astype(np.float64).sum() - 1.0) > 1e-8
    gmm = GMM(2, weights_init=weights, random_state=0).fit(X)
    assert np.isfinite(gmm.weights_).all()
    with pytest.raises(ValueError, match="normalized"):  # float64 weights keep float64's tolerance
        GMM(2, weights_init=weights.astype(np.float64)).fit(X)
    with pytest.raises(ValueError, match="normalized"):  # and float32's is still a tolerance
        GMM(2, weights_init=np.array([0.1, 0.9001], dtype=np.float32)).fit(X)


METHODS_TAKING_X = ("predict", "predict_proba", "score_samples", "score", "bic", "aic",
                    "sufficient_statistics")


@pytest.mark.parametrize("method", METHODS_TAKING_X)
def test_dataframe_fit_then_array_warns_as_scikit_learn(X, method):
    pd = pytest.importorskip("pandas")
    gmm = GMM(2, random_state=0).fit(pd.DataFrame(X, columns=["a", "b"]))
    with pytest.warns(UserWarning, match="^X does not have valid feature names, but GMM was "
                      "fitted with feature names$") as record:
        getattr(gmm, method)(X)
    assert [w.filename for w in record] == [__file__]  # points at the caller's line


@pytest.mark.parametrize("method", METHODS_TAKING_X)
def test_array_fit_then_dataframe_warns_as_scikit_learn(X, method):
    pd = pytest.importorskip("pandas")
    gmm = GMM(2, random_state=0).fit(X)
    with pytest.warns(UserWarning, match="^X has feature names, but GMM was fitted without "
                      "feature names$"):
        getattr(gmm, method)(pd.DataFrame(X, columns=["a", "b"]))


def test_partial_fit_checks_names_after_its_first_call(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b"])
    gmm = GMM(2, random_state=0).partial_fit(df)
    with pytest.warns(UserWarning, match="^X does not have valid feature names"):
        gmm.partial_fit(X)
    with pytest.raises(ValueError, match="same order"):
        gmm.partial_fit(df[["b", "a"]])
    gmm = GMM(2, random_state=0).partial_fit(X)
    with pytest.warns(UserWarning, match="^X has feature names, but GMM was fitted without"):
        gmm.partial_fit(df)


def test_matching_names_or_no_names_do_not_warn(X):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(X, columns=["a", "b"])
    GMM(2, random_state=0).fit(df).predict(df)
    GMM(2, random_state=0).fit(X).predict(X)
    GMM(2, random_state=0).fit(pd.DataFrame(X)).predict(X)  # non-string names are no names


def test_feature_name_mismatch_message_is_scikit_learns(X):
    pd = pytest.importorskip("pandas")
    gmm = GMM(2, random_state=0).fit(pd.DataFrame(X, columns=["a", "b"]))
    head = "The feature names should match those that were passed during fit.\n"
    cases = [(["b", "a"], "Feature names must be in the same order as they were in fit.\n"),
             (["a", "c"], "Feature names unseen at fit time:\n- c\n"
                          "Feature names seen at fit time, yet now missing:\n- b\n"),
             (["a"], "Feature names seen at fit time, yet now missing:\n- b\n")]
    for columns, tail in cases:
        df = pd.DataFrame(X[:, :len(columns)], columns=columns)
        with pytest.raises(ValueError) as info:
            gmm.predict(df)
        assert str(info.value) == head + tail


def test_mixed_type_column_names_raise_scikit_learns_type_error(X):
    pd = pytest.importorskip("pandas")
    with pytest.raises(TypeError, match=r"^Feature names are only supported if all input features "
                       r"have string names, but your input has \['int', 'str'\] as feature name"):
        GMM(2).fit(pd.DataFrame(X, columns=["a", 1]))


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


@pytest.mark.parametrize("method", ["fit", "fit_predict"])
def test_convergence_warning_points_at_the_callers_line(X, method):
    with pytest.warns(cem.ConvergenceWarning) as record:
        getattr(GMM(2, max_iter=1, tol=0.0, random_state=0), method)(X)
    assert [w.filename for w in record] == [__file__]
