"""What a fit does when a component degenerates: GMM's on_degenerate.

'raise' (the default) is scikit-learn's behaviour: the M-step's
"ill-defined empirical covariance" ValueError ends the fit. 'reseed' keeps
the fit going. The rules, one EM run (one initialisation) at a time:

- A component is degenerate after an M-step when its covariance is not
  positive definite (the C M-step's own test, applied to the component
  alone) or is singular to rounding though it passed that test
  (SINGULAR_RATIO: 'raise' goes on with such a covariance, whose log-
  densities are rounding noise) (reason 'ill_defined_covariance'), or when
  its responsibility mass nk is below the weight of MIN_COMPONENT_ROWS
  rows (total weight / number of rows; reason 'collapsed_weight'). A
  'tied' covariance is pooled over all components, so no single component
  can be re-seeded to mend it: when it is ill defined the fit raises,
  saying so.
- At initialisation there is no fitted model yet: a component whose initial
  covariance is ill defined keeps its initial mean and weight and takes the
  covariance of the whole data (+ reg_covar) (action 'widened').
- In an EM iteration, the degenerate components are re-seeded from the
  rows the current model (the one the E-step just evaluated) explains
  worst: one extra pass over the source keeps the j * m rows of lowest
  log-density (j components, m = n_features + 1 rows each; ties by row
  index; rows of zero weight never count), in O(j * m) memory whatever
  the number of rows. Each component takes a block of m of them by rank:
  its mean is their weighted mean, its weight their share of the total
  weight, its covariance that of the whole data (+ reg_covar) (action
  'reseeded'). The other components keep the M-step's parameters.
- Each event is recorded (iteration, component, reason, action, rows,
  weight); EM's convergence test restarts after a re-seed, and the lower
  bound is non-decreasing from ``lower_bounds_[iteration]`` of the last
  event onwards (the first bound of the re-seeded model; exactly so for
  reg_covar=0, where the M-step is the maximiser: reg_covar > 0 lets any
  fit's bound dip).
- At most MAX_RESEEDS_PER_COMPONENT * n_components events per
  initialisation, and a seed needs a non-singular covariance of the whole
  data. When a re-seed cannot be made, an ill-defined covariance raises a
  ValueError saying why; a component that is only light is kept as the
  plain M-step made it (what 'raise' does), so opting in never turns a
  fit that 'raise' completes with valid covariances into an error.

The data's covariance is one more pass, made once per fit and only when an
event needs it.
"""
import numpy as np

from cem import _core
from cem._init import NK_FLOOR
from cem._params import Parameters, ill_defined_message, m_step
from cem._sources import DaskSource, InMemorySource, _checked_chunk
from cem._validation import CHUNK_ROWS

# A component explaining less than this many rows' weight is collapsed.
MIN_COMPONENT_ROWS = 1.0
# Events allowed per initialisation: this many per component.
MAX_RESEEDS_PER_COMPONENT = 3
# A covariance is numerically singular when a variance is below this
# fraction of the second moment it was computed from (the subtraction left
# rounding noise), or, for full and tied, when its correlation matrix has an
# eigenvalue below it (columns collinear to rounding).
SINGULAR_RATIO = 1e-12


def seed_rows(d):
    """Rows each re-seeded component is started from: n_features + 1."""
    return d + 1


def _layout(k, d):
    """Slices of the flat statistics: nk, sx (k*d), second moments."""
    nk = slice(2, 2 + k)
    sx = slice(2 + k, 2 + k + k * d)
    return nk, sx, slice(2 + k + k * d, None)


def _row_chunks(source):
    """(X_chunk, weight_chunk or None, index of its first row) over every
    row of source, in order; chunks are validated as fit validates them.
    A Dask array is computed one block at a time on the client."""
    if isinstance(source, InMemorySource):
        chunks = ((source.X[s:s + CHUNK_ROWS], None if source.sample_weight is None
                   else source.sample_weight[s:s + CHUNK_ROWS])
                  for s in range(0, source.n_rows, CHUNK_ROWS))
    elif isinstance(source, DaskSource):
        blocks = source.X.to_delayed().ravel()
        weights = ([None] * len(blocks) if source.sample_weight is None
                   else list(source.sample_weight.to_delayed().ravel()))
        chunks = (_checked_chunk(np.asarray(b.compute()),
                                 None if w is None else np.asarray(w.compute()),
                                 source.n_features, source.name)
                  for b, w in zip(blocks, weights))
    else:
        chunks = source.chunks()
    start = 0
    for X, w in chunks:
        yield X, w, start
        start += X.shape[0]


def _lowest(values, index, count):
    """Positions of the `count` smallest (value, index) pairs, in that order."""
    if len(values) > count:
        cut = np.partition(values, count - 1)[count - 1]
        keep = np.flatnonzero(values <= cut)
        values, index, pos = values[keep], index[keep], keep
    else:
        pos = np.arange(len(values))
    order = np.lexsort((index, values))[:count]
    return pos[order]


def worst_rows(source, covariance_type, core_params, count, n_threads):
    """The `count` rows of positive weight with the lowest log-density under
    core_params (weights, means, prec_chol as the C core reads them), most
    poorly explained first, ties by row index: (rows (m, d) float64,
    weights (m,), row indices (m,) int64, total weight, number of rows).
    One pass; memory O(count + chunk)."""
    weights, means, prec_chol = core_params
    d = means.shape[1]
    best_ld, best_idx = np.empty(0), np.empty(0, dtype=np.int64)
    best_rows, best_w = np.empty((0, d)), np.empty(0)
    total, n = 0.0, 0
    for X, w, start in _row_chunks(source):
        m = X.shape[0]
        n += m
        if m == 0:
            continue
        total += m if w is None else float(w.sum())
        ld = np.empty(m)
        try:
            _core.e_step(covariance_type, weights, means, prec_chol, X, None, want_stats=False,
                         log_density=ld, n_threads=n_threads)
        except _core.CoreError as exc:
            raise ValueError(f"re-seeding a degenerate component failed: {exc}") from None
        index = start + np.arange(m, dtype=np.int64)
        if w is not None:  # a zero-weight row counts as dropped
            ld = np.where(w > 0, ld, np.inf)
        pick = _lowest(ld, index, count)
        pick = pick[ld[pick] < np.inf]  # not the dropped rows
        cand_ld = np.concatenate([best_ld, ld[pick]])
        cand_idx = np.concatenate([best_idx, index[pick]])
        cand_rows = np.concatenate([best_rows, np.asarray(X[pick], dtype=np.float64)])
        cand_w = np.concatenate([best_w, np.ones(len(pick)) if w is None else w[pick]])
        keep = _lowest(cand_ld, cand_idx, count)
        best_ld, best_idx = cand_ld[keep], cand_idx[keep]
        best_rows, best_w = cand_rows[keep], cand_w[keep]
    return best_rows, best_w, best_idx, total, n


def data_covariance(source, covariance_type, d):
    """The weighted covariance of all rows of source, in covariance_type's
    per-component form: (d, d) for full and tied, (d,) for diag, a scalar
    for spherical. One pass; moments about the first row, so data far
    from the origin loses no digits."""
    layout = "full" if covariance_type in ("full", "tied") else "diag"
    stats, shift = None, None
    for X, w, _ in _row_chunks(source):
        if X.shape[0] == 0:
            continue
        if shift is None:
            shift = np.asarray(X[:1], dtype=np.float64)
        stats = _core.accumulate(layout, shift, X, np.ones((X.shape[0], 1)), w, stats)
    nk, sx, second = stats[2], stats[3:3 + d], stats[3 + d:]
    if layout == "full":
        s2 = np.tril(second.reshape(d, d))
        s2 = s2 + np.tril(s2, -1).T
        return (s2 - np.outer(sx, sx) / nk) / nk
    variances = (second - sx * sx / nk) / nk
    return variances if covariance_type == "diag" else float(variances.mean())


class Reseeding:
    """on_degenerate='reseed' for one fit: makes a ReseedingRun per
    initialisation and computes the data's covariance at most once."""

    def __init__(self, em, source):
        self.em, self.source = em, source
        self._covariance = None
        self._n_rows = source.n_rows

    def covariance(self):
        if self._covariance is None:
            self._covariance = data_covariance(self.source, self.em.covariance_type,
                                               self.source.n_features)
        return self._covariance

    def n_rows(self):
        """Rows of the source (counted in one pass for a chunk stream that
        has not said)."""
        if self._n_rows is None:
            self._n_rows = self.source.n_rows or sum(
                X.shape[0] for X, _, _ in _row_chunks(self.source))
        return self._n_rows

    def run(self):
        return ReseedingRun(self)


class ReseedingRun:
    """The events of one EM run and the M-step that re-seeds."""

    def __init__(self, fit):
        self.fit, self.em = fit, fit.em
        self.events = []

    # -- which components are degenerate
    def _collapsed(self, stats, n_rows):
        k = self.em.n_components
        nk = stats[2:2 + k]
        return [c for c in range(k) if nk[c] < MIN_COMPONENT_ROWS * stats[0] / n_rows]

    def _not_positive_definite(self, stats, shift):
        """Components whose covariance alone fails the C M-step's positive-
        definiteness test."""
        em = self.em
        k, d = shift.shape
        nk, sx, second = _layout(k, d)
        per = (stats.size - 2 - k - k * d) // k
        bad = []
        for c in range(k):
            one = np.concatenate([stats[:2], stats[nk][c:c + 1], stats[sx][c * d:(c + 1) * d],
                                  stats[second][c * per:(c + 1) * per]])
            try:
                _core.m_step(em.covariance_type, one, shift[c:c + 1], float(em.reg_covar))
            except _core.CoreError as exc:
                # an empty component's covariance is reg_covar * I (the C
                # M-step refuses a single component without weight)
                empty = exc.status == _core.STATUS_NO_WEIGHT and not em.reg_covar > 0
                if exc.status != _core.STATUS_NOT_POSITIVE_DEFINITE and not empty:
                    raise
                bad.append(c)
        return bad

    def _numerically_singular(self, stats, covariances):
        """Components whose covariance passed the Cholesky factorisation
        but is singular to rounding (see SINGULAR_RATIO); for 'tied', [0]
        when the pooled covariance is."""
        em = self.em
        k = em.n_components
        d = (stats.size - 2 - k) // k - 1 if em.covariance_type == "spherical" \
            else covariances.shape[-1]
        nk = stats[2:2 + k] + NK_FLOOR
        second = stats[2 + k + k * d:]
        found = []
        for c in range(1 if em.covariance_type == "tied" else k):
            if em.covariance_type in ("full", "tied"):
                tied = em.covariance_type == "tied"
                cov = covariances if tied else covariances[c]
                raw = np.diagonal(second.reshape(-1, d, d)[c]) / (nk.sum() if tied else nk[c])
                var = np.diagonal(cov)
                singular = (var <= SINGULAR_RATIO * raw).any() or \
                    np.linalg.eigvalsh(cov / np.sqrt(np.outer(var, var)))[0] < SINGULAR_RATIO
            elif em.covariance_type == "diag":
                raw = second.reshape(k, d)[c] / nk[c]
                singular = (covariances[c] <= SINGULAR_RATIO * raw).any()
            else:
                singular = covariances[c] <= SINGULAR_RATIO * second[c] / (nk[c] * d)
            if singular:
                found.append(c)
        return found

    def _plain_m_step(self, stats, shift, dtype):
        """(params, ill): the C M-step's parameters (None when it fails) and
        the components whose covariance is ill defined: not positive
        definite, or singular to rounding though the factorisation passed.
        Raises scikit-learn's error when no single component can be blamed
        ('tied'), and the M-step's own error for any other failure."""
        em = self.em
        params, ill = None, []
        try:
            params = Parameters(*_core.m_step(em.covariance_type, stats, shift,
                                              float(em.reg_covar)))
            ill = self._numerically_singular(stats, params.covariances)
            if not ill or em.covariance_type != "tied":
                return params, ill
        except _core.CoreError as exc:
            if exc.status != _core.STATUS_NOT_POSITIVE_DEFINITE:  # raises its own message
                return m_step(em.covariance_type, stats, shift, em.reg_covar, dtype), []
        not_pd = [] if em.covariance_type == "tied" else self._not_positive_definite(stats, shift)
        if not not_pd:
            message = ill_defined_message(dtype)
            if em.covariance_type == "tied":
                message += (" (on_degenerate='reseed' re-seeds single components; a 'tied' "
                            "covariance is pooled over all of them)")
            raise ValueError(message)
        return None, not_pd

    def _over_cap(self, components):
        return len(self.events) + len(components) > MAX_RESEEDS_PER_COMPONENT * \
            self.em.n_components

    def _cap_error(self, iteration, reason):
        k = self.em.n_components
        return ValueError(
            f"on_degenerate='reseed' gave up at iteration {iteration}: components kept "
            f"degenerating ({reason}) after {len(self.events)} re-seeds, the most allowed "
            f"({MAX_RESEEDS_PER_COMPONENT} * n_components). The data may hold fewer than "
            f"n_components = {k} separable clusters: decrease n_components or increase "
            "reg_covar.")

    def _record(self, iteration, components, reasons, action, rows=None, weights=None):
        for i, c in enumerate(components):
            self.events.append({
                "iteration": iteration, "component": c, "reason": reasons[c], "action": action,
                "rows": [] if rows is None else [int(r) for r in rows[i]],
                "weight": None if weights is None else float(weights[i])})

    # -- statistics that the C M-step turns into the re-seeded model
    def _seeded_m_step(self, stats, shift, seeds, dtype):
        """The M-step with component c's statistics replaced, for each c in
        seeds (c -> (mean (d,), count)), by those of `count` weight at that
        mean with the data's covariance: its mean and covariance (+ reg_covar)
        come out as given, its weight as count's share. For 'tied' only means
        and weights move (the covariance is shared). None when the data's
        covariance is singular too (no seed can be made)."""
        em = self.em
        k, d = shift.shape
        cov_type = em.covariance_type
        if cov_type == "tied":
            params, _ = self._plain_m_step(stats, shift, dtype)
            means = params.means.copy()
            counts = stats[2:2 + k] + NK_FLOOR
            for c, (mean, count) in seeds.items():
                means[c], counts[c] = mean, count + NK_FLOOR
            return params._replace(weights=counts / counts.sum(), means=means)
        covariance = self.fit.covariance()
        stats, shift = stats.copy(), shift.copy()
        nk, sx, second = _layout(k, d)
        sx_view = stats[sx].reshape(k, d)
        per = (stats.size - 2 - k - k * d) // k
        second_view = stats[second].reshape(k, per)
        for c, (mean, count) in seeds.items():
            shift[c] = mean
            stats[2 + c] = count
            sx_view[c] = 0.0
            if cov_type == "full":
                second_view[c] = (count * covariance).ravel()
            elif cov_type == "diag":
                second_view[c] = count * covariance
            else:  # the spherical moment sums the d per-feature ones
                second_view[c] = count * covariance * d
        stats[sx] = sx_view.ravel()
        stats[second] = second_view.ravel()
        try:
            params = Parameters(*_core.m_step(cov_type, stats, shift, float(em.reg_covar)))
        except _core.CoreError as exc:
            if exc.status != _core.STATUS_NOT_POSITIVE_DEFINITE:
                raise ValueError(f"M-step failed: {exc}") from None
            return None
        if set(self._numerically_singular(stats, params.covariances)) & set(seeds):
            return None
        return params

    def _unmendable(self, dtype):
        return ValueError(ill_defined_message(dtype) + " (on_degenerate='reseed' cannot help: "
                          "the covariance of the whole data, which a re-seeded component "
                          "starts from, is singular too)")

    # -- the two entry points of the EM driver
    def initial_m_step(self, stats, shift, dtype):
        """The initial parameters from the initial statistics: (params,
        widened). Ill-defined components keep their mean and weight and
        take the data's covariance (widened True); otherwise the plain
        M-step (widened False)."""
        plain, ill = self._plain_m_step(stats, shift, dtype)
        if not ill:
            return plain, False
        k, d = shift.shape
        nk = stats[2:2 + k]
        sx = stats[2 + k:2 + k + k * d].reshape(k, d)
        seeds = {c: (shift[c] + sx[c] / (nk[c] + NK_FLOOR), nk[c]) for c in ill}
        widened = self._seeded_m_step(stats, shift, seeds, dtype)
        if widened is None:
            raise self._unmendable(dtype)
        self._record(0, ill, dict.fromkeys(ill, "ill_defined_covariance"), "widened",
                     weights=[nk[c] / stats[0] for c in ill])
        return widened, True

    def m_step(self, stats, params, shift, iteration, source_dtype):
        """The M-step of an EM iteration whose E-step evaluated params, the
        moments of stats taken about shift (params.means, or centers near
        the data when those cancelled): (new params, reseeded). Re-seeding is needed when a covariance is
        ill defined (without it the fit raises or goes on with rounding
        noise for a covariance); for a component that is only light it is
        an improvement, skipped, keeping the plain M-step, when it cannot be
        made: past the cap, or when the data's own covariance is singular."""
        em, fit = self.em, self.fit
        plain, ill = self._plain_m_step(stats, shift, source_dtype)
        reasons = dict.fromkeys(self._collapsed(stats, fit.n_rows()), "collapsed_weight")
        reasons.update(dict.fromkeys(ill, "ill_defined_covariance"))
        if not reasons:
            return plain, False
        bad = sorted(reasons)
        if self._over_cap(bad):  # checked before the pass it would waste
            if not ill:
                return plain, False
            raise self._cap_error(iteration, reasons[ill[0]])
        k, d = shift.shape
        m = seed_rows(d)
        core = tuple(np.ascontiguousarray(a, dtype=np.float64)
                     for a in (params.weights, params.means, params.precisions_cholesky))
        rows, w, index, total, _ = worst_rows(fit.source, em.covariance_type, core,
                                              len(bad) * m, em.n_threads)
        if len(rows) == 0:
            raise ValueError("on_degenerate='reseed' found no row of positive weight to "
                             "re-seed from")
        each = max(1, min(m, len(rows) // len(bad)))
        blocks = [np.arange(i * each, (i + 1) * each) if len(rows) >= len(bad)
                  else np.array([i % len(rows)]) for i in range(len(bad))]
        seeds, shares = {}, []
        for c, block in zip(bad, blocks):
            share = w[block].sum() / total
            mean = (w[block, None] * rows[block]).sum(axis=0) / w[block].sum()
            seeds[c] = (mean, share * stats[0])
            shares.append(share)
        new = self._seeded_m_step(stats, shift, seeds, source_dtype)
        if new is None:
            if ill:
                raise self._unmendable(source_dtype)
            return plain, False
        self._record(iteration, bad, reasons, "reseeded", rows=[index[b] for b in blocks],
                     weights=shares)
        return new, True


def reseeding(on_degenerate):
    """The policy factory EM takes: None for 'raise', else a callable
    (em, source) -> Reseeding."""
    return None if on_degenerate == "raise" else Reseeding
