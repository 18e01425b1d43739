"""Input and parameter validation for cem.GMM: clear errors, no copies of X
beyond what the dtype demands. Messages are scikit-learn's (1.9) wherever
scikit-learn has one, so code and tests written against GaussianMixture match
them; the exception classes are in cem/_exceptions.py."""
import contextlib
import numbers
import os
import sys
import threading
import warnings

import numpy as np

from cem import _core
from cem._prior import PRIOR_PARAM_EXPECTED, is_valid_prior_param
from cem._acceleration import ACCELERATIONS
from cem._shapes import param_shape
from cem._exceptions import (  # noqa: F401  (re-exported for the modules that raise them)
    ConvergenceWarning, InvalidParameterError, NotFittedError, raisable,
)

# Rows checked or processed per step when Python walks over X: bounds the
# size of temporaries to CHUNK_ROWS x max(d, k) whatever n is.
CHUNK_ROWS = 65536

ZERO_WEIGHT_MESSAGE = "sample_weight sums to zero: no row would count in the fit"
# Most threads a fit may ask for: far above any core count, far below the C
# int the OpenMP runtime takes (2**31 overflowed there).
MAX_N_THREADS = 4096

# scikit-learn's four, then the two shared-variance structures of mclust
# (EEI: one diagonal covariance shared by all components; EII: one variance).
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical")
# the types whose covariances are variances (arrays of positive numbers), not matrices
VARIANCE_TYPES = ("diag", "spherical", "tied_diag", "tied_spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
ON_DEGENERATE = ("raise", "reseed")
MISSING = ("error", "marginalize")


def _is_int(value):
    if type(value) is int:  # the usual case, without the ABC check's cost
        return True
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    if type(value) is float or type(value) is int:  # as in _is_int
        return True
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_bool(value):
    return isinstance(value, (bool, np.bool_))


def _type_name(t):
    """A type as scikit-learn names it in messages."""
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def is_sparse(X):
    """Whether X is a scipy.sparse matrix or array. scipy is not imported
    for this: while scipy.sparse is not loaded, nothing can be one."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and sparse.issparse(X)


def _is_array_like(value):
    """scikit-learn's "array-like" (and not a scalar or a string)."""
    return ((hasattr(value, "__len__") or hasattr(value, "shape") or hasattr(value, "__array__"))
            and not np.isscalar(value) and not is_sparse(value))


def _int_in(low, high=None):
    if high is None:
        return (lambda v: _is_int(v) and v >= low), f"an int in the range [{low}, inf)"
    return (lambda v: _is_int(v) and low <= v <= high), f"an int in the range [{low}, {high}]"


def _float_in(low, high=None):
    """[low, inf), or (low, high] when high is given."""
    if high is None:
        return ((lambda v: _is_real(v) and low <= v < np.inf),
                f"a float in the range [{low}, inf)")
    return (lambda v: _is_real(v) and low < v <= high), f"a float in the range ({low}, {high}]"


def _str_among(options):
    return ((lambda v: isinstance(v, str) and v in options),
            "a str among {" + ", ".join(repr(o) for o in options) + "}")


_BOOL = (_is_bool, f"an instance of 'bool' or an instance of '{_type_name(np.bool_)}'")
_ARRAY_LIKE_OR_NONE = ((lambda v: v is None or _is_array_like(v)), "an array-like or None")


def _or_none(rule):
    check, text = rule
    return (lambda v: v is None or check(v)), f"{text} or None"


# parameter -> (predicate, what scikit-learn's message says it must be);
# GaussianMixture's constraints, plus cem's own parameters.
_PARAMETER_RULES = {
    "n_components": _int_in(1),
    # scikit-learn prints its option set in an order that varies from one
    # process to another (its hash order); cem lists them in a fixed order
    "covariance_type": _str_among(COVARIANCE_TYPES),
    "tol": _float_in(0.0),
    "reg_covar": _float_in(0.0),
    "max_iter": _int_in(0),
    "n_init": _int_in(1),
    "init_params": _str_among(INIT_PARAMS),
    "weights_init": _ARRAY_LIKE_OR_NONE,
    "means_init": _ARRAY_LIKE_OR_NONE,
    "precisions_init": _ARRAY_LIKE_OR_NONE,
    "random_state": (
        lambda v: v is None or isinstance(v, np.random.RandomState) or (
            _is_int(v) and 0 <= v <= 2**32 - 1),
        # named, not looked up: touching np.random imports it (~40 ms at import cem)
        f"an int in the range [0, {2**32 - 1}], an instance of "
        "'numpy.random.mtrand.RandomState' or None"),
    "warm_start": _BOOL,
    "verbose": ((lambda v: _is_bool(v) or (_is_int(v) and v >= 0)),
                f"an int in the range [0, inf), {_BOOL[1]}"),
    "verbose_interval": _int_in(1),
    "n_threads": _or_none(_int_in(1, MAX_N_THREADS)),
    "learning_decay": _float_in(0.5, 1.0),
    "learning_offset": _float_in(0.0),
    "prior": (is_valid_prior_param, PRIOR_PARAM_EXPECTED),
    "acceleration": _or_none(_str_among(ACCELERATIONS)),
    "on_degenerate": _str_among(ON_DEGENERATE),
    "missing": _str_among(MISSING),
}


def check_params(est):
    """Validate the constructor parameters of a GMM (at fit, as scikit-learn):
    InvalidParameterError, with scikit-learn's message, for the first invalid
    one in name order (scikit-learn's order)."""
    for param in sorted(_PARAMETER_RULES):
        satisfied, expected = _PARAMETER_RULES[param]
        value = getattr(est, param)
        if not satisfied(value):
            raise raisable(InvalidParameterError)(
                f"The {param!r} parameter of {type(est).__name__} must be {expected}. "
                f"Got {value!r} instead.")


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


def check_is_fitted(est, attribute):
    """scikit-learn's NotFittedError (its wording) unless est has attribute."""
    if not hasattr(est, attribute):
        raise raisable(NotFittedError)(
            f"This {type(est).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator.")


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


# Each thread's RandomStates not lent out now (see random_state_for).
_IDLE_RANDOM_STATES = threading.local()


@contextlib.contextmanager
def random_state_for(seed):
    """check_random_state(seed) for the length of a with block, without
    paying for a new RandomState when seed is an int. RandomState(seed)
    costs ~70 us, nearly all of it its MT19937 seeding itself through
    SeedSequence before the legacy seeding replaces that state; as much
    as 20 EM passes of a 10,000-row fit. seed() on an idle RandomState of
    this thread is the same legacy seeding (the same numbers, its cached
    normal deviate dropped) in ~1 us. The RandomState is idle again when
    the block ends: a nested block, or another thread, gets another one.
    It must not be kept beyond the block."""
    if not _is_int(seed):
        yield check_random_state(seed)
        return
    idle = _IDLE_RANDOM_STATES.__dict__.setdefault("idle", [])
    rng = idle.pop() if idle else np.random.RandomState()
    rng.seed(seed)  # a bad seed raises here, as RandomState(seed) does
    try:
        yield rng
    finally:
        idle.append(rng)


def check_dense(X):
    """TypeError (scikit-learn's) for sparse X: cem fits dense data only."""
    if is_sparse(X):
        raise TypeError("Sparse data was passed for X, but dense data is required. Use "
                        "'.toarray()' to convert to a dense numpy array.")


def feature_names(X):
    """Column names of a DataFrame-like X when they are all strings, else
    None; TypeError when strings are mixed with other types (scikit-learn's
    rule and message)."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) == 0:
        return None
    types = sorted(t.__qualname__ for t in set(type(v) for v in names))
    if len(types) > 1 and "str" in types:
        raise TypeError(
            "Feature names are only supported if all input features have string names, "
            f"but your input has {types} as feature name / column name types. "
            "If you want feature names to be stored and validated, you must convert "
            "them all to strings, by using X.columns = X.columns.astype(str) for "
            "example. Otherwise you can remove feature / column names from your input "
            "data, or convert them all to a non-string data type.")
    return names if types == ["str"] else None


def user_stacklevel():
    """The stacklevel that makes warnings.warn, called by the caller of
    this function, point at the first frame outside cem: the user's line."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] == "cem":
        level, frame = level + 1, frame.f_back
    return level


def check_feature_names(est, X):
    """Check X's column names against those est was fitted with, as
    scikit-learn does after fit: a UserWarning when only one side has names,
    a ValueError naming the differences when both have and they differ."""
    fitted = getattr(est, "feature_names_in_", None)
    names = feature_names(X)
    name = type(est).__name__
    if fitted is None and names is None:
        return
    if fitted is None:
        warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                      UserWarning, stacklevel=user_stacklevel())
        return
    if names is None:
        warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                      "feature names", UserWarning, stacklevel=user_stacklevel())
        return
    if len(fitted) == len(names) and np.all(fitted == names):
        return
    unexpected = sorted(set(names) - set(fitted))
    missing = sorted(set(fitted) - set(names))

    def listed(names, limit=5):
        return "".join(f"- {n}\n" for n in names[:limit]) + ("- ...\n" if len(names) > limit
                                                              else "")

    message = "The feature names should match those that were passed during fit.\n"
    if unexpected:
        message += "Feature names unseen at fit time:\n" + listed(unexpected)
    if missing:
        message += "Feature names seen at fit time, yet now missing:\n" + listed(missing)
    if not unexpected and not missing:
        message += "Feature names must be in the same order as they were in fit.\n"
    raise ValueError(message)


def check_X(X, *, min_samples=1, n_features=None, name="GMM", allow_nan=False, n_threads=1):
    """X as a 2-D float64 or float32 array (float32 kept, anything else numpy
    converts to float64 converted, any memory layout kept), checked finite
    (with allow_nan, NaN -- a missing value -- passes, infinity does not):
    by the C core on up to n_threads threads, then, only if that finds a
    value not finite (or with allow_nan), by numpy in chunks, which names
    it. The errors are scikit-learn's check_array's."""
    check_dense(X)
    if isinstance(X, np.matrix):
        raise TypeError("np.matrix is not supported. Please convert to a numpy array with "
                        "np.asarray. For more information see: "
                        "https://numpy.org/doc/stable/reference/generated/numpy.matrix.html")
    if hasattr(X, "to_numpy") and hasattr(X, "columns"):
        frame, X = X, X.to_numpy()
        if X.dtype == object and type(frame).__module__.partition(".")[0] == "pandas":
            # nullable columns hold pd.NA, which numpy cannot convert: NaN, as scikit-learn
            X = frame.to_numpy(dtype=np.float64, na_value=np.nan)
    X = np.asarray(X)
    if X.dtype.kind == "c":
        raise ValueError(f"Complex data not supported\n{X}\n")
    if X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)  # numpy's own error for strings, objects, ...
    if X.ndim != 2:
        reshape = ("Reshape your data either using array.reshape(-1, 1) if your data has a "
                   "single feature or array.reshape(1, -1) if it contains a single sample.")
        if X.ndim == 0:
            raise ValueError(f"Expected 2D array, got scalar array instead:\narray={X}.\n"
                             + reshape)
        if X.ndim == 1:
            raise ValueError(f"Expected 2D array, got 1D array instead:\narray={X}.\n"
                             + reshape)
        raise ValueError(f"Found array with dim {X.ndim}, while dim <= 2 is required by "
                         f"{name}.")
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
    if not allow_nan and _core.all_finite(X, n_threads):
        return X
    for start in range(0, n, CHUNK_ROWS):
        block = X[start:start + CHUNK_ROWS]
        if allow_nan:
            if np.isinf(block).any():
                raise ValueError(non_finite_message(block[~np.isnan(block)]))
        elif not np.isfinite(block).all():
            raise ValueError(non_finite_message(block))
    return X


def non_finite_message(X):
    """scikit-learn's message for an X that holds NaN or infinity."""
    if np.isnan(X).any():
        return "Input X contains NaN."
    return f"Input X contains infinity or a value too large for {X.dtype!r}."


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
    """weights_init as float64, checked in [0, 1] and summing to 1 within the
    precision of float32 when the weights or X are float32 (scikit-learn
    takes the weights' dtype), else of float64."""
    single = np.float32 in (np.asarray(weights).dtype, dtype)
    weights = _as_float_array(weights, "weights")
    check_shape(weights, (k,), "weights")
    if (weights < 0).any() or (weights > 1).any():
        raise ValueError("The parameter 'weights' should be in the range [0, 1], but got "
                         f"max value {weights.max():.5f}, min value {weights.min():.5f}")
    atol = 1e-6 if single else 1e-8
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
    if covariance_type in VARIANCE_TYPES:
        if (precisions <= 0).any():
            raise ValueError(f"'{covariance_type} precision' should be positive")
        return precisions
    for p in precisions.reshape(-1, d, d):
        if not (np.allclose(p, p.T) and (np.linalg.eigvalsh(p) > 0).all()):
            raise ValueError(f"'{covariance_type} precision' should be symmetric, "
                             "positive-definite")
    return precisions
