/*
 * kmeans.c -- k-means++ seeding and Lloyd passes, for initialising EM.
 * Rows are read in blocks stored rows-in-lanes (the fused pass's narrow
 * layout) and their distances computed by the sq_distances_t kernel, which
 * vectorises across rows.
 */
#include <math.h>
#include <string.h>

#include "internal.h"

ptrdiff_t cem_kmeans_work_size(ptrdiff_t k, ptrdiff_t d)
{
    if (k < 1 || d < 1) {
        return CEM_EINVAL;
    }
    /* a block and its distances to every center */
    return CEM_BLOCK_ROWS * d + CEM_BLOCK_ROWS * k;
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
                    int32_t *labels, int64_t *n_changed, double *work, ptrdiff_t work_len)
{
    if (k < 1 || k > INT32_MAX || data == NULL || centers == NULL || sums == NULL
        || counts == NULL || inertia == NULL || work == NULL
        || (n_changed != NULL && labels == NULL)) {
        return CEM_EINVAL;
    }
    if (cem_check_data(data, data->d) != CEM_OK || check_weights(data) != CEM_OK) {
        return CEM_EINVAL;
    }
    const ptrdiff_t d = data->d, B = CEM_BLOCK_ROWS;
    if (work_len < cem_kmeans_work_size(k, d)) {
        return CEM_EWORK;
    }
    const cem_kernels *kern = cem_select_kernels();
    double *xt = work;
    double *d2t = xt + B * d;
    double total = 0.0;
    int64_t changed = 0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B;
        cem_load_block_t(data, i0, nb, B, xt);
        kern->sq_distances_t(xt, cem_round_rows(nb), d, B, centers, k, d2t);
        for (ptrdiff_t r = 0; r < nb; r++) {
            ptrdiff_t best = 0;
            for (ptrdiff_t c = 1; c < k; c++) { /* ties go to the lowest index */
                best = d2t[c * B + r] < d2t[best * B + r] ? c : best;
            }
            const double dist = d2t[best * B + r];
            if (!isfinite(dist)) {
                return CEM_ENONFINITE;
            }
            const double w = cem_row_weight(data, i0 + r);
            counts[best] += w;
            total += w * dist;
            double *sum = sums + best * d;
            for (ptrdiff_t j = 0; j < d; j++) {
                sum[j] += w * xt[j * B + r];
            }
            if (labels != NULL) {
                if (n_changed != NULL && labels[i0 + r] != (int32_t)best) {
                    changed++;
                }
                labels[i0 + r] = (int32_t)best;
            }
        }
    }
    *inertia += total;
    if (n_changed != NULL) {
        *n_changed += changed;
    }
    return CEM_OK;
}

/* Index of the first row whose running sum of w_i * closest_i reaches
 * `target` (numpy's searchsorted(cumsum(.), target, side='left')), clipped
 * to n - 1. */
static ptrdiff_t first_reaching(const cem_data *data, const double *closest, double target)
{
    double cum = 0.0;
    for (ptrdiff_t i = 0; i < data->n; i++) {
        cum += cem_row_weight(data, i) * closest[i];
        if (cum >= target) {
            return i;
        }
    }
    return data->n - 1;
}

static void copy_row(const cem_data *data, ptrdiff_t i, double *out)
{
    for (ptrdiff_t j = 0; j < data->d; j++) {
        out[j] = cem_load(data, i, j);
    }
}

int cem_kmeanspp_pass(ptrdiff_t n_cand, const double *candidates, const cem_data *data,
                      double *closest, int update, double *pots, double *work,
                      ptrdiff_t work_len)
{
    if (n_cand < 1 || candidates == NULL || data == NULL || pots == NULL || work == NULL
        || (data->n > 0 && closest == NULL) || (update && n_cand != 1)
        || cem_check_data(data, data->d) != CEM_OK || check_weights(data) != CEM_OK) {
        return CEM_EINVAL;
    }
    if (work_len < cem_kmeans_work_size(n_cand, data->d)) {
        return CEM_EWORK;
    }
    const cem_kernels *kern = cem_select_kernels();
    const ptrdiff_t B = CEM_BLOCK_ROWS;
    double *xt = work;
    double *d2t = xt + B * data->d;
    for (ptrdiff_t t = 0; t < n_cand; t++) {
        pots[t] = 0.0;
    }
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B;
        cem_load_block_t(data, i0, nb, B, xt);
        kern->sq_distances_t(xt, cem_round_rows(nb), data->d, B, candidates, n_cand, d2t);
        for (ptrdiff_t r = 0; r < nb; r++) {
            const ptrdiff_t i = i0 + r;
            const double w = cem_row_weight(data, i);
            for (ptrdiff_t t = 0; t < n_cand; t++) {
                const double dist = d2t[t * B + r] < closest[i] ? d2t[t * B + r] : closest[i];
                pots[t] += w * dist;
                if (update) {
                    closest[i] = dist;
                }
            }
        }
    }
    for (ptrdiff_t t = 0; t < n_cand; t++) {
        if (!isfinite(pots[t])) {
            return CEM_ENONFINITE;
        }
    }
    return CEM_OK;
}

ptrdiff_t cem_kmeanspp_work_size(ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_trials)
{
    if (n < 0 || d < 1 || n_trials < 1) {
        return CEM_EINVAL;
    }
    /* per row its distance to the nearest center; a pass's scratch; the
     * candidates */
    return n + cem_kmeans_work_size(n_trials, d) + n_trials * d;
}

int cem_kmeanspp(ptrdiff_t k, ptrdiff_t n_trials, const cem_data *data,
                 const double *uniforms, double *centers, int64_t *indices,
                 double *work, ptrdiff_t work_len)
{
    if (data == NULL || cem_check_data(data, data->d) != CEM_OK || check_weights(data) != CEM_OK
        || k < 1 || k > data->n || n_trials < 1 || n_trials > CEM_KMEANSPP_MAX_TRIALS
        || uniforms == NULL || centers == NULL || indices == NULL || work == NULL) {
        return CEM_EINVAL;
    }
    const ptrdiff_t n = data->n, d = data->d;
    if (work_len < cem_kmeanspp_work_size(n, d, n_trials)) {
        return CEM_EWORK;
    }
    double *closest = work; /* D(x_i)^2 to the nearest chosen center */
    double *pass_work = closest + n;
    const ptrdiff_t pass_len = cem_kmeans_work_size(n_trials, d);
    double *cand = pass_work + pass_len;
    double pot;

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
    double cum = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        cum += cem_row_weight(data, i);
        if (cum / total_weight > uniforms[0]) {
            first = i;
            break;
        }
    }
    indices[0] = first;
    copy_row(data, first, centers);
    for (ptrdiff_t i = 0; i < n; i++) {
        closest[i] = INFINITY;
    }
    int status = cem_kmeanspp_pass(1, centers, data, closest, 1, &pot, pass_work, pass_len);
    if (status != CEM_OK) {
        return status;
    }
    for (ptrdiff_t c = 1; c < k; c++) {
        int64_t trial_rows[CEM_KMEANSPP_MAX_TRIALS];
        double trial_pots[CEM_KMEANSPP_MAX_TRIALS];
        for (ptrdiff_t t = 0; t < n_trials; t++) {
            const double u = uniforms[1 + (c - 1) * n_trials + t];
            trial_rows[t] = first_reaching(data, closest, u * pot);
            copy_row(data, trial_rows[t], cand + t * d);
        }
        status = cem_kmeanspp_pass(n_trials, cand, data, closest, 0, trial_pots, pass_work,
                                   pass_len);
        if (status != CEM_OK) {
            return status;
        }
        ptrdiff_t best = 0;
        for (ptrdiff_t t = 1; t < n_trials; t++) { /* the first of equal potentials */
            best = trial_pots[t] < trial_pots[best] ? t : best;
        }
        indices[c] = trial_rows[best];
        copy_row(data, trial_rows[best], centers + c * d);
        status = cem_kmeanspp_pass(1, centers + c * d, data, closest, 1, &pot, pass_work,
                                   pass_len);
        if (status != CEM_OK) {
            return status;
        }
    }
    return CEM_OK;
}
