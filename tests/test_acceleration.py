"""Accelerated EM (GMM(acceleration='squarem'), cem._acceleration): the
parameter <-> unconstrained-vector maps, the step-length rule, the
fallbacks to the plain EM step, the bound that never decreases, the final
log-likelihood against plain EM from the same start, and the estimator
semantics (n_passes_, tol, verbose, n_init, warm_start, sample_weight,
chunked sources, validation). acceleration=None is plain EM bit for bit."""
import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cem
from cem import GMM, _acceleration
from cem._acceleration import (
    STEP_MAX, STEP_SHRINK, WEIGHT_SHRINK, NotAModel, Squarem, check_in_m_step_image,
    check_no_component_vanishes, extrapolated_model,
    parameters_to_vector, step_length, vector_to_parameters,
)
from cem._shapes import n_covariance_parameters, param_shape
from conftest import blobs, random_model, write_memmap

COVS = ("full", "tied", "diag", "spherical")
FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)


def overlapping(seed, n=600, d=2, k=3, separation=1.0, dtype=np.float64):
    """n rows of k overlapping components (EM is slow on them)."""
    rng = np.random.default_rng(seed)
    means = separation * rng.normal(size=(k, d))
    labels = rng.integers(0, k, n)
    X = means[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=(k, d))[labels]
    return X.astype(dtype)


def start_of(X, k, cov, seed=0):
    """weights_init, means_init, precisions_init: k rows of X as means and
    the data's variance, shaped for cov; the same start for both schemes."""
    rng = np.random.default_rng(seed)
    var = np.asarray(X, dtype=np.float64).var(axis=0)
    precisions = {"full": np.array([np.diag(1 / var)] * k), "tied": np.diag(1 / var),
                  "diag": np.tile(1 / var, (k, 1)), "spherical": np.full(k, 1 / var.mean())}[cov]
    return dict(weights_init=np.full(k, 1.0 / k),
                means_init=X[rng.choice(len(X), k, replace=False)].astype(np.float64),
                precisions_init=precisions)


def fit(X, k, cov, acceleration, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        return GMM(k, covariance_type=cov, acceleration=acceleration, **params).fit(X)


def assert_non_decreasing(bounds):
    bounds = np.asarray(bounds)
    # the tolerance of the plain-EM test (test_gmm): rounding of the E-step sums
    assert (np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])).all(), np.diff(bounds).min()


# ---------------------------------------------------------------------------
# The coordinate maps.

@FEW
@given(k=st.integers(1, 6), d=st.integers(1, 6), cov=st.sampled_from(COVS),
       seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_vector_round_trip_and_length(k, d, cov, seed, scale):
    weights, means, covariances, _ = random_model(np.random.default_rng(seed), k, d, cov,
                                                  scale=scale)
    vector = parameters_to_vector(cov, weights, means, covariances)
    # one coordinate per free parameter: k weights (one is redundant, kept
    # for the centred logits), k d means, the covariance parameters
    assert vector.shape == (k + k * d + n_covariance_parameters(cov, k, d),)
    w, m, c = vector_to_parameters(cov, vector, k, d)
    assert c.shape == param_shape(cov, k, d)
    np.testing.assert_allclose(w, weights, rtol=1e-12)
    np.testing.assert_array_equal(m, means)
    np.testing.assert_allclose(c, covariances, rtol=1e-10, atol=1e-12 * scale ** 2)


@FEW
@given(k=st.integers(1, 5), d=st.integers(1, 5), cov=st.sampled_from(COVS),
       seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([0.3, 3.0]))
def test_any_finite_vector_is_a_model(k, d, cov, seed, scale):
    """Weights on the simplex, positive-definite covariances, whatever the
    coordinates: what makes extrapolating them safe. Mathematically always;
    in floating point a covariance can come out singular (a Cholesky
    diagonal of e**-9 beside off-diagonals of 1), and extrapolated_model
    rejects it rather than return it."""
    rng = np.random.default_rng(seed)
    size = k + k * d + n_covariance_parameters(cov, k, d)
    vector = rng.normal(scale=scale, size=size)
    weights, means, covariances = vector_to_parameters(cov, vector, k, d)
    assert (weights > 0).all() and abs(weights.sum() - 1) < 1e-12
    assert np.isfinite(covariances).all() and covariances.shape == param_shape(cov, k, d)
    try:
        _, _, covariances, prec_chol = extrapolated_model(cov, vector, k, d, reg_covar=0.0)
    except NotAModel:
        assert scale == 3.0  # well-conditioned coordinates always give a model
        return
    if cov in ("full", "tied"):
        assert (np.linalg.eigvalsh(covariances.reshape(-1, d, d)) > 0).all()
    else:
        assert (covariances > 0).all()
    assert prec_chol.shape == param_shape(cov, k, d) and np.isfinite(prec_chol).all()


@pytest.mark.parametrize("cov", COVS)
def test_non_finite_or_overflowing_vectors_are_not_models(cov):
    k, d = 2, 2
    size = k + k * d + n_covariance_parameters(cov, k, d)
    for bad in (np.nan, np.inf):
        vector = np.zeros(size)
        vector[-1] = bad
        with pytest.raises(NotAModel):
            vector_to_parameters(cov, vector, k, d)
    vector = np.zeros(size)
    vector[k + k * d] = 800.0  # exp overflows a variance
    with pytest.raises(NotAModel):
        vector_to_parameters(cov, vector, k, d)
    vector = np.zeros(size)
    vector[0] = 800.0  # the other weight underflows to zero
    with pytest.raises(NotAModel):
        vector_to_parameters(cov, vector, k, d)


@pytest.mark.parametrize("cov", COVS)
def test_covariances_below_reg_covar_are_not_in_the_m_step_image(cov):
    k, d = 2, 3
    covariances = {"full": np.array([np.eye(d)] * k), "tied": np.eye(d),
                   "diag": np.ones((k, d)), "spherical": np.ones(k)}[cov]
    check_in_m_step_image(cov, covariances, 1.0)  # exactly reg_covar: reachable
    check_in_m_step_image(cov, covariances, 0.0)
    with pytest.raises(NotAModel):
        check_in_m_step_image(cov, covariances, 1.01)
    vector = parameters_to_vector(cov, np.full(k, 0.5), np.zeros((k, d)), covariances)
    with pytest.raises(NotAModel):
        extrapolated_model(cov, vector, k, d, reg_covar=2.0)


def test_a_vanishing_weight_is_not_a_model():
    em_weights = np.array([0.5, 0.3, 0.2])
    check_no_component_vanishes(np.array([0.7, 0.2, 0.1]), em_weights)  # halved: allowed
    with pytest.raises(NotAModel):
        check_no_component_vanishes(np.array([0.7, 0.2, 0.1 / WEIGHT_SHRINK]), em_weights)


def test_an_extrapolation_does_not_collapse_a_component_em_keeps():
    """Found by the Hypothesis property: from this random start, an
    extrapolation shrank a 22-row component's covariance, its
    responsibilities fell to 1.7 rows, the covariance collapsed onto them
    and the fit ended at a worse optimum (-7.234 against plain EM's
    -7.0285; with reg_covar=0 a singular-covariance error)."""
    X = overlapping(312, n=240, d=4, k=4, separation=3.0)
    kw = dict(tol=1e-8, max_iter=3000, random_state=312, init_params="random")
    plain = fit(X, 4, "full", None, **kw)
    accelerated = fit(X, 4, "full", "squarem", **kw)
    assert accelerated.lower_bound_ >= plain.lower_bound_ - 1e-8
    assert (accelerated.weights_ * len(X)).min() > 50
    fit(X, 4, "full", "squarem", reg_covar=0.0, **kw)  # no error


def test_step_length_is_s3_clipped_to_one_and_the_cap():
    r, v = np.array([3.0, 4.0]), np.array([0.0, 1.0])
    assert step_length(r, v, 100.0) == 5.0
    assert step_length(r, v, 2.0) == 2.0
    assert step_length(r, 20 * v, 100.0) == 1.0  # shorter than an EM step: the EM step
    assert step_length(r, 0 * v, 100.0) == 1.0  # no curvature: the EM step
    assert step_length(r, np.array([np.nan, 0.0]), 100.0) == 1.0


# ---------------------------------------------------------------------------
# The bound never decreases; fallbacks.

@FEW
@given(cov=st.sampled_from(COVS), k=st.integers(1, 5), d=st.integers(1, 4),
       rows_per_component=st.integers(60, 200), separation=st.sampled_from([0.3, 1.0, 3.0]),
       seed=st.integers(0, 2**32 - 1), weighted=st.booleans(),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_property_accelerated_bound_never_decreases(cov, k, d, rows_per_component, separation,
                                                    seed, weighted, dtype):
    """On well-posed problems (tens of rows per component, so none collapses
    onto a few rows) and reg_covar=0, where EM is an exact ascent method
    and plain EM's bound rises up to rounding, the accelerated bound does
    too, to the same tolerance.

    Where the bound can dip, and why this test does not look there:
    - reg_covar > 0: the M-step (scatter + reg_covar I) is not an exact
      ascent step of the log-likelihood, whose maximum lies a little past
      EM's fixed point; an accepted extrapolation can pass the fixed point
      towards it, and the next EM step comes back down, by at most that
      gap, second order in reg_covar / variance (e.g. 120 rows, k=2, d=1,
      a component of variance 0.034: a dip of 9e-12 relative; plain EM
      4e-16). test_bound_with_reg_covar_on_well_posed_data checks the
      default reg_covar where no component is narrow.
    - a component collapsing onto a few rows (variance ~reg_covar): the
      E-step's log-likelihood itself is noisy, and plain EM's bound dips
      too (40 rows, k=3, d=2, reg_covar=1e-10: 3e-8 plain, 1e-6
      accelerated)."""
    n = k * rows_per_component
    X = overlapping(seed, n=n, d=d, k=k, separation=separation, dtype=dtype)
    w = np.random.default_rng(seed).uniform(0.1, 2, n) if weighted else None
    kw = dict(covariance_type=cov, tol=0.0, max_iter=40, random_state=seed % 1000,
              init_params="random", reg_covar=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        try:
            gmm = GMM(k, acceleration="squarem", **kw).fit(X, sample_weight=w)
        except ValueError as exc:
            # a component collapsed (reg_covar=0, the likelihood unbounded):
            # plain EM from the same start collapses too, or converges to
            # an optimum next to that singularity, with a component on
            # fewer than d + 1 rows, that an extrapolation stepped past
            assert "ill-defined empirical covariance" in str(exc)
            try:
                plain = GMM(k, **dict(kw, max_iter=2000)).fit(X, sample_weight=w)
            except ValueError as plain_exc:
                assert "ill-defined empirical covariance" in str(plain_exc)
                return
            total = n if w is None else w.sum()
            assert (plain.weights_ * total).min() < d + 1
            return
    assert len(gmm.lower_bounds_) == gmm.n_iter_ == 40
    assert_non_decreasing(gmm.lower_bounds_)
    # 3 passes for the first cycle, 2 for each later one, one more for a
    # point rejected after its pass
    assert 2 * gmm.n_iter_ + 1 <= gmm.n_passes_ <= 3 * gmm.n_iter_ + 1
    assert np.isfinite(gmm.means_).all() and np.isfinite(gmm.covariances_).all()
    assert abs(gmm.weights_.sum() - 1) < 1e-6


@pytest.mark.parametrize("cov", COVS)
def test_a_zero_initial_weight_is_no_error_under_warnings_as_errors(cov):
    X = overlapping(3, n=300, d=2, k=3)
    start = start_of(X, 3, cov)
    start["weights_init"] = np.array([0.5, 0.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gmm = GMM(3, covariance_type=cov, tol=1e-6, max_iter=300, acceleration="squarem",
                  **start).fit(X)
    assert gmm.converged_ and (gmm.weights_ > 0).all()
    assert_non_decreasing(gmm.lower_bounds_)


def _one_cycle(monkeypatch, cov, replacement, cycles=1):
    """(GMM after `cycles` accelerated iterations with extrapolated_model
    replaced, GMM after 2 * cycles + 1 plain EM iterations) from the same
    start."""
    X = overlapping(3, n=500, d=2, k=3)
    start = start_of(X, 3, cov)
    monkeypatch.setattr(_acceleration, "extrapolated_model", replacement)
    accelerated = fit(X, 3, cov, "squarem", tol=0.0, max_iter=cycles, **start)
    plain = fit(X, 3, cov, None, tol=0.0, max_iter=2 * cycles + 1, **start)
    return accelerated, plain


def _with_step_max(value):
    original = Squarem.__init__

    def init(self, em, e_step):
        original(self, em, e_step)
        self.step_max = value
    return init


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("cycles", [1, 4])
def test_an_invalid_extrapolation_falls_back_to_em_steps(monkeypatch, cov, cycles):
    """Without extrapolations the cycles are plain EM bit for bit: the first
    three EM steps, each later one two (its first is the previous cycle's
    last), each bound the change of at least two EM steps."""
    monkeypatch.setattr(Squarem, "__init__", _with_step_max(16.0))

    def invalid(*args):
        raise NotAModel("not a model")
    accelerated, plain = _one_cycle(monkeypatch, cov, invalid, cycles)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(accelerated, name), getattr(plain, name))
    assert accelerated.lower_bounds_ == plain.lower_bounds_[2::2]
    # no pass spent on a point that is not a model, none repeated
    assert accelerated.n_passes_ == plain.n_passes_ == 2 * cycles + 1


def _after_each_cycle(monkeypatch, record):
    """Make every Squarem.cycle call record(the Squarem, its result) after it."""
    original_cycle = Squarem.cycle

    def cycle(self, source, params):
        out = original_cycle(self, source, params)
        record(self, out)
        return out
    monkeypatch.setattr(Squarem, "cycle", cycle)


@pytest.mark.parametrize("cov", COVS)
def test_a_worse_extrapolation_falls_back_to_the_em_step(monkeypatch, cov):
    """An extrapolated point whose log-likelihood is below the last EM
    step's is rejected after its pass (counted), and the step cap shrinks."""
    monkeypatch.setattr(Squarem, "__init__", _with_step_max(16.0))
    real = _acceleration.extrapolated_model
    caps = []

    def far_off(covariance_type, vector, k, d, reg_covar):
        weights, means, covariances, prec_chol = real(covariance_type, vector, k, d, reg_covar)
        return weights, means + 50.0, covariances, prec_chol
    _after_each_cycle(monkeypatch, lambda squarem, out: caps.append(squarem.step_max))
    accelerated, plain = _one_cycle(monkeypatch, cov, far_off, cycles=2)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(accelerated, name), getattr(plain, name))
    assert accelerated.lower_bounds_ == plain.lower_bounds_[2::2]
    assert accelerated.n_passes_ == plain.n_passes_ + 2  # one per rejected point
    assert caps == [16.0 / STEP_SHRINK, 16.0 / STEP_SHRINK ** 2]


@pytest.mark.parametrize("cov", COVS)
def test_n_passes_counts_every_pass_and_later_cycles_save_one(monkeypatch, cov):
    """n_passes_ is the number of E-step passes made; a cycle after the
    first takes its first EM step from the previous cycle's last pass, so
    an accepted cycle then costs 2 passes (3 before the pass was saved)."""
    from cem import _em
    calls, cycles = [], []
    real_e_step = _em.e_step_statistics

    def counted(*args, **kwargs):
        calls.append(1)
        return real_e_step(*args, **kwargs)
    monkeypatch.setattr(_em, "e_step_statistics", counted)
    _after_each_cycle(monkeypatch, lambda squarem, out: cycles.append((out[2], out[3])))
    X = overlapping(4, n=900, d=2, k=3, separation=0.8)
    gmm = fit(X, 3, cov, "squarem", tol=1e-10, max_iter=300, **start_of(X, 3, cov, 4))
    assert gmm.n_passes_ == len(calls) == sum(passes for passes, _ in cycles)
    later_accepted = [passes for passes, accepted in cycles[1:] if accepted]
    assert later_accepted and set(later_accepted) == {2}
    assert cycles[0][0] in (3, 4)
    assert all(passes in (2, 3) for passes, _ in cycles[1:])


@pytest.mark.parametrize("cov", COVS)
def test_the_saved_pass_is_the_em_step_from_the_cycle_start(monkeypatch, cov):
    """Where a cycle takes its first EM step from the previous cycle's last
    pass, that step and the bound are bit for bit those of a fresh pass at
    the cycle's start (the point whose M-step the previous cycle returned),
    and that bound is the previous cycle's lower bound."""
    original = Squarem._first_steps
    checked = []

    def first_steps(self, source, params):
        last = self.last
        out = original(self, source, params)
        x0, theta1 = out[0], out[1]
        if last is not None and last[1] is params:
            assert x0 is last[0]
            bound, fresh = self._em_step(source, x0)
            assert bound == last[2] == self.reported[-1]
            for got, want in zip(theta1, fresh):
                np.testing.assert_array_equal(got, want)
            checked.append(x0)
        else:
            assert x0 is params
        return out

    def report(squarem, out):
        squarem.reported = getattr(squarem, "reported", []) + [out[1]]
    monkeypatch.setattr(Squarem, "_first_steps", first_steps)
    _after_each_cycle(monkeypatch, report)
    X = overlapping(6, n=700, d=2, k=3, separation=0.8)
    fit(X, 3, cov, "squarem", tol=0.0, max_iter=12, **start_of(X, 3, cov, 6))
    assert len(checked) == 11  # every cycle after the first


def test_step_cap_grows_only_to_its_maximum(monkeypatch):
    X = overlapping(5, n=800, d=2, k=4, separation=0.8)
    caps = []
    _after_each_cycle(monkeypatch, lambda squarem, out: caps.append(squarem.step_max))
    fit(X, 4, "diag", "squarem", tol=0.0, max_iter=60, random_state=0, init_params="random")
    assert max(caps) <= STEP_MAX and min(caps) >= 1.0 and max(caps) > 1.0


# ---------------------------------------------------------------------------
# Against plain EM from the same start.

@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("seed", range(4))
def test_bound_with_reg_covar_on_well_posed_data(cov, seed):
    X = overlapping(seed, n=1000, d=3, k=3, separation=2.0)
    gmm = fit(X, 3, cov, "squarem", tol=0.0, max_iter=100, random_state=seed)
    assert_non_decreasing(gmm.lower_bounds_)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("seed", range(4))
def test_same_or_better_optimum_than_plain_em_in_fewer_passes(cov, seed):
    """From a start in the optimum's basin (plain EM to tol 1e-3), both
    schemes reach it; accelerated EM no lower than plain EM's final bound
    minus tol. (From a far start an extrapolation can cross into another
    basin, to a better or a worse optimum: that is measured on the
    benchmark set, asv_bench/acceleration_compare.py, not promised.)"""
    X = overlapping(seed, n=1500, d=2, k=3, separation=1.0)
    rough = fit(X, 3, cov, None, tol=1e-3, max_iter=1000, **start_of(X, 3, cov, seed))
    start = dict(weights_init=rough.weights_, means_init=rough.means_,
                 precisions_init=rough.precisions_)
    tol = 1e-8
    plain = fit(X, 3, cov, None, tol=tol, max_iter=20000, **start)
    accelerated = fit(X, 3, cov, "squarem", tol=tol, max_iter=20000, **start)
    assert plain.converged_ and accelerated.converged_
    assert accelerated.lower_bound_ >= plain.lower_bound_ - tol
    assert accelerated.n_passes_ <= plain.n_passes_
    assert_non_decreasing(accelerated.lower_bounds_)


def test_from_far_starts_a_worse_optimum_is_rare_and_passes_always_fewer():
    """The README's measurement: 16 random starts (4 seeds x 4 covariance
    types); the accelerated fit ends worse than plain EM by more than tol on
    at most one (seed 0, full: an early extrapolation crossed into another
    basin), and uses fewer passes on all."""
    tol, worse = 1e-8, []
    for seed in range(4):
        X = overlapping(seed, n=1500, d=2, k=3, separation=1.0)
        for cov in COVS:
            start = start_of(X, 3, cov, seed)
            plain = fit(X, 3, cov, None, tol=tol, max_iter=20000, **start)
            accelerated = fit(X, 3, cov, "squarem", tol=tol, max_iter=20000, **start)
            assert accelerated.n_passes_ < plain.n_passes_
            if accelerated.lower_bound_ < plain.lower_bound_ - tol:
                worse.append((seed, cov))
    assert len(worse) <= 1, worse


def test_lower_bound_is_the_bound_before_the_last_m_step():
    """As in plain EM: the E-step of the returned parameters gives a mean
    log-likelihood at least lower_bound_ (EM's ascent from it)."""
    X = overlapping(1, n=800, d=2, k=3)
    gmm = fit(X, 3, "full", "squarem", tol=1e-4, max_iter=500, random_state=0)
    assert gmm.lower_bound_ == gmm.lower_bounds_[-1]
    assert gmm.score(X) >= gmm.lower_bound_ - 1e-12


# ---------------------------------------------------------------------------
# Estimator semantics.

@pytest.mark.parametrize("cov", COVS)
def test_default_is_plain_em_bit_for_bit(cov):
    X = blobs(np.random.default_rng(0), n=400, d=3, k=3)
    a = fit(X, 3, cov, None, random_state=0, tol=1e-6)
    b = GMM(3, covariance_type=cov, random_state=0, tol=1e-6).fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.lower_bounds_ == b.lower_bounds_ and a.n_passes_ == a.n_iter_ == b.n_passes_


def test_tol_stops_on_the_change_of_the_iteration_bound():
    X = overlapping(2, n=800, d=2, k=3)
    for tol in (1e-2, 1e-5):
        gmm = fit(X, 3, "diag", "squarem", tol=tol, max_iter=1000, random_state=0)
        assert gmm.converged_
        changes = np.diff(gmm.lower_bounds_)
        assert abs(changes[-1]) < tol and (np.abs(changes[:-1]) >= tol).all()


def test_max_iter_counts_accelerated_iterations_and_warns():
    X = overlapping(2, n=800, d=2, k=3)
    with pytest.warns(cem.ConvergenceWarning):
        gmm = GMM(3, tol=0.0, max_iter=4, random_state=0, acceleration="squarem").fit(X)
    assert gmm.n_iter_ == 4 and not gmm.converged_ and 8 <= gmm.n_passes_ <= 12


def test_verbose_prints_each_accelerated_iteration(capsys):
    X = overlapping(2, n=300, d=2, k=2)
    fit(X, 2, "full", "squarem", verbose=2, verbose_interval=1, random_state=0, max_iter=3,
        tol=0.0)
    out = capsys.readouterr().out
    assert "Initialization 0" in out and out.count("Iteration") == 3 and "lower bound" in out


def test_n_init_keeps_the_best_run():
    X = overlapping(4, n=600, d=2, k=4)
    best = fit(X, 4, "full", "squarem", tol=1e-6, max_iter=300, n_init=3,
               random_state=np.random.RandomState(7))
    rng = np.random.RandomState(7)
    singles = []
    for _ in range(3):  # the same draws, one init at a time
        singles.append(fit(X, 4, "full", "squarem", tol=1e-6, max_iter=300, random_state=rng))
    top = max(singles, key=lambda g: g.lower_bound_)
    assert best.lower_bound_ == top.lower_bound_ and best.n_passes_ == top.n_passes_
    np.testing.assert_array_equal(best.means_, top.means_)


def test_warm_start_continues_from_the_fitted_model():
    X = overlapping(6, n=800, d=2, k=3)
    gmm = GMM(3, tol=0.0, max_iter=5, random_state=0, warm_start=True, acceleration="squarem")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cem.ConvergenceWarning)
        gmm.fit(X)
        first = gmm.lower_bound_
        gmm.fit(X)
    assert gmm.lower_bounds_[0] >= first - 1e-12
    assert_non_decreasing(gmm.lower_bounds_)


def test_sample_weight_integer_weights_fit_like_repeated_rows():
    X = overlapping(8, n=300, d=2, k=2)
    w = np.random.default_rng(0).integers(0, 3, len(X))
    start = start_of(X, 2, "full")
    a = GMM(2, tol=1e-8, max_iter=200, acceleration="squarem", **start).fit(X, sample_weight=w)
    b = GMM(2, tol=1e-8, max_iter=200, acceleration="squarem", **start).fit(np.repeat(X, w, 0))
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-7)
    assert a.n_passes_ == b.n_passes_


def _chunk_sources(X, tmp_path):
    yield "memmap", write_memmap(tmp_path / "X.dat", X)
    yield "stream", lambda: (X[i:i + 97] for i in range(0, len(X), 97))
    try:
        import dask
        import dask.array as da
    except ImportError:
        return
    with dask.config.set(scheduler="synchronous"):
        yield "dask", da.from_array(X, chunks=(113, X.shape[1]))


@pytest.mark.parametrize("cov", COVS)
def test_chunked_sources_fit_as_in_memory(tmp_path, cov):
    X = overlapping(9, n=700, d=2, k=3)
    start = start_of(X, 3, cov)
    ref = fit(X, 3, cov, "squarem", tol=1e-8, max_iter=300, **start)
    for name, source in _chunk_sources(X, tmp_path):
        got = fit(source, 3, cov, "squarem", tol=1e-8, max_iter=300, **start)
        assert got.n_iter_ == ref.n_iter_ and got.n_passes_ == ref.n_passes_, name
        np.testing.assert_allclose(got.means_, ref.means_, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got.lower_bounds_, ref.lower_bounds_, rtol=1e-12)


def test_the_accepted_names_are_the_schemes():
    assert _acceleration.ACCELERATIONS == tuple(_acceleration.SCHEMES)


@pytest.mark.parametrize("value", ["SQUAREM", "anderson", 1, True])
def test_invalid_acceleration_is_refused_and_leaves_the_estimator(value):
    X = overlapping(0, n=100, d=2, k=2)
    gmm = GMM(2, random_state=0).fit(X)
    before = gmm.means_.copy()
    gmm.set_params(acceleration=value)
    with pytest.raises(cem.InvalidParameterError,
                       match=r"The 'acceleration' parameter of GMM must be a str among "
                             r"\{'squarem'\} or None\. Got .* instead\."):
        gmm.fit(X)
    np.testing.assert_array_equal(gmm.means_, before)


def test_initialize_apply_m_step_and_partial_fit_keep_n_passes_meaningful():
    X = overlapping(0, n=200, d=2, k=2)
    gmm = GMM(2, random_state=0).initialize(X)
    assert gmm.n_passes_ == 0
    gmm.apply_m_step(gmm.sufficient_statistics(X))
    assert gmm.n_passes_ == gmm.n_iter_ == 1
    gmm.partial_fit(X)
    assert not hasattr(gmm, "n_passes_")


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_squarem_with_a_prior_climbs_the_log_posterior(covariance_type):
    """With a prior the bound is the mean log-posterior: the accelerated
    fit's bounds never decrease and it ends no lower than plain MAP EM."""
    from cem import GMM
    rng = np.random.default_rng(3)
    X = np.r_[rng.normal(0, 1, (300, 2)), rng.normal(1.5, 1, (300, 2))]
    kwargs = dict(n_components=2, covariance_type=covariance_type, prior="default",
                  random_state=0, tol=1e-9, max_iter=2000)
    plain = GMM(**kwargs).fit(X)
    fast = GMM(acceleration="squarem", **kwargs).fit(X)
    bounds = np.asarray(fast.lower_bounds_)
    assert (np.diff(bounds) >= -1e-12 * np.abs(bounds[1:])).all()
    assert fast.lower_bound_ >= plain.lower_bound_ - 1e-8
    assert fast.n_passes_ < plain.n_passes_
