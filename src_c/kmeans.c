/*
 * kmeans.c -- k-means++ seeding and Lloyd passes, for initialising EM.
 */
#include <math.h>

#include "internal.h"

static double sq_dist_to(const cem_data *data, ptrdiff_t i, const double *center)
{
    double s = 0.0;
    for (ptrdiff_t j = 0; j < data->d; j++) {
        const double t = cem_load(data, i, j) - center[j];
        s += t * t;
    }
    return s;
}

static int check_weights(const cem_data *data)
{
    if (data->sample_weight == NULL) {
        return CEM_OK;
    }
    for (ptrdiff_t i = 0; i < data->n; i++) {
        const double w = data->sample_weight[i];
        if (!(w >= 0.0) || !isfinite(w)) {
            return CEM_EINVAL;
        }
    }
    return CEM_OK;
}

int cem_kmeans_step(ptrdiff_t k, const double *centers, const cem_data *data,
                    double *sums, double *counts, double *inertia,
                    int32_t *labels, int64_t *n_changed)
{
    if (k < 1 || k > INT32_MAX || data == NULL || centers == NULL || sums == NULL
        || counts == NULL || inertia == NULL || (n_changed != NULL && labels == NULL)) {
        return CEM_EINVAL;
    }
    if (cem_check_data(data, data->d) != CEM_OK || check_weights(data) != CEM_OK) {
        return CEM_EINVAL;
    }
    const ptrdiff_t d = data->d;
    double total = 0.0;
    int64_t changed = 0;
    for (ptrdiff_t i = 0; i < data->n; i++) {
        ptrdiff_t best = 0;
        double best_dist = sq_dist_to(data, i, centers);
        for (ptrdiff_t c = 1; c < k; c++) {
            const double dist = sq_dist_to(data, i, centers + c * d);
            if (dist < best_dist) {
                best_dist = dist;
                best = c;
            }
        }
        if (!isfinite(best_dist)) {
            return CEM_ENONFINITE;
        }
        const double w = cem_row_weight(data, i);
        counts[best] += w;
        total += w * best_dist;
        double *sum = sums + best * d;
        for (ptrdiff_t j = 0; j < d; j++) {
            sum[j] += w * cem_load(data, i, j);
        }
        if (labels != NULL) {
            if (n_changed != NULL && labels[i] != (int32_t)best) {
                changed++;
            }
            labels[i] = (int32_t)best;
        }
    }
    *inertia += total;
    if (n_changed != NULL) {
        *n_changed += changed;
    }
    return CEM_OK;
}

/* First index whose running sum of `v` reaches `target` (numpy's
 * searchsorted(cumsum(v), target, side='left')), clipped to n - 1. */
static ptrdiff_t first_reaching(const double *v, ptrdiff_t n, double target)
{
    double cum = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        cum += v[i];
        if (cum >= target) {
            return i;
        }
    }
    return n - 1;
}

static void copy_row(const cem_data *data, ptrdiff_t i, double *out)
{
    for (ptrdiff_t j = 0; j < data->d; j++) {
        out[j] = cem_load(data, i, j);
    }
}

int cem_kmeanspp(ptrdiff_t k, ptrdiff_t n_trials, const cem_data *data,
                 const double *uniforms, double *centers, int64_t *indices,
                 double *work, ptrdiff_t work_len)
{
    if (data == NULL || cem_check_data(data, data->d) != CEM_OK || check_weights(data) != CEM_OK
        || k < 1 || k > data->n || n_trials < 1 || uniforms == NULL || centers == NULL
        || indices == NULL || work == NULL) {
        return CEM_EINVAL;
    }
    const ptrdiff_t n = data->n, d = data->d;
    if (work_len < 2 * n) {
        return CEM_EWORK;
    }
    double *weighted_dist = work;  /* w_i * D(x_i)^2 to the nearest chosen center */
    double *closest = work + n;    /* D(x_i)^2 */

    double total_weight = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        total_weight += cem_row_weight(data, i);
    }
    if (!(total_weight > 0.0)) {
        return CEM_ENOWEIGHT;
    }
    /* First center: drawn with probability w_i / sum w (numpy's choice with p,
     * which takes the first cumulative fraction strictly above the uniform). */
    ptrdiff_t first = n - 1;
    {
        double cum = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            cum += cem_row_weight(data, i);
            if (cum / total_weight > uniforms[0]) {
                first = i;
                break;
            }
        }
    }
    indices[0] = first;
    copy_row(data, first, centers);
    double potential = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        closest[i] = sq_dist_to(data, i, centers);
        if (!isfinite(closest[i])) {
            return CEM_ENONFINITE;
        }
        weighted_dist[i] = cem_row_weight(data, i) * closest[i];
        potential += weighted_dist[i];
    }
    for (ptrdiff_t c = 1; c < k; c++) {
        double *center = centers + c * d;
        ptrdiff_t best = -1;
        double best_potential = 0.0;
        for (ptrdiff_t t = 0; t < n_trials; t++) {
            const double u = uniforms[1 + (c - 1) * n_trials + t];
            const ptrdiff_t cand = first_reaching(weighted_dist, n, u * potential);
            copy_row(data, cand, center);
            double pot = 0.0;
            for (ptrdiff_t i = 0; i < n; i++) {
                const double dist = sq_dist_to(data, i, center);
                pot += cem_row_weight(data, i) * (dist < closest[i] ? dist : closest[i]);
            }
            if (best < 0 || pot < best_potential) {
                best = cand;
                best_potential = pot;
            }
        }
        indices[c] = best;
        copy_row(data, best, center);
        potential = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            const double dist = sq_dist_to(data, i, center);
            if (dist < closest[i]) {
                closest[i] = dist;
            }
            weighted_dist[i] = cem_row_weight(data, i) * closest[i];
            potential += weighted_dist[i];
        }
    }
    return CEM_OK;
}
