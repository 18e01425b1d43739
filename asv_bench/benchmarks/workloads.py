"""The benchmark workloads of cem (shared by the asv suite and compare.py):
fixed data and fixed initial parameters, so every library does identical
work and time per EM iteration is not confounded by convergence."""
import numpy as np

# name: (n, d, k, covariance_type)
WORKLOADS = {
    "1: n=2M d=1 k=3 full": (2_000_000, 1, 3, "full"),
    "2: n=1M d=2 k=4 full": (1_000_000, 2, 4, "full"),
    "3: n=200k d=16 k=16 full": (200_000, 16, 16, "full"),
    "4: n=100k d=64 k=8 full": (100_000, 64, 8, "full"),
    "5: n=1M d=32 k=32 diag": (1_000_000, 32, 32, "diag"),
    "3t: n=200k d=16 k=16 tied": (200_000, 16, 16, "tied"),
    "3s: n=200k d=16 k=16 spherical": (200_000, 16, 16, "spherical"),
}


def make_data(n, d, k, dtype="float64", seed=0):
    """n rows from k well-separated Gaussian blobs in d dimensions."""
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.normal(size=(k, d))
    labels = rng.integers(0, k, n)
    X = centers[labels]
    X += rng.normal(size=(n, d))
    return X.astype(dtype, copy=False), centers


def initial_params(centers, covariance_type):
    """weights_init, means_init, precisions_init near the truth, as kwargs."""
    k, d = centers.shape
    precisions = {"full": np.array([np.eye(d)] * k), "tied": np.eye(d),
                  "diag": np.ones((k, d)), "spherical": np.ones(k)}[covariance_type]
    return dict(weights_init=np.full(k, 1.0 / k), means_init=centers + 0.25,
                precisions_init=precisions)


def flops_per_iteration(n, d, k, covariance_type):
    """Arithmetic of one EM iteration, the numerator of the lower bound:
    full 2 n k d^2 (a triangular product in the E-step and a symmetric rank
    update in the M-step, d^2 / 2 multiply-adds each per row and
    component); tied 2 n d^2 + 8 n k d (the shared factor applied and the
    pooled update made once per row, then per component a shift and first
    moments); diag/spherical 8 n k d (two multiply-adds per feature in each
    step)."""
    if covariance_type == "full":
        return 2.0 * n * k * d * d
    if covariance_type == "tied":
        return 2.0 * n * d * d + 8.0 * n * k * d
    return 8.0 * n * k * d
