"""Ctrl-C stops a long pass promptly and leaves the estimator as it was; the
waves and thread counts that make that possible never change a bit; small
work runs on few threads, and idle OpenMP threads sleep instead of spinning."""
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from cem import _core
from conftest import CHILD_CWD, child_env, random_model


# A fit whose single E-step pass takes seconds (2,000,000 rows, d = 24,
# k = 12, full) without the memory: every row is the same row (stride 0).
CHILD = r"""
import copy, sys
import numpy as np
from cem import GMM
d, k, n = 24, 12, 2_000_000
rng = np.random.default_rng(0)
X = np.broadcast_to(rng.normal(size=d).astype(np.float32), (n, d))
init = dict(weights_init=np.full(k, 1 / k), means_init=rng.normal(size=(k, d)),
            precisions_init=np.array([np.eye(d)] * k))
gmm = GMM(k, max_iter=3, **init).fit(rng.normal(size=(500, d)))
gmm.set_params(max_iter=1000, tol=0.0)
before = copy.deepcopy(gmm.__dict__)
print("ready", flush=True)
try:
    gmm.fit(X)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    after = gmm.__dict__
    same = before.keys() == after.keys() and all(
        np.array_equal(before[key], after[key]) if isinstance(before[key], np.ndarray)
        else before[key] == after[key] for key in before)
    print("unchanged" if same else "changed", flush=True)
else:
    print("finished", flush=True)
"""


def interrupt_latency(delay=0.5):
    """Seconds from SIGINT, sent `delay` s into the fit, to the child's
    KeyboardInterrupt, and what the child said after it."""
    with subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                          env=child_env(), cwd=CHILD_CWD) as child:
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(delay)
            start = time.perf_counter()
            child.send_signal(signal.SIGINT)
            first = child.stdout.readline().strip()
            latency = time.perf_counter() - start
            rest = child.stdout.read().split()
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
    return latency, [first] + rest


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_a_long_pass_promptly_and_changes_nothing():
    """Before the waves, SIGINT waited for the whole pass (seconds here)."""
    latency, said = interrupt_latency()
    assert said == ["interrupted", "unchanged"], said
    assert latency < 1.0, latency


# The k-means initialisation's Lloyd loop, which runs in Cython: a negative
# tolerance never stops it, so only Ctrl-C between its passes can.
LLOYD_CHILD = r"""
import numpy as np
from cem import _core
X = np.random.default_rng(0).normal(size=(200_000, 4))
print("ready", flush=True)
try:
    _core.kmeans_lloyd(X[:8].copy(), X, None, 10**9, -1.0)
except KeyboardInterrupt:
    print("interrupted", flush=True)
else:
    print("finished", flush=True)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_stops_the_lloyd_loop_between_passes():
    with subprocess.Popen([sys.executable, "-c", LLOYD_CHILD], stdout=subprocess.PIPE,
                          text=True, env=child_env(), cwd=CHILD_CWD) as child:
        try:
            assert child.stdout.readline().strip() == "ready"
            time.sleep(0.5)
            start = time.perf_counter()
            child.send_signal(signal.SIGINT)
            said = child.stdout.readline().strip()
            latency = time.perf_counter() - start
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
    assert said == "interrupted"
    assert latency < 1.0, latency


def _grouped(parts):
    """parts, past 8 rounded up to a multiple of 8 (equal shares for 2, 4, 8 threads)."""
    return parts if parts <= 8 else -(-parts // 8) * 8


def test_partitions_are_a_function_of_the_shape_only():
    assert _core.e_step_partitions(10_000, 8) == _core.n_partitions(10_000, 8) == 3
    assert _core.e_step_partitions(8 * 4096, 8) == _core.n_partitions(8 * 4096, 8) == 8
    assert _core.e_step_partitions(10**6, 8) == 64
    # 25 partitions' worth of rows (workload 4): 32, not 13 + 12 on 2 threads
    assert _core.n_partitions(100_000, 8) == 25
    assert _core.e_step_partitions(100_000, 8) == 32
    # a partition holds at most ~2**25 row-units (unless that is < 4096 rows)
    assert _core.e_step_partitions(10**9, 8) == _grouped(-(-10**9 // (2**25 // 24)))
    assert _core.e_step_partitions(10**6, 7214) == _grouped(-(-10**6 // (2**25 // 7230)))
    # huge statistics: more partitions than the memory cap allows at once,
    # held a wave at a time
    assert _core.n_partitions(10**6, 10**6) == 2
    assert _core.e_step_partitions(10**6, 10**6) == _grouped(-(-10**6 // 4096))


def test_more_than_eight_partitions_come_in_eights():
    for n in list(range(0, 40 * 4096, 997)) + [10**5, 2 * 10**5, 10**6, 10**7, 10**8]:
        for stats_len in (8, 1000, 10**5, 10**6):
            parts = _core.e_step_partitions(n, stats_len)
            assert parts >= min(_core.n_partitions(n, stats_len), 8)
            assert parts <= 8 or parts % 8 == 0, (n, stats_len, parts)
            assert parts <= max(1, n)  # no empty partition


def test_thread_count_follows_the_work():
    assert _core.threads_for_work(8, 64, 10_000 * 24) == 1  # the classic example
    assert _core.threads_for_work(8, 64, 10**9) == 8
    assert _core.threads_for_work(8, 3, 10**9) == 3
    assert _core.threads_for_work(2, 64, 5 * 2**21) == 2
    assert _core.threads_for_work(1, 0, 0) == 1


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_many_partitions_and_waves_are_bit_identical_for_any_thread_count(covariance_type):
    """More partitions than n_partitions gives (large n): different thread
    counts cut them into different waves, and the sums must not notice."""
    rng = np.random.default_rng(3)
    k, d = 12, 24
    n = 320_000
    stats_len = _core.stats_size(covariance_type, k, d)
    if covariance_type == "full":
        assert _core.e_step_partitions(n, stats_len) > _core.n_partitions(n, stats_len)
    weights, means, _, prec_chol = random_model(rng, k, d, covariance_type)
    X = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.uniform(0, 2, n)
    results = [_core.e_step(covariance_type, weights, means, prec_chol, X, w, n_threads=t)
               for t in (1, 2, 3, 8)]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    # and the partitions add up to the whole
    parts = sum(_core.e_step(covariance_type, weights, means, prec_chol, X[a:b], w[a:b])
                for a, b in ((0, 100_000), (100_000, n)))
    np.testing.assert_allclose(parts, results[0], rtol=1e-9, atol=1e-6)


def _import_cem_in_child(**env):
    """What libgomp reports at load (OMP_DISPLAY_ENV: wait policy and spin
    count) and whether
    OMP_WAIT_POLICY is left in the environment, after `import cem`."""
    base = {k: v for k, v in child_env().items()
            if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    out = subprocess.run(
        [sys.executable, "-c", "import os, cem; print('left', os.environ.get('OMP_WAIT_POLICY'))"],
        env=dict(base, OMP_DISPLAY_ENV="verbose", **env), cwd=CHILD_CWD, capture_output=True,
        text=True, timeout=60)
    policy = [line.split("=")[1].strip(" '") for line in (out.stdout + out.stderr).splitlines()
              if line.strip().startswith(("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"))]
    left = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("left")]
    return policy, left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="GNU libgomp reports its setup")
def test_openmp_threads_wait_passively_unless_the_user_chose():
    policy, left = _import_cem_in_child()
    if not policy:
        pytest.skip("the OpenMP runtime is not GNU libgomp (or cem was built without OpenMP)")
    assert policy == ["PASSIVE", "0"] and left == ["None"]  # and not leaked to children
    policy, left = _import_cem_in_child(OMP_WAIT_POLICY="active")
    assert policy[0] == "ACTIVE" and left == ["active"]
    policy, left = _import_cem_in_child(GOMP_SPINCOUNT="1000")
    assert policy[1] == "1000" and left == ["None"]
