import os
import tempfile

import numpy as np
import pytest

try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # the property tests skip themselves
    _hypothesis_settings = None

if _hypothesis_settings is not None:
    # The suite (and CI) replays the same examples every run, so a red run
    # is a regression, not a new draw; CEM_HYPOTHESIS_PROFILE=hunt draws
    # fresh ones (with CEM_HYPOTHESIS_EXAMPLES for more of them).
    _hypothesis_settings.register_profile("suite", derandomize=True)
    _hypothesis_settings.register_profile("hunt", derandomize=False)
    _hypothesis_settings.load_profile(os.environ.get("CEM_HYPOTHESIS_PROFILE", "suite"))


def random_model(rng, k, d, covariance_type, scale=1.0, offset=0.0):
    """A random well-conditioned mixture (weights, means, prec_chol) in the
    C core's layout (prec_chol upper triangular)."""
    from cem import _reference
    weights = rng.dirichlet(np.ones(k))
    means = offset + scale * rng.normal(size=(k, d))
    if covariance_type == "full":
        a = rng.normal(size=(k, d, d))
        cov = scale ** 2 * (a @ a.transpose(0, 2, 1) / d + np.eye(d))
    elif covariance_type == "tied":
        a = rng.normal(size=(d, d))
        cov = scale ** 2 * (a @ a.T / d + np.eye(d))
    elif covariance_type == "diag":
        cov = scale ** 2 * rng.uniform(0.5, 2.0, size=(k, d))
    elif covariance_type == "spherical":
        cov = scale ** 2 * rng.uniform(0.5, 2.0, size=k)
    elif covariance_type == "tied_diag":
        cov = scale ** 2 * rng.uniform(0.5, 2.0, size=d)
    else:  # tied_spherical
        cov = scale ** 2 * rng.uniform(0.5, 2.0, size=1)
    return weights, means, cov, _reference.precision_cholesky(covariance_type, cov)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def blobs(rng, n=600, d=3, k=3, spread=4.0, dtype=np.float64):
    """k Gaussian blobs, shuffled."""
    centers = spread * rng.normal(size=(k, d))
    labels = rng.integers(0, k, size=n)
    X = centers[labels] + rng.normal(size=(n, d)) * rng.uniform(0.5, 1.5, size=k)[labels, None]
    return X.astype(dtype)


def write_memmap(path, X, offset=0):
    """X written to path after `offset` bytes of other data (noise, so a
    reader that ignores the offset fits the wrong rows); returns a read-only
    np.memmap of it."""
    head = np.random.default_rng(99).normal(size=offset // 8 + 1).tobytes()[:offset]
    with open(path, "wb") as f:
        f.write(head)
        f.write(np.ascontiguousarray(X).tobytes())
    return np.memmap(path, dtype=X.dtype, mode="r", offset=offset, shape=X.shape)


class SlicedArray:
    """An array-like that only slices (like an h5py or zarr dataset)."""

    def __init__(self, X):
        self._X, self.shape, self.dtype = X, X.shape, X.dtype

    def __getitem__(self, key):
        return self._X[key].copy()


# Where child Python processes run: outside any checkout, so that `python -c`
# (which puts its working directory first on sys.path) cannot import an
# unbuilt source tree's cem.
CHILD_CWD = tempfile.mkdtemp(prefix="cem-child-")


def child_env(**extra):
    """The environment for a child Python process that must import the same
    cem as this one: the installed wheel in CI, an in-place build in a
    checkout (never the source tree of a checkout whose extension is not
    built), plus the variables given."""
    import cem
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(cem.__file__)))
    path = [package_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), **extra)


@pytest.fixture(params=["baseline", "avx2", "avx512"])
def kernel_variant(request, monkeypatch):
    """Runs the test under each block-kernel variant (CEM_KERNELS), skipped
    where this CPU or build has not got it: every variant is tested on
    every machine that runs it, not only the one the machine would pick."""
    from cem import _core
    if request.param not in _core.kernel_variants():
        pytest.skip(f"no {request.param} kernels on this CPU or build")
    monkeypatch.setenv("CEM_KERNELS", request.param)
    assert _core.kernel_variant() == request.param
    return request.param
