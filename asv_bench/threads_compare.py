"""cem's 2-thread speed-up per EM iteration on the workloads of compare.py.

    python asv_bench/threads_compare.py --repeats 7

For each workload: the per-iteration time of cem's fit (the difference of
a 4-iteration and a 1-iteration fit from the same start, tol=0, as in
compare.py) with n_threads=1 and n_threads=2, alternating, median of
--repeats; wall time and process CPU time. The speed-up is the 1-thread
median over the 2-thread median of wall time. On a shared machine another
job takes a core from the 2-thread fit and not (or less) from the 1-thread
one, so the script prints the load average before and after: a speed-up
is only meaningful when the load stayed well below 1. --pause sets the
idle time before each fit (default compare.py's). No scikit-learn.

Each timed fit follows the pause, then timing.warm_up's untimed fits of
the same estimator (cores idle for the pause come back to speed slowly,
and a 2-thread fit's second thread most: timing.py has the measurements).
--cold times the fits straight after the pause instead.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks"))
from workloads import WORKLOADS, initial_params, make_data  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import MAX_ITER_HI, MAX_ITER_LO, PAUSE_SECONDS  # noqa: E402
from machine import cpu_name  # noqa: E402
from timing import alternating_medians, timed, warm_up  # noqa: E402


def fit_times(X, k, cov, max_iter, n_threads, init, pause, warm):
    """(wall seconds, CPU seconds) of one fit, after `pause` idle seconds
    and, if `warm`, timing.warm_up's untimed fits of the same estimator."""
    from cem import GMM
    est = GMM(k, covariance_type=cov, tol=0.0, max_iter=max_iter, n_threads=n_threads, **init)
    time.sleep(pause)
    if warm:
        warm_up(lambda: est.fit(X))
    return timed(lambda: est.fit(X))[1:]


def per_iteration(X, k, cov, repeats, init, pause, warm):
    """{n_threads: (median wall, median CPU) per iteration} for 1 and 2 threads."""
    def times_per_iteration(n_threads):
        lo = fit_times(X, k, cov, MAX_ITER_LO, n_threads, init, pause, warm)
        hi = fit_times(X, k, cov, MAX_ITER_HI, n_threads, init, pause, warm)
        return [(h - l) / (MAX_ITER_HI - MAX_ITER_LO) for h, l in zip(hi, lo)]
    medians = alternating_medians(times_per_iteration, (1, 2), repeats)
    return {t: tuple(m) for t, m in medians.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--pause", type=float, default=PAUSE_SECONDS,
                        help="idle seconds before each timed fit")
    parser.add_argument("--only", default="", help="run the workloads whose name contains this")
    parser.add_argument("--cold", dest="warm", action="store_false",
                        help="time each fit straight after the pause (no untimed fit first)")
    args = parser.parse_args()
    import cem
    from cem import _core
    print(f"CPU: {cpu_name()}, {os.cpu_count()} cores; cem {cem.__version__}, "
          f"kernels {_core.kernel_variant()}; medians of {args.repeats}; "
          f"{args.pause:g} s idle before each fit"
          f"{', then untimed fits' if args.warm else ' (cold)'}; "
          f"load average {os.getloadavg()[0]:.2f} before")
    print("| workload | 1 thread s/iter | 2 threads s/iter | 2-thread speed-up "
          "| 1 thread CPU s/iter | 2 threads CPU s/iter |")
    print("|---|---|---|---|---|---|")
    for name, (n, d, k, cov) in WORKLOADS.items():
        if args.only not in name:
            continue
        X, centers = make_data(n, d, k)
        t = per_iteration(X, k, cov, args.repeats, initial_params(centers, cov),
                          args.pause, args.warm)
        print(f"| {name} | {t[1][0]:.4f} | {t[2][0]:.4f} | {t[1][0] / t[2][0]:.2f}x "
              f"| {t[1][1]:.4f} | {t[2][1]:.4f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} after")


if __name__ == "__main__":
    main()
