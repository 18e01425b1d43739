"""cem.fit_many: many small, independent Gaussian mixture fits in one call.

Python validates the problems, draws the random numbers every problem's
initialisation needs (from numpy's RandomState, exactly as GMM.fit would),
and packs the results; the C core (cem_fit_batch) runs each problem's whole
fit -- initialisation and EM -- with the problems in parallel and the GIL
released.
"""
import warnings

import numpy as np

from cem import _core
from cem._em import e_step_error
from cem._gmm import GMM
from cem._init import kmeans_n_trials, random_rows, uniform_draws
from cem._params import Parameters, ill_defined_message
from cem._validation import (
    ConvergenceWarning, check_params, check_random_state, check_sample_weight,
    non_finite_message, raisable, random_state_for, user_stacklevel,
)

STATUS_OK = 0
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class BatchResult:
    """Per-problem results of :func:`cem.fit_many` (P problems, k components,
    d features).

    Attributes
    ----------
    weights : ndarray (P, k)
    means : ndarray (P, k, d)
    covariances, precisions_cholesky : ndarray (P, ...)
        Each problem's ``covariances_`` / ``precisions_cholesky_`` of
        cem.GMM: (P, k, d, d), (P, d, d), (P, k, d) or (P, k) by
        covariance_type.
    lower_bound : ndarray (P,) float64
        Mean log-likelihood of the last EM iteration (GMM's lower_bound_).
    n_iter : ndarray (P,) int64
    converged : ndarray (P,) bool
    status : ndarray (P,) int
        0 for a fitted problem, else the C core's negative code (cem.h):
        -1 too few rows or bad sample weights, -2 an ill-defined (singular)
        covariance, -3 non-finite data or results, -5 no weight.
    messages : list of P str or None
        None for a fitted problem, else the error GMM.fit would raise for it.
    models : list of P cem.GMM or None, or None
        With ``return_models=True``, a fitted GMM per problem (None for a
        failed one); else None.

    The parameter arrays have the dtype of the data (float32 when every
    problem is float32, else float64), like GMM's attributes. For a failed
    problem they are NaN, its lower_bound NaN, n_iter 0 and converged False.
    """

    def __init__(self, weights, means, covariances, precisions_cholesky, lower_bound, n_iter,
                 converged, status, messages, models):
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.precisions_cholesky = precisions_cholesky
        self.lower_bound = lower_bound
        self.n_iter = n_iter
        self.converged = converged
        self.status = status
        self.messages = messages
        self.models = models

    @property
    def ok(self):
        """(P,) bool: True where the problem was fitted."""
        return self.status == STATUS_OK

    def __len__(self):
        return len(self.status)

    def __repr__(self):
        return (f"BatchResult(n_problems={len(self)}, fitted={int(self.ok.sum())}, "
                f"converged={int(self.converged.sum())})")


def _as_matrix(X, where):
    """One problem as a 2-D float32/float64 array (ints and bools become
    float64, as in GMM.fit), or a TypeError/ValueError naming it."""
    if hasattr(X, "to_numpy") and hasattr(X, "columns"):
        X = X.to_numpy()
    if not (hasattr(X, "__array__") or isinstance(X, (list, tuple))):
        raise TypeError(f"{where} must be array-like, got {type(X).__name__}")
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise TypeError(f"{where} has complex values; cem fits real-valued data")
    if X.dtype.kind == "O":  # numbers held as objects, as GMM.fit accepts them
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where} could not be converted to float: {exc}") from None
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{where} must hold numbers, not dtype {X.dtype}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


def _problems(Xs):
    """(rows (N, d), offsets (P + 1,) int64, per-problem dtypes) of Xs."""
    if hasattr(Xs, "__array__") and not isinstance(Xs, (list, tuple)):
        X3 = _as_matrix(Xs, "Xs")
        if X3.ndim != 3:
            hint = (" For P problems of 1-D data pass Xs[:, :, None]; for one problem use "
                    "cem.GMM." if X3.ndim == 2 else "")
            raise ValueError("Xs must be a 3-D array (n_problems, n_samples, n_features) or a "
                             f"list of 2-D arrays; got a {X3.ndim}-D array.{hint}")
        P, n, d = X3.shape
        if P == 0:
            raise ValueError("Xs holds no problems: pass at least one")
        if d == 0:
            raise ValueError(f"Xs has 0 features (shape={X3.shape}); at least 1 is required")
        rows = X3.reshape(P * n, d)
        return rows, np.arange(P + 1, dtype=np.int64) * n, [X3.dtype] * P
    if not isinstance(Xs, (list, tuple)):
        raise TypeError("Xs must be a list of 2-D arrays or a 3-D array (n_problems, "
                        f"n_samples, n_features), got {type(Xs).__name__}")
    if len(Xs) == 0:
        raise ValueError("Xs holds no problems: pass at least one")
    arrays = list(Xs)
    for p, X in enumerate(arrays):
        if type(X) is not np.ndarray or X.dtype not in FLOAT_DTYPES:  # the fast path skips it
            arrays[p] = X = _as_matrix(X, f"Xs[{p}]")
        if X.ndim != 2:
            raise ValueError(f"Xs[{p}] must be a 2-D array (n_samples, n_features), got "
                             f"{X.ndim}-D with shape {X.shape}" +
                             (": reshape 1-D data with X.reshape(-1, 1)" if X.ndim == 1 else ""))
    d = arrays[0].shape[1]
    if d == 0:
        raise ValueError(f"Xs[0] has 0 features (shape={arrays[0].shape}); at least 1 is "
                         "required")
    n_features = np.fromiter((X.shape[1] for X in arrays), dtype=np.int64, count=len(arrays))
    if (n_features != d).any():
        p = int(np.flatnonzero(n_features != d)[0])
        raise ValueError(f"Xs[{p}] has {n_features[p]} features, but Xs[0] has {d}: every "
                         "problem must have the same number")
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(np.fromiter((X.shape[0] for X in arrays), dtype=np.int64, count=len(arrays)),
              out=offsets[1:])
    return np.concatenate(arrays, axis=0), offsets, [X.dtype for X in arrays]


def _weights_per_problem(sample_weight, n_problems):
    """sample_weight as a list of one entry per problem (None: no weights)."""
    if sample_weight is None:
        return None
    if isinstance(sample_weight, np.ndarray) and sample_weight.ndim == 2:
        sample_weight = list(sample_weight)
    if not isinstance(sample_weight, (list, tuple)):
        raise TypeError("sample_weight must be None, a list of one array per problem or a "
                        f"2-D array (n_problems, n_samples), got {type(sample_weight).__name__}")
    if len(sample_weight) != n_problems:
        raise ValueError(f"sample_weight has {len(sample_weight)} entries for {n_problems} "
                         "problems")
    return sample_weight


def _screen(rows, offsets, k, sample_weight):
    """Per-problem status and message for the problems GMM.fit would reject
    before drawing any random number, in its order: fewer than 2 rows,
    non-finite values, bad sample weights, fewer rows than components; and
    the weights of all rows ((N,) float64, ones for a problem without), or
    None."""
    P = len(offsets) - 1
    sizes = np.diff(offsets)
    status = np.zeros(P, dtype=np.intc)
    messages = [None] * P
    bad_rows = np.flatnonzero(~np.isfinite(rows).all(axis=1))
    non_finite = np.zeros(P, dtype=bool)
    non_finite[np.searchsorted(offsets, bad_rows, side="right") - 1] = True
    d = rows.shape[1]
    for p in np.flatnonzero((sizes < 2) | non_finite):
        n = int(sizes[p])
        if n < 2:
            status[p] = _core.STATUS_INVALID
            messages[p] = (f"Found array with {n} sample(s) (shape=({n}, {d})) while a minimum "
                           "of 2 is required by GMM.")
        else:
            status[p] = _core.STATUS_NON_FINITE
            messages[p] = non_finite_message(rows[offsets[p]:offsets[p + 1]])
    weights = None
    per_problem = _weights_per_problem(sample_weight, P)
    if per_problem is not None:
        weights = np.ones(rows.shape[0])
        for p in np.flatnonzero(status == STATUS_OK).tolist():
            try:
                w = check_sample_weight(per_problem[p], int(sizes[p]))
            except ValueError as exc:
                status[p], messages[p] = _core.STATUS_INVALID, str(exc)
                continue
            if w is not None:
                weights[offsets[p]:offsets[p + 1]] = w
    for p in np.flatnonzero((status == STATUS_OK) & (sizes < k)):
        status[p] = _core.STATUS_INVALID
        messages[p] = ("Expected n_samples >= n_components but got n_components = "
                       f"{k}, n_samples = {int(sizes[p])}")
    return status, messages, weights


def _draw(rng, init_params, n, k, weights=None):
    """The random numbers GMM.fit draws to initialise a problem of n rows
    (with these sample weights, or None), in its order: float64 uniforms,
    (n * k,) normalised responsibilities, or int64 rows."""
    if init_params in ("kmeans", "k-means++"):
        return rng.random_sample(1 + (k - 1) * kmeans_n_trials(k))
    if init_params == "random":
        return _core.normalise_rows(uniform_draws(rng, n, k)).reshape(-1)  # as _init
    return random_rows(weights, n, k, rng).astype(np.int64)


def _draws(random_state, init_params, sizes, status, k, n_init, offsets, weights):
    """(draws, draw_start): one array of every problem's random numbers and
    where those of its i-th initialisation start, at [p * n_init + i] (-1
    for a problem not fitted). An int seed gives every problem the draws of
    a fresh RandomState(seed), drawn once per distinct number of rows (once
    in all for k-means); a RandomState (or None: numpy's global one) is
    drawn from problem by problem, in order, as a loop of
    GMM(random_state=rng).fit would. random_from_data draws among the rows
    of positive weight (weights: all rows' weights, or None), so with zero
    weights its rows are drawn problem by problem."""
    fitted = np.flatnonzero(status == STATUS_OK)
    start = np.full((len(sizes), n_init), -1, dtype=np.int64)
    kind = np.int64 if init_params == "random_from_data" else np.float64
    pieces, used = [], 0

    def problem_weights(p):
        return None if weights is None else weights[offsets[p]:offsets[p + 1]]

    def draw_inits(rng, n, w=None):
        """Draw n_init initialisations for n rows; returns their starts."""
        nonlocal used
        starts = []
        for _ in range(n_init):
            pieces.append(_draw(rng, init_params, n, k, w))
            starts.append(used)
            used += len(pieces[-1])
        return starts

    seeded = not isinstance(random_state, np.random.RandomState) and random_state is not None \
        and random_state is not np.random
    if len(fitted) == 0:
        pass
    elif seeded and init_params in ("kmeans", "k-means++"):  # the same numbers whatever n
        start[fitted] = draw_inits(check_random_state(random_state), 0)
    elif seeded and init_params == "random_from_data" and weights is not None \
            and not (weights > 0).all():
        for p in fitted.tolist():
            with random_state_for(random_state) as rng:
                start[p] = draw_inits(rng, int(sizes[p]), problem_weights(p))
    elif seeded:
        distinct, which = np.unique(sizes[fitted], return_inverse=True)
        starts = []
        for n in distinct.tolist():
            with random_state_for(random_state) as rng:
                starts.append(draw_inits(rng, n))
        starts = np.array(starts, dtype=np.int64)
        start[fitted] = starts[which.reshape(-1)]
    else:
        rng = check_random_state(random_state)
        for p in fitted.tolist():
            start[p] = draw_inits(rng, int(sizes[p]), problem_weights(p))
    draws = np.concatenate(pieces) if pieces else np.empty(0)
    return draws.astype(kind, copy=False), start.reshape(-1)


def _message(code, dtype):
    """The message of the ValueError GMM.fit raises for a C status."""
    text = _core.strerror(code)
    if code == _core.STATUS_NOT_POSITIVE_DEFINITE:
        return ill_defined_message(dtype)
    if code == _core.STATUS_NO_WEIGHT:  # only the M-step meets it: no seed row weighs
        return f"M-step failed: {text}"
    if code == _core.STATUS_NON_FINITE:
        return str(e_step_error(text))
    return f"the fit failed: {text}"


def fit_many(Xs, n_components=1, *, covariance_type="full", tol=1e-3, reg_covar=1e-6,
             max_iter=100, n_init=1, init_params="kmeans", random_state=None, n_threads=None,
             return_models=False, sample_weight=None):
    """Fit one Gaussian mixture per problem, many problems in one call.

    Every problem's whole fit -- initialisation and EM -- runs in C, the
    problems in parallel with the GIL released, each on one thread. Each
    result equals ``cem.GMM(n_components, covariance_type=..., tol=...,
    reg_covar=..., max_iter=..., n_init=..., init_params=...,
    random_state=...).fit(X_p)`` on that problem: bit for bit for problems of up to 4096 rows; above
    that GMM.fit splits each pass over row partitions and adds them, so
    the sums are ordered differently and results agree to rounding
    (about 1e-12 relative).

    Parameters
    ----------
    Xs : list of array-like (n_p, d), or array (n_problems, n, d)
        The problems: float64 or float32 (kept; other numbers become
        float64); the number of rows may differ between problems, the
        number of features d may not. A list is copied into one array; a
        3-D array is read in place when its rows can be viewed as one 2-D
        array.
    n_components, covariance_type, tol, reg_covar, max_iter, init_params :
        As cem.GMM, shared by all problems.
    n_init : int, default=1
        Initialisations per problem, as GMM: the fit with the highest final
        lower bound is kept.
    random_state : int, RandomState or None
        An int fits every problem as GMM(random_state=that int) would: the
        same random numbers for every problem with the same number of rows
        (drawn once). A RandomState (None: numpy's global one) is drawn from
        problem after problem, as a loop ``for X in Xs:
        GMM(random_state=rng).fit(X)`` would -- except after a problem
        that fails in one of several initialisations (n_init > 1): it has
        drawn for all of them, where GMM.fit stops drawing when it raises.
    n_threads : int or None
        Threads over problems; None uses OMP_NUM_THREADS if set, else every
        core the process may run on. Results are bit-identical for any value.
    return_models : bool, default=False
        Also build a fitted cem.GMM per problem (without refitting): its
        parameters, precisions_, converged_, n_iter_, lower_bound_,
        lower_bounds_ (recorded for every problem: P * max_iter floats) and
        n_features_in_ are set, as fit sets them; feature_names_in_ is not
        (column names of DataFrames in Xs are not kept).
    sample_weight : list of array-like (n_p,) or None, or array (n_problems, n)
        Per-problem row weights, as GMM.fit's sample_weight (an entry None:
        that problem unweighted). A problem whose weights GMM.fit would
        reject (wrong length, negative, non-finite, zero sum) is reported
        per problem.

    Returns
    -------
    BatchResult
        Per-problem arrays (weights, means, covariances,
        precisions_cholesky, lower_bound, n_iter, converged, status) and
        messages; models with return_models. A problem that fails -- too
        few rows, non-finite values, a component collapsing to an
        ill-defined covariance -- is reported in status and messages, not
        raised; the other problems are fitted. Warns ConvergenceWarning
        once if some fitted problem did not converge.

    Raises
    ------
    TypeError, ValueError
        For bad parameters (the same messages as GMM) or a malformed Xs:
        not a list or 3-D array, a problem that is not 2-D, differing
        numbers of features, non-numeric data, no problems; or a
        sample_weight that is not one entry per problem.
    """
    template = GMM(n_components, covariance_type=covariance_type, tol=tol, reg_covar=reg_covar,
                   max_iter=max_iter, n_init=n_init, init_params=init_params,
                   random_state=random_state, n_threads=n_threads)
    check_params(template)
    if not isinstance(return_models, (bool, np.bool_)):
        raise TypeError(f"return_models must be a bool, got {return_models!r}")
    k = n_components
    rows, offsets, dtypes = _problems(Xs)
    status, messages, weights = _screen(rows, offsets, k, sample_weight)
    sizes = np.diff(offsets)
    if init_params == "random_from_data" and weights is not None:
        for p in np.flatnonzero(status == STATUS_OK).tolist():
            try:  # GMM.fit's error for too few rows of positive weight
                random_rows(weights[offsets[p]:offsets[p + 1]], int(sizes[p]), k, None,
                            check_only=True)
            except ValueError as exc:
                status[p], messages[p] = _core.STATUS_INVALID, str(exc)
    draws, draw_start = _draws(random_state, init_params, sizes, status, k, n_init,
                               offsets, weights)
    out = _core.fit_batch(covariance_type, init_params, k, rows, weights, offsets, n_init,
                          kmeans_n_trials(k), draws, draw_start, status, float(tol), max_iter,
                          float(reg_covar), want_bounds=bool(return_models),
                          n_threads=template._n_threads())

    failed = status != STATUS_OK
    for p in np.flatnonzero(failed):
        if messages[p] is None:
            messages[p] = _message(int(status[p]), dtypes[p])
    dtype = np.float32 if all(t == np.float32 for t in dtypes) else np.float64
    params = {}
    for name in ("weights", "means", "covariances", "prec_chol"):
        a = out[name]
        a[failed] = np.nan
        params[name] = a.astype(dtype, copy=False)
    lower_bound = out["lower_bound"]
    lower_bound[failed] = np.nan
    n_iter = out["n_iter"].astype(np.int64)
    n_iter[failed] = 0
    converged = out["converged"].astype(bool) & ~failed

    models = None
    if return_models:
        models = [None if failed[p] else
                  _model(template, out, p, dtypes[p], rows.shape[1]) for p in range(len(sizes))]
    n_unconverged = int((~converged & ~failed).sum())
    if n_unconverged and max_iter > 0:
        warnings.warn(f"{n_unconverged} of {int((~failed).sum())} fitted problems did not "
                      "converge. Try different init parameters, or increase max_iter, tol, or "
                      "check for degenerate data.", raisable(ConvergenceWarning),
                      stacklevel=user_stacklevel())
    return BatchResult(params["weights"], params["means"], params["covariances"],
                       params["prec_chol"], lower_bound, n_iter, converged,
                       status.astype(np.int64), messages, models)


def _model(template, out, p, dtype, d):
    """A fitted GMM for problem p, set as GMM.fit sets it (no refit)."""
    model = GMM(**template.get_params())
    params = Parameters(*(out[name][p] for name in
                          ("weights", "means", "covariances", "prec_chol")))
    attributes, dropped = model._new_model(params, dtype, d, None)
    bounds = out["lower_bounds"]
    n_iter = int(out["n_iter"][p])
    attributes.update(converged_=bool(out["converged"][p]), n_iter_=n_iter,
                      lower_bound_=float(out["lower_bound"][p]),
                      lower_bounds_=[] if bounds is None else [float(v) for v in
                                                               bounds[p, :n_iter]])
    model._commit(attributes, dropped)
    return model
