"""One fused E-step pass of the classic example under several builds of the C core.

    python asv_bench/pass_ab.py HEAD my-branch .          # revisions or source trees
    CEM_KERNELS=avx2 python asv_bench/pass_ab.py HEAD .   # another kernel variant

Each SOURCE (a git revision of this repository, or a directory holding
src_c/ and cem/include/, such as "." for the working tree) is compiled with
setup.py's optimisation flags into its own shared library; a small C driver
loads them all and times cem_e_step (statistics only: the fit's fused narrow
pass) on the README's classic example -- 10,000 rows, d = 1, k = 2, full
covariance -- one pass of each build in turn, --passes times, then prints
each build's median, 10th percentile and minimum. It also checks that every
build's statistics are the same bits as the first one's.

Why pass by pass in one process: on a machine shared with other jobs (or a
VM whose vCPU shares a core with another guest) the speed of a pass drifts
by 5-10% from one second to the next, more than the differences between two
builds of a kernel, so separate runs of each build, even alternating, can
rank them wrongly. Passes a few microseconds apart see the same machine.
Why several processes (--processes, each its own address layout): the time
of a pass also depends on where the stack lies modulo 4096 bytes (the fused
kernel spills to a large stack frame; by up to 5% on a Xeon with AVX-512 in
2026, likely 4K aliasing of its stack slots with the tables and data it
reads), and that differs from build to build within one process; the
median over processes averages it out. Differences of a few percent between
builds of the same arithmetic are real: they come from the compiler's
register allocation and scheduling of the large fused kernel, so compare
builds, not source-level expectations.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classic_compare import classic_data  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fPIC", "-DNDEBUG", "-fwrapv"]

DRIVER = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cem.h"

typedef int (*e_step_fn)(const cem_model *, const cem_data *, double *, double *, ptrdiff_t,
                         double *, double *, ptrdiff_t);

static int by_value(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

/* driver DATA N PASSES LIB... : DATA holds weights[2], means[2], prec_chol[2], x[N] */
int main(int argc, char **argv)
{
    const ptrdiff_t n = atol(argv[2]);
    const int passes = atoi(argv[3]), n_libs = argc - 4;
    double *buf = malloc((6 + n) * sizeof(double));
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL || fread(buf, sizeof(double), 6 + n, f) != (size_t)(6 + n)) {
        return 1;
    }
    fclose(f);
    const cem_model model = {2, 1, CEM_FULL, buf, buf + 2, buf + 4};
    const cem_data data = {buf + 6, CEM_FLOAT64, n, 1, sizeof(double), sizeof(double), NULL};
    const ptrdiff_t work_len = 1 << 16;
    double *work = malloc(work_len * sizeof(double));
    e_step_fn *e_step = malloc(n_libs * sizeof *e_step);
    double *ns = malloc((size_t)n_libs * passes * sizeof(double));
    double first[64], stats[64];
    for (int l = 0; l < n_libs; l++) {
        void *lib = dlopen(argv[4 + l], RTLD_NOW | RTLD_LOCAL);
        if (lib == NULL || (e_step[l] = (e_step_fn)dlsym(lib, "cem_e_step")) == NULL) {
            fprintf(stderr, "%s\n", dlerror());
            return 1;
        }
    }
    int same = 1;
    for (int i = 0; i < passes; i++) {
        for (int l = 0; l < n_libs; l++) {
            memset(stats, 0, sizeof stats);
            const double t0 = now_ns();
            const int status = e_step[l](&model, &data, stats, NULL, 0, NULL, work, work_len);
            ns[l * passes + i] = now_ns() - t0;
            if (status != 0) {
                fprintf(stderr, "%s: status %d\n", argv[4 + l], status);
                return 1;
            }
            if (l == 0) {
                memcpy(first, stats, sizeof stats);
            } else if (memcmp(first, stats, sizeof stats) != 0) {
                same = 0;
            }
        }
    }
    for (int l = 0; l < n_libs; l++) {
        double *t = ns + l * passes;
        qsort(t, passes, sizeof(double), by_value);
        printf("%d %.3f %.3f %.3f\n", l, t[passes / 2] / 1e3, t[passes / 10] / 1e3, t[0] / 1e3);
    }
    printf("same %d\n", same);
    return 0;
}
"""


def export(source, into):
    """src_c/ and cem/include/ of SOURCE (a directory or a git revision) under `into`."""
    os.makedirs(into)
    if os.path.isdir(source):
        for part in ("src_c", os.path.join("cem", "include")):
            shutil.copytree(os.path.join(source, part), os.path.join(into, part))
        return
    archive = subprocess.run(["git", "-C", ROOT, "archive", source, "src_c", "cem/include"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)


def build(source, into, cc):
    """A shared library of SOURCE's C core in `into`; returns its path."""
    export(source, into)
    src = os.path.join(into, "src_c")
    objects, compiles = [], []
    for name in sorted(os.listdir(src)):  # all at once: kernels.c alone takes half a minute
        if name.endswith(".c"):
            objects.append(os.path.join(into, name[:-2] + ".o"))
            compiles.append(subprocess.Popen(
                [cc, *FLAGS, "-I", os.path.join(into, "cem", "include"), "-I", src,
                 "-c", os.path.join(src, name), "-o", objects[-1]]))
    if [c.wait() for c in compiles].count(0) != len(compiles):
        sys.exit(f"{source}: the C sources do not compile")
    lib = os.path.join(into, "libcem.so")
    subprocess.run([cc, "-shared", "-o", lib, *objects, "-lm"], check=True)
    return lib


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", metavar="SOURCE",
                        help="a git revision or a directory with src_c/ and cem/include/")
    parser.add_argument("--passes", type=int, default=1000, help="passes per build and process")
    parser.add_argument("--processes", type=int, default=8,
                        help="driver processes, one after another")
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"))
    args = parser.parse_args()
    X = classic_data()
    # the classic example's generating mixture: N(20, 5) and N(40, 5), 3:7
    params = np.array([0.3, 0.7, 20.0, 40.0, 1 / 5, 1 / 5])
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "classic.bin")
        np.concatenate([params, X.ravel()]).astype(np.float64).tofile(data)
        libs = [build(s, os.path.join(tmp, f"build{i}"), args.cc)
                for i, s in enumerate(args.sources)]
        driver = os.path.join(tmp, "driver")
        with open(driver + ".c", "w") as f:
            f.write(DRIVER)
        subprocess.run([args.cc, "-O2", "-I", os.path.join(tmp, "build0", "cem", "include"),
                        driver + ".c", "-o", driver, "-ldl"], check=True)
        runs = [subprocess.run([driver, data, str(len(X)), str(args.passes), *libs], check=True,
                               capture_output=True, text=True).stdout.split("\n")
                for _ in range(args.processes)]
    # times[process, build] = (median, 10th percentile, minimum) in microseconds
    times = np.array([[[float(v) for v in line.split()[1:]] for line in out[:len(libs)]]
                      for out in runs])
    print(f"one pass, {len(X)} x 1, k = 2, full; {args.processes} processes x {args.passes} "
          f"passes per build, alternating; load average {os.getloadavg()[0]:.2f}")
    for i, source in enumerate(args.sources):
        medians = times[:, i, 0]
        print(f"  {source:<30} median {np.median(medians):.3f} us (processes' medians "
              f"{medians.min():.3f}-{medians.max():.3f}), 10th percentile "
              f"{np.median(times[:, i, 1]):.3f} us, minimum {times[:, i, 2].min():.3f} us")
    print("statistics: " + ("the same bits in every build"
                            if all(out[len(libs)] == "same 1" for out in runs)
                            else "DIFFERENT bits from the first build"))


if __name__ == "__main__":
    sys.exit(main())
