"""asv suite: one E-step pass with missing values (cem_e_step_missing)
against the complete-data pass, the workload of asv_bench/missing_compare.py
scaled down: n = 50,000, d = 16, k = 16, full covariance, 10% of values
missing completely at random; time and peak memory, 1 thread."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from missing_compare import workload  # noqa: E402

from cem import _core  # noqa: E402


class MissingPass:
    params = (["complete", "complete_missing_on", "missing_10pct"],)
    param_names = ["data"]
    timeout = 300

    def setup(self, data):
        X, holes, self.weights, self.means, self.prec_chol = workload(50_000, 16, 16, 0.1)
        self.X = holes if data == "missing_10pct" else X
        self.missing = data != "complete"

    def time_e_step(self, data):
        _core.e_step("full", self.weights, self.means, self.prec_chol, self.X, n_threads=1,
                     missing=self.missing)

    def peakmem_e_step(self, data):
        _core.e_step("full", self.weights, self.means, self.prec_chol, self.X, n_threads=1,
                     missing=self.missing)
