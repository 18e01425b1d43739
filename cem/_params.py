"""Mixture parameters: their representations and the M-step that makes them.

The C core reads (weights, means, precision Cholesky factors) as contiguous
float64; scikit-learn's attributes also hold covariances and precisions, in
the dtype of the fitted data. This module converts between the two and runs
the M-step (statistics -> parameters) with scikit-learn's error message.
"""
from collections import namedtuple

import numpy as np

from cem import _core

Parameters = namedtuple("Parameters", "weights means covariances precisions_cholesky")
Parameters.__doc__ = """One mixture's parameters, float64: weights (k,), means (k, d),
covariances and precisions_cholesky of the covariance_type's shape (see GMM)."""


def ill_defined_message(dtype):
    """scikit-learn's message for a covariance that is not positive definite."""
    message = ("Fitting the mixture model failed because some components have "
               "ill-defined empirical covariance (for instance caused by singleton "
               "or collapsed samples). Try to decrease the number of components, "
               "increase reg_covar, or scale the input data.")
    if dtype == np.float32:
        message += (" The numerical accuracy can also be improved by passing float64"
                    " data instead of float32.")
    return message


def m_step(covariance_type, stats, shift, reg_covar, dtype):
    """Parameters (float64) from flat statistics about shift (k, d); a
    ValueError with scikit-learn's wording when a covariance is ill defined
    (dtype, the data's, chooses the advice)."""
    try:
        return Parameters(*_core.m_step(covariance_type, stats, shift, float(reg_covar)))
    except _core.CoreError as exc:
        raise m_step_error(exc, dtype) from None


def m_step_error(exc, dtype):
    """The ValueError for a failed C M-step (a CoreError): scikit-learn's
    message when a covariance is ill defined."""
    if exc.status == _core.STATUS_NOT_POSITIVE_DEFINITE:
        return ValueError(ill_defined_message(dtype))
    return ValueError(f"M-step failed: {exc}")


def _reverse_rows_and_columns(a):
    return a[..., ::-1, ::-1]


def prec_chol_from_precisions(precisions, covariance_type):
    """Upper-triangular U with U U^T = precision (scikit-learn's convention),
    via the Cholesky factor of the row- and column-reversed matrix."""
    if covariance_type not in ("full", "tied"):  # variances: elementwise
        return np.sqrt(precisions)
    flip = _reverse_rows_and_columns
    return np.ascontiguousarray(flip(np.linalg.cholesky(flip(precisions))))


def covariances_from_precisions(precisions, covariance_type):
    if covariance_type not in ("full", "tied"):
        return 1.0 / precisions
    return np.linalg.inv(precisions)


def precisions_from_prec_chol(prec_chol, covariance_type):
    """The precisions U U^T of the precision Cholesky factors U."""
    if covariance_type == "full":
        return prec_chol @ np.swapaxes(prec_chol, 1, 2)
    if covariance_type == "tied":
        return prec_chol @ prec_chol.T
    return prec_chol ** 2


def as_float64(params):
    """Each array of params as a contiguous float64 array (no copy if it is one)."""
    return type(params)(*(np.ascontiguousarray(a, dtype=np.float64) for a in params))


def core_view(weights, means, prec_chol):
    """(weights, means, prec_chol) as the C core reads them: float64, contiguous."""
    return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in (weights, means, prec_chol))


def fitted_attributes(params, covariance_type, dtype):
    """scikit-learn's parameter attributes (name -> array in dtype) of params."""
    weights, means, covariances, prec_chol = (np.asarray(a, dtype=dtype) for a in params)
    return {"weights_": weights, "means_": means, "covariances_": covariances,
            "precisions_cholesky_": prec_chol,
            "precisions_": precisions_from_prec_chol(prec_chol, covariance_type)}
