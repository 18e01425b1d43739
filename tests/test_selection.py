"""Model selection: GMM.icl, cem.GMMSelection over (n_components x
covariance_type), its table, picture and command line."""
import shutil
import subprocess

import numpy as np
import pytest

from cem import GMM
from cem._params import fitted_attributes
from cem._reference import precision_cholesky
from cem._validation import COVARIANCE_TYPES


def separated_blobs(rng, n_per=200, d=2, k=3, sd=1.0, spacing=20.0):
    """k spherical blobs with equal spread on a line, spacing/sd apart."""
    centers = spacing * np.arange(k)[:, None] * np.ones(d)
    X = np.concatenate([c + sd * rng.normal(size=(n_per, d)) for c in centers])
    return X[rng.permutation(len(X))]


# --------------------------------------------------------------------------
# icl

@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_icl_is_bic_plus_the_hard_assignment_entropy(covariance_type):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(2, 1, (300, 2))]
    gmm = GMM(2, covariance_type=covariance_type, random_state=0).fit(X)
    resp = gmm.predict_proba(X)
    expected = gmm.bic(X) - 2 * np.log(resp.max(axis=1)).sum()
    assert gmm.icl(X) == pytest.approx(expected, rel=1e-12)
    assert gmm.icl(X) > gmm.bic(X) + 1.0  # overlapping blobs: a real penalty


def test_icl_equals_bic_when_every_row_is_certain():
    X = separated_blobs(np.random.default_rng(1), spacing=1000.0)
    gmm = GMM(3, covariance_type="spherical", random_state=0).fit(X)
    assert gmm.predict_proba(X).max(axis=1).min() == 1.0
    assert gmm.icl(X) == gmm.bic(X)


def test_icl_with_integer_weights_equals_icl_of_repeated_rows():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 2)) + np.repeat([[0, 0], [2, 2], [0, 3]], 50, axis=0)
    w = rng.integers(0, 4, size=150)
    gmm = GMM(3, random_state=0).fit(X)
    assert gmm.icl(X, sample_weight=w) == pytest.approx(gmm.icl(np.repeat(X, w, axis=0)),
                                                        rel=1e-12)


def test_icl_spans_several_chunks(monkeypatch):
    import cem._gmm
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(0, 1, (250, 2)), rng.normal(2, 1, (250, 2))]
    w = rng.uniform(0, 2, size=500)
    gmm = GMM(2, random_state=0).fit(X)
    whole = gmm.icl(X, w)
    monkeypatch.setattr(cem._gmm, "CHUNK_ROWS", 64)
    assert gmm.icl(X, w) == pytest.approx(whole, rel=1e-12)


def test_icl_before_fit_and_on_bad_input_raises():
    from cem import NotFittedError
    with pytest.raises(NotFittedError):
        GMM(2).icl(np.zeros((5, 2)))
    gmm = GMM(2, random_state=0).fit(np.random.default_rng(4).normal(size=(50, 2)))
    with pytest.raises(ValueError, match="features"):
        gmm.icl(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="Negative"):
        gmm.icl(np.zeros((5, 2)), sample_weight=-np.ones(5))


MCLUST_MODELS = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII"}
MCLUST_SCRIPT = """
library(mclust)
X <- as.matrix(read.csv("X.csv", header = FALSE))
for (m in c("VVV", "EEE", "VVI", "VII")) {
  fit <- Mclust(X, G = 3, modelNames = m, verbose = FALSE)
  # mclust keeps z and loglik of the E-step before its last M-step; take
  # them at the returned parameters, so both sides score the same model
  e <- estep(data = X, modelName = m, parameters = fit$parameters)
  fit$z <- e$z
  fit$bic <- bic(m, e$loglik, nrow(X), ncol(X), 3)
  p <- fit$parameters
  # column-major (d, G) and symmetric (d, d, G) read as row-major (G, d), (G, d, d)
  cat(m, format(c(fit$bic, icl(fit), p$pro, p$mean, p$variance$sigma), digits = 17), "\\n")
}
"""


def _mclust_available():
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(mclust)"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _mclust_available(), reason="needs R with mclust (optional reference)")
def test_icl_and_bic_agree_with_mclust(tmp_path):
    rng = np.random.default_rng(5)
    X = np.r_[rng.normal(0, 1, (200, 2)), rng.normal(2.5, 1, (200, 2)),
              np.c_[rng.normal(-2, 0.7, 200), rng.normal(3, 1.3, 200)]]
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", fmt="%.17g")
    (tmp_path / "icl.R").write_text(MCLUST_SCRIPT)
    out = subprocess.run(["Rscript", "icl.R"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    rows = {line.split()[0]: np.array(line.split()[1:], dtype=float)
            for line in out.splitlines() if line[:3] in MCLUST_MODELS.values()}
    k, d = 3, 2
    for covariance_type, model in MCLUST_MODELS.items():
        values = rows[model]
        bic, icl, pro = values[0], values[1], values[2:2 + k]
        means = values[2 + k:2 + k + k * d].reshape(k, d)
        sigma = values[2 + k + k * d:].reshape(k, d, d)
        cov = {"full": sigma, "tied": sigma[0], "diag": np.diagonal(sigma, axis1=1, axis2=2),
               "spherical": sigma[:, 0, 0]}[covariance_type]
        gmm = GMM(k, covariance_type=covariance_type)
        gmm.__dict__.update(fitted_attributes(
            (pro, means, cov, precision_cholesky(covariance_type, cov)), covariance_type,
            np.float64))
        gmm.n_features_in_ = d
        # mclust's criteria are higher-is-better: the negatives of ours
        assert gmm.bic(X) == pytest.approx(-bic, rel=1e-12)
        assert gmm.icl(X) == pytest.approx(-icl, rel=1e-12)


# --------------------------------------------------------------------------
# the shared initialisation

@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("weighted", [False, True])
def test_initial_stats_by_type_equals_initial_stats_of_each_type(init_params, weighted,
                                                                  monkeypatch):
    import cem._init
    from cem._init import initial_stats, initial_stats_by_type
    monkeypatch.setattr(cem._init, "CHUNK_ROWS", 97)  # several chunks
    rng = np.random.default_rng(6)
    X = separated_blobs(rng, n_per=100, d=3, spacing=3.0)
    w = rng.uniform(0, 2, len(X)) if weighted else None
    shared_rng = np.random.RandomState(3)
    shared = initial_stats_by_type(X, w, 4, COVARIANCE_TYPES, init_params, shared_rng, 2)
    for t in COVARIANCE_TYPES:
        own_rng = np.random.RandomState(3)
        stats, shift = initial_stats(X, w, 4, t, init_params, own_rng, 1)
        assert np.array_equal(shared[t][0], stats) and np.array_equal(shared[t][1], shift)
        # the rng advanced exactly as one initial_stats call
        assert np.array_equal(own_rng.get_state()[1], shared_rng.get_state()[1])
        assert own_rng.get_state()[2] == shared_rng.get_state()[2]


# --------------------------------------------------------------------------
# GMMSelection

def three_spherical_blobs(seed=0):
    """Three well-separated spherical blobs of different spreads in 3-D."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [15, 0, 0], [0, 15, 0]], dtype=float)
    X = np.concatenate([c + sd * rng.normal(size=(250, 3))
                        for c, sd in zip(centers, (0.5, 1.0, 2.0))])
    return X[rng.permutation(len(X))]


def two_elongated_blobs(seed=0):
    """Two blobs, each stretched along its own oblique direction: full."""
    rng = np.random.default_rng(seed)
    a = np.array([[3.0, 0.0], [2.5, 0.4]])
    b = np.array([[0.4, 2.5], [0.0, 3.0]])
    X = np.r_[rng.normal(size=(400, 2)) @ a, rng.normal(size=(400, 2)) @ b + [20, 0]]
    return X[rng.permutation(len(X))]


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_picks_the_true_model_on_separated_data(criterion):
    from cem import GMMSelection
    sel = GMMSelection(criterion=criterion, random_state=0).fit(three_spherical_blobs())
    assert sel.best_params_ == {"n_components": 3, "covariance_type": "spherical"}
    sel = GMMSelection(range(1, 6), criterion=criterion, random_state=0).fit(
        two_elongated_blobs())
    assert sel.best_params_ == {"n_components": 2, "covariance_type": "full"}


def test_results_are_a_table_of_every_candidate():
    pd = pytest.importorskip("pandas")
    from cem import GMM, GMMSelection
    X = three_spherical_blobs()
    sel = GMMSelection(range(1, 5), covariance_types=["diag", "full"], random_state=0).fit(X)
    table = pd.DataFrame(sel.results_)
    assert list(table.columns) == ["n_components", "covariance_type", "bic", "log_likelihood",
                                   "n_parameters", "n_iter", "converged", "fit_time", "status"]
    assert len(table) == 8
    assert list(zip(table.n_components, table.covariance_type)) == [
        (k, t) for k in range(1, 5) for t in ("diag", "full")]
    assert (table.status == "ok").all() and table.converged.all()
    assert (table.fit_time > 0).all() and (table.n_iter >= 1).all()
    assert sel.best_index_ == table.bic.idxmin()
    best = sel.best_estimator_
    assert isinstance(best, GMM) and best.n_components == 3
    row = table.iloc[sel.best_index_]
    assert row.bic == best.bic(X) and row.n_parameters == best._n_parameters()
    assert row.log_likelihood == pytest.approx(best.score(X) * len(X), rel=1e-12)
    assert row.n_iter == best.n_iter_
    assert sel.n_features_in_ == 3


def collapsing_data():
    """Three blobs and three identical far rows: without reg_covar the
    candidates that give those rows their own component cannot be fitted."""
    rng = np.random.default_rng(7)
    X = np.concatenate([c + sd * rng.normal(size=(300, 2))
                        for c, sd in (([0, 0], 1.0), ([8, 0], 0.5), ([0, 8], 2.0))])
    return np.r_[X, np.tile([[20.0, 20.0]], (3, 1))]


def test_a_failing_candidate_is_recorded_and_the_search_goes_on():
    from cem import GMM, GMMSelection
    X = collapsing_data()
    sel = GMMSelection(range(1, 7), reg_covar=0.0, random_state=0).fit(X)
    r = sel.results_
    failed = r["status"] != "ok"
    assert failed.any() and not failed.all()
    assert all("ill-defined empirical covariance" in s for s in r["status"][failed])
    assert np.isnan(r["bic"][failed]).all() and np.isnan(r["log_likelihood"][failed]).all()
    assert not r["converged"][failed].any() and (r["n_iter"][failed] == 0).all()
    assert (r["n_parameters"] > 0).all()
    # candidates after the first failure were still fitted
    first_failure = np.flatnonzero(failed)[0]
    assert (r["status"][first_failure + 1:] == "ok").any()
    # the failure is what the same GMM alone does
    k, t = r["n_components"][first_failure], r["covariance_type"][first_failure]
    with pytest.raises(ValueError, match="ill-defined"):
        GMM(k, covariance_type=t, reg_covar=0.0, random_state=0).fit(X)
    assert r["status"][sel.best_index_] == "ok"
    assert sel.best_index_ == int(np.nanargmin(r["bic"]))


def test_more_components_than_rows_fail_alone():
    from cem import GMMSelection
    X = np.random.default_rng(8).normal(size=(6, 2))
    sel = GMMSelection([1, 2, 7, 9], covariance_types="diag", random_state=0).fit(X)
    assert list(sel.results_["status"][:2]) == ["ok", "ok"]
    assert all("n_samples >= n_components" in s for s in sel.results_["status"][2:])


def test_when_every_candidate_fails_fit_raises_and_keeps_the_previous_fit():
    from cem import GMMSelection
    X = three_spherical_blobs()
    sel = GMMSelection([1, 2], random_state=0).fit(X)
    before = dict(vars(sel))
    sel.set_params(reg_covar=0.0)
    with pytest.raises(ValueError, match="No candidate.*ill-defined"):
        sel.fit(np.ones((20, 3)))
    after = vars(sel)
    assert after.keys() == before.keys()
    assert all(after[key] is before[key] for key in before if key != "reg_covar")


@pytest.mark.parametrize("params, exc, match", [
    (dict(n_components=[]), ValueError, "n_components"),
    (dict(n_components=0), ValueError, "n_components"),
    (dict(n_components=[1, 2.5]), ValueError, "n_components"),
    (dict(n_components="1-9"), ValueError, "n_components"),
    (dict(n_components=None), TypeError, "n_components"),
    (dict(covariance_types=["full", "bogus"]), ValueError, "covariance_types"),
    (dict(covariance_types=[]), ValueError, "covariance_types"),
    (dict(criterion="BIC"), ValueError, "criterion"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(max_iter="10"), TypeError, "max_iter"),
    (dict(init_params="nope"), ValueError, "init_params"),
    (dict(n_threads=0), ValueError, "n_threads"),
    (dict(random_state="seed"), ValueError, "seed"),
])
def test_bad_parameters_raise_at_fit(params, exc, match):
    from cem import GMMSelection
    sel = GMMSelection(**params)  # stored as given
    with pytest.raises(exc, match=match):
        sel.fit(three_spherical_blobs())
    assert not hasattr(sel, "results_")


def test_bad_input_raises_and_unfitted_use_raises():
    from cem import GMMSelection, NotFittedError
    X = three_spherical_blobs()
    with pytest.raises(NotFittedError):
        GMMSelection().predict(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GMMSelection([1, 2]).fit(bad)
    with pytest.raises(ValueError, match="sample_weight"):
        GMMSelection([1, 2]).fit(X, sample_weight=np.ones(5))
    sel = GMMSelection([1, 2], random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        sel.predict(X[:, :2])


def test_delegates_to_the_best_estimator():
    from cem import GMMSelection
    X = three_spherical_blobs()
    w = np.random.default_rng(9).uniform(0.5, 2, len(X))
    sel = GMMSelection(range(1, 5), random_state=0).fit(X, sample_weight=w)
    best = sel.best_estimator_
    assert np.array_equal(sel.predict(X), best.predict(X))
    assert np.array_equal(sel.predict_proba(X), best.predict_proba(X))
    assert np.array_equal(sel.score_samples(X), best.score_samples(X))
    assert sel.score(X, sample_weight=w) == best.score(X, sample_weight=w)
    for criterion in ("bic", "aic", "icl"):
        assert getattr(sel, criterion)(X, w) == getattr(best, criterion)(X, w)
    assert sel.bic(X, w) == sel.results_["bic"][sel.best_index_]
    Xs, ys = sel.sample(50)
    Xb, yb = best.sample(50)
    assert np.array_equal(Xs, Xb) and np.array_equal(ys, yb)
    assert np.array_equal(GMMSelection(range(1, 5), random_state=0).fit_predict(X),
                          GMMSelection(range(1, 5), random_state=0).fit(X).predict(X))


def test_scikit_learn_protocol_clone_pipeline_repr():
    pytest.importorskip("sklearn")
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from cem import GMMSelection
    sel = GMMSelection(range(1, 5), covariance_types=("diag", "spherical"), criterion="icl",
                       n_init=2, random_state=3)
    assert repr(sel) == ("GMMSelection(n_components=range(1, 5), covariance_types=('diag', "
                         "'spherical'), criterion='icl', n_init=2, random_state=3)")
    assert repr(GMMSelection()) == "GMMSelection()"
    params = sel.get_params()
    assert params["n_components"] == range(1, 5) and params["criterion"] == "icl"
    twin = clone(sel)
    assert twin is not sel and twin.get_params() == params
    assert sel.set_params(criterion="bic") is sel and sel.criterion == "bic"
    with pytest.raises(ValueError, match="Invalid parameter"):
        sel.set_params(n_component=3)
    X = three_spherical_blobs()
    pipe = make_pipeline(StandardScaler(), clone(twin)).fit(X)
    scaled = StandardScaler().fit_transform(X)
    alone = clone(twin).fit(scaled)
    assert np.array_equal(pipe.predict(X), alone.predict(scaled))
    assert pipe.score(X) == alone.score(scaled)
    assert pipe[-1].best_params_ == alone.best_params_
    import pickle
    copy = pickle.loads(pickle.dumps(alone))
    assert np.array_equal(copy.predict_proba(scaled), alone.predict_proba(scaled))
    assert twin.__sklearn_tags__().estimator_type == "density_estimator"


def test_scikit_learn_estimator_checks_fail_only_where_gmms_do():
    pytest.importorskip("sklearn")
    import warnings
    from sklearn.utils.estimator_checks import check_estimator
    from cem import GMM, GMMSelection

    def failed(estimator):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {r["check_name"] for r in check_estimator(estimator, on_fail=None)
                    if r["status"] == "failed"}

    # the defaults (a range would fail check_parameters_default_constructible)
    assert GMMSelection().get_params()["n_components"] == tuple(range(1, 10))
    assert failed(GMMSelection(range(1, 4), random_state=0)) <= failed(GMM(2, random_state=0))


def _individual_fit(params, X, w, **gmm_params):
    import warnings
    from cem import ConvergenceWarning, GMM
    gmm = GMM(**params, **gmm_params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            return gmm.fit(X, sample_weight=w)
        except ValueError as exc:
            return str(exc)


def assert_candidates_equal_individual_fits(sel, X, w, **gmm_params):
    """Every row of results_ is what GMM(k, covariance_type=t, **gmm_params)
    .fit(X) gives alone, bit for bit; so is best_estimator_."""
    r = sel.results_
    for i in range(len(r["status"])):
        params = {"n_components": int(r["n_components"][i]),
                  "covariance_type": r["covariance_type"][i]}
        gmm = _individual_fit(params, X, w, **gmm_params)
        if isinstance(gmm, str):
            assert r["status"][i] == gmm
            continue
        assert r["status"][i] == "ok"
        assert r[sel.criterion][i] == getattr(gmm, sel.criterion)(X, w)
        assert r["log_likelihood"][i] == gmm._log_likelihood(X, w)[0]
        assert r["n_iter"][i] == gmm.n_iter_ and r["converged"][i] == gmm.converged_
        if i == sel.best_index_:
            for name in ("weights_", "means_", "covariances_", "precisions_",
                         "precisions_cholesky_", "lower_bound_", "lower_bounds_", "n_iter_",
                         "converged_"):
                a, b = getattr(sel.best_estimator_, name), getattr(gmm, name)
                assert np.array_equal(a, b), name
                assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random", "random_from_data"])
@pytest.mark.parametrize("criterion", ["bic", "aic", "icl"])
def test_every_candidate_equals_its_individual_fit_bit_for_bit(init_params, criterion):
    from cem import GMMSelection
    rng = np.random.default_rng(10)
    X = separated_blobs(rng, n_per=150, d=3, spacing=4.0)
    w = rng.uniform(0, 3, len(X))
    gmm_params = dict(init_params=init_params, n_init=2, max_iter=30, random_state=11)
    sel = GMMSelection(range(1, 6), criterion=criterion, n_threads=2, **gmm_params)
    sel.fit(X, sample_weight=w)
    assert_candidates_equal_individual_fits(sel, X, w, **gmm_params)


def test_failures_equal_individual_failures_and_float32():
    from cem import GMMSelection
    X = collapsing_data().astype(np.float32)
    gmm_params = dict(reg_covar=0.0, random_state=0)
    sel = GMMSelection(range(1, 6), **gmm_params).fit(X)
    assert sel.best_estimator_.means_.dtype == np.float32
    assert_candidates_equal_individual_fits(sel, X, None, **gmm_params)


def test_results_do_not_depend_on_n_threads():
    from cem import GMMSelection
    X = three_spherical_blobs()
    runs = [GMMSelection(range(1, 6), random_state=0, n_threads=t).fit(X).results_
            for t in (1, 2, 3)]
    for r in runs[1:]:
        for key in r:
            if key != "fit_time":
                assert np.array_equal(r[key], runs[0][key]), key


def test_random_state_none_or_instance_seeds_every_candidate_alike():
    from cem import GMMSelection
    X = three_spherical_blobs()
    a = GMMSelection(range(1, 4), random_state=np.random.RandomState(5)).fit(X)
    b = GMMSelection(range(1, 4), random_state=np.random.RandomState(5)).fit(X)
    seed = a.best_estimator_.random_state
    assert isinstance(seed, int) and seed == b.best_estimator_.random_state
    assert np.array_equal(a.results_["bic"], b.results_["bic"])
    assert_candidates_equal_individual_fits(a, X, None, random_state=seed)
    c = GMMSelection(range(1, 4)).fit(X)
    assert isinstance(c.best_estimator_.random_state, int)


def test_only_the_chosen_models_convergence_warning_reaches_the_user():
    import warnings
    from cem import ConvergenceWarning, GMMSelection
    X = three_spherical_blobs()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sel = GMMSelection(range(1, 5), max_iter=1, tol=0.0, random_state=0).fit(X)
    assert not sel.results_["converged"].any()
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(messages) == 1 and "chosen model" in messages[0]


def test_dataframe_feature_names_pass_to_the_best_estimator():
    pd = pytest.importorskip("pandas")
    from cem import GMMSelection
    X = pd.DataFrame(three_spherical_blobs(), columns=["a", "b", "c"])
    sel = GMMSelection(range(1, 5), random_state=0).fit(X)
    assert list(sel.feature_names_in_) == ["a", "b", "c"]
    assert list(sel.best_estimator_.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):  # as sklearn
        assert np.array_equal(sel.predict(X), sel.predict(X.to_numpy()))
    with pytest.raises(ValueError, match="feature names"):
        sel.predict(X.rename(columns={"a": "z"}))
    sel.fit(X.to_numpy())
    assert not hasattr(sel, "feature_names_in_")


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2 ** 16), n=st.integers(8, 120), d=st.integers(1, 4),
       weighted=st.booleans(), float32=st.booleans(), view=st.sampled_from(["c", "f", "step"]),
       init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]))
def test_property_candidates_equal_individual_fits(seed, n, d, weighted, float32, view,
                                                   init_params):
    import warnings
    from cem import ConvergenceWarning, GMMSelection
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(2 * n if view == "step" else n, d)) + rng.integers(0, 3, (1, d))
    X = {"c": base, "f": np.asfortranarray(base), "step": base[::2]}[view]
    if float32:
        X = X.astype(np.float32)
    w = rng.uniform(0, 2, n) if weighted else None
    gmm_params = dict(init_params=init_params, max_iter=20, random_state=seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is small
            sel = GMMSelection(range(1, 4), **gmm_params).fit(X, sample_weight=w)
    except ValueError as exc:  # only when no candidate can be fitted
        assert "No candidate" in str(exc)
        return
    assert_candidates_equal_individual_fits(sel, X, w, **gmm_params)


# --------------------------------------------------------------------------
# the table, the picture and `cem select`

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_format_results_marks_the_chosen_model_and_lists_failures():
    from cem import GMMSelection, format_results
    sel = GMMSelection(range(1, 6), reg_covar=0.0, random_state=0).fit(collapsing_data())
    text = format_results(sel)
    lines = text.splitlines()
    assert lines[0].split() == ["k", "covariance", "BIC", "log-likelihood", "parameters",
                                "iterations", "converged", "time", "(ms)", "status"]
    body = lines[1:1 + len(sel.results_["status"])]
    chosen = [line for line in body if line.startswith("*")]
    assert len(chosen) == 1
    r, i = sel.results_, sel.best_index_
    assert chosen[0].split()[1:4] == [str(r["n_components"][i]), r["covariance_type"][i],
                                      f"{r['bic'][i]:.2f}"]
    assert sum("failed [1]" in line for line in body) == (r["status"] != "ok").sum()
    assert lines[-1].startswith("[1] Fitting the mixture model failed")
    with pytest.raises(ValueError, match="not fitted"):
        format_results(GMMSelection())


@pytest.mark.parametrize("criterion", ["bic", "icl"])
def test_plot_criterion_writes_a_png_with_a_line_per_type(tmp_path, criterion):
    pytest.importorskip("matplotlib")
    from cem import GMMSelection, plot_criterion
    sel = GMMSelection(range(1, 6), criterion=criterion, reg_covar=0.0,
                       random_state=0).fit(collapsing_data())
    path = tmp_path / "criterion.png"
    fig = plot_criterion(sel, path)
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 20_000
    ax = fig.axes[0]
    assert ax.get_ylabel() == f"{criterion.upper()} (lower is better)"
    assert ax.get_xlabel() == "number of components k"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:6] == ["full (VVV)", "tied (EEE)", "diag (VVI)", "spherical (VII)",
                          "tied_diag (EEI)", "tied_spherical (EII)"]
    assert labels[6].startswith("chosen: k = ") and "failed" in labels[7]
    r = sel.results_
    full = ax.lines[0].get_ydata()
    expected = np.where(r["status"] == "ok", r[criterion], np.nan)[r["covariance_type"] == "full"]
    assert np.array_equal(full, expected, equal_nan=True)
    ring = ax.lines[6]  # after the six lines of the types
    assert ring.get_xdata()[0] == r["n_components"][sel.best_index_]


def test_plot_criterion_draws_into_given_axes(tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    from cem import GMMSelection, plot_criterion
    sel = GMMSelection([1, 2, 3], covariance_types=["diag"], random_state=0).fit(
        three_spherical_blobs())
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_criterion(sel, tmp_path / "two.png", ax=right) is fig
    assert len(left.lines) == 0 and len(right.lines) == 2
    assert (tmp_path / "two.png").read_bytes()[:8] == PNG_MAGIC


def test_plot_criterion_leaves_the_pyplot_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    from cem import GMMSelection, plot_criterion
    backend = matplotlib.get_backend()
    sel = GMMSelection([1, 2], random_state=0).fit(three_spherical_blobs())
    plot_criterion(sel, tmp_path / "a.png")
    assert matplotlib.get_backend() == backend


def _select_args(argv):
    from cem._cli import build_parser
    return build_parser().parse_args(argv)


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_cli_select_prints_the_table_and_the_chosen_model(tmp_path, suffix):
    import io
    from cem import _cli_select
    X = three_spherical_blobs()
    path = tmp_path / f"data{suffix}"
    if suffix == ".npy":
        np.save(path, X)
    else:
        np.savetxt(path, X, delimiter=",", header="a,b,c", comments="")
    out = io.StringIO()
    args = _select_args(["select", str(path), "-k", "1-5", "--covariance-types", "full",
                         "spherical", "--criterion", "icl", "--plot", str(tmp_path / "c.png")])
    sel = _cli_select.run_select(args, out=out)
    text = out.getvalue()
    assert f"{len(X)} rows, 3 features, 10 candidates by ICL" in text
    assert "chosen: k = 3, covariance_type = 'spherical', ICL = " in text
    assert sum(line.startswith("*") for line in text.splitlines()) == 1
    assert sel.get_params()["n_components"] == [1, 2, 3, 4, 5]
    assert sel.criterion == "icl" and sel.random_state == 0
    assert (tmp_path / "c.png").read_bytes()[:8] == PNG_MAGIC
    # and through the command's entry point, exit status 0
    from cem._cli import main
    out = io.StringIO()
    assert main(["select", str(path), "-k", "2-3", "--covariance-types", "spherical"],
                out=out) == 0
    assert "chosen: k = 3, covariance_type = 'spherical'" in out.getvalue()


def test_cli_select_without_matplotlib_stops_before_fitting(tmp_path, monkeypatch, capsys):
    import sys
    from cem import _cli_select
    from cem._cli import USER_ERROR, main
    np.save(tmp_path / "x.npy", three_spherical_blobs())
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    monkeypatch.setattr(_cli_select.GMMSelection, "fit", lambda *a, **k: pytest.fail("fitted"))
    assert main(["select", str(tmp_path / "x.npy"), "--plot", str(tmp_path / "p.png")]) \
        == USER_ERROR
    assert "needs matplotlib" in capsys.readouterr().err


def test_cli_select_names_the_file_of_bad_data(tmp_path, capsys):
    from cem._cli import USER_ERROR, main
    (tmp_path / "bad.csv").write_text("1,2\n3,x\n")
    assert main(["select", str(tmp_path / "bad.csv"), "-k", "1"]) == USER_ERROR
    err = capsys.readouterr().err
    assert "bad.csv" in err and "Traceback" not in err


@pytest.mark.parametrize("spec, ks", [("1-9", list(range(1, 10))), ("3", [3]),
                                      ("2-4,8", [2, 3, 4, 8]), ("5,1,1", [1, 5])])
def test_cli_select_parses_component_ranges(spec, ks):
    assert _select_args(["select", "x.npy", "-k", spec]).k == ks


@pytest.mark.parametrize("spec", ["0-3", "a", "3-", ""])
def test_cli_select_rejects_bad_component_ranges(spec, capsys):
    with pytest.raises(SystemExit):
        _select_args(["select", "x.npy", "-k", spec])
    assert "-k" in capsys.readouterr().err


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2 ** 16), n=st.integers(5, 80), d=st.integers(1, 3),
       k=st.integers(1, 4), covariance_type=st.sampled_from(COVARIANCE_TYPES),
       weighted=st.booleans(), float32=st.booleans())
def test_property_icl_is_at_least_bic(seed, n, d, k, covariance_type, weighted, float32):
    import warnings
    from cem import ConvergenceWarning
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10) + rng.integers(0, 3, size=(n, 1))
    if float32:
        X = X.astype(np.float32)
    w = rng.uniform(0, 2, n) if weighted else None
    gmm = GMM(min(k, n), covariance_type=covariance_type, max_iter=10, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            gmm.fit(X, sample_weight=w)
        except ValueError:
            return  # a collapsed component: nothing to score
    bic, icl = gmm.bic(X, w), gmm.icl(X, w)
    entropy = -2 * np.dot(np.ones(n) if w is None else w,
                          np.log(gmm.predict_proba(X).astype(np.float64).max(axis=1)))
    assert icl >= bic and np.isfinite(icl)
    assert icl - bic == pytest.approx(entropy, rel=1e-6, abs=1e-6 * (1 + abs(bic)))
