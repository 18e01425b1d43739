"""Online (stepwise) EM: the running state that partial_fit carries between
chunks (Cappe & Moulines, 2009)."""
import numpy as np


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

    def step_size(self, learning_offset, learning_decay):
        """Weight of the next chunk: 1 for the first, then
        (learning_offset + n_steps) ** -learning_decay."""
        if self.running is None:
            return 1.0
        return (learning_offset + self.n_steps) ** -learning_decay

    def after(self, chunk, learning_offset, learning_decay):
        """(next state, the chunk's mean log-likelihood) after blending in
        chunk, the SufficientStatistics of one chunk under the current
        parameters."""
        reference = self.reference
        if reference is None:
            reference = np.tile(chunk.shift.mean(axis=0), (chunk.n_components, 1))
        chunk = chunk.moved_to(reference).scaled(1.0 / chunk.total_weight)
        step = self.step_size(learning_offset, learning_decay)
        running = chunk if self.running is None else \
            self.running.scaled(1.0 - step) + chunk.scaled(step)
        return OnlineEM(self.n_steps + 1, reference, running), chunk.mean_log_likelihood
