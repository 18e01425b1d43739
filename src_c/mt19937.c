/*
 * mt19937.c -- numpy's RandomState uniform draws (MT19937, 53-bit doubles),
 * bit for bit, a block of the state at a time.
 *
 * numpy makes each double by two calls through its bit generator, each
 * tempering one word. Here the state is regenerated and tempered in whole
 * loops over its 624 words, which the compiler vectorises: the classic
 * example's random initialisation draws 20,000 doubles, numpy's own loop
 * taking longer than two EM passes over the data.
 */
#include "internal.h"

#define MT_N 624
#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfu
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

static inline uint32_t mt_mix(uint32_t upper_of, uint32_t lower_of, uint32_t far)
{
    const uint32_t y = (upper_of & MT_UPPER) | (lower_of & MT_LOWER);
    return far ^ (y >> 1) ^ ((0u - (y & 1u)) & MT_MATRIX_A);
}

/* The next 624 words of the state, in place (numpy's mt19937_gen). The
 * second loop reads words the first one wrote, 227 back: no vector is wider. */
static void mt_regenerate(uint32_t *key)
{
    ptrdiff_t i; /* not int: with -fwrapv (Python's flags) GCC vectorises no int index */
    for (i = 0; i < MT_N - MT_M; i++) {
        key[i] = mt_mix(key[i], key[i + 1], key[i + MT_M]);
    }
    for (; i < MT_N - 1; i++) {
        key[i] = mt_mix(key[i], key[i + 1], key[i + MT_M - MT_N]);
    }
    key[MT_N - 1] = mt_mix(key[MT_N - 1], key[0], key[MT_M - 1]);
}

static inline uint32_t mt_temper(uint32_t y)
{
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

/* 53 random bits from two tempered words (a's top 27, b's top 26) in
 * [0, 1): every step is exact, so a vector loop gives numpy's bits. Both
 * shifted words fit an int32_t, whose conversion every vector unit has. */
static inline double mt_double(uint32_t a, uint32_t b)
{
    return ((double)(int32_t)(a >> 5) * 67108864.0 + (double)(int32_t)(b >> 6))
           / 9007199254740992.0;
}

int cem_mt19937_uniform(uint32_t *key, int *pos, double *out, ptrdiff_t n)
{
    if (key == NULL || pos == NULL || n < 0 || (n > 0 && out == NULL)
        || *pos < 0 || *pos > MT_N) {
        return CEM_EINVAL;
    }
    uint32_t tempered[MT_N];
    ptrdiff_t p = *pos, i = 0;
    while (i < n) {
        if (p == MT_N) {
            mt_regenerate(key);
            p = 0;
        }
        ptrdiff_t pairs = (MT_N - p) / 2;
        if (pairs > n - i) {
            pairs = n - i;
        }
        /* tempered words first, in one loop, then pairs of them: two
         * loops the compiler vectorises, where one interleaved is not */
        const ptrdiff_t used = 2 * pairs;
        for (ptrdiff_t j = 0; j < used; j++) {
            tempered[j] = mt_temper(key[p + j]);
        }
        double *dst = out + i;
        for (ptrdiff_t j = 0; j < pairs; j++) {
            dst[j] = mt_double(tempered[2 * j], tempered[2 * j + 1]);
        }
        i += pairs;
        p += used;
        if (i < n && p == MT_N - 1) { /* a double whose two words straddle a regeneration */
            const uint32_t a = mt_temper(key[MT_N - 1]);
            mt_regenerate(key);
            out[i++] = mt_double(a, mt_temper(key[0]));
            p = 1;
        }
    }
    *pos = (int)p;
    return CEM_OK;
}
