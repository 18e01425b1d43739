"""asv suite: plain against SQUAREM-accelerated EM to convergence (tol=1e-6)
from the same start, on four problems of the accelerated-EM benchmark set
(acceleration_problems.py; asv_bench/acceleration_compare.py runs all
twelve): wall time, passes over the data and the final lower bound."""
import warnings

import cem

from .acceleration_problems import gmm_arguments, make_problem

PROBLEM_NAMES = ["d1 k3 spherical", "d2 k4 tied", "d5 k4 full", "d10 k8 diag"]
ACCELERATIONS = ["None", "squarem"]
_CACHE = {}


def _problem(name):
    if name not in _CACHE:
        _CACHE.clear()
        _CACHE[name] = make_problem(name)
    return _CACHE[name]


class AcceleratedEM:
    params = (PROBLEM_NAMES, ACCELERATIONS)
    param_names = ["problem", "acceleration"]
    timeout = 300

    def setup(self, problem, acceleration):
        self.X, start = _problem(problem)
        acceleration = None if acceleration == "None" else acceleration
        self.gmm = cem.GMM(**gmm_arguments(problem, acceleration), **start, n_threads=1)
        warnings.simplefilter("ignore")

    def time_fit(self, problem, acceleration):
        self.gmm.fit(self.X)

    def track_passes(self, problem, acceleration):
        return self.gmm.fit(self.X).n_passes_

    track_passes.unit = "passes"

    def track_lower_bound(self, problem, acceleration):
        return float(self.gmm.fit(self.X).lower_bound_)

    track_lower_bound.unit = "mean log-likelihood"
