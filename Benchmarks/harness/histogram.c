/*
 * histogram.c — the log-linear histogram of histogram.h.
 *
 * Layout (HdrHistogram's, with a unit of 1 ns): values below 2048 each have their own
 * counter (indexes 0..2047). Above that, every power-of-two range [2^k, 2^(k+1)) for k >= 11
 * is bucket b = k - 10, split into 1024 sub-buckets of width 2^b; its counters follow the
 * previous bucket's. So the index of v is linear in its top 11 bits, and the width of the
 * counter it lands in is at most v/1024.
 */
#include "histogram.h"

#include <stdlib.h>
#include <string.h>

#define SUB_BUCKET_COUNT (1u << HIST_SUB_BUCKET_BITS)       /* 2048 */
#define SUB_BUCKET_HALF_BITS (HIST_SUB_BUCKET_BITS - 1)     /* 10 */
#define SUB_BUCKET_HALF (1u << SUB_BUCKET_HALF_BITS)        /* 1024 */
#define SUB_BUCKET_MASK ((uint64_t)SUB_BUCKET_COUNT - 1)

/* The bucket (power-of-two range) of v: 0 for v < 2048. */
static unsigned bucket_of(uint64_t v) {
    return (unsigned)(63 - __builtin_clzll(v | SUB_BUCKET_MASK)) - SUB_BUCKET_HALF_BITS;
}

uint32_t hist_index_of(uint64_t v) {
    unsigned b = bucket_of(v);
    uint64_t sub = v >> b;   /* in [1024, 2048) once b > 0; v itself in bucket 0 */
    return (uint32_t)(((uint64_t)(b + 1) << SUB_BUCKET_HALF_BITS) + sub - SUB_BUCKET_HALF);
}

/* The lowest value that lands on counter i (inverse of hist_index_of). */
static uint64_t value_at_index(uint32_t i) {
    if (i < SUB_BUCKET_COUNT) return i;
    unsigned b = (i >> SUB_BUCKET_HALF_BITS) - 1;
    uint64_t sub = (i & (SUB_BUCKET_HALF - 1)) + SUB_BUCKET_HALF;
    return sub << b;
}

uint64_t hist_lowest_equivalent(uint64_t v) {
    unsigned b = bucket_of(v);
    return (v >> b) << b;
}

uint64_t hist_highest_equivalent(uint64_t v) {
    unsigned b = bucket_of(v);
    return hist_lowest_equivalent(v) + ((uint64_t)1 << b) - 1;
}

histogram *hist_new(void) {
    uint32_t len = hist_index_of(HIST_HIGHEST_NS) + 1;
    histogram *h = calloc(1, sizeof *h + (size_t)len * sizeof h->counts[0]);
    if (h == NULL) return NULL;
    h->counts_len = len;
    h->min = UINT64_MAX;
    return h;
}

void hist_free(histogram *h) { free(h); }

void hist_reset(histogram *h) {
    uint32_t len = h->counts_len;
    memset(h, 0, sizeof *h + (size_t)len * sizeof h->counts[0]);
    h->counts_len = len;
    h->min = UINT64_MAX;
}

void hist_record_n(histogram *h, uint64_t v, uint64_t count) {
    if (count == 0) return;
    if (v > HIST_HIGHEST_NS) {
        v = HIST_HIGHEST_NS;
        h->clamped += count;
    }
    h->counts[hist_index_of(v)] += count;
    h->total += count;
    h->sum += (double)v * (double)count;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

void hist_record(histogram *h, uint64_t v) { hist_record_n(h, v, 1); }

void hist_merge(histogram *into, const histogram *from) {
    for (uint32_t i = 0; i < from->counts_len && i < into->counts_len; i++) into->counts[i] += from->counts[i];
    into->total += from->total;
    into->clamped += from->clamped;
    into->sum += from->sum;
    if (from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
}

uint64_t hist_percentile(const histogram *h, double p) {
    if (h->total == 0) return 0;
    if (p >= 100.0) return h->max;
    /* The rank of the p-th percentile, 1-based. The tiny shave keeps 99.9% of 1000 at rank
     * 999 where the product rounds to 999.0000000000001. */
    double want = p / 100.0 * (double)h->total * (1.0 - 1e-12);
    uint64_t rank = want <= 1.0 ? 1 : (uint64_t)want;
    if ((double)rank < want) rank++;   /* ceil without libm */
    uint64_t seen = 0;
    for (uint32_t i = 0; i < h->counts_len; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = hist_highest_equivalent(value_at_index(i));
            return v < h->max ? v : h->max;
        }
    }
    return h->max;
}

double hist_mean(const histogram *h) {
    return h->total ? h->sum / (double)h->total : 0.0;
}
