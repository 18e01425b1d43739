"""Missing values (NaN = not observed, missing at random): the C pass
cem_e_step_missing against its NumPy twin (cem._reference.e_step_missing,
written from the observed-data formulas in the covariance), its exact
agreement with the complete-data pass when nothing is missing, and the
estimator's missing="marginalize" (see README, "Missing values")."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from cem import _core, _reference  # noqa: E402
from conftest import random_model, write_memmap  # noqa: E402

COVS = ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical")
FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)


def _holes(rng, X, fraction, n_empty=0):
    """X (float64 copy) with a fraction of its values set to NaN completely
    at random, and its first n_empty rows entirely NaN."""
    X = np.array(X, dtype=np.float64)
    X[rng.random(X.shape) < fraction] = np.nan
    X[:n_empty] = np.nan
    return X


@FEW
@given(seed=st.integers(0, 2 ** 32 - 1), d=st.integers(1, 16), k=st.integers(1, 4),
       n=st.integers(0, 200), cov=st.sampled_from(COVS), dtype=st.sampled_from(["f8", "f4"]),
       fraction=st.sampled_from([0.0, 0.05, 0.3, 0.7]), weighted=st.booleans(),
       n_empty=st.integers(0, 3), separation=st.sampled_from([1.0, 1.0, 1e3, 1e5]))
def test_c_pass_matches_twin(seed, d, k, n, cov, dtype, fraction, weighted, n_empty,
                             separation):
    """separation scales the means apart (covariances unchanged): far apart,
    the fill value of the block kernels is far from every component and the
    pass takes its direct path (missing.h), which must stay exact."""
    rng = np.random.default_rng(seed)
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    means = means * separation
    X = (means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
    X = _holes(rng, X, fraction, min(n_empty, n)).astype(dtype)
    sw = rng.uniform(0, 2, size=n) if weighted else None
    if weighted and n:
        sw[rng.random(n) < 0.2] = 0.0
    shift = means + 0.1 * rng.normal(size=means.shape)
    _assert_matches_twin(cov, weights, means, prec_chol, X, sw, shift)


def _assert_matches_twin(cov, weights, means, prec_chol, X, sw, shift):
    """The C pass with missing=True over X (any dtype) gives the twin's
    statistics, responsibilities and log-densities (twin in float64)."""
    n, k = X.shape[0], len(weights)
    resp, log_density = np.zeros((n, k)), np.zeros(n)
    stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp,
                         log_density=log_density, shift=shift, missing=True)
    want, want_resp, want_ld = _reference.e_step_missing(cov, weights, means, prec_chol,
                                                         X.astype(np.float64), sw, shift=shift)
    scale = 1.0 + np.abs(want)
    np.testing.assert_allclose(stats / scale, want / scale, rtol=0, atol=1e-10)
    np.testing.assert_allclose(resp, want_resp, rtol=0, atol=1e-10)
    np.testing.assert_allclose(log_density, want_ld, rtol=1e-10, atol=1e-10)


def _holes_per_row(rng, X, count):
    """X (float64 copy) with exactly min(count, d) values of each row set to
    NaN, at random places; count "mixed": 0 .. d per row, uniformly."""
    X = np.array(X, dtype=np.float64)
    n, d = X.shape
    for i in range(n):
        m = rng.integers(0, d + 1) if count == "mixed" else min(count, d)
        X[i, rng.choice(d, size=m, replace=False)] = np.nan
    return X


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 8, 16, 24])
@pytest.mark.parametrize("count", [1, 2, "many", "mixed"])
def test_c_pass_matches_twin_per_missing_count(cov, d, count, rng):
    """Rows with exactly 1 (FULL: log P_jj from the pass's start), exactly 2
    or d - 1 missing values, and any number, in blocks that also hold
    complete and empty rows; narrow (d <= 4) and wide (d > 4, FULL's x_hat
    through the accumulation), weighted, about a shift, k = 5."""
    k, n = 5, 150
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    holes = _holes_per_row(rng, X, d - 1 if count == "many" else count)
    holes[rng.random(n) < 0.1] = np.nan  # empty rows
    holes[5:9] = X[5:9]  # complete rows among them
    sw = rng.uniform(0, 2, size=n)
    sw[rng.random(n) < 0.1] = 0.0
    shift = means + 0.1 * rng.normal(size=means.shape)
    _assert_matches_twin(cov, weights, means, prec_chol, holes, sw, shift)
    _assert_matches_twin(cov, weights, means, prec_chol, holes.astype(np.float32), None, None)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [3, 6, 16])
def test_c_pass_matches_twin_with_hard_responsibilities(cov, d, rng):
    """Components 40 standard deviations apart (the fill value, their mean,
    within 32 of each: no direct path), so that most responsibilities are
    exactly 0 or 1 -- the wide FULL accumulation otherwise gathers the few
    rows a component has weight on -- and a component of weight 0."""
    from cem import _reference
    k, n = 3, 200
    weights = np.array([0.5, 0.5, 0.0])
    means = np.zeros((k, d))
    means[0, 0], means[1, 0], means[2, 0] = -28.0, 28.0, 0.0
    # covariances near I (precisions in [0.6, 1.25]): the fill value (0) is
    # at squared distance <= 28^2 * 1.25 < 1024 of each component, a row
    # at >= 56^2 * 0.6 / 2 = 940 nats from the other one (exp: exactly 0)
    a = rng.normal(size=(k, d, d))
    covs = {"full": np.eye(d) + 0.2 * a @ a.transpose(0, 2, 1) / d,
            "tied": np.eye(d) + 0.2 * a[0] @ a[0].T / d,
            "diag": rng.uniform(0.8, 1.2, size=(k, d)),
            "spherical": rng.uniform(0.8, 1.2, size=k),
            "tied_diag": rng.uniform(0.8, 1.2, size=d),
            "tied_spherical": rng.uniform(0.8, 1.2, size=1)}
    prec_chol = _reference.precision_cholesky(cov, covs[cov])
    labels = rng.integers(0, 2, size=n)
    X = means[labels] + 0.5 * rng.normal(size=(n, d))
    holes = _holes_per_row(rng, X, "mixed")
    sw = rng.uniform(0, 2, size=n)
    sw[::7] = 0.0
    _assert_matches_twin(cov, weights, means, prec_chol, holes, sw, None)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 3, 4, 5, 8, 16])
@pytest.mark.parametrize("dtype", ["f8", "f4"])
def test_no_nan_pass_is_bit_identical(cov, d, dtype, rng):
    k, n = 3, 1000
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = (means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
    sw = rng.uniform(0, 2, size=n)
    out = []
    for missing in (False, True):
        resp, ld = np.zeros((n, k)), np.zeros(n)
        stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp, log_density=ld,
                             missing=missing)
        out.append((stats, resp, ld))
    for a, b in zip(*out):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cov", COVS)
def test_missing_rows_do_not_change_complete_blocks(cov, rng):
    """A block's complete rows are accumulated exactly as without the flag:
    NaN rows added later, in their own blocks, change only their share."""
    k, d, n = 2, 6, 128
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    both = np.vstack([X, _holes(rng, X[:64], 0.5)])
    complete = _core.e_step(cov, weights, means, prec_chol, X)
    holes = _core.e_step(cov, weights, means, prec_chol, both[n:], missing=True)
    merged = _core.e_step(cov, weights, means, prec_chol, both, missing=True)
    np.testing.assert_allclose(merged, complete + holes, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_empty_rows_score_zero_and_carry_no_weight(cov, rng):
    k, d, n = 3, 5, 40
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0.5, 2, size=n)
    with_empty = np.vstack([X, np.full((7, d), np.nan)])
    sw_empty = np.concatenate([sw, np.full(7, 3.0)])
    resp, ld = np.zeros((n + 7, k)), np.zeros(n + 7)
    stats = _core.e_step(cov, weights, means, prec_chol, with_empty, sw_empty, resp=resp,
                         log_density=ld, missing=True)
    plain = _core.e_step(cov, weights, means, prec_chol, X, sw)
    assert np.all(ld[n:] == 0.0)
    np.testing.assert_allclose(resp[n:], np.tile(weights / weights.sum(), (7, 1)), rtol=1e-14)
    np.testing.assert_allclose(stats, plain, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_inf_is_still_an_error(cov, bad, rng):
    k, d = 2, 5
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = rng.normal(size=(30, d))
    X[3, 1] = bad  # in a complete row
    with pytest.raises(_core.CoreError):
        _core.e_step(cov, weights, means, prec_chol, X, missing=True)
    X[3, 2] = np.nan  # in a row with a missing value
    with pytest.raises(_core.CoreError):
        _core.e_step(cov, weights, means, prec_chol, X, missing=True)


def test_nan_is_an_error_without_the_flag(rng):
    weights, means, _, prec_chol = random_model(rng, 2, 3, "full")
    X = rng.normal(size=(10, 3))
    X[2, 0] = np.nan
    with pytest.raises(_core.CoreError):
        _core.e_step("full", weights, means, prec_chol, X)


# ---------------------------------------------------------------- estimator
import itertools  # noqa: E402

import cem  # noqa: E402

ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_",
              "lower_bound_", "lower_bounds_", "n_iter_", "converged_")


def _mixture(rng, n, d=4, k=3, separation=4.0):
    """Rows from a known full-covariance mixture: (X, weights, means, covariances)."""
    weights = np.array([0.5, 0.3, 0.2])[:k]
    means = separation * rng.normal(size=(k, d))
    a = rng.normal(size=(k, d, d))
    covs = a @ a.transpose(0, 2, 1) / d + 0.5 * np.eye(d)
    labels = rng.choice(k, size=n, p=weights)
    X = np.stack([rng.multivariate_normal(means[c], covs[c]) for c in labels])
    return X, weights, means, covs


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_marginalize_without_nan_is_bit_identical(cov, dtype, rng):
    X = _mixture(rng, 600)[0].astype(dtype)
    sw = rng.uniform(0.5, 2.0, size=len(X))
    plain = cem.GMM(3, covariance_type=cov, random_state=0).fit(X, sample_weight=sw)
    marg = cem.GMM(3, covariance_type=cov, random_state=0, missing="marginalize").fit(
        X, sample_weight=sw)
    for name in ATTRIBUTES:
        assert np.array_equal(getattr(plain, name), getattr(marg, name)), name
    for method in ("predict_proba", "score_samples", "predict"):
        assert np.array_equal(getattr(plain, method)(X), getattr(marg, method)(X)), method
    assert plain.score(X) == marg.score(X) and plain.bic(X) == marg.bic(X)


def test_missing_parameter_is_validated(rng):
    X = rng.normal(size=(20, 2))
    with pytest.raises(cem.InvalidParameterError, match="'missing' parameter"):
        cem.GMM(missing="drop").fit(X)


def test_default_still_rejects_nan_with_sklearns_message(rng):
    X = rng.normal(size=(20, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        cem.GMM().fit(X)
    fitted = cem.GMM().fit(rng.normal(size=(20, 2)))
    for method in ("predict", "predict_proba", "score_samples", "score"):
        with pytest.raises(ValueError, match="Input X contains NaN"):
            getattr(fitted, method)(X)
    with pytest.raises(ValueError, match="missing='marginalize'"):
        fitted.impute(X)


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_marginalize_still_rejects_inf(bad, rng):
    X = rng.normal(size=(50, 3))
    X[4, 0], X[5, 1] = bad, np.nan
    gmm = cem.GMM(missing="marginalize")
    with pytest.raises(ValueError, match="infinity"):
        gmm.fit(X)
    assert not hasattr(gmm, "means_")
    gmm.fit(np.where(np.isinf(X), 0.0, X))
    with pytest.raises(ValueError, match="infinity"):
        gmm.score_samples(X)


@pytest.mark.parametrize("cov", COVS)
def test_observed_log_likelihood_never_decreases(cov, rng):
    X = _holes(rng, _mixture(rng, 800, d=5)[0], 0.3, n_empty=5)
    gmm = cem.GMM(3, covariance_type=cov, missing="marginalize", tol=0, max_iter=60,
                  reg_covar=1e-6, random_state=1)
    with pytest.warns(cem.ConvergenceWarning):
        gmm.fit(X)
    bounds = np.array(gmm.lower_bounds_)
    assert len(bounds) == 60
    assert np.all(np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])), np.diff(bounds).min()
    # the bound is the observed-data log-likelihood of the twin (empty rows excluded)
    stats, _, log_density = _reference.e_step_missing(
        cov, gmm.weights_, gmm.means_, gmm.precisions_cholesky_, X)
    assert gmm.score(X) == pytest.approx(stats[1] / stats[0], rel=1e-10)
    np.testing.assert_allclose(gmm.score_samples(X), log_density, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cov", COVS)
def test_empty_rows_are_ignored_and_score_zero(cov, rng):
    X = _holes(rng, _mixture(rng, 400)[0], 0.2)
    with_empty = np.vstack([X, np.full((9, X.shape[1]), np.nan)])
    a = cem.GMM(3, covariance_type=cov, missing="marginalize", random_state=0).fit(X)
    b = cem.GMM(3, covariance_type=cov, missing="marginalize", random_state=0).fit(with_empty)
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12)
    assert np.all(b.score_samples(with_empty)[-9:] == 0.0)
    np.testing.assert_allclose(b.predict_proba(with_empty)[-9:],
                               np.tile(b.weights_ / b.weights_.sum(), (9, 1)), rtol=1e-12)
    assert b.score(with_empty) == pytest.approx(b.score(X), rel=1e-12)
    assert b.bic(with_empty) == pytest.approx(b.bic(X), rel=1e-12)
    np.testing.assert_allclose(b.impute(with_empty)[-1], b.weights_ @ b.means_, rtol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_impute_matches_twin_and_keeps_observed(cov, rng):
    X = _holes(rng, _mixture(rng, 300)[0], 0.3, n_empty=2)
    gmm = cem.GMM(3, covariance_type=cov, missing="marginalize", random_state=0).fit(X)
    filled = gmm.impute(X)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(X)
    assert np.array_equal(filled[observed], X[observed])
    want = _reference.impute(cov, gmm.weights_, gmm.means_, gmm.precisions_cholesky_, X)
    np.testing.assert_allclose(filled, want, rtol=1e-9, atol=1e-9)


def test_float32_weights_and_sources_agree(tmp_path, rng):
    X = _holes(rng, _mixture(rng, 3000)[0], 0.2, n_empty=3)
    sw = rng.uniform(0.5, 2.0, size=len(X))
    ref = cem.GMM(3, missing="marginalize", random_state=0).fit(X, sample_weight=sw)
    # a memmap (read in chunks) and a stream of chunks: same statistics, same fit
    kw = dict(missing="marginalize", random_state=0, means_init=ref.means_,
              weights_init=ref.weights_, precisions_init=ref.precisions_, max_iter=3)
    chunked = cem.GMM(3, **kw).fit(write_memmap(tmp_path / "x.dat", X), sample_weight=sw)
    memory = cem.GMM(3, **kw).fit(X, sample_weight=sw)
    stream = cem.GMM(3, **kw).fit(lambda: ((X[i:i + 700], sw[i:i + 700])
                                           for i in range(0, len(X), 700)))
    for other in (chunked, stream):
        np.testing.assert_allclose(other.means_, memory.means_, rtol=1e-10)
        np.testing.assert_allclose(other.covariances_, memory.covariances_, rtol=1e-9)
    f32 = cem.GMM(3, missing="marginalize", random_state=0).fit(X.astype(np.float32),
                                                                 sample_weight=sw)
    assert f32.means_.dtype == np.float32
    np.testing.assert_allclose(np.sort(f32.means_, axis=0), np.sort(ref.means_, axis=0),
                               atol=1e-3)
    assert f32.score_samples(X.astype(np.float32)).dtype == np.float32


def test_dask_source(rng):
    da = pytest.importorskip("dask.array")
    X = _holes(rng, _mixture(rng, 2000)[0], 0.2)
    init = cem.GMM(3, missing="marginalize", random_state=0).fit(X)
    kw = dict(means_init=init.means_, weights_init=init.weights_,
              precisions_init=init.precisions_, max_iter=3, missing="marginalize")
    memory = cem.GMM(3, **kw).fit(X)
    lazy = cem.GMM(3, **kw).fit(da.from_array(X, chunks=(500, 4)))
    np.testing.assert_allclose(lazy.means_, memory.means_, rtol=1e-10)
    np.testing.assert_allclose(lazy.score_samples(da.from_array(X, chunks=(500, 4))).compute(),
                               memory.score_samples(X), rtol=1e-12)


def test_partial_fit_accepts_nan(rng):
    X = _holes(rng, _mixture(rng, 900)[0], 0.2)
    gmm = cem.GMM(3, missing="marginalize", random_state=0)
    for i in range(0, 900, 300):
        gmm.partial_fit(X[i:i + 300])
    assert np.isfinite(gmm.means_).all() and np.isfinite(gmm.score(X))


def _matched_errors(means, covs, true_means, true_covs):
    """(mean abs error of the means, of the covariances) under the matching
    of fitted to true components that minimises the means' error."""
    k = len(true_means)
    best = None
    for perm in itertools.permutations(range(k)):
        p = list(perm)
        err = (np.abs(means[p] - true_means).mean(), np.abs(covs[p] - true_covs).mean())
        best = err if best is None or err[0] < best[0] else best
    return best


def test_simulation_beats_complete_rows_and_mean_imputation():
    """Data from a known full-covariance mixture (k=3, d=4, n=3000), 20% of
    values removed completely at random, 8 draws. Metric: mean absolute
    error of the means and of the covariance matrices, fitted vs true,
    after matching components. All fits full covariance, n_init=3,
    tol=1e-6. cem's exact EM must beat (a) fitting the complete rows only
    (unbiased under MCAR but on ~41% of the rows) and (b) fitting the
    column-mean-imputed data, on both errors averaged over the draws and in
    at least 7 of 8 draws each (exact ML is more efficient on average, not
    in every draw); and impute must beat column-mean imputation in RMSE on
    the removed values in every draw."""
    errors = {"exact": [], "complete": [], "imputed": []}
    for seed in range(8):
        rng = np.random.default_rng(100 + seed)
        X, _, true_means, true_covs = _mixture(rng, 3000, separation=3.0)
        holes = _holes(rng, X, 0.2)
        missing = np.isnan(holes)
        kw = dict(n_components=3, covariance_type="full", n_init=3, random_state=seed,
                  tol=1e-6, max_iter=2000)
        exact = cem.GMM(missing="marginalize", **kw).fit(holes)
        complete = cem.GMM(**kw).fit(holes[~missing.any(axis=1)])
        mean_filled = np.where(missing, np.nanmean(holes, axis=0), holes)
        imputed = cem.GMM(**kw).fit(mean_filled)
        for name, g in (("exact", exact), ("complete", complete), ("imputed", imputed)):
            errors[name].append(_matched_errors(g.means_, g.covariances_, true_means, true_covs))
        rmse = np.sqrt(np.mean((exact.impute(holes)[missing] - X[missing]) ** 2))
        rmse_mean = np.sqrt(np.mean((mean_filled[missing] - X[missing]) ** 2))
        assert rmse < rmse_mean, (seed, rmse, rmse_mean)
    exact = np.array(errors["exact"])
    for other in ("complete", "imputed"):
        theirs = np.array(errors[other])
        assert np.all(exact.mean(axis=0) < theirs.mean(axis=0)), (other, errors)
        assert np.all((exact < theirs).sum(axis=0) >= 7), (other, errors)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
def test_every_init_params_fits_with_nan(init_params, rng):
    X = _holes(rng, _mixture(rng, 600)[0], 0.2, n_empty=2)
    gmm = cem.GMM(3, init_params=init_params, missing="marginalize", random_state=0)
    labels = gmm.fit_predict(X)
    assert labels.shape == (600,) and np.isfinite(gmm.means_).all()
    assert np.all(np.diff(gmm.lower_bounds_) >= -1e-12 * np.abs(gmm.lower_bounds_[1:]))
    assert np.array_equal(labels, gmm.predict(X))


@pytest.mark.parametrize("cov", COVS)
def test_nan_fits_are_bit_identical_for_any_n_threads(cov, rng):
    X = _holes(rng, _mixture(rng, 20000, d=5)[0], 0.15, n_empty=3)
    fits = []
    for t in (1, 2, 3):
        with pytest.warns(cem.ConvergenceWarning):  # tol=0: a fixed 5 iterations
            fits.append(cem.GMM(3, covariance_type=cov, missing="marginalize",
                                random_state=0, n_threads=t, max_iter=5, tol=0).fit(X))
    for other in fits[1:]:
        for name in ("weights_", "means_", "covariances_", "lower_bounds_"):
            assert np.array_equal(getattr(fits[0], name), getattr(other, name)), name
