"""Online (stepwise) EM: the running state that partial_fit carries between
chunks (Cappe & Moulines, 2009)."""
import numpy as np

from cem._init import NK_FLOOR
from cem._stats import SufficientStatistics


class OnlineEM:
    """The state of stepwise EM after n_steps chunks.

    n_steps : int
        Chunks blended in so far.
    reference : ndarray (k, d) or None
        The fixed point every running moment is taken about (None until the
        first chunk fixes it), so that statistics of different steps add.
    running : SufficientStatistics or None
        The running average of the chunks' statistics, each normalised per
        unit weight; the parameters are its M-step.

    Immutable: ``after`` returns the next state, so a step whose M-step
    fails leaves the current one untouched.
    """

    __slots__ = ("n_steps", "reference", "running")

    def __init__(self, n_steps=0, reference=None, running=None):
        self.n_steps, self.reference, self.running = n_steps, reference, running

    @classmethod
    def continuing(cls, params, covariance_type, reg_covar, n_steps, lower_bound):
        """The state that continues a model set by fit, initialize or
        apply_m_step (params, float64 Parameters, after n_steps EM
        iterations): the running statistics are the model's own
        (model_statistics) and the step counter goes on from n_steps, so
        the next chunk moves the model by (learning_offset + n_steps) **
        -learning_decay of the way. A model of no iteration (n_steps == 0,
        as initialize leaves it) has no statistics worth keeping: the first
        chunk alone then sets the running statistics, under its parameters."""
        if n_steps == 0:
            return cls()
        running = model_statistics(params, covariance_type, reg_covar, lower_bound)
        reference = np.tile(running.shift.mean(axis=0), (running.n_components, 1))
        return cls(n_steps, reference, running.moved_to(reference))

    def step_size(self, learning_offset, learning_decay):
        """Weight of the next chunk: 1 for the first, then
        (learning_offset + n_steps) ** -learning_decay."""
        if self.running is None:
            return 1.0
        return (learning_offset + self.n_steps) ** -learning_decay

    def after(self, chunk, learning_offset, learning_decay):
        """(next state, the chunk's mean log-likelihood) after blending in
        chunk, the SufficientStatistics of one chunk under the current
        parameters. Raises ValueError if the blended statistics overflow."""
        reference = self.reference
        if reference is None:
            reference = np.tile(chunk.shift.mean(axis=0), (chunk.n_components, 1))
        step = self.step_size(learning_offset, learning_decay)
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, as a ValueError
            chunk = chunk.moved_to(reference).scaled(1.0 / chunk.total_weight)
            running = chunk if self.running is None else \
                self.running.scaled(1.0 - step) + chunk.scaled(step)
        if not np.isfinite(running.values).all():
            raise ValueError("partial_fit: the chunk's moments about the model's reference "
                             "point overflow; the chunk lies too far from the data seen so "
                             "far for its scale. Scale the data.")
        return OnlineEM(self.n_steps + 1, reference, running), chunk.mean_log_likelihood


def model_statistics(params, covariance_type, reg_covar, lower_bound=0.0):
    """The SufficientStatistics, per unit weight, whose M-step gives params
    back (to rounding): counts = weights, first moments zero about the
    means, second moments = counts x (covariance - reg_covar). They stand
    for the data a fitted model summarises when partial_fit continues it.
    params: float64 Parameters; lower_bound: the model's mean log-likelihood
    (recorded in the statistics, not used by the M-step)."""
    weights, means, covariances, _ = params
    k, d = means.shape
    counts = weights + NK_FLOOR  # the M-step divides by count + floor
    identity = np.eye(d)
    if covariance_type == "full":
        second = np.tril(counts[:, None, None] * (covariances - reg_covar * identity))
    elif covariance_type == "tied":
        second = np.tril(counts.sum() * (covariances - reg_covar * identity))
    elif covariance_type == "diag":
        second = counts[:, None] * (covariances - reg_covar)
    elif covariance_type == "spherical":
        second = counts * d * (covariances - reg_covar)
    elif covariance_type == "tied_diag":
        second = counts.sum() * (covariances - reg_covar)
    else:  # tied_spherical
        second = counts.sum() * d * (covariances - reg_covar)
    total = weights.sum()
    log_likelihood = lower_bound * total if np.isfinite(lower_bound) else 0.0
    values = np.concatenate([[total, log_likelihood], weights, np.zeros(k * d), second.ravel()])
    return SufficientStatistics(covariance_type, means, values)
