/*
 * test_bench_histogram.c — the load harness's latency histogram (Benchmarks/harness/
 * histogram.c) against data whose percentiles are known exactly: the index mapping is a
 * bijection onto contiguous counters, every value is reported within 1/1024 of itself, and
 * p50/p90/p99/p99.9/max come out of uniform, two-valued and outlier-heavy sets where they
 * can be worked out by hand. Built by `make test-bench-harness` as build/test_bench_histogram.
 */
#include "histogram.h"
#include "nws_test.h"

#include <stdlib.h>

/* |reported - exact| <= exact / 1024: the precision histogram.h promises. */
static int within_precision(uint64_t reported, uint64_t exact) {
    uint64_t diff = reported > exact ? reported - exact : exact - reported;
    return diff * 1024 <= exact || diff == 0;
}

static void valuesBelow2048AreExact(void) {
    for (uint64_t v = 0; v < 2048; v++) {
        NWS_CHECK_EQ(hist_index_of(v), v);
        NWS_CHECK_EQ(hist_lowest_equivalent(v), v);
        NWS_CHECK_EQ(hist_highest_equivalent(v), v);
    }
}

/* Walks bucket boundaries up to the top of the range: consecutive equivalence ranges abut,
 * every value of a range shares its index, and the next range has the next index. */
static void indexesAreContiguousAndRangesAbut(void) {
    uint64_t v = 0;
    uint32_t expected_index = 0;
    int steps = 0;
    while (v <= HIST_HIGHEST_NS) {
        uint64_t lo = hist_lowest_equivalent(v), hi = hist_highest_equivalent(v);
        NWS_CHECK_EQ(lo, v);
        NWS_CHECK_EQ(hist_index_of(v), expected_index);
        NWS_CHECK_EQ(hist_index_of(hi), expected_index);
        NWS_CHECK(lo < 2048 ? hi == lo : (hi - lo + 1) * 1024 <= lo);   /* width <= v/1024 */
        v = hi + 1;
        expected_index++;
        if (++steps > 40000) break;   /* a bug must not hang the test */
    }
    NWS_CHECK(steps < 40000);
}

static void everyReportedValueIsWithinATenthOfAPercent(void) {
    histogram *h = hist_new();
    uint64_t seed = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        uint64_t v = seed % HIST_HIGHEST_NS + 1;
        hist_reset(h);
        hist_record(h, v);
        uint64_t p = hist_percentile(h, 50);
        NWS_CHECK(p == v);   /* capped by the exact max: one value comes back exactly */
        NWS_CHECK(within_precision(hist_highest_equivalent(v), v));
        NWS_CHECK(within_precision(hist_lowest_equivalent(v), v));
    }
    hist_free(h);
}

/* 1..100000 µs, each once: the p-th percentile is p * 1000 µs exactly (in ns), reported
 * within precision. */
static void uniformMicrosecondsGiveExactRanks(void) {
    histogram *h = hist_new();
    for (uint64_t us = 1; us <= 100000; us++) hist_record(h, us * 1000);
    NWS_CHECK_EQ(h->total, 100000);
    NWS_CHECK_EQ(h->min, 1000);
    NWS_CHECK_EQ(h->max, 100000000);
    const double ps[] = {50, 90, 99, 99.9, 99.99};
    const uint64_t exact[] = {50000000, 90000000, 99000000, 99900000, 99990000};
    for (int i = 0; i < 5; i++) {
        uint64_t got = hist_percentile(h, ps[i]);
        NWS_CHECK(within_precision(got, exact[i]));
        NWS_CHECK(got >= exact[i]);   /* highest equivalent: never below the true value */
    }
    NWS_CHECK_EQ(hist_percentile(h, 100), 100000000);
    double mean = hist_mean(h);
    NWS_CHECK(mean > 50000499.0 && mean < 50000501.0);
    hist_free(h);
}

/* HdrHistogram's classic: 10,000 samples of 1 ms and one of 100 s (beyond the range: kept as
 * 60 s and counted as clamped). Every percentile up to 99.99 is 1 ms; only the max sees the
 * stall. */
static void oneStallOnlyMovesTheMax(void) {
    histogram *h = hist_new();
    hist_record_n(h, 1000000, 10000);
    hist_record(h, 100000000000ull);
    NWS_CHECK_EQ(h->total, 10001);
    NWS_CHECK_EQ(h->clamped, 1);
    NWS_CHECK(within_precision(hist_percentile(h, 50), 1000000));
    NWS_CHECK(within_precision(hist_percentile(h, 99), 1000000));
    NWS_CHECK(within_precision(hist_percentile(h, 99.99), 1000000));
    NWS_CHECK_EQ(hist_percentile(h, 100), HIST_HIGHEST_NS);
    NWS_CHECK_EQ(h->max, HIST_HIGHEST_NS);
    hist_free(h);
}

/* 900 fast (100 µs) and 100 slow (10 ms) values: p50 and p90 are fast, p90.1 and above slow. */
static void twoValuedSetSplitsAtItsRank(void) {
    histogram *h = hist_new();
    hist_record_n(h, 100000, 900);
    hist_record_n(h, 10000000, 100);
    NWS_CHECK(within_precision(hist_percentile(h, 50), 100000));
    NWS_CHECK(within_precision(hist_percentile(h, 90), 100000));
    NWS_CHECK(within_precision(hist_percentile(h, 90.1), 10000000));
    NWS_CHECK(within_precision(hist_percentile(h, 99.9), 10000000));
    NWS_CHECK_EQ(hist_percentile(h, 100), 10000000);
    hist_free(h);
}

static void mergeAddsCountsMinAndMax(void) {
    histogram *a = hist_new(), *b = hist_new(), *all = hist_new();
    for (uint64_t v = 1; v <= 5000; v++) {
        hist_record(v % 2 ? a : b, v * 7919);
        hist_record(all, v * 7919);
    }
    hist_merge(a, b);
    NWS_CHECK_EQ(a->total, all->total);
    NWS_CHECK_EQ(a->min, all->min);
    NWS_CHECK_EQ(a->max, all->max);
    NWS_CHECK(a->sum == all->sum);
    for (double p = 1; p <= 100; p += 0.5) NWS_CHECK_EQ(hist_percentile(a, p), hist_percentile(all, p));
    NWS_CHECK_MEM(a->counts, all->counts, a->counts_len * sizeof a->counts[0]);
    hist_free(a);
    hist_free(b);
    hist_free(all);
}

static void emptyHistogramReportsZero(void) {
    histogram *h = hist_new();
    NWS_CHECK_EQ(hist_percentile(h, 50), 0);
    NWS_CHECK_EQ(hist_percentile(h, 100), 0);
    NWS_CHECK(hist_mean(h) == 0.0);
    hist_free(h);
}

int main(void) {
    NWS_RUN(valuesBelow2048AreExact);
    NWS_RUN(indexesAreContiguousAndRangesAbut);
    NWS_RUN(everyReportedValueIsWithinATenthOfAPercent);
    NWS_RUN(uniformMicrosecondsGiveExactRanks);
    NWS_RUN(oneStallOnlyMovesTheMax);
    NWS_RUN(twoValuedSetSplitsAtItsRank);
    NWS_RUN(mergeAddsCountsMinAndMax);
    NWS_RUN(emptyHistogramReportsZero);
    return nws_test_summary("test_bench_histogram");
}
