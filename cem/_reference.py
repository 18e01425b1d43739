"""Slow, plain-NumPy twins of the C kernels: the readable specification of
what each computes, and the oracle the tests compare the C core against.
Same names, arguments and layouts as cem._core (see cem/include/cem.h)."""
import numpy as np

from cem._shapes import param_shape

NK_FLOOR = 10 * np.finfo(np.float64).eps


def _stats_layout(stats, k, d):
    return stats[2:2 + k], stats[2 + k:2 + k + k * d].reshape(k, d), stats[2 + k + k * d:]


def log_gaussian_density(covariance_type, means, prec_chol, X):
    """(n, k) log N(x_i | mean_c, cov_c) with prec_chol U, U U^T = cov^-1."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = means.shape[0]
    out = np.empty((n, k))
    for c in range(k):
        diff = X - means[c]
        if covariance_type in ("full", "tied"):
            u = np.triu(prec_chol[c] if covariance_type == "full" else prec_chol)
            y = diff @ u
            log_det = np.log(np.diag(u)).sum()
        elif covariance_type in ("diag", "tied_diag"):
            p = prec_chol[c] if covariance_type == "diag" else prec_chol
            y = diff * p
            log_det = np.log(p).sum()
        else:
            p = prec_chol[c] if covariance_type == "spherical" else prec_chol[0]
            y = diff * p
            log_det = d * np.log(p)
        out[:, c] = -0.5 * (d * np.log(2 * np.pi) + (y ** 2).sum(axis=1)) + log_det
    return out


def accumulate(covariance_type, shift, X, resp, sample_weight=None, stats=None):
    """Add the statistics of X under responsibilities resp, about shift."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = shift.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    second = int(np.prod(param_shape(covariance_type, k, d)))
    if stats is None:
        stats = np.zeros(2 + k + k * d + second)
    nk, sx, sxx = _stats_layout(stats, k, d)
    stats[0] += w.sum()
    for c in range(k):
        a = w * resp[:, c]
        diff = X - shift[c]
        nk[c] += a.sum()
        sx[c] += a @ diff
        outer = np.tril((a[:, None] * diff).T @ diff)
        if covariance_type == "full":
            sxx[c * d * d:(c + 1) * d * d] += outer.reshape(-1)
        elif covariance_type == "tied":
            sxx += outer.reshape(-1)
        elif covariance_type == "diag":
            sxx[c * d:(c + 1) * d] += a @ diff ** 2
        elif covariance_type == "spherical":
            sxx[c] += a @ (diff ** 2).sum(axis=1)
        elif covariance_type == "tied_diag":  # pooled over components
            sxx += a @ diff ** 2
        else:  # tied_spherical: pooled over components and features
            sxx[0] += a @ (diff ** 2).sum(axis=1)
    return stats


def e_step(covariance_type, weights, means, prec_chol, X, sample_weight=None):
    """(stats, resp, log_density) of one pass; moments about means."""
    logp = log_gaussian_density(covariance_type, means, prec_chol, X) + np.log(weights)
    top = logp.max(axis=1, keepdims=True)
    log_density = (top + np.log(np.exp(logp - top).sum(axis=1, keepdims=True)))[:, 0]
    resp = np.exp(logp - log_density[:, None])
    stats = accumulate(covariance_type, means, X, resp, sample_weight)
    w = np.ones(len(log_density)) if sample_weight is None else sample_weight
    stats[1] = w @ log_density
    return stats, resp, log_density


def precision_cholesky(covariance_type, covariances):
    """Upper-triangular U with U U^T = cov^-1 (1 / std for the variance types)."""
    if covariance_type not in ("full", "tied"):
        return 1.0 / np.sqrt(covariances)
    mats = covariances.reshape(-1, covariances.shape[-1], covariances.shape[-1])
    out = np.array([np.linalg.inv(np.linalg.cholesky(m)).T for m in mats])
    return out.reshape(covariances.shape)


def m_step(covariance_type, stats, shift, reg_covar):
    """(weights, means, covariances, prec_chol) from statistics."""
    k, d = shift.shape
    nk, sx, sxx = _stats_layout(stats, k, d)
    n_c = nk + NK_FLOOR
    weights = n_c / n_c.sum()
    means = shift + sx / n_c[:, None]
    sym = lambda m: np.tril(m) + np.tril(m, -1).T
    if covariance_type == "full":
        s2 = sxx.reshape(k, d, d)
        cov = np.array([(sym(s2[c]) - np.outer(sx[c], sx[c]) / n_c[c]) / n_c[c]
                        for c in range(k)]) + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        pooled = sym(sxx.reshape(d, d)) - sum(np.outer(sx[c], sx[c]) / n_c[c] for c in range(k))
        cov = pooled / n_c.sum() + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        cov = (sxx.reshape(k, d) - sx ** 2 / n_c[:, None]) / n_c[:, None] + reg_covar
    elif covariance_type == "spherical":
        cov = (sxx - (sx ** 2).sum(axis=1) / n_c) / n_c / d + reg_covar
    elif covariance_type == "tied_diag":  # the diag numerators pooled, / sum n_c
        cov = (sxx - (sx ** 2 / n_c[:, None]).sum(axis=0)) / n_c.sum() + reg_covar
    else:  # tied_spherical: pooled over components and features
        cov = (sxx - (sx ** 2 / n_c[:, None]).sum()) / n_c.sum() / d + reg_covar
    return weights, means, cov, precision_cholesky(covariance_type, cov)


def kmeans_step(centers, X, sample_weight=None):
    """(sums, counts, inertia, labels) of one Lloyd assignment."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    dist = ((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    labels = dist.argmin(axis=1)
    k = centers.shape[0]
    sums = np.array([(w[labels == c, None] * X[labels == c]).sum(axis=0) for c in range(k)])
    counts = np.array([w[labels == c].sum() for c in range(k)])
    inertia = float(w @ dist[np.arange(len(X)), labels])
    return sums.reshape(k, -1), counts, inertia, labels.astype(np.int32)


def kmeanspp(X, k, n_trials, uniforms, sample_weight=None):
    """(centers, indices) of k-means++ seeding from given uniforms, as
    scikit-learn's kmeans_plusplus draws them: the first center is
    RandomState.choice(n, p=w / w.sum()), each further one the best of
    n_trials rows drawn in proportion to w_i * D(x_i)^2."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cdf = (w / w.sum()).cumsum()
    cdf /= cdf[-1]
    indices = [int(cdf.searchsorted(uniforms[0], side="right"))]
    closest = ((X - X[indices[0]]) ** 2).sum(axis=1)
    potential = closest @ w
    for c in range(1, k):
        targets = np.asarray(uniforms[1 + (c - 1) * n_trials:1 + c * n_trials]) * potential
        rows = np.minimum(np.searchsorted(np.cumsum(w * closest), targets), n - 1)
        dist = np.minimum(closest, ((X[None, :, :] - X[rows][:, None, :]) ** 2).sum(axis=2))
        best = int(np.argmin(dist @ w))
        indices.append(int(rows[best]))
        closest = dist[best]
        potential = closest @ w
    return X[indices], np.array(indices, dtype=np.int64)


def m_step_map(covariance_type, stats, shift, shrinkage, mean, dof, scale):
    """(weights, means, covariances, prec_chol): the posterior modes under
    the conjugate prior (cem_m_step_map in cem.h; mclust's mstepVVV / EEE /
    VVI / VII with a prior), written from Fraley & Raftery (2007)."""
    k, d = shift.shape
    nk, sx, sxx = _stats_layout(stats, k, d)
    n_c = nk + NK_FLOOR
    kappa, mu_p = shrinkage, np.asarray(mean, dtype=np.float64)
    has_mean_prior = 1.0 if kappa > 0 else 0.0
    xbar = shift + sx / n_c[:, None]
    e = xbar - mu_p
    pull = kappa * n_c / (n_c + kappa)
    sym = lambda m: np.tril(m) + np.tril(m, -1).T
    if covariance_type in ("full", "tied"):
        s2 = sxx.reshape(-1, d, d)
        scatter = [sym(s2[c if covariance_type == "full" else 0]) - np.outer(sx[c], sx[c]) / n_c[c]
                   for c in range(k)]
        b = [scatter[c] + pull[c] * np.outer(e[c], e[c]) for c in range(k)]
        lam = sym(np.asarray(scale, dtype=np.float64).reshape(d, d))
        if covariance_type == "full":
            cov = np.array([(lam + b[c]) / (dof + n_c[c] + d + 1 + has_mean_prior)
                            for c in range(k)])
        else:
            # the tied statistics hold one pooled second moment: subtract
            # each component's own sx sx^T / n_c from it
            pooled = sym(s2[0]) - sum(np.outer(sx[c], sx[c]) / n_c[c] for c in range(k))
            b_sum = pooled + sum(pull[c] * np.outer(e[c], e[c]) for c in range(k))
            cov = (lam + b_sum) / (dof + n_c.sum() + d + 1 + k * has_mean_prior)
    elif covariance_type == "diag":
        b = sxx.reshape(k, d) - sx ** 2 / n_c[:, None] + pull[:, None] * e ** 2
        cov = (float(np.ravel(scale)[0]) + b) / (dof + n_c + 2 + has_mean_prior)[:, None]
    elif covariance_type == "tied_diag":  # mclust EEI: B_c's diagonals pooled
        b = sxx - (sx ** 2 / n_c[:, None]).sum(axis=0) + (pull[:, None] * e ** 2).sum(axis=0)
        cov = (float(np.ravel(scale)[0]) + b) / (dof + n_c.sum() + 2 + k * has_mean_prior)
    elif covariance_type == "tied_spherical":  # mclust EII: B_c's traces pooled
        b = sxx - (sx ** 2 / n_c[:, None]).sum() + (pull[:, None] * e ** 2).sum()
        cov = (float(np.ravel(scale)[0]) + b) / (dof + (n_c.sum() + k * has_mean_prior) * d + 2)
    else:
        b = sxx - (sx ** 2).sum(axis=1) / n_c + pull * (e ** 2).sum(axis=1)
        cov = (float(np.ravel(scale)[0]) + b) / (dof + (n_c + has_mean_prior) * d + 2)
    weights = n_c / n_c.sum()
    means = (n_c[:, None] * xbar + kappa * mu_p) / (n_c + kappa)[:, None]
    return weights, means, cov, precision_cholesky(covariance_type, cov)


def log_prior(covariance_type, means, covariances, shrinkage, mean, dof, scale):
    """The log density of the conjugate prior (cem_log_prior in cem.h) at
    means (k, d) and covariances, normalising constants included."""
    from math import lgamma
    k, d = means.shape
    kappa, nu, mu_p = shrinkage, dof, np.asarray(mean, dtype=np.float64)
    total = 0.0
    if covariance_type in ("full", "tied"):
        lam = np.asarray(scale, dtype=np.float64).reshape(d, d)
        covs = covariances.reshape(-1, d, d)
        log_gamma_d = 0.25 * d * (d - 1) * np.log(np.pi) + sum(
            lgamma(nu / 2 - j / 2) for j in range(d))
        for cov in covs:  # inverse-Wishart(nu, Lambda)
            total += (nu / 2 * np.linalg.slogdet(lam)[1] - nu * d / 2 * np.log(2) - log_gamma_d
                      - (nu + d + 1) / 2 * np.linalg.slogdet(cov)[1]
                      - np.trace(lam @ np.linalg.inv(cov)) / 2)
        mean_covs = [covs[c if covariance_type == "full" else 0] for c in range(k)]
    else:
        a, b = nu / 2, float(np.ravel(scale)[0]) / 2
        s = np.asarray(covariances, dtype=np.float64)
        total += np.sum(a * np.log(b) - lgamma(a) - (a + 1) * np.log(s) - b / s)
        per_feature = {"diag": lambda c: s[c], "spherical": lambda c: np.full(d, s[c]),
                       "tied_diag": lambda c: s, "tied_spherical": lambda c: np.full(d, s[0])}
        mean_covs = [np.diag(per_feature[covariance_type](c)) for c in range(k)]
    if kappa > 0:
        for c in range(k):  # N(mu_P, cov_c / kappa)
            cov = mean_covs[c] / kappa
            diff = means[c] - mu_p
            total += -0.5 * (d * np.log(2 * np.pi) + np.linalg.slogdet(cov)[1]
                             + diff @ np.linalg.solve(cov, diff))
    return float(total)


def _covariance_of(covariance_type, prec_chol, c, d):
    """Component c's full d x d covariance from its precision factor."""
    if covariance_type in ("full", "tied"):
        u = np.triu(prec_chol[c] if covariance_type == "full" else prec_chol)
        return np.linalg.inv(u @ u.T)
    p = {"diag": lambda: prec_chol[c], "spherical": lambda: np.full(d, prec_chol[c]),
         "tied_diag": lambda: prec_chol, "tied_spherical": lambda: np.full(d, prec_chol[0]),
         }[covariance_type]()
    return np.diag(1.0 / np.asarray(p, dtype=np.float64) ** 2)


def e_step_missing(covariance_type, weights, means, prec_chol, X, sample_weight=None,
                   shift=None):
    """e_step for rows with NaN entries (missing at random), written from the
    observed-data formulas (Ghahramani & Jordan 1994), in the covariance
    rather than the precision the C pass uses. For a row with observed set o
    and missing set m, component c:
      log-density   log w_c + log N(x_o | mu_o, S_oo)
      x_hat         x on o;  mu_m + S_mo S_oo^-1 (x_o - mu_o) on m
      second moment (x_hat - s)(x_hat - s)^T + [S_mm - S_mo S_oo^-1 S_om on m x m]
    and the statistics are those of cem.h with x_hat in place of x (diag and
    spherical keep the diagonal of the second moment; the conditional
    covariance of a missing coordinate is then its variance). A row with
    every value missing has log p = 0, responsibilities w_c / sum w and
    carries no weight in the statistics."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    k = means.shape[0]
    shift = means if shift is None else shift
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    second = int(np.prod(param_shape(covariance_type, k, d)))
    stats = np.zeros(2 + k + k * d + second)
    nk, sx, sxx = _stats_layout(stats, k, d)
    covs = [_covariance_of(covariance_type, prec_chol, c, d) for c in range(k)]
    resp = np.empty((n, k))
    log_density = np.empty(n)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    for i in range(n):
        miss = np.isnan(X[i])
        o, m = np.flatnonzero(~miss), np.flatnonzero(miss)
        if len(o) == 0:
            log_density[i] = 0.0
            resp[i] = weights / weights.sum()
            continue
        logp = np.empty(k)
        x_hat = np.empty((k, d))
        cond = np.zeros((k, d, d))
        for c in range(k):
            s = covs[c]
            s_oo = s[np.ix_(o, o)]
            e = X[i, o] - means[c, o]
            sol = np.linalg.solve(s_oo, e)
            _, logdet = np.linalg.slogdet(s_oo)
            logp[c] = log_w[c] - 0.5 * (len(o) * np.log(2 * np.pi) + logdet + e @ sol)
            x_hat[c] = X[i]
            x_hat[c, m] = means[c, m] + s[np.ix_(m, o)] @ sol
            cond[c][np.ix_(m, m)] = (s[np.ix_(m, m)]
                                     - s[np.ix_(m, o)] @ np.linalg.solve(s_oo, s[np.ix_(o, m)]))
        top = logp.max()
        log_density[i] = top + np.log(np.exp(logp - top).sum())
        resp[i] = np.exp(logp - log_density[i])
        stats[0] += sw[i]
        stats[1] += sw[i] * log_density[i]
        for c in range(k):
            a = sw[i] * resp[i, c]
            diff = x_hat[c] - shift[c]
            nk[c] += a
            sx[c] += a * diff
            moment = np.outer(diff, diff) + cond[c]
            if covariance_type == "full":
                sxx[c * d * d:(c + 1) * d * d] += a * np.tril(moment).reshape(-1)
            elif covariance_type == "tied":
                sxx += a * np.tril(moment).reshape(-1)
            elif covariance_type == "diag":
                sxx[c * d:(c + 1) * d] += a * np.diag(moment)
            elif covariance_type == "spherical":
                sxx[c] += a * np.trace(moment)
            elif covariance_type == "tied_diag":
                sxx += a * np.diag(moment)
            else:  # tied_spherical
                sxx[0] += a * np.trace(moment)
    return stats, resp, log_density


def impute(covariance_type, weights, means, prec_chol, X):
    """X with each NaN replaced by sum_c r_c(x_o) x_hat_m,c (rows with every
    value missing: the mixture mean sum_c w_c mu_c)."""
    X = np.array(X, dtype=np.float64)
    d = X.shape[1]
    k = means.shape[0]
    covs = [_covariance_of(covariance_type, prec_chol, c, d) for c in range(k)]
    _, resp, _ = e_step_missing(covariance_type, weights, means, prec_chol, X)
    for i in np.flatnonzero(np.isnan(X).any(axis=1)):
        miss = np.isnan(X[i])
        o, m = np.flatnonzero(~miss), np.flatnonzero(miss)
        value = np.zeros(len(m))
        for c in range(k):
            x_hat = means[c, m].copy()
            if len(o):
                s = covs[c]
                x_hat += s[np.ix_(m, o)] @ np.linalg.solve(s[np.ix_(o, o)], X[i, o] - means[c, o])
            value += resp[i, c] * x_hat
        X[i, m] = value
    return X
