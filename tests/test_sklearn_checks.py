"""cem.GMM as scikit-learn sees it: its estimator checks (every one, none
expected to fail), the extra checks scikit-learn runs on its own
GaussianMixture, its exception classes caught and filtered whether
scikit-learn is imported before or after cem, and its error messages."""
import pickle
import re
import subprocess
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import pytest

from conftest import child_env

sklearn = pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning  # noqa: E402
from sklearn.exceptions import NotFittedError as SkNotFittedError  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402
from sklearn.utils._param_validation import (  # noqa: E402
    Interval, InvalidParameterError, StrOptions,
)
from sklearn.utils._testing import ignore_warnings  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_all_zero_sample_weights_error, check_dataframe_column_names_consistency,
    check_param_validation, parametrize_with_checks,
)

import cem  # noqa: E402
from cem import GMM  # noqa: E402


# GaussianMixture's instance in scikit-learn's own common tests is
# GaussianMixture(n_init=2, max_iter=5); the default instance and each
# covariance type (and cem's n_threads) are checked too.
ESTIMATORS = [GMM(), GMM(n_init=2, max_iter=5)] + [
    GMM(covariance_type=ct, init_params=init, n_init=2, max_iter=5)
    for ct, init in [("tied", "k-means++"), ("diag", "random"),
                     ("spherical", "random_from_data")]] + [GMM(n_threads=1, max_iter=5)]

with warnings.catch_warnings():  # "GMM does not inherit from BaseEstimator": by design
    warnings.filterwarnings("ignore", message="Estimator GMM does not inherit",
                            category=UserWarning)
    _checks = parametrize_with_checks(ESTIMATORS)


@_checks
def test_sklearn_estimator_check(estimator, check, monkeypatch):
    # check_array_api_input (numpy namespace only, as for any estimator
    # without array-API support) runs only with SciPy's array API flag set.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    # as scikit-learn's own test_estimators: the checks fit tiny data
    with ignore_warnings(category=(FutureWarning, SkConvergenceWarning, UserWarning)):
        check(estimator)


class _ConstrainedGMM(GMM):
    """GMM with scikit-learn's declared constraints for its parameters:
    GaussianMixture's, plus cem's own. check_param_validation reads them to
    generate wrong types and values, then asks fit to refuse each."""
    _parameter_constraints = {
        **GaussianMixture._parameter_constraints,
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
        "prior": [None, "boolean", StrOptions({"default"}), cem.Prior, dict],
        "acceleration": [StrOptions({"squarem"}), None],
        "on_degenerate": [StrOptions({"raise", "reseed"})],
        "missing": [StrOptions({"error", "marginalize"})],
    }


def test_parameter_validation_as_scikit_learn_checks_gaussian_mixture():
    check_param_validation("_ConstrainedGMM", _ConstrainedGMM(n_init=2, max_iter=5))


def test_dataframe_column_names_as_scikit_learn_checks_gaussian_mixture():
    with warnings.catch_warnings(record=True) as record:
        check_dataframe_column_names_consistency("GMM", GMM(n_init=2, max_iter=5))
    assert not [w for w in record if "was fitted without feature names" in str(w.message)]


def test_all_zero_sample_weights_error():
    check_all_zero_sample_weights_error("GMM", GMM(n_init=2, max_iter=5))


# ---------------------------------------------------------------------------
# Exceptions: scikit-learn's classes catch and filter cem's.

def test_sklearn_classes_catch_cem_errors_and_filter_its_warning():
    X = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(SkNotFittedError):
        GMM().predict(X)
    with pytest.raises(InvalidParameterError):
        GMM(n_components=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=SkConvergenceWarning)
        GMM(2, max_iter=1, tol=0.0, random_state=0).fit(X)
    with pytest.warns(cem.ConvergenceWarning):
        GMM(2, max_iter=1, tol=0.0, random_state=0).fit(X)
    with pytest.raises(cem.NotFittedError):  # cem's own names still catch
        GMM().predict(X)


def test_the_joint_classes_are_made_once():
    from cem._exceptions import raisable
    for cls, twin in [(cem.NotFittedError, SkNotFittedError),
                      (cem.ConvergenceWarning, SkConvergenceWarning),
                      (cem.InvalidParameterError, InvalidParameterError)]:
        assert raisable(cls) is raisable(cls)
        assert issubclass(raisable(cls), cls) and issubclass(raisable(cls), twin)
        assert raisable(cls).__name__ == cls.__name__


def test_raised_exceptions_pickle_and_keep_both_classes():
    X = np.ones((4, 2))
    for call, classes in [(lambda: GMM().predict(X), (cem.NotFittedError, SkNotFittedError)),
                          (lambda: GMM(tol=-1.0).fit(X),
                           (cem.InvalidParameterError, InvalidParameterError))]:
        with pytest.raises(classes[0]) as info:
            call()
        copy = pickle.loads(pickle.dumps(info.value))
        assert isinstance(copy, classes) and copy.args == info.value.args
    warning = cem._exceptions.raisable(cem.ConvergenceWarning)("message")
    assert isinstance(pickle.loads(pickle.dumps(warning)), (SkConvergenceWarning,
                                                            cem.ConvergenceWarning))


_INTEROP = r"""
import sys, warnings
import numpy as np
{first}
X = np.random.default_rng(0).normal(size=(50, 2))
try:
    cem.GMM().predict(X)
except sklearn.exceptions.NotFittedError as exc:
    assert isinstance(exc, cem.NotFittedError)
    print("NotFittedError caught")
try:
    cem.GMM(n_components="two").fit(X)
except InvalidParameterError as exc:
    assert isinstance(exc, cem.InvalidParameterError)
    print("InvalidParameterError caught")
with warnings.catch_warnings():
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", category=sklearn.exceptions.ConvergenceWarning)
    cem.GMM(2, max_iter=1, tol=0.0, random_state=0).fit(X)
    print("ConvergenceWarning silenced")
"""
_SKLEARN_FIRST = ("import sklearn.exceptions\n"
                  "from sklearn.utils._param_validation import InvalidParameterError\n"
                  "import cem")
_CEM_FIRST = ("import cem\n"
              "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn']\n"
              "import sklearn.exceptions\n"
              "from sklearn.utils._param_validation import InvalidParameterError")


@pytest.mark.parametrize("first", [_SKLEARN_FIRST, _CEM_FIRST], ids=["sklearn-first", "cem-first"])
def test_sklearn_classes_work_in_either_import_order(first, tmp_path):
    out = subprocess.run([sys.executable, "-c", _INTEROP.format(first=first)], cwd=tmp_path,
                         env=child_env(), capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == ["NotFittedError caught", "InvalidParameterError caught",
                                          "ConvergenceWarning silenced"]


def test_import_cem_imports_no_sklearn(tmp_path):
    """Nor does raising or warning: without scikit-learn, cem's own classes."""
    code = ("import sys, warnings, numpy as np, cem\n"
            "X = np.random.default_rng(0).normal(size=(50, 2))\n"
            "try:\n    cem.GMM().predict(X)\n"
            "except cem.NotFittedError as e:\n    assert type(e) is cem.NotFittedError\n"
            "try:\n    cem.GMM(tol=-1.0).fit(X)\n"
            "except ValueError as e:\n    assert type(e) is cem.InvalidParameterError\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    cem.GMM(2, max_iter=1, tol=0.0).fit(X)\n"
            "assert [x.category for x in w] == [cem.ConvergenceWarning]\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=child_env(),
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------------
# Same exception class and message as GaussianMixture for the same mistake.

def _matrix(X):
    with warnings.catch_warnings():  # "the matrix subclass is not the recommended way"
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.asmatrix(X)


def _bad_inputs():
    sparse = pytest.importorskip("scipy.sparse")
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).normal(size=(30, 2))

    class BadType:
        def __repr__(self):
            return "BadType()"

    bad = BadType()
    params = ["n_components", "covariance_type", "tol", "reg_covar", "max_iter", "n_init",
              "init_params", "weights_init", "means_init", "precisions_init", "random_state",
              "warm_start", "verbose", "verbose_interval"]
    cases = [(f"{p}=bad type", dict(**{p: bad}), X) for p in params]
    cases += [(f"{p}={v!r}", {p: v}, X) for p, v in [
        ("n_components", 0), ("n_components", 1.5), ("n_components", None),
        ("covariance_type", "banana"), ("tol", -1.0), ("tol", np.nan), ("tol", np.inf),
        ("tol", "x"), ("reg_covar", -1e-6), ("max_iter", -1), ("n_init", 0),
        ("init_params", "kmeans++"), ("verbose_interval", 0), ("random_state", "seed"),
        ("random_state", -1), ("random_state", 2**33), ("random_state", 1.5),
        ("warm_start", "yes"), ("warm_start", 1), ("verbose", -1), ("verbose", 1.5),
        ("weights_init", "ab"), ("means_init", 3.0)]]
    cases += [(name, {}, Xbad) for name, Xbad in [
        ("complex", X + 1j), ("strings", np.array([["a", "b"], ["c", "d"]])),
        ("object with a string", np.array([[1, "x"], [2, 3]], dtype=object)),
        ("object with a dict", np.array([[1, {"a": 1}], [2, 3]], dtype=object)),
        ("object()", object()), ("1-D", X[:, 0]), ("3-D", X[None]), ("scalar", 3.0),
        ("csr_matrix", sparse.csr_matrix(X)), ("csr_array", sparse.csr_array(X)),
        ("coo_matrix", sparse.coo_matrix(X)), ("empty", np.empty((0, 2))),
        ("no feature", np.empty((5, 0))), ("one row", X[:1]),
        ("infinity", np.where(X > 1, np.inf, X)),
        ("mixed column names", pd.DataFrame(X, columns=["a", 1])),
        ("np.matrix", _matrix(X)),
        ("nullable column with NA", pd.DataFrame(
            {"a": pd.array([1, None] * 15, dtype="Int64"), "b": X[:, 1]})),
        ("string column", pd.DataFrame({"a": ["x"] * 30, "b": X[:, 1]}))]]
    cases += [("weights not normalized", dict(n_components=2, weights_init=[0.3, 0.3]), X),
              ("means shape", dict(n_components=2, means_init=np.zeros((2, 3))), X)]
    return cases


def _outcome(estimator, X):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            estimator.fit(X)
    except Exception as exc:  # noqa: BLE001 - comparing whatever each raises
        return [c.__name__ for c in (ValueError, TypeError, InvalidParameterError)
                if isinstance(exc, c)], str(exc)
    return "fitted", ""


@pytest.mark.parametrize("name,params,X", _bad_inputs(), ids=[c[0] for c in _bad_inputs()])
def test_same_error_as_gaussian_mixture(name, params, X):
    expected_kinds, expected_message = _outcome(GaussianMixture(**params), X)
    kinds, message = _outcome(GMM(**params), X)
    assert expected_kinds != "fitted"
    assert kinds == expected_kinds
    expected_message = expected_message.replace("GaussianMixture", "GMM")
    if expected_message.startswith("Input X contains NaN.\n"):
        # cem leaves out the advice that follows (supervised estimators,
        # imputers): see DIFFERENCES.md
        expected_message = expected_message.split("\n")[0]
    if "'covariance_type' parameter" in expected_message:
        # cem has two covariance types more (DIFFERENCES.md): its message
        # lists them among scikit-learn's
        expected_message = re.sub(r"(among \{.*?)\}", r"\1, 'tied_diag', 'tied_spherical'}",
                                  expected_message)
    assert _options_sorted(message) == _options_sorted(expected_message)


def _options_sorted(message):
    """The message with the options of "a str among {...}" sorted: scikit-
    learn prints a set, whose order changes from one process to another."""
    return re.sub(r"among \{(.*?)\}", lambda m: "among {" + ", ".join(
        sorted(m.group(1).split(", "))) + "}", message)


def test_weights_out_of_range_names_max_and_min_the_right_way_round():
    # GaussianMixture 1.9 prints min(weights) as "max value" and max(weights)
    # as "min value"; cem deliberately keeps them right (DIFFERENCES.md).
    with pytest.raises(ValueError, match=r"^The parameter 'weights' should be in the range "
                       r"\[0, 1\], but got max value 1.50000, min value -0.50000$"):
        GMM(2, weights_init=[1.5, -0.5]).fit(np.random.RandomState(0).normal(size=(30, 2)))


def test_same_feature_name_warnings_as_gaussian_mixture():
    pd = pytest.importorskip("pandas")
    X = np.random.RandomState(0).normal(size=(30, 2))
    df = pd.DataFrame(X, columns=["a", "b"])
    for fit_on, predict_on in [(df, X), (X, df)]:
        messages = []
        for estimator in (GaussianMixture(2, random_state=0), GMM(2, random_state=0)):
            estimator.fit(fit_on)
            with pytest.warns(UserWarning) as record:
                estimator.predict(predict_on)
            messages.append([str(w.message) for w in record])
        assert messages[1] == [m.replace("GaussianMixture", "GMM") for m in messages[0]]


def test_same_set_params_error_as_gaussian_mixture():
    messages = []
    for estimator in (GaussianMixture(n_components=3), GMM(n_components=3)):
        with pytest.raises(ValueError) as info:
            estimator.set_params(n_clusters=3)
        messages.append(str(info.value))
    sk_names = sorted(GaussianMixture().get_params())
    extra = sorted(set(GMM().get_params()) - set(sk_names))
    expected = messages[0].replace("GaussianMixture", "GMM").replace(
        repr(sk_names), repr(sorted(sk_names + extra)))
    assert messages[1] == expected


def _predict_outcome(estimator, X):
    try:
        estimator.predict(X)
    except Exception as exc:  # noqa: BLE001 - comparing whatever each raises
        return [c.__name__ for c in (ValueError, TypeError) if isinstance(exc, c)], str(exc)
    return "predicted", ""


def test_same_predict_errors_as_gaussian_mixture():
    sparse = pytest.importorskip("scipy.sparse")
    X = np.random.RandomState(0).normal(size=(30, 2))
    fitted = [GaussianMixture(2, random_state=0).fit(X), GMM(2, random_state=0).fit(X)]
    for Xbad in [np.ones((3, 3)), X[:, 0], X + 1j, sparse.csr_matrix(X),
                 np.array([[1, "x"], [2, 3]], dtype=object), np.where(X > 1, np.inf, X),
                 np.empty((0, 2))]:
        expected, ours = (_predict_outcome(e, Xbad) for e in fitted)
        assert expected != "predicted"
        assert ours == (expected[0], expected[1].replace("GaussianMixture", "GMM"))
