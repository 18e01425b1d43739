"""Sample weights for fitting, brought into a safe range.

A fit depends only on the relative sample weights, but the passes and the
M-step square and sum weighted moments (a weight of 1e200 overflows) and
add scikit-learn's absolute floor of 10 * eps to every count (with all
weights near 1e-100 the floor outweighs the data). So fit, initialize and
partial_fit multiply the weights by a power of two that brings the largest
into [1, 2) when it lies outside SAFE_MAX_WEIGHT_RANGE. A power of two is
exact: the rescaled weights are the same numbers in another binade, and
weights inside the range are left untouched, bit for bit.
"""
import numpy as np

# Largest weight kept as it is. Above 2**500, weighted squared moments of
# data of ordinary scale approach the float64 limit (about 2**1024); below
# 2**-20 the count floor 10 * eps (2.2e-15) reaches 2e-9 of a row's weight.
SAFE_MAX_WEIGHT_RANGE = (2.0 ** -20, 2.0 ** 500)


def _power_of_two_factor(largest):
    """2**e with largest * 2**e in [1, 2) if largest (a weight maximum) is
    outside SAFE_MAX_WEIGHT_RANGE, else None (also for 0, NaN, infinity)."""
    low, high = SAFE_MAX_WEIGHT_RANGE
    if not np.isfinite(largest) or largest <= 0 or low <= largest <= high:
        return None
    _, exponent = np.frexp(largest)  # largest = m * 2**exponent, m in [0.5, 1)
    return np.ldexp(1.0, 1 - int(exponent))


def rescaled_for_fitting(sample_weight):
    """sample_weight multiplied by 2**e so that its largest entry lies in
    [1, 2), when that largest entry is outside SAFE_MAX_WEIGHT_RANGE; else
    sample_weight unchanged. A Dask array is rescaled lazily (its maximum
    costs one pass over the weights). Anything else that is not a 1-D
    array-like of finite non-negative numbers with a positive maximum
    (None, a scalar, bad input) is returned unchanged, for the data source
    to accept or reject with its own message. Weights yielded by a callable
    chunk source are not seen here and are not rescaled."""
    if sample_weight is None:
        return sample_weight
    if hasattr(sample_weight, "compute"):  # dask
        if (sample_weight.ndim != 1 or np.dtype(sample_weight.dtype).kind not in "biuf"
                or sample_weight.size == 0):
            return sample_weight
        factor = _power_of_two_factor(float(sample_weight.max().compute()))
        return sample_weight if factor is None else sample_weight.astype(np.float64) * factor
    # np.asarray, not np.ndim: an array-like need only support __array__
    w = np.asarray(sample_weight)
    if w.ndim != 1 or w.dtype.kind not in "biuf" or w.size == 0:
        return sample_weight
    w = w.astype(np.float64, copy=False)
    if not np.isfinite(w).all() or (w < 0).any():
        return sample_weight
    factor = _power_of_two_factor(w.max())
    return sample_weight if factor is None else w * factor
