/*
 * histogram.h — a log-linear latency histogram in the manner of HdrHistogram, for the load
 * harness (navios-ws-bench).
 *
 * Why not keep every sample and sort: an open-loop run at 100,000 requests per second for a
 * minute is six million samples per thread; a histogram is a fixed 220 KiB whatever the
 * count, records in a few instructions with no allocation, and the histograms of several
 * threads merge by adding counts.
 *
 * Precision: values (nanoseconds) are kept with 3 significant decimal digits: each power-of
 * two range is split into 1024 equal sub-buckets, so a recorded value and the value it is
 * reported as differ by less than 1/1024 of it (about 0.1%). Values below 2048 ns are exact.
 * The range is 1 ns to HIST_HIGHEST_NS (60 s); a larger value is recorded as HIST_HIGHEST_NS
 * and counted in `clamped`, so nothing is ever silently dropped. min, max and the sum
 * (for the mean) are kept exactly.
 *
 * Ownership and threads: a histogram belongs to one thread; hist_merge reads another one
 * only after its owner is done (the harness merges after joining its workers). hist_new
 * allocates once; recording never allocates.
 */
#ifndef BENCH_HISTOGRAM_H
#define BENCH_HISTOGRAM_H

#include <stdint.h>

#define HIST_HIGHEST_NS 60000000000ull   /* 60 s: longer than any run the harness allows */
#define HIST_SUB_BUCKET_BITS 11          /* 2048 sub-buckets: 3 significant digits */

typedef struct histogram {
    uint64_t total;       /* values recorded */
    uint64_t min, max;    /* exact; min is UINT64_MAX while empty */
    uint64_t clamped;     /* values above HIST_HIGHEST_NS, recorded as HIST_HIGHEST_NS */
    double sum;           /* for the mean; a double so that hours of ns cannot overflow */
    uint32_t counts_len;
    uint64_t counts[];    /* log-linear buckets, see histogram.c */
} histogram;

/* A zeroed histogram, or NULL when out of memory. Free with hist_free. */
histogram *hist_new(void);
void hist_free(histogram *h);
void hist_reset(histogram *h);

void hist_record(histogram *h, uint64_t value_ns);
/* Records `count` copies of a value (tests and merges of pre-binned data). */
void hist_record_n(histogram *h, uint64_t value_ns, uint64_t count);
/* Adds every count of `from` to `into`. */
void hist_merge(histogram *into, const histogram *from);

/* The value at a percentile (0 < p <= 100) in ns: the highest value equivalent (within the
 * precision) to the smallest recorded value that at least p% of the values do not exceed;
 * capped by the exact max, so p = 100 is the max. 0 when empty. */
uint64_t hist_percentile(const histogram *h, double p);
double hist_mean(const histogram *h);

/* Exposed for the tests: the bucket a value falls in, and the range of values sharing it. */
uint32_t hist_index_of(uint64_t value_ns);
uint64_t hist_lowest_equivalent(uint64_t value_ns);
uint64_t hist_highest_equivalent(uint64_t value_ns);

#endif
