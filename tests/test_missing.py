"""Missing values (NaN = not observed, missing at random): the C pass
cem_e_step_missing against its NumPy twin (cem._reference.e_step_missing,
written from the observed-data formulas in the covariance), its exact
agreement with the complete-data pass when nothing is missing, and the
estimator's missing="marginalize" (see README, "Missing values")."""
import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from cem import _core, _reference  # noqa: E402
from conftest import random_model  # noqa: E402

COVS = ("full", "tied", "diag", "spherical")
FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)


def _holes(rng, X, fraction, n_empty=0):
    """X (float64 copy) with a fraction of its values set to NaN completely
    at random, and its first n_empty rows entirely NaN."""
    X = np.array(X, dtype=np.float64)
    X[rng.random(X.shape) < fraction] = np.nan
    X[:n_empty] = np.nan
    return X


@FEW
@given(seed=st.integers(0, 2 ** 32 - 1), d=st.integers(1, 16), k=st.integers(1, 4),
       n=st.integers(0, 200), cov=st.sampled_from(COVS), dtype=st.sampled_from(["f8", "f4"]),
       fraction=st.sampled_from([0.0, 0.05, 0.3, 0.7]), weighted=st.booleans(),
       n_empty=st.integers(0, 3))
def test_c_pass_matches_twin(seed, d, k, n, cov, dtype, fraction, weighted, n_empty):
    rng = np.random.default_rng(seed)
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = (means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
    X = _holes(rng, X, fraction, min(n_empty, n)).astype(dtype)
    sw = rng.uniform(0, 2, size=n) if weighted else None
    if weighted and n:
        sw[rng.random(n) < 0.2] = 0.0
    shift = means + 0.1 * rng.normal(size=means.shape)
    resp = np.zeros((n, k))
    log_density = np.zeros(n)
    stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp,
                         log_density=log_density, shift=shift, missing=True)
    want, want_resp, want_ld = _reference.e_step_missing(cov, weights, means, prec_chol,
                                                         X.astype(np.float64), sw, shift=shift)
    scale = 1.0 + np.abs(want)
    np.testing.assert_allclose(stats / scale, want / scale, rtol=0, atol=1e-10)
    np.testing.assert_allclose(resp, want_resp, rtol=0, atol=1e-10)
    np.testing.assert_allclose(log_density, want_ld, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 3, 4, 5, 8, 16])
@pytest.mark.parametrize("dtype", ["f8", "f4"])
def test_no_nan_pass_is_bit_identical(cov, d, dtype, rng):
    k, n = 3, 1000
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = (means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))).astype(dtype)
    sw = rng.uniform(0, 2, size=n)
    out = []
    for missing in (False, True):
        resp, ld = np.zeros((n, k)), np.zeros(n)
        stats = _core.e_step(cov, weights, means, prec_chol, X, sw, resp=resp, log_density=ld,
                             missing=missing)
        out.append((stats, resp, ld))
    for a, b in zip(*out):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("cov", COVS)
def test_missing_rows_do_not_change_complete_blocks(cov, rng):
    """A block's complete rows are accumulated exactly as without the flag:
    NaN rows added later, in their own blocks, change only their share."""
    k, d, n = 2, 6, 128
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    both = np.vstack([X, _holes(rng, X[:64], 0.5)])
    complete = _core.e_step(cov, weights, means, prec_chol, X)
    holes = _core.e_step(cov, weights, means, prec_chol, both[n:], missing=True)
    merged = _core.e_step(cov, weights, means, prec_chol, both, missing=True)
    np.testing.assert_allclose(merged, complete + holes, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("cov", COVS)
def test_empty_rows_score_zero_and_carry_no_weight(cov, rng):
    k, d, n = 3, 5, 40
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, size=n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0.5, 2, size=n)
    with_empty = np.vstack([X, np.full((7, d), np.nan)])
    sw_empty = np.concatenate([sw, np.full(7, 3.0)])
    resp, ld = np.zeros((n + 7, k)), np.zeros(n + 7)
    stats = _core.e_step(cov, weights, means, prec_chol, with_empty, sw_empty, resp=resp,
                         log_density=ld, missing=True)
    plain = _core.e_step(cov, weights, means, prec_chol, X, sw)
    assert np.all(ld[n:] == 0.0)
    np.testing.assert_allclose(resp[n:], np.tile(weights / weights.sum(), (7, 1)), rtol=1e-14)
    np.testing.assert_allclose(stats, plain, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_inf_is_still_an_error(cov, bad, rng):
    k, d = 2, 5
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = rng.normal(size=(30, d))
    X[3, 1] = bad  # in a complete row
    with pytest.raises(_core.CoreError):
        _core.e_step(cov, weights, means, prec_chol, X, missing=True)
    X[3, 2] = np.nan  # in a row with a missing value
    with pytest.raises(_core.CoreError):
        _core.e_step(cov, weights, means, prec_chol, X, missing=True)


def test_nan_is_an_error_without_the_flag(rng):
    weights, means, _, prec_chol = random_model(rng, 2, 3, "full")
    X = rng.normal(size=(10, 3))
    X[2, 0] = np.nan
    with pytest.raises(_core.CoreError):
        _core.e_step("full", weights, means, prec_chol, X)
