"""Accelerated EM: SQUAREM (Varadhan & Roland 2008, scheme S3) with
safeguards that keep EM's guarantee that the bound never decreases.

EM is a fixed-point map theta -> M(theta) (one E-step pass over the data,
then the M-step) that converges linearly, slowly when components overlap.
SQUAREM takes two EM steps theta1 = M(theta0), theta2 = M(theta1), and
extrapolates along them:

    r = theta1 - theta0,  v = theta2 - 2 theta1 + theta0,
    alpha = ||r|| / ||v||  (S3),  theta' = theta0 + 2 alpha r + alpha**2 v,

(alpha = 1 gives theta2 itself), then one more EM step from theta', whose
pass also yields theta''s log-likelihood for the safeguard below. The next
cycle starts at theta' itself, not at M(theta') as in the SQUAREM package
(there a "stabilisation" step): its first EM step, M(theta'), is already
known from that pass, so a cycle after the first costs two passes instead
of three. Safeguards:

- theta is a vector of unconstrained coordinates (``parameters_to_vector``):
  centred log-weights, means, and the Cholesky factor of each covariance
  with its diagonal on a log scale (full, tied) or the log-variances (diag,
  spherical), so any extrapolated vector maps back to weights on the
  simplex and positive-definite covariances;
- alpha is clipped to [1, step_max]; step_max starts at 1, grows by
  STEP_FACTOR each time alpha reaches it and the step is taken, and shrinks
  by STEP_SHRINK (not below 1) when an extrapolated point is rejected; it
  never exceeds STEP_MAX (the SQUAREM package's rule, with a hard cap and
  a gentler shrink);
- theta' is rejected, and the cycle falls back to plain EM, one more EM
  step from theta2 (the cycle is then three EM steps, and the next starts
  at theta2 with its first step taken), when it is not a model the M-step
  could have produced (some coordinate not finite, a weight not positive, a covariance with an
  eigenvalue below reg_covar), when it or the responsibilities under it
  shrink a component's weight below 1/WEIGHT_SHRINK of theta2's, when the
  pass or the M-step at theta' fails, or when its mean log-likelihood
  (which that pass yields anyway) is below theta1's.

One accelerated *iteration* is one such cycle. The first costs 3 passes
over the data (its two EM steps and the pass at theta', or at theta2 when
there is no extrapolation), every later one 2 (its first EM step is the
previous cycle's last pass); a theta' rejected after its pass adds one. Its
lower bound is the mean log-likelihood of the point whose M-step gave the
iteration's parameters (theta' if accepted, else theta2), so, as in plain
EM, ``lower_bound_`` is the bound before the last M-step, the lower bounds
of successive iterations never decrease (exactly so where EM is an exact
ascent method, reg_covar=0; with reg_covar > 0 the M-step is not quite one,
see tests/test_acceleration.py), and tol applies to their change: the
change over at least two EM steps (a rejected cycle's) or two EM steps and
an extrapolation, as before the pass was saved.
"""
import numpy as np

from cem import _core
from cem._params import Parameters
from cem._shapes import param_shape

# step_max grows by this factor when an accepted step reached it: the SQUAREM
# package's mstep default.
STEP_FACTOR = 4.0
# ... and shrinks by this one when a step is rejected. Halving, not the
# package's quartering: the accepted steps after a rejection are usually
# still long, and on the benchmark set (asv_bench/acceleration_compare.py,
# and two other draws of it) halving took fewer passes at both tols.
STEP_SHRINK = 2.0
# Hard cap on the step length: beyond it a step is an extrapolation far
# outside the region where the two EM steps say anything.
STEP_MAX = 4.0 ** 6
# An extrapolation may shrink a component's weight to no less than the EM
# step's over this factor (see check_no_component_vanishes).
WEIGHT_SHRINK = 2.0
ACCELERATIONS = ("squarem",)  # the keys of SCHEMES (at the end of the module)


class NotAModel(ValueError):
    """An extrapolated vector that does not map back to a valid mixture."""


def _tril_indices(d):
    return np.tril_indices(d, -1)


def parameters_to_vector(covariance_type, weights, means, covariances):
    """The unconstrained coordinates of a mixture as one float64 vector:
    log-weights minus their mean (k), the means (k*d), then per covariance
    the log of its Cholesky factor's diagonal (d) and its strictly lower
    triangle (d(d-1)/2) for full (k such blocks) and tied (one), or the
    log-variances (k*d diag, k spherical). Raises NotAModel if a weight is
    zero (a user's weights_init may hold one) or a covariance is not
    positive definite."""
    if not (np.asarray(weights) > 0).all():
        raise NotAModel("a weight is zero")
    log_weights = np.log(weights)
    parts = [log_weights - log_weights.mean(), np.ravel(means)]
    if covariance_type in ("full", "tied"):
        d = means.shape[1]
        try:
            chol = np.linalg.cholesky(np.reshape(covariances, (-1, d, d)))
        except np.linalg.LinAlgError:
            raise NotAModel("a covariance is not positive definite") from None
        below = _tril_indices(d)
        parts.append(np.log(np.diagonal(chol, axis1=1, axis2=2)).ravel())
        parts.append(chol[:, below[0], below[1]].ravel())
    else:
        if not (np.asarray(covariances) > 0).all():
            raise NotAModel("a variance is not positive")
        parts.append(np.log(np.ravel(covariances)))
    return np.concatenate(parts)


def vector_to_parameters(covariance_type, vector, k, d):
    """(weights, means, covariances) of a coordinate vector
    (parameters_to_vector's inverse): softmax weights, covariances L L^T of
    the Cholesky factors L (full, tied) or exp of the log-variances.
    Raises NotAModel when the vector is not finite, a weight underflows or
    a covariance overflows (without floating-point warnings: they would be
    errors under warnings filters, and the point is only rejected)."""
    if not np.isfinite(vector).all():
        raise NotAModel("non-finite coordinates")
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        return _vector_to_parameters(covariance_type, vector, k, d)


def _vector_to_parameters(covariance_type, vector, k, d):
    logits = vector[:k]
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    if not (weights > 0).all():
        raise NotAModel("a weight underflows to zero")
    means = vector[k:k + k * d].reshape(k, d)
    rest = vector[k + k * d:]
    if covariance_type in ("full", "tied"):
        m = k if covariance_type == "full" else 1
        chol = np.zeros((m, d, d))
        diagonal = np.arange(d)
        chol[:, diagonal, diagonal] = np.exp(rest[:m * d].reshape(m, d))
        below = _tril_indices(d)
        chol[:, below[0], below[1]] = rest[m * d:].reshape(m, -1)
        covariances = chol @ np.swapaxes(chol, 1, 2)
        if covariance_type == "tied":
            covariances = covariances[0]
    else:
        covariances = np.exp(rest).reshape(param_shape(covariance_type, k, d))
    if not np.isfinite(covariances).all():
        raise NotAModel("a covariance overflows")
    return weights, np.ascontiguousarray(means), np.ascontiguousarray(covariances)


def check_in_m_step_image(covariance_type, covariances, reg_covar):
    """NotAModel unless every covariance has all eigenvalues >= reg_covar
    (up to rounding), as every covariance the M-step makes (a scatter matrix
    plus reg_covar I): an extrapolation must not shrink a component below
    what EM itself could reach (a spike on a few rows)."""
    if covariance_type in ("full", "tied"):
        d = covariances.shape[-1]
        eigenvalues = np.linalg.eigvalsh(np.reshape(covariances, (-1, d, d)))
        # eigvalsh is accurate to a few ulps of the largest eigenvalue
        slack = 64 * np.finfo(np.float64).eps * eigenvalues[:, -1]
        low = (eigenvalues[:, 0] < reg_covar - slack).any() or (eigenvalues[:, 0] <= 0).any()
    else:
        low = (covariances < reg_covar * (1 - 1e-12)).any() or (covariances <= 0).any()
    if low:
        raise NotAModel("a covariance is below reg_covar")


def check_no_component_vanishes(weights, em_weights):
    """NotAModel if some weight is below 1/WEIGHT_SHRINK of the plain EM
    step's: EM shrinks a component's weight gradually, and an extrapolation
    that drops it to a few rows (its weight, or, through a shrunken
    covariance, its responsibilities: checked on theta' and on M(theta'))
    lets its covariance collapse onto them (a spike of higher likelihood,
    then a worse optimum, or with reg_covar=0 a singular fit) where EM
    would have kept the component."""
    if (weights * WEIGHT_SHRINK < em_weights).any():
        raise NotAModel("a component's weight would vanish")


def extrapolated_model(covariance_type, vector, k, d, reg_covar):
    """The mixture (weights, means, covariances, prec_chol) at an extrapolated
    coordinate vector; NotAModel if it is not one the M-step could make."""
    weights, means, covariances = vector_to_parameters(covariance_type, vector, k, d)
    check_in_m_step_image(covariance_type, covariances, reg_covar)
    try:
        prec_chol = _core.precision_cholesky(covariance_type, covariances, k, d)
    except _core.CoreError:
        raise NotAModel("a covariance is not positive definite") from None
    return weights, means, covariances, prec_chol


def step_length(r, v, step_max):
    """SQUAREM's S3 step length ||r|| / ||v||, clipped to [1, step_max]
    (1 when v vanishes or the ratio is not finite)."""
    r_norm, v_norm = np.linalg.norm(r), np.linalg.norm(v)
    if not (v_norm > 0 and np.isfinite(r_norm) and np.isfinite(v_norm)):
        return 1.0
    return float(min(max(r_norm / v_norm, 1.0), step_max))


class Squarem:
    """The SQUAREM iteration loop for one EM run (see the module docstring).

    em: the cem._em.EM driver (its covariance_type, n_components,
    reg_covar, tol, max_iter, n_threads, reporter and m_step);
    e_step: (source, params) -> (flat statistics, the shift of their
    moments), raising ValueError on a failed pass (cem._em.e_step_statistics
    with the driver's settings). Bounds are the driver's (em.lower_bound:
    the mean log-posterior with a prior), so the safeguard compares what EM
    climbs.
    """

    def __init__(self, em, e_step):
        self.em, self.e_step = em, e_step
        self.step_max = 1.0
        # (P, M(P), the bound at P) of the last cycle's last pass, at the
        # point P whose M-step that cycle returned: the next cycle starts
        # at P, its first EM step already taken
        self.last = None

    def _em_step(self, source, params):
        """One plain EM step: (the bound at params, M(params))."""
        stats, shift = self.e_step(source, params)
        return self.em.lower_bound(stats, params), self.em.m_step(stats, shift, source.dtype)

    def _vector(self, params):
        return parameters_to_vector(self.em.covariance_type, params.weights, params.means,
                                    params.covariances)

    def _try_extrapolated(self, source, point):
        """(the bound at point, M(point)), point a Parameters, or None if
        the pass or the M-step at it fails (the model is then rejected, not
        the fit)."""
        try:
            stats, shift = self.e_step(source, point)
        except ValueError:
            return None
        lower_bound = self.em.lower_bound(stats, point)
        if not np.isfinite(lower_bound):
            return None
        try:
            return lower_bound, self.em.m_step(stats, shift, source.dtype)
        except ValueError:
            return None

    def _first_steps(self, source, params):
        """The two EM steps of a cycle from params: (x0, theta1, bound1,
        theta2, passes), theta1 = M(x0), theta2 = M(theta1), bound1 the
        bound at theta1. x0 is the point of the previous cycle's last pass
        when params is its M-step (that pass was this cycle's first EM
        step: one pass), else params itself (two passes)."""
        last, self.last = self.last, None
        if last is not None and last[1] is params:
            x0, theta1, passes = last[0], params, 1
        else:
            x0, passes = params, 2
            _, theta1 = self._em_step(source, params)
        bound1, theta2 = self._em_step(source, theta1)
        return x0, theta1, bound1, theta2, passes

    def _em_step_from(self, source, point, passes, accepted):
        """The end of a cycle at point: its EM step (one pass), kept as the
        next cycle's first; (M(point), the bound at point, passes + 1,
        accepted)."""
        bound, following = self._em_step(source, point)
        self.last = (point, following, bound)
        return following, bound, passes + 1, accepted

    def cycle(self, source, params):
        """One accelerated iteration from params: (next params, its lower
        bound, passes used, whether the extrapolation was accepted). Without
        an accepted extrapolation it is three plain EM steps (two when the
        first was the previous cycle's), so its change of the bound always
        spans at least two EM steps."""
        em = self.em
        x0, theta1, bound1, theta2, passes = self._first_steps(source, params)
        try:
            v0, v1, v2 = self._vector(x0), self._vector(theta1), self._vector(theta2)
        except NotAModel:  # e.g. a zero weight in weights_init: no extrapolation this time
            return self._em_step_from(source, theta2, passes, False)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite: rejected below
            r = v1 - v0
            v = v2 - 2 * v1 + v0
            alpha = step_length(r, v, self.step_max)
            extrapolated = v0 + 2 * alpha * r + alpha ** 2 * v
        at_cap = alpha == self.step_max
        k, d = params.means.shape
        if alpha == 1.0:
            # theta' would be theta2: take it exactly, and its EM step
            if at_cap:
                self.step_max = min(STEP_MAX, self.step_max * STEP_FACTOR)
            return self._em_step_from(source, theta2, passes, False)
        found = None
        try:
            # with a prior the M-step adds no reg_covar: no floor to check
            floor = 0.0 if em.prior is not None else em.reg_covar
            point = Parameters(*extrapolated_model(em.covariance_type, extrapolated, k, d,
                                                   floor))
            check_no_component_vanishes(point.weights, theta2.weights)
        except NotAModel:
            point = None
        if point is not None:
            passes += 1
            found = self._try_extrapolated(source, point)
        if found is not None:
            try:  # the responsibilities under theta' keep every component too
                check_no_component_vanishes(found[1].weights, theta2.weights)
            except NotAModel:
                found = None
        if found is None or found[0] < bound1:
            self.step_max = max(1.0, self.step_max / STEP_SHRINK)
            return self._em_step_from(source, theta2, passes, False)
        if at_cap:
            self.step_max = min(STEP_MAX, self.step_max * STEP_FACTOR)
        bound, theta3 = found
        self.last = (point, theta3, bound)
        return theta3, bound, passes, True

    def iterate(self, source, params, lower_bound):
        """Accelerated iterations from params until the lower bound changes
        by less than tol or max_iter iterations: (params, n_iter,
        lower_bound, lower_bounds, converged, n_passes)."""
        em = self.em
        lower_bounds = []
        converged = False
        n_passes = 0
        for n_iter in range(1, em.max_iter + 1):
            prev_lower_bound = lower_bound
            params, lower_bound, passes, _ = self.cycle(source, params)
            n_passes += passes
            lower_bounds.append(lower_bound)
            change = lower_bound - prev_lower_bound
            em.reporter.iteration_end(n_iter, change)
            if abs(change) < em.tol:
                converged = True
                break
        return params, n_iter, lower_bound, lower_bounds, converged, n_passes


# acceleration name -> the class whose iterate() runs it
SCHEMES = {"squarem": Squarem}
