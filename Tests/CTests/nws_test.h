/*
 * nws_test.h — the smallest test harness that serves the C core's tests.
 *
 * A test is a function; NWS_RUN(fn) runs it and counts it as failed when any NWS_CHECK in
 * it failed. nws_test_summary() prints "<suite>: N passed, N failed" and gives the exit
 * status. Checks print file:line and the failed expression, and keep going so one run
 * shows every failure.
 */
#ifndef NWS_TEST_H
#define NWS_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int nws_test_failed_checks;
static int nws_test_passed;
static int nws_test_failed;

#define NWS_CHECK(cond)                                                                   \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            nws_test_failed_checks++;                                                     \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                                 \
    } while (0)

#define NWS_CHECK_EQ(a, b)                                                                \
    do {                                                                                  \
        long long nws__a = (long long)(a), nws__b = (long long)(b);                       \
        if (nws__a != nws__b) {                                                           \
            nws_test_failed_checks++;                                                     \
            fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", __FILE__,         \
                    __LINE__, #a, #b, nws__a, nws__b);                                    \
        }                                                                                 \
    } while (0)

#define NWS_CHECK_MEM(a, b, n) NWS_CHECK(memcmp((a), (b), (n)) == 0)

#define NWS_RUN(fn)                                                                       \
    do {                                                                                  \
        int nws__before = nws_test_failed_checks;                                         \
        fn();                                                                             \
        if (nws_test_failed_checks == nws__before) {                                      \
            nws_test_passed++;                                                            \
        } else {                                                                          \
            nws_test_failed++;                                                            \
            fprintf(stderr, "FAIL %s\n", #fn);                                            \
        }                                                                                 \
    } while (0)

static inline int nws_test_summary(const char *suite) {
    printf("%s: %d passed, %d failed\n", suite, nws_test_passed, nws_test_failed);
    return nws_test_failed == 0 ? 0 : 1;
}

#endif
