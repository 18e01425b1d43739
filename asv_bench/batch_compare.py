"""Many small fits: the C-level batch (the downstream Cython example, a
prange over cem_fit) against looping cem.GMM and scikit-learn in Python.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python asv_bench/batch_compare.py

10,000 problems of 200 points (1-D, k = 2), 50 EM iterations each (tol=0)
from the same initial parameters. The example is built against the
installed cem in a temporary directory. The Python loops run over the first
--loop-problems problems and are scaled to all of them (stated in the
output). Prints a markdown table of medians over --repeats runs.
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

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(os.path.dirname(HERE), "tests", "downstream", "cython_batch")


def problems(n_problems, m, seed=0):
    rng = np.random.default_rng(seed)
    X = np.where(rng.random((n_problems, m)) < 0.3, rng.normal(20, 5, (n_problems, m)),
                 rng.normal(40, 5, (n_problems, m)))
    means = np.stack([X.mean(1) - X.std(1), X.mean(1) + X.std(1)], 1)
    prec_chol = np.stack([1 / X.std(1)] * 2, 1)
    return X, means, prec_chol


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

    from cem import GMM
    X, mu, pc = problems(args.problems, args.points)
    warnings.simplefilter("ignore")

    def batch():
        batch_fit.fit_many(X, mu, pc, tol=0.0, max_iter=args.iterations,
                           n_threads=args.n_threads)

    def loop(cls, extra):
        for p in range(args.loop_problems):
            cls(2, tol=0.0, max_iter=args.iterations, weights_init=[0.5, 0.5],
                means_init=mu[p][:, None], precisions_init=(pc[p] ** 2)[:, None, None],
                **extra).fit(X[p][:, None])

    scale = args.problems / args.loop_problems
    times = {"batch": [], "cem": [], "sklearn": []}
    for _ in range(args.repeats):
        for name, fn in (("batch", batch), ("cem", lambda: loop(GMM, {"n_threads": 1})),
                         ("sklearn", lambda: loop(GaussianMixture, {}))):
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * (1 if name == "batch" else scale))
    med = {k: float(np.median(v)) for k, v in times.items()}
    print(f"{args.problems} problems x {args.points} points, 1-D, k=2, {args.iterations} "
          f"iterations; Python loops timed on {args.loop_problems} problems and scaled; "
          f"medians of {args.repeats}\n")
    print("| method | seconds for all problems | batch speed-up |")
    print("|---|---|---|")
    print(f"| C-level batch (Cython prange over cem_fit, {args.n_threads} threads) | "
          f"{med['batch']:.2f} | 1x |")
    print(f"| loop of cem.GMM(...).fit | {med['cem']:.1f} | {med['cem'] / med['batch']:.0f}x |")
    print(f"| loop of sklearn GaussianMixture(...).fit | {med['sklearn']:.1f} | "
          f"{med['sklearn'] / med['batch']:.0f}x |")


if __name__ == "__main__":
    main()
