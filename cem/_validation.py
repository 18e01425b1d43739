"""Input and parameter validation for cem.GMM: clear errors, no copies of X
beyond what the dtype demands."""
import numbers
import os

import numpy as np

from cem._shapes import param_shape

# Rows checked or processed per step when Python walks over X: bounds the
# size of temporaries to CHUNK_ROWS x max(d, k) whatever n is.
CHUNK_ROWS = 65536

ZERO_WEIGHT_MESSAGE = "sample_weight sums to zero: no row would count in the fit"
# Most threads a fit may ask for: far above any core count, far below the C
# int the OpenMP runtime takes (2**31 overflowed there).
MAX_N_THREADS = 4096

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs a fitted model is called before fit
    (scikit-learn's NotFittedError has the same two bases)."""


class ConvergenceWarning(UserWarning):
    """The best initialisation did not converge within max_iter iterations."""


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_params(est):
    """Validate the constructor parameters of a GMM (at fit, as scikit-learn)."""
    name = type(est).__name__

    def bad(param, expected, exc=ValueError):
        raise exc(f"The '{param}' parameter of {name} must be {expected}. "
                  f"Got {getattr(est, param)!r} instead.")

    for param, low in (("n_components", 1), ("max_iter", 0), ("n_init", 1),
                       ("verbose_interval", 1)):
        value = getattr(est, param)
        if not _is_int(value):
            bad(param, f"an int in the range [{low}, inf)", TypeError)
        if value < low:
            bad(param, f"an int in the range [{low}, inf)")
    for param in ("tol", "reg_covar"):
        value = getattr(est, param)
        if not _is_real(value):
            bad(param, "a float in the range [0.0, inf)", TypeError)
        if not (value >= 0.0 and np.isfinite(value)):
            bad(param, "a float in the range [0.0, inf)")
    if not isinstance(est.covariance_type, str) or est.covariance_type not in COVARIANCE_TYPES:
        bad("covariance_type", f"a str among {set(COVARIANCE_TYPES)}")
    if not isinstance(est.init_params, str) or est.init_params not in INIT_PARAMS:
        bad("init_params", f"a str among {set(INIT_PARAMS)}")
    if not isinstance(est.warm_start, (bool, np.bool_)):
        bad("warm_start", "an instance of 'bool'", TypeError)
    if not (_is_int(est.verbose) or isinstance(est.verbose, (bool, np.bool_))) or est.verbose < 0:
        bad("verbose", "an int in the range [0, inf) or a bool")
    if est.n_threads is not None and (not _is_int(est.n_threads) or
                                      not 1 <= est.n_threads <= MAX_N_THREADS):
        bad("n_threads", f"None or an int in the range [1, {MAX_N_THREADS}]")
    if not _is_real(est.learning_decay) or not 0.5 < est.learning_decay <= 1.0:
        bad("learning_decay", "a float in the range (0.5, 1.0]")
    if not _is_real(est.learning_offset) or not est.learning_offset >= 0.0:
        bad("learning_offset", "a float in the range [0.0, inf)")
    check_random_state(est.random_state)


def effective_n_threads(n_threads):
    """Threads to use: n_threads if given, else OMP_NUM_THREADS if set
    (at most MAX_N_THREADS), else every core this process may run on."""
    if n_threads is not None:
        return min(int(n_threads), MAX_N_THREADS)
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        return min(int(env), MAX_N_THREADS)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_random_state(seed):
    """numpy RandomState from None (the global one), an int, or an instance
    (scikit-learn's rule, so a seed draws the same numbers as there)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if _is_int(seed):
        return np.random.RandomState(seed)
    if isinstance(seed, np.random.RandomState):
        return seed
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def feature_names(X):
    """Column names of a DataFrame-like X when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


def check_X(X, *, min_samples=1, n_features=None, name="GMM"):
    """X as a 2-D float64 or float32 array (float32 kept, ints and bools
    converted, any memory layout kept), checked finite, in chunks."""
    if hasattr(X, "to_numpy") and hasattr(X, "columns"):
        X = X.to_numpy()
    if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
        X = np.asarray(X)
    else:
        raise TypeError(f"X must be array-like, got {type(X).__name__}")
    kind = X.dtype.kind
    if kind == "f" and X.dtype in (np.float64, np.float32):
        pass
    elif kind in "biuf":
        X = X.astype(np.float64)
    elif kind == "O":
        try:
            X = X.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"X could not be converted to float: {exc}") from None
    elif kind == "c":
        raise TypeError("X has complex values; cem fits real-valued data")
    else:
        raise TypeError(f"X must hold numbers, not dtype {X.dtype}")
    if X.ndim != 2:
        if X.ndim == 1:
            raise ValueError(
                "Expected a 2D array, got a 1D array instead. Reshape your data using "
                "X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample.")
        raise ValueError(f"Expected a 2D array, got an array with {X.ndim} dimension(s)")
    n, d = X.shape
    if n < min_samples:
        raise ValueError(f"Found array with {n} sample(s) (shape={X.shape}) while a "
                         f"minimum of {min_samples} is required by {name}.")
    if d < 1:
        raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a "
                         f"minimum of 1 is required by {name}.")
    if n_features is not None and d != n_features:
        raise ValueError(f"X has {d} features, but {name} is expecting {n_features} "
                         "features as input.")
    for start in range(0, n, CHUNK_ROWS):
        block = X[start:start + CHUNK_ROWS]
        if not np.isfinite(block).all():
            what = "NaN" if np.isnan(block).any() else "infinity or a value too large"
            raise ValueError(f"Input X contains {what}.")
    return X


def check_sample_weight(sample_weight, n, *, positive_sum=True):
    """None, or a contiguous float64 (n,) array of finite, non-negative
    weights with a positive sum (any sum, zero included, when not
    positive_sum: one chunk of many, where only the total must be positive)."""
    if sample_weight is None:
        return None
    if _is_real(sample_weight):
        sample_weight = np.full(n, float(sample_weight))
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"sample_weight must hold numbers, not dtype {w.dtype}")
    w = np.ascontiguousarray(w, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"sample_weight.shape == {w.shape}, expected {(n,)}!")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity.")
    if (w < 0).any():
        raise ValueError("Negative values in data passed to sample_weight")
    if positive_sum and not w.sum() > 0:
        raise ValueError(ZERO_WEIGHT_MESSAGE)
    return w


def check_shape(param, shape, name):
    if param.shape != shape:
        raise ValueError(f"The parameter '{name}' should have the shape of {shape}, "
                         f"but got {param.shape}")


def _as_float_array(value, name):
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"The parameter '{name}' must hold numbers, not dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(f"The parameter '{name}' contains NaN or infinity")
    return a


def check_weights(weights, k, dtype):
    weights = _as_float_array(weights, "weights")
    check_shape(weights, (k,), "weights")
    if (weights < 0).any() or (weights > 1).any():
        raise ValueError("The parameter 'weights' should be in the range [0, 1], but got "
                         f"max value {weights.max():.5f}, min value {weights.min():.5f}")
    atol = 1e-6 if dtype == np.float32 else 1e-8
    if abs(1.0 - weights.sum()) > atol:
        raise ValueError("The parameter 'weights' should be normalized, but got "
                         f"sum(weights) = {weights.sum():.5f}")
    return weights


def check_means(means, k, d):
    means = _as_float_array(means, "means")
    check_shape(means, (k, d), "means")
    return means


def check_precisions(precisions, covariance_type, k, d):
    precisions = _as_float_array(precisions, "precisions")
    check_shape(precisions, param_shape(covariance_type, k, d), f"{covariance_type} precision")
    if covariance_type in ("diag", "spherical"):
        if (precisions <= 0).any():
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return precisions
    for p in precisions.reshape(-1, d, d):
        if not (np.allclose(p, p.T) and (np.linalg.eigvalsh(p) > 0).all()):
            raise ValueError(f"'{covariance_type} precision' should be symmetric, "
                             "positive-definite")
    return precisions
