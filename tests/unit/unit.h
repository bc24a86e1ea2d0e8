/*
 * unit.h — a tiny assertion harness for the C unit tests. Each CHECK prints
 * "ok"/"FAIL" with the location; the test's main returns unit_done(), which
 * is non-zero when anything failed (ctest counts the executable).
 */
#ifndef CL_TEST_UNIT_H
#define CL_TEST_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_failed, unit_passed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            unit_passed++;                                                                         \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && strcmp(a_, b_) == 0) {                                                     \
            unit_passed++;                                                                         \
        } else {                                                                                   \
            unit_failed++;                                                                         \
            fprintf(stderr, "FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,                  \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

static inline int unit_done(const char *name)
{
    fprintf(stderr, "%s: %d checks passed, %d failed\n", name, unit_passed, unit_failed);
    return unit_failed != 0;
}

#endif
