"""Beyond one machine's memory: Dask on a local cluster and a memory-mapped
file, against the in-memory fit of the same data and initialisation.

    python asv_bench/large_data.py [--file-gb 4]

1. n = 4,000,000, d = 16, k = 8, float32: in-memory fit vs a Dask fit of
   chunks of 250,000 rows on a distributed.LocalCluster of 2 single-threaded
   worker processes on 127.0.0.1; per-iteration time (fits of 1 and 4
   iterations, difference / 3), median of --repeats.
2. A float64 np.memmap file of --file-gb GB (d = 16) fitted for 2
   iterations: peak resident-set growth of this process during the fit
   (Linux VmHWM, reset just before).
"""
import argparse
import os
import statistics
import tempfile
import time
import warnings

import numpy as np

from cem import GMM


def problem(n, d, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    centers = 4.0 * rng.normal(size=(k, d))
    X = np.empty((n, d), dtype=dtype)
    for i in range(0, n, 500_000):  # made in pieces: no n x d float64 temporary
        m = min(500_000, n - i)
        X[i:i + m] = centers[rng.integers(0, k, m)] + rng.normal(size=(m, d))
    init = dict(weights_init=np.full(k, 1.0 / k), means_init=centers + 0.25,
                precisions_init=np.array([np.eye(d)] * k))
    return X, init


def per_iteration(make_fit, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        make_fit(1)
        one = time.perf_counter() - start
        start = time.perf_counter()
        make_fit(4)
        times.append((time.perf_counter() - start - one) / 3)
    return statistics.median(times)


def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--file-gb", type=float, default=4.0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import dask.array as da
    import distributed

    n, d, k = 4_000_000, 16, 8
    X, init = problem(n, d, k, np.float32)
    fit = lambda data, iters, **kw: GMM(k, tol=0.0, max_iter=iters, **init, **kw).fit(data)
    in_memory = per_iteration(lambda it: fit(X, it, n_threads=2), args.repeats)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        Xd = da.from_array(X, chunks=(250_000, d)).persist()  # on the workers
        distributed.wait(Xd)
        on_dask = per_iteration(lambda it: fit(Xd, it), args.repeats)
        del client
    print(f"| fit of n={n:,} d={d} k={k} float32 | s / iteration |")
    print("|---|---|")
    print(f"| in memory, n_threads=2 | {in_memory:.3f} |")
    print(f"| Dask, LocalCluster 2 workers x 1 thread, chunks of 250,000 rows | {on_dask:.3f} "
          f"({on_dask / in_memory:.2f}x the in-memory time) |")
    del X, Xd

    rows = int(args.file_gb * 2 ** 30 / (8 * d))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "X.dat")
        mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(rows, d))
        rng = np.random.default_rng(1)
        for i in range(0, rows, 1_000_000):
            m = min(1_000_000, rows - i)
            mm[i:i + m] = rng.normal(size=(m, d)) + 3.0 * (rng.random((m, 1)) < 0.5)
        mm.flush()
        del mm
        mm = np.memmap(path, dtype=np.float64, mode="r", shape=(rows, d))
        gmm = GMM(2, tol=0.0, max_iter=2, weights_init=[0.5, 0.5],
                  means_init=np.array([np.zeros(d), np.full(d, 3.0)]),
                  precisions_init=np.array([np.eye(d)] * 2))
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = status_kib("VmRSS")
        start = time.perf_counter()
        gmm.fit(mm)
        elapsed = time.perf_counter() - start
        growth = (status_kib("VmHWM") - before) / 1024
    print(f"\nmemmap file of {rows * d * 8 / 2**30:.1f} GiB ({rows:,} x {d} float64), 2 EM "
          f"iterations in {elapsed:.1f} s: peak resident-set growth {growth:.0f} MiB")


if __name__ == "__main__":
    main()
