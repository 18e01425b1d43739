"""The table and the picture of a fitted GMMSelection: format_results (plain
text, one row per candidate) and plot_criterion (criterion against k, one
line per covariance type, as mclust's BIC plot). matplotlib is imported only
when a picture is drawn."""
import numpy as np

# mclust's names of cem's covariance types, shown beside them.
MCLUST_MODEL_NAMES = {"full": "VVV", "tied": "EEE", "diag": "VVI", "spherical": "VII",
                      "tied_diag": "EEI", "tied_spherical": "EII"}
# One marker per covariance type, in the order of the grid.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">")


def _check_fitted(selection):
    if not hasattr(selection, "results_"):
        raise ValueError(f"{type(selection).__name__} is not fitted: call fit first")


def _type_label(covariance_type):
    model = MCLUST_MODEL_NAMES.get(covariance_type)
    return covariance_type if model is None else f"{covariance_type} ({model})"


def format_results(selection):
    """selection.results_ as a plain-text table, one line per candidate in
    the order tried, the chosen one marked with '*'. Failed candidates show
    '-' for their criterion and log-likelihood and 'failed [j]' as status,
    each distinct reason j printed once under the table."""
    _check_fitted(selection)
    r = selection.results_
    reasons = list(dict.fromkeys(s for s in r["status"] if s != "ok"))
    criterion = selection.criterion
    header = ["", "k", "covariance", criterion.upper(), "log-likelihood", "parameters",
              "iterations", "converged", "time (ms)", "status"]
    rows = []
    for i in range(len(r["status"])):
        ok = r["status"][i] == "ok"
        rows.append(["*" if i == selection.best_index_ else "", str(r["n_components"][i]),
                     str(r["covariance_type"][i]),
                     f"{r[criterion][i]:.2f}" if ok else "-",
                     f"{r['log_likelihood'][i]:.2f}" if ok else "-",
                     str(r["n_parameters"][i]), str(r["n_iter"][i]),
                     "yes" if r["converged"][i] else "no", f"{1e3 * r['fit_time'][i]:.1f}",
                     "ok" if ok else f"failed [{reasons.index(r['status'][i]) + 1}]"])
    widths = [max(len(row[j]) for row in rows + [header]) for j in range(len(header))]
    left = {2, 9}  # text columns; the numbers align right
    lines = ["  ".join(cell.ljust(w) if j in left else cell.rjust(w)
                       for j, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in [header] + rows]
    lines += [f"[{j}] {reason}" for j, reason in enumerate(reasons, 1)]
    return "\n".join(lines)


def plot_criterion(selection, path=None, ax=None):
    """Draw the criterion of every candidate against k, one line with
    markers per covariance type, the chosen model ringed; failed candidates
    leave gaps. Draws into ax (a matplotlib Axes) if given, else into a new
    Figure; saves the figure to path when given (format by its suffix, e.g.
    .png); returns the Figure. Needs matplotlib; uses no pyplot state and
    leaves the user's backend alone."""
    _check_fitted(selection)
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise ImportError("plot_criterion needs matplotlib: pip install matplotlib") from None
    r = selection.results_
    criterion = selection.criterion
    label = criterion.upper()
    ks = np.asarray(r["n_components"])
    values = np.where(r["status"] == "ok", r[criterion], np.nan)

    if ax is None:
        fig = Figure(figsize=(7.5, 4.8), dpi=120, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    types = list(dict.fromkeys(r["covariance_type"]))
    for j, covariance_type in enumerate(types):
        rows = r["covariance_type"] == covariance_type
        ax.plot(ks[rows], values[rows], marker=MARKERS[j % len(MARKERS)], markersize=6,
                linewidth=1.6, color=f"C{j}", label=_type_label(covariance_type))
    best = selection.best_index_
    ax.plot(ks[best], values[best], marker="o", markersize=17, markerfacecolor="none",
            markeredgecolor="black", markeredgewidth=1.8, linestyle="none",
            label=f"chosen: k = {ks[best]}, {r['covariance_type'][best]}\n"
                  f"({label} {values[best]:,.2f})")
    failed = int((r["status"] != "ok").sum())
    if failed:
        ax.plot([], [], linestyle="none", label=f"{failed} failed (not drawn)")
    ax.set_xlabel("number of components k")
    ax.set_ylabel(f"{label} (lower is better)")
    ax.set_title(f"{label} of {len(ks) - failed} Gaussian mixtures: "
                 f"best k = {ks[best]}, {_type_label(r['covariance_type'][best])}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.grid(True, color="0.9")
    ax.set_axisbelow(True)
    ax.legend(title="covariance type", frameon=True, fontsize="small", title_fontsize="small")
    if path is not None:
        fig.savefig(path)
    return fig
