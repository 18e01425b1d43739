"""Fits on a busy machine: every core loaded by another process.

    python asv_bench/busy_machine.py [--busy 2] [--repeats 20]

Starts --busy `while True: pass` processes (default: one per core), then
times, each in a fresh interpreter so the OpenMP runtime starts from the
environment given:
1. the classic example (10,000 rows, d = 1, k = 2, init_params='random'),
   default threads and n_threads=1: median and worst of --repeats fits;
2. 200,000 x 3, k = 3, 30 iterations from a given init, with cem's passive
   OpenMP waits and with libgomp's default spinning (GOMP_SPINCOUNT=300000);
3. Ctrl-C latency: SIGINT 0.5 s into a fit whose single pass takes seconds
   (tests/test_interrupts.py), median of 5.
The busy processes are stopped at the end.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CLASSIC = r"""
import statistics, sys, time
import numpy as np
from cem import GMM
rng = np.random.default_rng(0)
X = np.concatenate([rng.normal(20, 5, 3000), rng.normal(40, 5, 7000)]).reshape(-1, 1)
nt = None if sys.argv[1] == "None" else int(sys.argv[1])
kw = dict(init_params="random", tol=1e-8, random_state=0, n_threads=nt)
for _ in range(3):
    GMM(2, **kw).fit(X)
times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); GMM(2, **kw).fit(X); times.append(time.perf_counter() - t)
print(f"median {statistics.median(times) * 1e3:.1f} ms, worst {max(times) * 1e3:.1f} ms")
"""

MEDIUM = r"""
import statistics, sys, time, warnings
import numpy as np
from cem import GMM
warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
n, d, k = 200_000, 3, 3
X = rng.normal(size=(n, d)) + rng.integers(0, 3, n)[:, None] * 3.0
init = dict(weights_init=np.full(k, 1 / k), means_init=np.arange(k)[:, None] * 3.0 + np.zeros(d),
            precisions_init=np.array([np.eye(d)] * k))
times = []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); GMM(k, max_iter=30, tol=0.0, **init).fit(X)
    times.append(time.perf_counter() - t)
print(f"median {statistics.median(times) * 1e3:.0f} ms, worst {max(times) * 1e3:.0f} ms")
"""

LATENCY = r"""
import statistics, sys
sys.path.insert(0, sys.argv[1])
from test_interrupts import interrupt_latency
runs = [interrupt_latency() for _ in range(5)]
assert all(said == ["interrupted", "unchanged"] for _, said in runs), runs
lat = [l for l, _ in runs]
print(f"median {statistics.median(lat) * 1e3:.0f} ms, worst {max(lat) * 1e3:.0f} ms")
"""


def run(code, *args, **env):
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                         text=True, env=dict(os.environ, **env), check=True)
    return out.stdout.strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--busy", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(args.busy)]
    try:
        print(f"{args.busy} busy processes")
        for nt in (None, 1):
            print(f"classic, n_threads={nt}: {run(CLASSIC, nt, args.repeats)}")
        print(f"200,000 x 3, k=3, 30 iterations, passive waits: {run(MEDIUM, 12)}")
        print(f"200,000 x 3, k=3, 30 iterations, spinning waits: "
              f"{run(MEDIUM, 12, GOMP_SPINCOUNT='300000')}")
        tests = os.path.join(os.path.dirname(HERE), "tests")
        print(f"Ctrl-C latency: {run(LATENCY, tests)}")
    finally:
        for p in busy:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
