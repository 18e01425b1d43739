"""cem.GMM: a drop-in for sklearn.mixture.GaussianMixture.

The class is a facade: it validates input and holds scikit-learn's API and
attributes, and delegates the rest:

- cem._estimator: the scikit-learn estimator protocol (params, repr, tags);
- cem._em: the EM driver (initialisation, iterations, convergence, n_init,
  warm start, verbose output), which returns a result record;
- cem._online: partial_fit's running state (stepwise EM);
- cem._params: parameter representations and the M-step;
- cem._sources: the data (in memory, chunked, streamed, Dask) and its E-step.
"""
import warnings

import numpy as np

from cem import _conditional, _core
from cem._degenerate import reseeding
from cem._em import EM, VerboseReporter, rows_statistics
from cem._estimator import Estimator
from cem._missing import conditional_expectation, covariance_matrices
from cem._online import OnlineEM
from cem._params import Parameters, as_float64, core_view, fitted_attributes, m_step
from cem._prior import resolve as resolve_prior, wants_prior
from cem._shapes import n_parameters
from cem._sources import data_source, is_dask_array, map_dask_rows, source_threads
from cem._stats import SufficientStatistics
from cem._validation import (
    CHUNK_ROWS, ConvergenceWarning, check_feature_names, check_is_fitted, check_means,
    check_params, check_precisions, check_random_state, check_sample_weight, check_weights,
    check_X, effective_n_threads, feature_names, raisable, random_state_for, user_stacklevel,
)
from cem._weights import rescaled_for_fitting


class GMM(Estimator):
    """Gaussian mixture model fitted by expectation-maximization.

    The parameters, attributes and methods are those of
    ``sklearn.mixture.GaussianMixture`` (scikit-learn 1.9), with the same
    results given the same initialisation, plus:

    - ``n_threads`` : int or None, default=None. Threads for the passes over
      the data; None uses ``OMP_NUM_THREADS`` if set, else every core the
      process may run on; at most 4096. Results are bit-identical for any
      value.
    - ``sample_weight`` in ``fit``, ``fit_predict``, ``score``, ``bic`` and
      ``aic``: non-negative per-row weights. Integer weights fit like
      duplicated rows, a zero weight like a dropped row.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components k.
    covariance_type : {'full', 'tied', 'diag', 'spherical', 'tied_diag', \
'tied_spherical'}, default='full'
        Shape of the component covariances: scikit-learn's four, and two
        shared by all components (not in scikit-learn): 'tied_diag', one
        diagonal covariance (mclust EEI; covariances_ of shape (d,)), and
        'tied_spherical', one variance (mclust EII; shape (1,)). bic / aic
        count d and 1 covariance parameters for them, as mclust does.
    tol : float, default=1e-3
        Convergence threshold on the change of the per-sample average
        log-likelihood between iterations.
    reg_covar : float, default=1e-6
        Added to the diagonal of every covariance, keeping it positive definite.
    max_iter : int, default=100
        EM iterations per initialisation.
    n_init : int, default=1
        Initialisations; the one with the highest final lower bound is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the initial responsibilities are chosen.
    weights_init : array of shape (k,), optional
    means_init : array of shape (k, d), optional
    precisions_init : array, optional
        Shape (k, d, d), (d, d), (k, d), (k,), (d,) or (1,) by covariance_type.
    random_state : int, RandomState or None
        Seeds the initialisation and ``sample``.
    warm_start : bool, default=False
        Start the next ``fit`` from the current parameters (n_init ignored).
    verbose : int, default=0
    verbose_interval : int, default=10
    n_threads : int or None, default=None
    learning_decay, learning_offset : float, default=0.7, 10.0
        Step sizes of ``partial_fit`` (stepwise EM): the t-th call blends its
        chunk's statistics in with weight (learning_offset + t) **
        -learning_decay; learning_decay in (0.5, 1] for convergence.
    prior : None, True, 'default', cem.Prior or dict, default=None
        None (or False): maximum likelihood, as scikit-learn. Otherwise MAP
        EM under the conjugate prior of R's mclust (Fraley & Raftery 2007;
        full = mclust VVV, tied = EEE, diag = VVI, spherical = VII,
        tied_diag = EEI, tied_spherical = EII): True or
        'default' take mclust's ``defaultPrior`` computed from the training
        data (one extra pass), a ``cem.Prior`` or a dict with any of
        'shrinkage', 'mean', 'dof', 'scale' overrides those. Every M-step,
        the initial one included, is the posterior mode; reg_covar is not
        added (as mclust: the prior's scale keeps covariances positive
        definite, and adding it would break the ascent). lower_bound_ and
        lower_bounds_ are then the mean log-posterior,
        (sum_i w_i log p(x_i) + log prior(means_, covariances_)) / sum_i w_i,
        with the prior's density normalised exactly (cem.h,
        cem_log_prior), and EM never decreases it (tol applies to its
        change). bic, aic, icl and score
        use the log-likelihood at the MAP estimate, as mclust. Sample
        weights act as frequencies (the total weight is mclust's n).
        partial_fit, initialize and apply_m_step raise ValueError with a
        prior (the default prior needs the whole data).
    acceleration : {None, 'squarem'}, default=None
        None: plain EM (one pass over the data per iteration). 'squarem':
        SQUAREM-accelerated EM (cem._acceleration), fewer passes when
        components overlap; each iteration then extrapolates from two EM
        steps and costs 2 passes (``n_passes_``; the first 3, and one more
        for an extrapolation rejected after its pass), lower_bounds_ still
        never decrease and tol applies to their change.
    on_degenerate : {'raise', 'reseed'}, default='raise'
        What fit does when a component's covariance is not positive definite:
        'raise' scikit-learn's ValueError ("ill-defined empirical
        covariance"); 'reseed' re-seeds the component from the rows the
        model explains worst (also one whose covariance is singular to
        rounding or whose weight fell below one row's) and goes on, at most
        3 * n_components times per initialisation; see cem._degenerate for
        the rules. initialize, partial_fit and apply_m_step always raise.
    missing : {'error', 'marginalize'}, default='error'
        What a NaN in X means. 'error': invalid input, scikit-learn's
        ValueError (the drop-in behaviour). 'marginalize': a value not
        observed, missing at random; every method (fit, fit_predict,
        partial_fit, predict, predict_proba, score_samples, score, bic, aic,
        icl, sufficient_statistics; chunked, memmap, streamed and Dask
        sources; float32; sample_weight) then uses the observed-data
        likelihood, and EM is exact on it (Ghahramani & Jordan 1994: the
        marginal densities N(x_o | mu_o, S_oo) and the conditional moments
        of the missing values; see cem.h, cem_e_step_missing). A row with
        every value missing carries no information: its score_samples is 0
        (log 1), its predict_proba the weights, and it is left out of the
        fit and of the total weight of score, bic and aic. Infinity stays
        an error. Initialisation (every init_params) runs on the data with
        each NaN filled by its column's observed mean (empty rows weighted
        0). Without NaN in X the results are the default's bit for bit.
        ``impute`` fills the missing values of X under the fitted model.

    Attributes
    ----------
    weights_ (k,), means_ (k, d), covariances_, precisions_,
    precisions_cholesky_ (shapes by covariance_type, as scikit-learn;
    precisions_cholesky_ is upper triangular), converged_, n_iter_,
    lower_bound_ (average log-likelihood of the best init's last iteration),
    lower_bounds_ (one per iteration), n_passes_ (passes over the data of the
    best init's EM run: n_iter_ in plain EM; apply_m_step adds one,
    partial_fit removes it), n_features_in_, feature_names_in_,
    prior_ (with a prior: the cem.Prior fitted with, every hyperparameter
    given, float64),
    degenerate_events_ (list of dicts, one per degenerate component of the
    best init's run: 'iteration' (0: the initialisation), 'component',
    'reason' ('ill_defined_covariance' or 'collapsed_weight'), 'action'
    ('widened' or 'reseeded'), 'rows' (indices of the rows re-seeded
    from), 'weight' (its new weight share); empty unless
    on_degenerate='reseed'). After a re-seed at iteration t the bound
    restarts: lower_bounds_[t:] is non-decreasing for the last event's t.
    Attributes have the dtype of the X passed to fit (float32 or float64).
    """

    _sklearn_estimator_type = "density_estimator"

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10, n_threads=None, learning_decay=0.7,
                 learning_offset=10.0, prior=None, acceleration=None,
                 on_degenerate="raise", missing="error"):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_threads = n_threads
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.prior = prior
        self.acceleration = acceleration
        self.on_degenerate = on_degenerate
        self.missing = missing

    # ------------------------------------------------------------------
    def _check_is_fitted(self):
        check_is_fitted(self, "means_")

    def _marginalize(self):
        """Whether NaN in X are missing values (else an error)."""
        return isinstance(self.missing, str) and self.missing == "marginalize"

    def _validate_predict_X(self, X):
        self._check_is_fitted()
        check_feature_names(self, X)
        return check_X(X, n_features=self.n_features_in_, name=type(self).__name__,
                       allow_nan=self._marginalize(), n_threads=self._n_threads())

    def _c_params(self):
        """The fitted parameters as the C core reads them: float64, contiguous."""
        return core_view(self.weights_, self.means_, self.precisions_cholesky_)

    def _n_threads(self):
        return effective_n_threads(self.n_threads)

    def _m_step(self, stats, shift, dtype):
        return m_step(self.covariance_type, stats, shift, self.reg_covar, dtype)

    def _check_no_prior(self, method):
        """ValueError: method runs maximum-likelihood steps only."""
        if wants_prior(self.prior):
            raise ValueError(f"{method} does not support a prior (prior={self.prior!r}): "
                             "use fit, or prior=None.")

    def _em(self, n_threads, initial_stats=None, prior=None):
        """The EM driver for the current parameters (initial_stats, prior:
        see EM; on_degenerate 'reseed' for plain maximum-likelihood EM only,
        see cem._degenerate)."""
        if self.on_degenerate != "raise" and (prior is not None or self.acceleration
                                              or self._marginalize()):
            raise ValueError("on_degenerate='reseed' re-seeds components in plain maximum-"
                             "likelihood EM of complete data: use it with prior=None, "
                             "acceleration=None and missing='error' (a prior already keeps "
                             "every component's covariance defined).")
        return EM(covariance_type=self.covariance_type, n_components=self.n_components,
                  reg_covar=self.reg_covar, tol=self.tol, max_iter=self.max_iter,
                  init_params=self.init_params, n_threads=n_threads,
                  reporter=VerboseReporter(self.verbose, self.verbose_interval),
                  initial_stats=initial_stats, prior=prior, missing=self._marginalize(),
                  acceleration=self.acceleration, degenerate=reseeding(self.on_degenerate))

    def _user_init(self, d, dtype):
        """The validated user-supplied *_init arrays (None where not given)."""
        k = self.n_components
        weights = None if self.weights_init is None else check_weights(
            self.weights_init, k, dtype)
        means = None if self.means_init is None else check_means(self.means_init, k, d)
        precisions = None if self.precisions_init is None else check_precisions(
            self.precisions_init, self.covariance_type, k, d)
        return weights, means, precisions

    def _fitted_parameters64(self):
        """The current parameters as float64 Parameters."""
        return as_float64(Parameters(self.weights_, self.means_, self.covariances_,
                                     self.precisions_cholesky_))

    def _has_model_of_current_shape(self):
        """Whether the estimator holds a model that the current
        covariance_type and n_components describe (set_params may have
        changed them since it was set)."""
        return (hasattr(self, "means_")
                and self.__dict__.get("_fitted_covariance_type") == self.covariance_type
                and self.means_.shape[0] == self.n_components)

    def _commit(self, attributes, dropped=()):
        """Delete the attributes named in dropped, then assign attributes
        (name -> value): the one place fit, initialize, partial_fit and
        apply_m_step change the estimator, reached only after everything
        that can raise has run, so a call that raises leaves it as it was."""
        for name in dropped:
            self.__dict__.pop(name, None)
        self.__dict__.update(attributes)

    def _new_model(self, params, dtype, d, names):
        """(attributes, dropped) that set a model afresh (fit, initialize):
        the parameters in dtype, the fitted features, and no partial_fit
        running statistics (they belong to the parameters replaced)."""
        attributes = fitted_attributes(params, self.covariance_type, dtype)
        attributes["_fitted_covariance_type"] = self.covariance_type
        attributes["n_features_in_"] = d
        dropped = ["_online"]
        if names is not None:
            attributes["feature_names_in_"] = names
        else:
            dropped.append("feature_names_in_")
        return attributes, dropped

    # ------------------------------------------------------------------
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by EM (n_init times, keeping the best).

        X : array-like (n_samples, n_features); float32 is used as is (the
            attributes come out float32), other numbers converted to float64.
            Also, for data larger than memory: an np.memmap or a 2-D
            array-like that slices (h5py, zarr), read in chunks; a
            dask.array.Array, fitted chunk-wise on its scheduler; or a
            callable returning a fresh iterator of chunks (arrays or
            (X_chunk, weight_chunk) pairs). Those initialise from a uniform
            sample of at most 100,000 rows unless all three *_init are given.
        y : ignored.
        sample_weight : array-like (n_samples,), optional, non-negative. Only
            relative weights matter: weights whose largest is outside
            [2**-20, 2**500] are rescaled by a power of two (cem._weights).
        Returns self. Raises ValueError on bad input or an ill-defined
        covariance; warns ConvergenceWarning if the best init did not
        converge. With warm_start, a fitted model of the current
        covariance_type and n_components is the start of one EM run;
        otherwise (not fitted, or either changed since) fit starts afresh.
        A call that raises (the warning too, if warnings are errors) leaves
        the estimator as it was.
        """
        return self._fit(X, sample_weight)

    def _fit(self, X, sample_weight, initial_stats=None):
        """fit, with the initial partition from initial_stats when given (see
        cem._em.EM): GMMSelection's candidates share one per n_components."""
        check_params(self)
        names = feature_names(X)
        source = data_source(X, rescaled_for_fitting(sample_weight), type(self).__name__,
                             self._marginalize(), self._n_threads())
        d = source.n_features
        if source.n_rows is not None and source.n_rows < self.n_components:
            raise ValueError("Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {source.n_rows}")
        user_init = self._user_init(d, source.dtype)
        n_threads = source_threads(source, self.n_threads)

        warm = self.warm_start and hasattr(self, "converged_") and \
            self._has_model_of_current_shape()
        if warm and self.n_features_in_ != d:
            raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        prior = resolve_prior(self.prior, source, self.n_components, self.covariance_type,
                              n_threads)
        start = (self._fitted_parameters64(), self.lower_bound_) if warm else None
        with random_state_for(self.random_state) as rng:
            result = self._em(n_threads, initial_stats, prior).run(
                source, n_init=1 if warm else self.n_init, user_init=user_init, rng=rng,
                start=start)

        attributes, dropped = self._new_model(result.params, source.dtype, d, names)
        if prior is not None:
            attributes["prior_"] = prior
        else:
            dropped.append("prior_")
        attributes.update(converged_=result.converged, n_iter_=result.n_iter,
                          lower_bound_=float(result.lower_bound),
                          lower_bounds_=[float(v) for v in result.lower_bounds],
                          n_passes_=result.n_passes,
                          degenerate_events_=list(result.degenerate_events))
        if not result.converged and self.max_iter > 0:
            warnings.warn("Best performing initialization did not converge. Try different "
                          "init parameters, or increase max_iter, tol, or check for "
                          "degenerate data.", raisable(ConvergenceWarning),
                          stacklevel=user_stacklevel())
        self._commit(attributes, dropped)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the component of each row (n_samples,) under the
        fitted model (the final E-step's most probable component, as
        scikit-learn): equal to fit(X).predict(X)."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ------------------------------------------------------------------
    # Statistics API: EM as map-reduce over chunks, on any engine.
    def _initial_model(self, X, sample_weight):
        """(attributes, dropped, params) of the model initialize(X,
        sample_weight) sets, computed without changing the estimator."""
        check_params(self)
        self._check_no_prior("initialize")
        names = feature_names(X)
        source = data_source(X, rescaled_for_fitting(sample_weight), type(self).__name__,
                             self._marginalize(), self._n_threads())
        user_init = self._user_init(source.n_features, source.dtype)
        rng = check_random_state(self.random_state)
        params = self._em(self._n_threads()).initial_parameters(source, user_init, rng)
        attributes, dropped = self._new_model(params, source.dtype, source.n_features, names)
        attributes.update(converged_=False, n_iter_=0, lower_bound_=-np.inf, lower_bounds_=[],
                          n_passes_=0)
        return attributes, dropped, params

    def initialize(self, X, sample_weight=None):
        """Set initial parameters (by init_params, or the *_init given) from X
        without running EM, and return self: the start of a hand-written EM
        loop over chunks (see sufficient_statistics). X is any input fit
        takes; from data not in memory a sample of at most 100,000 rows is
        used. sample_weight is rescaled as in fit. A later partial_fit steps
        from these parameters."""
        attributes, dropped, _ = self._initial_model(X, sample_weight)
        self._commit(attributes, dropped)
        return self

    def sufficient_statistics(self, X, sample_weight=None):
        """The SufficientStatistics of the rows of X (in memory, one chunk)
        under the current parameters: one E-step pass. Statistics of
        disjoint chunks add with +; apply_m_step turns their sum into the
        next parameters."""
        X = self._validate_predict_X(X)
        return self._statistics_of_rows(self._c_params(), X, sample_weight)

    def _statistics_of_rows(self, core_params, X, sample_weight):
        """SufficientStatistics of validated rows X under core_params
        (weights, means, prec_chol as the C core reads them)."""
        w = check_sample_weight(sample_weight, X.shape[0])
        values, shift = rows_statistics(self.covariance_type, core_params, X, w,
                                        self._n_threads(), self._marginalize())
        return SufficientStatistics(self.covariance_type, shift, values)

    def apply_m_step(self, stats):
        """Set the parameters to the M-step of stats (a SufficientStatistics,
        typically the sum over all chunks of sufficient_statistics) and
        return self. stats.mean_log_likelihood is the lower bound of the
        parameters that produced them; n_iter_ counts the calls. A later
        partial_fit continues from the parameters set."""
        self._check_is_fitted()
        self._check_no_prior("apply_m_step")
        if not isinstance(stats, SufficientStatistics):
            raise TypeError("apply_m_step takes the SufficientStatistics returned by "
                            "sufficient_statistics (summed over chunks)")
        if stats.covariance_type != self.covariance_type or stats.shift.shape != self.means_.shape:
            raise ValueError("the statistics do not match this model's covariance_type "
                             "and shape")
        dtype = self.means_.dtype
        attributes = fitted_attributes(self._m_step(stats.values, stats.shift, dtype),
                                       self.covariance_type, dtype)
        lower_bound = stats.mean_log_likelihood
        attributes.update(lower_bound_=lower_bound,
                          lower_bounds_=list(getattr(self, "lower_bounds_", [])) + [lower_bound],
                          n_iter_=getattr(self, "n_iter_", 0) + 1,
                          n_passes_=getattr(self, "n_passes_", 0) + 1,
                          _fitted_covariance_type=self.covariance_type)
        self._commit(attributes, dropped=["_online"])
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online (stepwise) EM on a chunk of rows seen once.

        Each call computes the chunk's statistics under the current
        parameters, normalised per unit weight, and blends them into a
        running average, s <- (1 - g) s + g s_chunk with g =
        (learning_offset + t) ** -learning_decay at step t (Cappe &
        Moulines, 2009), and sets the parameters to the M-step of s. Where
        the running average starts:

        - not fitted (or covariance_type or n_components changed since):
          the chunk initialises the model, and its statistics are s (t = 0);
        - after fit, initialize or apply_m_step: the current model goes on.
          s starts as the model's own statistics (those whose M-step gives
          its parameters back) and t goes on from n_iter_, so the chunk
          moves the model by g of the way; after initialize (n_iter_ = 0)
          the chunk's statistics under the initial parameters are s.

        Prefer it to fit on a chunk source when the data can be read only
        once or keeps arriving; exact chunked EM (fit) reaches the batch
        optimum when the data can be read again. Returns self; lower_bound_
        is the chunk's mean log-likelihood under the parameters before the
        step; n_iter_ is t after it. The chunk's sample_weight is rescaled
        as in fit (its statistics are normalised per unit weight anyway).
        A call that raises leaves the estimator as it was, so a later good
        chunk steps as if the bad one had never come.
        """
        check_params(self)
        self._check_no_prior("partial_fit")
        sample_weight = rescaled_for_fitting(sample_weight)
        if self._has_model_of_current_shape():
            attributes, dropped = {}, []
            X = self._validate_predict_X(X)
            online = self.__dict__.get("_online")
            if online is None:
                online = OnlineEM.continuing(self._fitted_parameters64(), self.covariance_type,
                                             self.reg_covar, self.n_iter_, self.lower_bound_)
            core_params, dtype = self._c_params(), self.means_.dtype
        else:
            attributes, dropped, params = self._initial_model(X, sample_weight)
            X = check_X(X, n_features=attributes["n_features_in_"], name=type(self).__name__,
                        allow_nan=self._marginalize())
            online = OnlineEM()
            core_params = core_view(params.weights, params.means, params.precisions_cholesky)
            dtype = attributes["means_"].dtype
        chunk = self._statistics_of_rows(core_params, X, sample_weight)
        online, chunk_lower_bound = online.after(chunk, self.learning_offset,
                                                 self.learning_decay)
        params = self._m_step(online.running.values, online.reference, dtype)
        attributes.update(fitted_attributes(params, self.covariance_type, dtype))
        attributes.update(_online=online, lower_bound_=chunk_lower_bound,
                          n_iter_=online.n_steps)
        self._commit(attributes, dropped + ["n_passes_"])  # fit's count: no longer this model's
        return self

    # ------------------------------------------------------------------
    def _evaluate(self, X, resp=None, log_density=None):
        """One pass over validated X under the fitted model, writing the
        responsibilities (n, k) into resp and/or the log-densities (n,)
        into log_density, whichever is given."""
        weights, means, prec_chol = self._c_params()
        try:
            _core.e_step(self.covariance_type, weights, means, prec_chol, X, None,
                         want_stats=False, resp=resp, log_density=log_density,
                         n_threads=self._n_threads(), missing=self._marginalize())
        except _core.CoreError as exc:
            raise ValueError(f"cannot evaluate the model on X: {exc}") from None

    def score_samples(self, X):
        """Natural log of the mixture density at each row: (n_samples,), in
        X's float dtype (a lazy dask array for a dask array X)."""
        if is_dask_array(X):
            return map_dask_rows(self, "score_samples", X)
        X = self._validate_predict_X(X)
        out = np.empty(X.shape[0])
        self._evaluate(X, log_density=out)
        return out.astype(X.dtype, copy=False)

    def predict_proba(self, X):
        """Responsibilities: posterior probability of each component for each
        row, (n_samples, n_components), rows summing to 1 (a lazy dask array
        for a dask array X)."""
        if is_dask_array(X):
            return map_dask_rows(self, "predict_proba", X)
        X = self._validate_predict_X(X)
        resp = np.empty((X.shape[0], self.n_components))
        self._evaluate(X, resp=resp)
        return resp.astype(X.dtype, copy=False)

    def predict(self, X):
        """Most probable component of each row, (n_samples,) int64. Works
        in chunks, so it allocates only its output beyond O(chunk x k) (a
        lazy dask array for a dask array X)."""
        if is_dask_array(X):
            return map_dask_rows(self, "predict", X)
        X = self._validate_predict_X(X)
        labels = np.empty(X.shape[0], dtype=np.int64)
        for start, rb in self._responsibility_chunks(X):
            labels[start:start + rb.shape[0]] = rb.argmax(axis=1)
        return labels

    def _responsibility_chunks(self, X):
        """(first row, responsibilities) of validated X, CHUNK_ROWS rows at
        a time in one reused buffer: O(chunk x k) memory whatever n is."""
        resp = np.empty((min(CHUNK_ROWS, X.shape[0]), self.n_components))
        for start in range(0, X.shape[0], CHUNK_ROWS):
            rb = resp[:min(CHUNK_ROWS, X.shape[0] - start)]
            self._evaluate(X[start:start + rb.shape[0]], resp=rb)
            yield start, rb

    def _log_likelihood(self, X, sample_weight):
        """(sum of w_i log p(x_i), sum of w_i) over the rows of X."""
        stats = self.sufficient_statistics(X, sample_weight)
        return stats.log_likelihood, stats.total_weight

    def score(self, X, y=None, sample_weight=None):
        """Per-sample average log-likelihood of X (weighted by sample_weight
        if given), a float."""
        total, n = self._log_likelihood(X, sample_weight)
        return total / n

    def _n_parameters(self):
        """Free parameters of the model: covariances, means and k - 1 weights."""
        k, d = self.means_.shape
        return n_parameters(self.covariance_type, k, d)

    def bic(self, X, sample_weight=None):
        """Bayesian information criterion of the model on X (lower is better):
        -2 log L + n_parameters * log(n), n the total weight (rows if no
        sample_weight)."""
        total, n = self._log_likelihood(X, sample_weight)
        return -2 * total + self._n_parameters() * np.log(n)

    def aic(self, X, sample_weight=None):
        """Akaike information criterion of the model on X (lower is better):
        -2 log L + 2 n_parameters."""
        total, _ = self._log_likelihood(X, sample_weight)
        return -2 * total + 2 * self._n_parameters()

    def icl(self, X, sample_weight=None):
        """Integrated completed likelihood criterion of the model on X
        (Biernacki, Celeux & Govaert 2000, as mclust's icl), lower is better:
        bic(X) - 2 sum_i w_i log r_i,c(i), with r the responsibilities and
        c(i) the most probable component of row i. The added entropy term
        is >= 0, so icl >= bic, equal when every row belongs to one
        component with certainty; it penalises overlapping components.
        mclust reports -icl (its criteria are higher-is-better)."""
        bic = self.bic(X, sample_weight)
        X = self._validate_predict_X(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        log_max_resp = 0.0
        for start, rb in self._responsibility_chunks(X):
            log_rmax = np.log(rb.max(axis=1))
            log_max_resp += log_rmax.sum() if w is None else w[start:start + rb.shape[0]] @ log_rmax
        return bic - 2 * log_max_resp

    def impute(self, X):
        """X with each missing value (NaN) replaced by its conditional
        expectation under the fitted mixture, sum_c r_c(x_o) x_hat_m,c:
        r_c(x_o) the responsibilities given the row's observed values,
        x_hat_m,c = mu_m,c + S_mo,c S_oo,c^-1 (x_o - mu_o,c) the conditional
        mean under component c (mu_m,c for diag and spherical). A row with
        nothing observed gets the mixture mean sum_c w_c mu_c. Returns a new
        (n_samples, n_features) array in X's float dtype; observed values
        are returned unchanged. Requires missing="marginalize"."""
        if not self._marginalize():
            raise ValueError("impute needs missing='marginalize' (with missing='error' a NaN "
                             "in X is invalid input)")
        X = self._validate_predict_X(X)
        resp = np.empty((X.shape[0], self.n_components))
        self._evaluate(X, resp=resp)
        k, d = self.means_.shape
        filled = conditional_expectation(
            X, resp, np.asarray(self.means_, dtype=np.float64),
            covariance_matrices(self.covariance_type, self.covariances_, k, d))
        return filled.astype(X.dtype, copy=False)

    def condition(self, X_given, columns):
        """The conditional density of the other columns given the values of
        some: p(x_r | x_g), again a Gaussian mixture (see cem._conditional).

        columns : sequence of the q given columns, as indices in
            [0, n_features) or, if the model was fitted with feature names,
            names; no duplicates, not all of them.
        X_given : their values, shape (q,) for one row or (n, q) for many,
            in the order of columns; finite.

        Returns, for one row (1-D X_given), a fitted GMM over the r =
        n_features - q remaining columns (ascending order; feature_names_in_
        their names if fitted with names) with the same covariance_type
        (every type is closed under conditioning), weights_ the components'
        posterior w_c N(x_g | mu_g,c, S_gg,c) / sum, means_ the conditional
        means mu_r,c + S_rg,c S_gg,c^-1 (x_g - mu_g,c) and covariances_ the
        conditional covariances S_rr,c - S_rg,c S_gg,c^-1 S_gr,c, in the
        model's dtype: its predict, score_samples (log p(x_r | x_g)) and
        sample work as on any fitted GMM. For many rows (2-D X_given), a
        cem._conditional.ConditionalMixture of float64 arrays: weights
        (n, k), means (n, k, r), covariances (k, r, r) shared by the rows,
        columns (r,), and mean() = E[x_r | x_g] (n, r). ValueError for bad
        columns or X_given; NotFittedError before fit."""
        self._check_is_fitted()
        k, d = self.means_.shape
        names = getattr(self, "feature_names_in_", None)
        given = _conditional.given_columns(columns, d, names)
        X, one_row = _conditional.given_values(X_given, given.size)
        weights, means, cond_cov, rest = _conditional.condition(
            self.covariance_type, self.weights_, self.means_, self.covariances_, given, X)
        rest_names = None if names is None else names[rest]
        if not one_row:
            return _conditional.ConditionalMixture(weights, means, cond_cov, rest, rest_names)
        params = _conditional.parameters(
            self.covariance_type, weights[0], means[0],
            _conditional.native_covariances(self.covariance_type, self.covariances_,
                                            cond_cov, rest))
        # the *_init arrays have the full model's shape: not the conditional's
        model = type(self)(**dict(self.get_params(deep=False), weights_init=None,
                                  means_init=None, precisions_init=None))
        attributes, _ = model._new_model(params, self.means_.dtype, rest.size, rest_names)
        model._commit(attributes)
        return model

    def sample(self, n_samples=1):
        """Draw n_samples rows from the fitted mixture; returns (X, y) with
        X (n_samples, n_features) and y the component of each row. Uses
        random_state exactly as scikit-learn does."""
        self._check_is_fitted()
        if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
            raise ValueError(f"Invalid value for 'n_samples': {n_samples!r}. The sampling "
                             "requires at least one sample.")
        _, d = self.means_.shape
        rng = check_random_state(self.random_state)
        counts = rng.multinomial(n_samples, np.asarray(self.weights_, dtype=np.float64))
        if self.covariance_type == "full":
            X = np.vstack([rng.multivariate_normal(m, c, int(s))
                           for m, c, s in zip(self.means_, self.covariances_, counts)])
        elif self.covariance_type == "tied":
            X = np.vstack([rng.multivariate_normal(m, self.covariances_, int(s))
                           for m, s in zip(self.means_, counts)])
        else:
            # variances: per component (diag, spherical) or one set shared
            # by all components (tied_diag, tied_spherical)
            variances = self.covariances_
            if self.covariance_type in ("tied_diag", "tied_spherical"):
                variances = [variances] * len(counts)
            X = np.vstack([m + rng.standard_normal(size=(s, d)) * np.sqrt(c)
                           for m, c, s in zip(self.means_, variances, counts)])
        y = np.concatenate([np.full(int(s), i, dtype=np.int64) for i, s in enumerate(counts)])
        return X, y
