"""EM iterations on fixed work: given initial parameters, tol=0 and a fixed
max_iter, so time is per iteration and not confounded by convergence."""
import warnings

import numpy as np

from cem import GMM

ITERATIONS = 5

# name: (n, d, k, covariance_type)
WORKLOADS = {
    "1d_k3": (2_000_000, 1, 3, "full"),
    "2d_k4_full": (1_000_000, 2, 4, "full"),
    "16d_k16_full": (200_000, 16, 16, "full"),
}


def fixed_work(n, d, k, covariance_type, dtype, seed=0):
    """Data drawn from k blobs and initial parameters both libraries accept."""
    rng = np.random.default_rng(seed)
    centers = 3.0 * rng.normal(size=(k, d))
    X = (centers[rng.integers(0, k, n)] + rng.normal(size=(n, d))).astype(dtype)
    precisions = {"full": np.array([np.eye(d)] * k), "tied": np.eye(d),
                  "diag": np.ones((k, d)), "spherical": np.ones(k)}[covariance_type]
    init = dict(weights_init=np.full(k, 1.0 / k), means_init=centers + 0.5,
                precisions_init=precisions)
    return X, init


class EMIteration:
    params = (list(WORKLOADS), ["float64", "float32"], [1, 2])
    param_names = ["workload", "dtype", "n_threads"]
    timeout = 300

    def setup(self, workload, dtype, n_threads):
        n, d, k, cov = WORKLOADS[workload]
        self.X, init = fixed_work(n, d, k, cov, dtype)
        self.gmm = GMM(k, covariance_type=cov, tol=0.0, max_iter=ITERATIONS,
                       n_threads=n_threads, **init)
        warnings.simplefilter("ignore")

    def time_fit(self, workload, dtype, n_threads):
        self.gmm.fit(self.X)

    def peakmem_fit(self, workload, dtype, n_threads):
        self.gmm.fit(self.X)

    def track_lower_bound(self, workload, dtype, n_threads):
        return self.gmm.fit(self.X).lower_bound_
