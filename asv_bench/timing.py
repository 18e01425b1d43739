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
