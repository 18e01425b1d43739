"""The benchmark set of accelerated EM (shared by the asv suite
bench_acceleration.py and asv_bench/acceleration_compare.py): twelve
mixtures with overlapping components, d in {1, 2, 5, 10}, k in 2..8 and
every covariance type, each with a fixed start, so plain and accelerated EM
run from the same parameters and only the iteration scheme differs."""
import numpy as np

# name: (n, d, k, covariance_type, separation). Component means are drawn
# with standard deviation `separation` (in units of the components' scale,
# about 1): 1 to 2 makes neighbouring components overlap, where plain EM
# needs hundreds to thousands of iterations.
PROBLEMS = {
    "d1 k2 full": (20_000, 1, 2, "full", 1.0),
    "d1 k3 spherical": (20_000, 1, 3, "spherical", 1.5),
    "d1 k4 diag": (20_000, 1, 4, "diag", 2.0),
    "d2 k3 full": (20_000, 2, 3, "full", 1.0),
    "d2 k4 tied": (20_000, 2, 4, "tied", 1.0),
    "d2 k5 diag": (20_000, 2, 5, "diag", 1.5),
    "d5 k3 spherical": (20_000, 5, 3, "spherical", 0.7),
    "d5 k4 full": (20_000, 5, 4, "full", 0.8),
    "d5 k6 diag": (20_000, 5, 6, "diag", 1.0),
    "d10 k4 tied": (20_000, 10, 4, "tied", 0.5),
    "d10 k5 full": (20_000, 10, 5, "full", 0.6),
    "d10 k8 diag": (20_000, 10, 8, "diag", 0.6),
}
TOL = 1e-6
# Plain EM is allowed this many iterations (passes); accelerated EM the
# same number of passes (max_iter counts its 3-pass iterations).
MAX_PASSES = 20_000


def make_problem(name, seed=0):
    """(X, start) of a problem: n rows of the mixture (random weights, means
    and per-component covariances, anisotropic for full/diag), and the
    start shared by both schemes, a dict of weights_init, means_init and
    precisions_init (k rows of X drawn at random as means, the data's
    covariance shaped for the covariance type)."""
    n, d, k, cov, separation = PROBLEMS[name]
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 4.0))
    means = separation * rng.normal(size=(k, d))
    labels = rng.choice(k, size=n, p=weights)
    scales = rng.uniform(0.6, 1.4, size=(k, d))
    if cov == "tied":
        scales[:] = scales[0]
    elif cov == "spherical":
        scales[:] = scales[:, :1]
    noise = rng.normal(size=(n, d)) * scales[labels]
    if cov in ("full", "tied") and d > 1:
        rotations = np.linalg.qr(rng.normal(size=(k, d, d)))[0]
        if cov == "tied":
            rotations[:] = rotations[0]
        noise = np.einsum("nij,nj->ni", rotations[labels], noise)
    X = means[labels] + noise
    start_means = X[rng.choice(n, size=k, replace=False)]
    spread = np.cov(X, rowvar=False).reshape(d, d)
    precision = np.linalg.inv(spread)
    precisions = {"full": np.repeat(precision[None], k, axis=0), "tied": precision,
                  "diag": np.repeat(1.0 / np.diag(spread)[None], k, axis=0),
                  "spherical": np.full(k, d / np.trace(spread))}[cov]
    start = {"weights_init": np.full(k, 1.0 / k), "means_init": start_means,
             "precisions_init": precisions}
    return X, start


def gmm_arguments(name, acceleration, tol=TOL):
    """GMM keyword arguments (without the start) of a problem's fit."""
    _, _, k, cov, _ = PROBLEMS[name]
    max_iter = MAX_PASSES if acceleration is None else MAX_PASSES // 3
    return dict(n_components=k, covariance_type=cov, tol=tol, max_iter=max_iter,
                acceleration=acceleration)
