"""asv suite: many small fits in one call (cem.fit_many), the workload of
asv_bench/batch_compare.py scaled down to 2,000 problems: 200 rows each,
d = 1, k = 2, 50 EM iterations (tol=0, so the work is fixed), per
init_params and thread count; also a list of problems of differing sizes
(the copy into one array and the per-n draws)."""
import warnings

import numpy as np

import cem

N_PROBLEMS = 2000
ROWS = 200
ITERATIONS = 50


def problems(n_problems=N_PROBLEMS, rows=ROWS, seed=0):
    """(n_problems, rows, 1): 30% of each problem near 20, the rest near 40."""
    rng = np.random.default_rng(seed)
    shape = (n_problems, rows)
    X = np.where(rng.random(shape) < 0.3, rng.normal(20, 5, shape), rng.normal(40, 5, shape))
    return X[:, :, None]


class FitMany:
    params = (["kmeans", "random"], [1, 2])
    param_names = ["init_params", "n_threads"]
    timeout = 300

    def setup(self, init_params, n_threads):
        self.X = problems()
        warnings.simplefilter("ignore", cem.ConvergenceWarning)

    def time_fit_many(self, init_params, n_threads):
        cem.fit_many(self.X, 2, tol=0.0, max_iter=ITERATIONS, init_params=init_params,
                     random_state=0, n_threads=n_threads)

    def peakmem_fit_many(self, init_params, n_threads):
        cem.fit_many(self.X, 2, tol=0.0, max_iter=ITERATIONS, init_params=init_params,
                     random_state=0, n_threads=n_threads)

    def track_mean_lower_bound(self, init_params, n_threads):
        """Mean final bound over the problems: a numerical-regression guard."""
        result = cem.fit_many(self.X, 2, tol=0.0, max_iter=ITERATIONS,
                              init_params=init_params, random_state=0, n_threads=n_threads)
        return float(result.lower_bound.mean())

    track_mean_lower_bound.unit = "mean log-likelihood"


class FitManyList:
    """A list of problems of 100 to 300 rows."""
    timeout = 300

    def setup(self):
        rng = np.random.default_rng(1)
        X = problems(rows=300)
        self.Xs = [X[p, :rng.integers(100, 301)] for p in range(N_PROBLEMS)]
        warnings.simplefilter("ignore", cem.ConvergenceWarning)

    def time_fit_many_list(self):
        cem.fit_many(self.Xs, 2, tol=0.0, max_iter=ITERATIONS, random_state=0, n_threads=2)
