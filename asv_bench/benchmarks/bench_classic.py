"""asv suite: the README's classic example end to end (construction, random
initialisation and ~62 EM iterations of 10,000 rows, d = 1, k = 2), as
asv_bench/classic_compare.py times it against scikit-learn. At this size a fit
costs its passes plus the fixed work around them (validation, the
initialisation, the EM loop's bookkeeping), which this suite guards."""
import warnings

import numpy as np

from cem import GMM

ARGUMENTS = dict(n_components=2, init_params="random", tol=1e-8, random_state=0)


def classic_data():
    """The classic example's X (10,000, 1), as in the README."""
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(20, 5, 3000), rng.normal(40, 5, 7000)]).reshape(-1, 1)


class ClassicExample:
    """GMM(n_components=2, init_params='random', tol=1e-8, random_state=0).fit(X)."""
    params = [1, 2]
    param_names = ["n_threads"]

    def setup(self, n_threads):
        self.X = classic_data()
        self.arguments = dict(ARGUMENTS, n_threads=n_threads)
        warnings.simplefilter("ignore")

    def time_fit(self, n_threads):
        GMM(**self.arguments).fit(self.X)

    def track_n_iter(self, n_threads):
        """Iterations to convergence: a numerical-regression guard."""
        return GMM(**self.arguments).fit(self.X).n_iter_

    track_n_iter.unit = "iterations"
