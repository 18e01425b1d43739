"""The classic example, cem against scikit-learn, end to end, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/classic_compare.py

(unset those two in this command only: they slow a current numpy, and the
comparison should give scikit-learn its fastest configuration). The README's
classic example -- 3,000 rows from N(20, 5) and 7,000 from N(40, 5), one
column -- is fitted by cem.GMM and by sklearn.mixture.GaussianMixture with
identical arguments (n_components=2, init_params='random', tol=1e-8,
random_state=0), as a new user would call them: construction and fit timed
together. The two alternate within each repeat so drift hits both alike;
the medians over the repeats and their ratio are printed, with both fits'
n_iter_ and the largest difference of their means (same start, so the fits
agree). The medians of CPU time (process_time) are printed too: on a
machine shared with other jobs they are disturbed less than wall time.
--python-loop adds a third contestant, cem with its EM loop in
Python (the loop before cem._core.em_iterations: cem._em runs it whenever
e_step_statistics is replaced, here by a plain wrapper), for a before/after
in the same run. --profile instead runs cProfile over cem's fits.
--alone N also times each library's fits back to back, N in a row
(after a few unmeasured ones): a fit right after another of its own kind,
its code and data warm. In the alternating comparison every cem fit
follows ~100 ms of scikit-learn and pays for what that left cold: on a
2-vCPU VM in 2026 0.4-0.7 ms of a 1.5 ms fit, growing with the time since
cem's last fit (+0.2 ms after 10 ms, +1.3 ms after 100 ms of a Python
busy loop that touches nothing of cem's), so both are worth stating.
"""
import argparse
import cProfile
import os
import platform
import pstats
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import alternating_medians, back_to_back_medians, timed  # noqa: E402

ARGUMENTS = dict(n_components=2, init_params="random", tol=1e-8, random_state=0)


def classic_data():
    """The classic example's X (10,000, 1), as in the README."""
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(20, 5, 3000), rng.normal(40, 5, 7000)]).reshape(-1, 1)


def estimator(lib):
    if lib.startswith("cem"):
        from cem import GMM
        return GMM(**ARGUMENTS)
    from sklearn.mixture import GaussianMixture
    return GaussianMixture(**ARGUMENTS)


def fit_seconds(lib, X):
    import cem._em
    real = cem._em.e_step_statistics
    if lib == "cem-python-loop":
        cem._em.e_step_statistics = lambda *args: real(*args)
    try:
        est, wall, cpu = timed(lambda: estimator(lib).fit(X))
        return (wall, cpu), est
    finally:
        cem._em.e_step_statistics = real


def compare(X, repeats, python_loop):
    libs = ("cem", "sklearn", "cem-python-loop") if python_loop else ("cem", "sklearn")
    fitted = {}
    for lib in libs:  # warm up: imports, first-call costs
        fitted[lib] = fit_seconds(lib, X)[1]

    def seconds(lib):
        seconds, fitted[lib] = fit_seconds(lib, X)
        return seconds
    medians = alternating_medians(seconds, libs, repeats)
    return ({lib: float(m[0]) for lib, m in medians.items()},
            {lib: float(m[1]) for lib, m in medians.items()}, fitted)


def alone_medians(X, fits):
    """{lib: (wall, cpu) medians of `fits` fits in a row}, each library's
    block after 10 unmeasured fits of its own."""
    return back_to_back_medians(lambda lib: fit_seconds(lib, X)[0], ("cem", "sklearn"), fits,
                                warmup=10)


def profile(X, fits):
    from cem import GMM
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(fits):
        GMM(**ARGUMENTS).fit(X)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=25, help="fits per library (>= 20)")
    parser.add_argument("--python-loop", action="store_true",
                        help="also time cem with its EM loop in Python (before/after)")
    parser.add_argument("--profile", type=int, default=0, metavar="FITS",
                        help="profile FITS cem fits with cProfile instead of comparing")
    parser.add_argument("--alone", type=int, default=0, metavar="FITS",
                        help="also time FITS fits of each library back to back")
    args = parser.parse_args()
    X = classic_data()
    if args.profile:
        profile(X, args.profile)
        return
    medians, cpu, fitted = compare(X, args.repeats, args.python_loop)
    import sklearn
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}")
    gap = np.max(np.abs(np.sort(fitted["cem"].means_.ravel())
                        - np.sort(fitted["sklearn"].means_.ravel())))
    print(f"n_iter_: cem {fitted['cem'].n_iter_}, sklearn {fitted['sklearn'].n_iter_}; "
          f"largest difference of the means {gap:.2e}")
    print(f"median of {args.repeats} fits: cem {medians['cem'] * 1e3:.3f} ms, "
          f"sklearn {medians['sklearn'] * 1e3:.2f} ms, "
          f"ratio {medians['sklearn'] / medians['cem']:.1f}x")
    print(f"  CPU time (process_time, all threads), medians: cem {cpu['cem'] * 1e3:.3f} ms, "
          f"sklearn {cpu['sklearn'] * 1e3:.2f} ms, ratio {cpu['sklearn'] / cpu['cem']:.1f}x")
    if args.python_loop:
        loop = medians["cem-python-loop"]
        print(f"cem with the EM loop in Python: {loop * 1e3:.3f} ms, "
              f"ratio {medians['sklearn'] / loop:.1f}x; same fit: "
              f"{np.array_equal(fitted['cem'].means_, fitted['cem-python-loop'].means_)}")
    if args.alone:
        alone = alone_medians(X, args.alone)
        print(f"back to back, median of {args.alone} fits each: cem {alone['cem'][0] * 1e3:.3f} ms"
              f" ({alone['cem'][1] * 1e3:.3f} ms CPU), sklearn {alone['sklearn'][0] * 1e3:.2f} ms"
              f" ({alone['sklearn'][1] * 1e3:.2f} ms CPU), ratio "
              f"{alone['sklearn'][0] / alone['cem'][0]:.1f}x")


if __name__ == "__main__":
    sys.exit(main())
