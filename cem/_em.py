"""The EM driver: initialisation, the iteration loop and its convergence
test, n_init restarts, warm starts and verbose output.

One EM iteration is one E-step (``e_step_statistics``: the sufficient
statistics of the data under the current parameters, one pass of the C
core over every row of the source; two when the means are far from the
data, see statistics_about_the_data) and one M-step (cem._params.m_step).
``EM.run`` returns an ``EMResult`` and sets nothing: the estimator copies
the result into its attributes only when the whole fit has succeeded.
Accelerated EM (cem._acceleration) plugs in at ``_iterations``, as another
way to go from one iterate to the next.
"""
from collections import namedtuple
from time import perf_counter

import numpy as np

from cem import _core
from cem._acceleration import SCHEMES
from cem._init import NK_FLOOR, initial_stats
from cem._missing import filled_for_init
from cem._params import (
    Parameters, as_float64, covariances_from_precisions, m_step, m_step_error,
    prec_chol_from_precisions,
)
from cem._prior import log_prior, m_step_map
from cem._recentre import needs_recentre
from cem._sources import INIT_SAMPLE_ROWS, InMemorySource

EMResult = namedtuple("EMResult",
                      "params n_iter lower_bound lower_bounds converged n_passes "
                      "degenerate_events", defaults=((),))
EMResult.__doc__ = """What a fit found: params (Parameters, float64) of the best
initialisation, its n_iter, lower_bound (mean log-likelihood before the last
M-step; -inf if no iteration ran), lower_bounds (one per iteration), whether
it converged, n_passes, its passes over the data for EM steps (n_iter in
plain EM), and its degenerate_events (cem._degenerate; empty unless
on_degenerate='reseed')."""


def e_step_error(exc):
    """The ValueError for a failed pass of the C core."""
    return ValueError(f"E-step failed: {exc}. The model gives some sample a density that is "
                      "not representable; check the data scale and the initial parameters.")


def statistics_about_the_data(pass_about, covariance_type, means):
    """(stats, shift): the statistics of one E-step pass, pass_about(shift)
    with moments about shift (None: the means), and the shift they are
    about. When the means are so far from the rows their components take
    that the moments cancel (cem._recentre.needs_recentre: a first step from
    far means_init, a warm start on shifted data), the pass is redone about
    the centers it found, shift + sx / nk: the same responsibilities,
    counts and log-likelihood, exact moments. Ordinary steps never redo it."""
    stats = pass_about(None)
    if not needs_recentre(stats, means, covariance_type):
        return stats, means
    k, d = means.shape
    counts = stats[2:2 + k] + _core.NK_FLOOR
    centers = np.ascontiguousarray(means + stats[2 + k:2 + k + k * d].reshape(k, d)
                                   / counts[:, None])
    return pass_about(centers), centers


def e_step_statistics(source, covariance_type, params, n_threads):
    """The E-step of a fit: (flat sufficient statistics of every row of
    source under params, in the C core's layout, and the shift their
    moments are about: the means, or centers near the data when the means
    are far from it). The one place the EM loop reads the data."""
    weights, means, _, prec_chol = params
    core_params = (weights, means, prec_chol)
    try:
        return statistics_about_the_data(
            lambda shift: source.statistics(covariance_type, core_params, n_threads, shift=shift),
            covariance_type, means)
    except _core.CoreError as exc:
        raise e_step_error(exc) from None


def rows_statistics(covariance_type, core_params, X, sample_weight, n_threads, missing=False):
    """The E-step on validated in-memory rows X (n, d) with optional weights
    (n,) under core_params (weights, means, prec_chol as the C core reads
    them): (flat statistics, the shift of their moments), as
    e_step_statistics; NaN marginalized when missing."""
    weights, means, prec_chol = core_params
    try:
        return statistics_about_the_data(
            lambda shift: _core.e_step(covariance_type, weights, means, prec_chol, X,
                                       sample_weight, n_threads=n_threads, shift=shift,
                                       missing=missing),
            covariance_type, means)
    except _core.CoreError as exc:
        raise e_step_error(exc) from None


class VerboseReporter:
    """Prints the progress of a fit as scikit-learn does: nothing at
    verbose=0; at 1 each initialisation and every verbose_interval-th
    iteration; at 2 also times and log-likelihood changes."""

    def __init__(self, verbose, verbose_interval):
        self.verbose, self.interval = verbose, verbose_interval
        self._init_start = self._iter_start = None

    def init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        if self.verbose >= 2:
            self._init_start = self._iter_start = perf_counter()

    def iteration_end(self, n_iter, change):
        if self.verbose and n_iter % self.interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = perf_counter()
                print(f"  Iteration {n_iter}\t time lapse {now - self._iter_start:.5f}s\t "
                      f"ll change {change:.5f}")
                self._iter_start = now

    def init_end(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            elapsed = perf_counter() - self._init_start
            print(f"Initialization {message}. time lapse {elapsed:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")


class EM:
    """EM for one model specification.

    covariance_type, n_components, reg_covar, tol, max_iter, init_params:
    as GMM's parameters; n_threads: threads of each pass; reporter: a
    VerboseReporter; initial_stats: None for init_params' partition of the
    initialisation sample (cem._init.initial_stats), or a callable
    (X, sample_weight, rng, n_threads) -> (stats, shift) giving it instead
    (GMMSelection shares one k-means partition across covariance types);
    prior: None for maximum likelihood, or a validated complete
    cem._prior.Prior for MAP EM (every M-step the posterior mode, reg_covar
    unused, and the lower bound the mean log-posterior); missing: True
    when NaN are missing values (init_params then sees them filled, see
    cem._missing; the passes marginalize them: the source knows).
    acceleration: None for plain EM, or a name in
    cem._acceleration.ACCELERATIONS.
    degenerate: None (a degenerate component raises, scikit-learn's
    behaviour) or cem._degenerate.reseeding's policy (plain maximum-
    likelihood EM only: GMM refuses it with a prior or acceleration).
    """

    def __init__(self, *, covariance_type, n_components, reg_covar, tol, max_iter, init_params,
                 n_threads, reporter, initial_stats=None, prior=None, missing=False,
                 acceleration=None, degenerate=None):
        self.covariance_type, self.n_components = covariance_type, n_components
        self.reg_covar, self.tol, self.max_iter = reg_covar, tol, max_iter
        self.init_params, self.n_threads, self.reporter = init_params, n_threads, reporter
        self.initial_stats = initial_stats or self._partition_stats
        self.prior = prior
        self.acceleration = acceleration
        self.degenerate = degenerate
        self.missing = missing

    def _partition_stats(self, X, sample_weight, rng, n_threads):
        return initial_stats(X, sample_weight, self.n_components, self.covariance_type,
                             self.init_params, rng, n_threads)

    def m_step(self, stats, shift, dtype):
        if self.prior is not None:
            return m_step_map(self.covariance_type, stats, shift, self.prior, dtype)
        return m_step(self.covariance_type, stats, shift, self.reg_covar, dtype)

    def lower_bound(self, stats, params):
        """The bound of the parameters params that gave the E-step stats:
        the mean log-likelihood sum_i w_i log p(x_i) / sum_i w_i, plus
        log prior(params) / sum_i w_i with a prior (the mean log-posterior)."""
        if self.prior is None:
            return stats[1] / stats[0]
        return (stats[1] + log_prior(self.covariance_type, params, self.prior)) / stats[0]

    def initial_parameters(self, source, user_init, rng, reseeding=None):
        """Initial Parameters: from the user's *_init alone when all three
        are given, else by init_params on the source's initialisation
        sample, with any *_init given replacing what it sets.
        user_init: validated (weights, means, precisions), None where not given.
        reseeding: None, or the run's cem._degenerate.ReseedingRun."""
        if all(v is not None for v in user_init):
            return self._initial_parameters(None, None, user_init, rng)
        X, w = source.init_sample(rng, INIT_SAMPLE_ROWS)
        if self.missing:
            X, w = filled_for_init(X, w)
        if X.shape[0] < self.n_components:
            raise ValueError("Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {X.shape[0]}")
        return self._initial_parameters(X, w, user_init, rng, reseeding)

    def _initial_parameters(self, X, sample_weight, user_init, rng, reseeding=None):
        k = self.n_components
        weights_init, means_init, precisions_init = user_init
        weights = means = covariances = prec_chol = None
        if weights_init is None or means_init is None or precisions_init is None:
            try:
                stats, shift = self.initial_stats(X, sample_weight, rng, self.n_threads)
            except _core.CoreError as exc:
                raise ValueError(f"Initialisation by init_params={self.init_params!r} failed: "
                                 f"{exc}. Check the scale of the data.") from None
            widened = False
            if reseeding is None:
                params = self.m_step(stats, shift, X.dtype)
            else:
                params, widened = reseeding.initial_m_step(stats, shift, X.dtype)
            weights, means, covariances, prec_chol = params
            if not widened:  # as scikit-learn: counts over the total weight, unnormalised
                total = X.shape[0] if sample_weight is None else sample_weight.sum()
                weights = (stats[2:2 + k] + NK_FLOOR) / total
        if weights_init is not None:
            weights = weights_init
        if means_init is not None:
            means = means_init
        if precisions_init is not None:
            prec_chol = prec_chol_from_precisions(precisions_init, self.covariance_type)
            covariances = covariances_from_precisions(precisions_init, self.covariance_type)
        return as_float64(Parameters(weights, means, covariances, prec_chol))

    def run(self, source, *, n_init, user_init, rng, start=None):
        """Fit source: n_init initialisations (or one EM run from start, a
        (Parameters, lower_bound) pair, for a warm start), each iterated to
        convergence or max_iter; returns the EMResult of the one with the
        highest final lower bound."""
        max_lower_bound = -np.inf
        best = EMResult(None, 0, -np.inf, [], False, 0)
        policy = None if self.degenerate is None else self.degenerate(self, source)
        for init in range(n_init):
            self.reporter.init_begin(init)
            reseeding = None if policy is None else policy.run()
            if start is None:
                params = self.initial_parameters(source, user_init, rng, reseeding)
                lower_bound = -np.inf
            else:
                params, lower_bound = start
            events = () if reseeding is None else reseeding.events
            if self.max_iter == 0:
                best = EMResult(params, 0, max_lower_bound, [], False, 0, events)
                continue
            params, n_iter, lower_bound, lower_bounds, converged, n_passes = self._iterations(
                source, params, lower_bound, reseeding)
            self.reporter.init_end(lower_bound, converged)
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best = EMResult(params, n_iter, lower_bound, lower_bounds, converged, n_passes,
                                events)
        return best

    def _iterations(self, source, params, lower_bound, reseeding=None):
        """The iterations of one EM run from params, by plain EM (_iterate,
        with the re-seeding policy if any) or the accelerated scheme chosen:
        (params, n_iter, lower_bound, lower_bounds, converged, n_passes)."""
        if self.acceleration is None:
            result = self._iterate(source, params, lower_bound, reseeding)
            return (*result, result[1])  # one pass per iteration
        return SCHEMES[self.acceleration](self, self._e_step).iterate(source, params, lower_bound)

    def _e_step(self, source, params):
        return e_step_statistics(source, self.covariance_type, params, self.n_threads)

    def _iterate(self, source, params, lower_bound, reseeding=None):
        """EM iterations from params until the lower bound changes by less
        than tol or max_iter: (params, n_iter, lower_bound, lower_bounds,
        converged). With reseeding (a cem._degenerate.ReseedingRun), an
        iteration that re-seeds a component restarts the convergence test:
        neither it nor the next one (the first bound of the new model) can
        converge."""
        if reseeding is None and self._loop_in_c(source):
            return self._iterate_in_c(source, params, lower_bound)
        lower_bounds = []
        converged = reseeded = False
        for n_iter in range(1, self.max_iter + 1):
            prev_lower_bound = -np.inf if reseeded else lower_bound
            stats, shift = e_step_statistics(source, self.covariance_type, params,
                                             self.n_threads)
            lower_bound = self.lower_bound(stats, params)  # of params, before the M-step
            if reseeding is None:
                params = self.m_step(stats, shift, source.dtype)
            else:
                params, reseeded = reseeding.m_step(stats, params, shift, n_iter, source.dtype)
            lower_bounds.append(lower_bound)
            change = lower_bound - prev_lower_bound
            self.reporter.iteration_end(n_iter, change)
            if abs(change) < self.tol and not reseeded:
                converged = True
                break
        return params, n_iter, lower_bound, lower_bounds, converged

    def _loop_in_c(self, source):
        """Whether cem._core.em_iterations runs this loop exactly: in-memory
        rows, no prior, no missing values (the re-seeding policy and
        acceleration take their own loops)."""
        return self.prior is None and not self.missing and type(source) is InMemorySource

    def _iterate_in_c(self, source, params, lower_bound):
        """_iterate's loop, the same operations on the same statistics, run
        by the C core (cem._core.em_iterations) for in-memory rows without a
        prior: a small fit pays for its passes, not for Python between them."""
        weights, means, _, prec_chol = params
        report = self.reporter.iteration_end if self.reporter.verbose else None
        try:
            params, n_iter, lower_bound, lower_bounds, converged = _core.em_iterations(
                self.covariance_type, weights, means, prec_chol, source.X, source.sample_weight,
                self.tol, self.max_iter, self.reg_covar, self.n_threads, lower_bound, report)
        except _core.IterationError as exc:
            if exc.step == "M":
                raise m_step_error(exc, source.dtype) from None
            raise e_step_error(exc) from None
        return Parameters(*params), n_iter, lower_bound, lower_bounds, converged


