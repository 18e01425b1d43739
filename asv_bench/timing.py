"""How the benchmark scripts time their contestants."""
import time
import warnings

import numpy as np


def timed(fn):
    """(result, wall seconds, CPU seconds) of fn(), its warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start, cpu = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - start, time.process_time() - cpu


# On the VMs these scripts run on, cores idle for a while come back to
# speed slowly. Measured on a 2-vCPU Xeon VM after 0.3 s idle: 1-iteration
# fits of workload 1 on one thread took 13.9, 8.6, 7.5 ms, then 7.1 from
# the fourth on; on two threads some fits took 7-8 ms instead of 4.5 for
# the first ~50 ms, the second thread barely running. A per-iteration
# measure (the difference of two fits) does not cancel that out: timed
# straight after 0.3 s idle, cem's 2-thread speed-up on workload 1 was
# 1.08x, after one untimed fit 0.91-1.23x, where fits back to back gave
# 1.9x. A 10,000-row default fit took ~16 ms instead of 0.4, and numpy's
# sum of 10^5 random numbers 7.8 ms. So a timed fit follows this long of
# untimed ones on the same cores (then workload 1: 1.95x).
WARM_UP_SECONDS = 0.2


def warm_up(fn, seconds=WARM_UP_SECONDS):
    """Call fn (untimed, warnings silenced) until `seconds` have passed,
    at least once, so that what is timed next runs on cores at speed."""
    start = time.perf_counter()
    while True:
        timed(fn)
        if time.perf_counter() - start >= seconds:
            return


def alternating_medians(measure, names, repeats):
    """{name: median of measure(name) over `repeats` rounds}. Each round
    measures every name once, in turn, so drift on a shared machine hits
    all alike. measure returns a number, or a tuple of numbers whose
    medians are taken entry by entry."""
    samples = {name: [] for name in names}
    for _ in range(repeats):
        for name in samples:
            samples[name].append(measure(name))
    return {name: np.median(s, axis=0) for name, s in samples.items()}


def back_to_back_medians(measure, names, repeats, warmup):
    """{name: median of measure(name) over `repeats` calls in a row}, each
    name's block after `warmup` unmeasured calls of its own: every name
    timed warm, as if alone (alternating_medians times each right after the
    others, which a short run pays for in caches they left cold). measure
    returns what alternating_medians' does."""
    out = {}
    for name in names:
        for _ in range(warmup):
            measure(name)
        out[name] = np.median([measure(name) for _ in range(repeats)], axis=0)
    return out
