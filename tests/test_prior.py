"""MAP EM with mclust's conjugate prior (GMM(prior=...), cem/_prior.py,
src_c/prior.c): the C M-step and log prior against their NumPy twins, the
ascent of the log-posterior, fits that maximum likelihood cannot do,
validation, and agreement with R's mclust."""
import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cem
from cem import _core, _reference as ref
from cem._prior import DataSummary, default_prior
from cem._sources import data_source

HERE = os.path.dirname(os.path.abspath(__file__))
TYPES = ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical")
MCLUST_MODEL = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII",
                "tied_diag": "EEI", "tied_spherical": "EII"}


def random_prior(rng, covariance_type, d, shrinkage):
    mean = rng.normal(size=d) * 3
    if covariance_type in ("full", "tied"):
        a = rng.normal(size=(d, d))
        return shrinkage, mean, d - 1 + rng.uniform(0.1, 5), a @ a.T + 0.1 * np.eye(d)
    return shrinkage, mean, rng.uniform(0.1, 5), np.array([rng.uniform(0.01, 5)])


@settings(max_examples=60, deadline=None)
@given(covariance_type=st.sampled_from(TYPES), d=st.integers(1, 6), k=st.integers(1, 4),
       n=st.integers(0, 40), shrinkage=st.sampled_from([0.0, 0.01, 1.0, 50.0]),
       seed=st.integers(0, 2**32 - 1))
def test_map_m_step_and_log_prior_equal_numpy_twins(covariance_type, d, k, n, shrinkage, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10) + rng.normal(size=d) * 5
    resp = rng.dirichlet(np.ones(k), size=n) if n else np.zeros((0, k))
    w = rng.uniform(0, 3, size=n)
    shift = rng.normal(size=(k, d)) * 5
    stats = ref.accumulate(covariance_type, shift, X, resp, w)
    stats[2:2 + k] += 1e-3  # the C core refuses statistics of no weight at all
    prior = random_prior(rng, covariance_type, d, shrinkage)
    got = _core.m_step_map(covariance_type, stats, shift, *prior)
    want = ref.m_step_map(covariance_type, stats, shift, *prior)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12 * np.abs(b).max())
    lp = _core.log_prior(covariance_type, got[1], got[3], *prior)
    assert lp == pytest.approx(ref.log_prior(covariance_type, got[1], got[2], *prior),
                               rel=1e-9, abs=1e-9)


def test_log_prior_is_the_stated_densities():
    """cem.h's densities, independently: scipy's inverse-Wishart,
    inverse-gamma and normal."""
    stats_ = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(3)
    d, k = 3, 2
    means = rng.normal(size=(k, d))
    a = rng.normal(size=(k, d, d))
    covs = a @ np.swapaxes(a, 1, 2) + np.eye(d)
    shrinkage, mu, dof, lam = random_prior(rng, "full", d, 0.3)
    want = sum(stats_.invwishart(df=dof, scale=lam).logpdf(c)
               + stats_.multivariate_normal(mu, c / shrinkage).logpdf(m)
               for m, c in zip(means, covs))
    got = _core.log_prior("full", means, ref.precision_cholesky("full", covs), shrinkage, mu,
                          dof, lam)
    assert got == pytest.approx(want, rel=1e-12)
    var = rng.uniform(0.5, 2, size=(k, d))
    want = sum(stats_.invgamma(dof / 2, scale=2.0 / 2).logpdf(v).sum()
               + stats_.multivariate_normal(mu, np.diag(v) / shrinkage).logpdf(m)
               for m, v in zip(means, var))
    got = _core.log_prior("diag", means, 1 / np.sqrt(var), shrinkage, mu, dof, np.array([2.0]))
    assert got == pytest.approx(want, rel=1e-12)


def test_c_core_refuses_a_prior_out_of_its_domain():
    k, d = 2, 2
    shift = np.zeros((k, d))
    stats = ref.accumulate("full", shift, np.eye(2) * 3, np.eye(2))
    good = (0.01, np.zeros(d), d + 2.0, np.eye(d))
    _core.m_step_map("full", stats, shift, *good)
    for bad in [(-1.0,) + good[1:], (np.nan,) + good[1:], good[:2] + (d - 1.0, good[3]),
                (good[0], np.array([0, np.inf])) + good[2:], good[:3] + (np.eye(d) * np.nan,)]:
        with pytest.raises(_core.CoreError):
            _core.m_step_map("full", stats, shift, *bad)
    with pytest.raises(_core.CoreError):  # scale not positive definite
        _core.log_prior("full", shift, np.eye(d)[None].repeat(k, 0), *good[:3], -np.eye(d))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(covariance_type=st.sampled_from(TYPES), d=st.integers(1, 5), k=st.integers(1, 4),
       n=st.integers(8, 80), weighted=st.booleans(), float32=st.booleans(),
       seed=st.integers(0, 2**31 - 1))
def test_log_posterior_never_decreases(covariance_type, d, k, n, weighted, float32, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) + rng.integers(0, 3, size=(n, 1)) * 3
    X = X.astype(np.float32 if float32 else np.float64)
    w = rng.uniform(0, 2, size=n) if weighted else None
    k = min(k, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        gmm = cem.GMM(k, covariance_type=covariance_type, prior="default", tol=0.0,
                      max_iter=30, random_state=seed % 1000).fit(X, sample_weight=w)
    bounds = np.array(gmm.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-9 * (1 + np.abs(bounds[1:])))
    # lower_bound_ is what the docstring says: the mean log-posterior
    assert np.isfinite(gmm.lower_bound_)


def test_lower_bound_is_the_mean_log_posterior():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2))
    gmm = cem.GMM(2, prior="default", max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        gmm.fit(X)
    # lower_bounds_[0] belongs to the initial parameters: refit with max_iter=0
    init = cem.GMM(2, prior="default", max_iter=0, random_state=0)
    init.fit(X)
    p = init.prior_
    log_prior = _core.log_prior("full", init.means_, init.precisions_cholesky_, p.shrinkage,
                                p.mean, p.dof, p.scale)
    want = (init.score(X) * len(X) + log_prior) / len(X)
    assert gmm.lower_bounds_[0] == pytest.approx(want, rel=1e-12)


def collapsing_data():
    """Two components, one on three copies of a single point."""
    rng = np.random.default_rng(0)
    return np.vstack([rng.normal(size=(60, 2)), np.tile([[8.0, 8.0]], (3, 1))])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_prior_fits_where_maximum_likelihood_is_ill_defined(covariance_type):
    X = collapsing_data()
    means_init = np.array([[0.0, 0.0], [8.0, 8.0]])
    if covariance_type in ("full", "diag", "spherical"):
        with pytest.raises(ValueError, match="ill-defined empirical covariance"):
            cem.GMM(2, covariance_type=covariance_type, reg_covar=0.0, means_init=means_init,
                    random_state=0).fit(X)
        if covariance_type == "full":  # scikit-learn checks only full/tied for it
            GaussianMixture = pytest.importorskip("sklearn.mixture").GaussianMixture
            with pytest.raises(ValueError, match="ill-defined empirical covariance"):
                GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0,
                                means_init=means_init, random_state=0).fit(X)
    gmm = cem.GMM(2, covariance_type=covariance_type, reg_covar=0.0, means_init=means_init,
                  prior="default", random_state=0).fit(X)
    assert np.all(np.isfinite(gmm.covariances_)) and np.all(gmm.covariances_ > 0) \
        if covariance_type not in ("full", "tied") else np.all(np.linalg.eigvalsh(
            gmm.covariances_) > 0)
    assert np.isfinite(gmm.bic(X))


def test_prior_none_is_maximum_likelihood_and_prior_changes_the_fit():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    a = cem.GMM(2, random_state=0).fit(X)
    b = cem.GMM(2, random_state=0, prior=None).fit(X)
    c = cem.GMM(2, random_state=0, prior=False).fit(X)
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
        assert np.array_equal(getattr(a, name), getattr(c, name))
    assert not hasattr(a, "prior_")
    d = cem.GMM(2, random_state=0, prior=True).fit(X)
    assert not np.allclose(a.covariances_, d.covariances_, rtol=1e-6)
    # a refit without prior drops prior_
    assert not hasattr(d.set_params(prior=None).fit(X), "prior_")


def test_user_hyperparameters_override_the_defaults():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(100, 2))
    gmm = cem.GMM(2, covariance_type="diag", prior={"dof": 7, "scale": 0.5},
                  random_state=0).fit(X)
    assert gmm.prior_.dof == 7.0 and gmm.prior_.scale[0] == 0.5
    listed = cem.GMM(2, covariance_type="diag", prior={"dof": 7, "scale": [0.5]},
                     random_state=0).fit(X)
    np.testing.assert_array_equal(listed.covariances_, gmm.covariances_)
    assert gmm.prior_.shrinkage == 0.01
    np.testing.assert_allclose(gmm.prior_.mean, X.mean(axis=0), rtol=1e-12)
    gmm2 = cem.GMM(2, covariance_type="diag", prior=cem.Prior(dof=7, scale=0.5),
                   random_state=0).fit(X)
    np.testing.assert_array_equal(gmm.covariances_, gmm2.covariances_)
    # shrinkage 0: a flat prior on the means, which are then the data means of
    # each component, as maximum likelihood's
    flat = cem.GMM(2, prior={"shrinkage": 0}, random_state=0).fit(X)
    assert np.isfinite(flat.lower_bound_)


@pytest.mark.parametrize("prior, match", [
    ({"shrinkage": -1}, "'shrinkage'"),
    ({"shrinkage": np.nan}, "'shrinkage'"),
    ({"mean": [0, 0, 0]}, "'mean'"),
    ({"mean": [0, np.inf]}, "'mean'"),
    ({"dof": 1.0}, "'dof'"),            # full needs dof > d - 1 = 1
    ({"dof": "5"}, "'dof'"),
    ({"scale": np.eye(3)}, "'scale'"),
    ({"scale": [[1, 2], [2, 1]]}, "'scale'"),  # not positive definite
    ({"scale": [[1, 0.5], [0, 1]]}, "'scale'"),  # not symmetric
    ({"variance": 1}, "variance"),
])
def test_bad_hyperparameters_are_named(prior, match):
    X = np.random.default_rng(0).normal(size=(30, 2))
    gmm = cem.GMM(2, prior=prior, random_state=0)
    with pytest.raises(ValueError, match=match):
        gmm.fit(X)
    assert not hasattr(gmm, "means_")


@pytest.mark.parametrize("prior, match", [
    ({"scale": np.eye(2)}, "'scale'"), ({"scale": -1.0}, "'scale'"), ({"dof": 0}, "'dof'")])
def test_bad_scalar_hyperparameters_for_diag_are_named(prior, match):
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(ValueError, match=match):
        cem.GMM(2, covariance_type="diag", prior=prior, random_state=0).fit(X)


def test_bad_prior_parameter_and_unsupported_methods():
    X = np.random.default_rng(0).normal(size=(30, 2))
    with pytest.raises(cem.InvalidParameterError, match="'prior' parameter"):
        cem.GMM(prior="mclust").fit(X)
    with pytest.raises(cem.InvalidParameterError, match="'prior' parameter"):
        cem.GMM(prior=1.0).fit(X)
    gmm = cem.GMM(2, prior="default", random_state=0)
    for call in (lambda: gmm.partial_fit(X), lambda: gmm.initialize(X)):
        with pytest.raises(ValueError, match="does not support a prior"):
            call()
    gmm.fit(X)
    stats = gmm.sufficient_statistics(X)
    before = gmm.means_.copy()
    with pytest.raises(ValueError, match="does not support a prior"):
        gmm.apply_m_step(stats)
    np.testing.assert_array_equal(gmm.means_, before)


def test_chunked_dask_warm_start_n_init_and_selection():
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 5])
    kw = dict(prior="default", random_state=0, means_init=[[0, 0], [5, 5]], tol=1e-10,
              max_iter=500)
    a = cem.GMM(2, **kw).fit(X)
    chunks = lambda: iter(np.array_split(X, 7))  # noqa: E731
    b = cem.GMM(2, **kw).fit(chunks)
    np.testing.assert_allclose(b.means_, a.means_, rtol=1e-9)
    np.testing.assert_allclose(b.prior_.scale, a.prior_.scale, rtol=1e-12)
    da = pytest.importorskip("dask.array")
    c = cem.GMM(2, **kw).fit(da.from_array(X, chunks=(100, 2)))
    np.testing.assert_allclose(c.means_, a.means_, rtol=1e-9)
    w = cem.GMM(2, prior="default", random_state=0, warm_start=True, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        w.fit(X)
        first = w.lower_bound_
        w.fit(X)
    assert w.lower_bounds_[0] >= first - 1e-12
    n = cem.GMM(2, prior="default", random_state=0, n_init=3).fit(X)
    assert np.isfinite(n.lower_bound_)
    sel = cem.GMMSelection(n_components=[1, 2, 3], prior="default", random_state=0).fit(X)
    assert sel.best_params_["n_components"] == 2
    assert hasattr(sel.best_estimator_, "prior_")


def test_default_prior_from_a_weighted_pass_equals_the_formula():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 3)) * [1, 10, 100] + 1e6
    w = rng.integers(0, 4, size=50).astype(float)
    from cem._prior import data_summary
    summary = data_summary(data_source(X, w, "GMM"), 1)
    rows = np.repeat(X, w.astype(int), axis=0)
    np.testing.assert_allclose(summary.mean, rows.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(summary.covariance, np.cov(rows.T), rtol=1e-9)
    assert summary.total_weight == w.sum()


# ---------------------------------------------------------------------------
# R's mclust. The data and responsibilities of asv_bench/mclust_prior_check.R.

def mclust_data():
    n, d, G = 120, 3, 3
    i = np.arange(1, n + 1, dtype=float)
    X = np.column_stack([np.sin(1.3 * i * j + j) * j + 3 * (i % 3)
                         + 0.5 * np.cos(0.7 * i) * (j == 2) for j in range(1, d + 1)])
    z = np.column_stack([1 + 5 * ((i % 3) == (c - 1)) + 0.3 * np.sin(i * c)
                         for c in range(1, G + 1)])
    return X, z / z.sum(axis=1, keepdims=True)


# defaultPrior(X, G = 3, modelName = m)$scale for the data above, printed by
#   Rscript asv_bench/mclust_prior_check.R OUT  (mclust 6.0.0), OUT/<m>_prior.txt
MCLUST_DEFAULT_MEAN = [2.9936601930927829, 2.9885384892512845, 3.0050490240510475]
MCLUST_DEFAULT_SCALE = {
    "full": [[3.1469400330756732, 2.9629030061137311, 2.8214655140638847],
             [2.9629030061137311, 4.0517698888738503, 2.8426307898111358],
             [2.8214655140638847, 2.8426307898111358, 4.9196845920507473]],
    "diag": 4.0394648380000904,
}
MCLUST_DEFAULT_SCALE["tied"] = MCLUST_DEFAULT_SCALE["full"]
MCLUST_DEFAULT_SCALE["spherical"] = MCLUST_DEFAULT_SCALE["diag"]
MCLUST_DEFAULT_SCALE["tied_diag"] = MCLUST_DEFAULT_SCALE["diag"]  # defaultPrior: EEI as VVI
MCLUST_DEFAULT_SCALE["tied_spherical"] = MCLUST_DEFAULT_SCALE["diag"]


@pytest.mark.parametrize("covariance_type", TYPES)
def test_default_prior_equals_mclusts(covariance_type):
    X, _ = mclust_data()
    from cem._prior import data_summary
    prior = default_prior(data_summary(data_source(X, None, "GMM"), 1), 3, covariance_type)
    assert prior.shrinkage == 0.01 and prior.dof == 5
    np.testing.assert_allclose(prior.mean, MCLUST_DEFAULT_MEAN, rtol=1e-14)
    np.testing.assert_allclose(prior.scale, MCLUST_DEFAULT_SCALE[covariance_type], rtol=1e-13)


def test_default_prior_with_fewer_rows_than_features_uses_the_diagonal():
    summary = DataSummary(np.zeros(3), np.array([[2.0, 1, 0], [1, 3, 0], [0, 0, 4]]), 3.0)
    np.testing.assert_array_equal(default_prior(summary, 1, "full").scale, np.diag([2.0, 3, 4]))


def cem_mclust_params(covariance_type, params):
    """pro, mean, sigma flattened in R's column-major layout."""
    weights, means, cov = params[0], params[1], params[2]
    k, d = means.shape
    if covariance_type == "full":
        sigma = cov
    elif covariance_type == "tied":
        sigma = np.repeat(cov[None], k, axis=0)
    elif covariance_type == "diag":
        sigma = np.array([np.diag(c) for c in cov])
    elif covariance_type == "spherical":
        sigma = np.array([np.eye(d) * c for c in cov])
    elif covariance_type == "tied_diag":
        sigma = np.repeat(np.diag(cov)[None], k, axis=0)
    else:
        sigma = np.repeat((np.eye(d) * cov[0])[None], k, axis=0)
    # R: mean is p x G, sigma p x p x G, both column-major
    return np.concatenate([weights, means.reshape(-1), np.transpose(sigma, (0, 2, 1)).reshape(-1)])


def cem_mclust_run(covariance_type, n_steps):
    """cem's MAP M-step from mclust_data's responsibilities, then n_steps - 1
    EM iterations: (flattened parameters, log-likelihood at them)."""
    X, z = mclust_data()
    from cem._prior import data_summary
    prior = default_prior(data_summary(data_source(X, None, "GMM"), 1), 3, covariance_type)
    prior_args = (prior.shrinkage, prior.mean, prior.dof, prior.scale)
    shift = np.zeros((3, 3))
    stats = _core.accumulate(covariance_type, shift, X, np.ascontiguousarray(z))
    params = _core.m_step_map(covariance_type, stats, shift, *prior_args)
    for _ in range(n_steps):
        stats = _core.e_step(covariance_type, params[0], params[1], params[3], X)
        if _ == n_steps - 1:
            break
        params = _core.m_step_map(covariance_type, stats, params[1], *prior_args)
    return cem_mclust_params(covariance_type, params), stats[1]


def max_relative_difference(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def mclust_shared_m_step(covariance_type, X, z, prior, me):
    """R's mclust 6.0.0 EEI (tied_diag) and EII (tied_spherical) M-steps with
    a prior, transcribed from its Fortran: mstep's mseeip / mseiip (me=False)
    and me's loop meeeip / meeiip (me=True). They are not the posterior modes
    cem computes (cem_m_step_map in cem.h), nor each other: EEI keeps the
    unshrunk means and meeeip divides by dof + 1 + [kappa > 0] + n; EII
    leaves xi out, and mseiip takes the scatter about the shrunk means.
    Returns (weights, means, covariances) in cem's layout."""
    n, d = X.shape
    k = z.shape[1]
    kappa, mu_p, nu, xi = prior.shrinkage, prior.mean, prior.dof, float(np.ravel(prior.scale)[0])
    nk = z.sum(axis=0)
    xbar = z.T @ X / nk[:, None]
    e = xbar - mu_p
    pull = kappa * nk / (nk + kappa)
    shrunk = (nk[:, None] * xbar + kappa * mu_p) / (nk + kappa)[:, None]
    has_mean_prior = float(kappa > 0)
    if covariance_type == "tied_diag":
        shape = xi + sum(z[:, c] @ (X - xbar[c]) ** 2 + pull[c] * e[c] ** 2 for c in range(k))
        denom = nu + 1 + has_mean_prior + n if me else nu + nk.sum() + 2 + k * has_mean_prior
        return nk / n, xbar, shape / denom
    about = xbar if me else shrunk
    total = sum(pull[c] * e[c] @ e[c] + z[:, c] @ ((X - about[c]) ** 2).sum(axis=1)
                for c in range(k))
    denom = nu + (n + k) * d + 2 if me else nu + nk.sum() * d + 2 + k * d * has_mean_prior
    return nk / n, shrunk, np.array([total / denom])


def mclust_shared_run(covariance_type, n_steps):
    """mclust_shared_m_step as R's mstep (n_steps 1) or me (itmax n_steps)
    runs it from mclust_data's responsibilities: (flattened parameters,
    log-likelihood at them)."""
    X, z = mclust_data()
    from cem._prior import data_summary
    prior = default_prior(data_summary(data_source(X, None, "GMM"), 1), 3, covariance_type)
    params = mclust_shared_m_step(covariance_type, X, z, prior, me=n_steps > 1)
    for step in range(n_steps):
        log_joint = np.log(params[0]) + ref.log_gaussian_density(
            covariance_type, params[1], ref.precision_cholesky(covariance_type, params[2]), X)
        log_density = np.logaddexp.reduce(log_joint, axis=1)
        if step == n_steps - 1:
            break
        z = np.exp(log_joint - log_density[:, None])
        params = mclust_shared_m_step(covariance_type, X, z, prior, me=True)
    return cem_mclust_params(covariance_type, params), log_density.sum()


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="needs R with mclust")
def test_agreement_with_mclust(tmp_path):
    script = os.path.join(HERE, os.pardir, "asv_bench", "mclust_prior_check.R")
    out = subprocess.run(["Rscript", script, str(tmp_path)], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip(f"R's mclust is not usable: {out.stderr[-300:]}")
    report = []
    for covariance_type in TYPES:
        model = MCLUST_MODEL[covariance_type]
        read = lambda name: np.loadtxt(tmp_path / f"{model}_{name}.txt")  # noqa: E731
        mstep, _ = cem_mclust_run(covariance_type, 1)
        params5, loglik5 = cem_mclust_run(covariance_type, 5)
        r_mstep, r_me5 = read("mstep"), read("me5")
        diffs = (max_relative_difference(mstep, r_mstep),
                 max_relative_difference(params5, r_me5[:-1]),
                 abs(loglik5 - r_me5[-1]) / abs(r_me5[-1]))
        report.append(f"{covariance_type}/{model}: M-step {diffs[0]:.1e}, 5 iterations "
                      f"{diffs[1]:.1e}, loglik {diffs[2]:.1e}")
        if covariance_type in ("tied_diag", "tied_spherical"):
            # mclust's EEI / EII are not the posterior modes (see
            # mclust_shared_m_step): check that they are what we read in its
            # Fortran, and that cem's modes differ from them only slightly
            # (default prior: kappa = 0.01 against ~40 rows per component)
            mstep_r, _ = mclust_shared_run(covariance_type, 1)
            params5_r, loglik5_r = mclust_shared_run(covariance_type, 5)
            read_right = (max_relative_difference(mstep_r, r_mstep),
                          max_relative_difference(params5_r, r_me5[:-1]),
                          abs(loglik5_r - r_me5[-1]) / abs(r_me5[-1]))
            report[-1] += f" (mclust's own formulas transcribed: {max(read_right):.1e})"
            assert max(read_right) < 1e-10, report[-1]
            assert diffs[0] < 1e-2 and diffs[2] < 1e-3, report[-1]
            np.testing.assert_allclose(mstep[:3], r_mstep[:3], rtol=1e-12)  # weights
            continue
        assert max(diffs) < 1e-10, report[-1]
    print("\n".join(report))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_integer_weights_fit_like_duplicated_rows(covariance_type):
    """Sample weights are frequencies: the total weight is mclust's n, in the
    default prior and in the tied denominator alike."""
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(size=(40, 2)), rng.normal(size=(40, 2)) + 4])
    w = rng.integers(0, 4, size=80)
    precisions = {"full": np.stack([np.eye(2)] * 2), "tied": np.eye(2), "diag": np.ones((2, 2)),
                  "spherical": np.ones(2), "tied_diag": np.ones(2),
                  "tied_spherical": np.ones(1)}[covariance_type]
    kw = dict(covariance_type=covariance_type, prior="default", weights_init=[0.5, 0.5],
              means_init=[[0, 0], [4, 4]], precisions_init=precisions, tol=0.0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        a = cem.GMM(2, **kw).fit(X, sample_weight=w.astype(float))
        b = cem.GMM(2, **kw).fit(np.repeat(X, w, axis=0))
    for name in ("weights_", "means_", "covariances_", "lower_bound_"):
        # summation order differs: rounding only (a wrong n would move them ~1e-2)
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-8)


def test_float32_keeps_its_dtype_and_agrees_with_float64():
    rng = np.random.default_rng(7)
    X = np.vstack([rng.normal(size=(100, 3)), rng.normal(size=(100, 3)) + 5])
    kw = dict(prior="default", means_init=np.zeros((2, 3)) + [[0], [5]], tol=1e-10, max_iter=300)
    a = cem.GMM(2, **kw).fit(X.astype(np.float32))
    b = cem.GMM(2, **kw).fit(X.astype(np.float32).astype(np.float64))
    assert a.means_.dtype == np.float32 and a.covariances_.dtype == np.float32
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-5)
