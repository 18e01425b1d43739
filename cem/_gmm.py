"""cem.GMM: a drop-in for sklearn.mixture.GaussianMixture.

Python owns policy here: validation, initialisation, the EM loop and its
convergence test, n_init, warnings and the scikit-learn attributes. Each EM
iteration is one call into the C core (cem._core.e_step: responsibilities and
sufficient statistics in one pass over X) and one M-step on the statistics.
"""
import warnings
from time import perf_counter

import numpy as np

from cem import _core
from cem._estimator import Estimator
from cem._init import NK_FLOOR, initial_stats
from cem._sources import INIT_SAMPLE_ROWS, _is_dask_array, data_source
from cem._stats import SufficientStatistics
from cem._validation import (
    CHUNK_ROWS, ConvergenceWarning, NotFittedError, check_means, check_params,
    check_precisions, check_random_state, check_sample_weight, check_weights, check_X,
    effective_n_threads, feature_names,
)


def _ill_defined_message(dtype):
    message = ("Fitting the mixture model failed because some components have "
               "ill-defined empirical covariance (for instance caused by singleton "
               "or collapsed samples). Try to decrease the number of components, "
               "increase reg_covar, or scale the input data.")
    if dtype == np.float32:
        message += (" The numerical accuracy can also be improved by passing float64"
                    " data instead of float32.")
    return message


def _e_step_error(exc):
    """The ValueError for a failed pass of the C core."""
    return ValueError(f"E-step failed: {exc}. The model gives some sample a density that is "
                      "not representable; check the data scale and the initial parameters.")


def _flip(a):
    return a[..., ::-1, ::-1]


def _prec_chol_from_precisions(precisions, covariance_type):
    """Upper-triangular U with U U^T = precision (scikit-learn's convention),
    via the Cholesky factor of the row- and column-reversed matrix."""
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    return np.ascontiguousarray(_flip(np.linalg.cholesky(_flip(precisions))))


class GMM(Estimator):
    """Gaussian mixture model fitted by expectation-maximization.

    The parameters, attributes and methods are those of
    ``sklearn.mixture.GaussianMixture`` (scikit-learn 1.9), with the same
    results given the same initialisation, plus:

    - ``n_threads`` : int or None, default=None. Threads for the passes over
      the data; None uses ``OMP_NUM_THREADS`` if set, else every core the
      process may run on. Results are bit-identical for any value.
    - ``sample_weight`` in ``fit``, ``fit_predict``, ``score``, ``bic`` and
      ``aic``: non-negative per-row weights. Integer weights fit like
      duplicated rows, a zero weight like a dropped row.

    Parameters
    ----------
    n_components : int, default=1
        Number of mixture components k.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Shape of the component covariances.
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
        Shape (k, d, d), (d, d), (k, d) or (k,) by covariance_type.
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

    Attributes
    ----------
    weights_ (k,), means_ (k, d), covariances_, precisions_,
    precisions_cholesky_ (shapes by covariance_type, as scikit-learn;
    precisions_cholesky_ is upper triangular), converged_, n_iter_,
    lower_bound_ (average log-likelihood of the best init's last iteration),
    lower_bounds_ (one per iteration), n_features_in_, feature_names_in_.
    Attributes have the dtype of the X passed to fit (float32 or float64).
    """

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
                 max_iter=100, n_init=1, init_params="kmeans", weights_init=None,
                 means_init=None, precisions_init=None, random_state=None, warm_start=False,
                 verbose=0, verbose_interval=10, n_threads=None, learning_decay=0.7,
                 learning_offset=10.0):
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

    # ------------------------------------------------------------------
    def _check_is_fitted(self):
        if not hasattr(self, "means_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator.")

    def _validate_predict_X(self, X):
        self._check_is_fitted()
        names = feature_names(X)
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and names is not None and not np.array_equal(names, fitted):
            raise ValueError("The feature names should match those that were passed during fit.")
        return check_X(X, n_features=self.n_features_in_, name=type(self).__name__)

    def _c_params(self):
        """The fitted parameters as the C core reads them: float64, contiguous."""
        as64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)
        return as64(self.weights_), as64(self.means_), as64(self.precisions_cholesky_)

    def _n_threads(self):
        return effective_n_threads(self.n_threads)

    # ------------------------------------------------------------------
    def _m_step(self, stats, shift, dtype):
        try:
            return _core.m_step(self.covariance_type, stats, shift, float(self.reg_covar))
        except _core.CoreError as exc:
            if exc.status == _core.STATUS_NOT_POSITIVE_DEFINITE:
                raise ValueError(_ill_defined_message(dtype)) from None
            raise ValueError(f"M-step failed: {exc}") from None

    def _e_step(self, params, X, sample_weight, n_threads):
        """Statistics of X under params (weights, means, prec_chol); raises a
        clear ValueError when a row's likelihood is not finite."""
        weights, means, prec_chol = params
        try:
            return _core.e_step(self.covariance_type, weights, means, prec_chol, X,
                                sample_weight, n_threads=n_threads)
        except _core.CoreError as exc:
            raise _e_step_error(exc) from None

    def _user_init(self, d, dtype):
        """The validated user-supplied *_init arrays (None where not given)."""
        k = self.n_components
        weights = None if self.weights_init is None else check_weights(
            self.weights_init, k, dtype)
        means = None if self.means_init is None else check_means(self.means_init, k, d)
        precisions = None if self.precisions_init is None else check_precisions(
            self.precisions_init, self.covariance_type, k, d)
        return weights, means, precisions

    def _initial_stats(self, X, sample_weight, rng, n_threads):
        """(stats, shift) of X under the initial partition of init_params.
        GMMSelection replaces it on its candidates with a partition made once
        per n_components and shared by the covariance types."""
        return initial_stats(X, sample_weight, self.n_components, self.covariance_type,
                             self.init_params, rng, n_threads)

    def _initialize(self, X, sample_weight, user_init, rng, n_threads):
        """Initial (weights, means, covariances, prec_chol), float64."""
        k = self.n_components
        weights_init, means_init, precisions_init = user_init
        weights = means = covariances = prec_chol = None
        if weights_init is None or means_init is None or precisions_init is None:
            stats, shift = self._initial_stats(X, sample_weight, rng, n_threads)
            _, means, covariances, prec_chol = self._m_step(stats, shift, X.dtype)
            # as scikit-learn: counts over the total weight, unnormalised
            total = X.shape[0] if sample_weight is None else sample_weight.sum()
            weights = (stats[2:2 + k] + NK_FLOOR) / total
        if weights_init is not None:
            weights = weights_init
        if means_init is not None:
            means = means_init
        if precisions_init is not None:
            prec_chol = _prec_chol_from_precisions(precisions_init, self.covariance_type)
            if self.covariance_type in ("diag", "spherical"):
                covariances = 1.0 / precisions_init
            else:
                covariances = np.linalg.inv(precisions_init)
        return [np.ascontiguousarray(a, dtype=np.float64)
                for a in (weights, means, covariances, prec_chol)]

    def _set_parameters(self, params, dtype):
        weights, means, covariances, prec_chol = (np.asarray(a, dtype=dtype) for a in params)
        self.weights_, self.means_ = weights, means
        self.covariances_, self.precisions_cholesky_ = covariances, prec_chol
        if self.covariance_type == "full":
            self.precisions_ = prec_chol @ np.swapaxes(prec_chol, 1, 2)
        elif self.covariance_type == "tied":
            self.precisions_ = prec_chol @ prec_chol.T
        else:
            self.precisions_ = prec_chol ** 2

    def _get_parameters64(self):
        return [np.ascontiguousarray(a, dtype=np.float64) for a in
                (self.weights_, self.means_, self.covariances_, self.precisions_cholesky_)]

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
        sample_weight : array-like (n_samples,), optional, non-negative.
        Returns self. Raises ValueError on bad input or an ill-defined
        covariance; warns ConvergenceWarning if the best init did not converge.
        """
        check_params(self)
        names = feature_names(X)
        source = data_source(X, sample_weight, type(self).__name__)
        d = source.n_features
        if source.n_rows is not None and source.n_rows < self.n_components:
            raise ValueError("Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {source.n_rows}")
        user_init = self._user_init(d, source.dtype)
        n_threads = self._n_threads()
        if _is_dask_array(X):
            n_threads = self.n_threads or 1  # a task per chunk already uses the workers

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        if not do_init and self.n_features_in_ != d:
            raise ValueError(f"X has {d} features, but {type(self).__name__} is expecting "
                             f"{self.n_features_in_} features as input.")
        rng = check_random_state(self.random_state)
        max_lower_bound = -np.inf
        best_params, best_n_iter, best_lower_bounds, best_converged = None, 0, [], False

        for init in range(n_init):
            self._verbose_init_begin(init)
            if do_init:
                params = self._initialize_from(source, user_init, rng, n_threads)
            else:
                params = self._get_parameters64()
            lower_bound = -np.inf if do_init else self.lower_bound_
            lower_bounds = []
            if self.max_iter == 0:
                best_params, best_n_iter = params, 0
                continue
            converged = False
            for n_iter in range(1, self.max_iter + 1):
                prev_lower_bound = lower_bound
                weights, means, _, prec_chol = params
                stats = self._statistics(source, (weights, means, prec_chol), n_threads)
                params = list(self._m_step(stats, means, source.dtype))
                lower_bound = stats[1] / stats[0]  # mean log-likelihood before the M-step
                lower_bounds.append(lower_bound)
                change = lower_bound - prev_lower_bound
                self._verbose_iter_end(n_iter, change)
                if abs(change) < self.tol:
                    converged = True
                    break
            self._verbose_init_end(lower_bound, converged)
            if lower_bound > max_lower_bound or max_lower_bound == -np.inf:
                max_lower_bound = lower_bound
                best_params, best_n_iter = params, n_iter
                best_lower_bounds, best_converged = lower_bounds, converged

        self.converged_ = best_converged
        if not self.converged_ and self.max_iter > 0:
            warnings.warn("Best performing initialization did not converge. Try different "
                          "init parameters, or increase max_iter, tol, or check for "
                          "degenerate data.", ConvergenceWarning, stacklevel=2)
        self._set_parameters(best_params, source.dtype)
        self.n_iter_ = best_n_iter
        self.lower_bound_ = float(max_lower_bound)
        self.lower_bounds_ = [float(v) for v in best_lower_bounds]
        self._set_features(d, names)
        return self

    def _set_features(self, d, names):
        """Record the fitted features; a model set afresh (fit, initialize)
        also drops partial_fit's running statistics, which belong to the
        parameters it replaced."""
        self.__dict__.pop("_online", None)
        self.n_features_in_ = d
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _initialize_from(self, source, user_init, rng, n_threads):
        """Initial parameters: from the user's *_init alone when all three are
        given, else by init_params on the source's initialisation sample."""
        if all(v is not None for v in user_init):
            return self._initialize(None, None, user_init, rng, n_threads)
        X, w = source.init_sample(rng, INIT_SAMPLE_ROWS)
        if X.shape[0] < self.n_components:
            raise ValueError("Expected n_samples >= n_components but got n_components = "
                             f"{self.n_components}, n_samples = {X.shape[0]}")
        return self._initialize(X, w, user_init, rng, n_threads)

    def _statistics(self, source, params, n_threads):
        try:
            return source.statistics(self.covariance_type, params, n_threads)
        except _core.CoreError as exc:
            raise _e_step_error(exc) from None

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the component of each row (n_samples,) under the
        fitted model: always equal to fit(X).predict(X)."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    # ------------------------------------------------------------------
    # Statistics API: EM as map-reduce over chunks, on any engine.
    def initialize(self, X, sample_weight=None):
        """Set initial parameters (by init_params, or the *_init given) from X
        without running EM, and return self: the start of a hand-written EM
        loop over chunks (see sufficient_statistics). X is any input fit
        takes; from data not in memory a sample of at most 100,000 rows is
        used."""
        check_params(self)
        names = feature_names(X)
        source = data_source(X, sample_weight, type(self).__name__)
        user_init = self._user_init(source.n_features, source.dtype)
        rng = check_random_state(self.random_state)
        params = self._initialize_from(source, user_init, rng, self._n_threads())
        self._set_parameters(params, source.dtype)
        self.converged_, self.n_iter_ = False, 0
        self.lower_bound_, self.lower_bounds_ = -np.inf, []
        self._set_features(source.n_features, names)
        return self

    def sufficient_statistics(self, X, sample_weight=None):
        """The SufficientStatistics of the rows of X (in memory, one chunk)
        under the current parameters: one E-step pass. Statistics of
        disjoint chunks add with +; apply_m_step turns their sum into the
        next parameters."""
        X = self._validate_predict_X(X)
        w = check_sample_weight(sample_weight, X.shape[0])
        weights, means, prec_chol = self._c_params()
        values = self._e_step((weights, means, prec_chol), X, w, self._n_threads())
        return SufficientStatistics(self.covariance_type, means, values)

    def apply_m_step(self, stats):
        """Set the parameters to the M-step of stats (a SufficientStatistics,
        typically the sum over all chunks of sufficient_statistics) and
        return self. stats.mean_log_likelihood is the lower bound of the
        parameters that produced them; n_iter_ counts the calls."""
        self._check_is_fitted()
        if not isinstance(stats, SufficientStatistics):
            raise TypeError("apply_m_step takes the SufficientStatistics returned by "
                            "sufficient_statistics (summed over chunks)")
        if stats.covariance_type != self.covariance_type or stats.shift.shape != self.means_.shape:
            raise ValueError("the statistics do not match this model's covariance_type "
                             "and shape")
        dtype = self.means_.dtype
        self._set_parameters(self._m_step(stats.values, stats.shift, dtype), dtype)
        self.lower_bound_ = stats.mean_log_likelihood
        self.lower_bounds_ = list(getattr(self, "lower_bounds_", [])) + [self.lower_bound_]
        self.n_iter_ = getattr(self, "n_iter_", 0) + 1
        return self

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online (stepwise) EM on a chunk of rows seen once.

        The first call initialises the model from the chunk. Each call then
        computes the chunk's statistics under the current parameters,
        normalised per unit weight, and blends them into a running average,
        s <- (1 - g) s + g s_chunk with g = (learning_offset + t) **
        -learning_decay for the t-th call (Cappe & Moulines, 2009), and sets
        the parameters to the M-step of s. Prefer it to fit on a chunk
        source when the data can be read only once or keeps arriving; exact
        chunked EM (fit) reaches the batch optimum when the data can be read
        again. Returns self; lower_bound_ is the chunk's mean log-likelihood
        under the parameters before the step.
        """
        if not hasattr(self, "_online") or not hasattr(self, "means_"):
            self.initialize(X, sample_weight)
            self._online = {"t": 0, "reference": None, "stats": None}
        chunk = self.sufficient_statistics(X, sample_weight)
        online = self._online
        if online["reference"] is None:  # a fixed point the running moments are about
            online["reference"] = np.tile(chunk.shift.mean(axis=0), (self.n_components, 1))
        chunk = chunk.moved_to(online["reference"]).scaled(1.0 / chunk.total_weight)
        step = 1.0 if online["stats"] is None else \
            (self.learning_offset + online["t"]) ** -self.learning_decay
        online["stats"] = chunk if online["stats"] is None else \
            online["stats"].scaled(1.0 - step) + chunk.scaled(step)
        online["t"] += 1
        dtype = self.means_.dtype
        self._set_parameters(self._m_step(online["stats"].values, online["reference"], dtype),
                             dtype)
        self.lower_bound_ = chunk.mean_log_likelihood
        self.n_iter_ = online["t"]
        return self

    # ------------------------------------------------------------------
    def _pass(self, X, resp=None, log_density=None):
        weights, means, prec_chol = self._c_params()
        try:
            _core.e_step(self.covariance_type, weights, means, prec_chol, X, None,
                         want_stats=False, resp=resp, log_density=log_density,
                         n_threads=self._n_threads())
        except _core.CoreError as exc:
            raise ValueError(f"cannot evaluate the model on X: {exc}") from None

    def _dask_map(self, X, method, dtype, n_columns=None):
        """method applied lazily to each row chunk of a dask array: a 1-D
        result, or n_columns columns."""
        self._check_is_fitted()
        X = X.rechunk({1: -1})
        if n_columns is None:
            return X.map_blocks(method, drop_axis=1, dtype=dtype)
        return X.map_blocks(method, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)

    @staticmethod
    def _float_dtype(X):
        return np.float32 if X.dtype == np.float32 else np.float64

    def score_samples(self, X):
        """Natural log of the mixture density at each row: (n_samples,), in
        X's float dtype (a lazy dask array for a dask array X)."""
        if _is_dask_array(X):
            return self._dask_map(X, self.score_samples, self._float_dtype(X))
        X = self._validate_predict_X(X)
        out = np.empty(X.shape[0])
        self._pass(X, log_density=out)
        return out.astype(X.dtype, copy=False)

    def predict_proba(self, X):
        """Responsibilities: posterior probability of each component for each
        row, (n_samples, n_components), rows summing to 1 (a lazy dask array
        for a dask array X)."""
        if _is_dask_array(X):
            return self._dask_map(X, self.predict_proba, self._float_dtype(X), self.n_components)
        X = self._validate_predict_X(X)
        resp = np.empty((X.shape[0], self.n_components))
        self._pass(X, resp=resp)
        return resp.astype(X.dtype, copy=False)

    def predict(self, X):
        """Most probable component of each row, (n_samples,) int64. Works
        in chunks, so it allocates only its output beyond O(chunk x k) (a
        lazy dask array for a dask array X)."""
        if _is_dask_array(X):
            return self._dask_map(X, self.predict, np.int64)
        X = self._validate_predict_X(X)
        labels = np.empty(X.shape[0], dtype=np.int64)
        resp = np.empty((min(CHUNK_ROWS, X.shape[0]), self.n_components))
        for start in range(0, X.shape[0], CHUNK_ROWS):
            Xb = X[start:start + CHUNK_ROWS]
            rb = resp[:Xb.shape[0]]
            self._pass(Xb, resp=rb)
            labels[start:start + Xb.shape[0]] = rb.argmax(axis=1)
        return labels

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
        cov_params = {"full": k * d * (d + 1) / 2.0, "diag": k * d,
                      "tied": d * (d + 1) / 2.0, "spherical": k}[self.covariance_type]
        return int(cov_params + d * k + k - 1)

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
        resp = np.empty((min(CHUNK_ROWS, X.shape[0]), self.n_components))
        for start in range(0, X.shape[0], CHUNK_ROWS):
            rb = resp[:min(CHUNK_ROWS, X.shape[0] - start)]
            self._pass(X[start:start + rb.shape[0]], resp=rb)
            log_rmax = np.log(rb.max(axis=1))
            log_max_resp += log_rmax.sum() if w is None else w[start:start + rb.shape[0]] @ log_rmax
        return bic - 2 * log_max_resp

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
            X = np.vstack([m + rng.standard_normal(size=(s, d)) * np.sqrt(c)
                           for m, c, s in zip(self.means_, self.covariances_, counts)])
        y = np.concatenate([np.full(int(s), i, dtype=np.int64) for i, s in enumerate(counts)])
        return X, y

    # ------------------------------------------------------------------
    def _verbose_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        if self.verbose >= 2:
            self._init_prev_time = self._iter_prev_time = perf_counter()

    def _verbose_iter_end(self, n_iter, change):
        if self.verbose and n_iter % self.verbose_interval == 0:
            if self.verbose == 1:
                print(f"  Iteration {n_iter}")
            else:
                now = perf_counter()
                print(f"  Iteration {n_iter}\t time lapse {now - self._iter_prev_time:.5f}s\t "
                      f"ll change {change:.5f}")
                self._iter_prev_time = now

    def _verbose_init_end(self, lower_bound, converged):
        message = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {message}.")
        elif self.verbose >= 2:
            elapsed = perf_counter() - self._init_prev_time
            print(f"Initialization {message}. time lapse {elapsed:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")
