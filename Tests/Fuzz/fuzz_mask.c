/*
 * fuzz_mask.c — unmasking, every variant (scalar, SSE2, AVX2, the dispatched one) against a
 * byte-wise reference, at the key, phase and buffer alignment the input picks, in place and
 * into another buffer, and in pieces: the mask of a frame read in several pieces goes on
 * where the last piece stopped.
 */
#include "codec_internal.h"
#include "fuzz_common.h"
#include "nws_mask.h"

static void reference(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4], size_t phase) {
    for (size_t i = 0; i < len; i++) dst[i] = src[i] ^ key[(phase + i) & 3];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    if (len < 6) return 0;
    uint8_t key[4];
    memcpy(key, data, 4);
    size_t phase = data[4] & 3, align = data[5] & 63;
    data += 6;
    len -= 6;
    uint8_t *want = malloc(len + 1), *src = malloc(len + 64), *dst = malloc(len + 64);
    if (!want || !src || !dst) abort();
    reference(want, data, len, key, phase);
    nws__mask_fn variants[4] = {nws__mask_scalar};
    int count = 1;
#if NWS__X86
    if (nws__cpu_sse2()) variants[count++] = nws__mask_sse2;
    if (nws__cpu_avx2()) variants[count++] = nws__mask_avx2;
#endif
    for (int v = 0; v < count; v++) {
        memcpy(src + align, data, len);
        variants[v](dst + (63 - align), src + align, len, key, phase);   /* another buffer */
        FUZZ_CHECK(memcmp(dst + (63 - align), want, len) == 0);
        variants[v](src + align, src + align, len, key, phase);          /* in place */
        FUZZ_CHECK(memcmp(src + align, want, len) == 0);
    }
    /* The dispatched one in place against the guard page, in pieces. */
    uint8_t *p = fuzz_against_guard(data, len);
    fuzz_rng rng = fuzz_seed(data, len);
    size_t at = 0;
    while (at < len) {
        size_t n = 1 + fuzz_next(&rng) % (len - at);
        nws_mask(p + at, n, key, phase + at);
        at += n;
    }
    FUZZ_CHECK(len == 0 || memcmp(p, want, len) == 0);
    free(want);
    free(src);
    free(dst);
    return 0;
}
