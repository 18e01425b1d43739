"""The default call end to end, cem against scikit-learn, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/default_fit_compare.py

(unset those two in this command only: they slow a current numpy, and the
comparison should give scikit-learn its fastest configuration). compare.py
fixes the work per EM iteration; this script measures what most users run
instead: `GMM(k, covariance_type=cov, random_state=0).fit(X)` against
`GaussianMixture(k, covariance_type=cov, random_state=0).fit(X)`, every
other argument at its default (k-means initialisation, tol=1e-3, all
cores), construction and fit timed together. On well-separated data EM
converges in a few iterations, so the k-means initialisation dominates;
it is timed on its own too: cem's (cem._init.kmeans, seeding and Lloyd
passes) against `KMeans(n_clusters=k, n_init=1, random_state=0).fit(X)`,
which is exactly what GaussianMixture runs.

The libraries alternate within each repeat so drift hits both alike; each
timed run follows a pause (compare.PAUSE_SECONDS: the other library's
threads go quiet) and timing.warm_up's untimed runs of its own (the cores
come back to speed: timing.py has the measurements); --cold times each
run straight after the other library's, as before. The medians over the
repeats of wall time and of CPU time (process_time, all threads: a shared
machine disturbs it less) and their ratios are printed.
Both use the same k-means++ seeding (the same RandomState draws), so they
reach the same k-means labels and the same fit: the script prints the
labels that differ, the largest relative difference of the k-means
centers and of the fitted means, and both n_iter_.

--alone N also times each library's default fit back to back, N in a row
after a few unmeasured ones (as classic_compare.py --alone). With --cold, a
small fit alternating with scikit-learn pays for what the other library's
run left behind (the 10,000-row fit about 0.6 ms against 0.3 ms back to
back on a 2-vCPU VM in 2026: its threads still spinning, caches cold).
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks"))
from default_fits import DEFAULT_FITS, make_mixture  # noqa: E402
from machine import blas_libraries, cpu_name, openblas_settings  # noqa: E402
from compare import PAUSE_SECONDS  # noqa: E402
from timing import alternating_medians, back_to_back_medians, timed, warm_up  # noqa: E402


def contestants(X, k, cov):
    """name -> callable: the two default fits and the two k-means runs."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    from cem import GMM
    from cem._validation import effective_n_threads
    from cem._init import kmeans

    threads = effective_n_threads(None)
    return {
        "cem fit": lambda: GMM(k, covariance_type=cov, random_state=0).fit(X),
        "sklearn fit": lambda: GaussianMixture(k, covariance_type=cov, random_state=0).fit(X),
        "cem k-means": lambda: kmeans(X, None, k, np.random.RandomState(0), threads),
        "sklearn k-means": lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(X),
    }


def compare(X, k, cov, repeats, cold):
    runs = contestants(X, k, cov)
    last = {name: fn() for name, fn in runs.items()}  # warm up imports and thread pools

    def wall_and_cpu(name):
        if not cold:
            time.sleep(PAUSE_SECONDS)
            warm_up(runs[name])
        last[name], wall, cpu = timed(runs[name])
        return wall, cpu
    medians = alternating_medians(wall_and_cpu, runs, repeats)
    return ({n: float(m[0]) for n, m in medians.items()},
            {n: float(m[1]) for n, m in medians.items()}, last)


def back_to_back(X, k, cov, fits):
    """{'cem fit': (wall, cpu), 'sklearn fit': (wall, cpu)} medians of
    `fits` fits in a row, each library after 3 unmeasured fits of its own."""
    runs = contestants(X, k, cov)
    return back_to_back_medians(lambda name: timed(runs[name])[1:], ("cem fit", "sklearn fit"),
                                fits, warmup=3)


def agreement(X, last):
    """(labels that differ, k-means centers' and fitted means' largest
    relative difference) of the two libraries' results."""
    from cem import _core
    centers = last["cem k-means"]
    theirs = last["sklearn k-means"]
    labels = np.empty(len(X), dtype=np.int32)
    _core.kmeans_step(centers, X, None, labels, 2)
    differ = int((labels != theirs.labels_).sum())
    scale = np.abs(theirs.cluster_centers_).max()
    center_gap = np.abs(centers - theirs.cluster_centers_).max() / scale
    ours_fit, their_fit = last["cem fit"], last["sklearn fit"]
    mean_gap = (np.abs(ours_fit.means_ - their_fit.means_).max()
                / np.abs(their_fit.means_).max())
    return differ, center_gap, mean_gap, ours_fit.n_iter_, their_fit.n_iter_


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per contestant (>= 3)")
    parser.add_argument("--only", help="run the workloads whose name contains this")
    parser.add_argument("--alone", type=int, default=0, metavar="FITS",
                        help="also time FITS default fits of each library back to back")
    parser.add_argument("--cold", action="store_true",
                        help="time each run straight after the other library's (no pause, "
                             "no untimed runs first)")
    args = parser.parse_args()
    import sklearn

    import cem
    blas = blas_libraries()
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"cem {cem.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
          f"python {platform.python_version()}, BLAS: {blas}")
    print(f"{openblas_settings()}; medians of {args.repeats} alternating repeats, each run "
          + ("straight after the other library's\n" if args.cold else
             f"after {PAUSE_SECONDS} s idle and untimed runs of its own\n"))
    print("| workload | cem fit s | sklearn fit s | speed-up | CPU speed-up | "
          "cem k-means s | sklearn k-means s | speed-up | CPU speed-up | "
          "labels differ | centers rel. diff | means rel. diff | n_iter cem/sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    alone = []
    for name, (n, d, k, cov) in DEFAULT_FITS.items():
        if args.only and args.only not in name:
            continue
        X = make_mixture(n, d, k, cov)
        wall, cpu, last = compare(X, k, cov, args.repeats, args.cold)
        differ, center_gap, mean_gap, it_ours, it_theirs = agreement(X, last)
        print(f"| {name} | {wall['cem fit']:.4f} | {wall['sklearn fit']:.4f} | "
              f"{wall['sklearn fit'] / wall['cem fit']:.1f}x | "
              f"{cpu['sklearn fit'] / cpu['cem fit']:.1f}x | "
              f"{wall['cem k-means']:.4f} | {wall['sklearn k-means']:.4f} | "
              f"{wall['sklearn k-means'] / wall['cem k-means']:.1f}x | "
              f"{cpu['sklearn k-means'] / cpu['cem k-means']:.1f}x | "
              f"{differ} | {center_gap:.1e} | {mean_gap:.1e} | {it_ours}/{it_theirs} |",
              flush=True)
        if args.alone:
            alone.append((name, back_to_back(X, k, cov, args.alone)))
    for name, m in alone:
        print(f"\n{name}, back to back, median of {args.alone} fits each: cem "
              f"{m['cem fit'][0] * 1e3:.3f} ms ({m['cem fit'][1] * 1e3:.3f} ms CPU), sklearn "
              f"{m['sklearn fit'][0] * 1e3:.2f} ms ({m['sklearn fit'][1] * 1e3:.2f} ms CPU), ratio "
              f"{m['sklearn fit'][0] / m['cem fit'][0]:.1f}x "
              f"({m['sklearn fit'][1] / m['cem fit'][1]:.1f}x CPU)")
    print(f"\nload average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    sys.exit(main())
