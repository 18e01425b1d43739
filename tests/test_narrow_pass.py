"""The fused narrow pass (kernels.inc: narrow_block; d <= 4, k <= 8, the
fit's statistics-only pass) against the unfused narrow kernels it replaces,
bit for bit, and every kernel variant the CPU runs (CEM_KERNELS forces one:
baseline, avx2, avx512) against the NumPy twins, the pins and each other.

A pass that also fills resp runs the unfused kernels, so the same call with
and without resp compares the two paths on the same input."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from cem import GMM, _core, _reference  # noqa: E402
from conftest import CHILD_CWD, child_env, random_model  # noqa: E402

COVS = ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical")
FEW = settings(max_examples=int(os.environ.get("CEM_HYPOTHESIS_EXAMPLES", 25)), deadline=None)
HERE = os.path.dirname(os.path.abspath(__file__))
VARIANTS = ("baseline", "avx2", "avx512")


def _both_paths(cov, weights, means, prec_chol, X, sw=None, shift=None, n_threads=1):
    """(fused, unfused) statistics of one pass."""
    fused = _core.e_step(cov, weights, means, prec_chol, X, sw, shift=shift, n_threads=n_threads)
    unfused = _core.e_step(cov, weights, means, prec_chol, X, sw, shift=shift,
                           resp=np.empty((X.shape[0], len(weights))), n_threads=n_threads)
    return fused, unfused


@FEW
@given(cov=st.sampled_from(COVS), d=st.integers(1, 4), k=st.integers(1, 9),
       n=st.integers(0, 800), weighted=st.booleans(), shifted=st.booleans(),
       float32=st.booleans(), layout=st.sampled_from(["c", "fortran", "reversed", "strided"]),
       zero_weight=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_fused_pass_is_the_unfused_pass_bit_for_bit(cov, d, k, n, weighted, shifted, float32,
                                                    layout, zero_weight, seed):
    rng = np.random.default_rng(seed)
    weights, means, _, prec_chol = random_model(rng, k, d, cov, scale=rng.uniform(0.1, 10))
    if zero_weight and k > 1:  # an absent component: log-density -inf, responsibility 0
        weights[0] = 0.0
        weights /= weights.sum()
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * rng.uniform(0.1, 30)
    X = X.astype(np.float32) if float32 else X
    if layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "reversed":
        X = np.ascontiguousarray(X[::-1])[::-1]
    elif layout == "strided":
        X = np.repeat(X, 2, axis=0)[::2]
    sw = rng.uniform(0, 3, n) * (rng.uniform(size=n) > 0.2) if weighted else None
    shift = means + rng.normal(size=means.shape) if shifted else None
    fused, unfused = _both_paths(cov, weights, means, prec_chol, X, sw, shift)
    np.testing.assert_array_equal(fused, unfused)


@FEW
@given(cov=st.sampled_from(COVS), d=st.integers(1, 6), k=st.integers(1, 10),
       n=st.integers(0, 300), fused=st.booleans(), float32=st.booleans(),
       layout=st.sampled_from(["c", "fortran", "strided"]), seed=st.integers(0, 2**32 - 1))
def test_unit_weights_are_no_weights_bit_for_bit(cov, d, k, n, fused, float32, layout, seed):
    # Without weights, a block's log-likelihood is its rows' maxima plus the
    # log of the product of their sums of exponentials (one log per lane);
    # with weights, w_r log p(x_r) row by row. A block whose weights are all
    # exactly 1 must take the first road, on both paths (fused: d <= 4 and
    # k <= 8, statistics only; unfused: resp asked for, or wider), so that
    # sample_weight=ones fits as no sample_weight.
    rng = np.random.default_rng(seed)
    weights, means, _, prec_chol = random_model(rng, k, d, cov, scale=rng.uniform(0.1, 10))
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d)) * rng.uniform(0.1, 30)
    X = X.astype(np.float32) if float32 else X
    if layout == "fortran":
        X = np.asfortranarray(X)
    elif layout == "strided":
        X = np.repeat(X, 2, axis=0)[::2]
    resp = None if fused else np.empty((n, k))
    unweighted = _core.e_step(cov, weights, means, prec_chol, X, None, resp=resp)
    np.testing.assert_array_equal(
        _core.e_step(cov, weights, means, prec_chol, X, np.ones(n), resp=resp), unweighted)


@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d, k", [(1, 2), (3, 3), (7, 4)])
def test_fit_with_unit_weights_is_the_unweighted_fit(rng, cov, d, k):
    X = rng.normal(size=(k, d))[rng.integers(0, k, 700)] * 4 + rng.normal(size=(700, d))
    params = dict(n_components=k, covariance_type=cov, random_state=0)
    weighted = GMM(**params).fit(X, sample_weight=np.ones(len(X)))
    unweighted = GMM(**params).fit(X)
    for attribute in ("weights_", "means_", "covariances_", "lower_bound_", "n_iter_"):
        np.testing.assert_array_equal(getattr(weighted, attribute),
                                      getattr(unweighted, attribute), err_msg=attribute)

@pytest.mark.parametrize("cov", COVS)
@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 3, 8])
def test_fused_pass_matches_reference_for_any_thread_count(rng, cov, d, k):
    n = 1000
    weights, means, _, prec_chol = random_model(rng, k, d, cov)
    X = means[rng.integers(0, k, n)] + rng.normal(size=(n, d))
    sw = rng.uniform(0, 3, n)
    one = _core.e_step(cov, weights, means, prec_chol, X, sw, n_threads=1)
    for threads in (2, 3):
        np.testing.assert_array_equal(
            _core.e_step(cov, weights, means, prec_chol, X, sw, n_threads=threads), one)
    ref_stats, _, _ = _reference.e_step(cov, weights, means, prec_chol, X, sw)
    np.testing.assert_allclose(one, ref_stats, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 7, 8, 63, 64, 99])
@pytest.mark.parametrize("k, d", [(2, 1), (3, 1), (8, 3)])
def test_fused_pass_rejects_a_non_finite_row_as_the_unfused_one(rng, bad, row, k, d):
    weights, means, _, prec_chol = random_model(rng, k, d, "full")
    X = rng.normal(size=(100, d))
    X[row, d - 1] = bad
    for resp in (None, np.empty((100, k))):
        with pytest.raises(_core.CoreError) as exc:
            _core.e_step("full", weights, means, prec_chol, X, resp=resp)
        assert exc.value.status == _core.STATUS_NON_FINITE


@pytest.mark.parametrize("far", [1e100, 1e150, -1e150])
@pytest.mark.parametrize("k", [2, 3])
def test_fused_pass_keeps_a_far_but_finite_row_as_the_unfused_one(rng, far, k):
    # log-densities near -1e300: finite, so the row counts (no false error)
    weights, means, _, prec_chol = random_model(rng, k, 1, "full")
    X = rng.normal(size=(50, 1))
    X[9, 0] = far
    fused = _core.e_step("full", weights, means, prec_chol, X)
    unfused = _core.e_step("full", weights, means, prec_chol, X, resp=np.empty((50, k)))
    np.testing.assert_array_equal(fused, unfused)
    assert np.isfinite(fused).all()


def test_fused_pass_rejects_rows_no_component_reaches(rng):
    # every log-density -inf (beyond the range of doubles): no finite row max
    weights, means, _, prec_chol = random_model(rng, 2, 1, "diag")
    X = rng.normal(size=(20, 1))
    X[5, 0] = 1e300
    for resp in (None, np.empty((20, 2))):
        with pytest.raises(_core.CoreError) as exc:
            _core.e_step("diag", weights, means, prec_chol, X, resp=resp)
        assert exc.value.status == _core.STATUS_NON_FINITE


_VARIANT_SCRIPT = r"""
import json, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
from cem import _core
from conftest import random_model
from test_pinned_fits import cases, fit
out = {"variant": _core.kernel_variant(), "stats": {}, "mismatch": [], "pinned": {}}
rng = np.random.default_rng(7)
for cov in ("full", "tied", "diag", "spherical", "tied_diag", "tied_spherical"):
    for d in (1, 2, 3, 4):
        for k in (1, 2, 3, 8, 9):
            for n in (1, 8, 13, 64, 200, 256, 600):  # narrow blocks are 256 rows
                w, mu, _, pc = random_model(rng, k, d, cov)
                X = mu[rng.integers(0, k, n)] + 3 * rng.normal(size=(n, d))
                sw = rng.uniform(0, 2, n)
                for weights in (None, sw):
                    a = _core.e_step(cov, w, mu, pc, X, weights)
                    b = _core.e_step(cov, w, mu, pc, X, weights, resp=np.empty((n, k)))
                    key = f"{cov}-{d}-{k}-{n}-{weights is None}"
                    if not np.array_equal(a, b):
                        out["mismatch"].append(key)
                    out["stats"][key] = a.tolist()
for name in cases():
    out["pinned"][name] = {a: np.asarray(v).tolist() for a, v in fit(name).items()}
print(json.dumps(out))
"""


def _run_variant(variant):
    # child_env and CHILD_CWD: the child imports this process's cem, never a
    # checkout's unbuilt source tree from the working directory
    out = subprocess.run([sys.executable, "-c", _VARIANT_SCRIPT, HERE],
                         env=child_env(CEM_KERNELS=variant), cwd=CHILD_CWD,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def variants():
    """Each variant this CPU runs: its statistics and pinned fits."""
    runs = {v: _run_variant(v) for v in VARIANTS}
    return {v: r for v, r in runs.items() if r["variant"] == v}


def test_baseline_variant_runs_everywhere(variants):
    assert "baseline" in variants


@pytest.mark.parametrize("variant", VARIANTS)
def test_each_variant_fuses_bit_for_bit(variants, variant):
    if variant not in variants:
        pytest.skip(f"this CPU does not run the {variant} kernels")
    assert variants[variant]["mismatch"] == []


def test_variants_agree(variants):
    """avx2 and avx512 contract the same expressions into FMAs: the same bits;
    the baseline (no FMA) rounds differently, within a few ulp per term."""
    base = variants["baseline"]["stats"]
    for v in set(variants) - {"baseline"}:
        for key, stats in variants[v]["stats"].items():
            np.testing.assert_allclose(stats, base[key], rtol=1e-11, atol=1e-11, err_msg=key)
    if "avx2" in variants and "avx512" in variants:
        assert variants["avx2"]["stats"] == variants["avx512"]["stats"]
        assert variants["avx2"]["pinned"] == variants["avx512"]["pinned"]


@pytest.mark.parametrize("variant", ["avx2", "avx512"])
def test_fma_variants_keep_the_pinned_fits(variants, variant):
    if variant not in variants:
        pytest.skip(f"this CPU does not run the {variant} kernels")
    pinned = np.load(os.path.join(HERE, "data", "pinned_fits.npz"))
    for name, values in variants[variant]["pinned"].items():
        for attribute, value in values.items():
            np.testing.assert_array_equal(np.asarray(value), pinned[f"{name}/{attribute}"],
                                          err_msg=f"{variant} {name} {attribute}")
