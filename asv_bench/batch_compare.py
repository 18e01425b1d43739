"""Many small fits: cem.fit_many and the C-level batch (the downstream Cython
example, a prange over cem_fit) against looping cem.GMM and scikit-learn in
Python.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/batch_compare.py

10,000 problems of 200 points (1-D, k = 2), 50 EM iterations each (tol=0).
Two comparisons:
- whole fits with identical arguments, GMM(2, tol=0, max_iter=50,
  random_state=0) (k-means initialisation): cem.fit_many against loops of
  cem.GMM.fit and GaussianMixture.fit (the equality of fit_many's results
  with GMM.fit is checked on a sample of problems);
- EM alone from the same given initial parameters: the Cython example
  against the same loops, as before.
The Python loops run over the first --loop-problems problems and are scaled
to all of them (stated in the output). Per-problem overhead of fit_many is
measured twice: Python time outside its one C call (1 thread), and
fit_many with init_params='random' minus the example's EM (same 50
passes; the difference also holds the two passes of that initialisation).
The example is built against the installed cem in a temporary directory.
Prints a markdown table of medians over --repeats runs and the CPU.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

from machine import cpu_name  # asv_bench/machine.py (the script's folder)

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(HERE), "tests", "downstream", "cython_batch")


def problems(n_problems, m, seed=0):
    rng = np.random.default_rng(seed)
    X = np.where(rng.random((n_problems, m)) < 0.3, rng.normal(20, 5, (n_problems, m)),
                 rng.normal(40, 5, (n_problems, m)))
    means = np.stack([X.mean(1) - X.std(1), X.mean(1) + X.std(1)], 1)
    prec_chol = np.stack([1 / X.std(1)] * 2, 1)
    return X, means, prec_chol


def python_overhead(X3, iterations, repeats):
    """Seconds per problem fit_many spends outside its one C call (1 thread)."""
    import cem
    from cem import _batch, _core
    inner = []
    original = _core.fit_batch

    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            inner.append(time.perf_counter() - start)

    _batch._core.fit_batch = timed
    try:
        outside = []
        for _ in range(repeats):
            start = time.perf_counter()
            cem.fit_many(X3, 2, tol=0.0, max_iter=iterations, random_state=0, n_threads=1)
            outside.append(time.perf_counter() - start - inner[-1])
    finally:
        _batch._core.fit_batch = original
    return float(np.median(outside)) / len(X3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=10000)
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--loop-problems", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-threads", type=int, default=2)
    args = parser.parse_args()
    build = tempfile.mkdtemp()
    shutil.copytree(EXAMPLE, os.path.join(build, "ex"))
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"],
                   cwd=os.path.join(build, "ex"), check=True, capture_output=True)
    sys.path.insert(0, os.path.join(build, "ex"))
    import batch_fit
    from sklearn.mixture import GaussianMixture

    import cem
    from cem import GMM
    X, mu, pc = problems(args.problems, args.points)
    X3 = X[:, :, None]
    warnings.simplefilter("ignore")
    common = dict(tol=0.0, max_iter=args.iterations)

    # the batch is the loop, problem for problem
    result = cem.fit_many(X3, 2, random_state=0, n_threads=args.n_threads, **common)
    for p in np.random.default_rng(1).choice(args.problems, 20, replace=False):
        g = GMM(2, random_state=0, **common).fit(X3[p])
        assert np.array_equal(g.means_, result.means[p]) and g.n_iter_ == result.n_iter[p]

    def fit_many(init):
        return lambda: cem.fit_many(X3, 2, init_params=init, random_state=0,
                                    n_threads=args.n_threads, **common)

    def example():
        batch_fit.fit_many(X, mu, pc, n_threads=args.n_threads, **common)

    def loop(cls, extra, given_init):
        def run():
            for p in range(args.loop_problems):
                init = {} if not given_init else dict(
                    weights_init=[0.5, 0.5], means_init=mu[p][:, None],
                    precisions_init=(pc[p] ** 2)[:, None, None])
                cls(2, **common, **init, **extra).fit(X3[p])
        return run

    methods = {
        "fit_many": fit_many("kmeans"),
        "fit_many_random": fit_many("random"),
        "example": example,
        "cem": loop(GMM, {"n_threads": 1, "random_state": 0}, False),
        "sklearn": loop(GaussianMixture, {"random_state": 0}, False),
        "cem_given": loop(GMM, {"n_threads": 1}, True),
        "sklearn_given": loop(GaussianMixture, {}, True),
    }
    scale = args.problems / args.loop_problems
    times = {name: [] for name in methods}
    for _ in range(args.repeats):
        for name, fn in methods.items():
            start = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - start
            times[name].append(elapsed * (scale if name.startswith(("cem", "sklearn")) else 1))
    med = {k: float(np.median(v)) for k, v in times.items()}
    overhead = python_overhead(X3, args.iterations, args.repeats)
    print(f"{args.problems} problems x {args.points} points, 1-D, k=2, {args.iterations} "
          f"iterations (tol=0); Python loops timed on {args.loop_problems} problems and "
          f"scaled; medians of {args.repeats}; {cpu_name()}, {args.n_threads} threads for "
          "the batches\n")
    print("| method | seconds for all problems | speed-up of the batch |")
    print("|---|---|---|")
    print("| **whole fits, k-means init, random_state=0** | | |")
    print(f"| cem.fit_many | {med['fit_many']:.2f} | 1x |")
    print(f"| loop of cem.GMM(...).fit | {med['cem']:.1f} | "
          f"{med['cem'] / med['fit_many']:.1f}x |")
    print(f"| loop of sklearn GaussianMixture(...).fit | {med['sklearn']:.1f} | "
          f"{med['sklearn'] / med['fit_many']:.0f}x |")
    print("| **EM from given initial parameters** | | |")
    print(f"| C-level batch (Cython prange over cem_fit) | {med['example']:.2f} | 1x |")
    print(f"| loop of cem.GMM(...).fit | {med['cem_given']:.1f} | "
          f"{med['cem_given'] / med['example']:.1f}x |")
    print(f"| loop of sklearn GaussianMixture(...).fit | {med['sklearn_given']:.1f} | "
          f"{med['sklearn_given'] / med['example']:.0f}x |")
    per_problem = (med["fit_many_random"] - med["example"]) / args.problems
    print(f"\nfit_many per-problem overhead: {overhead * 1e6:.2f} us of Python outside its C "
          f"call (1 thread); cem.fit_many(init_params='random') {med['fit_many_random']:.2f} s "
          f"vs the example's EM {med['example']:.2f} s: {per_problem * 1e6:.2f} us per problem "
          "more, initialisation passes included")


if __name__ == "__main__":
    main()
