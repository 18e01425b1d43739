"""The EM loop in C (cem._core.em_iterations, used by cem._em.EM for
in-memory rows without a prior) is the Python loop bit for bit: the same
parameters, bounds, n_iter and convergence, the same verbose output, the same
errors, and an interruption leaves the estimator as it was.

The reference here is the Python loop, forced by EM._loop_in_c answering
False."""
import copy
import re
import warnings

import numpy as np
import pytest

import cem._em
from cem import GMM, _core
from conftest import blobs
from test_recentre import _far_precisions, far_start

COVS = ["full", "tied", "diag", "spherical"]
FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_",
          "n_iter_", "converged_", "lower_bound_", "lower_bounds_")


def python_loop(monkeypatch):
    """Make EM run its Python loop (the passes through a wrapper); returns
    the list the wrapper counts passes in."""
    real, calls = cem._em.e_step_statistics, []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(cem._em.EM, "_loop_in_c", lambda self, source: False)
    monkeypatch.setattr(cem._em, "e_step_statistics", wrapped)
    return calls


def fit_both(monkeypatch, X, sample_weight=None, warm_refit=False, **kwargs):
    """(C-loop GMM, Python-loop GMM) fitted alike; with warm_refit, each
    fitted again with warm_start on X + 0.5."""
    def fit():
        gmm = GMM(**kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm.fit(X, sample_weight=sample_weight)
            if warm_refit:
                gmm.set_params(warm_start=True).fit(X + 0.5, sample_weight=sample_weight)
        return gmm
    in_c = fit()
    with monkeypatch.context() as patch:
        calls = python_loop(patch)
        in_python = fit()
    assert calls, "the reference fit did not run the Python loop"
    return in_c, in_python


def assert_same_fit(a, b):
    for name in FITTED:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y), name
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)
        else:
            assert x == y, name


def test_the_c_loop_runs_for_in_memory_rows(rng, monkeypatch):
    X = blobs(rng, n=300, d=2, k=2)
    calls = []
    real = _core.em_iterations
    monkeypatch.setattr(_core, "em_iterations", lambda *a: calls.append(1) or real(*a))
    GMM(2, random_state=0).fit(X)
    assert calls == [1]


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("init_params", ["kmeans", "random"])
def test_same_bits_as_the_python_loop(rng, monkeypatch, cov, init_params):
    X = blobs(rng, n=700, d=3, k=3, spread=1.5)  # overlapping: many iterations
    a, b = fit_both(monkeypatch, X, n_components=3, covariance_type=cov,
                    init_params=init_params, tol=1e-7, random_state=4, n_init=2)
    assert a.n_iter_ >= 2  # at least one tol test that did not stop the loop
    assert_same_fit(a, b)


@pytest.mark.parametrize("cov", COVS)
def test_same_bits_with_weights_float32_strides_and_warm_start(rng, monkeypatch, cov):
    X = np.asfortranarray(blobs(rng, n=900, d=5, k=3, dtype=np.float32))[::2]
    w = rng.uniform(0.0, 3.0, size=X.shape[0])
    a, b = fit_both(monkeypatch, X, w, warm_refit=True, n_components=3, covariance_type=cov,
                    tol=1e-6, random_state=1, max_iter=40)
    assert_same_fit(a, b)


def test_same_bits_on_the_classic_example_and_many_partitions(rng, monkeypatch):
    # 20,000 rows: several partitions, summed in order
    X = np.concatenate([rng.normal(20, 5, 6000), rng.normal(40, 5, 14000)]).reshape(-1, 1)
    assert _core.e_step_partitions(X.shape[0], _core.stats_size("full", 2, 1)) > 1
    for n_threads in (1, 2):
        a, b = fit_both(monkeypatch, X, n_components=2, init_params="random", tol=1e-8,
                        random_state=0, n_threads=n_threads)
        assert_same_fit(a, b)


@pytest.mark.parametrize("cov", COVS)
def test_same_bits_when_the_pass_is_redone_about_new_centers(rng, monkeypatch, cov):
    X, weights, means, _ = far_start(rng, cov, 1e8)
    k, d = means.shape
    a, b = fit_both(monkeypatch, X, n_components=k, covariance_type=cov, weights_init=weights,
                    means_init=means, precisions_init=_far_precisions(cov, 1e8, k, d),
                    max_iter=5, tol=0.0)
    assert_same_fit(a, b)


@pytest.mark.parametrize("verbose", [1, 2])
def test_same_verbose_output(rng, monkeypatch, capsys, verbose):
    X = blobs(rng, n=400, d=2, k=2)
    kwargs = dict(n_components=2, verbose=verbose, verbose_interval=3, tol=0.0, max_iter=10,
                  n_init=2, random_state=0)
    a, b = fit_both(monkeypatch, X, **kwargs)
    assert_same_fit(a, b)
    out = capsys.readouterr().out
    first, second = out[:len(out) // 2], out[len(out) // 2:]
    if verbose == 2:  # times differ; everything else must not
        first, second = (re.sub(r"time lapse [0-9.]+s", "", s) for s in (first, second))
    assert first == second
    assert first.count("Iteration 9") == 2 and "Iteration 10" not in first


def _collapsing(rng):
    """Three points: a component collapses (ill-defined covariance)."""
    X = np.repeat(rng.normal(size=(3, 2)), 50, axis=0)
    return X, dict(n_components=3, covariance_type="full", reg_covar=0.0, random_state=0)


def _underflowing(rng):
    """A pass that fails: a density that underflows for every component."""
    means = np.array([[0.0], [1.0]])
    far = np.array([[1e200], [-1e200], [0.5]])
    return far, dict(n_components=2, weights_init=[0.5, 0.5], means_init=means,
                     precisions_init=np.array([[[1e10]], [[1e10]]]))


@pytest.mark.parametrize("problem, message", [(_collapsing, "ill-defined empirical covariance"),
                                              (_underflowing, "^E-step failed")],
                         ids=["ill-defined", "e-step"])
def test_ill_defined_and_e_step_errors_read_as_before(rng, monkeypatch, problem, message):
    X, kwargs = problem(rng)
    messages = []
    for force_python in (False, True):
        with monkeypatch.context() as patch:
            if force_python:
                python_loop(patch)
            with pytest.raises(ValueError) as info:
                GMM(**kwargs).fit(X)
            messages.append(str(info.value))
    assert re.search(message, messages[0]), messages[0]
    assert messages[0] == messages[1]


def test_interrupt_between_iterations_changes_nothing(rng, monkeypatch):
    X = blobs(rng, n=400, d=3, k=3)
    gmm = GMM(3, random_state=0, verbose=1, verbose_interval=100).fit(X)
    calls = []

    def interrupted(self, n_iter, change):
        calls.append(n_iter)
        if len(calls) == 3:
            raise KeyboardInterrupt
    monkeypatch.setattr(cem._em.VerboseReporter, "iteration_end", interrupted)
    gmm.set_params(tol=0.0, max_iter=10, random_state=7)
    before = copy.deepcopy(gmm.__dict__)
    with pytest.raises(KeyboardInterrupt):
        gmm.fit(X)
    assert calls == [1, 2, 3]
    assert sorted(before) == sorted(gmm.__dict__)
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, gmm.__dict__[name])
        else:
            assert value == gmm.__dict__[name], name


def test_em_iterations_checks_its_arguments(rng):
    X = rng.normal(size=(50, 2))
    w, m, pc = np.full(2, 0.5), rng.normal(size=(2, 2)), np.array([np.eye(2)] * 2)
    with pytest.raises(ValueError, match="disagree"):
        _core.em_iterations("full", w[:1], m, pc, X, None, 0.0, 3, 1e-6, 1, -np.inf)
    with pytest.raises(ValueError, match="max_iter"):
        _core.em_iterations("full", w, m, pc, X, None, 0.0, 0, 1e-6, 1, -np.inf)
    with pytest.raises(ValueError, match="features"):
        _core.em_iterations("full", w, m, pc, X[:, :1], None, 0.0, 3, 1e-6, 1, -np.inf)
    params, n_iter, bound, bounds, converged = _core.em_iterations(
        "full", w, m, pc, X, None, 0.0, 3, 1e-6, 1, -np.inf)
    assert n_iter == 3 and len(bounds) == 3 and bound == bounds[-1] and not converged
    assert [a.shape for a in params] == [(2,), (2, 2), (2, 2, 2), (2, 2, 2)]


def test_em_iterations_reads_any_memory_order_of_prec_chol(rng):
    X = rng.normal(size=(200, 3))
    w, m = np.full(2, 0.5), rng.normal(size=(2, 3))
    pc = np.array([np.triu(rng.uniform(0.5, 1.0, size=(3, 3))) for _ in range(2)])
    runs = [_core.em_iterations("full", w, m, p, X, None, 0.0, 4, 1e-6, 1, -np.inf)
            for p in (pc, np.asfortranarray(pc))]
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][3] == runs[1][3]
