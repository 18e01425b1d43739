"""cem against scikit-learn on identical work, in one invocation.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/compare.py

(unset those two in this command only: they slow a current numpy, and the
comparison should give scikit-learn its fastest configuration). For every
workload both libraries start from the same parameters with tol=0; the
per-iteration time is the median over repeats of (fit with MAX_ITER_HI -
fit with MAX_ITER_LO) / (HI - LO), so fixed costs (validation,
scikit-learn's final E-step) cancel. cem and scikit-learn alternate within
each repeat; each timed fit follows a pause (PAUSE_SECONDS) and then
timing.warm_up's untimed fits of the same estimator, the same for both.
Peak extra memory is the growth of the peak RSS over the RSS with X in
memory, measured in a fresh process per library and workload.
The lower bound is the workload's arithmetic (workloads.flops_per_iteration)
at the DGEMM rate numpy reaches in the same run, both cores (the best of
ten products, before the workloads; the rate is printed again after them).
The exponential bound is the workload's n*k exponentials (one per row and
component: the log-sum-exp's) at the rate numpy's vector np.exp reaches in
the same run (best of ten over 10^6 values in [-30, 0]; np.exp runs on one
core, so the rate is counted once per thread cem may use). Prints a
markdown table.
"""
import argparse
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks"))
from workloads import WORKLOADS, flops_per_iteration, initial_params, make_data  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import blas_libraries, openblas_settings  # noqa: E402
from timing import alternating_medians, timed, warm_up  # noqa: E402

MAX_ITER_LO, MAX_ITER_HI = 1, 4


def estimator(lib, k, cov, n_threads, init):
    if lib == "cem":
        from cem import GMM
        return GMM(k, covariance_type=cov, tol=0.0, n_threads=n_threads, **init)
    from sklearn.mixture import GaussianMixture
    return GaussianMixture(k, covariance_type=cov, tol=0.0, **init)


# Idle time before each timed fit: OpenBLAS's worker threads spin for
# about 0.1 s after a multi-threaded BLAS call (scikit-learn's fits, the
# DGEMM rate); a fit started within that time shares the cores with them
# (measured: a 2-thread cem pass of workload 3 took ~20 ms more CPU time
# right after a 2-thread matmul, none 0.1 s later), and the fit timed
# after it would carry the other library's cost.
# The untimed fits after it bring the cores idle for the pause back to
# speed (timing.py measures why), without another library's threads.
PAUSE_SECONDS = 0.3


def fit_seconds(lib, X, k, cov, max_iter, n_threads, init):
    est = estimator(lib, k, cov, n_threads, init).set_params(max_iter=max_iter)
    time.sleep(PAUSE_SECONDS)
    warm_up(lambda: est.fit(X))
    return timed(lambda: est.fit(X))[1]


def per_iteration(X, k, cov, repeats, n_threads, init):
    def seconds_per_iteration(lib):
        lo = fit_seconds(lib, X, k, cov, MAX_ITER_LO, n_threads, init)
        hi = fit_seconds(lib, X, k, cov, MAX_ITER_HI, n_threads, init)
        return (hi - lo) / (MAX_ITER_HI - MAX_ITER_LO)
    medians = alternating_medians(seconds_per_iteration, ("cem", "sklearn"), repeats)
    return {lib: float(m) for lib, m in medians.items()}


def dgemm_rate(n_threads):
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).random((2000, 2000))
    with threadpool_limits(n_threads):
        a @ a
        best = min(timed(lambda: a @ a)[1] for _ in range(10))
    return 2 * 2000 ** 3 / best


def exp_rate(n_threads):
    """Exponentials per second: numpy's np.exp on one core, times n_threads."""
    a = -np.random.default_rng(0).uniform(0.0, 30.0, 1_000_000)
    out = np.empty_like(a)
    np.exp(a, out=out)
    best = min(timed(lambda: np.exp(a, out=out))[1] for _ in range(10))
    return a.size / best * n_threads


def peak_extra_mb(lib, name, n_threads, dtype):
    """Peak RSS growth during one fit, in a fresh process."""
    out = subprocess.run([sys.executable, __file__, "--peakmem-child", lib, name,
                          "--n-threads", str(n_threads), "--dtype", dtype],
                         capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def peakmem_child(lib, name, n_threads, dtype):
    """Print the peak RSS growth (MiB) of one fit over the RSS before it:
    Linux's peak (VmHWM) is reset just before the fit (clear_refs 5), so the
    temporaries of making X do not count."""
    n, d, k, cov = WORKLOADS[name]
    X, centers = make_data(n, d, k, dtype)
    init = initial_params(centers, cov)
    est = estimator(lib, k, cov, n_threads, init).set_params(max_iter=2)
    with warnings.catch_warnings():  # warm up imports and thread pools on a tiny fit
        warnings.simplefilter("ignore")
        estimator(lib, k, cov, n_threads, init).set_params(max_iter=1).fit(X[:5 * k])
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        base = _status_kib("VmRSS")
        est.fit(X)
    print((_status_kib("VmHWM") - base) / 1024.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--only", help="run the workloads whose name contains this")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--peakmem-child", nargs=2, metavar=("LIB", "WORKLOAD"))
    args = parser.parse_args()
    if args.peakmem_child:
        peakmem_child(*args.peakmem_child, args.n_threads, args.dtype)
        return

    import sklearn
    import cem
    blas = blas_libraries()
    rate = dgemm_rate(args.n_threads)  # measured again at the end; the best rate is the bound
    exps = exp_rate(args.n_threads)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.processor() or platform.platform()}")
    print(f"cem {cem.__version__} (n_threads={args.n_threads}), scikit-learn "
          f"{sklearn.__version__}, numpy {np.__version__}, BLAS: {blas}")
    print(openblas_settings())
    print(f"DGEMM (numpy matmul 2000x2000, {args.n_threads} threads): {rate / 1e9:.1f} GFLOP/s; "
          f"dtype {args.dtype}; per-iteration medians of {args.repeats} repeats")
    print(f"np.exp: {exps / args.n_threads / 1e9:.3f} G exponentials/s on one core "
          f"(x{args.n_threads} threads for the exponential bound)\n")
    print("| workload | cem s/iter | sklearn s/iter | speed-up | cem GFLOP/s | "
          "cem / lower bound | cem / exp bound | cem peak extra MB | sklearn peak extra MB "
          "| X MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, (n, d, k, cov) in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        X, centers = make_data(n, d, k, args.dtype)
        init = initial_params(centers, cov)
        t = per_iteration(X, k, cov, args.repeats, args.n_threads, init)
        flops = flops_per_iteration(n, d, k, cov)
        bound = flops / rate
        exp_bound = n * k / exps
        mem = ("-", "-") if args.no_memory else tuple(
            f"{peak_extra_mb(lib, name, args.n_threads, args.dtype):.0f}"
            for lib in ("cem", "sklearn"))
        print(f"| {name} | {t['cem']:.4f} | {t['sklearn']:.4f} | "
              f"{t['sklearn'] / t['cem']:.1f}x | {flops / t['cem'] / 1e9:.1f} | "
              f"{t['cem'] / bound:.1f}x | {t['cem'] / exp_bound:.1f}x | {mem[0]} | {mem[1]} | "
              f"{X.nbytes / 2**20:.0f} |",
              flush=True)
    print(f"\nDGEMM after the workloads: {dgemm_rate(args.n_threads) / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
