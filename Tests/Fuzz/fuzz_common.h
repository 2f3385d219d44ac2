/*
 * fuzz_common.h — what the fuzz targets share: a copy of the input that ends against a page
 * the process may not touch (a read one byte past the input faults at once, even where ASan's
 * redzones would not be asked), and cut points drawn from the input itself, so that a crash
 * replays from its file alone.
 */
#ifndef NWS_FUZZ_COMMON_H
#define NWS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* data copied so that its last byte is the last byte before a PROT_NONE page. The copy is
 * writable (decoders unmask in place). Valid until the next call. */
static inline uint8_t *fuzz_against_guard(const uint8_t *data, size_t len) {
    static uint8_t *region;
    static size_t region_len;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = (len + page - 1) / page * page + page;
    if (need > region_len) {
        if (region) munmap(region, region_len);
        region = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (region == MAP_FAILED) abort();
        region_len = need;
    }
    mprotect(region, region_len, PROT_READ | PROT_WRITE);
    mprotect(region + region_len - page, page, PROT_NONE);
    uint8_t *copy = region + region_len - page - len;
    if (len) memcpy(copy, data, len);
    return copy;
}

/* A small generator seeded from the input (FNV-1a of its bytes). */
typedef struct { uint64_t s; } fuzz_rng;

static inline fuzz_rng fuzz_seed(const uint8_t *data, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ data[i]) * 1099511628211ull;
    return (fuzz_rng){h | 1};
}

static inline uint64_t fuzz_next(fuzz_rng *r) {
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return r->s;
}

/* Stops the run with a message: libFuzzer keeps the input that did it. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif
