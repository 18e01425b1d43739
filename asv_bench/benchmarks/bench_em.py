"""asv suites: EM iterations on the fixed workloads (time, peak memory and
final lower bound), initialisation, predict_proba and score_samples.

Every fit starts from the same initial parameters with tol=0 and a fixed
max_iter, so time is per iteration and not confounded by convergence."""
import warnings

import numpy as np

from cem import GMM

from .workloads import WORKLOADS, initial_params, make_data

ITERATIONS = 3
THREADS = [1, 2]
DTYPES = ["float64", "float32"]
_CACHE = {}


def _data(name, dtype):
    """Workload data, made once per process (setup runs per benchmark)."""
    key = (name, dtype)
    if key not in _CACHE:
        n, d, k, cov = WORKLOADS[name]
        _CACHE.clear()  # keep one data set in memory at a time
        _CACHE[key] = make_data(n, d, k, dtype)
    return _CACHE[key]


class EMIterations:
    """Fixed-work fits: ITERATIONS EM iterations from given parameters."""
    params = (list(WORKLOADS), DTYPES, THREADS)
    param_names = ["workload", "dtype", "n_threads"]
    timeout = 600

    def setup(self, workload, dtype, n_threads):
        n, d, k, cov = WORKLOADS[workload]
        self.X, centers = _data(workload, dtype)
        self.gmm = GMM(k, covariance_type=cov, tol=0.0, max_iter=ITERATIONS,
                       n_threads=n_threads, **initial_params(centers, cov))
        warnings.simplefilter("ignore")

    def time_fit(self, workload, dtype, n_threads):
        self.gmm.fit(self.X)

    def peakmem_fit(self, workload, dtype, n_threads):
        self.gmm.fit(self.X)

    def track_lower_bound(self, workload, dtype, n_threads):
        """The final lower bound: a numerical-regression guard."""
        return float(self.gmm.fit(self.X).lower_bound_)

    track_lower_bound.unit = "mean log-likelihood"


class Initialisation:
    """init_params on the workload of 16 features and 16 components."""
    params = (["kmeans", "k-means++", "random", "random_from_data"], THREADS)
    param_names = ["init_params", "n_threads"]
    timeout = 300

    def setup(self, init_params, n_threads):
        self.X, _ = _data("3: n=200k d=16 k=16 full", "float64")
        self.gmm = GMM(16, init_params=init_params, max_iter=0, random_state=0,
                       n_threads=n_threads)

    def time_initialise(self, init_params, n_threads):
        self.gmm.fit(self.X)


class Prediction:
    """predict_proba and score_samples of a fitted model."""
    params = (["3: n=200k d=16 k=16 full", "5: n=1M d=32 k=32 diag"], THREADS)
    param_names = ["workload", "n_threads"]
    timeout = 300

    def setup(self, workload, n_threads):
        n, d, k, cov = WORKLOADS[workload]
        self.X, centers = _data(workload, "float64")
        warnings.simplefilter("ignore")
        self.gmm = GMM(k, covariance_type=cov, max_iter=1, n_threads=n_threads,
                       **initial_params(centers, cov)).fit(self.X[:10000])

    def time_predict_proba(self, workload, n_threads):
        self.gmm.predict_proba(self.X)

    def peakmem_predict_proba(self, workload, n_threads):
        self.gmm.predict_proba(self.X)

    def time_score_samples(self, workload, n_threads):
        self.gmm.score_samples(self.X)
