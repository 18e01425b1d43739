"""One EM pass with missing values against the complete-data pass.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/missing_compare.py

n = 200,000 rows, d = 16, k = 16, full covariance (the issue's workload;
--n, --d, --k to change it), rows from a random 16-component mixture. The
same mixture, the same rows: once complete (cem_e_step_about, the pass of
every EM iteration), once with 10% of the values set to NaN completely at
random (cem_e_step_missing; 1 - 0.9^16 = 81% of the rows then hold a NaN
and take the per-row path). Also the missing pass on the complete rows (the
cost of the NaN scan alone). Each pass with statistics, as in EM; one
thread unless --threads. Prints the median of --repeats runs of each (run in
turn), wall-clock and CPU time, and the median ratios; the peak memory
numpy allocates during the missing-data pass at n/10 and n rows
(tracemalloc: the same, so no memory grows with n); the CPU and the load
average.
"""
import argparse
import os
import time
import tracemalloc

import numpy as np

from cem import _core
from machine import cpu_name  # asv_bench/machine.py (the script's folder)


def workload(n, d, k, fraction, seed=0):
    """(X complete, X with NaN, weights, means, prec_chol)."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(k))
    means = 3.0 * rng.normal(size=(k, d))
    a = rng.normal(size=(k, d, d))
    cov = a @ a.transpose(0, 2, 1) / d + np.eye(d)
    prec_chol = np.ascontiguousarray(
        np.linalg.cholesky(np.linalg.inv(cov)).transpose(0, 2, 1))  # upper U, U U^T = P
    labels = rng.choice(k, size=n, p=weights)
    X = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(cov)[labels],
                                  rng.normal(size=(n, d)))
    holes = X.copy()
    holes[rng.random(X.shape) < fraction] = np.nan
    return X, holes, weights, means, prec_chol


def interleaved_medians(fns, repeats):
    """Median seconds of each of fns, run in turn within every repeat (on a
    shared machine each sees the same load), and the median of the
    per-repeat ratios of each to the first: wall-clock seconds, then CPU
    seconds of this process (time.process_time; with one thread, the time
    the pass itself ran, whatever else the machine runs)."""
    for fn in fns:
        fn()  # warm up
    times = np.empty((2, repeats, len(fns)))
    for i in range(repeats):
        for j, fn in enumerate(fns):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            times[:, i, j] = time.perf_counter() - wall, time.process_time() - cpu
    return [(np.median(t, axis=0), np.median(t / t[:, :1], axis=0)) for t in times]


def load_average():
    """The 1-minute load average, or "n/a" where the OS has none."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def peak_bytes(fn):
    """Peak bytes allocated through numpy (tracemalloc) while fn runs: the
    pass's scratch and statistics; the C core allocates nothing itself."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--fraction", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    X, holes, weights, means, prec_chol = workload(args.n, args.d, args.k, args.fraction)

    def run(data, missing):
        return lambda: _core.e_step("full", weights, means, prec_chol, data,
                                    n_threads=args.threads, missing=missing)
    wall, cpu = interleaved_medians([run(X, False), run(X, True), run(holes, True)],
                                    args.repeats)
    rows = np.isnan(holes).any(axis=1).mean()
    memory = {n: peak_bytes(lambda: run(holes[:n], True)()) for n in (args.n // 10, args.n)}
    print(f"n={args.n}, d={args.d}, k={args.k}, full, {args.fraction:.0%} of values missing "
          f"({rows:.0%} of rows), {args.threads} thread(s), median of {args.repeats}; "
          f"{cpu_name()}; load average {load_average()}")
    print("| pass | median wall s | ratio | median CPU s | ratio |")
    print("|---|---|---|---|---|")
    names = ["complete data (cem_e_step_about)",
             "complete data, missing path on (NaN scan only)",
             f"{args.fraction:.0%} missing (cem_e_step_missing)"]
    for j, name in enumerate(names):
        print(f"| {name} | {wall[0][j]:.3f} | {wall[1][j]:.2f}x | {cpu[0][j]:.3f} | "
              f"{cpu[1][j]:.2f}x |")
    print("peak memory numpy allocates during one missing-data pass (scratch, statistics): "
          + ", ".join(f"n={n}: {b / 1024:.0f} KiB" for n, b in memory.items()))


if __name__ == "__main__":
    main()
