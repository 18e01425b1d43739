"""The default-call workloads of issue 13 item 0 (shared by the asv suite
bench_default_fit.py and asv_bench/default_fit_compare.py): data drawn from
a known Gaussian mixture, fitted with every argument at its default but
random_state, so the time includes the k-means initialisation and EM to
convergence (tol=1e-3), as most users run it."""
import numpy as np

# name: (n, d, k, covariance_type)
DEFAULT_FITS = {
    "n=10k d=1 k=2 full": (10_000, 1, 2, "full"),
    "n=200k d=16 k=16 full": (200_000, 16, 16, "full"),
    "n=1M d=8 k=8 diag": (1_000_000, 8, 8, "diag"),
}


def make_mixture(n, d, k, covariance_type, seed=0):
    """n rows (float64, C order) from a random k-component mixture in d
    dimensions of the given covariance_type ("full" or "diag"):
    weights ~ Dirichlet(5, ..., 5) (unequal, none tiny); means ~ N(0, 6^2 I)
    (components mostly well separated, as in clustering data); full
    covariances A A^T / d + 0.2 I with A ~ N(0, 1)^(d x d) (random
    orientation, eigenvalues spread over about two decades); diag variances
    ~ U(0.3, 3) per feature. Row i is drawn from component z_i ~ weights:
    mean_z + L_z e_i, e_i ~ N(0, I), L_z the covariance's Cholesky factor."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 5.0))
    means = 6.0 * rng.normal(size=(k, d))
    if covariance_type == "full":
        a = rng.normal(size=(k, d, d))
        factors = np.linalg.cholesky(a @ a.transpose(0, 2, 1) / d + 0.2 * np.eye(d))
    elif covariance_type == "diag":
        factors = np.sqrt(rng.uniform(0.3, 3.0, size=(k, d)))[:, :, None] * np.eye(d)
    else:
        raise ValueError(covariance_type)
    z = rng.choice(k, size=n, p=weights)
    X = rng.normal(size=(n, d))
    for c in range(k):  # one component at a time: no (n, d, d) temporary
        rows = z == c
        X[rows] = means[c] + X[rows] @ factors[c].T
    return X
