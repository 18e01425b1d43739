"""The `cem` command line: `cem demo` (the classic two-process example) and
`cem fit FILE -k K` (fit a file, print the parameters as JSON).
Also reachable as `python -m cem ...`."""
import argparse
import json
import sys
import time

import numpy as np

from cem import GMM
from cem._validation import COVARIANCE_TYPES, INIT_PARAMS

# The classic example: two latent processes, one column.
DEMO_PROCESSES = ((3000, 20.0, 5.0), (7000, 40.0, 5.0))  # (rows, mean, standard deviation)


def demo_data(seed):
    """3,000 draws from N(20, 5) followed by 7,000 from N(40, 5), as (10000, 1),
    and the true process of each row."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(mean, sd, n) for n, mean, sd in DEMO_PROCESSES])
    truth = np.repeat(np.arange(len(DEMO_PROCESSES)), [n for n, _, _ in DEMO_PROCESSES])
    return X.reshape(-1, 1), truth


def run_demo(args, out=None):
    out = out or sys.stdout
    X, truth = demo_data(args.seed)
    # A random start sits near the symmetric saddle where both components
    # are the data's mean and the likelihood barely moves at first: a tight
    # tol keeps EM going until it has left it.
    gmm = GMM(n_components=2, init_params="random", tol=1e-8, max_iter=1000,
              random_state=args.seed, n_threads=args.n_threads)
    start = time.perf_counter()
    gmm.fit(X)
    elapsed = time.perf_counter() - start
    labels = gmm.predict(X)
    order = np.argsort(gmm.means_[:, 0])  # report components in the truth's order
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    process = rank[labels]
    print(f"cem demo: {X.shape[0]} points, 2 processes, GMM(init_params='random', "
          f"tol=1e-8, random_state={args.seed})", file=out)
    print(f"{'':12}{'weight':>10}{'mean':>10}{'std':>10}", file=out)
    total = sum(n for n, _, _ in DEMO_PROCESSES)
    for i, (n, mean, sd) in enumerate(DEMO_PROCESSES):
        c = order[i]
        print(f"true {i}:    {n / total:10.4f}{mean:10.4f}{sd:10.4f}", file=out)
        print(f"fitted {i}:  {gmm.weights_[c]:10.4f}{gmm.means_[c, 0]:10.4f}"
              f"{np.sqrt(gmm.covariances_[c, 0, 0]):10.4f}", file=out)
    print(f"converged: {gmm.converged_} in {gmm.n_iter_} iterations, "
          f"lower bound {gmm.lower_bound_:.6f}", file=out)
    print(f"predicted process, first 100 points: {''.join(map(str, process[:100]))}", file=out)
    print(f"predicted process, last 100 points:  {''.join(map(str, process[-100:]))}", file=out)
    print(f"agreement with the true process: {np.mean(process == truth):.4f}", file=out)
    print(f"fit time: {elapsed * 1e3:.1f} ms", file=out)
    if args.plot:
        plot_demo(X, gmm, args.plot)
        print(f"plot written to {args.plot}", file=out)
    return gmm


def plot_demo(X, gmm, path):
    """Histogram of X with the fitted mixture density and its components."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("--plot needs matplotlib: pip install 'cem[plot]'") from None
    grid = np.linspace(X.min(), X.max(), 500)[:, None]
    density = np.exp(gmm.score_samples(grid))
    resp = gmm.predict_proba(grid)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.hist(X[:, 0], bins=80, density=True, color="0.8", label="data")
    ax.plot(grid[:, 0], density, "k", lw=2, label="fitted mixture")
    for c in range(gmm.n_components):
        ax.plot(grid[:, 0], density * resp[:, c], "--",
                label=f"component {c}: mean {gmm.means_[c, 0]:.2f}")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def load_matrix(path):
    """A 2-D float array from a .npy file or a comma-separated .csv (one
    header line of names is skipped)."""
    if path.endswith(".npy"):
        X = np.load(path, allow_pickle=False)
    elif path.endswith(".csv"):
        with open(path) as f:
            first = f.readline()
        try:
            [float(v) for v in first.split(",")]
            skip = 0
        except ValueError:
            skip = 1
        X = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    else:
        raise SystemExit(f"cem fit: {path}: expected a .npy or .csv file")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    return X


def run_fit(args, out=None):
    out = out or sys.stdout
    X = load_matrix(args.file)
    gmm = GMM(n_components=args.k, covariance_type=args.covariance_type, tol=args.tol,
              max_iter=args.max_iter, n_init=args.n_init, init_params=args.init_params,
              random_state=args.random_state, n_threads=args.n_threads).fit(X)
    result = {
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]),
        "n_components": args.k, "covariance_type": args.covariance_type,
        "weights": gmm.weights_.tolist(), "means": gmm.means_.tolist(),
        "covariances": gmm.covariances_.tolist(), "converged": bool(gmm.converged_),
        "n_iter": int(gmm.n_iter_), "lower_bound": gmm.lower_bound_,
    }
    json.dump(result, out, indent=2)
    out.write("\n")
    return gmm


def build_parser():
    parser = argparse.ArgumentParser(prog="cem", description="Gaussian mixtures by EM.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="fit the classic two-process example")
    demo.add_argument("--seed", type=int, default=0, help="seed of the data and the init")
    demo.add_argument("--plot", metavar="FILE.png", help="draw the fit (needs matplotlib)")
    demo.add_argument("--n-threads", type=int, default=None)
    fit = sub.add_parser("fit", help="fit a .npy or .csv file, print JSON")
    fit.add_argument("file")
    fit.add_argument("-k", type=int, required=True, help="number of components")
    fit.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full")
    fit.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans")
    fit.add_argument("--tol", type=float, default=1e-3)
    fit.add_argument("--max-iter", type=int, default=100)
    fit.add_argument("--n-init", type=int, default=1)
    fit.add_argument("--random-state", type=int, default=None)
    fit.add_argument("--n-threads", type=int, default=None)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(args)
        else:
            run_fit(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"cem {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
