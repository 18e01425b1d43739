/*
 * internal.h -- helpers shared by the cem C sources; not installed.
 */
#ifndef CEM_INTERNAL_H
#define CEM_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "cem.h"

/* MSVC spells C99's restrict __restrict unless compiling as C11 or later. */
#if defined(_MSC_VER) && !defined(__clang__) && (!defined(__STDC_VERSION__) || __STDC_VERSION__ < 201112L)
#define restrict __restrict
#endif

/* Rows per block of the wide passes (d > CEM_NARROW_MAX_D): a block's rows,
 * log-densities and responsibilities stay in L1/L2 between the E-step and
 * the accumulation. */
#define CEM_BLOCK_ROWS 64
/* Register tile of the block kernels: rows x columns (columns = two AVX2
 * vectors of doubles). CEM_BLOCK_ROWS must be a multiple of CEM_TILE_ROWS. */
#define CEM_TILE_ROWS 4
#define CEM_TILE_COLS 8
/* Up to this many features a block is stored rows-in-lanes (transposed). */
#define CEM_NARROW_MAX_D 4
/* Rows per block of the narrow passes: a block of them takes at most a
 * wide block's memory at d = 16, and four times a wide block's rows
 * amortise the per-block work (reducing the lanes' sums, the logarithm of
 * their products) over four times the rows: the classic example's pass is
 * 9% faster than with 64 (asv_bench/pass_ab.py). Wide passes slow down at
 * 256 rows (full d = 16: 54%), their blocks no longer fitting in cache. */
#define CEM_NARROW_BLOCK_ROWS 256

/* Rows per block of a pass over d features (the order of every sum of the
 * pass follows its blocks). */
static inline ptrdiff_t cem_block_rows(ptrdiff_t d)
{
    return d <= CEM_NARROW_MAX_D ? CEM_NARROW_BLOCK_ROWS : CEM_BLOCK_ROWS;
}

/* Row length of a padded block: d rounded up to whole column tiles (the
 * "leading dimension" ld of the wide layout, as in BLAS). */
static inline ptrdiff_t cem_padded(ptrdiff_t d)
{
    return (d + CEM_TILE_COLS - 1) / CEM_TILE_COLS * CEM_TILE_COLS;
}

/* Most components the fused narrow pass (kernels.inc: narrow_block) takes;
 * more go through the unfused narrow kernels. */
#define CEM_FUSED_MAX_K 8

/* What the fused narrow pass needs of the model: log-densities
 * base_c - ||(x - mu_c) U_c||^2 / 2 (FULL, TIED: U_c upper triangular
 * [d][d], row-major) or base_c - sum_j ((x_j - mu_cj) p_cj)^2 / 2 (the
 * variance types), and the moments about shift. */
typedef struct {
    ptrdiff_t k, d;
    int covariance_type;
    const double *means;   /* [k][d] */
    const double *shift;   /* [k][d] the point the moments are taken about */
    const double *factor;  /* component c's U_c or p_c at factor + c * factor_step */
    ptrdiff_t factor_step; /* 0 when all components share one factor */
    const double *base;    /* [k] log w_c + log det U_c - d/2 log(2 pi) */
} cem_narrow_model;

/* The vectorisable inner loops (src_c/kernels.inc documents each), one
 * table per instruction set; cem_select_kernels() picks the best one the
 * running CPU supports. */
typedef struct {
    void (*block_diff)(const double *xb, ptrdiff_t nb8, ptrdiff_t ld, const double *mu_pad,
                       double *dif);
    void (*quad_full)(const double *dif, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t ld,
                      const double *up, double *q);
    void (*tri_product)(const double *dif, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t ld,
                        const double *up, double *y);
    void (*quad_diag)(const double *xb, ptrdiff_t nb8, ptrdiff_t ld, const double *mu_pad,
                      const double *p, double *q);
    void (*diag_moments)(const double *xb, const double *a, ptrdiff_t nb, ptrdiff_t ld,
                         const double *mu_pad, double *sx, double *sq);
    void (*syrk_lower)(const double *dif, const double *wdif, ptrdiff_t nb, ptrdiff_t d,
                       ptrdiff_t ld, double *s);
    void (*row_max_t)(const double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                      double *mx);
    void (*exp_shifted_t)(double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                          const double *mx, double *s);
    void (*log_sum_t)(const double *mx, double *s, ptrdiff_t nb8, double *lse);
    void (*log_density_row)(const double *q, double base, ptrdiff_t nb8, double *l);
    void (*scale_rows_t)(double *lpt, ptrdiff_t nb8, ptrdiff_t k, ptrdiff_t stride,
                         const double *inv);
    void (*narrow_quad_full)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                             const double *mu, const double *u, double *q, double *y);
    void (*narrow_quad_diag)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                             const double *mu, const double *p, double *q);
    void (*narrow_moments)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                           const double *shift, const double *a, int pairs, double *sx,
                           double *sxx, double *dift);
    /* k-means (src_c/kmeans_kernels.inc) */
    void (*nearest_center_t)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                             const double *centers, ptrdiff_t k, double *near, double *d2near);
    void (*load_rows_t)(const double *x, ptrdiff_t ld, ptrdiff_t nb, ptrdiff_t d,
                        ptrdiff_t stride, double *out);
    void (*center_distances_t)(const double *xt, ptrdiff_t nb8, ptrdiff_t d, ptrdiff_t stride,
                               const double *centers, ptrdiff_t k, double *d2t);
    int (*lloyd_lanes_t)(const double *xt, ptrdiff_t nb, ptrdiff_t d, ptrdiff_t stride,
                         const double *near, const double *d2near, const double *w,
                         ptrdiff_t k, double *acc);
    int (*lloyd_scatter)(const double *rows, ptrdiff_t ld, ptrdiff_t step, ptrdiff_t nb,
                         ptrdiff_t d, const double *near, const double *d2near, const double *w,
                         ptrdiff_t k, double *acc);
    int (*narrow_block)(const cem_narrow_model *m, const double *xt, ptrdiff_t stride,
                        ptrdiff_t nb, const double *sw, double *stats, double *ll_sum);
    int (*tied_offsets)(const double *resp, ptrdiff_t row_step, ptrdiff_t comp_step,
                        const double *sample_weight, ptrdiff_t nb, ptrdiff_t k, ptrdiff_t ld,
                        const double *shift_pad, const double *anchor, double *neg_t,
                        double *row_total, double *pair_weight);
    void (*diff_weighted_moments)(const double *xb, const double *mu_pad, const double *a,
                                  ptrdiff_t nb, ptrdiff_t nb8, ptrdiff_t ld, double *dif,
                                  double *wdif, double *sx);
    const char *name; /* the variant: "baseline", "avx2" or "avx512" */
} cem_kernels;

/* The kernels of the best variant the running CPU supports, or of the one
 * the environment variable CEM_KERNELS names ("baseline", "avx2",
 * "avx512") when the CPU supports it (read at every call: for tests and
 * benchmarks; the table's `name` says which). cem_kernels_supported(name):
 * 1 if this build has the variant and the CPU runs it, else 0. */
const cem_kernels *cem_select_kernels(void);
int cem_kernels_supported(const char *name);

/* Element (i, j) of a data matrix as a double, whatever its dtype and strides. */
static inline double cem_load(const cem_data *data, ptrdiff_t i, ptrdiff_t j)
{
    const char *p = (const char *)data->x + i * data->row_stride + j * data->col_stride;
    return data->dtype == CEM_FLOAT64 ? *(const double *)p : (double)*(const float *)p;
}

/* Rows [i0, i0 + nb) as a block of rows of ld doubles, zero-padded to ld
 * columns and to nb8 = nb rounded up to whole row tiles: a pointer into
 * the data itself when it is already laid out so, else into buf, filled.
 * (No cem_prefetch_rows here: a wide block's work hides its misses, and
 * asking for the next block made the passes 1-7% slower.) */
const double *cem_load_block(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb, ptrdiff_t ld,
                             double *buf);

/* Copy rows [i0, i0 + nb) transposed: out[j][r] with row stride `stride`,
 * rows nb .. nb8 zero (the narrow layout); float64 rows with contiguous
 * columns a whole number of doubles apart through kern's load_rows_t.
 * Also asks the cache for the next nb rows (cem_prefetch_rows). */
void cem_load_block_t(const cem_kernels *kern, const cem_data *data, ptrdiff_t i0,
                      ptrdiff_t nb, ptrdiff_t stride, double *out);

/* Whether every value of rows [i0, i0 + nb) of data is finite (read as
 * data describes them: float64 or float32, any strides). The input check
 * of every fit and prediction, a pass over all of X: 1 if so, else 0. */
int cem_rows_finite(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb);

/* nb rounded up to 8 rows: whole row tiles, and whole 8-lane groups
 * (written nb8 wherever a block's padded row count is meant). */
static inline ptrdiff_t cem_round_rows(ptrdiff_t nb)
{
    return (nb + 7) / 8 * 8;
}

/* The one pairwise sum of eight partial sums, in a fixed order. */
static inline double cem_pairwise8(const double *part)
{
    return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* Sum of v[0 .. n) in 8 interleaved partial sums (v[r] goes to lane r % 8),
 * added pairwise: a fixed order, and no chain of dependent additions one
 * row long. Zero padding up to a multiple of 8 does not change the result. */
static inline double cem_lane_sum(const double *v, ptrdiff_t n)
{
    double part[8] = {0};
    ptrdiff_t r = 0;
    for (; r + 8 <= n; r += 8) { /* whole groups: the lanes vectorise */
        for (int t = 0; t < 8; t++) {
            part[t] += v[r + t];
        }
    }
    for (; r < n; r++) {
        part[r & 7] += v[r];
    }
    return cem_pairwise8(part);
}

/* n doubles in [0, 1) into out, bit for bit numpy's RandomState draws
 * (random_sample, uniform(0, 1)) from an MT19937 state: its 624 words
 * key[] and the position *pos in them (those RandomState.get_state()
 * reports); the state advances as numpy's would. CEM_EINVAL for a NULL
 * pointer, n < 0 or *pos outside [0, 624]. (mt19937.c) */
int cem_mt19937_uniform(uint32_t *key, int *pos, double *out, ptrdiff_t n);

/* numpy's sum of n doubles `stride` apart, bit for bit (pairwise: eight
 * running sums over blocks of at most 128, halves above; kmeans.c): for
 * values the Python side takes from ndarray.sum(), computed in C. */
double cem_numpy_sum(const double *a, ptrdiff_t n, ptrdiff_t stride);

/* v, rounded to a double before whatever adds it: the compiler cannot fuse
 * a product it cannot see into a multiply-add (GCC fuses across statements;
 * ISO C's FP_CONTRACT covers one expression only). */
static inline double cem_rounded(double v)
{
#if defined(__GNUC__) || defined(__clang__)
    __asm__("" : "+m"(v));
    return v;
#else
    volatile double held = v;
    return held;
#endif
}

/* Whether cem_kmeans_step sums k centers of d features with the masked
 * vectors of the lloyd_lanes_t kernel (every center's accumulators over
 * every row: k (d + 1) vector additions per 8 rows) rather than by
 * scattering each row to its own center's lanes (about 3 (d + 2) scalar
 * operations per row, through memory). Measured on AVX-512 and AVX2
 * (2026): the vectors win up to about k (d + 1) <= 3.2 (d + 2) -- k <= 7
 * at d = 1, k = 2 at d = 8 -- and take twice as long at k = d = 16. Both
 * give the same bits. */
static inline int cem_lloyd_in_vectors(ptrdiff_t k, ptrdiff_t d)
{
    return 5 * k * (d + 1) <= 16 * (d + 2);
}

/* Rows of float64 with contiguous columns, a whole number of doubles apart
 * (any sign): read as double rows in place -- transposed by the load_rows_t
 * kernel (cem_load_block_t), summed by lloyd_scatter. */
static inline int cem_rows_direct(const cem_data *data)
{
    return data->dtype == CEM_FLOAT64 && data->col_stride == (ptrdiff_t)sizeof(double)
           && data->row_stride % (ptrdiff_t)sizeof(double) == 0;
}

/* Asks the cache for rows [i0, i0 + nb) of data (clipped to its n rows)
 * ahead of their pass, into L2, when they span at most one 4 KiB page.
 * The narrow and k-means passes do little work per row, and in memory of
 * 4 KiB pages each of their blocks began with misses the hardware
 * prefetcher did not hide. Measured on a Xeon over 1M x 8 rows (a block a
 * page): a k-means++ pass 11.4 -> 8.8 ns per row, a Lloyd step 12.7 ->
 * 11.5, one thread; in numpy's arrays (transparent huge pages) 0-2% on one
 * thread, and the default 1M x 8 fit 7-10% faster on two. Larger spans are
 * left alone: at 8 KiB (k-means at d = 16) the burst of requests made
 * those passes up to 15% slower. Only for rows stored densely (at most
 * twice their own bytes apart): for scattered rows the lines asked for
 * would be mostly other data. A hint, not a read: it cannot fault, and the
 * lines are inside the rows described. Always inlined: GCC counts a
 * prefetch as no side effect, took a function of prefetches alone for
 * pure, and dropped its calls. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((always_inline)) static inline void cem_prefetch_rows(const cem_data *data,
                                                                    ptrdiff_t i0, ptrdiff_t nb)
{
    const ptrdiff_t item = data->dtype == CEM_FLOAT32 ? (ptrdiff_t)sizeof(float)
                                                      : (ptrdiff_t)sizeof(double);
    const ptrdiff_t row_bytes = data->d * item;
    if (i0 >= data->n || data->col_stride != item || data->row_stride < row_bytes
        || data->row_stride > 2 * row_bytes) {
        return;
    }
    nb = nb < data->n - i0 ? nb : data->n - i0;
    const char *first = (const char *)data->x + i0 * data->row_stride;
    const ptrdiff_t span = (nb - 1) * data->row_stride + row_bytes;
    if (span > 4096) {
        return;
    }
    for (ptrdiff_t off = 0; off < span; off += 64) {
        __builtin_prefetch(first + off, 0, 1);
    }
    __builtin_prefetch(first + span - 1, 0, 1); /* the last line when first is not aligned */
}
#else
static inline void cem_prefetch_rows(const cem_data *data, ptrdiff_t i0, ptrdiff_t nb)
{
    (void)data;
    (void)i0;
    (void)nb;
}
#endif

static inline double cem_row_weight(const cem_data *data, ptrdiff_t i)
{
    return data->sample_weight ? data->sample_weight[i] : 1.0;
}

static inline int cem_valid_covariance_type(int t)
{
    return t == CEM_FULL || t == CEM_TIED || t == CEM_DIAG || t == CEM_SPHERICAL
           || t == CEM_TIED_DIAG || t == CEM_TIED_SPHERICAL;
}

/* Is the covariance a full matrix (FULL, TIED), rather than variances? */
static inline int cem_matrix_type(int t)
{
    return t == CEM_FULL || t == CEM_TIED;
}

/* Is there one variance per feature (DIAG, TIED_DIAG), rather than one for
 * all features (SPHERICAL, TIED_SPHERICAL)? For variance types only. */
static inline int cem_per_feature_type(int t)
{
    return t == CEM_DIAG || t == CEM_TIED_DIAG;
}

/* Do all components share one covariance (TIED, TIED_DIAG, TIED_SPHERICAL)? */
static inline int cem_shared_type(int t)
{
    return t == CEM_TIED || t == CEM_TIED_DIAG || t == CEM_TIED_SPHERICAL;
}

/* Largest d, and largest k * padded(d)^2 and k * k, any size query accepts:
 * every buffer size of every function then fits a ptrdiff_t with room to
 * spare (no overflow in the size arithmetic, even on 32-bit targets the
 * sizes stay below what malloc could return). */
#define CEM_MAX_D ((ptrdiff_t)1 << 20)
#define CEM_MAX_ELEMENTS (PTRDIFF_MAX / 64)

/* A shape (k components, d features) whose buffers are representable. */
static inline int cem_valid_shape(ptrdiff_t k, ptrdiff_t d)
{
    if (k < 1 || d < 1 || d > CEM_MAX_D) {
        return 0;
    }
    const ptrdiff_t ld = cem_padded(d);
    return k <= CEM_MAX_ELEMENTS / (ld * ld) && k <= CEM_MAX_ELEMENTS / k;
}

/* CEM_OK if `data` is a well-formed matrix with `d` columns, else CEM_EINVAL. */
static inline int cem_check_data(const cem_data *data, ptrdiff_t d)
{
    if (data == NULL || data->n < 0 || data->d < 1 || data->d != d) {
        return CEM_EINVAL;
    }
    if (data->dtype != CEM_FLOAT64 && data->dtype != CEM_FLOAT32) {
        return CEM_EINVAL;
    }
    if (data->n > 0 && data->x == NULL) {
        return CEM_EINVAL;
    }
    return CEM_OK;
}

/* Scratch of one pass (cem_e_step, cem_accumulate), laid out in the
 * caller's work buffer by cem_pass_layout. B = cem_block_rows(d); wide and
 * narrow are the two block layouts of kernels.inc. */
typedef struct {
    double *block;       /* [B][ld] (wide) or [d][B] (narrow): the block's rows, copied */
    const double *rows;  /* the block's rows: `block`, or the data itself when laid out so */
    double *dif;         /* rows minus a shift, same layout as rows */
    double *wdif;        /* [B][ld] dif scaled by each row's weight (wide; none narrow) */
    double *gathered;    /* [B][ld] the rows a component has any weight on (wide; none narrow) */
    double *log_resp;    /* [k][B] log-densities, then responsibilities (rows in lanes) */
    double *row_weight;  /* [B] a_r = w_r r_rc of one component c, 0 on padding */
    double *quad;        /* [B] squared Mahalanobis distances, then log p(x_r) */
    double *row_max;     /* [B] row maxima of the log-densities */
    double *row_sum;     /* [B] row sums of the shifted exponentials */
    double *row_scratch; /* [B] scratch of the narrow kernels and the row totals */
    double *log_w;       /* [k] log mixture weights */
    double *log_det;     /* [k] log det of each precision factor */
    double *sx_row;      /* [ld] a block's first moment of one component */
    double *sq_row;      /* [ld] a block's diagonal second moment of one component */
    double *shift_pad;   /* [k][ld] the shifts padded with zeros */
    double *mean_pad;    /* [k][ld] the model's means padded with zeros (E-step) */
    double *factor;      /* padded factors: FULL [k][ld][ld], TIED [ld][ld], else [k][ld] */
    /* Wide tied passes apply the one shared factor U once per block, about a
     * common center s (the mean of the shifts), instead of once per
     * component; log-density c is then ||(x - s) U - b_c||^2. */
    double *tied_center; /* [ld] s, padded */
    double *tied_offset; /* [k][ld] b_c = (shift_c - s) U, padded */
    double *ones;        /* [ld] 1 on the d features, 0 in the padding */
    /* ... and the wide tied accumulation pools all components' rank updates
     * into one per block, each row about its anchor component (accumulate.c). */
    double *tied_anchor; /* [B] each row's anchor component g(r), as a double */
    double *tied_pair_weight; /* [k][k] this pass's N_gc = sum_{r: g(r)=g} a_rc */
    double *narrow_base;      /* [k] the fused narrow pass's log w_c + log det - d/2 log 2 pi */
} cem_pass_work;

/* The one description of the pass's scratch: lays it out from `work` into
 * *w (pointers NULL when work is NULL) and returns its length in doubles. */
ptrdiff_t cem_pass_layout(double *work, ptrdiff_t k, ptrdiff_t d, int covariance_type,
                          cem_pass_work *w);

/* What the accumulation of a pass needs to know of the model's shape. */
typedef struct {
    const cem_kernels *kern;
    ptrdiff_t k, d, ld;   /* components, features, padded row length */
    int covariance_type;
    const double *shift;  /* [k][d] the point moments are taken about */
    cem_pass_work w;
    /* A wide FULL block with missing values (missing.c) holds its rows
     * filled (x~); the accumulation adds patch_delta[i][c] to element
     * patch_at[i] of component c's differences to its shift, which makes
     * them those of x_hat (the conditional mean) instead. 0 otherwise. */
    ptrdiff_t n_patch;
    const double *patch_at;    /* [n_patch] offsets r ld + j into a [B][ld] block, as doubles */
    const double *patch_delta; /* [n_patch][k] x_hat_j - f_j under each component */
} cem_pass;

/* One block of rows with its responsibilities: row r (0 <= r < nb) is row
 * i0 + r of data, its responsibility for component c is
 * resp[r * row_step + c * comp_step]. The rows are loaded in pass->w.rows. */
typedef struct {
    const cem_data *data;
    ptrdiff_t i0, nb;
    const double *resp;
    ptrdiff_t row_step, comp_step;
} cem_block;

/* Is this a wide tied pass (the shared-factor path)? */
static inline int cem_tied_wide(int covariance_type, ptrdiff_t d)
{
    return covariance_type == CEM_TIED && d > CEM_NARROW_MAX_D;
}

/* accumulate.c: fold a block into stats (layout of cem.h), choosing the
 * accumulation path by layout and covariance type; and the pass-level
 * start and finish of the wide tied path. */
void cem_accumulate_block(cem_pass *pass, const cem_block *block, double *stats);
void cem_accumulate_tied_start(cem_pass *pass);
void cem_accumulate_tied_finish(const cem_pass *pass, double *stats);

/* accumulate.c: cem_accumulate_block for a hard partition given as labels
 * (labels[r] the component of the block's row r; block->resp unused), on
 * the shapes cem_labels_accumulate takes: the same bits. */
void cem_accumulate_labels_block(cem_pass *pass, const cem_block *block, const int32_t *labels,
                                 double *stats);

/* Whether cem_accumulate_labels takes this shape: FULL and the variance
 * types (DIAG, SPHERICAL, TIED_DIAG, TIED_SPHERICAL) in the wide layout,
 * where one-hot responsibilities cost a sweep of the block per component. */
static inline int cem_labels_accumulate(int covariance_type, ptrdiff_t d)
{
    return cem_valid_covariance_type(covariance_type) && covariance_type != CEM_TIED
           && d > CEM_NARROW_MAX_D;
}

/* cem_accumulate of the hard partition labels[i] (the component of row i,
 * in [0, k)) given as labels instead of one-hot responsibilities: the
 * same statistics, bit for bit, on the shapes cem_labels_accumulate takes
 * (CEM_EINVAL for others, or for a label outside [0, k)). Rows are
 * expected finite (k-means's labels come from finite distances); a
 * non-finite row turns only its own component's sums non-finite.
 * Scratch and other arguments as cem_accumulate. */
int cem_accumulate_labels(ptrdiff_t k, int covariance_type, const double *shift,
                          const cem_data *data, const int32_t *labels, double *stats,
                          double *work, ptrdiff_t work_len);

/* EM iterations from the given parameters until the bound changes by less
 * than tol or max_iter (cem_fit's loop, shared with cem_fit_batch): each
 * iteration one pass (two when the moments about the means cancel: the
 * pass is redone about the centers it found) and one M-step. bounds: [max_iter]
 * each iteration's bound, or NULL. Scratch: stats [cem_stats_size()],
 * centers [k][d], pass_work [pass_len >= cem_e_step_work_size()]. Arguments
 * as cem_fit, checked by the caller. */
int cem_em_iterations(ptrdiff_t k, int covariance_type, const cem_data *data, double tol,
                      ptrdiff_t max_iter, double reg_covar, double *weights, double *means,
                      double *covariances, double *prec_chol, ptrdiff_t *n_iter,
                      int *converged, double *lower_bound, double *bounds, double *stats,
                      double *centers, double *pass_work, ptrdiff_t pass_len);

/* CEM_OK if all `size` entries of a statistics array are finite, else
 * CEM_ENONFINITE (the M-steps' check of their input). */
static inline int cem_check_stats_finite(const double *stats, ptrdiff_t size)
{
    for (ptrdiff_t i = 0; i < size; i++) {
        if (!isfinite(stats[i])) {
            return CEM_ENONFINITE;
        }
    }
    return CEM_OK;
}

#endif /* CEM_INTERNAL_H */
