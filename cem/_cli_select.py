"""`cem select FILE`: fit a grid of Gaussian mixtures to a .npy or .csv file,
print the table of candidates and the chosen model, optionally draw the
criterion against k (GMMSelection, format_results, plot_criterion)."""
import argparse

import numpy as np

from cem._selection import CRITERIA, GMMSelection
from cem._selection_report import format_results, plot_criterion
from cem._validation import COVARIANCE_TYPES, INIT_PARAMS


def parse_components(text):
    """'1-9' -> [1, ..., 9]; '3' -> [3]; '1,2,5' and '2-4,8' likewise."""
    ks = []
    try:
        for part in text.split(","):
            low, sep, high = part.strip().partition("-")
            ks.extend(range(int(low), int(high) + 1) if sep else [int(low)])
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers of components like 1-9, 3 or 2-4,8; got {text!r}") from None
    if not ks or min(ks) < 1:
        raise argparse.ArgumentTypeError(f"numbers of components must be >= 1; got {text!r}")
    return sorted(set(ks))


def add_select_parser(subparsers, threads_help):
    """Add the `select` command to the CLI's argparse subparsers."""
    from cem._cli import _positive_int, add_input_options
    select = subparsers.add_parser(
        "select", help="choose k and the covariance type by BIC, AIC or ICL",
        description="Fit Gaussian mixtures for every number of components and covariance "
                    "type, print the table and the model with the lowest criterion.")
    select.add_argument("file", metavar="FILE",
                        help="the data: .npy, delimited text, or '-' (as for cem fit)")
    select.add_argument("-k", type=parse_components, default=list(range(1, 10)),
                        metavar="K", help="numbers of components: 1-9, 3 or 2-4,8 "
                        "(default: 1-9)")
    select.add_argument("--covariance-types", nargs="+", choices=COVARIANCE_TYPES,
                        default=list(COVARIANCE_TYPES), metavar="TYPE",
                        help=f"among {', '.join(COVARIANCE_TYPES)} (default: all)")
    select.add_argument("--criterion", choices=CRITERIA, default="bic",
                        help="lower is better (default: bic)")
    select.add_argument("--plot", metavar="FILE.png",
                        help="also draw the criterion against k (needs matplotlib) "
                        "(default: no plot)")
    select.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans",
                        help="how each candidate's initial responsibilities are drawn "
                        "(default: kmeans)")
    select.add_argument("--tol", type=float, default=1e-3,
                        help="convergence threshold of each fit (default: 0.001)")
    select.add_argument("--reg-covar", type=float, default=1e-6,
                        help="added to every covariance's diagonal (default: 1e-06)")
    select.add_argument("--max-iter", type=_positive_int, default=100, metavar="N",
                        help="iterations per initialisation at most (default: 100)")
    select.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                        help="initialisations per candidate (default: 1)")
    select.add_argument("--random-state", type=int, default=0, metavar="SEED",
                        help="seed of every candidate (default: 0, the same table every run)")
    select.add_argument("--n-threads", type=_positive_int, default=None, metavar="N",
                        help=threads_help)
    add_input_options(select)
    return select


def run_select(args, out):
    """Run `cem select` for parsed args, printing to out. Returns the fitted
    GMMSelection. Raises the CLI's UserError on unreadable data, a missing
    matplotlib (before fitting) or when no candidate can be fitted."""
    from cem._cli import UserError, _import_pyplot, read_data
    if args.plot:  # before the fit, not after it
        _import_pyplot()
    X, _ = read_data(args)
    try:
        selection = GMMSelection(
            args.k, covariance_types=args.covariance_types, criterion=args.criterion,
            tol=args.tol, reg_covar=args.reg_covar, max_iter=args.max_iter,
            n_init=args.n_init, init_params=args.init_params, random_state=args.random_state,
            n_threads=args.n_threads).fit(X)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{args.file}: {exc}") from None
    best = selection.best_estimator_
    r = selection.results_
    i = selection.best_index_
    print(f"cem select: {X.shape[0]} rows, {X.shape[1]} features, "
          f"{len(r['status'])} candidates by {args.criterion.upper()} (lower is better)",
          file=out)
    print(format_results(selection), file=out)
    print(f"chosen: k = {best.n_components}, covariance_type = {best.covariance_type!r}, "
          f"{args.criterion.upper()} = {r[args.criterion][i]:.2f}, log-likelihood = "
          f"{r['log_likelihood'][i]:.2f}, {'converged' if best.converged_ else 'NOT converged'}"
          f" in {best.n_iter_} iterations", file=out)
    with np.printoptions(precision=4, suppress=True, linewidth=100):
        print(f"weights: {best.weights_}", file=out)
        print(f"means:\n{best.means_}", file=out)
    if args.plot:
        plot_criterion(selection, args.plot)
        print(f"plot written to {args.plot}", file=out)
    return selection
