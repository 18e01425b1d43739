/*
 * classic.c -- a plain C program embedding cem: the classic example
 * (3,000 points from N(20, 5) and 7,000 from N(40, 5)), a two-component
 * mixture fitted by cem_fit, the parameters and the predicted processes
 * printed. Build against the installed package:
 *
 *   cc classic.c -I"$(python -c 'import cem; print(cem.get_include())')" \
 *      -L"$(python -c 'import cem; print(cem.get_library_dirs()[0])')" -lcem -lm
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cem.h"

/* splitmix64: a small, seedable generator; the core itself keeps no RNG */
static uint64_t rng_state = 20240101u;

static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

static double normal(double mean, double sd)
{
    return mean + sd * sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

int main(void)
{
    enum { N = 10000, K = 2 };
    double *x = malloc(N * sizeof(double));
    int64_t *labels = malloc(N * sizeof(int64_t));
    if (x == NULL || labels == NULL) {
        return 1;
    }
    for (int i = 0; i < N; i++) {
        x[i] = i < 3000 ? normal(20.0, 5.0) : normal(40.0, 5.0);
    }
    /* a crude start: one component either side of the overall mean */
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < N; i++) {
        mean += x[i] / N;
    }
    for (int i = 0; i < N; i++) {
        var += (x[i] - mean) * (x[i] - mean) / N;
    }
    double weights[K] = {0.5, 0.5};
    double means[K] = {mean - sqrt(var), mean + sqrt(var)};
    double prec_chol[K] = {1.0 / sqrt(var), 1.0 / sqrt(var)};
    double covariances[K];

    const cem_data data = {x, CEM_FLOAT64, N, 1, sizeof(double), sizeof(double), NULL};
    const ptrdiff_t work_len = cem_fit_work_size(K, 1, CEM_FULL);
    double *work = malloc((size_t)work_len * sizeof(double));
    ptrdiff_t n_iter;
    int converged;
    double lower_bound;
    int status = cem_fit(K, CEM_FULL, &data, 1e-8, 1000, 1e-6, weights, means, covariances,
                         prec_chol, &n_iter, &converged, &lower_bound, work, work_len);
    if (status != CEM_OK) {
        fprintf(stderr, "cem_fit: %s\n", cem_strerror(status));
        return 1;
    }
    const cem_model model = {K, 1, CEM_FULL, weights, means, prec_chol};
    const ptrdiff_t predict_len = cem_predict_work_size(K, 1, CEM_FULL);
    double *predict_work = malloc((size_t)predict_len * sizeof(double));
    status = cem_predict(&model, &data, labels, predict_work, predict_len);
    if (status != CEM_OK) {
        fprintf(stderr, "cem_predict: %s\n", cem_strerror(status));
        return 1;
    }
    int first = means[0] < means[1] ? 0 : 1; /* the component of N(20, 5) */
    int agree = 0;
    for (int i = 0; i < N; i++) {
        agree += (labels[i] == first) == (i < 3000);
    }
    printf("cem %d\n", cem_version());
    printf("weights %.6f %.6f\n", weights[first], weights[1 - first]);
    printf("means %.6f %.6f\n", means[first], means[1 - first]);
    printf("std %.6f %.6f\n", sqrt(covariances[first]), sqrt(covariances[1 - first]));
    printf("n_iter %ld converged %d lower_bound %.9f\n", (long)n_iter, converged, lower_bound);
    printf("agreement %.4f\n", (double)agree / N);
    free(x);
    free(labels);
    free(work);
    free(predict_work);
    return 0;
}
