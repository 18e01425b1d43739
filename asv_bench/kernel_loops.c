/*
 * kernel_loops.c -- one C core pass timed in a C loop, in ns per row: the
 * README's "C loop" measurements of single kernels (no Python around them).
 *
 *   python setup.py build_ext --inplace        # also writes cem/lib/libcem.a
 *   cc -O2 -Icem/include asv_bench/kernel_loops.c cem/lib/libcem.a -lm -lpthread -o kernel_loops
 *   ./kernel_loops estep K D N COV     # cem_e_step with statistics; COV 0 full, 1 tied, 2 diag
 *   ./kernel_loops kmeans K D N        # cem_kmeans_step (one Lloyd step)
 *   ./kernel_loops kmeanspp C D N      # cem_kmeanspp_pass with C candidates
 *
 * CEM_KERNELS=baseline (or avx2, avx512) forces a kernel variant. The rows
 * are uniform in [0, 10), in malloc'd memory (4 KiB pages unless the system
 * makes every allocation a huge page); one thread. Prints the best of 9
 * timings of enough passes to take ~0.1 s or more.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cem.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 5 || (strcmp(argv[1], "estep") == 0 && argc < 6)) {
        fprintf(stderr, "usage: %s estep K D N COV | kmeans K D N | kmeanspp C D N\n", argv[0]);
        return 2;
    }
    const char *kind = argv[1];
    const ptrdiff_t k = atol(argv[2]), d = atol(argv[3]), n = atol(argv[4]);
    const int cov = argc > 5 ? atoi(argv[5]) : 0;
    double *x = malloc((size_t)(n * d) * sizeof(double));
    double *centers = malloc((size_t)(k * d) * sizeof(double));
    double *closest = malloc((size_t)n * sizeof(double));
    double *pots = malloc((size_t)(k + 1) * sizeof(double));
    double *sums = malloc((size_t)(k * d) * sizeof(double)), *counts = malloc((size_t)k * sizeof(double));
    double *weights = malloc((size_t)k * sizeof(double));
    double *factors = calloc((size_t)(k * d * d), sizeof(double));
    if (!x || !centers || !closest || !pots || !sums || !counts || !weights || !factors || k < 1
        || d < 1 || n < k) {
        fprintf(stderr, "bad sizes or out of memory\n");
        return 2;
    }
    srand(1);
    for (ptrdiff_t i = 0; i < n * d; i++) {
        x[i] = rand() / (double)RAND_MAX * 10.0;
    }
    for (ptrdiff_t i = 0; i < k * d; i++) {
        centers[i] = x[i] + 0.1;
    }
    for (ptrdiff_t i = 0; i < n; i++) {
        closest[i] = 1e300;
    }
    for (ptrdiff_t c = 0; c < k; c++) { /* precision factors 0.5 I (full, tied) or 0.5 (diag) */
        weights[c] = 1.0 / (double)k;
        for (ptrdiff_t j = 0; j < d; j++) {
            factors[cov == 2 ? c * d + j : c * d * d + j * d + j] = 0.5;
        }
    }
    const cem_data data = {x, CEM_FLOAT64, n, d, d * (ptrdiff_t)sizeof(double), sizeof(double), NULL};
    const cem_model model = {k, d, cov, weights, centers, factors};
    const int estep = strcmp(kind, "estep") == 0, kpp = strcmp(kind, "kmeanspp") == 0;
    const ptrdiff_t len = estep ? cem_e_step_work_size(k, d, cov) : cem_kmeans_work_size(k, d);
    double *work = malloc((size_t)len * sizeof(double));
    double *stats = estep ? malloc((size_t)cem_stats_size(k, d, cov) * sizeof(double)) : NULL;
    const ptrdiff_t reps = 4000000 / n > 1 ? 4000000 / n : 1;
    double best = 1e300;
    for (int t = 0; t < 9; t++) {
        const double t0 = now();
        for (ptrdiff_t r = 0; r < reps; r++) {
            int status;
            double inertia = 0.0;
            if (estep) {
                cem_stats_zero(k, d, cov, stats);
                status = cem_e_step(&model, &data, stats, NULL, 0, NULL, work, len);
            } else if (kpp) {
                status = cem_kmeanspp_pass(k, centers, &data, closest, 0, pots, work, len);
            } else {
                status = cem_kmeans_step(k, centers, &data, sums, counts, &inertia, NULL, NULL,
                                         work, len);
            }
            if (status != CEM_OK) {
                fprintf(stderr, "%s\n", cem_strerror(status));
                return 1;
            }
        }
        const double dt = now() - t0;
        best = dt < best ? dt : best;
    }
    printf("%s k=%ld d=%ld n=%ld: %.2f ns/row\n", kind, (long)k, (long)d, (long)n,
           best / (double)reps / (double)n * 1e9);
    return 0;
}
