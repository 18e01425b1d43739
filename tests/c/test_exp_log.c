/*
 * test_exp_log.c -- the error bounds of the E-step's exp (x <= 0) and log
 * (x >= 1) (kernels.inc, tables in exp_log_tables.h), for
 * every kernel variant the CPU runs, against long double references; and
 * that each variant's scalar function gives the bits of its vector twin
 * (the dispatched exp_shifted_t / log_sum_t). Includes kernels.c to reach
 * its static functions; build from the checkout:
 *     cc -std=c99 -O2 -Icem/include -Isrc_c tests/c/test_exp_log.c -lm
 * Argument: the number of random points per function (default 1,000,000).
 * Prints the largest errors found and "N passed, M failed"; exits non-zero
 * on any failure. Needs a long double with >= 64 mantissa bits and expl,
 * logl accurate to them (x86-64 glibc; not musl, whose 128-bit expl is
 * exp); elsewhere it says so and checks only the exact cases and bits.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.c"
#include "check.h"

/* The documented bounds, in ulp of the correctly rounded result. */
static const double EXP_MAX_ULP = 0.66;
static const double LOG_MAX_ULP = 2.0;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t next_u64(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(void) /* [0, 1) */
{
    return (double)(next_u64() >> 11) * 0x1p-53;
}

static double from_bits(uint64_t b)
{
    double x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static uint64_t to_bits(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

/* |y - ref| in units of the last place of the double nearest ref (ref a
 * normal double's range). */
static double ulp_error(double y, long double ref)
{
    int e;
    if (ref == 0.0L) {
        return y == 0.0 ? 0.0 : INFINITY;
    }
    frexpl(ref, &e); /* |ref| in [2^(e-1), 2^e) */
    if (e - 1 < DBL_MIN_EXP - 1) {
        e = DBL_MIN_EXP;
    }
    const long double unit = ldexpl(1.0L, e - 1 - (DBL_MANT_DIG - 1));
    return (double)(fabsl((long double)y - ref) / unit);
}

/* One variant's functions over arrays, as the E-step calls them. */
typedef struct {
    const cem_kernels *kern;
    double (*exp_scalar)(double);
    double (*log_scalar)(double);
} variant;

enum { CHUNK = 1024 + 8 }; /* whole steps of every variant, then single vectors */

typedef struct {
    double worst_exp, worst_log;
    double x_exp, x_log;
    long mismatches; /* scalar vs vector bits */
} tally;

/* exp over xs[0 .. n) (n <= CHUNK, a multiple of 8) through exp_shifted_t
 * (k = 1, shift 0) and the scalar function; checks and records errors. */
static void run_exp(const variant *v, const double *xs, ptrdiff_t n, tally *t, int check_ulp)
{
    double l[CHUNK], mx[CHUNK], s[CHUNK];
    memcpy(l, xs, (size_t)n * sizeof(double));
    memset(mx, 0, sizeof mx);
    v->kern->exp_shifted_t(l, n, 1, CHUNK, mx, s);
    for (ptrdiff_t r = 0; r < n; r++) {
        const double y = l[r];
        if (to_bits(y) != to_bits(v->exp_scalar(xs[r])) || to_bits(s[r]) != to_bits(y)) {
            t->mismatches++;
        }
        if (xs[r] < -708.0) {
            if (y != 0.0) {
                t->worst_exp = INFINITY;
                t->x_exp = xs[r];
            }
            continue;
        }
        if (!check_ulp) {
            continue;
        }
        const double err = ulp_error(y, expl((long double)xs[r]));
        if (!(err <= t->worst_exp)) {
            t->worst_exp = err;
            t->x_exp = xs[r];
        }
    }
}

/* log over xs[0 .. n) through log_sum_t (shift 0), which also leaves
 * 1 / x, correctly rounded (a division). */
static void run_log(const variant *v, const double *xs, ptrdiff_t n, tally *t, int check_ulp)
{
    double s[CHUNK], mx[CHUNK], lse[CHUNK];
    memcpy(s, xs, (size_t)n * sizeof(double));
    memset(mx, 0, sizeof mx);
    v->kern->log_sum_t(mx, s, n, lse);
    for (ptrdiff_t r = 0; r < n; r++) {
        const double lg = v->log_scalar(xs[r]);
        if (to_bits(lg) != to_bits(lse[r]) || to_bits(1.0 / xs[r]) != to_bits(s[r])) {
            t->mismatches++;
        }
        if (!check_ulp) {
            continue;
        }
        const double err = ulp_error(lse[r], logl((long double)xs[r]));
        if (!(err <= t->worst_log)) {
            t->worst_log = err;
            t->x_log = xs[r];
        }
    }
}

/* Buffered points: run_* on every full chunk. */
typedef struct {
    double xs[CHUNK];
    ptrdiff_t n;
    int is_log;
} batch;

static void flush(const variant *v, batch *b, tally *t, int check_ulp)
{
    while (b->n % 8 != 0) { /* pad with an exact case */
        b->xs[b->n++] = b->is_log ? 1.0 : 0.0;
    }
    if (b->n > 0) {
        (b->is_log ? run_log : run_exp)(v, b->xs, b->n, t, check_ulp);
    }
    b->n = 0;
}

static void add(const variant *v, batch *b, double x, tally *t, int check_ulp)
{
    b->xs[b->n++] = x;
    if (b->n == CHUNK) {
        flush(v, b, t, check_ulp);
    }
}

static void test_variant(const char *name, const variant *v, long n_random, int check_ulp)
{
    tally t = {0, 0, 0, 0, 0};
    batch e = {{0}, 0, 0}, g = {{0}, 0, 1};
    const double ln2_n = 0.693147180559945309417 / (1 << CEM_EXP_TABLE_BITS);
    const long k_max = (long)(708.0 / ln2_n) + 2;

    /* exp: uniform on [-708, 0], log-uniform magnitudes 2^-60 .. 708 */
    for (long i = 0; i < n_random; i++) {
        add(v, &e, -708.0 * uniform(), &t, check_ulp);
        add(v, &e, -exp2(-60.0 + 69.47 * uniform()), &t, check_ulp);
    }
    /* every reduction boundary (k +- 1/2) ln2/N and every k ln2/N, and a
     * few ulps around each */
    for (long kk = 0; kk < k_max; kk++) {
        for (int half = 0; half < 2; half++) {
            const double c = -((double)kk + 0.5 * half) * ln2_n;
            double x = c;
            for (int s = 0; s < 3; s++) {
                if (x >= -708.0) {
                    add(v, &e, x, &t, check_ulp);
                }
                x = nextafter(x, 0.0);
            }
            x = nextafter(c, -INFINITY);
            if (x >= -708.0) {
                add(v, &e, x, &t, check_ulp);
            }
        }
    }
    const double exp_edges[] = {0.0, -0.0, -708.0, nextafter(-708.0, 0.0), -708.0000001,
                                -745.0, -1e300, -INFINITY, -DBL_MIN, -4.9e-324, -1e-300,
                                -0x1p-54, -0x1p-53, -1e-10, -0.5, -1.0, -ln2_n / 2};
    for (size_t i = 0; i < sizeof exp_edges / sizeof exp_edges[0]; i++) {
        add(v, &e, exp_edges[i], &t, check_ulp);
    }
    flush(v, &e, &t, check_ulp);

    /* log: 2^u for u uniform on [0, 64], uniform on [1, 2),
     * 1 + tiny, every subinterval boundary (z's top bits) for e = 0 .. 64
     * and a few ulps around, huge */
    for (long i = 0; i < n_random; i++) {
        add(v, &g, exp2(64.0 * uniform()), &t, check_ulp);
        add(v, &g, 1.0 + uniform(), &t, check_ulp);
        add(v, &g, 1.0 + exp2(-52.0 + 45.0 * uniform()), &t, check_ulp);
    }
    for (uint64_t ex = 0; ex <= 64; ex++) {
        for (uint64_t i = 0; i <= (1u << CEM_LOG_TABLE_BITS); i++) {
            const uint64_t b = CEM_LOG_OFFSET + (i << (52 - CEM_LOG_TABLE_BITS)) + (ex << 52);
            for (int64_t d = -2; d <= 2; d++) {
                const double x = from_bits(b + (uint64_t)d);
                if (x >= 1.0) {
                    add(v, &g, x, &t, check_ulp);
                }
            }
        }
    }
    const double log_edges[] = {1.0, nextafter(1.0, 2.0), 1.0 + 0x1p-30, 2.0, nextafter(2.0, 0.0),
                                3.0, 8.0, 1.5, 0x1p63, 0x1p64, 0x1p200, 0x1p999, DBL_MAX};
    for (size_t i = 0; i < sizeof log_edges / sizeof log_edges[0]; i++) {
        add(v, &g, log_edges[i], &t, check_ulp);
    }
    flush(v, &g, &t, check_ulp);

    /* exact cases */
    {
        double l[8] = {0}, mx[8] = {0}, s[8];
        v->kern->exp_shifted_t(l, 8, 1, 8, mx, s);
        CHECK(l[0] == 1.0 && s[0] == 1.0); /* exp(0) = 1: the max's term */
        double one[8] = {1, 1, 1, 1, 2, 4, 0x1p40, 0x1p-0}, lse[8];
        v->kern->log_sum_t(mx, one, 8, lse);
        CHECK(lse[0] == 0.0 && one[0] == 1.0 && one[4] == 0.5 && one[5] == 0.25);
        CHECK(one[6] == 0x1p-40);
    }

    printf("%s: exp max %.4f ulp (x = %a), log max %.4f ulp (x = %a), "
           "scalar/vector mismatches %ld\n",
           name, t.worst_exp, t.x_exp, t.worst_log, t.x_log, t.mismatches);
    CHECK(t.mismatches == 0);
    CHECK(t.worst_exp <= EXP_MAX_ULP);
    CHECK(t.worst_log <= LOG_MAX_ULP);
}

int main(int argc, char **argv)
{
    const long n_random = argc > 1 ? atol(argv[1]) : 1000000;
    const int check_ulp = LDBL_MANT_DIG >= 64
                          && fabsl(expl(1.0L) - 2.71828182845904523536028747135266250L) < 1e-18L
                          && fabsl(logl(3.0L) - 1.09861228866810969139524523692252570L) < 1e-18L;
    if (!check_ulp) {
        printf("no long double exp/log to 64 bits here: only exact cases and bit identity "
               "checked\n");
    }
    const variant baseline = {&table_baseline, exp_le0_baseline, log_ge1_baseline};
    test_variant("baseline", &baseline, n_random, check_ulp);
#ifdef CEM_HAVE_AVX2_VARIANT
    if (cem_supported(&table_avx2)) {
        const variant avx2 = {&table_avx2, exp_le0_avx2, log_ge1_avx2};
        test_variant("avx2", &avx2, n_random, check_ulp);
    } else {
        printf("avx2: not supported by this CPU\n");
    }
    if (cem_supported(&table_avx512)) {
        const variant avx512 = {&table_avx512, exp_le0_avx512, log_ge1_avx512};
        test_variant("avx512", &avx512, n_random, check_ulp);
    } else {
        printf("avx512: not supported by this CPU\n");
    }
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
