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
turn), the median ratio, the peak memory numpy allocates during the missing-data pass
at n/10 and n rows (tracemalloc: the same, so no memory grows with n) and
the CPU.
"""
import argparse
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
    per-repeat ratios of each to the first."""
    for fn in fns:
        fn()  # warm up
    times = np.empty((repeats, len(fns)))
    for i in range(repeats):
        for j, fn in enumerate(fns):
            start = time.perf_counter()
            fn()
            times[i, j] = time.perf_counter() - start
    return np.median(times, axis=0), np.median(times / times[:, :1], axis=0)


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
    (complete, scan, missing), (_, scan_ratio, missing_ratio) = interleaved_medians(
        [run(X, False), run(X, True), run(holes, True)], args.repeats)
    rows = np.isnan(holes).any(axis=1).mean()
    memory = {n: peak_bytes(lambda: run(holes[:n], True)()) for n in (args.n // 10, args.n)}
    print(f"n={args.n}, d={args.d}, k={args.k}, full, {args.fraction:.0%} of values missing "
          f"({rows:.0%} of rows), {args.threads} thread(s), median of {args.repeats}; "
          f"{cpu_name()}")
    print("| pass | median seconds | median ratio to complete |")
    print("|---|---|---|")
    print(f"| complete data (cem_e_step_about) | {complete:.3f} | 1.00x |")
    print(f"| complete data, missing path on (NaN scan only) | {scan:.3f} | "
          f"{scan_ratio:.2f}x |")
    print(f"| {args.fraction:.0%} missing (cem_e_step_missing) | {missing:.3f} | "
          f"{missing_ratio:.2f}x |")
    print("peak memory numpy allocates during one missing-data pass (scratch, statistics): "
          + ", ".join(f"n={n}: {b / 1024:.0f} KiB" for n, b in memory.items()))


if __name__ == "__main__":
    main()
