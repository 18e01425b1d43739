"""Fits pinned bit for bit to stored float64 results.

Refactoring the pass, the EM driver or the data sources must not change a
single bit of these fits. A deliberate numerical change re-pins them with
`python tests/test_pinned_fits.py --regenerate` in a commit of its own that
says why the bits moved.
"""
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PINNED = os.path.join(HERE, "data", "pinned_fits.npz")
ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_cholesky_")


def _blobs(seed, n, d, k, dtype=np.float64):
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.normal(size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = centers[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=k)[labels, None]
    return X.astype(dtype), rng.uniform(0.0, 2.0, size=n)


def _classic():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(20, 5, 3000), rng.normal(40, 5, 7000)]).reshape(-1, 1)


def cases():
    """name -> (X, sample_weight, GMM keyword arguments)."""
    out = {"classic": (_classic(), None, dict(n_components=2, init_params="random",
                                               tol=1e-8, random_state=0))}
    for ct in ("full", "tied", "diag", "spherical"):
        for d, k in ((3, 3), (7, 4)):  # the narrow (d <= 4) and the wide kernels
            X, _ = _blobs(d * 10 + k, 3000, d, k)
            out[f"{ct}-d{d}-k{k}"] = (X, None, dict(n_components=k, covariance_type=ct,
                                                    random_state=1, tol=1e-6))
    X, w = _blobs(7, 2000, 2, 3)
    out["full-weighted"] = (X, w, dict(n_components=3, init_params="k-means++",
                                       random_state=2))
    X, _ = _blobs(8, 2500, 5, 3, np.float32)
    out["diag-float32"] = (X, None, dict(n_components=3, covariance_type="diag",
                                         init_params="random_from_data", random_state=3))
    return out


def fit(name):
    from cem import GMM
    X, w, kwargs = cases()[name]
    gmm = GMM(**kwargs).fit(X, sample_weight=w)
    values = {a: np.asarray(getattr(gmm, a), dtype=np.float64) for a in ATTRIBUTES}
    values["lower_bound_"] = np.float64(gmm.lower_bound_)
    values["n_iter_"] = np.float64(gmm.n_iter_)
    return values


@pytest.mark.parametrize("name", sorted(cases()))
@pytest.mark.parametrize("variant", ["default", "avx2", "avx512"])
def test_fit_is_pinned_bit_for_bit(name, variant, monkeypatch):
    """The pins hold for the kernels the machine picks ("default") and for
    every variant with fused multiply-adds (AVX2, AVX-512: the same sums in
    the same order); the x86-64 baseline variant rounds each product apart,
    so its bits differ (the pins are made on an AVX2 or AVX-512 machine)."""
    from cem import _core
    if variant == "default":
        monkeypatch.delenv("CEM_KERNELS", raising=False)
    elif variant not in _core.kernel_variants():
        pytest.skip(f"no {variant} kernels on this CPU or build")
    else:
        monkeypatch.setenv("CEM_KERNELS", variant)
    pinned = np.load(PINNED)
    for attribute, value in fit(name).items():
        expected = pinned[f"{name}/{attribute}"]
        np.testing.assert_array_equal(value, expected, err_msg=f"{name}: {attribute}")


if __name__ == "__main__" and "--regenerate" in sys.argv:
    np.savez(PINNED, **{f"{name}/{a}": v for name in sorted(cases())
                        for a, v in fit(name).items()})
    print(f"wrote {PINNED}")
