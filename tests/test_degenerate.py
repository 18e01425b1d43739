"""on_degenerate: 'raise' is scikit-learn's "ill-defined empirical covariance"
error, bit for bit; 'reseed' fits where scikit-learn raises, records every
event, ends with finite parameters and a bound that never decreases after
the last re-seed, gives the same fit from chunked sources, and gives up
with a clear error after 3 * n_components events."""
import re
import warnings
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cem
import cem._degenerate
import cem._sources
from cem import GMM
from cem._degenerate import MAX_RESEEDS_PER_COMPONENT, worst_rows
from cem._params import ill_defined_message
from conftest import blobs, write_memmap

GaussianMixture = pytest.importorskip("sklearn.mixture").GaussianMixture

# What a reseeding fit may refuse with: the cap; a covariance no re-seed can
# mend ('tied', or the whole data's singular); random_from_data's row count.
REFUSALS = ("on_degenerate='reseed' gave up at iteration|Fitting the mixture model failed "
            "because some components have ill-defined empirical covariance.*"
            "(a 'tied' covariance is pooled|the covariance of the whole data)|"
            "random_from_data needs n_components")
EVENT_KEYS = {"iteration", "component", "reason", "action", "rows", "weight"}


def duplicated_clusters(seed):
    """One or two Gaussian clusters and a few points each repeated a few
    times (2-D): with reg_covar=0 a component that settles on repeated
    points has a singular covariance."""
    rng = np.random.RandomState(seed)
    parts = [rng.normal(rng.uniform(-10, 10, 2), 1, (rng.randint(20, 80), 2))
             for _ in range(rng.randint(1, 3))]
    points = rng.uniform(-10, 10, (rng.randint(2, 4), 2))
    parts.append(np.repeat(points, rng.randint(2, 8), axis=0))
    return np.vstack(parts)


# (seed of duplicated_clusters, n_components, covariance_type, init_params):
# scikit-learn raises on each (asserted below); found by a search over seeds.
RESCUED = [(150, 2, "full", "kmeans"), (167, 2, "diag", "kmeans"), (34, 3, "full", "kmeans"),
           (107, 2, "diag", "kmeans"), (422, 2, "full", "kmeans"), (1, 2, "full", "k-means++")]


def params_of(case):
    seed, k, cov, init = case
    return duplicated_clusters(seed), dict(n_components=k, covariance_type=cov,
                                           init_params=init, reg_covar=0.0, random_state=seed)


def fit_quietly(gmm, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        return gmm.fit(X, **kw)


def assert_sane_fit(gmm, X, monotone=True):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.isfinite(getattr(gmm, name)).all(), name
    np.testing.assert_allclose(gmm.weights_.sum(), 1.0, rtol=1e-6)
    assert np.isfinite(gmm.score(X))
    for event in gmm.degenerate_events_:
        assert set(event) == EVENT_KEYS
        assert 0 <= event["component"] < gmm.n_components
        assert event["reason"] in ("ill_defined_covariance", "collapsed_weight")
        assert event["action"] in ("widened", "reseeded")
        assert all(0 <= r < X.shape[0] for r in event["rows"])
    if monotone:
        last = gmm.degenerate_events_[-1]["iteration"] if gmm.degenerate_events_ else 0
        bounds = np.array(gmm.lower_bounds_[last:])
        # EM from the re-seeded model: the bound never decreases (to rounding)
        assert (np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]).max(initial=1.0)).all(), bounds


@pytest.mark.parametrize("case", RESCUED)
def test_default_raises_exactly_as_scikit_learn(case):
    X, params = params_of(case)
    with pytest.raises(ValueError) as theirs:
        GaussianMixture(**params).fit(X)
    with pytest.raises(ValueError) as ours:
        GMM(**params).fit(X)
    assert str(ours.value) == str(theirs.value) == ill_defined_message(np.float64)


@pytest.mark.parametrize("case", RESCUED)
def test_reseed_fits_where_scikit_learn_raises(case):
    X, params = params_of(case)
    gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    assert gmm.degenerate_events_, "the fit must have met the degeneracy scikit-learn met"
    assert gmm.converged_
    assert_sane_fit(gmm, X)


def test_events_of_a_reseed_in_an_iteration():
    """The event says where the component went: the mean of the d + 1 rows
    the model explained worst, with their share of the weight."""
    X, params = params_of((150, 2, "full", "kmeans"))
    with mock.patch.object(cem._degenerate, "worst_rows", wraps=worst_rows) as spy:
        gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    reseeds = [e for e in gmm.degenerate_events_ if e["action"] == "reseeded"]
    assert reseeds and spy.call_count == len({e["iteration"] for e in reseeds})
    for event in reseeds:
        assert event["iteration"] >= 1
        assert len(event["rows"]) == X.shape[1] + 1
        assert event["weight"] == pytest.approx(len(event["rows"]) / X.shape[0])


def test_random_from_data_with_zero_reg_covar_widens_every_component():
    """scikit-learn starts each component on one row, a zero covariance:
    with reg_covar=0 it always raises. 'reseed' gives each the data's."""
    X = blobs(np.random.default_rng(0), n=300, d=2, k=3)
    params = dict(n_components=3, init_params="random_from_data", reg_covar=0.0, random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(**params).fit(X)
    gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    widened = [e for e in gmm.degenerate_events_ if e["iteration"] == 0]
    assert [e["component"] for e in widened] == [0, 1, 2]
    assert all(e["action"] == "widened" and e["rows"] == [] for e in widened)
    assert_sane_fit(gmm, X)


def test_collapsed_weight_is_reseeded():
    """A component started far from every row gets no responsibility: with
    reg_covar > 0 its covariance stays positive definite (the default fits
    with a dead component), 'reseed' moves it onto the data."""
    X = blobs(np.random.default_rng(1), n=400, d=2, k=3)
    means = np.vstack([X[:2], [[1e3, 1e3]]])
    params = dict(n_components=3, means_init=means, random_state=0)
    dead = fit_quietly(GMM(**params), X)
    assert dead.weights_[2] < 1e-10 and dead.degenerate_events_ == []
    gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    first = gmm.degenerate_events_[0]
    assert (first["iteration"], first["component"], first["reason"]) == (1, 2, "collapsed_weight")
    assert gmm.weights_.min() > 1.0 / X.shape[0]
    assert gmm.score(X) > dead.score(X)
    assert_sane_fit(gmm, X)


@pytest.mark.parametrize("cov", ["full", "diag", "spherical"])
def test_empty_component_without_reg_covar_is_ill_defined(cov):
    """No weight and reg_covar=0: a zero covariance (the one-component
    M-step that finds the culprit refused a weightless component, and the
    fit died with the C core's message)."""
    X = blobs(np.random.default_rng(1), n=400, d=2, k=3)
    params = dict(n_components=3, covariance_type=cov, reg_covar=0.0, random_state=0,
                  means_init=np.vstack([X[:2], [[1e3, 1e3]]]))
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(**params).fit(X)
    gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    first = gmm.degenerate_events_[0]
    assert (first["iteration"], first["component"], first["reason"]) == \
        (1, 2, "ill_defined_covariance")
    assert_sane_fit(gmm, X)


@pytest.mark.parametrize("cov", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init", ["kmeans", "random_from_data"])
def test_reseed_is_bit_identical_to_raise_when_nothing_degenerates(cov, init):
    X = blobs(np.random.default_rng(2), n=500, d=3, k=3)
    kw = dict(covariance_type=cov, init_params=init, random_state=3, n_init=2)
    plain = fit_quietly(GMM(3, **kw), X)
    reseed = fit_quietly(GMM(3, on_degenerate="reseed", **kw), X)
    assert reseed.degenerate_events_ == [] == plain.degenerate_events_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(reseed, name), getattr(plain, name))
    assert reseed.lower_bounds_ == plain.lower_bounds_


def test_cap_raises_a_clear_error_and_leaves_the_estimator_unchanged():
    """Three repeated points far apart and reg_covar=0: the likelihood is
    unbounded, every re-seeded component collapses again."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2)),
                   np.tile([[4.0, -6.0]], (20, 1))])
    gmm = fit_quietly(GMM(2, on_degenerate="reseed", random_state=0), X)
    before = dict(gmm.__dict__)
    gmm.set_params(n_components=3, reg_covar=0.0)
    with pytest.raises(ValueError, match=r"gave up at iteration \d+: components kept degenerating "
                       rf"\(ill_defined_covariance\) after {3 * MAX_RESEEDS_PER_COMPONENT} "
                       r"re-seeds.*decrease n_components or increase reg_covar"):
        gmm.fit(X)
    after = dict(gmm.__dict__)
    assert after.pop("n_components") == 3 and after.pop("reg_covar") == 0.0
    before.pop("n_components"), before.pop("reg_covar")
    assert after.keys() == before.keys()
    assert all(after[k] is before[k] for k in before)


def test_past_the_cap_a_light_component_is_kept_as_raise_keeps_it():
    """Re-seeding a component that is only light is an improvement: when it
    cannot be made, the fit goes on as on_degenerate='raise' would."""
    X, params = collapsing_problem()
    with mock.patch.object(cem._degenerate, "MAX_RESEEDS_PER_COMPONENT", 0):
        gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    plain = fit_quietly(GMM(**params), X)
    assert gmm.degenerate_events_ == []
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(gmm, name), getattr(plain, name))


def test_past_the_cap_a_covariance_that_is_not_positive_definite_raises():
    X, params = collapsing_problem()
    params["reg_covar"] = 0.0
    with mock.patch.object(cem._degenerate, "MAX_RESEEDS_PER_COMPONENT", 0):
        with pytest.raises(ValueError, match=r"gave up at iteration 1: components kept "
                           r"degenerating \(ill_defined_covariance\) after 0 re-seeds"):
            GMM(on_degenerate="reseed", **params).fit(X)


def test_tied_covariance_is_not_reseeded():
    """A tied covariance is pooled over the components: re-seeding one
    cannot mend it, so it raises, saying so."""
    X = np.repeat(np.random.RandomState(0).normal(size=(3, 2)), 10, axis=0)
    params = dict(covariance_type="tied", reg_covar=0.0, random_state=0)
    with pytest.raises(ValueError, match="ill-defined empirical covariance"):
        GaussianMixture(3, **params).fit(X)
    with pytest.raises(ValueError, match="a 'tied' covariance is pooled over all of them"):
        GMM(3, on_degenerate="reseed", **params).fit(X)


# Three distinct points in 3-D, the first twice and three times: every
# covariance is singular. The first is the case Hypothesis found; the others
# were found by a search after the k-means sums changed their rounding (then
# the first's default fit happened to keep a steady bound).
SINGULAR_TO_ROUNDING = [
    [[0.5, 2.2, 1.0], [0.4, -0.8, 1.5], [-0.6, 3.9, 4.6]],
    [[2.7, 4.0, -0.1], [-0.9, -0.6, 1.9], [2.6, 2.4, 0.9]],
    [[1.4, 0.9, 2.7], [1.6, 4.8, 3.1], [0.2, 1.6, 1.1]],
    [[3.8, 4.3, 4.4], [3.0, 0.6, 0.5], [4.1, 2.2, 3.8]],
]


def test_covariance_singular_to_rounding_is_refused_not_fitted():
    """A singular covariance that rounding lets through the Cholesky
    factorisation: the default goes on with log-densities of rounding noise
    (its bound falls). 'reseed' went on the same way (Hypothesis found it);
    now it says why it stops -- on every case where the default fit shows
    the noise, and rounding must show it on at least two of them."""
    params = dict(n_components=1, reg_covar=0.0, max_iter=5, random_state=0)
    noisy_cases = 0
    for points in SINGULAR_TO_ROUNDING:
        X = np.array(points)[[0, 1, 0, 1, 2, 0]]
        noisy = fit_quietly(GMM(**params), X)
        if not (np.diff(noisy.lower_bounds_) < -0.01).any():
            continue  # this rounding kept a steady (meaningless) bound
        noisy_cases += 1
        with pytest.raises(ValueError, match="the covariance of the whole data, which a "
                                             "re-seeded component starts from, is singular too"):
            GMM(on_degenerate="reseed", **params).fit(X)
    assert noisy_cases >= 2


def test_data_on_a_line_cannot_be_reseeded_and_says_so():
    t = np.random.RandomState(0).normal(size=50)
    X = np.column_stack([t, 2 * t])
    with pytest.raises(ValueError, match="the covariance of the whole data"):
        GMM(2, on_degenerate="reseed", reg_covar=0.0, random_state=0).fit(X)


def test_invalid_on_degenerate_is_refused():
    with pytest.raises(cem.InvalidParameterError,
                       match=r"The 'on_degenerate' parameter of GMM must be a str among "
                             r"\{'raise', 'reseed'\}. Got 'ignore' instead."):
        GMM(on_degenerate="ignore").fit(np.zeros((4, 1)))


# ------------------------------------------------------- sources, weights, dtypes
# Whether the covariance of a component sitting on repeated rows comes out
# exactly singular, or positive by a rounding error, depends on the order its
# statistics were summed in. So sources that sum in other orders (several
# chunks, other weights) are compared on problems whose events do not hang
# on rounding: a component that loses all its weight, and the initial
# widening; sources that sum in the same order must agree bit for bit.
def collapsing_problem():
    X = blobs(np.random.default_rng(1), n=400, d=2, k=3)
    return X, dict(n_components=3, means_init=np.vstack([X[:2], [[1e3, 1e3]]]),
                   random_state=0)


def collapsing_problem_all_init():
    """All three *_init: a chunk stream is then never sampled, and the
    weight rule counts its rows in a pass of its own."""
    X, params = collapsing_problem()
    params.update(weights_init=np.full(3, 1 / 3), precisions_init=np.array([np.eye(2)] * 3))
    return X, params


def widening_problem():
    X = blobs(np.random.default_rng(0), n=300, d=2, k=3)
    return X, dict(n_components=3, init_params="random_from_data", reg_covar=0.0,
                   random_state=0)


def assert_same_events_and_fit(a, b, rtol=1e-9):
    assert a.degenerate_events_
    assert [{**e, "weight": None} for e in a.degenerate_events_] == \
        [{**e, "weight": None} for e in b.degenerate_events_]
    np.testing.assert_allclose([e["weight"] or 0 for e in a.degenerate_events_],
                               [e["weight"] or 0 for e in b.degenerate_events_], rtol=rtol)
    assert a.n_iter_ == b.n_iter_
    for name in ("weights_", "means_", "covariances_"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(b.lower_bounds_, a.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("case", RESCUED)
def test_memmap_fits_bit_for_bit_as_in_memory(case, tmp_path):
    """One chunk: the same sums, the same events, the same bits."""
    X, params = params_of(case)
    ref = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    got = fit_quietly(GMM(on_degenerate="reseed", **params), write_memmap(tmp_path / "X.dat", X))
    assert ref.degenerate_events_ == got.degenerate_events_
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))


@pytest.mark.parametrize("problem", [collapsing_problem, collapsing_problem_all_init,
                                     widening_problem])
def test_chunked_sources_fit_as_in_memory(problem, tmp_path):
    """Memmap, chunk stream and Dask array in many chunks: the worst rows
    are found over every chunk, with global row indices."""
    X, params = problem()
    ref = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    with mock.patch.object(cem._sources, "CHUNK_ROWS", 17), \
            mock.patch.object(cem._degenerate, "CHUNK_ROWS", 17):
        got = fit_quietly(GMM(on_degenerate="reseed", **params), write_memmap(tmp_path / "X.dat", X))
        stream = fit_quietly(GMM(on_degenerate="reseed", **params),
                             lambda: (X[s:s + 13] for s in range(0, len(X), 13)))
    assert_same_events_and_fit(ref, got)
    assert_same_events_and_fit(ref, stream)
    da = pytest.importorskip("dask.array")
    lazy = fit_quietly(GMM(on_degenerate="reseed", **params), da.from_array(X, chunks=(23, 2)))
    assert_same_events_and_fit(ref, lazy)


def test_worst_rows_are_the_lowest_log_densities_in_any_chunking():
    X = blobs(np.random.default_rng(5), n=500, d=3, k=2)
    gmm = GMM(2, random_state=0).fit(X)
    ld = gmm.score_samples(X)
    expected = np.lexsort((np.arange(len(X)), ld))[:7]
    for rows in (1, 6, 64, 10_000):
        with mock.patch.object(cem._degenerate, "CHUNK_ROWS", rows):
            source = cem._sources.data_source(X, None, "GMM")
            found, w, index, total, n = worst_rows(source, "full", gmm._c_params(), 7, 1)
        np.testing.assert_array_equal(index, expected)
        np.testing.assert_array_equal(found, X[expected])
        assert (total, n) == (500.0, 500) and (w == 1).all()


def test_uniform_sample_weight_fits_as_unweighted_and_zero_weights_are_never_seeds():
    X, params = collapsing_problem()
    ref = fit_quietly(GMM(on_degenerate="reseed", **params), X)
    doubled = fit_quietly(GMM(on_degenerate="reseed", **params), X,
                          sample_weight=np.full(len(X), 2.0))
    assert_same_events_and_fit(ref, doubled)
    # dropping the rows the first re-seed used: they must not be used again
    used = ref.degenerate_events_[0]["rows"]
    w = np.ones(len(X))
    w[used] = 0.0
    gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X, sample_weight=w)
    assert_sane_fit(gmm, X)
    assert gmm.degenerate_events_
    for event in gmm.degenerate_events_:
        assert not set(event["rows"]) & set(used)


def test_weighted_dask_array_fits_as_in_memory():
    da = pytest.importorskip("dask.array")
    X, params = collapsing_problem()
    w = np.random.default_rng(0).integers(0, 3, len(X)).astype(float)
    ref = fit_quietly(GMM(on_degenerate="reseed", **params), X, sample_weight=w)
    lazy = fit_quietly(GMM(on_degenerate="reseed", **params), da.from_array(X, chunks=(23, 2)),
                       sample_weight=da.from_array(w, chunks=23))
    assert_same_events_and_fit(ref, lazy)
    assert all(w[r] > 0 for e in ref.degenerate_events_ for r in e["rows"])


@pytest.mark.parametrize("case", RESCUED[:3])
def test_reseeding_fits_are_bit_identical_for_any_n_threads(case):
    X = np.tile(params_of(case)[0], (60, 1))  # enough rows for several partitions
    params = params_of(case)[1]
    fits = []
    for n_threads in (1, 2, 3):
        try:
            fits.append(fit_quietly(GMM(on_degenerate="reseed", n_threads=n_threads, **params),
                                    X))
        except ValueError as exc:
            fits.append(str(exc))
    for other in fits[1:]:
        if isinstance(fits[0], str):
            assert other == fits[0]
            continue
        assert other.degenerate_events_ == fits[0].degenerate_events_
        for name in ("weights_", "means_", "covariances_"):
            np.testing.assert_array_equal(getattr(other, name), getattr(fits[0], name))


def test_float32_n_init_and_warm_start():
    X, params = params_of(RESCUED[0])
    X32 = X.astype(np.float32)
    gmm = fit_quietly(GMM(on_degenerate="reseed", **{**params, "n_init": 3}), X32)
    assert gmm.means_.dtype == np.float32 and gmm.degenerate_events_
    assert_sane_fit(gmm, X32)
    gmm.set_params(warm_start=True)
    fit_quietly(gmm, X32)
    assert_sane_fit(gmm, X32)
    assert all(e["iteration"] >= 1 for e in gmm.degenerate_events_)  # no initialisation


# ------------------------------------------------------------------ properties
@st.composite
def degenerate_problems(draw):
    """Few distinct points, each repeated, sometimes with Gaussian rows."""
    d = draw(st.integers(1, 3))
    n_points = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.RandomState(seed)
    points = np.round(rng.uniform(-5, 5, (n_points, d)), draw(st.integers(0, 2)))
    X = np.repeat(points, rng.randint(1, 6, n_points), axis=0)
    if draw(st.booleans()):
        X = np.vstack([X, rng.normal(size=(draw(st.integers(1, 30)), d))])
    rng.shuffle(X)
    if len(X) < 2:
        X = np.vstack([X, X])
    k = draw(st.integers(1, min(4, len(X))))
    params = dict(n_components=k, covariance_type=draw(st.sampled_from(
                      ["full", "tied", "diag", "spherical"])),
                  init_params=draw(st.sampled_from(["kmeans", "k-means++", "random",
                                                    "random_from_data"])),
                  reg_covar=draw(st.sampled_from([0.0, 1e-6])), random_state=seed,
                  max_iter=draw(st.sampled_from([5, 100])))
    w = rng.randint(0, 3, len(X)).astype(float) if draw(st.booleans()) else None
    if w is not None and not w.sum() > 0:
        w = None
    return X, w, params


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(degenerate_problems())
def test_reseed_never_gives_nan_or_crashes(problem):
    X, w, params = problem
    try:
        gmm = fit_quietly(GMM(on_degenerate="reseed", **params), X, sample_weight=w)
    except ValueError as exc:  # only the documented refusals; anything else is a bug
        assert re.match(REFUSALS, str(exc)), str(exc)
        return
    # EM is monotone for maximum likelihood; reg_covar makes the M-step
    # something else, whose bound may dip (the default fit's too)
    assert_sane_fit(gmm, X, monotone=params["reg_covar"] == 0)
    assert len(gmm.degenerate_events_) <= MAX_RESEEDS_PER_COMPONENT * params["n_components"]


@pytest.mark.parametrize("other", [dict(prior="default"), dict(acceleration="squarem"),
                                   dict(missing="marginalize")])
def test_reseed_with_a_prior_or_acceleration_is_refused_clearly(other):
    """Re-seeding is a policy of plain maximum-likelihood EM: combined with a
    prior or acceleration it is a clear ValueError, and the estimator is
    left as it was."""
    from cem import GMM
    X = np.random.default_rng(0).normal(size=(100, 2))
    gmm = GMM(2, on_degenerate="reseed", random_state=0, **other)
    before = dict(vars(gmm))
    with pytest.raises(ValueError, match="on_degenerate='reseed'"):
        gmm.fit(X)
    assert vars(gmm) == before
