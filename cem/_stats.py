"""Sufficient statistics as a public, mergeable Python object.

EM's M-step needs only the sufficient statistics of the data under the
current parameters, and statistics of disjoint sets of rows add. So any
engine that can map a function over chunks of rows and add the results
(Dask, Ray, Spark, a loop over files) can run exact EM with cem:

    stats = sum(gmm.sufficient_statistics(chunk) for chunk in chunks)
    gmm.apply_m_step(stats)

The numbers are the C core's flat layout (cem/include/cem.h): total weight,
weighted log-likelihood, counts nk, and first and second moments taken about
a per-component shift (the means of the model that produced them).
"""
import numpy as np


class SufficientStatistics:
    """The sufficient statistics of some rows under a Gaussian mixture.

    Attributes
    ----------
    covariance_type : str
    shift : ndarray (k, d)
        The point of each component the moments are taken about (the means
        of the model that computed them).
    values : ndarray
        The C core's flat layout (see cem.h): [total weight, weighted
        log-likelihood, nk (k), sx (k*d), second moments].

    Add two with ``+`` (or ``sum([...])``): the result is the statistics of
    the union of their rows. Pickles, so it travels between processes.
    """

    __slots__ = ("covariance_type", "shift", "values")

    def __init__(self, covariance_type, shift, values):
        self.covariance_type = covariance_type
        self.shift = np.ascontiguousarray(shift, dtype=np.float64)
        self.values = np.ascontiguousarray(values, dtype=np.float64)

    def __getstate__(self):
        return self.covariance_type, self.shift, self.values

    def __setstate__(self, state):
        self.covariance_type, self.shift, self.values = state

    @property
    def n_components(self):
        return self.shift.shape[0]

    @property
    def total_weight(self):
        """Sum of the rows' weights (their number without sample_weight)."""
        return float(self.values[0])

    @property
    def log_likelihood(self):
        """Weighted sum of the rows' log-densities under the model."""
        return float(self.values[1])

    @property
    def mean_log_likelihood(self):
        """Per-row average log-likelihood: the lower bound EM reports for the
        parameters that produced these statistics."""
        return self.log_likelihood / self.total_weight

    @property
    def counts(self):
        """Weighted responsibility mass of each component, (k,)."""
        k = self.n_components
        return self.values[2:2 + k].copy()

    def _check_compatible(self, other):
        if not isinstance(other, SufficientStatistics):
            raise TypeError(f"cannot add SufficientStatistics and {type(other).__name__}")
        if other.covariance_type != self.covariance_type or other.shift.shape != self.shift.shape:
            raise ValueError("cannot add statistics of different covariance types or shapes")

    def __add__(self, other):
        if isinstance(other, int) and other == 0:  # the start value of sum()
            return self
        self._check_compatible(other)
        if not np.array_equal(other.shift, self.shift):
            other = other.moved_to(self.shift)
        return SufficientStatistics(self.covariance_type, self.shift, self.values + other.values)

    __radd__ = __add__

    def scaled(self, factor):
        """The statistics with every entry multiplied by factor (as if each
        row's weight were multiplied by it)."""
        return SufficientStatistics(self.covariance_type, self.shift, self.values * factor)

    def moved_to(self, shift):
        """The same statistics with the moments taken about another shift
        (k, d): exact algebra, x - s' = (x - s) + (s - s')."""
        shift = np.ascontiguousarray(shift, dtype=np.float64)
        if shift.shape != self.shift.shape:
            raise ValueError(f"shift must have shape {self.shift.shape}")
        k, d = shift.shape
        v = self.values.copy()
        nk = v[2:2 + k]
        sx = v[2 + k:2 + k + k * d].reshape(k, d)
        second = v[2 + k + k * d:]
        delta = self.shift - shift
        cov = self.covariance_type
        if cov in ("full", "tied"):
            s2 = second.reshape(-1, d, d)
            s2 = np.tril(s2) + np.swapaxes(np.tril(s2, -1), 1, 2)  # the full symmetric matrices
            added = (sx[:, :, None] * delta[:, None, :] + delta[:, :, None] * sx[:, None, :]
                     + nk[:, None, None] * delta[:, :, None] * delta[:, None, :])
            s2 = s2 + (added if cov == "full" else added.sum(axis=0, keepdims=True))
            second[:] = np.tril(s2).reshape(-1)
        elif cov == "diag":
            second[:] = (second.reshape(k, d) + 2 * sx * delta + nk[:, None] * delta ** 2).ravel()
        elif cov == "spherical":
            second[:] = second + 2 * (sx * delta).sum(axis=1) + nk * (delta ** 2).sum(axis=1)
        elif cov == "tied_diag":  # the diag terms pooled over components
            second[:] = second + (2 * sx * delta + nk[:, None] * delta ** 2).sum(axis=0)
        else:  # tied_spherical: pooled over components and features
            second[:] = second + 2 * (sx * delta).sum() + nk @ (delta ** 2).sum(axis=1)
        sx += nk[:, None] * delta
        return SufficientStatistics(cov, shift, v)

    def __repr__(self):
        return (f"SufficientStatistics(covariance_type={self.covariance_type!r}, "
                f"n_components={self.n_components}, n_features={self.shift.shape[1]}, "
                f"total_weight={self.total_weight:g})")
