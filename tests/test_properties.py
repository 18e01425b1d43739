"""Argument checks of the cem._core entry points: shapes that disagree,
data that is not a matrix and thread counts of any size give a clear
ValueError (or are clipped), never an internal error, a crash or a silent
misread."""
import numpy as np
import pytest

from cem import _core
from conftest import random_model

COVS = ("full", "tied", "diag", "spherical")


@pytest.mark.parametrize("n_threads", [2 ** 31, 2 ** 63, 2 ** 70])
def test_huge_n_threads_is_clipped_not_an_overflow(rng, n_threads):
    X = rng.normal(size=(50, 3))
    weights, means, _, prec_chol = random_model(rng, 2, 3, "full")
    expected = _core.e_step("full", weights, means, prec_chol, X)
    np.testing.assert_array_equal(
        _core.e_step("full", weights, means, prec_chol, X, n_threads=n_threads), expected)
    centers = X[:2].copy()
    assert _core.kmeans_step(centers, X, n_threads=n_threads)[2] == \
        _core.kmeans_step(centers, X)[2]
    u = rng.random(3)
    np.testing.assert_array_equal(_core.kmeanspp(X, 2, 2, u, None, n_threads)[1],
                                  _core.kmeanspp(X, 2, 2, u)[1])


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d_shift", [2, 5])
def test_shift_of_other_dimension_is_a_clear_error(rng, cov, d_shift):
    """A shift (k, d') with data of d != d' columns: ValueError naming the
    features (was an internal error one way, a silent misread the other)."""
    X = rng.normal(size=(20, 3))
    shift = np.zeros((2, d_shift))
    with pytest.raises(ValueError, match="features"):
        _core.accumulate(cov, shift, X, np.full((20, 2), 0.5))


@pytest.mark.parametrize("cov", COVS)
def test_e_step_data_of_other_dimension_is_a_clear_error(rng, cov):
    weights, means, _, prec_chol = random_model(rng, 2, 3, cov)
    with pytest.raises(ValueError, match="features"):
        _core.e_step(cov, weights, means, prec_chol, rng.normal(size=(10, 4)))


@pytest.mark.parametrize("call", ["e_step", "accumulate", "kmeans_step", "kmeanspp"])
@pytest.mark.parametrize("X", [np.zeros(5), np.zeros((5, 0)), np.zeros((2, 2, 2))])
def test_entry_points_reject_non_matrix_data(rng, call, X):
    weights, means, _, prec_chol = random_model(rng, 1, 1, "diag")
    with pytest.raises(ValueError):
        if call == "e_step":
            _core.e_step("diag", weights, means, prec_chol, X)
        elif call == "accumulate":
            _core.accumulate("diag", means, X, np.ones((X.shape[0], 1)))
        elif call == "kmeans_step":
            _core.kmeans_step(means, X)
        else:
            _core.kmeanspp(X, 1, 1, [0.5])


def test_kmeans_step_without_centers_is_a_clear_error(rng):
    with pytest.raises(ValueError, match="centers"):
        _core.kmeans_step(np.zeros((0, 3)), rng.normal(size=(10, 3)))
