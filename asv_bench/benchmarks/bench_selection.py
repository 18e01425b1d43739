"""asv suite: model selection over k = 1..6 x the four covariance types on a
small mixture, GMMSelection against the same grid looped over cem.GMM
(the gain of the shared initialisation and of whole candidates in
parallel), and the final BIC as a numerical-regression guard."""
import warnings

import numpy as np

from cem import GMM, GMMSelection

from .workloads import make_data

KS = range(1, 7)
COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


class ModelSelection:
    params = [1, 2]
    param_names = ["n_threads"]
    timeout = 300

    def setup(self, n_threads):
        self.X, _ = make_data(20_000, 8, 4, seed=1)
        warnings.simplefilter("ignore")

    def time_gmm_selection(self, n_threads):
        GMMSelection(KS, random_state=0, n_threads=n_threads).fit(self.X)

    def time_loop_over_gmm(self, n_threads):
        for k in KS:
            for t in COVARIANCE_TYPES:
                GMM(k, covariance_type=t, random_state=0, n_threads=n_threads).fit(
                    self.X).bic(self.X)

    def peakmem_gmm_selection(self, n_threads):
        GMMSelection(KS, random_state=0, n_threads=n_threads).fit(self.X)

    def track_best_bic(self, n_threads):
        selection = GMMSelection(KS, random_state=0, n_threads=n_threads).fit(self.X)
        return float(np.min(selection.results_["bic"]))

    track_best_bic.unit = "BIC"
