/*
 * kmeans.c -- k-means++ seeding and Lloyd passes, for initialising EM.
 * Rows are read in blocks stored rows-in-lanes (the fused pass's narrow
 * layout) and their distances computed by the kernels of kmeans_kernels.inc,
 * which vectorise across rows.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

ptrdiff_t cem_kmeans_work_size(ptrdiff_t k, ptrdiff_t d)
{
    if (k < 1 || d < 1 || k > PTRDIFF_MAX / 16 - CEM_BLOCK_ROWS
        || d + 1 > PTRDIFF_MAX / 16 / (k + CEM_BLOCK_ROWS)) {
        return CEM_EINVAL; /* its size would overflow */
    }
    /* a block, its distances to every center, and cem_kmeans_step's
     * k * d + k + 1 sums in 8 lanes each */
    return CEM_BLOCK_ROWS * d + CEM_BLOCK_ROWS * k + 8 * (k * d + k + 1);
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

/* cem_kmeans_step's rows [i0, i0 + nb) of a block added to their nearest
 * centers' lanes (the lloyd_scatter kernel): read in place when they are
 * contiguous float64, else from the block xt. */
static int scatter_rows(const cem_kernels *kern, const cem_data *data, ptrdiff_t i0,
                        ptrdiff_t nb, const double *xt, const double *near,
                        const double *d2near, const double *w, ptrdiff_t k, double *acc)
{
    if (cem_rows_direct(data)) {
        const ptrdiff_t ld = data->row_stride / (ptrdiff_t)sizeof(double);
        return kern->lloyd_scatter((const double *)data->x + i0 * ld, ld, 1, nb, data->d, near,
                                   d2near, w, k, acc);
    }
    return kern->lloyd_scatter(xt, 1, CEM_BLOCK_ROWS, nb, data->d, near, d2near, w, k, acc);
}

/* Accumulator i's 8 lanes added pairwise, from either layout. */
static double lane_total(const double *acc, ptrdiff_t i, ptrdiff_t n_acc, int lane_major)
{
    double part[8];
    for (int t = 0; t < 8; t++) {
        part[t] = lane_major ? acc[t * n_acc + i] : acc[i * 8 + t];
    }
    return cem_pairwise8(part);
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
    /* each row's distance to its nearest center, and with k >= 2 that
     * center's index (as a double): the room of k distances holds them */
    double *d2near = xt + B * d, *near = k >= 2 ? d2near + B : NULL;
    /* The sums, counts and inertia in 8 lanes each (row r in lane r % 8),
     * added pairwise at the end: no addition waits for the previous row's
     * (when rows of one cluster follow each other, as in sorted data, the
     * sums of one center were a chain of dependent additions through
     * memory), and the error grows with n / 8 rather than n. In masked
     * vectors or scattered row by row (cem_lloyd_in_vectors): the same bits. */
    double *acc = d2near + B * k;
    const ptrdiff_t kd = k * d, n_acc = kd + k + 1;
    memset(acc, 0, (size_t)(8 * n_acc) * sizeof(double));
    int lane_major = !cem_lloyd_in_vectors(k, d);
    int64_t changed = 0;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B;
        cem_load_block_t(kern, data, i0, nb, CEM_BLOCK_ROWS, xt);
        if (k == 1) {
            kern->center_distances_t(xt, cem_round_rows(nb), d, B, centers, 1, d2near);
        } else {
            kern->nearest_center_t(xt, cem_round_rows(nb), d, B, centers, k, near, d2near);
        }
        const double *w = data->sample_weight != NULL ? data->sample_weight + i0 : NULL;
        int status = lane_major ? -1 : kern->lloyd_lanes_t(xt, nb, d, B, near, d2near, w, k, acc);
        if (status < 0) { /* scattered; a build without vectors says so at its first block */
            lane_major = 1;
            status = scatter_rows(kern, data, i0, nb, xt, near, d2near, w, k, acc);
        }
        if (status != 0) {
            return CEM_ENONFINITE; /* a NaN or inf in the row or the centers */
        }
        if (labels != NULL) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                const int32_t best = k >= 2 ? (int32_t)near[r] : 0;
                changed += labels[i0 + r] != best;
                labels[i0 + r] = best;
            }
        }
    }
    for (ptrdiff_t i = 0; i < kd; i++) {
        sums[i] += lane_total(acc, i, n_acc, lane_major);
    }
    for (ptrdiff_t c = 0; c < k; c++) {
        counts[c] += lane_total(acc, kd + c, n_acc, lane_major);
    }
    *inertia += lane_total(acc, kd + k, n_acc, lane_major);
    if (n_changed != NULL) {
        *n_changed += changed;
    }
    return CEM_OK;
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
        || (data->n > 0 && closest == NULL)
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
    double pot[CEM_KMEANSPP_MAX_TRIALS + 1] = {0};
    if (n_cand > CEM_KMEANSPP_MAX_TRIALS + 1) { /* more than cem_kmeanspp takes: in place */
        for (ptrdiff_t t = 0; t < n_cand; t++) {
            pots[t] = 0.0;
        }
    }
    double *restrict part = n_cand > CEM_KMEANSPP_MAX_TRIALS + 1 ? pots : pot;
    for (ptrdiff_t i0 = 0; i0 < data->n; i0 += B) {
        const ptrdiff_t nb = data->n - i0 < B ? data->n - i0 : B;
        double *restrict near = closest + i0;
        cem_load_block_t(kern, data, i0, nb, CEM_BLOCK_ROWS, xt);
        kern->center_distances_t(xt, cem_round_rows(nb), data->d, B, candidates, n_cand, d2t);
        if (update) {
            for (ptrdiff_t r = 0; r < nb; r++) {
                near[r] = d2t[r] < near[r] ? d2t[r] : near[r];
            }
        }
        /* each candidate's potential summed over the rows in order */
        for (ptrdiff_t t = 0; t < n_cand; t++) {
            const double *restrict d2 = d2t + t * B;
            double s = part[t];
            if (data->sample_weight != NULL) {
                const double *restrict w = data->sample_weight + i0;
                for (ptrdiff_t r = 0; r < nb; r++) {
                    s += w[r] * (d2[r] < near[r] ? d2[r] : near[r]);
                }
            } else {
                for (ptrdiff_t r = 0; r < nb; r++) {
                    s += d2[r] < near[r] ? d2[r] : near[r];
                }
            }
            part[t] = s;
        }
    }
    for (ptrdiff_t t = 0; t < n_cand; t++) {
        pots[t] = part[t];
        if (!isfinite(pots[t])) {
            return CEM_ENONFINITE;
        }
    }
    return CEM_OK;
}

ptrdiff_t cem_kmeanspp_partitions(ptrdiff_t n)
{
    if (n < 0) {
        return CEM_EINVAL;
    }
    const ptrdiff_t by_rows = n / CEM_PARTITION_MIN_ROWS + (n % CEM_PARTITION_MIN_ROWS != 0);
    return by_rows < 1 ? 1 : by_rows > CEM_PARTITION_MAX ? CEM_PARTITION_MAX : by_rows;
}

ptrdiff_t cem_partition_start(ptrdiff_t n, ptrdiff_t n_parts, ptrdiff_t p)
{
    if (n < 0 || n_parts < 1 || p < 0 || p > n_parts) {
        return CEM_EINVAL;
    }
    /* floor(p * n / n_parts) without forming p * n, which may overflow */
    return p * (n / n_parts) + p * (n % n_parts) / n_parts;
}

/* numpy's sum of n doubles `stride` apart (pairwise: eight running sums
 * over blocks of at most 128, halves above), so that a value GMM.fit takes
 * from ndarray.sum() comes out bit for bit. */
double cem_numpy_sum(const double *a, ptrdiff_t n, ptrdiff_t stride)
{
    if (n < 8) {
        double res = 0.0;
        for (ptrdiff_t i = 0; i < n; i++) {
            res += a[i * stride];
        }
        return res;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; j++) {
            r[j] = a[j * stride];
        }
        ptrdiff_t i = 8;
        for (; i < n - n % 8; i += 8) {
            for (int j = 0; j < 8; j++) {
                r[j] += a[(i + j) * stride];
            }
        }
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) {
            res += a[i * stride];
        }
        return res;
    }
    ptrdiff_t half = n / 2;
    half -= half % 8;
    return cem_numpy_sum(a, half, stride) + cem_numpy_sum(a + half * stride, n - half, stride);
}

int cem_kmeanspp_first(const cem_data *data, double u, int64_t *index)
{
    if (data == NULL || index == NULL || cem_check_data(data, data->d) != CEM_OK
        || data->n < 1 || !(u >= 0.0 && u < 1.0) || check_weights(data) != CEM_OK) {
        return CEM_EINVAL;
    }
    const ptrdiff_t n = data->n;
    const double *w = data->sample_weight;
    /* RandomState.choice(n, p=w / w.sum()): cdf = cumsum(p) / cumsum(p)[-1],
     * then the first i with cdf_i > u (searchsorted side='right'). */
    const double total = w != NULL ? cem_numpy_sum(w, n, 1) : (double)n;
    if (!(total > 0.0)) {
        return CEM_ENOWEIGHT;
    }
    if (!isfinite(total)) {
        return CEM_ENONFINITE;
    }
    double last = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        last += (w != NULL ? w[i] : 1.0) / total;
    }
    double cum = 0.0;
    for (ptrdiff_t i = 0; i < n; i++) {
        cum += (w != NULL ? w[i] : 1.0) / total;
        if (cum / last > u) {
            *index = i;
            return CEM_OK;
        }
    }
    *index = n - 1; /* not reached: the last fraction is exactly 1 > u */
    return CEM_OK;
}

/* The partition where the running sum of part_pots reaches target (the
 * last if it never does), and in *before the sum of the partitions before it. */
static ptrdiff_t pick_partition(ptrdiff_t n_parts, const double *part_pots,
                                ptrdiff_t pots_stride, double target, double *before)
{
    ptrdiff_t p = 0;
    double cum = 0.0;
    while (p < n_parts - 1 && cum + part_pots[p * pots_stride] < target) {
        cum += part_pots[p * pots_stride];
        p++;
    }
    *before = cum;
    return p;
}

ptrdiff_t cem_kmeanspp_pick_partition(ptrdiff_t n_parts, const double *part_pots,
                                      ptrdiff_t pots_stride, double target)
{
    if (n_parts < 1 || part_pots == NULL || pots_stride < 1 || isnan(target)) {
        return CEM_EINVAL;
    }
    double before;
    return pick_partition(n_parts, part_pots, pots_stride, target, &before);
}

int cem_kmeanspp_pick(const cem_data *data, const double *closest, ptrdiff_t n_parts,
                      const double *part_pots, ptrdiff_t pots_stride, double target,
                      int64_t *index)
{
    if (data == NULL || closest == NULL || part_pots == NULL || index == NULL
        || cem_check_data(data, data->d) != CEM_OK || n_parts < 1 || n_parts > data->n
        || pots_stride < 1 || isnan(target)) {
        return CEM_EINVAL;
    }
    /* whole partitions first (their totals, in order), then row by row */
    double cum;
    const ptrdiff_t p = pick_partition(n_parts, part_pots, pots_stride, target, &cum);
    const ptrdiff_t start = cem_partition_start(data->n, n_parts, p);
    const ptrdiff_t stop = cem_partition_start(data->n, n_parts, p + 1);
    for (ptrdiff_t i = start; i < stop; i++) {
        cum += cem_row_weight(data, i) * closest[i];
        if (cum >= target) {
            *index = i;
            return CEM_OK;
        }
    }
    *index = stop - 1;
    return CEM_OK;
}

int cem_kmeanspp_best(ptrdiff_t n_cand, ptrdiff_t n_parts, const double *part_pots,
                      ptrdiff_t pots_stride, ptrdiff_t *best, double *pot)
{
    if (n_cand < 1 || n_parts < 1 || pots_stride < n_cand || part_pots == NULL
        || best == NULL) {
        return CEM_EINVAL;
    }
    ptrdiff_t b = 0;
    double b_pot = INFINITY;
    for (ptrdiff_t t = 0; t < n_cand; t++) {
        double total = 0.0;
        for (ptrdiff_t p = 0; p < n_parts; p++) { /* in partition order */
            total += part_pots[p * pots_stride + t];
        }
        if (!isfinite(total)) {
            return CEM_ENONFINITE;
        }
        if (t == 0 || total < b_pot) { /* the first of equal potentials */
            b = t;
            b_pot = total;
        }
    }
    *best = b;
    if (pot != NULL) {
        *pot = b_pot;
    }
    return CEM_OK;
}

ptrdiff_t cem_kmeanspp_work_size(ptrdiff_t n, ptrdiff_t d, ptrdiff_t n_trials)
{
    if (n < 0 || d < 1 || n_trials < 1) {
        return CEM_EINVAL;
    }
    /* per row its distance to the nearest center; per partition and
     * column (the pending center, then the trials) a potential; a pass's
     * scratch; the pending center and the trials */
    return n + cem_kmeanspp_partitions(n) * (n_trials + 1)
           + cem_kmeans_work_size(n_trials + 1, d) + (n_trials + 1) * d;
}

/* cem_kmeanspp_pass over partition p of n_parts, its potentials into pots. */
static int partition_pass(ptrdiff_t n_cand, const double *cand, const cem_data *data,
                          ptrdiff_t p, ptrdiff_t n_parts, double *closest, int update,
                          double *pots, double *work, ptrdiff_t work_len)
{
    const ptrdiff_t start = cem_partition_start(data->n, n_parts, p);
    cem_data sub = *data;
    sub.x = (const char *)data->x + start * data->row_stride;
    sub.n = cem_partition_start(data->n, n_parts, p + 1) - start;
    if (data->sample_weight != NULL) {
        sub.sample_weight = data->sample_weight + start;
    }
    return cem_kmeanspp_pass(n_cand, cand, &sub, closest + start, update, pots, work, work_len);
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
    for (ptrdiff_t t = 0; t < 1 + (k - 1) * n_trials; t++) {
        if (!(uniforms[t] >= 0.0 && uniforms[t] < 1.0)) {
            return CEM_EINVAL;
        }
    }
    const ptrdiff_t n = data->n, d = data->d, n_parts = cem_kmeanspp_partitions(n);
    if (work_len < cem_kmeanspp_work_size(n, d, n_trials)) {
        return CEM_EWORK;
    }
    const ptrdiff_t stride = n_trials + 1;
    double *closest = work; /* D(x_i)^2 to the nearest chosen center */
    double *part_pots = closest + n;
    double *pass_work = part_pots + n_parts * stride;
    const ptrdiff_t pass_len = cem_kmeans_work_size(n_trials + 1, d);
    double *cand = pass_work + pass_len; /* [0] the pending center, [1 ..] the trials */
    ptrdiff_t best, col = 0; /* col: part_pots' column of the lowered closest */
    double pot, scratch_pot;

    int status = cem_kmeanspp_first(data, uniforms[0], &indices[0]);
    if (status != CEM_OK) {
        return status;
    }
    copy_row(data, indices[0], centers);
    for (ptrdiff_t i = 0; i < n; i++) {
        closest[i] = INFINITY;
    }
    for (ptrdiff_t p = 0; p < n_parts && status == CEM_OK; p++) {
        status = partition_pass(1, centers, data, p, n_parts, closest, 1, part_pots + p * stride,
                                pass_work, pass_len);
    }
    if (status == CEM_OK) {
        status = cem_kmeanspp_best(1, n_parts, part_pots, stride, &best, &pot);
    }
    /* A chosen center is not applied to closest in a pass of its own: the
     * trials' pass already gave its potential per partition (column col),
     * so it stays pending, is applied to the partition of each pick before
     * the pick reads closest there, and to every row by the next trials'
     * pass (as its candidate 0). Lowering closest to a center twice changes
     * nothing, and every sum is the one a separate pass would make. */
    int pending = 0;
    for (ptrdiff_t c = 1; c < k && status == CEM_OK; c++) {
        int64_t trial_rows[CEM_KMEANSPP_MAX_TRIALS];
        for (ptrdiff_t t = 0; t < n_trials && status == CEM_OK; t++) {
            const double target = uniforms[1 + (c - 1) * n_trials + t] * pot;
            if (pending) {
                const ptrdiff_t p = cem_kmeanspp_pick_partition(n_parts, part_pots + col,
                                                                stride, target);
                status = partition_pass(1, cand, data, p, n_parts, closest, 1, &scratch_pot,
                                        pass_work, pass_len);
            }
            if (status == CEM_OK) {
                status = cem_kmeanspp_pick(data, closest, n_parts, part_pots + col, stride,
                                           target, &trial_rows[t]);
            }
            if (status == CEM_OK) {
                copy_row(data, trial_rows[t], cand + (1 + t) * d);
            }
        }
        for (ptrdiff_t p = 0; p < n_parts && status == CEM_OK; p++) {
            status = partition_pass(n_trials + pending, cand + (1 - pending) * d, data, p,
                                    n_parts, closest, pending, part_pots + p * stride,
                                    pass_work, pass_len);
        }
        if (status == CEM_OK) {
            status = cem_kmeanspp_best(n_trials, n_parts, part_pots + pending, stride, &best,
                                       &pot);
        }
        if (status == CEM_OK) {
            indices[c] = trial_rows[best];
            copy_row(data, trial_rows[best], centers + c * d);
            memcpy(cand, centers + c * d, (size_t)d * sizeof(double));
            col = pending + best;
            pending = 1;
        }
    }
    return status;
}
