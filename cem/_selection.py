"""cem.GMMSelection: the number of components and the covariance type chosen
by an information criterion (BIC, AIC or ICL) over a grid of candidate
GMMs, as R's mclust does.

Work is shared where EM allows: the initial partition (k-means, seeds or
random responsibilities) depends on n_components and the random draws, not
on the covariance type, so it is made once per n_components and every
covariance type starts from it. Each candidate still equals, bit for bit,
GMM(n_components=k, covariance_type=t, random_state=seed, ...).fit(X).
Candidates run on a thread pool, one C thread each: the passes over the
data release the GIL, and whole candidates in parallel need no barrier per
pass, unlike one candidate split over threads.
"""
import itertools
import numbers
import warnings
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter

import numpy as np

from cem._estimator import Estimator
from cem._gmm import GMM
from cem._init import initial_stats_by_type
from cem._shapes import n_parameters
from cem._validation import (
    COVARIANCE_TYPES, ConvergenceWarning, check_is_fitted, check_params, check_random_state,
    check_sample_weight, check_X, effective_n_threads, feature_names, raisable, user_stacklevel,
)

CRITERIA = ("bic", "aic", "icl")
# mclust's default G = 1:9; a tuple, as scikit-learn wants defaults of simple types.
DEFAULT_N_COMPONENTS = tuple(range(1, 10))
# GMM parameters shared by every candidate, passed through unchanged.
GMM_PARAMS = ("tol", "reg_covar", "max_iter", "n_init", "init_params", "random_state",
              "n_threads", "prior")
# The exceptions that mean "this candidate cannot be fitted" (an ill-defined
# covariance, a non-representable density, more components than rows); any
# other exception is a bug and propagates.
CANDIDATE_ERRORS = (ValueError, ArithmeticError)


def _score(gmm, criterion, X, w):
    """(criterion, log-likelihood) of a fitted GMM on X, the criterion equal
    to gmm.bic / aic / icl (X, w): bic and aic from the one pass that gives
    the log-likelihood, by their definitions in GMM."""
    log_likelihood, n = gmm._log_likelihood(X, w)
    if criterion == "bic":
        return -2 * log_likelihood + gmm._n_parameters() * np.log(n), log_likelihood
    if criterion == "aic":
        return -2 * log_likelihood + 2 * gmm._n_parameters(), log_likelihood
    return gmm.icl(X, w), log_likelihood


class GMMSelection(Estimator):
    """Gaussian mixtures over a grid of n_components x covariance types, the
    best by an information criterion (lower is better), as mclust's Mclust.

    Parameters
    ----------
    n_components : int or iterable of int (a range, list...), default=(1, ..., 9)
        The numbers of components k to try (mclust's default G = 1:9).
    covariance_types : str or sequence of str, default=all six of GMM's types
        The covariance types to try (each of 'full', 'tied', 'diag',
        'spherical', 'tied_diag', 'tied_spherical'; mclust's VVV, EEE, VVI,
        VII, EEI, EII). The default tries all six, as mclust's Mclust tries
        all its models; pass ('full', 'tied', 'diag', 'spherical') for
        scikit-learn's four only.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        GMM.bic, GMM.aic or GMM.icl on the training data (with its weights).
    tol, reg_covar, max_iter, n_init, init_params, random_state, n_threads
        As in GMM, for every candidate. Every candidate is seeded with the
        same integer: random_state if it is one, else one drawn from
        random_state (a RandomState, or numpy's global one for None) at fit.
        n_threads is the total: candidates run in parallel, each on
        n_threads // (candidates running) threads. Results do not depend
        on it.
    prior : as in GMM, for every candidate (default None: maximum
        likelihood). 'default' gives each candidate mclust's default prior
        for its own k and covariance type, as Mclust(prior =
        priorControl()); the criteria use the log-likelihood at the MAP
        estimate, as mclust.

    Attributes
    ----------
    results_ : dict of equal-length arrays (``pandas.DataFrame(results_)``)
        One entry per candidate, k-major in the order tried:
        'n_components', 'covariance_type', the criterion (named 'bic', 'aic'
        or 'icl'), 'log_likelihood' (sum of w_i log p(x_i) at the fitted
        parameters), 'n_parameters', 'n_iter', 'converged', 'fit_time'
        (seconds of the candidate's own fit and scoring; the shared
        initialisation per k is not included) and 'status' ('ok', or why
        the candidate failed; then its criterion and log_likelihood are NaN,
        n_iter 0 and converged False).
    best_index_ : int
        The row of results_ with the lowest criterion (the first on ties).
    best_params_ : dict
        {'n_components': k, 'covariance_type': t} of the chosen candidate.
    best_estimator_ : GMM
        The chosen candidate, fitted (its n_threads is this n_threads).
    n_features_in_, feature_names_in_ : as GMM.

    predict, predict_proba, score, score_samples, bic, aic, icl and sample
    are those of best_estimator_.
    """

    _sklearn_estimator_type = "density_estimator"

    def __init__(self, n_components=DEFAULT_N_COMPONENTS, *, covariance_types=COVARIANCE_TYPES,
                 criterion="bic", tol=1e-3, reg_covar=1e-6, max_iter=100, n_init=1,
                 init_params="kmeans", random_state=None, n_threads=None, prior=None):
        self.n_components = n_components
        self.covariance_types = covariance_types
        self.criterion = criterion
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.n_threads = n_threads
        self.prior = prior

    # ------------------------------------------------------------------
    def _grid(self):
        """The validated grid: {dimension: values}, each dimension a GMM
        parameter; candidates are its Cartesian product in this order."""
        name = type(self).__name__
        ks = self.n_components
        if isinstance(ks, numbers.Integral) and not isinstance(ks, bool):
            ks = [ks]
        try:
            ks = list(ks)
        except TypeError:
            raise TypeError(f"The 'n_components' parameter of {name} must be an int or an "
                            f"iterable of ints. Got {self.n_components!r} instead.") from None
        if not ks or not all(isinstance(k, numbers.Integral) and not isinstance(k, bool)
                             and k >= 1 for k in ks):
            raise ValueError(f"The 'n_components' parameter of {name} must hold at least one "
                             f"int, all >= 1. Got {self.n_components!r} instead.")
        types = self.covariance_types
        if isinstance(types, str):
            types = [types]
        try:
            types = list(types)
        except TypeError:
            types = None
        if not types or not all(isinstance(t, str) and t in COVARIANCE_TYPES for t in types):
            raise ValueError(f"The 'covariance_types' parameter of {name} must be a str or a "
                             f"non-empty sequence of str among {COVARIANCE_TYPES}. "
                             f"Got {self.covariance_types!r} instead.")
        if not isinstance(self.criterion, str) or self.criterion not in CRITERIA:
            raise ValueError(f"The 'criterion' parameter of {name} must be a str among "
                             f"{CRITERIA}. Got {self.criterion!r} instead.")
        return {"n_components": sorted({int(k) for k in ks}),
                "covariance_type": list(dict.fromkeys(types))}

    def _seed(self):
        if isinstance(self.random_state, numbers.Integral) and \
                not isinstance(self.random_state, bool):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def fit(self, X, y=None, sample_weight=None):
        """Fit every candidate on X, score it by criterion, keep the best.

        X : array-like (n_samples, n_features), in memory (float32 kept).
        y : ignored. sample_weight : array-like (n_samples,), optional.
        Returns self. A candidate that cannot be fitted is recorded in
        results_ with its reason; raises ValueError if none can, or on bad
        input or parameters (and then leaves the estimator as it was).
        Warns ConvergenceWarning if the chosen candidate did not converge.
        """
        grid = self._grid()
        gmm_params = {p: getattr(self, p) for p in GMM_PARAMS}
        check_params(GMM(grid["n_components"][0], covariance_type=grid["covariance_type"][0],
                         **gmm_params))
        names = feature_names(X)
        X = check_X(X, min_samples=2, name=type(self).__name__)
        w = check_sample_weight(sample_weight, X.shape[0])
        gmm_params["random_state"] = self._seed()
        candidates = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]

        n_threads = effective_n_threads(self.n_threads)
        n_workers = min(n_threads, len(candidates))
        gmm_params["n_threads"] = max(1, n_threads // n_workers)
        with warnings.catch_warnings():
            # a candidate that stops at max_iter is recorded (converged False);
            # only the chosen one's warning reaches the user, below
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = self._fit_candidates(X, w, candidates, gmm_params, n_workers)

        results = self._results(candidates, fitted, X.shape[1])
        ok = results["status"] == "ok"
        if not ok.any():
            reasons = sorted(set(results["status"]))
            raise ValueError(f"No candidate of {type(self).__name__} could be fitted: "
                             + "; ".join(reasons))
        scores = np.where(ok, results[self.criterion], np.inf)
        best = int(np.argmin(scores))
        best_estimator = fitted[best][0].set_params(n_threads=self.n_threads)
        if names is not None:
            best_estimator.feature_names_in_ = names
        if not best_estimator.converged_ and self.max_iter > 0:
            warnings.warn(f"The chosen model ({candidates[best]}) did not converge. Try "
                          "increasing max_iter or tol.", raisable(ConvergenceWarning),
                          stacklevel=user_stacklevel())

        self.results_ = results
        self.best_index_ = best
        self.best_params_ = dict(candidates[best])
        self.best_estimator_ = best_estimator
        self.n_features_in_ = X.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def _fit_candidates(self, X, w, candidates, gmm_params, n_workers):
        """[(fitted GMM or None, criterion, log-likelihood, seconds, status)]
        in the order of candidates."""
        by_k = {}
        for i, params in enumerate(candidates):
            by_k.setdefault(params["n_components"], []).append(i)
        out = [None] * len(candidates)
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            def start_k(k):
                """The shared initialisation of k, then its candidates queued."""
                types = list(dict.fromkeys(candidates[i]["covariance_type"] for i in by_k[k]))
                inits = self._shared_inits(X, w, k, types, gmm_params)
                return [(i, pool.submit(self._fit_candidate, X, w, candidates[i], inits,
                                        gmm_params)) for i in by_k[k]]
            # largest k first: the longest initialisations and fits start early
            starts = [pool.submit(start_k, k) for k in sorted(by_k, reverse=True)]
            for start in starts:
                for i, future in start.result():
                    out[i] = future.result()
        return out

    @staticmethod
    def _shared_inits(X, w, k, covariance_types, gmm_params):
        """{covariance_type: [(stats, shift) per init]} drawn as n_init
        successive initialisations of one GMM seeded with random_state, or
        the message of the exception that stopped them."""
        n_threads = gmm_params["n_threads"]
        if X.shape[0] < k:
            return ("Expected n_samples >= n_components but got n_components = "
                    f"{k}, n_samples = {X.shape[0]}")
        rng = check_random_state(gmm_params["random_state"])
        inits = {t: [] for t in covariance_types}
        try:
            for _ in range(gmm_params["n_init"]):
                by_type = initial_stats_by_type(X, w, k, covariance_types,
                                                gmm_params["init_params"], rng, n_threads)
                for t in covariance_types:
                    inits[t].append(by_type[t])
        except CANDIDATE_ERRORS as exc:
            return str(exc)
        return inits

    def _fit_candidate(self, X, w, params, inits, gmm_params):
        """One candidate GMM(**params, **gmm_params) fitted from its shared
        initialisations and scored: (GMM or None, criterion, log-likelihood,
        seconds, status)."""
        start = perf_counter()
        if isinstance(inits, str):
            return None, np.nan, np.nan, perf_counter() - start, inits
        gmm = GMM(**params, **gmm_params)
        given = iter(inits[params["covariance_type"]])
        try:  # the candidate starts from the shared partitions, in fit's order
            gmm._fit(X, w, initial_stats=lambda X, sample_weight, rng, n_threads: next(given))
            value, log_likelihood = _score(gmm, self.criterion, X, w)
        except CANDIDATE_ERRORS as exc:
            return None, np.nan, np.nan, perf_counter() - start, str(exc)
        return gmm, float(value), float(log_likelihood), perf_counter() - start, "ok"

    def _results(self, candidates, fitted, d):
        results = {dim: np.array([c[dim] for c in candidates],
                                 dtype=np.int64 if dim == "n_components" else object)
                   for dim in candidates[0]}
        results[self.criterion] = np.array([f[1] for f in fitted], dtype=np.float64)
        results["log_likelihood"] = np.array([f[2] for f in fitted], dtype=np.float64)
        results["n_parameters"] = np.array(
            [n_parameters(c["covariance_type"], c["n_components"], d) for c in candidates],
            dtype=np.int64)
        results["n_iter"] = np.array([0 if f[0] is None else f[0].n_iter_ for f in fitted],
                                     dtype=np.int64)
        results["converged"] = np.array([f[0] is not None and bool(f[0].converged_)
                                         for f in fitted])
        results["fit_time"] = np.array([f[3] for f in fitted], dtype=np.float64)
        results["status"] = np.array([f[4] for f in fitted], dtype=object)
        return results

    # ------------------------------------------------------------------
    def _best(self):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then the chosen model's component of each row (n_samples,)."""
        return self.fit(X, y, sample_weight=sample_weight).predict(X)

    def predict(self, X):
        """best_estimator_.predict: the most probable component of each row."""
        return self._best().predict(X)

    def predict_proba(self, X):
        """best_estimator_.predict_proba: responsibilities (n_samples, k)."""
        return self._best().predict_proba(X)

    def score_samples(self, X):
        """best_estimator_.score_samples: log-density of each row."""
        return self._best().score_samples(X)

    def score(self, X, y=None, sample_weight=None):
        """best_estimator_.score: per-sample average log-likelihood."""
        return self._best().score(X, sample_weight=sample_weight)

    def bic(self, X, sample_weight=None):
        """best_estimator_.bic (lower is better)."""
        return self._best().bic(X, sample_weight)

    def aic(self, X, sample_weight=None):
        """best_estimator_.aic (lower is better)."""
        return self._best().aic(X, sample_weight)

    def icl(self, X, sample_weight=None):
        """best_estimator_.icl (lower is better)."""
        return self._best().icl(X, sample_weight)

    def sample(self, n_samples=1):
        """best_estimator_.sample: (X, component of each row)."""
        return self._best().sample(n_samples)
