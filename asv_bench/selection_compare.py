"""Model selection end to end: cem.GMMSelection against the same grid looped
over scikit-learn's GaussianMixture, in one invocation.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/selection_compare.py

(unset those two in this command only, as for compare.py). The grid is
k = 1..K_MAX x GMMSelection's six covariance types (scikit-learn's four
plus tied_diag and tied_spherical) for cem, and the four scikit-learn has
for its loop, on a synthetic mixture (default
n = 100,000, d = 8, six components with random full covariances). Every
candidate of both libraries is seeded with random_state=0 and fitted with
the defaults (init_params='kmeans', tol=1e-3, max_iter=100), then scored
by BIC on the training data, the loop as a user would write it. Also timed:
the same loop over cem.GMM (n_threads=1 and n_threads), so the gains of
the shared initialisation and of the thread pool show apart from the
per-fit speed. Prints the wall times,
the ratio, and how far the two tables of BIC agree.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
from machine import cpu_name  # asv_bench/machine.py (the script's folder)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def make_mixture(n, d, k=6, seed=0):
    """n rows of a k-component mixture in d dimensions, random full
    covariances (condition numbers up to ~10) and unequal weights."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(k, 5.0))
    means = 6.0 * rng.normal(size=(k, d))
    labels = rng.choice(k, size=n, p=weights)
    X = np.empty((n, d))
    for c in range(k):
        a = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d) * rng.uniform(0.5, 1.5)
        rows = labels == c
        X[rows] = means[c] + rng.normal(size=(rows.sum(), d)) @ a.T
    return X


def loop(make_estimator, X, ks):
    """{(k, type): BIC} of the grid fitted one candidate after another, and
    the wall time; a candidate that raises gets NaN."""
    bic = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in ks:
            for t in COVARIANCE_TYPES:
                try:
                    bic[k, t] = make_estimator(k, t).fit(X).bic(X)
                except ValueError:
                    bic[k, t] = np.nan
    return bic, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--k-max", type=int, default=10)
    parser.add_argument("--n-threads", type=int, default=2)
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--plot", metavar="FILE.png", help="draw GMMSelection's BIC plot")
    args = parser.parse_args()

    import cem
    from cem import GMM, GMMSelection
    X = make_mixture(args.n, args.d)
    ks = range(1, args.k_max + 1)
    print(f"CPU: {cpu_name()}, {os.cpu_count()} logical CPUs; "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"grid: k = 1..{args.k_max} x 6 covariance types (cem) / "
          f"{len(COVARIANCE_TYPES)} (scikit-learn's loop, and the cem loops) = "
          f"{len(ks) * 6} / {len(ks) * len(COVARIANCE_TYPES)} candidates on n = {args.n:,}, "
          f"d = {args.d}; "
          f"random_state=0, init_params='kmeans', BIC; cem {cem.__version__} "
          f"n_threads={args.n_threads}")

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        selection = GMMSelection(ks, random_state=0, n_threads=args.n_threads).fit(X)
    t_selection = time.perf_counter() - start
    r = selection.results_
    cem_bic = {(k, t): b for k, t, b in zip(r["n_components"], r["covariance_type"], r["bic"])}
    print(f"cem.GMMSelection:                {t_selection:8.2f} s  chosen "
          f"{selection.best_params_}")

    for n_threads in sorted({1, args.n_threads}):
        _, t_cem_loop = loop(lambda k, t: GMM(k, covariance_type=t, random_state=0,
                                              n_threads=n_threads), X, ks)
        print(f"loop over cem.GMM, n_threads={n_threads}: {t_cem_loop:8.2f} s  "
              f"(GMMSelection {t_cem_loop / t_selection:.1f}x faster)")

    if not args.skip_sklearn:
        import sklearn
        from sklearn.mixture import GaussianMixture
        sk_bic, t_sklearn = loop(lambda k, t: GaussianMixture(k, covariance_type=t,
                                                              random_state=0), X, ks)
        sk_best = min((b, k, t) for (k, t), b in sk_bic.items() if np.isfinite(b))
        print(f"loop over sklearn GaussianMixture ({sklearn.__version__}): {t_sklearn:8.2f} s"
              f"  chosen {{'n_components': {sk_best[1]}, 'covariance_type': '{sk_best[2]}'}}")
        print(f"speed-up of GMMSelection over the scikit-learn loop: "
              f"{t_sklearn / t_selection:.1f}x")
        keys = sorted(sk_bic)
        rel = np.array([abs(cem_bic[key] - sk_bic[key]) / abs(sk_bic[key]) for key in keys])
        both = np.isfinite(rel)
        print(f"BIC agreement over {both.sum()} candidates both fitted: median relative "
              f"difference {np.median(rel[both]):.1e}, max {rel[both].max():.1e} "
              f"({sum(rel[both] < 1e-8)} within 1e-8)")
    if args.plot:
        cem.plot_criterion(selection, args.plot)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
