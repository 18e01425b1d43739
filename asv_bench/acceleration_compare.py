"""Accelerated EM against plain EM on the benchmark set of
asv_bench/benchmarks/acceleration_problems.py (twelve mixtures with
overlapping components, d in {1, 2, 5, 10}, k in 2..8, every covariance
type, 20,000 rows each), from the same start, to convergence.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/acceleration_compare.py

For each problem and tol (1e-6 and 1e-8 by default): passes over the data
(n_passes_), wall time of fit (median of --repeats, 1 thread unless
--threads), and the final mean log-likelihood of the returned parameters
(score(X), computed outside the timing) of plain EM (acceleration=None) and
of acceleration='squarem'. A problem's accelerated optimum is "worse" when
its final log-likelihood is below plain EM's by more than tol. Prints a
markdown table, the medians of the ratios and the CPU.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cem  # noqa: E402
from benchmarks.acceleration_problems import (  # noqa: E402
    PROBLEMS, gmm_arguments, make_problem,
)
from machine import cpu_name  # noqa: E402  (asv_bench/machine.py)


def run(X, start, name, acceleration, tol, repeats, threads):
    """(passes, median seconds, final mean log-likelihood, converged)."""
    times = []
    for _ in range(repeats):
        gmm = cem.GMM(**gmm_arguments(name, acceleration, tol), **start, n_threads=threads)
        t0 = time.perf_counter()
        gmm.fit(X)
        times.append(time.perf_counter() - t0)
    return gmm.n_passes_, float(np.median(times)), gmm.score(X), gmm.converged_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tol", type=float, nargs="+", default=[1e-6, 1e-8])
    parser.add_argument("--problems", nargs="*", default=list(PROBLEMS))
    args = parser.parse_args()
    warnings.simplefilter("ignore", cem.ConvergenceWarning)

    print(f"CPU: {cpu_name()}; {args.threads} thread(s); median of {args.repeats} fits; "
          f"cem {cem.__version__}\n")
    print("| problem | tol | passes plain | passes SQUAREM | fewer passes | time plain (ms) "
          "| time SQUAREM (ms) | less time | final ll plain | final ll SQUAREM "
          "| SQUAREM - plain | optimum |")
    print("|" + "---|" * 12)
    summary = {tol: ([], [], 0) for tol in args.tol}
    for tol in args.tol:
        for name in args.problems:
            X, start = make_problem(name)
            p_passes, p_time, p_ll, p_conv = run(X, start, name, None, tol, args.repeats,
                                                 args.threads)
            a_passes, a_time, a_ll, a_conv = run(X, start, name, "squarem", tol, args.repeats,
                                                 args.threads)
            diff = a_ll - p_ll
            verdict = "worse" if diff < -tol else ("better" if diff > tol else "same")
            if not (p_conv and a_conv):
                verdict += " (not converged: " + ", ".join(
                    s for s, c in (("plain", p_conv), ("SQUAREM", a_conv)) if not c) + ")"
            passes, times, worse = summary[tol]
            passes.append(p_passes / a_passes)
            times.append(p_time / a_time)
            summary[tol] = passes, times, worse + (diff < -tol)
            print(f"| {name} | {tol:g} | {p_passes} | {a_passes} | {p_passes / a_passes:.2f}x "
                  f"| {p_time * 1e3:.1f} | {a_time * 1e3:.1f} | {p_time / a_time:.2f}x "
                  f"| {p_ll:.8f} | {a_ll:.8f} | {diff:+.2e} | {verdict} |", flush=True)
    print()
    for tol, (passes, times, worse) in summary.items():
        print(f"tol={tol:g}: median {np.median(passes):.2f}x fewer passes (min "
              f"{min(passes):.2f}x), median {np.median(times):.2f}x less wall time (min "
              f"{min(times):.2f}x), worse optimum on {worse} of {len(passes)} problems")


if __name__ == "__main__":
    main()
