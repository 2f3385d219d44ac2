/*
 * codec_internal.h — the variants behind nws_mask and nws_utf8_step, exposed so the tests can
 * compare each one with a byte-by-byte reference and the benchmark can time each one, even on
 * a CPU where run-time dispatch would never pick it.
 *
 * Not part of the public API (no nws_ prefix, not in include/). The SIMD variants exist only
 * on x86 (NWS__X86) and may be called only when nws__cpu_sse2() / nws__cpu_avx2() say so.
 * Everything here is pure and callable from any thread.
 */
#ifndef NWS_CODEC_INTERNAL_H
#define NWS_CODEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__x86_64__) || defined(__i386__)
#define NWS__X86 1
#else
#define NWS__X86 0
#endif

/* dst[i] = src[i] ^ key[(phase + i) & 3]; dst == src allowed, never a partial overlap. */
typedef void (*nws__mask_fn)(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                             size_t phase);
/* How many bytes at the start of p[0..len) are ASCII (< 0x80): len when all are. */
typedef size_t (*nws__ascii_fn)(const uint8_t *p, size_t len);

void nws__mask_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                      size_t phase);
size_t nws__ascii_scalar(const uint8_t *p, size_t len);

#if NWS__X86
void nws__mask_sse2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                    size_t phase);
void nws__mask_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4],
                    size_t phase);
size_t nws__ascii_sse2(const uint8_t *p, size_t len);
size_t nws__ascii_avx2(const uint8_t *p, size_t len);
/* 1 when p[0..len) is complete, valid UTF-8 (utf8_avx2.c): any text, 32 bytes at a time. */
int nws__utf8_valid_avx2(const uint8_t *p, size_t len);

/* __builtin_cpu_supports also checks that the OS saves the YMM registers (XCR0), so a
 * hypervisor that hides AVX state is handled. */
static inline int nws__cpu_sse2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse2") != 0;
}
static inline int nws__cpu_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}
#endif

/* nws_utf8_step with a given ASCII skipper (nws_utf8_step passes the dispatched one). */
uint32_t nws__utf8_step_with(nws__ascii_fn skip, uint32_t state, const uint8_t *p, size_t len);

/* 1 when p[0..len) is complete, valid UTF-8. */
typedef int (*nws__text_fn)(const uint8_t *p, size_t len);
/* nws_utf8_step with a whole-text validator: the DFA finishes a sequence `state` left open and
 * takes a sequence the input leaves open; `valid` checks everything between. */
uint32_t nws__utf8_step_blocks(nws__text_fn valid, uint32_t state, const uint8_t *p, size_t len);

#endif
