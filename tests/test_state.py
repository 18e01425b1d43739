"""The estimator's state: a call that raises leaves it exactly as it was;
partial_fit continues a fitted model; warm starts, thread counts and the
scale of sample weights (issue 9, defects 5, 9 and 11)."""
import copy
import warnings

import numpy as np
import pytest

import cem
from cem import GMM, SufficientStatistics
from cem._online import OnlineEM
from cem._params import m_step
from conftest import blobs

COVS = ["full", "tied", "diag", "spherical"]


# ---------------------------------------------------------------------------
def _same(a, b):
    """Deep equality of attribute values: arrays by dtype and bits, the
    online state and statistics field by field."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
    if isinstance(a, (OnlineEM, SufficientStatistics)):
        return type(a) is type(b) and all(_same(getattr(a, f), getattr(b, f))
                                          for f in type(a).__slots__)
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and (a == b or (a != a and b != b))


def assert_unchanged(before, gmm):
    after = gmm.__dict__
    assert sorted(before) == sorted(after)
    changed = [name for name in before if not _same(before[name], after[name])]
    assert not changed, f"attributes changed by a call that raised: {changed}"


def raises_and_leaves_unchanged(gmm, call, exc=ValueError, match=None):
    before = copy.deepcopy(gmm.__dict__)
    with pytest.raises(exc, match=match):
        call()
    assert_unchanged(before, gmm)


def test_the_state_comparison_sees_a_change(rng):
    X = blobs(rng, n=200, d=2, k=2)
    gmm = GMM(2, random_state=0).fit(X)
    before = copy.deepcopy(gmm.__dict__)
    gmm.partial_fit(X[:50])
    with pytest.raises(AssertionError):
        assert_unchanged(before, gmm)


# ---------------------------------------------------------------------------
# fit, initialize, apply_m_step, set_params
def _fitted(rng, cov="full", **kwargs):
    X = blobs(rng, n=400, d=3, k=3)
    return X, GMM(3, covariance_type=cov, random_state=0, **kwargs).fit(X)


@pytest.mark.parametrize("cov", COVS)
def test_fit_ill_defined_mid_fit_changes_nothing(rng, cov):
    X, gmm = _fitted(rng, cov)
    # A component alone on one far point: its covariance collapses at the
    # first M-step after the (user-given) initialisation.
    bad = np.vstack([X, [[100.0, 100.0, 100.0]]])
    k, d = 3, 3
    precisions = {"full": np.tile(np.eye(d), (k, 1, 1)), "tied": np.eye(d),
                  "diag": np.ones((k, d)), "spherical": np.ones(k)}[cov]
    gmm.set_params(reg_covar=0.0, weights_init=np.full(k, 1 / k),
                   means_init=np.vstack([X[:2], [[100.0, 100.0, 100.0]]]),
                   precisions_init=precisions)
    if cov == "tied":  # pooled: one point cannot collapse it; collapse all rows instead
        bad = np.repeat(X[:1], 50, axis=0)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(bad), match="ill-defined|M-step")


@pytest.mark.parametrize("make_bad", [
    lambda X: np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X),
    lambda X: X[:1],
    lambda X: X.astype(complex),
], ids=["nan", "one-row", "complex"])
@pytest.mark.parametrize("warm_start", [False, True])
def test_fit_on_bad_X_changes_nothing(rng, make_bad, warm_start):
    X, gmm = _fitted(rng, warm_start=warm_start)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(make_bad(X)), (ValueError, TypeError))


def test_warm_start_fit_with_other_n_features_changes_nothing(rng):
    X, gmm = _fitted(rng, warm_start=True)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X[:, :2]), match="features")


@pytest.mark.parametrize("params", [dict(n_components=0), dict(tol=-1.0),
                                    dict(covariance_type="blue"), dict(n_threads=0),
                                    dict(means_init=np.zeros((2, 3)))])
def test_set_params_then_fit_with_bad_params_changes_nothing(rng, params):
    X, gmm = _fitted(rng)
    gmm.set_params(**params)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X), (ValueError, TypeError))


def test_fit_with_bad_sample_weight_changes_nothing(rng):
    X, gmm = _fitted(rng)
    for w in (np.ones(3), -np.ones(len(X)), np.full(len(X), np.nan), np.zeros(len(X))):
        raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X, sample_weight=w))


def test_convergence_warning_as_error_changes_nothing(rng):
    X, gmm = _fitted(rng)
    gmm.set_params(max_iter=1, tol=0.0, random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cem.ConvergenceWarning)
        raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X), cem.ConvergenceWarning)


def test_set_params_with_an_unknown_name_sets_nothing(rng):
    _, gmm = _fitted(rng)
    before = copy.deepcopy(gmm.__dict__)
    with pytest.raises(ValueError, match="Invalid parameter"):
        gmm.set_params(n_components=5, no_such_param=1)
    assert_unchanged(before, gmm)
    assert gmm.n_components == 3


def test_initialize_that_raises_changes_nothing(rng):
    X, gmm = _fitted(rng)
    raises_and_leaves_unchanged(gmm, lambda: gmm.initialize(X[:, :2] * np.nan))
    gmm.set_params(reg_covar=0.0, init_params="random_from_data")
    raises_and_leaves_unchanged(gmm, lambda: gmm.initialize(np.ones((20, 3))),
                                match="ill-defined|M-step")


@pytest.mark.parametrize("cov", COVS)
def test_apply_m_step_that_raises_changes_nothing(rng, cov):
    X, gmm = _fitted(rng, cov)
    stats = gmm.sufficient_statistics(X)
    k, d = gmm.means_.shape
    values = stats.values.copy()
    values[2 + k + k * d:] = 0.0  # no spread at all: with reg_covar = 0, singular
    gmm.set_params(reg_covar=0.0)
    bad = SufficientStatistics(cov, stats.shift, values)
    raises_and_leaves_unchanged(gmm, lambda: gmm.apply_m_step(bad), match="ill-defined")
    raises_and_leaves_unchanged(gmm, lambda: gmm.apply_m_step(stats.values), TypeError)


@pytest.mark.parametrize("loop", ["python", "c"])
def test_interrupted_fit_and_partial_fit_change_nothing(rng, monkeypatch, loop):
    # Ctrl-C arrives as a KeyboardInterrupt out of a pass over the data: of
    # the Python EM loop, or of the C one (cem._core.em_iterations checks
    # for signals between its passes).
    import cem._em
    import cem._gmm
    from cem import _core
    X, gmm = _fitted(rng)
    gmm.partial_fit(X[:100])
    real_fit_pass, real_rows_pass = cem._em.e_step_statistics, cem._gmm.rows_statistics
    calls = []
    if loop == "c":
        def interrupted_loop(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(_core, "em_iterations", interrupted_loop)
        gmm.set_params(tol=0.0, max_iter=10, random_state=7)
        raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X), KeyboardInterrupt)
        return
    monkeypatch.setattr(cem._em.EM, "_loop_in_c", lambda self, source: False)

    def interrupted(real):
        def call(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(cem._em, "e_step_statistics", interrupted(real_fit_pass))
    gmm.set_params(tol=0.0, max_iter=10, random_state=7)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X), KeyboardInterrupt)
    assert len(calls) == 3
    calls.clear()
    calls.extend([1, 1])
    monkeypatch.setattr(cem._gmm, "rows_statistics", interrupted(real_rows_pass))
    raises_and_leaves_unchanged(gmm, lambda: gmm.partial_fit(X[100:200]), KeyboardInterrupt)


# ---------------------------------------------------------------------------
# partial_fit
def _bad_chunks(X):
    nan = X.copy()
    nan[3, 1] = np.nan
    return {
        "overflowing-m-step": (X * 1e153, None, "M-step|E-step|too far"),
        "nan": (nan, None, "NaN"),
        "wrong-n-features": (X[:, :2], None, "features"),
        "negative-weight": (X, -np.ones(len(X)), "Negative"),
        "weight-shape": (X, np.ones(3), "shape"),
    }


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("bad", list(_bad_chunks(np.zeros((4, 3)))))
def test_failed_partial_fit_changes_nothing_and_the_next_chunk_works(rng, cov, bad):
    X = blobs(rng, n=900, d=3, k=3)
    chunks = [X[i:i + 300] for i in range(0, 900, 300)]
    gmm = GMM(3, covariance_type=cov, random_state=0)
    twin = GMM(3, covariance_type=cov, random_state=0)
    for g in (gmm, twin):
        g.partial_fit(chunks[0]).partial_fit(chunks[1])
    Xbad, wbad, match = _bad_chunks(chunks[2])[bad]
    raises_and_leaves_unchanged(gmm, lambda: gmm.partial_fit(Xbad, sample_weight=wbad),
                                match=match)
    gmm.partial_fit(chunks[2])  # as if the bad chunk had never come
    twin.partial_fit(chunks[2])
    assert_unchanged(copy.deepcopy(twin.__dict__), gmm)


def test_partial_fit_far_from_the_model_is_a_clear_value_error(rng):
    # Found by the sequence test below: a model initialised on a chunk of
    # scale 1e153, then an ordinary chunk: moving its moments to the
    # model's reference point overflowed in NumPy (a RuntimeWarning, then
    # "non-finite" from the M-step).
    X = blobs(np.random.default_rng(606), n=400, d=2, k=2, spread=5.0)[:100]
    gmm = GMM(2, random_state=0, max_iter=20)
    gmm.partial_fit(X * (3e153 / np.abs(X).max()))
    raises_and_leaves_unchanged(gmm, lambda: gmm.partial_fit(X), match="too far")


def test_initialisation_overflow_is_a_clear_value_error(rng):
    X = blobs(rng, n=200, d=2, k=2)
    with pytest.raises(ValueError, match="Initialisation by init_params='kmeans' failed"):
        GMM(2, random_state=0).partial_fit(X * (3e153 / np.abs(X).max()))


def test_failed_first_partial_fit_changes_nothing(rng):
    gmm = GMM(3, random_state=0)
    raises_and_leaves_unchanged(gmm, lambda: gmm.partial_fit(np.ones((2, 3)) * np.nan))
    assert gmm.__dict__ == GMM(3, random_state=0).__dict__


# ---------------------------------------------------------------------------
# partial_fit continues the model that fit, initialize or apply_m_step set
@pytest.mark.parametrize("cov", COVS)
def test_model_statistics_give_the_parameters_back(rng, cov):
    X, gmm = _fitted(rng, cov)
    online = OnlineEM.continuing(gmm._fitted_parameters64(), cov, gmm.reg_covar, 5,
                                 gmm.lower_bound_)
    params = m_step(cov, online.running.values, online.reference, gmm.reg_covar, np.float64)
    for got, want in zip(params, gmm._fitted_parameters64()):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_partial_fit_after_fit_continues_the_fitted_model(rng, cov):
    X = blobs(rng, n=3000, d=3, k=3, spread=6.0)
    fitted = GMM(3, covariance_type=cov, random_state=0).fit(X)
    gmm = copy.deepcopy(fitted)
    chunk = X[:200]
    gmm.partial_fit(chunk)
    assert gmm.n_iter_ == fitted.n_iter_ + 1
    # One full EM step on the chunk alone, for scale: partial_fit moves by
    # a fraction g = (10 + n_iter) ** -0.7 < 0.2 of the way, as much as the
    # chunk's own step would only if it restarted from the chunk.
    one_step = copy.deepcopy(fitted).apply_m_step(fitted.sufficient_statistics(chunk))
    full_move = np.abs(one_step.means_ - fitted.means_).max()
    assert np.abs(gmm.means_ - fitted.means_).max() <= 0.3 * full_move
    np.testing.assert_allclose(gmm.weights_, fitted.weights_, atol=0.3 * np.abs(
        one_step.weights_ - fitted.weights_).max() + 1e-12)
    assert gmm.score(X) > fitted.score(X) - 0.01


def test_partial_fit_after_initialize_steps_from_the_initial_parameters(rng):
    X = blobs(rng, n=1000, d=2, k=3)
    gmm = GMM(3, random_state=0).initialize(X)
    one_step = copy.deepcopy(gmm).apply_m_step(gmm.sufficient_statistics(X[:300]))
    gmm.partial_fit(X[:300])
    np.testing.assert_allclose(gmm.means_, one_step.means_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gmm.covariances_, one_step.covariances_, rtol=1e-9, atol=1e-12)
    assert gmm.n_iter_ == 1


def test_partial_fit_after_apply_m_step_continues_from_it(rng):
    X = blobs(rng, n=1000, d=2, k=3)
    gmm = GMM(3, random_state=0).partial_fit(X[:300])
    gmm.apply_m_step(gmm.sufficient_statistics(X))
    means = gmm.means_.copy()
    gmm.partial_fit(X[300:600])
    assert "_online" in gmm.__dict__ and gmm.n_iter_ == 3
    assert np.abs(gmm.means_ - means).max() < 0.5


# ---------------------------------------------------------------------------
# warm starts after a change of shape; thread counts
@pytest.mark.parametrize("change", [dict(covariance_type="diag"), dict(covariance_type="tied"),
                                    dict(n_components=2), dict(n_components=4)])
def test_warm_start_after_a_change_of_shape_starts_afresh(rng, change):
    X = blobs(rng, n=500, d=3, k=3)
    gmm = GMM(3, covariance_type="full", random_state=0, warm_start=True).fit(X)
    gmm.set_params(**change).fit(X)
    fresh = GMM(**{**gmm.get_params(), "warm_start": False}).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(gmm, name), getattr(fresh, name))
    assert gmm.n_iter_ == fresh.n_iter_


def test_warm_start_tied_to_diag_with_as_many_components_as_features(rng):
    # tied covariances (d, d) and diag ones (k, d) have the same shape when k == d
    X = blobs(rng, n=500, d=3, k=3)
    gmm = GMM(3, covariance_type="tied", random_state=0, warm_start=True).fit(X)
    gmm.set_params(covariance_type="diag").fit(X)
    fresh = GMM(3, covariance_type="diag", random_state=0).fit(X)
    np.testing.assert_array_equal(gmm.covariances_, fresh.covariances_)


def test_partial_fit_after_a_change_of_shape_starts_afresh(rng):
    X = blobs(rng, n=500, d=3, k=3)
    gmm = GMM(3, random_state=0).fit(X)
    gmm.set_params(covariance_type="spherical", n_components=2).partial_fit(X[:200])
    fresh = GMM(2, covariance_type="spherical", random_state=0).partial_fit(X[:200])
    np.testing.assert_array_equal(gmm.means_, fresh.means_)
    assert gmm.covariances_.shape == (2,)


@pytest.mark.parametrize("n_threads", [2 ** 31, 2 ** 63, 10 ** 6])
def test_huge_n_threads_is_a_clear_value_error(rng, n_threads):
    X, gmm = _fitted(rng)
    gmm.set_params(n_threads=n_threads)
    raises_and_leaves_unchanged(gmm, lambda: gmm.fit(X), match="'n_threads' parameter")


def test_huge_omp_num_threads_is_capped(rng, monkeypatch):
    from cem._validation import MAX_N_THREADS, effective_n_threads
    monkeypatch.setenv("OMP_NUM_THREADS", str(2 ** 40))
    assert effective_n_threads(None) == MAX_N_THREADS
    X = blobs(rng, n=200, d=2, k=2)
    GMM(2, random_state=0).fit(X)


# ---------------------------------------------------------------------------
# only relative sample weights matter
@pytest.mark.parametrize("cov", COVS)
def test_fit_depends_only_on_relative_weights(rng, cov):
    X = blobs(rng, n=400, d=3, k=3)
    w = rng.integers(1, 5, size=len(X)).astype(float)
    kwargs = dict(n_components=3, covariance_type=cov, random_state=0, tol=1e-10,
                  max_iter=300)
    base = GMM(**kwargs).fit(X, sample_weight=w)
    fits = {}
    for c in (1e-200, 1e-100, 1e100, 1e200, 1e300, 2.0 ** -600, 2.0 ** 600, 3.0):
        fits[c] = GMM(**kwargs).fit(X, sample_weight=w * c)  # w * 3 is exact: small integers
        for name in ("weights_", "means_", "covariances_"):
            np.testing.assert_allclose(getattr(fits[c], name), getattr(base, name),
                                       rtol=1e-9, atol=1e-12, err_msg=f"c={c} {name}")
        assert fits[c].lower_bound_ == pytest.approx(base.lower_bound_, rel=1e-9)
    # Outside the safe range the weights are rescaled by a power of two, so
    # factors that differ by one give bit-identical fits.
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(fits[2.0 ** -600], name),
                                      getattr(fits[2.0 ** 600], name))


def test_ordinary_weights_are_not_rescaled():
    from cem._weights import rescaled_for_fitting
    w = np.array([0.25, 1e-3, 7.0, 0.0])
    assert rescaled_for_fitting(w) is w
    scaled = rescaled_for_fitting(w * 2.0 ** 700)
    np.testing.assert_array_equal(scaled, w / 4)  # largest, 7, brought into [1, 2)


def test_partial_fit_and_initialize_with_huge_weights(rng):
    X = blobs(rng, n=600, d=2, k=2)
    w = rng.uniform(0.5, 2.0, size=len(X))
    a = GMM(2, random_state=0).partial_fit(X[:300], sample_weight=w[:300] * 1e250)
    a.partial_fit(X[300:], sample_weight=w[300:] * 1e250)
    b = GMM(2, random_state=0).partial_fit(X[:300], sample_weight=w[:300])
    b.partial_fit(X[300:], sample_weight=w[300:])
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9, atol=1e-12)
    c = GMM(2, random_state=0).initialize(X, sample_weight=w * 1e-250)
    d = GMM(2, random_state=0).initialize(X, sample_weight=w)
    np.testing.assert_allclose(c.weights_, d.weights_, rtol=1e-9)


@pytest.mark.parametrize("source", ["memmap", "dask-weights", "dask-numpy-weights"])
@pytest.mark.parametrize("c", [1e-200, 1e200])
def test_chunked_and_dask_fits_depend_only_on_relative_weights(rng, tmp_path, source, c):
    X = blobs(rng, n=3000, d=2, k=2)
    w = rng.integers(1, 4, size=len(X)).astype(float)
    base = GMM(2, random_state=0, tol=1e-10).fit(X, sample_weight=w)
    if source == "memmap":
        Xs = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=X.shape)
        Xs[:] = X
        Xs.flush()
        ws = w * c
    else:
        da = pytest.importorskip("dask.array")
        Xs = da.from_array(X, chunks=1000)
        ws = da.from_array(w * c, chunks=1000) if source == "dask-weights" else w * c
    got = GMM(2, random_state=0, tol=1e-10).fit(Xs, sample_weight=ws)
    np.testing.assert_allclose(got.means_, base.means_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got.covariances_, base.covariances_, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------
# any sequence of calls: the failures among them change nothing
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, example, given, settings, strategies as st  # noqa: E402

_GOOD = ["partial_fit", "fit", "initialize", "apply_m_step", "set_cov"]
_BAD = ["partial_fit_overflow", "partial_fit_nan", "partial_fit_features", "fit_nan",
        "fit_warm_features", "initialize_collapsed", "apply_m_step_singular",
        "set_params_unknown"]
_ALWAYS_RAISE = ["partial_fit_nan", "fit_nan", "initialize_collapsed", "apply_m_step_singular",
                 "set_params_unknown"]


def _apply(gmm, op, X, chunk):
    if op == "partial_fit":
        gmm.partial_fit(chunk)
    elif op == "fit":
        gmm.fit(X)
    elif op == "initialize":
        gmm.initialize(X)
    elif op == "apply_m_step":
        gmm.apply_m_step(gmm.sufficient_statistics(chunk))
    elif op == "set_cov":
        gmm.set_params(covariance_type="diag" if gmm.covariance_type == "full" else "full")
    elif op == "partial_fit_overflow":
        gmm.partial_fit(chunk * (3e153 / np.abs(chunk).max()))  # squares overflow in the M-step
    elif op == "partial_fit_nan":
        gmm.partial_fit(np.where(chunk > chunk.max() - 1e-9, np.nan, chunk))
    elif op == "partial_fit_features":
        gmm.partial_fit(chunk[:, :1])
    elif op == "fit_nan":
        gmm.fit(np.where(X > X.max() - 1e-9, np.nan, X))
    elif op == "fit_warm_features":
        gmm.set_params(warm_start=True)
        try:
            gmm.fit(X[:, :1])
        finally:
            gmm.set_params(warm_start=False)
    elif op == "initialize_collapsed":
        reg = gmm.reg_covar
        gmm.set_params(reg_covar=0.0)
        try:
            gmm.initialize(np.ones((20, X.shape[1])))
        finally:
            gmm.set_params(reg_covar=reg)
    elif op == "apply_m_step_singular":
        stats = gmm.sufficient_statistics(chunk)
        values = stats.values.copy()
        values[2:] = 0.0
        values[2] = 1.0
        reg = gmm.reg_covar
        gmm.set_params(reg_covar=0.0)
        try:
            gmm.apply_m_step(SufficientStatistics(stats.covariance_type, stats.shift, values))
        finally:
            gmm.set_params(reg_covar=reg)
    elif op == "set_params_unknown":
        gmm.set_params(tol=0.5, no_such_param=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(ops=[("partial_fit_overflow", 0), ("partial_fit", 0)], seed=606)
@given(ops=st.lists(st.tuples(st.sampled_from(_GOOD + _BAD), st.integers(0, 3)),
                    min_size=1, max_size=8),
       seed=st.integers(0, 2 ** 16))
def test_failed_calls_in_any_sequence_change_nothing(ops, seed):
    rng = np.random.default_rng(seed)
    X = blobs(rng, n=400, d=2, k=2, spread=5.0)
    chunks = [X[i:i + 100] for i in range(0, 400, 100)]
    gmm = GMM(2, random_state=0, max_iter=20)
    twin = GMM(2, random_state=0, max_iter=20)  # sees only the calls that succeed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        for op, i in ops:
            before = copy.deepcopy(gmm.__dict__)
            try:
                _apply(gmm, op, X, chunks[i])
            except (ValueError, TypeError):
                assert_unchanged(before, gmm)
                continue
            # the others can succeed, e.g. on a model not fitted yet
            assert op not in _ALWAYS_RAISE, f"{op} did not raise"
            _apply(twin, op, X, chunks[i])
            assert_unchanged(copy.deepcopy(twin.__dict__), gmm)
