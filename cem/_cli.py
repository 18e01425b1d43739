"""The `cem` command line: `cem demo` (the classic two-process example),
`cem fit FILE -k K` (fit a data file, print the parameters as JSON) and
`cem select FILE` (choose k and the covariance type; in cem/_cli_select.py).

Exit status: 0 on success, 2 for every user error (bad options, unreadable
or invalid data, parameters the model rejects), with a one-line message on
stderr and no traceback; warnings are printed as one line too.
"""
import argparse
import errno
import json
import os
import sys
import time
import warnings

import numpy as np

from cem import GMM
from cem._cli_select import add_select_parser, run_select
from cem._table import read_matrix
from cem._validation import COVARIANCE_TYPES, INIT_PARAMS
from cem._version import __version__

USER_ERROR = 2
# The classic example: two latent processes, one column.
DEMO_PROCESSES = ((3000, 20.0, 5.0), (7000, 40.0, 5.0))  # (rows, mean, standard deviation)
MATPLOTLIB_HINT = "--plot needs matplotlib: python -m pip install matplotlib"


class UserError(Exception):
    """A problem with the command's input: reported in one line, exit status 2."""


def demo_data(seed):
    """3,000 draws from N(20, 5) followed by 7,000 from N(40, 5), as (10000, 1),
    and the true process of each row."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(mean, sd, n) for n, mean, sd in DEMO_PROCESSES])
    truth = np.repeat(np.arange(len(DEMO_PROCESSES)), [n for n, _, _ in DEMO_PROCESSES])
    return X.reshape(-1, 1), truth


def run_demo(args, out):
    if args.plot:  # fail before the fit, not after it
        pyplot = _import_pyplot()
        from matplotlib.backend_bases import FigureCanvasBase
        plot_file = plot_path(args.plot, FigureCanvasBase.get_supported_filetypes())
        if not os.path.isdir(os.path.dirname(plot_file) or "."):
            raise UserError(f"--plot {plot_file}: no such directory")
    X, truth = demo_data(args.seed)
    # A random start sits near the symmetric saddle where both components
    # are the data's mean and the likelihood barely moves at first: a tight
    # tol keeps EM going until it has left it.
    gmm = GMM(n_components=2, init_params="random", tol=1e-8, max_iter=1000,
              random_state=args.seed, n_threads=args.n_threads)
    start = time.perf_counter()
    gmm.fit(X)
    elapsed = time.perf_counter() - start
    order = np.argsort(gmm.means_[:, 0])  # component i of the report = i-th smallest mean
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    process = rank[gmm.predict(X)]
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
        plot_demo(pyplot, X, gmm, order, plot_file, args.seed)
        print(f"plot written to {plot_file}", file=out)
    return gmm


def _import_pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UserError(MATPLOTLIB_HINT) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    return pyplot


def plot_path(path, supported):
    """The file savefig will write: `path` if its suffix names a format
    matplotlib writes, else `path` + '.png' (as savefig does)."""
    suffix = os.path.splitext(path)[1][1:].lower()
    if suffix in supported:
        return path
    if suffix:
        raise UserError(f"--plot {path}: matplotlib cannot write .{suffix} files "
                        f"(it writes {', '.join('.' + s for s in sorted(supported))})")
    return path + ".png"


def plot_demo(pyplot, X, gmm, order, path, seed):
    """Draw demo_figure to `path` (whose suffix names the format)."""
    fig = demo_figure(pyplot, X, gmm, order, seed)
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise UserError(f"--plot {path}: {exc.strerror or exc}") from None
    finally:
        pyplot.close(fig)


def demo_figure(pyplot, X, gmm, order, seed):
    """Histogram of X with the fitted mixture density and its components,
    numbered as in the text report: component i is gmm's order[i] (by
    increasing mean)."""
    grid = np.linspace(X.min(), X.max(), 600)[:, None]
    density = np.exp(gmm.score_samples(grid))
    resp = gmm.predict_proba(grid)
    fig, ax = pyplot.subplots(figsize=(9, 5), layout="constrained")
    ax.hist(X[:, 0], bins=90, density=True, color="0.85", edgecolor="0.7", linewidth=0.4,
            label=f"data ({X.shape[0]:,} points)")
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red")
    for i, c in enumerate(order):
        sigma = np.sqrt(gmm.covariances_[c, 0, 0])
        ax.fill_between(grid[:, 0], density * resp[:, c], color=colors[i % 4], alpha=0.15,
                        linewidth=0)
        ax.plot(grid[:, 0], density * resp[:, c], color=colors[i % 4], lw=1.8, ls="--",
                label=f"component {i}: weight {gmm.weights_[c]:.3f}, "
                      f"mean {gmm.means_[c, 0]:.2f}, σ {sigma:.2f}")
    ax.plot(grid[:, 0], density, color="black", lw=2.2, label="fitted mixture")
    ax.set_title(f"cem demo: a {gmm.n_components}-component Gaussian mixture fitted by EM "
                 f"(seed {seed}, {gmm.n_iter_} iterations)")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_xlim(grid[0, 0], grid[-1, 0])
    ax.set_ylim(bottom=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(frameon=False, loc="upper left")
    return fig


def read_data(args):
    """(X, column names or None) of args.file, read with the --delimiter and
    --header options; a UserError naming the file (and line, column) when
    it cannot be read."""
    try:
        return read_matrix(args.file, delimiter=args.delimiter, header=args.header)
    except OSError as exc:
        raise UserError(f"{args.file}: {exc.strerror or exc}") from None
    except ValueError as exc:  # TableError names the place; numpy's load errors do not
        message = str(exc)
        raise UserError(message if message.startswith(args.file) or args.file == "-"
                        else f"{args.file}: {message}") from None


def run_fit(args, out):
    if args.probabilities and not args.labels:
        raise UserError("--probabilities needs --labels FILE (the file it writes them to)")
    X, names = read_data(args)
    gmm = GMM(n_components=args.k, covariance_type=args.covariance_type, tol=args.tol,
              max_iter=args.max_iter, n_init=args.n_init, init_params=args.init_params,
              random_state=args.random_state, n_threads=args.n_threads)
    try:
        gmm.fit(X)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{args.file}: {exc}") from None
    if args.labels:
        write_labels(args.labels, gmm, X, args.probabilities)
    result = {
        "n_samples": int(X.shape[0]), "n_features": int(X.shape[1]),
        "n_components": args.k, "covariance_type": args.covariance_type,
        "weights": gmm.weights_.tolist(), "means": gmm.means_.tolist(),
        "covariances": gmm.covariances_.tolist(), "converged": bool(gmm.converged_),
        "n_iter": int(gmm.n_iter_), "lower_bound": gmm.lower_bound_,
    }
    if names is not None:
        result["feature_names"] = names
    if args.indent is None:
        json.dump(result, out, separators=(",", ":"))
    else:
        json.dump(result, out, indent=args.indent)
    out.write("\n")
    return gmm


def write_labels(path, gmm, X, probabilities):
    """One CSV line per data row, in the data's order: the predicted
    component, then (with probabilities) each component's probability."""
    columns = ["component"]
    labels = gmm.predict(X)
    if probabilities:
        proba = gmm.predict_proba(X)
        columns += [f"p{c}" for c in range(gmm.n_components)]
    try:
        with open(path, "w", newline="") as f:
            f.write(",".join(columns) + "\n")
            for i, label in enumerate(labels):
                fields = [str(int(label))]
                if probabilities:
                    fields += [repr(float(p)) for p in proba[i]]
                f.write(",".join(fields) + "\n")
    except OSError as exc:
        raise UserError(f"--labels {path}: {exc.strerror or exc}") from None


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _delimiter(text):
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|",
             "space": "whitespace", "whitespace": "whitespace", "auto": "auto"}
    if text.lower() in named:
        return named[text.lower()]
    if len(text) != 1:
        raise argparse.ArgumentTypeError(
            f"expected one character, 'tab', 'whitespace' or 'auto', got {text!r}")
    return "whitespace" if text == " " else text


class _Parser(argparse.ArgumentParser):
    """argparse with cem's exit status for usage errors (2, as for every
    user error) and its message prefix."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(USER_ERROR, f"{self.prog}: error: {message}\n")


def add_input_options(command):
    """The options that say how a text FILE is read (fit, select)."""
    command.add_argument("--delimiter", type=_delimiter, default="auto", metavar="CHAR",
                         help="field delimiter of a text file: one character, 'tab' or "
                         "'whitespace' (default: auto, sniffed among comma, tab, semicolon, "
                         "pipe and whitespace)")
    header = command.add_mutually_exclusive_group()
    header.add_argument("--header", dest="header", action="store_const", const=True,
                        default="auto", help="the first line holds column names (default: "
                        "auto, a header when a field of the first line is not a number)")
    header.add_argument("--no-header", dest="header", action="store_const", const=False,
                        help="the first line is data (default: auto, as for --header)")


def build_parser():
    parser = _Parser(prog="cem", description="Gaussian mixture models fitted by EM, with a C "
                     "core. Exit status 2 on any user error.")
    parser.add_argument("--version", action="version", version=f"cem {__version__}",
                        help="print cem's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    threads = ("threads of the fit (default: OMP_NUM_THREADS if set, else every core); "
               "the result is the same for any number")

    demo = sub.add_parser("demo", help="fit the classic two-process example and report it",
                          description="Fit 3,000 draws from N(20, 5) and 7,000 from N(40, 5) "
                          "with a two-component mixture from a random start, and print the "
                          "fitted parameters beside the true ones.")
    demo.add_argument("--seed", type=int, default=0,
                      help="seed of the data and of the initialisation (default: 0)")
    demo.add_argument("--plot", metavar="FILE.png",
                      help="also draw the histogram and the fitted density to FILE.png (any "
                      "format matplotlib writes; needs matplotlib) (default: no plot)")
    demo.add_argument("--n-threads", type=_positive_int, default=None, metavar="N", help=threads)

    fit = sub.add_parser("fit", help="fit a .npy or delimited text file, print JSON",
                         description="Fit a Gaussian mixture to the rows of FILE and print its "
                         "parameters as JSON on stdout. FILE is a .npy array, '-' for "
                         "standard input, or delimited text (.csv, .tsv, .txt, ...): one row "
                         "per line, blank lines skipped, every other line a row. The "
                         "delimiter and a header line are sniffed unless given.")
    fit.add_argument("file", metavar="FILE", help="the data: .npy, delimited text, or '-'")
    fit.add_argument("-k", "--n-components", dest="k", type=_positive_int, required=True,
                     metavar="K", help="number of components (required)")
    fit.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full",
                     help="shape of each component's covariance (default: full)")
    fit.add_argument("--init-params", choices=INIT_PARAMS, default="kmeans",
                     help="how the initial responsibilities are drawn (default: kmeans)")
    fit.add_argument("--tol", type=float, default=1e-3,
                     help="stop when the lower bound gains less than this per iteration "
                     "(default: 0.001)")
    fit.add_argument("--max-iter", type=_positive_int, default=100, metavar="N",
                     help="iterations per initialisation at most (default: 100)")
    fit.add_argument("--n-init", type=_positive_int, default=1, metavar="N",
                     help="initialisations; the best fit is kept (default: 1)")
    fit.add_argument("--random-state", type=int, default=None, metavar="SEED",
                     help="seed of the initialisation (default: none, a fresh seed)")
    fit.add_argument("--n-threads", type=_positive_int, default=None, metavar="N", help=threads)
    add_input_options(fit)
    fit.add_argument("--labels", metavar="OUT.csv", default=None,
                     help="also write the predicted component of each row, in the data's "
                     "order, to OUT.csv (default: not written)")
    fit.add_argument("--probabilities", action="store_true",
                     help="with --labels, also write each component's probability "
                     "(default: off)")
    fit.add_argument("--indent", type=_non_negative_int, default=None, metavar="N",
                     help="indent the JSON by N spaces for reading (default: compact, one "
                     "line)")
    add_select_parser(sub, threads)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line on stderr: no source file, no source line."""
    print(f"cem: warning: {message}", file=sys.stderr)


def main(argv=None, out=None):
    """Run the command line; returns the exit status."""
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _show_warning
            if args.command == "demo":
                run_demo(args, out)
            elif args.command == "select":
                run_select(args, out)
            else:
                run_fit(args, out)
            out.flush()
    except UserError as exc:
        print(f"cem {args.command}: error: {exc}", file=sys.stderr)
        return USER_ERROR
    except OSError as exc:
        # The reader went away (`cem fit ... | head`): not an error of ours.
        # (Windows reports a closed pipe as EINVAL.) Point stdout at devnull
        # so the interpreter's final flush is silent too.
        if not isinstance(exc, BrokenPipeError) and exc.errno != errno.EINVAL:
            raise
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a killed writer
    except KeyboardInterrupt:
        return 130
    return 0


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a file (tests, embedding)
        pass
