"""asv suite: the default call end to end (issue 13 item 0):
GMM(k, covariance_type=cov, random_state=0).fit(X) with every other
argument at its default, on the three workloads of default_fits.py, as
asv_bench/default_fit_compare.py times them against scikit-learn. On
well-separated data EM converges in a few iterations, so the k-means
initialisation dominates; time_kmeans times it alone."""
import warnings

import numpy as np

from cem import GMM
from cem._init import kmeans

from .default_fits import DEFAULT_FITS, make_mixture


class DefaultFit:
    """GMM(k, covariance_type=cov, random_state=0).fit(X), n_threads default."""
    params = list(DEFAULT_FITS)
    param_names = ["workload"]
    timeout = 300

    def setup(self, workload):
        n, d, self.k, self.cov = DEFAULT_FITS[workload]
        self.X = make_mixture(n, d, self.k, self.cov)
        warnings.simplefilter("ignore")

    def time_fit(self, workload):
        GMM(self.k, covariance_type=self.cov, random_state=0).fit(self.X)

    def time_kmeans(self, workload):
        """The k-means initialisation alone (seeding and Lloyd passes)."""
        kmeans(self.X, None, self.k, np.random.RandomState(0), 2)

    def track_n_iter(self, workload):
        """EM iterations to convergence: a numerical-regression guard."""
        return GMM(self.k, covariance_type=self.cov, random_state=0).fit(self.X).n_iter_

    track_n_iter.unit = "iterations"
