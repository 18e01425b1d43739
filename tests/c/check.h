/*
 * check.h -- the C test programs' one assertion: CHECK(cond) counts a pass
 * or prints the failing condition with its line and counts a failure; the
 * program reports `passed` and `failed` and exits non-zero on a failure.
 * Included once per test program (the counters are the program's own).
 */
#ifndef CEM_TESTS_CHECK_H
#define CEM_TESTS_CHECK_H

#include <stdio.h>

static int passed = 0, failed = 0;

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (cond) {                                                          \
            passed++;                                                        \
        } else {                                                             \
            failed++;                                                        \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                    \
    } while (0)

#endif
