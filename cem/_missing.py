"""Missing values (GMM(missing="marginalize")): NaN means "not observed",
missing at random. EM itself is exact on the observed-data likelihood and
lives in the C pass (cem_e_step_missing, src_c/missing.c); this module holds
what surrounds it: the data the initialisation sees, and imputation.

Initialisation: init_params runs on the initialisation sample with every
NaN replaced by its column's mean over the observed values (weighted by
sample_weight), rows with no observed value at all weighted 0. The first
M-step therefore sees mean-filled columns; from the first EM iteration on
the missing values are marginalized exactly. Data without NaN are used as
they are, so the fit is then the default's, bit for bit.
"""
import numpy as np

from cem._validation import CHUNK_ROWS


def column_means(X, sample_weight=None):
    """Weighted means (d,) of each column over its observed (non-NaN)
    values, chunk by chunk (no copy of X); 0 for a column with none."""
    d = X.shape[1]
    sums, counts = np.zeros(d), np.zeros(d)
    for start in range(0, X.shape[0], CHUNK_ROWS):
        block = np.asarray(X[start:start + CHUNK_ROWS], dtype=np.float64)
        observed = ~np.isnan(block)
        w = (np.ones(block.shape[0]) if sample_weight is None
             else sample_weight[start:start + CHUNK_ROWS])
        sums += w @ np.where(observed, block, 0.0)
        counts += w @ observed
    return np.divide(sums, counts, out=np.zeros(d), where=counts > 0)


def filled_for_init(X, sample_weight):
    """(X, sample_weight) for init_params: unchanged when X holds no NaN;
    else a copy with each NaN set to its column mean (column_means) and the
    rows with nothing observed weighted 0."""
    missing = np.isnan(X)
    if not missing.any():
        return X, sample_weight
    filled = np.where(missing, column_means(X, sample_weight).astype(X.dtype), X)
    empty = missing.all(axis=1)
    if empty.any():
        w = np.ones(X.shape[0]) if sample_weight is None else sample_weight.copy()
        w[empty] = 0.0
        if not w.sum() > 0:
            raise ValueError("every row of X is entirely missing (NaN): nothing to fit")
        sample_weight = w
    return filled, sample_weight


def covariance_matrices(covariance_type, covariances, k, d):
    """The k full (d, d) covariance matrices of a fitted model."""
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return covariances
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (k, d, d))
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    if covariance_type == "spherical":
        return np.stack([c * np.eye(d) for c in covariances])
    if covariance_type == "tied_diag":
        return np.broadcast_to(np.diag(covariances), (k, d, d))
    return np.broadcast_to(covariances[0] * np.eye(d), (k, d, d))  # tied_spherical


def conditional_expectation(X, resp, means, covariances):
    """X (float64 copy) with each NaN replaced by sum_c resp_c x_hat_m,c,
    x_hat_m,c = mu_m + S_mo S_oo^-1 (x_o - mu_o), one solve per component
    and missing pattern (vectorised over the rows sharing it). A row with
    nothing observed gets sum_c resp_c mu_c (resp are then the weights).
    X (n, d); resp (n, k); means (k, d); covariances (k, d, d)."""
    X = np.array(X, dtype=np.float64)
    missing = np.isnan(X)
    rows = np.flatnonzero(missing.any(axis=1))
    if rows.size == 0:
        return X
    patterns, which = np.unique(missing[rows], axis=0, return_inverse=True)
    for p, pattern in enumerate(patterns):
        r = rows[which.ravel() == p]
        m, o = np.flatnonzero(pattern), np.flatnonzero(~pattern)
        value = np.zeros((r.size, m.size))
        for c in range(means.shape[0]):
            x_hat = np.broadcast_to(means[c, m], (r.size, m.size))
            if o.size:
                s = covariances[c]
                gain = np.linalg.solve(s[np.ix_(o, o)], s[np.ix_(o, m)])  # S_oo^-1 S_om
                x_hat = x_hat + (X[np.ix_(r, o)] - means[c, o]) @ gain
            value += resp[r, c][:, None] * x_hat
        X[np.ix_(r, m)] = value
    return X
