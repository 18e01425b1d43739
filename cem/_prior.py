"""The conjugate prior of MAP EM (Fraley & Raftery 2007; R's mclust
``priorControl()``): its hyperparameters, mclust's default values from a
pass over the data, their validation, and the MAP M-step and log prior
density of the C core (cem_m_step_map, cem_log_prior in cem.h, which state
the prior's densities exactly).

Covariance types map to mclust's models: full = VVV, tied = EEE,
diag = VVI, spherical = VII, tied_diag = EEI, tied_spherical = EII.
"""
import numbers
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from cem import _core
from cem._params import Parameters, ill_defined_message

HYPERPARAMETERS = ("shrinkage", "mean", "dof", "scale")
# mclust's defaultPrior: shrinkage 0.01
DEFAULT_SHRINKAGE = 0.01


@dataclass(frozen=True, eq=False)
class Prior:
    """Hyperparameters of the conjugate prior, named as mclust's
    ``priorControl()``; None takes mclust's default (``default_prior``).

    shrinkage : float >= 0 (kappa). Each mean_c ~ N(mean, cov_c / shrinkage):
        shrinkage pseudo-observations at ``mean``; 0 is a flat prior on the
        means. Default 0.01.
    mean : array (d,) (mu_P), the means' prior centre. Default the column
        means of the data.
    dof : float (nu), degrees of freedom: > d - 1 for 'full' and 'tied'
        (inverse-Wishart), > 0 for the variance types 'diag', 'spherical',
        'tied_diag' and 'tied_spherical' (inverse-gamma).
        Default d + 2.
    scale : for 'full' and 'tied' a symmetric positive definite (d, d)
        matrix Lambda_P (inverse-Wishart scale); for the variance types
        a float xi > 0 (each variance ~ inverse-gamma(dof / 2, xi / 2)).
        Default: the data's covariance (unbiased, as R's var) times
        k ** (-2 / d) (its diagonal if the total weight is <= d), or for
        the variance types the mean of the column variances times
        k ** (-2 / d) (mclust's defaultPrior gives EEI and EII the same
        values as VVI and VII).
    """

    shrinkage: Optional[float] = None
    mean: Optional[Any] = None
    dof: Optional[float] = None
    scale: Optional[Any] = None


DataSummary = namedtuple("DataSummary", "mean covariance total_weight")
DataSummary.__doc__ = """What the default prior needs from the data: column
means (d,), the unbiased covariance (d, d) (divided by total_weight - 1, as
R's var; by total_weight if that is <= 1) and the total weight."""


def is_valid_prior_param(value):
    """Whether value is an accepted GMM(prior=...) (checked at fit)."""
    return (value is None or isinstance(value, (bool, Prior, dict))
            or (isinstance(value, str) and value == "default"))


PRIOR_PARAM_EXPECTED = ("None, False, True, 'default', a cem.Prior or a dict with keys among "
                        f"{HYPERPARAMETERS}")


def wants_prior(value):
    """Whether GMM(prior=value) asks for MAP EM."""
    return value is not None and value is not False


def data_summary(source, n_threads):
    """The DataSummary of every row of source (any cem._sources source, so
    chunked and Dask data work): two passes of a one-component model, the
    first ('diag', about 0) for the column means and a scale, the second
    ('full', about those means) for the covariance without the
    cancellation of E[xx^T] - E[x]E[x]^T."""
    d = source.n_features
    ones = np.ones(1)
    stats = source.statistics("diag", (ones, np.zeros((1, d)), np.ones((1, d))), n_threads)
    total = stats[0]
    mean = stats[2 + 1:2 + 1 + d] / total
    variance = stats[2 + 1 + d:] / total - mean ** 2
    spread = np.sqrt(np.maximum(variance, 0.0))
    spread[~(spread > 0)] = 1.0
    prec_chol = np.diag(1.0 / spread)[None]
    stats = source.statistics("full", (ones, mean[None, :], prec_chol), n_threads)
    sx = stats[3:3 + d]
    second = stats[3 + d:].reshape(d, d)
    second = np.tril(second) + np.tril(second, -1).T
    mean = mean + sx / total
    scatter = second - np.outer(sx, sx) / total
    return DataSummary(mean, scatter / (total - 1.0 if total > 1.0 else total), float(total))


def default_prior(summary, n_components, covariance_type):
    """mclust's defaultPrior(data, G = n_components, modelName) as a Prior,
    from a DataSummary: shrinkage 0.01, mean the column means, dof d + 2,
    scale var(X) * k^(-2/d) (full/tied; diag(var) if the total weight is
    <= d), or sum(column variances) / d * k^(-2/d) (the variance types:
    diag, spherical, tied_diag, tied_spherical = mclust's VVI, VII, EEI, EII)."""
    d = summary.mean.shape[0]
    factor = (1.0 / n_components) ** (2.0 / d)
    covariance = summary.covariance
    if covariance_type in ("full", "tied"):
        scale = factor * (covariance if summary.total_weight > d else
                          np.diag(np.diag(covariance)))
    else:
        scale = factor * np.trace(covariance) / d
    return Prior(shrinkage=DEFAULT_SHRINKAGE, mean=summary.mean.copy(), dof=d + 2.0,
                 scale=scale)


def _as_prior(value):
    """A Prior from GMM(prior=value) (True / 'default' / dict / Prior)."""
    if isinstance(value, Prior):
        return value
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(HYPERPARAMETERS), key=str)
        if unknown:
            raise ValueError(f"Unknown prior hyperparameter(s) {unknown}; the prior takes "
                             f"{HYPERPARAMETERS}.")
        return Prior(**value)
    return Prior()


def _real(name, value, low, low_inclusive):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or value < low or (value == low and not low_inclusive):
        bound = f">= {low}" if low_inclusive else f"> {low}"
        raise ValueError(f"The prior's {name!r} must be a finite real number {bound}. "
                         f"Got {value!r} instead.")
    return float(value)


def validated(prior, d, covariance_type):
    """The complete Prior (every hyperparameter given) as float64 arrays, or
    a ValueError naming the hyperparameter that is out of its domain."""
    shrinkage = _real("shrinkage", prior.shrinkage, 0.0, True)
    try:
        mean = np.array(prior.mean, dtype=np.float64)
    except (TypeError, ValueError):
        mean = None
    if mean is None or mean.shape != (d,) or not np.all(np.isfinite(mean)):
        raise ValueError(f"The prior's 'mean' must be a finite array of shape ({d},) (one value "
                         f"per feature). Got {prior.mean!r} instead.")
    matrix = covariance_type in ("full", "tied")
    dof = _real("dof", prior.dof, d - 1.0 if matrix else 0.0, False)
    if matrix:
        try:
            scale = np.array(prior.scale, dtype=np.float64)
        except (TypeError, ValueError):
            scale = None
        ok = scale is not None and scale.shape == (d, d) and np.all(np.isfinite(scale)) \
            and np.allclose(scale, scale.T, rtol=1e-10, atol=0.0)
        if ok:
            try:
                np.linalg.cholesky(scale)
            except np.linalg.LinAlgError:
                ok = False
        if not ok:
            raise ValueError(f"The prior's 'scale' must be a symmetric positive definite "
                             f"({d}, {d}) matrix for covariance_type={covariance_type!r} (a "
                             "constant feature makes the default one singular: drop the "
                             "feature or give scale).")
    else:
        scale_value = prior.scale
        if isinstance(scale_value, (list, tuple, np.ndarray)) and np.size(scale_value) == 1:
            scale_value = np.asarray(scale_value).reshape(()).item()  # [xi] as xi
        scale = np.array([_real("scale", scale_value, 0.0, False)])
    return Prior(shrinkage=shrinkage, mean=mean, dof=dof, scale=scale)


def resolve(value, source, n_components, covariance_type, n_threads):
    """The validated, complete Prior GMM(prior=value) fits source with, or
    None for maximum likelihood. Hyperparameters not given take mclust's
    defaults, computed from one pass over source (only if one is missing)."""
    if not wants_prior(value):
        return None
    prior = _as_prior(value)
    d = source.n_features
    if any(getattr(prior, name) is None for name in HYPERPARAMETERS):
        default = default_prior(data_summary(source, n_threads), n_components, covariance_type)
        prior = Prior(**{name: getattr(default, name) if getattr(prior, name) is None
                         else getattr(prior, name) for name in HYPERPARAMETERS})
    return validated(prior, d, covariance_type)


def m_step_map(covariance_type, stats, shift, prior, dtype):
    """Posterior-mode Parameters (float64) from flat statistics about shift
    under a validated prior; scikit-learn's ill-defined-covariance
    ValueError if a covariance still comes out singular."""
    try:
        return Parameters(*_core.m_step_map(covariance_type, stats, shift, prior.shrinkage,
                                            prior.mean, prior.dof, prior.scale))
    except _core.CoreError as exc:
        if exc.status == _core.STATUS_NOT_POSITIVE_DEFINITE:
            raise ValueError(ill_defined_message(dtype)) from None
        raise ValueError(f"MAP M-step failed: {exc}") from None


def log_prior(covariance_type, params, prior):
    """log p(means, covariances) under a validated prior (exact, see
    cem_log_prior), for the log-posterior EM reports."""
    try:
        return _core.log_prior(covariance_type, params.means, params.precisions_cholesky,
                               prior.shrinkage, prior.mean, prior.dof, prior.scale)
    except _core.CoreError as exc:
        raise ValueError(f"the log prior density is not finite: {exc}") from None
