/*
 * mask.c — RFC 6455 §5.3 masking: XOR with a 4-byte key, 8, 16 or 32 bytes at a time.
 *
 * Every variant rotates the key once per call to the phase and broadcasts it to the word or
 * vector width, so the loop body is one load, one XOR and one store, with no per-byte index
 * arithmetic. The SIMD variants are compiled with __attribute__((target(...))), so the file
 * needs no -m flags (the package may not use unsafeFlags); which one runs is decided once,
 * at the first call, from CPUID.
 */
#include <stdatomic.h>
#include <string.h>

#include "codec_internal.h"
#include "nws_mask.h"

#if NWS__X86
#include <immintrin.h>
#endif

/* Below this the setup of a vector loop costs more than it saves (and a control frame or a
 * small chat message is the common case), so those go straight to the word loop. */
#define SMALL_LEN 32

/* The key as a 32-bit word rotated so its first byte in memory is key[phase & 3]. Built in
 * registers: assembling it in a stack buffer and reading it back wider than it was written
 * defeats store forwarding, which cost more than masking a small frame. */
static inline uint32_t rotated_key(const uint8_t key[4], size_t phase) {
    uint32_t k;
    memcpy(&k, key, 4);
    unsigned s = (unsigned)(phase & 3) * 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (k << s) | (k >> ((32 - s) & 31));
#else
    return (k >> s) | (k << ((32 - s) & 31));
#endif
}

/* k is the rotated key; dst/src start at a multiple of 4 bytes from where k applies. */
static inline void mask_words(uint8_t *dst, const uint8_t *src, size_t len, uint32_t k32) {
    uint64_t k = (uint64_t)k32 << 32 | k32;
    size_t i = 0;
    /* Four named words, not an array: gcc turns a uint64_t[4] into a trip through the stack. */
    for (; i + 32 <= len; i += 32) {
        uint64_t a, b, c, d;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(&c, src + i + 16, 8);
        memcpy(&d, src + i + 24, 8);
        a ^= k;
        b ^= k;
        c ^= k;
        d ^= k;
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
        memcpy(dst + i + 16, &c, 8);
        memcpy(dst + i + 24, &d, 8);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= k;
        memcpy(dst + i, &w, 8);
    }
    if (i + 4 <= len) {
        uint32_t w;
        memcpy(&w, src + i, 4);
        w ^= k32;
        memcpy(dst + i, &w, 4);
        i += 4;
    }
    /* at most 3 bytes, and i is a multiple of 4, so they take the key's first bytes */
    uint8_t kb[4];
    memcpy(kb, &k32, 4);
    for (size_t j = 0; i < len; i++, j++) {
        dst[i] = src[i] ^ kb[j];
    }
}

void nws__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                      size_t phase) {
    mask_words(dst, src, len, rotated_key(key, phase));
}

#if NWS__X86

__attribute__((target("sse2"))) void nws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len,
                                                     const uint8_t key[4], size_t phase) {
    const uint32_t k32 = rotated_key(key, phase);
    const __m128i k = _mm_set1_epi32((int)k32);
    size_t i = 0;
    for (; i + 64 <= len; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= len; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    mask_words(dst + i, src + i, len - i, k32);
}

__attribute__((target("avx2"))) void nws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len,
                                                     const uint8_t key[4], size_t phase) {
    const uint32_t k32 = rotated_key(key, phase);
    const __m256i k = _mm256_set1_epi32((int)k32);
    size_t i = 0;
    for (; i + 128 <= len; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
    }
    if (i + 16 <= len) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, _mm256_castsi256_si128(k)));
        i += 16;
    }
    mask_words(dst + i, src + i, len - i, k32);
}

#endif /* NWS__X86 */

/* The dispatch pointer starts at a resolver that picks the variant and replaces itself.
 * Threads racing through the first call all compute and store the same value, so a relaxed
 * atomic is enough; later calls cost one plain load and an indirect call. */
static void mask_resolve(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                         size_t phase);
static _Atomic(nws__mask_fn) mask_impl = mask_resolve;

static nws__mask_fn mask_select(void) {
#if NWS__X86
    if (nws__cpu_avx2()) {
        return nws__mask_avx2;
    }
    if (nws__cpu_sse2()) {
        return nws__mask_sse2;
    }
#endif
    return nws__mask_scalar;
}

static void mask_resolve(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                         size_t phase) {
    nws__mask_fn fn = mask_select();
    atomic_store_explicit(&mask_impl, fn, memory_order_relaxed);
    fn(dst, src, len, key, phase);
}

void nws_mask(uint8_t *data, size_t len, const uint8_t key[4], size_t phase) {
    if (len < SMALL_LEN) {
        mask_words(data, data, len, rotated_key(key, phase));
        return;
    }
    atomic_load_explicit(&mask_impl, memory_order_relaxed)(data, data, len, key, phase);
}

void nws_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                   size_t phase) {
    if (len < SMALL_LEN) {
        mask_words(dst, src, len, rotated_key(key, phase));
        return;
    }
    atomic_load_explicit(&mask_impl, memory_order_relaxed)(dst, src, len, key, phase);
}

const char *nws_mask_impl(void) {
    nws__mask_fn fn = mask_select();
#if NWS__X86
    if (fn == nws__mask_avx2) {
        return "avx2";
    }
    if (fn == nws__mask_sse2) {
        return "sse2";
    }
#endif
    (void)fn;
    return "scalar";
}
