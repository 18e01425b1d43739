"""Conditional densities (GMM.condition): the mixture over the remaining
columns r of a fitted mixture, given values x_g of the columns g.

Under component c, x_r | x_g is Gaussian with mean
mu_r,c + S_rg,c S_gg,c^-1 (x_g - mu_g,c) and covariance
S_rr,c - S_rg,c S_gg,c^-1 S_gr,c (which does not depend on x_g); the
component's weight becomes w_c N(x_g | mu_g,c, S_gg,c), normalised. Every
covariance type is closed under conditioning (for diag, spherical and the
tied variants S_rg = 0, so the conditional covariance is the sub-block
S_rr and the conditional mean mu_r,c), so the conditional keeps the model's
covariance_type.
"""
from dataclasses import dataclass

import numpy as np

from cem._missing import covariance_matrices
from cem._params import Parameters, prec_chol_from_precisions


@dataclass(frozen=True)
class ConditionalMixture:
    """The conditional mixtures of x_r given n rows of x_g (GMM.condition
    with a 2-D X_given), float64.

    weights : (n, k), rows sum to 1 -- the components' posterior given x_g.
    means : (n, k, r) -- each component's conditional mean.
    covariances : (k, r, r) -- each component's conditional covariance,
        the same for every row.
    columns : (r,) int -- the indices of the remaining columns, ascending.
    feature_names : (r,) object or None -- their names when the model was
        fitted with feature names.
    """
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    columns: np.ndarray
    feature_names: np.ndarray = None

    def mean(self):
        """E[x_r | x_g] = sum_c weights_c means_c, shape (n, r): the
        regression prediction of the remaining columns."""
        return np.einsum("nk,nkr->nr", self.weights, self.means)


def given_columns(columns, d, feature_names_in=None):
    """The given columns as an int array (q,) in the caller's order, from
    indices in [0, d) or, when the model has feature names, names. ValueError
    for anything else, duplicates, or all d columns (nothing would remain)."""
    if isinstance(columns, (str, int, np.integer)):
        raise ValueError("columns must be a sequence of column indices or names, e.g. [0, 2], "
                         f"got {columns!r}")
    columns = list(columns)
    if not columns:
        raise ValueError("columns is empty: give at least one column to condition on")
    if all(isinstance(c, str) for c in columns):
        if feature_names_in is None:
            raise ValueError("columns are names, but the model was fitted without feature "
                             "names: give column indices")
        position = {name: i for i, name in enumerate(feature_names_in)}
        unknown = [c for c in columns if c not in position]
        if unknown:
            raise ValueError(f"unknown column names {unknown}: the model's features are "
                             f"{list(feature_names_in)}")
        indices = np.array([position[c] for c in columns], dtype=np.intp)
    else:
        if not all(isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_))
                   for c in columns):
            raise ValueError(f"columns must all be integer indices or all names, got {columns!r}")
        indices = np.array(columns, dtype=np.intp)
        bad = indices[(indices < 0) | (indices >= d)]
        if bad.size:
            raise ValueError(f"column indices {bad.tolist()} out of range: the model has {d} "
                             f"features, indices 0..{d - 1}")
    if np.unique(indices).size != indices.size:
        raise ValueError(f"columns has duplicates: {columns!r}")
    if indices.size == d:
        raise ValueError(f"every one of the {d} columns is given: nothing remains to condition")
    return indices


def given_values(X_given, q):
    """X_given as a float64 (n, q) array and whether it was one row (1-D).
    ValueError for another shape or a value that is not finite."""
    try:
        X = np.asarray(X_given, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X_given must be numbers: {exc}") from None
    one_row = X.ndim == 1
    if one_row:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != q:
        raise ValueError(f"X_given must have shape ({q},) for one row or (n, {q}) for many "
                         f"(one value per given column), got shape {np.shape(X_given)}")
    if not np.isfinite(X).all():
        raise ValueError("X_given contains NaN or infinity: every given value must be finite "
                         "(leave an unknown column out of columns instead)")
    return X, one_row


def condition(covariance_type, weights, means, covariances, given, X):
    """The conditional mixtures given rows X (n, q) of the columns given
    (q,): (weights (n, k), means (n, k, r), covariances (k, r, r), rest (r,)),
    float64. The weights are normalised in log space (the densities of x_g
    may underflow)."""
    k, d = means.shape
    rest = np.setdiff1d(np.arange(d), given)
    means = np.asarray(means, dtype=np.float64)
    S = covariance_matrices(covariance_type, covariances, k, d)
    S_gg = S[:, given][:, :, given]
    S_gr = S[:, given][:, :, rest]
    S_rr = S[:, rest][:, :, rest]
    chol = np.linalg.cholesky(S_gg)                     # (k, q, q) lower
    gain = np.linalg.solve(S_gg, S_gr)                  # S_gg^-1 S_gr, (k, q, r)
    diff = X[:, None, :] - means[None][:, :, given]     # (n, k, q)
    z = np.einsum("kij,nkj->nki", np.linalg.inv(chol), diff)  # L^-1 (x_g - mu_g)
    log_det = 2 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    q = given.size
    with np.errstate(divide="ignore"):  # a weight 0 stays 0: log 0 = -inf
        log_w = (np.log(np.asarray(weights, dtype=np.float64))
                 - 0.5 * (q * np.log(2 * np.pi) + log_det) - 0.5 * (z ** 2).sum(axis=2))
    log_w -= log_w.max(axis=1, keepdims=True)  # shift by the row max so exp never overflows
    cond_weights = np.exp(log_w)
    cond_weights /= cond_weights.sum(axis=1, keepdims=True)
    cond_means = means[None][:, :, rest] + np.einsum("nkq,kqr->nkr", diff, gain)
    cond_cov = S_rr - np.einsum("kqi,kqj->kij", S_gr, gain)
    cond_cov = 0.5 * (cond_cov + np.swapaxes(cond_cov, 1, 2))  # exactly symmetric
    return cond_weights, cond_means, cond_cov, rest


def native_covariances(covariance_type, covariances, cond_cov, rest):
    """The conditional covariances (k, r, r) in covariance_type's own shape:
    the Schur complement for full and tied, the sub-block of the fitted
    variances for the types with S_rg = 0 (exactly the Schur complement)."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return cond_cov
    if covariance_type == "tied":
        return cond_cov[0]
    if covariance_type == "diag":
        return covariances[:, rest]
    if covariance_type == "tied_diag":
        return covariances[rest]
    return covariances.copy()  # spherical (k,), tied_spherical (1,): one variance each


def parameters(covariance_type, weights, means, covariances):
    """Parameters (float64) of one mixture from weights (k,), means (k, r)
    and covariances in covariance_type's shape."""
    if covariance_type in ("full", "tied"):
        precisions = np.linalg.inv(covariances)
    else:
        precisions = 1.0 / covariances
    return Parameters(weights, means, covariances,
                      prec_chol_from_precisions(precisions, covariance_type))
