"""When are the statistics of a pass too far from their shift to be exact?

The C pass accumulates moments about a shift s (the model's means): per
component c and feature j, nk = sum a, sx = sum a (x - s) and the second
moment sxx = sum a (x - s)^2 (diagonal entries). The M-step then forms the
variance as sxx / nk - (sx / nk)^2. Both terms carry a relative rounding
error of a few eps, so the variance is exact to about

    eps * (sxx / nk) / variance = eps / (1 - q),   q = (sx / nk)^2 / (sxx / nk),

i.e. -log10(1 - q) digits are lost to cancellation. q near 1 means the shift
is far from where the component's rows are (the first step from means far
from the data, or a warm start on shifted data): there cem 0.1 returned
covariances wrong in the third digit, or "ill-defined" errors.

`needs_recentre` (the C core's cem_moments_cancel) says when to redo the
pass about better centers
(cem._core.e_step(..., shift=centers) with centers = shift + sx / nk, then
cem._core.m_step(..., stats, centers, ...)). The threshold, 1 - q < 2**-10,
allows at most ~10 bits (3 digits) of cancellation, so the redone case costs
~1e-13 relative at worst and still sits far inside the 1e-8 agreement with
scikit-learn; ordinary EM steps (mean moves of a few standard deviations,
q <= 0.99) never trigger it, so their results stay bit for bit as they are.
"""
import numpy as np

from cem import _core


def needs_recentre(stats, shift, covariance_type):
    """True if the moments in `stats` (flat, cem.h layout, taken about
    `shift`, shape (k, d)) cancel so much that the M-step's covariances would
    be inexact: some component's (or, for "tied", the pooled) variance of
    some feature has 1 - q < 2**-10, q as in the module docstring. The rule
    is the C core's (cem_moments_cancel), the one cem_fit applies too."""
    k, d = np.shape(shift)
    return _core.moments_cancel(covariance_type, stats, k, d)
