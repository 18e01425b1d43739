"""cem.fit_many: every problem's result equals cem.GMM(...).fit on it, bit
for bit; failures stay per problem; bad input raises clear errors."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cem
from cem import GMM, fit_many
from conftest import blobs

COVS = ["full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"]
INITS = ["kmeans", "k-means++", "random", "random_from_data"]


def quiet(fn, *args, **kwargs):
    """fn(*args, **kwargs) with ConvergenceWarning silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        return fn(*args, **kwargs)


def gmm_or_error(X, **params):
    """GMM(**params).fit(X), or the ValueError message it raises."""
    try:
        return quiet(GMM(**params).fit, X)
    except ValueError as exc:
        return str(exc)


def assert_problem_equals(result, p, expected):
    """Problem p of a BatchResult is exactly the GMM (or GMM's error)."""
    if isinstance(expected, str):
        assert result.status[p] != 0
        assert result.messages[p] == expected
        assert np.isnan(result.means[p]).all() and np.isnan(result.lower_bound[p])
        assert not result.converged[p] and result.n_iter[p] == 0
        return
    assert result.status[p] == 0 and result.messages[p] is None, result.messages[p]
    for name, attr in (("weights", "weights_"), ("means", "means_"),
                       ("covariances", "covariances_"),
                       ("precisions_cholesky", "precisions_cholesky_")):
        got, want = getattr(result, name)[p], getattr(expected, attr)
        assert got.dtype == want.dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert result.n_iter[p] == expected.n_iter_
    assert result.converged[p] == expected.converged_
    assert result.lower_bound[p] == expected.lower_bound_


def problems(rng, sizes, d, k=3, dtype=np.float64):
    return [blobs(rng, n=n, d=d, k=k, dtype=dtype) for n in sizes]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 3, 6])
def test_each_problem_equals_gmm_fit(rng, init, cov, d):
    Xs = problems(rng, [40, 130, 40, 75], d)
    params = dict(n_components=3, covariance_type=cov, init_params=init, random_state=11,
                  tol=1e-4, max_iter=60)
    result = quiet(fit_many, Xs, **params, return_models=True)
    for p, X in enumerate(Xs):
        expected = gmm_or_error(X, **params)
        assert_problem_equals(result, p, expected)
        if not isinstance(expected, str):
            assert result.models[p].lower_bounds_ == expected.lower_bounds_


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("random_state", [3, "instance"])
def test_n_init_keeps_the_best_initialisation_as_gmm_does(rng, init, random_state):
    Xs = problems(rng, [40, 90, 40], 2, k=4)
    params = dict(n_components=4, init_params=init, n_init=3, tol=1e-3, max_iter=40)
    states = [random_state] * 2 if random_state != "instance" else \
        [np.random.RandomState(3), np.random.RandomState(3)]
    result = quiet(fit_many, Xs, **params, random_state=states[0], return_models=True)
    for p, X in enumerate(Xs):
        expected = gmm_or_error(X, **params, random_state=states[1])
        assert_problem_equals(result, p, expected)
        assert result.models[p].lower_bounds_ == expected.lower_bounds_
    # max_iter = 0: the last initialisation stands
    result = quiet(fit_many, Xs, **{**params, "max_iter": 0}, random_state=5)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, **{**params, "max_iter": 0},
                                                      random_state=5))


@pytest.mark.parametrize("init", ["k-means++", "random_from_data"])
@pytest.mark.parametrize("d", [1, 2])
def test_tied_from_rows_with_many_components(rng, init, d):
    # the pooled covariance sums over components in numpy's order: pairwise
    # for d = 1 (eight or more components), in sequence for d > 1
    Xs = problems(rng, [70, 90], d, k=4)
    params = dict(n_components=11, covariance_type="tied", init_params=init, random_state=2,
                  max_iter=4)
    result = quiet(fit_many, Xs, **params)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, **params))


@pytest.mark.parametrize("init", INITS)
def test_float32_problems_give_float32_results_equal_to_gmm(rng, init):
    Xs = problems(rng, [60, 90], 2, dtype=np.float32)
    params = dict(n_components=2, init_params=init, random_state=4)
    result = quiet(fit_many, Xs, **params)
    assert result.means.dtype == np.float32 and result.lower_bound.dtype == np.float64
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, **params))


def test_mixed_float32_and_float64_fit_alike_in_float64(rng):
    Xs = problems(rng, [60, 90], 2)
    Xs[0] = Xs[0].astype(np.float32)
    result = quiet(fit_many, Xs, 2, random_state=0, return_models=True)
    assert result.means.dtype == np.float64
    assert result.models[0].means_.dtype == np.float32
    expected = quiet(GMM(2, random_state=0).fit, Xs[0])
    # the same fit: GMM's float32 attributes are the float64 results rounded
    np.testing.assert_array_equal(result.means[0].astype(np.float32), expected.means_)
    np.testing.assert_array_equal(result.models[0].means_, expected.means_)
    assert result.lower_bound[0] == expected.lower_bound_


def test_failing_problems_are_reported_and_the_others_fitted(rng):
    good = problems(rng, [50, 80], 2)
    collapsed = np.repeat([[1.0, 2.0], [3.0, 1.0]], 10, axis=0)  # 2 distinct points, k = 3
    with_nan = good[0].copy()
    with_nan[5, 1] = np.nan
    with_inf = good[1].copy()
    with_inf[0, 0] = np.inf
    Xs = [good[0], collapsed, np.ones((1, 2)), with_nan, np.zeros((0, 2)), good[1],
          good[0][:2], with_inf]
    params = dict(n_components=3, reg_covar=0.0, random_state=0)
    result = quiet(fit_many, Xs, **params)
    assert list(result.ok) == [True, False, False, False, False, True, False, False]
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, **params))
    assert "ill-defined empirical covariance" in result.messages[1]
    assert result.messages[3] == "Input X contains NaN."
    assert "n_samples = 2" in result.messages[6]


def test_a_collapse_during_em_is_reported_per_problem(rng):
    # k-means puts two components on two points; EM then collapses one
    X = np.concatenate([rng.normal(size=(40, 1)), np.full((3, 1), 50.0)])
    Xs = [blobs(rng, n=60, d=1, k=2), X]
    params = dict(n_components=3, reg_covar=0.0, random_state=0, max_iter=50)
    result = quiet(fit_many, Xs, **params)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, **params))
    assert not result.ok.all() and result.ok[0]


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("cov", COVS)
def test_sample_weights_fit_as_gmm_with_sample_weight(rng, init, cov):
    Xs = problems(rng, [40, 60, 40, 50, 30], 2)
    weights = [rng.integers(0, 4, len(X)).astype(float) for X in Xs]
    weights[1] = None                     # unweighted
    weights[3] = np.zeros(50)
    weights[3][7] = 1.0                   # one row carries all the weight
    weights[4] = np.ones(29)              # GMM rejects the length
    params = dict(n_components=3, covariance_type=cov, init_params=init, random_state=2)
    result = quiet(fit_many, Xs, **params, sample_weight=weights)
    for p, X in enumerate(Xs):
        try:
            expected = quiet(GMM(**params).fit, X, sample_weight=weights[p])
        except ValueError as exc:
            expected = str(exc)
        assert_problem_equals(result, p, expected)
    assert "sample_weight.shape" in result.messages[4]
    as_array = quiet(fit_many, np.stack(Xs[:3:2]), **params,
                     sample_weight=np.stack(weights[:3:2]))
    np.testing.assert_array_equal(as_array.means, result.means[:3:2])


def test_malformed_sample_weight_raises(rng):
    Xs = problems(rng, [20, 30], 1)
    with pytest.raises(ValueError, match="sample_weight has 1 entries for 2 problems"):
        fit_many(Xs, 1, sample_weight=[np.ones(20)])
    with pytest.raises(TypeError, match="sample_weight must be None, a list"):
        fit_many(Xs, 1, sample_weight=np.ones(50))
    with pytest.raises(TypeError, match="sample_weight must hold numbers"):
        fit_many(Xs, 1, sample_weight=[np.ones(20), np.array(["a"] * 30)])


@pytest.mark.parametrize("init", INITS)
def test_3d_array_equals_list_including_strided_views(rng, init):
    X3 = np.stack(problems(rng, [50] * 5, 3))
    params = dict(n_components=2, init_params=init, random_state=1)
    from_list = quiet(fit_many, list(X3), **params)
    for view in (X3, np.asfortranarray(X3), np.repeat(X3, 2, axis=1)[:, ::2]):
        result = quiet(fit_many, view, **params)
        for name in ("weights", "means", "covariances", "lower_bound", "n_iter"):
            np.testing.assert_array_equal(getattr(result, name), getattr(from_list, name))
    for p in range(len(X3)):
        assert_problem_equals(from_list, p, gmm_or_error(X3[p], **params))


@pytest.mark.parametrize("init", INITS)
def test_a_random_state_instance_is_drawn_from_problem_after_problem(rng, init):
    Xs = problems(rng, [40, 55, 40], 2)
    Xs.insert(1, np.zeros((1, 2)))  # rejected before drawing, as GMM.fit rejects it
    result = quiet(fit_many, Xs, 2, init_params=init, random_state=np.random.RandomState(8))
    state = np.random.RandomState(8)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, n_components=2, init_params=init,
                                                      random_state=state))
    # None: numpy's global RandomState, as GMM(random_state=None)
    np.random.seed(3)
    result = quiet(fit_many, Xs, 2, init_params=init)
    np.random.seed(3)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, n_components=2, init_params=init))


@pytest.mark.parametrize("init", INITS)
def test_results_are_bit_identical_for_any_number_of_threads(rng, init):
    Xs = problems(rng, rng.integers(20, 120, size=37).tolist(), 2)
    one, two = (quiet(fit_many, Xs, 3, init_params=init, random_state=5, n_threads=t)
                for t in (1, 2))
    for name in ("weights", "means", "covariances", "precisions_cholesky", "lower_bound",
                 "n_iter", "converged", "status"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_large_problems_agree_to_rounding(rng):
    # above 4096 rows GMM.fit adds per-partition statistics: another order
    X = blobs(rng, n=9000, d=2, k=2)
    params = dict(n_components=2, random_state=0, tol=0.0, max_iter=30)
    got = quiet(fit_many, [X], **params)
    want = quiet(GMM(**params).fit, X)
    np.testing.assert_allclose(got.means[0], want.means_, rtol=1e-11)
    np.testing.assert_allclose(got.covariances[0], want.covariances_, rtol=1e-11)
    np.testing.assert_allclose(got.weights[0], want.weights_, rtol=1e-11)
    assert got.lower_bound[0] == pytest.approx(want.lower_bound_, rel=1e-12)


def test_models_are_fitted_gmms(rng):
    Xs = problems(rng, [60, 80], 2)
    Xs.append(np.zeros((1, 2)))
    result = quiet(fit_many, Xs, 2, covariance_type="diag", random_state=0, return_models=True)
    assert result.models[2] is None
    for p in range(2):
        model, expected = result.models[p], quiet(GMM(2, covariance_type="diag",
                                                      random_state=0).fit, Xs[p])
        for attr in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
            np.testing.assert_array_equal(getattr(model, attr), getattr(expected, attr))
        for attr in ("converged_", "n_iter_", "lower_bound_", "lower_bounds_", "n_features_in_"):
            assert getattr(model, attr) == getattr(expected, attr)
        assert model.get_params() == expected.get_params()
        np.testing.assert_array_equal(model.predict(Xs[p]), expected.predict(Xs[p]))
        assert model.score(Xs[p]) == expected.score(Xs[p])
    assert quiet(fit_many, Xs, 2).models is None


def test_max_iter_zero_keeps_the_initial_model(rng):
    Xs = problems(rng, [50, 60], 2)
    result = fit_many(Xs, 2, max_iter=0, random_state=0, return_models=True)
    for p, X in enumerate(Xs):
        assert_problem_equals(result, p, gmm_or_error(X, n_components=2, max_iter=0,
                                                      random_state=0))
        assert result.models[p].lower_bounds_ == []


def test_unconverged_problems_warn_once(rng):
    Xs = problems(rng, [50, 60, 70], 2)
    with pytest.warns(cem.ConvergenceWarning, match="3 of 3 fitted problems did not converge"):
        result = fit_many(Xs, 2, tol=0.0, max_iter=3, random_state=0)
    assert not result.converged.any() and (result.n_iter == 3).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_many(Xs, 2, random_state=0).converged.all()


@pytest.mark.parametrize("Xs, exc, match", [
    ({"a": np.zeros((3, 1))}, TypeError, "list of 2-D arrays or a 3-D array"),
    (5, TypeError, "list of 2-D arrays or a 3-D array"),
    (np.zeros((4, 10)), ValueError, r"got a 2-D array\. For P problems of 1-D data"),
    (np.zeros((2, 3, 4, 1)), ValueError, "got a 4-D array"),
    ([], ValueError, "no problems"),
    (np.zeros((0, 5, 2)), ValueError, "no problems"),
    ([np.zeros((5, 2)), np.zeros(5)], ValueError, r"Xs\[1\] must be a 2-D array.*reshape"),
    ([np.zeros((5, 2)), np.zeros((5, 3))], ValueError, r"Xs\[1\] has 3 features, but Xs\[0\]"),
    ([np.zeros((5, 0))], ValueError, "0 features"),
    ([np.array([["a", "b"]] * 4)], TypeError, r"Xs\[0\] must hold numbers"),
    ([np.zeros((5, 2), dtype=complex)], TypeError, "complex"),
    ([np.zeros((5, 2)), "abc"], TypeError, r"Xs\[1\] must be array-like, got str"),
    ([np.zeros((5, 2)), None], TypeError, r"Xs\[1\] must be array-like"),
    ([np.array([[1.0, "x"]] * 4, dtype=object)], ValueError, r"Xs\[0\] could not be converted"),
])
def test_malformed_batches_raise_clear_errors(Xs, exc, match):
    with pytest.raises(exc, match=match):
        fit_many(Xs, 1)


@pytest.mark.parametrize("params, exc, match", [
    (dict(n_components=0), ValueError, "'n_components' parameter"),
    (dict(n_components=2.5), TypeError, "'n_components' parameter"),
    (dict(covariance_type="round"), ValueError, "'covariance_type' parameter"),
    (dict(init_params="k-medians"), ValueError, "'init_params' parameter"),
    (dict(tol=-1.0), ValueError, "'tol' parameter"),
    (dict(max_iter=-1), ValueError, "'max_iter' parameter"),
    (dict(n_threads=0), ValueError, "'n_threads' parameter"),
    (dict(random_state="seed"), ValueError, "'random_state' parameter of GMM must be"),
    (dict(n_init=0), ValueError, "'n_init' parameter"),
    (dict(return_models="yes"), TypeError, "return_models must be a bool"),
])
def test_bad_parameters_raise_as_gmm_does(rng, params, exc, match):
    with pytest.raises(exc, match=match):
        fit_many([blobs(rng, n=20, d=1, k=1)], **{"n_components": 1, **params})


def test_integer_object_and_dataframe_problems_are_accepted(rng):
    pd = pytest.importorskip("pandas")
    X = rng.integers(0, 20, size=(60, 2))
    result = quiet(fit_many, [X, pd.DataFrame(X.astype(float), columns=["a", "b"]),
                              X.astype(object)], 2, random_state=0)
    expected = quiet(GMM(2, random_state=0).fit, X)
    for p in range(3):
        assert_problem_equals(result, p, expected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 32 - 1), n_problems=st.integers(1, 4),
       d=st.integers(1, 4), k=st.integers(1, 4), cov=st.sampled_from(COVS),
       init=st.sampled_from(INITS), float32=st.booleans(), strided=st.booleans(),
       max_iter=st.integers(0, 30), n_init=st.integers(1, 2), weighted=st.booleans())
def test_property_equal_to_gmm_fit(seed, n_problems, d, k, cov, init, float32, strided,
                                   max_iter, n_init, weighted):
    rng = np.random.default_rng(seed)
    dtype = np.float32 if float32 else np.float64
    Xs = []
    for _ in range(n_problems):
        n = int(rng.integers(1, 50))
        X = blobs(rng, n=2 * n if strided else n, d=d, k=max(k, 1), dtype=dtype)
        Xs.append(X[::2] if strided else X)  # row-strided views
    params = dict(n_components=k, covariance_type=cov, init_params=init, n_init=n_init,
                  random_state=int(rng.integers(1000)), max_iter=max_iter,
                  reg_covar=float(rng.choice([0.0, 1e-6])))
    weights = [rng.integers(0, 3, len(X)).astype(float) for X in Xs] if weighted else None
    result = quiet(fit_many, Xs, **params, sample_weight=weights)
    for p, X in enumerate(Xs):
        try:
            expected = quiet(GMM(**params).fit, X, sample_weight=weights and weights[p])
        except ValueError as exc:
            expected = str(exc)
        assert_problem_equals(result, p, expected)
